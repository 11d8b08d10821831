//! The in-memory presence cache (SPEC §3). Placeholder surface: the gateway
//! issue fills it from twilight events; readers use `get` and `monitored_count`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use crate::ids::UserId;

/// A monitored user's presence, already serialised for the two API shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct PresenceView {
    /// The `presence` object of `GET /user/:id` (api.harmy.gg shape).
    pub native: Bytes,
    /// Lanyard's presence object without `kv` and `github` (a complete JSON object).
    pub lanyard: Bytes,
}

/// Every monitored user's presence.
#[derive(Default)]
pub struct Presences {
    users: RwLock<HashMap<UserId, Arc<PresenceView>>>,
}

impl Presences {
    /// The current view of a monitored user; `None` when not monitored.
    pub fn get(&self, user: UserId) -> Option<Arc<PresenceView>> {
        self.users.read().unwrap_or_else(|e| e.into_inner()).get(&user).cloned()
    }

    /// How many users are monitored.
    pub fn monitored_count(&self) -> usize {
        self.users.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Sets a user's view.
    pub fn insert_view(&self, user: UserId, view: PresenceView) {
        self.users.write().unwrap_or_else(|e| e.into_inner()).insert(user, Arc::new(view));
    }

    /// Forgets a user; true when they were monitored.
    pub fn remove(&self, user: UserId) -> bool {
        self.users.write().unwrap_or_else(|e| e.into_inner()).remove(&user).is_some()
    }
}
