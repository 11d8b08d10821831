//! Opening the database file: the schema check, migrations, and the answers
//! for a file harmy cannot use. Every open first tries the file without
//! writing it (`trial`): a damaged file is refused and left exactly as it was
//! found, never "repaired" further or read into a panic; a file that cannot
//! be read or written is named with what is wrong.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::Path;

use redb::{Database, DatabaseError, ReadableDatabase};

use super::migrations::{CURRENT_VERSION, MIGRATIONS};
use super::tables::META;
use super::trial::{self, Trial};
use super::{CACHE_BYTES, Store, StoreError};

pub(super) const SCHEMA_KEY: &str = "schema_version";

impl Store {
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
        let db = store.db.read().unwrap_or_else(|e| e.into_inner());
        let db = db.as_ref().ok_or_else(|| StoreError::Unavailable("the database is not open".into()))?;
        for migration in pending {
            let txn = db.begin_write()?;
            (migration.apply)(&txn)?;
            txn.open_table(META)?.insert(SCHEMA_KEY, migration.version)?;
            txn.commit()?;
        }
        Ok(done)
    }

    /// An empty database at the current schema that lives in memory only: a
    /// read replica's, which stores nothing (its state comes from the primary)
    /// but runs the same services as the primary over it.
    pub fn in_memory() -> Result<Store, StoreError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|e| StoreError::Redb(e.to_string()))?;
        for migration in MIGRATIONS {
            let txn = db.begin_write()?;
            (migration.apply)(&txn)?;
            txn.open_table(META)?.insert(SCHEMA_KEY, migration.version)?;
            txn.commit()?;
        }
        Ok(Store::new(db, Path::new(":memory:")))
    }

    /// Opens (or, with `create`, creates) the file, after a trial that writes nothing.
    pub(super) fn open_file(path: &Path, create: bool) -> Result<Store, StoreError> {
        if create {
            super::create_private(path)?;
        }
        let file = open_read_write(path)?;
        if file.metadata().map(|m| m.len() > 0).unwrap_or(true) {
            trial::check(path, file).map_err(|trial| match trial {
                Trial::Damaged(detail) => StoreError::Damaged { path: path.into(), detail },
                Trial::Refused(e) => refused(path, e),
            })?;
        }
        Ok(Store::new(open_database(path, create)?, path))
    }

    /// The database again after a storage failure, from what is durable in the
    /// file (the trial is not run again: the file was sound at start, and a
    /// failed write leaves redb's commit slots for its recovery to choose from).
    pub(super) fn reopen_file(path: &Path) -> Result<Database, StoreError> {
        open_database(path, false)
    }

    /// The schema version recorded in the file (0 when none).
    pub(super) fn schema_version(&self) -> Result<u64, StoreError> {
        let db = self.db.read().unwrap_or_else(|e| e.into_inner());
        let db = db.as_ref().ok_or_else(|| StoreError::Unavailable("the database is not open".into()))?;
        let txn = db.begin_read()?;
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
        let db = store.db.read().unwrap_or_else(|e| e.into_inner());
        let txn = db.as_ref().expect("just opened").begin_write()?;
        txn.open_table(META)?.insert(SCHEMA_KEY, version)?;
        txn.commit()?;
        Ok(())
    }
}

/// The file opened as harmy needs it, or what is wrong with it in words.
fn open_read_write(path: &Path) -> Result<File, StoreError> {
    let problem = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => return Ok(file),
        Err(e) => e,
    };
    let readable = OpenOptions::new().read(true).open(path).is_ok();
    let what = match (problem.kind(), readable) {
        (ErrorKind::ReadOnlyFilesystem, _) => "is on a read-only file system; harmy must write it".to_string(),
        (ErrorKind::PermissionDenied, true) => format!(
            "is read-only to harmy ({problem}); harmy must write it: make it writable by the user harmy runs as \
             (uid {})",
            effective_uid()
        ),
        (ErrorKind::PermissionDenied, false) => format!(
            "cannot be read ({problem}); make it readable and writable by the user harmy runs as (uid {})",
            effective_uid()
        ),
        (ErrorKind::IsADirectory, _) => "is a directory, not a database file".to_string(),
        _ => format!("cannot be opened: {problem}"),
    };
    Err(StoreError::Inaccessible { path: path.into(), problem: what })
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The database itself, opened or created by redb.
fn open_database(path: &Path, create: bool) -> Result<Database, StoreError> {
    let mut builder = Database::builder();
    builder.set_cache_size(CACHE_BYTES);
    let result = if create { builder.create(path) } else { builder.open(path) };
    result.map_err(|e| refused(path, e))
}

/// A redb refusal to open, as the operator reads it.
fn refused(path: &Path, e: DatabaseError) -> StoreError {
    match e {
        DatabaseError::DatabaseAlreadyOpen => StoreError::Locked(path.into()),
        DatabaseError::Storage(redb::StorageError::Corrupted(detail)) => {
            StoreError::Damaged { path: path.into(), detail }
        }
        DatabaseError::Storage(redb::StorageError::Io(io)) => {
            StoreError::Inaccessible { path: path.into(), problem: format!("cannot be opened: {io}") }
        }
        other => StoreError::Redb(format!("cannot open {}: {}", path.display(), redb::Error::from(other))),
    }
}
