//! The socket hub: who is subscribed to whom, and the one consumer of
//! `App::changes`. Each batch of changed users is fanned out as one
//! PRESENCE_UPDATE frame per user, encoded once (text and, when a subscriber
//! asked for `zlib_json`, deflated) and written to that user's subscribers and
//! to `subscribe_to_all` sessions through their [`Outbox`]es: straight to the
//! socket when it takes the frame, else into the session's queue.
//!
//! A large fan-out is split into groups of [`GROUP`] subscribers written by
//! [`FANOUT_TASKS`] tasks at once; the next update starts once every group of
//! this one is done, so each session gets the updates in order.
//!
//! Subscriptions are kept by id whether or not the user is known yet, so a
//! page that subscribes just after a restart gets the user's presence as soon
//! as the gateway has it. The hub also tracks which users are monitored (from
//! the same feed: the gateway marks every user it adds or drops), which is the
//! list `subscribe_to_all` starts from.
//!
//! Limits (docs/SECURITY.md): a session watches at most `socket.max_ids` distinct ids;
//! and its queue is bounded in bytes (`socket.max_queue_bytes`, held by the
//! [`Outbox`]): each queued frame counts the bytes it will write plus
//! [`FRAME_OVERHEAD`], in full for every session it is queued for (a shared
//! frame stays in memory as long as any of them holds it), until the session
//! has written it. A push that would go past the bound is not queued and the
//! session closes (1008). The hub never waits for a session.
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::everyone::Everyone;
use super::outbox::{Delivery, Origin, Outbox, Wire};
use super::protocol::{self, Refusal, Unsubscribe};
use crate::app::App;
use crate::app::changes::ChangeFeed;
use crate::app::reads::Published;
use crate::config::SocketConfig;
use crate::ids::UserId;

/// Subscribers one fan-out task writes before taking the next group.
pub const GROUP: usize = 256;
/// Tasks writing the groups of one large fan-out at once.
pub const FANOUT_TASKS: usize = 4;

/// A frame sent to many sessions (an INIT_STATE of `subscribe_to_all`): the text,
/// and its `zlib_json` form, deflated once by the first compressed session that
/// sends it.
pub struct Pushed {
    /// The frame as JSON text.
    pub text: Bytes,
    zlib: tokio::sync::OnceCell<Option<Bytes>>,
}

impl Pushed {
    /// A frame to send.
    pub fn new(text: Bytes) -> Arc<Pushed> {
        Arc::new(Pushed { text, zlib: tokio::sync::OnceCell::new() })
    }

    /// The deflated form, computed once (a large one on the blocking pool); `None`
    /// if deflating failed.
    pub async fn zlib(&self) -> Option<Bytes> {
        self.zlib.get_or_init(|| protocol::deflate_off_thread(self.text.clone())).await.clone()
    }

    /// What the frame counts against a session's queue bound.
    pub fn cost(&self) -> usize {
        cost(&self.text)
    }
}

/// What a pushed frame of this text counts against a session's queue bound. A
/// compressed session is charged the text too: the update keeps it in memory either way.
pub fn cost(text: &[u8]) -> usize {
    text.len() + FRAME_OVERHEAD
}

/// Bytes counted per queued frame besides its text: the WebSocket header, the
/// queue slot and the writer's bookkeeping. It also bounds how many frames a
/// queue holds (`max_queue_bytes / FRAME_OVERHEAD`), however small they are.
pub const FRAME_OVERHEAD: usize = 64;

/// One update, encoded once for every subscriber.
pub struct Update {
    text: Wire,
    /// The `zlib_json` form, when a subscriber wants it.
    zlib: Option<Wire>,
    cost: usize,
    /// What it shows, when it is a presence (INIT_STATEs can make it redundant).
    origin: Option<Origin>,
}

impl Update {
    /// The PRESENCE_UPDATE (or any frame) `text` from `origin`, deflated too when `zlib`.
    pub async fn new(text: Bytes, zlib: bool, origin: Option<Origin>) -> Update {
        let cost = cost(&text);
        let zlib = if zlib { protocol::deflate_off_thread(text.clone()).await.map(Wire::binary) } else { None };
        Update { text: Wire::text(text), zlib, cost, origin }
    }
}

/// A socket session's number.
pub type SessionId = u64;

/// A subscriber to write to.
#[derive(Clone)]
pub struct Target {
    outbox: Arc<Outbox>,
    zlib: bool,
}

#[derive(Default)]
struct State {
    sessions: HashMap<SessionId, Session>,
    by_user: HashMap<UserId, HashSet<SessionId>>,
    all: HashSet<SessionId>,
    known: HashSet<UserId>,
}

struct Session {
    target: Target,
    /// The ids it watches, each once.
    users: HashSet<UserId>,
}

/// Subscriptions and fan-out.
pub struct Hub {
    state: Mutex<State>,
    next: AtomicU64,
    max_ids: usize,
    max_queue_bytes: usize,
    write_timeout: std::time::Duration,
    /// Bumped whenever the set of monitored users changes (part of [`Hub::stamp`]).
    known_generation: AtomicU64,
    /// The shared INIT_STATE of `subscribe_to_all`.
    pub everyone: Everyone,
    /// The key of [`Hub::digest`].
    digests: RandomState,
    /// Presence messages pushed to sockets (`harmy_websocket_pushes_total`).
    pushes: AtomicU64,
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
            write_timeout: config.write_timeout,
            known_generation: AtomicU64::new(0),
            everyone: Everyone::default(),
            digests: RandomState::new(),
            pushes: AtomicU64::new(0),
        }
    }

    /// Presence messages pushed to sockets since start.
    pub fn pushes(&self) -> u64 {
        self.pushes.load(Ordering::Relaxed)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An outbox over a session's socket, with the configured limits.
    pub fn outbox(&self, stream: tokio::net::TcpStream) -> Outbox {
        Outbox::new(stream, self.max_queue_bytes, self.write_timeout)
    }

    /// A new session, written through `outbox`, deflated when `zlib`.
    pub fn register(&self, outbox: Arc<Outbox>, zlib: bool) -> SessionId {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let session = Session { target: Target { outbox, zlib }, users: HashSet::new() };
        self.state().sessions.insert(id, session);
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

    /// The sessions an update of `user` goes to: its subscribers, then the
    /// `subscribe_to_all` sessions not among them.
    pub fn targets(&self, user: UserId) -> Vec<Target> {
        let state = self.state();
        let direct = state.by_user.get(&user);
        let everyone = state.all.iter().filter(|id| !direct.is_some_and(|s| s.contains(id)));
        let ids = direct.into_iter().flatten().chain(everyone);
        let mut targets = Vec::with_capacity(direct.map_or(0, HashSet::len) + state.all.len());
        targets.extend(ids.filter_map(|id| state.sessions.get(id)).map(|s| s.target.clone()));
        targets
    }

    /// Writes an update to `targets` in groups of [`GROUP`], [`FANOUT_TASKS`] groups
    /// at once; returns how many sessions got it (written or queued). Returns once
    /// every target has it: the next update of any of them comes after.
    pub async fn fan_out(targets: Vec<Target>, update: Arc<Update>) -> u64 {
        if targets.len() <= GROUP {
            return deliver(&targets, &update);
        }
        let (targets, next_group) = (Arc::new(targets), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..FANOUT_TASKS)
            .map(|_| {
                let (targets, next_group, update) = (targets.clone(), next_group.clone(), update.clone());
                tokio::spawn(async move {
                    let mut sent = 0;
                    loop {
                        let start = next_group.fetch_add(1, Ordering::Relaxed) * GROUP;
                        let Some(group) = targets.get(start..(start + GROUP).min(targets.len())) else {
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

    /// Sends a PRESENCE_UPDATE of `user`'s `presence` object, made for the changes
    /// marked up to `generation` of the change feed, to its sessions; returns how
    /// many got it. A session whose INIT_STATE showed that state already, or a
    /// later one, does not get it ([`super::outbox::Shown`]).
    pub async fn push_presence(&self, user: UserId, presence: &[u8], generation: u64) -> u64 {
        let origin = Origin { user, generation, digest: self.digest(presence) };
        self.send(user, protocol::presence_update(presence), Some(origin)).await
    }

    /// Sends any frame `text` to `user`'s sessions; returns how many got it.
    pub async fn publish(&self, user: UserId, text: Bytes) -> u64 {
        self.send(user, text, None).await
    }

    async fn send(&self, user: UserId, text: Bytes, origin: Option<Origin>) -> u64 {
        let targets = self.targets(user);
        if targets.is_empty() {
            return 0;
        }
        let zlib = targets.iter().any(|t| t.zlib);
        Hub::fan_out(targets, Arc::new(Update::new(text, zlib, origin).await)).await
    }

    /// A presence object's digest, to tell a push of the state an INIT_STATE showed.
    /// Keyed at random per process, so that no one can make two states collide.
    pub fn digest(&self, presence: &[u8]) -> u64 {
        self.digests.hash_one(presence)
    }

    /// Drains `app`'s change feed until `stop`.
    pub async fn run(self: Arc<Self>, app: Arc<App>, stop: CancellationToken) {
        loop {
            let batch = tokio::select! {
                batch = app.changes.next_batch() => batch,
                () = stop.cancelled() => return,
            };
            // Read once the batch is taken: every change it holds was marked by then.
            let generation = app.changes.generation();
            // Users whose extras are not in memory yet (their first push since start):
            // read together on the blocking pool after the others are sent.
            let mut unread = Vec::new();
            for user in batch {
                // `contains`, not `get`: rendering every changed user's views here would
                // keep them memoised for users nobody watches.
                let present = app.presences.contains(user);
                self.note(user, present);
                if !present {
                    app.reads.forget(user);
                    continue;
                }
                if !self.watched(user) {
                    continue;
                }
                match app.reads.get_now(user) {
                    Some(published) => self.push_published(user, &published, generation).await,
                    None => unread.push(user),
                }
            }
            if unread.is_empty() {
                continue;
            }
            let reader = app.clone();
            let read = tokio::task::spawn_blocking(move || {
                unread.into_iter().map(|user| (user, reader.reads.get_blocking(user))).collect::<Vec<_>>()
            });
            let Ok(published) = read.await else {
                tracing::error!("presence updates not pushed: the store read failed");
                continue;
            };
            for (user, published) in published {
                match published {
                    Ok(Some(published)) => self.push_published(user, &published, generation).await,
                    Ok(None) => {}
                    Err(e) => tracing::warn!(%user, "presence update not pushed: {e}"),
                }
            }
        }
    }

    async fn push_published(&self, user: UserId, published: &Published, generation: u64) {
        let sent = self.push_presence(user, &published.lanyard_data, generation).await;
        self.pushes.fetch_add(sent, Ordering::Relaxed);
    }
}

/// Writes an update to each target in turn; returns how many got it.
fn deliver(targets: &[Target], update: &Update) -> u64 {
    let mut sent = 0;
    for target in targets {
        let wire = match (&update.zlib, target.zlib) {
            (Some(zlib), true) => zlib,
            (None, true) => continue,
            (_, false) => &update.text,
        };
        match target.outbox.push(wire, update.cost, update.origin) {
            Delivery::Written | Delivery::Queued => sent += 1,
            Delivery::Shown => {}
            Delivery::Lagged => tracing::debug!("socket send queue over socket.max_queue_bytes: closing"),
            Delivery::Closed => {}
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
mod tests {
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    fn hub(max_ids: usize) -> Hub {
        Hub::new(&SocketConfig { max_ids, ..SocketConfig::default() })
    }

    /// `n` sessions registered over loopback connections: (id, client end) each.
    async fn sessions(hub: &Hub, n: usize, zlib: bool) -> Vec<(SessionId, TcpStream)> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            server.writable().await.unwrap();
            let id = hub.register(Arc::new(hub.outbox(server)), zlib);
            out.push((id, client));
        }
        out
    }

    /// The payload of the next (unmasked, short) frame, and its opcode.
    async fn frame(client: &mut TcpStream) -> (u8, Vec<u8>) {
        let mut head = [0u8; 2];
        client.read_exact(&mut head).await.unwrap();
        let len = match head[1] {
            126 => client.read_u16().await.unwrap() as usize,
            len => len as usize,
        };
        let mut payload = vec![0; len];
        client.read_exact(&mut payload).await.unwrap();
        (head[0] & 0x0f, payload)
    }

    async fn nothing_more(client: &mut TcpStream) {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(std::time::Duration::from_millis(100), client.read(&mut byte)).await;
        assert!(read.is_err(), "nothing more was sent");
    }

    #[tokio::test]
    async fn a_frame_reaches_direct_and_all_subscribers_once() {
        let hub = Hub::default();
        let mut s = sessions(&hub, 3, false).await;
        hub.subscribe(s[0].0, &[UserId(1)]).unwrap();
        hub.subscribe(s[1].0, &[UserId(1)]).unwrap();
        hub.subscribe_all(s[1].0);
        assert_eq!(hub.publish(UserId(1), Bytes::from_static(b"x")).await, 2);
        assert_eq!(frame(&mut s[0].1).await, (1, b"x".to_vec()));
        assert_eq!(frame(&mut s[1].1).await, (1, b"x".to_vec()));
        nothing_more(&mut s[1].1).await; // no duplicate for a session subscribed both ways
        nothing_more(&mut s[2].1).await;
    }

    #[tokio::test]
    async fn zlib_sessions_get_the_update_deflated_once_and_others_the_text() {
        let hub = Hub::default();
        let mut plain = sessions(&hub, 1, false).await;
        let mut zlib = sessions(&hub, 2, true).await;
        for (id, _) in plain.iter().chain(&zlib) {
            hub.subscribe(*id, &[UserId(1)]).unwrap();
        }
        let text = Bytes::from_static(br#"{"op":0,"t":"PRESENCE_UPDATE","d":{}}"#);
        assert_eq!(hub.publish(UserId(1), text.clone()).await, 3);
        assert_eq!(frame(&mut plain[0].1).await, (1, text.to_vec()));
        for (_, client) in &mut zlib {
            let (opcode, deflated) = frame(client).await;
            assert_eq!((opcode, deflated.clone()), (2, protocol::deflate(&text).to_vec()));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_fan_out_reaches_everyone_in_groups_and_in_order() {
        let hub = Hub::default();
        let n = 2 * GROUP + 17;
        let mut s = sessions(&hub, n, false).await;
        for (id, _) in &s {
            hub.subscribe(*id, &[UserId(1)]).unwrap();
        }
        for update in 0..5u8 {
            assert_eq!(hub.publish(UserId(1), Bytes::from(vec![b'0' + update; 100])).await, n as u64);
        }
        for (_, client) in &mut s {
            for update in 0..5u8 {
                assert_eq!(frame(client).await, (1, vec![b'0' + update; 100]));
            }
        }
    }

    #[tokio::test]
    async fn a_session_watches_at_most_max_ids_distinct_ids() {
        let hub = hub(3);
        let s = sessions(&hub, 1, false).await;
        let a = s[0].0;
        hub.subscribe(a, &[UserId(1), UserId(2)]).unwrap();
        hub.subscribe(a, &[UserId(1), UserId(2), UserId(3)]).unwrap();
        assert_eq!(hub.subscribe(a, &[UserId(2), UserId(4)]), Err(Refusal::TooManyIds { max: 3 }));
        assert!(hub.targets(UserId(4)).is_empty(), "a refused subscription changes nothing");
        hub.unsubscribe(a, Unsubscribe::Id(UserId(1)));
        hub.subscribe(a, &[UserId(4)]).unwrap();
        assert_eq!(hub.targets(UserId(4)).len(), 1);
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

    #[tokio::test]
    async fn unsubscribe_and_unregister_stop_frames_and_give_memory_back() {
        let hub = Hub::default();
        let s = sessions(&hub, 2, false).await;
        let (a, b) = (s[0].0, s[1].0);
        hub.subscribe(a, &[UserId(1), UserId(2)]).unwrap();
        hub.unsubscribe(a, Unsubscribe::Id(UserId(1)));
        assert!(hub.targets(UserId(1)).is_empty());
        assert_eq!(hub.targets(UserId(2)).len(), 1);
        hub.unregister(a);
        assert!(hub.targets(UserId(2)).is_empty());
        assert!(hub.state().by_user.is_empty());
        let many: Vec<UserId> = (1..=1000).map(UserId).collect();
        hub.subscribe(b, &many).unwrap();
        hub.unregister(b);
        assert!(hub.state().by_user.capacity() <= 64, "the burst's capacity is given back");
    }
}
