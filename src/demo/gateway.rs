//! The demo's local gateway: Discord's gateway protocol on 127.0.0.1, so that
//! harmy's own gateway code (the twilight shard, the roster, the presence
//! cache) runs exactly as against Discord, fed by the simulated [`Guild`].
//!
//! It is made for one client, harmy's shard in the same process, and refuses
//! anything else cheaply: it binds a loopback port chosen by the system, a
//! session needs the random token only this process knows (close 4004
//! otherwise), at most [`MAX_CONNECTIONS`] connections are open at once (a
//! reconnect overlaps the old connection briefly), frames are at most
//! [`MAX_FRAME`] bytes, and a connection that does not identify in time or goes
//! silent is closed.
//!
//! Protocol: HELLO, then IDENTIFY → READY and the guild's GUILD_CREATE; a
//! heartbeat gets its ACK; a RESUME is answered with op 9 (not resumable), so
//! the shard identifies again and gets the whole guild anew. Every
//! [`STEP`] the guild's changes go to the session as PRESENCE_UPDATEs.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_websockets::{CloseCode, Limits, Message, ServerBuilder};

use super::frames;
use super::guild::{BOT_ID, GUILD_ID, Guild};
use crate::config::Secret;

/// Connections open at once.
pub const MAX_CONNECTIONS: usize = 2;
/// The largest frame accepted from the client (harmy sends a few hundred bytes).
pub const MAX_FRAME: usize = 16 * 1024;
/// How often the guild changes.
pub const STEP: Duration = Duration::from_millis(1500);
/// The WebSocket handshake and the IDENTIFY must each come within this time.
const IDENTIFY_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames queued for a slow client; past it, presence updates are dropped.
const QUEUE: usize = 256;

/// The bound, not yet running, local gateway.
pub struct LocalGateway {
    listener: TcpListener,
    url: String,
    token: Secret,
}

/// What the connections share: the guild and the one session.
struct State {
    guild: Guild,
    /// The connection holding the session: its id, its outgoing queue, its sequence.
    session: Option<(u64, mpsc::Sender<String>, u64)>,
    sessions: u64,
    url: String,
}

impl LocalGateway {
    /// Binds 127.0.0.1 on a free port, with a new random token.
    pub async fn bind() -> std::io::Result<LocalGateway> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("ws://{}", listener.local_addr()?);
        let token = Secret(format!("demo.{:032x}", rand::random::<u128>()));
        Ok(LocalGateway { listener, url, token })
    }

    /// `ws://127.0.0.1:PORT`, for `discord.gateway_url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The token a session must identify with, for `discord.token`.
    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// Serves `guild` until `stop`.
    pub async fn run(self, guild: Guild, stop: CancellationToken) {
        let state = Arc::new(Mutex::new(State { guild, session: None, sessions: 0, url: self.url.clone() }));
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut step = tokio::time::interval(STEP);
        step.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_id = 0u64;
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = step.tick() => advance(&state),
                accepted = self.listener.accept() => {
                    let Ok((tcp, _)) = accepted else { continue };
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        tracing::warn!("demo gateway: a connection beyond the first two was refused");
                        continue;
                    };
                    next_id += 1;
                    let (state, token, stop) = (state.clone(), self.token.clone(), stop.clone());
                    tokio::spawn(async move {
                        connection(next_id, tcp, state, token, stop).await;
                        drop(slot);
                    });
                }
            }
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Applies the guild's next changes and sends them to the session, if there is one.
fn advance(state: &Mutex<State>) {
    let mut state = lock(state);
    let updates = state.guild.step(now_ms());
    if let Some((_, queue, seq)) = &mut state.session {
        for update in updates {
            *seq += 1;
            if queue.try_send(frames::dispatch("PRESENCE_UPDATE", *seq, &update)).is_err() {
                tracing::debug!("demo gateway: the client lags; a presence update was dropped");
            }
        }
    }
}

/// Starts a session on connection `id`: READY and GUILD_CREATE, queued in order.
fn identify(state: &Mutex<State>, id: u64, queue: &mpsc::Sender<String>) {
    let mut state = lock(state);
    state.sessions += 1;
    let session_id = format!("demo-session-{}", state.sessions);
    let ready = frames::ready(BOT_ID, &[GUILD_ID], &session_id, &state.url);
    let create = state.guild.guild_create(now_ms());
    // The queue is new and empty: both fit.
    let _ = queue.try_send(frames::dispatch("READY", 1, &ready));
    let _ = queue.try_send(frames::dispatch("GUILD_CREATE", 2, &create));
    state.session = Some((id, queue.clone(), 2));
}

/// What the client asked for.
enum Answer {
    Nothing,
    Send(&'static str),
    Identify,
    Close(u16, &'static str),
}

/// Reads one client frame.
fn answer(text: &str, token: &Secret, identified: bool) -> Answer {
    let Ok(frame) = serde_json::from_str::<Value>(text) else { return Answer::Close(4002, "decode error") };
    match frame["op"].as_u64() {
        Some(1) => Answer::Send(frames::HEARTBEAT_ACK),
        Some(2) if identified => Answer::Close(4005, "already authenticated"),
        Some(2) => {
            let sent = frame["d"]["token"].as_str().unwrap_or_default();
            if sent.strip_prefix("Bot ").unwrap_or(sent) == token.expose() {
                Answer::Identify
            } else {
                Answer::Close(4004, "authentication failed")
            }
        }
        Some(6) => Answer::Send(frames::INVALID_SESSION),
        _ if !identified => Answer::Close(4003, "not authenticated"),
        // Presence, voice and member requests: the demo guild is small and has no voice.
        _ => Answer::Nothing,
    }
}

async fn connection(id: u64, tcp: TcpStream, state: Arc<Mutex<State>>, token: Secret, stop: CancellationToken) {
    tcp.set_nodelay(true).ok();
    let server = ServerBuilder::new().limits(Limits::default().max_payload_len(Some(MAX_FRAME)));
    let Ok(Ok((_, mut ws))) = tokio::time::timeout(IDENTIFY_TIMEOUT, server.accept(tcp)).await else { return };
    if ws.send(Message::text(frames::hello(frames::HEARTBEAT_INTERVAL))).await.is_err() {
        return;
    }
    let (queue, mut outgoing) = mpsc::channel(QUEUE);
    let mut identified = false;
    // Before IDENTIFY the client has IDENTIFY_TIMEOUT; after, two heartbeat intervals.
    let silence = Duration::from_millis(2 * frames::HEARTBEAT_INTERVAL);
    loop {
        let patience = if identified { silence } else { IDENTIFY_TIMEOUT };
        let close = tokio::select! {
            () = stop.cancelled() => Some((1001, "going away")),
            out = outgoing.recv() => match out {
                Some(text) => {
                    if ws.send(Message::text(text)).await.is_err() { break }
                    None
                }
                None => break,
            },
            incoming = tokio::time::timeout(patience, ws.next()) => match incoming {
                Err(_) if identified => Some((4009, "session timed out")),
                Err(_) => Some((4003, "not authenticated")),
                Ok(Some(Ok(message))) if message.is_close() => break,
                Ok(Some(Ok(message))) => match message.as_text() {
                    None if message.is_ping() || message.is_pong() => None,
                    None => Some((4002, "decode error")),
                    Some(text) => match answer(text, &token, identified) {
                        Answer::Nothing => None,
                        Answer::Send(frame) => {
                            if ws.send(Message::text(frame)).await.is_err() { break }
                            None
                        }
                        Answer::Identify => {
                            identified = true;
                            identify(&state, id, &queue);
                            None
                        }
                        Answer::Close(code, reason) => Some((code, reason)),
                    },
                },
                Ok(_) => break,
            },
        };
        if let Some((code, reason)) = close {
            let _ = ws.send(Message::close(CloseCode::try_from(code).ok(), reason)).await;
            // Give the client a moment to answer the close, then hang up.
            let _ = tokio::time::timeout(Duration::from_secs(1), async { while ws.next().await.is_some() {} }).await;
            break;
        }
    }
    let mut state = lock(&state);
    if state.session.as_ref().is_some_and(|(holder, _, _)| *holder == id) {
        state.session = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_of_this_process_identifies() {
        let token = Secret("demo.abc".into());
        let identify = |t: &str| format!(r#"{{"op":2,"d":{{"token":"{t}","intents":37635}}}}"#);
        assert!(matches!(answer(&identify("Bot demo.abc"), &token, false), Answer::Identify));
        assert!(matches!(answer(&identify("demo.abc"), &token, false), Answer::Identify));
        assert!(matches!(answer(&identify("Bot other"), &token, false), Answer::Close(4004, _)));
        assert!(matches!(answer(&identify("Bot demo.abc"), &token, true), Answer::Close(4005, _)));
    }

    #[test]
    fn anything_but_heartbeats_and_identify_is_refused_before_a_session() {
        let token = Secret("t".into());
        assert!(matches!(answer(r#"{"op":1,"d":null}"#, &token, false), Answer::Send(frames::HEARTBEAT_ACK)));
        assert!(matches!(answer(r#"{"op":8,"d":{}}"#, &token, false), Answer::Close(4003, _)));
        assert!(matches!(answer(r#"{"op":8,"d":{}}"#, &token, true), Answer::Nothing));
        assert!(matches!(answer("not json", &token, true), Answer::Close(4002, _)));
        assert!(matches!(answer(r#"{"op":6,"d":{}}"#, &token, false), Answer::Send(frames::INVALID_SESSION)));
    }

    #[tokio::test]
    async fn a_stranger_without_the_token_gets_4004_and_no_guild() {
        let gateway = LocalGateway::bind().await.unwrap();
        let url = gateway.url().to_string();
        let stop = CancellationToken::new();
        let server = tokio::spawn(gateway.run(Guild::new(1, now_ms()), stop.clone()));
        let uri = http::Uri::try_from(url.as_str()).unwrap();
        let (mut ws, _) = tokio_websockets::ClientBuilder::from_uri(uri).connect().await.unwrap();
        let hello = ws.next().await.unwrap().unwrap();
        assert!(hello.as_text().unwrap().contains("heartbeat_interval"));
        ws.send(Message::text(r#"{"op":2,"d":{"token":"Bot guessed","intents":37635}}"#)).await.unwrap();
        let close = ws.next().await.unwrap().unwrap();
        assert_eq!(close.as_close().map(|(code, _)| u16::from(code)), Some(4004));
        stop.cancel();
        server.await.unwrap();
    }
}
