//! Per-client rate limiting (docs/API.md): two fixed windows at once, per second
//! and per minute, and the `RateLimit-*` / `Retry-After` headers.
//!
//! Each worker thread remembers the last client it looked up, so a busy client
//! (a site behind one proxy, a benchmark) costs two atomic additions on its own
//! windows and no lock; others take a shard's read lock. IPv6 clients are
//! counted per /64, the block a single host usually holds. A limit of 0 turns
//! that window off.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use thread_local::ThreadLocal;

use crate::config::RateLimitConfig;
use crate::sharded::ShardedMap;

/// Above this many tracked clients in a shard, stale ones are dropped.
const PRUNE_ABOVE: usize = 1024;

static LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
static REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
static RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// One client's two windows, each packed as `window number << 32 | count`.
#[derive(Default)]
struct Windows {
    second: AtomicU64,
    minute: AtomicU64,
}

/// The per-client limiter.
pub struct RateLimiter {
    per_second: u32,
    per_minute: u32,
    start: Instant,
    /// Clients choose their addresses: keyed by std's randomly seeded hasher, so
    /// that no one can pick addresses that all land in one bucket.
    clients: ShardedMap<IpAddr, Arc<Windows>, RandomState>,
    /// Bumped by every prune, which may drop windows a thread still remembers.
    generation: AtomicU64,
    /// Per worker thread, the last client looked up: a busy client skips the
    /// shard lock, whose counter would bounce between cores.
    last: ThreadLocal<RefCell<Option<LastClient>>>,
}

struct LastClient {
    generation: u64,
    client: IpAddr,
    windows: Arc<Windows>,
}

/// The outcome for one request, and what its headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the request may proceed.
    pub allowed: bool,
    limit: u32,
    remaining: u32,
    reset: u64,
}

impl Verdict {
    /// Seconds until the window that refused the request starts over.
    pub fn retry_after(&self) -> u64 {
        self.reset
    }

    /// Adds `RateLimit-Limit/Remaining/Reset` (and `Retry-After` on a refusal).
    pub fn apply(&self, headers: &mut HeaderMap) {
        if self.limit == 0 {
            return;
        }
        headers.insert(LIMIT.clone(), limit_number(u64::from(self.limit)));
        headers.insert(REMAINING.clone(), number(u64::from(self.remaining)));
        headers.insert(RESET.clone(), number(self.reset));
        if !self.allowed {
            headers.insert(RETRY_AFTER, HeaderValue::from(self.reset));
        }
    }
}

impl RateLimiter {
    /// A limiter with the configured windows.
    pub fn new(config: &RateLimitConfig) -> RateLimiter {
        RateLimiter {
            per_second: config.per_second,
            per_minute: config.per_minute,
            start: Instant::now(),
            clients: ShardedMap::default(),
            generation: AtomicU64::new(0),
            last: ThreadLocal::new(),
        }
    }

    /// Counts a request from `client`, arrived at `now`, and says whether it may proceed.
    pub fn check(&self, client: IpAddr, now: Instant) -> Verdict {
        self.check_at(client, now.saturating_duration_since(self.start).as_millis() as u64)
    }

    fn check_at(&self, client: IpAddr, now_ms: u64) -> Verdict {
        if self.per_second == 0 && self.per_minute == 0 {
            return Verdict { allowed: true, limit: 0, remaining: 0, reset: 0 };
        }
        let client = bucket(client);
        let count = |w: &Windows| (bump(&w.second, now_ms / 1000), bump(&w.minute, now_ms / 60_000));
        let (second, minute) = self.with_windows(client, now_ms, count);
        let limits =
            [(self.per_second, second, 1000 - now_ms % 1000), (self.per_minute, minute, 60_000 - now_ms % 60_000)];
        // Report the window closest to running out; on refusal, the one that refused.
        let mut verdict: Option<Verdict> = None;
        for (limit, count, left_ms) in limits {
            if limit == 0 {
                continue;
            }
            let this = Verdict {
                allowed: count <= u64::from(limit),
                limit,
                remaining: u64::from(limit).saturating_sub(count) as u32,
                reset: left_ms.div_ceil(1000),
            };
            verdict = Some(match verdict {
                None => this,
                Some(v) if !v.allowed => {
                    if this.allowed {
                        v
                    } else {
                        Verdict { reset: v.reset.max(this.reset), ..v }
                    }
                }
                Some(_) if !this.allowed => this,
                Some(v) if this.remaining < v.remaining => this,
                Some(v) => v,
            });
        }
        verdict.unwrap_or(Verdict { allowed: true, limit: 0, remaining: 0, reset: 0 })
    }

    /// Runs `f` on the client's windows: this thread's last lookup (no shared
    /// counter touched but the windows themselves), or the shard map.
    fn with_windows<T>(&self, client: IpAddr, now_ms: u64, f: impl Fn(&Windows) -> T) -> T {
        let generation = self.generation.load(Ordering::Acquire);
        let last = self.last.get_or_default();
        if let Some(l) = last.borrow().as_ref().filter(|l| l.generation == generation && l.client == client) {
            return f(&l.windows);
        }
        let found = self.clients.get(&client);
        let windows = match found {
            Some(windows) => windows,
            None => {
                let mut write = self.clients.write(&client);
                if write.len() > PRUNE_ABOVE {
                    let current = now_ms / 60_000;
                    write.retain(|_, w| w.minute.load(Ordering::Relaxed) >> 32 == current);
                    // Threads may hold a pruned entry: make them look again.
                    self.generation.fetch_add(1, Ordering::Release);
                }
                write.entry(client).or_default().clone()
            }
        };
        let result = f(&windows);
        let generation = self.generation.load(Ordering::Acquire);
        *last.borrow_mut() = Some(LastClient { generation, client, windows });
        result
    }
}

/// A header value for a number; small ones (every reset, most limits) come from a table
/// built once, which spares the request path an allocation each.
fn number(n: u64) -> HeaderValue {
    // Per thread: a value shared by all threads would bounce its reference count
    // between cores on every request.
    thread_local! {
        static SMALL: Vec<HeaderValue> = (0..=1024u64).map(HeaderValue::from).collect();
        /// Larger numbers are written into a per-thread buffer and handed out as slices
        /// of it: one allocation per few hundred numbers instead of one each.
        static DIGITS: std::cell::RefCell<bytes::BytesMut> = std::cell::RefCell::default();
    }
    if let Some(small) = SMALL.with(|small| small.get(n as usize).cloned()) {
        return small;
    }
    DIGITS.with_borrow_mut(|digits| {
        use std::fmt::Write;
        if digits.capacity() - digits.len() < 20 {
            digits.reserve(4096);
        }
        write!(digits, "{n}").expect("a BytesMut grows");
        HeaderValue::from_maybe_shared(digits.split().freeze()).expect("digits are a valid header value")
    })
}

/// `number` for the limit, which rarely changes: the last one is kept per thread.
fn limit_number(n: u64) -> HeaderValue {
    thread_local! {
        static LAST: std::cell::RefCell<(u64, HeaderValue)> =
            const { std::cell::RefCell::new((0, HeaderValue::from_static("0"))) };
    }
    LAST.with_borrow_mut(|last| {
        if last.0 != n {
            *last = (n, HeaderValue::from(n));
        }
        last.1.clone()
    })
}

/// Counts one request in a window; returns the count in the current window.
fn bump(cell: &AtomicU64, window: u64) -> u64 {
    let mut current = cell.load(Ordering::Relaxed);
    loop {
        let next = if current >> 32 == window & 0xffff_ffff { current + 1 } else { (window << 32) | 1 };
        match cell.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next & 0xffff_ffff,
            Err(seen) => current = seen,
        }
    }
}

/// The address a client is counted by: IPv4 as is, IPv6 by its /64.
pub(super) fn bucket(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: u32, per_minute: u32) -> RateLimiter {
        RateLimiter::new(&RateLimitConfig { per_second, per_minute })
    }

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn the_second_window_refuses_the_fourth_request() {
        let l = limiter(3, 120);
        let seen: Vec<bool> = (0..4).map(|_| l.check_at(CLIENT, 10_500).allowed).collect();
        assert_eq!(seen, [true, true, true, false]);
        let refused = l.check_at(CLIENT, 10_600);
        assert_eq!(refused.retry_after(), 1);
        assert!(l.check_at(CLIENT, 11_000).allowed, "a new second starts over");
    }

    #[test]
    fn the_minute_window_holds_across_seconds() {
        let l = limiter(100, 5);
        for s in 0..5 {
            assert!(l.check_at(CLIENT, s * 1000).allowed);
        }
        let v = l.check_at(CLIENT, 5_000);
        assert!(!v.allowed);
        assert_eq!(v.retry_after(), 55);
        assert!(l.check_at(CLIENT, 60_000).allowed);
    }

    #[test]
    fn remaining_reports_the_tighter_window() {
        let l = limiter(3, 120);
        let v = l.check_at(CLIENT, 0);
        assert_eq!((v.limit, v.remaining), (3, 2));
    }

    #[test]
    fn clients_are_counted_apart_and_ipv6_by_slash_64() {
        let l = limiter(1, 0);
        assert!(l.check_at(CLIENT, 0).allowed);
        assert!(l.check_at("10.0.0.1".parse().unwrap(), 0).allowed);
        assert!(l.check_at("2001:db8::1".parse().unwrap(), 0).allowed);
        assert!(!l.check_at("2001:db8::2".parse().unwrap(), 0).allowed);
    }

    #[test]
    fn zero_turns_limiting_off() {
        let l = limiter(0, 0);
        assert!((0..100).all(|_| l.check_at(CLIENT, 0).allowed));
    }

    #[test]
    fn numbers_read_back_whether_small_or_from_the_shared_buffer() {
        // Enough large numbers to fill several of the per-thread buffers, kept alive
        // across buffer changes: each must still read as itself.
        let values: Vec<(u64, HeaderValue)> =
            (0..2_000u64).map(|i| i * 999_999_937 % 10_000_000_000).map(|n| (n, number(n))).collect();
        for (n, value) in &values {
            assert_eq!(value.to_str().unwrap(), n.to_string());
        }
        assert_eq!(number(7).to_str().unwrap(), "7");
        assert_eq!(number(u64::MAX).to_str().unwrap(), u64::MAX.to_string());
    }
}
