//! The read path: a user's public state (presence, KV, GitHub) as the bodies
//! the API serves, and every cache on the way. Each read of `GET /user/:id`,
//! `GET /v1/users/:id`, a socket push or an INIT_STATE goes through here.
//!
//! Tiers, from the store up, with what each buys (docs/BENCHMARKS.md,
//! "Consolidation"):
//!
//! 1. **Extras** (`extras`): the KV pairs and GitHub profile rendered as
//!    JSON, refreshed by every write inside the group commit; users with
//!    nothing stored need no entry and no store read. Without it, composing a
//!    body of a user with KV or GitHub would read the store (a blocking-pool
//!    round trip) on every read.
//! 2. **Published bodies**: per user, the two response bodies with their
//!    strong ETags and the socket's Lanyard object, composed once per change
//!    from the presence (rendered by `app::presence`) and the extras; an
//!    unchanged user is served from here with one read lock and no rendering.
//!    `rest`: 7.3 µs of server CPU per request with it, 14.9 µs without it
//!    (every read rendering and composing), throughput 1.00 and 0.56 × the
//!    bare server; random reads over 100 000 users 8.2 µs.
//!
//! **Invariant.** Every kept body carries the user's change-feed version read
//! before its parts were, and is served only while that version is current.
//! Every change of a user's public state marks the feed once it is visible
//! (the presence service on every change, `app::writes` once a write is
//! durable), so once a change is acknowledged no reader can be served a body
//! older than it. `tests.rs` checks this with readers and writers racing.

mod extras;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use http::HeaderValue;

use self::extras::ExtrasTier;
pub use self::extras::{Extras, Loader};
use super::changes::ChangeFeed;
use super::presence::{PresenceView, Presences};
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

/// A response body and its strong ETag.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    /// The JSON.
    pub bytes: Bytes,
    /// A hash of the exact bytes, quoted.
    pub etag: HeaderValue,
}

impl Body {
    fn new(bytes: Bytes) -> Body {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        let etag = HeaderValue::from_str(&format!("\"{:016x}\"", h.finish())).expect("hex is a valid header value");
        Body { bytes, etag }
    }
}

/// One user's composed bodies, current while the user's version is `version`.
#[derive(Debug)]
pub struct Published {
    version: u64,
    native: Body,
    lanyard: Body,
    /// The Lanyard presence object with `kv` and `github` (the socket's `d`),
    /// sharing the bytes of the Lanyard body.
    pub lanyard_data: Bytes,
}

impl Published {
    /// One of the two bodies.
    pub fn body(&self, shape: Shape) -> &Body {
        match shape {
            Shape::Native => &self.native,
            Shape::Lanyard => &self.lanyard,
        }
    }

    /// The user's part of a bulk response and its ETag: the whole body of the
    /// single lookup in the native shape, its `data` in Lanyard's. The ETag is the
    /// single lookup's (its body is a function of this part).
    pub fn part(&self, shape: Shape) -> (&Bytes, &HeaderValue) {
        match shape {
            Shape::Native => (&self.native.bytes, &self.native.etag),
            Shape::Lanyard => (&self.lanyard_data, &self.lanyard.etag),
        }
    }

    fn compose(version: u64, view: &PresenceView, extras: &Extras) -> Published {
        let mut native = BytesMut::with_capacity(view.native.len() + extras.kv.len() + extras.github.len() + 32);
        native.put_slice(b"{\"presence\":");
        native.put_slice(&view.native);
        native.put_slice(b",\"KV\":");
        native.put_slice(&extras.kv);
        native.put_slice(b",\"github\":");
        native.put_slice(&extras.github);
        native.put_u8(b'}');

        const PREFIX: &[u8] = b"{\"success\":true,\"data\":";
        let mut lanyard = BytesMut::with_capacity(PREFIX.len() + view.lanyard.len() + extras.kv.len() + 48);
        lanyard.put_slice(PREFIX);
        put_lanyard_data(&mut lanyard, &view.lanyard, extras);
        lanyard.put_u8(b'}');
        let lanyard = lanyard.freeze();
        let lanyard_data = lanyard.slice(PREFIX.len()..lanyard.len() - 1);
        Published { version, native: Body::new(native.freeze()), lanyard: Body::new(lanyard), lanyard_data }
    }
}

/// The read path of every user's public state.
pub struct Reads {
    presences: Arc<Presences>,
    changes: Arc<ChangeFeed>,
    store: Arc<Store>,
    extras: Arc<ExtrasTier>,
    published: ShardedMap<UserId, Arc<Published>>,
    /// Set: every read composes its body and keeps none (benchmarks measure
    /// what the published tier buys this way).
    #[cfg(any(test, feature = "testing"))]
    keep_none: std::sync::atomic::AtomicBool,
}

impl Reads {
    /// The read path over the presences and the store; `load` reads a user's
    /// extras, `stored` lists the users that have any.
    pub fn new(
        presences: Arc<Presences>,
        changes: Arc<ChangeFeed>,
        store: Arc<Store>,
        load: Loader,
        stored: HashSet<UserId>,
    ) -> Reads {
        let extras = Arc::new(ExtrasTier::new(load, stored));
        Reads {
            presences,
            changes,
            store,
            extras,
            published: ShardedMap::default(),
            #[cfg(any(test, feature = "testing"))]
            keep_none: Default::default(),
        }
    }

    /// From now on, every read composes its body and none is kept (benchmarks).
    #[cfg(any(test, feature = "testing"))]
    pub fn keep_no_bodies(&self) {
        self.keep_none.store(true, std::sync::atomic::Ordering::Relaxed);
        self.published.each_shard_mut(|shard| shard.clear());
    }

    /// Whether composed bodies are kept (always, but in benchmarks of the tier).
    fn keeps(&self) -> bool {
        #[cfg(any(test, feature = "testing"))]
        if self.keep_none.load(std::sync::atomic::Ordering::Relaxed) {
            return false;
        }
        true
    }

    /// One of the user's bodies when it needs no waiting: kept and current, or
    /// composed from parts in memory. `None` when the store must be read first,
    /// or when the user is not monitored.
    pub fn now(&self, user: UserId, shape: Shape) -> Option<Body> {
        // Read before the parts it validates (see the invariant above).
        let version = self.changes.version(user);
        if let Some(kept) = self.published.read(&user).get(&user).filter(|p| p.version == version) {
            return Some(kept.body(shape).clone());
        }
        let extras = self.extras.now(user)?;
        Some(self.compose(user, version, &extras)?.body(shape).clone())
    }

    /// One of the user's bodies, reading the store if it must; `None` when the
    /// user is not monitored.
    pub async fn body(&self, user: UserId, shape: Shape) -> Result<Option<Body>> {
        if let Some(body) = self.now(user, shape) {
            return Ok(Some(body));
        }
        Ok(self.get(user).await?.map(|published| published.body(shape).clone()))
    }

    /// The user's bodies, kept for the next reader; `None` when not monitored.
    pub async fn get(&self, user: UserId) -> Result<Option<Arc<Published>>> {
        let version = self.changes.version(user);
        if let Some(kept) = self.current(user, version) {
            return Ok(Some(kept));
        }
        let extras = self.extras(user).await?;
        Ok(self.compose(user, version, &extras))
    }

    /// The user's bodies when they need no store read (kept); `None` when they
    /// would, or when the user is not monitored.
    pub fn get_now(&self, user: UserId) -> Option<Arc<Published>> {
        let version = self.changes.version(user);
        if let Some(kept) = self.current(user, version) {
            return Some(kept);
        }
        let extras = self.extras.now(user)?;
        self.compose(user, version, &extras)
    }

    /// `get`, for the blocking pool (the socket hub reads a batch of users' extras
    /// at once there).
    pub fn get_blocking(&self, user: UserId) -> Result<Option<Arc<Published>>> {
        let version = self.changes.version(user);
        if let Some(kept) = self.current(user, version) {
            return Ok(Some(kept));
        }
        let extras = self.extras.get(&self.store, user, true)?;
        Ok(self.compose(user, version, &extras))
    }

    /// The user's Lanyard presence object (the socket's `d`) for an INIT_STATE,
    /// keeping nothing: the kept bodies' when current, else composed from parts
    /// read on the side. `None` when the user is not monitored. Blocking (it may
    /// read the store): call it on the blocking pool.
    pub fn lanyard_unkept(&self, user: UserId) -> Result<Option<Bytes>> {
        let version = self.changes.version(user);
        if let Some(kept) = self.current(user, version) {
            return Ok(Some(kept.lanyard_data.clone()));
        }
        let Some(view) = self.presences.view(user) else { return Ok(None) };
        let extras = self.extras.get(&self.store, user, false)?;
        let mut data = BytesMut::with_capacity(view.lanyard.len() + extras.kv.len() + extras.github.len() + 24);
        put_lanyard_data(&mut data, &view.lanyard, &extras);
        Ok(Some(data.freeze()))
    }

    /// Drops a user's bodies (they left).
    pub fn forget(&self, user: UserId) {
        self.published.remove(&user);
    }

    /// Refreshes a user's extras from what `batch` committed (the write path,
    /// `app::writes`); true when they changed.
    pub(crate) fn refresh_extras(&self, batch: &Batch<'_>, user: UserId) -> Result<bool> {
        self.extras.refresh(batch, user)
    }

    /// A user's extras (KV and GitHub as shown), read from the store if needed.
    pub async fn extras(&self, user: UserId) -> Result<Arc<Extras>> {
        if let Some(extras) = self.extras.now(user) {
            return Ok(extras);
        }
        let (store, tier) = (self.store.clone(), self.extras.clone());
        tokio::task::spawn_blocking(move || tier.get(&store, user, true))
            .await
            .map_err(|e| Error::Internal(format!("store task: {e}")))?
    }

    /// The kept bodies of `user` if they are still current at `version`.
    fn current(&self, user: UserId, version: u64) -> Option<Arc<Published>> {
        self.published.read(&user).get(&user).filter(|p| p.version == version).cloned()
    }

    /// Composes the user's bodies from their presence and `extras`, both read
    /// after `version` was; kept unless the user changed meanwhile. `None` when
    /// the user is not monitored.
    fn compose(&self, user: UserId, version: u64, extras: &Extras) -> Option<Arc<Published>> {
        let Some(view) = self.presences.view(user) else {
            self.forget(user);
            return None;
        };
        let published = Arc::new(Published::compose(version, &view, extras));
        let mut shard = self.published.write(&user);
        // Checked under the lock: a body older than a change marked before this
        // point is never put where readers would take it.
        if self.changes.version(user) == version && self.keeps() {
            shard.insert(user, published.clone());
        }
        Some(published)
    }
}

/// Writes a Lanyard presence object with `,"kv":…,"github":…` inserted before its final `}`.
fn put_lanyard_data(out: &mut BytesMut, object: &[u8], extras: &Extras) {
    let trimmed = object.trim_ascii_end();
    let inner = trimmed.strip_suffix(b"}").unwrap_or(b"{");
    let empty = inner.trim_ascii_end().ends_with(b"{");
    out.put_slice(inner);
    out.put_slice(if empty { b"\"kv\":" } else { b",\"kv\":" });
    out.put_slice(&extras.kv);
    out.put_slice(b",\"github\":");
    out.put_slice(&extras.github);
    out.put_u8(b'}');
}
