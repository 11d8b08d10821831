//! The socket hub: who is subscribed to whom, and the one consumer of
//! `App::changes`. Each batch of changed users is fanned out as one
//! PRESENCE_UPDATE frame per user, encoded once (text and, when a subscriber
//! asked for `zlib_json`, deflated) and handed to that user's subscribers and
//! to the `subscribe_to_all` sessions through their [`Line`]s.
//!
//! A large fan-out is split into groups of [`GROUP`] subscribers handed over by
//! [`FANOUT_TASKS`] tasks at once; the next update starts once every group of
//! this one is done, so each session gets the updates in order.
//!
//! Subscriptions are kept by id whether or not the user is monitored yet, so a
//! page that subscribes just after a restart gets the user's presence as soon
//! as the gateway has it. Who is monitored (the list `subscribe_to_all` starts
//! from) is the presence service's to say.
//!
//! Limits (docs/SECURITY.md): a session watches at most `socket.max_ids`
//! distinct ids; its queue is bounded in bytes by its [`Line`]. The hub never
//! waits for a session.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::init_state::SharedInitState;
use super::line::{Delivery, Line, Origin, Push};
use super::protocol::{self, Refusal, Unsubscribe};
use crate::app::App;
use crate::app::reads::{Keep, Published};
use crate::config::SocketConfig;
use crate::ids::UserId;

/// Subscribers one fan-out task hands an update to before taking the next group.
pub const GROUP: usize = 256;
/// Tasks handing the groups of one large fan-out at once.
pub const FANOUT_TASKS: usize = 4;

/// A socket session's number.
pub type SessionId = u64;

#[derive(Default)]
struct State {
    sessions: HashMap<SessionId, Session>,
    by_user: HashMap<UserId, HashSet<SessionId>>,
    all: HashSet<SessionId>,
}

struct Session {
    line: Arc<Line>,
    /// The ids it watches, each once.
    users: HashSet<UserId>,
}

/// Subscriptions and fan-out.
pub struct Hub {
    state: Mutex<State>,
    next: AtomicU64,
    max_ids: usize,
    /// The shared INIT_STATE of `subscribe_to_all`.
    pub everyone: SharedInitState,
    /// Presence messages pushed to sockets (`harmy_websocket_pushes_total`).
    pushes: AtomicU64,
    /// The key of [`Hub::digest`].
    digests: RandomState,
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
            everyone: SharedInitState::default(),
            pushes: AtomicU64::new(0),
            digests: RandomState::new(),
        }
    }

    /// A presence object's digest, to tell a push of the state an INIT_STATE showed.
    /// Keyed at random per process, so that no one can make two states collide.
    pub fn digest(&self, presence: &[u8]) -> u64 {
        self.digests.hash_one(presence)
    }

    /// Presence messages pushed to sockets since start.
    pub fn pushes(&self) -> u64 {
        self.pushes.load(Ordering::Relaxed)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session, written through `line`.
    pub fn register(&self, line: Arc<Line>) -> SessionId {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.state().sessions.insert(id, Session { line, users: HashSet::new() });
        id
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

    /// Removes subscriptions (op 4).
    pub fn unsubscribe(&self, id: SessionId, what: Unsubscribe) {
        let mut state = self.state();
        let State { sessions, by_user, all } = &mut *state;
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

    /// The sessions an update of `user` goes to: its subscribers, then the
    /// `subscribe_to_all` sessions not among them.
    pub fn subscribers(&self, user: UserId) -> Vec<Arc<Line>> {
        let state = self.state();
        let direct = state.by_user.get(&user);
        let everyone = state.all.iter().filter(|id| !direct.is_some_and(|s| s.contains(id)));
        let ids = direct.into_iter().flatten().chain(everyone);
        let mut lines = Vec::with_capacity(direct.map_or(0, HashSet::len) + state.all.len());
        lines.extend(ids.filter_map(|id| state.sessions.get(id)).map(|s| s.line.clone()));
        lines
    }

    /// Hands an update to `lines` in groups of [`GROUP`], [`FANOUT_TASKS`] groups
    /// at once; returns how many sessions got it (written or queued). Returns once
    /// every line has it: the next update of any of them comes after.
    pub async fn fan_out(lines: Vec<Arc<Line>>, update: Arc<Push>) -> u64 {
        if lines.len() <= GROUP {
            return deliver(&lines, &update);
        }
        let (lines, next_group) = (Arc::new(lines), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..FANOUT_TASKS)
            .map(|_| {
                let (lines, next_group, update) = (lines.clone(), next_group.clone(), update.clone());
                tokio::spawn(async move {
                    let mut sent = 0;
                    loop {
                        let start = next_group.fetch_add(1, Ordering::Relaxed) * GROUP;
                        let Some(group) = lines.get(start..(start + GROUP).min(lines.len())) else {
                            return sent;
                        };
                        sent += deliver(group, &update);
                    }
                })
            })
            .collect();
        let mut sent = 0;
        for task in tasks {
            // A task only ends early if the runtime shuts down.
            sent += task.await.unwrap_or(0);
        }
        sent
    }

    /// Sends a frame `text` to `user`'s sessions; returns how many got it. A
    /// presence update carries its `origin`, so that a session whose INIT_STATE
    /// showed that state or a later one is left out.
    pub async fn send(&self, user: UserId, text: Bytes, origin: Option<Origin>) -> u64 {
        let lines = self.subscribers(user);
        if lines.is_empty() {
            return 0;
        }
        let zlib = lines.iter().any(|line| line.zlib());
        Hub::fan_out(lines, Arc::new(Push::new(text, zlib, origin).await)).await
    }

    /// Drains `app`'s change feed until `stop`, pushing each changed user's
    /// presence to whoever watches them.
    pub async fn run(self: Arc<Self>, app: Arc<App>, stop: CancellationToken) {
        loop {
            let batch = tokio::select! {
                batch = app.changes.next_batch() => batch,
                () = stop.cancelled() => return,
            };
            // Read once the batch is taken: every change it holds was marked by then.
            let generation = app.changes.generation();
            for user in batch {
                if !app.presences.contains(user) {
                    // Gone (or hidden): nothing of theirs is kept.
                    app.reads.forget(user);
                    continue;
                }
                if !self.watched(user) {
                    continue;
                }
                match app.reads.get(user, Keep::Stored).await {
                    Ok(Some(published)) => self.push(user, &published, generation).await,
                    Ok(None) => app.reads.forget(user),
                    Err(e) => tracing::warn!(%user, "presence update not pushed: {e}"),
                }
            }
        }
    }

    /// Whether anyone would receive an update of `user`.
    fn watched(&self, user: UserId) -> bool {
        let state = self.state();
        !state.all.is_empty() || state.by_user.contains_key(&user)
    }

    async fn push(&self, user: UserId, published: &Published, generation: u64) {
        let text = protocol::presence_update(published.lanyard_data.raw());
        let digest = self.digest(published.lanyard_data.as_bytes());
        let sent = self.send(user, text, Some(Origin { user, generation, digest })).await;
        self.pushes.fetch_add(sent, Ordering::Relaxed);
    }
}

/// Hands an update to each line in turn; returns how many got it.
fn deliver(lines: &[Arc<Line>], update: &Arc<Push>) -> u64 {
    let mut sent = 0;
    for line in lines {
        match line.push(update) {
            Delivery::Written | Delivery::Queued => sent += 1,
            Delivery::Lagged => tracing::debug!("socket send queue over socket.max_queue_bytes: closing"),
            Delivery::Covered | Delivery::Closed => {}
        }
    }
    sent
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
mod tests;
