//! Rendered cards, so that a README viewed by thousands costs one render a
//! minute: keyed by the user, their change-feed version, the minute and the
//! query string exactly as sent, and bounded in bytes.
//!
//! The key holds the raw query string, so a hit needs no parsing (the query
//! was valid when its card was made). Keys of past minutes are never asked
//! for again: a new minute empties the cache. Within a minute, past the
//! budget, the least recently used cards go first, so a client cycling
//! through endless parameter variations evicts its own cards before the ones
//! READMEs keep asking for.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::HeaderValue;

/// Bytes of rendered cards kept.
pub const RENDERED_CACHE_BYTES: usize = 16 << 20;
/// What an entry costs besides its SVG and query.
const ENTRY_OVERHEAD: usize = 160;

/// A card ready to send.
#[derive(Debug, Clone)]
pub struct Card {
    /// The SVG document.
    pub svg: Bytes,
    /// Its strong ETag.
    pub etag: HeaderValue,
    /// False for the card of a user not monitored (a 404).
    pub found: bool,
}

impl Card {
    /// A card of these bytes, with their ETag.
    pub fn new(svg: String, found: bool) -> Card {
        Card { etag: crate::etag::of(svg.as_bytes()), svg: svg.into(), found }
    }
}

/// What a card is rendered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key<'a> {
    /// The user id.
    pub user: u64,
    /// The user's change-feed version, read before their presence.
    pub version: u64,
    /// Minutes since the epoch.
    pub minute: u64,
    /// The query string as sent.
    pub query: &'a str,
}

impl Key<'_> {
    fn hash(&self) -> u64 {
        let mut h = DefaultHasher::new();
        Hash::hash(self, &mut h);
        h.finish()
    }
}

struct CachedCard {
    user: u64,
    version: u64,
    query: Box<str>,
    card: Card,
    /// The cache's clock at the last use.
    used: AtomicU64,
}

impl CachedCard {
    fn size(&self) -> usize {
        self.card.svg.len() + self.query.len() + ENTRY_OVERHEAD
    }
}

#[derive(Default)]
struct State {
    minute: u64,
    /// By key hash; a colliding key is a miss, and its card replaces the entry.
    cards: HashMap<u64, CachedCard>,
    bytes: usize,
}

/// The cache.
pub struct Rendered {
    state: RwLock<State>,
    budget: usize,
    clock: AtomicU64,
}

impl Rendered {
    /// A cache of at most `budget` bytes.
    pub fn new(budget: usize) -> Rendered {
        Rendered { state: RwLock::default(), budget, clock: AtomicU64::new(0) }
    }

    /// The card made for `key`, if kept.
    pub fn get(&self, key: &Key<'_>) -> Option<Card> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        if state.minute != key.minute {
            return None;
        }
        let entry = state.cards.get(&key.hash())?;
        if entry.user != key.user || entry.version != key.version || *entry.query != *key.query {
            return None;
        }
        entry.used.store(self.clock.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        Some(entry.card.clone())
    }

    /// Keeps a card made for `key`.
    pub fn insert(&self, key: &Key<'_>, card: &Card) {
        let entry = CachedCard {
            user: key.user,
            version: key.version,
            query: key.query.into(),
            card: card.clone(),
            used: AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed)),
        };
        let size = entry.size();
        if size > self.budget / 4 {
            return; // one card may not crowd out the rest
        }
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if key.minute != state.minute {
            if key.minute < state.minute {
                return; // rendered across a minute's turn: nobody asks for it any more
            }
            state.cards.clear();
            state.bytes = 0;
            state.minute = key.minute;
        }
        if let Some(old) = state.cards.insert(key.hash(), entry) {
            state.bytes -= old.size();
        }
        state.bytes += size;
        if state.bytes > self.budget {
            evict(&mut state, self.budget - self.budget / 10);
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.state.read().unwrap_or_else(|e| e.into_inner()).bytes
    }
}

/// Drops the least recently used cards until at most `target` bytes are held.
fn evict(state: &mut State, target: usize) {
    let mut by_use: Vec<(u64, u64)> = state.cards.iter().map(|(k, e)| (e.used.load(Ordering::Relaxed), *k)).collect();
    by_use.sort_unstable();
    for (_, key) in by_use {
        if state.bytes <= target {
            break;
        }
        if let Some(entry) = state.cards.remove(&key) {
            state.bytes -= entry.size();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(query: &str, minute: u64) -> Key<'_> {
        Key { user: 1, version: 7, minute, query }
    }

    #[test]
    fn a_card_is_found_by_its_whole_key() {
        let cache = Rendered::new(1 << 20);
        let card = Card::new("<svg/>".into(), true);
        cache.insert(&key("theme=light", 5), &card);
        assert_eq!(cache.get(&key("theme=light", 5)).unwrap().svg, card.svg);
        assert!(cache.get(&key("theme=dark", 5)).is_none());
        assert!(cache.get(&Key { version: 8, ..key("theme=light", 5) }).is_none());
        assert!(cache.get(&Key { user: 2, ..key("theme=light", 5) }).is_none());
        assert!(cache.get(&key("theme=light", 6)).is_none(), "another minute");
        cache.insert(&key("x", 6), &card);
        assert!(cache.get(&key("theme=light", 5)).is_none(), "a new minute empties the cache");
        cache.insert(&key("late", 5), &card);
        assert!(cache.get(&key("late", 5)).is_none(), "a past minute's card is not kept");
    }

    #[test]
    fn past_the_budget_the_least_recently_used_go_first() {
        let card = Card::new("x".repeat(1000), true);
        let cache = Rendered::new(4 * (1000 + ENTRY_OVERHEAD + 2) + 100);
        for q in ["q1", "q2", "q3", "q4"] {
            cache.insert(&key(q, 1), &card);
        }
        assert!(cache.get(&key("q1", 1)).is_some(), "q1 is used again");
        cache.insert(&key("q5", 1), &card);
        assert!(cache.bytes() <= 4 * (1000 + ENTRY_OVERHEAD + 2) + 100);
        assert!(cache.get(&key("q1", 1)).is_some(), "the popular card stays");
        assert!(cache.get(&key("q2", 1)).is_none(), "the oldest unused went");
        assert!(cache.get(&key("q5", 1)).is_some());
    }
}
