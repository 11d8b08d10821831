//! The presence responses of `GET /user/:id` and `GET /v1/users/:id`, and the
//! socket's presence objects, composed by concatenating the cached parts:
//! the presence view (gateway) and the user's extras (KV and GitHub).
//!
//! A composed body and its strong ETag are cached per user and reused while
//! both parts are the same `Arc`s (the caches replace, never mutate, an entry
//! on change), so the hot read path is two map lookups and a pointer compare.
//!
//! In front of that, each worker thread keeps its own copies of the bodies it
//! served, each valid while the change feed's version of its user is unchanged:
//! an unchanged user is then served without touching a shared lock or
//! reference count (on two cores those cache lines bouncing was the largest
//! cost left), however busy the rest of the guild is.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::{BufMut, Bytes, BytesMut};
use http::StatusCode;
use http::header::{ETAG, HeaderMap, HeaderValue, IF_NONE_MATCH};

use super::error::ApiError;
use super::response::{self, Reply};
use super::{Api, Who, auth};
use crate::app::{App, Extras};
use crate::error::Error;
use crate::ids::{InvalidUserId, UserId};
use crate::presence::PresenceView;

const SHARDS: usize = 16;
/// Most users a worker thread keeps copies for; past this it starts over.
const LOCAL_USERS: usize = 4096;

/// One user's composed bodies.
pub struct Composed {
    view: Arc<PresenceView>,
    extras: Arc<Extras>,
    /// The Lanyard presence object with `kv` and `github` (the socket's `d`).
    pub lanyard: Bytes,
    /// The response bodies of the two read routes.
    bodies: Bodies,
}

impl Composed {
    /// The user's part of a bulk response and its ETag: the whole body of the
    /// single lookup in the native shape, its `data` in Lanyard's. The ETag is the
    /// single lookup's (its body is a function of this part).
    pub(super) fn part(&self, shape: Shape) -> (&Bytes, &HeaderValue) {
        match shape {
            Shape::Native => (&self.bodies.native, &self.bodies.native_etag),
            Shape::Lanyard => (&self.lanyard, &self.bodies.lanyard_etag),
        }
    }
}

/// Composed bodies by user.
pub struct BodyCache {
    shards: Vec<RwLock<HashMap<UserId, Arc<Composed>>>>,
    /// This cache's identity, for the per-thread copies.
    id: u64,
}

static CACHE_IDS: AtomicU64 = AtomicU64::new(0);

impl Default for BodyCache {
    fn default() -> Self {
        BodyCache {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            id: CACHE_IDS.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// One user's response bodies and their ETags, shared in `Composed` or a thread's own copy.
#[derive(Clone)]
struct Bodies {
    /// `{"presence":…,"KV":…,"github":…}`
    native: Bytes,
    native_etag: HeaderValue,
    /// `{"success":true,"data":…}`
    lanyard_body: Bytes,
    lanyard_etag: HeaderValue,
}

/// Which of a user's two response bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `GET /user/:id`
    Native,
    /// `GET /v1/users/:id`
    Lanyard,
}

impl Bodies {
    /// One of the bodies and its ETag.
    fn pick(&self, shape: Shape) -> (Bytes, HeaderValue) {
        match shape {
            Shape::Native => (self.native.clone(), self.native_etag.clone()),
            Shape::Lanyard => (self.lanyard_body.clone(), self.lanyard_etag.clone()),
        }
    }

    /// A copy sharing no allocation (no reference count) with this one.
    fn deep_copy(&self) -> Bodies {
        let tag = |v: &HeaderValue| {
            HeaderValue::from_maybe_shared(Bytes::copy_from_slice(v.as_bytes())).expect("an ETag stays valid")
        };
        Bodies {
            native: Bytes::copy_from_slice(&self.native),
            native_etag: tag(&self.native_etag),
            lanyard_body: Bytes::copy_from_slice(&self.lanyard_body),
            lanyard_etag: tag(&self.lanyard_etag),
        }
    }
}

/// One worker thread's copies for one cache, each with the user's change-feed
/// version it was made at.
#[derive(Default)]
struct Local {
    cache: u64,
    bodies: HashMap<UserId, (u64, Bodies)>,
}

/// The users a worker thread last missed, to copy only those read again.
struct Missed {
    users: [UserId; MISSED_USERS],
    next: usize,
}

/// How many misses a thread remembers.
const MISSED_USERS: usize = 64;

impl Missed {
    /// Whether `user` missed recently; if not, remembers it.
    fn again(&mut self, user: UserId) -> bool {
        if self.users.contains(&user) {
            return true;
        }
        self.users[self.next] = user;
        self.next = (self.next + 1) % MISSED_USERS;
        false
    }
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::default();
    static MISSED: RefCell<Missed> = const { RefCell::new(Missed { users: [UserId(0); MISSED_USERS], next: 0 }) };
}

impl BodyCache {
    fn shard(&self, user: UserId) -> &RwLock<HashMap<UserId, Arc<Composed>>> {
        &self.shards[(user.0 >> 22) as usize % SHARDS]
    }

    /// The user's bodies; `None` when the user is not monitored.
    pub async fn get(&self, app: &App, user: UserId) -> Result<Option<Arc<Composed>>, Error> {
        let Some(view) = app.presences.get(user) else {
            self.forget(user);
            return Ok(None);
        };
        let extras = app.extras(user).await?;
        Ok(Some(self.composed(user, view, extras)))
    }

    /// The user's bodies when all they are made of is in memory (no store read to wait
    /// for); `None` otherwise, or when the user is not monitored.
    pub(super) fn get_now(&self, app: &App, user: UserId) -> Option<Arc<Composed>> {
        let view = app.presences.get(user)?;
        let extras = app.cached_extras(user)?;
        Some(self.composed(user, view, extras))
    }

    /// The cached composition of these parts, or a new one.
    fn composed(&self, user: UserId, view: Arc<PresenceView>, extras: Arc<Extras>) -> Arc<Composed> {
        let shard = self.shard(user);
        if let Some(found) = shard.read().unwrap_or_else(|e| e.into_inner()).get(&user)
            && Arc::ptr_eq(&found.view, &view)
            && Arc::ptr_eq(&found.extras, &extras)
        {
            return found.clone();
        }
        let composed = Arc::new(compose(view, extras));
        shard.write().unwrap_or_else(|e| e.into_inner()).insert(user, composed.clone());
        composed
    }

    /// One of the user's response bodies and its ETag, when this thread has a copy
    /// and nothing changed since.
    fn local_hit(&self, app: &App, user: UserId, shape: Shape) -> Option<(Bytes, HeaderValue)> {
        let version = app.changes.version(user);
        LOCAL.with_borrow(|local| {
            let (made_at, bodies) = local.bodies.get(&user).filter(|_| local.cache == self.id)?;
            (*made_at == version).then(|| bodies.pick(shape))
        })
    }

    /// One of the user's response bodies and its ETag without waiting: this thread's
    /// copy, or else the shared caches. A user read again soon on this thread gets a
    /// copy; one read once (a page of many profiles) is served from the shared cache,
    /// since copying every user read would cost more than it saves.
    fn now(&self, app: &App, user: UserId, shape: Shape) -> Option<(Bytes, HeaderValue)> {
        if let Some(hit) = self.local_hit(app, user, shape) {
            return Some(hit);
        }
        // Read before the state it validates: a change after this read bumps it.
        let version = app.changes.version(user);
        let composed = self.get_now(app, user)?;
        if !MISSED.with_borrow_mut(|missed| missed.again(user)) {
            return Some(composed.bodies.pick(shape));
        }
        Some(self.remember(user, version, &composed).pick(shape))
    }

    /// One of the user's response bodies and its ETag, from this thread's copies while
    /// nothing changed.
    async fn local(&self, app: &App, user: UserId, shape: Shape) -> Result<Option<(Bytes, HeaderValue)>, Error> {
        if let Some(hit) = self.local_hit(app, user, shape) {
            return Ok(Some(hit));
        }
        // Read before the state it validates: a change after this read bumps it.
        let version = app.changes.version(user);
        let Some(composed) = self.get(app, user).await? else { return Ok(None) };
        Ok(Some(self.remember(user, version, &composed).pick(shape)))
    }

    /// Keeps this thread's copy of `composed`, made at `version` of its user.
    fn remember(&self, user: UserId, version: u64, composed: &Composed) -> Bodies {
        let copy = composed.bodies.deep_copy();
        LOCAL.with_borrow_mut(|local| {
            if local.cache != self.id || local.bodies.len() >= LOCAL_USERS {
                local.bodies.clear();
                local.cache = self.id;
            }
            local.bodies.insert(user, (version, copy.clone()));
        });
        copy
    }

    /// A user's Lanyard presence object (the socket's `d`) for an INIT_STATE, made
    /// without keeping anything: the cached composition when a reader made one of the
    /// user's current parts, else composed from the parts read on the side
    /// (`Presences::get_unkept`, `App::extras_unkept`), neither of which keeps what it
    /// renders. `None` when the user is not monitored. Blocking (it may read the
    /// store): call it on the blocking pool.
    pub fn lanyard_unkept(&self, app: &App, user: UserId) -> Result<Option<Bytes>, Error> {
        let Some(view) = app.presences.get_unkept(user) else { return Ok(None) };
        let extras = app.extras_unkept(user)?;
        let shard = self.shard(user).read().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = shard.get(&user)
            && Arc::ptr_eq(&found.view, &view)
            && Arc::ptr_eq(&found.extras, &extras)
        {
            return Ok(Some(found.lanyard.clone()));
        }
        drop(shard);
        Ok(Some(lanyard_data(&view.lanyard, &extras)))
    }

    /// Drops a user's bodies (they left).
    pub fn forget(&self, user: UserId) {
        let shard = self.shard(user);
        if shard.read().unwrap_or_else(|e| e.into_inner()).contains_key(&user) {
            shard.write().unwrap_or_else(|e| e.into_inner()).remove(&user);
        }
    }
}

fn compose(view: Arc<PresenceView>, extras: Arc<Extras>) -> Composed {
    let mut native = BytesMut::with_capacity(view.native.len() + extras.kv.len() + extras.github.len() + 32);
    native.put_slice(b"{\"presence\":");
    native.put_slice(&view.native);
    native.put_slice(b",\"KV\":");
    native.put_slice(&extras.kv);
    native.put_slice(b",\"github\":");
    native.put_slice(&extras.github);
    native.put_u8(b'}');
    let native = native.freeze();

    let lanyard = lanyard_data(&view.lanyard, &extras);
    let mut body = BytesMut::with_capacity(lanyard.len() + 24);
    body.put_slice(b"{\"success\":true,\"data\":");
    body.put_slice(&lanyard);
    body.put_u8(b'}');
    let lanyard_body = body.freeze();

    let bodies = Bodies { native_etag: etag(&native), lanyard_etag: etag(&lanyard_body), native, lanyard_body };
    Composed { lanyard, bodies, view, extras }
}

/// The Lanyard object with `,"kv":…,"github":…` inserted before its final `}`.
fn lanyard_data(object: &[u8], extras: &Extras) -> Bytes {
    let trimmed = object.trim_ascii_end();
    let inner = trimmed.strip_suffix(b"}").unwrap_or(b"{");
    let empty = inner.trim_ascii_end().ends_with(b"{");
    let mut out = BytesMut::with_capacity(object.len() + extras.kv.len() + extras.github.len() + 24);
    out.put_slice(inner);
    out.put_slice(if empty { b"\"kv\":" } else { b",\"kv\":" });
    out.put_slice(&extras.kv);
    out.put_slice(b",\"github\":");
    out.put_slice(&extras.github);
    out.put_u8(b'}');
    out.freeze()
}

/// A strong ETag: a hash of the exact bytes.
fn etag(body: &[u8]) -> HeaderValue {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    HeaderValue::from_str(&format!("\"{:016x}\"", h.finish())).expect("hex is a valid header value")
}

/// Whether `If-None-Match` names this ETag (or `*`).
pub(super) fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    headers.get_all(IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|candidate| {
        let candidate = candidate.trim();
        candidate == "*" || candidate.as_bytes() == etag.as_bytes()
    })
}

/// `GET /user/:id` or `GET /v1/users/:id` when it needs no waiting: a bad id, or a
/// body in memory; `None` when it must wait (`@me`, a body to read from the store).
pub fn reply_now(
    api: &Api,
    who: &Result<Who, InvalidUserId>,
    headers: &HeaderMap,
    shape: Shape,
) -> Option<Result<Reply, ApiError>> {
    match who {
        Err(e) => Some(Err(Error::from(e.clone()).into())),
        Ok(Who::Me) => None,
        Ok(Who::User(user)) => {
            let (body, etag) = api.bodies.now(&api.app, *user, shape)?;
            Some(Ok(reply_with(body, etag, headers)))
        }
    }
}

fn reply_with(body: Bytes, etag: HeaderValue, headers: &HeaderMap) -> Reply {
    let mut reply = if not_modified(headers, &etag) {
        response::empty(StatusCode::NOT_MODIFIED)
    } else {
        response::json(StatusCode::OK, body)
    };
    reply.headers_mut().insert(ETAG, etag);
    reply
}

/// `GET /user/:id` or `GET /v1/users/:id`, waiting for what it must.
pub async fn reply(
    api: &Api,
    who: &Result<Who, InvalidUserId>,
    headers: &HeaderMap,
    shape: Shape,
) -> Result<Reply, ApiError> {
    let user = auth::resolve(api, who, headers).await?;
    let (body, etag) = api.bodies.local(&api.app, user, shape).await?.ok_or(Error::NotMonitored(user))?;
    Ok(reply_with(body, etag, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extras() -> Extras {
        Extras { kv: Bytes::from_static(br#"{"a":"b"}"#), github: Bytes::from_static(b"null") }
    }

    #[test]
    fn kv_and_github_go_before_the_final_brace() {
        let data = lanyard_data(br#"{"discord_status":"online"} "#, &extras());
        assert_eq!(&data[..], br#"{"discord_status":"online","kv":{"a":"b"},"github":null}"#);
        let data = lanyard_data(b"{ }", &extras());
        assert_eq!(&data[..], br#"{ "kv":{"a":"b"},"github":null}"#);
    }

    #[test]
    fn native_body_is_the_three_parts() {
        let view =
            PresenceView { native: Bytes::from_static(br#"{"status":"dnd"}"#), lanyard: Bytes::from_static(b"{}") };
        let c = compose(Arc::new(view), Arc::new(extras()));
        assert_eq!(&c.bodies.native[..], br#"{"presence":{"status":"dnd"},"KV":{"a":"b"},"github":null}"#);
        assert_eq!(&c.bodies.lanyard_body[..], br#"{"success":true,"data":{"kv":{"a":"b"},"github":null}}"#);
        let v: serde_json::Value = serde_json::from_slice(&c.bodies.native).unwrap();
        assert_eq!(v["KV"]["a"], "b");
    }

    #[tokio::test]
    async fn a_marked_change_reaches_the_per_thread_copies() {
        let (_dir, app) = App::temporary(crate::config::Config::default());
        let (cache, user) = (BodyCache::default(), UserId(5));
        let view = |status: &'static str| PresenceView {
            native: Bytes::from_static(status.as_bytes()),
            lanyard: Bytes::from_static(b"{}"),
        };
        let native = async |cache: &BodyCache| cache.local(&app, user, Shape::Native).await.unwrap();
        assert!(native(&cache).await.is_none());
        app.presences.insert_view(user, view("1"));
        app.changes.mark(user);
        let (first, first_tag) = native(&cache).await.unwrap();
        assert_eq!(&first[..], br#"{"presence":1,"KV":{},"github":null}"#);
        assert_eq!(native(&cache).await.unwrap().0, first, "served again");
        let (lanyard, _) = cache.local(&app, user, Shape::Lanyard).await.unwrap().unwrap();
        assert_eq!(&lanyard[..], br#"{"success":true,"data":{"kv":{},"github":null}}"#);
        app.presences.insert_view(user, view("2"));
        app.changes.mark(user);
        assert_eq!(&native(&cache).await.unwrap().0[..], br#"{"presence":2,"KV":{},"github":null}"#);
        app.kv_set(user, "k".into(), "v".into()).await.unwrap();
        let (after_kv, after_kv_tag) = native(&cache).await.unwrap();
        assert_eq!(&after_kv[..], br#"{"presence":2,"KV":{"k":"v"},"github":null}"#);
        assert_ne!(after_kv_tag, first_tag);
    }

    #[tokio::test]
    async fn a_read_needs_no_waiting_once_the_users_parts_are_in_memory() {
        let (_dir, app) = App::temporary(crate::config::Config::default());
        let (cache, user) = (BodyCache::default(), UserId(6));
        let view = PresenceView { native: Bytes::from_static(b"1"), lanyard: Bytes::from_static(b"{}") };
        app.presences.insert_view(user, view);
        app.changes.mark(user);
        assert!(cache.now(&app, user, Shape::Native).is_none(), "the extras must be read from the store first");
        app.extras(user).await.unwrap();
        let (body, _) = cache.now(&app, user, Shape::Native).expect("now in memory");
        assert_eq!(&body[..], br#"{"presence":1,"KV":{},"github":null}"#);
        assert!(cache.now(&app, UserId(7), Shape::Native).is_none(), "not monitored: left to the full path (404)");
    }

    #[tokio::test]
    async fn lanyard_unkept_keeps_no_composition_and_reuses_a_kept_one() {
        let (_dir, app) = App::temporary(crate::config::Config::default());
        let (cache, user) = (BodyCache::default(), UserId(5));
        assert_eq!(cache.lanyard_unkept(&app, user).unwrap(), None, "not monitored");
        app.presences.insert_view(
            user,
            PresenceView { native: Bytes::from_static(b"1"), lanyard: Bytes::from_static(br#"{"a":1}"#) },
        );
        let side = cache.lanyard_unkept(&app, user).unwrap().unwrap();
        assert_eq!(&side[..], br#"{"a":1,"kv":{},"github":null}"#);
        assert!(cache.shard(user).read().unwrap().is_empty(), "no composition kept");
        assert!(app.cached_extras(user).is_none(), "no extras kept");
        let kept = cache.get(&app, user).await.unwrap().unwrap();
        let again = cache.lanyard_unkept(&app, user).unwrap().unwrap();
        assert_eq!(again, side);
        assert_eq!(again.as_ptr(), kept.lanyard.as_ptr(), "the kept composition is shared, not copied");
    }

    #[test]
    fn if_none_match_matches_the_etag_in_a_list() {
        let tag = etag(b"x");
        let mut headers = HeaderMap::new();
        headers.insert(IF_NONE_MATCH, HeaderValue::from_str(&format!("\"other\", {}", tag.to_str().unwrap())).unwrap());
        assert!(not_modified(&headers, &tag));
        assert!(!not_modified(&HeaderMap::new(), &tag));
    }
}
