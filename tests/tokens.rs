//! End-to-end tests of the token hardening (docs/SECURITY.md) against the real
//! binary: a revoked or rotated token never comes back, a flood of wrong
//! secrets on real selectors is locked out and costs no memory, and the bot's
//! leak guard verifies at most three words of a message. Each attack runs for
//! seconds, measures the server's memory against the idle server, and checks
//! that other clients are answered meanwhile.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::{Value, json};
use support::api::*;
use support::discord_gateway::{FakeGateway, Guild, member, presence};
use support::discord_rest::{DiscordRest, TOKEN, dm_channel};
use support::http_client::{Reply, get, send};
use support::{Instance, Memory, Server, eventually};

/// How much the server's memory may grow over the idle server during an attack.
const BUDGET_KIB: u64 = 64 * 1024;
/// Failed verifications of one selector per minute before it is locked out.
const MAX_FAILURES: usize = 10;

/// `PUT /user/@me/kv/x` with a token.
async fn put(addr: std::net::SocketAddr, token: String) -> Reply {
    send(addr, "PUT", "/user/@me/kv/x", &[("authorization", &token)], "v").await
}

/// The selector of a token.
fn selector(token: &str) -> &str {
    token.split('_').nth(1).expect("harmy_<selector>_<secret>")
}

/// A token with `selector` and a wrong secret, different for every `n`.
fn wrong(selector: &str, n: usize) -> String {
    format!("harmy_{selector}_{n:032x}")
}

/// Asserts the attack left the server within the budget: resident now, and at
/// its peak unless that peak came before the attack.
fn assert_within_budget(idle: Memory, after: Memory) {
    assert!(after.rss <= idle.rss + BUDGET_KIB, "RSS grew from {} to {} KiB", idle.rss, after.rss);
    assert!(
        after.hwm <= idle.hwm.max(idle.rss + BUDGET_KIB),
        "peak RSS {} KiB, idle {} KiB (peak before {} KiB)",
        after.hwm,
        idle.rss,
        idle.hwm
    );
}

/// Runs a CLI command without blocking the requests of the test's runtime.
async fn cli(instance: &Instance, args: &[&str]) -> String {
    let out = tokio::task::block_in_place(|| instance.cli(args));
    assert!(out.status.success(), "{args:?}: {}", support::stderr(&out));
    support::stdout(&out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_or_rotated_while_verifications_run_never_works_again() {
    let (served, addr) = start(NO_LIMITS);
    for change in ["revoke", "rotate"] {
        let old = token(&served.instance, ALICE);
        // A burst with the token nobody verified yet: each request needs argon2,
        // and reads the stored hash before it gets its turn.
        let mut burst: FuturesUnordered<_> = (0..60).map(|_| tokio::spawn(put(addr, old.clone()))).collect();
        let first = burst.next().await.unwrap().unwrap();
        assert_eq!(first.status, 204, "{}", first.text());
        // While the rest of the burst may still be verifying:
        let replaced = cli(&served.instance, &["token", change, ALICE]).await;
        // Requests of the burst were sent before the change: either answer is fine.
        while let Some(reply) = burst.next().await {
            assert!([204, 401].contains(&reply.unwrap().status));
        }
        // Sent after the change returned: never a 204 again.
        let until = Instant::now() + Duration::from_secs(2);
        let mut sent = 0;
        while Instant::now() < until {
            let round: Vec<_> = (0..10).map(|_| tokio::spawn(put(addr, old.clone()))).collect();
            for reply in round {
                let reply = reply.await.unwrap();
                assert_eq!(reply.status, 401, "the old token came back after `token {change}` returned");
                assert_eq!(reply.code(), "unauthorized");
            }
            sent += 10;
        }
        assert!(sent >= 10);
        if change == "rotate" {
            assert_eq!(put(addr, replaced).await.status, 204, "the new token works");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_wrong_secrets_is_locked_out_per_selector_and_bounded_in_memory() {
    let served = serve_with(NO_LIMITS, Guild::new(1).member(member(BOB_ID, "bob"), Some(presence(BOB_ID, "online"))));
    let addr = served.addr;
    // Four members with tokens; the first one's website has verified its token already.
    let tokens: Vec<String> = [ALICE, "1001", "1002", "1003"].iter().map(|u| token(&served.instance, u)).collect();
    assert_eq!(put(addr, tokens[0].clone()).await.status, 204);
    let idle = served.server.memory_kib();

    let mut unauthorized: HashMap<&str, usize> = HashMap::new();
    for round in 0..4 {
        // 60 concurrent wrong secrets, 15 on each real selector.
        let flood: Vec<_> = (0..60)
            .map(|n| {
                let selector = selector(&tokens[n % tokens.len()]);
                (selector, tokio::spawn(put(addr, wrong(selector, round * 100 + n))))
            })
            .collect();
        // Meanwhile another client reads, and the verified token still writes.
        let read = get(addr, &format!("/user/{BOB}")).await;
        assert_eq!(read.status, 200, "{}", read.text());
        assert_eq!(put(addr, tokens[0].clone()).await.status, 204, "a remembered token is never locked out");
        for (selector, reply) in flood {
            let reply = reply.await.unwrap();
            match reply.status {
                401 => *unauthorized.entry(selector).or_default() += 1,
                429 => {
                    assert_eq!(reply.code(), "rate_limited");
                    let retry: u64 = reply.header("retry-after").parse().expect("Retry-After in seconds");
                    assert!((1..=60).contains(&retry), "Retry-After: {retry}");
                }
                other => panic!("{other}: {}", reply.text()),
            }
        }
    }
    // Each 401 was one argon2 run: ten per selector in the minute, then none.
    for token in &tokens {
        assert_eq!(unauthorized.get(selector(token)), Some(&MAX_FAILURES), "{unauthorized:?}");
    }
    assert_within_budget(idle, served.server.memory_kib());
}

/// A running harmy whose bot talks to the fakes, with its HTTP API.
struct Bot {
    rest: DiscordRest,
    gw: FakeGateway,
    instance: Instance,
    server: Server,
    next_id: std::cell::Cell<u64>,
}

const GUILD: u64 = 1;
const CHANNEL: u64 = 21;
const ALICE_BOT: u64 = 2;
const CAROL: u64 = 3;

impl Bot {
    fn start() -> Bot {
        let rest = DiscordRest::start();
        let gw = FakeGateway::with_token(TOKEN);
        gw.set_guild(Guild::new(GUILD).member(member(ALICE_BOT, "alice"), Some(presence(ALICE_BOT, "online"))));
        let instance = Instance::new(&format!(
            "[discord]\ntoken = \"{TOKEN}\"\nguild_ids = [{GUILD}]\ngateway_url = \"{}\"\napi_url = \"{}\"\n\n\
             [github]\napi_url = \"{}\"\n\n{NO_LIMITS}",
            gw.url(),
            rest.url(),
            rest.url()
        ));
        let server = instance.serve();
        gw.wait_for_identifies(1);
        Bot { rest, gw, instance, server, next_id: std::cell::Cell::new(1000) }
    }

    /// Alice says `content` in the guild channel; the bot's reply.
    fn say(&self, content: &str) -> String {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        let author = json!({"id": ALICE_BOT.to_string(), "username": "alice", "discriminator": "0"});
        self.gw.dispatch(
            "MESSAGE_CREATE",
            json!({
                "id": id.to_string(), "channel_id": CHANNEL.to_string(), "guild_id": GUILD.to_string(),
                "author": author, "content": content, "timestamp": "2024-01-01T00:00:00.000000+00:00",
                "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
                "attachments": [], "embeds": [], "pinned": false, "type": 0
            }),
        );
        let reply: Value = eventually(&format!("a reply to message {id}"), || {
            self.rest
                .messages_to(CHANNEL)
                .into_iter()
                .find(|body| body["message_reference"]["message_id"].as_str() == Some(id.to_string().as_str()))
        });
        reply["content"].as_str().unwrap_or_default().to_string()
    }

    /// The DMs sent to a user so far.
    fn dms_to(&self, user: u64) -> Vec<String> {
        self.rest.messages_to(dm_channel(user)).iter().map(|b| b["content"].as_str().unwrap().to_string()).collect()
    }

    fn http(&self) -> std::net::SocketAddr {
        self.server.http.expect("the started line names the HTTP address")
    }
}

/// The API token inside a text.
fn token_in(text: &str) -> String {
    let start = text.find("harmy_").expect("a token in the text");
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
}

#[test]
fn the_leak_guard_verifies_at_most_three_words_a_message_and_still_replaces_a_real_leak() {
    let bot = Bot::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let write = |token: &str| runtime.block_on(put(bot.http(), token.to_string()));

    // A real leak, as before: replaced, the new one DMed to its owner, the old one dead.
    let leaked = token(&bot.instance, &CAROL.to_string());
    let said = bot.say(&format!("carol's token is {leaked}, right?"));
    assert!(said.contains("contained an API token") && !said.contains(&leaked), "{said}");
    let replacement = token_in(&eventually("the DM", || bot.dms_to(CAROL).pop()));
    assert_eq!(write(&leaked).status, 401);
    assert_eq!(write(&replacement).status, 204);

    let idle = bot.server.memory_kib();
    // Messages full of token-shaped words with Carol's real selector and wrong secrets.
    let flood = |message: usize| -> String {
        let words: Vec<String> = (0..36).map(|n| wrong(selector(&replacement), message * 100 + n)).collect();
        format!(".kv {}", words.join(" "))
    };
    // Three verifications per message: three messages make nine failures, the fourth
    // message's first word the tenth; every later word finds the selector locked out.
    for message in 0..3 {
        assert_eq!(bot.say(&flood(message)), "Usage: `.kv`", "message {message}: no valid token, no lockout yet");
    }
    for message in 3..10 {
        let said = bot.say(&flood(message));
        assert!(said.contains("too many failed attempts") && said.contains("/token"), "message {message}: {said}");
    }
    let locked = write(&wrong(selector(&replacement), 9999));
    assert_eq!((locked.status, locked.code()), (429, "rate_limited".into()));
    assert!(!locked.header("retry-after").is_empty());
    // Carol's website verified its token before: it keeps working.
    assert_eq!(write(&replacement).status, 204);
    // Meanwhile the bot answers others.
    assert_eq!(bot.say(".kv"), "You have no keys yet.", "the bot still answers");
    assert_within_budget(idle, bot.server.memory_kib());
}
