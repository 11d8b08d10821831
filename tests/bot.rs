//! End-to-end tests of the bot: the real `harmy serve` against the fake Discord
//! gateway (which delivers MESSAGE_CREATE / INTERACTION_CREATE) and the fake
//! REST API (which records every reply), plus `harmy bot check|commands|invite`.

mod support;

use serde_json::{Value, json};
use support::discord_gateway::{FakeGateway, Guild, member, presence};
use support::discord_rest::{ALL_INTENTS, APP_ID, DiscordRest, TOKEN, dm_channel};
use support::{Instance, Server, eventually, stderr, stdout};

const GUILD: u64 = 1;
const CHANNEL: u64 = 21;
const ALICE: u64 = 2;

/// A running harmy with its two fakes.
struct Setup {
    rest: DiscordRest,
    gw: FakeGateway,
    instance: Instance,
    server: Server,
    next_id: std::cell::Cell<u64>,
}

/// The `[discord]` and `[github]` sections pointing at the fakes.
fn fake_discord_toml(rest: &DiscordRest, gateway_url: &str, token: &str, extra: &str) -> String {
    format!(
        "[discord]\ntoken = \"{token}\"\nguild_ids = [{GUILD}]\ngateway_url = \"{gateway_url}\"\n\
         api_url = \"{}\"\n{extra}\n[github]\napi_url = \"{}\"\n",
        rest.url(),
        rest.url()
    )
}

impl Setup {
    fn start(extra_discord: &str, extra_sections: &str) -> Setup {
        let rest = DiscordRest::start();
        let gw = FakeGateway::with_token(TOKEN);
        gw.set_guild(Guild::new(GUILD).member(member(ALICE, "alice"), Some(presence(ALICE, "online"))));
        let toml = fake_discord_toml(&rest, gw.url(), TOKEN, extra_discord);
        let instance = Instance::new(&format!("{toml}\n{extra_sections}"));
        let server = instance.serve();
        gw.wait_for_identifies(1);
        Setup { rest, gw, instance, server, next_id: std::cell::Cell::new(1000) }
    }

    fn id(&self) -> u64 {
        self.next_id.set(self.next_id.get() + 1);
        self.next_id.get()
    }

    /// Posts a message as `author` in `channel` (of `guild`, or a DM when None); returns its id.
    fn post(&self, guild: Option<u64>, channel: u64, author: Value, content: &str) -> u64 {
        let id = self.id();
        let mut d = json!({
            "id": id.to_string(), "channel_id": channel.to_string(), "author": author, "content": content,
            "timestamp": "2024-01-01T00:00:00.000000+00:00", "tts": false, "mention_everyone": false,
            "mentions": [], "mention_roles": [], "attachments": [], "embeds": [], "pinned": false, "type": 0
        });
        if let Some(guild) = guild {
            d["guild_id"] = json!(guild.to_string());
        }
        self.gw.dispatch("MESSAGE_CREATE", d);
        id
    }

    /// Alice says `content` in the guild channel; returns the bot's reply.
    fn say(&self, content: &str) -> Value {
        let id = self.post(Some(GUILD), CHANNEL, alice(), content);
        self.reply_to(CHANNEL, id)
    }

    /// Waits for the bot's reply to a message.
    fn reply_to(&self, channel: u64, message: u64) -> Value {
        eventually(&format!("a reply to message {message}"), || {
            self.rest
                .messages_to(channel)
                .into_iter()
                .find(|body| body["message_reference"]["message_id"].as_str() == Some(message.to_string().as_str()))
        })
    }

    /// Sends a slash command as Alice; returns the interaction callback body.
    fn slash(&self, name: &str, sub: Option<(&str, &[(&str, &str)])>) -> Value {
        let id = self.id();
        let options = match sub {
            Some((sub, args)) => json!([{"name": sub, "type": 1, "options": args.iter()
                .map(|(n, v)| json!({"name": n, "type": 3, "value": v})).collect::<Vec<_>>()}]),
            None => json!([]),
        };
        self.gw.dispatch(
            "INTERACTION_CREATE",
            json!({"id": id.to_string(), "application_id": APP_ID.to_string(), "type": 2,
                   "token": format!("itoken{id}"), "attachment_size_limit": 8388608,
                   "authorizing_integration_owners": {"0": "1"},
                   "data": {"id": "40", "name": name, "type": 1, "options": options},
                   "guild_id": GUILD.to_string(), "channel_id": "20",
                   "member": {"user": alice(), "roles": [], "deaf": false, "mute": false, "flags": 0}}),
        );
        eventually(&format!("a callback for interaction {id}"), || self.rest.callbacks_for(id).into_iter().next())
    }

    /// The contents of the DMs sent to a user so far.
    fn dms_to(&self, user: u64) -> Vec<String> {
        self.rest.messages_to(dm_channel(user)).iter().map(|b| b["content"].as_str().unwrap().to_string()).collect()
    }

    /// Whether `token` is a valid API token right now. Posting a valid token is a
    /// leak the bot answers; an invalid one falls through to `.kv`'s usage line,
    /// so the answer is deterministic either way.
    fn token_is_valid(&self, token: &str) -> bool {
        let reply = self.say(&format!(".kv {token}"));
        let text = content(&reply);
        assert!(!text.contains(token), "the bot echoed a token: {text}");
        text.contains("contained an API token")
    }
}

fn alice() -> Value {
    json!({"id": ALICE.to_string(), "username": "alice", "discriminator": "0"})
}

fn content(body: &Value) -> String {
    body["content"].as_str().unwrap_or_default().to_string()
}

/// The API token inside a text.
fn token_in(text: &str) -> String {
    let start = text.find("harmy_").expect("a token in the text");
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
}

#[test]
fn message_commands_manage_kv_and_github_with_safe_replies() {
    let s = Setup::start("", "[kv]\nmax_value_length = 20\n");
    let reply = s.say(".set color blue  sky");
    assert_eq!(content(&reply), "Set `color`.");
    assert_eq!(reply["allowed_mentions"], json!({"parse": []}), "replies never ping");
    let cli = s.instance.cli(&["kv", "get", "2", "color"]);
    assert_eq!(stdout(&cli), "blue  sky", "{}", stderr(&cli));

    assert_eq!(content(&s.say(".get color")), "`color` = blue  sky");
    assert_eq!(content(&s.say(".add mood @everyone")), "Set `mood`.");
    let echoed = content(&s.say(".get mood"));
    assert!(echoed.contains("everyone") && !echoed.contains("@everyone"), "{echoed}");
    assert_eq!(content(&s.say(".kv")), "Your keys (2): `color`, `mood`");
    assert_eq!(content(&s.say(".del mood")), "Deleted `mood`.");
    assert_eq!(content(&s.say(".get mood")), "You have no key `mood`.");

    assert!(content(&s.say(".set bad-key x")).contains("not a valid key"));
    let too_long = content(&s.say(".set color this value is longer than twenty"));
    assert!(too_long.contains("limit is 20"), "{too_long}");
    assert_eq!(content(&s.say(".get")), "Usage: `.get KEY`");
    assert!(content(&s.say(".help")).contains("`.set KEY VALUE`"));

    assert_eq!(content(&s.say(".github vaqqq")), "Linked GitHub profile `vaqqq`.");
    assert_eq!(content(&s.say(".github unlink")), "Unlinked your GitHub profile.");
    assert_eq!(content(&s.say(".github unlink")), "You have no GitHub profile linked.");
    assert!(content(&s.say(".github -bad-")).contains("is not a GitHub login"));

    // Bots, other guilds and plain chat get no answer. Events are filtered in
    // order, so once the last message is answered the earlier ones were skipped.
    let bot =
        s.post(Some(GUILD), CHANNEL, json!({"id": "55", "username": "b", "discriminator": "0", "bot": true}), ".kv");
    let elsewhere = s.post(Some(99), CHANNEL, alice(), ".kv");
    let chat = s.post(Some(GUILD), CHANNEL, alice(), "... anyway");
    s.say(".kv");
    let answered: Vec<Value> =
        s.rest.messages_to(CHANNEL).iter().map(|b| b["message_reference"]["message_id"].clone()).collect();
    for skipped in [bot, elsewhere, chat] {
        assert!(!answered.contains(&json!(skipped.to_string())), "message {skipped} was answered");
    }
}

#[test]
fn token_is_sent_by_dm_and_a_leaked_token_is_replaced() {
    let s = Setup::start("", "");
    assert_eq!(content(&s.say(".token")), "Check your DMs: I sent you a new API token.");
    let first = token_in(&s.dms_to(ALICE)[0]);
    assert!(s.token_is_valid(&first), "posting the token is caught as a leak");
    // The leak replaced it: the old token is dead, the DMed one works.
    let dms = s.dms_to(ALICE);
    assert_eq!(dms.len(), 2);
    assert!(dms[1].contains("posted in a Discord channel"));
    let second = token_in(&dms[1]);
    assert_ne!(first, second);
    assert!(!s.token_is_valid(&first));
    assert!(s.token_is_valid(&second));

    // `.apikey` in a DM answers in the DM itself.
    let id = s.post(None, dm_channel(ALICE), alice(), ".apikey");
    let third = token_in(&content(&s.reply_to(dm_channel(ALICE), id)));
    // Only the bot reads a DM: a token there is no leak and stays valid.
    let id = s.post(None, dm_channel(ALICE), alice(), &format!(".kv {third}"));
    assert_eq!(content(&s.reply_to(dm_channel(ALICE), id)), "Usage: `.kv`");
    assert!(s.token_is_valid(&third));
    let log = s.server.log_text();
    assert!(!log.contains(&first) && !log.contains(&second), "tokens must not be logged");

    // A stranger (no member of a configured guild) gets nothing in DMs: no token, no KV.
    let stranger = json!({"id": "999999", "username": "stranger", "discriminator": "0"});
    let ignored = s.post(None, dm_channel(999999), stranger, ".token");
    let id = s.post(None, dm_channel(ALICE), alice(), ".kv");
    s.reply_to(dm_channel(ALICE), id); // later events are answered, so the stranger's was looked at
    assert!(s.rest.messages_to(dm_channel(999999)).is_empty(), "message {ignored} was answered");
}

#[test]
fn closed_dms_get_a_clear_reply_and_the_unseen_token_is_revoked() {
    let s = Setup::start("", "");
    s.rest.set(|b| b.dms_closed = true);
    let reply = content(&s.say(".token"));
    assert!(reply.contains("can't DM you") && reply.contains("/token"), "{reply}");
    // The refused DM still carried the token: it must not work.
    let refused = s.dms_to(ALICE);
    assert_eq!(refused.len(), 1);
    assert!(!s.token_is_valid(&token_in(&refused[0])));
}

#[test]
fn slash_commands_answer_ephemerally() {
    let s = Setup::start("", "");
    let ephemeral = |body: &Value| {
        assert_eq!(body["type"], 4, "{body}");
        assert_eq!(body["data"]["flags"], 64, "{body}");
        assert_eq!(body["data"]["allowed_mentions"], json!({"parse": []}));
        body["data"]["content"].as_str().unwrap().to_string()
    };
    assert_eq!(ephemeral(&s.slash("kv", Some(("set", &[("key", "color"), ("value", "blue")])))), "Set `color`.");
    assert_eq!(ephemeral(&s.slash("kv", Some(("get", &[("key", "color")])))), "`color` = blue");
    assert_eq!(ephemeral(&s.slash("kv", Some(("list", &[])))), "Your keys (1): `color`");
    assert_eq!(ephemeral(&s.slash("kv", Some(("del", &[("key", "color")])))), "Deleted `color`.");
    assert_eq!(ephemeral(&s.slash("github", Some(("link", &[("login", "vaqqq")])))), "Linked GitHub profile `vaqqq`.");
    assert_eq!(ephemeral(&s.slash("github", Some(("unlink", &[])))), "Unlinked your GitHub profile.");
    let token = token_in(&ephemeral(&s.slash("token", None)));
    assert!(s.dms_to(ALICE).is_empty(), "/token answers in place, not by DM");
    assert!(s.token_is_valid(&token));
}

/// A harmy instance (no server) whose bot talks to the fake REST API.
fn offline(rest: &DiscordRest, token: &str, extra_discord: &str) -> Instance {
    Instance::new(&fake_discord_toml(rest, "ws://127.0.0.1:9", token, extra_discord))
}

#[test]
fn bot_check_passes_then_fails_on_a_missing_intent_a_missing_guild_and_a_bad_token() {
    let rest = DiscordRest::start();
    let instance = offline(&rest, TOKEN, "");
    let out = instance.cli(&["bot", "check"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 5, "token, three intents, one guild:\n{text}");
    assert!(text.lines().all(|l| l.starts_with("pass ")), "{text}");

    rest.set(|b| b.flags = ALL_INTENTS & !(1 << 12));
    let out = instance.cli(&["bot", "check"]);
    assert!(!out.status.success());
    let text = stdout(&out);
    let failed: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].contains("Presence Intent"), "{failed:?}");
    // The _LIMITED flag counts as on (bots in fewer than 100 servers).
    rest.set(|b| b.flags = (ALL_INTENTS & !(1 << 12)) | (1 << 13));
    assert!(instance.cli(&["bot", "check"]).status.success());

    rest.set(|b| b.guilds = vec![7]);
    let out = instance.cli(&["bot", "check"]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("FAIL guild 1: the bot is not a member"), "{}", stdout(&out));

    let wrong = offline(&rest, "MTAw.wrong.token", "");
    let out = wrong.cli(&["bot", "check"]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("the token is wrong"), "{}", stdout(&out));
}

#[test]
fn bot_commands_registers_globally_and_per_guild() {
    let rest = DiscordRest::start();
    let instance = offline(&rest, TOKEN, "");
    for (args, path) in [
        (&["bot", "commands"][..], format!("/applications/{APP_ID}/commands")),
        (&["bot", "commands", "--guild", "5"][..], format!("/applications/{APP_ID}/guilds/5/commands")),
        (&["bot", "commands", "--guild"][..], format!("/applications/{APP_ID}/guilds/{GUILD}/commands")),
    ] {
        let out = instance.cli(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).starts_with("registered 6 slash commands"), "{}", stdout(&out));
        let put = rest.requests().into_iter().rev().find(|r| r.method == "PUT").expect("a PUT");
        assert_eq!(put.path, path);
        assert_eq!(put.authorization.as_deref(), Some(format!("Bot {TOKEN}").as_str()));
        let names: Vec<&str> = put.body.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["kv", "token", "github", "privacy", "forget", "export"]);
    }
}

#[test]
fn bot_invite_prints_the_oauth_url_without_the_network() {
    let rest = DiscordRest::start();
    let out = offline(&rest, TOKEN, "").cli(&["bot", "invite"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "https://discord.com/oauth2/authorize?client_id=100&scope=bot+applications.commands&permissions=84992"
    );
    assert!(rest.requests().is_empty(), "the id comes from the token");

    // A token of another shape: the id is asked of Discord.
    rest.set(|b| b.token = "not-base64".into());
    let out = offline(&rest, "not-base64", "").cli(&["bot", "invite"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("client_id=100&"), "{}", stdout(&out));
    assert_eq!(rest.requests()[0].path, "/applications/@me");
}

#[test]
fn a_member_flooding_commands_is_told_once_to_slow_down_then_ignored() {
    let s = Setup::start("", "");
    let limit = harmy::bot::limit::COMMANDS_PER_MINUTE;
    // The member's minute is opened by their first command: the burst is inside it.
    // The limit and one more command, then another: the limit holds across message
    // and slash commands, and the bot does not answer a flood with a flood.
    let mut ids = Vec::new();
    for _ in 0..=limit + 1 {
        ids.push(s.post(Some(GUILD), CHANNEL, alice(), ".kv"));
    }
    // Commands run concurrently, so which one is refused is not fixed: count them.
    let replies = |ids: &[u64]| -> Vec<String> {
        let sent = s.rest.messages_to(CHANNEL);
        sent.iter()
            .filter(|b| ids.iter().any(|id| b["message_reference"]["message_id"] == json!(id.to_string())))
            .map(content)
            .collect()
    };
    let answered = eventually("the flood's replies", || {
        let got = replies(&ids);
        (got.len() > limit as usize).then_some(got)
    });
    let slow: Vec<&String> = answered.iter().filter(|t| t.starts_with("Slow down")).collect();
    assert_eq!(slow.len(), 1, "told once: {answered:?}");
    assert!(slow[0].contains("commands a minute"), "{}", slow[0]);
    assert_eq!(answered.iter().filter(|t| *t == "You have no keys yet.").count(), limit as usize);
    let slash = s.slash("kv", Some(("list", &[])));
    assert!(content(&slash["data"]).starts_with("Slow down"), "slash commands are answered: {slash}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(replies(&ids).len(), limit as usize + 1, "the other refused command gets no reply");
}

#[test]
fn kv_writes_by_rest_bot_and_slash_count_against_one_rate() {
    let s = Setup::start("", "[rate_limit]\nper_second = 0\nper_minute = 0\n[kv]\nwrites_per_minute = 3\n");
    let addr = s.server.http.expect("the API address");
    let token = support::api::token(&s.instance, &ALICE.to_string());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let put = |value: &str| {
        let auth = [("authorization", token.as_str())];
        runtime.block_on(support::http_client::send(addr, "PUT", "/user/@me/kv/rest", &auth, value.to_string()))
    };
    let ephemeral = |body: Value| content(&body["data"]);
    assert_eq!(put("1").status, 204);
    assert_eq!(content(&s.say(".set color blue")), "Set `color`.");
    assert_eq!(ephemeral(s.slash("kv", Some(("del", &[("key", "color")])))), "Deleted `color`.");
    let refused = content(&s.say(".set color red"));
    assert!(refused.contains("at most 3 key/value writes a minute"), "{refused}");
    let slash = ephemeral(s.slash("kv", Some(("set", &[("key", "color"), ("value", "red")]))));
    assert!(slash.starts_with("Slow down"), "{slash}");
    let refused = put("2");
    assert_eq!((refused.status, refused.code()), (429, "rate_limited".to_string()));
    assert_eq!(content(&s.say(".get rest")), "`rest` = 1", "reads are not writes");
}
