//! One `/socket` session: hello, client ops, queued frames, heartbeat
//! timeout, and the close on shutdown (1001, at once, so that clients that
//! reconnect instantly find the next server).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;
use tokio_websockets::{CloseCode, Limits, Message, ServerBuilder, WebSocketStream};

use super::hub::{Pushed, SessionId};
use super::protocol::{self, ClientOp, Subscribe};
use crate::http::Api;

/// Silence after which a session is closed: twice the advertised interval,
/// because browsers slow timers in background tabs.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_millis(2 * protocol::HEARTBEAT_INTERVAL_MS);
/// Largest client message (ops are tiny; a long `subscribe_to_ids` fits).
const MAX_CLIENT_MESSAGE: usize = 1024 * 1024;
/// Close code of a heartbeat timeout.
pub const HEARTBEAT_TIMEOUT_CODE: u16 = 4000;
/// Close code of a session that fell `hub::QUEUE` frames behind (policy violation).
pub const LAGGED_CODE: u16 = 1008;
/// Close reason of a session that fell behind.
pub const LAGGED_REASON: &str = "too slow: send queue full";
/// Close code of a session over the cap (1013, try again later).
pub const FULL_CODE: u16 = 1013;
/// Close reason of a session over the cap.
pub const FULL_REASON: &str = "server full: try again later";

/// Unregisters the session however it ends.
struct Registered<'a> {
    api: &'a Api,
    id: SessionId,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.api.hub.unregister(self.id);
        self.api.metrics.sessions.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs a session over an upgraded connection until it ends.
pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(api: Arc<Api>, io: S, zlib: bool, stop: CancellationToken) {
    let mut ws = ServerBuilder::new().limits(Limits::default().max_payload_len(Some(MAX_CLIENT_MESSAGE))).serve(io);
    // Sessions are capped like HTTP connections (`http.max_connections`): past the cap a
    // new one is told to come back later, instead of the process running out of files.
    let open = api.metrics.sessions.fetch_add(1, Ordering::Relaxed);
    if open >= api.max_connections as i64 {
        api.metrics.sessions.fetch_sub(1, Ordering::Relaxed);
        return close(ws, FULL_CODE, FULL_REASON).await;
    }
    let (id, queue) = api.hub.register();
    let (mut frames, lagged) = (queue.frames, queue.lagged);
    api.metrics.sessions_opened.fetch_add(1, Ordering::Relaxed);
    let _registered = Registered { api: &api, id };
    if send(&mut ws, zlib, Bytes::from_static(protocol::HELLO)).await.is_err() {
        return;
    }
    // Created once and re-polled: a fresh `cancelled()` or `sleep_until` per loop would
    // register with the shared stop token's list and the timer on every frame, and
    // with 10 000 sessions that per-frame registration was most of a fan-out's cost.
    // The stop token is this session's own child: polling the server's token itself
    // would take its two mutexes, shared by every session, on every frame.
    let stop = stop.child_token();
    let stopped = stop.cancelled();
    let lagging = lagged.cancelled();
    let silence = sleep_until(Instant::now() + HEARTBEAT_TIMEOUT);
    tokio::pin!(stopped, lagging, silence);
    loop {
        tokio::select! {
            () = &mut stopped => return close(ws, 1001, "server shutting down").await,
            () = &mut silence => return close(ws, HEARTBEAT_TIMEOUT_CODE, "heartbeat_timeout").await,
            () = &mut lagging => return close_lagging(ws).await,
            frame = frames.recv() => {
                let Some(frame) = frame else { return };
                if lagged.is_cancelled() {
                    return close_lagging(ws).await;
                }
                // A client that stopped reading blocks this write: once the queue
                // overflows, give up on it (mid-frame, so without a close frame).
                tokio::select! {
                    sent = send_pushed(&mut ws, zlib, &frame) => if sent.is_err() { return },
                    () = &mut lagging => return,
                }
            }
            incoming = ws.next() => {
                let Some(Ok(message)) = incoming else { return };
                silence.as_mut().reset(Instant::now() + HEARTBEAT_TIMEOUT);
                if message.is_close() {
                    let _ = ws.close().await;
                    return;
                }
                if !message.is_text() && !message.is_binary() {
                    continue;
                }
                match protocol::parse(message.as_payload()) {
                    Err(refusal) => {
                        let (code, reason) = refusal.close();
                        return close(ws, code, reason).await;
                    }
                    Ok(ClientOp::Heartbeat) => {}
                    Ok(ClientOp::Unsubscribe(what)) => api.hub.unsubscribe(id, what),
                    Ok(ClientOp::Initialize(what)) => {
                        let frame = init_state(&api, id, what).await;
                        if send(&mut ws, zlib, frame).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// Subscribes, then builds INIT_STATE (subscribing first, so no update falls between).
async fn init_state(api: &Api, id: SessionId, what: Subscribe) -> Bytes {
    let users = match &what {
        Subscribe::Id(user) => {
            api.hub.subscribe(id, &[*user]);
            let presence = match api.bodies.get(&api.app, *user).await {
                Ok(found) => found,
                Err(e) => {
                    tracing::warn!(%user, "INIT_STATE without this user: {e}");
                    None
                }
            };
            return protocol::init_state_one(presence.as_ref().map(|c| &c.lanyard[..]));
        }
        Subscribe::Ids(users) => {
            api.hub.subscribe(id, users);
            users.clone()
        }
        Subscribe::All => api.hub.subscribe_all(id),
    };
    let mut found = Vec::with_capacity(users.len());
    for user in users {
        match api.bodies.get(&api.app, user).await {
            Ok(Some(composed)) => found.push((user, composed)),
            Ok(None) => {}
            Err(e) => tracing::warn!(%user, "INIT_STATE without this user: {e}"),
        }
    }
    protocol::init_state_map(found.iter().map(|(user, c)| (*user, &c.lanyard[..])))
}

/// Sends a frame: text, or deflated into a binary frame with `zlib_json`.
async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    zlib: bool,
    frame: Bytes,
) -> Result<(), tokio_websockets::Error> {
    let message = if zlib { Message::binary(deflate(&frame)) } else { Message::text(frame) };
    ws.send(message).await
}

/// Sends a pushed frame; its deflated form is shared with the other compressed sessions.
async fn send_pushed<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    zlib: bool,
    frame: &Pushed,
) -> Result<(), tokio_websockets::Error> {
    let message = if zlib { Message::binary(frame.zlib(deflate)) } else { Message::text(frame.text.clone()) };
    ws.send(message).await
}

/// A complete zlib stream (with header) of `text`.
fn deflate(text: &[u8]) -> Bytes {
    let mut encoder =
        flate2::write::ZlibEncoder::new(Vec::with_capacity(text.len() / 4 + 16), flate2::Compression::fast());
    // Writing into a Vec cannot fail.
    encoder.write_all(text).expect("deflating into memory");
    encoder.finish().expect("deflating into memory").into()
}

/// Closes a session that fell behind, giving up if even the close cannot be written.
async fn close_lagging<S: AsyncRead + AsyncWrite + Unpin>(ws: WebSocketStream<S>) {
    let _ = timeout(Duration::from_secs(2), close(ws, LAGGED_CODE, LAGGED_REASON)).await;
}

/// Closes with a code and reason, then waits briefly for the client's close.
async fn close<S: AsyncRead + AsyncWrite + Unpin>(mut ws: WebSocketStream<S>, code: u16, reason: &str) {
    let code = CloseCode::try_from(code).unwrap_or(CloseCode::NORMAL_CLOSURE);
    if ws.send(Message::close(Some(code), reason)).await.is_ok() {
        let _ = timeout(Duration::from_secs(2), async { while let Some(Ok(_)) = ws.next().await {} }).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::App;
    use crate::config::Config;
    use tokio_util::task::TaskTracker;

    fn api() -> (tempfile::TempDir, Arc<Api>) {
        let (dir, app) = App::temporary(Config::default());
        (dir, Arc::new(Api::new(app, CancellationToken::new(), TaskTracker::new(), true)))
    }

    /// A session over an in-memory pipe, and the client end.
    fn pipe(api: &Arc<Api>) -> WebSocketStream<tokio::io::DuplexStream> {
        let (client, server) = tokio::io::duplex(64 * 1024);
        tokio::spawn(run(api.clone(), server, false, api.stop.clone()));
        tokio_websockets::ClientBuilder::new().take_over(client)
    }

    async fn close_code(ws: &mut WebSocketStream<tokio::io::DuplexStream>) -> Option<u16> {
        while let Some(Ok(message)) = ws.next().await {
            if let Some((code, _)) = message.as_close() {
                return Some(code.into());
            }
        }
        None
    }

    #[tokio::test(start_paused = true)]
    async fn silence_closes_after_twice_the_interval_and_any_message_resets_it() {
        let (_dir, api) = api();
        let mut ws = pipe(&api);
        assert_eq!(ws.next().await.unwrap().unwrap().as_text(), Some(std::str::from_utf8(protocol::HELLO).unwrap()));
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(50)).await;
        ws.send(Message::text(r#"{"op":3}"#)).await.unwrap();
        assert_eq!(close_code(&mut ws).await, Some(HEARTBEAT_TIMEOUT_CODE));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(110) && waited < Duration::from_secs(111), "{waited:?}");
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_is_closed_with_1008() {
        let (_dir, api) = api();
        let mut ws = pipe(&api);
        ws.next().await.unwrap().unwrap();
        ws.send(Message::text(r#"{"op":2,"d":{"subscribe_to_all":true}}"#)).await.unwrap();
        ws.next().await.unwrap().unwrap();
        // Nothing is read from here on; the session cannot run while this loop fills its queue.
        let frame = Pushed::new(Bytes::from(vec![b' '; 512]));
        let queued: u64 = (0..=super::super::hub::QUEUE).map(|_| api.hub.push(crate::ids::UserId(1), &frame)).sum();
        assert_eq!(queued, super::super::hub::QUEUE as u64);
        let closed = timeout(Duration::from_secs(10), async {
            while let Some(Ok(message)) = ws.next().await {
                if let Some((code, reason)) = message.as_close() {
                    return Some((u16::from(code), reason.to_string()));
                }
            }
            None
        });
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
    async fn shutdown_closes_with_1001() {
        let (_dir, api) = api();
        let mut ws = pipe(&api);
        ws.next().await.unwrap().unwrap();
        api.stop.cancel();
        assert_eq!(close_code(&mut ws).await, Some(1001));
    }
}
