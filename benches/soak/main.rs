//! Soak benchmark (results in docs/BENCHMARKS.md): the release binary under
//! everything at once for an hour, sampling its memory, to find what grows.
//!
//! ```text
//! cargo bench --bench soak                  # an hour
//! cargo bench --bench soak -- --minutes 10  # shorter
//! SOAK_WORKLOADS=churn,sockets cargo bench --bench soak -- --minutes 10   # only these (churn, troubles,
//!                                           # sockets, readers, kv, hostile): to find what grows
//! SOAK_TROUBLE_SECS=20 cargo bench --bench soak -- --minutes 8    # a gateway trouble every 20 s
//! ```
//!
//! Against the tests' fake gateway (a large guild of 2 000 members, synced by
//! member chunks): presence churn at Discord's pace (50 updates a second), a
//! gateway trouble every 150 s (op 7, a dropped connection, a new session, a
//! TCP reset), 100 sockets that each live 5–60 s and come back, REST readers
//! (~20 a second: both shapes, bulk, cards), KV writes (2 a second over 20
//! users and 30 keys each, filled before the clock starts) and hostile
//! clients (~5 a second, each from a new address: wrong tokens, rate-limit
//! bursts, oversized heads and bodies, garbage, bad socket messages; plus 10
//! slow request heads and 3 `subscribe_to_all` sockets that never read, each
//! held two minutes and then replaced). Clients name their addresses in
//! `X-Forwarded-For`, the server trusting 127.0.0.1, so the default rate
//! limits apply per client as on the internet.
//!
//! Every 10 s: VmRSS and VmHWM, open files and sockets, threads, and the
//! server's sockets and connections from `/metrics`, the database file's
//! size. The verdict: no sample after the warm-up (the first ten minutes, or a
//! third of a shorter run) is more than 10 % above the highest sample of the
//! warm-up's second half; the files and sockets open 15 s after the load stops
//! are those open before it started; no client met a failure; and the server
//! logged no panic. The load comes in cycles (a stalled reader's queue grows
//! for the minute before the server drops it, once every two; a gateway
//! trouble every 150 s), so a single sample falls on a low or on a high: the
//! warm-up's second half has seen every cycle's high at least once, and each
//! row of the table gives the highest sample since the row before.

#[path = "../../tests/support/mod.rs"]
mod support;

mod client;
mod load;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use load::{Soak, Tally};
use support::discord_gateway::FakeGateway;
use support::{Instance, Server};

/// The first member's id; members are FIRST..FIRST+MEMBERS.
const FIRST: u64 = 600_000_000_000_000_000;
const MEMBERS: u64 = 2_000;
/// Members with a token, writing KV.
const WRITERS: u64 = 20;
/// Growth allowed after the warm-up.
const GOAL_PERCENT: f64 = 10.0;

fn main() {
    harmy::install_crypto_provider();
    let args: Vec<String> = std::env::args().collect();
    let minutes: u64 = args
        .iter()
        .position(|a| a == "--minutes")
        .and_then(|i| args.get(i + 1))
        .and_then(|m| m.parse().ok())
        .unwrap_or(60);
    // The fake gateway owns a runtime: made and dropped outside the soak's own.
    let gw = Arc::new(FakeGateway::start());
    gw.set_guild(load::guild(FIRST, MEMBERS));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let passed = runtime.block_on(soak(gw.clone(), Duration::from_secs(minutes * 60)));
    drop(runtime);
    drop(gw);
    std::process::exit(if passed { 0 } else { 1 });
}

/// One sample of the server.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    hwm_kib: u64,
    fds: usize,
    sockets: usize,
    threads: u64,
    ws_sessions: u64,
    http_connections: u64,
    /// The database file's size.
    db_kib: u64,
}

async fn soak(gw: Arc<FakeGateway>, length: Duration) -> bool {
    let config = format!(
        "[http]\nlisten = \"127.0.0.1:0\"\ntrusted_proxies = [\"127.0.0.1/32\"]\n\n[metrics]\nlisten = \"127.0.0.1:0\"\n\n\
         [card]\ncdn_url = \"http://127.0.0.1:9\"\nspotify_image_url = \"http://127.0.0.1:9\"\n\n{}",
        gw.discord_toml("http://127.0.0.1:9")
    );
    let instance = Instance::new(&config);
    let mut serve = instance.command(&["serve"]);
    serve.env("HARMY_LOG", "info");
    let server = Server::start(serve);
    let (addr, metrics) = (server.http.unwrap(), server.metrics.unwrap());
    let pid = server.child.id();
    let last = FIRST + MEMBERS - 1;
    wait_for(&format!("member {last} served"), || async move {
        matches!(client::request(addr, "10.0.0.1", "GET", &format!("/user/{last}"), &[], "").await, Ok((200, _)))
    })
    .await;
    let writers: Vec<(u64, String)> = (FIRST..FIRST + WRITERS).map(|user| (user, token(&instance, user))).collect();
    fill_kv(addr, &writers).await;
    let victim = FIRST + WRITERS;
    let wrong = token(&instance, victim);
    let wrong = format!("{}{}", &wrong[..wrong.len() - 32], "0".repeat(32));
    let db = instance.db_path();
    let idle = sample(pid, metrics, &db, Duration::ZERO).await;
    println!(
        "soak: {} min against harmy (pid {pid}), idle {} MiB, {} files open",
        length.as_secs() / 60,
        idle.rss_kib >> 10,
        idle.fds
    );

    let soak = Arc::new(Soak {
        addr,
        gw,
        guild: 1,
        members: (FIRST..FIRST + MEMBERS).collect(),
        writers,
        victim: (victim, wrong),
        tally: Tally::default(),
        stop: Default::default(),
    });
    // SOAK_WORKLOADS=churn,sockets (say) runs only those, to find what grows.
    let only = std::env::var("SOAK_WORKLOADS").ok();
    let tasks = soak.spawn(|name| only.as_deref().is_none_or(|only| only.split(',').any(|w| w == name)));
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut every = tokio::time::interval(Duration::from_secs(10));
    every.tick().await;
    while started.elapsed() < length {
        every.tick().await;
        if !alive(pid) {
            println!("the server exited; log:\n{}", server.log_text());
            return false;
        }
        let s = sample(pid, metrics, &db, started.elapsed()).await;
        if samples.len() % 6 == 5 {
            print_row(&s, &soak.tally);
        }
        samples.push(s);
    }
    soak.stop.cancel();
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
    }
    // Past the header timeout (10 s): whatever the load left open is closed by now.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let after = sample(pid, metrics, &db, started.elapsed()).await;
    report(&samples, idle, after, length, &soak.tally, &server)
}

/// Fills every key the KV load writes, with values of its mean size, before the
/// clock starts: the data the server holds is then as large at the tenth minute
/// as at the last (the load keeps it about steady), so what grows is the
/// server's own. Left to the load, the KV would fill over the first half hour,
/// and the pushes and INIT_STATEs that carry it would grow with it.
async fn fill_kv(addr: SocketAddr, writers: &[(u64, String)]) {
    for (i, (user, token)) in writers.iter().enumerate() {
        for key in 0..load::KV_KEYS {
            // Each from an address of its own: the default limits apply (3 a second per address).
            let me = format!("10.9.{i}.{key}");
            let path = format!("/user/{user}/kv/k{key}");
            let value = "v".repeat(load::KV_VALUE_BYTES);
            match client::request(addr, &me, "PUT", &path, &[("authorization", token)], value).await {
                Ok((204, _)) => {}
                other => panic!("filling the KV: PUT {path}: {other:?}"),
            }
        }
    }
}

/// Whether the process runs (a zombie does not).
fn alive(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("State:")).is_some_and(|state| !state.trim().starts_with('Z'))
}

/// Issues a token through the CLI (the running server's admin socket).
fn token(instance: &Instance, user: u64) -> String {
    let out = instance.cli(&["token", "rotate", &user.to_string()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split_whitespace().find(|w| w.starts_with("harmy_")).expect("a token").to_string()
}

async fn wait_for<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sample(pid: u32, metrics: SocketAddr, db: &std::path::Path, at: Duration) -> Sample {
    let memory = support::memory_kib(pid);
    let fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.flatten().filter_map(|e| std::fs::read_link(e.path()).ok()).map(|p| p.display().to_string()).collect()
        })
        .unwrap_or_default();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let threads = status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|n| n.trim().parse().ok());
    let text = match client::request(metrics, "127.0.0.1", "GET", "/metrics", &[], "").await {
        Ok((200, body)) => String::from_utf8_lossy(&body).into_owned(),
        _ => String::new(),
    };
    let metric = |name: &str| {
        text.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse::<f64>().ok())).unwrap_or(0.0) as u64
    };
    Sample {
        at,
        rss_kib: memory.rss,
        hwm_kib: memory.hwm,
        sockets: fds.iter().filter(|f| f.starts_with("socket:")).count(),
        fds: fds.len(),
        threads: threads.unwrap_or(0),
        ws_sessions: metric("harmy_websocket_sessions "),
        http_connections: metric("harmy_http_connections "),
        db_kib: std::fs::metadata(db).map_or(0, |m| m.len() >> 10),
    }
}

fn print_row(s: &Sample, tally: &Tally) {
    println!(
        "{:>5.1} min  RSS {:>6.1} MiB  HWM {:>6.1} MiB  db {:>5.1} MiB  fds {:>4}  sockets {:>4}  threads {:>3}  ws {:>4}  \
         http {:>4}  updates {} pushes {} reads {} writes {} hostile {} failures {}",
        s.at.as_secs_f64() / 60.0,
        s.rss_kib as f64 / 1024.0,
        s.hwm_kib as f64 / 1024.0,
        s.db_kib as f64 / 1024.0,
        s.fds,
        s.sockets,
        s.threads,
        s.ws_sessions,
        s.http_connections,
        tally.presence_updates.load(Ordering::Relaxed),
        tally.pushes.load(Ordering::Relaxed),
        tally.reads.load(Ordering::Relaxed),
        tally.kv_writes.load(Ordering::Relaxed),
        tally.hostile.load(Ordering::Relaxed),
        tally.failures.load(Ordering::Relaxed),
    );
}

/// Prints the table and the verdict; true when nothing grew and nothing failed.
fn report(samples: &[Sample], idle: Sample, after: Sample, length: Duration, tally: &Tally, server: &Server) -> bool {
    let warm_up = (length / 3).min(Duration::from_secs(600));
    let step = if length > Duration::from_secs(20 * 60) { 30 } else { 6 };
    println!(
        "\n| time | RSS MiB | highest since the row before, MiB | HWM MiB | database MiB | files | sockets | threads | \
         WebSockets | HTTP connections |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for rows in samples.chunks(step).filter(|rows| rows.len() == step) {
        let s = rows[step - 1];
        let highest = rows.iter().map(|r| r.rss_kib).max().unwrap_or(s.rss_kib);
        println!(
            "| {:.0} min | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} | {} |",
            s.at.as_secs_f64() / 60.0,
            s.rss_kib as f64 / 1024.0,
            highest as f64 / 1024.0,
            s.hwm_kib as f64 / 1024.0,
            s.db_kib as f64 / 1024.0,
            s.fds,
            s.sockets,
            s.threads,
            s.ws_sessions,
            s.http_connections
        );
    }
    let highest_in =
        |from: Duration, to: Duration| samples.iter().filter(|s| s.at >= from && s.at < to).map(|s| s.rss_kib).max();
    let base = highest_in(warm_up / 2, warm_up).unwrap_or(idle.rss_kib);
    let end = samples.last().copied().unwrap_or(idle);
    let highest = highest_in(warm_up, Duration::MAX).unwrap_or(base);
    let growth = (end.rss_kib as f64 / base as f64 - 1.0) * 100.0;
    let peak = (highest as f64 / base as f64 - 1.0) * 100.0;
    let memory_ok = peak <= GOAL_PERCENT;
    let files_ok = after.fds <= idle.fds + 2 && after.sockets <= idle.sockets + 2;
    let failures = tally.failures.load(Ordering::Relaxed);
    let log = server.log_text();
    let panicked = log.contains("panicked");
    println!(
        "\nRSS: idle {:.1} MiB; highest in the second half of the {:.0} min warm-up {:.1} MiB; {:.1} MiB at the end \
         ({growth:+.1} %), highest after the warm-up {:.1} MiB ({peak:+.1} %, goal ≤ +{GOAL_PERCENT} %); VmHWM {:.1} MiB",
        idle.rss_kib as f64 / 1024.0,
        warm_up.as_secs_f64() / 60.0,
        base as f64 / 1024.0,
        end.rss_kib as f64 / 1024.0,
        highest as f64 / 1024.0,
        end.hwm_kib as f64 / 1024.0,
    );
    println!(
        "files: {} open before the load, {} at its end, {} 15 s after it stopped (sockets {} / {} / {}); threads {} / {} / {}",
        idle.fds,
        end.fds,
        after.fds,
        idle.sockets,
        end.sockets,
        after.sockets,
        idle.threads,
        end.threads,
        after.threads
    );
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    println!(
        "load: {} presence updates, {} gateway troubles, {} socket sessions ({} pushes received), {} reads, {} KV writes, \
         {} hostile requests; {failures} failures{}",
        load(&tally.presence_updates),
        load(&tally.reconnects),
        load(&tally.socket_sessions),
        load(&tally.pushes),
        load(&tally.reads),
        load(&tally.kv_writes),
        load(&tally.hostile),
        if panicked { "; the server log has a panic" } else { "" }
    );
    for note in tally.failure_notes.lock().unwrap().iter() {
        println!("  failure: {note}");
    }
    let passed = memory_ok && files_ok && failures == 0 && !panicked;
    println!(
        "verdict: {} (memory {}, files and sockets {}, failures {failures})",
        if passed { "nothing grew" } else { "FAILED" },
        if memory_ok { "ok" } else { "grew" },
        if files_ok { "back to idle" } else { "left open" }
    );
    passed
}
