//! The redb store: opening the file with its schema check, migrations, every
//! table's definition (`tables`), transactions with an explicit durability, and
//! the group commit that lets concurrent writers share one fsync (`group`).
//! The rows themselves are read and written by the domain services, each in
//! its own `data.rs` (`app::kv`, `app::tokens`, `app::github`). Every call is
//! blocking; async code goes through [`blocking`].

pub(crate) mod group;
pub(crate) mod migrations;
pub(crate) mod tables;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, DatabaseError, ReadTransaction, ReadableDatabase, WriteTransaction};

use crate::error::{Error, Result};
use migrations::{CURRENT_VERSION, MIGRATIONS};
use tables::META;

const SCHEMA_KEY: &str = "schema_version";
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
    /// Anything redb reports.
    #[error("database error: {0}")]
    Redb(String),
}

macro_rules! redb_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Redb(redb::Error::from(e).to_string())
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
redb_errors!(redb::Error, redb::TransactionError, redb::TableError, redb::StorageError, redb::CommitError);

/// The open database.
pub struct Store {
    db: Database,
    path: PathBuf,
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
    /// Runs `f` in a write transaction, committed with `durability` when `f`
    /// succeeds; an error from `f` aborts it, so a refused write changes nothing.
    pub fn write<T>(&self, durability: Durability, f: impl FnOnce(&WriteTransaction) -> Result<T>) -> Result<T> {
        let mut txn = self.db.begin_write()?;
        if durability == Durability::Deferred {
            txn.set_durability(redb::Durability::None).map_err(|e| StoreError::Redb(e.to_string()))?;
        }
        let value = f(&txn)?;
        txn.commit()?;
        Ok(value)
    }

    /// Runs `f` in a write transaction that is then aborted: what a write would
    /// do, changing nothing (dry runs go through the very code of the write).
    pub fn rehearse<T>(&self, f: impl FnOnce(&WriteTransaction) -> Result<T>) -> Result<T> {
        let txn = self.db.begin_write()?;
        let value = f(&txn)?;
        txn.abort()?;
        Ok(value)
    }

    /// Runs `f` in a read transaction: it sees every commit made before, deferred ones included.
    pub fn read<T>(&self, f: impl FnOnce(&ReadTransaction) -> Result<T>) -> Result<T> {
        f(&self.db.begin_read()?)
    }

    /// Makes every earlier commit durable: one fsync'd commit of nothing.
    pub fn persist(&self) -> Result<(), StoreError> {
        self.db.begin_write()?.commit()?;
        Ok(())
    }

    /// Whether the database answers (for `/health`).
    pub fn ping(&self) -> Result<()> {
        self.read(|txn| {
            txn.open_table(META)?;
            Ok(())
        })
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

    /// Opens an existing database at the current schema, refusing any other.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        let store = Self::open_file(path, false)?;
        match store.schema_version()? {
            v if v == CURRENT_VERSION => Ok(store),
            v if v > CURRENT_VERSION => {
                Err(StoreError::TooNew { path: path.into(), found: v, supported: CURRENT_VERSION })
            }
            v => Err(StoreError::NeedsMigration { path: path.into(), found: v, expected: CURRENT_VERSION }),
        }
    }

    /// The file this store is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates or upgrades the database; returns what was (or, dry, would be) done.
    pub fn migrate(path: &Path, dry_run: bool) -> Result<Vec<String>, StoreError> {
        let mut done = Vec::new();
        let exists = path.exists() && std::fs::metadata(path).map(|m| m.len() > 0).unwrap_or(false);
        let found = if exists {
            Self::open_file(path, false)?.schema_version()?
        } else {
            done.push(format!("create database {}", path.display()));
            0
        };
        if found > CURRENT_VERSION {
            return Err(StoreError::TooNew { path: path.into(), found, supported: CURRENT_VERSION });
        }
        let pending: Vec<_> = MIGRATIONS.iter().filter(|m| m.version > found).collect();
        done.extend(pending.iter().map(|m| format!("schema {}: {}", m.version, m.description)));
        if dry_run || pending.is_empty() {
            return Ok(done);
        }
        let store = Self::open_file(path, true)?;
        for migration in pending {
            let txn = store.db.begin_write()?;
            (migration.apply)(&txn)?;
            txn.open_table(META)?.insert(SCHEMA_KEY, migration.version)?;
            txn.commit()?;
        }
        Ok(done)
    }

    fn open_file(path: &Path, create: bool) -> Result<Store, StoreError> {
        let mut builder = Database::builder();
        builder.set_cache_size(CACHE_BYTES);
        let result = if create {
            create_private(path)?;
            builder.create(path)
        } else {
            builder.open(path)
        };
        let db = result.map_err(|e| match e {
            DatabaseError::DatabaseAlreadyOpen => StoreError::Locked(path.into()),
            DatabaseError::Storage(redb::StorageError::Io(io)) => {
                StoreError::Redb(format!("cannot open {}: {io}", path.display()))
            }
            other => StoreError::Redb(format!("cannot open {}: {}", path.display(), redb::Error::from(other))),
        })?;
        Ok(Store { db, path: path.into() })
    }

    /// The schema version recorded in the file (0 when none).
    fn schema_version(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read()?;
        let table = match txn.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        Ok(table.get(SCHEMA_KEY)?.map(|v| v.value()).unwrap_or(0))
    }

    /// Writes a schema version directly, to fake an old or a newer file (tests).
    #[cfg(any(test, feature = "testing"))]
    pub fn force_schema_version(path: &Path, version: u64) -> Result<(), StoreError> {
        let store = Self::open_file(path, true)?;
        let txn = store.db.begin_write()?;
        txn.open_table(META)?.insert(SCHEMA_KEY, version)?;
        txn.commit()?;
        Ok(())
    }
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
