//! The in-memory presence cache (SPEC §3): every monitored user's presence,
//! kept compact and rendered to the two API shapes lazily, once per change.
//!
//! * Storage: per user, the raw user object and the raw activities array as
//!   Discord sent them (one boxed string each), the status and client
//!   platforms packed in three bytes, and the guilds they are a member of
//!   (with their nickname there). About 1 KiB per user with a Spotify activity.
//! * Reads: [`Presences::get`] renders the native and Lanyard views on the first
//!   read after a change and keeps them until the next change, so an unchanged
//!   presence is never serialised twice.
//! * Writes come from the gateway only, through the `pub(crate)` methods
//!   below; each returns whether the user's public state changed, and the
//!   gateway marks the change feed.
//! * Membership: a user is monitored while they are a member of at least one
//!   configured guild. Each membership carries the sync epoch of its guild, so
//!   a guild's full member list (GUILD_CREATE, or the last member chunk) can
//!   sweep the members it no longer lists.

mod entry;
mod passthrough;
mod render;
mod status;
mod strict;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;

use self::entry::{Entry, IdHasher, Membership, mix};
pub use self::status::{ClientStatus, PLATFORMS, Status};
use crate::ids::UserId;

/// A monitored user's presence, already serialised for the two API shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct PresenceView {
    /// The `presence` object of `GET /user/:id` (api.harmy.gg shape).
    pub native: Bytes,
    /// Lanyard's presence object without `kv` and `github` (a complete JSON object).
    pub lanyard: Bytes,
}

/// A monitored user's presence as Discord sent it, for a reader that derives a
/// view of its own (the status card) without rendering and keeping the API's.
#[derive(Debug, Clone, PartialEq)]
pub struct RawPresence {
    /// The user object (JSON).
    pub user: Box<str>,
    /// The activities array (JSON); `None` for none.
    pub activities: Option<Box<str>>,
    /// The overall status.
    pub status: Status,
}

/// A guild member as the gateway describes them.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// The raw `user` object (JSON).
    pub user: &'a str,
    /// The nickname in that guild.
    pub nick: Option<&'a str>,
}

/// A presence as the gateway describes it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Update<'a> {
    /// The overall status.
    pub status: Status,
    /// The platforms the user is active on.
    pub clients: ClientStatus,
    /// The raw `activities` array (JSON); empty means none.
    pub activities: &'a str,
}

/// The cache shards: a lock per shard keeps readers and the gateway apart.
const SHARDS: usize = 16;

type Map = HashMap<u64, Entry, BuildHasherDefault<IdHasher>>;

/// Every monitored user's presence.
pub struct Presences {
    shards: Box<[RwLock<Map>]>,
    count: AtomicUsize,
    gateway_up: AtomicBool,
    gateway_events: AtomicU64,
    gateway_reconnects: AtomicU64,
}

impl Default for Presences {
    fn default() -> Self {
        Presences {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            count: AtomicUsize::new(0),
            gateway_up: AtomicBool::new(false),
            gateway_events: AtomicU64::new(0),
            gateway_reconnects: AtomicU64::new(0),
        }
    }
}

impl Presences {
    /// The current view of a monitored user; `None` when not monitored.
    pub fn get(&self, user: UserId) -> Option<Arc<PresenceView>> {
        let shard = self.read(user.0);
        let entry = shard.get(&user.0)?;
        Some(entry.view.get_or_init(|| Arc::new(render::view(user.0, entry))).clone())
    }

    /// The view of a monitored user for a one-off read (an INIT_STATE): the
    /// memoised one if a reader has rendered it, else rendered here and not kept,
    /// so that a read of many users nobody else reads leaves no views behind.
    pub fn get_unkept(&self, user: UserId) -> Option<Arc<PresenceView>> {
        let shard = self.read(user.0);
        let entry = shard.get(&user.0)?;
        Some(match entry.view.get() {
            Some(view) => view.clone(),
            None => Arc::new(render::view(user.0, entry)),
        })
    }

    /// A monitored user's presence as Discord sent it; `None` when not monitored.
    /// Unlike `get`, this renders and keeps nothing.
    pub fn raw(&self, user: UserId) -> Option<RawPresence> {
        let shard = self.read(user.0);
        let entry = shard.get(&user.0)?;
        Some(RawPresence { user: entry.user.clone(), activities: entry.activities.clone(), status: entry.status })
    }

    /// Whether a user is monitored, without rendering their views (which `get`
    /// would do and keep: about 2 KiB per user for a Spotify listener).
    pub fn contains(&self, user: UserId) -> bool {
        self.read(user.0).contains_key(&user.0)
    }

    /// How many users are monitored.
    pub fn monitored_count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Whether the gateway has a session (for `/health`).
    pub fn gateway_up(&self) -> bool {
        self.gateway_up.load(Ordering::Relaxed)
    }

    /// Records whether the gateway has a session; a session lost counts as a
    /// reconnect. Called for every gateway frame: a read when nothing changes.
    pub fn set_gateway_up(&self, up: bool) {
        if self.gateway_up.load(Ordering::Relaxed) != up && self.gateway_up.swap(up, Ordering::Relaxed) && !up {
            self.gateway_reconnects.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Gateway dispatches received since start (for `/metrics`).
    pub fn gateway_events(&self) -> u64 {
        self.gateway_events.load(Ordering::Relaxed)
    }

    /// Gateway sessions lost since start, each followed by a reconnect (for `/metrics`).
    pub fn gateway_reconnects(&self) -> u64 {
        self.gateway_reconnects.load(Ordering::Relaxed)
    }

    pub(crate) fn note_event(&self) {
        self.gateway_events.fetch_add(1, Ordering::Relaxed);
    }

    /// Sets a user's view directly (tests and tools; the gateway uses the methods below).
    pub fn insert_view(&self, user: UserId, view: PresenceView) {
        let entry = Entry {
            user: format!(r#"{{"id":"{}"}}"#, user.0).into(),
            activities: None,
            status: Status::Offline,
            clients: ClientStatus::default(),
            guilds: Box::new([Membership { guild: 0, epoch: 0, nick: None }]),
            view: OnceLock::from(Arc::new(view)),
        };
        if self.write(user.0).insert(user.0, entry).is_none() {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sets a user's presence as Discord would send it (tests and tools; the gateway
    /// uses the methods below).
    pub fn insert_raw(&self, user: UserId, presence: RawPresence) {
        let entry = Entry {
            user: presence.user,
            activities: presence.activities,
            status: presence.status,
            clients: ClientStatus::default(),
            guilds: Box::new([Membership { guild: 0, epoch: 0, nick: None }]),
            view: OnceLock::new(),
        };
        if self.write(user.0).insert(user.0, entry).is_none() {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Forgets a user entirely; true when they were monitored.
    pub fn remove(&self, user: UserId) -> bool {
        let removed = self.write(user.0).remove(&user.0).is_some();
        if removed {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    /// A member of `guild` seen in its sync `epoch` (GUILD_CREATE, chunk, member add/update).
    pub(crate) fn upsert_member(&self, user: u64, guild: u64, epoch: u32, member: Member<'_>) -> bool {
        let mut shard = self.write(user);
        let entry = match shard.get_mut(&user) {
            Some(entry) => entry,
            None => {
                self.count.fetch_add(1, Ordering::Relaxed);
                shard.entry(user).or_insert_with(|| Entry::new(member.user))
            }
        };
        let mut changed = entry.join(guild, epoch, member.nick.map(Some));
        if *entry.user != *member.user {
            entry.user = member.user.into();
            changed = true;
        }
        if changed {
            entry.view = OnceLock::new();
        }
        changed
    }

    /// A presence of a member of `guild` (a presence proves membership). `user_json`
    /// is the raw user object when the event carried a full one.
    pub(crate) fn update_presence(
        &self,
        user: u64,
        guild: u64,
        epoch: u32,
        update: Update<'_>,
        user_json: Option<&str>,
    ) -> bool {
        let mut shard = self.write(user);
        let entry = match shard.get_mut(&user) {
            Some(entry) => entry,
            None => {
                self.count.fetch_add(1, Ordering::Relaxed);
                let placeholder;
                let raw = match user_json {
                    Some(raw) => raw,
                    None => {
                        placeholder = format!(r#"{{"id":"{user}"}}"#);
                        &placeholder
                    }
                };
                shard.entry(user).or_insert_with(|| Entry::new(raw))
            }
        };
        let mut changed = entry.join(guild, epoch, None);
        if let Some(raw) = user_json.filter(|raw| **raw != *entry.user) {
            entry.user = raw.into();
            changed = true;
        }
        let activities = Some(update.activities).filter(|a| !a.is_empty() && *a != "[]");
        if entry.status != update.status || entry.clients != update.clients || entry.activities.as_deref() != activities
        {
            entry.status = update.status;
            entry.clients = update.clients;
            entry.activities = activities.map(Into::into);
            changed = true;
        }
        if changed {
            entry.view = OnceLock::new();
        }
        changed
    }

    /// A member left `guild` (or the bot did); true when their public state changed
    /// (they are gone, or their `server_name` changed).
    pub(crate) fn remove_member(&self, user: u64, guild: u64) -> bool {
        let mut shard = self.write(user);
        let Some(entry) = shard.get_mut(&user) else { return false };
        let Some(at) = entry.guilds.iter().position(|m| m.guild == guild) else { return false };
        if entry.guilds.len() == 1 {
            shard.remove(&user);
            self.count.fetch_sub(1, Ordering::Relaxed);
            return true;
        }
        let mut guilds = std::mem::take(&mut entry.guilds).into_vec();
        guilds.remove(at);
        entry.guilds = guilds.into_boxed_slice();
        entry.view = OnceLock::new();
        true
    }

    /// Ends a sync of `guild`: members not seen in `epoch` are no longer members.
    /// Returns the users whose state changed.
    pub(crate) fn sweep(&self, guild: u64, epoch: u32) -> Vec<UserId> {
        self.drop_memberships(|m| m.guild == guild && m.epoch != epoch)
    }

    /// A new session lists the bot's guilds: memberships of other guilds end.
    pub(crate) fn retain_guilds(&self, keep: impl Fn(u64) -> bool) -> Vec<UserId> {
        self.drop_memberships(|m| !keep(m.guild))
    }

    fn drop_memberships(&self, gone: impl Fn(&Membership) -> bool) -> Vec<UserId> {
        let mut changed = Vec::new();
        for shard in self.shards.iter() {
            let mut shard = shard.write().unwrap_or_else(|e| e.into_inner());
            shard.retain(|&user, entry| {
                if !entry.guilds.iter().any(&gone) {
                    return true;
                }
                changed.push(UserId(user));
                let kept: Vec<Membership> =
                    std::mem::take(&mut entry.guilds).into_iter().filter(|m| !gone(m)).collect();
                entry.guilds = kept.into_boxed_slice();
                entry.view = OnceLock::new();
                if entry.guilds.is_empty() {
                    self.count.fetch_sub(1, Ordering::Relaxed);
                }
                !entry.guilds.is_empty()
            });
        }
        changed
    }

    fn shard_of(user: u64) -> usize {
        (mix(user) >> 59) as usize % SHARDS
    }

    fn read(&self, user: u64) -> RwLockReadGuard<'_, Map> {
        self.shards[Self::shard_of(user)].read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, user: u64) -> RwLockWriteGuard<'_, Map> {
        self.shards[Self::shard_of(user)].write().unwrap_or_else(|e| e.into_inner())
    }
}
