//! The admin socket of `harmy serve`: a Unix socket, mode 0600, one JSON
//! request line in, one JSON reply line out.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use super::{Reply, Request};
use crate::app::App;

/// A request line longer than this is refused (a 10 000-character value fits many times over).
const MAX_REQUEST: u64 = 1 << 20;

/// Binds the socket, replacing a stale one, readable and writable by the owner only.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serves requests until the future `shutdown` completes.
pub async fn serve(
    app: Arc<App>,
    listener: UnixListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(handle(app.clone(), stream));
                }
                Err(e) => tracing::warn!(error = %e, "admin socket accept failed"),
            },
        }
    }
    Ok(())
}

async fn handle(app: Arc<App>, stream: UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let reply = match BufReader::new(read.take(MAX_REQUEST)).read_line(&mut line).await {
        Err(e) => Reply { ok: false, output: format!("reading the request: {e}") },
        Ok(_) => match serde_json::from_str::<Request>(&line) {
            Err(e) => Reply { ok: false, output: format!("malformed admin request: {e}") },
            Ok(request) => {
                tracing::info!(op = request_name(&request), "admin request");
                match super::execute(&app, request).await {
                    Ok(output) => Reply { ok: true, output },
                    Err(e) => Reply { ok: false, output: e.to_string() },
                }
            }
        },
    };
    let mut out = serde_json::to_vec(&reply).unwrap_or_default();
    out.push(b'\n');
    if let Err(e) = write.write_all(&out).await {
        tracing::debug!(error = %e, "admin client went away before the reply");
    }
}

/// The operation's name only: requests may carry values that are nobody's business in a log.
fn request_name(request: &Request) -> &'static str {
    match request {
        Request::KvSet { .. } => "kv_set",
        Request::KvGet { .. } => "kv_get",
        Request::KvDel { .. } => "kv_del",
        Request::KvList { .. } => "kv_list",
        Request::TokenRotate { .. } => "token_rotate",
        Request::TokenRevoke { .. } => "token_revoke",
        Request::GithubLink { .. } => "github_link",
        Request::GithubUnlink { .. } => "github_unlink",
        Request::GithubRefresh { .. } => "github_refresh",
    }
}
