//! `/metrics` (docs/API.md): counters kept in atomics on the request path and
//! rendered as Prometheus text on demand.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use super::router::Route;

/// Statuses counted apart; anything else is counted as `other`.
const STATUSES: [u16; 16] = [101, 200, 204, 302, 304, 400, 401, 404, 405, 408, 413, 429, 431, 500, 503, 0];
/// Latency histogram bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

/// Request counters are striped by thread: each worker thread counts in its own
/// stripe (its own cache lines), and rendering sums them.
const STRIPES: usize = 8;

/// One thread's share of the request counters.
#[repr(align(128))]
struct Stripe {
    requests: Vec<[AtomicU64; STATUSES.len()]>,
    latency: [AtomicU64; BUCKETS.len() + 1],
    latency_sum_us: AtomicU64,
}

impl Default for Stripe {
    fn default() -> Self {
        Stripe {
            requests: (0..Route::LABELS.len()).map(|_| Default::default()).collect(),
            latency: Default::default(),
            latency_sum_us: AtomicU64::new(0),
        }
    }
}

/// This thread's stripe number.
fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    STRIPE.with(|s| *s)
}

/// The API's counters.
pub struct Metrics {
    stripes: Box<[Stripe]>,
    /// Open WebSocket sessions.
    pub sessions: AtomicI64,
    /// WebSocket sessions opened since start.
    pub sessions_opened: AtomicU64,
    /// WebSocket sessions closed for falling `socket.max_queue_bytes` behind,
    /// or for not receiving what they were sent within `socket.write_timeout`.
    pub sessions_dropped: AtomicU64,
    /// Requests refused with 429 (and connections over an address's share).
    pub rate_limited: AtomicU64,
    /// Open HTTP connections.
    connections: AtomicUsize,
}

/// An open HTTP connection, counted until dropped.
pub struct Connection<'a>(&'a AtomicUsize);

impl Drop for Connection<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            stripes: (0..STRIPES).map(|_| Stripe::default()).collect(),
            sessions: AtomicI64::new(0),
            sessions_opened: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            sessions_dropped: AtomicU64::new(0),
            connections: AtomicUsize::new(0),
        }
    }
}

/// Figures that come from outside the HTTP layer, read when rendering.
pub struct Outside {
    /// Users currently monitored.
    pub monitored_users: usize,
    /// Whether the gateway has a session.
    pub gateway_up: bool,
    /// Gateway events received.
    pub gateway_events: u64,
    /// Gateway sessions lost.
    pub gateway_reconnects: u64,
    /// Open HTTP connections (WebSockets not included).
    pub http_connections: usize,
    /// KV writes that succeeded, from any adapter.
    pub kv_writes: u64,
    /// Users seen going offline (last-seen times recorded).
    pub last_seen_recorded: u64,
    /// Batches of last-seen times written to the database.
    pub last_seen_commits: u64,
    /// Presence messages pushed to sockets (by the hub).
    pub websocket_pushes: u64,
    /// Times the storage failed under a write while serving.
    pub storage_faults: u64,
    /// In a cluster: connected to NATS, and (a replica) the replication lag in seconds and in changes.
    pub cluster: Option<(bool, f64, u64)>,
}

impl Metrics {
    /// Counts an open HTTP connection until the guard drops.
    pub fn connection(&self) -> Connection<'_> {
        self.connections.fetch_add(1, Ordering::Relaxed);
        Connection(&self.connections)
    }

    /// Open HTTP connections (WebSockets included until upgraded).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Counts one finished request.
    pub fn observe(&self, route: usize, status: u16, took: Duration) {
        let stripe = &self.stripes[stripe()];
        let slot = STATUSES.iter().position(|&s| s == status).unwrap_or(STATUSES.len() - 1);
        if let Some(row) = stripe.requests.get(route) {
            row[slot].fetch_add(1, Ordering::Relaxed);
        }
        let secs = took.as_secs_f64();
        let bucket = BUCKETS.iter().position(|&b| secs <= b).unwrap_or(BUCKETS.len());
        stripe.latency[bucket].fetch_add(1, Ordering::Relaxed);
        stripe.latency_sum_us.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, outside: &Outside) -> String {
        let mut out = String::with_capacity(4096);
        let _ = self.write(&mut out, outside);
        out
    }

    fn write(&self, out: &mut String, outside: &Outside) -> std::fmt::Result {
        writeln!(out, "# HELP harmy_http_requests_total HTTP requests by route and status.")?;
        writeln!(out, "# TYPE harmy_http_requests_total counter")?;
        let sum = |f: &dyn Fn(&Stripe) -> &AtomicU64| -> u64 {
            self.stripes.iter().map(|s| f(s).load(Ordering::Relaxed)).sum()
        };
        for (r, route) in Route::LABELS.iter().enumerate() {
            for (i, status) in STATUSES.iter().enumerate() {
                let count = sum(&|s| &s.requests[r][i]);
                if count > 0 {
                    let status = if *status == 0 { "other".to_string() } else { status.to_string() };
                    writeln!(out, "harmy_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}")?;
                }
            }
        }
        writeln!(out, "# HELP harmy_http_request_duration_seconds Time to answer an HTTP request.")?;
        writeln!(out, "# TYPE harmy_http_request_duration_seconds histogram")?;
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += sum(&|s| &s.latency[i]);
            writeln!(out, "harmy_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}")?;
        }
        cumulative += sum(&|s| &s.latency[BUCKETS.len()]);
        writeln!(out, "harmy_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}")?;
        let seconds = sum(&|s| &s.latency_sum_us) as f64 / 1e6;
        writeln!(out, "harmy_http_request_duration_seconds_sum {seconds}")?;
        writeln!(out, "harmy_http_request_duration_seconds_count {cumulative}")?;
        let mut one = |name: &str, kind: &str, help: &str, value: String| {
            writeln!(out, "# HELP {name} {help}")?;
            writeln!(out, "# TYPE {name} {kind}")?;
            writeln!(out, "{name} {value}")
        };
        one("harmy_monitored_users", "gauge", "Users currently monitored.", outside.monitored_users.to_string())?;
        let up = u8::from(outside.gateway_up).to_string();
        one("harmy_gateway_up", "gauge", "1 while the Discord gateway has a session, else 0.", up)?;
        one("harmy_gateway_events_total", "counter", "Gateway events received.", outside.gateway_events.to_string())?;
        let help = "Gateway sessions lost (each followed by a reconnect).";
        one("harmy_gateway_reconnects_total", "counter", help, outside.gateway_reconnects.to_string())?;
        one("harmy_http_connections", "gauge", "Open HTTP connections.", outside.http_connections.to_string())?;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        one(
            "harmy_websocket_sessions",
            "gauge",
            "Open WebSocket sessions.",
            self.sessions.load(Ordering::Relaxed).to_string(),
        )?;
        one("harmy_websocket_sessions_total", "counter", "WebSocket sessions opened.", load(&self.sessions_opened))?;
        let help = "WebSocket sessions closed for falling behind or not receiving what they were sent.";
        one("harmy_websocket_dropped_total", "counter", help, load(&self.sessions_dropped))?;
        one(
            "harmy_websocket_pushes_total",
            "counter",
            "Presence messages pushed to sockets.",
            outside.websocket_pushes.to_string(),
        )?;
        one("harmy_rate_limited_total", "counter", "Requests refused by the rate limiter.", load(&self.rate_limited))?;
        one("harmy_kv_writes_total", "counter", "KV writes (HTTP, bot and CLI).", outside.kv_writes.to_string())?;
        let help = "Last-seen times recorded (a served user going offline).";
        one("harmy_last_seen_recorded_total", "counter", help, outside.last_seen_recorded.to_string())?;
        let help = "Batches of last-seen times written to the database (at most one per 30 s, and at shutdown).";
        one("harmy_last_seen_commits_total", "counter", help, outside.last_seen_commits.to_string())?;
        let help = "Times the storage failed under a write (disk full, read-only): writes were refused with 503.";
        one("harmy_storage_faults_total", "counter", help, outside.storage_faults.to_string())?;
        if let Some((connected, lag_seconds, lag_changes)) = outside.cluster {
            let help = "1 while connected to the cluster's NATS server, else 0.";
            one("harmy_cluster_connected", "gauge", help, u8::from(connected).to_string())?;
            let help =
                "A replica: seconds between the primary's publishing of the last change applied and its applying.";
            one("harmy_cluster_lag_seconds", "gauge", help, lag_seconds.to_string())?;
            let help = "A replica: changes published and not applied yet.";
            one("harmy_cluster_lag_changes", "gauge", help, lag_changes.to_string())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counted_requests_and_the_histogram() {
        let m = Metrics::default();
        m.observe(Route::index_of("/user/:id"), 200, Duration::from_micros(80));
        m.observe(Route::index_of("/user/:id"), 200, Duration::from_millis(3));
        let text = m.render(&Outside {
            cluster: Some((true, 0.25, 3)),
            monitored_users: 7,
            gateway_up: true,
            gateway_events: 11,
            gateway_reconnects: 1,
            http_connections: 2,
            kv_writes: 3,
            last_seen_recorded: 40,
            last_seen_commits: 1,
            websocket_pushes: 5,
            storage_faults: 2,
        });
        assert!(text.contains("harmy_http_requests_total{route=\"/user/:id\",status=\"200\"} 2"), "{text}");
        assert!(text.contains("harmy_http_request_duration_seconds_bucket{le=\"0.0001\"} 1"), "{text}");
        assert!(text.contains("harmy_http_request_duration_seconds_bucket{le=\"+Inf\"} 2"), "{text}");
        assert!(text.contains("harmy_monitored_users 7"), "{text}");
        assert!(text.contains("# TYPE harmy_gateway_up gauge\nharmy_gateway_up 1\n"), "{text}");
        assert!(text.contains("harmy_http_connections 2"), "{text}");
        assert!(text.contains("harmy_kv_writes_total 3"), "{text}");
        assert!(text.contains("harmy_storage_faults_total 2\n"), "{text}");
        for line in ["harmy_cluster_connected 1\n", "harmy_cluster_lag_seconds 0.25\n", "harmy_cluster_lag_changes 3\n"]
        {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert!(text.contains("harmy_gateway_events_total 11\n"), "{text}");
        assert!(text.contains("harmy_gateway_reconnects_total 1\n"), "{text}");
        assert!(text.contains("harmy_last_seen_recorded_total 40\n"), "{text}");
        assert!(text.contains("harmy_last_seen_commits_total 1\n"), "{text}");
    }
}
