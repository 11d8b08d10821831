//! The card routes: `GET /user/:id/card.svg` and `GET /api/:id` (the path of
//! the common Lanyard card service), and the avatar links `GET /:id.png`
//! (`.gif`, `.webp`, `.jpg`). The card itself is made in `crate::card`.
//!
//! A kept card, or one whose images are all cached, is answered at once; one
//! whose images must be fetched waits for them (2 s at most).

use std::time::SystemTime;

use http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_NONE_MATCH, LOCATION};
use http::request::Parts;
use http::{HeaderName, StatusCode};

use super::Api;
use super::error::ApiError;
use super::response::{self, Reply};
use crate::card::Card;
use crate::card::links::AvatarFormat;
use crate::error::Error;
use crate::ids::{InvalidUserId, UserId};

/// `image/svg+xml; charset=utf-8`
const SVG: HeaderValue = HeaderValue::from_static("image/svg+xml; charset=utf-8");
/// Cards and avatar links may be cached for a minute (the card's own clock).
const CACHE: HeaderValue = HeaderValue::from_static("public, max-age=60");
/// An SVG opened on its own is a document: it may show data: images and nothing else.
const CSP: HeaderValue = HeaderValue::from_static("default-src 'none'; img-src data:; style-src 'unsafe-inline'");
const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");

/// The card when it needs no waiting; `None` when its images must be fetched.
pub fn reply_now(api: &Api, id: &Result<UserId, InvalidUserId>, parts: &Parts) -> Option<Result<Reply, ApiError>> {
    let user = match id {
        Ok(user) => *user,
        Err(e) => return Some(Err(Error::from(e.clone()).into())),
    };
    let query = parts.uri.query().unwrap_or_default();
    let card = api.cards.now(&api.app, user, query, SystemTime::now())?;
    Some(card.map(|card| reply_with(&card, &parts.headers)).map_err(|e| ApiError::invalid_query(e.0)))
}

/// The card, waiting for its images.
pub async fn reply(api: &Api, id: &Result<UserId, InvalidUserId>, parts: &Parts) -> Result<Reply, ApiError> {
    let user = id.clone().map_err(Error::from)?;
    let query = parts.uri.query().unwrap_or_default();
    let card =
        api.cards.card(&api.app, user, query, SystemTime::now()).await.map_err(|e| ApiError::invalid_query(e.0))?;
    Ok(reply_with(&card, &parts.headers))
}

fn reply_with(card: &Card, headers: &HeaderMap) -> Reply {
    let status = if card.found { StatusCode::OK } else { StatusCode::NOT_FOUND };
    let mut reply = if status == StatusCode::OK && not_modified(headers, &card.etag) {
        response::empty(StatusCode::NOT_MODIFIED)
    } else {
        let mut reply = response::json(status, card.svg.clone());
        reply.headers_mut().insert(CONTENT_TYPE, SVG);
        reply.headers_mut().insert(HeaderName::from_static("content-security-policy"), CSP);
        reply.headers_mut().insert(HeaderName::from_static("x-content-type-options"), NOSNIFF);
        reply
    };
    reply.headers_mut().insert(ETAG, card.etag.clone());
    reply.headers_mut().insert(CACHE_CONTROL, CACHE);
    reply
}

/// Whether `If-None-Match` names this ETag (or `*`).
fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    headers.get_all(IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|candidate| {
        let candidate = candidate.trim();
        candidate == "*" || candidate.as_bytes() == etag.as_bytes()
    })
}

/// `GET /:id.<format>`: 302 to the avatar on the CDN.
pub fn avatar(
    api: &Api,
    id: &Result<UserId, InvalidUserId>,
    format: AvatarFormat,
    parts: &Parts,
) -> Result<Reply, ApiError> {
    let user = id.clone().map_err(Error::from)?;
    let raw = api.app.presences.raw(user).ok_or(Error::NotMonitored(user))?;
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct User {
        avatar: Option<String>,
        discriminator: Option<String>,
    }
    let found: User = serde_json::from_str(&raw.user).unwrap_or_default();
    let size = parts.uri.query().unwrap_or_default().split('&').find_map(|pair| pair.strip_prefix("size="));
    let size = size.and_then(|s| s.parse::<u32>().ok()).filter(|s| s.is_power_of_two() && (16..=4096).contains(s));
    let url = api.cards.links().avatar_redirect(
        user.0,
        found.avatar.as_deref(),
        found.discriminator.as_deref(),
        format,
        size,
    );
    let location = HeaderValue::from_str(&url).map_err(|e| ApiError::internal(&e))?;
    let mut reply = response::empty(StatusCode::FOUND);
    reply.headers_mut().insert(LOCATION, location);
    reply.headers_mut().insert(CACHE_CONTROL, CACHE);
    Ok(reply)
}
