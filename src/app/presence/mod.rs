//! The presence service: every monitored user's presence, in memory only.
//!
//! * Storage: per user, the raw user object and the raw activities array as
//!   Discord sent them (one boxed string each), the status and client
//!   platforms packed in three bytes, and the guilds they are a member of
//!   (with their nickname there). About 1 KiB per user with a Spotify activity.
//! * Reads: [`Presences::view`] renders the native and Lanyard shapes; it keeps
//!   nothing (the read path, `app::reads`, keeps what readers ask for).
//! * Writes come from the gateway only, through the `pub(crate)` methods below.
//!   Each marks the change feed when the user's public state changed, and only
//!   then: an update identical to the stored presence (Discord sends one per
//!   shared guild) is no change.
//! * Privacy is the privacy service's (docs/API.md, "Privacy"), asked through
//!   its [`Ledger`]: each entry carries whether its user is hidden, the
//!   ledger's answer when the entry is made, changed by that service through
//!   `set_hidden`; the readers answer a hidden user exactly as one not
//!   monitored, and nothing about a hidden user is marked. A served user going
//!   offline is recorded in the ledger's last-seen times, shown while they are
//!   offline.
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

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use serde_json::value::RawValue;

use self::entry::{Entry, Membership};
pub use self::status::{ClientStatus, PLATFORMS, Status};
use super::changes::ChangeFeed;
use super::privacy::Ledger;
use super::privacy::last_seen::now_ms;
use crate::ids::UserId;
use crate::sharded::ShardedMap;

/// A monitored user's presence, serialised for the two API shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct PresenceView {
    /// The `presence` object of `GET /user/:id` (api.harmy.gg shape).
    pub native: Bytes,
    /// Lanyard's presence object without `kv` and `github` (a complete JSON object).
    pub lanyard: Bytes,
}

/// A monitored user's presence with their KV and GitHub profile, in both shapes.
#[derive(Debug)]
pub struct Bodies {
    /// `GET /user/:id`'s body: `{"presence":…,"KV":…,"github":…}`
    pub native: Box<RawValue>,
    /// Lanyard's presence object with `kv` and `github`: `GET /v1/users/:id`'s
    /// `data`, and the socket's presence object.
    pub lanyard: Box<RawValue>,
}

/// A monitored user's presence as Discord sent it, for a reader that derives a
/// view of its own (the status card) without rendering the API's.
#[derive(Debug, Clone, PartialEq)]
pub struct RawPresence {
    /// The user object (JSON).
    pub user: Box<str>,
    /// The activities array (JSON); `None` for none.
    pub activities: Option<Box<str>>,
    /// The overall status.
    pub status: Status,
}

/// A served user's presence as a read replica rebuilds it (`crate::cluster`):
/// everything the renders read, without the memberships' sync state.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The user object (JSON).
    pub user: Box<str>,
    /// The activities array (JSON); `None` for none.
    pub activities: Option<Box<str>>,
    /// The overall status.
    pub status: Status,
    /// The platforms the user is active on.
    pub clients: ClientStatus,
    /// The nickname in the first monitored guild (`server_name`).
    pub nick: Option<Box<str>>,
}

/// A guild member as the gateway describes them.
#[derive(Debug, Clone, Copy)]
pub struct MemberSeen<'a> {
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

/// Every monitored user's presence.
pub struct Presences {
    entries: ShardedMap<u64, Entry>,
    /// Entries, hidden ones included.
    count: AtomicUsize,
    /// Hidden entries.
    hidden: AtomicUsize,
    changes: Arc<ChangeFeed>,
    /// The privacy service's: who is served (asked when an entry is made) and
    /// when served users went offline.
    privacy: Arc<Ledger>,
}

impl Default for Presences {
    /// No presences, marking a feed of their own.
    fn default() -> Self {
        Presences::new(Arc::default())
    }
}

impl Presences {
    /// No presences yet; changes are marked in `changes`.
    pub fn new(changes: Arc<ChangeFeed>) -> Presences {
        Presences::with_privacy(changes, Arc::default())
    }

    /// No presences yet, serving users as the privacy service's `ledger` says.
    pub fn with_privacy(changes: Arc<ChangeFeed>, privacy: Arc<Ledger>) -> Presences {
        Presences {
            entries: ShardedMap::default(),
            count: AtomicUsize::new(0),
            hidden: AtomicUsize::new(0),
            changes,
            privacy,
        }
    }

    /// Both views of a monitored user, rendered now and not kept; `None` when
    /// not monitored (or hidden).
    pub fn view(&self, user: UserId) -> Option<PresenceView> {
        let shard = self.entries.read(&user.0);
        let entry = shard.get(&user.0).filter(|e| !e.hidden)?;
        // Only an offline user shows a time: online users cost no lookup.
        let seen = if entry.status == Status::Offline { self.privacy.last_seen().get(user) } else { None };
        Some(render::view(user.0, entry, seen))
    }

    /// The response bodies of a monitored user with their stored KV (a JSON
    /// object) and GitHub profile (or `null`), rendered now and not kept; `None`
    /// when not monitored (or hidden).
    pub fn bodies(&self, user: UserId, kv: &RawValue, github: &RawValue) -> Option<Bodies> {
        let shard = self.entries.read(&user.0);
        let entry = shard.get(&user.0).filter(|e| !e.hidden)?;
        let seen = if entry.status == Status::Offline { self.privacy.last_seen().get(user) } else { None };
        Some(render::bodies(user.0, entry, seen, kv, github))
    }

    /// A monitored user's presence as Discord sent it, for a reader that derives
    /// a view of its own (the status card); `None` when not monitored (or hidden).
    pub fn raw(&self, user: UserId) -> Option<RawPresence> {
        let shard = self.entries.read(&user.0);
        let entry = shard.get(&user.0).filter(|e| !e.hidden)?;
        Some(RawPresence { user: entry.user.clone(), activities: entry.activities.clone(), status: entry.status })
    }

    /// A served user's presence as a replica needs it; `None` when not monitored (or hidden).
    pub fn snapshot(&self, user: UserId) -> Option<Snapshot> {
        let shard = self.entries.read(&user.0);
        let entry = shard.get(&user.0).filter(|e| !e.hidden)?;
        Some(Snapshot {
            user: entry.user.clone(),
            activities: entry.activities.clone(),
            status: entry.status,
            clients: entry.clients,
            nick: entry.guilds.first().and_then(|m| m.nick.clone()),
        })
    }

    /// Sets a user's presence from a snapshot (a read replica, which serves every
    /// user it holds) and marks the change.
    pub(crate) fn replace(&self, user: UserId, snapshot: Snapshot) {
        let entry = Entry {
            user: snapshot.user,
            activities: snapshot.activities,
            status: snapshot.status,
            clients: snapshot.clients,
            guilds: Box::new([Membership { guild: 0, epoch: 0, nick: snapshot.nick }]),
            hidden: false,
        };
        self.count.fetch_add(1, Ordering::Relaxed);
        if let Some(old) = self.entries.insert(user.0, entry) {
            self.uncount(&old);
        }
        self.changes.mark(user);
    }

    /// Removes a user (a read replica: the primary no longer serves them) and
    /// marks the change; false when there was no entry.
    pub(crate) fn remove(&self, user: UserId) -> bool {
        let Some(old) = self.entries.remove(&user.0) else { return false };
        self.uncount(&old);
        self.changes.mark(user);
        true
    }

    /// Whether a user is monitored (a hidden user is not).
    pub fn contains(&self, user: UserId) -> bool {
        self.entries.read(&user.0).get(&user.0).is_some_and(|e| !e.hidden)
    }

    /// Whether a user is a member of a monitored guild, hidden or not (the bot
    /// answers a hidden member, who may want to `.show`).
    pub fn is_member(&self, user: UserId) -> bool {
        self.entries.contains(&user.0)
    }

    /// The users monitored and served, in order (the list `subscribe_to_all` shows).
    pub fn served_users(&self) -> Vec<UserId> {
        let mut users = Vec::with_capacity(self.monitored_count());
        self.entries.each_shard(|shard| {
            users.extend(shard.iter().filter(|(_, e)| !e.hidden).map(|(user, _)| UserId(*user)));
        });
        users.sort_unstable();
        users
    }

    /// How many users are monitored and served (hidden ones are not counted:
    /// they are indistinguishable from users not monitored).
    pub fn monitored_count(&self) -> usize {
        self.count.load(Ordering::Relaxed).saturating_sub(self.hidden.load(Ordering::Relaxed))
    }

    /// Hides or serves a user's entry, if there is one; true when that changed
    /// what readers see (the privacy service marks the change). The choice must be
    /// in the [`Ledger`] first, so that an entry the gateway makes meanwhile reads it.
    pub fn set_hidden(&self, user: UserId, hidden: bool) -> bool {
        let mut shard = self.entries.write(&user.0);
        let Some(entry) = shard.get_mut(&user.0).filter(|e| e.hidden != hidden) else { return false };
        entry.hidden = hidden;
        let counter = &self.hidden;
        if hidden {
            counter.fetch_add(1, Ordering::Relaxed)
        } else {
            counter.fetch_sub(1, Ordering::Relaxed)
        };
        true
    }

    /// The served users whose status is not offline (recorded as last seen at shutdown).
    pub fn online_served(&self) -> Vec<u64> {
        let mut online = Vec::new();
        self.entries.each_shard(|shard| {
            online.extend(shard.iter().filter(|(_, e)| !e.hidden && e.status != Status::Offline).map(|(u, _)| *u));
        });
        online
    }

    /// A new entry for `user`, hidden unless served, counted.
    fn new_entry(&self, user: u64, raw: &str) -> Entry {
        let entry = Entry::new(raw, !self.privacy.served(UserId(user)));
        self.count.fetch_add(1, Ordering::Relaxed);
        if entry.hidden {
            self.hidden.fetch_add(1, Ordering::Relaxed);
        }
        entry
    }

    /// Uncounts an entry that left.
    fn uncount(&self, entry: &Entry) {
        self.count.fetch_sub(1, Ordering::Relaxed);
        if entry.hidden {
            self.hidden.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Sets a user's presence as Discord would have sent it, a member of guild 0,
    /// and marks the change (tests and benchmarks; the gateway uses the methods below).
    #[cfg(any(test, feature = "testing"))]
    pub fn insert_raw(&self, user: UserId, presence: RawPresence) {
        self.insert_raw_unmarked(user, presence);
        self.changes.mark(user);
    }

    /// `insert_raw` without marking the change: what a reader sees before the
    /// mark (unit tests of the caches keyed by the change version).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn insert_raw_unmarked(&self, user: UserId, presence: RawPresence) {
        let entry = Entry {
            user: presence.user,
            activities: presence.activities,
            status: presence.status,
            clients: ClientStatus::default(),
            guilds: Box::new([Membership { guild: 0, epoch: 0, nick: None }]),
            hidden: !self.privacy.served(user),
        };
        if entry.hidden {
            self.hidden.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        if let Some(old) = self.entries.insert(user.0, entry) {
            self.uncount(&old);
        }
    }

    /// Marks `user` changed when `changed` is; returns `changed`.
    fn marked(&self, user: u64, changed: bool) -> bool {
        if changed {
            self.changes.mark(UserId(user));
        }
        changed
    }

    /// A member of `guild` seen in its sync `epoch` (GUILD_CREATE, chunk, member
    /// add/update); true when their public state changed.
    pub(crate) fn upsert_member(&self, user: u64, guild: u64, epoch: u32, member: MemberSeen<'_>) -> bool {
        self.sync_member(user, guild, epoch, member, None)
    }

    /// A member of `guild` seen in its sync `epoch` together with the presence
    /// the same frame carries for them (`user_json`: the presence's raw user
    /// object when it is a full one): both applied under one lock and marked
    /// once, so no reader or push sees the member before that presence (a new
    /// member would otherwise show "offline" for a moment). True when their
    /// public state changed.
    pub(crate) fn sync_member(
        &self,
        user: u64,
        guild: u64,
        epoch: u32,
        member: MemberSeen<'_>,
        presence: Option<(Update<'_>, Option<&str>)>,
    ) -> bool {
        let mut shard = self.entries.write(&user);
        let entry = match shard.get_mut(&user) {
            Some(entry) => entry,
            None => shard.entry(user).or_insert_with(|| self.new_entry(user, member.user)),
        };
        let mut changed = entry.join(guild, epoch, member.nick.map(Some));
        if *entry.user != *member.user {
            entry.user = member.user.into();
            changed = true;
        }
        if let Some((update, user_json)) = presence {
            changed |= self.apply_presence(user, entry, update, user_json);
        }
        // Nobody may hear of a hidden user's change.
        let visible = !entry.hidden;
        drop(shard);
        self.marked(user, changed && visible)
    }

    /// A presence of a member of `guild` (a presence proves membership); true when
    /// their public state changed. `user_json` is the raw user object when the
    /// event carried a full one.
    pub(crate) fn update_presence(
        &self,
        user: u64,
        guild: u64,
        epoch: u32,
        update: Update<'_>,
        user_json: Option<&str>,
    ) -> bool {
        let mut shard = self.entries.write(&user);
        let entry = match shard.get_mut(&user) {
            Some(entry) => entry,
            None => {
                let placeholder;
                let raw = match user_json {
                    Some(raw) => raw,
                    None => {
                        placeholder = format!(r#"{{"id":"{user}"}}"#);
                        &placeholder
                    }
                };
                shard.entry(user).or_insert_with(|| self.new_entry(user, raw))
            }
        };
        let mut changed = entry.join(guild, epoch, None);
        changed |= self.apply_presence(user, entry, update, user_json);
        let visible = !entry.hidden;
        drop(shard);
        self.marked(user, changed && visible)
    }

    /// Applies a presence to an entry (under its shard's lock); true when that
    /// changed it. A served user going offline records a last-seen time.
    fn apply_presence(&self, user: u64, entry: &mut Entry, update: Update<'_>, user_json: Option<&str>) -> bool {
        let mut changed = false;
        if let Some(raw) = user_json.filter(|raw| **raw != *entry.user) {
            entry.user = raw.into();
            changed = true;
        }
        let activities = Some(update.activities).filter(|a| !a.is_empty() && *a != "[]");
        if entry.status != Status::Offline && update.status == Status::Offline && !entry.hidden {
            self.privacy.last_seen().record(user, now_ms());
        }
        if entry.status != update.status || entry.clients != update.clients || entry.activities.as_deref() != activities
        {
            entry.status = update.status;
            entry.clients = update.clients;
            entry.activities = activities.map(Into::into);
            changed = true;
        }
        changed
    }

    /// A member left `guild` (or the bot did); true when their public state changed
    /// (they are gone, or their `server_name` changed).
    pub(crate) fn remove_member(&self, user: u64, guild: u64) -> bool {
        let mut shard = self.entries.write(&user);
        let Some(entry) = shard.get_mut(&user) else { return false };
        let Some(at) = entry.guilds.iter().position(|m| m.guild == guild) else { return false };
        if entry.guilds.len() == 1 {
            if let Some(old) = shard.remove(&user) {
                self.uncount(&old);
            }
        } else {
            let mut guilds = std::mem::take(&mut entry.guilds).into_vec();
            guilds.remove(at);
            entry.guilds = guilds.into_boxed_slice();
        }
        drop(shard);
        self.marked(user, true)
    }

    /// Ends a sync of `guild`: members not seen in `epoch` are no longer members.
    /// Returns the users whose state changed.
    pub(crate) fn sweep(&self, guild: u64, epoch: u32) -> Vec<UserId> {
        self.drop_memberships(|m| m.guild == guild && m.epoch != epoch)
    }

    /// A new session lists the bot's guilds: memberships of other guilds end.
    /// Returns the users whose state changed.
    pub(crate) fn retain_guilds(&self, keep: impl Fn(u64) -> bool) -> Vec<UserId> {
        self.drop_memberships(|m| !keep(m.guild))
    }

    fn drop_memberships(&self, gone: impl Fn(&Membership) -> bool) -> Vec<UserId> {
        let mut changed = Vec::new();
        self.entries.each_shard_mut(|shard| {
            shard.retain(|&user, entry| {
                if !entry.guilds.iter().any(&gone) {
                    return true;
                }
                changed.push(UserId(user));
                let kept: Vec<Membership> =
                    std::mem::take(&mut entry.guilds).into_iter().filter(|m| !gone(m)).collect();
                entry.guilds = kept.into_boxed_slice();
                if entry.guilds.is_empty() {
                    self.uncount(entry);
                }
                !entry.guilds.is_empty()
            });
        });
        if !changed.is_empty() {
            self.changes.mark_all(changed.iter().copied());
        }
        changed
    }
}
