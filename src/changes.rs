//! The change feed: which users' public state (presence, KV, GitHub) changed.
//!
//! Writers mark a user; the one consumer (the WebSocket hub) takes the set of
//! marked users in batches. Marks coalesce, so a flood of updates for the same
//! user costs one push of its latest state, memory is bounded by the number of
//! users, and nothing is ever dropped for lagging.

use std::collections::HashSet;
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::ids::UserId;

/// Users whose public state changed since the consumer last looked.
#[derive(Default)]
pub struct ChangeFeed {
    dirty: Mutex<HashSet<UserId>>,
    notify: Notify,
}

impl ChangeFeed {
    /// Records that a user's state changed.
    pub fn mark(&self, user: UserId) {
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
        let mut dirty = self.dirty.lock().unwrap_or_else(|e| e.into_inner());
        dirty.extend(users);
        if !dirty.is_empty() {
            self.notify.notify_one();
        }
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
