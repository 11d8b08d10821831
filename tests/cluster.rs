//! One primary and read replicas over a real nats-server (Debian's package,
//! JetStream on): the same answers on every node, pushes on a replica's
//! socket, KV requests relayed with read-your-writes, no token in NATS, the
//! loss and return of the primary and of NATS, one primary per name, privacy.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use support::api::{ALICE, ALICE_ID, BOB, BOB_ID, NO_LIMITS, Served, serve_with, token, until};
use support::discord_gateway::{Guild, member_full, presence_update, presence_with, spotify};
use support::http_client::{get, next_json, send, socket};
use support::nats::NatsServer;
use support::{Instance, Server};

/// The card's image hosts, closed: no test reaches the internet.
const CARD: &str = "[card]\ncdn_url = \"http://127.0.0.1:9\"\nspotify_image_url = \"http://127.0.0.1:9\"\n";

fn guild() -> Guild {
    Guild::new(1)
        .member(
            member_full(ALICE_ID, "alice", "Alice", "a_1234", Some("ally")),
            Some(presence_with(ALICE_ID, "dnd", serde_json::json!({"desktop": "dnd"}), vec![spotify("Song")])),
        )
        .member(member_full(BOB_ID, "bob", "Bob", "b_5678", None), None)
}

fn cluster_toml(nats: &NatsServer, name: &str) -> String {
    format!("[cluster]\nnats_url = \"{}\"\nname = \"{name}\"\n", nats.url())
}

/// A primary against the fake gateway, in the cluster `name`.
fn primary(nats: &NatsServer, name: &str) -> Served {
    serve_with(&format!("{NO_LIMITS}{CARD}{}", cluster_toml(nats, name)), guild())
}

/// A replica of the cluster `name`: an instance with no database, started with `--replica`.
fn replica(nats: &NatsServer, name: &str) -> (Instance, Server, SocketAddr) {
    let instance = Instance::unmigrated(&format!("{NO_LIMITS}{CARD}[cluster]\nname = \"{name}\"\n"));
    let server = Server::start(instance.command(&["serve", "--replica", &nats.url()]));
    let addr = server.http.expect("the started line names the HTTP address");
    (instance, server, addr)
}

/// Waits until the replica holds the whole state and has heard its primary (its log shown if it never does).
async fn synced(server: &Server, addr: SocketAddr) -> (u16, Value) {
    let deadline = std::time::Instant::now() + support::PATIENCE;
    loop {
        let health = health(addr).await;
        if health.0 == 200 && health.1["primary"] == "up" {
            return health;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the replica never synced: {health:?}; log:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn health(addr: SocketAddr) -> (u16, Value) {
    let reply = get(addr, "/health").await;
    (reply.status, reply.json())
}

/// Waits until the replica answers `path` as the primary does (status and body).
async fn same_as_primary(primary: SocketAddr, replica: SocketAddr, path: &str) {
    until(&format!("{path} on the replica as on the primary"), || async {
        let (a, b) = (get(primary, path).await, get(replica, path).await);
        (a.status == b.status && a.body == b.body).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_replica_answers_every_read_as_the_primary_and_relays_kv_requests() {
    let nats = NatsServer::start();
    let primary = primary(&nats, "one");
    let (_instance, replica_server, replica) = replica(&nats, "one");
    let (status, body) = synced(&replica_server, replica).await;
    assert_eq!(
        (body["role"].as_str(), body["state"].as_str(), body["primary"].as_str()),
        (Some("replica"), Some("synced"), Some("up")),
        "{body}"
    );
    assert_eq!(status, 200);
    assert_eq!(health(primary.addr).await.1["role"], "primary");
    let metrics = get(replica, "/metrics").await.text();
    for line in ["harmy_cluster_connected 1\n", "harmy_cluster_lag_changes ", "harmy_cluster_lag_seconds "] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    assert!(get(primary.addr, "/metrics").await.text().contains("harmy_cluster_connected 1\n"));
    same_as_primary(primary.addr, replica, &format!("/user/{ALICE}")).await;

    // Every read route: the same status, bytes, ETag, Content-Type and Cache-Control.
    let paths = [
        format!("/user/{ALICE}"),
        format!("/v1/users/{ALICE}"),
        format!("/user/{BOB}"),
        format!("/v1/users/{BOB}"),
        format!("/users?ids={ALICE},{BOB},1"),
        format!("/v1/users?ids={ALICE},{BOB}"),
        format!("/user/{ALICE}/card.svg"),
        format!("/api/{ALICE}"),
        format!("/{ALICE}.png"),
        "/user/1".to_string(),
        "/v1/users/abc".to_string(),
        "/openapi.json".to_string(),
        "/".to_string(),
    ];
    for path in &paths {
        let (a, b) = (get(primary.addr, path).await, get(replica, path).await);
        assert_eq!((a.status, &a.body), (b.status, &b.body), "{path}");
        for header in ["etag", "content-type", "cache-control"] {
            assert_eq!(a.header(header), b.header(header), "{path}: {header}");
        }
    }
    assert_eq!(get(replica, &format!("/user/{ALICE}")).await.json()["presence"]["spotifyActivity"]["song"], "Song");

    // A change at the primary's gateway: pushed on the replica's socket, and served there.
    let mut ws = socket(replica, "/socket").await;
    assert_eq!(next_json(&mut ws).await["op"], 1);
    support::http_client::say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
    assert_eq!(next_json(&mut ws).await["t"], "INIT_STATE");
    primary.gw().dispatch("PRESENCE_UPDATE", presence_update(1, ALICE_ID, "idle", vec![spotify("Next")]));
    let pushed = next_json(&mut ws).await;
    assert_eq!(
        (pushed["t"].as_str(), pushed["d"]["spotify"]["song"].as_str()),
        (Some("PRESENCE_UPDATE"), Some("Next")),
        "{pushed}"
    );
    same_as_primary(primary.addr, replica, &format!("/v1/users/{ALICE}")).await;

    // KV through the replica, with everything that crosses NATS watched.
    let watcher = async_nats::connect(nats.url()).await.unwrap();
    let mut everything = watcher.subscribe(">").await.unwrap();
    watcher.flush().await.unwrap();
    let alice = token(&primary.instance, ALICE);
    let auth = [("authorization", alice.as_str())];
    let put = send(replica, "PUT", "/user/@me/kv/city", &auth, "Lisbon").await;
    assert_eq!(put.status, 204, "{}", put.text());
    // Read-your-writes on the node that relayed it, at once.
    assert_eq!(get(replica, &format!("/user/{ALICE}")).await.json()["KV"]["city"], "Lisbon");
    assert_eq!(send(replica, "GET", &format!("/user/{ALICE}/kv/city"), &auth, "").await.json()["value"], "Lisbon");
    let patch = send(replica, "PATCH", &format!("/v1/users/{ALICE}/kv"), &auth, r#"{"mood":"calm"}"#).await;
    assert_eq!(patch.status, 204);
    assert_eq!(get(replica, &format!("/v1/users/{ALICE}")).await.json()["data"]["kv"]["mood"], "calm");
    // The primary's answers, relayed unchanged: a wrong token, a bad key.
    let wrong = send(replica, "PUT", "/user/@me/kv/x", &[("authorization", "harmy_wrong_token")], "v").await;
    assert_eq!((wrong.status, wrong.code()), (401, "unauthorized".to_string()));
    let bad = send(replica, "PUT", &format!("/v1/users/{ALICE}/kv/no-dash"), &auth, "v").await;
    assert_eq!((bad.status, bad.json()["success"].as_bool()), (400, Some(false)), "{}", bad.text());
    let rotated = token(&primary.instance, ALICE);
    assert_eq!(
        send(replica, "DELETE", "/user/@me/kv/city", &[("authorization", rotated.as_str())], "").await.status,
        204
    );
    same_as_primary(primary.addr, replica, &format!("/user/{ALICE}")).await;
    watcher.flush().await.unwrap();
    let mut seen = 0;
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(300), everything.next()).await {
        seen += 1;
        let text = String::from_utf8_lossy(&message.payload);
        for secret in [alice.as_str(), rotated.as_str(), "$argon2", "harmy_wrong_token"] {
            assert!(!text.contains(secret), "{secret} crossed NATS on {}: {text}", message.subject);
        }
        let headers = format!("{:?}", message.headers);
        assert!(!headers.contains(&alice) && !headers.contains(&rotated), "a token in headers on {}", message.subject);
    }
    assert!(seen >= 4, "the relayed requests and the records were watched ({seen} messages)");
}

/// Waits for a frame on `ws` matching `wanted` (skipping others).
async fn pushed(ws: &mut support::http_client::Socket, wanted: impl Fn(&Value) -> bool) -> Value {
    loop {
        let frame = next_json(ws).await;
        if wanted(&frame) {
            return frame;
        }
    }
}

fn song(doc: &Value) -> Option<&str> {
    doc["presence"]["spotifyActivity"]["song"].as_str()
}

#[tokio::test]
async fn the_replica_outlives_its_nats_server_and_its_primary() {
    let mut nats = NatsServer::start();
    let primary = primary(&nats, "two");
    let (_instance, replica_server, replica) = replica(&nats, "two");
    synced(&replica_server, replica).await;
    same_as_primary(primary.addr, replica, &format!("/user/{ALICE}")).await;
    let mut ws = socket(replica, "/socket").await;
    assert_eq!(next_json(&mut ws).await["op"], 1);
    support::http_client::say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
    assert_eq!(next_json(&mut ws).await["t"], "INIT_STATE");

    // NATS gone: the replica serves on; a change made meanwhile arrives once NATS is back.
    nats.stop();
    assert_eq!(get(replica, &format!("/user/{ALICE}")).await.status, 200);
    primary.gw().dispatch("PRESENCE_UPDATE", presence_update(1, ALICE_ID, "online", vec![spotify("While away")]));
    until("the primary has the change", || async {
        (song(&get(primary.addr, &format!("/user/{ALICE}")).await.json()) == Some("While away")).then_some(())
    })
    .await;
    nats.restart();
    until("the replica caught up", || async {
        (song(&get(replica, &format!("/user/{ALICE}")).await.json()) == Some("While away")).then_some(())
    })
    .await;
    let frame = pushed(&mut ws, |f| f["d"]["spotify"]["song"] == "While away").await;
    assert_eq!(frame["t"], "PRESENCE_UPDATE");
    until("NATS up again in /health", || async { (health(replica).await.1["nats"] == "up").then_some(()) }).await;

    // The primary killed: the last state served, the socket open, writes 503.
    primary.server.signal("KILL");
    let (status, body) =
        until("the primary seen down", || async { Some(health(replica).await).filter(|h| h.1["primary"] == "down") })
            .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")), "{body}");
    assert_eq!(song(&get(replica, &format!("/user/{ALICE}")).await.json()), Some("While away"));
    let refused = send(replica, "PUT", "/user/@me/kv/x", &[("authorization", "harmy_any_token")], "v").await;
    assert_eq!((refused.status, refused.code()), (503, "primary_unavailable".to_string()), "{}", refused.text());
    assert!(refused.header("retry-after").parse::<u64>().is_ok_and(|s| s > 0));
    support::http_client::say(&mut ws, r#"{"op":3}"#).await;
    let quiet = tokio::time::timeout(Duration::from_millis(500), support::http_client::next(&mut ws)).await;
    assert!(quiet.is_err(), "the socket stays open and quiet: {quiet:?}");

    // The dead primary's lease runs out within 30 s: a new primary of the name is
    // refused until then, and starts after; the replica hears it and relays again.
    let killed = std::time::Instant::now();
    let discord = primary.gw().discord_toml("http://127.0.0.1:1");
    let next = Instance::new(&format!("{NO_LIMITS}{CARD}{}{discord}", cluster_toml(&nats, "two")));
    let mut refusals = 0;
    let (started, _next) = loop {
        match try_serve(&next) {
            Some(server) => break (killed.elapsed(), server),
            None => refusals += 1,
        }
        assert!(killed.elapsed() < Duration::from_secs(40), "no new primary within 40 s of the kill");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(refusals > 0, "the dead primary's lease held the name at first");
    assert!(started <= Duration::from_secs(32), "the lease ran out {started:?} after the kill");
    until("the new primary heard", || async { (health(replica).await.1["primary"] == "up").then_some(()) }).await;
    let alice = token(&next, ALICE);
    let put = send(replica, "PUT", "/user/@me/kv/back", &[("authorization", alice.as_str())], "yes").await;
    assert_eq!(put.status, 204, "{}", put.text());
}

/// Starts `harmy serve` on `instance`: the server once it says it started, or
/// `None` when it exits first (a primary refused for the name).
fn try_serve(instance: &Instance) -> Option<Server> {
    use std::io::BufRead;
    let mut child = instance
        .command(&["serve"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut lines = stderr.lines();
    for line in lines.by_ref().map_while(Result::ok) {
        log.lock().unwrap().push(line.clone());
        if line.contains("harmy serve started") {
            let http = line.split_whitespace().find_map(|f| f.strip_prefix("http=")).and_then(|a| a.parse().ok());
            let kept = log.clone();
            std::thread::spawn(move || {
                for line in lines.map_while(Result::ok) {
                    kept.lock().unwrap().push(line);
                }
            });
            return Some(Server { child, log, http, metrics: None });
        }
    }
    let status = child.wait().unwrap();
    let text = log.lock().unwrap().join("\n");
    assert!(!status.success() && text.contains("another primary holds the cluster name"), "{status:?}: {text}");
    None
}

#[tokio::test]
async fn one_primary_per_name_and_a_late_replica_holds_the_latest_state_and_nothing_hidden() {
    let nats = NatsServer::start();
    let primary = primary(&nats, "three");

    // A second primary of the same name is refused, and told who holds it.
    let second = Instance::new(&format!("{NO_LIMITS}{CARD}{}", cluster_toml(&nats, "three")));
    let out = second.cli(&["serve"]);
    let err = support::stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("another primary holds the cluster name `three`"), "{err}");
    assert!(err.contains(&format!("pid {}", primary.server.child.id())), "{err}");

    // 10 000 changes, then a new replica: it holds the latest state of everyone.
    for i in 0..10_000 {
        let status = if i % 2 == 0 { "online" } else { "idle" };
        primary
            .gw()
            .dispatch("PRESENCE_UPDATE", presence_update(1, ALICE_ID, status, vec![spotify(&format!("Song {i}"))]));
    }
    until("the primary has the last change", || async {
        (song(&get(primary.addr, &format!("/user/{ALICE}")).await.json()) == Some("Song 9999")).then_some(())
    })
    .await;
    let (_instance, replica_server, replica) = replica(&nats, "three");
    synced(&replica_server, replica).await;
    for path in [format!("/user/{ALICE}"), format!("/v1/users/{BOB}")] {
        let (a, b) = (get(primary.addr, &path).await, get(replica, &path).await);
        assert_eq!((a.status, a.body), (b.status, b.body), "{path} once synced");
    }

    // Hidden: gone from the replicas. Forgotten: purged from JetStream, no history.
    assert!(primary.instance.cli(&["user", "hide", BOB]).status.success());
    until("BOB gone from the replica", || async {
        (get(replica, &format!("/user/{BOB}")).await.code() == "user_not_monitored").then_some(())
    })
    .await;
    let alice = token(&primary.instance, ALICE);
    let put = send(replica, "PUT", "/user/@me/kv/secret", &[("authorization", alice.as_str())], "v").await;
    assert_eq!(put.status, 204);
    let out = primary.instance.cli(&["user", "forget", ALICE]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    until("ALICE gone from the replica", || async {
        (get(replica, &format!("/user/{ALICE}")).await.code() == "user_not_monitored").then_some(())
    })
    .await;
    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let users = js.get_key_value("three_users").await.unwrap();
    let mut history = users.history(format!("u{ALICE}")).await.unwrap();
    let mut entries = Vec::new();
    while let Some(entry) = history.next().await {
        entries.push(entry.unwrap());
    }
    assert!(!entries.is_empty());
    for entry in &entries {
        assert_eq!(entry.operation, async_nats::jetstream::kv::Operation::Purge, "{entry:?}");
        assert!(entry.value.is_empty(), "{entry:?}");
    }
}

#[tokio::test]
async fn a_cluster_behind_a_nats_token_joins_with_token_files_and_refuses_without() {
    let nats = NatsServer::start_with_token("s3cret-nats-token");
    let files = tempfile::tempdir().unwrap();
    let token_file = files.path().join("nats-token");
    std::fs::write(&token_file, "s3cret-nats-token\n").unwrap();
    let cluster = format!("{}token_file = \"{}\"\n", cluster_toml(&nats, "four"), token_file.display());

    // Without the token, a primary does not start, and says why.
    let refused = Instance::new(&format!("{NO_LIMITS}{CARD}{}", cluster_toml(&nats, "four")));
    let out = refused.cli(&["serve"]);
    let err = support::stderr(&out);
    assert!(
        !out.status.success() && err.contains("refused this client") && err.contains("cluster.token_file"),
        "{err}"
    );

    // With it, primary and replica join, and the replica serves the primary's bytes.
    let primary = serve_with(&format!("{NO_LIMITS}{CARD}{cluster}"), guild());
    let instance = Instance::unmigrated(&format!("{NO_LIMITS}{CARD}{cluster}"));
    let server = Server::start(instance.command(&["serve", "--replica", &nats.url()]));
    let replica = server.http.unwrap();
    synced(&server, replica).await;
    same_as_primary(primary.addr, replica, &format!("/user/{ALICE}")).await;
}

/// The setting lines of a cluster member joining `nats` with `extra` settings.
fn joining(nats: &NatsServer, name: &str, extra: &str) -> String {
    format!("{NO_LIMITS}{CARD}{}{extra}", cluster_toml(nats, name))
}

/// A primary of the cluster `name` that must not start: what it says.
fn refused_primary(config: &str) -> String {
    let out = Instance::new(config).cli(&["serve"]);
    let err = support::stderr(&out);
    assert!(!out.status.success(), "a primary started with {config}: {err}");
    err
}

/// A primary and a replica of `config`: the replica syncs and serves the primary's bytes.
async fn primary_and_replica_join(config: &str, nats: &NatsServer) {
    let primary = serve_with(config, guild());
    let instance = Instance::unmigrated(config);
    let server = Server::start(instance.command(&["serve", "--replica", &nats.url()]));
    let replica = server.http.unwrap();
    synced(&server, replica).await;
    same_as_primary(primary.addr, replica, &format!("/user/{ALICE}")).await;
}

#[tokio::test]
async fn a_cluster_joins_a_nats_server_of_accounts_with_credentials_files() {
    let accounts = support::nats::Accounts::new();
    let nats = NatsServer::start_with_accounts(&accounts);

    // No credentials, or a user of an account the server does not trust: refused, saying where to look.
    let err = refused_primary(&joining(&nats, "five", ""));
    assert!(err.contains("refused this client") && err.contains("cluster.credentials_file"), "{err}");
    let stranger = accounts.credentials("stranger", false);
    let err = refused_primary(&joining(&nats, "five", &format!("credentials_file = \"{stranger}\"\n")));
    assert!(err.contains("refused this client"), "{err}");
    // A file that is not a credentials file: said at once, naming the setting.
    let err = refused_primary(&joining(&nats, "five", "credentials_file = \"/etc/hostname\"\n"));
    assert!(err.contains("cluster.credentials_file /etc/hostname"), "{err}");

    let creds = accounts.credentials("harmy", true);
    primary_and_replica_join(&joining(&nats, "five", &format!("credentials_file = \"{creds}\"\n")), &nats).await;
}

#[tokio::test]
async fn a_cluster_joins_over_tls_with_a_private_authority_and_client_certificates() {
    let tls = support::nats::Tls::new();
    let nats = NatsServer::start_with_tls(&tls);
    assert!(nats.url().starts_with("tls://"));
    let ca = format!("ca_file = \"{}\"\n", tls.file("ca.pem"));
    let client = format!("cert_file = \"{}\"\nkey_file = \"{}\"\n", tls.file("client.pem"), tls.file("client.key"));

    // The server's certificate is not trusted without the authority; without a
    // client certificate the server refuses; half a pair is a mistake said at once.
    let err = refused_primary(&joining(&nats, "six", &client));
    assert!(err.contains("cluster.ca_file"), "{err}");
    let err = refused_primary(&joining(&nats, "six", &ca));
    assert!(err.contains("refused this client"), "{err}");
    let half = format!("{ca}cert_file = \"{}\"\n", tls.file("client.pem"));
    let err = refused_primary(&joining(&nats, "six", &half));
    assert!(err.contains("cluster.cert_file and cluster.key_file go together"), "{err}");
    let missing = format!("{client}ca_file = \"{}\"\n", tls.file("nowhere.pem"));
    let err = refused_primary(&joining(&nats, "six", &missing));
    assert!(err.contains("reading cluster.ca_file"), "{err}");

    primary_and_replica_join(&joining(&nats, "six", &format!("{ca}{client}")), &nats).await;
}

#[tokio::test]
async fn a_flood_of_relayed_requests_is_answered_busy_beyond_the_cap_and_the_primary_serves_on() {
    use harmy::cluster::relay::MAX_ANSWERING;
    const FLOOD: usize = 4_000;
    let nats = NatsServer::start();
    let primary = primary(&nats, "seven");
    let alice = token(&primary.instance, ALICE);
    // A NATS user flooding the relay subject as replicas would, sealing to the primary's key from its beat.
    let client = async_nats::connect(nats.url()).await.unwrap();
    let mut beats = client.subscribe("seven.alive").await.unwrap();
    let beat: Value = serde_json::from_slice(&beats.next().await.unwrap().payload).unwrap();
    let primary_key = nkeys::XKey::from_public_key(beat["key"].as_str().unwrap()).unwrap();
    let ours = nkeys::XKey::new();
    let mut answers = client.subscribe("flood.>").await.unwrap();
    let before = primary.server.memory_kib();
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    for i in 0..FLOOD {
        let request = harmy::cluster::relay::Request {
            method: "PUT".into(),
            path: format!("/user/@me/kv/k{}", i % 100),
            authorization: Some(alice.clone()),
            content_type: None,
            body: vec![b'v'; 1024],
            at: now_ms,
        };
        let sealed = ours.seal(&serde_json::to_vec(&request).unwrap(), &primary_key).unwrap();
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Harmy-Sender", ours.public_key().as_str());
        client
            .publish_with_reply_and_headers("seven.relay", format!("flood.{i}"), headers, sealed.into())
            .await
            .unwrap();
    }
    client.flush().await.unwrap();

    // While it answers, the primary serves its own clients.
    let asked = std::time::Instant::now();
    assert_eq!(get(primary.addr, "/health").await.status, 200);
    let health_took = asked.elapsed();

    // Each request is answered: the first ones written, those beyond the cap told "busy" at once.
    let (mut busy, mut written) = (0, 0);
    while busy + written < FLOOD {
        let answer = tokio::time::timeout(support::PATIENCE, answers.next()).await.expect("every request answered");
        let answer = answer.unwrap();
        if answer.headers.as_ref().is_some_and(|h| h.get("Harmy-Busy").is_some()) {
            busy += 1;
            continue;
        }
        let opened: Value = serde_json::from_slice(&ours.open(&answer.payload, &primary_key).unwrap()).unwrap();
        assert!((200..300).contains(&opened["status"].as_u64().unwrap()), "{opened}");
        written += 1;
    }
    let after = primary.server.memory_kib();
    println!(
        "{written} written, {busy} answered busy; /health took {health_took:?} during the flood; \
         RSS {} -> {} KiB, VmHWM {} -> {} KiB",
        before.rss, after.rss, before.hwm, after.hwm
    );
    assert!(written >= MAX_ANSWERING && busy > 0, "{written} written, {busy} busy");
    assert!(health_took < Duration::from_secs(1), "/health took {health_took:?}");
    assert!(after.hwm < before.hwm + 32 * 1024, "VmHWM {} -> {} KiB", before.hwm, after.hwm);
    // The writes answered are in place.
    let kv = get(primary.addr, &format!("/user/{ALICE}")).await.json();
    assert_eq!(kv["KV"]["k0"].as_str().map(str::len), Some(1024), "k0 of {:?}", kv["KV"].as_object().map(|o| o.len()));
}
