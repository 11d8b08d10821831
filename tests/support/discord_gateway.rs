//! A fake Discord gateway for the end-to-end tests: a WebSocket server on
//! 127.0.0.1:0 that speaks the real protocol (twilight 0.18 accepts it as is;
//! see `../shared/notes/discord-frames.md`), on its own tokio runtime thread so
//! that sync test code drives it.
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
//! Heartbeats (op 1) get op 11. Every client frame is recorded (`received`).

pub use super::discord_payloads::*;

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio_websockets::{CloseCode, Message, ServerBuilder};

/// The intents harmy must identify with (SPEC §3).
pub const INTENTS: u64 = 37635;
/// The bot's own user and application id in READY.
pub const BOT_ID: u64 = 100;
/// Members per GUILD_MEMBERS_CHUNK, as Discord does.
const CHUNK_SIZE: usize = 1000;
const WAIT: Duration = Duration::from_secs(20);

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
    Drop,
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
    connections: usize,
    url: String,
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
        let state = State { token: format!("Bot {token}"), url: url.clone(), ..State::default() };
        let shared = Arc::new(Shared { state: Mutex::new(state), changed: Condvar::new() });
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

    /// Drops the TCP connection without a close frame.
    pub fn drop_connection(&self) {
        self.send(Out::Drop, true);
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

    /// Waits until `n` IDENTIFYs were received and answered.
    pub fn wait_for_identifies(&self, n: usize) {
        self.wait_until(&format!("{n} IDENTIFY"), |s| s.received.iter().filter(|f| f["op"] == 2).count() >= n);
    }

    /// Waits until `n` RESUMEs were received and answered.
    pub fn wait_for_resumes(&self, n: usize) {
        self.wait_until(&format!("{n} RESUME"), |s| s.received.iter().filter(|f| f["op"] == 6).count() >= n);
    }

    /// Waits until a frame with `op` has been received at least `n` times.
    pub fn wait_for_op(&self, op: u64, n: usize) {
        self.wait_until(&format!("{n} op {op}"), |s| s.received.iter().filter(|f| f["op"] == op).count() >= n);
    }

    fn wait_until(&self, what: &str, done: impl Fn(&State) -> bool) {
        let deadline = Instant::now() + WAIT;
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
        shared.state.lock().unwrap().connections += 1;
        tokio::spawn(connection(tcp, shared.clone()));
    }
}

async fn connection(tcp: TcpStream, shared: Arc<Shared>) {
    let Ok((_, mut ws)) = ServerBuilder::new().accept(tcp).await else { return };
    let (tx, mut rx) = unbounded_channel();
    if ws.send(Message::text(r#"{"op":10,"d":{"heartbeat_interval":41250}}"#)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            incoming = ws.next() => match incoming {
                Some(Ok(msg)) => if let Some(text) = msg.as_text() {
                    if let Ok(frame) = serde_json::from_str::<Value>(text) {
                        handle(&shared, &tx, frame);
                    }
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
                Some(Out::Drop) | None => break,
            },
        }
    }
    let mut state = shared.state.lock().unwrap();
    if state.conn.as_ref().is_some_and(|c| c.same_channel(&tx)) {
        state.conn = None;
    }
}

/// Answers one client frame.
fn handle(shared: &Shared, tx: &UnboundedSender<Out>, frame: Value) {
    let mut state = shared.state.lock().unwrap();
    let op = frame["op"].as_u64();
    let d = frame["d"].clone();
    match op {
        Some(1) => {
            let _ = tx.send(Out::Text(r#"{"op":11}"#.into()));
        }
        Some(2) => identify(&mut state, tx, &d),
        Some(6) => {
            if d["session_id"] == state.session_id.as_str() && d["token"] == state.token.as_str() {
                state.conn = Some(tx.clone());
                state.dispatch_on(Some(tx), "RESUMED", &Value::Null);
                for missed in std::mem::take(&mut state.missed) {
                    let _ = tx.send(Out::Text(missed));
                }
            } else {
                let _ = tx.send(Out::Text(r#"{"op":9,"d":false}"#.into()));
            }
        }
        Some(8) => request_members(&mut state, tx, &d),
        _ => {}
    }
    state.received.push(frame);
    shared.changed.notify_all();
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
    let guilds: Vec<Value> =
        state.guilds.iter().map(|g| json!({"id": g.id.to_string(), "unavailable": true})).collect();
    let ready = json!({
        "v": 10, "user": {"id": BOT_ID.to_string(), "username": "harmy", "discriminator": "0", "mfa_enabled": false, "bot": true},
        "guilds": guilds, "session_id": state.session_id, "resume_gateway_url": state.url,
        "application": {"id": BOT_ID.to_string(), "flags": 0}
    });
    state.dispatch_on(Some(tx), "READY", &ready);
    for guild in state.guilds.clone() {
        state.dispatch_on(Some(tx), "GUILD_CREATE", &guild_create(&guild));
    }
}

fn request_members(state: &mut State, tx: &UnboundedSender<Out>, d: &Value) {
    let wanted = d["guild_id"].as_str().and_then(|id| id.parse::<u64>().ok());
    let Some(guild) = state.guilds.iter().find(|g| Some(g.id) == wanted).cloned() else { return };
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
