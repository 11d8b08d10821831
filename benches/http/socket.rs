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
//! `socket` also measures, in the same run and with the same clients, a bare
//! tokio-websockets server that writes one pre-encoded frame per update to the
//! same 10 000 subscribers ([`Bare`]): rounds alternate between the two, and the
//! result is the median of the rounds' p99 ratios (`BENCH_ROUNDS`, default 5).
//!
//! The clients run in a child process (`socket-clients ADDR`, `clients.rs`).
//! Latency is measured from a send timestamp carried in the pushed presence to
//! its arrival.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use harmy::app::App;
use harmy::ids::UserId;
use tokio::net::TcpStream;
use tokio_websockets::{Message, ServerBuilder};

use super::clients::now_ns;

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

/// The server side. `socket-spread`: one measured run against harmy. `socket` (hot):
/// rounds of one run against harmy and one against the bare server (below), in
/// alternating order, then the medians and the median of the rounds' p99 ratios.
pub async fn run(app: &App, addr: SocketAddr, scenario: Scenario) -> anyhow::Result<()> {
    if scenario == Scenario::Spread {
        measure(Server::Harmy(app, addr), scenario).await?;
        return Ok(());
    }
    // The bare server sends harmy's bytes: the pushed object is `GET /v1/users/:id`'s `data`.
    let body = super::fetch(addr, &format!("/v1/users/{HOT}"), &[]).await?;
    let data = std::str::from_utf8(&body)?
        .strip_prefix(r#"{"success":true,"data":"#)
        .and_then(|d| d.strip_suffix('}'))
        .ok_or_else(|| anyhow::anyhow!("unexpected /v1/users body"))?
        .replace(r#""discord_status":"online""#, r#""discord_status":"dnd""#);
    let bare = Bare::start(data.into_bytes()).await?;
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let mut results: Vec<(Measured, Measured)> = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let (b, h) = if round % 2 == 1 {
            let b = measure(Server::Bare(&bare), scenario).await?;
            (b, measure(Server::Harmy(app, addr), scenario).await?)
        } else {
            let h = measure(Server::Harmy(app, addr), scenario).await?;
            (measure(Server::Bare(&bare), scenario).await?, h)
        };
        println!(
            "round {round}: bare p50 {:.1} ms p99 {:.1} ms, CPU/update {:.1} ms | harmy p50 {:.1} ms p99 {:.1} ms, \
             CPU/update {:.1} ms | p99 ratio {:.3}",
            b.p50,
            b.p99,
            b.server_cpu(),
            h.p50,
            h.p99,
            h.server_cpu(),
            h.p99 / b.p99
        );
        results.push((b, h));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let of = |f: &dyn Fn(&(Measured, Measured)) -> f64| median(results.iter().map(f).collect());
    println!(
        "medians of {rounds} rounds: bare p50 {:.1} ms p99 {:.1} ms, server CPU/update {:.1} ms ({:.1} user + {:.1} \
         system), clients {:.1} ms | harmy p50 {:.1} ms p99 {:.1} ms, server CPU/update {:.1} ms ({:.1} user + {:.1} \
         system), clients {:.1} ms, connect {:.1} s",
        of(&|r| r.0.p50),
        of(&|r| r.0.p99),
        of(&|r| r.0.server_cpu()),
        of(&|r| r.0.server.0),
        of(&|r| r.0.server.1),
        of(&|r| r.0.clients.0 + r.0.clients.1),
        of(&|r| r.1.p50),
        of(&|r| r.1.p99),
        of(&|r| r.1.server_cpu()),
        of(&|r| r.1.server.0),
        of(&|r| r.1.server.1),
        of(&|r| r.1.clients.0 + r.1.clients.1),
        of(&|r| r.1.connect_s),
    );
    println!(
        "p99 ratio harmy / bare (median of the rounds' ratios): {:.3} (target <= 1.15); p50 ratio {:.3}",
        of(&|r| r.1.p99 / r.0.p99),
        of(&|r| r.1.p50 / r.0.p50)
    );
    Ok(())
}

/// Which server a run measures.
#[derive(Clone, Copy)]
enum Server<'a> {
    Harmy(&'a App, SocketAddr),
    Bare(&'a Bare),
}

/// What one run measured.
#[derive(Debug, Clone, Copy)]
struct Measured {
    p50: f64,
    p99: f64,
    /// Server process CPU per update, ms: (user, system).
    server: (f64, f64),
    /// Client process CPU per update, ms: (user, system).
    clients: (f64, f64),
    connect_s: f64,
}

impl Measured {
    fn server_cpu(&self) -> f64 {
        self.server.0 + self.server.1
    }
}

/// One run: starts the clients against the target, then makes the updates.
async fn measure(target: Server<'_>, scenario: Scenario) -> anyhow::Result<Measured> {
    let (name, addr) = match target {
        Server::Harmy(_, addr) => ("harmy", addr),
        Server::Bare(bare) => {
            bare.reset();
            ("bare", bare.addr)
        }
    };
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
    let line = line.transpose()?.unwrap_or_default();
    println!("{name}: {line}");
    let connect_s = line.split(" in ").nth(1).and_then(|t| t.split(' ').next()).and_then(|t| t.parse().ok());
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
        // The send time rides in an activity, which Lanyard's shape passes through as sent;
        // the bare server's object carries it as its first key.
        let sent = now_ns();
        match target {
            Server::Harmy(app, _) => {
                let stamp = format!(r#"{{"bench_sent_ns":{sent},"name":"bench","type":0}}"#);
                app.presences.insert_raw(UserId(user), super::presence(user, "dnd", Some(&stamp)));
            }
            Server::Bare(bare) => {
                let first = format!(r#"{{"bench_sent_ns":{sent},"#);
                bare.update(&[first.as_bytes(), &bare.data[1..]].concat());
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (server, clients) = (cpu_ms("self"), cpu_ms(&child_pid.to_string()));
    let per = |after: f64, before: f64| (after - before) / updates as f64;
    let measured_cpu = (
        (per(server.0, server_before.0), per(server.1, server_before.1)),
        (per(clients.0, clients_before.0), per(clients.1, clients_before.1)),
    );
    println!(
        "{name}: CPU per update (to {} subscribers): server {:.2} ms user + {:.2} ms system, clients {:.2} ms \
         user + {:.2} ms system; both processes share the 2 cores ({:.1} s of wall time, {updates} updates)",
        scenario.reach(),
        measured_cpu.0.0,
        measured_cpu.0.1,
        measured_cpu.1.0,
        measured_cpu.1.1,
        wall.elapsed().as_secs_f64()
    );
    let _ = child.stdin.take().unwrap().write_all(b"done\n");
    let rest = tokio::task::spawn_blocking(move || lines.map_while(Result::ok).collect::<Vec<_>>()).await?;
    let (mut p50, mut p99) = (f64::NAN, f64::NAN);
    for line in rest.iter().filter(|l| !l.starts_with("latencies-ns ")) {
        println!("{name}: {line}");
        if let Some(result) = line.strip_prefix("latency-ms ") {
            let numbers: Vec<f64> = result.split(' ').filter_map(|n| n.parse().ok()).collect();
            if let [a, b, ..] = numbers[..] {
                (p50, p99) = (a, b);
            }
        }
    }
    child.wait()?;
    // The bare server's sockets are closed now, not at its next run: the process has room
    // for 20 000 files, and harmy's 10 000 sessions need theirs.
    if let Server::Bare(bare) = target {
        bare.reset();
    }
    // The sessions of this run close (in both servers) before the next run connects.
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(Measured { p50, p99, server: measured_cpu.0, clients: measured_cpu.1, connect_s: connect_s.unwrap_or(f64::NAN) })
}

/// The baseline of the hot fan-out: a bare tokio-websockets server that upgrades
/// each connection, answers the hello and op 2 as harmy does (with an empty
/// INIT_STATE), keeps the TCP stream, and per update writes one pre-encoded frame
/// (server frames are unmasked: the same bytes for every subscriber) to all of
/// them, in groups of [`GROUP`] taken by [`FANOUT_TASKS`] tasks. A socket that
/// does not take the whole frame at once is finished by its group's task.
struct Bare {
    addr: SocketAddr,
    /// The pushed object harmy sends for the hot user.
    data: Vec<u8>,
    conns: Arc<Mutex<Arc<Vec<Arc<TcpStream>>>>>,
    updates: tokio::sync::mpsc::UnboundedSender<Bytes>,
}

/// Subscribers written one after the other by one task.
const GROUP: usize = 256;
/// Tasks writing groups at once.
const FANOUT_TASKS: usize = 4;

impl Bare {
    async fn start(data: Vec<u8>) -> anyhow::Result<Bare> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let conns: Arc<Mutex<Arc<Vec<Arc<TcpStream>>>>> = Arc::default();
        let accepted = conns.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let _ = stream.set_nodelay(true);
                let conns = accepted.clone();
                tokio::spawn(async move {
                    let Ok((_, mut ws)) = ServerBuilder::new().accept(stream).await else { return };
                    let hello = r#"{"op":1,"d":{"heartbeat_interval":30000}}"#;
                    if ws.send(Message::text(hello)).await.is_err() || ws.next().await.is_none() {
                        return;
                    }
                    if ws.send(Message::text(r#"{"op":0,"t":"INIT_STATE","d":{}}"#)).await.is_err() {
                        return;
                    }
                    let stream = Arc::new(ws.into_inner());
                    Arc::make_mut(&mut conns.lock().unwrap()).push(stream);
                });
            }
        });
        let (updates, mut frames) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
        let snapshot = conns.clone();
        tokio::spawn(async move {
            while let Some(frame) = frames.recv().await {
                let conns = snapshot.lock().unwrap().clone();
                let next = Arc::new(AtomicUsize::new(0));
                let tasks: Vec<_> = (0..FANOUT_TASKS)
                    .map(|_| {
                        let (conns, next, frame) = (conns.clone(), next.clone(), frame.clone());
                        tokio::spawn(async move {
                            loop {
                                let group = next.fetch_add(1, Ordering::Relaxed);
                                let Some(group) = conns.chunks(GROUP).nth(group) else { return };
                                for stream in group {
                                    write_all(stream, &frame).await;
                                }
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    let _ = task.await;
                }
            }
        });
        Ok(Bare { addr, data, conns, updates })
    }

    /// Forgets the previous run's connections.
    fn reset(&self) {
        *self.conns.lock().unwrap() = Arc::default();
    }

    /// Fans a PRESENCE_UPDATE of `presence` out to every connection.
    fn update(&self, presence: &[u8]) {
        let text = [br#"{"op":0,"t":"PRESENCE_UPDATE","d":"#, presence, b"}"].concat();
        let mut frame = Vec::with_capacity(text.len() + 10);
        frame.push(0x81); // FIN, text
        match text.len() {
            len if len < 126 => frame.push(len as u8),
            len if len <= 0xffff => {
                frame.push(126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                frame.push(127);
                frame.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&text);
        let _ = self.updates.send(frame.into());
    }
}

/// Writes a frame: at once if the socket takes it, else waiting for room.
async fn write_all(stream: &TcpStream, frame: &[u8]) {
    let mut written = 0;
    while written < frame.len() {
        match stream.try_write(&frame[written..]) {
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if stream.writable().await.is_err() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
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
    let watched = |i: usize| (i >= ALL).then(|| scenario.watched(i));
    super::clients::run(addr, SUBSCRIBERS, &watched, scenario.updates() * scenario.reach())
}
