//! The admin socket of `harmy serve`: a Unix socket, mode 0600, one JSON
//! request line in, one JSON reply line out. Binding it never deletes a file
//! harmy did not create and never takes over a live server's socket.

use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use super::{Reply, Request};
use crate::app::App;

/// A request line longer than this is refused: a 10 000-character value fits many
/// times over, and so does a batch of `migrate --from-lanyard` (whose reader sends
/// batches of at most `cli::lanyard::BATCH_BYTES`, or one user alone).
pub(crate) const MAX_REQUEST: u64 = 16 << 20;

/// The socket file `bind` created, so that shutdown removes it only while the
/// path still names that file.
pub struct SocketFile {
    path: PathBuf,
    /// `(device, inode)`.
    id: (u64, u64),
}

/// Binds the socket, owner-only from its first moment (a connection accepted while
/// the socket was still open to others would keep its access).
///
/// `serve` calls this once it holds the database lock, so a second server on the
/// same database never gets here. An existing path is replaced only when it is a
/// socket that no server answers on (left by a crash); a live server's socket, a
/// regular file or anything else there is an error naming the path, and is left
/// as it is.
pub fn bind(path: &Path) -> anyhow::Result<(UnixListener, SocketFile)> {
    if let Some(dir) = path.parent() {
        crate::store::create_private_dirs(dir).with_context(|| format!("creating the directory {}", dir.display()))?;
    }
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("admin socket {}", path.display())),
        Ok(meta) if !meta.file_type().is_socket() => bail!(
            "admin socket {}: the path exists and is not a socket; move it away or set admin.socket to another path",
            path.display()
        ),
        Ok(_) => match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => bail!(
                "admin socket {}: another harmy server answers on it; stop it first, or give this one its own \
                 admin.socket",
                path.display()
            ),
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                tracing::info!(path = %path.display(), "replacing a stale admin socket");
                std::fs::remove_file(path).with_context(|| format!("removing the stale socket {}", path.display()))?;
            }
            Err(e) => return Err(e).with_context(|| format!("admin socket {}", path.display())),
        },
    }
    let listener = with_umask(0o177, || UnixListener::bind(path))
        .with_context(|| format!("binding the admin socket {}", path.display()))?;
    let meta = std::fs::symlink_metadata(path)?;
    Ok((listener, SocketFile { path: path.to_path_buf(), id: (meta.dev(), meta.ino()) }))
}

impl SocketFile {
    /// Removes the socket file, unless the path names another file by now.
    pub fn remove(&self) {
        let ours = std::fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.id);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Runs `f` with the process umask set to `mask`. The umask is process-wide: other
/// threads creating files meanwhile get the stricter mask too, which harmy's own
/// files (database, socket) want anyway, and its directories set their mode
/// outright (`store::create_private_dirs`). Calls are serialised, so that two
/// overlapping ones cannot leave the narrowed mask behind.
pub(crate) fn with_umask<T>(mask: libc::mode_t, f: impl FnOnce() -> T) -> T {
    static SWAP: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = SWAP.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // SAFETY: umask only swaps the process's file-creation mask; it cannot fail.
    let old = unsafe { libc::umask(mask) };
    let result = f();
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    result
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
        Request::UserShow { .. } => "user_show",
        Request::UserHide { .. } => "user_hide",
        Request::UserForget { .. } => "user_forget",
        Request::UserExport { .. } => "user_export",
        Request::LanyardImport { .. } => "lanyard_import",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn the_socket_is_owner_only_and_removed_only_while_it_is_ours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/harmy/admin.sock");
        let (_listener, file) = bind(&path).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        // Another file took the path meanwhile: it is not ours to remove.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "someone else's").unwrap();
        file.remove();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "someone else's");
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_socket_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.sock");
        std::fs::write(&path, "precious").unwrap();
        let err = bind(&path).err().expect("refused");
        assert!(format!("{err:#}").contains(&path.display().to_string()), "{err:#}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
    }

    #[tokio::test]
    async fn a_live_socket_is_never_taken_over_and_a_stale_one_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.sock");
        let (live, _file) = bind(&path).unwrap();
        let err = bind(&path).err().expect("a server answers there");
        assert!(format!("{err:#}").contains("another harmy server answers"), "{err:#}");
        assert!(std::os::unix::net::UnixStream::connect(&path).is_ok(), "the first server still answers");
        drop(live); // a crash leaves the file behind, with nobody listening
        assert!(path.exists());
        let (_again, _file) = bind(&path).expect("a stale socket is replaced");
        assert!(std::os::unix::net::UnixStream::connect(&path).is_ok());
    }
}
