//! End-to-end tests of the HTTP API (docs/API.md) against the real binary: every
//! route's success and error codes, token auth, limits, rate limiting, CORS,
//! ETag, body and header limits, shutdown. Presence-carrying routes run
//! in-process over the library (`in_process`), driving the presence cache
//! directly. The WebSocket (`/socket`) is in `tests/socket.rs`.

mod support;

use bytes::Bytes;
use support::api::*;
use support::http_client::{self as client, Frame, get, next, send};

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
    assert_eq!(health.json(), serde_json::json!({"status": "ok", "role": "single", "database": "up", "gateway": "up"}));

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
        "harmy_websocket_dropped_total 0",
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
    assert_eq!(
        health.json(),
        serde_json::json!({"status": "unavailable", "role": "single", "database": "up", "gateway": "down"})
    );
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let (served, addr) = start(&format!("{NO_LIMITS}[metrics]\nenabled = false\n"));
    assert_eq!(get(addr, "/metrics").await.status, 404);
    assert_eq!(served.server.metrics, None, "no listener of its own either");
}

#[tokio::test]
async fn metrics_are_served_on_a_loopback_listener_of_their_own_and_not_on_the_api() {
    // The default is 127.0.0.1:9464 (`config` unit tests); port 0 here, since tests run at once.
    let (served, addr) = start(&format!("{NO_LIMITS}[metrics]\nlisten = \"127.0.0.1:0\"\n"));
    let metrics = served.server.metrics.expect("the started line names the metrics listener");
    assert!(metrics.ip().is_loopback() && metrics != addr, "{metrics}");
    let public = get(addr, "/metrics").await;
    assert_eq!((public.status, public.code()), (404, "not_found".into()), "not on the API listener");
    let reply = get(metrics, "/metrics").await;
    assert_eq!(reply.status, 200);
    assert!(reply.text().contains("harmy_http_requests_total"), "{}", reply.text());
    // (Raw: the API document rightly has no 404 for /health.)
    let health = client::raw(metrics, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert!(health.starts_with("HTTP/1.1 404"), "that listener serves nothing else: {health}");
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
    let (served, addr) = start(&format!("{NO_LIMITS}max_keys = 3\n"));
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

/// A chunked body has no `Content-Length` to refuse up front: it is counted as it
/// arrives and refused once past 64 KiB, whatever it would have grown to.
#[tokio::test]
async fn a_chunked_body_over_64_kib_gets_413_and_writes_nothing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (served, addr) = start(NO_LIMITS);
    let t = token(&served.instance, ALICE);
    let before = served.server.memory_kib();
    let head = |key: &str| {
        format!(
            "PUT /user/{ALICE}/kv/{key} HTTP/1.1\r\nhost: x\r\nauthorization: {t}\r\ntransfer-encoding: chunked\r\n\r\n"
        )
    };

    // Under the limit, the chunks are put together and stored.
    let mut small = tokio::net::TcpStream::connect(addr).await.unwrap();
    small.write_all(format!("{}5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", head("small")).as_bytes()).await.unwrap();
    let mut answer = vec![0; 1024];
    let n = small.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 204"), "{:?}", String::from_utf8_lossy(&answer[..n]));
    let stored = support::stdout(&served.instance.cli(&["kv", "get", ALICE, "small"]));
    assert_eq!(stored, "hello world");

    // 64 KiB in four chunks and one byte more, and no end: the server must stop reading
    // and answer, not wait for the rest of a body it would refuse anyway.
    let mut big = tokio::net::TcpStream::connect(addr).await.unwrap();
    big.write_all(head("big").as_bytes()).await.unwrap();
    let chunk = format!("4000\r\n{}\r\n", "x".repeat(16 * 1024));
    for _ in 0..4 {
        big.write_all(chunk.as_bytes()).await.unwrap();
    }
    big.write_all(b"1\r\nx\r\n").await.unwrap();
    let mut answer = String::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), big.read_to_string(&mut answer)).await;
    assert!(read.is_ok(), "the server answered and closed without the rest of the body");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    assert!(answer.contains(r#""code":"body_too_large""#), "{answer:?}");
    let out = served.instance.cli(&["kv", "get", ALICE, "big"]);
    assert!(!out.status.success(), "nothing was written: {}", support::stdout(&out));
    assert_eq!(get(addr, "/").await.status, 200, "other clients are still answered");
    let after = served.server.memory_kib();
    assert!(after.hwm <= before.rss + 16 * 1024, "{before:?} -> {after:?}");
}

#[tokio::test]
async fn rate_limit_headers_and_429() {
    let (_served, addr) = start("");
    // Four requests in one second of the server's window: the fourth is refused. The
    // window is the server's own, so a burst may cross into the next one; the remaining
    // counts show where (a new window starts again at 2), and such a burst is sent again
    // from the start of a fresh window. A limiter that never refuses fails either way.
    for _attempt in 0..3 {
        let first = until("a fresh rate-limit window", || async {
            let reply = get(addr, "/").await;
            (reply.status == 200 && reply.header("ratelimit-remaining") == "2").then_some(reply)
        })
        .await;
        let mut replies = vec![first];
        for _ in 0..3 {
            replies.push(get(addr, "/").await);
        }
        for reply in &replies[..3] {
            assert_eq!(reply.status, 200);
            assert_eq!(reply.header("ratelimit-limit"), "3");
            assert!(!reply.header("ratelimit-reset").is_empty());
        }
        assert_eq!(replies[0].header("ratelimit-remaining"), "2");
        let remaining: Vec<String> = replies[..3].iter().map(|r| r.header("ratelimit-remaining")).collect();
        if remaining != ["2", "1", "0"] {
            assert!(remaining[1..].contains(&"2".to_string()), "only a new window starts over: {remaining:?}");
            continue;
        }
        let limited = &replies[3];
        if limited.status == 200 {
            assert_eq!(limited.header("ratelimit-remaining"), "2", "a fourth request in one window must be refused");
            continue;
        }
        assert_eq!((limited.status, limited.code()), (429, "rate_limited".into()));
        assert_eq!(limited.header("ratelimit-remaining"), "0");
        assert!(limited.header("retry-after").parse::<u64>().unwrap() >= 1);
        assert_eq!(limited.header("access-control-allow-origin"), "*");
        return;
    }
    panic!("three bursts of four requests each crossed a second boundary");
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
async fn the_header_timeout_counts_from_the_last_answer_on_a_kept_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_served, addr) = start(&format!("header_timeout = \"1s\"\n{NO_LIMITS}"));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // Idle for most of the timeout before the first request: the subject of the
    // test, not a synchronisation.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    stream.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let mut answer = vec![0; 4096];
    let n = stream.read(&mut answer).await.unwrap();
    let answered = std::time::Instant::now();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&answer[..n]));
    let mut rest = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    let idle = answered.elapsed();
    assert!(read.is_ok(), "closed by the server, not the test's 5 s");
    assert!(idle >= std::time::Duration::from_millis(800), "counted from the answer, not the connect: {idle:?}");
}

#[tokio::test]
async fn a_body_still_incomplete_after_the_header_timeout_gets_408() {
    let (served, addr) = start(&format!("header_timeout = \"1s\"\n{NO_LIMITS}"));
    let t = token(&served.instance, ALICE);
    let started = std::time::Instant::now();
    let head =
        format!("PUT /user/{ALICE}/kv/k HTTP/1.1\r\nhost: x\r\nauthorization: {t}\r\ncontent-length: 10\r\n\r\nhalf");
    let answer = client::raw(addr, head.as_bytes()).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "answered by the server, not the test's 5 s");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer:?}");
    let out = served.instance.cli(&["kv", "get", ALICE, "k"]);
    assert!(!out.status.success(), "nothing was written");
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
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let (mut served, addr) = start(NO_LIMITS);
    let t = token(&served.instance, ALICE);
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut stream = tokio::io::BufReader::new(stream);
    let head = format!(
        "PUT /user/{ALICE}/kv/k HTTP/1.1\r\nhost: x\r\nauthorization: {t}\r\ncontent-length: 10\r\nexpect: 100-continue\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // hyper answers 100 Continue once the handler reads the body: the request is in flight.
    let mut interim = String::new();
    stream.read_line(&mut interim).await.unwrap();
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim:?}");
    let mut blank = String::new();
    stream.read_line(&mut blank).await.unwrap();
    served.server.signal("TERM");
    // Shutdown has begun once the listener is closed.
    until("the listener closed", || async { tokio::net::TcpStream::connect(addr).await.is_err().then_some(()) }).await;
    stream.write_all(b"helloworld").await.unwrap();
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
    let mut second = tokio::spawn(async move { get(addr, "/").await.status });
    // A bounded check of something that must not happen: no answer while the slot is held.
    let early = tokio::time::timeout(std::time::Duration::from_millis(300), &mut second).await;
    assert!(early.is_err(), "the second connection waits while the first holds the only slot");
    drop(first);
    assert_eq!(second.await.unwrap(), 200);
}

#[tokio::test]
async fn user_presence_in_both_shapes_with_kv_and_github() {
    let local = in_process("").await;
    set_presence(&local.app, ALICE, "dnd");
    local.app.kv.set(ALICE.parse().unwrap(), "First1".into(), "Key/ValuePair0".into()).await.unwrap();
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
    local.app.kv.set(ALICE.parse().unwrap(), "k".into(), "v".into()).await.unwrap();
    let changed = send(local.addr, "GET", &path, &[("if-none-match", &etag)], "").await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), etag);
}

#[tokio::test]
async fn v1_users_me_returns_the_token_owners_presence() {
    let local = in_process("").await;
    set_presence(&local.app, BOB, "idle");
    let token = local.app.tokens.rotate(BOB.parse().unwrap()).await.unwrap();
    let me = send(local.addr, "GET", "/v1/users/@me", &[("authorization", &token)], "").await;
    assert_eq!(me.json()["data"]["discord_user"]["id"], BOB);
    assert_eq!(get(local.addr, "/v1/users/@me").await.status, 401);
}
