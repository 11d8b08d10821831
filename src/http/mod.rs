//! The HTTP and WebSocket API (docs/API.md): hyper 1 over HTTP/1.1, an adapter
//! over `App` like every other part.
//!
//! * `server` — accept loop, connection caps (`per_ip`), hyper's header
//!   timeout and graceful drain.
//! * `router` — path → route → handler (one `async fn` per route), and the
//!   steps every request takes (rate limit, preflight, `RateLimit-*` and CORS
//!   headers, metrics).
//! * Route groups: `presence` (presence reads, native and Lanyard), `bulk`
//!   (many users in one read), `openapi` (the API's own description), `kv`,
//!   `service` (`/`, `/health`, `/metrics`), `socket` (Lanyard's `/socket`),
//!   `card` (the status card and avatar links, made in `crate::card`),
//!   `page` (the web page browsers get at `/`, chosen by `accept`, and its assets),
//!   `relay` (a replica's KV routes, answered by the primary over NATS).
//! * Cross-cutting: `error` (the one error → response mapping), `auth`,
//!   `ratelimit`, `peer` (trusted proxies), `cors`, `metrics`.

mod accept;
mod auth;
mod bulk;
mod card;
mod cors;
mod error;
pub(crate) mod kv;
mod metrics;
mod openapi;
mod page;
pub(crate) mod peer;
mod per_ip;
mod presence;
pub mod ratelimit;
mod relay;
mod response;
pub(crate) mod router;
mod server;
mod service;
pub mod socket;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::App;
use crate::ids::UserId;

pub use kv::BODY_LIMIT;
pub use server::{Listeners, bind, serve};

/// Whom a `:id` path segment names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// `@me`: the owner of the request's token.
    Me,
    /// A user id.
    User(UserId),
}

/// The state every request handler shares.
pub struct Api {
    app: Arc<App>,
    limiter: ratelimit::RateLimiter,
    metrics: metrics::Metrics,
    /// The status card's image cache and rendered cards.
    cards: crate::card::Cards,
    /// The web page and its assets.
    page: page::Page,
    hub: Arc<socket::hub::Hub>,
    /// Connections open per peer address (`http.max_connections_per_ip`).
    connections_per_ip: Arc<per_ip::PerIp>,
    /// Sockets open per client address (`socket.max_per_ip`).
    sockets_per_ip: Arc<per_ip::PerIp>,
    cors: cors::Cors,
    trusted_proxies: Vec<ipnet::IpNet>,
    metrics_on_api: bool,
    max_connections: usize,
    /// Cancelled on shutdown: sockets close with 1001, connections drain.
    stop: CancellationToken,
    /// Every connection and socket task, waited for on shutdown.
    alive: TaskTracker,
}

impl Api {
    fn new(app: Arc<App>, stop: CancellationToken, alive: TaskTracker, metrics_on_api: bool) -> Api {
        let config = app.config();
        Api {
            limiter: ratelimit::RateLimiter::new(&config.rate_limit),
            metrics: metrics::Metrics::default(),
            page: page::Page::new(&app),
            hub: Arc::new(socket::hub::Hub::new(&config.socket)),
            connections_per_ip: per_ip::PerIp::new(config.http.max_connections_per_ip),
            sockets_per_ip: per_ip::PerIp::new(config.socket.max_per_ip),
            cards: crate::card::Cards::new(&config.card),
            cors: cors::Cors::new(&config.http.cors_origins),
            trusted_proxies: config.http.trusted_proxies.clone(),
            metrics_on_api,
            max_connections: config.http.max_connections.max(1),
            stop,
            alive,
            app,
        }
    }
}
