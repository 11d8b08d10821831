//! `harmy serve`: opens the store, starts every part (admin socket, gateway,
//! HTTP API) around one `App`, and stops them together on SIGTERM or SIGINT.
//!
//! Each part is a task returning `anyhow::Result<()>`: `Ok` once the shutdown
//! token is cancelled, `Err` on a fatal error (e.g. Discord refusing the
//! privileged intents), which stops the others and makes `serve` exit non-zero.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::Loaded;
use crate::store::Store;

/// Runs until a signal (exit 0) or a fatal error of a part (non-zero).
pub async fn run(loaded: Loaded) -> anyhow::Result<ExitCode> {
    let signals = Signals::install()?;
    let config = loaded.config;
    if config.cluster.is_replica() {
        let parts = Parts { bot: false, github_refresher: false };
        return serve(App::replica(config)?, parts, signals, |_| {}).await;
    }
    anyhow::ensure!(
        !config.discord.token.is_empty(),
        "discord.token is not set: put the bot token in the config file, in HARMY_DISCORD_TOKEN, \
         or in a file named by discord.token_file (`harmy init` writes a config; `harmy serve --demo` \
         needs none)"
    );
    let path = config.storage.path.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&path)).await??;
    serve(App::new(config, store)?, Parts::ALL, signals, |_| {}).await
}

/// The parts that run besides the HTTP API, the admin socket and the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// The bot's commands (they answer over Discord's REST API).
    pub bot: bool,
    /// The GitHub refresher (it asks GitHub).
    pub github_refresher: bool,
}

impl Parts {
    /// Everything: what `harmy serve` runs.
    pub const ALL: Parts = Parts { bot: true, github_refresher: true };
}

/// Where a started server listens.
#[derive(Debug, Clone, Copy)]
pub struct Started {
    /// The HTTP and WebSocket API.
    pub http: SocketAddr,
}

/// SIGTERM (systemd) and SIGINT (a terminal), caught from the moment they are
/// installed: a signal that arrives during start-up still ends `serve` cleanly
/// (and lets the demo remove its directory) instead of killing the process.
pub struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    /// Installs the handlers.
    pub fn install() -> std::io::Result<Signals> {
        Ok(Signals { term: signal(SignalKind::terminate())?, int: signal(SignalKind::interrupt())? })
    }

    /// Waits for either signal.
    async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

/// Starts every part around `app`, calls `started` once every listener is bound,
/// and runs until a signal (exit 0) or a fatal error of a part (non-zero).
pub async fn serve(
    app: Arc<App>,
    enabled: Parts,
    mut signals: Signals,
    started: impl FnOnce(&Started),
) -> anyhow::Result<ExitCode> {
    let config = app.config().clone();
    let shutdown = CancellationToken::new();
    let mut parts: JoinSet<anyhow::Result<()>> = JoinSet::new();

    // Bind every listener before saying "started", so a client that waits for
    // the line can connect at once.
    // After `Store::open`: holding the database lock comes first, so a second server
    // on the same database stops there, before touching the first one's socket.
    // A replica has no database and no admin socket: the operator's commands go to the primary.
    let replica = app.cluster.is_replica();
    let admin_file = if replica {
        None
    } else {
        let (admin, admin_file) = crate::admin::server::bind(&config.admin.socket)?;
        parts.spawn(crate::admin::server::serve(app.clone(), admin, shutdown.clone().cancelled_owned()));
        Some(admin_file)
    };
    let remove_admin = |admin_file: Option<crate::admin::server::SocketFile>| {
        if let Some(file) = admin_file {
            file.remove();
        }
    };
    let listeners = match crate::http::bind(&config).await {
        Ok(listeners) => listeners,
        Err(e) => {
            remove_admin(admin_file);
            return Err(e);
        }
    };
    let http_addr = listeners.api.local_addr()?;
    let joined = if replica {
        crate::cluster::start_replica(&app, &mut parts, &shutdown).await
    } else if config.cluster.enabled() {
        crate::cluster::start_primary(&app, crate::cluster::holder(http_addr), &mut parts, &shutdown).await
    } else {
        Ok(())
    };
    if let Err(e) = joined {
        shutdown.cancel();
        while parts.join_next().await.is_some() {}
        remove_admin(admin_file);
        return Err(e);
    }
    let metrics_addr = match &listeners.metrics {
        Some(listener) => listener.local_addr()?.to_string(),
        None if config.metrics.enabled => "api".into(),
        None => "off".into(),
    };
    parts.spawn(crate::http::serve(app.clone(), listeners, shutdown.clone().cancelled_owned()));
    if enabled.github_refresher {
        parts.spawn(crate::app::github::refresher::run(app.github.clone(), shutdown.clone()));
    }

    if !replica {
        parts.spawn(crate::app::privacy::last_seen::run(app.clone(), shutdown.clone()));
    }
    parts.spawn(crate::memory::trim_periodically(shutdown.clone()));

    // The gateway fills the presence cache and hands the bot its events (which
    // it drops when no bot runs). A replica's presences come from the primary.
    let (bot_events, bot_inbox) = crate::gateway::bot_channel();
    if !replica {
        parts.spawn(crate::gateway::run(app.clone(), bot_events, shutdown.clone()));
    }
    if enabled.bot {
        parts.spawn(crate::bot::run(app.clone(), bot_inbox, shutdown.clone()));
    } else {
        drop(bot_inbox);
    }

    if let Some(warning) = file_limit_warning(std::fs::read_to_string("/proc/self/limits").ok().as_deref(), &config) {
        tracing::warn!("{warning}");
    }
    started(&Started { http: http_addr });
    tracing::info!(
        http = %http_addr,
        metrics = %metrics_addr,
        database = %config.storage.path.display(),
        admin_socket = %config.admin.socket.display(),
        "harmy serve started"
    );

    let code = tokio::select! {
        () = signals.recv() => {
            tracing::info!("shutting down");
            ExitCode::SUCCESS
        }
        Some(ended) = parts.join_next() => match ended {
            Ok(Err(e)) => {
                tracing::error!("{e:#}");
                ExitCode::FAILURE
            }
            Err(e) => {
                tracing::error!("a part of harmy serve failed: {e}");
                ExitCode::FAILURE
            }
            Ok(Ok(())) => ExitCode::SUCCESS,
        },
    };
    shutdown.cancel();
    while parts.join_next().await.is_some() {}
    remove_admin(admin_file);
    Ok(code)
}

/// Files the process needs besides its connections: the database, listeners,
/// the gateway, GitHub, the runtime.
const OTHER_FILES: u64 = 64;

/// A warning when the open-file limit cannot hold `http.max_connections` HTTP
/// connections plus as many WebSocket sessions (a shell's `ulimit -n` is often
/// 1 024, and so is systemd's default): past it, accepting fails with "too
/// many open files" long before the configured caps. `limits` is the text of
/// `/proc/self/limits` (`None` off Linux: no check).
fn file_limit_warning(limits: Option<&str>, config: &crate::config::Config) -> Option<String> {
    let soft: u64 = limits?
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?; // "unlimited" parses as nothing: no warning
    let wanted = 2 * config.http.max_connections as u64 + OTHER_FILES;
    (soft < wanted).then(|| {
        format!(
            "the open-file limit is {soft}, but http.max_connections = {} needs about {wanted} (as many \
             WebSockets again, plus {OTHER_FILES}): connections past the limit will fail; raise it \
             (LimitNOFILE= in the systemd unit, `ulimit -n` in a shell) or lower http.max_connections",
            config.http.max_connections
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: &str = "Limit                     Soft Limit           Hard Limit           Units     \n\
                          Max processes             95038                95038                processes \n\
                          Max open files            1024                 524288               files     \n";

    #[test]
    fn a_file_limit_below_the_connection_caps_is_reported() {
        let mut config = crate::config::Config::default();
        let warning = file_limit_warning(Some(LIMITS), &config).expect("1 024 < 2 x 10 000");
        assert!(warning.contains("1024") && warning.contains("20064") && warning.contains("LimitNOFILE"), "{warning}");
        config.http.max_connections = 480;
        assert_eq!(file_limit_warning(Some(LIMITS), &config), None, "1 024 >= 2 x 480 + 64");
        assert_eq!(file_limit_warning(Some(&LIMITS.replace("1024 ", "unlimited ")), &config), None);
        assert_eq!(file_limit_warning(None, &config), None);
    }
}
