//! One `/socket` session: hello, client ops, heartbeat timeout, and the close
//! on shutdown (1001, at once, so that clients that reconnect instantly find
//! the next server).
//!
//! The session reads its client through tokio-websockets (over a [`Link`]);
//! everything it sends goes through its [`Outbox`], which the hub's fan-out
//! writes to directly. The session task writes out what the socket did not
//! take at once, while it keeps reading: the heartbeat timer, shutdown and the
//! write deadline are watched during a blocked write too.
//!
//! Inbound limits (docs/SECURITY.md): a message over [`MAX_CLIENT_MESSAGE`] (fragmented
//! or not) closes with 1009; more than [`RATE`] messages a second on average,
//! [`BURST`] at once, close with 4008. Every message counts, pings included.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_websockets::{CloseCode, Limits, Message, ServerBuilder, WebSocketStream};

use super::everyone::Build;
use super::hub::SessionId;
use super::link::Link;
use super::outbox::{Outbox, Shown, Trouble, Wire};
use super::protocol::{self, ClientOp, Refusal, Subscribe};
use crate::http::Api;
use crate::ids::UserId;

/// Silence after which a session is closed: twice the advertised interval,
/// because browsers slow timers in background tabs.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_millis(2 * protocol::HEARTBEAT_INTERVAL_MS);
/// Largest client message (docs/SECURITY.md): ops are tiny, and 64 KiB holds a
/// `subscribe_to_ids` of 3 000 ids, three times `socket.max_ids`' default.
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// Close code of a message over [`MAX_CLIENT_MESSAGE`].
pub const TOO_BIG_CODE: u16 = 1009;
/// Close reason of a message over [`MAX_CLIENT_MESSAGE`].
pub const TOO_BIG_REASON: &str = "message too big: at most 65536 bytes";
/// Client messages per second a session may send on average…
pub const RATE: f64 = 10.0;
/// …and at once.
pub const BURST: f64 = 20.0;
/// Close code of a heartbeat timeout.
pub const HEARTBEAT_TIMEOUT_CODE: u16 = 4000;
/// Close code of a session that fell `socket.max_queue_bytes` behind (policy violation).
pub const LAGGED_CODE: u16 = 1008;
/// Close reason of a session that fell behind.
pub const LAGGED_REASON: &str = "too slow: send queue full";
/// How long a session that fell behind gets to take its close frame.
const LAGGED_CLOSE_WAIT: Duration = Duration::from_secs(10);
/// Close code of a session over the cap (1013, try again later).
pub const FULL_CODE: u16 = 1013;
/// Close reason of a session over the cap.
pub const FULL_REASON: &str = "server full: try again later";
/// How much of what a client still sends is read (and dropped) after a close for
/// a message too big, so that the close frame reaches it before the connection
/// ends (closing with unread data resets the connection, and a reset can
/// discard the close frame before the client reads it).
const LINGER_BYTES: usize = 2 * 1024 * 1024;

/// A token bucket: [`RATE`] messages a second, [`BURST`] at once.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn new(now: Instant) -> Bucket {
        Bucket { tokens: BURST, at: now }
    }

    /// Takes a token for a message arrived at `now`; false when there is none.
    pub fn take(&mut self, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * RATE;
        self.tokens = (self.tokens + refill).min(BURST);
        self.at = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

/// Unregisters the session however it ends, and lets go of what its outbox holds.
struct Registered<'a> {
    api: &'a Api,
    id: SessionId,
    outbox: &'a Outbox,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.api.hub.unregister(self.id);
        self.outbox.shut();
        self.api.metrics.sessions.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The WebSocket a session reads from.
type Socket = WebSocketStream<Link>;

/// A shared INIT_STATE this session may still be writing: the signal that it is
/// evicted, and the address of the payload it queued.
struct Writing {
    evicted: Pin<Box<WaitForCancellationFutureOwned>>,
    payload: usize,
}

/// Runs a session over an upgraded connection until it ends; `early` holds what
/// the client sent past the upgrade request.
pub async fn run(api: Arc<Api>, stream: TcpStream, early: Bytes, zlib: bool, stop: CancellationToken) {
    let outbox = Arc::new(api.hub.outbox(stream));
    let limits = Limits::default().max_payload_len(Some(MAX_CLIENT_MESSAGE));
    let mut ws = ServerBuilder::new().limits(limits).serve(Link::new(outbox.clone(), early));
    // Sessions are capped like HTTP connections (`http.max_connections`): past the cap a
    // new one is told to come back later, instead of the process running out of files.
    let open = api.metrics.sessions.fetch_add(1, Ordering::Relaxed);
    if open >= api.max_connections as i64 {
        api.metrics.sessions.fetch_sub(1, Ordering::Relaxed);
        return close(ws, &outbox, FULL_CODE, FULL_REASON).await;
    }
    let id = api.hub.register(outbox.clone(), zlib);
    api.metrics.sessions_opened.fetch_add(1, Ordering::Relaxed);
    let _registered = Registered { api: &api, id, outbox: &outbox };
    if send(&outbox, zlib, Bytes::from_static(protocol::HELLO)).await.is_err() {
        return;
    }
    let mut bucket = Bucket::new(Instant::now());
    // Created once and re-polled: a fresh `cancelled()` or `sleep_until` per loop would
    // register with the shared stop token's list and the timer every time round.
    // The stop token is this session's own child: polling the server's token itself
    // would take its two mutexes, shared by every session.
    let stop = stop.child_token();
    let stopped = stop.cancelled();
    let silence = sleep_until(Instant::now() + HEARTBEAT_TIMEOUT);
    tokio::pin!(stopped, silence);
    let mut writing: Option<Writing> = None;
    loop {
        // One INIT_STATE at a time: while one is unwritten, the client's next messages
        // wait in its socket (so that op 2s cannot pile up INIT_STATEs in memory), and
        // the silence is not counted (the write timeout watches the client meanwhile).
        let holding = outbox.holds_kept();
        tokio::select! {
            () = &mut stopped => return close(ws, &outbox, 1001, "server shutting down").await,
            () = &mut silence, if !holding => {
                return close(ws, &outbox, HEARTBEAT_TIMEOUT_CODE, "heartbeat_timeout").await;
            }
            () = outbox.kept_written(), if holding => silence.as_mut().reset(Instant::now() + HEARTBEAT_TIMEOUT),
            trouble = outbox.run() => match trouble {
                Trouble::Lagged => return close_lagging(ws, &outbox).await,
                Trouble::TimedOut => {
                    tracing::debug!("socket closed: a frame not taken by the client within socket.write_timeout");
                    return;
                }
                Trouble::Broken => return,
            },
            () = evicted(&mut writing) => {
                if writing.take().is_some_and(|w| outbox.holds(w.payload)) {
                    // No close frame can follow a half-written frame.
                    tracing::debug!("socket closed: its INIT_STATE was evicted before it was written");
                    return;
                }
            }
            incoming = ws.next(), if !holding => {
                let message = match incoming {
                    Some(Ok(message)) => message,
                    Some(Err(tokio_websockets::Error::PayloadTooLong { .. })) => {
                        return close_too_big(ws, &outbox).await;
                    }
                    _ => return,
                };
                silence.as_mut().reset(Instant::now() + HEARTBEAT_TIMEOUT);
                if !bucket.take(Instant::now()) {
                    return refuse(ws, &outbox, Refusal::RateLimited).await;
                }
                if message.is_close() {
                    // tokio-websockets has queued the reply: write it out, then end. No push
                    // may follow it.
                    outbox.closing();
                    let _ = ws.flush().await;
                    let _ = timeout(Duration::from_secs(2), outbox.drain()).await;
                    return;
                }
                if !message.is_text() && !message.is_binary() {
                    continue;
                }
                match protocol::parse(message.as_payload()) {
                    Err(refusal) => return refuse(ws, &outbox, refusal).await,
                    Ok(ClientOp::Heartbeat) => {}
                    Ok(ClientOp::Unsubscribe(what)) => api.hub.unsubscribe(id, what),
                    Ok(ClientOp::Initialize(what)) => {
                        // Its place in the queue is kept before subscribing: an update
                        // pushed meanwhile goes out after the INIT_STATE, never before.
                        outbox.reserve();
                        let made = tokio::select! {
                            made = init_state(&api, id, what) => made,
                            () = &mut stopped => {
                                outbox.fill(None, None, Shown::default());
                                return close(ws, &outbox, 1001, "server shutting down").await;
                            }
                        };
                        let (build, shown) = match made {
                            Ok(made) => made,
                            Err(refusal) => {
                                outbox.fill(None, None, Shown::default());
                                return refuse(ws, &outbox, refusal).await;
                            }
                        };
                        let Some(wire) = wire_of(&build, zlib).await else {
                            tracing::error!("socket closed: its INIT_STATE could not be deflated");
                            return;
                        };
                        // Not counted in the queue bound, but not kept forever either: the
                        // write deadline, the queue bound, shutdown and the eviction of a
                        // shared build all end a session that does not take it.
                        writing = Some(Writing {
                            evicted: Box::pin(build.evicted.clone().cancelled_owned()),
                            payload: wire.body().as_ptr() as usize,
                        });
                        // Pushes of the state it shows, or an older one, would follow it with
                        // what the client has already, or take it back: left out.
                        outbox.fill(Some(wire), Some(build), shown);
                    }
                }
            }
        }
    }
}

/// Resolves when the INIT_STATE being written is evicted (never without one).
async fn evicted(writing: &mut Option<Writing>) {
    match writing {
        Some(writing) => writing.evicted.as_mut().await,
        None => std::future::pending().await,
    }
}

/// An INIT_STATE as this session sends it.
async fn wire_of(build: &Build, zlib: bool) -> Option<Wire> {
    if zlib { build.frame.zlib().await.map(Wire::binary) } else { Some(Wire::text(build.frame.text.clone())) }
}

/// What an INIT_STATE of `found`, read after `generation`, shows.
fn shown(api: &Api, found: &[(UserId, Bytes)], generation: u64) -> Shown {
    let mut users: Vec<(UserId, u64)> =
        found.iter().map(|(user, presence)| (*user, api.hub.digest(presence))).collect();
    users.sort_unstable();
    Shown { users, generation }
}

/// Subscribes, then makes the INIT_STATE (subscribing first, so no update falls between).
async fn init_state(api: &Arc<Api>, id: SessionId, what: Subscribe) -> Result<(Arc<Build>, Shown), Refusal> {
    match what {
        Subscribe::Id(user) => {
            api.hub.subscribe(id, &[user])?;
            let (found, generation) = presences(api, vec![user]).await;
            let shown = shown(api, &found, generation);
            let frame = protocol::init_state_one(found.first().map(|(_, presence)| &presence[..]));
            Ok((Build::own(frame), shown))
        }
        Subscribe::Ids(users) => {
            api.hub.subscribe(id, &users)?;
            let (found, generation) = presences(api, users).await;
            let shown = shown(api, &found, generation);
            Ok((Build::own(protocol::init_state_map(found)), shown))
        }
        Subscribe::All => {
            if !api.app.config().socket.subscribe_to_all {
                return Err(Refusal::SubscribeToAllDisabled);
            }
            api.hub.subscribe_all(id);
            let ticket = api.hub.everyone.ticket();
            let stamp = || api.hub.stamp(&api.app.changes);
            let build = || async {
                let users = api.hub.known_users();
                protocol::init_state_map(presences(api, users).await.0)
            };
            // It shows the users the hub knew of when it started, which may lag behind
            // the change feed: every push made meanwhile goes out after it.
            let shown = Shown::default();
            Ok((api.hub.everyone.get(ticket, stamp, build).await, shown))
        }
    }
}

/// The Lanyard presence objects of the monitored ones of `users`, read on the side
/// (nothing rendered for them is kept: `Reads::lanyard_unkept`), on the
/// blocking pool: store reads, and up to every monitored user to render. With
/// them, the change feed's generation read before any of them was (0, which
/// makes no push redundant, when a user could not be read).
async fn presences(api: &Arc<Api>, users: Vec<UserId>) -> (Vec<(UserId, Bytes)>, u64) {
    let api = api.clone();
    let read = tokio::task::spawn_blocking(move || {
        let mut generation = api.app.changes.generation();
        let mut found = Vec::with_capacity(users.len().min(1024));
        for user in users {
            match api.app.reads.lanyard_unkept(user) {
                Ok(Some(presence)) => found.push((user, presence)),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(%user, "INIT_STATE without this user: {e}");
                    generation = 0;
                }
            }
        }
        (found, generation)
    });
    read.await.unwrap_or_else(|e| {
        tracing::error!("INIT_STATE read failed: {e}");
        (Vec::new(), 0)
    })
}

/// Sends one of the session's own frames: text, or deflated into a binary frame with `zlib_json`.
async fn send(outbox: &Outbox, zlib: bool, text: Bytes) -> Result<(), Trouble> {
    let wire = if zlib {
        Wire::binary(protocol::deflate_off_thread(text).await.ok_or(Trouble::Broken)?)
    } else {
        Wire::text(text)
    };
    outbox.send(wire)
}

/// Closes a session that fell behind: its queue is dropped already (the hub no
/// longer counts on it), and the close goes out after what is half written, if
/// the client reads on within [`LAGGED_CLOSE_WAIT`].
async fn close_lagging(ws: Socket, outbox: &Outbox) {
    tracing::debug!("socket closed: send queue over socket.max_queue_bytes");
    close_within(ws, outbox, LAGGED_CODE, LAGGED_REASON, LAGGED_CLOSE_WAIT).await;
}

/// Closes for a refused message, with its code and reason.
async fn refuse(ws: Socket, outbox: &Outbox, refusal: Refusal) {
    let (code, reason) = refusal.close();
    close(ws, outbox, code, &reason).await;
}

/// Closes with 1009 after a message over the limit, whose rest the client may
/// still be sending.
async fn close_too_big(mut ws: Socket, outbox: &Outbox) {
    outbox.closing();
    let closing = async {
        // tokio-websockets has queued a 1009 close itself when one frame was over the
        // limit (and refuses another send); for a fragmented message it has not.
        let close = Message::close(Some(CloseCode::MESSAGE_TOO_BIG), TOO_BIG_REASON);
        if ws.send(close).await.is_err() {
            ws.flush().await?;
        }
        let linger = async {
            let (mut left, mut buf) = (LINGER_BYTES, [0u8; 8192]);
            while left > 0 {
                let n = ws.get_mut().read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                left = left.saturating_sub(n);
            }
            Ok::<(), std::io::Error>(())
        };
        let (_, read) = tokio::join!(outbox.drain(), linger);
        read?;
        Ok::<(), tokio_websockets::Error>(())
    };
    let _ = timeout(Duration::from_secs(2), closing).await;
}

/// Closes with a code and reason, then waits briefly for the client's close
/// (reading and dropping what it still sends). Bounded in time: a client that
/// reads nothing cannot hold the session by not taking the close frame.
async fn close(ws: Socket, outbox: &Outbox, code: u16, reason: &str) {
    close_within(ws, outbox, code, reason, Duration::from_secs(4)).await;
}

/// `close`, giving up after `wait`.
async fn close_within(mut ws: Socket, outbox: &Outbox, code: u16, reason: &str, wait: Duration) {
    outbox.closing();
    let code = CloseCode::try_from(code).unwrap_or(CloseCode::NORMAL_CLOSURE);
    let _ = timeout(wait, async {
        if ws.send(Message::close(Some(code), reason)).await.is_ok() {
            let read = timeout(Duration::from_secs(2), async { while let Some(Ok(_)) = ws.next().await {} });
            let _ = tokio::join!(outbox.drain(), read);
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::App;
    use crate::config::Config;
    use tokio_util::task::TaskTracker;

    fn api_with(config: Config) -> (tempfile::TempDir, Arc<Api>) {
        let (dir, app) = App::temporary(config);
        (dir, Arc::new(Api::new(app, CancellationToken::new(), TaskTracker::new(), true)))
    }

    fn api() -> (tempfile::TempDir, Arc<Api>) {
        api_with(Config::default())
    }

    type Client = WebSocketStream<TcpStream>;

    /// A loopback connection: (client end, server end).
    async fn connection() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        (client, listener.accept().await.unwrap().0)
    }

    /// A session over a loopback connection, and the client end.
    async fn pipe(api: &Arc<Api>) -> Client {
        let (client, server) = connection().await;
        tokio::spawn(run(api.clone(), server, Bytes::new(), false, api.stop.clone()));
        tokio_websockets::ClientBuilder::new().limits(Limits::unlimited()).take_over(client)
    }

    async fn closed(ws: &mut Client) -> Option<(u16, String)> {
        while let Some(Ok(message)) = ws.next().await {
            if let Some((code, reason)) = message.as_close() {
                return Some((code.into(), reason.to_string()));
            }
        }
        None
    }

    async fn close_code(ws: &mut Client) -> Option<u16> {
        closed(ws).await.map(|(code, _)| code)
    }

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = Bucket::new(start);
        assert_eq!((0..30).filter(|_| bucket.take(start)).count(), BURST as usize);
        assert!(!bucket.take(start + Duration::from_millis(50)), "half a token");
        assert!(bucket.take(start + Duration::from_millis(100)));
        let later = start + Duration::from_secs(60);
        assert_eq!((0..30).filter(|_| bucket.take(later)).count(), BURST as usize, "refills up to the burst only");
        // A Lanyard client: a heartbeat every 30 s, forever.
        let mut bucket = Bucket::new(start);
        assert!((1..1000).all(|n| bucket.take(start + Duration::from_secs(30 * n))));
    }

    #[tokio::test(start_paused = true)]
    async fn silence_closes_after_twice_the_interval_and_any_message_resets_it() {
        let (_dir, api) = api();
        let mut ws = pipe(&api).await;
        assert_eq!(ws.next().await.unwrap().unwrap().as_text(), Some(std::str::from_utf8(protocol::HELLO).unwrap()));
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(50)).await;
        ws.send(Message::text(r#"{"op":3}"#)).await.unwrap();
        assert_eq!(close_code(&mut ws).await, Some(HEARTBEAT_TIMEOUT_CODE));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(110) && waited < Duration::from_secs(111), "{waited:?}");
    }

    #[tokio::test]
    async fn a_message_over_64_kib_closes_with_1009_whole_or_fragmented() {
        let (_dir, api) = api();
        let mut ws = pipe(&api).await;
        ws.next().await.unwrap().unwrap();
        ws.send(Message::text(format!(r#"{{"op":3,"d":"{}"}}"#, "x".repeat(MAX_CLIENT_MESSAGE)))).await.unwrap();
        assert_eq!(close_code(&mut ws).await, Some(TOO_BIG_CODE));

        // Fragments each under the limit, adding up past it.
        let (client, server) = connection().await;
        tokio::spawn(run(api.clone(), server, Bytes::new(), false, api.stop.clone()));
        let config = tokio_websockets::Config::default().frame_size(16 * 1024);
        let mut ws = tokio_websockets::ClientBuilder::new().config(config).take_over(client);
        ws.next().await.unwrap().unwrap();
        ws.send(Message::text("x".repeat(4 * MAX_CLIENT_MESSAGE))).await.unwrap();
        assert_eq!(close_code(&mut ws).await, Some(TOO_BIG_CODE));
        let (_, ok) = (ws, pipe(&api).await);
        let mut ok = ok;
        ok.next().await.unwrap().unwrap();
        ok.send(Message::text(format!(r#"{{"op":3,"d":"{}"}}"#, "x".repeat(MAX_CLIENT_MESSAGE - 100)))).await.unwrap();
        ok.send(Message::text(r#"{"op":2,"d":{"subscribe_to_id":"1"}}"#)).await.unwrap();
        let init = ok.next().await.unwrap().unwrap();
        assert_eq!(init.as_text(), Some(r#"{"op":0,"t":"INIT_STATE","d":{}}"#), "just under the limit is read");
    }

    #[tokio::test]
    async fn a_flood_of_heartbeats_closes_with_4008() {
        let (_dir, api) = api();
        let mut ws = pipe(&api).await;
        ws.next().await.unwrap().unwrap();
        for _ in 0..(BURST as usize + 5) {
            if ws.send(Message::text(r#"{"op":3}"#)).await.is_err() {
                break;
            }
        }
        assert_eq!(closed(&mut ws).await, Some((4008, "rate limited".into())));
    }

    #[tokio::test]
    async fn subscribe_to_all_turned_off_closes_with_4006_and_a_reason() {
        let mut config = Config::default();
        config.socket.subscribe_to_all = false;
        let (_dir, api) = api_with(config);
        let mut ws = pipe(&api).await;
        ws.next().await.unwrap().unwrap();
        ws.send(Message::text(r#"{"op":2,"d":{"subscribe_to_all":true}}"#)).await.unwrap();
        assert_eq!(closed(&mut ws).await, Some((4006, "subscribe_to_all is disabled on this server".into())));
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_is_closed_with_1008() {
        let (_dir, api) = api();
        let mut ws = pipe(&api).await;
        ws.next().await.unwrap().unwrap();
        ws.send(Message::text(r#"{"op":2,"d":{"subscribe_to_all":true}}"#)).await.unwrap();
        ws.next().await.unwrap().unwrap();
        // Nothing is read from here on; the session cannot run while this loop fills the
        // socket, then the queue (this test's runtime has one thread).
        let text = Bytes::from(vec![b' '; 512]);
        let mut sent = 0;
        while api.hub.publish(crate::ids::UserId(1), text.clone()).await == 1 {
            sent += 1;
        }
        let bound = api.app.config().socket.max_queue_bytes / super::super::hub::cost(&text);
        assert!(sent >= bound, "the socket took some, the queue {bound} more: {sent}");
        let closed = timeout(Duration::from_secs(10), closed(&mut ws));
        assert_eq!(closed.await.ok().flatten(), Some((LAGGED_CODE, LAGGED_REASON.to_string())));
        drop(ws);
        let gone = timeout(Duration::from_secs(5), async {
            while api.metrics.sessions.load(Ordering::Relaxed) != 0 {
                tokio::task::yield_now().await;
            }
        });
        assert!(gone.await.is_ok(), "the session is gone");
    }

    #[tokio::test]
    async fn shutdown_during_a_blocked_write_closes_with_1001_after_every_queued_frame() {
        let (_dir, api) = api();
        let mut ws = pipe(&api).await;
        ws.next().await.unwrap().unwrap();
        ws.send(Message::text(r#"{"op":2,"d":{"subscribe_to_all":true}}"#)).await.unwrap();
        ws.next().await.unwrap().unwrap();
        // More than the socket takes while the client reads nothing (the session cannot
        // run meanwhile: one thread), less than the queue bound.
        let text = Bytes::from(vec![b' '; 1000]);
        for _ in 0..7000 {
            assert_eq!(api.hub.publish(crate::ids::UserId(1), text.clone()).await, 1);
        }
        api.stop.cancel();
        let mut frames = 0;
        let close = loop {
            let message = timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
            if let Some((code, _)) = message.as_close() {
                break u16::from(code);
            }
            assert_eq!(message.as_payload().len(), 1000);
            frames += 1;
        };
        assert_eq!((frames, close), (7000, 1001), "every frame, in full, then the close");
    }

    #[tokio::test]
    async fn shutdown_closes_with_1001() {
        let (_dir, api) = api();
        let mut ws = pipe(&api).await;
        ws.next().await.unwrap().unwrap();
        api.stop.cancel();
        assert_eq!(close_code(&mut ws).await, Some(1001));
    }
}
