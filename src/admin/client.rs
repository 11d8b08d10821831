//! The CLI side: send the request to a running server, or, when none answers,
//! run it on the database directly.

use std::io::ErrorKind;

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
    let path = config.storage.path.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&path)).await?.map_err(|e| match e {
        StoreError::Locked(path) => anyhow!(
            "database {} is locked by another process, and no harmy server answers on admin socket {}",
            path.display(),
            config.admin.socket.display()
        ),
        other => other.into(),
    })?;
    let app = App::new(config.clone(), store)?;
    Ok(super::execute(&app, request).await?)
}
