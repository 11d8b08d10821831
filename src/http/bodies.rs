//! The presence responses of `GET /user/:id` and `GET /v1/users/:id`, and the
//! socket's presence objects, composed by concatenating the cached parts:
//! the presence view (gateway) and the user's extras (KV and GitHub).
//!
//! A composed body and its strong ETag are cached per user and reused while
//! both parts are the same `Arc`s (the caches replace, never mutate, an entry
//! on change), so the hot read path is two map lookups and a pointer compare.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
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

/// One user's composed bodies.
pub struct Composed {
    view: Arc<PresenceView>,
    extras: Arc<Extras>,
    /// `{"presence":…,"KV":…,"github":…}`
    pub native: Bytes,
    /// ETag of `native`.
    pub native_etag: HeaderValue,
    /// The Lanyard presence object with `kv` and `github` (the socket's `d`).
    pub lanyard: Bytes,
    /// `{"success":true,"data":…}`
    pub lanyard_body: Bytes,
    /// ETag of `lanyard_body`.
    pub lanyard_etag: HeaderValue,
}

/// Composed bodies by user.
pub struct BodyCache {
    shards: Vec<RwLock<HashMap<UserId, Arc<Composed>>>>,
}

impl Default for BodyCache {
    fn default() -> Self {
        BodyCache { shards: (0..SHARDS).map(|_| RwLock::default()).collect() }
    }
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
        let shard = self.shard(user);
        if let Some(found) = shard.read().unwrap_or_else(|e| e.into_inner()).get(&user)
            && Arc::ptr_eq(&found.view, &view)
            && Arc::ptr_eq(&found.extras, &extras)
        {
            return Ok(Some(found.clone()));
        }
        let composed = Arc::new(compose(view, extras));
        shard.write().unwrap_or_else(|e| e.into_inner()).insert(user, composed.clone());
        Ok(Some(composed))
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

    Composed {
        native_etag: etag(&native),
        lanyard_etag: etag(&lanyard_body),
        native,
        lanyard,
        lanyard_body,
        view,
        extras,
    }
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
fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    headers.get_all(IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|candidate| {
        let candidate = candidate.trim();
        candidate == "*" || candidate.as_bytes() == etag.as_bytes()
    })
}

fn reply(body: &Bytes, etag: &HeaderValue, headers: &HeaderMap) -> Reply {
    let mut reply = if not_modified(headers, etag) {
        response::empty(StatusCode::NOT_MODIFIED)
    } else {
        response::json(StatusCode::OK, body.clone())
    };
    reply.headers_mut().insert(ETAG, etag.clone());
    reply
}

async fn composed(api: &Api, who: &Result<Who, InvalidUserId>, headers: &HeaderMap) -> Result<Arc<Composed>, ApiError> {
    let user = auth::resolve(api, who, headers).await?;
    api.bodies.get(&api.app, user).await?.ok_or_else(|| Error::NotMonitored(user).into())
}

/// `GET /user/:id`
pub async fn native_reply(api: &Api, who: &Result<Who, InvalidUserId>, headers: &HeaderMap) -> Result<Reply, ApiError> {
    let c = composed(api, who, headers).await?;
    Ok(reply(&c.native, &c.native_etag, headers))
}

/// `GET /v1/users/:id`
pub async fn lanyard_reply(
    api: &Api,
    who: &Result<Who, InvalidUserId>,
    headers: &HeaderMap,
) -> Result<Reply, ApiError> {
    let c = composed(api, who, headers).await?;
    Ok(reply(&c.lanyard_body, &c.lanyard_etag, headers))
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
        assert_eq!(&c.native[..], br#"{"presence":{"status":"dnd"},"KV":{"a":"b"},"github":null}"#);
        assert_eq!(&c.lanyard_body[..], br#"{"success":true,"data":{"kv":{"a":"b"},"github":null}}"#);
        let v: serde_json::Value = serde_json::from_slice(&c.native).unwrap();
        assert_eq!(v["KV"]["a"], "b");
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
