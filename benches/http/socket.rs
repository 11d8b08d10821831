//! The `/socket` benchmark: 10 000 subscribers (10 with `subscribe_to_all`,
//! whose INIT_STATE carries all 100 000 presences; the rest `subscribe_to_id`
//! on one hot user), then 20 updates of that user, each reaching all 10 000.
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
use harmy::presence::PresenceView;
use tokio_websockets::{ClientBuilder, Limits, Message};

const SUBSCRIBERS: usize = 10_000;
const ALL: usize = 10;
const UPDATES: usize = 20;
const HOT: u64 = super::FIRST + 99;

fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()
}

/// The server side: starts the clients, then updates the hot user.
pub async fn run(app: &App, addr: SocketAddr) -> anyhow::Result<()> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["socket-clients", &addr.to_string()])
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
    for _ in 0..UPDATES {
        let base = super::view(HOT, "dnd");
        let stamp = format!("{{\"bench_sent_ns\":{},", now_ns());
        let lanyard = [stamp.as_bytes(), &base.lanyard[1..]].concat();
        app.presences.insert_view(UserId(HOT), PresenceView { native: base.native, lanyard: lanyard.into() });
        app.changes.mark(UserId(HOT));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let _ = child.stdin.take().unwrap().write_all(b"done\n");
    let rest = tokio::task::spawn_blocking(move || lines.map_while(Result::ok).collect::<Vec<_>>()).await?;
    for line in rest {
        println!("{line}");
    }
    child.wait()?;
    Ok(())
}

/// The client process.
pub fn clients(addr: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let latencies = Arc::new(Mutex::new(Vec::<u128>::new()));
        let started = Instant::now();
        let uri = format!("ws://{addr}/socket");
        let connected = futures_util::stream::iter(0..SUBSCRIBERS)
            .map(|i| {
                let (uri, latencies) = (uri.clone(), latencies.clone());
                async move { subscriber(&uri, i < ALL, latencies).await }
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
            UPDATES * SUBSCRIBERS,
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
        Ok(())
    })
}

async fn subscriber(uri: &str, all: bool, latencies: Arc<Mutex<Vec<u128>>>) -> anyhow::Result<()> {
    let (mut ws, _) = ClientBuilder::new().uri(uri)?.limits(Limits::unlimited()).connect().await?;
    ws.next().await.ok_or_else(|| anyhow::anyhow!("no hello"))??;
    let op = if all {
        r#"{"op":2,"d":{"subscribe_to_all":true}}"#.to_string()
    } else {
        format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{HOT}"}}}}"#)
    };
    ws.send(Message::text(op)).await?;
    let init = ws.next().await.ok_or_else(|| anyhow::anyhow!("no INIT_STATE"))??;
    if all {
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
