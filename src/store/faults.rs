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
//! most, not one per request.
//!
//! Reads go on from the reopened database throughout. When the file cannot
//! even be opened for writing again (a read-only file system refuses the open,
//! or the recovery's own header write), it is opened for reads only through
//! the trial's overlay (`trial::read_only`), at its last durable commit;
//! writes then stay refused, and the first write after each cool-down tries a
//! real reopen. Once the storage takes writes again, writes succeed with
//! nothing to reset.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redb::Database;

use super::{Store, StoreError, trial};
use crate::error::{Error, Result};

/// How long writes are refused after a failure before the storage is tried again.
pub const COOL_DOWN: Duration = Duration::from_secs(1);

/// `Retry-After` of a refused write: long enough that clients do not hammer a
/// full disk, short enough that writes resume soon after it is fixed.
pub const RETRY_AFTER_SECS: u64 = 5;

/// The failures met so far, and what the database is now.
#[derive(Debug, Default)]
pub(super) struct Faults {
    /// Reopens so far: a failure seen on an older generation was already dealt with.
    generation: AtomicU64,
    /// Failures so far.
    count: AtomicU64,
    /// When the last failure (or failed reopen) happened.
    last: Mutex<Option<Instant>>,
    /// The open database is the read-only fallback: no write may reach it.
    read_only: AtomicBool,
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

    /// `Unavailable` while writes cannot go to the file: within [`COOL_DOWN`] of
    /// the last failure, or while only the read-only fallback is open.
    pub(super) fn writable(&self) -> Result<()> {
        if self.cooling() {
            return Err(unavailable("the storage failed under an earlier write; it is tried again shortly"));
        }
        if self.read_only.load(Ordering::Acquire) {
            return Err(unavailable("the database file cannot be opened for writing"));
        }
        Ok(())
    }

    fn cooling(&self) -> bool {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).is_some_and(|at| at.elapsed() < COOL_DOWN)
    }

    fn mark(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }
}

fn unavailable(why: &str) -> Error {
    Error::Store(StoreError::Unavailable(why.into()))
}

impl Store {
    /// Before writing: when only the read-only fallback (or nothing) is open and
    /// the cool-down is over, tries to open the file for writing again. Call it
    /// without holding the database.
    pub(super) fn retry_writes(&self) {
        let degraded = self.faults.read_only.load(Ordering::Acquire)
            || self.db.read().unwrap_or_else(|e| e.into_inner()).is_none();
        if !degraded || self.faults.cooling() {
            return;
        }
        let mut db = self.db.write().unwrap_or_else(|e| e.into_inner());
        if self.faults.cooling() {
            return; // another writer just tried
        }
        self.reopen(&mut db, "retrying writes");
    }

    /// A call on the database of `generation` met a storage failure: reopen it,
    /// unless another call has already. Call it without holding the database.
    pub(super) fn failed(&self, generation: u64, why: &str) {
        let mut db = self.db.write().unwrap_or_else(|e| e.into_inner());
        if self.faults.generation() != generation && db.is_some() {
            return; // reopened since
        }
        if db.is_none() && self.faults.cooling() {
            return; // the last reopen failed a moment ago: not again yet
        }
        self.faults.count.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            database = %self.path.display(),
            "the database could not be written ({why}): the writes not yet on disk were refused \
             (503 storage_unavailable); reads go on"
        );
        self.reopen(&mut db, why);
    }

    /// Closes the database and opens the file again: for writing if it can be,
    /// else for reads only at its last durable commit, else not at all.
    fn reopen(&self, db: &mut Option<Database>, why: &str) {
        self.faults.mark();
        // Closing a database after a failure writes nothing: the file stays as the
        // last durable commit left it, for the open below to recover.
        drop(db.take());
        let (reopened, read_only) = match Store::reopen_file(&self.path) {
            Ok(writable) => {
                tracing::info!(database = %self.path.display(), "the database is open for writing again");
                (Some(writable), false)
            }
            Err(e) => match trial::read_only(&self.path) {
                Ok(readable) => {
                    tracing::error!(
                        database = %self.path.display(),
                        "the database cannot be opened for writing ({e}); reads are served from its last \
                         durable state, writes are refused and tried again every {} s",
                        COOL_DOWN.as_secs()
                    );
                    (Some(readable), true)
                }
                Err(e) => {
                    tracing::error!(
                        database = %self.path.display(),
                        "the database cannot be opened again after \"{why}\" ({e}): what needs the file is \
                         refused until it can be"
                    );
                    (None, false)
                }
            },
        };
        *db = reopened;
        self.faults.read_only.store(read_only, Ordering::Release);
        self.faults.generation.fetch_add(1, Ordering::AcqRel);
    }
}
