//! `harmy serve`: opens the store, starts every part (admin socket, gateway,
//! HTTP API) around one `App`, and stops them together on SIGTERM or SIGINT.
//!
//! Each part is a task returning `anyhow::Result<()>`: `Ok` once the shutdown
//! token is cancelled, `Err` on a fatal error (e.g. Discord refusing the
//! privileged intents), which stops the others and makes `serve` exit non-zero.

use std::process::ExitCode;

use anyhow::Context;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::Loaded;
use crate::store::Store;

/// Runs until a signal (exit 0) or a fatal error of a part (non-zero).
pub async fn run(loaded: Loaded) -> anyhow::Result<ExitCode> {
    let config = loaded.config;
    anyhow::ensure!(
        !config.discord.token.is_empty(),
        "discord.token is not set: put the bot token in the config file, in HARMY_DISCORD_TOKEN, \
         or in a file named by discord.token_file"
    );
    let path = config.storage.path.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&path)).await??;
    let app = App::new(config.clone(), store);
    let shutdown = CancellationToken::new();
    let mut parts: JoinSet<anyhow::Result<()>> = JoinSet::new();

    // Bind every listener before saying "started", so a client that waits for
    // the line can connect at once.
    let admin = crate::admin::server::bind(&config.admin.socket)
        .with_context(|| format!("admin socket {}", config.admin.socket.display()))?;
    parts.spawn(crate::admin::server::serve(app.clone(), admin, shutdown.clone().cancelled_owned()));
    let listeners = crate::http::bind(&config).await?;
    let http_addr = listeners.api.local_addr()?;
    let metrics_addr = listeners.metrics.as_ref().map(|l| l.local_addr()).transpose()?;
    parts.spawn(crate::http::serve(app.clone(), listeners, shutdown.clone().cancelled_owned()));
    parts.spawn(crate::github::refresher::run(app.clone(), shutdown.clone()));

    // The gateway fills the presence cache and hands the bot its events.
    let (bot_events, bot_inbox) = crate::gateway::bot_channel();
    parts.spawn(crate::gateway::run(app.clone(), bot_events, shutdown.clone()));
    parts.spawn(crate::bot::run(app.clone(), bot_inbox, shutdown.clone()));

    tracing::info!(
        http = %http_addr,
        metrics = ?metrics_addr,
        database = %config.storage.path.display(),
        admin_socket = %config.admin.socket.display(),
        "harmy serve started"
    );

    let code = tokio::select! {
        () = wait_for_signal() => {
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
    let _ = std::fs::remove_file(&config.admin.socket);
    Ok(code)
}

/// SIGTERM (systemd) or SIGINT (a terminal).
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("installing a SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
