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
//! Each session's queue is bounded ([`QUEUE`] frames): a client that stops
//! reading is not allowed to grow memory. When a push finds the queue full,
//! the session's `lagged` token is cancelled and the session closes (1008).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::mpsc::{Receiver, Sender, channel};
use tokio_util::sync::CancellationToken;

use super::protocol::{self, Unsubscribe};
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
}

/// Frames a session may have queued and not yet written; one more and it is closed.
pub const QUEUE: usize = 1024;

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
    tx: Sender<Arc<Pushed>>,
    lagged: CancellationToken,
    users: HashSet<UserId>,
}

/// What a session reads from the hub.
pub struct Queue {
    /// Frames to write, in order.
    pub frames: Receiver<Arc<Pushed>>,
    /// Cancelled when the session fell [`QUEUE`] frames behind.
    pub lagged: CancellationToken,
}

/// Subscriptions and fan-out.
#[derive(Default)]
pub struct Hub {
    state: Mutex<State>,
    next: AtomicU64,
}

impl Hub {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session and the queue of frames for it.
    pub fn register(&self) -> (SessionId, Queue) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, frames) = channel(QUEUE);
        let lagged = CancellationToken::new();
        self.state().sessions.insert(id, Session { tx, lagged: lagged.clone(), users: HashSet::new() });
        (id, Queue { frames, lagged })
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
    }

    /// Subscribes a session to users.
    pub fn subscribe(&self, id: SessionId, users: &[UserId]) {
        let mut state = self.state();
        let State { sessions, by_user, .. } = &mut *state;
        let Some(session) = sessions.get_mut(&id) else { return };
        for &user in users {
            session.users.insert(user);
            by_user.entry(user).or_default().insert(id);
        }
    }

    /// Subscribes a session to everyone; returns the users monitored now.
    pub fn subscribe_all(&self, id: SessionId) -> Vec<UserId> {
        let mut state = self.state();
        state.all.insert(id);
        let mut users: Vec<UserId> = state.known.iter().copied().collect();
        users.sort_unstable();
        users
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
    }

    /// Whether anyone would receive an update of `user`.
    fn watched(&self, user: UserId) -> bool {
        let state = self.state();
        !state.all.is_empty() || state.by_user.contains_key(&user)
    }

    /// Records whether a user is monitored.
    fn note(&self, user: UserId, present: bool) {
        let mut state = self.state();
        if present {
            state.known.insert(user)
        } else {
            state.known.remove(&user)
        };
    }

    /// Queues a frame for a user's subscribers; returns how many got it. A
    /// session whose queue is full misses it and is told to close.
    pub(super) fn push(&self, user: UserId, frame: &Arc<Pushed>) -> u64 {
        let state = self.state();
        let mut sent = 0;
        let direct = state.by_user.get(&user).into_iter().flatten();
        let everyone = state.all.iter().filter(|id| !state.by_user.get(&user).is_some_and(|s| s.contains(id)));
        for id in direct.chain(everyone) {
            let Some(session) = state.sessions.get(id) else { continue };
            match session.tx.try_send(frame.clone()) {
                Ok(()) => sent += 1,
                Err(TrySendError::Full(_)) => session.lagged.cancel(),
                Err(TrySendError::Closed(_)) => {}
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
                    api.bodies.forget(user);
                    continue;
                }
                if !self.watched(user) {
                    continue;
                }
                match api.bodies.get(&api.app, user).await {
                    Ok(Some(composed)) => {
                        let sent = self.push(user, &Pushed::new(protocol::presence_update(&composed.lanyard)));
                        api.metrics.pushes.fetch_add(sent, Ordering::Relaxed);
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(%user, "presence update not pushed: {e}"),
                }
            }
        }
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

    #[test]
    fn a_frame_reaches_direct_and_all_subscribers_once() {
        let hub = Hub::default();
        let (a, mut ra) = hub.register();
        let (b, mut rb) = hub.register();
        let (_c, mut rc) = hub.register();
        hub.subscribe(a, &[UserId(1)]);
        hub.subscribe(b, &[UserId(1)]);
        hub.subscribe_all(b);
        assert_eq!(hub.push(UserId(1), &Pushed::new(Bytes::from_static(b"x"))), 2);
        assert_eq!(ra.frames.try_recv().unwrap().text, "x");
        assert_eq!(rb.frames.try_recv().unwrap().text, "x");
        assert!(rb.frames.try_recv().is_err(), "no duplicate for a session subscribed both ways");
        assert!(rc.frames.try_recv().is_err());
    }

    #[test]
    fn a_full_queue_marks_the_session_lagged() {
        let hub = Hub::default();
        let (a, queue) = hub.register();
        hub.subscribe(a, &[UserId(1)]);
        for _ in 0..QUEUE {
            assert_eq!(hub.push(UserId(1), &Pushed::new(Bytes::from_static(b"x"))), 1);
        }
        assert!(!queue.lagged.is_cancelled());
        assert_eq!(
            hub.push(UserId(1), &Pushed::new(Bytes::from_static(b"x"))),
            0,
            "the frame past the bound is not queued"
        );
        assert!(queue.lagged.is_cancelled());
        assert_eq!(queue.frames.len(), QUEUE);
    }

    #[test]
    fn unsubscribe_and_unregister_stop_frames() {
        let hub = Hub::default();
        let (a, _ra) = hub.register();
        hub.subscribe(a, &[UserId(1), UserId(2)]);
        hub.unsubscribe(a, Unsubscribe::Id(UserId(1)));
        assert_eq!(hub.push(UserId(1), &Pushed::new(Bytes::new())), 0);
        assert_eq!(hub.push(UserId(2), &Pushed::new(Bytes::new())), 1);
        hub.unregister(a);
        assert_eq!(hub.push(UserId(2), &Pushed::new(Bytes::new())), 0);
        assert!(hub.state().by_user.is_empty());
    }
}
