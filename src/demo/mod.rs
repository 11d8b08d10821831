//! `harmy serve --demo`: the real server (HTTP API, `/socket`, admin socket,
//! gateway code) for a simulated guild, with no config file, no token and no
//! network, so that a newcomer sees harmy work in seconds and a website author
//! can build against the API offline.
//!
//! * [`guild`] — the simulated members and how their presences change;
//! * [`gateway`] — a local gateway on 127.0.0.1 speaking Discord's protocol,
//!   which harmy's own shard connects to (so the presences go through the same
//!   code as Discord's);
//! * [`frames`] — the gateway frames both send (the test fakes use them too).
//!
//! The database and the admin socket live in a new private directory that is
//! removed at exit (SIGINT and SIGTERM included). The only connection harmy
//! opens is to its local gateway: the bot does not run (it would answer over
//! Discord's REST API, and no one can message a simulated guild), the GitHub
//! refresher does not run (the demo user's profile is stored as it is), and
//! every other outbound URL setting (`*_url`) points at [`NOWHERE`], so images
//! a card would fetch render as placeholders.

pub mod frames;
pub(crate) mod gateway;
pub(crate) mod guild;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::app::github::{Profile, Record};
use crate::app::{App, PresenceSource};
use crate::config::Config;
use crate::ids::UserId;
use crate::serve::{Parts, Signals, Started};
use crate::store::Store;
use guild::{DEMO_USER, FIRST_MEMBER, Guild};

/// Where the demo points every outbound URL but its gateway's: port 0 of the
/// loopback address, which nothing can listen on, so a request fails at once
/// without leaving the machine.
pub const NOWHERE: &str = "http://127.0.0.1:0";

/// The address the demo serves on unless `--listen` says otherwise.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 4001);

/// Rate limits of the demo, ten times the defaults: a page under development is
/// reloaded often, with its assets, from one address.
const RATE_PER_SECOND: u32 = 30;
const RATE_PER_MINUTE: u32 = 1200;
/// Connections (and as many sockets) served at once: plenty for one developer, and
/// within a shell's usual open-file limit of 1 024, so that no warning about it
/// greets a newcomer.
const MAX_CONNECTIONS: usize = 256;

/// The demo user's KV pairs.
const KV: [(&str, &str); 4] = [
    ("location", "Lisbon"),
    ("pronouns", "she/her"),
    ("site", "https://example.com"),
    ("now_reading", "The Rust Programming Language"),
];

/// Runs the demo until SIGINT or SIGTERM.
pub async fn run(listen: Option<SocketAddr>) -> anyhow::Result<ExitCode> {
    let signals = Signals::install()?;
    let dir = private_dir()?;
    let gateway = gateway::LocalGateway::bind().await.context("binding the demo gateway on 127.0.0.1")?;
    let config = config(dir.path(), gateway.url(), gateway.token(), listen.unwrap_or(DEFAULT_LISTEN));
    tracing::info!(
        gateway = %config.discord.gateway_url,
        discord_api = %config.discord.api_url,
        github_api = %config.github.api_url,
        "demo: no config file, no network; the only connection is to the local gateway"
    );
    let path = config.storage.path.clone();
    let store = tokio::task::spawn_blocking(move || {
        Store::migrate(&path, false)?;
        Store::open(&path)
    })
    .await??;
    let app = App::with_source(config, store, PresenceSource::Demo)?;
    let token = seed(&app).await?;

    let stop_gateway = CancellationToken::new();
    let guild = Guild::new(rand::random(), now_ms());
    let local = tokio::spawn(gateway.run(guild, stop_gateway.clone()));
    let parts = Parts { bot: false, github_refresher: false };
    let listen = app.config().http.listen;
    let code = crate::serve::serve(app, parts, signals, |started| print_banner(started, &token, dir.path()))
        .await
        .with_context(|| format!("serving the demo on {listen} (another address: --listen ADDR)"));
    // The shard has said goodbye by now (the gateway part closes it on shutdown).
    stop_gateway.cancel();
    let _ = local.await;
    let removed = dir.path().display().to_string();
    dir.close().with_context(|| format!("removing the demo directory {removed}"))?;
    code
}

/// The demo's configuration: the defaults, with its own paths, gateway and token.
pub fn config(dir: &Path, gateway_url: &str, token: &crate::config::Secret, listen: SocketAddr) -> Config {
    let mut config = Config::default();
    config.discord.token = token.clone();
    config.discord.gateway_url = gateway_url.to_string();
    config.discord.guild_ids = vec![guild::GUILD_ID];
    config.storage.path = dir.join("harmy.redb");
    config.admin.socket = dir.join("admin.sock");
    config.http.listen = listen;
    config.rate_limit.per_second = RATE_PER_SECOND;
    config.rate_limit.per_minute = RATE_PER_MINUTE;
    config.http.max_connections = MAX_CONNECTIONS;
    // `/metrics` beside the API: a fixed port of its own would collide with a real
    // harmy on the same machine, and the demo's figures are of a simulated guild.
    config.metrics.listen = String::new();
    outbound_urls_nowhere(config)
}

/// Every `*_url` setting but the gateway's, those there are now and any a later
/// release adds (image hosts, say), set to [`NOWHERE`].
fn outbound_urls_nowhere(config: Config) -> Config {
    let Ok(toml::Value::Table(mut table)) = toml::Value::try_from(&config) else { return config };
    for (section, keys) in table.iter_mut() {
        let Some(keys) = keys.as_table_mut() else { continue };
        for (key, value) in keys.iter_mut() {
            // An empty URL is a part turned off (`cluster.nats_url`): it stays off.
            let off = value.as_str().is_some_and(str::is_empty);
            if key.ends_with("_url") && !off && !(section == "discord" && key == "gateway_url") {
                *value = toml::Value::String(NOWHERE.into());
            }
        }
    }
    toml::Value::Table(table).try_into().unwrap_or(config)
}

/// A new owner-only directory for the database and the admin socket: in
/// `$XDG_RUNTIME_DIR` (memory, private to the user) when there is one, else in
/// the system's temporary directory.
fn private_dir() -> anyhow::Result<tempfile::TempDir> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    use std::os::unix::fs::PermissionsExt;
    let owner_only = || std::fs::Permissions::from_mode(0o700);
    // Created 0700 (mkdir's mode, which the umask can only narrow, so it is never
    // wider), then set to exactly 0700 (a umask such as 0o277 would leave the
    // owner without the write or search bit the database and the socket need).
    let dir = tempfile::Builder::new()
        .prefix("harmy-demo-")
        .permissions(owner_only())
        .tempdir_in(&base)
        .with_context(|| format!("creating the demo directory in {}", base.display()))?;
    std::fs::set_permissions(dir.path(), owner_only())
        .with_context(|| format!("making the demo directory {} owner-only", dir.path().display()))?;
    Ok(dir)
}

/// Stores the demo user's KV pairs and GitHub profile; returns a token for their KV.
async fn seed(app: &Arc<App>) -> anyhow::Result<String> {
    let user = UserId(DEMO_USER);
    app.kv.set_many(user, KV.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).await?;
    let profile = Profile {
        id: 130_000_001,
        username: "ada-demo".into(),
        avatar_url: "https://avatars.githubusercontent.com/u/130000001?v=4".into(),
        url: "https://github.com/ada-demo".into(),
        company: None,
        blog: Some("https://example.com".into()),
        bio: Some("builds her website with harmy (a canned demo profile)".into()),
        public_repos: 12,
    };
    let record = Record { profile, etag: None, fetched_at: now_ms() / 1000 };
    app.github.store_link(user, "ada-demo".into(), Some(record)).await?;
    Ok(app.tokens.rotate(user).await?)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The warning printed when the demo listens beyond this machine: the token it
/// prints works for anyone who can reach the address.
fn exposed_warning(listen: SocketAddr) -> String {
    format!(
        "\nWARNING: the demo listens on {listen}, which is not a loopback address: anyone who can \
         reach it can use the token above to write this demo user's KV. Use --listen 127.0.0.1:PORT \
         unless that is what you want.\n"
    )
}

/// What a newcomer reads first: the URLs to try and the token.
fn print_banner(started: &Started, token: &str, dir: &Path) {
    use std::io::Write;
    let base = format!("http://{}", started.http);
    let ws = format!("ws://{}", started.http);
    let last = FIRST_MEMBER + 19;
    let exposed = if started.http.ip().to_canonical().is_loopback() {
        String::new()
    } else {
        let warning = exposed_warning(started.http);
        tracing::warn!("{}", warning.trim());
        warning
    };
    let text = format!(
        "\nharmy demo: a simulated guild of 20 members (ids {FIRST_MEMBER} to {last}), changing every few \
         seconds.\nNothing here reaches the internet. Stop with Ctrl-C.\n\n\
         Try:\n\
         \x20 curl {base}/user/{DEMO_USER}        presence, KV and GitHub (api.harmy.gg's shape)\n\
         \x20 curl {base}/v1/users/{DEMO_USER}    the same in Lanyard's shape\n\
         \x20 {base}/user/{DEMO_USER}/card.svg    the status card (an image: open it in a browser)\n\
         \x20 {ws}/socket    Lanyard's WebSocket: send {{\"op\":2,\"d\":{{\"subscribe_to_all\":true}}}}\n\
         \x20 curl {base}/health\n\n\
         A token for the KV of user {DEMO_USER} (ada):\n\
         \x20 {token}\n\
         \x20 curl -X PUT -H 'Authorization: {token}' --data 'hello' {base}/user/{DEMO_USER}/kv/greeting\n\n\
         The database and the admin socket are in {dir} (removed at exit);\n\
         the CLI reaches this server with --admin-socket {socket}, e.g.\n\
         \x20 harmy kv list {DEMO_USER} --admin-socket {socket}\n{exposed}",
        dir = dir.display(),
        socket = dir.join("admin.sock").display(),
    );
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_reaches_nothing_but_its_gateway() {
        let token = crate::config::Secret("demo.x".into());
        let config = config(Path::new("/tmp/d"), "ws://127.0.0.1:5555", &token, DEFAULT_LISTEN);
        assert_eq!(config.discord.gateway_url, "ws://127.0.0.1:5555");
        assert_eq!((config.discord.api_url.as_str(), config.github.api_url.as_str()), (NOWHERE, NOWHERE));
        assert_eq!((config.card.cdn_url.as_str(), config.card.spotify_image_url.as_str()), (NOWHERE, NOWHERE));
        assert!(!config.cluster.enabled(), "the demo joins no cluster");
        assert_eq!(config.storage.path, Path::new("/tmp/d/harmy.redb"));
        assert_eq!(config.admin.socket, Path::new("/tmp/d/admin.sock"));
        assert!(config.http.listen.ip().is_loopback());
        assert_eq!(config.metrics.listen, "", "metrics on the API listener");
        assert_eq!(config.discord.guild_ids, vec![guild::GUILD_ID]);
        assert_eq!(config.discord.token, token, "the rest survives the round trip");
        // Every outbound URL setting, whatever section it is in, points nowhere
        // (or stays off: empty by default).
        for (section, keys) in crate::config::defaults_table() {
            for (key, default) in keys.as_table().unwrap().iter().filter(|(k, _)| k.ends_with("_url")) {
                let value = toml::Value::try_from(&config).unwrap()[&section][key].clone();
                let expected = if (section.as_str(), key.as_str()) == ("discord", "gateway_url") {
                    "ws://127.0.0.1:5555"
                } else if default.as_str() == Some("") {
                    ""
                } else {
                    NOWHERE
                };
                assert_eq!(value.as_str(), Some(expected), "{section}.{key}");
            }
        }
    }
}
