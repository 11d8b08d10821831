//! The accept loop: binds nothing itself (it takes its listeners and a
//! shutdown future, so tests bind port 0), caps connections (in all and per
//! client address), serves each with hyper, closing those that send no request
//! head within `http.header_timeout` (idle keep-alive ones included), and on
//! shutdown stops accepting, asks every connection to finish its request in
//! flight (hyper's graceful shutdown), closes sockets with 1001 and returns.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use futures_util::FutureExt;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Api;
use super::error::ApiError;
use super::response::Reply;
use super::router::{self, Scope};
use crate::app::App;
use crate::config::Config;

/// How long shutdown waits for in-flight requests and sockets.
const DRAIN: Duration = Duration::from_secs(5);
/// Request heads (request line and headers) above this get 431.
const MAX_HEAD: usize = 64 * 1024;
/// Connections the kernel queues before they are accepted (clamped to
/// `net.core.somaxconn`): ten thousand clients connecting at once must not
/// see their SYNs dropped and retried a second later.
const BACKLOG: u32 = 16_384;

/// The bound listeners of the API (and of `/metrics`, when it has its own address).
pub struct Listeners {
    /// `http.listen`
    pub api: TcpListener,
    /// `metrics.listen`, when set and metrics are on.
    pub metrics: Option<TcpListener>,
}

/// Binds the configured addresses.
pub async fn bind(config: &Config) -> anyhow::Result<Listeners> {
    let api = listen(config.http.listen).with_context(|| format!("http.listen {}", config.http.listen))?;
    let metrics = match (config.metrics.enabled, config.metrics.listen.trim()) {
        (true, listen) if !listen.is_empty() => {
            Some(TcpListener::bind(listen).await.with_context(|| format!("metrics.listen {listen}"))?)
        }
        _ => None,
    };
    Ok(Listeners { api, metrics })
}

/// A listener on `addr` with a backlog of [`BACKLOG`].
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Serves the API until `shutdown` completes, then drains.
pub async fn serve(app: Arc<App>, listeners: Listeners, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let metrics_on_api = app.config().metrics.enabled && app.config().metrics.listen.trim().is_empty();
    let stop = CancellationToken::new();
    let alive = TaskTracker::new();
    let api = Arc::new(Api::new(app, stop.clone(), alive.clone(), metrics_on_api));
    let hub = alive.spawn(api.hub.clone().run(api.app.clone(), stop.clone()));
    let mut loops = tokio::task::JoinSet::new();
    loops.spawn(accept(api.clone(), listeners.api, Scope::Api));
    if let Some(answering) = api.app.cluster.take_answering() {
        let for_relay = api.clone();
        let answer = move |request| super::relay::answer(for_relay.clone(), request);
        let relay = answering.key.serve(answering.nats, answering.names, answer, stop.clone());
        loops.spawn(async move {
            if let Err(e) = relay.await {
                tracing::error!("cluster: answering relayed requests: {e:#}");
            }
        });
    }
    if let Some(listener) = listeners.metrics {
        loops.spawn(accept(api.clone(), listener, Scope::MetricsOnly));
    }
    shutdown.await;
    stop.cancel();
    while loops.join_next().await.is_some() {}
    alive.close();
    if tokio::time::timeout(DRAIN, alive.wait()).await.is_err() {
        tracing::warn!("connections still open after {DRAIN:?}; closing them");
    }
    hub.abort();
    Ok(())
}

/// Accepts connections until stopped.
async fn accept(api: Arc<Api>, listener: TcpListener, scope: Scope) {
    let permits = Arc::new(Semaphore::new(api.max_connections));
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = api.stop.cancelled() => return,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = api.stop.cancelled() => return,
        };
        // One address may not hold every slot: past its share, closed at once.
        let Some(slot) = api.connections_per_ip.take(super::ratelimit::bucket(peer.ip())) else {
            api.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn_api = api.clone();
        api.alive.spawn(async move {
            let _held = (permit, slot);
            connection(conn_api, stream, peer, scope).await;
        });
    }
}

/// Serves one connection until it ends, its header timeout passes, or shutdown.
async fn connection(api: Arc<Api>, stream: tokio::net::TcpStream, peer: SocketAddr, scope: Scope) {
    let _open = api.metrics.connection();
    let shared = Arc::new(router::Connection { api: api.clone(), peer, scope, idle: Idle::new() });
    let watched = shared.clone();
    let service =
        service_fn(move |req| AssertUnwindSafe(router::handle(shared.clone(), req)).catch_unwind().map(answered));
    let mut builder = http1::Builder::new();
    builder.max_header_size(MAX_HEAD);
    let conn = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
    let mut conn = std::pin::pin!(conn);
    // The header timeout is one timer per connection, moved only when it fires:
    // hyper's own (`header_read_timeout`) boxes and registers a timer for every
    // request head, which cost a fifth of a kept read's CPU (docs/BENCHMARKS.md,
    // "One path"). The meaning is hyper's: a connection with no request in its
    // handler that has not completed a head for the timeout (since it opened, or
    // since its last answer) is closed, idle keep-alive connections included.
    let timeout = api.app.config().http.header_timeout;
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    // The connection's own child of the stop token: waiting on the server's would
    // take a lock every connection shares on every wake-up.
    let stop = api.stop.child_token();
    let mut finishing = false;
    let ended = loop {
        tokio::select! {
            ended = conn.as_mut() => break ended,
            () = stop.cancelled(), if !finishing => {
                finishing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = &mut deadline, if !timeout.is_zero() => match watched.idle.waited() {
                Some(waited) if waited >= timeout => {
                    tracing::debug!(%peer, "no request head within the header timeout; closed");
                    return;
                }
                waited => deadline.as_mut().reset(tokio::time::Instant::now() + timeout - waited.unwrap_or_default()),
            },
        }
    };
    if let Err(e) = ended {
        tracing::debug!(%peer, "connection ended: {e}");
    }
}

/// How long a connection has waited for a request head: requests in its handler
/// (HTTP/1: 0 or 1), and when it opened or last answered one. Its own, so a
/// request costs two atomic operations no other connection shares.
pub(super) struct Idle {
    opened: std::time::Instant,
    busy: AtomicU32,
    /// Milliseconds from `opened` to the last answer.
    answered_ms: AtomicU64,
}

/// A request in the handler, until dropped (a panic included).
pub(super) struct Busy<'a>(&'a Idle);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let idle = self.0;
        idle.answered_ms.store(idle.opened.elapsed().as_millis() as u64, Ordering::Relaxed);
        idle.busy.fetch_sub(1, Ordering::Release);
    }
}

impl Idle {
    fn new() -> Idle {
        Idle { opened: std::time::Instant::now(), busy: AtomicU32::new(0), answered_ms: AtomicU64::new(0) }
    }

    /// Marks a request as in the handler until the guard drops.
    pub(super) fn busy(&self) -> Busy<'_> {
        self.busy.fetch_add(1, Ordering::Relaxed);
        Busy(self)
    }

    /// How long it has waited for a head; `None` while a request is in the handler.
    fn waited(&self) -> Option<Duration> {
        if self.busy.load(Ordering::Acquire) > 0 {
            return None;
        }
        let since = Duration::from_millis(self.answered_ms.load(Ordering::Relaxed));
        Some(self.opened.elapsed().saturating_sub(since))
    }
}

/// A request's answer, a panic in its handler turned into a 500 that does not
/// show it: a bug must not leave the client without an answer. (Applied with
/// `map`, not awaited in an `async fn`, which would hold the handler's future
/// twice: hyper moves the whole into its slot on every request.)
fn answered(answer: std::thread::Result<Reply>) -> Result<Reply, Infallible> {
    Ok(answer
        .unwrap_or_else(|_| ApiError::internal(&"a request handler panicked").reply(crate::app::reads::Shape::Native)))
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[test]
    fn a_connection_waits_for_a_head_only_while_no_request_is_in_its_handler() {
        let idle = Idle::new();
        assert!(idle.waited().is_some());
        let busy = idle.busy();
        assert_eq!(idle.waited(), None);
        std::thread::sleep(Duration::from_millis(20));
        drop(busy);
        let waited = idle.waited().expect("answered");
        assert!(waited < Duration::from_millis(20), "counted from the answer: {waited:?}");
    }

    #[tokio::test]
    async fn a_panic_in_a_handler_is_a_500_that_does_not_show_it() {
        let reply = AssertUnwindSafe(async { panic!("secret detail") }).catch_unwind().map(answered).await.unwrap();
        let status = reply.status().as_u16();
        let body = reply.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&body);
        assert_eq!((status, text.contains("secret")), (500, false), "{text}");
        assert!(text.contains(r#""code":"internal""#), "{text}");
    }
}
