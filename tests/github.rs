//! The GitHub link end to end (docs/github.md): linking fetches the profile, unknown
//! logins link nothing, `harmy github refresh` with and without a server, the
//! bot's commands, the profile served and pushed. The refresher of `serve` is
//! in `tests/github_refresh.rs`. All against the fake GitHub of `support`.

mod support;

use harmy::ids::UserId;
use support::api::until;
use support::discord_gateway::FakeGateway;
use support::github::{VERSION, app_at, fake, instance, link, stored};
use support::{Instance, stderr, stdout};

#[test]
fn linking_fetches_the_profile_and_stores_it_with_its_etag() {
    let fake = fake();
    let (instance, _gateway) = instance(&fake, "");
    let out = link(&instance, "42", "OctoCat");
    assert!(out.starts_with("linked 42 to GitHub user octocat"), "{out}");
    assert!(out.contains("public_repos: 8") && out.contains("blog: -") && out.contains("id: 583231"), "{out}");

    let (login, record) = stored(&instance, 42).expect("linked");
    let record = record.expect("profile stored");
    assert_eq!(login, "octocat", "GitHub's spelling of the login is kept");
    assert_eq!(record.profile.username, "octocat");
    assert_eq!(record.profile.url, "https://github.com/octocat");
    assert_eq!(record.profile.blog, None, "GitHub's empty blog is stored as null");
    assert_eq!(record.profile.bio.as_deref(), Some("There once was..."));
    assert_eq!(record.etag, Some(fake.etag("octocat")));

    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    let headers = &seen[0].headers;
    assert_eq!(headers["user-agent"], format!("harmy/{VERSION}"));
    assert_eq!(headers["accept"], "application/vnd.github+json");
    assert_eq!(headers["x-github-api-version"], "2022-11-28");
    assert!(!headers.contains_key("authorization"), "no token configured, none sent");
    assert!(!headers.contains_key("if-none-match"), "a first fetch is unconditional");
}

#[test]
fn an_unknown_login_is_refused_and_links_nothing() {
    let fake = fake();
    let (instance, _gateway) = instance(&fake, "");
    let out = instance.cli(&["github", "link", "42", "nobody-here"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("GitHub has no user `nobody-here`"), "{}", stderr(&out));
    assert_eq!(stored(&instance, 42), None);

    let out = instance.cli(&["github", "link", "42", "not a login"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is not a GitHub login"), "{}", stderr(&out));
    assert_eq!(fake.count("not a login"), 0, "a malformed login is not sent to GitHub");
    assert_eq!(stored(&instance, 42), None);
}

#[test]
fn linking_through_a_running_server_prints_the_same_and_stores_the_profile() {
    let fake = fake();
    let (instance, _gateway) = instance(&fake, "");
    let without_server = link(&instance, "7", "alice");
    let server = instance.serve();
    let with_server = link(&instance, "8", "alice");
    assert_eq!(with_server, without_server.replace("linked 7", "linked 8"));
    let refused = instance.cli(&["github", "link", "9", "nobody-here"]);
    assert!(stderr(&refused).contains("GitHub has no user `nobody-here`"), "{}", stderr(&refused));
    server.wait_for_log("GitHub profile linked");
    assert!(server.stop().success());
    assert_eq!(stored(&instance, 8).unwrap().1.unwrap().profile.username, "alice");
    assert_eq!(stored(&instance, 9), None);
}

#[test]
fn github_refresh_reports_each_profile_without_a_server() {
    let fake = fake();
    let (instance, _gateway) = instance(&fake, "");
    link(&instance, "1", "alice");
    link(&instance, "2", "bob");
    fake.put_user("bob", 1002, "bob's new bio", 6);
    fake.remove_user("alice");

    let out = instance.cli(&["github", "refresh"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "1 alice: unlinked (GitHub has no such user any more)\n2 bob: refreshed");
    assert_eq!(stored(&instance, 1), None);
    assert_eq!(stored(&instance, 2).unwrap().1.unwrap().profile.bio.as_deref(), Some("bob's new bio"));

    let out = instance.cli(&["github", "refresh", "2"]);
    assert_eq!(stdout(&out), "2 bob: unchanged");
    let last = fake.seen().pop().unwrap();
    assert_eq!((last.status, last.headers.get("if-none-match")), (304, Some(&fake.etag("bob"))));

    let out = instance.cli(&["github", "refresh", "1"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no GitHub profile is linked"), "{}", stderr(&out));
}

#[test]
fn github_refresh_goes_through_a_running_server() {
    let fake = fake();
    let (instance, _gateway) = instance(&fake, "");
    link(&instance, "1", "alice");
    link(&instance, "2", "bob");
    let server = instance.serve();
    fake.put_user("alice", 1001, "alice, changed", 4);
    let out = instance.cli(&["github", "refresh"]);
    assert_eq!(stdout(&out), "1 alice: refreshed\n2 bob: unchanged", "{}", stderr(&out));
    server.wait_for_log("GitHub profile changed");

    fake.fail_with(Some(502));
    let out = instance.cli(&["github", "refresh"]);
    assert_eq!(
        stdout(&out),
        "1 alice: failed: GitHub answered 502 Bad Gateway\n2 bob: failed: GitHub answered 502 Bad Gateway"
    );
    let out = instance.cli(&["github", "refresh", "1"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("GitHub answered 502"), "{}", stderr(&out));
    assert!(server.stop().success());
    let alice = stored(&instance, 1).unwrap().1.unwrap();
    assert_eq!(alice.profile.bio.as_deref(), Some("alice, changed"), "a failure keeps the last good profile");
}

/// In-process: when GitHub cannot be reached, linking fails with the reason and links nothing.
#[tokio::test]
async fn a_link_while_github_is_unreachable_links_nothing() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap(); // dropped: refused
    let (app, _dir) = app_at(&format!("http://{closed}"), "6h");
    let err = app.github.link(UserId(4), "alice".into()).await.unwrap_err();
    assert!(err.to_string().starts_with("GitHub is unavailable: cannot reach GitHub"), "{err}");
    assert_eq!(app.github.get(UserId(4)).await.unwrap(), None);
}

/// `.github LOGIN` and `/github link` fetch from GitHub like the CLI: the
/// profile is stored, an unknown login is refused in the reply.
#[test]
fn the_bot_commands_link_through_github() {
    use serde_json::{Value, json};
    use support::discord_gateway::{Guild, member, presence};
    use support::discord_rest::{APP_ID, DiscordRest, TOKEN};
    const ALICE: u64 = 2;
    const CHANNEL: u64 = 21;

    let fake = fake();
    let rest = DiscordRest::start();
    let gateway = FakeGateway::with_token(TOKEN);
    gateway.set_guild(Guild::new(1).member(member(ALICE, "alice"), Some(presence(ALICE, "online"))));
    let instance = Instance::new(&format!(
        "[discord]\ntoken = \"{TOKEN}\"\nguild_ids = [1]\ngateway_url = \"{}\"\napi_url = \"{}\"\n\n[github]\napi_url = \"{}\"\n",
        gateway.url(),
        rest.url(),
        fake.url
    ));
    let server = instance.serve();
    gateway.wait_for_identifies(1);
    let author = json!({"id": ALICE.to_string(), "username": "alice", "discriminator": "0"});
    let say = |id: u64, text: &str| -> String {
        gateway.dispatch(
            "MESSAGE_CREATE",
            json!({"id": id.to_string(), "channel_id": CHANNEL.to_string(), "guild_id": "1", "author": author,
                   "content": text, "timestamp": "2024-01-01T00:00:00.000000+00:00", "tts": false,
                   "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
                   "embeds": [], "pinned": false, "type": 0}),
        );
        let reply = support::eventually("the bot's reply", || {
            rest.messages_to(CHANNEL)
                .into_iter()
                .find(|m| m["message_reference"]["message_id"] == json!(id.to_string()))
        });
        reply["content"].as_str().unwrap_or_default().to_string()
    };

    assert_eq!(say(500, ".github OctoCat"), "Linked GitHub profile `OctoCat`.");
    assert_eq!(fake.count("octocat"), 1);
    assert!(say(501, ".github nobody-here").contains("GitHub has no user"));

    gateway.dispatch(
        "INTERACTION_CREATE",
        json!({"id": "600", "application_id": APP_ID.to_string(), "type": 2, "token": "itoken600",
               "attachment_size_limit": 8388608, "authorizing_integration_owners": {"0": "1"},
               "data": {"id": "40", "name": "github", "type": 1, "options": [{"name": "link", "type": 1,
                        "options": [{"name": "login", "type": 3, "value": "alice"}]}]},
               "guild_id": "1", "channel_id": CHANNEL.to_string(),
               "member": {"user": author, "roles": [], "deaf": false, "mute": false, "flags": 0}}),
    );
    let callback: Value = support::eventually("the slash reply", || rest.callbacks_for(600).into_iter().next());
    assert_eq!(callback["data"]["content"], "Linked GitHub profile `alice`.");
    assert!(server.stop().success());
    let record = stored(&instance, ALICE).unwrap().1.unwrap();
    assert_eq!((record.profile.username.as_str(), record.profile.id), ("alice", 1001));
}

/// `GET /user/:id` and the Lanyard view show the linked profile, and a profile
/// the refresher finds changed is pushed to WebSocket subscribers.
#[test]
fn the_profile_is_served_and_a_change_is_pushed() {
    use support::discord_gateway::{Guild, member, presence};
    use support::http_client::{get, next_json, say, socket};
    const ALICE: u64 = 470320681905684500;

    let fake = fake();
    let gateway = FakeGateway::start();
    gateway.set_guild(Guild::new(1).member(member(ALICE, "alice"), Some(presence(ALICE, "online"))));
    let instance = Instance::new(&format!(
        "[rate_limit]\nper_second = 1000\nper_minute = 100000\n\n{}\n[github]\napi_url = \"{}\"\nrefresh_interval = \"300ms\"\n",
        gateway.discord_toml("http://127.0.0.1:1"),
        fake.url
    ));
    link(&instance, &ALICE.to_string(), "alice");
    let server = instance.serve();
    gateway.wait_for_identifies(1);
    let addr = server.http.expect("the started line names the HTTP address");

    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let user = until("alice served", || async {
            let reply = get(addr, &format!("/user/{ALICE}")).await;
            (reply.status == 200).then(|| reply.json())
        })
        .await;
        assert_eq!(user["github"]["username"], "alice");
        assert_eq!(user["github"]["url"], "https://github.com/alice");
        assert_eq!(user["github"]["blog"], serde_json::Value::Null);
        let lanyard = get(addr, &format!("/v1/users/{ALICE}")).await.json();
        assert_eq!(lanyard["data"]["github"]["id"], 1001);
        assert_eq!(lanyard["data"]["kv"], serde_json::json!({}));

        let mut ws = socket(addr, "/socket").await;
        assert_eq!(next_json(&mut ws).await["op"], 1);
        say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
        let init = next_json(&mut ws).await;
        assert_eq!(
            (init["t"].as_str(), init["d"]["github"]["bio"].as_str()),
            (Some("INIT_STATE"), Some("alice's bio"))
        );

        fake.put_user("alice", 1001, "pushed bio", 3);
        loop {
            let update = next_json(&mut ws).await; // panics after 10 s without a frame
            if update["t"] == "PRESENCE_UPDATE" && update["d"]["github"]["bio"] == "pushed bio" {
                break;
            }
        }
    });
    assert!(server.stop().success());
}
