//! Rate limits: the one helper every limit of harmy is built from (docs/SECURITY.md
//! lists them).
//!
//! * [`Window`] with its per-key state [`Count`]: at most `limit` events per
//!   window, the window opened by the first event (so "60 a minute" means 60 in
//!   the minute after the first, never 120 across a boundary). A `Count` is one
//!   `AtomicU64` (opened ms << 24 | events), counted through `&self` without a
//!   lock; a refused event is not counted. A limit of 0 turns the window off.
//!   The HTTP limiter (per address, a second and a minute), the bot (commands a
//!   minute, costly ones an hour), the token lockout (failures per selector a
//!   minute, [`Window::give_back`] for a success) and KV writes (per user a
//!   minute) are windows.
//! * [`TokenBucket`]: `rate` events a second on average, `burst` at once, for
//!   state one owner holds (`&mut self`), such as a WebSocket session's inbound
//!   messages: `TokenBucket::new(10, 20, now)`, then `bucket.take(now)` per
//!   message, false when over.
//! * [`Keyed`]: the per-key states of a limiter, bounded (least recently seen
//!   dropped first) and given back once their windows are over.
//!
//! Time is tokio's [`Instant`], read once per event by the caller, so paused-time
//! tests drive every limit; a [`Clock`] turns it into the milliseconds the
//! windows count in.

mod keyed;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use keyed::Keyed;
pub use tokio::time::Instant;

/// Events one window counts at most; a larger limit is never reached.
const MAX_COUNT: u64 = (1 << 24) - 1;

/// Milliseconds since a limiter was made: the time its windows count in.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    /// A clock starting now.
    pub fn new() -> Clock {
        Clock { origin: Instant::now() }
    }

    /// Milliseconds from the clock's start to `now` (0 before it).
    pub fn ms(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.origin).as_millis() as u64
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// At most `limit` events per `length`, the window opened by its first event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    limit: u32,
    length_ms: u64,
}

/// One key's events in its current [`Window`].
#[derive(Debug, Default)]
pub struct Count(AtomicU64);

/// What a window said about one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// Whether the event may happen (it was counted).
    pub allowed: bool,
    /// The window's limit.
    pub limit: u32,
    /// Events left in the window after this one.
    pub remaining: u32,
    /// Milliseconds until the window is over.
    pub reset_ms: u64,
    /// When the window counted in was opened (for [`Window::give_back`]).
    opened: u64,
}

impl Admission {
    /// Whole seconds until the window is over, rounded up, at least 1 (`Retry-After`).
    pub fn retry_after(&self) -> u64 {
        self.reset_ms.div_ceil(1000).max(1)
    }
}

fn unpack(word: u64) -> (u64, u64) {
    (word >> 24, word & MAX_COUNT)
}

fn pack(opened: u64, count: u64) -> u64 {
    (opened << 24) | count
}

impl Window {
    /// At most `limit` events per `length` (0: no limit).
    pub const fn new(limit: u32, length: Duration) -> Window {
        Window { limit, length_ms: length.as_millis() as u64 }
    }

    /// At most `limit` a second.
    pub const fn per_second(limit: u32) -> Window {
        Window::new(limit, Duration::from_secs(1))
    }

    /// At most `limit` a minute.
    pub const fn per_minute(limit: u32) -> Window {
        Window::new(limit, Duration::from_secs(60))
    }

    /// Whether the window limits nothing (a limit of 0).
    pub fn is_off(&self) -> bool {
        self.limit == 0
    }

    /// The window's length.
    pub fn length(&self) -> Duration {
        Duration::from_millis(self.length_ms)
    }

    /// Counts an event at `now_ms` (on the limiter's [`Clock`]) if the window has
    /// room; a refused event is not counted.
    pub fn take(&self, count: &Count, now_ms: u64) -> Admission {
        if self.is_off() {
            return Admission { allowed: true, limit: 0, remaining: 0, reset_ms: 0, opened: 0 };
        }
        let mut word = count.0.load(Ordering::Relaxed);
        loop {
            let (opened, events) = unpack(word);
            let (opened, events) = if events == 0 || now_ms.saturating_sub(opened) >= self.length_ms {
                (now_ms, 0)
            } else {
                (opened, events)
            };
            let reset_ms = (opened + self.length_ms).saturating_sub(now_ms);
            let limit = u64::from(self.limit);
            if events >= limit {
                return Admission { allowed: false, limit: self.limit, remaining: 0, reset_ms, opened };
            }
            let next = pack(opened, (events + 1).min(MAX_COUNT));
            match count.0.compare_exchange_weak(word, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    let remaining = (limit - events - 1) as u32;
                    return Admission { allowed: true, limit: self.limit, remaining, reset_ms, opened };
                }
                Err(seen) => word = seen,
            }
        }
    }

    /// Uncounts an allowed event (one that, after all, should not count), if its
    /// window is still the current one.
    pub fn give_back(&self, count: &Count, taken: &Admission) {
        if !taken.allowed || self.is_off() {
            return;
        }
        let _ = count.0.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |word| {
            let (opened, events) = unpack(word);
            (opened == taken.opened && events > 0).then(|| pack(opened, events - 1))
        });
    }
}

/// `rate` events a second on average and `burst` at once: a bucket of `burst`
/// tokens refilled at `rate` a second, one token taken per event.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(rate: u32, burst: u32, now: Instant) -> TokenBucket {
        let burst = f64::from(burst);
        TokenBucket { rate: f64::from(rate), burst, tokens: burst, at: now }
    }

    /// Takes a token for an event at `now`; false (nothing taken) when there is none.
    pub fn take(&mut self, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.at = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_allows_its_limit_then_refuses_until_it_is_over() {
        let window = Window::per_second(3);
        let count = Count::default();
        let seen: Vec<(bool, u32)> =
            (0..4).map(|_| window.take(&count, 10_500)).map(|a| (a.allowed, a.remaining)).collect();
        assert_eq!(seen, [(true, 2), (true, 1), (true, 0), (false, 0)]);
        let refused = window.take(&count, 10_600);
        assert_eq!((refused.allowed, refused.reset_ms, refused.retry_after()), (false, 900, 1));
        assert!(window.take(&count, 11_500).allowed, "a new window opens with the next event");
    }

    #[test]
    fn the_window_is_opened_by_its_first_event_not_by_the_clock() {
        let window = Window::per_minute(2);
        let count = Count::default();
        assert!(window.take(&count, 59_000).allowed && window.take(&count, 61_000).allowed);
        let refused = window.take(&count, 62_000);
        assert!(!refused.allowed, "two in the minute after the first, across a clock minute");
        assert_eq!(refused.retry_after(), 57);
        assert!(window.take(&count, 119_000).allowed);
    }

    #[test]
    fn a_refused_event_is_not_counted_and_a_given_back_one_is_uncounted() {
        let window = Window::per_minute(2);
        let count = Count::default();
        let first = window.take(&count, 0);
        window.take(&count, 0);
        for _ in 0..100 {
            assert!(!window.take(&count, 1_000).allowed);
        }
        window.give_back(&count, &first);
        assert!(window.take(&count, 2_000).allowed, "one given back, the refused ones never counted");
        assert!(!window.take(&count, 2_000).allowed);
        // A give-back from an earlier window leaves the new one alone.
        let count = Count::default();
        let old = window.take(&count, 0);
        window.take(&count, 60_000);
        window.give_back(&count, &old);
        assert_eq!(window.take(&count, 60_000).remaining, 0, "still two counted in the new window");
    }

    #[test]
    fn zero_is_no_limit_and_huge_limits_are_never_reached() {
        let count = Count::default();
        assert!((0..1000).all(|_| Window::per_second(0).take(&count, 0).allowed));
        let huge = Window::per_second(u32::MAX);
        let count = Count(AtomicU64::new(pack(0, MAX_COUNT)));
        assert!(huge.take(&count, 10).allowed, "the count saturates below the limit");
        assert!(huge.take(&count, 10).allowed);
    }

    #[test]
    fn concurrent_takes_allow_exactly_the_limit() {
        let window = Window::per_minute(1000);
        let count = Count::default();
        let allowed = std::sync::atomic::AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..500 {
                        if window.take(&count, 5).allowed {
                            allowed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(allowed.into_inner(), 1000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_bucket_allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 20, start);
        assert_eq!((0..30).filter(|_| bucket.take(start)).count(), 20);
        assert!(!bucket.take(start + Duration::from_millis(50)), "half a token");
        assert!(bucket.take(start + Duration::from_millis(100)));
        let later = start + Duration::from_secs(60);
        assert_eq!((0..30).filter(|_| bucket.take(later)).count(), 20, "refills up to the burst only");
        // A Lanyard client: a heartbeat every 30 s, forever.
        let mut bucket = TokenBucket::new(10, 20, start);
        assert!((1..1000).all(|n| bucket.take(start + Duration::from_secs(30 * n))));
        // On tokio's clock: paused time drives it.
        let mut bucket = TokenBucket::new(10, 20, Instant::now());
        while bucket.take(Instant::now()) {}
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(bucket.take(Instant::now()) && !bucket.take(Instant::now()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_clock_counts_milliseconds_from_its_start_on_tokio_time() {
        let clock = Clock::new();
        tokio::time::advance(Duration::from_millis(1_234)).await;
        assert_eq!(clock.ms(Instant::now()), 1_234);
        assert_eq!(clock.ms(Instant::now() - Duration::from_secs(5)), 0, "before the start");
    }
}
