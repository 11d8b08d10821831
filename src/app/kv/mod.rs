//! The KV service: each user's key/value pairs. The rules and limits are in
//! [`limits`], the table in `data`; writes go through the write path of the
//! public state (`app::writes`), so subscribers and readers see them.
//!
//! A member's writes are counted per user, whatever address, bot command or
//! slash command they come from ([`Kv::admit_write`], `kv.writes_per_minute`):
//! each is a durable commit, and a push of the user's presence to every
//! subscriber, so without it one token writing from many addresses would
//! multiply the bytes the server sends by its number of subscribers.

pub(crate) mod data;
mod limits;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::WriteTransaction;

pub(crate) use self::limits::rendered_string_len;
pub use self::limits::{KvError, KvLimits};
use super::writes::Writes;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::limit::{Clock, Count, Instant, Keyed, Window};
use crate::store::{self, Store};

/// Members whose write windows are kept at most (the least recently seen go first).
const MAX_WRITERS: usize = 100_000;

/// Every user's KV pairs.
pub struct Kv {
    limits: KvLimits,
    store: Arc<Store>,
    writes: Arc<Writes>,
    /// Writes that succeeded, from any adapter (`harmy_kv_writes_total`).
    written: AtomicU64,
    /// A member's writes a minute, and each member's count.
    write_rate: Window,
    clock: Clock,
    writers: Keyed<UserId, Count>,
}

impl Kv {
    /// The service over `store`, with `limits`.
    pub fn new(limits: KvLimits, store: Arc<Store>, writes: Arc<Writes>) -> Kv {
        let write_rate = Window::per_minute(limits.writes_per_minute);
        let writers = Keyed::new(MAX_WRITERS, write_rate.length());
        Kv { limits, store, writes, written: AtomicU64::new(0), write_rate, clock: Clock::new(), writers }
    }

    /// Counts a member's write against `kv.writes_per_minute`, all their
    /// addresses, bot and slash commands together: `KvWriteRate` past it. Every
    /// path a member writes through (REST, bot, slash commands) calls it before
    /// writing; the operator's CLI does not (docs/DECISIONS.md).
    pub fn admit_write(&self, user: UserId) -> Result<()> {
        if self.write_rate.is_off() {
            return Ok(());
        }
        let now_ms = self.clock.ms(Instant::now());
        let taken = self.writers.with(user, now_ms, |count| self.write_rate.take(count, now_ms));
        if taken.allowed {
            return Ok(());
        }
        Err(Error::KvWriteRate { per_minute: self.limits.writes_per_minute, retry_after: taken.retry_after() })
    }

    /// The limits in force.
    pub fn limits(&self) -> KvLimits {
        self.limits
    }

    /// Sets one pair (not counted against the write rate: see [`Kv::admit_write`]).
    pub async fn set(&self, user: UserId, key: String, value: String) -> Result<()> {
        self.set_many(user, vec![(key, value)]).await
    }

    /// Sets several pairs at once: all of them, or (on any broken limit) none.
    pub async fn set_many(&self, user: UserId, pairs: Vec<(String, String)>) -> Result<()> {
        for (key, value) in &pairs {
            self.limits.check_pair(key, value)?;
        }
        let limits = self.limits;
        self.writes.run(user, move |txn| data::set(txn, user, &pairs, &limits)).await?;
        self.written.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Deletes a key; true when it existed.
    pub async fn del(&self, user: UserId, key: String) -> Result<bool> {
        self.limits.check_key(&key)?;
        let existed = self.writes.run(user, move |txn| data::del(txn, user, &key)).await?;
        self.written.fetch_add(1, Ordering::Relaxed);
        Ok(existed)
    }

    /// One value.
    pub async fn get(&self, user: UserId, key: String) -> Result<String> {
        self.limits.check_key(&key)?;
        let found = store::blocking(&self.store, {
            let key = key.clone();
            move |store| store.read(|txn| data::get(txn, user, &key))
        });
        found.await?.ok_or(Error::KvKeyNotFound(key))
    }

    /// Every pair of a user.
    pub async fn all(&self, user: UserId) -> Result<BTreeMap<String, String>> {
        let pairs = store::blocking(&self.store, move |store| store.read(|txn| data::all(txn, user))).await?;
        Ok(pairs.into_iter().collect())
    }

    /// Deletes every pair of a user inside `txn` (`App::forget`); how many there were.
    pub(crate) fn forget_in(txn: &WriteTransaction, user: UserId) -> Result<usize> {
        data::forget(txn, user)
    }

    /// Writes (sets, merges and deletes) that succeeded since start.
    pub fn writes(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}
