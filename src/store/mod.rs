//! The redb store: opening the file with its schema check (`open`, which
//! refuses a damaged file without touching it: `trial`), migrations, every
//! table's definition (`tables`), transactions with an explicit durability,
//! the group commit that lets concurrent writers share one fsync (`group`),
//! and what happens when the storage fails while serving (`faults`). The rows
//! themselves are read and written by the domain services, each in its own
//! `data.rs` (`app::kv`, `app::tokens`, `app::github`). Every call is
//! blocking; async code goes through [`blocking`].

mod faults;
pub(crate) mod group;
pub(crate) mod migrations;
mod open;
pub(crate) mod tables;
mod trial;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};

use crate::error::{Error, Result};
use faults::Faults;
pub use faults::RETRY_AFTER_SECS;
use tables::META;

/// Page cache size; harmy's data is small and the OS caches the file too.
const CACHE_BYTES: usize = 32 << 20;

/// Why the store could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// No database file yet.
    #[error("database {0} does not exist; run `harmy migrate` to create it")]
    Missing(PathBuf),
    /// Another process holds the file.
    #[error("database {0} is locked by another process")]
    Locked(PathBuf),
    /// The file is at an older schema.
    #[error("database {path} is at schema version {found}, this harmy needs {expected}; run `harmy migrate`")]
    NeedsMigration { path: PathBuf, found: u64, expected: u64 },
    /// The file was written by a newer harmy.
    #[error(
        "database {path} is at schema version {found}, newer than this harmy supports ({supported}); upgrade harmy"
    )]
    TooNew { path: PathBuf, found: u64, supported: u64 },
    /// The file cannot be opened as harmy must (read and write): what is wrong, for the operator.
    #[error("database {path}: {problem}")]
    Inaccessible { path: PathBuf, problem: String },
    /// The file is damaged; it was left exactly as it was found.
    #[error(
        "database {path} is damaged ({detail}); harmy left it as it is. Restore your backup of it (a copy \
         taken while harmy was stopped) over that path, or move the file aside and run `harmy migrate` \
         to start an empty database"
    )]
    Damaged { path: PathBuf, detail: String },
    /// The storage failed under a write (disk full, a file-size limit, a file
    /// system gone read-only, an I/O error): nothing of the write is kept, and
    /// writes are refused until the storage takes them again.
    #[error("the database cannot be written now ({0}); try again later")]
    Unavailable(String),
    /// Anything else redb reports.
    #[error("database error: {0}")]
    Redb(String),
}

impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        match e {
            // The storage failed, or an earlier failure left the database to be reopened
            // (a transaction that failed part way through is poisoned).
            redb::Error::Io(_)
            | redb::Error::PreviousIo
            | redb::Error::DatabaseClosed
            | redb::Error::Backend(_)
            | redb::Error::TransactionPoisoned => StoreError::Unavailable(e.to_string()),
            other => StoreError::Redb(other.to_string()),
        }
    }
}

macro_rules! redb_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                redb::Error::from(e).into()
            }
        }
        // So that the domain files can use `?` on redb's calls inside a transaction.
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Store(e.into())
            }
        }
    )*};
}
redb_errors!(redb::TransactionError, redb::TableError, redb::StorageError, redb::CommitError);

impl From<redb::Error> for Error {
    fn from(e: redb::Error) -> Self {
        Error::Store(e.into())
    }
}

/// The open database.
pub struct Store {
    /// `None` only while reopening it after a storage failure failed too.
    db: RwLock<Option<Database>>,
    path: PathBuf,
    faults: Faults,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// When a write transaction's commit is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// When the commit returns (one fsync per commit).
    Immediate,
    /// At the next [`Store::persist`]; readers see the commit at once. Only the
    /// group commit writes this way (`group::Batch`), and it persists every
    /// group before answering any of its writers.
    Deferred,
}

impl Store {
    fn new(db: Database, path: &Path) -> Store {
        Store { db: RwLock::new(Some(db)), path: path.into(), faults: Faults::default() }
    }

    /// Runs `f` in a write transaction, committed with `durability` when `f`
    /// succeeds; an error from `f` aborts it, so a refused write changes nothing.
    /// While the storage is failing, the write is refused at once (`Unavailable`).
    pub fn write<T>(&self, durability: Durability, f: impl FnOnce(&WriteTransaction) -> Result<T>) -> Result<T> {
        self.retry_writes();
        self.faults.writable()?;
        self.with_db(|db| write_in(db, durability, f))
    }

    /// Runs `f` in a write transaction that is then aborted: what a write would
    /// do, changing nothing (dry runs go through the very code of the write).
    pub fn rehearse<T>(&self, f: impl FnOnce(&WriteTransaction) -> Result<T>) -> Result<T> {
        self.with_db(|db| {
            let txn = db.begin_write()?;
            let value = f(&txn)?;
            txn.abort()?;
            Ok(value)
        })
    }

    /// Runs `f` in a read transaction: it sees every commit made before, deferred ones included.
    pub fn read<T>(&self, f: impl FnOnce(&ReadTransaction) -> Result<T>) -> Result<T> {
        self.with_db(|db| f(&db.begin_read()?))
    }

    /// Makes every earlier commit durable: one fsync'd commit of nothing.
    pub fn persist(&self) -> Result<(), StoreError> {
        self.with_db(|db| persist_in(db).map_err(Error::Store)).map_err(|e| match e {
            Error::Store(e) => e,
            other => StoreError::Redb(other.to_string()),
        })
    }

    /// Whether the database answers (for `/health`).
    pub fn ping(&self) -> Result<()> {
        self.read(|txn| {
            txn.open_table(META)?;
            Ok(())
        })
    }

    /// How many times the storage failed under harmy while serving (a metric).
    pub fn faults(&self) -> u64 {
        self.faults.count()
    }

    /// Runs `f` on the open database. A storage failure in it (`Unavailable`)
    /// reopens the database once `f` is done with it: redb keeps failing every
    /// call after an I/O error until then, and the reopen drops the commits the
    /// failure left undurable.
    fn with_db<T>(&self, f: impl FnOnce(&Database) -> Result<T>) -> Result<T> {
        let (result, generation) = {
            let db = self.db.read().unwrap_or_else(|e| e.into_inner());
            let generation = self.faults.generation();
            match db.as_ref() {
                Some(db) => (f(db), generation),
                None => {
                    (Err(Error::Store(StoreError::Unavailable("the database is being reopened".into()))), generation)
                }
            }
        };
        if let Err(Error::Store(StoreError::Unavailable(why))) = &result {
            self.failed(generation, why);
        }
        result
    }

    /// A migrated database in a new temporary directory (for unit tests; the
    /// directory goes when the `TempDir` is dropped).
    #[cfg(test)]
    pub(crate) fn temporary() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("harmy.redb");
        Store::migrate(&path, false).expect("migrating a new database");
        let store = Store::open(&path).expect("opening the new database");
        (dir, store)
    }

    /// The file this store is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A write transaction on `db`, committed with `durability` when `f` succeeds.
fn write_in<T>(db: &Database, durability: Durability, f: impl FnOnce(&WriteTransaction) -> Result<T>) -> Result<T> {
    let mut txn = db.begin_write()?;
    if durability == Durability::Deferred {
        txn.set_durability(redb::Durability::None).map_err(|e| StoreError::Redb(e.to_string()))?;
    }
    let value = f(&txn)?;
    txn.commit()?;
    Ok(value)
}

/// One durable commit of nothing: every earlier commit is on disk after it.
fn persist_in(db: &Database) -> Result<(), StoreError> {
    db.begin_write()?.commit()?;
    Ok(())
}

/// Creates the database file owner-only (0600), and its missing directories 0700,
/// before redb opens it: a file created readable by others and narrowed afterwards
/// could be opened by anyone in between, and an open file stays readable. An
/// existing file keeps the mode its owner gave it.
fn create_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let failed = |what: &Path, e: std::io::Error| StoreError::Redb(format!("cannot create {}: {e}", what.display()));
    if let Some(dir) = path.parent() {
        create_private_dirs(dir).map_err(|e| failed(dir, e))?;
    }
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(failed(path, e)),
    }
}

/// Creates `dir` and whichever of its parents are missing, each owner-only (0700);
/// directories that exist are left as their owner made them. The mode is set
/// outright after creating them: `mkdir`'s mode passes through the process umask,
/// which is process-wide and which the admin socket's bind narrows for a moment
/// (a directory created then would lose its search bit).
pub(crate) fn create_private_dirs(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.as_os_str().is_empty() && !d.exists()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    for created in missing {
        std::fs::set_permissions(created, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Runs a store call on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    store: &Arc<Store>,
    f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
) -> Result<T> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&store)).await.map_err(|e| Error::Internal(format!("store task: {e}")))?
}

#[cfg(test)]
mod tests;
