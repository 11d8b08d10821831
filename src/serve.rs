//! `harmy serve`: opens the store, starts every part (admin socket, gateway,
//! HTTP API) around one `App`, and stops them together on SIGTERM or SIGINT.

use std::process::ExitCode;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::Loaded;
use crate::store::Store;

/// Runs until a signal (exit 0) or a fatal error of a part (non-zero).
pub async fn run(loaded: Loaded) -> anyhow::Result<ExitCode> {
    let config = loaded.config;
    let path = config.storage.path.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&path)).await??;
    let app = App::new(config.clone(), store);
    let shutdown = CancellationToken::new();

    let admin = crate::admin::server::bind(&config.admin.socket)
        .with_context(|| format!("admin socket {}", config.admin.socket.display()))?;
    let admin_task = tokio::spawn(crate::admin::server::serve(app.clone(), admin, shutdown.clone().cancelled_owned()));
    tracing::info!(
        database = %config.storage.path.display(),
        admin_socket = %config.admin.socket.display(),
        "harmy serve started"
    );

    wait_for_signal().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    let _ = admin_task.await;
    let _ = std::fs::remove_file(&config.admin.socket);
    drop(app);
    Ok(ExitCode::SUCCESS)
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
