//! `harmy serve --demo` end to end: the real binary with an empty HOME and no
//! configuration serves every route for its simulated guild, pushes socket
//! updates, connects to nothing but its own local gateway, refuses strangers on
//! that gateway, and on SIGTERM exits 0 leaving no file behind.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::http_client::{Frame, Reply, Socket, next, next_json, say, send};
use support::{PATIENCE, Server, eventually};

/// The demo user (KV pairs, GitHub profile, the printed token) and the last member.
const DEMO_USER: &str = "1300000000000000001";
const LAST_MEMBER: &str = "1300000000000000020";
const FIRST_MEMBER: u64 = 1_300_000_000_000_000_001;
/// Growth of the server's RSS the gateway attack may cause, in KiB.
const BUDGET_KIB: u64 = 16 * 1024;

/// A running demo, with its own HOME, temporary directory and working directory
/// (all empty at start), and what it printed on stdout.
struct Demo {
    server: Server,
    stdout: Arc<Mutex<String>>,
    root: tempfile::TempDir,
}

impl Demo {
    /// Starts `harmy serve --demo --listen 127.0.0.1:0` with an empty HOME, no
    /// XDG variables, and HARMY_* settings that would send it elsewhere (ignored).
    fn start() -> Demo {
        Demo::start_with("022", "127.0.0.1:0")
    }

    /// `start` under this umask (octal), listening on `listen`.
    fn start_with(umask: &str, listen: &str) -> Demo {
        let root = tempfile::tempdir().unwrap();
        for dir in ["home", "tmp", "cwd"] {
            std::fs::create_dir(root.path().join(dir)).unwrap();
        }
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" serve --demo --listen {listen}"))
            .arg(support::harmy_bin())
            .current_dir(root.path().join("cwd"));
        for (name, _) in std::env::vars() {
            if name.starts_with("HARMY_") || name.starts_with("XDG_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("HOME", root.path().join("home"))
            .env("TMPDIR", root.path().join("tmp"))
            .env("HARMY_LOG", "info,harmy=debug")
            .env("HARMY_DISCORD_GATEWAY_URL", "ws://192.0.2.1:443")
            .env("HARMY_DISCORD_TOKEN", "not-used")
            .env("HARMY_STORAGE_PATH", root.path().join("home/should-not-exist.redb"));
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let mut out = child.stdout.take().unwrap();
        std::thread::spawn({
            let stdout = stdout.clone();
            move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = out.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    stdout.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn({
            let log = log.clone();
            move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    if line.contains("harmy serve started") {
                        let _ = tx.send(line.clone());
                    }
                    log.lock().unwrap().push(line);
                }
            }
        });
        let started = rx.recv_timeout(PATIENCE).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the demo did not start; log:\n{}", log.lock().unwrap().join("\n"))
        });
        let (http, metrics) = (support::started_field(&started, "http"), support::started_field(&started, "metrics"));
        Demo { server: Server { child, log, http, metrics }, stdout, root }
    }

    fn addr(&self) -> SocketAddr {
        self.server.http.expect("the started line names the address")
    }

    /// The printed token for the demo user's KV.
    fn token(&self) -> String {
        eventually("the token in the banner", || {
            self.stdout.lock().unwrap().split_whitespace().find(|w| w.starts_with("harmy_")).map(str::to_string)
        })
    }

    /// The `field=value` of the demo's log line about its connections.
    fn logged(&self, field: &str) -> String {
        let line = eventually("the demo's connections line", || {
            self.server.log.lock().unwrap().iter().find(|l| l.contains("the only connection")).cloned()
        });
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{field}=")))
            .unwrap_or_else(|| panic!("no {field} in {line}"))
            .to_string()
    }

    /// Every file and directory under the demo's HOME, TMPDIR and working directory.
    fn files_left(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                out.push(entry.path());
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(&entry.path(), out);
                }
            }
        }
        let mut out = Vec::new();
        for dir in ["home", "tmp", "cwd"] {
            walk(&self.root.path().join(dir), &mut out);
        }
        out
    }
}

/// A request, made again while the demo's rate limit (30 a second per address)
/// refuses it: these tests ask more in a second than a page does.
async fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    support::api::until("a request under the rate limit", || async {
        let reply = send(addr, method, path, headers, body.to_string()).await;
        (reply.status != 429).then_some(reply)
    })
    .await
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, &[], "").await
}

/// `/socket`, connected once the rate limit lets the upgrade through.
async fn socket(addr: SocketAddr) -> Socket {
    let uri = format!("ws://{addr}/socket");
    support::api::until("a socket under the rate limit", || async {
        tokio_websockets::ClientBuilder::new().uri(&uri).ok()?.connect().await.ok().map(|(ws, _)| ws)
    })
    .await
}

/// The remote ends of the process's TCP connections (listening sockets left out).
fn remote_peers(pid: u32) -> Vec<SocketAddr> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|link| link.to_str()?.strip_prefix("socket:[")?.strip_suffix(']').map(str::to_string))
        .collect();
    let mut peers = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 || !inodes.iter().any(|i| i == fields[9]) || fields[3] == "0A" {
                continue; // not this process's, or listening
            }
            peers.push(parse_proc_addr(fields[2]));
        }
    }
    peers
}

/// `0100007F:1F90` (IPv4) or the 32-digit IPv6 form, as /proc/net/tcp writes them.
fn parse_proc_addr(text: &str) -> SocketAddr {
    let (ip, port) = text.split_once(':').unwrap();
    let port = u16::from_str_radix(port, 16).unwrap();
    let ip: std::net::IpAddr = if ip.len() == 8 {
        std::net::Ipv4Addr::from(u32::from_str_radix(ip, 16).unwrap().swap_bytes()).into()
    } else {
        let mut bytes = [0u8; 16];
        for (word, chunk) in bytes.chunks_mut(4).enumerate() {
            let value = u32::from_str_radix(&ip[word * 8..word * 8 + 8], 16).unwrap().swap_bytes();
            chunk.copy_from_slice(&value.to_be_bytes());
        }
        std::net::Ipv6Addr::from(bytes).into()
    };
    SocketAddr::new(ip, port)
}

fn is_loopback(addr: &SocketAddr) -> bool {
    match addr.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

#[tokio::test]
async fn demo_with_an_empty_home_serves_every_route_pushes_updates_and_leaves_nothing() {
    let mut demo = Demo::start();
    let addr = demo.addr();
    let user = |path: &str| format!("/user/{DEMO_USER}{path}");
    let reply = support::api::until("the demo user served", || async {
        Some(get(addr, &user("")).await).filter(|reply| reply.status == 200)
    })
    .await;

    // The native document: presence, the canned KV and GitHub profile. The demo user
    // is never offline, and a member is served with the presence their frame carries.
    let native = reply.json();
    assert_ne!(native["presence"]["status"], "offline");
    assert_eq!(native["presence"]["userId"], DEMO_USER);
    assert_eq!(native["presence"]["username"], "ada");
    assert_eq!(native["KV"]["location"], "Lisbon");
    assert_eq!(native["github"]["username"], "ada-demo");
    assert!(
        native["presence"]["activities"].as_array().unwrap().iter().any(|a| a["type"] == 4 && a["emoji"].is_object())
    );

    // Every address the banner prints to read answers (the write example aside).
    let printed: Vec<String> = demo
        .stdout
        .lock()
        .unwrap()
        .split_whitespace()
        .filter(|w| w.starts_with(&format!("http://{addr}/")) && !w.contains("/kv/"))
        .map(|w| w[format!("http://{addr}").len()..].to_string())
        .collect();
    assert!(printed.iter().any(|p| p.ends_with("/card.svg")), "the card among {printed:?}");
    for path in &printed {
        let reply = get(addr, path).await;
        assert_eq!(reply.status, 200, "{path} as printed");
        if path.ends_with("/card.svg") {
            assert!(reply.text().contains("<svg"), "{path}: {}", reply.text());
        }
    }

    // Service routes.
    let health = get(addr, "/health").await;
    assert_eq!((health.status, health.json()["gateway"].as_str()), (200, Some("demo")));
    assert_eq!(get(addr, "/").await.json()["monitored_users"], 20);
    let metrics = get(addr, "/metrics").await;
    assert!(metrics.status == 200 && metrics.text().contains("harmy_gateway_up 1"), "{}", metrics.text());

    // Lanyard's shape, every member, and an unknown user.
    let lanyard = get(addr, &format!("/v1/users/{LAST_MEMBER}")).await.json();
    assert_eq!(lanyard["success"], true);
    assert_eq!(lanyard["data"]["discord_user"]["id"], LAST_MEMBER);
    // Members start and stop listening at random: any of them listening will do.
    let listening = support::api::until("a Spotify listener in Lanyard's shape", || async {
        let ids: Vec<String> = (0..20).map(|i| (FIRST_MEMBER + i).to_string()).collect();
        let all = get(addr, &format!("/v1/users?ids={}", ids.join(","))).await.json();
        all["data"].as_object()?.values().find(|data| data["listening_to_spotify"] == true).cloned()
    })
    .await;
    assert!(listening["spotify"]["album_art_url"].as_str().unwrap().starts_with("https://i.scdn.co/image/"));
    assert_eq!(get(addr, "/user/1300000000000000099").await.code(), "user_not_monitored");

    // KV with the printed token, through both shapes.
    let token = demo.token();
    let auth = [("authorization", token.as_str())];
    assert_eq!(request(addr, "GET", &user("/kv"), &auth, "").await.json()["pronouns"], "she/her");
    assert_eq!(request(addr, "PUT", "/user/@me/kv/greeting", &auth, "hello").await.status, 204);
    assert_eq!(request(addr, "GET", &user("/kv/greeting"), &auth, "").await.json()["value"], "hello");
    let patch = request(addr, "PATCH", &format!("/v1/users/{DEMO_USER}/kv"), &auth, r#"{"mood":"curious"}"#).await;
    assert_eq!(patch.status, 204);
    assert_eq!(request(addr, "DELETE", &format!("/v1/users/{DEMO_USER}/kv/greeting"), &auth, "").await.status, 204);
    assert_eq!(get(addr, &user("")).await.json()["KV"]["mood"], "curious");
    assert_eq!(request(addr, "PUT", &user("/kv/x"), &[("authorization", "harmy_wrong_token")], "v").await.status, 401);

    // The socket: every member at once, then changes as they happen (within 15 s).
    let mut ws = socket(addr).await;
    assert_eq!(next_json(&mut ws).await["op"], 1);
    say(&mut ws, r#"{"op":2,"d":{"subscribe_to_all":true}}"#).await;
    let init = next_json(&mut ws).await;
    assert_eq!(init["t"], "INIT_STATE");
    assert_eq!(init["d"].as_object().unwrap().len(), 20);
    let waited = Instant::now();
    // (Whatever `next` allows, the update must come within 15 s.)
    let update = next_json(&mut ws).await;
    assert!(waited.elapsed() < Duration::from_secs(15));
    assert_eq!(update["t"], "PRESENCE_UPDATE");
    assert!(
        update["d"]["discord_user"]["id"].as_str().is_some_and(|id| id.starts_with("13000000000000000")),
        "{update}"
    );

    // Nothing reached but the local gateway: by the config it runs with, by its log,
    // and by the process's own TCP connections.
    let gateway: SocketAddr = demo.logged("gateway").trim_start_matches("ws://").parse().unwrap();
    assert!(gateway.ip().is_loopback(), "{gateway}");
    assert_eq!(demo.logged("discord_api"), "http://127.0.0.1:0");
    assert_eq!(demo.logged("github_api"), "http://127.0.0.1:0");
    let connecting = demo.server.log_text();
    assert!(connecting.contains(&format!("connecting to the Discord gateway url=ws://{gateway}")), "{connecting}");
    assert!(!connecting.contains("192.0.2.1"), "HARMY_DISCORD_GATEWAY_URL was ignored");
    let peers = remote_peers(demo.server.child.id());
    assert!(peers.contains(&gateway), "the shard is connected to the local gateway: {peers:?}");
    assert!(peers.iter().all(is_loopback), "only loopback connections: {peers:?}");
    assert!(!demo.files_left().is_empty(), "the demo directory exists while it runs (in TMPDIR)");

    drop(ws);
    let status = {
        let server = &mut demo.server;
        server.signal("TERM");
        server.wait()
    };
    assert!(status.success(), "exit status {status:?}; log:\n{}", demo.server.log_text());
    assert_eq!(demo.files_left(), Vec::<PathBuf>::new(), "files left behind");
    assert!(!demo.server.log_text().contains("panicked"));
}

#[tokio::test]
async fn the_local_gateway_refuses_strangers_and_the_demo_goes_on() {
    let mut demo = Demo::start();
    let addr = demo.addr();
    support::api::until("the demo user served", || async {
        (get(addr, &format!("/user/{DEMO_USER}")).await.status == 200).then_some(())
    })
    .await;
    let gateway = demo.logged("gateway");
    let before = demo.server.memory_kib();

    // A stranger who found the port: a guessed token is closed with 4004.
    let uri = http::Uri::try_from(gateway.as_str()).unwrap();
    let (mut ws, _) = tokio_websockets::ClientBuilder::from_uri(uri.clone()).connect().await.unwrap();
    assert!(matches!(next(&mut ws).await, Frame::Text(t) if t.contains("heartbeat_interval")));
    say(&mut ws, r#"{"op":2,"d":{"token":"Bot demo.guessed","intents":37635}}"#).await;
    assert!(matches!(next(&mut ws).await, Frame::Close(4004, _)));
    drop(ws);

    // A frame far larger than anything harmy sends ends the connection, unanswered.
    let mut ws = support::api::until("a free gateway slot", || async {
        let (mut ws, _) = tokio_websockets::ClientBuilder::from_uri(uri.clone()).connect().await.ok()?;
        matches!(next(&mut ws).await, Frame::Text(_)).then_some(ws)
    })
    .await;
    say(&mut ws, &format!(r#"{{"op":1,"d":"{}"}}"#, "x".repeat(64 * 1024))).await;
    assert!(matches!(next(&mut ws).await, Frame::Close(..) | Frame::Ended), "the connection ends");
    drop(ws);

    // A flood of connections: beyond the shard's own (and one spare), each is dropped at once.
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..200 {
        let Ok(stream) = tokio::net::TcpStream::connect(gateway.trim_start_matches("ws://")).await else {
            refused += 1;
            continue;
        };
        let connected = tokio::time::timeout(
            Duration::from_secs(5),
            tokio_websockets::ClientBuilder::from_uri(uri.clone()).connect_on(stream),
        )
        .await;
        match connected {
            Ok(Ok((ws, _))) => held.push(ws),
            _ => refused += 1,
        }
    }
    assert!(held.len() <= 1, "{} strangers got a connection beside the shard's", held.len());
    assert!(refused >= 199, "refused {refused}");

    // Meanwhile the demo serves, and its own session still gets the guild's changes.
    let mut socket = socket(addr).await;
    next_json(&mut socket).await;
    say(&mut socket, r#"{"op":2,"d":{"subscribe_to_all":true}}"#).await;
    assert_eq!(next_json(&mut socket).await["t"], "INIT_STATE");
    assert_eq!(next_json(&mut socket).await["t"], "PRESENCE_UPDATE");
    assert_eq!(get(addr, "/health").await.json()["gateway"], "demo");
    let after = demo.server.memory_kib();
    assert!(after.rss <= before.rss + BUDGET_KIB, "RSS grew from {} to {} KiB", before.rss, after.rss);
    drop(held);

    // Ctrl-C ends it as SIGTERM does: exit 0, nothing left.
    demo.server.signal("INT");
    assert!(demo.server.wait().success(), "log:\n{}", demo.server.log_text());
    assert_eq!(demo.files_left(), Vec::<PathBuf>::new(), "files left behind");
}

#[tokio::test]
async fn the_demo_directory_is_owner_only_whatever_the_umask() {
    for umask in ["022", "000"] {
        let demo = Demo::start_with(umask, "127.0.0.1:0");
        let tmp = demo.root.path().join("tmp");
        let dirs: Vec<PathBuf> = std::fs::read_dir(&tmp).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(dirs.len(), 1, "{dirs:?}");
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&dirs[0]).unwrap().permissions());
        assert_eq!(mode & 0o7777, 0o700, "umask {umask}: {:o}", mode & 0o7777);
        demo.token();
        assert!(!demo.stdout.lock().unwrap().contains("WARNING"), "no warning on a loopback address");
    }
}

#[tokio::test]
async fn a_demo_listening_beyond_loopback_warns_that_its_token_is_usable_by_anyone() {
    let demo = Demo::start_with("022", "0.0.0.0:0");
    let token = demo.token();
    let banner = eventually("the warning", || {
        let out = demo.stdout.lock().unwrap().clone();
        out.contains("WARNING").then_some(out)
    });
    let warning = &banner[banner.find("WARNING").unwrap()..];
    assert!(warning.contains("0.0.0.0:") && warning.contains("not a loopback address"), "{warning}");
    assert!(warning.contains("anyone who can reach it can use the token"), "{warning}");
    assert!(banner.find(&token).unwrap() < banner.find("WARNING").unwrap(), "after the token it is about");
    assert!(demo.server.log_text().contains("not a loopback address"), "also in the log");
}
