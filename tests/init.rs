//! First run end to end: `harmy init` without questions against the fake Discord
//! REST API writes an owner-only config that `harmy serve` then runs with, and
//! refuses a bad token with `harmy bot check`'s message, writing nothing; a user
//! other than root gets the database under their XDG state directory; asked on a
//! terminal, a Ctrl-C at the hidden token question leaves the echo on.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::discord_gateway::{FakeGateway, Guild, member, presence};
use support::discord_rest::{APP_ID, DiscordRest, TOKEN};
use support::{Server, stderr, stdout};

/// `harmy ARGS` with a clean environment: only PATH, HOME (as given) and HARMY_LOG.
fn harmy(args: &[&str], home: &Path) -> Command {
    let mut cmd = clean(Command::new(support::harmy_bin()), home);
    cmd.args(args);
    cmd
}

/// `cmd` in `home` with only PATH, HOME and HARMY_LOG set.
fn clean(mut cmd: Command, home: &Path) -> Command {
    cmd.current_dir(home).stdin(Stdio::null()).env_clear();
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("HOME", home).env("HARMY_LOG", "info");
    cmd
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run harmy");
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    out
}

/// `harmy init` without questions in `dir`: the token from a file, `guild`, the
/// config and database at these paths under `dir`, Discord's REST API at `rest`,
/// and any further `--set KEY=VALUE`.
fn init(dir: &Path, rest: &DiscordRest, token: &str, guild: &str, paths: (&str, &str), sets: &[String]) -> Init {
    let token_file = dir.join("token");
    std::fs::write(&token_file, token).unwrap();
    let (config, database) = (dir.join(paths.0), dir.join(paths.1));
    let api_url = format!("discord.api_url={}", rest.url());
    let mut args = vec![
        "init",
        "--token-file",
        token_file.to_str().unwrap(),
        "--guild",
        guild,
        "--config",
        config.to_str().unwrap(),
        "--database",
        database.to_str().unwrap(),
        "--set",
        &api_url,
    ];
    for set in sets {
        args.extend(["--set", set]);
    }
    let out = run(&mut harmy(&args, dir));
    Init { out, token_file, config, database }
}

/// What `init` ran and the paths it was given.
struct Init {
    out: Output,
    token_file: PathBuf,
    config: PathBuf,
    database: PathBuf,
}

#[test]
fn init_without_questions_writes_a_private_config_that_serve_runs_with() {
    let rest = DiscordRest::start();
    let gw = FakeGateway::with_token(TOKEN);
    gw.set_guild(Guild::new(1).member(member(2, "alice"), Some(presence(2, "online"))));
    let dir = tempfile::tempdir().unwrap();
    let sets = [
        format!("discord.gateway_url={}", gw.url()),
        "github.api_url=http://127.0.0.1:9".into(),
        "http.listen=127.0.0.1:0".into(),
        "metrics.listen=127.0.0.1:0".into(),
    ];
    let Init { out, config, database, .. } =
        init(dir.path(), &rest, &format!("{TOKEN}\n"), "1", ("conf/harmy.toml", "state/harmy.redb"), &sets);
    assert!(out.status.success(), "init failed: {}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    for line in ["pass token: valid", "pass presence intent: enabled", "pass guild 1: the bot is a member"] {
        assert!(text.contains(line), "{line:?} in:\n{text}");
    }
    assert!(text.contains(&format!("client_id={APP_ID}&scope=bot+applications.commands")), "{text}");
    assert!(text.contains(&format!("Next: harmy serve --config {}", config.display())), "{text}");
    assert!(!text.contains(TOKEN) && !stderr(&out).contains(TOKEN), "the token is not echoed");

    // The config: owner-only, commented, with the token and guild; the database is there.
    assert_eq!(mode(&config), 0o600);
    assert_eq!(mode(config.parent().unwrap()), 0o700);
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(written.contains(&format!("token = \"{TOKEN}\"")) && written.contains("guild_ids = [\"1\"]"), "{written}");
    assert!(written.contains("# Prefix of the message commands."), "the example's comments are kept");
    assert_eq!(mode(&database), 0o600);
    assert!(text.contains(&format!("create database {}", database.display())), "{text}");

    // `harmy serve` runs with it as it is: no flag, no environment.
    let server = Server::start(harmy(&["serve", "--config", config.to_str().unwrap()], dir.path()));
    gw.wait_for_identifies(1);
    let addr = server.http.unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let health = runtime.block_on(support::api::until("the gateway up", || async {
        let reply = support::http_client::get(addr, "/health").await;
        (reply.status == 200).then_some(reply.json())
    }));
    assert_eq!(health["gateway"], "up");
    // The session is up at READY; the guild and its members come in the GUILD_CREATE after it.
    let alice = runtime.block_on(support::api::until("alice served", || async {
        Some(support::http_client::get(addr, "/user/2").await).filter(|reply| reply.status == 200)
    }));
    assert_eq!(alice.json()["presence"]["userId"], "2");
    assert!(server.stop().success());
}

#[test]
fn init_writes_the_config_when_only_discords_side_needs_fixing() {
    // Intents off and the bot not yet invited: the config is right, the fixes are on Discord.
    let rest = DiscordRest::start();
    rest.set(|b| {
        b.flags = 0;
        b.guilds = vec![];
    });
    let dir = tempfile::tempdir().unwrap();
    let Init { out, config, database, .. } = init(dir.path(), &rest, TOKEN, "5", ("harmy.toml", "harmy.redb"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("FAIL presence intent: off; turn on Developer Portal"), "{text}");
    assert!(text.contains("FAIL guild 5: the bot is not a member"), "{text}");
    assert!(text.contains(&format!("check again: harmy bot check --config {}", config.display())), "{text}");
    assert_eq!(mode(&config), 0o600);
    assert!(database.exists());
}

#[test]
fn init_with_a_bad_token_fails_with_the_bot_check_message_and_writes_nothing() {
    let rest = DiscordRest::start();
    let dir = tempfile::tempdir().unwrap();
    let Init { out, token_file, config, database } =
        init(dir.path(), &rest, "MTAw.not.the-token", "1", ("harmy.toml", "harmy.redb"), &[]);
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("FAIL token: the token is wrong (Discord answered 401 Unauthorized)"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("nothing was written"), "{}", stderr(&out));
    assert!(!config.exists() && !database.exists());

    // A guild id that is not one is refused before anything is asked of Discord.
    let requests = rest.requests().len();
    let out = run(&mut harmy(
        &[
            "init",
            "--token-file",
            token_file.to_str().unwrap(),
            "--guild",
            "my-server",
            "--config",
            config.to_str().unwrap(),
        ],
        dir.path(),
    ));
    assert!(!out.status.success() && stderr(&out).contains("`my-server` is not a Discord id"), "{}", stderr(&out));
    assert_eq!(rest.requests().len(), requests);
    assert!(!config.exists());
}

#[test]
fn init_never_overwrites_a_config_and_without_a_terminal_names_the_missing_flag() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("harmy.toml");
    std::fs::write(&config, "# mine\n").unwrap();
    let out = run(&mut harmy(&["init", "--guild", "1", "--config", config.to_str().unwrap()], dir.path()));
    assert!(!out.status.success() && stderr(&out).contains("never overwrites"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "# mine\n");

    // No --token-file and no terminal (setsid: no controlling terminal at all).
    let other = dir.path().join("other.toml");
    let mut cmd = clean(Command::new("setsid"), dir.path());
    cmd.args(["-w", support::harmy_bin(), "init", "--guild", "1", "--config", other.to_str().unwrap()]);
    let out = run(&mut cmd);
    assert!(!out.status.success() && stderr(&out).contains("pass --token-file"), "{}", stderr(&out));
    assert!(!other.exists());
}

/// The command prefix that runs as an unprivileged user (tests run as root in CI):
/// util-linux's `setpriv`, part of every Debian system; its absence fails the test.
fn unprivileged() -> Vec<String> {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc_geteuid() } == 0;
    if !root {
        return vec![]; // already not root: run as we are
    }
    let setpriv = Command::new("setpriv").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(setpriv, "running as root, and no setpriv to drop privileges with (util-linux)");
    ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"].map(String::from).to_vec()
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

#[test]
fn a_user_without_root_gets_the_database_and_config_under_the_xdg_dirs() {
    let prefix = unprivileged();
    let rest = DiscordRest::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = dir.path().join("home");
    let state = dir.path().join("state");
    let config_home = dir.path().join("config");
    for d in [&home, &state, &config_home] {
        std::fs::create_dir(d).unwrap();
        if !prefix.is_empty() {
            std::os::unix::fs::chown(d, Some(65534), Some(65534)).unwrap();
        }
    }
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, TOKEN).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let as_user = |args: &[&str]| -> Output {
        let mut argv: Vec<&str> = prefix.iter().map(String::as_str).collect();
        argv.push(support::harmy_bin());
        argv.extend(args);
        let mut cmd = clean(Command::new(argv[0]), &home);
        cmd.args(&argv[1..]).env("XDG_STATE_HOME", &state).env("XDG_CONFIG_HOME", &config_home);
        run(&mut cmd)
    };

    // migrate with no config and no path: the XDG state dir, private.
    let out = as_user(&["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let database: PathBuf = state.join("harmy/harmy.redb");
    assert!(stdout(&out).contains(&format!("create database {}", database.display())), "{}", stdout(&out));
    assert_eq!(mode(&database), 0o600);
    assert_eq!(mode(database.parent().unwrap()), 0o700);
    if !prefix.is_empty() {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&database).unwrap().uid(), 65534, "created by the unprivileged user");
    }

    // The CLI finds the same database with no server running (the socket would be beside it).
    assert!(as_user(&["kv", "set", "470320681905684500", "k", "v"]).status.success());
    assert_eq!(stdout(&as_user(&["kv", "get", "470320681905684500", "k"])), "v");

    // init writes the user's own config, found afterwards without --config.
    let api_url = format!("discord.api_url={}", rest.url());
    let out = as_user(&["init", "--token-file", token_file.to_str().unwrap(), "--guild", "1", "--set", &api_url]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let config = config_home.join("harmy/config.toml");
    assert_eq!(mode(&config), 0o600);
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(written.contains(&format!("path = \"{}\"", database.display())), "{written}");
    assert!(written.contains(&format!("socket = \"{}\"", state.join("harmy/admin.sock").display())), "{written}");
    assert!(
        stdout(&out).lines().any(|l| l == "Next: harmy serve"),
        "the default config needs no --config: {}",
        stdout(&out)
    );
    assert!(
        as_user(&["bot", "check"]).status.success(),
        "the user's config is found: bot check passes against the fake"
    );
}

#[test]
fn ctrl_c_at_the_hidden_token_question_exits_130_with_the_echo_back_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("harmy.toml");
    let mut cmd = harmy(&["init", "--config", config.to_str().unwrap()], dir.path());
    let (mut child, screen, mut keyboard) = support::pty::spawn_on_a_terminal(&mut cmd);
    screen.wait_for(|text| text.contains("Bot token"));
    // The question is written before the echo goes off: wait for that too.
    keyboard.wait_for_echo(false);
    keyboard.type_in(b"secret-so-far\x03");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert!(keyboard.echoes(), "the terminal echoes again");
    assert!(!screen.wait_for(|_| true).contains("secret-so-far"), "what was typed was not shown");
    assert!(!config.exists());
}
