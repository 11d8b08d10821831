//! End-to-end tests of the bulk lookup (docs/API.md), `GET /users?ids=…` and
//! `GET /v1/users?ids=…`, against the real binary and the fake gateway: each
//! user's part is exactly their single lookup's, unknown users are null, ids
//! count once, the limits and errors, the ETag, and the rate limiter's view.

mod support;

use serde_json::{Value, json};
use support::api::*;
use support::discord_gateway::*;
use support::http_client::{get, send};

const CAROL: &str = "80351110224678912";

fn guild() -> Guild {
    Guild::new(1)
        .member(
            member_full(ALICE_ID, "vaq", "Vaq", "5c11d7292c91e510c2b4f07946ea6d72", Some("vaqq")),
            Some(presence_with(ALICE_ID, "dnd", json!({"desktop": "dnd"}), vec![spotify("BMW")])),
        )
        .member(member(BOB_ID, "bob"), Some(presence(BOB_ID, "online")))
}

/// Waits until the guild's members are in with their presences (GUILD_CREATE adds each
/// member, then applies each presence).
async fn guild_in(addr: std::net::SocketAddr) {
    until("alice and bob with their presences", || async {
        let reply = get(addr, &format!("/users?ids={ALICE},{BOB}")).await;
        let doc = reply.json();
        (doc[ALICE]["presence"]["spotifyActivity"]["song"] == "BMW" && doc[BOB]["presence"]["status"] == "online")
            .then_some(())
    })
    .await;
}

/// The ids of a JSON object in the order the body has them.
fn keys_in_order(body: &str, object: &Value) -> Vec<String> {
    let mut keys: Vec<(usize, String)> = object
        .as_object()
        .unwrap()
        .keys()
        .map(|k| (body.find(&format!("\"{k}\":")).expect("the key is in the body"), k.clone()))
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, k)| k).collect()
}

#[tokio::test]
async fn bulk_lookup_mixes_known_unknown_and_duplicate_ids() {
    let served = serve_with(NO_LIMITS, guild());
    let addr = served.addr;
    guild_in(addr).await;
    let out = served.instance.cli(&["kv", "set", ALICE, "color", "blue"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let single = until("alice served", || async {
        Some(get(addr, &format!("/user/{ALICE}")).await)
            .filter(|r| r.status == 200 && r.json()["KV"]["color"] == "blue")
    })
    .await;

    let path = format!("/users?ids={ALICE},{CAROL},{BOB},{ALICE}");
    let bulk = get(addr, &path).await;
    assert_eq!(bulk.status, 200, "{}", bulk.text());
    assert_eq!(bulk.header("content-type"), "application/json; charset=utf-8");
    let doc = bulk.json();
    assert_eq!(keys_in_order(&bulk.text(), &doc), [ALICE, CAROL, BOB], "distinct, in the order first named");
    assert_eq!(doc[ALICE], single.json(), "alice's part is her single lookup");
    assert_eq!(doc[CAROL], Value::Null, "an unknown user is null");
    assert_eq!(doc[BOB], get(addr, &format!("/user/{BOB}")).await.json());
    assert_eq!(doc[ALICE]["presence"]["spotifyActivity"]["song"], "BMW");

    let lanyard = get(addr, &format!("/v1/users?ids={ALICE},{CAROL},{BOB},{ALICE}")).await;
    assert_eq!(lanyard.status, 200, "{}", lanyard.text());
    let doc = lanyard.json();
    assert_eq!(doc["success"], true);
    assert_eq!(keys_in_order(&lanyard.text(), &doc["data"]), [ALICE, CAROL, BOB]);
    assert_eq!(doc["data"][ALICE], get(addr, &format!("/v1/users/{ALICE}")).await.json()["data"]);
    assert_eq!(doc["data"][ALICE]["kv"]["color"], "blue");
    assert_eq!(doc["data"][CAROL], Value::Null);
    assert_eq!(doc["data"][BOB]["discord_status"], "online");

    // URLSearchParams writes the commas as %2C; a cache buster is ignored.
    let encoded = get(addr, &format!("/users?ids={ALICE}%2C{CAROL}%2C{BOB}&_=1700000000")).await;
    assert_eq!(encoded.body, bulk.body);
}

#[tokio::test]
async fn bulk_lookup_limits_and_errors_in_both_shapes() {
    let (_served, addr) = start(NO_LIMITS);
    let hundred: Vec<String> = (1..=100u64).map(|i| (ALICE_ID + i).to_string()).collect();
    let ok = get(addr, &format!("/users?ids={},{}", hundred.join(","), hundred[0])).await;
    assert_eq!(ok.status, 200, "100 distinct ids (a duplicate counts once)");
    assert_eq!(ok.json().as_object().unwrap().len(), 100);
    assert!(ok.json().as_object().unwrap().values().all(Value::is_null));

    let over = format!("ids={},{}", hundred.join(","), ALICE_ID + 101);
    for (path, lanyard) in [("/users", false), ("/v1/users", true)] {
        let too_many = get(addr, &format!("{path}?{over}")).await;
        assert_eq!((too_many.status, too_many.code()), (400, "too_many_ids".into()), "{path}");
        assert_eq!(too_many.json().get("success").is_some(), lanyard, "{path}: envelope");
        let malformed = get(addr, &format!("{path}?ids={ALICE},12x")).await;
        assert_eq!((malformed.status, malformed.code()), (400, "invalid_user_id".into()), "{path}");
        assert!(malformed.json()["error"]["message"].as_str().unwrap().contains("12x"));
        for query in ["", "?ids=", "?ids=,", "?id=1"] {
            let none = get(addr, &format!("{path}{query}")).await;
            assert_eq!((none.status, none.code()), (400, "invalid_query".into()), "{path}{query}");
        }
        let wrong = send(addr, "POST", &format!("{path}?ids={ALICE}"), &[], "").await;
        assert_eq!((wrong.status, wrong.code()), (405, "method_not_allowed".into()), "{path}");
    }
}

#[tokio::test]
async fn bulk_lookup_has_a_strong_etag_that_follows_every_part() {
    let served = serve_with(NO_LIMITS, guild());
    let addr = served.addr;
    guild_in(addr).await;
    for (path, shape) in [
        (format!("/users?ids={BOB},{ALICE},{CAROL}"), "native"),
        (format!("/v1/users?ids={BOB},{ALICE},{CAROL}"), "lanyard"),
    ] {
        let first = get(addr, &path).await;
        assert_eq!(first.status, 200, "{shape}");
        let etag = first.header("etag");
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{shape}: a strong ETag: {etag}");
        assert_eq!(get(addr, &path).await.header("etag"), etag, "{shape}: the same parts, the same ETag");
        let cached = send(addr, "GET", &path, &[("if-none-match", &etag)], "").await;
        assert_eq!(cached.status, 304, "{shape}");
        assert!(cached.body.is_empty());
        assert_eq!(cached.header("etag"), etag);
        let reordered = get(addr, &path.replace(&format!("{BOB},{ALICE}"), &format!("{ALICE},{BOB}"))).await;
        assert_ne!(reordered.header("etag"), etag, "{shape}: another order is another body");
    }

    // A change of one part changes the ETag of every lookup holding it.
    let path = format!("/users?ids={BOB},{ALICE}");
    let before = get(addr, &path).await;
    served.gw().dispatch("PRESENCE_UPDATE", presence_update(1, BOB_ID, "idle", vec![]));
    let after = until("bob idle", || async {
        Some(get(addr, &path).await).filter(|r| r.json()[BOB]["presence"]["status"] == "idle")
    })
    .await;
    assert_ne!(after.header("etag"), before.header("etag"));
    let stale = send(addr, "GET", &path, &[("if-none-match", &before.header("etag"))], "").await;
    assert_eq!(stale.status, 200);
}

#[tokio::test]
async fn a_bulk_lookup_is_one_request_for_the_rate_limiter() {
    let (_served, addr) = start("[rate_limit]\nper_second = 3\nper_minute = 1000\n");
    let ids: Vec<String> = (1..=50u64).map(|i| (ALICE_ID + i).to_string()).collect();
    let reply = get(addr, &format!("/users?ids={}", ids.join(","))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("ratelimit-limit"), "3");
    assert_eq!(reply.header("ratelimit-remaining"), "2");
}
