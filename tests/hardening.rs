//! End-to-end tests of the limits against hostile clients that are not about
//! tokens, sockets or the gateway (those have their own files): the size of a
//! user's KV as rendered JSON, the `X-Forwarded-For` walk, the admin socket
//! that never deletes or steals what is not its own, and owner-only database
//! files. Each reproduces the attack, scaled to seconds, against the real binary.

mod support;

use std::os::unix::fs::PermissionsExt;

use support::api::*;
use support::discord_gateway::{Guild, member};
use support::http_client::{get, send};
use support::{Instance, eventually, stderr};

/// Growth of the server's RSS this file's attacks may cause, in KiB.
const BUDGET_KIB: u64 = 32 * 1024;

#[tokio::test]
async fn a_users_kv_is_bounded_as_rendered_json_and_a_write_past_it_changes_nothing() {
    let served = serve_with(NO_LIMITS, Guild::new(1).member(member(ALICE_ID, "alice"), None));
    let addr = served.addr;
    let t = token(&served.instance, ALICE);
    let auth = [("authorization", t.as_str())];
    until("alice monitored", || async { (get(addr, &format!("/user/{ALICE}")).await.status == 200).then_some(()) })
        .await;
    let before = served.server.memory_kib();

    // The attack: 500 values of 10 000 NULs, each rendered as `\u0000` (60 000 bytes).
    // Before the limit this made `GET /user/:id` 30 MB, and every change a 30 MB frame.
    let nuls = "\u{0}".repeat(10_000);
    let mut accepted = Vec::new();
    for i in 0..500 {
        let reply = send(addr, "PUT", &format!("/user/{ALICE}/kv/v{i}"), &auth, nuls.clone()).await;
        match reply.status {
            204 => accepted.push(i),
            _ => assert_eq!((reply.status, reply.code()), (400, "kv_too_large".into()), "value {i}"),
        }
    }
    // Four pairs of 60 007 bytes fit in 262 144; the fifth does not.
    assert_eq!(accepted, vec![0, 1, 2, 3]);
    let two_more = serde_json::json!({"w1": "x", "w2": nuls}).to_string();
    let patch = send(addr, "PATCH", &format!("/v1/users/{ALICE}/kv"), &auth, two_more).await;
    assert_eq!((patch.status, patch.code()), (400, "kv_too_large".into()));
    let out = served.instance.cli_with_stdin(&["kv", "set", ALICE, "from_cli", "-"], &nuls);
    assert_eq!(out.status.code(), Some(2), "the CLI refuses it too");
    assert!(stderr(&out).contains("the limit is 262144"), "{}", stderr(&out));

    let body = get(addr, &format!("/user/{ALICE}")).await;
    assert_eq!(body.status, 200);
    let kv = body.json()["KV"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(kv, ["v0", "v1", "v2", "v3"], "refused writes changed nothing");
    assert!(body.body.len() < 262_144 + 4096, "GET /user/:id stays small: {} bytes", body.body.len());
    assert_eq!(get(addr, "/").await.status, 200, "others are still served");
    let after = served.server.memory_kib();
    assert!(after.hwm <= before.rss + BUDGET_KIB, "{before:?} -> {after:?}");
}

#[tokio::test]
async fn a_forwarded_hop_that_does_not_parse_ends_the_walk() {
    let (_served, addr) = start("trusted_proxies = [\"127.0.0.0/8\"]\n[rate_limit]\nper_second = 0\nper_minute = 2\n");
    // A client behind the trusted proxy writes its own hops; the unparsable one
    // proxies keep in place must not let it pick an address per request.
    let mut statuses = Vec::new();
    for i in 0..4 {
        let xff = format!("10.8.8.{i}, garbage");
        statuses.push(send(addr, "GET", "/", &[("x-forwarded-for", &xff)], "").await.status);
    }
    assert_eq!(statuses, [200, 200, 429, 429], "every request counted as the proxy's");
    let real = send(addr, "GET", "/", &[("x-forwarded-for", "garbage, 198.51.100.1")], "").await;
    assert_eq!(real.status, 200, "a well-formed last hop is still its own client");
}

/// Runs `harmy serve` expecting it to refuse to start; returns its stderr. (A server
/// that starts instead is killed after the harness's patience, and the test fails.)
fn serve_refused(instance: &Instance, extra: &[&str]) -> String {
    let mut args = vec!["serve"];
    args.extend_from_slice(extra);
    let mut child = instance
        .command(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status =
        support::exited_within(&mut child, support::PATIENCE).expect("harmy serve started where it must refuse");
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(2), "serve must refuse: {err}");
    err
}

#[test]
fn serve_never_deletes_a_file_at_the_admin_socket_path() {
    let instance = Instance::new("");
    std::fs::write(instance.socket_path(), "the operator's notes").unwrap();
    let err = serve_refused(&instance, &[]);
    assert!(err.contains(&instance.socket_path().display().to_string()) && err.contains("not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(instance.socket_path()).unwrap(), "the operator's notes");
}

#[test]
fn a_second_server_never_takes_over_a_live_admin_socket() {
    let first = Instance::new("");
    let _server = first.serve();
    let second = Instance::new(""); // its own database, so its lock does not stop it
    let socket = first.socket_path().display().to_string();
    let err = serve_refused(&second, &["--admin-socket", &socket]);
    assert!(err.contains("another harmy server answers"), "{err}");
    // The first server still owns its socket: the CLI reaches it (its database is locked,
    // so the write can only have gone through the socket).
    let out = first.cli(&["kv", "set", ALICE, "still", "mine"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(support::stdout(&first.cli(&["kv", "get", ALICE, "still"])), "mine");
}

#[test]
fn a_stale_admin_socket_left_by_a_crash_is_replaced() {
    let instance = Instance::new("");
    let mut crashed = instance.serve();
    crashed.signal("KILL");
    crashed.wait();
    assert!(instance.socket_path().exists(), "kill -9 leaves the socket file behind");
    let _server = instance.serve();
    let out = instance.cli(&["kv", "set", ALICE, "after", "crash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    eventually("the admin socket answers", || {
        std::os::unix::net::UnixStream::connect(instance.socket_path()).ok().map(|_| ())
    });
}

#[test]
fn migrate_creates_an_owner_only_database_in_owner_only_directories() {
    let instance = Instance::unmigrated("");
    let path = instance.dir.path().join("state/harmy/new.redb");
    let out = instance.cli(&["migrate", "--database", &path.display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(&instance.dir.path().join("state")), 0o700);
}

/// A request from another local address (the whole of 127.0.0.0/8 is this host):
/// its status and how long it took.
async fn request_from(local: std::net::IpAddr, addr: std::net::SocketAddr, path: &str) -> (u16, std::time::Duration) {
    let started = std::time::Instant::now();
    let answer = request_text(local, addr, path).await;
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, started.elapsed())
}

#[tokio::test]
async fn one_address_flooding_idle_connections_delays_no_one_else() {
    // The attack: 10 050 idle connections from one address, reopened as the header
    // timeout closed them, kept harmy at its connection limit, and a request from
    // another address waited 6-10 s. Here the server has 200 slots and an address 64.
    let (served, addr) = start(&format!("max_connections = 200\nmax_connections_per_ip = 64\n{NO_LIMITS}"));
    let other: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    let before = served.server.memory_kib();
    let mut flood = Vec::new();
    for _ in 0..400 {
        // Each connect completes (the kernel accepts), and harmy closes those past 64.
        if let Ok(stream) = tokio::net::TcpStream::connect(addr).await {
            flood.push(stream);
        }
    }
    until("the flood's connections past the address's share closed", || async {
        let text = request_text(other, addr, "/metrics").await;
        let open = text.lines().find_map(|l| l.strip_prefix("harmy_http_connections ")?.parse::<u64>().ok());
        // The flood's 64, and the metrics request itself.
        (open == Some(65)).then_some(())
    })
    .await;
    let (status, took) = request_from(other, addr, "/health").await;
    eprintln!("/health from another address while one floods idle connections: {took:?}");
    assert_eq!(status, 200);
    assert!(took < std::time::Duration::from_millis(500), "another address waited {took:?}");
    let after = served.server.memory_kib();
    assert!(after.hwm <= before.rss + BUDGET_KIB, "{before:?} -> {after:?}");
    drop(flood);
}

/// A request's whole answer as text, from another local address.
async fn request_text(local: std::net::IpAddr, addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(std::net::SocketAddr::new(local, 0)).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}
