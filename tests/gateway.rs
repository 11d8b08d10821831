//! End-to-end tests of presence tracking: the real `harmy serve` against the
//! fake Discord gateway, plus a check that a bare twilight shard accepts the fake;
//! session liveness (`/health`, `harmy_gateway_up`) for every way a session is
//! lost; Discord's member-request rate limit.

mod support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::discord_gateway::*;
use twilight_gateway::{ConfigBuilder, Event, EventTypeFlags, Intents, Shard, ShardId, StreamExt};

/// Runs a bare twilight shard against the fake; its events arrive on the channel.
fn bare_shard(gw: &FakeGateway) -> (tokio::runtime::Runtime, mpsc::Receiver<Event>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (tx, rx) = mpsc::channel();
    let url = gw.url().to_string();
    runtime.spawn(async move {
        let queue = twilight_gateway::queue::InMemoryQueue::new(0, 0, Duration::ZERO, 0);
        let intents = Intents::from_bits_truncate(INTENTS);
        let config = ConfigBuilder::new("test-token".into(), intents).proxy_url(url).queue(queue).build();
        let mut shard = Shard::with_config(ShardId::ONE, config);
        while let Some(item) = shard.next_event(EventTypeFlags::all()).await {
            if let Ok(event) = item
                && tx.send(event).is_err()
            {
                break;
            }
        }
    });
    (runtime, rx)
}

/// The next event that `pick` accepts, skipping others.
fn next_matching<T>(rx: &mpsc::Receiver<Event>, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    loop {
        let event = rx.recv_timeout(Duration::from_secs(20)).expect("an event from the shard");
        if let Some(found) = pick(event) {
            return found;
        }
    }
}

#[test]
fn twilight_accepts_the_fake_gateway() {
    let gw = FakeGateway::start();
    gw.set_guild(Guild::new(1).member(member(2, "alice"), Some(presence(2, "online"))).member(member(3, "bob"), None));
    let (_runtime, rx) = bare_shard(&gw);

    let session = next_matching(&rx, |e| if let Event::Ready(r) = e { Some(r.session_id) } else { None });
    assert_eq!(session, "session-1");
    let members = next_matching(&rx, |e| if let Event::GuildCreate(g) = e { Some(g) } else { None });
    let twilight_model::gateway::payload::incoming::GuildCreate::Available(guild) = *members else { panic!() };
    assert_eq!(guild.members.len(), 2);
    assert_eq!(guild.presences.len(), 1);

    gw.dispatch("PRESENCE_UPDATE", presence_update(1, 2, "idle", vec![spotify("BMW"), custom_status("hi")]));
    let update = next_matching(&rx, |e| if let Event::PresenceUpdate(p) = e { Some(p) } else { None });
    assert_eq!(update.activities.len(), 2);

    gw.reconnect();
    gw.wait_for_resumes(1);
    next_matching(&rx, |e| matches!(e, Event::Resumed).then_some(()));

    gw.drop_connection();
    gw.dispatch("GUILD_MEMBER_REMOVE", member_remove(1, 3));
    gw.wait_for_resumes(2);
    next_matching(&rx, |e| matches!(e, Event::Resumed).then_some(()));
    let removed = next_matching(&rx, |e| if let Event::MemberRemove(m) = e { Some(m.user.id.get()) } else { None });
    assert_eq!(removed, 3, "a dispatch pushed while disconnected is replayed after RESUMED");

    gw.invalid_session(true);
    gw.wait_for_resumes(3);
    next_matching(&rx, |e| matches!(e, Event::Resumed).then_some(()));

    gw.invalid_session(false);
    gw.wait_for_identifies(2);
    let session = next_matching(&rx, |e| if let Event::Ready(r) = e { Some(r.session_id) } else { None });
    assert_eq!(session, "session-2");

    gw.set_guild(Guild::new(5).large().member(member(7, "carol"), Some(presence(7, "dnd"))));
    gw.invalid_session(false);
    gw.wait_for_identifies(3);
    let large = next_matching(&rx, |e| match e {
        Event::GuildCreate(g) if g.id().get() == 5 => Some(g),
        _ => None,
    });
    let twilight_model::gateway::payload::incoming::GuildCreate::Available(large) = *large else { panic!() };
    assert!(large.members.is_empty());

    gw.close(4014);
    let code = next_matching(&rx, |e| if let Event::GatewayClose(f) = e { Some(f.map(|f| f.code)) } else { None });
    assert_eq!(code, Some(4014));
}

/// A harmy instance pointed at the fake gateway (no REST API reachable), its
/// HTTP API on a free port without rate limits.
fn serve_against(gw: &FakeGateway) -> (support::Instance, support::Server) {
    let limits = "[http]\nlisten = \"127.0.0.1:0\"\n[rate_limit]\nper_second = 100000\nper_minute = 1000000\n";
    let instance = support::Instance::new(&format!("{limits}{}", gw.discord_toml("http://127.0.0.1:1")));
    let server = instance.serve();
    (instance, server)
}

fn alice_and_bob() -> Guild {
    Guild::new(1).member(member(2, "alice"), Some(presence(2, "online"))).member(member(3, "bob"), None)
}

/// `GET path` on the server's HTTP API: the status and the JSON body.
fn get(server: &support::Server, path: &str) -> (u16, serde_json::Value) {
    let (status, body) = get_text(server, path);
    (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
}

/// `GET path` on the server's HTTP API: the status and the body.
fn get_text(server: &support::Server, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = server.http.expect("the started line names the HTTP address");
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    write!(tcp, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.into() };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

/// Waits until `GET /user/:id` shows a presence for which `check` holds (None: until 404).
fn wait_for_presence(server: &support::Server, user: u64, check: Option<&dyn Fn(&serde_json::Value) -> bool>) {
    support::eventually(&format!("the expected GET /user/{user}"), || {
        let (status, body) = get(server, &format!("/user/{user}"));
        match check {
            Some(check) => (status == 200 && check(&body["presence"])).then_some(()),
            None => (status == 404 && body["error"]["code"] == "user_not_monitored").then_some(()),
        }
    });
}

fn status_is(status: &'static str) -> impl Fn(&serde_json::Value) -> bool {
    move |p| p["status"] == status
}

/// Waits for a log line holding every needle.
fn wait_for_line(server: &support::Server, needles: &[&str]) {
    support::eventually(&format!("a log line with {needles:?}"), || {
        server.log.lock().unwrap().iter().any(|line| needles.iter().all(|n| line.contains(n))).then_some(())
    });
}

fn assert_no_token_in_log(server: &support::Server) {
    assert!(!server.log_text().contains("test-token"), "the token reached the log");
}

#[test]
fn presence_appears_after_guild_create_and_follows_updates() {
    let gw = FakeGateway::start();
    gw.set_guild(alice_and_bob());
    let (_instance, server) = serve_against(&gw);
    wait_for_presence(&server, 2, Some(&status_is("online")));
    wait_for_presence(&server, 3, Some(&status_is("offline")));
    assert_eq!(get(&server, "/health").0, 200, "the gateway has a session");
    wait_for_line(&server, &["guild synced", "guild=1", "monitored=2"]);

    gw.dispatch("PRESENCE_UPDATE", presence_update(1, 2, "idle", vec![spotify("BMW")]));
    wait_for_presence(&server, 2, Some(&|p| p["status"] == "idle" && p["spotifyActivity"]["song"] == "BMW"));
    let (_, lanyard) = get(&server, "/v1/users/2");
    assert_eq!(lanyard["data"]["spotify"]["song"], "BMW");
    assert_eq!(lanyard["data"]["listening_to_spotify"], true);
    gw.dispatch("PRESENCE_UPDATE", presence_update(1, 3, "invisible", vec![custom_status("hi")]));
    wait_for_presence(&server, 3, Some(&|p| p["status"] == "offline" && p["activities"][0]["state"] == "hi"));
    assert_eq!(get(&server, "/user/99").0, 404);
    assert_no_token_in_log(&server);
    assert!(server.stop().success());
}

#[test]
fn op_7_resumes_and_keeps_the_cache() {
    let gw = FakeGateway::start();
    gw.set_guild(alice_and_bob());
    let (_instance, server) = serve_against(&gw);
    wait_for_presence(&server, 3, Some(&status_is("offline")));
    gw.reconnect();
    gw.wait_for_resumes(1);
    wait_for_line(&server, &["gateway session resumed"]);
    assert_eq!(gw.identify_count(), 1, "a resume, not a new session");
    wait_for_presence(&server, 2, Some(&status_is("online")));
    wait_for_presence(&server, 3, Some(&status_is("offline")));
    gw.dispatch("PRESENCE_UPDATE", presence_update(1, 2, "dnd", vec![]));
    wait_for_presence(&server, 2, Some(&status_is("dnd")));
    assert!(!server.log_text().contains("member gone"), "nothing was swept");
}

#[test]
fn a_dropped_connection_reconnects_and_resumes() {
    let gw = FakeGateway::start();
    gw.set_guild(alice_and_bob());
    let (_instance, server) = serve_against(&gw);
    wait_for_presence(&server, 2, Some(&status_is("online")));
    gw.drop_connection();
    gw.dispatch("PRESENCE_UPDATE", presence_update(1, 3, "idle", vec![]));
    gw.wait_for_resumes(1);
    wait_for_line(&server, &["gateway session resumed"]);
    assert_eq!(gw.identify_count(), 1);
    assert!(gw.connections() >= 2);
    // The update sent while disconnected is replayed after the resume.
    wait_for_presence(&server, 3, Some(&status_is("idle")));
    wait_for_presence(&server, 2, Some(&status_is("online")));
    assert_eq!(get(&server, "/health").0, 200);
}

#[test]
fn op_9_false_identifies_again_and_rebuilds_the_cache() {
    let gw = FakeGateway::start();
    gw.set_guild(alice_and_bob());
    let (_instance, server) = serve_against(&gw);
    wait_for_presence(&server, 3, Some(&status_is("offline")));
    // Bob left and Alice went idle while harmy was away: the new session's GUILD_CREATE says so.
    gw.set_guild(Guild::new(1).member(member(2, "alice"), Some(presence(2, "idle"))));
    gw.invalid_session(false);
    gw.wait_for_identifies(2);
    wait_for_presence(&server, 3, None);
    wait_for_presence(&server, 2, Some(&status_is("idle")));
    wait_for_line(&server, &["guild synced", "monitored=1"]);
}

#[test]
fn a_member_who_leaves_is_gone_but_stays_while_in_another_guild() {
    let gw = FakeGateway::start();
    gw.set_guild(alice_and_bob());
    gw.set_guild(Guild::new(4).member(member(2, "alice"), Some(presence(2, "online"))));
    let (_instance, server) = serve_against(&gw);
    wait_for_line(&server, &["guild synced", "guild=4", "monitored=2"]);
    gw.dispatch("GUILD_MEMBER_REMOVE", member_remove(1, 3));
    wait_for_presence(&server, 3, None);
    gw.dispatch("GUILD_MEMBER_REMOVE", member_remove(1, 2));
    gw.dispatch("GUILD_MEMBER_ADD", member_add(1, &member(5, "eve")));
    wait_for_presence(&server, 5, Some(&|p| p["username"] == "eve" && p["status"] == "offline"));
    // Alice is still in guild 4.
    wait_for_presence(&server, 2, Some(&status_is("online")));
    gw.dispatch("GUILD_MEMBER_REMOVE", member_remove(4, 2));
    wait_for_presence(&server, 2, None);
}

#[test]
fn a_large_guild_is_filled_from_member_chunks() {
    let gw = FakeGateway::start();
    let mut guild = Guild::new(1).large();
    for id in 10..2510 {
        guild = guild.member(member(id, "user"), (id % 2 == 0).then(|| presence(id, "online")));
    }
    gw.set_guild(guild);
    let (_instance, server) = serve_against(&gw);
    gw.wait_for_op(8, 1);
    let request = gw.received().into_iter().find(|f| f["op"] == 8).unwrap();
    assert_eq!(request["d"]["presences"], true);
    assert_eq!(request["d"]["guild_id"], "1");
    wait_for_line(&server, &["guild synced", "guild=1", "monitored=2500"]);
    wait_for_presence(&server, 2508, Some(&status_is("online")));
    wait_for_presence(&server, 2509, Some(&status_is("offline")));
    assert_eq!(get(&server, "/").1["monitored_users"], 2500);
}

#[test]
fn close_4014_names_the_switches_and_exits_non_zero() {
    let gw = FakeGateway::start();
    gw.refuse_identify(Some(4014));
    let (_instance, mut server) = serve_against(&gw);
    let status = server.wait();
    assert!(!status.success());
    let log = server.log_text();
    for switch in ["\"Presence Intent\"", "\"Server Members Intent\"", "\"Message Content Intent\""] {
        assert!(log.contains(switch), "{switch} not named; log:\n{log}");
    }
    assert!(log.contains("Privileged Gateway Intents"));
    assert_no_token_in_log(&server);
}

#[test]
fn close_4004_says_the_token_is_wrong_and_exits_non_zero() {
    let gw = FakeGateway::with_token("another-token");
    let (_instance, mut server) = serve_against(&gw);
    let status = server.wait();
    assert!(!status.success());
    assert!(server.log_text().contains("rejected the bot token"), "log:\n{}", server.log_text());
    assert_no_token_in_log(&server);
}

/// A metric without labels from `/metrics`.
fn metric(server: &support::Server, name: &str) -> Option<f64> {
    let (status, text) = get_text(server, "/metrics");
    assert_eq!(status, 200);
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Polls `/health` until it says the gateway is `up` (200) or down (503, and
/// the body names the gateway); returns when it saw it.
fn wait_for_gateway(server: &support::Server, up: bool) -> Instant {
    support::eventually(&format!("/health with the gateway {}", if up { "up" } else { "down" }), || {
        let (status, body) = get(server, "/health");
        let expected = if up { (200, "up", "ok") } else { (503, "down", "unavailable") };
        let seen = (status, body["gateway"].as_str().unwrap_or(""), body["status"].as_str().unwrap_or(""));
        (seen == expected).then(Instant::now)
    })
}

/// docs/API.md: `/health` turns 503 within 2 s of losing the session.
const LIVENESS: Duration = Duration::from_secs(2);

fn assert_seen_within_2_s(lost: Instant, seen: Instant, cause: &str) {
    let took = seen.duration_since(lost);
    assert!(took <= LIVENESS, "{cause}: /health said the gateway was down only after {took:?}");
}

/// The gateway is down: `harmy_gateway_up` says so, and the API still serves
/// the last known presences to other clients.
fn assert_down_and_still_serving(server: &support::Server) {
    assert_eq!(get(server, "/health").0, 503);
    assert_eq!(metric(server, "harmy_gateway_up"), Some(0.0));
    let (status, user) = get(server, "/user/2");
    assert_eq!((status, &user["presence"]["status"]), (200, &serde_json::json!("online")), "{user}");
}

/// Serves against the fake with alice and bob; returns once the session is up.
fn serve_until_up(gw: &FakeGateway) -> (support::Instance, support::Server) {
    gw.set_guild(alice_and_bob());
    let (instance, server) = serve_against(gw);
    wait_for_gateway(&server, true);
    wait_for_presence(&server, 2, Some(&status_is("online")));
    assert_eq!(metric(&server, "harmy_gateway_up"), Some(1.0));
    assert_eq!(metric(&server, "harmy_gateway_reconnects_total"), Some(0.0));
    (instance, server)
}

/// The session is lost by `cause` (which returns when) while the fake holds
/// new sessions back: down within 2 s; the reconnect's RESUME is no session
/// yet (still down); up again at RESUMED, the loss counted once.
fn lost_and_resumed(cause: &str, lose: impl FnOnce(&FakeGateway) -> Instant) {
    let gw = FakeGateway::start();
    gw.set_heartbeat_interval(1000);
    let (_instance, server) = serve_until_up(&gw);
    gw.hold_sessions();
    let lost = lose(&gw);
    assert_seen_within_2_s(lost, wait_for_gateway(&server, false), cause);
    assert_down_and_still_serving(&server);
    gw.wait_for_resumes(1);
    assert_eq!(get(&server, "/health").0, 503, "{cause}: a new connection is not a session until RESUMED");
    gw.release_sessions();
    wait_for_gateway(&server, true);
    assert_eq!(metric(&server, "harmy_gateway_up"), Some(1.0));
    assert_eq!(metric(&server, "harmy_gateway_reconnects_total"), Some(1.0));
    assert_eq!(gw.identify_count(), 1, "{cause}: resumed, not a new session");
    wait_for_line(&server, &["gateway session resumed"]);
}

#[test]
fn health_is_down_within_2_s_of_a_close_frame() {
    lost_and_resumed("close 4000", |gw| {
        let lost = Instant::now();
        gw.close(4000);
        lost
    });
}

#[test]
fn health_is_down_within_2_s_of_an_eof_without_a_close_frame() {
    lost_and_resumed("EOF", |gw| {
        let lost = Instant::now();
        gw.drop_connection();
        lost
    });
}

#[test]
fn health_is_down_within_2_s_of_a_tcp_reset() {
    lost_and_resumed("RST", |gw| {
        let lost = Instant::now();
        gw.reset_connection();
        lost
    });
}

#[test]
fn health_is_down_within_2_s_of_a_missed_heartbeat_ack() {
    // HELLO asked for a heartbeat every second: the ACK of the first heartbeat the
    // fake leaves unanswered is missed when the next one is due, 1 s later.
    lost_and_resumed("missed heartbeat ACK", |gw| {
        gw.stop_heartbeat_acks();
        gw.wait_for_unanswered_heartbeat()
    });
}

#[test]
fn health_stays_down_while_reconnects_are_refused() {
    let gw = FakeGateway::start();
    let (_instance, server) = serve_until_up(&gw);
    gw.set_accept(Accept::Reset);
    let lost = Instant::now();
    gw.drop_connection();
    assert_seen_within_2_s(lost, wait_for_gateway(&server, false), "EOF, then refused reconnects");
    gw.wait_for_refused(2);
    assert_down_and_still_serving(&server);
    gw.set_accept(Accept::Normal);
    wait_for_gateway(&server, true);
    assert_eq!(metric(&server, "harmy_gateway_up"), Some(1.0));
    assert!(gw.resume_count() >= 1 && gw.identify_count() == 1, "resumed once the fake accepts again");
}

#[test]
fn health_is_down_within_2_s_while_a_reconnect_hangs() {
    // EOF, then a reconnect whose TCP connection is accepted but never answered:
    // twilight yields nothing until its 10 s connect timeout, so only harmy's own
    // look at the shard's state can tell.
    let gw = FakeGateway::start();
    let (_instance, server) = serve_until_up(&gw);
    gw.set_accept(Accept::Stall);
    let lost = Instant::now();
    gw.drop_connection();
    assert_seen_within_2_s(lost, wait_for_gateway(&server, false), "EOF, then a hanging reconnect");
    gw.wait_for_refused(1);
    assert_down_and_still_serving(&server);
    gw.set_accept(Accept::Normal);
    wait_for_gateway(&server, true);
    assert_eq!(gw.resume_count(), 1);
}

#[test]
fn a_rate_limited_member_request_is_sent_again_after_retry_after_and_the_guild_syncs() {
    let gw = FakeGateway::start();
    let mut guild = Guild::new(1).large();
    for id in 10..20 {
        guild = guild.member(member(id, "user"), (id % 2 == 0).then(|| presence(id, "online")));
    }
    gw.set_guild(guild);
    gw.rate_limit_member_requests(1, 1.5);
    let (_instance, server) = serve_against(&gw);
    gw.wait_for_op(8, 1);
    wait_for_line(&server, &["rate-limited", "guild=1"]);
    // Meanwhile the session is up and the API answers; the guild is not synced yet.
    wait_for_gateway(&server, true);
    assert_eq!(get(&server, "/user/12").0, 404);

    // The refused request does not count: the resend comes after retry_after, not 30 s.
    gw.wait_for_op_within(8, 2, Duration::from_secs(10));
    let times = gw.op_times(8);
    let gap = times[1].duration_since(times[0]);
    let expected = Duration::from_millis(1500)..Duration::from_millis(2300);
    assert!(
        expected.contains(&gap),
        "op 8 sent again {gap:?} after the refused one (RATE_LIMITED answered it at once)"
    );
    let requests: Vec<_> = gw.received().into_iter().filter(|f| f["op"] == 8).collect();
    assert_eq!(requests[0]["d"]["nonce"], requests[1]["d"]["nonce"], "the same sync's request");
    wait_for_line(&server, &["guild synced", "guild=1", "monitored=10"]);
    wait_for_presence(&server, 12, Some(&status_is("online")));
    wait_for_presence(&server, 13, Some(&status_is("offline")));
    assert_eq!(gw.count_op(8), 2);
}
