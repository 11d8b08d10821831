//! The per-key states of a limiter (per address, per user, per selector),
//! bounded however many keys come, and given back once their windows are over.
//!
//! * At most about `max_keys` keys, each of the map's shards holding its share.
//!   A new key in a full shard first drops the keys not seen within `keep`
//!   (their windows are over: dropping them changes no answer), then, while the
//!   shard is over three quarters full, the least recently seen. So a flood of
//!   new keys costs at most `max_keys` states, and the keys that keep coming
//!   are dropped last.
//! * The first lookup in each new period of `keep` sweeps every shard: the keys
//!   not seen within `keep` are dropped and a shard left mostly empty shrinks
//!   its table, so the memory a flood took is given back once it ends (with
//!   glibc's malloc, free pages are handed back to the system too).
//! * Each thread remembers the key it looked up last: a busy key (a site behind
//!   one proxy, a benchmark) costs no lock, only its own atomics. Every drop
//!   bumps a generation that makes the threads look again.
//! * Keys are hashed with std's randomly seeded hasher: clients choose them
//!   (their addresses), and must not be able to pick keys that share a shard.

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use thread_local::ThreadLocal;

use crate::sharded::{SHARDS, ShardedMap};

/// States dropped by one sweep above which free memory is handed back to the system.
const TRIM_AFTER: usize = 4096;

/// One key's state and when it was last looked up.
struct Slot<V> {
    /// Milliseconds on the limiter's clock.
    seen: AtomicU64,
    state: V,
}

/// A thread's last lookup.
struct Last<K, V> {
    generation: u64,
    key: K,
    slot: Arc<Slot<V>>,
}

type Shard<K, V> = HashMap<K, Arc<Slot<V>>, RandomState>;

/// A bounded map from key to limiter state `V` (made by `V::default()` when new).
pub struct Keyed<K: Send + Sync, V: Send + Sync> {
    map: ShardedMap<K, Arc<Slot<V>>, RandomState>,
    per_shard: usize,
    keep_ms: u64,
    /// The period (`now_ms / keep_ms`) last swept.
    swept: AtomicU64,
    /// Bumped by every drop, which may drop a slot a thread remembers.
    generation: AtomicU64,
    last: ThreadLocal<RefCell<Option<Last<K, V>>>>,
}

impl<K: Hash + Eq + Copy + Send + Sync, V: Default + Send + Sync> Keyed<K, V> {
    /// At most about `max_keys` states (at least one per shard), each kept until
    /// its key has not been seen for `keep` (the longest window it counts).
    pub fn new(max_keys: usize, keep: Duration) -> Self {
        Keyed {
            map: ShardedMap::with_hasher(RandomState::new()),
            per_shard: max_keys.div_ceil(SHARDS).max(1),
            keep_ms: (keep.as_millis() as u64).max(1),
            swept: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            last: ThreadLocal::new(),
        }
    }

    /// Runs `f` on the state of `key` seen at `now_ms` (made when new). `f` must
    /// not use this map.
    pub fn with<T>(&self, key: K, now_ms: u64, f: impl FnOnce(&V) -> T) -> T {
        if now_ms / self.keep_ms != self.swept.load(Ordering::Relaxed) {
            self.sweep(now_ms);
        }
        // Read before the lookup: a drop after it makes this thread look again.
        let generation = self.generation.load(Ordering::Acquire);
        let last = self.last.get_or_default();
        if let Some(l) = last.borrow().as_ref().filter(|l| l.generation == generation && l.key == key) {
            return f(seen(&l.slot, now_ms));
        }
        let slot = self.slot(key, now_ms);
        let result = f(seen(&slot, now_ms));
        *last.borrow_mut() = Some(Last { generation, key, slot });
        result
    }

    /// How many keys have a state (each shard counted in turn: a moment's figure).
    pub fn len(&self) -> usize {
        let mut len = 0;
        self.map.each_shard_mut(|shard| len += shard.len());
        len
    }

    /// Whether no key has a state.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn slot(&self, key: K, now_ms: u64) -> Arc<Slot<V>> {
        if let Some(slot) = self.map.get(&key) {
            return slot;
        }
        let mut shard = self.map.write(&key);
        if let Some(slot) = shard.get(&key) {
            return slot.clone();
        }
        if shard.len() >= self.per_shard {
            self.make_room(&mut shard, now_ms);
        }
        let slot = Arc::new(Slot { seen: AtomicU64::new(now_ms), state: V::default() });
        shard.insert(key, slot.clone());
        slot
    }

    fn live(&self, slot: &Slot<V>, now_ms: u64) -> bool {
        now_ms.saturating_sub(slot.seen.load(Ordering::Relaxed)) < self.keep_ms
    }

    /// Drops the keys whose windows are over, then the least recently seen down
    /// to three quarters of the shard's share.
    fn make_room(&self, shard: &mut Shard<K, V>, now_ms: u64) {
        shard.retain(|_, slot| self.live(slot, now_ms));
        let target = self.per_shard * 3 / 4;
        if shard.len() > target {
            let excess = shard.len() - target;
            let mut seen: Vec<u64> = shard.values().map(|s| s.seen.load(Ordering::Relaxed)).collect();
            let threshold = *seen.select_nth_unstable(excess - 1).1;
            // Of the keys seen exactly at the threshold, only as many as needed go.
            let mut at_threshold = excess - seen.iter().filter(|&&s| s < threshold).count();
            shard.retain(|_, slot| {
                let s = slot.seen.load(Ordering::Relaxed);
                let drop = s < threshold || (s == threshold && at_threshold > 0);
                at_threshold -= usize::from(s == threshold && drop);
                !drop
            });
        }
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Drops every key not seen within `keep`, shrinks the tables left mostly
    /// empty, and hands free memory back after a large drop; once per period.
    fn sweep(&self, now_ms: u64) {
        let period = now_ms / self.keep_ms;
        let last = self.swept.load(Ordering::Relaxed);
        if period <= last || self.swept.compare_exchange(last, period, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return;
        }
        let mut dropped = 0;
        self.map.each_shard_mut(|shard| {
            let before = shard.len();
            shard.retain(|_, slot| self.live(slot, now_ms));
            dropped += before - shard.len();
            if shard.capacity() >= 4 * shard.len().max(8) {
                shard.shrink_to_fit();
            }
        });
        if dropped > 0 {
            self.generation.fetch_add(1, Ordering::Release);
        }
        if dropped >= TRIM_AFTER {
            crate::memory::trim();
        }
    }
}

/// Marks a slot seen at `now_ms` (a store only when the millisecond changed: a
/// busy key is shared by every thread) and returns its state.
fn seen<V>(slot: &Slot<V>, now_ms: u64) -> &V {
    if slot.seen.load(Ordering::Relaxed) < now_ms {
        slot.seen.store(now_ms, Ordering::Relaxed);
    }
    &slot.state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::{Count, Window};

    const MINUTE: Duration = Duration::from_secs(60);

    fn keyed(max_keys: usize) -> Keyed<u64, Count> {
        Keyed::new(max_keys, MINUTE)
    }

    #[test]
    fn each_key_has_its_own_state() {
        let map = keyed(1000);
        let window = Window::per_minute(1);
        assert!(map.with(1, 0, |c| window.take(c, 0)).allowed);
        assert!(map.with(2, 0, |c| window.take(c, 0)).allowed);
        assert!(!map.with(1, 0, |c| window.take(c, 0)).allowed, "this thread's last key");
        assert!(!map.with(2, 1, |c| window.take(c, 1)).allowed, "looked up in the map");
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn a_flood_of_new_keys_is_bounded_and_the_least_recently_seen_go_first() {
        let map = keyed(SHARDS * 100);
        let window = Window::per_minute(1);
        // A key that keeps coming, among a million that come once.
        for n in 0..1_000_000u64 {
            let now = n / 100;
            map.with(n + 10, now, |_| ());
            if n % 1000 == 0 {
                map.with(1, now, |c| window.take(c, now));
            }
        }
        assert!(map.len() <= SHARDS * 100, "{} states", map.len());
        assert!(!map.with(1, 10_000, |c| window.take(c, 10_000)).allowed, "the busy key kept its count");
    }

    #[test]
    fn keys_not_seen_for_a_window_are_swept_and_their_memory_given_back() {
        let map = keyed(100_000);
        for n in 0..50_000u64 {
            map.with(n, 1_000, |_| ());
        }
        let mut capacity = 0;
        map.map.each_shard_mut(|s| capacity += s.capacity());
        assert!(capacity >= 50_000);
        map.with(7, 61_000, |_| ());
        assert_eq!(map.len(), 1, "only the key seen in the new period");
        let mut after = 0;
        map.map.each_shard_mut(|s| after += s.capacity());
        assert!(after < 64 * 16, "tables shrunk: {after} slots");
    }

    #[test]
    fn a_key_seen_within_the_window_survives_the_sweep() {
        let map = keyed(1000);
        let window = Window::per_minute(1);
        map.with(1, 30_000, |c| window.take(c, 30_000));
        map.with(2, 61_000, |_| ());
        assert!(!map.with(1, 62_000, |c| window.take(c, 62_000)).allowed, "counted 32 s ago");
        assert_eq!(map.len(), 2);
    }
}
