//! The privacy service (docs/API.md, "Privacy" and "Last seen"): who is served, `forget`, the export, and
//! last seen.
//!
//! * `privacy.mode` decides for users who said nothing (`public` serves them,
//!   `opt_in` hides them); a user's own `.show` / `.hide`, stored in redb
//!   (`data`), wins either way; `forget` stores `hide`. [`Visibility`] holds
//!   them in memory.
//! * A hidden user is filtered in the presence service itself: each entry
//!   carries the answer of [`Visibility::served`], taken when it is made and
//!   updated by a change of choice (`Presences::set_hidden`), and its readers
//!   (`view`, `raw`, `contains`) answer a hidden user as one not monitored. So
//!   every route, the socket hub, `subscribe_to_all` and the bulk lookups do,
//!   and a change of choice marks the change feed: open sockets hear nothing
//!   more of a user who hid.
//! * Choices are written one at a time, so memory follows the order of the
//!   commits. A hide applies in memory before its commit (should the commit
//!   fail, the user stays hidden until a restart and hears the error); a show
//!   only after its commit.
//! * [`last_seen`]: when served users went offline, in memory, written in batches.

pub(crate) mod data;
pub mod export;
pub mod last_seen;
mod visibility;

use std::collections::BTreeMap;
use std::sync::Arc;

use self::export::Export;
pub use self::visibility::{Choice, Visibility};
use super::App;
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

/// Users' privacy choices and last-seen times.
pub struct Privacy {
    store: Arc<Store>,
    presences: Arc<Presences>,
    writes: Arc<Writes>,
    changes: Arc<ChangeFeed>,
}

/// The visibility and last-seen times stored, read at start. A store that cannot
/// be read serves nobody (the private reading) and says so in the log.
pub(crate) fn load(config: &crate::config::Config, store: &Store) -> (Visibility, Vec<(UserId, u64)>) {
    let stored = store.read(|txn| Ok((data::choices(txn)?, data::last_seen_all(txn)?)));
    match stored {
        Ok((choices, times)) => {
            let choices = choices.into_iter().map(|(user, byte)| (user, Choice::from_byte(byte)));
            (Visibility::new(config.privacy.mode, choices), times)
        }
        Err(e) => {
            tracing::error!("privacy choices unreadable, serving nobody: {e}");
            (Visibility::new(crate::config::PrivacyMode::OptIn, []), Vec::new())
        }
    }
}

impl Privacy {
    /// The service over `store`, applying choices to `presences`.
    pub fn new(store: Arc<Store>, presences: Arc<Presences>, writes: Arc<Writes>, changes: Arc<ChangeFeed>) -> Privacy {
        Privacy { store, presences, writes, changes }
    }

    /// Who is served.
    pub fn visibility(&self) -> &Visibility {
        self.presences.visibility()
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

    /// Deletes every stored row of a user in one transaction (KV, token, GitHub
    /// link and profile, last seen) and stores `hide`; see [`App::forget`].
    async fn forget(&self, user: UserId) -> Result<Forgotten> {
        let _writing = self.visibility().writing().await;
        self.apply(user, Choice::Hidden);
        let last_seen = self.presences.last_seen();
        // No batch taken before this can write the time back after it.
        let _flushing = last_seen.flushing().await;
        last_seen.forget(user);
        let forget = move |txn: &redb::WriteTransaction| {
            let forgotten = Forgotten {
                kv_pairs: super::kv::data::forget(txn, user)?,
                token: super::tokens::data::forget(txn, user)?,
                github: super::github::data::forget(txn, user)?,
                last_seen: data::forget_last_seen(txn, user)?,
            };
            data::set_choice(txn, user, Choice::Hidden.to_byte())?;
            Ok(forgotten)
        };
        // Through the write path of the public state: the KV and GitHub shown are
        // refreshed from the committed state.
        self.writes.run(user, forget).await
    }

    /// A user's stored last-seen time (memory holds every stored time and those not
    /// yet written, so this is its fallback only).
    async fn stored_last_seen(&self, user: UserId) -> Result<Option<u64>> {
        store::blocking(&self.store, move |store| store.read(|txn| data::last_seen(txn, user))).await
    }

    /// Writes the last-seen times recorded since the last batch in one commit; a
    /// batch that fails is kept for the next one.
    pub async fn last_seen_flush(&self) {
        let last_seen = self.presences.last_seen();
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
            self.presences.last_seen().record(user, now);
        }
        self.last_seen_flush().await;
    }
}

impl App {
    /// Deletes everything stored about a user (KV, token, GitHub link and profile,
    /// last seen) in one transaction and leaves them hidden, whatever the mode.
    pub async fn forget(&self, user: UserId) -> Result<Forgotten> {
        let forgotten = self.privacy.forget(user).await?;
        self.tokens.forgotten(user);
        Ok(forgotten)
    }

    /// Everything stored about a user, as one JSON document (never a token hash).
    pub async fn export(&self, user: UserId) -> Result<String> {
        let kv = self.kv.all(user).await?;
        let has_token = self.tokens.issued(user).await?;
        let github = self.github.get(user).await?;
        let last_seen = match self.presences.last_seen().get(user) {
            Some(at) => Some(at),
            None => self.privacy.stored_last_seen(user).await?,
        };
        let visibility = self.privacy.visibility();
        let export = Export {
            user,
            mode: visibility.mode(),
            choice: visibility.choice(user),
            served: visibility.served(user),
            kv: kv.into_iter().collect::<BTreeMap<_, _>>(),
            has_token,
            github,
            last_seen,
        };
        Ok(export.to_json())
    }
}

#[cfg(test)]
mod tests;
