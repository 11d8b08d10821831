//! The presence reads, `GET /user/:id` (native) and `GET /v1/users/:id`
//! (Lanyard): the bodies come from the read path (`app::reads`); here they get
//! their ETag, and a matching `If-None-Match` a 304.

use http::StatusCode;
use http::header::{ETAG, HeaderMap, IF_NONE_MATCH};

use super::error::ApiError;
use super::response::{self, Reply};
use super::{Api, Who, auth};
use crate::app::reads::{Body, Shape};
use crate::error::Error;
use crate::ids::InvalidUserId;

/// The presence of a user when it needs no waiting: a bad id, or a body in
/// memory; `None` when it must wait (`@me`, a body to read from the store).
pub fn reply_now(
    api: &Api,
    who: &Result<Who, InvalidUserId>,
    headers: &HeaderMap,
    shape: Shape,
) -> Option<Result<Reply, ApiError>> {
    match who {
        Err(e) => Some(Err(Error::from(e.clone()).into())),
        Ok(Who::Me) => None,
        Ok(Who::User(user)) => Some(Ok(reply_with(api.app.reads.now(*user, shape)?, headers))),
    }
}

/// The presence of a user, waiting for what it must.
pub async fn reply(
    api: &Api,
    who: &Result<Who, InvalidUserId>,
    headers: &HeaderMap,
    shape: Shape,
) -> Result<Reply, ApiError> {
    let user = auth::resolve(api, who, headers).await?;
    let body = api.app.reads.body(user, shape).await?.ok_or(Error::NotMonitored(user))?;
    Ok(reply_with(body, headers))
}

fn reply_with(body: Body, headers: &HeaderMap) -> Reply {
    let mut reply = if not_modified(headers, &body.etag) {
        response::empty(StatusCode::NOT_MODIFIED)
    } else {
        response::json(StatusCode::OK, body.bytes)
    };
    reply.headers_mut().insert(ETAG, body.etag);
    reply
}

/// Whether `If-None-Match` names this ETag (or `*`).
pub(super) fn not_modified(headers: &HeaderMap, etag: &http::HeaderValue) -> bool {
    headers.get_all(IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|candidate| {
        let candidate = candidate.trim();
        candidate == "*" || candidate.as_bytes() == etag.as_bytes()
    })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn if_none_match_matches_the_etag_in_a_list() {
        let tag = HeaderValue::from_static("\"0123456789abcdef\"");
        let mut headers = HeaderMap::new();
        headers.insert(IF_NONE_MATCH, HeaderValue::from_str(&format!("\"other\", {}", tag.to_str().unwrap())).unwrap());
        assert!(not_modified(&headers, &tag));
        assert!(!not_modified(&HeaderMap::new(), &tag));
    }
}
