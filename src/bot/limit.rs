//! Per-member limits on bot commands. Discord slows down how fast one member
//! writes in one channel, but not across channels, DMs and slash commands, and
//! every command costs a store write, or worse: an argon2 hash (`.token`, tens
//! of milliseconds of CPU) or a GitHub request (`.github LOGIN`, out of the 60
//! an hour GitHub grants without a token, shared by the whole server). So each
//! member gets [`COMMANDS_PER_MINUTE`] commands a minute, of which at most
//! [`COSTLY_PER_HOUR`] costly ones (`.token`, `.github LOGIN`) an hour.
//!
//! Memory holds one small entry per member who sent a command recently:
//! past `PRUNE_ABOVE` entries, those whose windows are over are dropped.

use std::collections::HashMap;
use std::sync::Mutex;

use super::command::Action;
use crate::ids::UserId;

/// Commands one member may run in a minute.
pub const COMMANDS_PER_MINUTE: u32 = 20;
/// New tokens and GitHub links one member may ask for in an hour.
pub const COSTLY_PER_HOUR: u32 = 5;
/// Entries kept before the stale ones are dropped.
const PRUNE_ABOVE: usize = 4096;

/// What the limiter says about one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Run it.
    Run,
    /// Refuse it and say so; `retry_after` in seconds.
    Refuse { retry_after: u64 },
    /// Refuse it silently: the member was already told in this window (a reply
    /// to each message of a flood would be a flood of the bot's own).
    Ignore,
}

#[derive(Debug, Default, Clone, Copy)]
struct Member {
    minute: u64,
    commands: u32,
    hour: u64,
    costly: u32,
    /// The minute in which the member was last told to slow down.
    told: Option<u64>,
}

/// The members' windows.
#[derive(Default)]
pub struct CommandLimits {
    members: Mutex<HashMap<UserId, Member>>,
}

impl CommandLimits {
    /// Counts a command of `user` at `now` (seconds since the epoch).
    /// `quiet` asks for `Ignore` rather than a second `Refuse` in the same minute
    /// (messages); slash commands always get an answer.
    pub fn check(&self, user: UserId, action: &Action, now: u64, quiet: bool) -> Verdict {
        let (minute, hour) = (now / 60, now / 3600);
        let mut members = self.members.lock().unwrap_or_else(|e| e.into_inner());
        if members.len() > PRUNE_ABOVE {
            members.retain(|_, m| m.minute == minute || (m.hour == hour && m.costly > 0));
        }
        let member = members.entry(user).or_default();
        if member.minute != minute {
            (member.minute, member.commands) = (minute, 0);
        }
        if member.hour != hour {
            (member.hour, member.costly) = (hour, 0);
        }
        let costly = matches!(action, Action::Token | Action::GithubLink { .. });
        let refused = if member.commands >= COMMANDS_PER_MINUTE {
            Some(60 - now % 60)
        } else if costly && member.costly >= COSTLY_PER_HOUR {
            Some(3600 - now % 3600)
        } else {
            None
        };
        let Some(retry_after) = refused else {
            member.commands += 1;
            member.costly += u32::from(costly);
            return Verdict::Run;
        };
        if quiet && member.told == Some(minute) {
            return Verdict::Ignore;
        }
        member.told = Some(minute);
        Verdict::Refuse { retry_after }
    }
}

/// What the bot answers to a refused command.
pub fn refusal(retry_after: u64) -> String {
    format!(
        "Slow down: at most {COMMANDS_PER_MINUTE} commands a minute, of which {COSTLY_PER_HOUR} new tokens \
         or GitHub links an hour. Try again in {retry_after} s."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: UserId = UserId(2);
    const T0: u64 = 1_700_000_040; // 0 s into a minute, 40 minutes into an hour

    #[test]
    fn the_eleventh_command_in_a_minute_is_refused_once_then_ignored() {
        let limits = CommandLimits::default();
        for _ in 0..COMMANDS_PER_MINUTE {
            assert_eq!(limits.check(ALICE, &Action::KvList, T0, true), Verdict::Run);
        }
        assert_eq!(limits.check(ALICE, &Action::KvList, T0 + 5, true), Verdict::Refuse { retry_after: 55 });
        assert_eq!(limits.check(ALICE, &Action::KvList, T0 + 6, true), Verdict::Ignore);
        assert_eq!(
            limits.check(ALICE, &Action::KvList, T0 + 7, false),
            Verdict::Refuse { retry_after: 53 },
            "a slash command is always answered"
        );
        assert_eq!(limits.check(UserId(3), &Action::KvList, T0 + 7, true), Verdict::Run, "others are not affected");
        assert_eq!(limits.check(ALICE, &Action::KvList, T0 + 60, true), Verdict::Run, "a new minute starts over");
    }

    #[test]
    fn tokens_and_github_links_are_limited_per_hour() {
        let limits = CommandLimits::default();
        let link = Action::GithubLink { login: "octocat".into() };
        for minute in 0..u64::from(COSTLY_PER_HOUR) {
            let action = if minute % 2 == 0 { &link } else { &Action::Token };
            assert_eq!(limits.check(ALICE, action, T0 + 60 * minute, true), Verdict::Run);
        }
        let later = T0 + 600;
        assert_eq!(limits.check(ALICE, &link, later, true), Verdict::Refuse { retry_after: 3600 - later % 3600 });
        assert_eq!(limits.check(ALICE, &Action::KvList, later, true), Verdict::Run, "other commands still run");
        assert_eq!(limits.check(ALICE, &link, T0 + 3600, true), Verdict::Run, "a new hour starts over");
    }

    #[test]
    fn stale_members_are_dropped_once_there_are_many() {
        let limits = CommandLimits::default();
        for id in 0..=PRUNE_ABOVE as u64 {
            limits.check(UserId(id + 10), &Action::KvList, T0, true);
        }
        limits.check(ALICE, &Action::KvList, T0 + 120, true);
        assert_eq!(limits.members.lock().unwrap().len(), 1);
    }
}
