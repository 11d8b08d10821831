//! The stored tier: each user's stored public state (KV pairs and GitHub
//! profile) rendered as the JSON the API shows, so that rendering a body needs
//! no store read.
//!
//! * Users with nothing stored (most of them) are not in the map: theirs is
//!   [`Stored::none`] at once. The map is filled at start with every user
//!   that has something stored, as `Unread`.
//! * A reader that finds `Unread` reads the store and keeps what it read, but
//!   only if the entry is still `Unread`: a write that refreshed it meanwhile
//!   wins.
//! * Writers refresh an entry from the committed state inside the group commit
//!   (`app::writes`), one write at a time, so the newest render is the one kept.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use redb::ReadTransaction;
use serde_json::value::RawValue;

use crate::error::Result;
use crate::ids::UserId;
use crate::sharded::ShardedMap;
use crate::store::Store;
use crate::store::group::Batch;

/// A user's stored public state, serialised: `KV` and `github`.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The KV pairs as a JSON object.
    pub kv: Box<RawValue>,
    /// The linked GitHub profile as JSON, or `null`.
    pub github: Box<RawValue>,
}

impl PartialEq for Stored {
    fn eq(&self, other: &Stored) -> bool {
        self.kv.get() == other.kv.get() && self.github.get() == other.github.get()
    }
}

impl Stored {
    /// The stored state of a user with nothing stored, shared by all of them.
    pub fn none() -> Arc<Stored> {
        static NONE: LazyLock<Arc<Stored>> = LazyLock::new(|| {
            let empty = RawValue::from_string("{}".into()).expect("constant JSON");
            Arc::new(Stored { kv: empty, github: RawValue::NULL.to_owned() })
        });
        NONE.clone()
    }
}

/// Reads a user's stored state in a transaction: the KV and GitHub services' renders,
/// put together by `App` (the read path knows no domain's tables).
pub type Loader = Box<dyn Fn(&ReadTransaction, UserId) -> Result<Stored> + Send + Sync>;

enum Slot {
    /// Something is stored; not read yet.
    Unread,
    /// What is stored, rendered.
    Loaded(Arc<Stored>),
}

/// The rendered stored state of the users that have any.
pub(super) struct StoredTier {
    slots: ShardedMap<UserId, Slot>,
    load: Loader,
}

impl StoredTier {
    /// The tier for the users of `stored`, each read when first asked for.
    pub(super) fn new(load: Loader, stored: HashSet<UserId>) -> StoredTier {
        let slots = ShardedMap::default();
        for user in stored {
            slots.insert(user, Slot::Unread);
        }
        StoredTier { slots, load }
    }

    /// The user's stored state when no store read is needed.
    pub(super) fn now(&self, user: UserId) -> Option<Arc<Stored>> {
        match self.slots.read(&user).get(&user) {
            None => Some(Stored::none()),
            Some(Slot::Loaded(stored)) => Some(stored.clone()),
            Some(Slot::Unread) => None,
        }
    }

    /// The user's stored state, read from the store if needed and then kept (`keep`) or
    /// not. Blocking: call it on the blocking pool.
    pub(super) fn get(&self, store: &Store, user: UserId, keep: bool) -> Result<Arc<Stored>> {
        if let Some(stored) = self.now(user) {
            return Ok(stored);
        }
        let loaded = Arc::new(store.read(|txn| (self.load)(txn, user))?);
        if !keep {
            return Ok(loaded);
        }
        let mut shard = self.slots.write(&user);
        Ok(match shard.get_mut(&user) {
            Some(slot @ Slot::Unread) => {
                *slot = Slot::Loaded(loaded.clone());
                loaded
            }
            Some(Slot::Loaded(newer)) => newer.clone(),
            // Everything was deleted meanwhile.
            None => Stored::none(),
        })
    }

    /// Keeps `stored` as the user's stored state (a read replica's, published by the primary).
    pub(super) fn set(&self, user: UserId, stored: Stored) {
        let mut shard = self.slots.write(&user);
        if stored == *Stored::none() {
            shard.remove(&user);
        } else {
            shard.insert(user, Slot::Loaded(Arc::new(stored)));
        }
    }

    /// Renders the user's stored state from the state `batch` committed, and keeps
    /// them; true when they differ from what was kept (or nothing was).
    pub(super) fn refresh(&self, batch: &Batch<'_>, user: UserId) -> Result<bool> {
        let fresh = batch.read(|txn| (self.load)(txn, user))?;
        let mut shard = self.slots.write(&user);
        let previous = if fresh == *Stored::none() {
            shard.remove(&user)
        } else {
            shard.insert(user, Slot::Loaded(Arc::new(fresh.clone())))
        };
        Ok(match previous {
            Some(Slot::Loaded(old)) => *old != fresh,
            None => fresh != *Stored::none(),
            Some(Slot::Unread) => true,
        })
    }
}
