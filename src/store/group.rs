//! Group commit: writes that arrive together share one durable commit.
//!
//! Each write is its own redb transaction (so one refused write changes nothing
//! and leaves the others alone), committed in memory; then one durable commit
//! makes the whole group safe on disk, and only then does any writer hear that
//! its write succeeded. A lone writer pays what it paid before, one fsync;
//! sixty-four concurrent writers share one instead of queueing for sixty-four.
//!
//! Whoever gets the leader lock runs everything queued, its own write and those
//! that arrived while the previous group was on disk; a writer that finds its
//! write already taken has nothing left to do.

use std::sync::Mutex;

use super::{Store, StoreError};

/// Called with the outcome of the group's durable commit.
pub type Done = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// A write: runs against the store (its commits deferred) and says how to report.
pub type Job = Box<dyn FnOnce(&Store) -> Done + Send>;

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
        let reports: Vec<Done> = store.deferred(|| group.into_iter().map(|job| job(store)).collect());
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

    use super::*;
    use crate::ids::UserId;

    #[test]
    fn concurrent_writes_all_land_and_are_reported_once_each() {
        let (dir, store) = Store::temporary();
        let (store, group) = (Arc::new(store), Arc::new(GroupCommit::default()));
        let reported = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = (0..16u64)
            .map(|i| {
                let (store, group, reported) = (store.clone(), group.clone(), reported.clone());
                std::thread::spawn(move || {
                    let job: Job = Box::new(move |store: &Store| {
                        let set = store.kv_set(
                            UserId(7),
                            &[(format!("k{i}"), format!("v{i}"))],
                            &crate::kv::KvLimits { max_keys: 100, ..Default::default() },
                        );
                        Box::new(move |persisted: Result<(), StoreError>| {
                            assert!(persisted.is_ok() && matches!(set, Ok(Ok(()))));
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
        assert_eq!(reopened.kv_all(UserId(7)).unwrap().len(), 16);
        drop(dir);
    }

    #[test]
    fn a_refused_write_changes_nothing_and_spares_its_group() {
        let (_dir, store) = Store::temporary();
        let group = GroupCommit::default();
        let ok: Job = Box::new(|store: &Store| {
            let set = store.kv_set(
                UserId(1),
                &[("a".into(), "1".into())],
                &crate::kv::KvLimits { max_keys: 1, ..Default::default() },
            );
            Box::new(move |_| assert!(matches!(set, Ok(Ok(())))))
        });
        group.run(&store, ok);
        let over: Job = Box::new(|store: &Store| {
            let set = store.kv_set(
                UserId(1),
                &[("b".into(), "2".into())],
                &crate::kv::KvLimits { max_keys: 1, ..Default::default() },
            );
            Box::new(move |_| assert!(matches!(set, Ok(Err(_))), "over the key limit"))
        });
        group.run(&store, over);
        assert_eq!(store.kv_all(UserId(1)).unwrap(), vec![("a".to_string(), "1".to_string())]);
    }

    #[test]
    fn the_deferred_flag_ends_with_its_closure_even_on_a_panic() {
        let (_dir, store) = Store::temporary();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store.deferred(|| panic!("boom"))));
        assert!(panicked.is_err());
        assert!(!super::super::DEFERRED.get());
        store.deferred(|| assert!(super::super::DEFERRED.get()));
        assert!(!super::super::DEFERRED.get());
    }
}
