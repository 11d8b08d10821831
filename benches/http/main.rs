//! HTTP benchmarks (results in docs/BENCHMARKS.md), against the API served in this process with
//! 100 000 monitored users, and an in-run baseline: a bare hyper server
//! returning the same bytes, measured with the same `wrk` settings.
//!
//! `cargo bench --bench http -- rest`   GET /user/:id vs the bare server (throughput, p99)
//! `cargo bench --bench http -- bulk`   GET /v1/users?ids= of 50 cached users vs the bare server's
//!                                      GET /user/:id (ids served per second vs its requests per second)
//! `cargo bench --bench http -- kv`     authenticated KV writes/s with one valid token (and with
//!                                      one key imported from Lanyard), and
//!                                      read p99 with and without 100 wrong-token requests/s
//!                                      (over 100 real selectors, so each runs argon2)
//! `cargo bench --bench http -- wrong-tokens`  RSS growth after 1 000 wrong-token attempts
//! `cargo bench --bench http -- socket` 10 000 subscribers (10 subscribe_to_all): connect time,
//!                                      update delivery p99 when every update reaches all 10 000,
//!                                      against a bare server writing one pre-encoded frame to as many
//! `cargo bench --bench http -- socket-spread`  the same subscribers, each `subscribe_to_id` on
//!                                      a user of its own: 1 000 updates, each reaching 11
//! `cargo bench --bench http -- card`   GET /user/:id/card.svg (kept) vs the bare server, and the
//!                                      CPU time of a cold render (see `card.rs`)
//! `cargo bench --bench http -- hold`   serves harmy and the bare server until killed (for perf)
//! `cargo bench --bench http -- render` CPU time of both views of one presence rendered anew
//!                                      (what a read costs when no kept body is current)
//!
//! Needs `wrk` on the PATH (apt-get install wrk).

mod card;
mod clients;
mod socket;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use harmy::app::App;
use harmy::app::presence::{RawPresence, Status};
use harmy::ids::UserId;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// Monitored users in every mode: 100 000, or `BENCH_USERS`.
pub static USERS: std::sync::LazyLock<u64> =
    std::sync::LazyLock::new(|| std::env::var("BENCH_USERS").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000));
/// The first user id; users are FIRST..FIRST+USERS.
pub const FIRST: u64 = 470_320_681_905_684_500;

fn main() -> anyhow::Result<()> {
    // The binary's allocator settings, so that harmy served here is harmy as run.
    harmy::memory::configure_allocator();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let mode = args.first().cloned().unwrap_or_else(|| "rest".into());
    if mode == "socket-clients" {
        let scenario = socket::Scenario::parse(args.get(2).map(String::as_str).unwrap_or_default());
        return socket::clients(args.get(1).map(String::as_str).unwrap_or_default(), scenario);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    if mode == "card" {
        return runtime.block_on(card::run());
    }
    if mode == "render" {
        render();
        return Ok(());
    }
    runtime.block_on(async {
        let (app, addr, _dir) = harmy_server().await?;
        match mode.as_str() {
            "rest" => rest(addr).await,
            "bulk" => bulk(addr).await,
            "hold" => hold(addr).await,
            "kv" => kv(&app, addr).await,
            "wrong-tokens" => wrong_tokens(&app, addr).await,
            "socket" => socket::run(&app, addr, socket::Scenario::Hot).await,
            "socket-spread" => socket::run(&app, addr, socket::Scenario::Spread).await,
            other => {
                anyhow::bail!("unknown mode {other} (rest, bulk, kv, wrong-tokens, socket, socket-spread, card, hold)")
            }
        }
    })
}

/// A presence of realistic size (a Spotify activity), as Discord sends it; `first`
/// is an activity put before it (the socket benchmark's timestamp).
pub fn presence(user: u64, status: &str, first: Option<&str>) -> RawPresence {
    let raw_user = format!(
        r#"{{"id":"{user}","username":"vaq","global_name":"Vaq","avatar":"5c11d7292c91e510c2b4f07946ea6d72","discriminator":"0","public_flags":0}}"#
    );
    let spotify = format!(
        r#"{{"type":2,"name":"Spotify","id":"spotify:1","details":"BMW","state":"Pashanim","sync_id":"56MDdzieU2dTT3YLpCdpcA","party":{{"id":"spotify:{user}"}},"timestamps":{{"start":1720814201608,"end":1720814322741}},"assets":{{"large_text":"Himmel über Berlin","large_image":"spotify:ab67616d0000b273fa2f0c9e719ca71f2686ddf3"}},"flags":48,"created_at":1720814203334}}"#
    );
    let activities = match first {
        Some(first) => format!("[{first},{spotify}]"),
        None => format!("[{spotify}]"),
    };
    RawPresence { user: raw_user.into(), activities: Some(activities.into()), status: Status::from_gateway(status) }
}

/// `render`: `Presences::view` of a Spotify listener, alone and with a custom status and a
/// game beside, on this thread: CPU time per view (the thread's own clock, so that
/// neighbours on a shared machine count less), the best and the median of 9 rounds of 20 000.
fn render() {
    let beside = r#"{"name":"Custom Status","type":4,"id":"custom","state":"hi","emoji":{"name":"🔥","id":"1","animated":false},"created_at":1720814203334},{"name":"Game","type":0,"id":"g1","application_id":"383226320970055681","details":"Survival","state":"In a party","party":{"size":[2,4]},"timestamps":{"start":1720814201608},"assets":{"large_image":"mp:external/x","large_text":"lt"},"status_display_type":1,"created_at":5}"#;
    let thread_ns = || {
        let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `t` is a valid timespec to write to.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
        t.tv_sec as f64 * 1e9 + t.tv_nsec as f64
    };
    for (name, first) in [("spotify", None), ("spotify + custom status + game", Some(beside))] {
        let presences = harmy::app::presence::Presences::default();
        presences.insert_raw(UserId(FIRST), presence(FIRST, "online", first));
        let mut rounds: Vec<f64> = (0..9)
            .map(|_| {
                let start = thread_ns();
                for _ in 0..20_000 {
                    std::hint::black_box(presences.view(UserId(FIRST)));
                }
                (thread_ns() - start) / 20_000.0
            })
            .collect();
        rounds.sort_by(f64::total_cmp);
        println!("render {name}: best {:.0} ns, median {:.0} ns CPU per view (both shapes)", rounds[0], rounds[4]);
    }
}

/// A fresh database in `dir`, and the defaults serving it on 127.0.0.1:0 with the
/// rate limits set very high (counted, never blocking).
fn bench_config(dir: &std::path::Path) -> anyhow::Result<harmy::config::Config> {
    let path = dir.join("harmy.redb");
    harmy::store::Store::migrate(&path, false)?;
    let mut config = harmy::config::Config::default();
    config.storage.path = path;
    config.http.listen = "127.0.0.1:0".parse()?;
    config.metrics.listen = String::new();
    config.rate_limit.per_second = 1_000_000_000;
    config.rate_limit.per_minute = 1_000_000_000;
    // The KV benchmark measures the write path: one writer far past a member's rate.
    config.kv.writes_per_minute = 0;
    Ok(config)
}

/// harmy's API over a fresh database, limits set very high (counted, never blocking).
async fn harmy_server() -> anyhow::Result<(Arc<App>, SocketAddr, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let mut config = bench_config(dir.path())?;
    let path = config.storage.path.clone();
    // The socket benchmark opens exactly 10 000 sessions, the default cap: leave room.
    config.http.max_connections = 20_000;
    // …all from 127.0.0.1: no per-address socket limit.
    config.socket.max_per_ip = 0;
    // Knobs for finding where time goes (not for the recorded results).
    if std::env::var_os("BENCH_NO_LIMITER").is_some() {
        (config.rate_limit.per_second, config.rate_limit.per_minute) = (0, 0);
    }
    if std::env::var_os("BENCH_NO_HEADER_TIMEOUT").is_some() {
        config.http.header_timeout = std::time::Duration::ZERO;
    }
    let app = App::new(config.clone(), harmy::store::Store::open(&path)?)?;
    // What the read path's published tier buys: every read composes its body.
    if std::env::var_os("BENCH_NO_KEPT_BODIES").is_some() {
        app.reads.keep_no_bodies();
    }
    for i in 0..*USERS {
        app.presences.insert_raw(UserId(FIRST + i), presence(FIRST + i, "online", None));
    }
    // Every user's stored state read once, as a server that has served them all has them:
    // for measuring the fan-out alone.
    if std::env::var_os("BENCH_WARM_EXTRAS").is_some() {
        for i in 0..*USERS {
            app.reads.stored(UserId(FIRST + i)).await?;
        }
    }
    // A live guild: `BENCH_UPDATES_PER_SEC` presence updates per second of other users
    // (the ones `rest` reads stay unchanged), as the gateway would apply them.
    let rate: u64 = std::env::var("BENCH_UPDATES_PER_SEC").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    if rate > 0 {
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_micros(1_000_000 / rate));
            for n in 0u64.. {
                tick.tick().await;
                let user = FIRST + 5_000 + (n * 7_919) % (*USERS - 5_000);
                let status = if n % 2 == 0 { "idle" } else { "online" };
                app.presences.insert_raw(UserId(user), presence(user, status, None));
            }
        });
    }
    let listeners = harmy::http::bind(&config).await?;
    let addr = listeners.api.local_addr()?;
    tokio::spawn(harmy::http::serve(app.clone(), listeners, std::future::pending()));
    // Let the socket hub take in the first batch of 100 000 users (it learns who is
    // monitored from the change feed), as it would have long before a steady state.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    Ok((app, addr, dir))
}

/// A bare hyper server answering every request with `body` and `headers`
/// (besides `date` and `content-length`, which hyper writes itself).
async fn bare_server(body: Bytes, headers: hyper::HeaderMap) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let body = body.clone();
            let headers = headers.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req| {
                    let body = body.clone();
                    let headers = headers.clone();
                    async move {
                        let mut reply = hyper::Response::new(Full::new(body));
                        *reply.headers_mut() = headers;
                        Ok::<_, Infallible>(reply)
                    }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(addr)
}

/// What wrk reported.
#[derive(Debug, Clone, Copy)]
pub struct Wrk {
    pub rps: f64,
    pub p99_ms: f64,
    /// CPU time of this process (the servers) per request, µs.
    pub server_us: f64,
    /// CPU time of wrk per request, µs.
    pub wrk_us: f64,
}

/// CPU time so far, in clock ticks: (this process, its waited-for children).
fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime is field 14 of the whole line.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = rest.split_whitespace().skip(11).take(4).map(|f| f.parse().unwrap_or(0)).collect();
    match fields[..] {
        [utime, stime, cutime, cstime] => (utime + stime, cutime + cstime),
        _ => (0, 0),
    }
}

/// Clock ticks per second of `/proc/self/stat` (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// One round of a side-by-side run, `(bare, harmy)`: the bare server first in odd
/// rounds and harmy first in even ones, so that neither always meets the warmer machine.
pub async fn wrk_round(round: usize, bare_url: &str, harmy_url: &str, extra: &[&str]) -> anyhow::Result<(Wrk, Wrk)> {
    if round % 2 == 1 {
        let bare = wrk(bare_url, extra).await?;
        Ok((bare, wrk(harmy_url, extra).await?))
    } else {
        let harmy = wrk(harmy_url, extra).await?;
        Ok((wrk(bare_url, extra).await?, harmy))
    }
}

/// Runs `wrk -t2 -c64 -d10s --latency` (plus `extra` args) against a URL.
pub async fn wrk(url: &str, extra: &[&str]) -> anyhow::Result<Wrk> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c64", "-d10s", "--latency"]).args(extra).arg(url);
    let before = cpu_ticks();
    let out = tokio::task::spawn_blocking(move || cmd.output()).await??;
    let after = cpu_ticks();
    anyhow::ensure!(out.status.success(), "wrk failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if text.contains("Non-2xx") {
        eprintln!("warning: wrk saw non-2xx responses:\n{text}");
    }
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no Requests/sec in wrk output:\n{text}"))?;
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| duration_ms(v.trim()))
        .ok_or_else(|| anyhow::anyhow!("no 99% line in wrk output:\n{text}"))?;
    let requests: f64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no request count in wrk output:\n{text}"))?;
    let per_request = |ticks: u64| ticks as f64 / TICKS_PER_SECOND * 1e6 / requests;
    Ok(Wrk { rps, p99_ms: p99, server_us: per_request(after.0 - before.0), wrk_us: per_request(after.1 - before.1) })
}

fn duration_ms(text: &str) -> f64 {
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => f64::NAN,
    }
}

/// Serves harmy and the same-bytes bare server until killed, for measuring by hand
/// (`perf`, `strace`, `taskset`): prints both addresses.
async fn hold(addr: SocketAddr) -> anyhow::Result<()> {
    let path = format!("/user/{}", FIRST + 4242);
    let (mut head, body) = fetch_full(addr, &path, &[]).await?;
    head.remove(hyper::header::DATE);
    head.remove(hyper::header::CONTENT_LENGTH);
    let bare = bare_server(body, head).await?;
    println!("harmy http://{addr}{path}\nbare  http://{bare}{path}");
    std::future::pending().await
}

async fn rest(addr: SocketAddr) -> anyhow::Result<()> {
    let path = format!("/user/{}", FIRST + 4242);
    let (head, body) = fetch_full(addr, &path, &[]).await?;
    // The baseline of the issue: a bare server returning the same bytes, headers included
    // (ETag, RateLimit-*, CORS); and, for reference, the same body with only Content-Type.
    let mut same_headers = head.clone();
    same_headers.remove(hyper::header::DATE);
    same_headers.remove(hyper::header::CONTENT_LENGTH);
    let mut body_only = hyper::HeaderMap::new();
    body_only.insert("content-type", "application/json; charset=utf-8".parse()?);
    let bare = bare_server(body.clone(), same_headers).await?;
    let bare_body_only = bare_server(body, body_only).await?;
    // Warm harmy (the first read of a user composes its body). Then rounds of one run of
    // each server back to back, in alternating order (the second run of a pair tends to do
    // better on this machine), and the ratio is the median of the rounds' ratios: the
    // machine is shared, and a neighbour's burst during one run must not decide it.
    wrk(&format!("http://{addr}{path}"), &["-d2s"]).await?;
    const ROUNDS: usize = 5;
    let (harmy_url, bare_url) = (format!("http://{addr}{path}"), format!("http://{bare}{path}"));
    // `BENCH_MANY_USERS=1`: every request reads a random one of the users (a
    // directory page rather than one profile card), far more than the per-thread copies
    // hold; the bare server answers every path with the same bytes.
    let script = std::env::temp_dir().join("harmy-bench-many-users.lua");
    let many: Vec<&str> = if std::env::var_os("BENCH_MANY_USERS").is_some() {
        // Ids as strings: Lua numbers are doubles, exact only to 2^53.
        let digits = if *USERS < 300_000 { 6 } else { 7 };
        let scale = 10u64.pow(digits);
        let (prefix, low) = (FIRST / scale, FIRST % scale);
        anyhow::ensure!(low + *USERS < scale, "ids must not carry into the prefix");
        std::fs::write(
            &script,
            format!(
                "request = function()\n  return wrk.format(\"GET\", \"/user/{prefix}\" .. \
                 string.format(\"%0{digits}d\", {low} + math.random(0, {}))) \nend\n",
                *USERS - 1
            ),
        )?;
        for _ in 0..2 {
            wrk(&harmy_url, &["-d5s", "-s", script.to_str().unwrap()]).await?; // warm every thread's copies
        }
        vec!["-s", script.to_str().unwrap()]
    } else {
        Vec::new()
    };
    let mut rounds: Vec<(Wrk, Wrk)> = Vec::with_capacity(ROUNDS);
    for round in 1..=ROUNDS {
        let (b, o) = wrk_round(round, &bare_url, &harmy_url, &many).await?;
        println!(
            "round {round}: bare {:>9.0} req/s p99 {:>6.2} ms, CPU/request {:.2} µs (wrk {:.2}) | harmy {:>9.0} req/s p99 \
             {:>6.2} ms, CPU/request {:.2} µs (wrk {:.2}) | ratio {:.3}",
            b.rps,
            b.p99_ms,
            b.server_us,
            b.wrk_us,
            o.rps,
            o.p99_ms,
            o.server_us,
            o.wrk_us,
            o.rps / b.rps
        );
        rounds.push((b, o));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let of = |f: fn(&(Wrk, Wrk)) -> f64| median(rounds.iter().map(f).collect());
    let body_only = wrk(&format!("http://{bare_body_only}{path}"), &[]).await?;
    println!(
        "bare hyper, body and Content-Type only (reference, one run): {:.0} req/s, p99 {:.2} ms",
        body_only.rps, body_only.p99_ms
    );
    println!(
        "medians of {ROUNDS} rounds: bare {:.0} req/s p99 {:.2} ms, {:.2} µs CPU/request | harmy {:.0} req/s p99 {:.2} ms, \
         {:.2} µs CPU/request",
        of(|r| r.0.rps),
        of(|r| r.0.p99_ms),
        of(|r| r.0.server_us),
        of(|r| r.1.rps),
        of(|r| r.1.p99_ms),
        of(|r| r.1.server_us)
    );
    println!(
        "ratio (median of the rounds' ratios): {:.3} x throughput (target >= 0.85), {:.2} x p99 (target <= 2)",
        of(|r| r.1.rps / r.0.rps),
        of(|r| r.1.p99_ms / r.0.p99_ms)
    );
    Ok(())
}

/// Ids per bulk lookup in `bulk`.
const BULK_IDS: u64 = 50;

/// `GET /v1/users?ids=` of 50 cached users (a team page), against the bare server
/// returning `GET /user/:id`'s bytes, in alternating rounds as in `rest`. The goal
/// (issue #13): ids served per second at least 5 x the bare server's requests per
/// second, i.e. a 50-id lookup costs at most what 10 single lookups cost.
async fn bulk(addr: SocketAddr) -> anyhow::Result<()> {
    let single = format!("/user/{}", FIRST + 4242);
    let (mut head, body) = fetch_full(addr, &single, &[]).await?;
    head.remove(hyper::header::DATE);
    head.remove(hyper::header::CONTENT_LENGTH);
    let bare = bare_server(body, head).await?;
    let ids: Vec<String> = (0..BULK_IDS).map(|i| (FIRST + 10_000 + i * 37).to_string()).collect();
    let mut rounds = Vec::new();
    for (shape, path) in
        [("native", format!("/users?ids={}", ids.join(","))), ("lanyard", format!("/v1/users?ids={}", ids.join(",")))]
    {
        let (_, bulk_body) = fetch_full(addr, &path, &[]).await?; // reads every user's stored state once
        let parsed: serde_json::Value = serde_json::from_slice(&bulk_body)?;
        let users = if shape == "lanyard" { &parsed["data"] } else { &parsed };
        anyhow::ensure!(
            users.as_object().is_some_and(|m| m.len() == BULK_IDS as usize && m.values().all(|v| !v.is_null())),
            "the bulk lookup serves all {BULK_IDS} users"
        );
        println!("{shape}: {BULK_IDS} ids per request, {} bytes per response", bulk_body.len());
        let (harmy_url, bare_url) = (format!("http://{addr}{path}"), format!("http://{bare}{single}"));
        wrk(&harmy_url, &["-d2s"]).await?;
        for round in 1..=3 {
            let (b, o) = wrk_round(round, &bare_url, &harmy_url, &[]).await?;
            let ratio = o.rps * BULK_IDS as f64 / b.rps;
            println!(
                "{shape} round {round}: bare {:>9.0} req/s, CPU/request {:.2} µs | bulk {:>8.0} req/s = {:>9.0} ids/s, p99 \
                 {:.2} ms, CPU/request {:.2} µs (wrk {:.2}) | ids/s per bare req/s {ratio:.2}",
                b.rps,
                b.server_us,
                o.rps,
                o.rps * BULK_IDS as f64,
                o.p99_ms,
                o.server_us,
                o.wrk_us
            );
            rounds.push((shape, ratio));
        }
    }
    for shape in ["native", "lanyard"] {
        let mut ratios: Vec<f64> = rounds.iter().filter(|r| r.0 == shape).map(|r| r.1).collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "{shape}: ids/s per bare req/s, median of {} rounds: {:.2} (goal >= 5)",
            ratios.len(),
            ratios[ratios.len() / 2]
        );
    }
    Ok(())
}

/// Members with tokens for the wrong-token floods: the lockout allows 10 failures a
/// minute per selector, so a flood that should keep argon2 busy spans many of them.
const TOKEN_USERS: u64 = 100;

/// Issues tokens for `TOKEN_USERS` users (not the ones read); their selectors.
async fn token_selectors(app: &App) -> anyhow::Result<Vec<String>> {
    let mut selectors = Vec::new();
    for i in 0..TOKEN_USERS {
        let token = app.tokens.rotate(UserId(FIRST + 50_000 + i)).await?;
        selectors.push(token.split('_').nth(1).unwrap_or_default().to_string());
    }
    Ok(selectors)
}

/// The `n`th wrong token: a real selector (round robin) and a wrong secret, so
/// that each one costs a full argon2 verification until its selector is locked out.
fn wrong_token(selectors: &[String], n: usize) -> String {
    format!("harmy_{}_{n:032x}", selectors[n % selectors.len()])
}

async fn kv(app: &App, addr: SocketAddr) -> anyhow::Result<()> {
    let user = UserId(FIRST + 7);
    let token = app.tokens.rotate(user).await?;
    let selectors = token_selectors(app).await?;
    let script = std::env::temp_dir().join("harmy-bench-kv.lua");
    std::fs::write(
        &script,
        format!("wrk.method = \"PUT\"\nwrk.body = \"sunny\"\nwrk.headers[\"Authorization\"] = \"{token}\"\n"),
    )?;
    // A steady-state writer: its token was verified once already (its first burst would
    // share one verification anyway).
    fetch(addr, &format!("/user/{user}/kv"), &[("authorization", &token)]).await?;
    let writes = wrk(&format!("http://{addr}/user/{user}/kv/mood"), &["-s", script.to_str().unwrap()]).await?;
    println!(
        "KV writes, one valid token     : {:>8.0} /s  p99 {:>7.2} ms (target >= 2000/s)",
        writes.rps, writes.p99_ms
    );
    // The same writer with a key imported from Lanyard (`harmy migrate --from-lanyard`).
    let imported = UserId(FIRST + 8);
    let key = "lnyd_0123456789abcdef0123456789abcdef";
    let record = harmy::app::lanyard::Record { user: imported, kv: Vec::new(), key: Some(key.into()), last_seen: None };
    app.import_lanyard(vec![record], false, false).await?;
    std::fs::write(
        &script,
        format!("wrk.method = \"PUT\"\nwrk.body = \"sunny\"\nwrk.headers[\"Authorization\"] = \"{key}\"\n"),
    )?;
    fetch(addr, &format!("/user/{imported}/kv"), &[("authorization", key)]).await?;
    let writes = wrk(&format!("http://{addr}/user/{imported}/kv/mood"), &["-s", script.to_str().unwrap()]).await?;
    println!("KV writes, one imported lnyd_ key: {:>6.0} /s  p99 {:>7.2} ms", writes.rps, writes.p99_ms);

    let read_url = format!("http://{addr}/user/{}", FIRST + 1);
    let quiet = wrk(&read_url, &[]).await?;
    // 100 wrong tokens a second over 100 real selectors: 10 s of it is 10 per selector,
    // all within the lockout's allowance, so every one costs a full argon2 verification.
    let flood = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(10));
        for n in 0.. {
            tick.tick().await;
            let wrong = wrong_token(&selectors, n);
            tokio::spawn(async move { fetch(addr, &format!("/user/{user}/kv"), &[("authorization", &wrong)]).await });
        }
    });
    let flooded = wrk(&read_url, &[]).await?;
    flood.abort();
    println!("reads, quiet                   : {:>8.0} /s  p99 {:>7.2} ms", quiet.rps, quiet.p99_ms);
    println!(
        "reads, 100 wrong tokens/s      : {:>8.0} /s  p99 {:>7.2} ms ({:.2} x p99, target <= 2)",
        flooded.rps,
        flooded.p99_ms,
        flooded.p99_ms / quiet.p99_ms
    );
    Ok(())
}

/// This process's resident memory now and at its peak, in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// RSS growth after 1 000 wrong-token attempts, 50 at a time, over 100 real
/// selectors: every attempt a full argon2 verification (10 per selector, the
/// lockout's allowance).
async fn wrong_tokens(app: &App, addr: SocketAddr) -> anyhow::Result<()> {
    const ATTEMPTS: usize = 1_000;
    const CONCURRENT: usize = 50;
    let selectors = token_selectors(app).await?;
    let (rss_before, hwm_before) = memory_kib();
    let started = std::time::Instant::now();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for batch in 0..ATTEMPTS / CONCURRENT {
        let requests: Vec<_> = (0..CONCURRENT)
            .map(|i| {
                let wrong = wrong_token(&selectors, batch * CONCURRENT + i);
                tokio::spawn(async move { status(addr, "/user/@me/kv", &wrong).await })
            })
            .collect();
        for request in requests {
            *statuses.entry(request.await??).or_default() += 1;
        }
    }
    let elapsed = started.elapsed();
    let (rss_after, hwm_after) = memory_kib();
    println!(
        "{ATTEMPTS} wrong-token attempts, {CONCURRENT} at a time, in {:.1} s: statuses {statuses:?}",
        elapsed.as_secs_f64()
    );
    println!(
        "RSS {:.1} -> {:.1} MiB: growth {:.1} MiB; peak {:.1} -> {:.1} MiB (target: growth <= 64 MiB)",
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        (rss_after as f64 - rss_before as f64) / 1024.0,
        hwm_before as f64 / 1024.0,
        hwm_after as f64 / 1024.0
    );
    Ok(())
}

/// The status of one GET with a token, over a fresh connection.
async fn status(addr: SocketAddr, path: &str, token: &str) -> anyhow::Result<u16> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let request = hyper::Request::builder()
        .uri(path)
        .header("host", addr.to_string())
        .header("authorization", token)
        .body(Full::new(Bytes::new()))?;
    Ok(sender.send_request(request).await?.status().as_u16())
}

/// One GET over a fresh connection; the body.
pub async fn fetch(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> anyhow::Result<Bytes> {
    Ok(fetch_full(addr, path, headers).await?.1)
}

/// One GET over a fresh connection; the response headers and body.
pub async fn fetch_full(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> anyhow::Result<(hyper::HeaderMap, Bytes)> {
    use http_body_util::BodyExt;
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut request = hyper::Request::builder().uri(path).header("host", addr.to_string());
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = sender.send_request(request.body(Full::new(Bytes::new()))?).await?;
    let head = response.headers().clone();
    Ok((head, response.into_body().collect().await?.to_bytes()))
}
