//! Per-client rate limiting (docs/API.md): two windows at once, per second and
//! per minute ([`crate::limit::Window`]), and the `RateLimit-*` / `Retry-After`
//! headers.
//!
//! The clients' windows live in a [`Keyed`] map: at most
//! `rate_limit.max_addresses` addresses, the least recently seen dropped first,
//! given back a minute after they were last seen; a busy client costs one
//! atomic operation per window and no lock. IPv6 clients are counted per /64,
//! the block a single host usually holds. A limit of 0 turns that window off.

use std::net::IpAddr;

use http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};

use crate::config::RateLimitConfig;
use crate::limit::{Admission, Clock, Count, Instant, Keyed, Window};

static LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
static REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
static RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// One client's two windows: the second's, the minute's.
type Windows = [Count; 2];

/// The per-client limiter.
pub struct RateLimiter {
    second: Window,
    minute: Window,
    clock: Clock,
    clients: Keyed<IpAddr, Windows>,
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
    const UNLIMITED: Verdict = Verdict { allowed: true, limit: 0, remaining: 0, reset: 0 };

    fn of(window: &Admission) -> Verdict {
        let reset = window.reset_ms.div_ceil(1000);
        Verdict { allowed: window.allowed, limit: window.limit, remaining: window.remaining, reset }
    }

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
        let (second, minute) = (Window::per_second(config.per_second), Window::per_minute(config.per_minute));
        RateLimiter { second, minute, clock: Clock::new(), clients: Keyed::new(config.max_addresses, minute.length()) }
    }

    /// Counts a request from `client`, arrived at `now`, and says whether it may proceed.
    pub fn check(&self, client: IpAddr, now: impl Into<Instant>) -> Verdict {
        self.check_at(client, self.clock.ms(now.into()))
    }

    /// How many client addresses the limiter holds windows for.
    pub fn clients(&self) -> usize {
        self.clients.len()
    }

    fn check_at(&self, client: IpAddr, now_ms: u64) -> Verdict {
        if self.second.is_off() && self.minute.is_off() {
            return Verdict::UNLIMITED;
        }
        let take = |w: &Windows| (self.second.take(&w[0], now_ms), self.minute.take(&w[1], now_ms));
        let (second, minute) = self.clients.with(bucket(client), now_ms, take);
        // Report the window closest to running out; on refusal, the one that
        // refused (both: the later reset).
        let windows = [second, minute].map(|w| (w.limit != 0).then(|| Verdict::of(&w)));
        let [second, minute] = windows;
        match (second, minute) {
            (None, None) => Verdict::UNLIMITED,
            (Some(v), None) | (None, Some(v)) => v,
            (Some(s), Some(m)) => match (s.allowed, m.allowed) {
                (false, false) => Verdict { reset: s.reset.max(m.reset), ..s },
                (false, true) => s,
                (true, false) => m,
                (true, true) if m.remaining < s.remaining => m,
                (true, true) => s,
            },
        }
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
        RateLimiter::new(&RateLimitConfig { per_second, per_minute, ..RateLimitConfig::default() })
    }

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn the_second_window_refuses_the_fourth_request() {
        let l = limiter(3, 120);
        let seen: Vec<bool> = (0..4).map(|_| l.check_at(CLIENT, 10_500).allowed).collect();
        assert_eq!(seen, [true, true, true, false]);
        let refused = l.check_at(CLIENT, 10_600);
        assert_eq!(refused.retry_after(), 1);
        assert!(!l.check_at(CLIENT, 11_000).allowed, "the second opened by the first request");
        assert!(l.check_at(CLIENT, 11_500).allowed, "a new second starts over");
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
