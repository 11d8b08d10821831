//! The change feed: which users' public state (presence, KV, GitHub) changed.
//!
//! Writers mark a user; each consumer (the WebSocket hub, and on a primary of
//! a cluster the publisher to NATS) takes the set of users marked since it last
//! looked, in batches. Marks coalesce, so a flood of updates for the same user
//! costs one push of its latest state, memory is bounded by the number of
//! users, and nothing is ever dropped for lagging.
//!
//! The feed also keeps a version per user, bumped by every mark of that user
//! after the change is visible: whatever was derived from a user's state read
//! after version `v` was read is current while the version is still `v`. The
//! read path (`app::reads`) validates every body it keeps this way, and so may
//! any other reader that keeps what it derives (the status card). Versions
//! live in a fixed array of counters that users share by hash, so a mark costs
//! one atomic add; two users sharing a counter only invalidate each other's
//! bodies now and then, never serve a stale one.
//!
//! Beside them, one generation counts every mark of anyone: a result derived
//! from the state of many users (the shared INIT_STATE of `subscribe_to_all`)
//! is still current while the generation is the one read before deriving it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use tokio::sync::Notify;

use crate::ids::{UserId, mix};

/// Version counters; a power of two.
const SLOTS: usize = 4096;

/// Users whose public state changed since one consumer last looked.
#[derive(Default)]
struct Marked {
    dirty: Mutex<HashSet<UserId>>,
    notify: Notify,
}

impl Marked {
    fn insert(&self, user: UserId) {
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

    fn extend(&self, users: impl IntoIterator<Item = UserId>) {
        let mut dirty = self.dirty.lock().unwrap_or_else(|e| e.into_inner());
        dirty.extend(users);
        if !dirty.is_empty() {
            self.notify.notify_one();
        }
    }

    async fn next_batch(&self) -> Vec<UserId> {
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

/// Who changed, for each consumer, and the versions readers validate with.
pub struct ChangeFeed {
    /// The WebSocket hub's.
    hub: Marked,
    /// The cluster publisher's, once it follows the feed.
    publisher: OnceLock<Marked>,
    /// Bumped by `mark_all`: part of every user's version.
    everyone: AtomicU64,
    /// Per-user versions, shared by hash.
    slots: Box<[AtomicU64]>,
    /// Bumped by every mark of anyone.
    generation: AtomicU64,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        ChangeFeed {
            hub: Marked::default(),
            publisher: OnceLock::new(),
            everyone: AtomicU64::new(0),
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            generation: AtomicU64::new(0),
        }
    }
}

impl ChangeFeed {
    fn slot(&self, user: UserId) -> &AtomicU64 {
        &self.slots[mix(user.0) as usize % SLOTS]
    }

    /// Records that a user's state changed.
    pub fn mark(&self, user: UserId) {
        self.slot(user).fetch_add(1, Ordering::Release);
        self.generation.fetch_add(1, Ordering::Release);
        self.hub.insert(user);
        if let Some(publisher) = self.publisher.get() {
            publisher.insert(user);
        }
    }

    /// Records many changes at once.
    pub fn mark_all(&self, users: impl IntoIterator<Item = UserId>) {
        self.everyone.fetch_add(1, Ordering::Release);
        self.generation.fetch_add(1, Ordering::Release);
        let users: Vec<UserId> = users.into_iter().collect();
        if let Some(publisher) = self.publisher.get() {
            publisher.extend(users.iter().copied());
        }
        self.hub.extend(users);
    }

    /// The user's version. Read it before reading the state it validates: while
    /// it is unchanged, no marked change of this user has happened since.
    pub fn version(&self, user: UserId) -> u64 {
        // Both parts only grow, so their sum changes whenever either does.
        self.everyone.load(Ordering::Acquire).wrapping_add(self.slot(user).load(Ordering::Acquire))
    }

    /// The generation of everyone's state. Read it before reading the state it
    /// validates: while it is unchanged, no marked change of anyone has happened since.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Waits for changes and takes all of them (the WebSocket hub).
    pub async fn next_batch(&self) -> Vec<UserId> {
        self.hub.next_batch().await
    }

    /// From now on, marks are also kept for [`ChangeFeed::next_to_publish`].
    pub fn follow_for_publishing(&self) {
        let _ = self.publisher.set(Marked::default());
    }

    /// Takes the changes marked for publishing, without waiting.
    pub fn take_to_publish(&self) -> Vec<UserId> {
        self.publisher
            .get()
            .map_or_else(Vec::new, |p| p.dirty.lock().unwrap_or_else(|e| e.into_inner()).drain().collect())
    }

    /// Marks users for publishing again (their records did not get through),
    /// without changing any version: nothing changed for readers.
    pub fn publish_again(&self, users: Vec<UserId>) {
        if let Some(publisher) = self.publisher.get() {
            publisher.extend(users);
        }
    }

    /// Waits for changes and takes all of them (the cluster publisher; call
    /// [`ChangeFeed::follow_for_publishing`] first, else it waits for ever).
    pub async fn next_to_publish(&self) -> Vec<UserId> {
        match self.publisher.get() {
            Some(publisher) => publisher.next_batch().await,
            None => std::future::pending().await,
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

    #[test]
    fn a_mark_changes_that_users_version_and_mark_all_everyones() {
        let feed = ChangeFeed::default();
        let (alice, bob) = (UserId(470320681905684500), UserId(94490510688792576));
        let (a, b) = (feed.version(alice), feed.version(bob));
        feed.mark(alice);
        assert_ne!(feed.version(alice), a);
        let a = feed.version(alice);
        // Bob shares no slot with Alice here, so her change leaves him valid.
        assert_eq!(feed.version(bob), b);
        feed.mark_all([UserId(3)]);
        assert_ne!(feed.version(alice), a);
        assert_ne!(feed.version(bob), b);
    }

    #[test]
    fn every_mark_of_anyone_moves_the_generation() {
        let feed = ChangeFeed::default();
        let g = feed.generation();
        feed.mark(UserId(1));
        let after_one = feed.generation();
        assert_ne!(after_one, g);
        feed.mark(UserId(94490510688792576));
        assert_ne!(feed.generation(), after_one);
        let before_all = feed.generation();
        feed.mark_all([]);
        assert_ne!(feed.generation(), before_all);
    }

    #[tokio::test]
    async fn the_publisher_takes_its_own_batches_once_it_follows() {
        let feed = ChangeFeed::default();
        feed.mark(UserId(1));
        feed.follow_for_publishing();
        feed.mark(UserId(2));
        feed.mark_all([UserId(3)]);
        let mut published = feed.next_to_publish().await;
        published.sort();
        assert_eq!(published, vec![UserId(2), UserId(3)]);
        let mut hub = feed.next_batch().await;
        hub.sort();
        assert_eq!(hub, vec![UserId(1), UserId(2), UserId(3)]);
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
