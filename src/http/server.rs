//! The accept loop: binds nothing itself (it takes its listeners and a
//! shutdown future, so tests bind port 0), caps concurrent connections, puts
//! every connection under the watch of `conns` (header-read timeout, graceful
//! shutdown), and on shutdown stops accepting, lets in-flight requests finish,
//! closes sockets with 1001 and returns.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::FutureExt;
use futures_util::future::CatchUnwind;
use futures_util::future::Either;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Api;
use super::conns::{self, Watch};
use super::error::ApiError;
use super::response::Reply;
use super::router::{self, Handled, Scope};
use crate::app::App;
use crate::config::Config;

/// How long shutdown waits for in-flight requests and sockets.
const DRAIN: Duration = Duration::from_secs(5);
/// Request heads (request line and headers) above this get 431.
const MAX_HEAD: usize = 64 * 1024;

/// The bound listeners of the API (and of `/metrics`, when it has its own address).
pub struct Listeners {
    /// `http.listen`
    pub api: TcpListener,
    /// `metrics.listen`, when set and metrics are on.
    pub metrics: Option<TcpListener>,
}

/// Binds the configured addresses.
pub async fn bind(config: &Config) -> anyhow::Result<Listeners> {
    let api =
        TcpListener::bind(config.http.listen).await.with_context(|| format!("http.listen {}", config.http.listen))?;
    let metrics = match (config.metrics.enabled, config.metrics.listen.trim()) {
        (true, listen) if !listen.is_empty() => {
            Some(TcpListener::bind(listen).await.with_context(|| format!("metrics.listen {listen}"))?)
        }
        _ => None,
    };
    Ok(Listeners { api, metrics })
}

/// Serves the API until `shutdown` completes, then drains.
pub async fn serve(app: Arc<App>, listeners: Listeners, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let metrics_on_api = app.config().metrics.enabled && app.config().metrics.listen.trim().is_empty();
    let stop = CancellationToken::new();
    let alive = TaskTracker::new();
    let api = Arc::new(Api::new(app, stop.clone(), alive.clone(), metrics_on_api));
    let hub = alive.spawn(api.hub.clone().run(api.app.clone(), stop.clone()));
    let sweeper = {
        let api = api.clone();
        tokio::spawn(async move { api.conns.sweep().await })
    };
    let mut loops = tokio::task::JoinSet::new();
    loops.spawn(accept(api.clone(), listeners.api, Scope::Api));
    if let Some(listener) = listeners.metrics {
        loops.spawn(accept(api.clone(), listener, Scope::MetricsOnly));
    }
    shutdown.await;
    stop.cancel();
    api.conns.shut_down();
    while loops.join_next().await.is_some() {}
    alive.close();
    if tokio::time::timeout(DRAIN, alive.wait()).await.is_err() {
        tracing::warn!("connections still open after {DRAIN:?}; closing them");
    }
    hub.abort();
    sweeper.abort();
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
        let _ = stream.set_nodelay(true);
        let conn_api = api.clone();
        api.alive.spawn(async move {
            let _permit = permit;
            connection(conn_api, stream, peer, scope).await;
        });
    }
}

/// What the requests of one connection share: cloning it per request touches
/// only this connection's reference count, not one all connections share.
struct Shared {
    api: Arc<Api>,
    watch: Arc<Watch>,
    peer: SocketAddr,
    scope: Scope,
}

/// A request's answer, now or to wait for (with any panic caught).
enum Guarded {
    Now(Reply),
    Later(CatchUnwind<AssertUnwindSafe<Pin<Box<dyn Future<Output = Reply> + Send>>>>),
}

/// Runs `handle` so that a panic, in it or in the future it returns, becomes a 500
/// that does not show it (see `settle`): a bug must not leave the client without an answer.
fn guarded(handle: impl FnOnce() -> Handled) -> Guarded {
    match std::panic::catch_unwind(AssertUnwindSafe(handle)) {
        Ok(Handled::Now(reply)) => Guarded::Now(reply),
        Ok(Handled::Later(answer)) => Guarded::Later(AssertUnwindSafe(answer).catch_unwind()),
        Err(_) => Guarded::Now(panicked()),
    }
}

/// The answer of a `Guarded::Later`.
async fn settle(later: CatchUnwind<AssertUnwindSafe<Pin<Box<dyn Future<Output = Reply> + Send>>>>) -> Reply {
    later.await.unwrap_or_else(|_| panicked())
}

fn panicked() -> Reply {
    ApiError::internal(&"a request handler panicked").reply(crate::app::reads::Shape::Native)
}

/// Serves one connection until it ends, its header timeout passes, or shutdown.
async fn connection(api: Arc<Api>, stream: tokio::net::TcpStream, peer: SocketAddr, scope: Scope) {
    let registered = api.conns.register();
    let shared = Arc::new(Shared { api: api.clone(), watch: registered.watch.clone(), peer, scope });
    let service =
        service_fn(move |req| match guarded(|| router::handle(&shared.api, req, shared.peer, shared.scope)) {
            Guarded::Now(reply) => {
                shared.api.conns.answered(&shared.watch);
                Either::Left(std::future::ready(Ok::<_, Infallible>(reply)))
            }
            Guarded::Later(answer) => {
                let shared = shared.clone();
                Either::Right(async move {
                    let _busy = shared.api.conns.busy(&shared.watch);
                    Ok(settle(answer).await)
                })
            }
        });
    // The header timeout is the watcher's (see `conns`): no timer per request here.
    let conn = http1::Builder::new().max_header_size(MAX_HEAD).serve_connection(TokioIo::new(stream), service);
    let conn = std::pin::pin!(conn.with_upgrades());
    match conns::watched(&registered.watch, conn, |conn| conn.graceful_shutdown()).await {
        Some(Ok(())) => {}
        Some(Err(e)) => tracing::debug!(%peer, "connection ended: {e}"),
        None => tracing::debug!(%peer, "no request head within the header timeout; closed"),
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    async fn status_and_text(reply: Reply) -> (u16, String) {
        let status = reply.status().as_u16();
        let body = reply.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_panic_in_a_handler_is_a_500_that_does_not_show_it() {
        let Guarded::Now(reply) = guarded(|| panic!("secret detail")) else { panic!("answered now") };
        let (status, text) = status_and_text(reply).await;
        assert_eq!((status, text.contains("secret")), (500, false), "{text}");
        assert!(text.contains(r#""code":"internal""#), "{text}");

        let later = guarded(|| Handled::Later(Box::pin(async { panic!("secret detail") })));
        let Guarded::Later(answer) = later else { panic!("answered later") };
        let (status, text) = status_and_text(settle(answer).await).await;
        assert_eq!((status, text.contains("secret")), (500, false), "{text}");
    }
}
