//! The write path of a user's stored public state (KV pairs, the GitHub
//! profile). Every such write runs in the group commit (`store::group`), and
//! inside it, one write at a time, the user's stored state is refreshed in the read
//! path from the committed state (so two writes of one user can never leave the
//! older render behind). Once the group is durable, the change is marked for
//! subscribers and readers, and only then is the writer answered.
//!
//! Should the storage fail before the group is durable (a disk full, a file
//! system gone read-only), the store reopens the database, which drops the
//! group's commits; each writer hears `Unavailable`, and its users' stored
//! state is read back from the reopened database, so readers no longer see a
//! write that was refused (they may have for the moment the failure took).
//! Nothing of it was ever pushed: subscribers hear of a write once durable.

use std::sync::Arc;

use redb::WriteTransaction;

use super::changes::ChangeFeed;
use super::reads::Reads;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::store::Store;
use crate::store::group::{Batch, GroupCommit, Job};

/// The group commit of the public state, and what it keeps current.
pub struct Writes {
    store: Arc<Store>,
    group: Arc<GroupCommit>,
    reads: Arc<Reads>,
    changes: Arc<ChangeFeed>,
}

impl Writes {
    /// Writes through `store`, refreshing `reads` and marking `changes`.
    pub fn new(store: Arc<Store>, reads: Arc<Reads>, changes: Arc<ChangeFeed>) -> Writes {
        Writes { store, group: Arc::default(), reads, changes }
    }

    /// Runs `write` for `user` in a group commit (an error refuses it: nothing
    /// changes) and answers once it is durable. A write that leaves what readers
    /// see as it was (the same value again, a new GitHub ETag over the same
    /// profile) marks nothing, so subscribers are pushed nothing.
    pub async fn run<T: Send + 'static>(
        &self,
        user: UserId,
        write: impl FnOnce(&WriteTransaction) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.run_many(vec![user], write).await
    }

    /// Like [`Writes::run`], for one transaction that writes several users' state
    /// (an import's batch): all of it lands, or none.
    pub async fn run_many<T: Send + 'static>(
        &self,
        users: Vec<UserId>,
        write: impl FnOnce(&WriteTransaction) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reads, changes) = (self.reads.clone(), self.changes.clone());
        let (sender, outcome) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |batch: &Batch<'_>| {
            let done = batch.write(write).and_then(|value| {
                let mut changed = Vec::new();
                for user in users {
                    if reads.refresh_stored(batch, user)? {
                        changed.push(user);
                    }
                }
                Ok((value, changed))
            });
            Box::new(move |after: &Batch<'_>, persisted| {
                if let (Err(_), Ok((_, changed))) = (&persisted, &done) {
                    // Dropped with the group: show what the database holds again.
                    for &user in changed {
                        if reads.refresh_stored(after, user).unwrap_or(true) {
                            changes.mark(user);
                        }
                    }
                }
                let _ = sender.send(persisted.map_err(Error::from).and(done));
            })
        });
        let (store, group) = (self.store.clone(), self.group.clone());
        tokio::task::spawn_blocking(move || group.run(&store, job))
            .await
            .map_err(|e| Error::Internal(format!("store task: {e}")))?;
        let (value, changed) = outcome.await.map_err(|_| Error::Internal("a store write was lost".into()))??;
        for user in changed {
            self.changes.mark(user);
        }
        Ok(value)
    }
}
