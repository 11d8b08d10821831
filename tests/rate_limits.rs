//! End-to-end tests of the per-member KV write rate (`kv.writes_per_minute`):
//! one token writing from many addresses (behind a trusted proxy, each its own
//! client) is held to the limit all together, the operator's CLI is not, and
//! what the writes push to `subscribe_to_all` readers is bounded with them.

mod support;

use support::api::*;
use support::discord_gateway::{Guild, member, presence};
use support::http_client::{self as client, Frame, get, next, say, send};

/// Every address its own client; each address's own limits well above the KV write rate.
const BEHIND_PROXY: &str = "trusted_proxies = [\"127.0.0.0/8\"]\n[rate_limit]\nper_second = 20\nper_minute = 1000\n";

/// A client address behind the proxy.
fn address(n: usize) -> String {
    format!("10.9.{}.{}", n / 250, n % 250 + 1)
}

#[tokio::test]
async fn one_member_s_kv_writes_are_limited_across_addresses_but_not_the_operator_s() {
    let served = serve_with(BEHIND_PROXY, Guild::new(1).member(member(ALICE_ID, "alice"), None));
    let addr = served.addr;
    let t = token(&served.instance, ALICE);
    // 20 addresses, 3 writes each: within each address's own limits (3 a second),
    // and every REST shape of a write.
    for n in 0..20 {
        let from = address(n);
        let headers = [("authorization", t.as_str()), ("x-forwarded-for", from.as_str())];
        let put = send(addr, "PUT", &format!("/user/{ALICE}/kv/k{n}"), &headers, "v").await;
        let patch = send(addr, "PATCH", &format!("/v1/users/{ALICE}/kv"), &headers, r#"{"p":"1"}"#).await;
        let delete = send(addr, "DELETE", &format!("/user/@me/kv/k{n}"), &headers, "").await;
        assert_eq!([put.status, patch.status, delete.status], [204; 3], "write {} from {from}", 3 * n);
    }
    // The 61st write, from an address that never wrote: refused, and it changes nothing.
    let from = address(99);
    let headers = [("authorization", t.as_str()), ("x-forwarded-for", from.as_str())];
    let refused = send(addr, "PUT", &format!("/v1/users/{ALICE}/kv/late"), &headers, "v").await;
    assert_eq!((refused.status, refused.code()), (429, "rate_limited".to_string()));
    let retry_after: u64 = refused.header("retry-after").parse().expect("Retry-After");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(refused.json()["error"]["message"].as_str().unwrap().contains("KV writes"), "{}", refused.text());
    let delete = send(addr, "DELETE", &format!("/user/{ALICE}/kv/p"), &headers, "").await;
    assert_eq!(delete.status, 429, "every kind of write");
    let reads = send(addr, "GET", &format!("/user/{ALICE}/kv"), &headers, "").await;
    assert_eq!(reads.status, 200, "reads are not writes");
    assert_eq!(reads.json(), serde_json::json!({"p": "1"}));
    // The operator is not a member: the CLI writes through.
    let out = served.instance.cli(&["kv", "set", ALICE, "by_operator", "yes"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
}

#[tokio::test]
async fn a_member_writing_from_many_addresses_pushes_at_most_the_limit_to_readers() {
    const READERS: usize = 10;
    const ADDRESSES: usize = 10;
    let guild = Guild::new(1).member(member(ALICE_ID, "alice"), Some(presence(ALICE_ID, "online")));
    let served = serve_with(BEHIND_PROXY, guild);
    let addr = served.addr;
    let t = token(&served.instance, ALICE);
    until("alice served", || async { (get(addr, &format!("/user/{ALICE}")).await.status == 200).then_some(()) }).await;
    let mut readers = Vec::new();
    for _ in 0..READERS {
        let mut ws = client::socket(addr, "/socket").await;
        next(&mut ws).await;
        say(&mut ws, r#"{"op":2,"d":{"subscribe_to_all":true}}"#).await;
        let Frame::Text(_init) = next(&mut ws).await else { panic!("INIT_STATE") };
        readers.push(ws);
    }
    // The attack: the same token from every address, as fast as each address's own
    // limit lets it, until the KV write rate has refused 100 more.
    let value = "x".repeat(1000);
    let (mut sent_bytes, mut accepted, mut refused_by_rate, mut attempts) = (0, 0, 0, 0);
    let mut last = String::new();
    while refused_by_rate < 100 {
        let from = address(attempts % ADDRESSES);
        let headers = [("authorization", t.as_str()), ("x-forwarded-for", from.as_str())];
        let body = format!("{attempts:05}{value}");
        sent_bytes += body.len();
        let reply = send(addr, "PUT", &format!("/user/{ALICE}/kv/v"), &headers, body.clone()).await;
        match reply.status {
            204 => (accepted, last) = (accepted + 1, body),
            429 if reply.text().contains("KV writes") => refused_by_rate += 1,
            429 => {} // that address's own limit
            other => panic!("{other}: {}", reply.text()),
        }
        attempts += 1;
        assert!(attempts < 5_000, "the KV write rate never refused");
    }
    assert_eq!(accepted, 60, "all addresses together");
    // Every reader hears the last accepted write, and what it was pushed until then.
    let mut pushed_bytes = 0;
    for ws in &mut readers {
        loop {
            let Frame::Text(frame) = next(ws).await else { panic!("a presence update") };
            pushed_bytes += frame.len();
            if frame.contains(&last) {
                break;
            }
        }
    }
    eprintln!(
        "{attempts} writes of {} bytes from {ADDRESSES} addresses, {accepted} accepted: {sent_bytes} bytes \
         sent, {pushed_bytes} pushed to {READERS} readers ({:.1} pushed per byte sent)",
        value.len() + 5,
        pushed_bytes as f64 / sent_bytes as f64
    );
    // At most one push per accepted write to each reader, each about the size of the value.
    assert!(pushed_bytes <= accepted * READERS * (value.len() + 2048), "{pushed_bytes} bytes pushed");
}
