//! The CLI side: send the request to a running server, or, when none answers,
//! run it on the database directly.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::{Reply, Request};
use crate::app::App;
use crate::config::Config;
use crate::store::{Store, StoreError};

/// Runs an operator request and returns what to print.
pub async fn run(config: &Config, request: Request) -> anyhow::Result<String> {
    let socket = &config.admin.socket;
    match UnixStream::connect(socket).await {
        Ok(stream) => {
            let reply = send(stream, &request).await.with_context(|| format!("admin socket {}", socket.display()))?;
            if reply.ok { Ok(reply.output) } else { Err(anyhow!(reply.output)) }
        }
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
            run_locally(config, request).await
        }
        Err(e) => Err(anyhow!("cannot reach the running harmy on admin socket {}: {e}", socket.display())),
    }
}

async fn send(mut stream: UnixStream, request: &Request) -> anyhow::Result<Reply> {
    let mut line = serde_json::to_vec(request)?;
    line.push(b'\n');
    stream.write_all(&line).await?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).await?;
    serde_json::from_str(&reply).map_err(|_| anyhow!("the server closed the connection without an answer"))
}

async fn run_locally(config: &Config, request: Request) -> anyhow::Result<String> {
    let app = open_locally(config).await?;
    Ok(super::execute(&app, request).await?)
}

/// Where a series of requests goes (an import's batches): the running server, or
/// the database opened once by this process.
pub enum Session {
    /// A server answers on this admin socket.
    Server(PathBuf),
    /// No server runs: this process holds the database.
    Local(Arc<App>),
}

impl Session {
    /// Finds the running server, or opens the database when none answers.
    pub async fn open(config: &Config) -> anyhow::Result<Session> {
        let socket = &config.admin.socket;
        match UnixStream::connect(socket).await {
            Ok(_) => Ok(Session::Server(socket.clone())),
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
                Ok(Session::Local(open_locally(config).await?))
            }
            Err(e) => Err(anyhow!("cannot reach the running harmy on admin socket {}: {e}", socket.display())),
        }
    }

    /// Runs one request; the output, as `run` returns it.
    pub async fn run(&self, request: Request) -> anyhow::Result<String> {
        match self {
            Session::Server(socket) => {
                let stream = UnixStream::connect(socket)
                    .await
                    .with_context(|| format!("the server on admin socket {} went away", socket.display()))?;
                let reply =
                    send(stream, &request).await.with_context(|| format!("admin socket {}", socket.display()))?;
                if reply.ok { Ok(reply.output) } else { Err(anyhow!(reply.output)) }
            }
            Session::Local(app) => Ok(super::execute(app, request).await?),
        }
    }
}

/// The app over the database, when no server holds it.
async fn open_locally(config: &Config) -> anyhow::Result<Arc<App>> {
    let path = config.storage.path.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&path)).await?.map_err(|e| match e {
        StoreError::Locked(path) => anyhow!(
            "database {} is locked by another process, and no harmy server answers on admin socket {}",
            path.display(),
            config.admin.socket.display()
        ),
        other => other.into(),
    })?;
    Ok(App::new(config.clone(), store)?)
}
