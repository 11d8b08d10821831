//! Who is served: `privacy.mode` and each user's own choice, in memory (only
//! users who chose take room). The presence cache asks [`Visibility::served`]
//! when it makes an entry and keeps the answer in it.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::config::PrivacyMode;
use crate::ids::UserId;

/// A user's own choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// `.show`: served whatever the mode.
    Shown,
    /// `.hide` (or `.forget`): answered as not monitored whatever the mode.
    Hidden,
}

impl Choice {
    /// The byte stored in redb.
    pub fn to_byte(self) -> u8 {
        match self {
            Choice::Shown => 1,
            Choice::Hidden => 2,
        }
    }

    /// The choice a stored byte means; an unknown byte (from a newer harmy) hides,
    /// the safe reading.
    pub fn from_byte(byte: u8) -> Choice {
        if byte == 1 { Choice::Shown } else { Choice::Hidden }
    }

    /// The word used in replies and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Shown => "shown",
            Choice::Hidden => "hidden",
        }
    }
}

/// The mode and every user's own choice.
#[derive(Debug, Default)]
pub struct Visibility {
    mode: PrivacyMode,
    choices: RwLock<HashMap<u64, Choice>>,
    /// Held by a choice being written, so choices reach memory in the order of their commits.
    writing: tokio::sync::Mutex<()>,
}

impl Visibility {
    /// The mode in force, with the stored choices.
    pub fn new(mode: PrivacyMode, choices: impl IntoIterator<Item = (UserId, Choice)>) -> Visibility {
        let choices = choices.into_iter().map(|(user, choice)| (user.0, choice)).collect();
        Visibility { mode, choices: RwLock::new(choices), writing: tokio::sync::Mutex::new(()) }
    }

    /// The turn to write a choice.
    pub(crate) async fn writing(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writing.lock().await
    }

    /// The mode in force.
    pub fn mode(&self) -> PrivacyMode {
        self.mode
    }

    /// A user's own choice, if they made one.
    pub fn choice(&self, user: UserId) -> Option<Choice> {
        self.choices.read().unwrap_or_else(|e| e.into_inner()).get(&user.0).copied()
    }

    /// Whether a user is served (their choice, else the mode's default).
    pub fn served(&self, user: UserId) -> bool {
        match self.choice(user) {
            Some(choice) => choice == Choice::Shown,
            None => self.mode == PrivacyMode::Public,
        }
    }

    /// Records a choice (the caller updates the presence cache after this, so a
    /// cache entry made meanwhile reads the new choice or is updated).
    pub(crate) fn set(&self, user: UserId, choice: Choice) {
        self.choices.write().unwrap_or_else(|e| e.into_inner()).insert(user.0, choice);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_wins_over_the_mode_either_way() {
        let public = Visibility::new(PrivacyMode::Public, [(UserId(1), Choice::Hidden)]);
        assert!(!public.served(UserId(1)));
        assert!(public.served(UserId(2)));
        let opt_in = Visibility::new(PrivacyMode::OptIn, [(UserId(1), Choice::Shown)]);
        assert!(opt_in.served(UserId(1)));
        assert!(!opt_in.served(UserId(2)));
        opt_in.set(UserId(1), Choice::Hidden);
        assert!(!opt_in.served(UserId(1)));
    }

    #[test]
    fn choices_round_trip_through_their_byte_and_unknown_bytes_hide() {
        for choice in [Choice::Shown, Choice::Hidden] {
            assert_eq!(Choice::from_byte(choice.to_byte()), choice);
        }
        assert_eq!(Choice::from_byte(0), Choice::Hidden);
        assert_eq!(Choice::from_byte(9), Choice::Hidden);
    }
}
