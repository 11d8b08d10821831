//! One monitored user's entry: the raw user and activities, the packed status
//! and the guild memberships.

use super::{ClientStatus, Status};

/// A monitored user.
pub(super) struct Entry {
    /// The user object as Discord last sent it (JSON).
    pub(super) user: Box<str>,
    /// The activities array as Discord last sent it (JSON); `None` for none.
    pub(super) activities: Option<Box<str>>,
    pub(super) status: Status,
    pub(super) clients: ClientStatus,
    /// Monitored guilds the user is a member of; the first one's nickname is `server_name`.
    pub(super) guilds: Box<[Membership]>,
    /// Answered as not monitored (the user hid, or opt-in mode and they never showed).
    pub(super) hidden: bool,
}

/// A membership of one guild, with the sync epoch it was last seen in.
pub(super) struct Membership {
    pub(super) guild: u64,
    pub(super) epoch: u32,
    pub(super) nick: Option<Box<str>>,
}

impl Entry {
    pub(super) fn new(user: &str, hidden: bool) -> Entry {
        Entry {
            user: user.into(),
            activities: None,
            status: Status::Offline,
            clients: ClientStatus::default(),
            guilds: Box::new([]),
            hidden,
        }
    }

    /// Adds or refreshes the membership of `guild`; `nick` is `None` to keep the
    /// known nickname. True when the public state changed (a new user, or the
    /// nickname of the first guild, which is the `server_name`).
    pub(super) fn join(&mut self, guild: u64, epoch: u32, nick: Option<Option<&str>>) -> bool {
        if let Some(i) = self.guilds.iter().position(|m| m.guild == guild) {
            let membership = &mut self.guilds[i];
            membership.epoch = epoch;
            match nick {
                Some(nick) if membership.nick.as_deref() != nick => {
                    membership.nick = nick.map(Into::into);
                    i == 0
                }
                _ => false,
            }
        } else {
            let mut guilds = std::mem::take(&mut self.guilds).into_vec();
            guilds.push(Membership { guild, epoch, nick: nick.flatten().map(Into::into) });
            self.guilds = guilds.into_boxed_slice();
            // A further guild changes nothing visible; a first one makes the user monitored.
            self.guilds.len() == 1
        }
    }
}
