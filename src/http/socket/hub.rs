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

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_util::sync::CancellationToken;

use super::protocol::{self, Unsubscribe};
use crate::http::Api;
use crate::ids::UserId;

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
    tx: UnboundedSender<Bytes>,
    users: HashSet<UserId>,
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
    pub fn register(&self) -> (SessionId, UnboundedReceiver<Bytes>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = unbounded_channel();
        self.state().sessions.insert(id, Session { tx, users: HashSet::new() });
        (id, rx)
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

    /// Queues a frame for a user's subscribers; returns how many got it.
    fn push(&self, user: UserId, frame: &Bytes) -> u64 {
        let state = self.state();
        let mut sent = 0;
        let direct = state.by_user.get(&user).into_iter().flatten();
        let everyone = state.all.iter().filter(|id| !state.by_user.get(&user).is_some_and(|s| s.contains(id)));
        for id in direct.chain(everyone) {
            if let Some(session) = state.sessions.get(id)
                && session.tx.send(frame.clone()).is_ok()
            {
                sent += 1;
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
                        let sent = self.push(user, &protocol::presence_update(&composed.lanyard));
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
        assert_eq!(hub.push(UserId(1), &Bytes::from_static(b"x")), 2);
        assert_eq!(ra.try_recv().unwrap(), "x");
        assert_eq!(rb.try_recv().unwrap(), "x");
        assert!(rb.try_recv().is_err(), "no duplicate for a session subscribed both ways");
        assert!(rc.try_recv().is_err());
    }

    #[test]
    fn unsubscribe_and_unregister_stop_frames() {
        let hub = Hub::default();
        let (a, _ra) = hub.register();
        hub.subscribe(a, &[UserId(1), UserId(2)]);
        hub.unsubscribe(a, Unsubscribe::Id(UserId(1)));
        assert_eq!(hub.push(UserId(1), &Bytes::new()), 0);
        assert_eq!(hub.push(UserId(2), &Bytes::new()), 1);
        hub.unregister(a);
        assert_eq!(hub.push(UserId(2), &Bytes::new()), 0);
        assert!(hub.state().by_user.is_empty());
    }
}
