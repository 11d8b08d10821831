//! The change feed: which users' public state (presence, KV, GitHub) changed.
//!
//! Writers mark a user; the one consumer (the WebSocket hub) takes the set of
//! marked users in batches. Marks coalesce, so a flood of updates for the same
//! user costs one push of its latest state, memory is bounded by the number of
//! users, and nothing is ever dropped for lagging.
//!
//! The feed also keeps a generation number, bumped by every mark after the
//! change is visible: a reader that saw generation `g` before reading some
//! state may reuse what it derived from that state while the generation is
//! still `g` (the per-thread body cache of the HTTP reads does).

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

use crate::ids::UserId;

/// Users whose public state changed since the consumer last looked.
#[derive(Default)]
pub struct ChangeFeed {
    dirty: Mutex<HashSet<UserId>>,
    notify: Notify,
    generation: AtomicU64,
}

impl ChangeFeed {
    /// Records that a user's state changed.
    pub fn mark(&self, user: UserId) {
        self.generation.fetch_add(1, Ordering::Release);
        let first = {
            let mut dirty = self.dirty.lock().unwrap_or_else(|e| e.into_inner());
            let was_empty = dirty.is_empty();
            dirty.insert(user);
            was_empty
        };
        if first {
            self.notify.notify_one();
        }
    }

    /// Records many changes at once.
    pub fn mark_all(&self, users: impl IntoIterator<Item = UserId>) {
        self.generation.fetch_add(1, Ordering::Release);
        let mut dirty = self.dirty.lock().unwrap_or_else(|e| e.into_inner());
        dirty.extend(users);
        if !dirty.is_empty() {
            self.notify.notify_one();
        }
    }

    /// The number of marks so far. Read it before reading the state it validates:
    /// while it is unchanged, no marked change has happened since.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Waits for changes and takes all of them.
    pub async fn next_batch(&self) -> Vec<UserId> {
        loop {
            let batch: Vec<UserId> = {
                let mut dirty = self.dirty.lock().unwrap_or_else(|e| e.into_inner());
                dirty.drain().collect()
            };
            if !batch.is_empty() {
                return batch;
            }
            self.notify.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn marks_coalesce_into_one_batch() {
        let feed = ChangeFeed::default();
        feed.mark(UserId(1));
        feed.mark(UserId(1));
        feed.mark(UserId(2));
        let mut batch = feed.next_batch().await;
        batch.sort();
        assert_eq!(batch, vec![UserId(1), UserId(2)]);
        assert_eq!(feed.generation(), 3);
        feed.mark_all([UserId(3)]);
        assert_eq!(feed.generation(), 4);
    }

    #[tokio::test]
    async fn a_waiting_consumer_wakes_on_mark() {
        let feed = std::sync::Arc::new(ChangeFeed::default());
        let waiter = tokio::spawn({
            let feed = feed.clone();
            async move { feed.next_batch().await }
        });
        tokio::task::yield_now().await;
        feed.mark(UserId(9));
        assert_eq!(waiter.await.unwrap(), vec![UserId(9)]);
    }
}
