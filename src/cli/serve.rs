//! `harmy serve`: the long-running process, or with `--demo` the simulated guild.

use std::process::ExitCode;

use clap::Args;

use super::GlobalArgs;
use crate::config::Loaded;
use crate::store::Store;

/// `harmy serve`
#[derive(Debug, Args)]
#[command(after_long_help = DEMO_HELP)]
pub struct ServeArgs {
    /// Address of the HTTP API (overrides http.listen; with --demo, default 127.0.0.1:4001).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// Serve a simulated guild of 20 members instead of Discord's: no config file, no token, no network.
    ///
    /// A local gateway on 127.0.0.1 feeds harmy's gateway code with members who
    /// listen to Spotify, play, set custom statuses and change status every few
    /// seconds; one of them has KV pairs, a GitHub profile and a token, printed
    /// at start with the URLs to try. The database and the admin socket live in
    /// a temporary directory removed at exit. No config file and no HARMY_*
    /// setting is read; only --listen applies.
    #[arg(long)]
    pub demo: bool,
    /// Create or upgrade the database first, as `harmy migrate` does: for a container,
    /// which has no ExecStartPre to run it. Without it, serve refuses a missing or older database.
    #[arg(long, conflicts_with = "demo")]
    pub migrate: bool,
    /// Serve as a read replica of the primary that publishes to this NATS server
    /// (`nats://host:4222`): sets cluster.nats_url and cluster.role = "replica".
    ///
    /// A replica needs no Discord token and keeps no database: it serves every read
    /// from what the primary publishes and relays KV requests to it.
    #[arg(long, value_name = "NATS_URL", conflicts_with_all = ["demo", "migrate"])]
    pub replica: Option<String>,
}

const DEMO_HELP: &str = "Without --demo, serve needs a config with the bot token (`harmy init` writes one).";

impl ServeArgs {
    /// The settings these flags override.
    pub fn flags(&self) -> Vec<(String, String)> {
        let mut flags: Vec<(String, String)> =
            self.listen.iter().map(|addr| ("http.listen".to_string(), addr.to_string())).collect();
        if let Some(url) = &self.replica {
            flags.push(("cluster.nats_url".into(), url.clone()));
            flags.push(("cluster.role".into(), "replica".into()));
        }
        flags
    }
}

pub fn run(loaded: Loaded, args: ServeArgs) -> anyhow::Result<ExitCode> {
    if args.migrate {
        for step in Store::migrate(&loaded.config.storage.path, false)? {
            tracing::info!("{step}");
        }
    }
    super::runtime()?.block_on(crate::serve::run(loaded))
}

/// `harmy serve --demo`: no configuration is loaded at all.
pub fn run_demo(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        global.database.is_none() && global.admin_socket.is_none() && global.set.is_empty(),
        "--demo reads no configuration: it takes no --database, --admin-socket or --set (only --listen)"
    );
    if let Some(path) = &global.config {
        tracing::info!(config = %path.display(), "--demo reads no config file; this one is ignored");
    }
    let ignored: Vec<String> = std::env::vars()
        .map(|(name, _)| name)
        .filter(|name| name.starts_with("HARMY_") && !matches!(name.as_str(), "HARMY_LOG" | "HARMY_CONFIG"))
        .collect();
    if !ignored.is_empty() {
        tracing::info!("--demo ignores the settings {}", ignored.join(", "));
    }
    super::runtime()?.block_on(crate::demo::run(args.listen))
}
