//! End-to-end tests of Lanyard's WebSocket (`/socket`) against the real binary
//! and in-process: hello and heartbeats, INIT_STATE for each subscribe form,
//! pushed presence and KV changes, close codes, `zlib_json`, and clients that
//! talk exactly as the published Lanyard libraries do.

mod support;

use support::api::*;
use support::discord_gateway::{Guild, member, member_add, presence, presence_update, spotify};
use support::http_client::{self as client, Frame, get, next, next_json, say, send};

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
async fn sockets_over_the_cap_are_told_to_come_back_later() {
    let (_served, addr) = start(&format!("max_connections = 1\n{NO_LIMITS}"));
    let hello = Frame::Text(r#"{"op":1,"d":{"heartbeat_interval":30000}}"#.into());
    let mut first = client::socket(addr, "/socket").await;
    assert_eq!(next(&mut first).await, hello);
    let mut second = client::socket(addr, "/socket").await;
    assert_eq!(next(&mut second).await, Frame::Close(1013, "server full: try again later".into()));
    drop(first);
    // Once the server has seen the first one go, its slot is free again.
    until("a free session slot", || async {
        let mut ws = client::socket(addr, "/socket").await;
        matches!(next(&mut ws).await, Frame::Text(t) if t.contains("heartbeat_interval")).then_some(())
    })
    .await;
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
    let native = until("alice served", || async { Some(get(addr, &path).await).filter(|r| r.status == 200) }).await;
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
    // Subscribed before the gateway's GUILD_CREATE was applied, the presence follows.
    if init["d"]["discord_status"] != "idle" {
        assert_eq!(next_json(&mut ws).await["d"]["discord_status"], "idle", "never offline first");
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

#[tokio::test]
async fn a_member_is_never_seen_before_the_presence_their_frame_carries() {
    // One GUILD_CREATE of 3 000 members, each with a presence; a socket and a REST
    // reader watch two of them from before the frame arrives.
    let first = 500_000_000_000_000_000u64;
    let last = first + 2_999;
    let guild = (first..=last).fold(Guild::new(1), |g, id| g.member(member(id, "m"), Some(presence(id, "dnd"))));
    let served = serve_with_gateway(
        NO_LIMITS,
        move |gw| {
            gw.hold_sessions();
            gw.set_guild(guild);
        },
        true,
    );
    let addr = served.addr;
    let mut ws = client::socket(addr, "/socket").await;
    next_json(&mut ws).await;
    say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_ids":["{first}","{last}"]}}}}"#)).await;
    assert_eq!(next(&mut ws).await, Frame::Text(r#"{"op":0,"t":"INIT_STATE","d":{}}"#.into()));
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        while seen.last().is_none_or(|s| s != "dnd") {
            let reply = get(addr, &format!("/user/{first}")).await;
            if reply.status == 200 {
                seen.push(reply.json()["presence"]["status"].as_str().unwrap_or_default().to_string());
            }
        }
        seen
    });

    served.gw().release_sessions();
    for _ in 0..2 {
        let push = next_json(&mut ws).await;
        assert_eq!(push["t"], "PRESENCE_UPDATE");
        assert_eq!(push["d"]["discord_status"], "dnd", "the first push carries the frame's presence: {push}");
    }
    let seen = tokio::time::timeout(support::PATIENCE, reader).await.unwrap().unwrap();
    assert!(seen.iter().all(|s| s == "dnd"), "the reader saw {seen:?}");
}

// --- presence routes and pushes, in-process over the library ---------------

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

    local.app.kv.set(ALICE.parse().unwrap(), "mood".into(), "sunny".into()).await.unwrap();
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
