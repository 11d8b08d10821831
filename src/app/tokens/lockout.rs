//! The failure lockout: after [`MAX_FAILURES`] failed verifications of one
//! selector within a [`WINDOW`], that selector is refused for the rest of the
//! window without running argon2. Every member knows their own selector, so
//! without it a member could make the server run argon2 as often as they like
//! with one real selector and wrong secrets.
//!
//! Attempts count from the moment they start, so a burst of concurrent wrong
//! secrets runs at most [`MAX_FAILURES`] verifications; an attempt that ends
//! with a match gives its count back, any other end (a mismatch, a caller that
//! went away) keeps it. The window is opened by the first attempt
//! ([`crate::limit::Window`]). Only selectors that exist get here (unknown ones
//! are refused before, without argon2), so the selectors kept are bounded by
//! the tokens issued, and by [`MAX_SELECTORS`] whatever happens.

use std::time::Duration;

use crate::limit::{Admission, Clock, Count, Instant, Keyed, Window};

/// Failed verifications of one selector allowed per window.
pub const MAX_FAILURES: u32 = 10;
/// The window the failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Selectors whose windows are kept at most (the least recently tried go first).
const MAX_SELECTORS: usize = 100_000;
const FAILURES: Window = Window::new(MAX_FAILURES, WINDOW);

/// Failure counts per selector.
pub struct Lockout {
    clock: Clock,
    selectors: Keyed<u64, Count>,
}

impl Default for Lockout {
    fn default() -> Self {
        Lockout { clock: Clock::new(), selectors: Keyed::new(MAX_SELECTORS, WINDOW) }
    }
}

/// An attempt that may run argon2; counted as a failure unless [`Ticket::matched`].
pub struct Ticket<'a> {
    lockout: &'a Lockout,
    selector: u64,
    taken: Admission,
}

impl Lockout {
    /// Starts an attempt on `selector` at `now`, or says how many seconds until
    /// its window ends (`Retry-After`).
    pub fn begin(&self, selector: &str, now: Instant) -> Result<Ticket<'_>, u64> {
        let key = u64::from_str_radix(selector, 16).unwrap_or_default();
        let now_ms = self.clock.ms(now);
        let taken = self.selectors.with(key, now_ms, |count| FAILURES.take(count, now_ms));
        if !taken.allowed {
            return Err(taken.retry_after());
        }
        Ok(Ticket { lockout: self, selector: key, taken })
    }
}

impl Ticket<'_> {
    /// The secret matched: the attempt was no failure.
    pub fn matched(self) {
        let lockout = self.lockout;
        let now_ms = lockout.clock.ms(Instant::now());
        lockout.selectors.with(self.selector, now_ms, |count| FAILURES.give_back(count, &self.taken));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SELECTOR: &str = "0011223344556677";

    #[test]
    fn ten_failures_lock_the_selector_for_the_rest_of_the_window() {
        let lockout = Lockout::default();
        let start = Instant::now();
        for n in 0..MAX_FAILURES {
            let at = start + Duration::from_secs(u64::from(n));
            let _failed = lockout.begin(SELECTOR, at).expect("under the limit");
        }
        let wait = lockout.begin(SELECTOR, start + Duration::from_secs(15)).err().expect("locked");
        assert_eq!(wait, 45, "the rest of the window opened by the first attempt");
        assert!(lockout.begin("7766554433221100", start + Duration::from_secs(15)).is_ok(), "per selector");
        assert!(lockout.begin(SELECTOR, start + Duration::from_secs(59)).is_err());
        assert!(lockout.begin(SELECTOR, start + WINDOW).is_ok(), "a new window");
    }

    #[test]
    fn attempts_in_flight_count_so_a_burst_runs_at_most_ten() {
        let lockout = Lockout::default();
        let now = Instant::now();
        let (running, refused): (Vec<_>, Vec<_>) =
            (0..60).map(|_| lockout.begin(SELECTOR, now)).partition(Result::is_ok);
        assert_eq!((running.len(), refused.len()), (10, 50));
    }

    #[test]
    fn a_match_is_no_failure_and_a_dropped_attempt_is_one() {
        let lockout = Lockout::default();
        let now = Instant::now();
        for _ in 0..100 {
            lockout.begin(SELECTOR, now).unwrap().matched();
        }
        for _ in 0..MAX_FAILURES {
            // E.g. a client that hung up while its verification waited.
            let _failed = lockout.begin(SELECTOR, now).unwrap();
        }
        assert!(lockout.begin(SELECTOR, now).is_err());
    }

    #[test]
    fn stale_windows_are_swept() {
        let lockout = Lockout::default();
        let start = Instant::now();
        for n in 0..1_000u64 {
            let at = start + Duration::from_secs(n / 20);
            let _failed = lockout.begin(&format!("{n:016x}"), at).unwrap();
        }
        assert_eq!(lockout.selectors.len(), 1_000, "20 selectors a second for 50 s, every window live");
        let _failed = lockout.begin(SELECTOR, start + Duration::from_secs(200)).unwrap();
        assert_eq!(lockout.selectors.len(), 1, "a minute after the last, only the new one");
    }
}
