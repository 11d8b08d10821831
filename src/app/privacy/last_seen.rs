//! Last seen (docs/API.md, "Last seen"): when each served user last went from online, idle or
//! dnd to offline, kept in memory and written to redb in batches.
//!
//! * The gateway records a time when a served user goes offline
//!   (`Presences::update_presence`); the views show it while the user is
//!   offline (`lastSeen`, `last_seen`) and null otherwise. Hidden users are not
//!   recorded: nobody may see it, and nobody asked harmy to keep it.
//! * Every known time (loaded at start, updated on each change) stays in memory,
//!   so a member's time is served from their first GUILD_CREATE on. About
//!   30 bytes per user who was ever seen going offline.
//! * [`run`] writes the times recorded since its last batch every
//!   [`FLUSH_EVERY`] (one commit, whatever the number of changes), and at
//!   shutdown, when it also records "now" for everyone still online. A crash
//!   loses at most the last window: those users show their previous time (or
//!   none) after the restart, until they next go offline.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::ids::UserId;

/// How often recorded times are written, at most.
pub const FLUSH_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct Book {
    /// Every known time, ms since the epoch.
    known: HashMap<u64, u64>,
    /// Times recorded since the last batch was taken.
    pending: HashMap<u64, u64>,
}

/// The last-seen times and the batches that write them.
#[derive(Debug, Default)]
pub struct LastSeen {
    book: Mutex<Book>,
    /// Held while a batch is taken and written, and while a user is forgotten,
    /// so that a batch taken before a `forget` cannot write their time back after it.
    flushing: tokio::sync::Mutex<()>,
    recorded: AtomicU64,
    commits: AtomicU64,
}

impl LastSeen {
    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads the stored times (at start).
    pub fn load(&self, times: impl IntoIterator<Item = (UserId, u64)>) {
        self.book().known.extend(times.into_iter().map(|(user, at)| (user.0, at)));
    }

    /// A user's time, if known.
    pub fn get(&self, user: UserId) -> Option<u64> {
        self.book().known.get(&user.0).copied()
    }

    /// Records that a user went offline at `at` (ms since the epoch).
    pub fn record(&self, user: u64, at: u64) {
        let mut book = self.book();
        book.known.insert(user, at);
        book.pending.insert(user, at);
        drop(book);
        self.recorded.fetch_add(1, Ordering::Relaxed);
    }

    /// A time imported from Lanyard, already in the store: known from now on,
    /// unless the user went offline since (that time, not yet written, is newer);
    /// call it holding [`LastSeen::flushing`].
    pub(crate) fn imported(&self, user: UserId, at: u64) {
        let mut book = self.book();
        if !book.pending.contains_key(&user.0) {
            book.known.insert(user.0, at);
        }
    }

    /// Forgets a user's time in memory; call it holding [`LastSeen::flushing`].
    pub(crate) fn forget(&self, user: UserId) {
        let mut book = self.book();
        book.known.remove(&user.0);
        book.pending.remove(&user.0);
    }

    /// The turn to take and write a batch, or to forget a user.
    pub(crate) async fn flushing(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.flushing.lock().await
    }

    /// Takes the times recorded since the last batch.
    pub(crate) fn take(&self) -> Vec<(UserId, u64)> {
        let mut book = self.book();
        let pending = std::mem::take(&mut book.pending);
        pending.into_iter().map(|(user, at)| (UserId(user), at)).collect()
    }

    /// Puts back a batch that could not be written (times recorded since win).
    pub(crate) fn put_back(&self, batch: Vec<(UserId, u64)>) {
        let mut book = self.book();
        for (user, at) in batch {
            book.pending.entry(user.0).or_insert(at);
        }
    }

    /// Counts a batch written.
    pub(crate) fn committed(&self) {
        self.commits.fetch_add(1, Ordering::Relaxed);
    }

    /// Offline transitions recorded since start (`harmy_last_seen_recorded_total`).
    pub fn recorded(&self) -> u64 {
        self.recorded.load(Ordering::Relaxed)
    }

    /// Batches written since start (`harmy_last_seen_commits_total`).
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }
}

/// Milliseconds since the epoch now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Writes the recorded times every [`FLUSH_EVERY`] until `shutdown`, then records
/// everyone still online and writes a last batch.
pub async fn run(app: std::sync::Arc<crate::app::App>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + FLUSH_EVERY, FLUSH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => app.privacy.last_seen_flush().await,
            () = shutdown.cancelled() => break,
        }
    }
    app.privacy.last_seen_at_shutdown().await;
    Ok(())
}
