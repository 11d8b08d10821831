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

use std::sync::Mutex;

use redb::{ReadTransaction, WriteTransaction};

use super::{Durability, Store, StoreError};
use crate::error::Result;

/// Called with the outcome of the group's durable commit.
pub type Done = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// A write: runs in a group's [`Batch`] and says how to report once the group is durable.
pub type Job = Box<dyn FnOnce(&Batch<'_>) -> Done + Send>;

/// What a job may do inside a group: deferred commits, and reads that see them.
pub struct Batch<'a> {
    store: &'a Store,
}

impl Batch<'_> {
    /// Runs `f` in a write transaction committed in memory, durable once the group is.
    pub fn write<T>(&self, f: impl FnOnce(&WriteTransaction) -> Result<T>) -> Result<T> {
        self.store.write(Durability::Deferred, f)
    }

    /// Runs `f` in a read transaction, which sees the group's commits so far.
    pub fn read<T>(&self, f: impl FnOnce(&ReadTransaction) -> Result<T>) -> Result<T> {
        self.store.read(f)
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
        let batch = Batch { store };
        let reports: Vec<Done> = group.into_iter().map(|job| job(&batch)).collect();
        let persisted = store.persist();
        for report in reports {
            report(persisted.clone());
        }
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
                        Box::new(move |persisted: Result<(), StoreError>| {
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
            Box::new(move |_| assert!(set.is_ok()))
        });
        group.run(&store, ok);
        let refused: Job = Box::new(|batch: &Batch<'_>| {
            let set = batch.write(|txn| {
                txn.open_table(TABLE)?.insert(2, 2)?;
                Err::<(), _>(Error::Internal("over a limit".into()))
            });
            Box::new(move |_| assert!(set.is_err()))
        });
        let after: Job = Box::new(|batch: &Batch<'_>| {
            let set = set(batch, 3, 3);
            Box::new(move |_| assert!(set.is_ok()))
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
            Box::new(move |_| assert_eq!(seen.unwrap(), Some(50)))
        });
        group.run(&store, job);
    }
}
