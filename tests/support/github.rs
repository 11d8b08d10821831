//! A fake GitHub REST API: `GET /users/LOGIN` on 127.0.0.1, in its own runtime
//! thread. It serves GitHub-shaped user objects with ETags, answers 304 to a
//! matching `If-None-Match`, 404 to unknown logins, a primary rate-limit 403
//! (`X-RateLimit-Remaining: 0`, `X-RateLimit-Reset`) while switched on, and
//! records every request (login, headers, time, status) for the assertions.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use harmy::app::App;
use harmy::app::github::Record;
use harmy::ids::UserId;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use super::discord_gateway::FakeGateway;
use super::{Instance, stderr, stdout};

/// One request the fake answered.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The login asked for, as written in the path.
    pub login: String,
    /// Header names in lowercase.
    pub headers: HashMap<String, String>,
    /// When it arrived.
    pub at: SystemTime,
    /// The status answered.
    pub status: u16,
}

#[derive(Default)]
struct State {
    /// Lowercase login → (user object, version for the ETag).
    users: HashMap<String, (Value, u64)>,
    /// 403 everything until this Unix second.
    rate_limited_until: Option<u64>,
    /// Answer every request with this status (e.g. 500).
    failing: Option<u16>,
    seen: Vec<Seen>,
}

/// A running fake GitHub; it lives until the test process ends.
pub struct FakeGithub {
    /// Base URL for `github.api_url`.
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeGithub {
    /// Binds 127.0.0.1:0 and serves in a thread of its own.
    pub fn start() -> FakeGithub {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind fake GitHub");
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let served = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                while let Ok((stream, _)) = listener.accept().await {
                    let state = served.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            let answer = answer(&state, &request);
                            async move { Ok::<_, Infallible>(answer) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        FakeGithub { url, state }
    }

    /// Adds or changes a user (GitHub's shape, `blog` `""` as GitHub sends it
    /// when unset); every change gives a new ETag.
    pub fn put_user(&self, login: &str, id: u64, bio: &str, public_repos: u64) {
        let user = json!({
            "login": login, "id": id, "node_id": "MDQ6VXNlcjE=",
            "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
            "html_url": format!("https://github.com/{login}"), "type": "User", "site_admin": false,
            "name": null, "company": null, "blog": "", "location": null, "email": null,
            "bio": bio, "public_repos": public_repos, "followers": 3, "following": 0,
            "created_at": "2011-01-25T18:44:36Z", "updated_at": "2024-07-01T10:00:00Z"
        });
        let mut state = self.state.lock().unwrap();
        let version = state.users.get(&login.to_lowercase()).map_or(1, |(_, v)| v + 1);
        state.users.insert(login.to_lowercase(), (user, version));
    }

    /// Deletes a user: later requests get 404.
    pub fn remove_user(&self, login: &str) {
        self.state.lock().unwrap().users.remove(&login.to_lowercase());
    }

    /// The ETag currently served for a user.
    pub fn etag(&self, login: &str) -> String {
        let state = self.state.lock().unwrap();
        let (_, version) = state.users.get(&login.to_lowercase()).expect("no such fake user");
        etag(login, *version)
    }

    /// Answers every request with 403 and `X-RateLimit-Remaining: 0` until this Unix second.
    pub fn rate_limit_until(&self, reset: u64) {
        self.state.lock().unwrap().rate_limited_until = Some(reset);
    }

    /// Answers every request with `status` (e.g. 500), or normally again with `None`.
    pub fn fail_with(&self, status: Option<u16>) {
        self.state.lock().unwrap().failing = status;
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// How many requests asked for this login (any case).
    pub fn count(&self, login: &str) -> usize {
        self.seen().iter().filter(|s| s.login.eq_ignore_ascii_case(login)).count()
    }
}

/// The current Unix second.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn etag(login: &str, version: u64) -> String {
    format!("W/\"{}-v{version}\"", login.to_lowercase())
}

fn answer(state: &Mutex<State>, request: &Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let mut state = state.lock().unwrap();
    let login = request.uri().path().strip_prefix("/users/").unwrap_or("").to_string();
    let now = SystemTime::now();
    let now_secs = now.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    let reply = |status: u16, headers: &[(&str, String)], body: Value| {
        let mut response = Response::builder().status(status).header("content-type", "application/json; charset=utf-8");
        for (name, value) in headers {
            response = response.header(*name, value);
        }
        let body = if status == 304 { Bytes::new() } else { Bytes::from(body.to_string()) };
        response.body(Full::new(body)).unwrap()
    };
    let response = if let Some(reset) = state.rate_limited_until.filter(|reset| now_secs < *reset as f64) {
        let headers = [
            ("x-ratelimit-limit", "60".to_string()),
            ("x-ratelimit-remaining", "0".to_string()),
            ("x-ratelimit-reset", reset.to_string()),
        ];
        reply(403, &headers, json!({"message": "API rate limit exceeded for 127.0.0.1."}))
    } else if let Some(status) = state.failing {
        reply(status, &[], json!({"message": "Server Error"}))
    } else {
        match state.users.get(&login.to_lowercase()) {
            None => reply(404, &[], json!({"message": "Not Found", "status": "404"})),
            Some((user, version)) => {
                let tag = etag(&login, *version);
                let matches = request.headers().get("if-none-match").is_some_and(|v| v.as_bytes() == tag.as_bytes());
                let headers = [("etag", tag), ("x-ratelimit-remaining", "59".to_string())];
                reply(if matches { 304 } else { 200 }, &headers, user.clone())
            }
        }
    };
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    state.seen.push(Seen { login, headers, at: now, status: response.status().as_u16() });
    response
}

/// Waits for a request matching `pred` and returns it.
pub fn wait_for_request(fake: &FakeGithub, what: &str, pred: impl Fn(&Seen) -> bool) -> Seen {
    super::eventually(what, || fake.seen().into_iter().find(|s| pred(s)))
}

/// The stored link, read from the database (no server may be running; not from
/// inside a runtime).
pub fn stored(instance: &super::Instance, user: u64) -> Option<(String, Option<Record>)> {
    let store = harmy::store::Store::open(&instance.db_path()).expect("open the database");
    let app = App::new(harmy::config::Config::default(), store).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(app.github.get(UserId(user))).unwrap()
}

/// An in-process `App` over a fresh database, talking to the fake.
pub fn app(fake: &FakeGithub, refresh_interval: &str) -> (Arc<App>, tempfile::TempDir) {
    app_at(&fake.url, refresh_interval)
}

/// An in-process `App` over a fresh database, with GitHub at `api_url`.
pub fn app_at(api_url: &str, refresh_interval: &str) -> (Arc<App>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("harmy.redb");
    harmy::store::Store::migrate(&path, false).unwrap();
    let mut config = harmy::config::Config::default();
    config.github.api_url = api_url.to_string();
    config.github.refresh_interval = humantime::parse_duration(refresh_interval).unwrap();
    (App::new(config, harmy::store::Store::open(&path).unwrap()).unwrap(), dir)
}

/// The users marked in the change feed since the last look (no waiting: a
/// write marks before it returns).
pub async fn marked(app: &App) -> Vec<UserId> {
    tokio::time::timeout(Duration::ZERO, app.changes.next_batch()).await.unwrap_or_default()
}

// Scenarios shared by `tests/github.rs` and `tests/github_refresh.rs`.

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// An instance whose `[github]` section points at the fake, plus `github_keys`
/// lines, and whose Discord is a fake gateway (so `serve` stays off the internet).
pub fn instance(fake: &FakeGithub, github_keys: &str) -> (Instance, FakeGateway) {
    let gateway = FakeGateway::start();
    let discord = gateway.discord_toml("http://127.0.0.1:1");
    let toml = format!("{discord}\n[github]\napi_url = \"{}\"\n{github_keys}\n", fake.url);
    (Instance::new(&toml), gateway)
}

/// A fake with octocat (blog unset) and two more users.
pub fn fake() -> FakeGithub {
    let fake = FakeGithub::start();
    fake.put_user("octocat", 583231, "There once was...", 8);
    fake.put_user("alice", 1001, "alice's bio", 3);
    fake.put_user("bob", 1002, "bob's bio", 5);
    fake
}

pub fn link(instance: &Instance, user: &str, login: &str) -> String {
    let out = instance.cli(&["github", "link", user, login]);
    assert!(out.status.success(), "link failed: {}", stderr(&out));
    stdout(&out)
}
