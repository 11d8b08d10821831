//! The soak's workloads, each a task that runs until the soak stops: presence
//! churn at Discord's pace, gateway reconnects, sockets that come and go, REST
//! readers, KV writers, and a steady stream of hostile clients. Each counts
//! what it did in the [`Tally`]; anything a well-behaved client should not
//! meet (a 5xx, a failed connection, an unexpected close) is a failure.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::random_range;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::client::{self, Read, address};
use super::support::discord_gateway::{FakeGateway, custom_status, presence_update, spotify};

/// Presence updates a second over the guild: each of 2 000 members changes about
/// every 40 s (a Spotify track, a game, a status), as a busy guild does.
pub const UPDATES_PER_SECOND: u64 = 50;
/// Sockets open at once, each living 5–60 s before its client reconnects.
const SOCKETS: usize = 100;
/// REST readers, each about 5 requests a second.
const READERS: usize = 4;
/// Addresses the well-behaved clients come from (`X-Forwarded-For`): enough that
/// at ~25 requests a second none of them comes near 3 in a second by chance.
const CLIENT_ADDRESSES: u32 = 2_000;
/// Between two gateway troubles (a reconnect, a dropped connection, a new
/// session, a reset); `SOAK_TROUBLE_SECS` sets another period.
fn trouble_every() -> Duration {
    let secs = std::env::var("SOAK_TROUBLE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(150);
    Duration::from_secs(secs)
}

/// What the workloads did.
#[derive(Default)]
pub struct Tally {
    pub presence_updates: AtomicU64,
    pub reconnects: AtomicU64,
    pub socket_sessions: AtomicU64,
    pub pushes: AtomicU64,
    pub reads: AtomicU64,
    pub kv_writes: AtomicU64,
    pub hostile: AtomicU64,
    pub failures: AtomicU64,
    /// The first failures, for the report.
    pub failure_notes: Mutex<Vec<String>>,
}

impl Tally {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn fail(&self, what: impl Into<String>) {
        Self::add(&self.failures);
        let mut notes = self.failure_notes.lock().unwrap();
        if notes.len() < 20 {
            notes.push(what.into());
        }
    }
}

/// The keys each writer writes (`k0`..), and the mean size of a value.
pub const KV_KEYS: u32 = 30;
pub const KV_VALUE_BYTES: usize = 1_000;

/// What every workload shares.
pub struct Soak {
    pub addr: SocketAddr,
    pub gw: Arc<FakeGateway>,
    pub guild: u64,
    pub members: Vec<u64>,
    /// Members with an API token, and the token.
    pub writers: Vec<(u64, String)>,
    /// A member whose token's selector the hostile client knows, and a wrong
    /// secret with it (each attempt runs argon2, until the selector's lockout).
    pub victim: (u64, String),
    pub tally: Tally,
    pub stop: CancellationToken,
}

impl Soak {
    fn member(&self) -> u64 {
        self.members[random_range(0..self.members.len())]
    }

    fn client(&self) -> String {
        address(random_range(1..=CLIENT_ADDRESSES))
    }

    /// Runs the workloads `wants` names (`churn`, `troubles`, `sockets`,
    /// `readers`, `kv`, `hostile`) until `stop`.
    pub fn spawn(self: &Arc<Soak>, wants: impl Fn(&str) -> bool) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        if wants("churn") {
            tasks.push(tokio::spawn(self.clone().presence_churn()));
        }
        if wants("troubles") {
            tasks.push(tokio::spawn(self.clone().gateway_troubles()));
        }
        if wants("kv") {
            tasks.push(tokio::spawn(self.clone().kv_writes()));
        }
        if wants("sockets") {
            tasks.extend((0..SOCKETS).map(|i| tokio::spawn(self.clone().socket_client(i))));
        }
        if wants("readers") {
            tasks.extend((0..READERS).map(|_| tokio::spawn(self.clone().reader())));
        }
        if wants("hostile") {
            tasks.push(tokio::spawn(self.clone().hostile()));
            tasks.extend((0..10).map(|_| tokio::spawn(self.clone().slow_header())));
            tasks.extend((0..3).map(|_| tokio::spawn(self.clone().stalled_reader())));
        }
        tasks
    }

    /// Sleeps `wait`, or less when the soak stops; false once it has.
    async fn pause(&self, wait: Duration) -> bool {
        tokio::select! {
            () = self.stop.cancelled() => false,
            () = tokio::time::sleep(wait) => true,
        }
    }

    async fn presence_churn(self: Arc<Soak>) {
        let mut tick = tokio::time::interval(Duration::from_millis(1000 / UPDATES_PER_SECOND));
        let mut n = 0u64;
        while !self.stop.is_cancelled() {
            tick.tick().await;
            n += 1;
            let (user, roll) = (self.member(), random_range(0..100));
            let status = match roll {
                0..10 => "offline",
                10..20 => "idle",
                20..25 => "dnd",
                _ => "online",
            };
            let activities = match roll % 4 {
                0 => vec![spotify(&format!("track {}", n % 997))],
                1 => vec![custom_status(&format!("status {}", n % 101))],
                2 => vec![json!({"name": "Game", "type": 0, "application_id": "356875570916753438",
                                  "details": format!("level {}", n % 50), "timestamps": {"start": 1_720_000_000_000u64}})],
                _ => vec![],
            };
            self.gw.dispatch("PRESENCE_UPDATE", presence_update(self.guild, user, status, activities));
            Tally::add(&self.tally.presence_updates);
        }
    }

    async fn gateway_troubles(self: Arc<Soak>) {
        let mut round = 0;
        let every = trouble_every();
        while self.pause(every).await {
            match round % 4 {
                0 => self.gw.reconnect(),
                1 => self.gw.drop_connection(),
                2 => self.gw.invalid_session(false),
                _ => self.gw.reset_connection(),
            }
            round += 1;
            Tally::add(&self.tally.reconnects);
        }
    }

    async fn socket_client(self: Arc<Soak>, i: usize) {
        // Spread the first connects over a few seconds.
        if !self.pause(Duration::from_millis(50 * i as u64)).await {
            return;
        }
        while !self.stop.is_cancelled() {
            let lifetime = Duration::from_secs(random_range(5..=60));
            if let Err(e) = self.socket_session(lifetime).await {
                self.tally.fail(format!("socket: {e}"));
                self.pause(Duration::from_secs(1)).await;
            }
        }
    }

    async fn socket_session(&self, lifetime: Duration) -> Result<(), String> {
        let mut ws = client::socket(self.addr, &self.client()).await?;
        let subscribe = match random_range(0..100) {
            0..5 => json!({"subscribe_to_all": true}),
            5..10 => json!({"subscribe_to_id": self.member().to_string()}),
            _ => {
                let ids: Vec<String> = (0..random_range(1..=20)).map(|_| self.member().to_string()).collect();
                json!({"subscribe_to_ids": ids})
            }
        };
        client::say(&mut ws, json!({"op": 2, "d": subscribe}).to_string()).await?;
        Tally::add(&self.tally.socket_sessions);
        let until = tokio::time::Instant::now() + lifetime;
        let mut beat = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let now = tokio::time::Instant::now();
            if now >= until || self.stop.is_cancelled() {
                client::close(&mut ws).await;
                return Ok(());
            }
            if now >= beat {
                client::say(&mut ws, r#"{"op":3}"#.into()).await?;
                beat = now + Duration::from_secs(30);
            }
            match client::read(&mut ws, Duration::from_secs(1)).await {
                Read::Text(text) if text.contains(r#""t":"PRESENCE_UPDATE""#) => Tally::add(&self.tally.pushes),
                Read::Text(_) | Read::Quiet => {}
                Read::Close(code) => return Err(format!("closed with {code}")),
                Read::Ended => return Err("ended without a close".into()),
            }
        }
    }

    async fn reader(self: Arc<Soak>) {
        while self.pause(Duration::from_millis(200)).await {
            let user = self.member();
            let path = match random_range(0..10) {
                0..4 => format!("/user/{user}"),
                4..8 => format!("/v1/users/{user}"),
                8 => {
                    let ids: Vec<String> = (0..10).map(|_| self.member().to_string()).collect();
                    format!("/v1/users?ids={}", ids.join(","))
                }
                _ => format!("/user/{user}/card.svg"),
            };
            match client::request(self.addr, &self.client(), "GET", &path, &[], "").await {
                Ok((200, _)) => Tally::add(&self.tally.reads),
                // A member a new session's sync has not listed yet, or one gone offline for good.
                Ok((404, _)) => Tally::add(&self.tally.reads),
                Ok((status, body)) => {
                    self.tally.fail(format!("GET {path}: {status} {}", String::from_utf8_lossy(&body)))
                }
                Err(e) => self.tally.fail(format!("GET {path}: {e}")),
            }
        }
    }

    async fn kv_writes(self: Arc<Soak>) {
        while self.pause(Duration::from_millis(500)).await {
            let (user, token) = &self.writers[random_range(0..self.writers.len())];
            let key = format!("k{}", random_range(0..KV_KEYS));
            let value = "v".repeat(random_range(1..2 * KV_VALUE_BYTES));
            let auth = [("authorization", token.as_str())];
            let (method, path, body, headers) = match random_range(0..10) {
                0..6 => ("PUT", format!("/user/{user}/kv/{key}"), value, auth.to_vec()),
                6..8 => {
                    let patch = json!({ key: value, "mood": format!("m{}", random_range(0..9)) }).to_string();
                    (
                        "PATCH",
                        format!("/v1/users/{user}/kv"),
                        patch,
                        vec![auth[0], ("content-type", "application/json")],
                    )
                }
                _ => ("DELETE", format!("/user/{user}/kv/{key}"), String::new(), auth.to_vec()),
            };
            match client::request(self.addr, &self.client(), method, &path, &headers, body).await {
                Ok((204, _)) => Tally::add(&self.tally.kv_writes),
                Ok((404, _)) if method == "DELETE" => Tally::add(&self.tally.kv_writes),
                Ok((status, body)) => {
                    self.tally.fail(format!("{method} {path}: {status} {}", String::from_utf8_lossy(&body)))
                }
                Err(e) => self.tally.fail(format!("{method} {path}: {e}")),
            }
        }
    }

    /// About five hostile requests a second, each from an address never seen
    /// before (so the rate limiter meets a new client every time).
    async fn hostile(self: Arc<Soak>) {
        let mut n: u32 = 1 << 20;
        while self.pause(Duration::from_millis(200)).await {
            n = n.wrapping_add(1);
            let me = address(n);
            let (user, wrong) = &self.victim;
            let outcome = match n % 9 {
                0 => {
                    let auth = [("authorization", wrong.as_str())];
                    self.expect(&me, "PUT", &format!("/user/{user}/kv/x"), &auth, "v".into(), &[401, 429]).await
                }
                1 => {
                    let mut last = Ok(());
                    for _ in 0..8 {
                        last =
                            self.expect(&me, "GET", &format!("/user/{user}"), &[], Vec::new(), &[200, 404, 429]).await;
                    }
                    last
                }
                2 => {
                    let head = format!(
                        "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: {me}\r\nX-Big: {}\r\n\r\n",
                        "a".repeat(70 * 1024)
                    );
                    client::raw(self.addr, head.as_bytes()).await.map(drop)
                }
                3 => client::raw(self.addr, b"\x16\x03\x01 garbage that is not HTTP\r\n\r\n").await.map(drop),
                4 => {
                    // Refused before its body is read (a token that is no token), or for its size.
                    let auth = [("authorization", "x")];
                    self.expect(
                        &me,
                        "PUT",
                        &format!("/user/{user}/kv/x"),
                        &auth,
                        vec![b'v'; 70 * 1024],
                        &[401, 413, 429],
                    )
                    .await
                }
                5 => {
                    let ids: Vec<String> = (0..101).map(|i| (self.members[0] + i).to_string()).collect();
                    self.expect(&me, "GET", &format!("/users?ids={}", ids.join(",")), &[], Vec::new(), &[400, 429])
                        .await
                }
                6 => self.bad_socket(&me, r#"{"op":7}"#.into()).await,
                7 => self.bad_socket(&me, format!(r#"{{"op":3,"d":"{}"}}"#, "x".repeat(70 * 1024))).await,
                _ => {
                    let ids: Vec<String> = (0..1_001u64).map(|i| (900_000_000_000_000_000 + i).to_string()).collect();
                    self.bad_socket(&me, json!({"op": 2, "d": {"subscribe_to_ids": ids}}).to_string()).await
                }
            };
            Tally::add(&self.tally.hostile);
            if let Err(e) = outcome {
                self.tally.fail(format!("hostile #{}: {e}", n % 9));
            }
        }
    }

    async fn expect(
        &self,
        me: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        ok: &[u16],
    ) -> Result<(), String> {
        let (status, _) = client::request(self.addr, me, method, path, headers, body).await?;
        if ok.contains(&status) { Ok(()) } else { Err(format!("{method} {path}: {status}")) }
    }

    /// A socket that sends `message`: the server must close it (or refuse the upgrade).
    async fn bad_socket(&self, me: &str, message: String) -> Result<(), String> {
        let mut ws = match client::socket(self.addr, me).await {
            Ok(ws) => ws,
            Err(e) if e.contains("429") => return Ok(()),
            Err(e) => return Err(e),
        };
        client::say(&mut ws, message).await.ok();
        loop {
            match client::read(&mut ws, client::PATIENCE).await {
                Read::Close(_) | Read::Ended => return Ok(()),
                Read::Text(_) => continue,
                Read::Quiet => return Err("a bad socket message was not answered with a close".into()),
            }
        }
    }

    /// A client that sends half a request head and waits: the header timeout closes it.
    async fn slow_header(self: Arc<Soak>) {
        while !self.stop.is_cancelled() {
            let head = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: {}\r\nX-Slow: ", self.client());
            let closed = tokio::select! {
                () = self.stop.cancelled() => return,
                r = client::raw(self.addr, head.as_bytes()) => r,
            };
            Tally::add(&self.tally.hostile);
            if let Err(e) = closed {
                self.tally.fail(format!("slow header: {e}"));
                self.pause(Duration::from_secs(1)).await;
            }
        }
    }

    /// A `subscribe_to_all` socket that never reads: the server drops it once its
    /// queue or the write timeout says so; then another comes.
    async fn stalled_reader(self: Arc<Soak>) {
        while !self.stop.is_cancelled() {
            match client::socket(self.addr, &address(random_range(5_000..6_000))).await {
                Ok(mut ws) => {
                    let _ = client::say(&mut ws, r#"{"op":2,"d":{"subscribe_to_all":true}}"#.into()).await;
                    Tally::add(&self.tally.hostile);
                    // Held unread for up to two minutes.
                    self.pause(Duration::from_secs(120)).await;
                }
                Err(e) => {
                    self.tally.fail(format!("stalled reader: {e}"));
                    self.pause(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

/// The member objects and presences of a guild of `n` members from `first`.
pub fn guild(first: u64, n: u64) -> super::support::discord_gateway::Guild {
    use super::support::discord_gateway::{Guild, member, presence_with};
    (first..first + n).fold(Guild::new(1).large(), |guild, id| {
        let status = if id % 5 == 0 { "offline" } else { "online" };
        let activities: Vec<Value> = if id % 3 == 0 { vec![spotify("first")] } else { vec![] };
        guild.member(
            member(id, &format!("m{id}")),
            Some(presence_with(id, status, json!({"desktop": status}), activities)),
        )
    })
}
