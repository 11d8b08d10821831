//! The extras tier: each user's stored public state (KV pairs and GitHub
//! profile) rendered as the JSON the API shows, so that composing a body needs
//! no store read.
//!
//! * Users with nothing stored (most of them) are not in the map: their extras
//!   are [`Extras::none`] at once. The map is filled at start with every user
//!   that has something stored, as `Stored` (not read yet).
//! * A reader that finds `Stored` reads the store and keeps what it read, but
//!   only if the entry is still `Stored`: a write that refreshed it meanwhile
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
pub struct Extras {
    /// The KV pairs as a JSON object.
    pub kv: Box<RawValue>,
    /// The linked GitHub profile as JSON, or `null`.
    pub github: Box<RawValue>,
}

impl PartialEq for Extras {
    fn eq(&self, other: &Extras) -> bool {
        self.kv.get() == other.kv.get() && self.github.get() == other.github.get()
    }
}

impl Extras {
    /// The extras of a user with nothing stored, shared by all of them.
    pub fn none() -> Arc<Extras> {
        static NONE: LazyLock<Arc<Extras>> = LazyLock::new(|| {
            let empty = RawValue::from_string("{}".into()).expect("constant JSON");
            Arc::new(Extras { kv: empty, github: RawValue::NULL.to_owned() })
        });
        NONE.clone()
    }
}

/// Reads a user's extras in a transaction: the KV and GitHub services' renders,
/// put together by `App` (the read path knows no domain's tables).
pub type Loader = Box<dyn Fn(&ReadTransaction, UserId) -> Result<Extras> + Send + Sync>;

enum Slot {
    /// Something is stored; not read yet.
    Stored,
    /// What is stored, rendered.
    Loaded(Arc<Extras>),
}

/// The rendered extras of the users that have any.
pub(super) struct ExtrasTier {
    slots: ShardedMap<UserId, Slot>,
    load: Loader,
}

impl ExtrasTier {
    /// The tier for the users of `stored`, each read when first asked for.
    pub(super) fn new(load: Loader, stored: HashSet<UserId>) -> ExtrasTier {
        let slots = ShardedMap::default();
        for user in stored {
            slots.insert(user, Slot::Stored);
        }
        ExtrasTier { slots, load }
    }

    /// The user's extras when no store read is needed.
    pub(super) fn now(&self, user: UserId) -> Option<Arc<Extras>> {
        match self.slots.read(&user).get(&user) {
            None => Some(Extras::none()),
            Some(Slot::Loaded(extras)) => Some(extras.clone()),
            Some(Slot::Stored) => None,
        }
    }

    /// The user's extras, read from the store if needed and then kept (`keep`) or
    /// not. Blocking: call it on the blocking pool.
    pub(super) fn get(&self, store: &Store, user: UserId, keep: bool) -> Result<Arc<Extras>> {
        if let Some(extras) = self.now(user) {
            return Ok(extras);
        }
        let loaded = Arc::new(store.read(|txn| (self.load)(txn, user))?);
        if !keep {
            return Ok(loaded);
        }
        let mut shard = self.slots.write(&user);
        Ok(match shard.get_mut(&user) {
            Some(slot @ Slot::Stored) => {
                *slot = Slot::Loaded(loaded.clone());
                loaded
            }
            Some(Slot::Loaded(newer)) => newer.clone(),
            // Everything was deleted meanwhile.
            None => Extras::none(),
        })
    }

    /// Renders the user's extras from the state `batch` committed, and keeps
    /// them; true when they differ from what was kept (or nothing was).
    pub(super) fn refresh(&self, batch: &Batch<'_>, user: UserId) -> Result<bool> {
        let fresh = batch.read(|txn| (self.load)(txn, user))?;
        let mut shard = self.slots.write(&user);
        let previous = if fresh == *Extras::none() {
            shard.remove(&user)
        } else {
            shard.insert(user, Slot::Loaded(Arc::new(fresh.clone())))
        };
        Ok(match previous {
            Some(Slot::Loaded(old)) => *old != fresh,
            None => fresh != *Extras::none(),
            Some(Slot::Stored) => true,
        })
    }
}
