//! The refresher of `harmy serve`: refetches every linked profile once per
//! `github.refresh_interval`, conditionally (a 304 costs no quota and changes
//! nothing).
//!
//! Each link has its own slot in the interval, a fixed offset derived from the
//! user id and anchored to the wall clock: 1 000 links spread over the
//! interval instead of firing at once, and a restart neither refetches
//! everything nor starves a link. Requests are further paced to at most one
//! per `MIN_GAP`, and all of them wait while GitHub's rate limit holds.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::link::Refreshed;
use super::{Github, GithubError};
use crate::error::Error;
use crate::ids::{UserId, mix};

/// The bounded pace: a pause after each answer, so at most ten GitHub requests a
/// second, one at a time, whatever bunches up.
const MIN_GAP: Duration = Duration::from_millis(100);
/// How often the list of links is reread (new links were fetched when linked).
const RESYNC: Duration = Duration::from_secs(60);
/// The first retry after a failed refresh; it doubles up to the interval.
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
/// A floor for `refresh_interval`, which must not be zero.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Runs until `shutdown` is cancelled.
pub async fn run(github: Arc<Github>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let interval = github.refresh_interval().max(MIN_INTERVAL);
    let mut schedule = Schedule::new(interval);
    let mut next_sync = Instant::now();
    let mut next_request = Instant::now();
    loop {
        if Instant::now() >= next_sync {
            match github.links().await {
                Ok(links) => schedule.sync(links.into_iter().map(|(user, _)| user), unix_ms()),
                Err(e) => tracing::warn!(error = %e, "reading the GitHub links failed"),
            }
            next_sync = Instant::now() + RESYNC.min(interval);
        }
        let paused = github.client.paused_until().map_or(next_request, |until| instant_of(ms_of(until)));
        let request_at = schedule.next_due().map(|due| instant_of(due).max(next_request).max(paused));
        let wake = request_at.map_or(next_sync, |at| at.min(next_sync));
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep_until(wake) => {}
        }
        let due = request_at.is_some_and(|at| at <= Instant::now());
        // (A forced refresh may have met the rate limit while we slept: look again.)
        if !due || github.client.paused_until().is_some() {
            continue;
        }
        let Some(user) = schedule.take_next() else { continue };
        let refreshed = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            refreshed = github.refresh(user) => refreshed,
        };
        // Counted from the answer, so that slow answers slow the pace down too.
        next_request = Instant::now() + MIN_GAP;
        let now = unix_ms();
        match refreshed {
            Ok((_, Refreshed::Changed(_) | Refreshed::Unchanged)) => schedule.put(user, schedule.slot(user, now), 0),
            Ok((_, Refreshed::Unlinked)) | Err(Error::Github(GithubError::NotLinked)) => schedule.forget(user),
            Ok((_, Refreshed::RateLimited(until))) => schedule.put(user, ms_of(until), schedule.failures(user)),
            Ok((_, Refreshed::Failed(_))) => schedule.retry_later(user, now),
            Err(e) => {
                tracing::warn!(%user, error = %e, "refreshing a GitHub profile failed");
                schedule.retry_later(user, now);
            }
        }
    }
}

/// When each linked user is due, in Unix milliseconds.
struct Schedule {
    interval_ms: u64,
    queue: BTreeSet<(u64, UserId)>,
    users: HashMap<UserId, (u64, u32)>,
}

impl Schedule {
    fn new(interval: Duration) -> Schedule {
        let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX).max(1);
        Schedule { interval_ms, queue: BTreeSet::new(), users: HashMap::new() }
    }

    /// Takes in the current links: new ones get their next slot, removed ones go.
    fn sync(&mut self, links: impl IntoIterator<Item = UserId>, now_ms: u64) {
        let links: HashSet<UserId> = links.into_iter().collect();
        let gone: Vec<UserId> = self.users.keys().filter(|u| !links.contains(u)).copied().collect();
        for user in gone {
            self.forget(user);
        }
        for user in links {
            if !self.users.contains_key(&user) {
                self.put(user, self.slot(user, now_ms), 0);
            }
        }
    }

    /// The user's next slot strictly after `now_ms`: its fixed offset in the interval.
    fn slot(&self, user: UserId, now_ms: u64) -> u64 {
        let phase = mix(user.0) % self.interval_ms;
        if now_ms < phase {
            return phase;
        }
        phase + ((now_ms - phase) / self.interval_ms + 1) * self.interval_ms
    }

    fn next_due(&self) -> Option<u64> {
        self.queue.first().map(|(due, _)| *due)
    }

    fn take_next(&mut self) -> Option<UserId> {
        self.queue.pop_first().map(|(_, user)| user)
    }

    fn failures(&self, user: UserId) -> u32 {
        self.users.get(&user).map_or(0, |(_, failures)| *failures)
    }

    fn put(&mut self, user: UserId, due: u64, failures: u32) {
        if let Some((old, _)) = self.users.insert(user, (due, failures)) {
            self.queue.remove(&(old, user));
        }
        self.queue.insert((due, user));
    }

    fn forget(&mut self, user: UserId) {
        if let Some((due, _)) = self.users.remove(&user) {
            self.queue.remove(&(due, user));
        }
    }

    /// After a failure: retry with exponential backoff, or at the next slot if that comes first.
    fn retry_later(&mut self, user: UserId, now_ms: u64) {
        let failures = self.failures(user).saturating_add(1);
        let backoff = (FIRST_BACKOFF.as_millis() as u64).saturating_mul(1 << (failures - 1).min(20));
        let due = (now_ms.saturating_add(backoff)).min(self.slot(user, now_ms));
        self.put(user, due, failures);
    }
}

fn unix_ms() -> u64 {
    ms_of(SystemTime::now())
}

fn ms_of(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The monotonic instant of a wall-clock time in Unix milliseconds (now, if it is past).
fn instant_of(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms.saturating_sub(unix_ms()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_slot_is_within_the_next_interval_and_stable() {
        let schedule = Schedule::new(HOUR);
        let now = 1_700_000_000_000;
        for user in 1..200 {
            let slot = schedule.slot(UserId(user), now);
            assert!(slot > now && slot <= now + 3_600_000, "user {user}: {slot}");
            assert_eq!(schedule.slot(UserId(user), slot - 1), slot);
            assert_eq!(schedule.slot(UserId(user), slot), slot + 3_600_000);
        }
    }

    #[test]
    fn a_thousand_links_spread_over_the_interval() {
        let schedule = Schedule::new(6 * HOUR);
        let now = 1_700_000_000_000;
        let mut per_minute: HashMap<u64, usize> = HashMap::new();
        for user in 0..1000u64 {
            let snowflake = 100_000_000_000_000_000 + user * 4_194_304; // consecutive snowflakes
            *per_minute.entry((schedule.slot(UserId(snowflake), now) - now) / 60_000).or_default() += 1;
        }
        // 1 000 over 360 minutes is ~2.8 a minute; a fair hash keeps every minute small.
        assert!(per_minute.values().all(|n| *n <= 12), "{per_minute:?}");
        assert!(per_minute.len() > 250);
    }

    #[test]
    fn sync_adds_new_links_and_drops_removed_ones() {
        let mut schedule = Schedule::new(HOUR);
        schedule.sync([UserId(1), UserId(2)], 0);
        schedule.sync([UserId(2), UserId(3)], 0);
        let mut users: Vec<UserId> = std::iter::from_fn(|| schedule.take_next()).collect();
        users.sort();
        assert_eq!(users, vec![UserId(2), UserId(3)]);
    }

    #[test]
    fn failures_back_off_from_30_s_doubling_up_to_the_next_slot() {
        let mut schedule = Schedule::new(HOUR);
        let user = UserId(7);
        // Just past the user's slot, so the next one is a whole interval away.
        let now = schedule.slot(user, 1_700_000_000_000);
        let next_slot = now + 3_600_000;
        assert_eq!(schedule.slot(user, now), next_slot);
        schedule.sync([user], now);
        let mut delays = Vec::new();
        for _ in 0..10 {
            schedule.retry_later(user, now);
            delays.push(schedule.next_due().unwrap() - now);
        }
        // 30 s, 1, 2, 4, 8, 16, 32 min, then the next slot (an hour) caps it.
        let expected: Vec<u64> =
            [30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000].into_iter().chain([3_600_000; 3]).collect();
        assert_eq!(delays, expected);
        // A success starts the count over.
        schedule.put(user, schedule.slot(user, now), 0);
        schedule.retry_later(user, now);
        assert_eq!(schedule.next_due(), Some(now + 30_000));
    }
}
