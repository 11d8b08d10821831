//! End-to-end tests of the HTTP API (SPEC §4) against the real binary: every
//! route's success and error codes, token auth, limits, rate limiting, CORS,
//! ETag, body and header limits, shutdown. Presence-carrying routes run
//! in-process over the library (`in_process`), driving the presence cache
//! directly until the fake gateway feeds the binary.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use std::future::Future;
use support::discord_gateway::{FakeGateway, Guild, member, member_add, presence, presence_update, spotify};
use support::http_client::{self as client, Frame, get, next, next_json, say, send};
use support::{Instance, Server};

/// Rate limits no test that is not about them will reach.
const NO_LIMITS: &str = "[rate_limit]\nper_second = 1000000\nper_minute = 100000000\n";
const ALICE: &str = "470320681905684500";
const BOB: &str = "94490510688792576";
const ALICE_ID: u64 = 470320681905684500;
const BOB_ID: u64 = 94490510688792576;

/// Retries `check` (async) until it returns Some, or panics after the harness's patience.
async fn until<T, F: Future<Output = Option<T>>>(what: &str, mut check: impl FnMut() -> F) -> T {
    let deadline = std::time::Instant::now() + support::PATIENCE;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A served instance against a fake Discord gateway (guild 1 with `members`).
struct Served {
    gw: Option<FakeGateway>,
    instance: Instance,
    server: Server,
    addr: SocketAddr,
}

impl Served {
    fn gw(&self) -> &FakeGateway {
        self.gw.as_ref().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // The fake owns a runtime, which may not be dropped inside the test's own.
        let gw = self.gw.take();
        std::thread::spawn(move || drop(gw)).join().unwrap();
    }
}

/// Serves an instance; `extra` is TOML after `[http]`'s `listen` line (so it may add `[http]` keys first).
/// Built on a plain thread: the fake gateway starts its own runtime.
fn serve_with(extra: &str, guild: Guild) -> Served {
    serve_with_gateway(extra, move |gw| gw.set_guild(guild), true)
}

fn serve_with_gateway(extra: &str, setup: impl FnOnce(&FakeGateway) + Send + 'static, wait: bool) -> Served {
    let extra = extra.to_string();
    std::thread::spawn(move || {
        let gw = FakeGateway::start();
        setup(&gw);
        let discord = gw.discord_toml("http://127.0.0.1:1");
        let instance = Instance::new(&format!("[http]\nlisten = \"127.0.0.1:0\"\n{extra}\n{discord}"));
        let server = instance.serve();
        let addr = server.http.expect("the started line names the HTTP address");
        if wait {
            gw.wait_for_identifies(1);
        }
        Served { gw: Some(gw), instance, server, addr }
    })
    .join()
    .unwrap()
}

/// A served instance whose guild has no members.
fn start(extra: &str) -> (Served, SocketAddr) {
    let served = serve_with(extra, Guild::new(1));
    let addr = served.addr;
    (served, addr)
}

fn token(instance: &Instance, user: &str) -> String {
    let out = instance.cli(&["token", "rotate", user]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let text = support::stdout(&out);
    text.split_whitespace().find(|w| w.starts_with("harmy_")).expect("a token in the output").to_string()
}

#[tokio::test]
async fn root_health_and_metrics() {
    let (_served, addr) = start(NO_LIMITS);
    let root = get(addr, "/").await;
    assert_eq!(root.status, 200);
    assert_eq!(root.json()["name"], "harmy");
    assert_eq!(root.json()["monitored_users"], 0);
    assert!(root.json()["version"].is_string());
    assert_eq!(root.header("content-type"), "application/json; charset=utf-8");

    let health =
        until("a gateway session", || async { Some(get(addr, "/health").await).filter(|h| h.status == 200) }).await;
    assert_eq!(health.json(), serde_json::json!({"status": "ok", "database": "up", "gateway": "up"}));

    let metrics = get(addr, "/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.header("content-type").starts_with("text/plain"));
    let text = metrics.text();
    assert!(text.contains("harmy_http_requests_total{route=\"/\",status=\"200\"} 1"), "{text}");
    for name in [
        "harmy_gateway_events_total",
        "harmy_gateway_reconnects_total",
        "harmy_http_request_duration_seconds_bucket",
        "harmy_monitored_users 0",
        "harmy_http_connections",
        "harmy_websocket_sessions",
        "harmy_rate_limited_total",
        "harmy_kv_writes_total",
    ] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
}

#[tokio::test]
async fn health_is_503_naming_the_gateway_while_it_has_no_session() {
    let served = serve_with_gateway(NO_LIMITS, |gw| gw.refuse_identify(Some(4000)), false);
    let health = get(served.addr, "/health").await;
    assert_eq!(health.status, 503, "{}", health.text());
    assert_eq!(health.json(), serde_json::json!({"status": "unavailable", "database": "up", "gateway": "down"}));
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let (_served, addr) = start(&format!("{NO_LIMITS}[metrics]\nenabled = false\n"));
    assert_eq!(get(addr, "/metrics").await.status, 404);
}

#[tokio::test]
async fn unknown_users_and_bad_ids() {
    let (_served, addr) = start(NO_LIMITS);
    let native = get(addr, &format!("/user/{ALICE}")).await;
    assert_eq!((native.status, native.code()), (404, "user_not_monitored".into()));
    assert!(native.json().get("success").is_none());
    let lanyard = get(addr, &format!("/v1/users/{ALICE}")).await;
    assert_eq!((lanyard.status, lanyard.code()), (404, "user_not_monitored".into()));
    assert_eq!(lanyard.json()["success"], false);
    for path in ["/user/abc", "/user/0", "/v1/users/12x", "/user/99999999999999999999/kv"] {
        let reply = get(addr, path).await;
        assert_eq!((reply.status, reply.code()), (400, "invalid_user_id".into()), "{path}");
    }
}

#[tokio::test]
async fn unknown_route_is_404_and_wrong_method_is_405() {
    let (_served, addr) = start(NO_LIMITS);
    let missing = get(addr, "/nope").await;
    assert_eq!((missing.status, missing.code()), (404, "not_found".into()));
    let missing = get(addr, "/v1/nope").await;
    assert_eq!((missing.status, missing.json()["success"].clone()), (404, serde_json::json!(false)));
    let wrong = send(addr, "POST", &format!("/user/{ALICE}"), &[], "").await;
    assert_eq!((wrong.status, wrong.code()), (405, "method_not_allowed".into()));
    assert!(wrong.header("allow").contains("GET"));
    let wrong = send(addr, "GET", &format!("/v1/users/{ALICE}/kv/k"), &[], "").await;
    assert_eq!((wrong.status, wrong.code()), (405, "method_not_allowed".into()));
    assert_eq!(wrong.json()["success"], false);
    assert_eq!(wrong.header("content-type"), "application/json; charset=utf-8");
}

#[tokio::test]
async fn token_auth_cases() {
    let (served, addr) = start(NO_LIMITS);
    let alice = token(&served.instance, ALICE);
    let bob = token(&served.instance, BOB);
    let path = format!("/user/{ALICE}/kv");
    let with = |t: &str| format!("Bearer {t}");
    let none = get(addr, &path).await;
    assert_eq!((none.status, none.code()), (401, "unauthorized".into()));
    let wrong =
        send(addr, "GET", &path, &[("authorization", "harmy_0011223344556677_00112233445566778899aabbccddeeff")], "")
            .await;
    assert_eq!(wrong.status, 401);
    let garbage = send(addr, "GET", &path, &[("authorization", "nonsense")], "").await;
    assert_eq!(garbage.status, 401);
    let other = send(addr, "GET", &path, &[("authorization", &bob)], "").await;
    assert_eq!(other.status, 401, "bob's token does not open alice's KV");
    assert_eq!(send(addr, "GET", &path, &[("authorization", &alice)], "").await.status, 200);
    assert_eq!(send(addr, "GET", &path, &[("authorization", &with(&alice))], "").await.status, 200);
    let me = send(addr, "PUT", "/user/@me/kv/who", &[("authorization", &bob)], "bob").await;
    assert_eq!(me.status, 204);
    let read = send(addr, "GET", &format!("/user/{BOB}/kv/who"), &[("authorization", &with(&bob))], "").await;
    assert_eq!(read.json(), serde_json::json!({"key": "who", "value": "bob"}));
    let rotated = token(&served.instance, ALICE);
    assert_eq!(
        send(addr, "GET", &path, &[("authorization", &alice)], "").await.status,
        401,
        "the old token stops at once"
    );
    assert_eq!(send(addr, "GET", &path, &[("authorization", &rotated)], "").await.status, 200);
}

#[tokio::test]
async fn kv_routes_round_trip() {
    let (served, addr) = start(NO_LIMITS);
    let t = token(&served.instance, ALICE);
    let auth = [("authorization", t.as_str())];
    let base = format!("/user/{ALICE}/kv");
    assert_eq!(send(addr, "PUT", &format!("{base}/First1"), &auth, "Key/ValuePair0").await.status, 204);
    // Lanyard clients send raw text labelled application/json: the body is the value.
    let json_labelled = [("authorization", t.as_str()), ("content-type", "application/json")];
    assert_eq!(
        send(addr, "PUT", &format!("/v1/users/{ALICE}/kv/site"), &json_labelled, "hello world").await.status,
        204
    );
    let patch = send(addr, "PATCH", &format!("/v1/users/{ALICE}/kv"), &auth, r#"{"a":"1","b":"2"}"#).await;
    assert_eq!(patch.status, 204);
    let all = send(addr, "GET", &base, &auth, "").await;
    assert_eq!(all.json(), serde_json::json!({"First1": "Key/ValuePair0", "site": "hello world", "a": "1", "b": "2"}));
    assert_eq!(send(addr, "DELETE", &format!("{base}/a"), &auth, "").await.status, 204);
    assert_eq!(
        send(addr, "DELETE", &format!("/v1/users/{ALICE}/kv/a"), &auth, "").await.status,
        204,
        "absent is 204 too"
    );
    let gone = send(addr, "GET", &format!("{base}/a"), &auth, "").await;
    assert_eq!((gone.status, gone.code()), (404, "kv_key_not_found".into()));
    let bad = send(addr, "PATCH", &base, &auth, r#"{"a":1}"#).await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_body".into()));
    let bad = send(addr, "PATCH", &base, &auth, "not json").await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_body".into()));
    let bad = send(addr, "PUT", &format!("{base}/bad-key"), &auth, "v").await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_kv_key".into()));
    let metrics = get(addr, "/metrics").await.text();
    assert!(metrics.contains("harmy_kv_writes_total 5"), "{metrics}");
    // Writes from elsewhere (here the CLI, through the admin socket) count too.
    let out = served.instance.cli(&["kv", "set", ALICE, "from_cli", "yes"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let metrics = get(addr, "/metrics").await.text();
    assert!(metrics.contains("harmy_kv_writes_total 6"), "{metrics}");
}

#[tokio::test]
async fn kv_limits_at_the_boundary() {
    let (served, addr) = start(&format!("{NO_LIMITS}[kv]\nmax_keys = 3\n"));
    let t = token(&served.instance, ALICE);
    let auth = [("authorization", t.as_str())];
    let put = |key: String, value: String| async move {
        send(addr, "PUT", &format!("/user/{ALICE}/kv/{key}"), &auth, value).await
    };
    assert_eq!(put("k".repeat(165), "v".into()).await.status, 204);
    let long = put("k".repeat(166), "v".into()).await;
    assert_eq!((long.status, long.code()), (400, "invalid_kv_key".into()));
    assert_eq!(put("v".into(), "é".repeat(10_000)).await.status, 204);
    let long = put("v".into(), "é".repeat(10_001)).await;
    assert_eq!((long.status, long.code()), (400, "kv_value_too_long".into()));
    assert_eq!(put("third".into(), "x".into()).await.status, 204);
    let many = put("fourth".into(), "x".into()).await;
    assert_eq!((many.status, many.code()), (400, "kv_too_many_keys".into()));
    let patch = send(addr, "PATCH", &format!("/user/{ALICE}/kv"), &auth, r#"{"third":"y","fifth":"z"}"#).await;
    assert_eq!(patch.code(), "kv_too_many_keys");
    let third = send(addr, "GET", &format!("/user/{ALICE}/kv/third"), &auth, "").await;
    assert_eq!(third.json()["value"], "x", "a refused write changes nothing");
}

#[tokio::test]
async fn bodies_over_64_kib_get_413() {
    let (served, addr) = start(NO_LIMITS);
    let t = token(&served.instance, ALICE);
    let big = Bytes::from(vec![b'x'; 64 * 1024 + 1]);
    let reply = send(addr, "PUT", &format!("/user/{ALICE}/kv/k"), &[("authorization", &t)], big).await;
    assert_eq!((reply.status, reply.code()), (413, "body_too_large".into()));
    assert_eq!(get(addr, "/").await.status, 200);
}

#[tokio::test]
async fn rate_limit_headers_and_429() {
    let (_served, addr) = start("");
    let mut replies = Vec::new();
    for _ in 0..4 {
        replies.push(get(addr, "/").await);
    }
    for reply in &replies[..3] {
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("ratelimit-limit"), "3");
        assert!(!reply.header("ratelimit-reset").is_empty());
    }
    assert_eq!(replies[0].header("ratelimit-remaining"), "2");
    let limited = &replies[3];
    if limited.status == 200 {
        // The four requests straddled a second boundary; the next burst will not.
        return;
    }
    assert_eq!((limited.status, limited.code()), (429, "rate_limited".into()));
    assert_eq!(limited.header("ratelimit-remaining"), "0");
    assert!(limited.header("retry-after").parse::<u64>().unwrap() >= 1);
    assert_eq!(limited.header("access-control-allow-origin"), "*");
}

#[tokio::test]
async fn trusted_proxies_forward_the_client_address() {
    let (_served, addr) = start("trusted_proxies = [\"127.0.0.0/8\"]\n[rate_limit]\nper_second = 0\nper_minute = 2\n");
    let from = |ip: &'static str| async move { send(addr, "GET", "/", &[("x-forwarded-for", ip)], "").await.status };
    assert_eq!(from("198.51.100.1").await, 200);
    assert_eq!(from("198.51.100.1").await, 200);
    assert_eq!(from("198.51.100.1").await, 429);
    assert_eq!(from("198.51.100.2").await, 200, "another client behind the proxy has its own budget");
}

#[tokio::test]
async fn cors_on_every_response_and_the_preflight() {
    let (_served, addr) = start(&format!("cors_origins = [\"https://me.example\"]\n{NO_LIMITS}"));
    let origin = [("origin", "https://me.example")];
    let preflight = send(
        addr,
        "OPTIONS",
        &format!("/v1/users/{ALICE}/kv/k"),
        &[
            ("origin", "https://me.example"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "authorization, content-type"),
        ],
        "",
    )
    .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), "https://me.example");
    let allowed = preflight.header("access-control-allow-headers");
    assert!(allowed.contains("authorization") && allowed.contains("content-type"), "{allowed}");
    assert_eq!(preflight.header("access-control-allow-methods"), "GET, PUT, PATCH, DELETE, OPTIONS");
    let error = send(addr, "GET", &format!("/v1/users/{ALICE}"), &origin, "").await;
    assert_eq!(error.status, 404);
    assert_eq!(error.header("access-control-allow-origin"), "https://me.example", "errors carry CORS too");
    assert_eq!(error.header("content-type"), "application/json; charset=utf-8");
    let stranger = send(addr, "GET", "/", &[("origin", "https://other.example")], "").await;
    assert_eq!(stranger.header("access-control-allow-origin"), "");
}

#[tokio::test]
async fn a_malformed_request_line_and_an_oversized_header_leave_the_server_serving() {
    let (_served, addr) = start(NO_LIMITS);
    let answer = client::raw(addr, b"BLAH\x01 / nonsense\r\n\r\n").await;
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    let huge = format!("GET / HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n", "a".repeat(100 * 1024));
    let answer = client::raw(addr, huge.as_bytes()).await;
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    assert!(!answer.contains("panick"));
    assert_eq!(get(addr, "/").await.status, 200);
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_header_timeout() {
    let (_served, addr) = start(&format!("header_timeout = \"1s\"\n{NO_LIMITS}"));
    let started = std::time::Instant::now();
    let answer = client::raw(addr, b"GET / HTTP/1.1\r\nhost: x\r\n").await;
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "closed by the server, not the test's 5 s");
    assert!(!answer.contains("200 OK"), "{answer:?}");
}

#[tokio::test]
async fn sigterm_closes_sockets_with_1001_and_exits_0() {
    let (mut served, addr) = start(NO_LIMITS);
    let mut ws = client::socket(addr, "/socket").await;
    assert_eq!(next(&mut ws).await, Frame::Text(r#"{"op":1,"d":{"heartbeat_interval":30000}}"#.into()));
    served.server.signal("TERM");
    assert_eq!(next(&mut ws).await, Frame::Close(1001, "server shutting down".into()));
    assert!(served.server.wait().success());
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut served, addr) = start(NO_LIMITS);
    let t = token(&served.instance, ALICE);
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head =
        format!("PUT /user/{ALICE}/kv/k HTTP/1.1\r\nhost: x\r\nauthorization: {t}\r\ncontent-length: 10\r\n\r\nhello");
    stream.write_all(head.as_bytes()).await.unwrap();
    // The handler is now waiting for the rest of the body; nothing outside shows that, so
    // give it a moment to get there (the token check runs first).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    served.server.signal("TERM");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stream.write_all(b"world").await.unwrap();
    let mut answer = String::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_string(&mut answer)).await;
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer:?}");
    assert!(served.server.wait().success());
}

#[tokio::test]
async fn connections_over_the_cap_wait_for_a_free_slot() {
    use tokio::io::AsyncWriteExt;
    let (_served, addr) = start(&format!("max_connections = 1\n{NO_LIMITS}"));
    let mut first = tokio::net::TcpStream::connect(addr).await.unwrap();
    first.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n").await.unwrap(); // an unfinished head holds the slot
    let second = tokio::spawn(async move { get(addr, "/").await.status });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "the second connection waits while the first holds the only slot");
    drop(first);
    assert_eq!(second.await.unwrap(), 200);
}

// --- /socket, as the published Lanyard clients speak it -------------------

#[tokio::test]
async fn socket_hello_and_heartbeats_as_clients_send_them() {
    let (_served, addr) = start(NO_LIMITS);
    let mut ws = client::socket(addr, "/socket").await;
    // use-lanyard / lanyard-wrapper: read the hello, beat `{"op":3}`; others send `"d":null`.
    assert_eq!(next(&mut ws).await, Frame::Text(r#"{"op":1,"d":{"heartbeat_interval":30000}}"#.into()));
    say(&mut ws, r#"{"op":3}"#).await;
    say(&mut ws, r#"{"op":3,"d":null}"#).await;
    say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
    assert_eq!(next(&mut ws).await, Frame::Text(r#"{"op":0,"t":"INIT_STATE","d":{}}"#.into()), "unknown yet: empty");
}

#[tokio::test]
async fn socket_op_2_before_the_hello_is_accepted() {
    let (_served, addr) = start(NO_LIMITS);
    let mut ws = client::socket(addr, "/socket").await;
    say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_ids":["{ALICE}","{BOB}"]}}}}"#)).await;
    assert_eq!(next_json(&mut ws).await["op"], 1);
    assert_eq!(next(&mut ws).await, Frame::Text(r#"{"op":0,"t":"INIT_STATE","d":{}}"#.into()));
}

#[tokio::test]
async fn socket_close_codes() {
    let (_served, addr) = start(NO_LIMITS);
    for (sent, code, reason) in [
        (r#"{"op":7}"#, 4004, "unknown_opcode"),
        (r#"{"op":2}"#, 4005, "requires_data_object"),
        (r#"{"op":2,"d":{}}"#, 4005, "requires_data_object"),
        (r#"{"op":2,"d":{"subscribe_to_id":"nope"}}"#, 4006, "invalid_payload"),
        ("{not json", 4006, "invalid_payload"),
    ] {
        let mut ws = client::socket(addr, "/socket").await;
        assert_eq!(next_json(&mut ws).await["op"], 1);
        say(&mut ws, sent).await;
        assert_eq!(next(&mut ws).await, Frame::Close(code, reason.into()), "{sent}");
    }
    let plain = get(addr, "/socket").await;
    assert_eq!((plain.status, plain.code()), (426, "upgrade_required".into()));
}

#[tokio::test]
async fn socket_zlib_json_frames_deflate_each_message() {
    let (_served, addr) = start(NO_LIMITS);
    let mut ws = client::socket(addr, "/socket?compression=zlib_json").await;
    let Frame::Binary(deflated) = next(&mut ws).await else { panic!("a binary frame") };
    assert_eq!(inflate(&deflated), r#"{"op":1,"d":{"heartbeat_interval":30000}}"#);
}

fn inflate(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut out = String::new();
    flate2::read::ZlibDecoder::new(bytes).read_to_string(&mut out).expect("zlib");
    out
}

// --- presence from the fake gateway, end to end ---------------------------

#[tokio::test]
async fn gateway_presence_in_both_shapes_and_pushed_on_presence_and_kv_changes() {
    let served = serve_with(NO_LIMITS, Guild::new(1).member(member(ALICE_ID, "vaq"), Some(presence(ALICE_ID, "dnd"))));
    let addr = served.addr;
    let path = format!("/user/{ALICE}");
    // GUILD_CREATE's members land before their presences: wait for the presence.
    let native = until("alice's presence", || async {
        Some(get(addr, &path).await).filter(|r| r.status == 200 && r.json()["presence"]["status"] == "dnd")
    })
    .await;
    let body = native.json();
    assert_eq!(body["presence"]["userId"], ALICE);
    assert_eq!(body["presence"]["status"], "dnd");
    assert_eq!((body["KV"].clone(), body["github"].clone()), (serde_json::json!({}), serde_json::Value::Null));
    let lanyard = get(addr, &format!("/v1/users/{ALICE}")).await.json();
    assert_eq!(lanyard["success"], true);
    assert_eq!(lanyard["data"]["discord_user"]["id"], ALICE);
    assert_eq!(lanyard["data"]["discord_status"], "dnd");
    assert_eq!(
        (lanyard["data"]["kv"].clone(), lanyard["data"]["github"].clone()),
        (serde_json::json!({}), serde_json::Value::Null)
    );

    // use-lanyard: wait for the hello, then op 2 with subscribe_to_id, exactly as JSON.stringify writes it.
    let mut ws = client::socket(addr, "/socket").await;
    assert_eq!(next(&mut ws).await, Frame::Text(r#"{"op":1,"d":{"heartbeat_interval":30000}}"#.into()));
    say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
    let init = next_json(&mut ws).await;
    assert_eq!(
        (init["t"].clone(), init["d"]["discord_status"].clone()),
        (serde_json::json!("INIT_STATE"), serde_json::json!("dnd"))
    );

    served.gw().dispatch("PRESENCE_UPDATE", presence_update(1, ALICE_ID, "online", vec![spotify("BMW")]));
    let update = next_json(&mut ws).await;
    assert_eq!(update["t"], "PRESENCE_UPDATE");
    assert_eq!(update["d"]["discord_status"], "online");
    assert_eq!(update["d"]["spotify"]["song"], "BMW");

    let out = served.instance.cli(&["kv", "set", ALICE, "mood", "sunny"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let update = next_json(&mut ws).await;
    assert_eq!(update["d"]["kv"], serde_json::json!({"mood": "sunny"}), "a KV change from the CLI is pushed");
    let native = get(addr, &path).await.json();
    assert_eq!(native["KV"]["mood"], "sunny");
}

#[tokio::test]
async fn react_use_lanyard_as_it_talks() {
    // react-use-lanyard: op 2 on "open" (before the hello), `{"op":3}` every 30 s, REST
    // `GET /v1/users/:id` reading `error.message`, KV `PUT` with the raw key in
    // `Authorization` and a string body (fetch labels it text/plain), `DELETE` likewise.
    let served = serve_with(NO_LIMITS, Guild::new(1).member(member(ALICE_ID, "vaq"), Some(presence(ALICE_ID, "idle"))));
    let addr = served.addr;
    let mut ws = client::socket(addr, "/socket").await;
    say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
    assert_eq!(next(&mut ws).await, Frame::Text(r#"{"op":1,"d":{"heartbeat_interval":30000}}"#.into()));
    let init = next_json(&mut ws).await;
    assert_eq!(init["t"], "INIT_STATE");
    // Subscribed before the gateway's GUILD_CREATE was applied, the presence follows (the
    // member may first show as offline, then with their presence).
    let mut latest = init["d"].clone();
    while latest["discord_status"] != "idle" {
        latest = next_json(&mut ws).await["d"].clone();
    }
    say(&mut ws, r#"{"op":3}"#).await;

    let missing = get(addr, &format!("/v1/users/{BOB}")).await.json();
    assert!(missing["error"]["message"].is_string());

    let key = token(&served.instance, ALICE);
    let put = [("authorization", key.as_str()), ("content-type", "text/plain;charset=UTF-8")];
    assert_eq!(send(addr, "PUT", &format!("/v1/users/{ALICE}/kv/test_key"), &put, "test value").await.status, 204);
    assert_eq!(next_json(&mut ws).await["d"]["kv"]["test_key"], "test value");
    assert_eq!(
        send(addr, "DELETE", &format!("/v1/users/{ALICE}/kv/test_key"), &[("authorization", &key)], "").await.status,
        204
    );
    assert_eq!(next_json(&mut ws).await["d"]["kv"], serde_json::json!({}));
    let rest = get(addr, &format!("/v1/users/{ALICE}")).await.json();
    assert_eq!(
        (rest["success"].clone(), rest["data"]["discord_status"].clone()),
        (serde_json::json!(true), serde_json::json!("idle"))
    );
}

#[tokio::test]
async fn gateway_newcomer_reaches_a_subscription_made_before_they_appeared() {
    let served = serve_with(NO_LIMITS, Guild::new(1));
    let mut ws = client::socket(served.addr, "/socket").await;
    next_json(&mut ws).await;
    say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_ids":["{BOB}"]}}}}"#)).await;
    assert_eq!(next(&mut ws).await, Frame::Text(r#"{"op":0,"t":"INIT_STATE","d":{}}"#.into()));
    served.gw().dispatch("GUILD_MEMBER_ADD", member_add(1, &member(BOB_ID, "bob")));
    let update = next_json(&mut ws).await;
    assert_eq!(update["t"], "PRESENCE_UPDATE");
    assert_eq!(update["d"]["discord_user"]["id"], BOB);
    assert_eq!(update["d"]["discord_status"], "offline");
}

// --- presence routes and pushes, in-process over the library ---------------

/// The API served in this process over a migrated instance, with the presence
/// cache in the test's hands.
struct Local {
    app: Arc<harmy::app::App>,
    addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
    _instance: Instance,
}

async fn in_process(extra: &str) -> Local {
    let instance = Instance::new(&format!("[http]\nlisten = \"127.0.0.1:0\"\n{NO_LIMITS}{extra}"));
    let sources = harmy::config::Sources { file: Some(instance.config_path()), ..Default::default() };
    let config = harmy::config::load(&sources).unwrap().config;
    let store = harmy::store::Store::open(&instance.db_path()).unwrap();
    let app = harmy::app::App::new(config.clone(), store);
    let listeners = harmy::http::bind(&config).await.unwrap();
    let addr = listeners.api.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(harmy::http::serve(app.clone(), listeners, async {
        let _ = stopped.await;
    }));
    Local { app, addr, _stop: stop, _instance: instance }
}

/// Sets a user's presence as the gateway would: view in the cache, change marked.
fn set_presence(app: &harmy::app::App, user: &str, status: &str) {
    let id: harmy::ids::UserId = user.parse().unwrap();
    let native =
        format!(r#"{{"userId":"{user}","status":"{status}","username":"vaq","spotifyActivity":null,"activities":[]}}"#);
    let lanyard = format!(
        r#"{{"discord_user":{{"id":"{user}","username":"vaq"}},"discord_status":"{status}","active_on_discord_desktop":true,"listening_to_spotify":false,"spotify":null,"activities":[]}}"#
    );
    app.presences.insert_view(id, harmy::presence::PresenceView { native: native.into(), lanyard: lanyard.into() });
    app.changes.mark(id);
}

#[tokio::test]
async fn user_presence_in_both_shapes_with_kv_and_github() {
    let local = in_process("").await;
    set_presence(&local.app, ALICE, "dnd");
    local.app.kv_set(ALICE.parse().unwrap(), "First1".into(), "Key/ValuePair0".into()).await.unwrap();
    let native = get(local.addr, &format!("/user/{ALICE}")).await;
    assert_eq!(native.status, 200, "{}", native.text());
    let body = native.json();
    assert_eq!(body["presence"]["status"], "dnd");
    assert_eq!(body["KV"], serde_json::json!({"First1": "Key/ValuePair0"}));
    assert_eq!(body["github"], serde_json::Value::Null);
    let lanyard = get(local.addr, &format!("/v1/users/{ALICE}")).await;
    let body = lanyard.json();
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["discord_status"], "dnd");
    assert_eq!(body["data"]["discord_user"]["id"], ALICE);
    assert_eq!(body["data"]["kv"]["First1"], "Key/ValuePair0");
    assert!(body["data"].get("github").is_some());
}

#[tokio::test]
async fn strong_etag_and_304_until_something_changes() {
    let local = in_process("").await;
    set_presence(&local.app, ALICE, "online");
    let path = format!("/user/{ALICE}");
    let first = get(local.addr, &path).await;
    let etag = first.header("etag");
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "strong: {etag}");
    let again = send(local.addr, "GET", &path, &[("if-none-match", &etag)], "").await;
    assert_eq!((again.status, again.body.len()), (304, 0));
    assert_eq!(again.header("etag"), etag);
    local.app.kv_set(ALICE.parse().unwrap(), "k".into(), "v".into()).await.unwrap();
    let changed = send(local.addr, "GET", &path, &[("if-none-match", &etag)], "").await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), etag);
}

#[tokio::test]
async fn v1_users_me_returns_the_token_owners_presence() {
    let local = in_process("").await;
    set_presence(&local.app, BOB, "idle");
    let token = local.app.token_rotate(BOB.parse().unwrap()).await.unwrap();
    let me = send(local.addr, "GET", "/v1/users/@me", &[("authorization", &token)], "").await;
    assert_eq!(me.json()["data"]["discord_user"]["id"], BOB);
    assert_eq!(get(local.addr, "/v1/users/@me").await.status, 401);
}

#[tokio::test]
async fn socket_init_state_for_each_subscribe_form() {
    let local = in_process("").await;
    set_presence(&local.app, ALICE, "online");
    set_presence(&local.app, BOB, "idle");
    let addr = local.addr;
    // The hub learns users from the change feed: retry until it has both.
    let deadline = std::time::Instant::now() + support::PATIENCE;
    loop {
        let mut ws = client::socket(addr, "/socket").await;
        next_json(&mut ws).await;
        say(&mut ws, r#"{"op":2,"d":{"subscribe_to_all":true}}"#).await;
        let init = next_json(&mut ws).await;
        if init["d"].as_object().unwrap().len() == 2 {
            assert_eq!(init["d"][ALICE]["discord_status"], "online");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "subscribe_to_all never saw both users: {init}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let mut one = client::socket(addr, "/socket").await;
    next_json(&mut one).await;
    say(&mut one, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
    let init = next_json(&mut one).await;
    assert_eq!((init["op"].clone(), init["t"].clone()), (serde_json::json!(0), serde_json::json!("INIT_STATE")));
    assert_eq!(init["d"]["discord_status"], "online");
    assert_eq!(init["d"]["kv"], serde_json::json!({}));

    let mut many = client::socket(addr, "/socket").await;
    next_json(&mut many).await;
    say(&mut many, &format!(r#"{{"op":2,"d":{{"subscribe_to_ids":["{ALICE}","{BOB}","1"]}}}}"#)).await;
    let init = next_json(&mut many).await;
    assert_eq!(init["d"][BOB]["discord_status"], "idle");
    assert_eq!(init["d"][ALICE]["discord_status"], "online");
    assert!(init["d"].get("1").is_none(), "unknown ids are left out");
}

#[tokio::test]
async fn socket_pushes_presence_and_kv_changes_and_stops_after_unsubscribe() {
    let local = in_process("").await;
    set_presence(&local.app, ALICE, "online");
    let mut ws = client::socket(local.addr, "/socket").await;
    next_json(&mut ws).await;
    say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
    assert_eq!(next_json(&mut ws).await["t"], "INIT_STATE");

    set_presence(&local.app, ALICE, "dnd");
    let update = next_json(&mut ws).await;
    assert_eq!(
        (update["op"].clone(), update["t"].clone()),
        (serde_json::json!(0), serde_json::json!("PRESENCE_UPDATE"))
    );
    assert_eq!(update["d"]["discord_status"], "dnd");

    local.app.kv_set(ALICE.parse().unwrap(), "mood".into(), "sunny".into()).await.unwrap();
    let update = next_json(&mut ws).await;
    assert_eq!(update["d"]["kv"]["mood"], "sunny", "a KV change pushes PRESENCE_UPDATE");

    say(&mut ws, &format!(r#"{{"op":4,"d":{{"unsubscribe_from_id":"{ALICE}"}}}}"#)).await;
    say(&mut ws, r#"{"op":3}"#).await;
    // A second subscriber proves the change went out; the unsubscribed one must stay silent.
    let mut witness = client::socket(local.addr, "/socket").await;
    next_json(&mut witness).await;
    say(&mut witness, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
    next_json(&mut witness).await;
    set_presence(&local.app, ALICE, "idle");
    assert_eq!(next_json(&mut witness).await["d"]["discord_status"], "idle");
    let silent = tokio::time::timeout(std::time::Duration::from_millis(300), next(&mut ws)).await;
    assert!(silent.is_err(), "no frame after op 4: {silent:?}");
}

#[tokio::test]
async fn a_subscription_before_the_user_appears_gets_their_presence_when_they_do() {
    let local = in_process("").await;
    let mut ws = client::socket(local.addr, "/socket").await;
    next_json(&mut ws).await;
    say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
    assert_eq!(next(&mut ws).await, Frame::Text(r#"{"op":0,"t":"INIT_STATE","d":{}}"#.into()));
    let mut all = client::socket(local.addr, "/socket").await;
    next_json(&mut all).await;
    say(&mut all, r#"{"op":2,"d":{"subscribe_to_all":true}}"#).await;
    assert_eq!(next(&mut all).await, Frame::Text(r#"{"op":0,"t":"INIT_STATE","d":{}}"#.into()));
    set_presence(&local.app, ALICE, "online");
    assert_eq!(next_json(&mut ws).await["d"]["discord_user"]["id"], ALICE);
    assert_eq!(next_json(&mut all).await["t"], "PRESENCE_UPDATE", "subscribe_to_all sees newcomers");
}

#[tokio::test]
async fn zlib_json_pushes_are_deflated_too() {
    let local = in_process("").await;
    set_presence(&local.app, ALICE, "online");
    let mut ws = client::socket(local.addr, "/socket?compression=zlib_json").await;
    let Frame::Binary(hello) = next(&mut ws).await else { panic!("binary hello") };
    assert!(inflate(&hello).contains("heartbeat_interval"));
    say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
    let Frame::Binary(init) = next(&mut ws).await else { panic!("binary INIT_STATE") };
    let init: serde_json::Value = serde_json::from_str(&inflate(&init)).unwrap();
    assert_eq!(init["d"]["discord_status"], "online");
}
