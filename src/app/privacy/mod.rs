//! The privacy service (docs/API.md, "Privacy" and "Last seen"): who is served,
//! last seen, and its own part of `forget` and the export.
//!
//! * `privacy.mode` decides for users who said nothing (`public` serves them,
//!   `opt_in` hides them); a user's own `.show` / `.hide`, stored in redb
//!   (`data`), wins either way; `forget` stores `hide`. [`Visibility`] holds
//!   them in memory.
//! * The service owns who is served and the last-seen times ([`Ledger`]) and
//!   hands the presence service a handle to them. The presence service asks it
//!   whether a user is served when it makes their entry, and keeps the answer
//!   in the entry (a flag in its padding, so that readers take no lock of
//!   privacy's); a change of choice updates the entry (`Presences::set_hidden`)
//!   and marks the change feed. Its readers (`view`, `raw`, `contains`, the
//!   counts) answer a hidden user as one not monitored, so every route, the
//!   socket hub, `subscribe_to_all` and the bulk lookups do, and open sockets
//!   hear nothing more of a user who hid.
//! * Choices are written one at a time, so memory follows the order of the
//!   commits. A hide applies in memory before its commit (should the commit
//!   fail, the user stays hidden until a restart and hears the error); a show
//!   only after its commit.
//! * [`last_seen`]: when served users went offline, in memory, written in
//!   batches at most every 30 s and at shutdown.
//! * `forget`: every service deletes its own rows of the user (`forget_in`) in
//!   one transaction of the write path of the public state, this one its
//!   last-seen time, and stores `hide`.

pub(crate) mod data;
pub mod export;
pub mod last_seen;
mod visibility;

use std::sync::Arc;

use redb::WriteTransaction;

use self::last_seen::LastSeen;
pub use self::visibility::{Choice, Visibility};
use super::changes::ChangeFeed;
use super::presence::Presences;
use super::writes::Writes;
use crate::error::Result;
use crate::ids::UserId;
use crate::store::{self, Durability, Store};

/// What `forget` deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Forgotten {
    /// KV pairs deleted.
    pub kv_pairs: usize,
    /// Whether there was an API token.
    pub token: bool,
    /// Whether there was a GitHub link.
    pub github: bool,
    /// Whether a last-seen time was stored.
    pub last_seen: bool,
}

/// Who is served and when served users went offline: the privacy service's
/// state in memory, shared with the presence service, which asks it.
#[derive(Debug, Default)]
pub struct Ledger {
    visibility: Visibility,
    last_seen: LastSeen,
}

impl Ledger {
    /// The mode and choices in force, with the stored last-seen times.
    pub fn new(visibility: Visibility, times: impl IntoIterator<Item = (UserId, u64)>) -> Ledger {
        let ledger = Ledger { visibility, last_seen: LastSeen::default() };
        ledger.last_seen.load(times);
        ledger
    }

    /// Whether a user is served (their choice, else the mode).
    pub fn served(&self, user: UserId) -> bool {
        self.visibility.served(user)
    }

    /// Who is served.
    pub fn visibility(&self) -> &Visibility {
        &self.visibility
    }

    /// When served users went offline.
    pub fn last_seen(&self) -> &LastSeen {
        &self.last_seen
    }
}

/// Users' privacy choices and last-seen times.
pub struct Privacy {
    store: Arc<Store>,
    ledger: Arc<Ledger>,
    presences: Arc<Presences>,
    writes: Arc<Writes>,
    changes: Arc<ChangeFeed>,
}

/// The visibility and last-seen times stored, read at start. A store that cannot
/// be read serves nobody (the private reading) and says so in the log.
pub(crate) fn load(config: &crate::config::Config, store: &Store) -> Ledger {
    let stored = store.read(|txn| Ok((data::choices(txn)?, data::last_seen_all(txn)?)));
    match stored {
        Ok((choices, times)) => {
            let choices = choices.into_iter().map(|(user, byte)| (user, Choice::from_byte(byte)));
            Ledger::new(Visibility::new(config.privacy.mode, choices), times)
        }
        Err(e) => {
            tracing::error!("privacy choices unreadable, serving nobody: {e}");
            Ledger::new(Visibility::new(crate::config::PrivacyMode::OptIn, []), [])
        }
    }
}

impl Privacy {
    /// The service over `store` and `ledger` (the presence service's handle on
    /// it), applying choices to `presences`.
    pub fn new(
        store: Arc<Store>,
        ledger: Arc<Ledger>,
        presences: Arc<Presences>,
        writes: Arc<Writes>,
        changes: Arc<ChangeFeed>,
    ) -> Privacy {
        Privacy { store, ledger, presences, writes, changes }
    }

    /// Who is served.
    pub fn visibility(&self) -> &Visibility {
        self.ledger.visibility()
    }

    /// The last-seen times.
    pub fn last_seen(&self) -> &LastSeen {
        self.ledger.last_seen()
    }

    /// Whether a user is served (their choice, else the mode).
    pub fn served(&self, user: UserId) -> bool {
        self.visibility().served(user)
    }

    /// Records a user's choice, and applies it to the presences and open sockets.
    pub async fn set(&self, user: UserId, choice: Choice) -> Result<()> {
        let _writing = self.visibility().writing().await;
        if choice == Choice::Hidden {
            self.apply(user, choice);
        }
        store::blocking(&self.store, move |store| {
            store.write(Durability::Immediate, |txn| data::set_choice(txn, user, choice.to_byte()))
        })
        .await?;
        if choice == Choice::Shown {
            self.apply(user, choice);
        }
        Ok(())
    }

    /// Applies a choice in memory: the visibility first, then the presence entry
    /// (the gateway reads the visibility when it makes one), then the change feed.
    fn apply(&self, user: UserId, choice: Choice) {
        self.visibility().set(user, choice);
        if self.presences.set_hidden(user, choice == Choice::Hidden) {
            self.changes.mark(user);
        }
    }

    /// Deletes every stored row of a user in one transaction: the other services'
    /// (`others`, each service's `forget_in`), then this one's (their last-seen
    /// time), and stores `hide`, applied in memory first. Through the write path
    /// of the public state, so the KV and GitHub shown are refreshed from the
    /// committed state.
    pub async fn forget<F>(&self, user: UserId, others: F) -> Result<Forgotten>
    where
        F: FnOnce(&WriteTransaction) -> Result<Forgotten> + Send + 'static,
    {
        let _writing = self.visibility().writing().await;
        self.apply(user, Choice::Hidden);
        let last_seen = self.last_seen();
        // No batch taken before this can write the time back after it.
        let _flushing = last_seen.flushing().await;
        last_seen.forget(user);
        let forget = move |txn: &WriteTransaction| {
            let forgotten = others(txn)?;
            Ok(Forgotten { last_seen: Privacy::forget_in(txn, user)?, ..forgotten })
        };
        self.writes.run(user, forget).await
    }

    /// Deletes a user's last-seen time inside `txn` and stores `hide`; true when
    /// there was a time.
    fn forget_in(txn: &WriteTransaction, user: UserId) -> Result<bool> {
        let had_time = data::forget_last_seen(txn, user)?;
        data::set_choice(txn, user, Choice::Hidden.to_byte())?;
        Ok(had_time)
    }

    /// A user's last-seen time: in memory, else as stored.
    pub async fn last_seen_of(&self, user: UserId) -> Result<Option<u64>> {
        match self.last_seen().get(user) {
            Some(at) => Ok(Some(at)),
            None => self.stored_last_seen(user).await,
        }
    }

    /// A user's stored last-seen time (memory holds every stored time and those not
    /// yet written, so this is its fallback only).
    async fn stored_last_seen(&self, user: UserId) -> Result<Option<u64>> {
        store::blocking(&self.store, move |store| store.read(|txn| data::last_seen(txn, user))).await
    }

    /// Writes the last-seen times recorded since the last batch in one commit; a
    /// batch that fails is kept for the next one.
    pub async fn last_seen_flush(&self) {
        let last_seen = self.last_seen();
        let _flushing = last_seen.flushing().await;
        let batch = last_seen.take();
        if batch.is_empty() {
            return;
        }
        let written = batch.clone();
        let stored = store::blocking(&self.store, move |store| {
            store.write(Durability::Immediate, |txn| data::put_last_seen(txn, &written))
        });
        match stored.await {
            Ok(()) => last_seen.committed(),
            Err(e) => {
                tracing::warn!(users = batch.len(), "last-seen times not written, kept for the next batch: {e}");
                last_seen.put_back(batch);
            }
        }
    }

    /// At shutdown: every served user still online was last seen now; writes the last batch.
    pub async fn last_seen_at_shutdown(&self) {
        let now = last_seen::now_ms();
        for user in self.presences.online_served() {
            self.last_seen().record(user, now);
        }
        self.last_seen_flush().await;
    }
}

#[cfg(test)]
mod tests;
