//! Routing: the path and method of a request to its handler, with the
//! cross-cutting steps every request takes in the same order: rate limit,
//! CORS preflight, the handler, then the `RateLimit-*` and CORS headers and
//! the metrics — so errors carry the same headers as successes.

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use http::header::{ALLOW, HeaderValue, ORIGIN};
use http::request::Parts;
use http::{Method, Request, StatusCode};
use hyper::body::Incoming;

use super::error::ApiError;
use super::response::Reply;
use super::{Api, Who, bulk, card, kv, peer, presence, ratelimit, service, socket};
use crate::app::reads::Shape;
use crate::card::links::AvatarFormat;
use crate::ids::{InvalidUserId, UserId};

/// A parsed route. Ids are parsed here, so a bad one is a 400 whatever the method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/`
    Root,
    /// `/health`
    Health,
    /// `/metrics`
    Metrics,
    /// `/socket` (Lanyard's WebSocket)
    Socket,
    /// `/user/:id`
    User(Result<Who, InvalidUserId>),
    /// `/user/:id/kv`
    UserKv(Result<Who, InvalidUserId>),
    /// `/user/:id/kv/:key`
    UserKvKey(Result<Who, InvalidUserId>, String),
    /// `/v1/users/:id`
    V1User(Result<Who, InvalidUserId>),
    /// `/v1/users/:id/kv`
    V1UserKv(Result<Who, InvalidUserId>),
    /// `/v1/users/:id/kv/:key`
    V1UserKvKey(Result<Who, InvalidUserId>, String),
    /// `/user/:id/card.svg`
    Card(Result<UserId, InvalidUserId>),
    /// `/api/:id`: the card, at the path of the common Lanyard card service
    ApiCard(Result<UserId, InvalidUserId>),
    /// `/:id.png`, `.gif`, `.webp`, `.jpg`: the avatar link
    Avatar(Result<UserId, InvalidUserId>, AvatarFormat),
    /// `/users?ids=…`: bulk lookup, native shape
    Users,
    /// `/v1/users?ids=…`: bulk lookup, Lanyard shape
    V1Users,
    /// Anything else; `lanyard` when under `/v1`.
    Unknown { lanyard: bool },
}

impl Route {
    /// Metric labels, in the order of `index`.
    pub const LABELS: [&'static str; 16] = [
        "/",
        "/health",
        "/metrics",
        "/socket",
        "/user/:id",
        "/user/:id/kv",
        "/user/:id/kv/:key",
        "/v1/users/:id",
        "/v1/users/:id/kv",
        "/v1/users/:id/kv/:key",
        "/user/:id/card.svg",
        "/api/:id",
        "/:id.png",
        "/users",
        "/v1/users",
        "other",
    ];

    /// Parses a path (a trailing slash is ignored). Only an absolute path names a
    /// route: the request target `*` (or anything else without a leading `/`) is
    /// no path under `/`, whatever follows its first slash.
    pub fn parse(path: &str) -> Route {
        let trimmed = if path.len() > 1 { path.strip_suffix('/').unwrap_or(path) } else { path };
        let Some(relative) = trimmed.strip_prefix('/') else { return Route::Unknown { lanyard: false } };
        let mut segments = relative.split('/');
        let parts: [Option<&str>; 5] = std::array::from_fn(|_| segments.next());
        if segments.next().is_some() {
            return Route::Unknown { lanyard: trimmed.starts_with("/v1/") };
        }
        let who = |s: &str| if s == "@me" { Ok(Who::Me) } else { s.parse::<UserId>().map(Who::User) };
        match parts {
            [Some(""), None, ..] => Route::Root,
            [Some("health"), None, ..] => Route::Health,
            [Some("metrics"), None, ..] => Route::Metrics,
            [Some("socket"), None, ..] => Route::Socket,
            [Some("user"), Some(id), None, ..] => Route::User(who(id)),
            [Some("user"), Some(id), Some("kv"), None, ..] => Route::UserKv(who(id)),
            [Some("user"), Some(id), Some("card.svg"), None, ..] => Route::Card(id.parse()),
            [Some("api"), Some(id), None, ..] => Route::ApiCard(id.parse()),
            [Some("user"), Some(id), Some("kv"), Some(key), None] => Route::UserKvKey(who(id), key.into()),
            [Some("users"), None, ..] => Route::Users,
            [Some("v1"), Some("users"), None, ..] => Route::V1Users,
            [Some("v1"), Some("users"), Some(id), None, ..] => Route::V1User(who(id)),
            [Some("v1"), Some("users"), Some(id), Some("kv"), None] => Route::V1UserKv(who(id)),
            [Some("v1"), Some("users"), Some(id), Some("kv"), Some(key)] => Route::V1UserKvKey(who(id), key.into()),
            [Some("v1"), ..] => Route::Unknown { lanyard: true },
            [Some(file), None, ..] => avatar_link(file).unwrap_or(Route::Unknown { lanyard: false }),
            _ => Route::Unknown { lanyard: false },
        }
    }

    /// Whether errors take Lanyard's envelope.
    pub fn lanyard(&self) -> bool {
        matches!(
            self,
            Route::V1User(_)
                | Route::V1Users
                | Route::V1UserKv(_)
                | Route::V1UserKvKey(..)
                | Route::Unknown { lanyard: true }
        )
    }

    /// Index into `LABELS`.
    pub fn index(&self) -> usize {
        match self {
            Route::Root => 0,
            Route::Health => 1,
            Route::Metrics => 2,
            Route::Socket => 3,
            Route::User(_) => 4,
            Route::UserKv(_) => 5,
            Route::UserKvKey(..) => 6,
            Route::V1User(_) => 7,
            Route::V1UserKv(_) => 8,
            Route::V1UserKvKey(..) => 9,
            Route::Card(_) => 10,
            Route::ApiCard(_) => 11,
            Route::Avatar(..) => 12,
            Route::Users => 13,
            Route::V1Users => 14,
            Route::Unknown { .. } => 15,
        }
    }

    /// Index of a label (for tests).
    #[cfg(test)]
    pub fn index_of(label: &str) -> usize {
        Route::LABELS.iter().position(|l| *l == label).unwrap_or(Route::LABELS.len() - 1)
    }

    /// The methods the route takes, for `Allow` on a 405.
    fn allow(&self) -> &'static str {
        match self {
            Route::UserKv(_) => "GET, PATCH, OPTIONS",
            Route::UserKvKey(..) => "GET, PUT, DELETE, OPTIONS",
            Route::V1UserKv(_) => "PATCH, OPTIONS",
            Route::V1UserKvKey(..) => "PUT, DELETE, OPTIONS",
            _ => "GET, OPTIONS",
        }
    }
}

/// `/:id.<format>`, when the name is digits and the extension an image format (other
/// names, `/favicon.png` say, are no user's).
fn avatar_link(file: &str) -> Option<Route> {
    let (stem, ext) = file.rsplit_once('.')?;
    let format = AvatarFormat::from_extension(ext)?;
    (!stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit())).then(|| Route::Avatar(stem.parse(), format))
}

/// Which routes a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The API listener.
    Api,
    /// A separate metrics listener: `/metrics` only.
    MetricsOnly,
}

/// A request answered at once, or the future that answers it.
pub enum Handled {
    /// Answered without waiting: the common case of a cached presence read.
    Now(Reply),
    /// Answered after waiting on the store, a token check or a request body.
    Later(Pin<Box<dyn Future<Output = Reply> + Send>>),
}

/// Answers one request. Never fails: every error is a JSON response.
///
/// What needs no waiting is done here, before hyper reads on: the request (whose
/// parts share hyper's read buffer) is gone when this returns `Now`, so hyper
/// reuses its buffer instead of allocating a new one for the next request.
pub fn handle(api: &Arc<Api>, req: Request<Incoming>, peer_addr: std::net::SocketAddr, scope: Scope) -> Handled {
    let started = Instant::now();
    let (mut parts, body) = req.into_parts();
    let route = match (scope, Route::parse(parts.uri.path())) {
        (Scope::MetricsOnly, Route::Metrics) => Route::Metrics,
        (Scope::MetricsOnly, _) => Route::Unknown { lanyard: false },
        (Scope::Api, Route::Metrics) if !api.metrics_on_api => Route::Unknown { lanyard: false },
        (Scope::Api, route) => route,
    };
    let client = peer::client_addr(peer_addr.ip(), &parts.headers, &api.trusted_proxies);
    let verdict = if scope == Scope::Api { Some(api.limiter.check(client, started)) } else { None };
    let now = match verdict {
        Some(v) if !v.allowed => {
            api.metrics.rate_limited.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Some(Err(ApiError::rate_limited(v.retry_after())))
        }
        _ if parts.method == Method::OPTIONS => Some(Ok(api.cors.preflight())),
        _ => dispatch_now(api, &route, &mut parts, client),
    };
    match now {
        Some(result) => Handled::Now(finish(api, result, &route, &parts, verdict, started)),
        None => {
            let api = api.clone();
            Handled::Later(Box::pin(async move {
                let result = dispatch(&api, &route, &mut parts, body, client).await;
                finish(&api, result, &route, &parts, verdict, started)
            }))
        }
    }
}

/// The steps after every handler: the error reply, `RateLimit-*`, CORS and the metrics.
fn finish(
    api: &Api,
    result: Result<Reply, ApiError>,
    route: &Route,
    parts: &Parts,
    verdict: Option<ratelimit::Verdict>,
    started: Instant,
) -> Reply {
    let mut reply = result.unwrap_or_else(|e| {
        let mut reply = e.reply(route.lanyard());
        if e.status == StatusCode::METHOD_NOT_ALLOWED {
            reply.headers_mut().insert(ALLOW, HeaderValue::from_static(route.allow()));
        }
        reply
    });
    if let Some(v) = verdict {
        v.apply(reply.headers_mut());
    }
    api.cors.apply(parts.headers.get(ORIGIN), reply.headers_mut());
    api.metrics.observe(route.index(), reply.status().as_u16(), started.elapsed());
    reply
}

/// The method a route sees (`HEAD` is answered as `GET`, hyper leaves the body out).
fn method(parts: &Parts) -> Method {
    if parts.method == Method::HEAD { Method::GET } else { parts.method.clone() }
}

/// The routes answered without waiting; `None` for those that wait.
/// `client` is the client address (for the sockets-per-address limit).
fn dispatch_now(api: &Arc<Api>, route: &Route, parts: &mut Parts, client: IpAddr) -> Option<Result<Reply, ApiError>> {
    match (route, method(parts)) {
        (Route::Root, Method::GET) => Some(Ok(service::root(api))),
        (Route::Metrics, Method::GET) => Some(Ok(service::metrics(api))),
        (Route::Socket, Method::GET) => Some(socket::upgrade(api, parts, client)),
        (Route::User(who), Method::GET) => presence::reply_now(api, who, &parts.headers, Shape::Native),
        (Route::V1User(who), Method::GET) => presence::reply_now(api, who, &parts.headers, Shape::Lanyard),
        (Route::Users, Method::GET) => bulk::reply_now(api, parts.uri.query(), &parts.headers, Shape::Native),
        (Route::V1Users, Method::GET) => bulk::reply_now(api, parts.uri.query(), &parts.headers, Shape::Lanyard),
        (Route::Card(id) | Route::ApiCard(id), Method::GET) => card::reply_now(api, id, parts),
        (Route::Avatar(id, format), Method::GET) => Some(card::avatar(api, id, *format, parts)),
        (Route::Health | Route::UserKv(_) | Route::UserKvKey(..), Method::GET) => None,
        (Route::UserKvKey(..) | Route::V1UserKvKey(..), Method::PUT | Method::DELETE) => None,
        (Route::UserKv(_) | Route::V1UserKv(_), Method::PATCH) => None,
        (Route::Unknown { .. }, _) => Some(Err(ApiError::not_found())),
        _ => Some(Err(ApiError::method_not_allowed())),
    }
}

/// The routes that wait (and the others, for whatever `dispatch_now` left).
async fn dispatch(
    api: &Arc<Api>,
    route: &Route,
    parts: &mut Parts,
    body: Incoming,
    client: IpAddr,
) -> Result<Reply, ApiError> {
    match (route, method(parts)) {
        (Route::Health, Method::GET) => Ok(service::health(api).await),
        (Route::User(who), Method::GET) => presence::reply(api, who, &parts.headers, Shape::Native).await,
        (Route::V1User(who), Method::GET) => presence::reply(api, who, &parts.headers, Shape::Lanyard).await,
        (Route::Users, Method::GET) => bulk::reply(api, parts.uri.query(), &parts.headers, Shape::Native).await,
        (Route::V1Users, Method::GET) => bulk::reply(api, parts.uri.query(), &parts.headers, Shape::Lanyard).await,
        (Route::Card(id) | Route::ApiCard(id), Method::GET) => card::reply(api, id, parts).await,
        (Route::UserKv(who), Method::GET) => kv::all(api, who, &parts.headers).await,
        (Route::UserKvKey(who, key), Method::GET) => kv::one(api, who, key, &parts.headers).await,
        (Route::UserKvKey(who, key) | Route::V1UserKvKey(who, key), Method::PUT) => {
            kv::put(api, who, key, &parts.headers, body).await
        }
        (Route::UserKv(who) | Route::V1UserKv(who), Method::PATCH) => kv::patch(api, who, &parts.headers, body).await,
        (Route::UserKvKey(who, key) | Route::V1UserKvKey(who, key), Method::DELETE) => {
            kv::delete(api, who, key, &parts.headers).await
        }
        _ => dispatch_now(api, route, parts, client).unwrap_or_else(|| Err(ApiError::method_not_allowed())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_to_routes() {
        let id = || Ok(Who::User(UserId(470320681905684500)));
        assert_eq!(Route::parse("/"), Route::Root);
        assert_eq!(Route::parse("/user/470320681905684500"), Route::User(id()));
        assert_eq!(Route::parse("/user/470320681905684500/"), Route::User(id()));
        assert_eq!(Route::parse("/user/@me/kv"), Route::UserKv(Ok(Who::Me)));
        assert_eq!(Route::parse("/v1/users/470320681905684500/kv/k"), Route::V1UserKvKey(id(), "k".into()));
        assert!(matches!(Route::parse("/user/abc"), Route::User(Err(_))));
        assert_eq!(Route::parse("/v1/nope"), Route::Unknown { lanyard: true });
        assert_eq!(Route::parse("/user/1/kv/k/extra"), Route::Unknown { lanyard: false });
        assert_eq!(Route::parse("/nope"), Route::Unknown { lanyard: false });
        let user = || Ok(UserId(470320681905684500));
        assert_eq!(Route::parse("/user/470320681905684500/card.svg"), Route::Card(user()));
        assert_eq!(Route::parse("/api/470320681905684500"), Route::ApiCard(user()));
        assert_eq!(Route::parse("/470320681905684500.webp"), Route::Avatar(user(), AvatarFormat::Webp));
        assert!(matches!(Route::parse("/99999999999999999999999.png"), Route::Avatar(Err(_), AvatarFormat::Png)));
        assert_eq!(Route::parse("/favicon.png"), Route::Unknown { lanyard: false });
        assert_eq!(Route::parse("/1.bmp"), Route::Unknown { lanyard: false });
        assert!(matches!(Route::parse("/api/me"), Route::ApiCard(Err(_))));
        assert_eq!(Route::parse("/users"), Route::Users);
        assert_eq!(Route::parse("/v1/users/"), Route::V1Users);
        assert!(Route::V1Users.lanyard() && !Route::Users.lanyard());
    }

    #[test]
    fn only_an_absolute_path_names_a_route() {
        for path in ["*/user/1/kv/k", "x/v1/users/1", "user/1", "*", ""] {
            assert_eq!(Route::parse(path), Route::Unknown { lanyard: false }, "{path:?}");
        }
    }
}
