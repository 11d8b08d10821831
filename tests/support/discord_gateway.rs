//! A fake Discord gateway for the end-to-end tests: a WebSocket server on
//! 127.0.0.1:0 that speaks the real protocol (twilight 0.18 accepts it as is,
//! `twilight_accepts_the_fake_gateway` checks it), on its own tokio runtime
//! thread so that sync test code drives it.
//!
//! ```ignore
//! let gw = FakeGateway::start();                       // expects token "test-token"
//! gw.set_guild(Guild::new(1).member(member(2, "alice"), Some(presence(2, "online"))));
//! let instance = Instance::new(&gw.discord_toml("http://127.0.0.1:1"));
//! let server = instance.serve();
//! gw.wait_for_identifies(1);                          // READY + GUILD_CREATE sent
//! gw.dispatch("PRESENCE_UPDATE", presence_update(1, 2, "idle", vec![spotify("BMW")]));
//! gw.reconnect();                                      // op 7; then gw.wait_for_resumes(1)
//! ```
//!
//! Session rules: a valid IDENTIFY (token `Bot <token>`, intents 37635) starts a
//! new session (`session-N`, sequence from 1): READY with this server's own
//! `resume_gateway_url`, then one GUILD_CREATE per configured guild (a `large`
//! guild sends no members; its members come as GUILD_MEMBERS_CHUNKs when asked
//! with op 8). A RESUME of the current session gets RESUMED plus the
//! dispatches pushed while disconnected; any other RESUME gets op 9 `false`.
//! A wrong token is closed with 4004, wrong intents with 4013, and
//! `refuse_identify(code)` closes the next IDENTIFYs with `code` (e.g. 4014).
//! Heartbeats (op 1) get op 11. Every client frame is recorded (`received`),
//! with the time it arrived (`op_times`).
//!
//! Failures on demand, for the liveness tests: `drop_connection` (EOF without a
//! close frame), `reset_connection` (TCP RST), `close(code)`,
//! `stop_heartbeat_acks` (the connection stays open and silent), a short
//! `set_heartbeat_interval`, `set_accept` (reset or stall new TCP connections),
//! `hold_sessions` (IDENTIFY and RESUME wait unanswered until
//! `release_sessions`), and `rate_limit_member_requests` (op 8 answered with a
//! RATE_LIMITED dispatch).

pub use super::discord_payloads::*;

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::sync::watch;
use tokio_websockets::{CloseCode, Message, ServerBuilder};

/// The intents harmy must identify with.
pub const INTENTS: u64 = 37635;
/// The bot's own user and application id in READY.
pub const BOT_ID: u64 = 100;
/// Members per GUILD_MEMBERS_CHUNK, as Discord does.
const CHUNK_SIZE: usize = 1000;
const WAIT: Duration = Duration::from_secs(20);
/// Discord's heartbeat interval, in milliseconds.
pub const HEARTBEAT_INTERVAL: u64 = 41250;

/// What the fake does with a new TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accept {
    /// The WebSocket handshake, then the protocol.
    Normal,
    /// Reset at once (the client's connect fails).
    Reset,
    /// Held open without an answer until the mode changes (the client's connect hangs).
    Stall,
}

/// One guild as the fake serves it.
#[derive(Clone, Debug, Default)]
pub struct Guild {
    pub id: u64,
    /// Member objects (see [`member`]).
    pub members: Vec<Value>,
    /// Presence objects (see [`presence`]); members without one are offline.
    pub presences: Vec<Value>,
    /// A large guild: GUILD_CREATE carries no members; op 8 gets chunks.
    pub large: bool,
}

impl Guild {
    /// An empty guild.
    pub fn new(id: u64) -> Guild {
        Guild { id, ..Guild::default() }
    }
    /// Adds a member and, optionally, their presence.
    pub fn member(mut self, member: Value, presence: Option<Value>) -> Guild {
        self.members.push(member);
        self.presences.extend(presence);
        self
    }
    /// Marks the guild as large (members only through op 8 chunks).
    pub fn large(mut self) -> Guild {
        self.large = true;
        self
    }
}

enum Out {
    Text(String),
    Close(u16, String),
    /// Hang up without a close frame (EOF).
    Drop,
    /// Hang up with a TCP reset.
    Reset,
    /// Stop answering heartbeats on this connection.
    Silence,
}

#[derive(Default)]
struct State {
    token: String,
    guilds: Vec<Guild>,
    refuse_identify: Option<u16>,
    sessions: u32,
    session_id: String,
    seq: u64,
    /// The connection that holds the session, once it identified or resumed.
    conn: Option<UnboundedSender<Out>>,
    /// Dispatches pushed while no connection held the session (replayed on RESUME).
    missed: Vec<String>,
    received: Vec<Value>,
    /// When each of `received` arrived.
    received_at: Vec<Instant>,
    /// Heartbeats a silenced connection left unanswered, when they arrived.
    unanswered: Vec<Instant>,
    connections: usize,
    /// Connections reset or stalled by `set_accept`.
    refused: usize,
    url: String,
    heartbeat_interval: u64,
    /// IDENTIFY and RESUME wait in `held` while set.
    hold_sessions: bool,
    held: Vec<(UnboundedSender<Out>, Value)>,
    /// How many op 8 are still to be answered with RATE_LIMITED, and its `retry_after`.
    rate_limit_requests: usize,
    rate_limit_retry_after: f64,
}

impl State {
    /// Numbers a dispatch and sends it on `to`, or keeps it for the resume.
    fn dispatch_on(&mut self, to: Option<&UnboundedSender<Out>>, t: &str, d: &Value) {
        self.seq += 1;
        let frame = format!(r#"{{"op":0,"t":"{t}","s":{},"d":{d}}}"#, self.seq);
        match to.or(self.conn.as_ref()) {
            Some(tx) if tx.send(Out::Text(frame.clone())).is_ok() => {}
            _ => self.missed.push(frame),
        }
    }
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    accept: watch::Sender<Accept>,
}

/// The fake gateway; stops when dropped.
pub struct FakeGateway {
    shared: Arc<Shared>,
    url: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FakeGateway {
    /// Starts a gateway expecting the bot token `test-token`.
    pub fn start() -> FakeGateway {
        FakeGateway::with_token("test-token")
    }

    /// Starts a gateway expecting `token` (without the `Bot ` prefix).
    pub fn with_token(token: &str) -> FakeGateway {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let state = State {
            token: format!("Bot {token}"),
            url: url.clone(),
            heartbeat_interval: HEARTBEAT_INTERVAL,
            ..State::default()
        };
        let mode = watch::Sender::new(Accept::Normal);
        let shared = Arc::new(Shared { state: Mutex::new(state), changed: Condvar::new(), accept: mode });
        runtime.spawn(accept(listener, shared.clone()));
        FakeGateway { shared, url, runtime: Some(runtime) }
    }

    /// `ws://127.0.0.1:PORT`, for `discord.gateway_url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A `[discord]` section pointing harmy at this gateway and at `api_url`.
    pub fn discord_toml(&self, api_url: &str) -> String {
        format!("[discord]\ntoken = \"test-token\"\ngateway_url = \"{}\"\napi_url = \"{api_url}\"\n", self.url)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap()
    }

    /// Replaces the guild with the same id (or adds it); used by the next IDENTIFY.
    pub fn set_guild(&self, guild: Guild) {
        let mut state = self.lock();
        state.guilds.retain(|g| g.id != guild.id);
        state.guilds.push(guild);
    }

    /// Removes every guild.
    pub fn clear_guilds(&self) {
        self.lock().guilds.clear();
    }

    /// Closes the following IDENTIFYs with `code` (e.g. 4014, 4004); `None` accepts again.
    pub fn refuse_identify(&self, code: Option<u16>) {
        self.lock().refuse_identify = code;
    }

    /// Pushes a dispatch (`op` 0, next `s`) to the session's connection.
    pub fn dispatch(&self, t: &str, d: Value) {
        self.lock().dispatch_on(None, t, &d);
    }

    /// The current sequence number.
    pub fn seq(&self) -> u64 {
        self.lock().seq
    }

    /// Sends a raw frame on the current connection (no sequence).
    pub fn send_raw(&self, frame: &str) {
        self.send(Out::Text(frame.to_string()), false);
    }

    /// op 7 RECONNECT: the client should reconnect and RESUME.
    pub fn reconnect(&self) {
        self.send(Out::Text(r#"{"op":7,"d":null}"#.into()), true);
    }

    /// op 9 INVALID_SESSION with `resumable`.
    pub fn invalid_session(&self, resumable: bool) {
        self.send(Out::Text(format!(r#"{{"op":9,"d":{resumable}}}"#)), true);
    }

    /// Drops the TCP connection without a close frame (the client reads EOF).
    pub fn drop_connection(&self) {
        self.send(Out::Drop, true);
    }

    /// Resets the TCP connection (RST, no close frame).
    pub fn reset_connection(&self) {
        self.send(Out::Reset, true);
    }

    /// The session's connection stays open but answers no heartbeat any more
    /// (and, as long as the test pushes nothing, sends nothing at all).
    pub fn stop_heartbeat_acks(&self) {
        self.send(Out::Silence, false);
    }

    /// Waits for the first heartbeat a silenced connection left unanswered; returns when it arrived.
    pub fn wait_for_unanswered_heartbeat(&self) -> Instant {
        self.wait_until("an unanswered heartbeat", |s| !s.unanswered.is_empty());
        self.lock().unanswered[0]
    }

    /// The `heartbeat_interval` of the following HELLOs, in milliseconds.
    pub fn set_heartbeat_interval(&self, millis: u64) {
        self.lock().heartbeat_interval = millis;
    }

    /// What to do with the following TCP connections; leaving `Stall` lets the
    /// stalled ones go on as the new mode says.
    pub fn set_accept(&self, mode: Accept) {
        self.shared.accept.send_replace(mode);
    }

    /// Connections reset or stalled by `set_accept`.
    pub fn refused_connections(&self) -> usize {
        self.lock().refused
    }

    /// Waits until `n` connections were reset or stalled.
    pub fn wait_for_refused(&self, n: usize) {
        self.wait_until(&format!("{n} refused connections"), |s| s.refused >= n);
    }

    /// IDENTIFY and RESUME are recorded but not answered until `release_sessions`.
    pub fn hold_sessions(&self) {
        self.lock().hold_sessions = true;
    }

    /// Answers the held IDENTIFYs and RESUMEs (of connections still open) and stops holding.
    pub fn release_sessions(&self) {
        let mut state = self.lock();
        state.hold_sessions = false;
        for (tx, frame) in std::mem::take(&mut state.held) {
            if !tx.is_closed() {
                session(&mut state, &tx, &frame);
            }
        }
        self.shared.changed.notify_all();
    }

    /// Answers the next `count` member requests (op 8) with a RATE_LIMITED dispatch.
    pub fn rate_limit_member_requests(&self, count: usize, retry_after: f64) {
        let mut state = self.lock();
        state.rate_limit_requests = count;
        state.rate_limit_retry_after = retry_after;
    }

    /// Closes the connection with a WebSocket close code (e.g. 4014, 4004).
    pub fn close(&self, code: u16) {
        self.send(Out::Close(code, format!("closed with {code}")), true);
    }

    fn send(&self, out: Out, detach: bool) {
        let mut state = self.lock();
        let conn = if detach { state.conn.take() } else { state.conn.clone() };
        conn.expect("no connection holds a session").send(out).ok();
    }

    /// Every frame received from clients so far, in order.
    pub fn received(&self) -> Vec<Value> {
        self.lock().received.clone()
    }

    /// When each frame with `op` arrived, in order.
    pub fn op_times(&self, op: u64) -> Vec<Instant> {
        let state = self.lock();
        state.received.iter().zip(&state.received_at).filter(|(f, _)| f["op"] == op).map(|(_, at)| *at).collect()
    }

    /// How many frames with `op` were received.
    pub fn count_op(&self, op: u64) -> usize {
        self.lock().received.iter().filter(|f| f["op"] == op).count()
    }

    /// How many TCP connections were accepted.
    pub fn connections(&self) -> usize {
        self.lock().connections
    }

    /// IDENTIFY frames received.
    pub fn identify_count(&self) -> usize {
        self.count_op(2)
    }

    /// RESUME frames received.
    pub fn resume_count(&self) -> usize {
        self.count_op(6)
    }

    /// Waits until `n` IDENTIFYs were received (and answered, unless held).
    pub fn wait_for_identifies(&self, n: usize) {
        self.wait_until(&format!("{n} IDENTIFY"), |s| s.received.iter().filter(|f| f["op"] == 2).count() >= n);
    }

    /// Waits until `n` RESUMEs were received (and answered, unless held).
    pub fn wait_for_resumes(&self, n: usize) {
        self.wait_until(&format!("{n} RESUME"), |s| s.received.iter().filter(|f| f["op"] == 6).count() >= n);
    }

    /// Waits until a frame with `op` has been received at least `n` times.
    pub fn wait_for_op(&self, op: u64, n: usize) {
        self.wait_for_op_within(op, n, WAIT);
    }

    /// `wait_for_op` with a patience of `wait`.
    pub fn wait_for_op_within(&self, op: u64, n: usize, wait: Duration) {
        self.wait_until_within(&format!("{n} op {op}"), wait, |s| {
            s.received.iter().filter(|f| f["op"] == op).count() >= n
        });
    }

    fn wait_until(&self, what: &str, done: impl Fn(&State) -> bool) {
        self.wait_until_within(what, WAIT, done);
    }

    fn wait_until_within(&self, what: &str, wait: Duration, done: impl Fn(&State) -> bool) {
        let deadline = Instant::now() + wait;
        let mut state = self.lock();
        while !done(&state) {
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| panic!("fake gateway: timed out waiting for {what}; received {:?}", state.received));
            state = self.shared.changed.wait_timeout(state, left).unwrap().0;
        }
    }
}

impl Drop for FakeGateway {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((tcp, _)) = listener.accept().await {
        tcp.set_nodelay(true).ok();
        let mode = *shared.accept.borrow();
        {
            let mut state = shared.state.lock().unwrap();
            state.connections += 1;
            state.refused += usize::from(mode != Accept::Normal);
            shared.changed.notify_all();
        }
        match mode {
            Accept::Normal => drop(tokio::spawn(connection(tcp, shared.clone()))),
            Accept::Reset => reset(tcp),
            Accept::Stall => {
                let mut mode = shared.accept.subscribe();
                let shared = shared.clone();
                tokio::spawn(async move {
                    let Ok(mode) = mode.wait_for(|m| *m != Accept::Stall).await.map(|m| *m) else { return };
                    match mode {
                        Accept::Normal => connection(tcp, shared).await,
                        _ => reset(tcp),
                    }
                });
            }
        }
    }
}

/// Closes a TCP connection with a reset rather than a FIN.
fn reset(tcp: TcpStream) {
    tcp.set_zero_linger().ok();
    drop(tcp);
}

async fn connection(tcp: TcpStream, shared: Arc<Shared>) {
    let Ok((_, mut ws)) = ServerBuilder::new().accept(tcp).await else { return };
    let (tx, mut rx) = unbounded_channel();
    let interval = shared.state.lock().unwrap().heartbeat_interval;
    if ws.send(Message::text(harmy::demo::frames::hello(interval))).await.is_err() {
        return;
    }
    let mut silent = false;
    loop {
        tokio::select! {
            incoming = ws.next() => match incoming {
                Some(Ok(msg)) => if let Some(text) = msg.as_text()
                    && let Ok(frame) = serde_json::from_str::<Value>(text) {
                        handle(&shared, &tx, frame, silent);
                    },
                _ => break,
            },
            out = rx.recv() => match out {
                Some(Out::Text(text)) => if ws.send(Message::text(text)).await.is_err() { break },
                Some(Out::Close(code, reason)) => {
                    let code = CloseCode::try_from(code).ok();
                    let _ = ws.send(Message::close(code, &reason)).await;
                    // Let the client answer the close, then hang up.
                    let _ = tokio::time::timeout(Duration::from_secs(2), async { while ws.next().await.is_some() {} }).await;
                    break;
                }
                Some(Out::Reset) => {
                    ws.get_ref().set_zero_linger().ok();
                    break;
                }
                Some(Out::Silence) => silent = true,
                Some(Out::Drop) | None => break,
            },
        }
    }
    let mut state = shared.state.lock().unwrap();
    if state.conn.as_ref().is_some_and(|c| c.same_channel(&tx)) {
        state.conn = None;
    }
}

/// Answers one client frame (`silent`: the connection answers no heartbeat).
fn handle(shared: &Shared, tx: &UnboundedSender<Out>, frame: Value, silent: bool) {
    let mut state = shared.state.lock().unwrap();
    let now = Instant::now();
    match frame["op"].as_u64() {
        Some(1) if silent => state.unanswered.push(now),
        Some(1) => {
            let _ = tx.send(Out::Text(r#"{"op":11}"#.into()));
        }
        Some(2 | 6) if state.hold_sessions => state.held.push((tx.clone(), frame.clone())),
        Some(2 | 6) => session(&mut state, tx, &frame),
        Some(8) => request_members(&mut state, tx, &frame["d"]),
        _ => {}
    }
    state.received.push(frame);
    state.received_at.push(now);
    shared.changed.notify_all();
}

/// Answers an IDENTIFY or a RESUME.
fn session(state: &mut State, tx: &UnboundedSender<Out>, frame: &Value) {
    let d = &frame["d"];
    if frame["op"] == 2 {
        identify(state, tx, d);
    } else if d["session_id"] == state.session_id.as_str() && d["token"] == state.token.as_str() {
        state.conn = Some(tx.clone());
        state.dispatch_on(Some(tx), "RESUMED", &Value::Null);
        for missed in std::mem::take(&mut state.missed) {
            let _ = tx.send(Out::Text(missed));
        }
    } else {
        let _ = tx.send(Out::Text(r#"{"op":9,"d":false}"#.into()));
    }
}

fn identify(state: &mut State, tx: &UnboundedSender<Out>, d: &Value) {
    let refusal = if d["token"] != state.token.as_str() {
        Some(4004)
    } else if d["intents"] != INTENTS {
        Some(4013)
    } else {
        state.refuse_identify
    };
    if let Some(code) = refusal {
        let _ = tx.send(Out::Close(code, format!("refused with {code}")));
        return;
    }
    state.sessions += 1;
    state.session_id = format!("session-{}", state.sessions);
    state.seq = 0;
    state.missed.clear();
    state.conn = Some(tx.clone());
    let guilds: Vec<u64> = state.guilds.iter().map(|g| g.id).collect();
    let ready = harmy::demo::frames::ready(BOT_ID, &guilds, &state.session_id, &state.url);
    state.dispatch_on(Some(tx), "READY", &ready);
    for guild in state.guilds.clone() {
        state.dispatch_on(Some(tx), "GUILD_CREATE", &guild_create(&guild));
    }
}

fn request_members(state: &mut State, tx: &UnboundedSender<Out>, d: &Value) {
    let wanted = d["guild_id"].as_str().and_then(|id| id.parse::<u64>().ok());
    let Some(guild) = state.guilds.iter().find(|g| Some(g.id) == wanted).cloned() else { return };
    if state.rate_limit_requests > 0 {
        state.rate_limit_requests -= 1;
        let meta = json!({"guild_id": guild.id.to_string(), "nonce": d["nonce"]});
        let limited = json!({"opcode": 8, "retry_after": state.rate_limit_retry_after, "meta": meta});
        state.dispatch_on(Some(tx), "RATE_LIMITED", &limited);
        return;
    }
    let with_presences = d["presences"] == true;
    let chunks: Vec<&[Value]> = guild.members.chunks(CHUNK_SIZE).collect();
    let count = chunks.len().max(1);
    for index in 0..count {
        let members = chunks.get(index).copied().unwrap_or_default();
        let ids: Vec<&Value> = members.iter().map(|m| &m["user"]["id"]).collect();
        let presences: Vec<&Value> =
            guild.presences.iter().filter(|p| with_presences && ids.contains(&&p["user"]["id"])).collect();
        let chunk = json!({
            "guild_id": guild.id.to_string(), "chunk_index": index, "chunk_count": count,
            "nonce": d["nonce"], "members": members, "presences": presences
        });
        state.dispatch_on(Some(tx), "GUILD_MEMBERS_CHUNK", &chunk);
    }
}
