//! Routing: the path and method of a request to its handler (one `async fn`
//! per route), with the cross-cutting steps every request takes in the same
//! order: rate limit, CORS preflight, the handler, then the `RateLimit-*` and
//! CORS headers and the metrics — so errors carry the same headers as successes.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use http::header::{ALLOW, HeaderValue, ORIGIN};
use http::request::Parts;
use http::{Method, Request, StatusCode};
use hyper::body::Incoming;

use super::error::ApiError;
use super::page::AssetName;
use super::response::Reply;
use super::{Api, Who, bulk, card, kv, openapi, page, peer, presence, ratelimit, relay, service, socket};
use crate::app::reads::Shape;
use crate::card::links::AvatarFormat;
use crate::ids::{InvalidUserId, UserId};

type PathUser = Result<Who, InvalidUserId>;
type PathId = Result<UserId, InvalidUserId>;

/// A parsed route. Ids are parsed here, so a bad one is a 400 whatever the
/// method. The native tree (`/user/…`) and Lanyard's (`/v1/users/…`) are the
/// same routes in two [`Shape`]s: the shape picks the body and the error envelope.
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
    /// `/user/:id`, `/v1/users/:id`
    User { who: PathUser, shape: Shape },
    /// `/user/:id/kv`, `/v1/users/:id/kv`
    Kv { who: PathUser, shape: Shape },
    /// `/user/:id/kv/:key`, `/v1/users/:id/kv/:key`
    KvKey { who: PathUser, key: String, shape: Shape },
    /// `/user/:id/card.svg`
    Card(PathId),
    /// `/api/:id`: the card, at the path of the common Lanyard card service
    ApiCard(PathId),
    /// `/:id.png`, `.gif`, `.webp`, `.jpg`: the avatar link
    Avatar(PathId, AvatarFormat),
    /// `/users?ids=…`, `/v1/users?ids=…`: bulk lookup
    Users { shape: Shape },
    /// `/web/app.js`, `/web/style.css`: the web page's assets
    Asset(AssetName),
    /// `/openapi.json`
    OpenApi,
    /// Anything else: Lanyard's shape under `/v1`.
    Unknown { shape: Shape },
}

impl Route {
    /// Metric labels, in the order of `index`.
    pub const LABELS: [&'static str; 18] = [
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
        "/web/:asset",
        "/openapi.json",
        "other",
    ];

    /// Parses a path (a trailing slash is ignored). Only an absolute path names a
    /// route: the request target `*` (or anything else without a leading `/`) is
    /// no path under `/`, whatever follows its first slash.
    pub fn parse(path: &str) -> Route {
        const NOTHING: Route = Route::Unknown { shape: Shape::Native };
        let trimmed = if path.len() > 1 { path.strip_suffix('/').unwrap_or(path) } else { path };
        let Some(relative) = trimmed.strip_prefix('/') else { return NOTHING };
        if relative == "v1" {
            return Route::Unknown { shape: Shape::Lanyard };
        }
        // Lanyard's tree is the native one under `/v1`, with `users/:id` for `user/:id`.
        let (shape, tree) = match relative.strip_prefix("v1/") {
            Some(rest) => (Shape::Lanyard, rest),
            None => (Shape::Native, relative),
        };
        if tree == "users" {
            return Route::Users { shape };
        }
        let user_path = tree.strip_prefix(if shape == Shape::Lanyard { "users/" } else { "user/" });
        let who = |s: &str| if s == "@me" { Ok(Who::Me) } else { s.parse::<UserId>().map(Who::User) };
        if let Some(rest) = user_path {
            let mut segments = rest.split('/');
            let parts: [Option<&str>; 4] = std::array::from_fn(|_| segments.next());
            return match parts {
                [Some(id), None, ..] => Route::User { who: who(id), shape },
                [Some(id), Some("kv"), None, ..] => Route::Kv { who: who(id), shape },
                [Some(id), Some("kv"), Some(key), None] => Route::KvKey { who: who(id), key: key.into(), shape },
                [Some(id), Some("card.svg"), None, ..] if shape == Shape::Native => Route::Card(id.parse()),
                _ => Route::Unknown { shape },
            };
        }
        if shape == Shape::Lanyard {
            return Route::Unknown { shape };
        }
        match relative.split_once('/') {
            None => match relative {
                "" => Route::Root,
                "health" => Route::Health,
                "metrics" => Route::Metrics,
                "socket" => Route::Socket,
                "openapi.json" => Route::OpenApi,
                file => avatar_link(file).unwrap_or(NOTHING),
            },
            Some(("api", id)) if !id.contains('/') => Route::ApiCard(id.parse()),
            Some(("web", file)) => AssetName::from_file(file).map_or(NOTHING, Route::Asset),
            Some(_) => NOTHING,
        }
    }

    /// The shape of the route's bodies and errors.
    pub fn shape(&self) -> Shape {
        match self {
            Route::User { shape, .. } | Route::Kv { shape, .. } | Route::KvKey { shape, .. } => *shape,
            Route::Users { shape } | Route::Unknown { shape } => *shape,
            Route::Root | Route::Health | Route::Metrics | Route::Socket | Route::OpenApi => Shape::Native,
            Route::Card(_) | Route::ApiCard(_) | Route::Avatar(..) | Route::Asset(_) => Shape::Native,
        }
    }

    /// Index into `LABELS`.
    pub fn index(&self) -> usize {
        let lanyard = |shape: &Shape| if *shape == Shape::Lanyard { 3 } else { 0 };
        match self {
            Route::Root => 0,
            Route::Health => 1,
            Route::Metrics => 2,
            Route::Socket => 3,
            Route::User { shape, .. } => 4 + lanyard(shape),
            Route::Kv { shape, .. } => 5 + lanyard(shape),
            Route::KvKey { shape, .. } => 6 + lanyard(shape),
            Route::Card(_) => 10,
            Route::ApiCard(_) => 11,
            Route::Avatar(..) => 12,
            Route::Users { shape } => 13 + usize::from(*shape == Shape::Lanyard),
            Route::Asset(_) => 15,
            Route::OpenApi => 16,
            Route::Unknown { .. } => 17,
        }
    }

    /// Index of a label (for tests).
    #[cfg(test)]
    pub(crate) fn index_of(label: &str) -> usize {
        Route::LABELS.iter().position(|l| *l == label).unwrap_or(Route::LABELS.len() - 1)
    }

    /// The methods the route takes, for `Allow` on a 405: read from the route
    /// table, so the two cannot disagree.
    fn allow(&self) -> HeaderValue {
        let mut allow = String::new();
        for method in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE] {
            if !matches!(Handler::of(self, &method), Handler::NotAllowed | Handler::NotFound) {
                allow.push_str(method.as_str());
                allow.push_str(", ");
            }
        }
        allow.push_str("OPTIONS");
        HeaderValue::try_from(allow).unwrap_or(HeaderValue::from_static("OPTIONS"))
    }
}

/// `/:id.<format>`, when the name is digits and the extension an image format (other
/// names, `/favicon.png` say, are no user's).
fn avatar_link(file: &str) -> Option<Route> {
    let (stem, ext) = file.rsplit_once('.')?;
    let format = AvatarFormat::from_extension(ext)?;
    (!stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit())).then(|| Route::Avatar(stem.parse(), format))
}

/// What answers a request. [`Handler::of`] is the route table (which route and
/// method run what), [`Handler::answer`] runs it; both match every handler by
/// name, with no catch-all: a new one does not compile until it has a row in each.
enum Handler<'a> {
    Root,
    Health,
    Metrics,
    Socket,
    OpenApi,
    Presence(&'a PathUser, Shape),
    Bulk(Shape),
    Card(&'a PathId),
    Avatar(&'a PathId, AvatarFormat),
    Asset(AssetName),
    KvAll(&'a PathUser),
    KvOne(&'a PathUser, &'a str),
    KvPut(&'a PathUser, &'a str),
    KvPatch(&'a PathUser),
    KvDelete(&'a PathUser, &'a str),
    NotFound,
    NotAllowed,
}

impl<'a> Handler<'a> {
    /// The route table. `HEAD` is routed as `GET` (hyper leaves the body out).
    fn of(route: &'a Route, method: &Method) -> Handler<'a> {
        let method = if *method == Method::HEAD { &Method::GET } else { method };
        match (route, method) {
            (Route::Root, &Method::GET) => Handler::Root,
            (Route::Health, &Method::GET) => Handler::Health,
            (Route::Metrics, &Method::GET) => Handler::Metrics,
            (Route::Socket, &Method::GET) => Handler::Socket,
            (Route::OpenApi, &Method::GET) => Handler::OpenApi,
            (Route::User { who, shape }, &Method::GET) => Handler::Presence(who, *shape),
            (Route::Users { shape }, &Method::GET) => Handler::Bulk(*shape),
            (Route::Card(id) | Route::ApiCard(id), &Method::GET) => Handler::Card(id),
            (Route::Avatar(id, format), &Method::GET) => Handler::Avatar(id, *format),
            (Route::Asset(name), &Method::GET) => Handler::Asset(*name),
            // Lanyard's KV API has no reads: its KV shows in the presence.
            (Route::Kv { who, shape: Shape::Native }, &Method::GET) => Handler::KvAll(who),
            (Route::KvKey { who, key, shape: Shape::Native }, &Method::GET) => Handler::KvOne(who, key),
            (Route::KvKey { who, key, .. }, &Method::PUT) => Handler::KvPut(who, key),
            (Route::Kv { who, .. }, &Method::PATCH) => Handler::KvPatch(who),
            (Route::KvKey { who, key, .. }, &Method::DELETE) => Handler::KvDelete(who, key),
            (Route::Unknown { .. }, _) => Handler::NotFound,
            _ => Handler::NotAllowed,
        }
    }

    /// The handler's answer. `client` is the client address (for the
    /// sockets-per-address limit).
    async fn answer(
        self,
        api: &Arc<Api>,
        parts: &mut Parts,
        body: Incoming,
        client: IpAddr,
    ) -> Result<Reply, ApiError> {
        let (headers, query) = (&parts.headers, parts.uri.query().unwrap_or_default());
        // The hot route's future is held inline; the others are boxed, so that the
        // future hyper holds (and moves) for every request stays the size of the
        // presence read's.
        match self {
            // A replica answers no KV route itself: the primary has the tokens and the data.
            Handler::KvAll(_)
            | Handler::KvOne(..)
            | Handler::KvPut(..)
            | Handler::KvPatch(_)
            | Handler::KvDelete(..)
                if api.app.cluster.is_replica() =>
            {
                Box::pin(relay::forward(api, parts, body)).await
            }
            Handler::Root => Ok(Box::pin(page::root(api, headers, query)).await),
            Handler::Health => Ok(Box::pin(service::health(api)).await),
            Handler::Metrics => Ok(service::metrics(api)),
            Handler::Socket => socket::upgrade(api, parts, client),
            Handler::OpenApi => Ok(openapi::reply(headers)),
            Handler::Presence(who, shape) => presence::reply(api, who, headers, shape).await,
            Handler::Bulk(shape) => Box::pin(bulk::reply(api, query, headers, shape)).await,
            Handler::Card(id) => Box::pin(card::reply(api, id, headers, query)).await,
            Handler::Avatar(id, format) => card::avatar(api, id, format, query),
            Handler::Asset(name) => Ok(page::asset(api, name, headers, query)),
            Handler::KvAll(who) => Box::pin(kv::all(api, who, headers)).await,
            Handler::KvOne(who, key) => Box::pin(kv::one(api, who, key, headers)).await,
            Handler::KvPut(who, key) => Box::pin(kv::put(api, who, key, headers, body)).await,
            Handler::KvPatch(who) => Box::pin(kv::patch(api, who, headers, body)).await,
            Handler::KvDelete(who, key) => Box::pin(kv::delete(api, who, key, headers)).await,
            Handler::NotFound => Err(ApiError::not_found()),
            Handler::NotAllowed => Err(ApiError::method_not_allowed()),
        }
    }
}

/// A KV request a replica relayed (the primary's end of `relay`): answered by
/// the same KV routes as over HTTP, the address rate limit aside (the replica
/// the client reached applied it).
pub(super) async fn relayed(
    api: &Api,
    method: &Method,
    path: &str,
    headers: &http::HeaderMap,
    body: bytes::Bytes,
) -> Reply {
    let route = Route::parse(path);
    let body = http_body_util::Full::new(body);
    let result = match Handler::of(&route, method) {
        Handler::KvAll(who) => kv::all(api, who, headers).await,
        Handler::KvOne(who, key) => kv::one(api, who, key, headers).await,
        Handler::KvPut(who, key) => kv::put(api, who, key, headers, body).await,
        Handler::KvPatch(who) => kv::patch(api, who, headers, body).await,
        Handler::KvDelete(who, key) => kv::delete(api, who, key, headers).await,
        _ => Err(ApiError::not_found()),
    };
    result.unwrap_or_else(|e| e.reply(route.shape()))
}

/// Which routes a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The API listener.
    Api,
    /// A separate metrics listener: `/metrics` only.
    MetricsOnly,
}

/// What the requests of one connection share: cloned per request, it touches
/// only this connection's reference count, not the one every connection shares
/// (a cache line both cores would pass around).
pub struct Connection {
    /// The API.
    pub api: Arc<Api>,
    /// The peer's address.
    pub peer: std::net::SocketAddr,
    /// Which routes its listener serves.
    pub scope: Scope,
    /// How long it has waited for a request head (the header timeout).
    pub(super) idle: super::server::Idle,
}

/// Answers one request. Never fails: every error is a JSON response.
pub async fn handle(connection: Arc<Connection>, req: Request<Incoming>) -> Reply {
    let _busy = connection.idle.busy();
    let Connection { api, peer: peer_addr, scope, .. } = &*connection;
    let scope = *scope;
    let started = Instant::now();
    let (mut parts, body) = req.into_parts();
    let route = match (scope, Route::parse(parts.uri.path())) {
        (Scope::MetricsOnly, Route::Metrics) => Route::Metrics,
        (Scope::MetricsOnly, _) => Route::Unknown { shape: Shape::Native },
        (Scope::Api, Route::Metrics) if !api.metrics_on_api => Route::Unknown { shape: Shape::Native },
        (Scope::Api, route) => route,
    };
    let client = peer::client_addr(peer_addr.ip(), &parts.headers, &api.trusted_proxies);
    let verdict = if scope == Scope::Api { Some(api.limiter.check(client, started)) } else { None };
    let result = match verdict {
        Some(v) if !v.allowed => {
            api.metrics.rate_limited.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Err(ApiError::rate_limited(v.retry_after()))
        }
        _ if parts.method == Method::OPTIONS => Ok(api.cors.preflight()),
        _ => {
            let handler = Handler::of(&route, &parts.method);
            handler.answer(api, &mut parts, body, client).await
        }
    };
    finish(api, result, &route, &parts, verdict, started)
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
        let mut reply = e.reply(route.shape());
        if e.status == StatusCode::METHOD_NOT_ALLOWED {
            reply.headers_mut().insert(ALLOW, route.allow());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_to_routes() {
        let id = || Ok(Who::User(UserId(470320681905684500)));
        let (native, lanyard) = (Shape::Native, Shape::Lanyard);
        assert_eq!(Route::parse("/"), Route::Root);
        assert_eq!(Route::parse("/user/470320681905684500"), Route::User { who: id(), shape: native });
        assert_eq!(Route::parse("/user/470320681905684500/"), Route::User { who: id(), shape: native });
        assert_eq!(Route::parse("/v1/users/470320681905684500"), Route::User { who: id(), shape: lanyard });
        assert_eq!(Route::parse("/user/@me/kv"), Route::Kv { who: Ok(Who::Me), shape: native });
        assert_eq!(
            Route::parse("/v1/users/470320681905684500/kv/k"),
            Route::KvKey { who: id(), key: "k".into(), shape: lanyard }
        );
        assert!(matches!(Route::parse("/user/abc"), Route::User { who: Err(_), .. }));
        assert_eq!(Route::parse("/v1/nope"), Route::Unknown { shape: lanyard });
        assert_eq!(Route::parse("/v1"), Route::Unknown { shape: lanyard });
        assert_eq!(Route::parse("/v1/users/1/card.svg"), Route::Unknown { shape: lanyard });
        assert_eq!(Route::parse("/user/1/kv/k/extra"), Route::Unknown { shape: native });
        assert_eq!(Route::parse("/nope"), Route::Unknown { shape: native });
        assert_eq!(Route::parse("/health/x"), Route::Unknown { shape: native });
        let user = || Ok(UserId(470320681905684500));
        assert_eq!(Route::parse("/user/470320681905684500/card.svg"), Route::Card(user()));
        assert_eq!(Route::parse("/api/470320681905684500"), Route::ApiCard(user()));
        assert_eq!(Route::parse("/470320681905684500.webp"), Route::Avatar(user(), AvatarFormat::Webp));
        assert!(matches!(Route::parse("/99999999999999999999999.png"), Route::Avatar(Err(_), AvatarFormat::Png)));
        assert_eq!(Route::parse("/favicon.png"), Route::Unknown { shape: native });
        assert_eq!(Route::parse("/1.bmp"), Route::Unknown { shape: native });
        assert!(matches!(Route::parse("/api/me"), Route::ApiCard(Err(_))));
        assert_eq!(Route::parse("/users"), Route::Users { shape: native });
        assert_eq!(Route::parse("/openapi.json"), Route::OpenApi);
        assert_eq!(Route::parse("/v1/users/"), Route::Users { shape: lanyard });
        assert_eq!(Route::parse("/users/1"), Route::Unknown { shape: native });
        assert_eq!(Route::parse("/v1/user/1"), Route::Unknown { shape: lanyard });
        assert_eq!(Route::parse("/web/app.js"), Route::Asset(AssetName::Script));
        assert_eq!(Route::parse("/web/style.css"), Route::Asset(AssetName::Style));
        assert_eq!(Route::parse("/web/../Cargo.toml"), Route::Unknown { shape: native });
        assert_eq!(Route::parse("/web/"), Route::Unknown { shape: native });
        assert_eq!(Route::parse("/v1/web/app.js"), Route::Unknown { shape: lanyard });
    }

    #[test]
    fn only_an_absolute_path_names_a_route() {
        for path in ["*/user/1/kv/k", "x/v1/users/1", "user/1", "*", ""] {
            assert_eq!(Route::parse(path), Route::Unknown { shape: Shape::Native }, "{path:?}");
        }
    }

    #[test]
    fn every_label_is_one_route_s() {
        let paths = [
            "/",
            "/health",
            "/metrics",
            "/socket",
            "/user/1",
            "/user/1/kv",
            "/user/1/kv/k",
            "/v1/users/1",
            "/v1/users/1/kv",
            "/v1/users/1/kv/k",
            "/user/1/card.svg",
            "/api/1",
            "/1.png",
            "/users",
            "/v1/users",
            "/web/app.js",
            "/openapi.json",
            "/nope",
        ];
        let indexes: Vec<usize> = paths.iter().map(|p| Route::parse(p).index()).collect();
        assert_eq!(indexes, (0..Route::LABELS.len()).collect::<Vec<_>>());
    }

    #[test]
    fn allow_lists_what_the_table_routes() {
        let allow = |path: &str| Route::parse(path).allow().to_str().unwrap().to_owned();
        assert_eq!(allow("/user/1/kv"), "GET, PATCH, OPTIONS");
        assert_eq!(allow("/user/1/kv/k"), "GET, PUT, DELETE, OPTIONS");
        assert_eq!(allow("/v1/users/1/kv"), "PATCH, OPTIONS");
        assert_eq!(allow("/v1/users/1/kv/k"), "PUT, DELETE, OPTIONS");
        for path in [
            "/",
            "/health",
            "/metrics",
            "/socket",
            "/user/1",
            "/v1/users/1",
            "/users",
            "/api/1",
            "/1.gif",
            "/web/app.js",
        ] {
            assert_eq!(allow(path), "GET, OPTIONS", "{path}");
        }
    }

    #[test]
    fn head_is_routed_as_get() {
        let route = Route::parse("/user/1/kv");
        assert!(matches!(Handler::of(&route, &Method::HEAD), Handler::KvAll(_)));
        assert!(matches!(Handler::of(&route, &Method::POST), Handler::NotAllowed));
        assert!(matches!(Handler::of(&Route::parse("/x/y"), &Method::POST), Handler::NotFound));
    }
}
