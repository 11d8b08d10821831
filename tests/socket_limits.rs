//! End-to-end tests of the WebSocket limits (docs/SECURITY.md) against the real binary:
//! each reproduces an attack (scaled down to seconds), asserts the limit (close
//! code or status), shows the server's RSS stays within a stated budget, and
//! that other clients are answered meanwhile.

mod support;

use futures_util::SinkExt;
use support::Memory;
use support::api::*;
use support::discord_gateway::{Guild, member, presence, presence_update};
use support::http_client::{self as client, Frame, Socket, get, next, next_json, say, send};
use tokio_websockets::Message;

const MIB: u64 = 1024;

/// A distinct snowflake-sized id per `n`.
fn id(n: usize) -> String {
    (100_000_000_000_000_000u64 + n as u64).to_string()
}

fn subscribe_to_ids(ids: impl IntoIterator<Item = String>) -> String {
    let ids: Vec<String> = ids.into_iter().map(|id| format!("\"{id}\"")).collect();
    format!(r#"{{"op":2,"d":{{"subscribe_to_ids":[{}]}}}}"#, ids.join(","))
}

/// A served instance with Alice online in guild 1, once her presence is served.
async fn with_alice(extra: &str) -> Served {
    let served = serve_with(
        &format!("{NO_LIMITS}{extra}"),
        Guild::new(1).member(member(ALICE_ID, "vaq"), Some(presence(ALICE_ID, "online"))),
    );
    let addr = served.addr;
    until("alice's presence", || async { (get(addr, &format!("/user/{ALICE}")).await.status == 200).then_some(()) })
        .await;
    served
}

/// A socket past its hello.
async fn open(served: &Served) -> Socket {
    let mut ws = client::socket(served.addr, "/socket").await;
    assert_eq!(next_json(&mut ws).await["op"], 1);
    ws
}

/// Another client is answered: `GET /user/:id` and a fresh socket's INIT_STATE.
async fn others_are_served(served: &Served) {
    let rest = get(served.addr, &format!("/user/{ALICE}")).await;
    assert_eq!(rest.status, 200);
    let mut ws = open(served).await;
    say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
    let init = next_json(&mut ws).await;
    assert_eq!((init["t"].as_str(), init["d"]["discord_user"]["id"].as_str()), (Some("INIT_STATE"), Some(ALICE)));
}

/// Asserts the RSS now, and its peak, are within `budget_kib` of `before`.
fn within_budget(served: &Served, before: Memory, budget_kib: u64, what: &str) {
    let after = served.server.memory_kib();
    eprintln!("{what}: RSS {} -> {} KiB (peak {} KiB), budget +{budget_kib} KiB", before.rss, after.rss, after.hwm);
    assert!(after.rss <= before.rss + budget_kib, "{what}: RSS grew from {} to {} KiB", before.rss, after.rss);
    assert!(
        after.hwm <= before.hwm.max(before.rss) + budget_kib,
        "{what}: peak RSS {} KiB (from {})",
        after.hwm,
        before.hwm
    );
}

#[tokio::test]
async fn op_2s_past_max_ids_close_with_4006_and_memory_stays_bounded() {
    // The attack: op 2s with tens of thousands of ids each kept 1.56 GB. Now a session
    // watches at most 1 000 distinct ids; a message is at most 64 KiB (about 3 000 ids).
    let served = with_alice("").await;
    let before = served.server.memory_kib();
    let mut held = Vec::new();
    for s in 0..20 {
        let mut ws = open(&served).await;
        // The first 999 of this socket's own ids, and Alice: exactly the limit.
        let ids = (s * 1000..s * 1000 + 999).map(id).chain([ALICE.to_string()]);
        say(&mut ws, &subscribe_to_ids(ids)).await;
        let init = next_json(&mut ws).await;
        assert_eq!(init["d"].as_object().map(|d| d.len()), Some(1), "only Alice is monitored");
        held.push(ws);
        let mut refused = open(&served).await;
        say(&mut refused, &subscribe_to_ids((100_000 + s * 3000..100_000 + s * 3000 + 1000).map(id))).await;
        next_json(&mut refused).await;
        say(&mut refused, &subscribe_to_ids((200_000 + s * 3000..200_000 + s * 3000 + 3000).map(id))).await;
        assert_eq!(next(&mut refused).await, Frame::Close(4006, "too many ids: at most 1000 per session".into()));
    }
    others_are_served(&served).await;
    // Sessions at the limit still get what they watch.
    served.gw().dispatch("PRESENCE_UPDATE", presence_update(1, ALICE_ID, "dnd", vec![]));
    for ws in &mut held {
        assert_eq!(next_json(ws).await["d"]["discord_status"], "dnd");
    }
    // 20 sessions × 1 000 ids: a few MiB of subscriptions.
    within_budget(&served, before, 16 * MIB, "20 sessions at max_ids");
}

#[tokio::test]
async fn twenty_thousand_copies_of_one_id_are_one_id() {
    // The attack: 20 000 copies of one id made a 326 MB INIT_STATE. 21 000 copies now
    // (in seven messages under 64 KiB) are one subscription and one presence each time.
    let served = with_alice("").await;
    let before = served.server.memory_kib();
    let mut ws = open(&served).await;
    for _ in 0..7 {
        say(&mut ws, &subscribe_to_ids(std::iter::repeat_n(ALICE.to_string(), 3000))).await;
        let Frame::Text(init) = next(&mut ws).await else { panic!("INIT_STATE") };
        assert!(init.len() < 4096, "one presence: {} bytes", init.len());
        let init: serde_json::Value = serde_json::from_str(&init).unwrap();
        assert_eq!(init["d"].as_object().unwrap().keys().collect::<Vec<_>>(), vec![ALICE]);
    }
    others_are_served(&served).await;
    served.gw().dispatch("PRESENCE_UPDATE", presence_update(1, ALICE_ID, "idle", vec![]));
    assert_eq!(next_json(&mut ws).await["d"]["discord_status"], "idle");
    say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{BOB}"}}}}"#)).await;
    assert_eq!(next_json(&mut ws).await["t"], "INIT_STATE", "one push for the one id, not one per copy");
    within_budget(&served, before, 8 * MIB, "21 000 copies of one id");
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_closed_with_1008_and_memory_stays_bounded() {
    // The attack: one subscriber stops reading while a user's large presence changes;
    // each change queued one more big frame (1 024 frames of the old bound were GBs).
    // Now the queue holds at most `socket.max_queue_bytes` (8 MiB by default).
    let served = with_alice("").await;
    let addr = served.addr;
    let key = token(&served.instance, ALICE);
    let auth = [("authorization", key.as_str())];
    // Alice's KV near `kv.max_total_bytes` (256 KiB): every frame about her is that big.
    for batch in 0..5 {
        let pairs: Vec<String> = (0..5).map(|k| format!(r#""k{batch}{k}":"{}""#, "v".repeat(10_000))).collect();
        let patch = send(addr, "PATCH", &format!("/user/{ALICE}/kv"), &auth, format!("{{{}}}", pairs.join(","))).await;
        assert_eq!(patch.status, 204, "{}", patch.text());
    }
    let mut stalled = open(&served).await;
    say(&mut stalled, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
    let Frame::Text(init) = next(&mut stalled).await else { panic!("INIT_STATE") };
    assert!(init.len() > 250_000, "a large presence: {} bytes", init.len());
    let mut reader = open(&served).await;
    say(&mut reader, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
    next_json(&mut reader).await;
    let before = served.server.memory_kib();

    // From here `stalled` reads nothing; `reader` reads every update.
    let mut changes = 0;
    while metric(addr, "harmy_websocket_dropped_total").await != Some(1.0) {
        assert!(changes < 400, "no session was closed for falling behind after {changes} changes");
        let value = format!("{changes}w{}", "w".repeat(9_990));
        assert_eq!(send(addr, "PUT", &format!("/user/{ALICE}/kv/k00"), &auth, value).await.status, 204);
        let update = next_json(&mut reader).await;
        assert!(update["d"]["kv"]["k00"].as_str().unwrap().starts_with(&format!("{changes}w")), "the reader keeps up");
        changes += 1;
    }
    eprintln!("the stalled session was closed after {changes} changes of ~256 KiB");
    others_are_served(&served).await;
    within_budget(&served, before, 24 * MIB, "a stalled subscriber of a 256 KiB presence");
    // Once it reads again, it finds what was sent, then the close.
    let closed = loop {
        match next(&mut stalled).await {
            Frame::Text(_) => continue,
            other => break other,
        }
    };
    assert_eq!(closed, Frame::Close(1008, "too slow: send queue full".into()));
}

#[tokio::test]
async fn messages_over_64_kib_close_with_1009() {
    // The attack: 1 MiB messages were read and parsed whole; four such sockets slowed
    // `GET /` to seconds. And an oversized frame dropped TCP without a close frame.
    let served = with_alice("").await;
    let before = served.server.memory_kib();
    let big = format!(r#"{{"op":3,"d":"{}"}}"#, "x".repeat(1 << 20));
    let mut attackers = Vec::new();
    for _ in 0..4 {
        let mut ws = open(&served).await;
        let big = big.clone();
        attackers.push(tokio::spawn(async move {
            ws.send(Message::text(big)).await.expect("the server reads the whole message before closing");
            next(&mut ws).await
        }));
    }
    others_are_served(&served).await;
    for attacker in attackers {
        assert_eq!(attacker.await.unwrap(), Frame::Close(1009, "max length: 65536".into()));
    }
    within_budget(&served, before, 8 * MIB, "four 1 MiB messages");
}

#[tokio::test]
async fn a_flood_of_messages_closes_with_4008() {
    // The attack: op 3s of up to 64 KiB as fast as the socket takes them. A session may
    // send 10 messages a second, 20 at once.
    let served = with_alice("").await;
    let before = served.server.memory_kib();
    let heavy = format!(r#"{{"op":3,"d":"{}"}}"#, "x".repeat(60_000));
    let mut floods = Vec::new();
    for _ in 0..4 {
        let mut ws = open(&served).await;
        let heavy = heavy.clone();
        floods.push(tokio::spawn(async move {
            for _ in 0..200 {
                if ws.send(Message::text(heavy.clone())).await.is_err() {
                    break;
                }
            }
            loop {
                match next(&mut ws).await {
                    Frame::Text(_) => continue,
                    other => return other,
                }
            }
        }));
    }
    // A client beating as Lanyard clients do is not affected.
    let mut calm = open(&served).await;
    for _ in 0..5 {
        say(&mut calm, r#"{"op":3}"#).await;
    }
    others_are_served(&served).await;
    for flood in floods {
        assert_eq!(flood.await.unwrap(), Frame::Close(4008, "rate limited".into()));
    }
    say(&mut calm, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
    assert_eq!(next_json(&mut calm).await["t"], "INIT_STATE");
    within_budget(&served, before, 8 * MIB, "four floods of 60 KiB op 3s");
}

/// Asks for a socket upgrade with a plain HTTP client, to see a refusal's status and headers.
async fn upgrade(addr: std::net::SocketAddr) -> client::Reply {
    let headers = [
        ("connection", "upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    send(addr, "GET", "/socket", &headers, "").await
}

#[tokio::test]
async fn sockets_past_max_per_ip_get_429_and_a_close_frees_a_slot() {
    // The attack: one address held every socket slot. Default: 64 per address.
    let served = with_alice("").await;
    let before = served.server.memory_kib();
    let mut sockets = Vec::new();
    for _ in 0..64 {
        sockets.push(open(&served).await);
    }
    let refused = upgrade(served.addr).await;
    assert_eq!((refused.status, refused.code()), (429, "rate_limited".to_string()));
    assert_eq!(refused.header("content-type"), "application/json; charset=utf-8");
    assert!(!refused.header("retry-after").is_empty(), "Retry-After");
    assert!(!refused.header("ratelimit-limit").is_empty(), "the usual RateLimit-* headers");
    assert_eq!(get(served.addr, &format!("/user/{ALICE}")).await.status, 200, "plain requests are not limited by it");
    // However a session ends, its slot is freed: here the client just goes away.
    drop(sockets.pop());
    // (Probing with `upgrade` would take the freed slot itself until the server sees the
    // probe go: the socket that waits for the slot is the probe.)
    let uri = format!("ws://{}/socket", served.addr);
    let mut last = until("a freed slot", || async {
        tokio_websockets::ClientBuilder::new().uri(&uri).ok()?.connect().await.ok().map(|(ws, _)| ws)
    })
    .await;
    assert_eq!(next_json(&mut last).await["op"], 1);
    within_budget(&served, before, 8 * MIB, "64 sockets from one address");
}

#[tokio::test]
async fn subscribe_to_all_turned_off_closes_with_4006() {
    let served = with_alice("[socket]\nsubscribe_to_all = false\n").await;
    let mut ws = open(&served).await;
    say(&mut ws, r#"{"op":2,"d":{"subscribe_to_all":true}}"#).await;
    assert_eq!(next(&mut ws).await, Frame::Close(4006, "subscribe_to_all is disabled on this server".into()));
    others_are_served(&served).await;
}

#[tokio::test]
async fn concurrent_subscribe_to_all_share_one_init_state_and_keep_no_views() {
    // The attack: every concurrent `subscribe_to_all` built its own INIT_STATE and left
    // every user's views, composition and extras memoised. Now one build is shared
    // while nothing changes, and building keeps nothing.
    const MEMBERS: u64 = 20_000;
    let mut guild = Guild::new(1).large();
    for n in 0..MEMBERS {
        guild = guild.member(member(ALICE_ID + n, &format!("member{n}")), None);
    }
    let served = serve_with(NO_LIMITS, guild);
    let addr = served.addr;
    until("every member", || async { (get(addr, "/").await.json()["monitored_users"] == MEMBERS).then_some(()) }).await;
    let start = served.server.memory_kib();
    // The hub learns who is monitored from the change feed: wait until it knows everyone.
    // Under load that can take more than one build (the first ones partial), each of
    // which may leave its freed memory in an allocator arena of its own.
    let probes = std::sync::atomic::AtomicU32::new(0);
    let size = until("an INIT_STATE of every member", || async {
        probes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut ws = open(&served).await;
        say(&mut ws, r#"{"op":2,"d":{"subscribe_to_all":true}}"#).await;
        let Frame::Text(init) = next(&mut ws).await else { panic!("INIT_STATE") };
        let members = serde_json::from_str::<serde_json::Value>(&init).unwrap()["d"].as_object().unwrap().len();
        (members == MEMBERS as usize).then_some(init.len() as u64)
    })
    .await;
    // Budget of one build: the INIT_STATE, the one it replaces, plus slack. Memoising each
    // member's views and composition would be ~1.5 KiB × 20 000 more.
    let init_kib = size / 1024;
    eprintln!("INIT_STATE of {MEMBERS} members: {init_kib} KiB");
    let probes = probes.into_inner();
    if probes == 1 {
        within_budget(&served, start, 2 * init_kib + 12 * MIB, "one subscribe_to_all");
    } else {
        eprintln!("{probes} probes (a build each, at most) before the hub knew everyone: their memory is not measured");
    }
    let before = served.server.memory_kib();
    // A change, so that the sessions below need a new build, and all of them the same.
    served.gw().dispatch("PRESENCE_UPDATE", presence_update(1, ALICE_ID, "dnd", vec![]));
    until("the change", || async {
        (get(addr, &format!("/v1/users/{ALICE}")).await.json()["data"]["discord_status"] == "dnd").then_some(())
    })
    .await;
    let mut sessions = Vec::new();
    for _ in 0..20 {
        sessions.push(tokio::spawn({
            let mut ws = client::socket(addr, "/socket").await;
            async move {
                next(&mut ws).await;
                say(&mut ws, r#"{"op":2,"d":{"subscribe_to_all":true}}"#).await;
                let Frame::Text(init) = next(&mut ws).await else { panic!("INIT_STATE") };
                (init.len() as u64, ws)
            }
        }));
    }
    others_are_served(&served).await;
    let mut open_sessions = Vec::new();
    let mut sizes = Vec::new();
    for session in sessions {
        let (len, ws) = session.await.unwrap();
        sizes.push(len);
        open_sessions.push(ws);
    }
    assert!(sizes.iter().all(|&len| len == sizes[0]), "the same INIT_STATE: {sizes:?}");
    // The same budget: a build per session would be 20 × the INIT_STATE.
    within_budget(&served, before, 2 * init_kib + 12 * MIB, "20 concurrent subscribe_to_all");
}

#[tokio::test]
async fn clients_that_stop_reading_their_init_state_are_dropped_after_the_write_timeout() {
    // The attack: sockets subscribe to many ids, then read nothing while beating and
    // sending op 2s, each of which used to build and keep one more INIT_STATE. Now a
    // session builds one INIT_STATE at a time (its next messages wait while one is
    // unwritten) and one whose client has not received what it was sent within
    // `socket.write_timeout` ends.
    const MEMBERS: usize = 4_000;
    const ATTACKERS: usize = 4;
    let mut guild = Guild::new(1).large();
    for n in 0..MEMBERS {
        guild = guild.member(member(ALICE_ID + n as u64, &format!("member{n}")), None);
    }
    let served = serve_with(&format!("{NO_LIMITS}[socket]\nwrite_timeout = \"2s\"\n"), guild);
    let addr = served.addr;
    let members = MEMBERS as u64;
    until("every member", || async { (get(addr, "/").await.json()["monitored_users"] == members).then_some(()) }).await;
    let ids = |s: usize| (0..1000).map(move |n| (ALICE_ID + ((s * 211 + n) % MEMBERS) as u64).to_string());
    // The size of one session's INIT_STATE (1 000 members), read by a client that reads.
    let mut probe = open(&served).await;
    say(&mut probe, &subscribe_to_ids(ids(0))).await;
    let Frame::Text(init) = next(&mut probe).await else { panic!("INIT_STATE") };
    let init_kib = init.len() as u64 / 1024;
    drop(probe);
    let before = served.server.memory_kib();
    let mut attackers = Vec::new();
    for s in 0..ATTACKERS {
        // A small receive window. The server's kernel still takes up to its send buffer
        // (4 MiB here) of INIT_STATEs; past that they stay in the server, one at a time.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket.connect(addr).await.unwrap();
        let uri = format!("ws://{addr}/socket");
        let (mut ws, _) = tokio_websockets::ClientBuilder::new()
            .uri(&uri)
            .unwrap()
            .connect_on(tokio_websockets::MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
        assert_eq!(next_json(&mut ws).await["op"], 1);
        let op2 = subscribe_to_ids(ids(s));
        attackers.push(tokio::spawn(async move {
            // 20 op 2s at once (the burst the rate limit allows), then a heartbeat every
            // half second; never a read.
            for _ in 0..20 {
                if ws.send(Message::text(op2.clone())).await.is_err() {
                    return;
                }
            }
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                if ws.send(Message::text(r#"{"op":3}"#)).await.is_err() {
                    return;
                }
            }
        }));
    }
    others_are_served(&served).await;
    until("the stalled sessions dropped", || async {
        (metric(addr, "harmy_websocket_dropped_total").await == Some(ATTACKERS as f64)).then_some(())
    })
    .await;
    let log = served.server.log_text();
    assert_eq!(log.matches("sent bytes not received within socket.write_timeout").count(), ATTACKERS, "{log}");
    others_are_served(&served).await;
    // Budget: one INIT_STATE per session at most (20 each would be 20 times that), and slack.
    eprintln!("one INIT_STATE of 1 000 members: {init_kib} KiB");
    within_budget(&served, before, ATTACKERS as u64 * init_kib * 2 + 12 * MIB, "4 stalled sessions, 20 op 2s each");
    for attacker in attackers {
        attacker.abort();
    }
}

/// The kernel memory (bytes queued to send and received, `ss`'s skmem `w` and
/// `r`) of every TCP socket with `port` at either end: the server's and its
/// clients', which on one host are all on this machine's account.
fn kernel_bytes(port: u16) -> u64 {
    let out = std::process::Command::new("ss")
        .args(["-tmnH", "state", "established", &format!("( sport = :{port} or dport = :{port} )")])
        .output()
        .expect("ss (iproute2)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("skmem:(")
        .skip(1)
        .map(|mem| {
            let fields = mem.split(')').next().unwrap_or_default();
            let value =
                |name: &str| -> u64 { fields.split(',').find_map(|f| f.strip_prefix(name)?.parse().ok()).unwrap_or(0) };
            value("r") + value("w")
        })
        .sum()
}

#[tokio::test]
async fn stalled_readers_hold_little_kernel_memory_and_are_dropped() {
    // The attack: 256 `subscribe_to_all` clients that never read held ~89 MB of kernel
    // TCP memory for 80 s (send buffers autotuned to ~4 MB each), none of it in harmy's
    // RSS. Now each socket's send buffer is capped (`socket.send_buffer_bytes`; 96 KiB
    // here, so that 256 of them fit 32 MiB) and a client that does not receive what it
    // was sent is dropped after `socket.write_timeout`.
    const MEMBERS: u64 = 4_000;
    const READERS: usize = 256;
    const SEND_BUFFER: u64 = 96 << 10;
    let mut guild = Guild::new(1).large();
    for n in 0..MEMBERS {
        guild = guild.member(member(ALICE_ID + n, &format!("member{n}")), None);
    }
    let socket = format!("[socket]\nwrite_timeout = \"3s\"\nmax_per_ip = 0\nsend_buffer_bytes = {SEND_BUFFER}\n");
    let served = serve_with(&format!("{NO_LIMITS}{socket}"), guild);
    let addr = served.addr;
    until("every member", || async { (get(addr, "/").await.json()["monitored_users"] == MEMBERS).then_some(()) }).await;
    let before = kernel_bytes(addr.port());
    let mut readers = Vec::new();
    for _ in 0..READERS {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket.connect(addr).await.unwrap();
        let (mut ws, _) = tokio_websockets::ClientBuilder::new()
            .uri(&format!("ws://{addr}/socket"))
            .unwrap()
            .connect_on(tokio_websockets::MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
        assert_eq!(next_json(&mut ws).await["op"], 1);
        ws.send(Message::text(r#"{"op":2,"d":{"subscribe_to_all":true}}"#)).await.unwrap();
        readers.push(ws);
    }
    // The kernel's queues at their fullest: until the first stalled reader is dropped.
    let peak = std::sync::atomic::AtomicU64::new(0);
    until("the stalled readers dropped", || async {
        peak.fetch_max(kernel_bytes(addr.port()), std::sync::atomic::Ordering::Relaxed);
        (metric(addr, "harmy_websocket_sessions").await == Some(0.0)).then_some(())
    })
    .await;
    let peak = peak.into_inner();
    let after = kernel_bytes(addr.port());
    eprintln!(
        "{READERS} stalled subscribe_to_all readers: kernel memory {} KiB before, peak {} KiB, {} KiB once dropped",
        before / 1024,
        peak / 1024,
        after / 1024
    );
    // Each stalled socket holds its send buffer, and one segment more at most.
    assert!(peak.saturating_sub(before) <= READERS as u64 * (SEND_BUFFER + (8 << 10)), "peak {peak} bytes");
    assert!(peak.saturating_sub(before) <= 32 << 20, "peak {peak} bytes");
    assert!(after.saturating_sub(before) <= 1 << 20, "given back: {after} bytes");
    others_are_served(&served).await;
}
