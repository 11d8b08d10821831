//! The one sharded map: a fixed number of `RwLock<HashMap>`s, so that readers
//! and writers of different keys rarely meet on a lock. Every map read on the
//! request path or written by the gateway is one of these (presences, the read
//! path's caches, the rate limiter's clients).
//!
//! The shard is picked from bits 32.. of the key's hash: hashbrown indexes its
//! buckets with the low bits and tags them with the top seven, so the shard
//! takes bits neither uses and every shard's table still sees well-spread
//! hashes. Each shard sits on its own cache lines: two cores taking the read
//! locks of neighbouring shards do not fight over one line.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::ids::IdHasher;

/// Shards of the maps keyed by user id: a power of two, a few per core.
pub const SHARDS: usize = 64;

/// One shard, alone on its cache lines (128 bytes: adjacent-line prefetching
/// pairs 64-byte lines on x86).
#[repr(align(128))]
struct Shard<T>(RwLock<T>);

/// A map split into [`SHARDS`] independently locked shards.
pub struct ShardedMap<K, V, S = IdHasher> {
    shards: Box<[Shard<HashMap<K, V, S>>]>,
    hasher: S,
}

impl<K, V, S: BuildHasher + Clone + Default> Default for ShardedMap<K, V, S> {
    fn default() -> Self {
        ShardedMap::with_hasher(S::default())
    }
}

impl<K, V, S: BuildHasher + Clone> ShardedMap<K, V, S> {
    /// An empty map whose keys are hashed by `hasher` (a keyed one, such as std's
    /// `RandomState`, when clients choose the keys).
    pub fn with_hasher(hasher: S) -> Self {
        let shards = (0..SHARDS).map(|_| Shard(RwLock::new(HashMap::with_hasher(hasher.clone())))).collect();
        ShardedMap { shards, hasher }
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> ShardedMap<K, V, S> {
    fn shard(&self, key: &K) -> &RwLock<HashMap<K, V, S>> {
        let hash = self.hasher.hash_one(key);
        &self.shards[(hash >> 32) as usize % SHARDS].0
    }

    /// The shard holding `key`, locked for reading.
    pub fn read(&self, key: &K) -> RwLockReadGuard<'_, HashMap<K, V, S>> {
        self.shard(key).read().unwrap_or_else(|e| e.into_inner())
    }

    /// The shard holding `key`, locked for writing.
    pub fn write(&self, key: &K) -> RwLockWriteGuard<'_, HashMap<K, V, S>> {
        self.shard(key).write().unwrap_or_else(|e| e.into_inner())
    }

    /// A clone of the value of `key`.
    pub fn get(&self, key: &K) -> Option<V>
    where
        V: Clone,
    {
        self.read(key).get(key).cloned()
    }

    /// Whether `key` is in the map.
    pub fn contains(&self, key: &K) -> bool {
        self.read(key).contains_key(key)
    }

    /// Sets the value of `key`; the previous one.
    pub fn insert(&self, key: K, value: V) -> Option<V> {
        self.write(&key).insert(key, value)
    }

    /// Removes `key`; its value. Takes the write lock only when the key is there.
    pub fn remove(&self, key: &K) -> Option<V> {
        if !self.contains(key) {
            return None;
        }
        self.write(key).remove(key)
    }

    /// Runs `f` on every shard in turn, each locked for reading while `f` runs.
    pub fn each_shard(&self, mut f: impl FnMut(&HashMap<K, V, S>)) {
        for shard in self.shards.iter() {
            f(&shard.0.read().unwrap_or_else(|e| e.into_inner()));
        }
    }

    /// Runs `f` on each shard in turn, write-locked.
    pub fn each_shard_mut(&self, mut f: impl FnMut(&mut HashMap<K, V, S>)) {
        for shard in self.shards.iter() {
            f(&mut shard.0.write().unwrap_or_else(|e| e.into_inner()));
        }
    }

    /// The number of entries (each shard counted in turn: a moment's figure).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.0.read().unwrap_or_else(|e| e.into_inner()).len()).sum()
    }

    /// Whether the map is empty.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;

    #[test]
    fn entries_are_found_where_they_were_put() {
        let map: ShardedMap<UserId, u64> = ShardedMap::default();
        for i in 0..10_000u64 {
            // Consecutive snowflakes: the same timestamp bits, small low bits.
            assert_eq!(map.insert(UserId((1 << 22) * 1_000_000 + i), i), None);
        }
        assert_eq!(map.len(), 10_000);
        assert_eq!(map.get(&UserId((1 << 22) * 1_000_000 + 42)), Some(42));
        assert_eq!(map.remove(&UserId((1 << 22) * 1_000_000 + 42)), Some(42));
        assert_eq!(map.remove(&UserId(7)), None);
        assert!(!map.contains(&UserId((1 << 22) * 1_000_000 + 42)));
        map.each_shard_mut(|shard| shard.retain(|_, v| *v % 2 == 0));
        assert_eq!(map.len(), 4_999, "the even values, 42 removed");
    }

    #[test]
    fn snowflakes_spread_over_every_shard() {
        let map: ShardedMap<UserId, ()> = ShardedMap::default();
        for i in 0..64 * 100u64 {
            map.insert(UserId(470_320_681_905_684_500 + (i << 22)), ());
        }
        let mut sizes = Vec::new();
        map.each_shard_mut(|shard| sizes.push(shard.len()));
        assert!(sizes.iter().all(|&n| (50..=160).contains(&n)), "{sizes:?}");
    }
}
