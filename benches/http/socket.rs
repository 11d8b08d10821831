//! The `/socket` benchmarks: 10 000 subscribers, 10 with `subscribe_to_all`
//! (whose INIT_STATE carries all 100 000 presences) and the rest with
//! `subscribe_to_id`, either
//!
//! * `socket` (hot): all 9 990 on one user, then 20 updates of that user, each
//!   reaching all 10 000 subscribers: the worst case;
//! * `socket-spread`: each of the 9 990 on a user of its own (a site's visitors
//!   watching its owner), then 1 000 updates of those users at 200 per second,
//!   each reaching its 11 subscribers (its own and the 10 watching everyone).
//!
//! The clients run in a child process (`socket-clients ADDR`): 10 000 sockets
//! on each side would pass the per-process file limit. Latency is measured
//! from a send timestamp carried in the pushed presence to its arrival.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use harmy::app::App;
use harmy::ids::UserId;
use tokio_websockets::{ClientBuilder, Limits, Message};

const SUBSCRIBERS: usize = 10_000;
const ALL: usize = 10;
const HOT: u64 = super::FIRST + 99;

/// Which users the `subscribe_to_id` sessions watch, and how updates come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// All on `HOT`; 20 updates of it, 250 ms apart.
    Hot,
    /// Session `i` on user `FIRST + i`; 1 000 updates of those users, 5 ms apart.
    Spread,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Hot => "hot",
            Scenario::Spread => "spread",
        }
    }

    pub fn parse(name: &str) -> Scenario {
        if name == "spread" { Scenario::Spread } else { Scenario::Hot }
    }

    fn updates(self) -> usize {
        match self {
            Scenario::Hot => 20,
            Scenario::Spread => 1_000,
        }
    }

    /// Deliveries each update makes.
    fn reach(self) -> usize {
        match self {
            Scenario::Hot => SUBSCRIBERS,
            Scenario::Spread => ALL + 1,
        }
    }

    fn pause(self) -> Duration {
        match self {
            Scenario::Hot => Duration::from_millis(250),
            Scenario::Spread => Duration::from_millis(5),
        }
    }

    /// The user the `n`th update changes.
    fn updated(self, n: usize) -> u64 {
        match self {
            Scenario::Hot => HOT,
            // Spread over the watched users in a scrambled order.
            Scenario::Spread => super::FIRST + (n as u64 * 7_919) % (SUBSCRIBERS - ALL) as u64 + ALL as u64,
        }
    }

    /// The user subscriber `i` (not one of the `ALL`) watches.
    fn watched(self, i: usize) -> u64 {
        match self {
            Scenario::Hot => HOT,
            Scenario::Spread => super::FIRST + i as u64,
        }
    }
}

fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()
}

/// The server side: starts the clients, then updates the hot user.
pub async fn run(app: &App, addr: SocketAddr, scenario: Scenario) -> anyhow::Result<()> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["socket-clients", &addr.to_string(), scenario.name()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::task::spawn_blocking(move || {
        let line = lines.next();
        (line, lines)
    });
    let (line, lines) = ready.await?;
    println!("{}", line.transpose()?.unwrap_or_default());
    // Let the connect phase settle, then count the CPU each process spends on the updates.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let child_pid = child.id();
    let (server_before, clients_before) = (cpu_ms("self"), cpu_ms(&child_pid.to_string()));
    let wall = Instant::now();
    let updates = scenario.updates();
    let mut tick = tokio::time::interval(scenario.pause());
    for n in 0..updates {
        tick.tick().await;
        let user = scenario.updated(n);
        // The send time rides in an activity, which Lanyard's shape passes through as sent.
        let stamp = format!(r#"{{"bench_sent_ns":{},"name":"bench","type":0}}"#, now_ns());
        app.presences.insert_raw(UserId(user), super::presence(user, "dnd", Some(&stamp)));
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (server, clients) = (cpu_ms("self"), cpu_ms(&child_pid.to_string()));
    let per = |after: f64, before: f64| (after - before) / updates as f64;
    println!(
        "CPU per update (to {} subscribers): server {:.2} ms user + {:.2} ms system, clients {:.2} ms \
         user + {:.2} ms system; both processes share the 2 cores ({:.1} s of wall time, {updates} updates)",
        scenario.reach(),
        per(server.0, server_before.0),
        per(server.1, server_before.1),
        per(clients.0, clients_before.0),
        per(clients.1, clients_before.1),
        wall.elapsed().as_secs_f64()
    );
    let _ = child.stdin.take().unwrap().write_all(b"done\n");
    let rest = tokio::task::spawn_blocking(move || lines.map_while(Result::ok).collect::<Vec<_>>()).await?;
    for line in rest {
        println!("{line}");
    }
    child.wait()?;
    Ok(())
}

/// A process's user and system CPU time so far, in ms (from /proc, 0 when unreadable).
fn cpu_ms(pid: &str) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let mut ticks = rest.split_whitespace().skip(11).map(|t| t.parse::<f64>().unwrap_or(0.0) * 10.0); // USER_HZ is 100
    (ticks.next().unwrap_or(0.0), ticks.next().unwrap_or(0.0))
}

/// The client process.
pub fn clients(addr: &str, scenario: Scenario) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let latencies = Arc::new(Mutex::new(Vec::<u128>::new()));
        let started = Instant::now();
        let uri = format!("ws://{addr}/socket");
        let connected = futures_util::stream::iter(0..SUBSCRIBERS)
            .map(|i| {
                let (uri, latencies) = (uri.clone(), latencies.clone());
                let watch = (i >= ALL).then(|| scenario.watched(i));
                async move { subscriber(&uri, watch, latencies).await }
            })
            .buffer_unordered(128)
            .collect::<Vec<_>>()
            .await;
        let failed = connected.iter().filter(|r| r.is_err()).count();
        println!(
            "connected {} subscribers ({ALL} subscribe_to_all) in {:.1} s (target < 60 s), {failed} failed",
            SUBSCRIBERS - failed,
            started.elapsed().as_secs_f64()
        );
        std::io::stdout().flush()?;
        let mut line = String::new();
        tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut line)).await??;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut seen = latencies.lock().unwrap().clone();
        seen.sort_unstable();
        let pct = |p: f64| {
            seen.get(((seen.len() as f64 * p) as usize).min(seen.len().saturating_sub(1))).copied().unwrap_or(0) as f64
                / 1e6
        };
        println!(
            "updates delivered: {} of {} expected; latency p50 {:.1} ms, p99 {:.1} ms (target < 50 ms), max {:.1} ms",
            seen.len(),
            scenario.updates() * scenario.reach(),
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
        Ok(())
    })
}

/// One client: `subscribe_to_all` when `watch` is `None`, else `subscribe_to_id` on it.
async fn subscriber(uri: &str, watch: Option<u64>, latencies: Arc<Mutex<Vec<u128>>>) -> anyhow::Result<()> {
    let (mut ws, _) = ClientBuilder::new().uri(uri)?.limits(Limits::unlimited()).connect().await?;
    ws.next().await.ok_or_else(|| anyhow::anyhow!("no hello"))??;
    let op = match watch {
        None => r#"{"op":2,"d":{"subscribe_to_all":true}}"#.to_string(),
        Some(user) => format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{user}"}}}}"#),
    };
    ws.send(Message::text(op)).await?;
    let init = ws.next().await.ok_or_else(|| anyhow::anyhow!("no INIT_STATE"))??;
    if watch.is_none() {
        eprintln!("subscribe_to_all INIT_STATE: {} bytes", init.as_payload().len());
    }
    tokio::spawn(async move {
        while let Some(Ok(message)) = ws.next().await {
            let Some(text) = message.as_text() else { continue };
            let Some(at) = text.find("\"bench_sent_ns\":") else { continue };
            let digits: String = text[at + 16..].chars().take_while(char::is_ascii_digit).collect();
            if let Ok(sent) = digits.parse::<u128>() {
                latencies.lock().unwrap().push(now_ns().saturating_sub(sent));
            }
        }
    });
    Ok(())
}
