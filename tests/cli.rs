//! The operator CLI end to end: the real binary on a temporary database, with and
//! without a running `harmy serve`.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use support::{Instance, stderr, stdout};

const USER: &str = "470320681905684500";

fn ok(out: std::process::Output) -> String {
    assert!(out.status.success(), "failed: {}", stderr(&out));
    stdout(&out)
}

fn fails(out: std::process::Output) -> String {
    assert!(!out.status.success(), "unexpectedly succeeded: {}", stdout(&out));
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "a panic reached the operator: {err}");
    err
}

#[test]
fn kv_set_get_del_list_round_trip() {
    let h = Instance::new("");
    ok(h.cli(&["kv", "set", USER, "color", "blue"]));
    ok(h.cli(&["kv", "set", USER, "song", "BMW — Pashanim"]));
    assert_eq!(ok(h.cli(&["kv", "get", USER, "color"])), "blue");
    assert_eq!(ok(h.cli(&["kv", "list", USER])), "color\nsong");
    let all: serde_json::Value = serde_json::from_str(&ok(h.cli(&["kv", "get", USER]))).unwrap();
    assert_eq!(all, serde_json::json!({"color": "blue", "song": "BMW — Pashanim"}));
    assert_eq!(ok(h.cli(&["kv", "del", USER, "color"])), "deleted color");
    assert_eq!(ok(h.cli(&["kv", "del", USER, "color"])), "color was not set");
    let err = fails(h.cli(&["kv", "get", USER, "color"]));
    assert!(err.contains("`color` is not set"), "{err}");
    assert_eq!(ok(h.cli(&["kv", "list", USER])), "song");
}

#[test]
fn kv_set_dash_reads_the_value_from_stdin() {
    let h = Instance::new("");
    ok(h.cli_with_stdin(&["kv", "set", USER, "bio", "-"], "line one\nline two\n"));
    assert_eq!(ok(h.cli(&["kv", "get", USER, "bio"])), "line one\nline two");
}

#[test]
fn key_length_limit_at_the_boundary() {
    let h = Instance::new("");
    ok(h.cli(&["kv", "set", USER, &"k".repeat(165), "v"]));
    let err = fails(h.cli(&["kv", "set", USER, &"k".repeat(166), "v"]));
    assert!(err.contains("166") && err.contains("165"), "{err}");
    assert_eq!(ok(h.cli(&["kv", "list", USER])), "k".repeat(165));
}

#[test]
fn value_length_limit_at_the_boundary_counts_characters() {
    let h = Instance::new("");
    ok(h.cli(&["kv", "set", USER, "v", &"é".repeat(10_000)]));
    let err = fails(h.cli(&["kv", "set", USER, "v", &"x".repeat(10_001)]));
    assert!(err.contains("10001") && err.contains("10000"), "{err}");
    assert_eq!(ok(h.cli(&["kv", "get", USER, "v"])), "é".repeat(10_000), "the refused write changed nothing");
}

#[test]
fn key_count_limit_at_the_boundary() {
    let h = Instance::new("");
    let server = h.serve();
    // 512 keys through the running server, four writers at once.
    std::thread::scope(|s| {
        for part in 0..4 {
            let h = &h;
            s.spawn(move || {
                for i in (part * 128)..((part + 1) * 128) {
                    ok(h.cli(&["kv", "set", USER, &format!("key{i}"), "v"]));
                }
            });
        }
    });
    assert_eq!(ok(h.cli(&["kv", "list", USER])).lines().count(), 512);
    let err = fails(h.cli(&["kv", "set", USER, "key512", "v"]));
    assert!(err.contains("too many keys") && err.contains("512"), "{err}");
    ok(h.cli(&["kv", "set", USER, "key0", "overwriting is fine"]));
    assert_eq!(ok(h.cli(&["kv", "list", USER])).lines().count(), 512);
    assert!(server.stop().success());
}

#[test]
fn kv_limits_are_configurable() {
    let h = Instance::new("[kv]\nmax_keys = 1\nmax_key_length = 3\nmax_value_length = 2\n");
    fails(h.cli(&["kv", "set", USER, "long", "v"]));
    fails(h.cli(&["kv", "set", USER, "k", "vvv"]));
    ok(h.cli(&["kv", "set", USER, "k", "vv"]));
    fails(h.cli(&["kv", "set", USER, "j", "v"]));
}

#[test]
fn invalid_input_gets_one_readable_line() {
    let h = Instance::new("");
    for (args, needle) in [
        (vec!["kv", "set", "not-a-snowflake", "k", "v"], "is not a Discord user id"),
        (vec!["kv", "set", "0", "k", "v"], "is not a Discord user id"),
        (vec!["kv", "set", USER, "bad key", "v"], "invalid key"),
        (vec!["token", "rotate", "-5"], "error"),
    ] {
        let err = fails(h.cli(&args));
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn a_missing_database_says_to_migrate() {
    let h = Instance::unmigrated("");
    let err = fails(h.cli(&["kv", "list", USER]));
    assert!(err.contains("does not exist") && err.contains("harmy migrate"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let err = fails(h.cli(&["serve"]));
    assert!(err.contains("harmy migrate"), "{err}");
}

#[test]
fn migrate_twice_is_a_no_op_and_dry_run_changes_nothing() {
    let h = Instance::unmigrated("");
    let dry = ok(h.cli(&["migrate", "--dry-run"]));
    assert!(dry.contains("would create database"), "{dry}");
    assert!(!h.db_path().exists());
    let first = ok(h.cli(&["migrate"]));
    assert!(first.contains("schema 1"), "{first}");
    ok(h.cli(&["kv", "set", USER, "kept", "yes"]));
    assert!(ok(h.cli(&["migrate"])).contains("up to date"));
    assert!(ok(h.cli(&["migrate", "--dry-run"])).contains("up to date"));
    assert_eq!(ok(h.cli(&["kv", "get", USER, "kept"])), "yes");
}

#[test]
fn a_database_from_a_newer_harmy_is_refused_untouched() {
    let h = Instance::new("");
    harmy::store::Store::force_schema_version(&h.db_path(), 99).unwrap();
    for args in [vec!["kv", "list", USER], vec!["migrate"], vec!["serve"]] {
        let err = fails(h.cli(&args));
        assert!(err.contains("newer than this harmy"), "{args:?}: {err}");
    }
}

#[test]
fn serve_refuses_to_start_without_a_bot_token() {
    let h = Instance::new("[discord]\ngateway_url = \"ws://127.0.0.1:9\"\n");
    let err = fails(h.cli(&["serve"]));
    assert!(err.contains("discord.token is not set"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn serve_refuses_an_old_schema() {
    let h = Instance::new("");
    harmy::store::Store::force_schema_version(&h.db_path(), 0).unwrap();
    let err = fails(h.cli(&["serve"]));
    assert!(err.contains("run `harmy migrate`"), "{err}");
}

#[test]
fn a_cli_write_while_serve_runs_goes_through_the_admin_socket() {
    let h = Instance::new("");
    let server = h.serve();
    let mode = std::fs::metadata(h.socket_path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "admin socket is owner-only");
    ok(h.cli(&["kv", "set", USER, "via", "socket"]));
    server.wait_for_log("op=\"kv_set\"");
    assert_eq!(ok(h.cli(&["kv", "get", USER, "via"])), "socket");
    assert!(server.stop().success());
    assert!(!h.socket_path().exists(), "the socket is removed on shutdown");
    // And the same output once the server is gone (the database path).
    assert_eq!(ok(h.cli(&["kv", "get", USER, "via"])), "socket");
}

#[test]
fn same_output_with_and_without_a_server() {
    let h = Instance::new("");
    let commands: Vec<Vec<&str>> = vec![
        vec!["kv", "set", USER, "a", "1"],
        vec!["kv", "get", USER, "a"],
        vec!["kv", "get", USER],
        vec!["kv", "list", USER],
        vec!["kv", "del", USER, "a"],
        vec!["kv", "del", USER, "a"],
        vec!["token", "revoke", USER],
    ];
    let run_all = |h: &Instance| -> Vec<(bool, String, String)> {
        commands
            .iter()
            .map(|args| {
                let out = h.cli(args);
                (out.status.success(), stdout(&out), stderr(&out).lines().filter(|l| l.starts_with("harmy:")).collect())
            })
            .collect()
    };
    let local = run_all(&h);
    let server = h.serve();
    let remote = run_all(&h);
    assert_eq!(local, remote);
    let err_local = stderr(&h.cli(&["kv", "get", USER, "nope"]));
    drop(server);
    let err_remote_line = err_local.lines().find(|l| l.starts_with("harmy:")).unwrap().to_string();
    let err_now = stderr(&h.cli(&["kv", "get", USER, "nope"]));
    assert!(err_now.contains(&err_remote_line), "{err_now} vs {err_remote_line}");
}

#[test]
fn locked_database_without_a_socket_says_so() {
    let h = Instance::new("");
    let _server = h.serve();
    let other_socket = h.dir.path().join("other.sock");
    let out = h.cli(&["kv", "list", USER, "--admin-socket", other_socket.to_str().unwrap()]);
    let err = fails(out);
    assert!(err.contains("locked by another process") && err.contains("other.sock"), "{err}");
}

#[test]
fn serve_warns_when_the_open_file_limit_cannot_hold_the_connection_caps() {
    let h = Instance::new("[http]\nlisten = \"127.0.0.1:0\"\nmax_connections = 100000000\n");
    let server = h.serve();
    server.wait_for_log("the open-file limit is");
    assert!(server.log_text().contains("raise it (LimitNOFILE="), "{}", server.log_text());
}

#[test]
fn a_committed_write_survives_kill_9() {
    let h = Instance::new("");
    let server = h.serve();
    ok(h.cli(&["kv", "set", USER, "durable", "yes"]));
    let token = ok(h.cli(&["token", "rotate", USER]));
    server.signal("KILL");
    drop(server);
    assert_eq!(ok(h.cli(&["kv", "get", USER, "durable"])), "yes");
    // The token row survived too: revoking finds it.
    assert!(token.starts_with("harmy_"));
    assert_eq!(ok(h.cli(&["token", "revoke", USER])), format!("revoked the API token of {USER}"));
}

#[test]
fn a_kv_write_is_on_disk_when_it_is_answered() {
    // The last write before the kill, with no later commit to carry it to disk: writes
    // share durable commits (store::group), and none may be answered before its own.
    let h = Instance::new("");
    let server = h.serve();
    ok(h.cli(&["kv", "set", USER, "last", "words"]));
    server.signal("KILL");
    drop(server);
    assert_eq!(ok(h.cli(&["kv", "get", USER, "last"])), "words");
}

#[test]
fn token_rotate_prints_a_fresh_token_once_and_stores_only_a_hash() {
    let h = Instance::new("");
    let first = ok(h.cli(&["token", "rotate", USER]));
    let second = ok(h.cli(&["token", "rotate", USER]));
    assert_ne!(first, second);
    for token in [&first, &second] {
        assert!(harmy::app::tokens::parse(token).is_some(), "{token}");
    }
    let db = std::fs::read(h.db_path()).unwrap();
    let secret = second.rsplit('_').next().unwrap();
    assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()), "the secret is not in the file");
    assert_eq!(ok(h.cli(&["token", "revoke", USER])), format!("revoked the API token of {USER}"));
    assert_eq!(ok(h.cli(&["token", "revoke", USER])), format!("{USER} had no API token"));
}

#[test]
fn unknown_config_keys_and_bad_files_are_one_line() {
    let h = Instance::unmigrated("[http]\nlisen = \"x\"\n");
    let err = fails(h.cli(&["kv", "list", USER]));
    assert!(err.contains("config.toml:") && err.contains("lisen"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = std::process::Command::new(support::harmy_bin())
        .args(["kv", "list", USER, "--config", "/nonexistent.toml"])
        .output()
        .unwrap();
    let err = fails(out);
    assert!(err.contains("/nonexistent.toml: not found"), "{err}");
}

#[test]
fn config_check_prints_what_the_config_comes_to_and_refuses_a_bad_file() {
    let h = Instance::unmigrated("");
    let out = ok(h.cli(&["config", "check"]));
    assert!(out.contains(&format!("config file: {}", h.config_path().display())), "{out}");
    assert!(out.contains(&format!("database: {}", h.db_path().display())), "{out}");
    assert!(out.contains("discord token: set") && out.ends_with("ok"), "{out}");
    assert!(!h.db_path().exists(), "config check opens no database");
    let out = ok(h.command(&["config", "check"]).env("HARMY_HTTP_LISTEN", "0.0.0.0:4009").output().unwrap());
    assert!(out.contains("http: 0.0.0.0:4009"), "the environment applies: {out}");

    let bad = Instance::unmigrated("[kv]\nmax_keyz = 3\n");
    let err = fails(bad.cli(&["config", "check"]));
    assert!(err.contains("config.toml:") && err.contains("max_keyz"), "{err}");
}

/// `harmy health` as a container's HEALTHCHECK runs it: exit 0 on a 200, 1 (never 2,
/// which container engines reserve) on anything else.
#[test]
fn health_exits_0_on_200_and_1_on_503_or_no_answer() {
    let mut demo = Command::new(support::harmy_bin());
    demo.args(["serve", "--demo", "--listen", "127.0.0.1:0"]).env("HARMY_LOG", "info");
    let demo = support::Server::start(demo);
    let url = format!("http://{}/health", demo.http.unwrap());
    let healthy = support::eventually("the demo's gateway up", || {
        let out = Command::new(support::harmy_bin()).args(["health", "--url", &url]).output().unwrap();
        out.status.success().then_some(out)
    });
    assert!(stdout(&healthy).contains(r#""gateway":"demo""#), "{}", stdout(&healthy));
    assert!(demo.stop().success(), "SIGTERM lets the demo remove its directory");

    // The address from the configuration (here the environment, as in the image), a
    // wildcard asked on loopback; this server's gateway is unreachable: 503.
    let h = Instance::new("");
    let server = h.serve();
    let port = server.http.unwrap().port();
    let listen = format!("0.0.0.0:{port}");
    let out = h.command(&["health"]).env("HARMY_HTTP_LISTEN", &listen).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("answered 503"), "{}", stderr(&out));

    drop(server);
    let out = h.command(&["health"]).env("HARMY_HTTP_LISTEN", &listen).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("http://127.0.0.1:{port}/health")), "{}", stderr(&out));
}

#[test]
fn serve_migrate_creates_the_database_then_serves() {
    let h = Instance::unmigrated("");
    let server = support::Server::start(h.command(&["serve", "--migrate"]));
    assert!(server.log_text().contains("create database"), "{}", server.log_text());
    assert!(server.stop().success());
    // Once more on the database it made: nothing to do, and it serves again.
    let server = support::Server::start(h.command(&["serve", "--migrate"]));
    assert!(server.stop().success());
}
