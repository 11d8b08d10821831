//! One `/socket` session: hello, client ops, heartbeat timeout, and the close
//! on shutdown (1001, at once, so that clients that reconnect instantly find
//! the next server).
//!
//! tokio-websockets reads the client and frames and writes everything the
//! session sends; the session writes its own frames and the pushes queued on
//! its [`Line`] while it keeps reading, so the heartbeat timer, shutdown and
//! the receipt check are watched during a blocked write too.
//!
//! Inbound limits (docs/SECURITY.md): a message over [`MAX_CLIENT_MESSAGE`] (fragmented
//! or not) closes with 1009; more than [`RATE`] messages a second on average,
//! [`BURST`] at once, close with 4008. Every message counts, pings included.

use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use std::task::Poll;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::{Instant, MissedTickBehavior, sleep_until, timeout};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_websockets::{CloseCode, Config, Limits, Message, ServerBuilder, WebSocketStream};

use super::hub::SessionId;
use super::init_state;
use super::line::{Conn, Line, Receipt, receipt_check_period};
use super::protocol::{self, ClientOp, Refusal};
use crate::http::Api;
use crate::limit::TokenBucket;

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
pub const RATE: u32 = 10;
/// …and at once.
pub const BURST: u32 = 20;
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

/// Unregisters the session however it ends, and lets go of what its line holds.
struct Registered<'a> {
    api: &'a Api,
    id: SessionId,
    line: &'a Line,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.api.hub.unregister(self.id);
        self.line.shut();
        self.api.metrics.sessions.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The WebSocket a session reads from and writes to.
type Socket = WebSocketStream<Conn>;

/// Runs a session over an upgraded connection until it ends; `early` holds what
/// the client sent past the upgrade request.
pub async fn run(api: Arc<Api>, stream: TcpStream, early: Bytes, zlib: bool, stop: CancellationToken) {
    let config = api.app.config().socket;
    cap_send_buffer(&stream, config.send_buffer_bytes);
    let line = Arc::new(Line::new(stream, zlib, config.max_queue_bytes));
    let limits = Limits::default().max_payload_len(Some(MAX_CLIENT_MESSAGE));
    // Whole frames, however large (an INIT_STATE), and nothing written before a flush.
    let ws_config = Config::default().frame_size(usize::MAX).flush_threshold(usize::MAX);
    let ws = ServerBuilder::new().limits(limits).config(ws_config).serve(Conn::new(line.clone(), early));
    // Sessions are capped like HTTP connections (`http.max_connections`): past the cap a
    // new one is told to come back later, instead of the process running out of files.
    let open = api.metrics.sessions.fetch_add(1, Ordering::Relaxed);
    if open >= api.max_connections as i64 {
        api.metrics.sessions.fetch_sub(1, Ordering::Relaxed);
        return close(ws, &line, FULL_CODE, FULL_REASON).await;
    }
    let id = api.hub.register(line.clone());
    api.metrics.sessions_opened.fetch_add(1, Ordering::Relaxed);
    let _registered = Registered { api: &api, id, line: &line };
    let mut ws = ws;
    let Some(hello) = own_message(zlib, Bytes::from_static(protocol::HELLO)).await else { return };
    line.claim();
    if ws.feed(hello).await.is_err() {
        return;
    }
    // Whether tokio-websockets holds frames to flush.
    let mut writing = true;
    // The INIT_STATE being written: while it is, the client's next messages wait in
    // its socket (so op 2s cannot pile up INIT_STATEs in memory) and its silence is
    // not counted (the receipt check watches it meanwhile). A shared one's eviction
    // ends the session.
    let mut init: Option<Pin<Box<WaitForCancellationFutureOwned>>> = None;
    let mut bucket = TokenBucket::new(RATE, BURST, Instant::now());
    let mut receipt = Receipt::default();
    let mut check = tokio::time::interval(receipt_check_period(config.write_timeout));
    check.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Created once and re-polled: a fresh `cancelled()` or `sleep_until` per loop would
    // register with the stop token's list and the timer every time round. The stop
    // token is this session's own child: the server's is shared by every session.
    let stop = stop.child_token();
    let stopped = stop.cancelled();
    let silence = sleep_until(Instant::now() + HEARTBEAT_TIMEOUT);
    tokio::pin!(stopped, silence);
    loop {
        let reading = init.is_none();
        tokio::select! {
            () = &mut stopped => return close(ws, &line, 1001, "server shutting down").await,
            () = &mut silence, if reading => {
                return close(ws, &line, HEARTBEAT_TIMEOUT_CODE, "heartbeat_timeout").await;
            }
            _ = check.tick() => if receipt.stalled(&line) {
                tracing::debug!("socket closed: sent bytes not received within socket.write_timeout");
                api.metrics.sessions_dropped.fetch_add(1, Ordering::Relaxed);
                return line.abort();
            },
            () = evicted(&mut init) => {
                // No close frame can follow a half-written frame.
                tracing::debug!("socket closed: its INIT_STATE was evicted before it was written");
                return line.abort();
            }
            // Watched while a write is blocked too: a session that fell behind is
            // closed then, not once its client reads again.
            () = line.woken() => {
                if line.lagged() {
                    return close_lagging(&api, ws, &line).await;
                }
                if !writing {
                    writing = match write_queued(&mut ws, &line).await {
                        Written::Some => true,
                        Written::Nothing => false,
                        Written::Lagged => return close_lagging(&api, ws, &line).await,
                        Written::Broken => return,
                    };
                }
            }
            event = next_event(&mut ws, writing, reading) => {
                let incoming = match event {
                    Event::Flushed(Err(_)) => return,
                    Event::Flushed(Ok(())) => {
                        if init.take().is_some() {
                            silence.as_mut().reset(Instant::now() + HEARTBEAT_TIMEOUT);
                        }
                        writing = !line.release() && match write_queued(&mut ws, &line).await {
                            Written::Some => true,
                            Written::Nothing => false,
                            Written::Lagged => return close_lagging(&api, ws, &line).await,
                            Written::Broken => return,
                        };
                        continue;
                    }
                    Event::Received(incoming) => incoming,
                };
                let message = match incoming {
                    Some(Ok(message)) => message,
                    Some(Err(tokio_websockets::Error::PayloadTooLong { .. })) => {
                        return close_too_big(ws, &line).await;
                    }
                    _ => return,
                };
                silence.as_mut().reset(Instant::now() + HEARTBEAT_TIMEOUT);
                if !bucket.take(Instant::now()) {
                    return refuse(ws, &line, Refusal::RateLimited).await;
                }
                if message.is_close() {
                    // tokio-websockets has queued the reply: write it out, then end. No push
                    // may follow it.
                    line.close();
                    let _ = timeout(Duration::from_secs(2), ws.flush()).await;
                    return;
                }
                if !message.is_text() && !message.is_binary() {
                    continue;
                }
                match protocol::parse(message.as_payload()) {
                    Err(refusal) => return refuse(ws, &line, refusal).await,
                    Ok(ClientOp::Heartbeat) => {}
                    Ok(ClientOp::Unsubscribe(what)) => api.hub.unsubscribe(id, what),
                    Ok(ClientOp::Initialize(what)) => {
                        // Pushes queue from here on: one made meanwhile goes out after the
                        // INIT_STATE, never before.
                        line.claim();
                        let made = tokio::select! {
                            made = init_state::make(&api, id, what) => made,
                            () = &mut stopped => return close(ws, &line, 1001, "server shutting down").await,
                        };
                        let (build, covered) = match made {
                            Ok(made) => made,
                            Err(refusal) => return refuse(ws, &line, refusal).await,
                        };
                        let Some(message) = build.message(zlib).await else {
                            tracing::error!("socket closed: its INIT_STATE could not be deflated");
                            return;
                        };
                        // Pushes of the state it shows, or an older one, would follow it with
                        // what the client has already, or take it back: left out.
                        line.cover(covered);
                        if ws.feed(message).await.is_err() {
                            return;
                        }
                        writing = true;
                        init = Some(Box::pin(build.evicted.clone().cancelled_owned()));
                    }
                }
            }
        }
    }
}

/// What [`write_queued`] did.
enum Written {
    /// Handed frames to tokio-websockets: a flush follows.
    Some,
    /// Nothing was queued: the socket is back with the fan-out.
    Nothing,
    /// The session fell `max_queue_bytes` behind.
    Lagged,
    /// The socket failed.
    Broken,
}

/// What happened on the socket.
enum Event {
    /// tokio-websockets wrote out everything it held (or failed to).
    Flushed(Result<(), tokio_websockets::Error>),
    /// A client message, an error, or the end.
    Received(Option<Result<Message, tokio_websockets::Error>>),
}

/// The socket's next event: a flush done while `flushing`, a message while `reading`.
/// One future drives both, so the socket stays whole (its close can follow
/// whatever it still holds).
async fn next_event(ws: &mut Socket, flushing: bool, reading: bool) -> Event {
    std::future::poll_fn(|cx| {
        if flushing && let Poll::Ready(flushed) = ws.poll_flush_unpin(cx) {
            return Poll::Ready(Event::Flushed(flushed));
        }
        if reading && let Poll::Ready(incoming) = ws.poll_next_unpin(cx) {
            return Poll::Ready(Event::Received(incoming));
        }
        Poll::Pending
    })
    .await
}

/// Takes the pushes queued on the line (and the rest of a frame the fan-out
/// wrote in part) and hands them to tokio-websockets, in order.
async fn write_queued(ws: &mut Socket, line: &Line) -> Written {
    let (messages, rest) = match line.take() {
        Ok(taken) => taken,
        Err(_) => return Written::Lagged,
    };
    if messages.is_empty() && !rest {
        return if line.release() { Written::Nothing } else { Written::Some };
    }
    for message in messages {
        // Never waits: nothing is written before the flush (`flush_threshold`).
        if ws.feed(message).await.is_err() {
            return Written::Broken;
        }
    }
    Written::Some
}

/// Resolves when the INIT_STATE being written is evicted (never without one).
async fn evicted(init: &mut Option<Pin<Box<WaitForCancellationFutureOwned>>>) {
    match init {
        Some(evicted) => evicted.as_mut().await,
        None => std::future::pending().await,
    }
}

/// One of the session's own frames: text, or deflated into a binary frame with
/// `zlib_json`; `None` if deflating failed.
async fn own_message(zlib: bool, text: Bytes) -> Option<Message> {
    if zlib { protocol::deflate_off_thread(text).await.map(Message::binary) } else { Some(Message::text(text)) }
}

/// Caps the socket's kernel send buffer at `bytes` (`socket.send_buffer_bytes`).
/// Linux doubles the value it is given for its bookkeeping; half is asked for, so
/// the buffer holds what the setting says.
fn cap_send_buffer(stream: &TcpStream, bytes: usize) {
    let value = libc::c_int::try_from(bytes / 2).unwrap_or(libc::c_int::MAX);
    // SAFETY: SO_SNDBUF reads one int from the pointer, for an fd open for the call.
    let set = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if set != 0 {
        tracing::warn!("socket.send_buffer_bytes not applied: {}", std::io::Error::last_os_error());
    }
}

/// Closes a session that fell behind: its queue is dropped already (the hub no
/// longer counts on it), and the close goes out after what tokio-websockets
/// holds, if the client reads on within [`LAGGED_CLOSE_WAIT`].
async fn close_lagging(api: &Api, ws: Socket, line: &Line) {
    tracing::debug!("socket closed: send queue over socket.max_queue_bytes");
    api.metrics.sessions_dropped.fetch_add(1, Ordering::Relaxed);
    close_within(ws, line, LAGGED_CODE, LAGGED_REASON, LAGGED_CLOSE_WAIT).await;
    line.abort();
}

/// Closes for a refused message, with its code and reason.
async fn refuse(ws: Socket, line: &Line, refusal: Refusal) {
    let (code, reason) = refusal.close();
    close(ws, line, code, &reason).await;
}

/// Closes with 1009 after a message over the limit, whose rest the client may
/// still be sending.
async fn close_too_big(mut ws: Socket, line: &Line) {
    line.close();
    let closing = async {
        // tokio-websockets has queued a 1009 close itself when one frame was over the
        // limit (and refuses another send); for a fragmented message it has not.
        let close = Message::close(Some(CloseCode::MESSAGE_TOO_BIG), TOO_BIG_REASON);
        if ws.send(close).await.is_err() {
            ws.flush().await?;
        }
        let (mut left, mut buf) = (LINGER_BYTES, [0u8; 8192]);
        while left > 0 {
            let n = ws.get_mut().read(&mut buf).await?;
            if n == 0 {
                break;
            }
            left = left.saturating_sub(n);
        }
        Ok::<(), tokio_websockets::Error>(())
    };
    let _ = timeout(Duration::from_secs(2), closing).await;
}

/// Closes with a code and reason, then waits briefly for the client's close
/// (reading and dropping what it still sends). Bounded in time: a client that
/// reads nothing cannot hold the session by not taking the close frame.
async fn close(ws: Socket, line: &Line, code: u16, reason: &str) {
    close_within(ws, line, code, reason, Duration::from_secs(4)).await;
}

/// `close`, giving up after `wait`. What is queued goes out before the close.
async fn close_within(mut ws: Socket, line: &Line, code: u16, reason: &str, wait: Duration) {
    line.close();
    let queued = line.take().map(|(messages, _)| messages).unwrap_or_default();
    let code = CloseCode::try_from(code).unwrap_or(CloseCode::NORMAL_CLOSURE);
    let _ = timeout(wait, async {
        for message in queued {
            if ws.feed(message).await.is_err() {
                return;
            }
        }
        if ws.send(Message::close(Some(code), reason)).await.is_ok() {
            let _ = timeout(Duration::from_secs(2), async { while let Some(Ok(_)) = ws.next().await {} }).await;
        }
    })
    .await;
}

#[cfg(test)]
mod tests;
