use std::io::Write;

use super::*;

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

fn load_with(file_text: Option<&str>, env: &[(&str, &str)], flags: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let f = file_text.map(file);
    load(&Sources {
        file: f.as_ref().map(|f| f.path().to_path_buf()),
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        flags: flags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        euid: 0,
    })
    .map(|l| l.config)
}

#[test]
fn precedence_is_defaults_file_env_flags() {
    struct Case {
        file: Option<&'static str>,
        env: &'static [(&'static str, &'static str)],
        flags: &'static [(&'static str, &'static str)],
        expect: (u16, u32, u32), // listen port, per_second, per_minute
    }
    const FILE: &str = "[http]\nlisten = \"127.0.0.1:1000\"\n[rate_limit]\nper_second = 10\nper_minute = 11\n";
    let cases = [
        Case { file: None, env: &[], flags: &[], expect: (4001, 3, 120) },
        Case { file: Some(FILE), env: &[], flags: &[], expect: (1000, 10, 11) },
        Case { file: Some(FILE), env: &[("HARMY_HTTP_LISTEN", "127.0.0.1:2000")], flags: &[], expect: (2000, 10, 11) },
        Case { file: None, env: &[("HARMY_RATE_LIMIT_PER_SECOND", "7")], flags: &[], expect: (4001, 7, 120) },
        Case {
            file: Some(FILE),
            env: &[("HARMY_HTTP_LISTEN", "127.0.0.1:2000"), ("HARMY_RATE_LIMIT_PER_MINUTE", "50")],
            flags: &[("http.listen", "127.0.0.1:3000")],
            expect: (3000, 10, 50),
        },
        Case { file: None, env: &[], flags: &[("rate_limit.per_second", "99")], expect: (4001, 99, 120) },
    ];
    for (i, case) in cases.iter().enumerate() {
        let config = load_with(case.file, case.env, case.flags).unwrap_or_else(|e| panic!("case {i}: {e}"));
        let got = (config.http.listen.port(), config.rate_limit.per_second, config.rate_limit.per_minute);
        assert_eq!(got, case.expect, "case {i}");
    }
}

#[test]
fn example_config_parses_to_the_defaults() {
    let text = include_str!("../../config.example.toml");
    assert_eq!(load_with(Some(text), &[], &[]).unwrap(), Config::default());
}

#[test]
fn metrics_are_served_on_their_own_loopback_listener_by_default() {
    let listen: std::net::SocketAddr = Config::default().metrics.listen.parse().unwrap();
    assert!(listen.ip().is_loopback(), "{listen}");
    assert_eq!(listen.port(), 9464);
    assert!(Config::default().metrics.enabled);
}

#[test]
fn example_config_documents_every_key_and_its_env_name() {
    let text = include_str!("../../config.example.toml");
    for (section, keys) in defaults_table() {
        assert!(text.contains(&format!("[{section}]")), "section {section} missing");
        for key in keys.as_table().unwrap().keys() {
            assert!(text.contains(&format!("\n{key} = ")), "{section}.{key} missing");
            assert!(text.contains(&env_name(&section, key)), "{} not documented", env_name(&section, key));
        }
    }
}

#[test]
fn unknown_key_is_reported_with_file_line_and_section() {
    let err = load_with(Some("[http]\nlisten = \"127.0.0.1:1\"\nlisen = \"x\"\n"), &[], &[]).unwrap_err().to_string();
    assert!(err.contains(":3:1:"), "{err}");
    assert!(err.contains("lisen") && err.contains("[http]"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}

#[test]
fn unknown_section_is_reported() {
    let err = load_with(Some("[htp]\nlisten = 1\n"), &[], &[]).unwrap_err().to_string();
    assert!(err.contains("htp") && err.contains(":1:"), "{err}");
}

#[test]
fn malformed_file_gives_one_line_with_position() {
    let err = load_with(Some("[discord]\ntoken = \"unterminated\n"), &[], &[]).unwrap_err().to_string();
    assert!(err.contains(":2:"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn wrong_type_is_reported() {
    let err = load_with(Some("[rate_limit]\nper_second = \"fast\"\n"), &[], &[]).unwrap_err().to_string();
    assert!(err.contains(":2:") && err.contains("\"fast\""), "{err}");
}

#[test]
fn missing_explicit_file_is_an_error() {
    let err = load(&Sources { file: Some("/nonexistent/harmy.toml".into()), ..Sources::default() }).unwrap_err();
    assert_eq!(err.to_string(), "config file /nonexistent/harmy.toml: not found");
}

#[test]
fn guild_ids_accept_integers_and_strings() {
    let config = load_with(Some("[discord]\nguild_ids = [1, \"2\"]\n"), &[], &[]).unwrap();
    assert_eq!(config.discord.guild_ids, vec![1, 2]);
    let config = load_with(None, &[("HARMY_DISCORD_GUILD_IDS", "5, 6")], &[]).unwrap();
    assert_eq!(config.discord.guild_ids, vec![5, 6]);
    assert!(load_with(Some("[discord]\nguild_ids = [\"x\"]\n"), &[], &[]).is_err());
}

#[test]
fn secrets_come_from_files_and_the_later_layer_wins() {
    let secret = file("from-file\n");
    let path = secret.path().display().to_string();
    let config = load_with(Some(&format!("[discord]\ntoken_file = \"{path}\"\n")), &[], &[]).unwrap();
    assert_eq!(config.discord.token.expose(), "from-file");
    // The environment's token replaces the file's token_file.
    let config =
        load_with(Some(&format!("[discord]\ntoken_file = \"{path}\"\n")), &[("HARMY_DISCORD_TOKEN", "env")], &[])
            .unwrap();
    assert_eq!(config.discord.token.expose(), "env");
    // And the other way round.
    let config = load_with(Some("[discord]\ntoken = \"x\"\n"), &[("HARMY_DISCORD_TOKEN_FILE", &path)], &[]).unwrap();
    assert_eq!(config.discord.token.expose(), "from-file");
    let err = load_with(Some(&format!("[discord]\ntoken = \"x\"\ntoken_file = \"{path}\"\n")), &[], &[]).unwrap_err();
    assert!(err.to_string().contains("not both"), "{err}");
}

#[test]
fn secrets_are_not_in_debug_output() {
    let config = load_with(None, &[("HARMY_DISCORD_TOKEN", "supersecret")], &[]).unwrap();
    assert!(!format!("{config:?}").contains("supersecret"));
}

#[test]
fn unknown_environment_variables_are_warned_about() {
    let loaded = load(&Sources {
        env: vec![("HARMY_HTTP_LISTN".into(), "x".into()), ("HARMY_CONFIG".into(), "y".into())],
        ..Sources::default()
    })
    .unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert!(loaded.warnings[0].contains("HARMY_HTTP_LISTN"));
}

#[test]
fn bad_environment_values_name_the_variable() {
    let err = load_with(None, &[("HARMY_KV_MAX_KEYS", "many")], &[]).unwrap_err().to_string();
    assert!(err.contains("HARMY_KV_MAX_KEYS"), "{err}");
    let err = load_with(None, &[("HARMY_HTTP_LISTEN", "nowhere")], &[]).unwrap_err().to_string();
    assert!(err.contains("listen") || err.contains("address"), "{err}");
}

#[test]
fn durations_parse_humantime() {
    let config = load_with(Some("[github]\nrefresh_interval = \"90m\"\n"), &[], &[]).unwrap();
    assert_eq!(config.github.refresh_interval, Duration::from_secs(5400));
    assert!(load_with(Some("[github]\nrefresh_interval = \"soon\"\n"), &[], &[]).is_err());
}

/// Loads as the user `euid` with `env` (and `file`, explicit when given).
fn load_as(euid: u32, env: &[(&str, &str)], file: Option<&std::path::Path>) -> Loaded {
    load(&Sources {
        file: file.map(|p| p.to_path_buf()),
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        flags: vec![],
        euid,
    })
    .unwrap()
}

#[test]
fn a_user_without_root_gets_the_xdg_paths_and_root_the_system_ones() {
    let env = [("HOME", "/home/ada"), ("XDG_STATE_HOME", "/home/ada/st"), ("XDG_RUNTIME_DIR", "/run/user/1000")];
    let user = load_as(1000, &env, None).config;
    assert_eq!(user.storage.path, std::path::Path::new("/home/ada/st/harmy/harmy.redb"));
    assert_eq!(user.admin.socket, std::path::Path::new("/run/user/1000/harmy/admin.sock"));
    let root = load_as(0, &env, None).config;
    assert_eq!(
        (root.storage.path, root.admin.socket),
        (Config::default().storage.path, Config::default().admin.socket)
    );
    let unit = load_as(61_234, &[("HOME", "/"), ("STATE_DIRECTORY", "/var/lib/harmy")], None).config;
    assert_eq!(unit.storage.path, std::path::Path::new("/var/lib/harmy/harmy.redb"));
    assert_eq!(unit.admin.socket, std::path::Path::new("/run/harmy/admin.sock"));
}

#[test]
fn without_a_runtime_dir_the_socket_goes_beside_the_database_in_use() {
    let user = load_as(1000, &[("HOME", "/home/ada")], None).config;
    assert_eq!(user.admin.socket, std::path::Path::new("/home/ada/.local/state/harmy/admin.sock"));
    let f = file("[storage]\npath = \"/srv/harmy/h.redb\"\n");
    let moved = load_as(1000, &[("HOME", "/home/ada")], Some(f.path())).config;
    assert_eq!(moved.admin.socket, std::path::Path::new("/srv/harmy/admin.sock"));
    let f = file("[storage]\npath = \"/srv/harmy/h.redb\"\n[admin]\nsocket = \"/tmp/a.sock\"\n");
    let named = load_as(1000, &[("HOME", "/home/ada")], Some(f.path())).config;
    assert_eq!(named.admin.socket, std::path::Path::new("/tmp/a.sock"), "a named socket stays");
}

#[test]
fn a_user_s_own_config_file_is_found_before_the_system_one() {
    let dir = tempfile::tempdir().unwrap();
    let config_home = dir.path().join("conf");
    std::fs::create_dir_all(config_home.join("harmy")).unwrap();
    std::fs::write(config_home.join("harmy/config.toml"), "[rate_limit]\nper_second = 42\n").unwrap();
    let home = dir.path().display().to_string();
    let conf = config_home.display().to_string();
    let loaded = load_as(1000, &[("HOME", &home), ("XDG_CONFIG_HOME", &conf)], None);
    assert_eq!(loaded.file.as_deref(), Some(config_home.join("harmy/config.toml").as_path()));
    assert_eq!(loaded.config.rate_limit.per_second, 42);
    // Root never reads a user's file.
    assert_ne!(load_as(0, &[("HOME", &home), ("XDG_CONFIG_HOME", &conf)], None).config.rate_limit.per_second, 42);
}

#[test]
fn an_empty_twin_beside_a_secret_leaves_the_secret_alone() {
    // The example config has both lines: filling in one must not be undone by the other.
    let config = load_with(Some("[discord]\ntoken = \"abc\"\ntoken_file = \"\"\n"), &[], &[]).unwrap();
    assert_eq!(config.discord.token.expose(), "abc");
    let f = file("from-file\n");
    let text = format!("[discord]\ntoken = \"\"\ntoken_file = \"{}\"\n", f.path().display());
    assert_eq!(load_with(Some(&text), &[], &[]).unwrap().discord.token.expose(), "from-file");
}

#[test]
fn api_url_is_a_proxy_unless_it_is_discords_own() {
    let mut discord = DiscordConfig::default();
    assert_eq!(discord.api_proxy(), None);
    discord.api_url = "https://discord.com/".into();
    assert_eq!(discord.api_proxy(), None, "a trailing slash is still Discord");
    discord.api_url = "http://127.0.0.1:8080/".into();
    assert_eq!(discord.api_proxy(), Some(("127.0.0.1:8080".into(), true)));
    discord.api_url = "https://proxy.example/discord".into();
    assert_eq!(discord.api_proxy(), Some(("proxy.example/discord".into(), false)));
}
