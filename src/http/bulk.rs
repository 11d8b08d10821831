//! Bulk lookup (docs/API.md): `GET /users?ids=…` (native documents) and
//! `GET /v1/users?ids=…` (Lanyard presences), one response for up to
//! [`MAX_IDS`] users, each `null` when not served.
//!
//! Each user's part is taken from the same read path as their single lookup
//! (`app::reads`), so whatever decides whether a user is served there
//! (monitored, visible) decides it here too, and a kept user costs a copy of
//! their kept JSON into the response: no rendering. The ETag is a hash of each
//! user's single-lookup ETag in order, so it changes exactly when one of the
//! parts does.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use http::header::HeaderMap;
use serde::Serialize;

use super::Api;
use super::error::ApiError;
use super::response::{self, Reply};
use crate::app::reads::{Keep, Published, Shape};
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
pub fn parse_ids(query: &str) -> Result<Ids, ApiError> {
    let mut ids = Vec::new();
    let mut seen = HashSet::new();
    for (name, value) in crate::query::pairs(query) {
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

/// The parts of a bulk response: each user's bodies, `None` for a user not served.
type Parts = Vec<(UserId, Option<Arc<Published>>)>;

/// A bulk lookup (users read one after the other: one that must be read from
/// the store holds at most one blocking-pool thread).
pub async fn reply(api: &Api, query: &str, headers: &HeaderMap, shape: Shape) -> Result<Reply, ApiError> {
    let ids = parse_ids(query)?;
    let mut parts = Vec::with_capacity(ids.0.len());
    for &user in &ids.0 {
        parts.push((user, api.app.reads.get(user, Keep::Bodies).await?));
    }
    // Tagged from the ids and the parts' own tags: a 304 costs no body.
    let ids: Vec<[u8; 8]> = parts.iter().map(|(user, _)| user.0.to_le_bytes()).collect();
    let tags = parts.iter().map(|(_, published)| published.as_ref().map_or(&b""[..], |p| p.part(shape).1.as_bytes()));
    let shape_tag = [u8::from(shape == Shape::Lanyard)];
    let etag = crate::etag::of_parts(
        std::iter::once(&shape_tag[..]).chain(ids.iter().zip(tags).flat_map(|(id, tag)| [&id[..], tag])),
    );
    if crate::etag::matches(headers, &etag) {
        return Ok(response::tagged(headers, response::JSON, Bytes::new(), etag));
    }
    let users = Users { parts: &parts, shape };
    let body = match shape {
        Shape::Native => serde_json::to_vec(&users),
        Shape::Lanyard => serde_json::to_vec(&Envelope { success: true, data: users }),
    };
    let body = body.map_err(|e| ApiError::internal(&e))?;
    Ok(response::tagged(headers, response::JSON, body, etag))
}

/// `{"<id>":<document>|null,…}`
struct Users<'a> {
    parts: &'a Parts,
    shape: Shape,
}

impl Serialize for Users<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.parts
                .iter()
                .map(|(user, published)| (user.0, published.as_ref().map(|published| published.part(self.shape).0))),
        )
    }
}

/// Lanyard's envelope.
#[derive(Serialize)]
struct Envelope<T> {
    success: bool,
    data: T,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(query: &str) -> Result<Vec<u64>, (u16, &'static str)> {
        parse_ids(query).map(|ids| ids.0.iter().map(|id| id.0).collect()).map_err(|e| (e.status.as_u16(), e.code))
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
