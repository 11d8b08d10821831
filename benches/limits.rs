//! What the rate limits cost and what they hold back:
//! `cargo bench --bench limits -- addresses|writes`.
//!
//! * `addresses`: the HTTP limiter under a flood of 1 000 000 distinct client
//!   addresses (the default `rate_limit.max_addresses`), driven directly: the
//!   process's RSS before, at the end of the flood, and after it (a minute
//!   later, one more request), and the time per check.
//! * `check`: the cost of the limiter on the request path: one busy client
//!   checked from two threads at once (as the `rest` benchmark's one wrk
//!   client is), nanoseconds per check.
//! * `writes`: one member's token writing KV from 10 addresses, each at its own
//!   limit (2 writes a second, its 120 a minute), for a minute (`BENCH_SECONDS`
//!   for shorter runs), while 20 `subscribe_to_all` readers read everything:
//!   bytes pushed per byte written, with `kv.writes_per_minute` at its default
//!   and off, one after the other in the same run.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use harmy::app::App;
use harmy::app::presence::{RawPresence, Status};
use harmy::config::{Config, RateLimitConfig};
use harmy::http::ratelimit::RateLimiter;
use harmy::ids::UserId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const ADDRESSES: u32 = 1_000_000;
const WRITERS: usize = 10;
const READERS: usize = 20;
const USER: u64 = 470_320_681_905_684_500;

fn main() -> anyhow::Result<()> {
    let mode = std::env::args().skip(1).find(|a| !a.starts_with('-')).unwrap_or_else(|| "addresses".into());
    match mode.as_str() {
        "addresses" => addresses(),
        "check" => check(),
        "writes" => {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            runtime.block_on(writes())
        }
        other => anyhow::bail!("unknown mode {other} (addresses, check, writes)"),
    }
}

/// The process's resident memory, KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).unwrap_or("0");
    line.trim().trim_end_matches("kB").trim().parse().unwrap_or(0)
}

fn addresses() -> anyhow::Result<()> {
    let config = RateLimitConfig::default();
    let limiter = RateLimiter::new(&config);
    let start = Instant::now();
    let idle = rss_kib();
    let began = std::time::Instant::now();
    // A million addresses over ten seconds, each once.
    for n in 0..ADDRESSES {
        let client = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n));
        limiter.check(client, start + Duration::from_micros(u64::from(n) * 10));
    }
    let per_check = began.elapsed().as_nanos() as f64 / f64::from(ADDRESSES);
    let (flooded, held) = (rss_kib(), limiter.clients());
    // The flood is over; a minute later a client comes.
    limiter.check(IpAddr::V4(Ipv4Addr::LOCALHOST), start + Duration::from_secs(75));
    let (after, kept) = (rss_kib(), limiter.clients());
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!("{ADDRESSES} distinct addresses, max_addresses {}: {per_check:.0} ns per check", config.max_addresses);
    println!("RSS idle          {:>7.1} MiB", mib(idle));
    println!(
        "RSS after flood   {:>7.1} MiB (+{:.1} MiB, goal <= +32), {held} addresses held",
        mib(flooded),
        mib(flooded.saturating_sub(idle))
    );
    println!(
        "RSS a minute on   {:>7.1} MiB (+{:.1} MiB), {kept} addresses held",
        mib(after),
        mib(after.saturating_sub(idle))
    );
    Ok(())
}

fn check() -> anyhow::Result<()> {
    const CHECKS: u32 = 20_000_000;
    let config = RateLimitConfig { per_second: 1_000_000_000, per_minute: 1_000_000_000, ..Default::default() };
    let limiter = RateLimiter::new(&config);
    let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
    for round in 0..3 {
        let began = std::time::Instant::now();
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..CHECKS / 2 {
                        assert!(limiter.check(client, std::time::Instant::now()).allowed);
                    }
                });
            }
        });
        let ns = began.elapsed().as_nanos() as f64 / f64::from(CHECKS);
        println!("round {round}: {ns:.1} ns per check (2 threads, one client; wall time over all checks)");
    }
    Ok(())
}

/// One configuration's figures.
struct Written {
    attempts: u64,
    accepted: u64,
    sent_bytes: u64,
    pushed_bytes: u64,
}

async fn writes() -> anyhow::Result<()> {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let default = harmy::config::KvConfig::default().writes_per_minute;
    for per_minute in [default, 0] {
        let w = writes_with(per_minute, Duration::from_secs(seconds)).await?;
        let label = if per_minute == 0 { "off".to_string() } else { per_minute.to_string() };
        println!(
            "kv.writes_per_minute {label:>3}: {} writes sent ({} accepted) in {seconds} s, {:.1} MB sent, \
             {:.1} MB pushed to {READERS} readers: {:.1} bytes pushed per byte sent",
            w.attempts,
            w.accepted,
            w.sent_bytes as f64 / 1e6,
            w.pushed_bytes as f64 / 1e6,
            w.pushed_bytes as f64 / w.sent_bytes.max(1) as f64
        );
    }
    Ok(())
}

async fn writes_with(per_minute: u32, length: Duration) -> anyhow::Result<Written> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.storage.path = dir.path().join("harmy.redb");
    harmy::store::Store::migrate(&config.storage.path, false)?;
    config.http.listen = "127.0.0.1:0".parse()?;
    config.http.trusted_proxies = vec!["127.0.0.0/8".parse()?];
    config.kv.writes_per_minute = per_minute;
    let app = App::new(config.clone(), harmy::store::Store::open(&config.storage.path)?)?;
    let user = UserId(USER);
    let raw = format!(r#"{{"id":"{USER}","username":"vaq","discriminator":"0"}}"#);
    app.presences.insert_raw(user, RawPresence { user: raw.into(), activities: None, status: Status::Online });
    let token = app.tokens.rotate(user).await?;
    let listeners = harmy::http::bind(&config).await?;
    let addr = listeners.api.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(harmy::http::serve(app.clone(), listeners, async {
        let _ = stopped.await;
    }));

    let pushed = Arc::new(AtomicU64::new(0));
    let ready = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for n in 0..READERS {
        let uri = format!("ws://{addr}/socket");
        // Each reader its own address, as readers are.
        let from = http::HeaderValue::from_str(&format!("10.8.0.{}", n + 1))?;
        let builder = tokio_websockets::ClientBuilder::new().uri(&uri)?;
        let (mut ws, _) = builder.add_header(http::HeaderName::from_static("x-forwarded-for"), from)?.connect().await?;
        ws.next().await; // HELLO
        ws.send(tokio_websockets::Message::text(r#"{"op":2,"d":{"subscribe_to_all":true}}"#.to_string())).await?;
        ws.next().await; // INIT_STATE
        let (pushed, ready) = (pushed.clone(), ready.clone());
        ready.fetch_add(1, Ordering::Relaxed);
        readers.push(tokio::spawn(async move {
            while let Some(Ok(message)) = ws.next().await {
                pushed.fetch_add(message.as_payload().len() as u64, Ordering::Relaxed);
            }
        }));
    }
    // With the 8 bytes that make each write new: the largest value a member may write.
    let value = "x".repeat(9_992);
    let end = Instant::now() + length;
    let mut writers = Vec::new();
    for n in 0..WRITERS {
        let (token, value) = (token.clone(), value.clone());
        writers.push(tokio::spawn(async move { writer(addr, n, &token, &value, end).await }));
    }
    let (mut attempts, mut accepted, mut sent_bytes) = (0, 0, 0);
    for w in writers {
        let (a, ok, bytes) = w.await??;
        (attempts, accepted, sent_bytes) = (attempts + a, accepted + ok, sent_bytes + bytes);
    }
    // What was pushed has a moment to arrive, then the server stops.
    let mut settled = pushed.load(Ordering::Relaxed);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = pushed.load(Ordering::Relaxed);
        if now == settled {
            break;
        }
        settled = now;
    }
    let _ = stop.send(());
    for r in readers {
        r.abort();
    }
    Ok(Written { attempts, accepted, sent_bytes, pushed_bytes: settled })
}

/// One address writing two values a second until `end`: (attempts, accepted, body bytes).
async fn writer(addr: SocketAddr, n: usize, token: &str, value: &str, end: Instant) -> anyhow::Result<(u64, u64, u64)> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let (mut attempts, mut accepted, mut bytes) = (0u64, 0u64, 0u64);
    while Instant::now() < end {
        tick.tick().await;
        let body = format!("{attempts:06}{n:02}{value}");
        let request = format!(
            "PUT /user/{USER}/kv/v HTTP/1.1\r\nhost: bench\r\nauthorization: {token}\r\n\
             x-forwarded-for: 10.7.0.{}\r\ncontent-length: {}\r\n\r\n{body}",
            n + 1,
            body.len()
        );
        stream.write_all(request.as_bytes()).await?;
        let status = response_status(&mut stream).await?;
        attempts += 1;
        bytes += body.len() as u64;
        accepted += u64::from(status == 204);
    }
    Ok((attempts, accepted, bytes))
}

/// Reads one response off a keep-alive connection; its status.
async fn response_status(stream: &mut TcpStream) -> anyhow::Result<u16> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        anyhow::ensure!(stream.read(&mut byte).await? == 1, "connection closed");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();

    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let length: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await?;
    Ok(status)
}
