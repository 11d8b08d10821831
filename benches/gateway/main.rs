//! Gateway benchmarks (results in docs/BENCHMARKS.md):
//!
//! ```text
//! cargo bench --bench gateway -- ingest    # 200 000 Spotify PRESENCE_UPDATEs: harmy (in process, and the binary over HTTP) vs a bare twilight shard
//! cargo bench --bench gateway -- memory    # RSS per monitored user: (RSS at 100 000 − RSS at 1 000) / 99 000
//! cargo bench --bench gateway -- startup   # time from spawning `harmy serve` to the 100 000th member served
//! cargo bench --bench gateway -- flips     # ingest with status flips: every update changes the status, half go offline (last seen)
//! cargo bench --bench gateway -- memory-last-seen   # memory, then every member goes offline (a last-seen time each)
//! BENCH_NATS_URL=nats://127.0.0.1:4222 cargo bench --bench gateway -- ingest   # the binary as a cluster's primary
//! ```
//!
//! Ingest runs, in the same run against the same local gateway: a bare
//! twilight shard that only deserialises the flood; harmy's gateway and cache
//! in this process (the code `harmy serve` runs); and the release binary end
//! to end (first update written → last update in `GET /user/:id`). Memory and start-up
//! run the release `harmy` binary against a large guild answered with
//! GUILD_MEMBERS_CHUNKs. Rounds alternate harmy and the baseline; the median is reported.

mod frames;
mod server;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use harmy::ids::UserId;
use server::{BenchGateway, Script};
use twilight_gateway::{ConfigBuilder, Event, EventTypeFlags, Shard, ShardId, StreamExt};

/// 200 000, or `BENCH_UPDATES` for a quick functional run (`cargo test --bench gateway`).
static UPDATES: std::sync::LazyLock<usize> =
    std::sync::LazyLock::new(|| std::env::var("BENCH_UPDATES").ok().and_then(|n| n.parse().ok()).unwrap_or(200_000));
const FLOOD_USERS: u64 = 1_000;
const ROUNDS: usize = 3;

fn main() {
    harmy::install_crypto_provider();
    let modes: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wants = |mode: &str| modes.is_empty() || modes.iter().any(|m| m == mode);
    println!("machine: {} × {}", num_cpus(), cpu_model());
    if wants("ingest") {
        ingest(false);
    }
    if wants("flips") {
        ingest(true);
    }
    if wants("memory") || wants("startup") {
        memory_and_startup(false);
    }
    if wants("memory-last-seen") {
        memory_and_startup(true);
    }
    // Only when named: it holds a million members' chunks (about 1.2 GB) in this process.
    if modes.iter().any(|m| m == "million") {
        million();
    }
}

/// `million`: the release binary against 1 000 000 members (1 000 chunks of 1 000):
/// the time from the last chunk sent to the last member served, and the RSS per
/// user against a run of 1 000 members.
fn million() {
    let small = run_binary(1_000, false);
    let big = run_binary(1_000_000, false);
    let per_user = (big.rss_kib as f64 - small.rss_kib as f64) * 1024.0 / 999_000.0;
    println!(
        "1 000 000 members: synced {} ms after spawn, served {}; last chunk sent → last member served {}; \
         RSS {} KiB ({per_user:.0} bytes per user against 1 000 members; goal ≤ 2048)",
        big.synced.as_millis(),
        big.served.map_or("n/a".into(), |d| format!("{} ms after spawn", d.as_millis())),
        big.after_last_chunk.map_or("n/a".into(), |d| format!("{} ms (goal ≤ 2 000)", d.as_millis())),
        big.rss_kib
    );
}

/// The flood, with or without status flips (`flips`: each update changes the user's
/// status, every other one to offline, so half the updates record a last-seen time).
fn ingest(flips: bool) {
    let gw = BenchGateway::start(Script::Flood {
        guild_create: Arc::new(frames::guild_create(FLOOD_USERS, false)),
        updates: *UPDATES,
        users: FLOOD_USERS,
        flips,
    });
    let label = if flips { "ingest with status flips" } else { "ingest" };
    let (mut bare, mut harmy, mut served) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        let b = rate(bare_shard(&gw));
        let h = rate(harmy_in_process(&gw));
        let s = ingest_binary(&gw).map(rate);
        let s_text = s.map_or("n/a (no HTTP API in this build)".into(), |s| format!("{s:>7.0}/s"));
        println!(
            "{label} round {round}: bare shard {b:>7.0}/s, harmy in process {h:>7.0}/s, harmy serve over HTTP {s_text}"
        );
        bare.push(b);
        harmy.push(h);
        served.extend(s);
    }
    let (b, h) = (median(bare), median(harmy));
    let updates = *UPDATES;
    println!(
        "{label}: {updates} updates, median bare shard {b:.0}/s, harmy in process {h:.0}/s, ratio {:.2} (goal ≥ 0.5)",
        h / b
    );
    if !served.is_empty() {
        let s = median(served);
        println!("{label}: harmy serve over HTTP, median {s:.0}/s, ratio {:.2} (goal ≥ 0.5)", s / b);
    }
}

fn rate(elapsed: Duration) -> f64 {
    *UPDATES as f64 / elapsed.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn no_spacing_queue() -> twilight_gateway::queue::InMemoryQueue {
    twilight_gateway::queue::InMemoryQueue::new(0, 0, Duration::ZERO, 0)
}

/// A shard that deserialises every event and counts the presence updates.
fn bare_shard(gw: &BenchGateway) -> Duration {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let url = gw.url.clone();
    let done = runtime.block_on(async move {
        let config = ConfigBuilder::new("bench-token".into(), harmy::gateway::INTENTS)
            .proxy_url(url)
            .queue(no_spacing_queue())
            .build();
        let mut shard = Shard::with_config(ShardId::ONE, config);
        let mut seen = 0;
        let wanted = EventTypeFlags::PRESENCE_UPDATE | EventTypeFlags::GUILD_CREATE | EventTypeFlags::READY;
        while let Some(item) = shard.next_event(wanted).await {
            if let Ok(Event::PresenceUpdate(_)) = item {
                seen += 1;
                if seen == *UPDATES {
                    return Instant::now();
                }
            }
        }
        panic!("the bare shard's stream ended");
    });
    done - gw.flood_started.lock().unwrap().expect("flood started")
}

/// harmy's gateway task and cache; done when the last update is visible through `Presences::raw`.
fn harmy_in_process(gw: &BenchGateway) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("harmy.redb");
    harmy::store::Store::migrate(&path, false).unwrap();
    let store = harmy::store::Store::open(&path).unwrap();
    let mut config = harmy::config::Config::default();
    config.discord.token = harmy::config::Secret("bench-token".into());
    config.discord.gateway_url = gw.url.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let app = runtime.block_on(async { harmy::app::App::new(config, store) }).unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let (bot, mut inbox) = harmy::gateway::bot_channel();
    runtime.spawn(async move { while inbox.recv().await.is_some() {} });
    runtime.spawn(harmy::gateway::run(app.clone(), bot, shutdown.clone()));

    let last_user = UserId(frames::FIRST_USER + (*UPDATES as u64 - 1) % FLOOD_USERS);
    let last_song = format!("\"song {}\"", *UPDATES - 1);
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = loop {
        // The raw presence, not a view: rendering on every poll would take CPU
        // (and the shard's read lock) from the ingest it measures.
        if let Some(raw) = app.presences.raw(last_user)
            && raw.activities.is_some_and(|a| memchr(a.as_bytes(), last_song.as_bytes()))
        {
            break Instant::now();
        }
        assert!(Instant::now() < deadline, "harmy never showed the last update");
        std::thread::sleep(Duration::from_millis(1));
    };
    shutdown.cancel();
    runtime.shutdown_timeout(Duration::from_secs(3));
    done - gw.flood_started.lock().unwrap().expect("flood started")
}

fn memchr(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `then_offline`: once synced, every member goes offline (a last-seen time each).
fn memory_and_startup(then_offline: bool) {
    let mut rss = Vec::new();
    for users in [1_000u64, 100_000] {
        let run = run_binary(users, then_offline);
        println!(
            "{users:>6} members: synced {:>5} ms after spawn, served over HTTP {}, RSS {} KiB",
            run.synced.as_millis(),
            run.served
                .map_or("n/a (no HTTP API in this build)".into(), |d| format!("{} ms after spawn", d.as_millis())),
            run.rss_kib
        );
        rss.push(run.rss_kib as f64);
    }
    let per_user = (rss[1] - rss[0]) * 1024.0 / 99_000.0;
    let what = if then_offline { ", offline with a last-seen time" } else { "" };
    println!("memory: {per_user:.0} bytes per monitored user with one Spotify activity{what} (goal ≤ 2048)");
}

struct BinaryRun {
    synced: Duration,
    served: Option<Duration>,
    /// From the gateway's flush of the last chunk to the last member served.
    after_last_chunk: Option<Duration>,
    rss_kib: u64,
}

/// Runs the release binary against a large guild of `users` members (who all go
/// offline once synced, with `then_offline`).
fn run_binary(users: u64, then_offline: bool) -> BinaryRun {
    let gw = BenchGateway::start(Script::Chunks {
        guild_create: Arc::new(frames::guild_create(users, true)),
        chunks: Arc::new(frames::chunks(users)),
        users,
        then_offline,
    });
    let mut harmy = Harmy::spawn(&gw, users);
    let last = frames::FIRST_USER + users - 1;
    let served_at = harmy.http.clone().map(|addr| {
        while !get(&addr, &format!("/user/{last}")).is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
            std::thread::sleep(Duration::from_millis(1));
        }
        Instant::now()
    });
    let served = served_at.map(|at| at - harmy.spawned);
    let sent = *gw.chunks_sent.lock().unwrap();
    let after_last_chunk = served_at.zip(sent).map(|(served, sent)| served.saturating_duration_since(sent));
    if let (true, Some(addr)) = (then_offline, &harmy.http) {
        // The last member's offline update is the last frame: once it shows, all have.
        while !get(addr, &format!("/user/{last}")).is_some_and(|r| r.contains("\"lastSeen\":1")) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let rss_kib = rss_kib(harmy.child.id());
    harmy.stop();
    BinaryRun { synced: harmy.synced, served, after_last_chunk, rss_kib }
}

/// The release `harmy serve` binary against a bench gateway.
struct Harmy {
    child: std::process::Child,
    spawned: Instant,
    /// When the log said the guild's `users` members were synced.
    synced: Duration,
    /// The HTTP address, when this build has the HTTP API.
    http: Option<String>,
    _dir: tempfile::TempDir,
}

impl Harmy {
    fn spawn(gw: &BenchGateway, users: u64) -> Harmy {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[discord]\ntoken = \"bench-token\"\ngateway_url = \"{}\"\napi_url = \"http://127.0.0.1:1\"\n\
                 [http]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \"\"\n[rate_limit]\nper_second = 1000000\nper_minute = 60000000\n\
                 [storage]\npath = \"{}\"\n[admin]\nsocket = \"{}\"\n{}",
                gw.url,
                dir.path().join("harmy.redb").display(),
                dir.path().join("admin.sock").display(),
                // The primary of a cluster, publishing every change to this NATS server.
                // A name of its own each time: a killed primary holds its name for 30 s.
                std::env::var("BENCH_NATS_URL")
                    .map(|url| format!("[cluster]\nnats_url = \"{url}\"\nname = \"bench{}\"\n", rand::random::<u32>()))
                    .unwrap_or_default()
            ),
        )
        .unwrap();
        let bin = env!("CARGO_BIN_EXE_harmy");
        let migrated = Command::new(bin).arg("migrate").arg("--config").arg(&config).output().unwrap();
        assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));

        let spawned = Instant::now();
        let mut child = Command::new(bin)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("HARMY_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let synced_needle = format!("monitored={users}");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("BENCH_LOG").is_some() {
                    eprintln!("{line}");
                }
                if line.contains("harmy serve started") {
                    let http = line.split_whitespace().find_map(|f| f.strip_prefix("http=")).map(str::to_string);
                    let _ = tx.send((false, http));
                } else if line.contains("guild synced") && line.contains(&synced_needle) {
                    let _ = tx.send((true, None));
                }
            }
        });
        let mut http = None;
        let synced = loop {
            match rx.recv_timeout(Duration::from_secs(300)).expect("harmy synced the guild") {
                (false, addr) => http = addr.map(|a| a.trim_matches('"').to_string()),
                (true, _) => break spawned.elapsed(),
            }
        };
        Harmy { child, spawned, synced, http, _dir: dir }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The release binary over HTTP: first update written → last update in `GET /user/:id`.
fn ingest_binary(gw: &BenchGateway) -> Option<Duration> {
    let mut harmy = Harmy::spawn(gw, FLOOD_USERS);
    let Some(addr) = harmy.http.clone() else {
        harmy.stop();
        return None;
    };
    let last_user = frames::FIRST_USER + (*UPDATES as u64 - 1) % FLOOD_USERS;
    let last_song = format!("\"song {}\"", *UPDATES - 1);
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = loop {
        if get(&addr, &format!("/user/{last_user}")).is_some_and(|r| r.contains(&last_song)) {
            break Instant::now();
        }
        assert!(Instant::now() < deadline, "harmy serve never showed the last update");
        std::thread::sleep(Duration::from_millis(1));
    };
    harmy.stop();
    Some(done - gw.flood_started.lock().unwrap().expect("flood started"))
}

/// The whole response to `GET path`, if the server answers.
fn get(addr: &str, path: &str) -> Option<String> {
    let mut tcp = std::net::TcpStream::connect(addr).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    tcp.read_to_string(&mut response).ok()?;
    Some(response)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map_or("unknown CPU".into(), |m| m.trim_start_matches([' ', '\t', ':']).to_string())
}
