//! The socket hub: who is subscribed to whom, and the one consumer of
//! `App::changes`. Each batch of changed users is fanned out as one
//! PRESENCE_UPDATE frame per user (built once, shared by every subscriber)
//! to that user's subscribers and to `subscribe_to_all` sessions.
//!
//! Subscriptions are kept by id whether or not the user is known yet, so a
//! page that subscribes just after a restart gets the user's presence as soon
//! as the gateway has it. The hub also tracks which users are monitored (from
//! the same feed: the gateway marks every user it adds or drops), which is the
//! list `subscribe_to_all` starts from.
//!
//! Limits (docs/SECURITY.md): a session watches at most `socket.max_ids` distinct ids;
//! and its queue is bounded in bytes (`socket.max_queue_bytes`): each queued
//! frame counts the bytes it will write plus [`FRAME_OVERHEAD`], in full for
//! every session it is queued for (a shared frame stays in memory as long as
//! any of them holds it), until the session has written it. A push that would
//! go past the bound is not queued: the session's `lagged` token is cancelled
//! and it closes (1008). The hub never waits for a session.
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_util::sync::CancellationToken;

use super::everyone::Everyone;
use super::protocol::{self, Refusal, Unsubscribe};
use crate::app::changes::ChangeFeed;
use crate::config::SocketConfig;
use crate::http::Api;
use crate::ids::UserId;

/// A pushed frame, shared by every subscriber: the text, and its `zlib_json`
/// form, deflated by the first compressed session that sends it.
pub struct Pushed {
    /// The frame as JSON text.
    pub text: Bytes,
    zlib: OnceLock<Bytes>,
}

impl Pushed {
    /// A frame to push.
    pub fn new(text: Bytes) -> Arc<Pushed> {
        Arc::new(Pushed { text, zlib: OnceLock::new() })
    }

    /// The deflated form, computed once.
    pub fn zlib(&self, deflate: impl FnOnce(&[u8]) -> Bytes) -> Bytes {
        self.zlib.get_or_init(|| deflate(&self.text)).clone()
    }

    /// What the frame counts against a session's queue bound. A compressed session
    /// is charged the text too: the queued frame keeps it in memory either way.
    pub fn cost(&self) -> usize {
        self.text.len() + FRAME_OVERHEAD
    }
}

/// Bytes counted per queued frame besides its text: the WebSocket header, the
/// queue slot and the writer's bookkeeping. It also bounds how many frames a
/// queue holds (`max_queue_bytes / FRAME_OVERHEAD`), however small they are.
pub const FRAME_OVERHEAD: usize = 64;

/// A socket session's number.
pub type SessionId = u64;

#[derive(Default)]
struct State {
    sessions: HashMap<SessionId, Session>,
    by_user: HashMap<UserId, HashSet<SessionId>>,
    all: HashSet<SessionId>,
    known: HashSet<UserId>,
}

struct Session {
    tx: UnboundedSender<Arc<Pushed>>,
    lagged: CancellationToken,
    /// The ids it watches, each once.
    users: HashSet<UserId>,
    /// Bytes queued and not yet written (see [`Pushed::cost`]).
    queued: Arc<AtomicUsize>,
}

/// What a session reads from the hub.
pub struct Queue {
    /// Frames to write, in order.
    pub frames: UnboundedReceiver<Arc<Pushed>>,
    /// Cancelled when the session fell `max_queue_bytes` behind.
    pub lagged: CancellationToken,
    queued: Arc<AtomicUsize>,
}

impl Queue {
    /// Tells the hub a frame is written: its bytes leave the session's count.
    pub fn written(&self, frame: &Pushed) {
        self.queued.fetch_sub(frame.cost(), Ordering::Relaxed);
    }

    /// Bytes queued and not yet written.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }
}

/// Subscriptions and fan-out.
pub struct Hub {
    state: Mutex<State>,
    next: AtomicU64,
    max_ids: usize,
    max_queue_bytes: usize,
    /// Bumped whenever the set of monitored users changes (part of [`Hub::stamp`]).
    known_generation: AtomicU64,
    /// The shared INIT_STATE of `subscribe_to_all`.
    pub everyone: Everyone,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(&SocketConfig::default())
    }
}

impl Hub {
    /// A hub with the configured limits.
    pub fn new(config: &SocketConfig) -> Hub {
        Hub {
            state: Mutex::default(),
            next: AtomicU64::new(0),
            max_ids: config.max_ids,
            max_queue_bytes: config.max_queue_bytes,
            known_generation: AtomicU64::new(0),
            everyone: Everyone::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session and the queue of frames for it.
    pub fn register(&self) -> (SessionId, Queue) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, frames) = unbounded_channel();
        let lagged = CancellationToken::new();
        let queued = Arc::new(AtomicUsize::new(0));
        let session = Session { tx, lagged: lagged.clone(), users: HashSet::new(), queued: queued.clone() };
        self.state().sessions.insert(id, session);
        (id, Queue { frames, lagged, queued })
    }

    /// Forgets a session and its subscriptions.
    pub fn unregister(&self, id: SessionId) {
        let mut state = self.state();
        state.all.remove(&id);
        if let Some(session) = state.sessions.remove(&id) {
            for user in session.users {
                remove_sub(&mut state.by_user, user, id);
            }
        }
        let state = &mut *state;
        shrink(&mut state.by_user);
        shrink(&mut state.sessions);
    }

    /// Subscribes a session to users (each once), unless it would then watch
    /// more than `max_ids` distinct ids: then nothing changes.
    pub fn subscribe(&self, id: SessionId, users: &[UserId]) -> Result<(), Refusal> {
        let mut state = self.state();
        let State { sessions, by_user, .. } = &mut *state;
        let Some(session) = sessions.get_mut(&id) else { return Ok(()) };
        let new = users.iter().filter(|user| !session.users.contains(user)).count();
        if session.users.len() + new > self.max_ids {
            return Err(Refusal::TooManyIds { max: self.max_ids });
        }
        for &user in users {
            session.users.insert(user);
            by_user.entry(user).or_default().insert(id);
        }
        Ok(())
    }

    /// Subscribes a session to everyone; then take a ticket of [`Hub::everyone`].
    pub fn subscribe_all(&self, id: SessionId) {
        self.state().all.insert(id);
    }

    /// The users monitored now, in order.
    pub fn known_users(&self) -> Vec<UserId> {
        let mut users: Vec<UserId> = self.state().known.iter().copied().collect();
        users.sort_unstable();
        users
    }

    /// Changes whenever anything a `subscribe_to_all` INIT_STATE shows may have:
    /// a marked change of anyone, or the set of monitored users.
    pub fn stamp(&self, changes: &ChangeFeed) -> u64 {
        // Both only grow, so their sum changes whenever either does.
        changes.generation().wrapping_add(self.known_generation.load(Ordering::Acquire))
    }

    /// Removes subscriptions (op 4).
    pub fn unsubscribe(&self, id: SessionId, what: Unsubscribe) {
        let mut state = self.state();
        let State { sessions, by_user, all, .. } = &mut *state;
        let Some(session) = sessions.get_mut(&id) else { return };
        let users: Vec<UserId> = match what {
            Unsubscribe::Id(user) => vec![user],
            Unsubscribe::Ids(users) => users,
            Unsubscribe::All => {
                all.remove(&id);
                session.users.iter().copied().collect()
            }
            Unsubscribe::Nothing => Vec::new(),
        };
        for user in users {
            session.users.remove(&user);
            remove_sub(by_user, user, id);
        }
        if session.users.capacity() > 64 && session.users.capacity() > 4 * session.users.len() {
            session.users.shrink_to(session.users.len() * 2);
        }
        shrink(by_user);
    }

    /// Whether anyone would receive an update of `user`.
    fn watched(&self, user: UserId) -> bool {
        let state = self.state();
        !state.all.is_empty() || state.by_user.contains_key(&user)
    }

    /// Records whether a user is monitored.
    fn note(&self, user: UserId, present: bool) {
        let mut state = self.state();
        let changed = if present { state.known.insert(user) } else { state.known.remove(&user) };
        if changed {
            self.known_generation.fetch_add(1, Ordering::Release);
        }
    }

    /// Queues a frame for a user's subscribers; returns how many got it. A session
    /// that would go past `max_queue_bytes` misses it and is told to close; one with
    /// nothing queued takes any frame, so a frame larger than the bound reaches
    /// readers that keep up.
    pub(super) fn push(&self, user: UserId, frame: &Arc<Pushed>) -> u64 {
        let state = self.state();
        let cost = frame.cost();
        let mut sent = 0;
        let direct = state.by_user.get(&user).into_iter().flatten();
        let everyone = state.all.iter().filter(|id| !state.by_user.get(&user).is_some_and(|s| s.contains(id)));
        for id in direct.chain(everyone) {
            let Some(session) = state.sessions.get(id) else { continue };
            if session.lagged.is_cancelled() {
                continue;
            }
            let before = session.queued.fetch_add(cost, Ordering::Relaxed);
            if before > 0 && before + cost > self.max_queue_bytes {
                session.queued.fetch_sub(cost, Ordering::Relaxed);
                session.lagged.cancel();
                continue;
            }
            match session.tx.send(frame.clone()) {
                Ok(()) => sent += 1,
                Err(_) => {
                    session.queued.fetch_sub(cost, Ordering::Relaxed);
                }
            }
        }
        sent
    }

    /// Drains the change feed until `stop`.
    pub async fn run(self: Arc<Self>, api: Arc<Api>, stop: CancellationToken) {
        loop {
            let batch = tokio::select! {
                batch = api.app.changes.next_batch() => batch,
                () = stop.cancelled() => return,
            };
            for user in batch {
                // `contains`, not `get`: rendering every changed user's views here would
                // keep them memoised for users nobody watches.
                let present = api.app.presences.contains(user);
                self.note(user, present);
                if !present {
                    api.app.reads.forget(user);
                    continue;
                }
                if !self.watched(user) {
                    continue;
                }
                match api.app.reads.get(user).await {
                    Ok(Some(published)) => {
                        let sent = self.push(user, &Pushed::new(protocol::presence_update(&published.lanyard_data)));
                        api.metrics.pushes.fetch_add(sent, Ordering::Relaxed);
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(%user, "presence update not pushed: {e}"),
                }
            }
        }
    }
}

/// Gives back a map's memory once it is mostly empty (a burst of subscriptions
/// must not stay allocated after the sessions left). Amortised: it shrinks only
/// once the capacity is four times what is needed.
fn shrink<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > 64 && map.capacity() > 4 * map.len() {
        map.shrink_to(map.len() * 2);
    }
}

fn remove_sub(by_user: &mut HashMap<UserId, HashSet<SessionId>>, user: UserId, id: SessionId) {
    if let Some(subs) = by_user.get_mut(&user) {
        subs.remove(&id);
        if subs.is_empty() {
            by_user.remove(&user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(max_ids: usize, max_queue_bytes: usize) -> Hub {
        Hub::new(&SocketConfig { max_ids, max_queue_bytes, ..SocketConfig::default() })
    }

    fn frame(len: usize) -> Arc<Pushed> {
        Pushed::new(Bytes::from(vec![b' '; len]))
    }

    #[test]
    fn a_frame_reaches_direct_and_all_subscribers_once() {
        let hub = Hub::default();
        let (a, mut ra) = hub.register();
        let (b, mut rb) = hub.register();
        let (_c, mut rc) = hub.register();
        hub.subscribe(a, &[UserId(1)]).unwrap();
        hub.subscribe(b, &[UserId(1)]).unwrap();
        hub.subscribe_all(b);
        assert_eq!(hub.push(UserId(1), &Pushed::new(Bytes::from_static(b"x"))), 2);
        assert_eq!(ra.frames.try_recv().unwrap().text, "x");
        assert_eq!(rb.frames.try_recv().unwrap().text, "x");
        assert!(rb.frames.try_recv().is_err(), "no duplicate for a session subscribed both ways");
        assert!(rc.frames.try_recv().is_err());
    }

    #[test]
    fn the_queue_is_bounded_in_bytes_counting_shared_frames_for_each_session() {
        let bound = 10 * (1000 + FRAME_OVERHEAD);
        let hub = hub(1000, bound);
        let (a, queue_a) = hub.register();
        let (b, queue_b) = hub.register();
        hub.subscribe(a, &[UserId(1)]).unwrap();
        hub.subscribe(b, &[UserId(1)]).unwrap();
        let shared = frame(1000);
        for _ in 0..10 {
            assert_eq!(hub.push(UserId(1), &shared), 2);
        }
        assert_eq!((queue_a.queued(), queue_b.queued()), (bound, bound), "each session pays in full");
        assert!(!queue_a.lagged.is_cancelled());
        // B writes one frame: it has room for one more, A does not.
        let mut queue_b = queue_b;
        let written = queue_b.frames.try_recv().unwrap();
        queue_b.written(&written);
        assert_eq!(hub.push(UserId(1), &shared), 1, "only B takes the frame past A's bound");
        assert!(queue_a.lagged.is_cancelled() && !queue_b.lagged.is_cancelled());
        assert_eq!(queue_a.queued(), bound, "the refused frame is not counted");
        assert_eq!(hub.push(UserId(1), &frame(1)), 0, "a lagged session takes nothing more");
    }

    #[test]
    fn many_small_frames_are_bounded_too() {
        let hub = hub(1000, 100 * FRAME_OVERHEAD);
        let (a, queue) = hub.register();
        hub.subscribe(a, &[UserId(1)]).unwrap();
        let empty = frame(0);
        let queued: u64 = (0..1000).map(|_| hub.push(UserId(1), &empty)).sum();
        assert_eq!(queued, 100);
        assert!(queue.lagged.is_cancelled());
    }

    #[test]
    fn an_empty_queue_takes_a_frame_larger_than_the_bound() {
        let hub = hub(1000, 100);
        let (a, mut queue) = hub.register();
        hub.subscribe(a, &[UserId(1)]).unwrap();
        let big = frame(1000);
        assert_eq!(hub.push(UserId(1), &big), 1);
        let written = queue.frames.try_recv().unwrap();
        queue.written(&written);
        assert_eq!(queue.queued(), 0);
        assert_eq!(hub.push(UserId(1), &big), 1, "written, so the next one fits");
        assert_eq!(hub.push(UserId(1), &big), 0);
        assert!(queue.lagged.is_cancelled());
    }

    #[test]
    fn a_session_watches_at_most_max_ids_distinct_ids() {
        let hub = hub(3, 1 << 20);
        let (a, _queue) = hub.register();
        hub.subscribe(a, &[UserId(1), UserId(2)]).unwrap();
        hub.subscribe(a, &[UserId(1), UserId(2), UserId(3)]).unwrap();
        assert_eq!(hub.subscribe(a, &[UserId(2), UserId(4)]), Err(Refusal::TooManyIds { max: 3 }));
        assert_eq!(hub.push(UserId(4), &frame(1)), 0, "a refused subscription changes nothing");
        hub.unsubscribe(a, Unsubscribe::Id(UserId(1)));
        hub.subscribe(a, &[UserId(4)]).unwrap();
        assert_eq!(hub.push(UserId(4), &frame(1)), 1);
        hub.unsubscribe(a, Unsubscribe::All);
        hub.subscribe(a, &[UserId(5), UserId(6), UserId(7)]).unwrap();
    }

    #[test]
    fn the_stamp_moves_with_any_change_and_with_who_is_monitored() {
        let (hub, feed) = (Hub::default(), ChangeFeed::default());
        let stamp = hub.stamp(&feed);
        hub.note(UserId(1), true);
        let known = hub.stamp(&feed);
        assert_ne!(known, stamp);
        hub.note(UserId(1), true);
        assert_eq!(hub.stamp(&feed), known, "already known: nothing changed");
        feed.mark(UserId(2));
        assert_ne!(hub.stamp(&feed), known);
        assert_eq!(hub.known_users(), vec![UserId(1)]);
    }

    #[test]
    fn unsubscribe_and_unregister_stop_frames_and_give_memory_back() {
        let hub = Hub::default();
        let (a, _ra) = hub.register();
        hub.subscribe(a, &[UserId(1), UserId(2)]).unwrap();
        hub.unsubscribe(a, Unsubscribe::Id(UserId(1)));
        assert_eq!(hub.push(UserId(1), &Pushed::new(Bytes::new())), 0);
        assert_eq!(hub.push(UserId(2), &Pushed::new(Bytes::new())), 1);
        hub.unregister(a);
        assert_eq!(hub.push(UserId(2), &Pushed::new(Bytes::new())), 0);
        assert!(hub.state().by_user.is_empty());
        let (b, _rb) = hub.register();
        let many: Vec<UserId> = (1..=1000).map(UserId).collect();
        hub.subscribe(b, &many).unwrap();
        hub.unregister(b);
        assert!(hub.state().by_user.capacity() <= 64, "the burst's capacity is given back");
    }
}
