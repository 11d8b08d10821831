//! The storage failing under a running server: a disk full, a file-size
//! limit, a file system remounted read-only, an I/O error.
//!
//! redb answers every call after a failed write with `PreviousIo` until the
//! database is closed and opened again; commits not yet durable are then
//! dropped, and the file is back at its last durable commit. So the first
//! call that meets a failure reopens the database (once per failure: the
//! generation says whether another call already did), every writer whose
//! write was not durable is answered `Unavailable` (503 `storage_unavailable`
//! with `Retry-After`), and for [`COOL_DOWN`] after it writes are refused
//! without touching the file, so a full disk costs one reopen a second at
//! most, not one per request. Reads go on from the reopened database
//! throughout. The first write after the cool-down tries the storage again:
//! once it takes writes again, writes succeed with nothing to reset.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{Store, StoreError};
use crate::error::{Error, Result};

/// How long writes are refused after a failure before the storage is tried again.
pub const COOL_DOWN: Duration = Duration::from_secs(1);

/// `Retry-After` of a refused write: long enough that clients do not hammer a
/// full disk, short enough that writes resume soon after it is fixed.
pub const RETRY_AFTER_SECS: u64 = 5;

/// The failures met so far.
#[derive(Debug, Default)]
pub(super) struct Faults {
    /// Reopens so far: a failure seen on an older generation was already dealt with.
    generation: AtomicU64,
    /// Failures so far.
    count: AtomicU64,
    /// When the last one happened.
    last: Mutex<Option<Instant>>,
}

impl Faults {
    /// The database's generation, read while holding it.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Failures so far.
    pub(super) fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// `Unavailable` while the last failure is more recent than [`COOL_DOWN`].
    pub(super) fn writable(&self) -> Result<()> {
        let last = *self.last.lock().unwrap_or_else(|e| e.into_inner());
        match last {
            Some(at) if at.elapsed() < COOL_DOWN => Err(Error::Store(StoreError::Unavailable(
                "the storage failed under an earlier write; it is tried again shortly".into(),
            ))),
            _ => Ok(()),
        }
    }
}

impl Store {
    /// A call on the database of `generation` met a storage failure: reopen it,
    /// unless another call has already.
    pub(super) fn failed(&self, generation: u64, why: &str) {
        let mut db = self.db.write().unwrap_or_else(|e| e.into_inner());
        if self.faults.generation() != generation && db.is_some() {
            return; // reopened since
        }
        if db.is_none() && self.faults.writable().is_err() {
            return; // the last reopen failed a moment ago: not again yet
        }
        *self.faults.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        self.faults.count.fetch_add(1, Ordering::Relaxed);
        // Closing a database after a failure writes nothing: the file stays as the
        // last durable commit left it, for the open below to recover.
        drop(db.take());
        match Store::reopen_file(&self.path) {
            Ok(reopened) => {
                *db = Some(reopened);
                tracing::error!(
                    database = %self.path.display(),
                    "the database could not be written ({why}): the writes not yet on disk were refused \
                     (503 storage_unavailable), reads go on; writes are tried again from {} s on",
                    COOL_DOWN.as_secs()
                );
            }
            Err(e) => tracing::error!(
                database = %self.path.display(),
                "the database could not be written ({why}), nor opened again ({e}): reads and writes that \
                 need the file are refused until it can be"
            ),
        }
        self.faults.generation.fetch_add(1, Ordering::AcqRel);
    }
}
