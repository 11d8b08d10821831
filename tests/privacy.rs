//! End-to-end tests of privacy (docs/API.md, "Privacy" and "Last seen"): `privacy.mode`, `.show` / `.hide`
//! (and `/privacy`), `.forget`, `.export`, and `harmy user …` with and without a
//! running server; the real `harmy serve` against the fake Discord gateway
//! (which delivers the commands) and REST API (which records the replies).

mod support;

use serde_json::{Value, json};
use support::discord_gateway::{FakeGateway, Guild, member, presence, presence_update};
use support::discord_rest::{APP_ID, DiscordRest, TOKEN, dm_channel};
use support::http_client::{self as client, Reply, next_json, say, send};
use support::{Instance, Server, eventually, stderr, stdout};

const GUILD: u64 = 1;
const CHANNEL: u64 = 21;
const ALICE: u64 = 2;
const BOB: u64 = 3;

/// A running harmy with its two fakes, Alice and Bob online in the guild.
struct Setup {
    rest: DiscordRest,
    gw: Option<FakeGateway>,
    instance: Instance,
    server: Option<Server>,
    addr: std::net::SocketAddr,
    runtime: tokio::runtime::Runtime,
    next_id: std::cell::Cell<u64>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        // The fake owns a runtime, which may not be dropped inside another one.
        let gw = self.gw.take();
        std::thread::spawn(move || drop(gw)).join().unwrap();
    }
}

impl Setup {
    fn start(extra: &str) -> Setup {
        let rest = DiscordRest::start();
        let gw = FakeGateway::with_token(TOKEN);
        gw.set_guild(
            Guild::new(GUILD)
                .member(member(ALICE, "alice"), Some(presence(ALICE, "online")))
                .member(member(BOB, "bob"), Some(presence(BOB, "online"))),
        );
        let toml = format!(
            "[discord]\ntoken = \"{TOKEN}\"\nguild_ids = [{GUILD}]\ngateway_url = \"{}\"\napi_url = \"{}\"\n\n\
             [github]\napi_url = \"{}\"\n\n[rate_limit]\nper_second = 100000\nper_minute = 1000000\n\n{extra}",
            gw.url(),
            rest.url(),
            rest.url()
        );
        let instance = Instance::new(&toml);
        let server = instance.serve();
        let addr = server.http.expect("the HTTP address");
        gw.wait_for_identifies(1);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        Setup { rest, gw: Some(gw), instance, server: Some(server), addr, runtime, next_id: std::cell::Cell::new(1000) }
    }

    /// SIGTERM (exit 0), then a new `harmy serve` on the same database, its guild
    /// now as `guild` says; waits for its session.
    fn restart(&mut self, guild: Guild) {
        let status = self.server.take().expect("running").stop();
        assert!(status.success(), "{status:?}");
        self.gw().set_guild(guild);
        let identified = self.gw().identify_count();
        let server = self.instance.serve();
        self.addr = server.http.expect("the HTTP address");
        self.server = Some(server);
        self.gw().wait_for_identifies(identified + 1);
    }

    /// A metric without labels.
    fn metric(&self, name: &str) -> u64 {
        let text = self.get("/metrics").text();
        let line = text.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("no {name}"));
        line[name.len() + 1..].parse().unwrap()
    }

    fn gw(&self) -> &FakeGateway {
        self.gw.as_ref().unwrap()
    }

    fn get(&self, path: &str) -> Reply {
        self.runtime.block_on(client::get(self.addr, path))
    }

    /// The status of `/user/:id`.
    fn status_of(&self, user: u64) -> u16 {
        self.get(&format!("/user/{user}")).status
    }

    fn id(&self) -> u64 {
        self.next_id.set(self.next_id.get() + 1);
        self.next_id.get()
    }

    /// `author` says `content` in the guild channel; returns the bot's reply.
    fn say_as(&self, author: u64, content: &str) -> String {
        let id = self.id();
        self.gw().dispatch(
            "MESSAGE_CREATE",
            json!({
                "id": id.to_string(), "channel_id": CHANNEL.to_string(), "guild_id": GUILD.to_string(),
                "author": user(author), "content": content, "timestamp": "2024-01-01T00:00:00.000000+00:00",
                "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
                "embeds": [], "pinned": false, "type": 0
            }),
        );
        let reply = eventually(&format!("a reply to {content:?}"), || {
            self.rest
                .messages_to(CHANNEL)
                .into_iter()
                .find(|body| body["message_reference"]["message_id"].as_str() == Some(id.to_string().as_str()))
        });
        reply["content"].as_str().unwrap_or_default().to_string()
    }

    /// Alice's slash command; returns the ephemeral answer.
    fn slash(&self, name: &str, options: Value) -> String {
        let id = self.id();
        self.gw().dispatch(
            "INTERACTION_CREATE",
            json!({"id": id.to_string(), "application_id": APP_ID.to_string(), "type": 2,
                   "token": format!("itoken{id}"), "attachment_size_limit": 8388608,
                   "authorizing_integration_owners": {"0": "1"},
                   "data": {"id": "40", "name": name, "type": 1, "options": options},
                   "guild_id": GUILD.to_string(), "channel_id": CHANNEL.to_string(),
                   "member": {"user": user(ALICE), "roles": [], "deaf": false, "mute": false, "flags": 0}}),
        );
        let callback =
            eventually(&format!("a callback for /{name}"), || self.rest.callbacks_for(id).into_iter().next());
        assert_eq!(callback["data"]["flags"], 64, "ephemeral");
        callback["data"]["content"].as_str().unwrap_or_default().to_string()
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = self.instance.cli(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    }
}

fn user(id: u64) -> Value {
    json!({"id": id.to_string(), "username": format!("user{id}"), "discriminator": "0"})
}

/// Waits until `user`'s `/user/:id` answers `status`.
fn wait_status(s: &Setup, user: u64, status: u16) {
    eventually(&format!("/user/{user} answering {status}"), || (s.status_of(user) == status).then_some(()));
}

/// Every route that serves a user answers a hidden one exactly as one never monitored.
fn assert_answered_as_not_monitored(s: &Setup, user: u64) {
    let stranger = 999_999_999_999_999_999u64;
    for (path, stranger_path) in [
        (format!("/user/{user}"), format!("/user/{stranger}")),
        (format!("/v1/users/{user}"), format!("/v1/users/{stranger}")),
        (format!("/user/{user}/card.svg"), format!("/user/{stranger}/card.svg")),
        (format!("/{user}.png"), format!("/{stranger}.png")),
    ] {
        let (hidden, unknown) = (s.get(&path), s.get(&stranger_path));
        assert_eq!(hidden.status, 404, "{path}");
        let strip = |text: String| text.replace(&user.to_string(), "ID").replace(&stranger.to_string(), "ID");
        assert_eq!(strip(hidden.text()), strip(unknown.text()), "{path} tells a hidden user apart");
    }
    // Bulk lookups: null, as for an id no guild has.
    for (path, data) in [("/users", "/".to_string()), ("/v1/users", "/data".to_string())] {
        let bulk = s.get(&format!("{path}?ids={user},{stranger}")).json();
        let parts = bulk.pointer(data.trim_end_matches('/')).unwrap_or(&bulk);
        assert_eq!(parts[user.to_string()], Value::Null, "{path}: {bulk}");
        assert_eq!(parts[stranger.to_string()], Value::Null, "{path}: {bulk}");
    }
}

#[test]
fn opt_in_hides_everyone_until_they_show() {
    let s = Setup::start("[privacy]\nmode = \"opt_in\"\n");
    assert_eq!(
        s.say_as(BOB, ".show"),
        "You are shown: harmy now serves your presence, key/value pairs and GitHub profile. `.hide` (or `/privacy hide`) stops it at once."
    );
    wait_status(&s, BOB, 200);
    assert_answered_as_not_monitored(&s, ALICE);
    assert_eq!(s.get("/").json()["monitored_users"], 1, "only Bob counts");
    let bulk = s.get(&format!("/v1/users?ids={ALICE},{BOB}")).json();
    assert!(bulk["data"][ALICE.to_string()].is_null() && bulk["data"][BOB.to_string()].is_object(), "{bulk}");
    let all = s.runtime.block_on(async {
        let mut ws = client::socket(s.addr, "/socket").await;
        say(&mut ws, r#"{"op":2,"d":{"subscribe_to_all":true}}"#).await;
        assert_eq!(next_json(&mut ws).await["op"], 1);
        next_json(&mut ws).await
    });
    let ids: Vec<&String> = all["d"].as_object().unwrap().keys().collect();
    assert_eq!(ids, [&BOB.to_string()], "subscribe_to_all lists the shown only");

    // Alice shows by slash command, hides by message, shows by message.
    assert!(s.slash("privacy", json!([{"name": "show", "type": 1, "options": []}])).starts_with("You are shown"));
    assert_eq!(s.status_of(ALICE), 200, "at once");
    assert!(s.get(&format!("/v1/users/{ALICE}")).json()["success"] == true);
    assert!(s.say_as(ALICE, ".hide").starts_with("You are hidden"));
    assert_answered_as_not_monitored(&s, ALICE);
    assert!(s.say_as(ALICE, ".show").starts_with("You are shown"));
    assert_eq!(s.status_of(ALICE), 200);
    assert!(s.say_as(ALICE, ".help").contains("`.forget`"));
}

#[test]
fn hide_removes_a_user_from_open_sockets_and_from_subscribe_to_all() {
    let s = Setup::start("");
    wait_status(&s, ALICE, 200);
    wait_status(&s, BOB, 200);
    let token = s.cli(&["token", "rotate", &ALICE.to_string()]);
    s.runtime.block_on(async {
        let mut ids = client::socket(s.addr, "/socket").await;
        say(&mut ids, &format!(r#"{{"op":2,"d":{{"subscribe_to_ids":["{ALICE}","{BOB}"]}}}}"#)).await;
        assert_eq!(next_json(&mut ids).await["op"], 1);
        let init = next_json(&mut ids).await;
        assert!(init["d"][ALICE.to_string()].is_object() && init["d"][BOB.to_string()].is_object(), "{init}");
        let mut all = client::socket(s.addr, "/socket").await;
        say(&mut all, r#"{"op":2,"d":{"subscribe_to_all":true}}"#).await;
        assert_eq!(next_json(&mut all).await["op"], 1);
        assert!(next_json(&mut all).await["d"][ALICE.to_string()].is_object());

        let out = tokio::task::spawn_blocking({
            let instance_cfg = s.instance.config_path();
            move || {
                std::process::Command::new(support::harmy_bin())
                    .args(["user", "hide", &ALICE.to_string(), "--config"])
                    .arg(instance_cfg)
                    .output()
                    .unwrap()
            }
        })
        .await
        .unwrap();
        assert_eq!(stdout(&out), format!("{ALICE} is hidden: answered as not monitored on every route"));
        // Alice changes, then Bob: both sockets hear Bob's change and nothing of Alice's.
        s.gw().dispatch("PRESENCE_UPDATE", presence_update(GUILD, ALICE, "dnd", vec![]));
        s.gw().dispatch("PRESENCE_UPDATE", presence_update(GUILD, BOB, "idle", vec![]));
        for ws in [&mut ids, &mut all] {
            let update = next_json(ws).await;
            assert_eq!(update["t"], "PRESENCE_UPDATE");
            assert_eq!(update["d"]["discord_user"]["id"], BOB.to_string(), "{update}");
        }
        // A new subscribe_to_all leaves her out; her own token still manages her KV.
        let mut fresh = client::socket(s.addr, "/socket").await;
        say(&mut fresh, r#"{"op":2,"d":{"subscribe_to_all":true}}"#).await;
        assert_eq!(next_json(&mut fresh).await["op"], 1);
        let init = next_json(&mut fresh).await;
        assert!(init["d"].get(ALICE.to_string()).is_none() && init["d"][BOB.to_string()].is_object(), "{init}");
        let put = send(s.addr, "PUT", "/user/@me/kv/mood", &[("authorization", token.as_str())], "quiet").await;
        assert_eq!(put.status, 204);
        let mine = send(s.addr, "GET", "/user/@me/kv", &[("authorization", token.as_str())], "").await;
        assert_eq!(mine.json(), json!({"mood": "quiet"}));
        // Nothing was pushed about her for that write either.
        s.gw().dispatch("PRESENCE_UPDATE", presence_update(GUILD, BOB, "online", vec![]));
        assert_eq!(next_json(&mut ids).await["d"]["discord_user"]["id"], BOB.to_string());
    });
    assert_answered_as_not_monitored(&s, ALICE);
}

#[test]
fn forget_deletes_everything_only_after_confirm() {
    let s = Setup::start("");
    wait_status(&s, ALICE, 200);
    let alice = ALICE.to_string();
    s.cli(&["kv", "set", &alice, "colour", "blue"]);
    s.cli(&["github", "link", &alice, "vaqqq"]);
    let token = s.cli(&["token", "rotate", &alice]);
    let kv_with =
        |token: &str| s.runtime.block_on(send(s.addr, "GET", "/user/@me/kv", &[("authorization", token)], ""));

    let asked = s.say_as(ALICE, ".forget");
    assert!(asked.contains("`.forget confirm`") && asked.contains("cannot be undone"), "{asked}");
    let slash = s.slash("forget", json!([]));
    assert!(slash.contains("`/forget confirm: True`"), "{slash}");
    assert_eq!(kv_with(&token).json(), json!({"colour": "blue"}), "nothing deleted before the confirmation");
    assert_eq!(s.get(&format!("/user/{ALICE}")).json()["github"]["username"], "vaqqq");

    let done = s.say_as(ALICE, ".forget confirm");
    assert_eq!(
        done,
        "Done: deleted 1 key/value pair, your API token, your GitHub link. You are hidden now; `.show` serves you again."
    );
    assert_eq!(kv_with(&token).status, 401, "the old token is dead");
    assert_eq!(s.cli(&["kv", "get", &alice]), "{}");
    assert_answered_as_not_monitored(&s, ALICE);
    let export: Value = serde_json::from_str(&s.cli(&["user", "export", &alice])).unwrap();
    assert_eq!((export["github"].clone(), export["kv"].clone()), (Value::Null, json!({})));
    assert_eq!(export["api_token"]["issued"], false);

    // A later `.show` serves her again, with nothing of the old data.
    assert!(s.say_as(ALICE, ".show").starts_with("You are shown"));
    let body = s.get(&format!("/user/{ALICE}")).json();
    assert_eq!((body["KV"].clone(), body["github"].clone()), (json!({}), Value::Null));
    // The slash form with its confirm option.
    s.cli(&["kv", "set", &alice, "again", "1"]);
    let done = s.slash("forget", json!([{"name": "confirm", "type": 5, "value": true}]));
    assert!(done.starts_with("Done: deleted 1 key/value pair."), "{done}");
    assert_eq!(s.status_of(ALICE), 404);
}

#[test]
fn export_is_a_file_by_dm_with_the_kv_and_no_token_hash() {
    let s = Setup::start("");
    wait_status(&s, ALICE, 200);
    let alice = ALICE.to_string();
    s.cli(&["kv", "set", &alice, "colour", "blue"]);
    let token = s.cli(&["token", "rotate", &alice]);
    assert_eq!(
        s.say_as(ALICE, ".export"),
        "Check your DMs: I sent you everything harmy stores about you, as a JSON file."
    );
    let files = s.rest.files_to(dm_channel(ALICE));
    assert_eq!(files.len(), 1);
    let (name, content) = &files[0];
    assert_eq!(name, &format!("harmy-export-{ALICE}.json"));
    assert!(!content.contains("$argon2") && !content.contains(&token), "{content}");
    let export: Value = serde_json::from_str(content).unwrap();
    assert_eq!(export["user_id"], alice);
    assert_eq!(export["kv"], json!({"colour": "blue"}));
    assert_eq!(export["api_token"], json!({"issued": true}));
    assert_eq!(export["privacy"], json!({"mode": "public", "choice": null, "served": true}));

    // The slash command DMs it too; closed DMs are said so.
    assert!(s.slash("export", json!([])).starts_with("Check your DMs"));
    assert_eq!(s.rest.files_to(dm_channel(ALICE)).len(), 2);
    s.rest.set(|b| b.dms_closed = true);
    assert!(s.say_as(ALICE, ".export").starts_with("I can't DM you"));
}

#[test]
fn user_commands_give_the_same_output_with_and_without_a_running_server() {
    let instance = Instance::new("");
    let id = ALICE.to_string();
    let run = |args: &[&str]| {
        let out = instance.cli(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    run(&["kv", "set", &id, "k", "v"]);
    let offline = [
        run(&["user", "hide", &id]),
        run(&["user", "show", &id]),
        run(&["user", "export", &id]),
        run(&["user", "forget", &id]),
        run(&["user", "export", &id]),
    ];
    assert_eq!(offline[0], format!("{id} is hidden: answered as not monitored on every route"));
    assert_eq!(offline[1], format!("{id} is shown: served on every route"));
    assert!(offline[2].contains("\"k\": \"v\""), "{}", offline[2]);
    assert_eq!(
        offline[3],
        format!("forgot {id}: 1 KV pairs deleted, API token none, GitHub link none, last seen none; {id} is hidden")
    );
    assert!(offline[4].contains("\"choice\": \"hidden\""), "{}", offline[4]);

    let server = instance.serve();
    run(&["kv", "set", &id, "k", "v"]);
    let online = [
        run(&["user", "hide", &id]),
        run(&["user", "show", &id]),
        run(&["user", "export", &id]),
        run(&["user", "forget", &id]),
        run(&["user", "export", &id]),
    ];
    assert!(server.log_text().contains("user_forget"), "went through the admin socket");
    let without_time = |text: &str| text.lines().filter(|l| !l.contains("exported_at")).collect::<Vec<_>>().join("\n");
    for (a, b) in offline.iter().zip(&online) {
        assert_eq!(without_time(a), without_time(b));
    }
    let bad = instance.cli(&["user", "hide", "nope"]);
    assert!(!bad.status.success());
    drop(server);
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

/// `(presence.lastSeen, data.last_seen)` of a user, once their status is `status`.
fn last_seen_when(s: &Setup, user: u64, status: &str) -> (Value, Value) {
    let native = eventually(&format!("{user} {status}"), || {
        let body = s.get(&format!("/user/{user}")).json();
        (body["presence"]["status"] == status).then_some(body)
    });
    let lanyard = s.get(&format!("/v1/users/{user}")).json();
    assert_eq!(lanyard["data"]["discord_status"], status);
    (native["presence"]["lastSeen"].clone(), lanyard["data"]["last_seen"].clone())
}

fn offline_guild() -> Guild {
    Guild::new(GUILD).member(member(ALICE, "alice"), None).member(member(BOB, "bob"), None)
}

#[test]
fn last_seen_is_set_on_going_offline_null_while_online_and_kept_across_a_sigterm_restart() {
    let mut s = Setup::start("");
    assert_eq!(last_seen_when(&s, ALICE, "online"), (Value::Null, Value::Null), "never seen offline");
    let before = now_ms();
    s.gw().dispatch("PRESENCE_UPDATE", presence_update(GUILD, ALICE, "offline", vec![]));
    let (native, lanyard) = last_seen_when(&s, ALICE, "offline");
    let seen = native.as_u64().expect("a time");
    assert!((before..=now_ms()).contains(&seen), "{seen}");
    assert_eq!(lanyard, native, "both shapes");
    s.gw().dispatch("PRESENCE_UPDATE", presence_update(GUILD, ALICE, "idle", vec![]));
    assert_eq!(last_seen_when(&s, ALICE, "idle"), (Value::Null, Value::Null), "null while not offline");
    s.gw().dispatch("PRESENCE_UPDATE", presence_update(GUILD, ALICE, "offline", vec![]));
    let seen = last_seen_when(&s, ALICE, "offline").0.as_u64().unwrap();

    // Bob is still online at the SIGTERM: he was last seen then. Both times survive
    // the restart and are served from the first GUILD_CREATE on.
    let stopped_after = now_ms();
    s.restart(offline_guild());
    let stopped_before = now_ms();
    assert_eq!(last_seen_when(&s, ALICE, "offline"), (json!(seen), json!(seen)));
    let bob = last_seen_when(&s, BOB, "offline").0.as_u64().expect("recorded at shutdown");
    assert!((stopped_after..=stopped_before).contains(&bob), "{stopped_after} <= {bob} <= {stopped_before}");
    // Forgetting deletes it for good (another restart does not bring it back).
    s.cli(&["user", "forget", &ALICE.to_string()]);
    s.cli(&["user", "show", &ALICE.to_string()]);
    assert_eq!(last_seen_when(&s, ALICE, "offline").0, Value::Null);
    s.restart(offline_guild());
    assert_eq!(last_seen_when(&s, ALICE, "offline").0, Value::Null);
}

#[test]
fn many_status_changes_are_written_in_few_commits() {
    let mut s = Setup::start("");
    wait_status(&s, ALICE, 200);
    let commits = s.metric("harmy_last_seen_commits_total");
    for status in ["offline", "online"].repeat(40) {
        s.gw().dispatch("PRESENCE_UPDATE", presence_update(GUILD, ALICE, status, vec![]));
    }
    s.gw().dispatch("PRESENCE_UPDATE", presence_update(GUILD, ALICE, "offline", vec![]));
    eventually("41 offline changes recorded", || (s.metric("harmy_last_seen_recorded_total") == 41).then_some(()));
    let seen = last_seen_when(&s, ALICE, "offline").0;
    // At most one 30 s batch can have fallen in the test, however slow the machine.
    assert!(s.metric("harmy_last_seen_commits_total") - commits <= 1, "41 changes, at most one commit");
    s.restart(offline_guild());
    assert_eq!(last_seen_when(&s, ALICE, "offline").0, seen, "the last change was written at shutdown");
}
