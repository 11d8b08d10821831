//! The write path of a user's stored public state (KV pairs, the GitHub
//! profile). Every such write runs in the group commit (`store::group`), and
//! inside it, one write at a time, the user's extras are refreshed in the read
//! path from the committed state (so two writes of one user can never leave the
//! older render behind). Once the group is durable, the change is marked for
//! subscribers and readers, and only then is the writer answered.
//!
//! Should the storage fail before the group is durable (a disk full, a file
//! system gone read-only), the store reopens the database, which drops the
//! group's commits; each writer hears `Unavailable`, and its user's extras
//! are read back from the reopened database, so readers no longer see a
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
        let (reads, changes) = (self.reads.clone(), self.changes.clone());
        let (sender, outcome) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |batch: &Batch<'_>| {
            let done = batch.write(write).and_then(|value| Ok((value, reads.refresh_extras(batch, user)?)));
            Box::new(move |after: &Batch<'_>, persisted| {
                if persisted.is_err() && done.is_ok() {
                    // Dropped with the group: show what the database holds again.
                    if reads.refresh_extras(after, user).unwrap_or(true) {
                        changes.mark(user);
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
        if changed {
            self.changes.mark(user);
        }
        Ok(value)
    }
}
