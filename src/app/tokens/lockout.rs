//! The failure lockout: after [`MAX_FAILURES`] failed verifications of one
//! selector within a [`WINDOW`], that selector is refused for the rest of the
//! window without running argon2. Every member knows their own selector, so
//! without it a member could make the server run argon2 as often as they like
//! with one real selector and wrong secrets.
//!
//! Attempts count from the moment they start, so a burst of concurrent wrong
//! secrets runs at most [`MAX_FAILURES`] verifications; an attempt that ends
//! with a match gives its count back, any other end (a mismatch, a caller that
//! went away) keeps it. Windows are fixed, opened by the first attempt. Only
//! selectors that exist get here (unknown ones are refused before, without
//! argon2), so the map is bounded by the tokens issued; stale windows are swept
//! as it grows.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed verifications of one selector allowed per window.
pub const MAX_FAILURES: u32 = 10;
/// The window the failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Windows kept before the first sweep of stale ones.
const SWEEP_FROM: usize = 1024;

struct Window {
    opened: Instant,
    failures: u32,
    in_flight: u32,
}

#[derive(Default)]
struct Windows {
    by_selector: HashMap<u64, Window>,
    sweep_at: usize,
}

/// Failure counts per selector.
#[derive(Default)]
pub struct Lockout {
    windows: Mutex<Windows>,
}

/// An attempt that may run argon2; counted as a failure unless [`Ticket::matched`].
pub struct Ticket<'a> {
    lockout: &'a Lockout,
    selector: u64,
    matched: bool,
}

impl Lockout {
    fn windows(&self) -> std::sync::MutexGuard<'_, Windows> {
        self.windows.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts an attempt on `selector` at `now`, or says how long until its window ends.
    pub fn begin(&self, selector: &str, now: Instant) -> Result<Ticket<'_>, Duration> {
        let key = u64::from_str_radix(selector, 16).unwrap_or_default();
        let mut windows = self.windows();
        if windows.by_selector.len() >= windows.sweep_at.max(SWEEP_FROM) {
            windows.by_selector.retain(|_, w| w.in_flight > 0 || now.saturating_duration_since(w.opened) < WINDOW);
            windows.sweep_at = windows.by_selector.len() * 2;
        }
        let window = windows.by_selector.entry(key).or_insert(Window { opened: now, failures: 0, in_flight: 0 });
        if now.saturating_duration_since(window.opened) >= WINDOW {
            (window.opened, window.failures) = (now, 0);
        }
        if window.failures + window.in_flight >= MAX_FAILURES {
            return Err((window.opened + WINDOW).saturating_duration_since(now));
        }
        window.in_flight += 1;
        Ok(Ticket { lockout: self, selector: key, matched: false })
    }

    /// How many selectors have a window (for tests of the bound).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.windows().by_selector.len()
    }
}

impl Ticket<'_> {
    /// The secret matched: the attempt was no failure.
    pub fn matched(mut self) {
        self.matched = true;
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut windows = self.lockout.windows();
        if let Some(window) = windows.by_selector.get_mut(&self.selector) {
            window.in_flight = window.in_flight.saturating_sub(1);
            if !self.matched {
                window.failures += 1;
            }
        }
    }
}

/// Whole seconds to wait, rounded up, at least 1 (for `Retry-After`).
pub fn seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
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
            drop(lockout.begin(SELECTOR, at).expect("under the limit"));
        }
        let wait = lockout.begin(SELECTOR, start + Duration::from_secs(15)).err().expect("locked");
        assert_eq!(wait, Duration::from_secs(45), "the rest of the window opened by the first attempt");
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
            drop(lockout.begin(SELECTOR, now).unwrap());
        }
        assert!(lockout.begin(SELECTOR, now).is_err());
    }

    #[test]
    fn stale_windows_are_swept() {
        let lockout = Lockout::default();
        let start = Instant::now();
        for n in 0..10_000u64 {
            let at = start + Duration::from_secs(n / 100);
            drop(lockout.begin(&format!("{n:016x}"), at).unwrap());
        }
        // 100 selectors a second: about 6 000 windows are live at the end.
        assert!(lockout.len() <= 2 * 6_100, "{} windows kept", lockout.len());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(seconds(Duration::from_millis(44_001)), 45);
        assert_eq!(seconds(Duration::from_secs(45)), 45);
        assert_eq!(seconds(Duration::ZERO), 1);
        assert_eq!(seconds(Duration::from_millis(1)), 1);
    }
}
