//! Bulk lookup (docs/API.md): `GET /users?ids=…` (native documents) and
//! `GET /v1/users?ids=…` (Lanyard presences), one response for up to
//! [`MAX_IDS`] users, each `null` when not served.
//!
//! Each user's part is taken from the same read path as their single lookup
//! (`app::reads`: `Reads::get_now` / `get`), so whatever decides whether a user is served
//! there (monitored, visible) decides it here too, and a cached user costs a
//! copy of their cached bytes into the one response buffer: no rendering, no
//! per-id allocation. The ETag is a hash of each user's single-lookup ETag in
//! order, so it changes exactly when one of the parts does.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use http::StatusCode;
use http::header::{ETAG, HeaderMap, HeaderValue};

use super::error::ApiError;
use super::response::{self, Reply};
use super::{Api, presence};
use crate::app::reads::{Published, Shape};
use crate::error::Error;
use crate::ids::{InvalidUserId, UserId};

/// Most distinct ids one lookup may name.
pub const MAX_IDS: usize = 100;

/// The ids of a bulk lookup, distinct, in the order first named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids(Vec<UserId>);

/// Reads `ids` from a query string: comma-separated snowflakes, percent-encoded
/// or not (`URLSearchParams` writes `%2C`), in one or several `ids` parameters.
/// Empty items and spaces around an id are ignored; other parameters too (cache
/// busters). Duplicates count once.
pub fn parse_ids(query: Option<&str>) -> Result<Ids, ApiError> {
    let mut ids = Vec::new();
    let mut seen = HashSet::new();
    for pair in query.unwrap_or_default().split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if *crate::query::decode_bytes(name) != *b"ids" {
            continue;
        }
        for item in crate::query::decode_bytes(value).split(|&b| b == b',') {
            let item = item.trim_ascii();
            if item.is_empty() {
                continue;
            }
            let text = String::from_utf8_lossy(item);
            let id: UserId = text.parse().map_err(|e: InvalidUserId| ApiError::from(Error::from(e)))?;
            if seen.insert(id) {
                if ids.len() == MAX_IDS {
                    return Err(ApiError::too_many_ids(MAX_IDS));
                }
                ids.push(id);
            }
        }
    }
    if ids.is_empty() {
        return Err(ApiError::invalid_query("`ids` names no user id: give up to 100, comma-separated"));
    }
    Ok(Ids(ids))
}

/// The parts of a bulk response: each user's composed bodies, `None` for a user not served.
type Parts = Vec<(UserId, Option<Arc<Published>>)>;

/// A bulk lookup when every part is in memory; `None` when one must be read from
/// the store first.
pub fn reply_now(api: &Api, query: Option<&str>, headers: &HeaderMap, shape: Shape) -> Option<Result<Reply, ApiError>> {
    let ids = match parse_ids(query) {
        Ok(ids) => ids,
        Err(e) => return Some(Err(e)),
    };
    let mut parts = Vec::with_capacity(ids.0.len());
    for &user in &ids.0 {
        match api.app.reads.get_now(user) {
            Some(composed) => parts.push((user, Some(composed))),
            // Monitored, with their KV or GitHub profile still to read.
            None if api.app.presences.contains(user) => return None,
            None => parts.push((user, None)),
        }
    }
    Some(Ok(reply_with(&parts, headers, shape)))
}

/// A bulk lookup, reading from the store what it must (one user after the other:
/// a lookup holds at most one blocking-pool thread).
pub async fn reply(api: &Api, query: Option<&str>, headers: &HeaderMap, shape: Shape) -> Result<Reply, ApiError> {
    let ids = parse_ids(query)?;
    let mut parts = Vec::with_capacity(ids.0.len());
    for &user in &ids.0 {
        parts.push((user, api.app.reads.get(user).await?));
    }
    Ok(reply_with(&parts, headers, shape))
}

fn reply_with(parts: &Parts, headers: &HeaderMap, shape: Shape) -> Reply {
    let etag = etag(parts, shape);
    if presence::not_modified(headers, &etag) {
        let mut reply = response::empty(StatusCode::NOT_MODIFIED);
        reply.headers_mut().insert(ETAG, etag);
        return reply;
    }
    let mut reply = response::json(StatusCode::OK, body(parts, shape));
    reply.headers_mut().insert(ETAG, etag);
    reply
}

/// `{"<id>":<document>|null,…}`, in Lanyard's envelope for the Lanyard shape.
fn body(parts: &Parts, shape: Shape) -> Bytes {
    const PREFIX: &[u8] = b"{\"success\":true,\"data\":";
    let size: usize = parts.iter().map(|(_, c)| 26 + c.as_ref().map_or(4, |c| c.part(shape).0.len())).sum();
    let mut out = BytesMut::with_capacity(size + PREFIX.len() + 3);
    if shape == Shape::Lanyard {
        out.put_slice(PREFIX);
    }
    out.put_u8(b'{');
    for (i, (user, composed)) in parts.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        // Writing into the buffer itself: no allocation per id.
        let _ = write!(out, "\"{}\":", user.0);
        match composed {
            Some(composed) => out.put_slice(composed.part(shape).0),
            None => out.put_slice(b"null"),
        }
    }
    out.put_u8(b'}');
    if shape == Shape::Lanyard {
        out.put_u8(b'}');
    }
    out.freeze()
}

/// A strong ETag of the response: the ids in order and each part's own ETag.
fn etag(parts: &Parts, shape: Shape) -> HeaderValue {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (shape == Shape::Lanyard).hash(&mut h);
    for (user, composed) in parts {
        user.0.hash(&mut h);
        composed.as_ref().map(|c| c.part(shape).1.as_bytes()).hash(&mut h);
    }
    HeaderValue::from_str(&format!("\"{:016x}\"", h.finish())).expect("hex is a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(query: &str) -> Result<Vec<u64>, (u16, &'static str)> {
        parse_ids(Some(query)).map(|ids| ids.0.iter().map(|id| id.0).collect()).map_err(|e| (e.status.as_u16(), e.code))
    }

    #[test]
    fn ids_are_distinct_in_the_order_first_named() {
        assert_eq!(ids("ids=3,1,3,2,1"), Ok(vec![3, 1, 2]));
        assert_eq!(ids("ids=3%2C1%2c2"), Ok(vec![3, 1, 2]));
        assert_eq!(ids("ids=1&ids=2,1&_=123"), Ok(vec![1, 2]));
        assert_eq!(ids("ids=1,,2,+3%20,"), Ok(vec![1, 2, 3]));
        assert_eq!(ids("%69ds=7"), Ok(vec![7]));
    }

    #[test]
    fn no_ids_is_invalid_query() {
        for query in ["", "ids=", "ids=,,", "id=1", "idsx=1"] {
            assert_eq!(ids(query), Err((400, "invalid_query")), "{query:?}");
        }
        assert!(parse_ids(None).is_err());
    }

    #[test]
    fn a_malformed_id_is_invalid_user_id() {
        for query in ["ids=1,x", "ids=0", "ids=1%2", "ids=-1", "ids=18446744073709551616", "ids=%FF"] {
            assert_eq!(ids(query), Err((400, "invalid_user_id")), "{query:?}");
        }
    }

    #[test]
    fn at_most_100_distinct_ids() {
        let hundred: Vec<String> = (1..=100).map(|i| i.to_string()).collect();
        assert_eq!(ids(&format!("ids={}", hundred.join(","))).map(|v| v.len()), Ok(100));
        assert_eq!(ids(&format!("ids={},1,2,100", hundred.join(","))).map(|v| v.len()), Ok(100));
        assert_eq!(ids(&format!("ids={},101", hundred.join(","))), Err((400, "too_many_ids")));
    }
}
