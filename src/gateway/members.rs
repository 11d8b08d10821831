//! Discord's limit on member requests (op 8), kept on harmy's side: at most one
//! request per guild every 30 s ([`SPACING`]), and a request Discord refused with a
//! `RATE_LIMITED` dispatch is sent again once its `retry_after` has passed:
//! Discord's word on when is final, and the refused request does not count as
//! sent (it did not reach Discord's count), so the 30 s are measured from the
//! request before it.
//!
//! Requests that may not go yet wait in a per-guild schedule that the shard
//! loop wakes up for ([`MemberRequests::next_due`], [`MemberRequests::due`]),
//! so nothing ever sleeps in the loop. One slot per guild that was ever asked in this session, each
//! holding the guild's latest request: memory is bounded by the monitored
//! guilds.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;
use twilight_model::gateway::payload::outgoing::RequestGuildMembers;

/// Discord's limit: one member request per guild in any 30 s.
pub const DISCORD_WINDOW: Duration = Duration::from_secs(30);

/// The least time between two member requests for one guild: Discord's
/// window plus half a second, because Discord counts arrivals, and the network
/// may delay the earlier request more than the later one.
pub const SPACING: Duration = DISCORD_WINDOW.saturating_add(Duration::from_millis(500));

/// The longest `retry_after` believed; a larger one (or a negative one) is
/// clamped, so a malformed value can neither overflow a deadline nor park a
/// guild's sync for good.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// One guild's member requests.
struct Slot {
    /// The latest request the roster built (its nonce names the current sync).
    request: RequestGuildMembers,
    /// When op 8 last went out for this guild.
    sent: Option<Instant>,
    /// When it went out before that: the last send that counts once the latest
    /// one is refused.
    sent_before: Option<Instant>,
    /// When `request` is to be sent; `None` when nothing waits.
    due: Option<Instant>,
}

/// The member requests of every guild asked so far.
#[derive(Default)]
pub struct MemberRequests {
    guilds: HashMap<u64, Slot>,
}

impl MemberRequests {
    /// A request the roster wants sent for `guild`: returned when it may go at
    /// `now`, else kept (replacing any older one waiting) until [`SPACING`]
    /// after the previous one.
    pub fn submit(&mut self, guild: u64, request: RequestGuildMembers, now: Instant) -> Option<RequestGuildMembers> {
        let slot = self.guilds.entry(guild).or_insert_with(|| Slot {
            request: request.clone(),
            sent: None,
            sent_before: None,
            due: None,
        });
        slot.request = request;
        match slot.sent.map(|sent| sent + SPACING).filter(|earliest| *earliest > now) {
            Some(earliest) => {
                slot.due = Some(earliest);
                None
            }
            None => {
                slot.sent_before = slot.sent.replace(now);
                slot.due = None;
                Some(slot.request.clone())
            }
        }
    }

    /// Discord refused `guild`'s request (`nonce`, when it says which) and asks
    /// to wait `retry_after`: the guild's current request is sent again then.
    /// The refused send does not count; any other keeps its [`SPACING`]. Returns
    /// when, or `None` when the refusal is about nothing pending here (a guild
    /// never asked, or a request a newer one replaced and that one already went
    /// out).
    pub fn rate_limited(
        &mut self,
        guild: u64,
        nonce: Option<&str>,
        retry_after: Duration,
        now: Instant,
    ) -> Option<Instant> {
        let slot = self.guilds.get_mut(&guild)?;
        slot.sent?;
        let current = nonce.is_none_or(|nonce| slot.request.d.nonce.as_deref() == Some(nonce));
        if !current && slot.due.is_none() {
            return None;
        }
        if current && slot.due.is_none() {
            // The latest send is the refused one: it never counted.
            slot.sent = slot.sent_before.take();
        }
        let retry = now + retry_after.min(MAX_RETRY_AFTER);
        let spaced = slot.sent.map_or(retry, |sent| sent + SPACING);
        let due = retry.max(spaced).max(slot.due.unwrap_or(retry));
        slot.due = Some(due);
        Some(due)
    }

    /// When the next waiting request is due, if any waits.
    pub fn next_due(&self) -> Option<Instant> {
        self.guilds.values().filter_map(|slot| slot.due).min()
    }

    /// The requests due at `now`, recorded as sent.
    pub fn due(&mut self, now: Instant) -> Vec<RequestGuildMembers> {
        let mut due = Vec::new();
        for slot in self.guilds.values_mut() {
            if slot.due.is_some_and(|at| at <= now) {
                slot.due = None;
                slot.sent_before = slot.sent.replace(now);
                due.push(slot.request.clone());
            }
        }
        due
    }

    /// A new session: what waited belonged to the old one (each guild's
    /// GUILD_CREATE asks again), guilds it no longer lists are forgotten, and
    /// the others keep their last send time, so the spacing holds across sessions.
    pub fn new_session(&mut self, keep: impl Fn(u64) -> bool) {
        self.guilds.retain(|guild, _| keep(*guild));
        for slot in self.guilds.values_mut() {
            slot.due = None;
        }
    }

    /// The bot left `guild`.
    pub fn forget(&mut self, guild: u64) {
        self.guilds.remove(&guild);
    }

    /// How many guilds have a slot.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.guilds.len()
    }
}

/// `retry_after` as Discord sends it (seconds, possibly fractional) as a
/// duration within `0..=MAX_RETRY_AFTER`.
pub fn retry_after(seconds: f64) -> Duration {
    if seconds.is_nan() || seconds <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(seconds).map_or(MAX_RETRY_AFTER, |d| d.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use twilight_model::id::Id;

    use super::*;

    fn request(guild: u64, epoch: u32) -> RequestGuildMembers {
        RequestGuildMembers::builder(Id::new(guild)).presences(true).nonce(format!("{guild}:{epoch}")).query("", None)
    }

    fn nonce(request: &RequestGuildMembers) -> &str {
        request.d.nonce.as_deref().unwrap()
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_first_request_goes_at_once_and_a_second_waits_for_the_30_s_mark() {
        let mut requests = MemberRequests::default();
        let start = Instant::now();
        assert!(requests.submit(1, request(1, 1), start).is_some());
        assert!(requests.submit(2, request(2, 2), start).is_some(), "guilds are limited apart");
        // A re-identify 10 s later brings a new GUILD_CREATE: its request waits.
        assert!(requests.submit(1, request(1, 3), start + secs(10.0)).is_none());
        assert!(requests.due(start + secs(29.9)).is_empty());
        let due = requests.due(start + SPACING);
        assert_eq!(due.len(), 1);
        assert_eq!(nonce(&due[0]), "1:3", "the newest sync's request");
        assert!(requests.due(start + secs(40.0)).is_empty(), "sent once");
        assert!(requests.submit(1, request(1, 4), start + secs(59.0)).is_none(), "30 s after the delayed one");
        assert!(requests.due(start + SPACING + DISCORD_WINDOW).is_empty());
        assert_eq!(requests.due(start + SPACING * 2).len(), 1);
    }

    #[test]
    fn a_refused_request_is_sent_again_after_retry_after_exactly_as_it_did_not_count() {
        let mut requests = MemberRequests::default();
        let start = Instant::now();
        requests.submit(1, request(1, 1), start).unwrap();
        let refused = start + secs(0.1);
        let at = requests.rate_limited(1, Some("1:1"), secs(1.5), refused).unwrap();
        assert_eq!(at, refused + secs(1.5), "Discord's retry_after, not the 30 s spacing");
        assert_eq!(requests.next_due(), Some(at));
        assert!(requests.due(refused + secs(1.4)).is_empty());
        let due = requests.due(at);
        assert_eq!(due.iter().map(nonce).collect::<Vec<_>>(), ["1:1"]);
        assert_eq!(requests.next_due(), None);

        // That resend counts: a new sync's request waits 30 s from it.
        assert!(requests.submit(1, request(1, 2), at + secs(1.0)).is_none());
        assert_eq!(requests.next_due(), Some(at + SPACING));

        // A retry_after longer than the spacing is honoured.
        let second = at + SPACING;
        assert_eq!(requests.due(second).len(), 1);
        let at = requests.rate_limited(1, None, secs(45.25), second).unwrap();
        assert_eq!(at, second + secs(45.25));
        assert!(requests.due(second + secs(45.0)).is_empty());
        assert_eq!(requests.due(second + secs(45.25)).len(), 1);
    }

    #[test]
    fn only_sends_that_were_not_refused_count_for_the_30_s() {
        let mut requests = MemberRequests::default();
        let start = Instant::now();
        requests.submit(1, request(1, 1), start).unwrap();
        // A new session's sync, 40 s later: sent at once, and refused.
        let second = start + secs(40.0);
        requests.submit(1, request(1, 2), second).unwrap();
        let at = requests.rate_limited(1, Some("1:2"), secs(1.0), second).unwrap();
        assert_eq!(at, second + secs(1.0), "40 s after the one that counted");
        // Refused twice: neither send counts, and the third one is the first that does.
        let mut requests = MemberRequests::default();
        requests.submit(1, request(1, 1), start).unwrap();
        requests.rate_limited(1, Some("1:1"), secs(10.0), start).unwrap();
        assert_eq!(requests.due(start + secs(10.0)).len(), 1, "sent again at 10 s");
        let at = requests.rate_limited(1, Some("1:1"), secs(0.5), start + secs(10.1)).unwrap();
        assert_eq!(at, start + secs(10.6), "nothing counts yet");
        assert_eq!(requests.due(at).len(), 1);
        assert!(requests.submit(1, request(1, 2), at + secs(1.0)).is_none());
        assert_eq!(requests.next_due(), Some(at + SPACING));
    }

    #[test]
    fn a_refusal_of_a_superseded_or_unknown_request_changes_nothing() {
        let mut requests = MemberRequests::default();
        let start = Instant::now();
        assert_eq!(requests.rate_limited(1, None, secs(1.0), start), None, "never asked");
        requests.submit(1, request(1, 1), start).unwrap();
        requests.submit(1, request(1, 2), start + SPACING).unwrap();
        assert_eq!(requests.rate_limited(1, Some("1:1"), secs(1.0), start + SPACING), None);
        assert!(requests.due(start + secs(90.0)).is_empty());
        // A refusal of the old request while the new one waits delays the new one if need be.
        assert!(requests.submit(1, request(1, 3), start + secs(40.0)).is_none());
        let at = requests.rate_limited(1, Some("1:1"), secs(100.0), start + secs(40.0)).unwrap();
        assert_eq!(at, start + secs(140.0));
        assert!(requests.due(start + secs(139.0)).is_empty());
        assert_eq!(requests.due(start + secs(140.0)).iter().map(nonce).collect::<Vec<_>>(), ["1:3"]);
    }

    #[test]
    fn a_new_session_drops_what_waited_and_keeps_the_spacing() {
        let mut requests = MemberRequests::default();
        let start = Instant::now();
        requests.submit(1, request(1, 1), start).unwrap();
        requests.submit(2, request(2, 2), start).unwrap();
        requests.rate_limited(2, None, secs(1.0), start).unwrap();
        requests.new_session(|guild| guild == 1);
        assert_eq!(requests.len(), 1, "guild 2 is not in the new session");
        assert!(requests.due(start + secs(31.0)).is_empty(), "the old session's resend is void");
        assert!(requests.submit(1, request(1, 3), start + secs(5.0)).is_none(), "spacing across sessions");
        assert_eq!(requests.due(start + SPACING).len(), 1);
        requests.forget(1);
        assert_eq!(requests.len(), 0);
    }

    #[test]
    fn retry_after_is_read_leniently_and_clamped() {
        assert_eq!(retry_after(1.5), secs(1.5));
        assert_eq!(retry_after(0.0), Duration::ZERO);
        assert_eq!(retry_after(-3.0), Duration::ZERO);
        assert_eq!(retry_after(f64::NAN), Duration::ZERO);
        assert_eq!(retry_after(1e300), MAX_RETRY_AFTER);
        assert_eq!(retry_after(f64::INFINITY), MAX_RETRY_AFTER);
        let mut requests = MemberRequests::default();
        let start = Instant::now();
        requests.submit(1, request(1, 1), start).unwrap();
        assert_eq!(requests.rate_limited(1, None, Duration::MAX, start), Some(start + MAX_RETRY_AFTER));
    }
}
