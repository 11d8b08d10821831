//! The presence reads, `GET /user/:id` (native) and `GET /v1/users/:id`
//! (Lanyard): the bodies come from the read path (`app::reads`) with their
//! ETags, and a matching `If-None-Match` gets a 304.

use http::HeaderMap;

use super::error::ApiError;
use super::response::{self, Reply};
use super::{Api, Who, auth};
use crate::app::reads::{Keep, Shape};
use crate::error::Error;
use crate::ids::InvalidUserId;

/// The presence of a user (for `@me`, of the token's owner).
pub async fn reply(
    api: &Api,
    who: &Result<Who, InvalidUserId>,
    headers: &HeaderMap,
    shape: Shape,
) -> Result<Reply, ApiError> {
    let user = auth::resolve(api, who, headers).await?;
    let published = api.app.reads.get(user, Keep::Bodies).await?.ok_or(Error::NotMonitored(user))?;
    let body = published.body(shape);
    Ok(response::tagged(headers, response::JSON, body.bytes(), body.etag().clone()))
}
