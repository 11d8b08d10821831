//! The read path: a user's public state (presence, KV, GitHub) as the bodies
//! the API serves. Every read of `GET /user/:id`, `GET /v1/users/:id`, a bulk
//! lookup, the page, a socket push or an INIT_STATE goes through [`Reads::get`].
//!
//! Two tiers sit between the state and the bodies:
//!
//! 1. **Stored** (`stored`): the KV pairs and GitHub profile rendered as
//!    JSON, refreshed by every write inside the group commit; users with
//!    nothing stored need no entry and no store read.
//! 2. **Published bodies**: per user, the native body (its ETag made on first
//!    use) and the Lanyard presence object (the Lanyard body made from it on
//!    first use), rendered once per change from the presence and the stored
//!    state; an unchanged user is served from here with one read lock and no
//!    rendering (docs/BENCHMARKS.md, "Consolidation", says what each tier buys).
//!
//! **Invariant.** Every kept body carries the user's change-feed version read
//! before its parts were, and is served only while that version is current.
//! Every change of a user's public state marks the feed once it is visible
//! (the presence service on every change, `app::writes` once a write is
//! durable), so once a change is acknowledged no reader can be served a body
//! older than it. `tests.rs` checks this with readers and writers racing.

mod stored;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::HeaderValue;
use serde::Serialize;
use serde_json::value::RawValue;

use self::stored::StoredTier;
pub use self::stored::{Loader, Stored};
use super::changes::ChangeFeed;
use super::presence::Presences;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::sharded::ShardedMap;
use crate::store::Store;
use crate::store::group::Batch;

/// Which of a user's two bodies: the native shape or Lanyard's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `GET /user/:id`: `{"presence":…,"KV":…,"github":…}`
    Native,
    /// `GET /v1/users/:id`: `{"success":true,"data":…}`
    Lanyard,
}

/// What a read keeps for the next reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The bodies, and the stored state read from the store: a user read over HTTP is read again.
    Bodies,
    /// The stored state only: a socket push, made once per change; keeping its bodies
    /// would leave every changed user's in memory while anyone watches everyone.
    Stored,
    /// Nothing: one read of many users (an INIT_STATE), which would otherwise
    /// leave every user's bodies and stored state in memory.
    Nothing,
}

/// JSON the read path rendered, shared: written into larger documents as it
/// is (`raw`), or sent as a body without a copy (`bytes`).
#[derive(Debug, Clone)]
pub struct Json(Arc<RawValue>);

impl Json {
    fn new(raw: Box<RawValue>) -> Json {
        Json(Arc::from(raw))
    }

    /// The JSON, for serialising into a larger document.
    pub fn raw(&self) -> &RawValue {
        &self.0
    }

    /// The JSON's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.get().as_bytes()
    }

    /// The JSON's bytes, sharing its memory.
    pub fn bytes(&self) -> Bytes {
        Bytes::from_owner(self.clone())
    }
}

impl AsRef<RawValue> for Json {
    fn as_ref(&self) -> &RawValue {
        &self.0
    }
}

impl AsRef<[u8]> for Json {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// A response body: its JSON, and (made on first use) the bytes to send and
/// their strong ETag.
#[derive(Debug)]
pub struct Body {
    json: Json,
    sent: OnceLock<(Bytes, HeaderValue)>,
}

impl Body {
    fn new(raw: Box<RawValue>) -> Body {
        Body { json: Json::new(raw), sent: OnceLock::new() }
    }

    /// The JSON, for serialising into a larger document.
    pub fn json(&self) -> &Json {
        &self.json
    }

    /// The bytes to send, sharing the JSON's memory.
    pub fn bytes(&self) -> Bytes {
        self.sent().0.clone()
    }

    /// A hash of the exact bytes, quoted.
    pub fn etag(&self) -> &HeaderValue {
        &self.sent().1
    }

    fn sent(&self) -> &(Bytes, HeaderValue) {
        self.sent.get_or_init(|| (self.json.bytes(), crate::etag::of(self.json.as_bytes())))
    }
}

/// One user's bodies, current while the user's version is `version`.
#[derive(Debug)]
pub struct Published {
    version: u64,
    native: Body,
    /// The Lanyard presence object with `kv` and `github` (the socket's `d`).
    pub lanyard_data: Json,
    /// `{"success":true,"data":…}`, made on first use (sockets need only `data`).
    lanyard: OnceLock<Body>,
}

impl Published {
    /// One of the two bodies.
    pub fn body(&self, shape: Shape) -> &Body {
        match shape {
            Shape::Native => &self.native,
            Shape::Lanyard => self.lanyard.get_or_init(|| {
                #[derive(Serialize)]
                struct Envelope<'a> {
                    success: bool,
                    data: &'a RawValue,
                }
                let envelope = Envelope { success: true, data: self.lanyard_data.raw() };
                // A bool and raw JSON: serialising into memory cannot fail.
                Body::new(serde_json::value::to_raw_value(&envelope).unwrap_or_else(|_| RawValue::NULL.to_owned()))
            }),
        }
    }

    /// The user's part of a bulk response and its ETag: the whole body of the
    /// single lookup in the native shape, its `data` in Lanyard's. The ETag is the
    /// single lookup's (its body is a function of this part).
    pub fn part(&self, shape: Shape) -> (&RawValue, &HeaderValue) {
        match shape {
            Shape::Native => (self.native.json.raw(), self.native.etag()),
            Shape::Lanyard => (self.lanyard_data.raw(), self.body(Shape::Lanyard).etag()),
        }
    }
}

/// The read path of every user's public state.
pub struct Reads {
    presences: Arc<Presences>,
    changes: Arc<ChangeFeed>,
    store: Arc<Store>,
    stored: Arc<StoredTier>,
    published: ShardedMap<UserId, Arc<Published>>,
    /// Set: every read renders its bodies and keeps none (benchmarks measure
    /// what the published tier buys this way).
    #[cfg(any(test, feature = "testing"))]
    keep_none: std::sync::atomic::AtomicBool,
}

impl Reads {
    /// The read path over the presences and the store; `load` reads a user's
    /// stored state, `with_data` lists the users that have any.
    pub fn new(
        presences: Arc<Presences>,
        changes: Arc<ChangeFeed>,
        store: Arc<Store>,
        load: Loader,
        with_data: HashSet<UserId>,
    ) -> Reads {
        let stored = Arc::new(StoredTier::new(load, with_data));
        Reads {
            presences,
            changes,
            store,
            stored,
            published: ShardedMap::default(),
            #[cfg(any(test, feature = "testing"))]
            keep_none: Default::default(),
        }
    }

    /// From now on, every read renders its bodies and none is kept (benchmarks).
    #[cfg(any(test, feature = "testing"))]
    pub fn keep_no_bodies(&self) {
        self.keep_none.store(true, std::sync::atomic::Ordering::Relaxed);
        self.published.each_shard_mut(|shard| shard.clear());
    }

    /// A user's bodies; `None` when the user is not monitored (or hidden). The
    /// kept bodies while current; else rendered now, after reading the user's
    /// stored state from the store if they are not in memory, and kept as `keep` says.
    pub async fn get(&self, user: UserId, keep: Keep) -> Result<Option<Arc<Published>>> {
        // Read before the parts it validates (see the invariant above).
        let version = self.changes.version(user);
        if let Some(kept) = self.published.read(&user).get(&user).filter(|p| p.version == version) {
            return Ok(Some(kept.clone()));
        }
        let stored = match self.stored.now(user) {
            Some(stored) => stored,
            None => {
                let (store, tier) = (self.store.clone(), self.stored.clone());
                tokio::task::spawn_blocking(move || tier.get(&store, user, keep != Keep::Nothing))
                    .await
                    .map_err(|e| Error::Internal(format!("store task: {e}")))??
            }
        };
        Ok(self.render(user, version, &stored, keep))
    }

    /// Drops a user's bodies (they left).
    pub fn forget(&self, user: UserId) {
        self.published.remove(&user);
    }

    /// Refreshes a user's stored state from what `batch` committed (the write path,
    /// `app::writes`); true when they changed.
    pub(crate) fn refresh_stored(&self, batch: &Batch<'_>, user: UserId) -> Result<bool> {
        self.stored.refresh(batch, user)
    }

    /// Sets a user's stored state as the primary published it (a read replica,
    /// which has no store to read it from); the caller marks the change.
    pub(crate) fn set_stored(&self, user: UserId, stored: Stored) {
        self.stored.set(user, stored);
    }

    /// A user's stored state (KV and GitHub as shown), read from the store if needed.
    pub async fn stored(&self, user: UserId) -> Result<Arc<Stored>> {
        if let Some(stored) = self.stored.now(user) {
            return Ok(stored);
        }
        let (store, tier) = (self.store.clone(), self.stored.clone());
        tokio::task::spawn_blocking(move || tier.get(&store, user, true))
            .await
            .map_err(|e| Error::Internal(format!("store task: {e}")))?
    }

    /// Renders the user's bodies from their presence and `stored state`, both read
    /// after `version` was; kept (as `keep` says) unless the user changed
    /// meanwhile. `None` when the user is not monitored.
    fn render(&self, user: UserId, version: u64, stored: &Stored, keep: Keep) -> Option<Arc<Published>> {
        let Some(bodies) = self.presences.bodies(user, &stored.kv, &stored.github) else {
            self.forget(user);
            return None;
        };
        let published = Arc::new(Published {
            version,
            native: Body::new(bodies.native),
            lanyard_data: Json::new(bodies.lanyard),
            lanyard: OnceLock::new(),
        });
        if keep == Keep::Bodies && self.keeps() {
            let mut shard = self.published.write(&user);
            // Checked under the lock: a body older than a change marked before this
            // point is never put where readers would take it.
            if self.changes.version(user) == version {
                shard.insert(user, published.clone());
            }
        }
        Some(published)
    }

    /// Whether rendered bodies are kept (always, but in benchmarks of the tier).
    fn keeps(&self) -> bool {
        #[cfg(any(test, feature = "testing"))]
        if self.keep_none.load(std::sync::atomic::Ordering::Relaxed) {
            return false;
        }
        true
    }
}
