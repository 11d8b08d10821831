//! `harmy migrate --from-lanyard` end to end: the real binary against a real
//! redis-server filled with both of Lanyard's layouts, on the database directly
//! and through a running server, with values at and past every limit, 10 000
//! users, dry runs, reruns, an interrupted run, and imported keys at work.

mod support;

use support::api::{ALICE, ALICE_ID, BOB, NO_LIMITS, serve_with, until};
use support::discord_gateway::{Guild, member, presence};
use support::http_client::{get, next_json, say, send, socket};
use support::redis::{RedisServer, api_key, json_kv, kv, last_seen};
use support::{Instance, stderr, stdout};

const KEY: &str = "lnyd_0123456789abcdef0123456789abcdef";
const CAROL: &str = "80351110224678912";
const DAVE: &str = "150000000000000000";

fn migrate(h: &Instance, redis: &RedisServer, extra: &[&str]) -> String {
    let mut args = vec!["migrate", "--from-lanyard"];
    let url = redis.url();
    args.push(&url);
    args.extend(extra);
    let out = h.cli(&args);
    assert!(out.status.success(), "migrate failed: {}\n{}", stderr(&out), stdout(&out));
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(!text.contains(KEY) && !err.contains(KEY), "an API key was printed");
    text
}

fn kv_of(h: &Instance, user: &str) -> serde_json::Value {
    let out = h.cli(&["kv", "get", user]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// Both layouts, with values at and past every default limit.
fn fill_edges(redis: &RedisServer) {
    let (key_at, key_over) = ("k".repeat(165), "k".repeat(166));
    let (value_at, value_over) = ("é".repeat(10_000), "x".repeat(10_001));
    let many: Vec<(String, String)> = (0..513).map(|i| (format!("key{i}"), "v".to_string())).collect();
    let big = "x".repeat(9_000);
    let heavy: Vec<(String, String)> = (0..30).map(|i| (format!("big{i}"), big.clone())).collect();
    redis.fill(|p| {
        kv(p, ALICE, &[(&key_at, "at"), (&key_over, "over"), ("at", &value_at), ("over", &value_over)]);
        kv(p, ALICE, &[("bad-key", "v"), ("emoji", "✨ über 🎵"), ("same", "both"), ("differs", "older")]);
        json_kv(p, ALICE, &[("same", r#""both""#), ("differs", r#""newer""#), ("quoted", r#""say \"hi\"\n""#)]);
        json_kv(p, ALICE, &[("n", "42"), ("obj", r#"{"a":[1,2]}"#), ("notjson", "{oops")]);
        api_key(p, ALICE, KEY);
        last_seen(p, ALICE, 1_700_000_000_000);
        for (k, v) in &many {
            p.hset(format!("lanyard_kv:{BOB}"), k, v).ignore();
        }
        for (k, v) in &heavy {
            p.hset(format!("lanyard:user_kv:{CAROL}"), k, format!("\"{v}\"")).ignore();
        }
        // A key Lanyard's own reverse index does not name the user, a time that is none.
        p.set(format!("user_api_key:{DAVE}"), "lnyd_ffffffffffffffffffffffffffffffff").ignore();
        p.set(format!("lanyard:user_last_seen:{DAVE}"), "yesterday").ignore();
        p.hset(format!("lanyard_kv:{DAVE}"), "ok", "fine").ignore();
        p.hset("lanyard_kv:not-a-user", "a", "b").ignore();
    });
}

#[test]
fn both_layouts_import_with_every_limit_at_and_past_its_edge_and_redis_is_left_as_it_was() {
    let redis = RedisServer::start();
    fill_edges(&redis);
    let before = redis.snapshot();
    let h = Instance::new("");
    let report = migrate(&h, &redis, &[]);
    assert_eq!(redis.snapshot(), before, "the import only reads");
    let alice = kv_of(&h, ALICE);
    assert_eq!(alice["k".repeat(165)], "at");
    assert_eq!(alice["at"], "é".repeat(10_000));
    assert_eq!(alice["emoji"], "✨ über 🎵");
    assert_eq!((alice["same"].clone(), alice["differs"].clone()), ("both".into(), "newer".into()));
    assert_eq!(alice["quoted"], "say \"hi\"\n");
    assert_eq!((alice["n"].clone(), alice["obj"].clone()), ("42".into(), r#"{"a":[1,2]}"#.into()));
    assert_eq!(alice["notjson"], "{oops", "text that is no JSON is kept as Lanyard shows it");
    for skipped in ["k".repeat(166), "over".into(), "bad-key".into()] {
        assert!(alice.get(&skipped).is_none(), "{skipped} was skipped, not truncated");
    }
    assert_eq!(alice.as_object().unwrap().len(), 9, "{alice}");
    assert_eq!(counts(&report, "KV pairs").0, 10, "alice's 9 and dave's 1");
    assert_eq!(kv_of(&h, BOB), serde_json::json!({}), "513 keys: skipped whole");
    assert_eq!(kv_of(&h, CAROL), serde_json::json!({}), "30 × 9 000 characters: over 262 144 bytes");
    assert_eq!(kv_of(&h, DAVE), serde_json::json!({"ok": "fine"}));
    let k64 = "k".repeat(64);
    for line in [
        format!("user {ALICE}: KV key `{k64}…` skipped: key is 166 characters long; the limit is 165"),
        format!("user {ALICE}: KV key `over` skipped: value is 10001 characters long; the limit is 10000"),
        format!("user {ALICE}: KV key `bad-key` skipped: invalid key"),
        format!("user {ALICE}: KV key `differs` skipped: lanyard_kv's value differs"),
        format!("user {BOB}: KV skipped (513 pairs): 513 keys; the limit is 512 per user"),
        format!("user {CAROL}: KV skipped (30 pairs): 270"),
        format!("user {DAVE}: API key skipped: api_key:<key> does not name this user"),
        format!("user {DAVE}: last seen skipped: not a time"),
        "Lanyard's Redis at".into(),
        "4 users".into(),
        "1 keys with a Lanyard prefix but no user id were left alone".into(),
        "KV pairs   imported 10, unchanged 0, skipped 547".into(),
        "API keys   imported 1, unchanged 0, skipped 1".into(),
        "last seen  imported 1, unchanged 0, skipped 1".into(),
    ] {
        assert!(report.contains(&line), "no {line:?} in\n{report}");
    }
    let export = stdout(&h.cli(&["user", "export", ALICE]));
    assert!(export.contains("1700000000000"), "{export}");
}

#[test]
fn a_dry_run_says_what_a_run_does_and_writes_nothing_and_a_second_run_changes_nothing() {
    let redis = RedisServer::start();
    fill_edges(&redis);
    let h = Instance::new("");
    let dry = migrate(&h, &redis, &["--dry-run"]);
    assert!(dry.ends_with("dry run: nothing was written"), "{dry}");
    assert_eq!(kv_of(&h, ALICE), serde_json::json!({}));
    let export: serde_json::Value = serde_json::from_str(&stdout(&h.cli(&["user", "export", ALICE]))).unwrap();
    assert_eq!(export["api_token"]["issued"], false);
    let run = migrate(&h, &redis, &[]);
    assert_eq!(dry.replace("would import", "imported").replace("\ndry run: nothing was written", ""), run);
    let again = migrate(&h, &redis, &[]);
    for line in [
        "KV pairs   imported 0, unchanged 10,",
        "API keys   imported 0, unchanged 1,",
        "last seen  imported 0, unchanged 1,",
    ] {
        assert!(again.contains(line), "no {line:?} in\n{again}");
    }
    // harmy's own value wins, unless --overwrite.
    assert!(h.cli(&["kv", "set", ALICE, "emoji", "harmy's"]).status.success());
    let kept = migrate(&h, &redis, &[]);
    assert!(kept.contains(&format!("user {ALICE}: KV key `emoji` skipped: harmy has another value")), "{kept}");
    assert_eq!(kv_of(&h, ALICE)["emoji"], "harmy's");
    migrate(&h, &redis, &["--overwrite"]);
    assert_eq!(kv_of(&h, ALICE)["emoji"], "✨ über 🎵");
}

#[test]
fn a_password_protected_redis_is_read_with_its_password_and_never_shows_it() {
    let redis = RedisServer::start_with(Some("s3cret-pass"));
    redis.fill(|p| kv(p, ALICE, &[("a", "1")]));
    let h = Instance::new("");
    let report = migrate(&h, &redis, &[]);
    assert_eq!(counts(&report, "KV pairs"), (1, 0, 0), "{report}");
    assert!(report.contains("redis://default:***@127.0.0.1") && !report.contains("s3cret"), "{report}");
    let wrong = redis.url().replace("s3cret-pass", "wrong-pass");
    let out = h.cli(&["migrate", "--from-lanyard", &wrong]);
    let err = stderr(&out);
    assert!(!out.status.success() && !err.contains("wrong-pass") && !err.contains("panicked"), "{err}");
    assert!(err.contains("Lanyard's Redis at redis://default:***@"), "{err}");
    // The URL from standard input stays out of the process list.
    let out = h.cli_with_stdin(&["migrate", "--from-lanyard", "-"], &format!("{}\n", redis.url()));
    assert!(out.status.success() && stdout(&out).contains("unchanged 1"), "{}", stderr(&out));
}

#[test]
fn rediss_is_read_over_tls_verified_against_the_trusted_certificates() {
    let redis = RedisServer::start_tls("tls-pass");
    redis.fill(|p| kv(p, ALICE, &[("over", "tls")]));
    let h = Instance::new("");
    let url = redis.url();
    // Not trusted: the test CA is in no system store.
    let out = h.cli(&["migrate", "--from-lanyard", &url]);
    let err = stderr(&out);
    assert!(!out.status.success() && err.contains("certificate") && !err.contains("tls-pass"), "{err}");
    assert_eq!(kv_of(&h, ALICE), serde_json::json!({}));
    // Trusted through SSL_CERT_FILE, as an operator with a private CA would.
    let out = h
        .command(&["migrate", "--from-lanyard", &url])
        .env("SSL_CERT_FILE", support::redis::tls_ca())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("rediss://default:***@localhost"), "{}", stdout(&out));
    assert_eq!(kv_of(&h, ALICE), serde_json::json!({"over": "tls"}));
}

/// Runs `migrate --from-lanyard` and returns its report and its peak RSS in KiB.
// Reaped by wait4, which (unlike `Child::wait`) also hands over the peak RSS.
#[allow(clippy::zombie_processes)]
fn migrate_measured(h: &Instance, redis: &RedisServer) -> (String, u64) {
    let url = redis.url();
    let mut child = h
        .command(&["migrate", "--from-lanyard", &url])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
        text
    });
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    // SAFETY: waits for our own child, writing into the two values given.
    let waited = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert!(waited > 0 && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "migrate failed: {status}");
    (reader.join().unwrap(), usage.ru_maxrss as u64)
}

#[test]
fn a_hostile_redis_with_huge_values_and_hashes_costs_the_import_no_memory_for_them() {
    let h = Instance::new("");
    let redis = RedisServer::start();
    let users: Vec<String> = (0..4).map(|n| (200_000_000_000_000_000u64 + n).to_string()).collect();
    // 48 MiB values, made inside Redis: this process (whose peak a child's is counted from) stays small.
    let huge = |command: &str, key: String, field: Option<&str>| {
        let script = match field {
            Some(_) => format!("return redis.call('{command}', KEYS[1], ARGV[1], string.rep('x', 50331648))"),
            None => format!("return redis.call('{command}', KEYS[1], string.rep('x', 50331648))"),
        };
        let mut call = redis::cmd("EVAL");
        call.arg(script).arg(1).arg(key);
        if let Some(field) = field {
            call.arg(field);
        }
        call.query::<redis::Value>(&mut redis.conn()).unwrap();
    };
    huge("HSET", format!("lanyard_kv:{}", users[0]), Some("big"));
    huge("SET", format!("user_api_key:{}", users[1]), None);
    huge("SET", format!("lanyard:user_last_seen:{}", users[1]), None);
    huge("HSET", format!("lanyard:user_kv:{}", users[2]), Some("big"));
    redis.fill(|p| {
        for chunk in 0..10 {
            let fields: Vec<(String, &str)> = (0..10_000).map(|i| (format!("f{chunk}_{i}"), "v")).collect();
            p.hset_multiple(format!("lanyard_kv:{}", users[3]), &fields).ignore();
        }
    });
    let (report, peak) = migrate_measured(&h, &redis);
    for line in [
        format!("user {}: KV skipped (1 pairs): the hash has 1 fields and", users[0]),
        format!("user {}: API key skipped: not a Lanyard key", users[1]),
        format!("user {}: last seen skipped: not a time", users[1]),
        format!("user {}: KV skipped (1 pairs): the hash has 1 fields and", users[2]),
        format!("user {}: KV skipped (100000 pairs): 100000 keys; the limit is 512 per user", users[3]),
    ] {
        assert!(report.contains(&line), "no {line:?} in\n{report}");
    }
    // Measured after: a child's peak counts from this process's, which only grows.
    let small = RedisServer::start();
    small.fill(|p| kv(p, ALICE, &[("a", "1")]));
    let (_, baseline) = migrate_measured(&h, &small);
    // Reading one of those 48 MiB values would have cost at least that much.
    assert!(peak < baseline + 24 * 1024, "peak RSS {peak} KiB, {baseline} KiB for a one-pair import");
}

/// 10 000 users × 10 keys (even users in the older layout, odd ones in the JSON
/// layout) and a last seen each.
fn fill_many(redis: &RedisServer) {
    for part in 0..10u64 {
        redis.fill(|p| {
            for n in part * 1_000..(part + 1) * 1_000 {
                let user = (100_000_000_000_000_000 + n).to_string();
                let values: Vec<(String, String)> =
                    (0..10).map(|k| (format!("key{k}"), format!("value {k} of {n}: ünïcödé"))).collect();
                for (key, value) in &values {
                    if n % 2 == 0 {
                        p.hset(format!("lanyard_kv:{user}"), key, value).ignore();
                    } else {
                        p.hset(format!("lanyard:user_kv:{user}"), key, serde_json::to_string(value).unwrap()).ignore();
                    }
                }
                last_seen(p, &user, 1_600_000_000_000 + n);
            }
        });
    }
}

#[test]
fn ten_thousand_users_an_interrupted_run_leaves_whole_batches_and_a_rerun_completes_it() {
    let redis = RedisServer::start();
    fill_many(&redis);
    let h = Instance::new("");
    let url = redis.url();
    // On a terminal the import shows its progress; stop it hard once some batches are in.
    let mut cmd = h.command(&["migrate", "--from-lanyard", &url]);
    let (mut child, progress) = support::pty::spawn_with_stderr_on_a_terminal(&mut cmd);
    let seen = progress.wait_for(|text| text.contains("importing from Lanyard: ") && text.contains(" of 10000 users"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(seen.contains('\r'), "the progress line is rewritten in place: {seen:?}");
    // Batches of 256 users with 10 pairs each: whole batches, or none.
    let resumed = migrate(&h, &redis, &[]);
    let (imported, unchanged, skipped) = counts(&resumed, "KV pairs");
    assert!(unchanged > 0 && unchanged % 2_560 == 0, "interrupted after whole batches: {resumed}");
    assert_eq!((imported + unchanged, skipped), (100_000, 0), "{resumed}");
    assert!(resumed.contains("10000 users"), "{resumed}");
    let done = migrate(&h, &redis, &[]);
    assert!(done.contains("KV pairs   imported 0, unchanged 100000, skipped 0"), "{done}");
    assert!(done.contains("last seen  imported 0, unchanged 10000, skipped 0"), "{done}");
    let last = kv_of(&h, "100000000000009999");
    assert_eq!(last["key9"], "value 9 of 9999: ünïcödé");
}

/// Imported, unchanged and skipped of one kind's summary line (`KV pairs   imported A, unchanged B, skipped C`).
fn counts(report: &str, kind: &str) -> (usize, usize, usize) {
    let line = report.lines().find(|l| l.starts_with(kind)).unwrap_or_else(|| panic!("no {kind:?} in {report}"));
    let numbers: Vec<usize> =
        line.split(|c: char| !c.is_ascii_digit()).filter(|n| !n.is_empty()).map(|n| n.parse().unwrap()).collect();
    (numbers[0], numbers[1], numbers[2])
}

#[tokio::test]
async fn an_import_while_serving_is_pushed_at_once_and_imported_keys_write_kv_until_rotated() {
    let redis = RedisServer::start();
    redis.fill(|p| {
        kv(p, ALICE, &[("site", "https://vaq.example")]);
        json_kv(p, ALICE, &[("mood", r#""sunny""#)]);
        api_key(p, ALICE, KEY);
        last_seen(p, ALICE, 1_700_000_000_000);
    });
    let guild = Guild::new(1).member(member(ALICE_ID, "vaq"), Some(presence(ALICE_ID, "offline")));
    let served = tokio::task::spawn_blocking(move || serve_with(NO_LIMITS, guild)).await.unwrap();
    let addr = served.addr;
    until("alice served", || async { Some(get(addr, &format!("/user/{ALICE}")).await).filter(|r| r.status == 200) })
        .await;
    let mut ws = socket(addr, "/socket").await;
    assert_eq!(next_json(&mut ws).await["op"], 1);
    say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
    let init = next_json(&mut ws).await;
    assert_eq!((init["t"].clone(), init["d"]["kv"].clone()), ("INIT_STATE".into(), serde_json::json!({})));

    let url = redis.url();
    let mut cmd = served.instance.command(&["migrate", "--from-lanyard", &url]);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("into the running harmy (admin socket"), "{}", stdout(&out));

    let pushed = next_json(&mut ws).await;
    assert_eq!(pushed["t"], "PRESENCE_UPDATE");
    assert_eq!(pushed["d"]["kv"], serde_json::json!({"mood": "sunny", "site": "https://vaq.example"}));
    let native = get(addr, &format!("/user/{ALICE}")).await.json();
    assert_eq!(native["presence"]["lastSeen"], 1_700_000_000_000u64, "offline: the imported time");
    assert_eq!(get(addr, &format!("/v1/users/{ALICE}")).await.json()["data"]["last_seen"], 1_700_000_000_000u64);

    // The Lanyard key writes KV on every route of both shapes, raw or as a bearer token.
    let bearer = format!("Bearer {KEY}");
    for (n, (route, auth)) in [
        (format!("/user/{ALICE}/kv/a"), KEY),
        ("/user/@me/kv/b".to_string(), bearer.as_str()),
        (format!("/v1/users/{ALICE}/kv/c"), KEY),
        ("/v1/users/@me/kv/d".to_string(), bearer.as_str()),
    ]
    .iter()
    .enumerate()
    {
        let reply = send(addr, "PUT", route, &[("authorization", auth)], format!("v{n}")).await;
        assert_eq!(reply.status, 204, "{route}: {}", reply.text());
    }
    let all = send(addr, "GET", "/user/@me/kv", &[("authorization", KEY)], "").await.json();
    assert_eq!((all["a"].clone(), all["d"].clone()), ("v0".into(), "v3".into()), "{all}");
    let wrong = "lnyd_ffffffffffffffffffffffffffffffff";
    for (route, auth) in [(format!("/user/{ALICE}/kv/x"), wrong), (format!("/user/{BOB}/kv/x"), KEY)] {
        let reply = send(addr, "PUT", &route, &[("authorization", auth)], "v").await;
        assert_eq!(reply.status, 401, "{route}");
    }
    // `harmy token rotate` replaces the key: the old one stops working at once.
    let h = &served.instance;
    let rotate = h.command(&["token", "rotate", ALICE]).output().unwrap();
    let token = stdout(&rotate);
    assert!(token.starts_with("harmy_"), "{token}");
    let old = send(addr, "PUT", &format!("/user/{ALICE}/kv/e"), &[("authorization", KEY)], "v").await;
    assert_eq!(old.status, 401, "the rotated lnyd_ key");
    let new = send(addr, "PUT", &format!("/user/{ALICE}/kv/e"), &[("authorization", &token)], "v").await;
    assert_eq!(new.status, 204);
    drop(served);
}
