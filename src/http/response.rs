//! Response building: the one body type of the API, the JSON content type,
//! and the answer to a conditional request.

use bytes::Bytes;
use http::HeaderMap;
use http::header::{CONTENT_TYPE, ETAG, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;

/// Every response the API sends.
pub type Reply = Response<Full<Bytes>>;

/// `application/json; charset=utf-8`
pub const JSON: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");

/// A JSON response.
pub fn json(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    typed(status, body, JSON)
}

/// A response with a body of the given content type.
pub fn typed(status: StatusCode, body: impl Into<Bytes>, content_type: HeaderValue) -> Reply {
    let mut reply = Response::new(Full::new(body.into()));
    *reply.status_mut() = status;
    reply.headers_mut().insert(CONTENT_TYPE, content_type);
    reply
}

/// A response with no body (204, 304, 101).
pub fn empty(status: StatusCode) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::new()));
    *reply.status_mut() = status;
    reply
}

/// A 200 with `body` and its strong ETag, or a 304 (with the ETag, no body)
/// when the request's `If-None-Match` names it.
pub fn tagged(request: &HeaderMap, content_type: HeaderValue, body: impl Into<Bytes>, etag: HeaderValue) -> Reply {
    let mut reply = if crate::etag::matches(request, &etag) {
        empty(StatusCode::NOT_MODIFIED)
    } else {
        typed(StatusCode::OK, body, content_type)
    };
    reply.headers_mut().insert(ETAG, etag);
    reply
}
