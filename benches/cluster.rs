//! Replica benchmarks (results in docs/BENCHMARKS.md, "Replicas"): the release
//! binary as a primary against the tests' fake gateway and a real nats-server,
//! and as replicas.
//!
//! ```text
//! cargo bench --bench cluster -- freshness   # a change at the primary's gateway → the push on a replica's
//!                                            # socket, p50/p99, with 1 and 4 replicas, beside the primary's own socket
//! cargo bench --bench cluster -- sync        # a replica started with 100 000 users published: time to /health 200,
//!                                            # and RSS per user ((RSS at 100 000 − RSS of a replica of nobody) / 100 000)
//! cargo bench --bench cluster -- rest        # GET /user/:id on a replica and on the primary vs a bare hyper server
//!                                            # sending the same bytes (wrk -t2 -c64, needs wrk)
//! cargo bench --bench cluster -- fanout      # 20 changes of one user at the primary's gateway, 1.5 s apart, each pushed to
//!                                            # 10 000 sockets on the primary alone, then to 40 000 over 4 replicas
//! ```
//! Needs nats-server (apt-get install nats-server). `BENCH_USERS` sets the users of `sync` (100 000),
//! `BENCH_SOCKETS` the sockets per process of `fanout` (10 000).

#[path = "../tests/support/mod.rs"]
mod support;
// The gateway benchmark's gateway: pre-encoded member chunks, fast enough for 100 000 members.
#[allow(dead_code)]
#[path = "gateway/frames.rs"]
mod frames;
#[allow(dead_code)]
#[path = "gateway/server.rs"]
mod server;
// The fan-out's subscribers, in child processes (the `http` benchmark's).
#[path = "http/clients.rs"]
mod clients;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use support::discord_gateway::{FakeGateway, Guild, member, presence_update, presence_with, spotify};
use support::http_client::{get, say, socket};
use support::nats::NatsServer;
use support::{Instance, Server};

const FIRST: u64 = 700_000_000_000_000_000;
const CARD: &str = "[card]\ncdn_url = \"http://127.0.0.1:9\"\nspotify_image_url = \"http://127.0.0.1:9\"\n";
const LIMITS: &str = "[rate_limit]\nper_second = 1000000\nper_minute = 100000000\n[socket]\nmax_per_ip = 100000\n[http]\nmax_connections_per_ip = 100000\nmax_connections = 15000\n";

/// `fanout`: sockets per process (`BENCH_SOCKETS`, 10 000), `subscribe_to_all`
/// among them, changes, and the user they watch.
static SOCKETS: std::sync::LazyLock<usize> =
    std::sync::LazyLock::new(|| std::env::var("BENCH_SOCKETS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000));
const ALL: usize = 10;
const CHANGES: usize = 20;
/// Between changes: long enough for every process on this 2-core machine to
/// have delivered the last one (a change that finds the previous one still
/// being delivered supersedes it for the sockets not yet written).
const CHANGE_EVERY: Duration = Duration::from_millis(1_500);
const HOT: u64 = FIRST + 99;

fn main() {
    harmy::install_crypto_provider();
    let modes: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if modes.first().is_some_and(|m| m == "socket-clients") {
        let addr = modes.get(1).cloned().unwrap_or_default();
        clients::run(&addr, *SOCKETS, &|i| (i >= ALL).then_some(HOT), CHANGES * *SOCKETS).unwrap();
        return;
    }
    let wants = |mode: &str| modes.is_empty() || modes.iter().any(|m| m == mode);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    // The fake gateways own runtimes: made and dropped outside the benchmark's own.
    let gateway = |members| {
        let gw = FakeGateway::start();
        gw.set_guild(guild(members));
        gw
    };
    if wants("freshness") {
        let gw = gateway(1_000);
        runtime.block_on(freshness(&gw));
    }
    if wants("sync") {
        let users = std::env::var("BENCH_USERS").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000);
        let nobody = gateway(0);
        let everyone = server::BenchGateway::start(server::Script::Chunks {
            guild_create: std::sync::Arc::new(frames::guild_create(users, true)),
            chunks: std::sync::Arc::new(frames::chunks(users)),
            users,
            then_offline: false,
        });
        let discord = format!(
            "[discord]\ntoken = \"bench-token\"\ngateway_url = \"{}\"\napi_url = \"http://127.0.0.1:9\"\n",
            everyone.url
        );
        runtime.block_on(sync(&nobody, &discord, users));
    }
    if wants("rest") {
        let gw = gateway(1_000);
        runtime.block_on(rest(&gw));
    }
    if wants("fanout") {
        let gw = gateway(1_000);
        runtime.block_on(fanout(&gw));
    }
}

fn guild(n: u64) -> Guild {
    (FIRST..FIRST + n).fold(Guild::new(1).large(), |guild, id| {
        let activities = if id % 3 == 0 { vec![spotify("first")] } else { vec![] };
        guild.member(
            member(id, &format!("m{id}")),
            Some(presence_with(id, "online", serde_json::json!({"desktop": "online"}), activities)),
        )
    })
}

/// A primary against the fake gateway `gw`, in a cluster on `nats`.
fn primary(nats: &NatsServer, gw: &FakeGateway) -> (Instance, Server) {
    primary_of(nats, &gw.discord_toml("http://127.0.0.1:9"))
}

/// A primary with `discord` as its `[discord]` section, in a cluster on `nats`.
fn primary_of(nats: &NatsServer, discord: &str) -> (Instance, Server) {
    let config = format!("{LIMITS}listen = \"127.0.0.1:0\"\n{CARD}[cluster]\nnats_url = \"{}\"\n{discord}", nats.url());
    let instance = Instance::new(&config);
    let mut cmd = instance.command(&["serve"]);
    cmd.env("HARMY_LOG", "info");
    let server = Server::start(cmd);
    (instance, server)
}

/// A replica on `nats`, once it holds the whole state and hears its primary.
async fn synced_replica(nats: &NatsServer) -> (Instance, Server, SocketAddr) {
    let (instance, server) = replica(nats);
    let addr = server.http.unwrap();
    until("a replica synced", Duration::from_secs(30), async || synced(addr).await).await;
    (instance, server, addr)
}

fn replica(nats: &NatsServer) -> (Instance, Server) {
    let instance = Instance::unmigrated(&format!("{LIMITS}listen = \"127.0.0.1:0\"\n{CARD}"));
    let mut cmd = instance.command(&["serve", "--replica", &nats.url()]);
    cmd.env("HARMY_LOG", "info");
    let server = Server::start(cmd);
    (instance, server)
}

async fn until(what: &str, patience: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + patience;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn synced(addr: SocketAddr) -> bool {
    let reply = get(addr, "/health").await;
    reply.status == 200 && reply.json()["primary"] == "up"
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Changes of one user at the primary's gateway, each timed until every socket
/// (the primary's own first, then each replica's) has the push.
async fn freshness(gw: &FakeGateway) {
    const CHANGES: usize = 300;
    let nats = NatsServer::start();
    let (_primary_instance, primary) = primary(&nats, gw);
    let primary_addr = primary.http.unwrap();
    let user = FIRST + 1;
    until("the primary served", Duration::from_secs(30), async || {
        get(primary_addr, &format!("/user/{user}")).await.status == 200
    })
    .await;
    let mut replicas = Vec::new();
    for replicas_wanted in [1usize, 4] {
        while replicas.len() < replicas_wanted {
            replicas.push(synced_replica(&nats).await);
        }
        let mut sockets = Vec::new();
        for addr in std::iter::once(primary_addr).chain(replicas.iter().map(|r| r.2)) {
            let mut ws = socket(addr, "/socket").await;
            let _hello = support::http_client::next_json(&mut ws).await;
            say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{user}"}}}}"#)).await;
            let _init = support::http_client::next_json(&mut ws).await;
            sockets.push(ws);
        }
        let mut on_primary = Vec::new();
        let mut on_replicas = Vec::new();
        for i in 0..CHANGES {
            let song = format!("r{replicas_wanted}-{i}");
            let sent = Instant::now();
            gw.dispatch("PRESENCE_UPDATE", presence_update(1, user, "online", vec![spotify(&song)]));
            for (n, ws) in sockets.iter_mut().enumerate() {
                loop {
                    let frame = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a push in time");
                    let text = frame.unwrap().unwrap();
                    if text.as_text().is_some_and(|t| t.contains(&song)) {
                        break;
                    }
                }
                let took = sent.elapsed();
                if n == 0 { on_primary.push(took) } else { on_replicas.push(took) }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        on_primary.sort();
        on_replicas.sort();
        println!(
            "freshness, {replicas_wanted} replica(s), {CHANGES} changes: primary's socket p50 {} p99 {} | replicas' sockets p50 {} p99 {} max {}",
            ms(percentile(&on_primary, 0.5)),
            ms(percentile(&on_primary, 0.99)),
            ms(percentile(&on_replicas, 0.5)),
            ms(percentile(&on_replicas, 0.99)),
            ms(*on_replicas.last().unwrap()),
        );
    }
}

/// A replica started with `users` users published: the time to `/health` 200 and RSS per user.
async fn sync(nobody_gw: &FakeGateway, discord: &str, users: u64) {
    // A replica of nobody, for the RSS it has without users.
    let empty = NatsServer::start();
    let _nobody_primary = primary(&empty, nobody_gw);
    let (_nobody_instance, nobody) = replica(&empty);
    let nobody_addr = nobody.http.unwrap();
    until("the empty replica synced", Duration::from_secs(30), async || synced(nobody_addr).await).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let base = nobody.memory_kib().rss;

    let nats = NatsServer::start();
    let (_instance, primary) = primary_of(&nats, discord);
    let primary_addr = primary.http.unwrap();
    until("every user served by the primary", Duration::from_secs(1200), async || {
        get(primary_addr, "/").await.json()["monitored_users"] == users
    })
    .await;
    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let bucket = js.get_key_value("harmy_users").await.unwrap();
    // Counted by key: the stream's message count lags behind on nats-server 2.9.
    until("every user published", Duration::from_secs(600), async || {
        let Ok(mut keys) = bucket.keys().await else { return false };
        let mut count = 0;
        while let Some(Ok(_)) = keys.next().await {
            count += 1;
        }
        count >= users
    })
    .await;
    for round in 1..=3 {
        let spawned = Instant::now();
        let (_replica_instance, replica) = replica(&nats);
        let addr = replica.http.unwrap();
        let started = spawned.elapsed();
        // Whole (`"state":"synced"`), whether or not the primary's first beat came yet.
        until("the replica synced", Duration::from_secs(120), async || {
            get(addr, "/health").await.json()["state"] == "synced"
        })
        .await;
        let ready = spawned.elapsed();
        let served: Value = get(addr, "/").await.json();
        assert_eq!(served["monitored_users"], users);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let rss = replica.memory_kib().rss;
        println!(
            "sync round {round}: {users} users: replica listening {} after spawn, whole state held (/health 200) {} after spawn; \
             RSS {} KiB, a replica of nobody {} KiB: {:.0} bytes per user",
            ms(started),
            ms(ready),
            rss,
            base,
            (rss.saturating_sub(base) * 1024) as f64 / users as f64
        );
    }
}

/// wrk -t2 -c64 for 10 s against `url`; requests per second.
fn wrk(url: &str) -> f64 {
    let out = std::process::Command::new("wrk").args(["-t2", "-c64", "-d10s", url]).output().expect("wrk on the PATH");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("wrk said: {text}"))
}

/// GET /user/:id on a replica and on the primary, against a bare hyper server
/// sending the same bytes, in alternating rounds.
async fn rest(gw: &FakeGateway) {
    let nats = NatsServer::start();
    let (_instance, primary) = primary(&nats, gw);
    let (_replica_instance, replica) = replica(&nats);
    let (primary_addr, replica_addr) = (primary.http.unwrap(), replica.http.unwrap());
    let path = format!("/user/{}", FIRST + 3);
    until("the replica synced", Duration::from_secs(60), async || {
        synced(replica_addr).await && get(replica_addr, &path).await.status == 200
    })
    .await;
    let body = get(replica_addr, &path).await.body;
    let bare = bare_server(body).await;
    for round in 1..=3 {
        let b = wrk(&format!("http://{bare}{path}"));
        let r = wrk(&format!("http://{replica_addr}{path}"));
        let p = wrk(&format!("http://{primary_addr}{path}"));
        println!(
            "rest round {round}: bare {b:.0} req/s | replica {r:.0} req/s ({:.3}) | primary {p:.0} req/s ({:.3})",
            r / b,
            p / b
        );
    }
}

/// A bare hyper server answering every request with `body` as JSON.
async fn bare_server(body: bytes::Bytes) -> SocketAddr {
    use http_body_util::Full;
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let body = body.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req| {
                    let body = body.clone();
                    async move {
                        let mut reply = hyper::Response::new(Full::new(body));
                        reply.headers_mut().insert("content-type", "application/json; charset=utf-8".parse().unwrap());
                        Ok::<_, std::convert::Infallible>(reply)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// One change of `HOT` fanned out to [`SOCKETS`] sockets on the primary alone,
/// then to 4 × [`SOCKETS`] over 4 replicas: each change's send time rides in an
/// activity, and each socket's arrival time is its latency.
async fn fanout(gw: &FakeGateway) {
    let nats = NatsServer::start();
    let (_primary_instance, primary) = primary(&nats, gw);
    let primary_addr = primary.http.unwrap();
    until("the primary served", Duration::from_secs(30), async || {
        get(primary_addr, &format!("/user/{HOT}")).await.status == 200
    })
    .await;
    fan_out(gw, "the primary alone", &[(primary_addr, primary.child.id())]).await;
    let mut replicas = Vec::new();
    while replicas.len() < 4 {
        replicas.push(synced_replica(&nats).await);
    }
    let targets: Vec<(SocketAddr, u32)> = replicas.iter().map(|r| (r.2, r.1.child.id())).collect();
    fan_out(gw, "4 replicas", &targets).await;
}

/// [`SOCKETS`] subscribers on each of `targets` (address and pid; a child
/// process of clients each), then [`CHANGES`] changes of `HOT` at the gateway,
/// [`CHANGE_EVERY`] apart; prints the latency of every delivery, merged, and
/// each target's RSS with its sessions open.
async fn fan_out(gw: &FakeGateway, label: &str, targets: &[(SocketAddr, u32)]) {
    use std::io::{BufRead, BufReader, Write};
    let mut children = Vec::new();
    for (addr, _) in targets {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["socket-clients", &addr.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        children.push((child, lines));
    }
    let mut waiting = Vec::new();
    for (child, mut lines) in children {
        waiting.push(tokio::task::spawn_blocking(move || {
            let connected = lines.next().and_then(Result::ok).unwrap_or_default();
            (child, lines, connected)
        }));
    }
    let mut children = Vec::new();
    for waited in waiting {
        let (child, lines, connected) = waited.await.unwrap();
        println!("fanout, {label}: {connected}");
        children.push((child, lines));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut tick = tokio::time::interval(CHANGE_EVERY);
    for _ in 0..CHANGES {
        tick.tick().await;
        let stamp = serde_json::json!({"bench_sent_ns": clients::now_ns() as u64, "name": "bench", "type": 0});
        gw.dispatch("PRESENCE_UPDATE", presence_update(1, HOT, "dnd", vec![stamp]));
    }
    tokio::time::sleep(CHANGE_EVERY).await;
    let rss: Vec<String> =
        targets.iter().map(|(_, pid)| format!("{} MiB", support::memory_kib(*pid).rss >> 10)).collect();
    println!("fanout, {label}: RSS with {} sessions open: {}", *SOCKETS, rss.join(", "));
    let mut latencies = Vec::new();
    for (mut child, lines) in children {
        let _ = child.stdin.take().unwrap().write_all(b"done\n");
        let rest = tokio::task::spawn_blocking(move || lines.map_while(Result::ok).collect::<Vec<_>>()).await.unwrap();
        for line in rest {
            match line.strip_prefix("latencies-ns ") {
                Some(all) => latencies.extend(all.split(' ').filter_map(|n| n.parse::<u128>().ok())),
                None => println!("fanout, {label}: {line}"),
            }
        }
        let _ = child.wait();
    }
    latencies.sort_unstable();
    println!(
        "fanout, {label}: {} deliveries of {} expected; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        CHANGES * *SOCKETS * targets.len(),
        clients::percentile(&latencies, 0.5),
        clients::percentile(&latencies, 0.99),
        clients::percentile(&latencies, 1.0)
    );
    // The sessions close before the next run connects.
    tokio::time::sleep(Duration::from_secs(2)).await;
}
