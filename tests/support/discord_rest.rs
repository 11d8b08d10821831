//! A fake Discord REST API (the `/api/v10/...` paths harmy's bot calls), bound to
//! 127.0.0.1:0 on its own runtime thread. It records every request (method,
//! path, JSON body, `Authorization`) for assertions, and can be told to refuse
//! DMs (403, code 50007), to report missing intent flags, or which guilds the
//! bot is in. Shapes are those Discord documents. Paths outside
//! `/api/v10` answer as GitHub's `GET /users/:login`, so one fake serves both.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

/// The bot token the fake accepts (`Authorization: Bot <TOKEN>`): its first part is
/// base64 of the bot's user id, `APP_ID`, as real tokens are.
pub const TOKEN: &str = "MTAw.fake.token";
/// The application id, which is also the bot's user id.
pub const APP_ID: u64 = 100;
/// Every privileged intent switch on: presence, members, message content.
pub const ALL_INTENTS: u64 = (1 << 12) | (1 << 14) | (1 << 18);

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path below `/api/v10`, e.g. `/channels/21/messages`.
    pub path: String,
    /// The JSON body (of a multipart request: its `payload_json` part), or `Null` when there was none.
    pub body: Value,
    pub authorization: Option<String>,
    /// The files of a multipart request: `(filename, content)`.
    pub files: Vec<(String, String)>,
}

/// What the fake answers; change it between requests.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// The application's `flags` (intent switches).
    pub flags: u64,
    /// Guilds the bot is in.
    pub guilds: Vec<u64>,
    /// Sending to a DM channel answers 403 / 50007.
    pub dms_closed: bool,
    /// The bot token accepted (without `Bot `); others get 401.
    pub token: String,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self { flags: ALL_INTENTS, guilds: vec![1], dms_closed: false, token: TOKEN.into() }
    }
}

#[derive(Default)]
struct State {
    behaviour: Behaviour,
    requests: Vec<Recorded>,
}

/// A running fake REST API; stops when dropped.
pub struct DiscordRest {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// The DM channel the fake opens for a user.
pub fn dm_channel(user: u64) -> u64 {
    9_000_000_000 + user
}

impl DiscordRest {
    /// Starts the fake with the default behaviour.
    pub fn start() -> DiscordRest {
        let state = Arc::new(Mutex::new(State::default()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind fake REST");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let accept = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else { continue };
                        let state = shared.clone();
                        tokio::spawn(async move {
                            let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
                            let io = hyper_util::rt::TokioIo::new(stream);
                            let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                        });
                    }
                };
                tokio::select! {
                    () = accept => {}
                    _ = stopped => {}
                }
            });
        });
        DiscordRest { addr, state, _stop: stop }
    }

    /// The `api_url` to configure: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes what the fake answers.
    pub fn set(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut self.state.lock().unwrap().behaviour);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The `content` of every message sent to a channel, in order.
    pub fn messages_to(&self, channel: u64) -> Vec<Value> {
        let path = format!("/channels/{channel}/messages");
        self.requests().into_iter().filter(|r| r.method == "POST" && r.path == path).map(|r| r.body).collect()
    }

    /// The files sent to a channel, in order: `(filename, content)`.
    pub fn files_to(&self, channel: u64) -> Vec<(String, String)> {
        let path = format!("/channels/{channel}/messages");
        self.requests().into_iter().filter(|r| r.method == "POST" && r.path == path).flat_map(|r| r.files).collect()
    }

    /// The bodies of every interaction callback for an interaction id.
    pub fn callbacks_for(&self, interaction: u64) -> Vec<Value> {
        let prefix = format!("/interactions/{interaction}/");
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.starts_with(&prefix) && r.path.ends_with("/callback"))
            .map(|r| r.body)
            .collect()
    }
}

fn json_response(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

async fn handle(
    state: Arc<Mutex<State>>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    if !req.uri().path().starts_with("/api/v10/") {
        return Ok(github_user(req.uri().path()));
    }
    let path = req.uri().path()["/api/v10".len()..].to_string();
    let authorization = req.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let boundary = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once("boundary="))
        .map(|(_, b)| b.trim_matches('"').to_string());
    let bytes = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let (body, files) = match boundary {
        Some(boundary) => multipart(&String::from_utf8_lossy(&bytes), &boundary),
        None => (serde_json::from_slice(&bytes).unwrap_or(Value::Null), Vec::new()),
    };
    let mut state = state.lock().unwrap();
    state.requests.push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        body: body.clone(),
        authorization: authorization.clone(),
        files,
    });
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // Interaction callbacks are authenticated by their token in the path, not the header.
    let is_callback = segments.first() == Some(&"interactions");
    if !is_callback && authorization.as_deref() != Some(&format!("Bot {}", state.behaviour.token)) {
        return Ok(json_response(StatusCode::UNAUTHORIZED, json!({"message": "401: Unauthorized", "code": 0})));
    }
    let behaviour = &state.behaviour;
    let response = match (&method, segments.as_slice()) {
        (&Method::GET, ["users", "@me"]) => json_response(
            StatusCode::OK,
            json!({"id": APP_ID.to_string(), "username": "harmy-bot", "discriminator": "0", "avatar": null,
                   "bot": true, "mfa_enabled": false}),
        ),
        (&Method::GET, ["applications", "@me"]) => json_response(
            StatusCode::OK,
            json!({"id": APP_ID.to_string(), "name": "harmy", "icon": null, "description": "",
                   "bot_public": true, "bot_require_code_grant": false, "verify_key": "k",
                   "team": null, "flags": behaviour.flags}),
        ),
        (&Method::GET, ["users", "@me", "guilds"]) => {
            let guilds: Vec<Value> = behaviour
                .guilds
                .iter()
                .map(|id| {
                    json!({"id": id.to_string(), "name": format!("guild {id}"), "icon": null,
                                 "owner": false, "permissions": "0", "features": []})
                })
                .collect();
            json_response(StatusCode::OK, Value::Array(guilds))
        }
        (&Method::POST, ["users", "@me", "channels"]) => {
            let user: u64 = body["recipient_id"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
            json_response(StatusCode::OK, json!({"id": dm_channel(user).to_string(), "type": 1}))
        }
        (&Method::POST, ["channels", channel, "messages"]) => {
            let channel: u64 = channel.parse().unwrap_or(0);
            if behaviour.dms_closed && channel >= dm_channel(0) {
                json_response(
                    StatusCode::FORBIDDEN,
                    json!({"message": "Cannot send messages to this user", "code": 50007}),
                )
            } else {
                json_response(StatusCode::OK, message(channel, &body))
            }
        }
        (&Method::PUT, ["applications", _, "commands"])
        | (&Method::PUT, ["applications", _, "guilds", _, "commands"]) => {
            let registered: Vec<Value> = body
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, c)| {
                    let mut c = c.clone();
                    c["id"] = json!((4000 + i).to_string());
                    c["application_id"] = json!(APP_ID.to_string());
                    c["version"] = json!("1");
                    c
                })
                .collect();
            json_response(StatusCode::OK, Value::Array(registered))
        }
        (&Method::POST, ["interactions", _, _, "callback"]) => {
            Response::builder().status(StatusCode::NO_CONTENT).body(Full::default()).unwrap()
        }
        _ => json_response(StatusCode::NOT_FOUND, json!({"message": "404: Not Found", "code": 0})),
    };
    Ok(response)
}

/// A `multipart/form-data` body as Discord reads one: the `payload_json` part is
/// the JSON body, the parts with a `filename` are files.
fn multipart(text: &str, boundary: &str) -> (Value, Vec<(String, String)>) {
    let (mut body, mut files) = (Value::Null, Vec::new());
    for part in text.split(&format!("--{boundary}")) {
        let Some((head, content)) = part.split_once("\r\n\r\n") else { continue };
        let content = content.strip_suffix("\r\n").unwrap_or(content);
        let field = |name: &str| {
            head.split(';').find_map(|p| p.trim().strip_prefix(&format!("{name}=\""))).map(|v| v.trim_end_matches('"'))
        };
        match (field("name"), field("filename")) {
            (_, Some(filename)) => files.push((filename.to_string(), content.to_string())),
            (Some("payload_json"), None) => body = serde_json::from_str(content).unwrap_or(Value::Null),
            _ => {}
        }
    }
    (body, files)
}

/// A stand-in for GitHub's `GET /users/:login` (set `github.api_url` to this
/// fake's URL), so that linking works offline; the login `nobody` does not exist.
fn github_user(path: &str) -> Response<Full<Bytes>> {
    match path.trim_start_matches('/').split('/').collect::<Vec<_>>().as_slice() {
        ["users", login] if *login != "nobody" => json_response(
            StatusCode::OK,
            json!({"login": login, "id": 111227553, "avatar_url": "https://avatars.example/u/1",
                   "html_url": format!("https://github.com/{login}"), "company": null,
                   "blog": "", "bio": "casual coder", "public_repos": 1}),
        ),
        _ => json_response(StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
    }
}

/// A message object as Discord returns it for a sent message.
fn message(channel: u64, body: &Value) -> Value {
    json!({
        "id": "777", "channel_id": channel.to_string(),
        "author": {"id": APP_ID.to_string(), "username": "harmy-bot", "discriminator": "0", "bot": true},
        "content": body["content"].clone(), "timestamp": "2024-01-01T00:00:00.000000+00:00",
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": [], "pinned": false, "type": 0
    })
}
