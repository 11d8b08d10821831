//! One monitored user's cache entry: the raw user and activities, the packed
//! status, the guild memberships, and the memoised views; plus the hasher of
//! the map that holds the entries.

use std::hash::Hasher;
use std::sync::{Arc, OnceLock};

use super::{ClientStatus, PresenceView, Status};

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
    /// Both views, rendered on the first read after a change.
    pub(super) view: OnceLock<Arc<PresenceView>>,
}

/// A membership of one guild, with the sync epoch it was last seen in.
pub(super) struct Membership {
    pub(super) guild: u64,
    pub(super) epoch: u32,
    pub(super) nick: Option<Box<str>>,
}

impl Entry {
    pub(super) fn new(user: &str) -> Entry {
        Entry {
            user: user.into(),
            activities: None,
            status: Status::Offline,
            clients: ClientStatus::default(),
            guilds: Box::new([]),
            view: OnceLock::new(),
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

/// splitmix64's finaliser: snowflakes' low bits are mostly zero, so they need mixing.
pub(super) fn mix(id: u64) -> u64 {
    let mut z = id.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashes a user id (the map's only key type) with [`mix`].
#[derive(Default)]
pub(super) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        mix(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, id: u64) {
        self.0 = id;
    }
}
