//! INIT_STATEs: a session's subscription and the frame that shows what it
//! subscribed to ([`make`]), and the INIT_STATE of `subscribe_to_all`, every
//! monitored user's presence in one frame (the largest one harmy sends), built
//! once and shared by the sessions that subscribe while nothing changed
//! (docs/SECURITY.md):
//!
//! * A session takes a ticket right after subscribing. A build that started
//!   after that (numbered above the ticket) is good for it: whatever changes
//!   after its subscription reaches it as a push, so no update falls between.
//! * A finished build is also good while the stamp it read before it started
//!   is still current: nothing anyone could see has changed since.
//! * At most one build runs at a time. Sessions that need one while a build
//!   runs wait for it, and if it is not good for them either, the first to
//!   wake starts the next one for all of them: a flood of `subscribe_to_all`
//!   under constant change costs one build at a time, never one per session.
//! * A build lives while sessions still write it (the frame's bytes are shared,
//!   never copied per session). So that clients that stop reading cannot pin a
//!   build each, at most [`LIVE`] builds are kept: the sessions still writing
//!   an older one are told to give up (`evicted`) and close.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_websockets::Message;

use super::hub::SessionId;
use super::protocol::{self, Refusal, Subscribe};
use super::push::Covered;
use crate::app::reads::{Json, Keep};
use crate::http::Api;
use crate::ids::UserId;

/// Builds kept in memory at most: the latest, and older ones still being written.
pub const LIVE: usize = 3;

/// A finished INIT_STATE, and the token that tells its writers to give up.
pub struct Build {
    number: u64,
    stamp: u64,
    /// The frame as JSON text, shared by every session that sends it (never copied).
    pub text: Bytes,
    /// Its `zlib_json` form, deflated once by the first compressed session that sends it.
    zlib: tokio::sync::OnceCell<Option<Bytes>>,
    /// Cancelled when the build is dropped from memory while sessions still write it.
    pub evicted: CancellationToken,
}

impl Build {
    fn new(number: u64, stamp: u64, text: Bytes) -> Build {
        Build { number, stamp, text, zlib: tokio::sync::OnceCell::new(), evicted: CancellationToken::new() }
    }

    /// An INIT_STATE of one session's own (the other subscribe forms): never evicted.
    pub fn own(text: Bytes) -> Arc<Build> {
        Arc::new(Build::new(0, 0, text))
    }

    /// The frame as a session sends it: text, or deflated (a large one on the
    /// blocking pool, once); `None` if deflating failed.
    pub async fn message(&self, zlib: bool) -> Option<Message> {
        if !zlib {
            return Some(Message::text(self.text.clone()));
        }
        let deflated = self.zlib.get_or_init(|| protocol::deflate_off_thread(self.text.clone())).await;
        deflated.clone().map(Message::binary)
    }
}

/// The shared builds.
#[derive(Default)]
pub struct SharedInitState {
    inner: Mutex<Inner>,
    done: Notify,
}

#[derive(Default)]
struct Inner {
    /// Builds started so far; the last one's number.
    started: u64,
    running: bool,
    latest: Option<Arc<Build>>,
    /// Builds that may still be in memory, oldest first.
    live: VecDeque<Weak<Build>>,
}

/// Marks the running build finished (or abandoned) however its future ends.
struct Running<'a>(&'a SharedInitState);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.lock().running = false;
        self.0.done.notify_waiters();
    }
}

impl SharedInitState {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A session's ticket: take it right after subscribing.
    pub fn ticket(&self) -> u64 {
        self.lock().started
    }

    /// How many builds have started (for tests and metrics).
    pub fn builds(&self) -> u64 {
        self.lock().started
    }

    /// An INIT_STATE good for a session holding `ticket`: a finished build still
    /// current by `stamp`, one started after the ticket, or one this call builds.
    /// `stamp` must change whenever anything a build reads does; it is read before
    /// the build reads anything.
    pub async fn get<F: Future<Output = Bytes>>(
        &self,
        ticket: u64,
        stamp: impl Fn() -> u64,
        build: impl FnOnce() -> F,
    ) -> Arc<Build> {
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            // Registered before looking, so that a build finishing meanwhile wakes us.
            notified.as_mut().enable();
            let now = stamp();
            let number = {
                let mut inner = self.lock();
                if let Some(latest) = &inner.latest
                    && (latest.number > ticket || latest.stamp == now)
                {
                    return latest.clone();
                }
                if inner.running {
                    None
                } else {
                    inner.running = true;
                    inner.started += 1;
                    // Of no use to anyone from now on: let it go once its writers are done.
                    inner.latest = None;
                    Some(inner.started)
                }
            };
            let Some(number) = number else {
                notified.await;
                continue;
            };
            let running = Running(self);
            let stamp = stamp();
            let frame = build().await;
            let made = Arc::new(Build::new(number, stamp, frame));
            {
                let mut inner = self.lock();
                inner.latest = Some(made.clone());
                inner.live.retain(|build| build.strong_count() > 0);
                inner.live.push_back(Arc::downgrade(&made));
                while inner.live.len() > LIVE {
                    if let Some(old) = inner.live.pop_front().and_then(|build| build.upgrade()) {
                        old.evicted.cancel();
                    }
                }
            }
            drop(running);
            return made;
        }
    }
}

/// Subscribes, then makes the INIT_STATE (subscribing first, so no update falls between).
pub async fn make(api: &Arc<Api>, id: SessionId, what: Subscribe) -> Result<(Arc<Build>, Covered), Refusal> {
    match what {
        Subscribe::Id(user) => {
            api.hub.subscribe(id, &[user])?;
            let (frame, covered) = read_init_state(api, vec![user], Form::One).await;
            Ok((Build::own(frame), covered))
        }
        Subscribe::Ids(users) => {
            api.hub.subscribe(id, &users)?;
            let (frame, covered) = read_init_state(api, users, Form::Map).await;
            Ok((Build::own(frame), covered))
        }
        Subscribe::All => {
            if !api.app.config().socket.subscribe_to_all {
                return Err(Refusal::SubscribeToAllDisabled);
            }
            api.hub.subscribe_all(id);
            let ticket = api.hub.everyone.ticket();
            let stamp = || api.app.changes.generation();
            let build = || async { read_init_state(api, api.app.presences.served_users(), Form::Map).await.0 };
            // It shows the users monitored when it started, which may lag behind the
            // change feed: every push made meanwhile goes out after it.
            Ok((api.hub.everyone.get(ticket, stamp, build).await, Covered::default()))
        }
    }
}

/// The form of an INIT_STATE's `d`.
enum Form {
    /// `subscribe_to_id`: the user's presence (`{}` when not served).
    One,
    /// The other forms: a map of id → presence of the served ones.
    Map,
}

/// The INIT_STATE of `users` (sorted), and what it shows: the served ones, and
/// the change feed's generation read before any of them was (0, which makes no
/// push redundant, when a user could not be read). The users are read keeping
/// nothing, and each is written into the frame as it is read, so that an
/// INIT_STATE of every monitored user costs the frame and no more. On the
/// blocking pool: rendering up to every monitored user takes a while.
async fn read_init_state(api: &Arc<Api>, users: Vec<UserId>, form: Form) -> (Bytes, Covered) {
    let (api, runtime) = (api.clone(), tokio::runtime::Handle::current());
    let read = tokio::task::spawn_blocking(move || {
        let app = &api.app;
        let mut generation = app.changes.generation();
        let mut shown = Vec::new();
        let presences =
            users.into_iter().filter_map(|user| match runtime.block_on(app.reads.get(user, Keep::Nothing)) {
                Ok(Some(published)) => {
                    shown.push((user, api.hub.digest(published.lanyard_data.as_bytes())));
                    Some((user, published.lanyard_data.clone()))
                }
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!(%user, "INIT_STATE without this user: {e}");
                    generation = 0;
                    None
                }
            });
        let frame = match form {
            Form::One => protocol::init_state_one({ presences }.next().map(|(_, presence)| presence)),
            Form::Map => protocol::init_state_map(presences),
        };
        (frame, Covered { users: shown, generation })
    });
    read.await.unwrap_or_else(|e| {
        tracing::error!("INIT_STATE read failed: {e}");
        (protocol::init_state_map(std::iter::empty::<(UserId, Json)>()), Covered::default())
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    fn frame(n: u64) -> Bytes {
        Bytes::from(n.to_string())
    }

    #[tokio::test]
    async fn concurrent_sessions_share_one_build() {
        let everyone = Arc::new(SharedInitState::default());
        let stamp = Arc::new(AtomicU64::new(0));
        let gate = Arc::new(Notify::new());
        let mut waiting = Vec::new();
        for _ in 0..5 {
            let (everyone, stamp, gate) = (everyone.clone(), stamp.clone(), gate.clone());
            let ticket = everyone.ticket();
            waiting.push(tokio::spawn(async move {
                everyone
                    .get(
                        ticket,
                        || stamp.load(Ordering::SeqCst),
                        || async move {
                            gate.notified().await;
                            frame(1)
                        },
                    )
                    .await
            }));
        }
        tokio::task::yield_now().await;
        gate.notify_one();
        let builds: Vec<Arc<Build>> =
            futures_util::future::join_all(waiting).await.into_iter().map(Result::unwrap).collect();
        assert!(builds.iter().all(|b| Arc::ptr_eq(b, &builds[0])), "one frame for all");
        assert_eq!(everyone.builds(), 1);
    }

    #[tokio::test]
    async fn a_finished_build_serves_later_sessions_until_something_changes() {
        let everyone = SharedInitState::default();
        let stamp = AtomicU64::new(7);
        let now = || stamp.load(Ordering::SeqCst);
        let first = everyone.get(everyone.ticket(), now, || async { frame(1) }).await;
        let later = everyone.get(everyone.ticket(), now, || async { frame(2) }).await;
        assert!(Arc::ptr_eq(&first, &later), "nothing changed: shared");
        stamp.store(8, Ordering::SeqCst);
        let after_change = everyone.get(everyone.ticket(), now, || async { frame(3) }).await;
        assert_eq!(&after_change.text[..], b"3");
        assert_eq!(everyone.builds(), 2);
    }

    #[tokio::test]
    async fn sessions_arriving_during_a_stale_build_coalesce_into_the_next() {
        let everyone = Arc::new(SharedInitState::default());
        let stamp = Arc::new(AtomicU64::new(0));
        let gate = Arc::new(Notify::new());
        let first = {
            let (everyone, stamp, gate) = (everyone.clone(), stamp.clone(), gate.clone());
            let ticket = everyone.ticket();
            tokio::spawn(async move {
                everyone
                    .get(
                        ticket,
                        || stamp.load(Ordering::SeqCst),
                        || async move {
                            gate.notified().await;
                            frame(1)
                        },
                    )
                    .await
            })
        };
        tokio::task::yield_now().await;
        // These subscribe while build 1 runs, and something changes: build 1 is not theirs.
        stamp.store(1, Ordering::SeqCst);
        let mut late = Vec::new();
        for _ in 0..4 {
            let (everyone, stamp) = (everyone.clone(), stamp.clone());
            let ticket = everyone.ticket();
            late.push(tokio::spawn(async move {
                everyone.get(ticket, || stamp.load(Ordering::SeqCst), || async { frame(2) }).await
            }));
        }
        tokio::task::yield_now().await;
        gate.notify_one();
        assert_eq!(&first.await.unwrap().text[..], b"1");
        for session in late {
            assert_eq!(&session.await.unwrap().text[..], b"2");
        }
        assert_eq!(everyone.builds(), 2, "one build for the four late sessions");
    }

    #[tokio::test]
    async fn builds_still_being_written_are_evicted_past_the_bound() {
        let everyone = SharedInitState::default();
        let stamp = AtomicU64::new(0);
        let mut held = Vec::new();
        for n in 0..=LIVE as u64 {
            stamp.store(n, Ordering::SeqCst);
            held.push(
                everyone.get(everyone.ticket(), || stamp.load(Ordering::SeqCst), || async move { frame(n) }).await,
            );
        }
        assert!(held[0].evicted.is_cancelled(), "the oldest of {} held builds", LIVE + 1);
        assert!(held[1..].iter().all(|b| !b.evicted.is_cancelled()));
        // A build nobody holds any more does not count.
        drop(held.remove(1));
        stamp.store(99, Ordering::SeqCst);
        held.push(everyone.get(everyone.ticket(), || stamp.load(Ordering::SeqCst), || async { frame(99) }).await);
        assert!(held[1..].iter().all(|b| !b.evicted.is_cancelled()));
    }
}
