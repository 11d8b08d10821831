//! The subscribers of the `/socket` fan-out benchmarks, run in a child process
//! of their own (10 000 sockets on each side would pass the per-process file
//! limit): used by `http` (`socket`, `socket-spread`) and `cluster` (`fanout`).
//!
//! The child connects its subscribers, prints one `connected …` line, waits
//! for a line on stdin (the updates are over), then prints what arrived:
//! latency from the send timestamp each pushed presence carries
//! (`"bench_sent_ns":N`, in an activity) to its arrival, as
//! `latency-ms P50 P99 MAX` and, for a parent merging several children, every
//! latency as `latencies-ns N N …`.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio_websockets::{ClientBuilder, Limits, Message};

pub fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()
}

/// Connects `subscribers` sockets to `ws://ADDR/socket`, subscriber `i` with
/// `subscribe_to_all` when `watched(i)` is `None`, else `subscribe_to_id`;
/// `expected` deliveries in all.
pub fn run(
    addr: &str,
    subscribers: usize,
    watched: &dyn Fn(usize) -> Option<u64>,
    expected: usize,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let latencies = Arc::new(Mutex::new(Vec::<u128>::new()));
        let started = Instant::now();
        let uri = format!("ws://{addr}/socket");
        let connected = futures_util::stream::iter(0..subscribers)
            .map(|i| {
                let (uri, latencies) = (uri.clone(), latencies.clone());
                let watch = watched(i);
                async move { subscriber(&uri, watch, latencies).await }
            })
            .buffer_unordered(128)
            .collect::<Vec<_>>()
            .await;
        let failed = connected.iter().filter(|r| r.is_err()).count();
        let all = (0..subscribers).filter(|&i| watched(i).is_none()).count();
        println!(
            "connected {} subscribers ({all} subscribe_to_all) in {:.1} s (target < 60 s), {failed} failed",
            subscribers - failed,
            started.elapsed().as_secs_f64()
        );
        std::io::stdout().flush()?;
        let mut line = String::new();
        tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut line)).await??;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut seen = latencies.lock().unwrap().clone();
        seen.sort_unstable();
        let pct = |p: f64| percentile(&seen, p);
        println!(
            "updates delivered: {} of {expected} expected; latency p50 {:.1} ms, p99 {:.1} ms (target < 50 ms), max {:.1} ms",
            seen.len(),
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
        println!("latency-ms {} {} {}", pct(0.5), pct(0.99), pct(1.0));
        let all: Vec<String> = seen.iter().map(u128::to_string).collect();
        println!("latencies-ns {}", all.join(" "));
        Ok(())
    })
}

/// The `p` quantile of sorted latencies in ns, in ms.
pub fn percentile(sorted: &[u128], p: f64) -> f64 {
    sorted.get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1))).copied().unwrap_or(0) as f64
        / 1e6
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
    let asked = Instant::now();
    let init = ws.next().await.ok_or_else(|| anyhow::anyhow!("no INIT_STATE"))??;
    if watch.is_none() {
        eprintln!(
            "subscribe_to_all INIT_STATE: {} bytes in {:.1} s",
            init.as_payload().len(),
            asked.elapsed().as_secs_f64()
        );
    }
    anyhow::ensure!(init.is_text(), "no INIT_STATE but {:?}", init.as_close());
    tokio::spawn(async move {
        // A heartbeat every 30 s, as Lanyard clients send them (a run can outlast the
        // server's 60 s heartbeat timeout).
        let mut beat =
            tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(30), Duration::from_secs(30));
        loop {
            let message = tokio::select! {
                message = ws.next() => message,
                _ = beat.tick() => {
                    let _ = ws.send(Message::text(r#"{"op":3}"#)).await;
                    continue;
                }
            };
            let Some(Ok(message)) = message else { break };
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
