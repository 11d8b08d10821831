//! The card routes: `GET /user/:id/card.svg` and `GET /api/:id` (the path of
//! the common Lanyard card service), and the avatar links `GET /:id.png`
//! (`.gif`, `.webp`, `.jpg`). The card itself is made in `crate::card`.

use std::time::SystemTime;

use http::header::{CACHE_CONTROL, ETAG, HeaderMap, HeaderValue, LOCATION};
use http::{HeaderName, StatusCode};

use super::Api;
use super::error::ApiError;
use super::response::{self, Reply};
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

/// The card, with the images it needs (fetched within 2 s, or placeholders).
pub async fn reply(
    api: &Api,
    id: &Result<UserId, InvalidUserId>,
    headers: &HeaderMap,
    query: &str,
) -> Result<Reply, ApiError> {
    let user = id.clone().map_err(Error::from)?;
    let card =
        api.cards.card(&api.app, user, query, SystemTime::now()).await.map_err(|e| ApiError::invalid_query(e.0))?;
    let mut reply = if !card.found {
        let mut reply = response::typed(StatusCode::NOT_FOUND, card.svg.clone(), SVG);
        reply.headers_mut().insert(ETAG, card.etag.clone());
        reply
    } else {
        response::tagged(headers, SVG, card.svg.clone(), card.etag.clone())
    };
    let sent = reply.status() != StatusCode::NOT_MODIFIED;
    let out = reply.headers_mut();
    if sent {
        out.insert(HeaderName::from_static("content-security-policy"), CSP);
        out.insert(HeaderName::from_static("x-content-type-options"), NOSNIFF);
    }
    out.insert(CACHE_CONTROL, CACHE);
    Ok(reply)
}

/// `GET /:id.<format>`: 302 to the avatar on the CDN.
pub fn avatar(
    api: &Api,
    id: &Result<UserId, InvalidUserId>,
    format: AvatarFormat,
    query: &str,
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
    let size = crate::query::first(query, "size").and_then(|s| s.parse::<u32>().ok());
    let size = size.filter(|s| s.is_power_of_two() && (16..=4096).contains(s));
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
