//! Group commit: writes that arrive together share one durable commit.
//!
//! Each write is its own redb transaction (so one refused write changes nothing
//! and leaves the others alone), committed in memory ([`Durability::Deferred`]);
//! then one durable commit makes the whole group safe on disk, and only then
//! does any writer hear that its write succeeded. A lone writer pays what a
//! direct write pays, one fsync; sixty-four concurrent writers share one
//! instead of queueing for sixty-four.
//!
//! Whoever gets the leader lock runs everything queued, its own write and those
//! that arrived while the previous group was on disk; a writer that finds its
//! write already taken has nothing left to do.
//!
//! Should the storage fail before the group is durable, the store reopens the
//! database once the group lets go of it (`faults`), which drops the group's
//! commits; each writer's report then runs on the reopened database, where it
//! can read back what is really stored.

use std::cell::{Cell, RefCell};
use std::sync::Mutex;

use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};

use super::faults::Faults;
use super::{Durability, Store, StoreError, persist_in, write_in};
use crate::error::{Error, Result};

/// Called with the outcome of the group's durable commit, in a batch of its
/// own (after a storage failure, on the reopened database: what the failure
/// dropped can be read back from there).
pub type Done = Box<dyn FnOnce(&Batch<'_>, Result<(), StoreError>) + Send>;
/// A write: runs in a group's [`Batch`] and says how to report once the group is durable.
pub type Job = Box<dyn FnOnce(&Batch<'_>) -> Done + Send>;

/// What a job may do inside a group: deferred commits, and reads that see them.
pub struct Batch<'a> {
    db: Option<&'a Database>,
    faults: &'a Faults,
    /// Whether any write committed (else there is nothing to persist).
    committed: Cell<bool>,
    /// A storage failure met in the batch, dealt with once it ends.
    failure: RefCell<Option<String>>,
}

impl Batch<'_> {
    /// Runs `f` in a write transaction committed in memory, durable once the group is.
    pub fn write<T>(&self, f: impl FnOnce(&WriteTransaction) -> Result<T>) -> Result<T> {
        self.faults.writable()?;
        let written = self.on_db(|db| write_in(db, Durability::Deferred, f));
        if written.is_ok() {
            self.committed.set(true);
        }
        written
    }

    /// Runs `f` in a read transaction, which sees the group's commits so far.
    pub fn read<T>(&self, f: impl FnOnce(&ReadTransaction) -> Result<T>) -> Result<T> {
        self.on_db(|db| f(&db.begin_read()?))
    }

    /// Makes the batch's commits durable, if it made any.
    fn persist(&self) -> Result<(), StoreError> {
        if !self.committed.get() {
            return Ok(());
        }
        match self.on_db(|db| persist_in(db).map_err(Error::Store)) {
            Ok(()) => Ok(()),
            Err(Error::Store(e)) => Err(e),
            Err(other) => Err(StoreError::Redb(other.to_string())),
        }
    }

    fn on_db<T>(&self, f: impl FnOnce(&Database) -> Result<T>) -> Result<T> {
        let result = match self.db {
            Some(db) => f(db),
            None => Err(Error::Store(StoreError::Unavailable("the database is being reopened".into()))),
        };
        if let Err(Error::Store(StoreError::Unavailable(why))) = &result {
            self.failure.borrow_mut().get_or_insert_with(|| why.clone());
        }
        result
    }
}

impl Store {
    /// Runs `f` with a batch over the database, holding it (so no reopen
    /// happens in between: a reopen would drop the batch's deferred commits
    /// under it); a storage failure met in it is dealt with after.
    pub(crate) fn batch<T>(&self, f: impl FnOnce(&Batch<'_>) -> T) -> T {
        let (out, generation, failure) = {
            let db = self.db.read().unwrap_or_else(|e| e.into_inner());
            let generation = self.faults.generation();
            let batch = Batch {
                db: db.as_ref(),
                faults: &self.faults,
                committed: Cell::new(false),
                failure: RefCell::default(),
            };
            let out = f(&batch);
            (out, generation, batch.failure.take())
        };
        if let Some(why) = failure {
            self.failed(generation, &why);
        }
        out
    }
}

/// The queue of writes and the lock of whoever commits them.
#[derive(Default)]
pub struct GroupCommit {
    queue: Mutex<Vec<Job>>,
    leader: Mutex<()>,
}

impl GroupCommit {
    /// Runs `job` in a group and reports it after the group is durable. Blocking:
    /// call it from the blocking pool.
    pub fn run(&self, store: &Store, job: Job) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).push(job);
        let _leader = self.leader.lock().unwrap_or_else(|e| e.into_inner());
        let group = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()));
        if group.is_empty() {
            return; // a previous leader ran it
        }
        store.retry_writes();
        let (reports, persisted) = store.batch(|batch| {
            let reports: Vec<Done> = group.into_iter().map(|job| job(batch)).collect();
            (reports, batch.persist())
        });
        store.batch(|batch| {
            for report in reports {
                report(batch, persisted.clone());
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use redb::{ReadableTable, TableDefinition};

    use super::*;
    use crate::error::Error;

    /// A table of the tests' own: key → value.
    const TABLE: TableDefinition<u64, u64> = TableDefinition::new("group_test");

    fn set(batch: &Batch<'_>, key: u64, value: u64) -> Result<()> {
        batch.write(|txn| {
            txn.open_table(TABLE)?.insert(key, value)?;
            Ok(())
        })
    }

    fn all(store: &Store) -> Vec<(u64, u64)> {
        store
            .read(|txn| {
                let table = txn.open_table(TABLE)?;
                let rows = table.iter()?.map(|row| row.map(|(k, v)| (k.value(), v.value())));
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .unwrap()
    }

    #[test]
    fn concurrent_writes_all_land_and_are_reported_once_each() {
        let (dir, store) = Store::temporary();
        let (store, group) = (Arc::new(store), Arc::new(GroupCommit::default()));
        let reported = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = (0..16u64)
            .map(|i| {
                let (store, group, reported) = (store.clone(), group.clone(), reported.clone());
                std::thread::spawn(move || {
                    let job: Job = Box::new(move |batch: &Batch<'_>| {
                        let set = set(batch, i, i * 10);
                        Box::new(move |_: &Batch<'_>, persisted: Result<(), StoreError>| {
                            assert!(persisted.is_ok() && set.is_ok());
                            reported.fetch_add(1, Ordering::SeqCst);
                        })
                    });
                    group.run(&store, job);
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(reported.load(Ordering::SeqCst), 16);
        // Reopened from the file: every write is on disk.
        let path = store.path().to_path_buf();
        drop(Arc::into_inner(store).expect("the writers are done"));
        let reopened = Store::open(&path).unwrap();
        assert_eq!(all(&reopened).len(), 16);
        drop(dir);
    }

    #[test]
    fn a_refused_write_changes_nothing_and_spares_its_group() {
        let (_dir, store) = Store::temporary();
        let group = GroupCommit::default();
        let ok: Job = Box::new(|batch: &Batch<'_>| {
            let set = set(batch, 1, 1);
            Box::new(move |_, _| assert!(set.is_ok()))
        });
        group.run(&store, ok);
        let refused: Job = Box::new(|batch: &Batch<'_>| {
            let set = batch.write(|txn| {
                txn.open_table(TABLE)?.insert(2, 2)?;
                Err::<(), _>(Error::Internal("over a limit".into()))
            });
            Box::new(move |_, _| assert!(set.is_err()))
        });
        let after: Job = Box::new(|batch: &Batch<'_>| {
            let set = set(batch, 3, 3);
            Box::new(move |_, _| assert!(set.is_ok()))
        });
        group.queue.lock().unwrap().push(refused);
        group.run(&store, after);
        assert_eq!(all(&store), vec![(1, 1), (3, 3)]);
    }

    #[test]
    fn a_batch_reads_its_groups_commits() {
        let (_dir, store) = Store::temporary();
        let group = GroupCommit::default();
        let job: Job = Box::new(|batch: &Batch<'_>| {
            set(batch, 5, 50).unwrap();
            let seen = batch.read(|txn| Ok(txn.open_table(TABLE)?.get(5)?.map(|v| v.value())));
            Box::new(move |_, _| assert_eq!(seen.unwrap(), Some(50)))
        });
        group.run(&store, job);
    }
}
