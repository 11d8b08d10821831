//! The one place where errors become HTTP responses: status, `snake_case` code
//! and message (docs/API.md, "Errors"), in the native shape `{"error":{…}}` or Lanyard's
//! envelope `{"success":false,"error":{…}}` on `/v1` routes. Internal errors
//! are logged here and answered with a fixed text, so no panic message, path
//! or database detail ever reaches a client.

use bytes::Bytes;
use http::StatusCode;
use http::header::{HeaderValue, RETRY_AFTER};
use serde::Serialize;

use crate::app::github::GithubError;
use crate::app::kv::KvError;
use crate::app::reads::Shape;
use crate::error::Error;
use crate::store::{RETRY_AFTER_SECS, StoreError};

use super::response::{self, Reply};

/// An error as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable machine-readable code.
    pub code: &'static str,
    /// Human text (never internal details).
    pub message: String,
    /// Seconds for `Retry-After`, on a refusal that ends by itself.
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), retry_after: None }
    }

    /// 404 for a path no route has.
    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
    }

    /// 405 for a route that exists with other methods.
    pub fn method_not_allowed() -> ApiError {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method")
    }

    /// 413 for a body over the limit.
    pub fn body_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("request bodies are limited to {limit} bytes"),
        )
    }

    /// 408 for a request body still incomplete after the header timeout (slow senders
    /// would otherwise hold a connection as long as they like).
    pub fn body_timeout(timeout: std::time::Duration) -> ApiError {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the request body did not arrive within {}", humantime::format_duration(timeout)),
        )
    }

    /// 400 for a body that is not what the route takes.
    pub fn invalid_body(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", message)
    }

    /// 400 for a query parameter the route refuses; the message names it.
    pub fn invalid_query(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message)
    }

    /// 400 for a bulk lookup naming more users than it may.
    pub fn too_many_ids(max: usize) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "too_many_ids",
            format!("a lookup names at most {max} distinct user ids"),
        )
    }

    /// 426 for a plain request to `/socket`.
    pub fn upgrade_required() -> ApiError {
        ApiError::new(StatusCode::UPGRADE_REQUIRED, "upgrade_required", "this route takes a WebSocket upgrade")
    }

    /// 429 when the client is over a rate limit.
    pub fn rate_limited(retry_after: u64) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests; retry in {retry_after} s"),
        )
        .retry_after(retry_after)
    }

    /// 503 while the storage refuses writes (a disk full, a file system gone
    /// read-only); nothing of the request was kept.
    pub fn storage_unavailable() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the database cannot be written right now; nothing was changed, try again later",
        )
        .retry_after(RETRY_AFTER_SECS)
    }

    /// 503 on a replica whose primary cannot be reached: a KV request is
    /// answered by the primary only, and nothing was changed.
    pub fn primary_unavailable(retry_after: u64) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "primary_unavailable",
            "this server relays KV requests to its primary, which cannot be reached now; try again later",
        )
        .retry_after(retry_after)
    }

    fn retry_after(self, seconds: u64) -> ApiError {
        ApiError { retry_after: Some(seconds), ..self }
    }

    /// 500, with the cause logged and not shown.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!("request failed: {cause}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error")
    }

    /// The JSON body: `{"error":{"code":…,"message":…}}`, or Lanyard's envelope.
    pub fn body(&self, shape: Shape) -> Bytes {
        #[derive(Serialize)]
        struct Detail<'a> {
            code: &'a str,
            message: &'a str,
        }
        #[derive(Serialize)]
        struct Envelope<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            success: Option<bool>,
            error: Detail<'a>,
        }
        let success = (shape == Shape::Lanyard).then_some(false);
        let envelope = Envelope { success, error: Detail { code: self.code, message: &self.message } };
        // Serialising strings into memory cannot fail.
        serde_json::to_vec(&envelope).unwrap_or_default().into()
    }

    /// The response (with `Retry-After` when the error has one).
    pub fn reply(&self, shape: Shape) -> Reply {
        let mut reply = response::json(self.status, self.body(shape));
        if let Some(seconds) = self.retry_after {
            reply.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        reply
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let message = e.to_string();
        let (status, code) = match &e {
            Error::InvalidUserId(_) => (StatusCode::BAD_REQUEST, "invalid_user_id"),
            Error::Kv(KvError::InvalidKey(_) | KvError::KeyTooLong { .. }) => {
                (StatusCode::BAD_REQUEST, "invalid_kv_key")
            }
            Error::Kv(KvError::ValueTooLong { .. }) => (StatusCode::BAD_REQUEST, "kv_value_too_long"),
            Error::Kv(KvError::TooManyKeys { .. }) => (StatusCode::BAD_REQUEST, "kv_too_many_keys"),
            Error::Kv(KvError::TooLarge { .. }) => (StatusCode::BAD_REQUEST, "kv_too_large"),
            Error::KvKeyNotFound(_) => (StatusCode::NOT_FOUND, "kv_key_not_found"),
            Error::NotMonitored(_) => (StatusCode::NOT_FOUND, "user_not_monitored"),
            Error::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Error::TokenLocked { retry_after } | Error::KvWriteRate { retry_after, .. } => {
                return ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message).retry_after(*retry_after);
            }
            Error::Github(GithubError::InvalidLogin(_)) => (StatusCode::BAD_REQUEST, "invalid_body"),
            Error::Github(GithubError::UnknownLogin(_) | GithubError::NotLinked) => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            Error::Store(StoreError::Unavailable(_)) => {
                tracing::warn!("request refused: {e}");
                return ApiError::storage_unavailable();
            }
            Error::Github(GithubError::Unavailable(_)) | Error::Store(_) | Error::Internal(_) => {
                return ApiError::internal(&e);
            }
        };
        ApiError::new(status, code, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;

    #[test]
    fn codes_follow_the_documented_table() {
        let cases: Vec<(Error, u16, &str)> = vec![
            ("x".parse::<UserId>().unwrap_err().into(), 400, "invalid_user_id"),
            (KvError::InvalidKey("a-b".into()).into(), 400, "invalid_kv_key"),
            (KvError::KeyTooLong { len: 2, max: 1 }.into(), 400, "invalid_kv_key"),
            (KvError::ValueTooLong { len: 2, max: 1 }.into(), 400, "kv_value_too_long"),
            (KvError::TooManyKeys { max: 1 }.into(), 400, "kv_too_many_keys"),
            (KvError::TooLarge { len: 2, max: 1 }.into(), 400, "kv_too_large"),
            (Error::KvKeyNotFound("k".into()), 404, "kv_key_not_found"),
            (Error::NotMonitored(UserId(1)), 404, "user_not_monitored"),
            (Error::Unauthorized, 401, "unauthorized"),
            (Error::Internal("secret detail".into()), 500, "internal"),
            (Error::Store(StoreError::Unavailable("No space left on device".into())), 503, "storage_unavailable"),
            (Error::Store(StoreError::Redb("a detail".into())), 500, "internal"),
        ];
        for (error, status, code) in cases {
            let api = ApiError::from(error);
            assert_eq!((api.status.as_u16(), api.code), (status, code));
        }
    }

    #[test]
    fn a_locked_token_is_429_with_retry_after() {
        let api = ApiError::from(Error::TokenLocked { retry_after: 42 });
        assert_eq!((api.status.as_u16(), api.code), (429, "rate_limited"));
        let reply = api.reply(Shape::Native);
        assert_eq!(reply.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(reply.headers()[RETRY_AFTER], "42");
        assert!(api.message.contains("42 s"), "{}", api.message);
        assert!(ApiError::not_found().reply(Shape::Native).headers().get(RETRY_AFTER).is_none());
        let writes = ApiError::from(Error::KvWriteRate { per_minute: 60, retry_after: 7 });
        assert_eq!((writes.status.as_u16(), writes.code), (429, "rate_limited"));
        assert_eq!(writes.reply(Shape::Lanyard).headers()[RETRY_AFTER], "7");
        assert_eq!(ApiError::rate_limited(3).reply(Shape::Lanyard).headers()[RETRY_AFTER], "3");
    }

    #[test]
    fn a_storage_failure_is_503_with_retry_after_and_no_detail() {
        let api = ApiError::from(Error::Store(StoreError::Unavailable("/var/lib/harmy: EFBIG".into())));
        let reply = api.reply(Shape::Lanyard);
        assert_eq!(reply.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.headers()[RETRY_AFTER], RETRY_AFTER_SECS.to_string().as_str());
        let body = String::from_utf8(api.body(Shape::Native).to_vec()).unwrap();
        assert!(body.contains("storage_unavailable") && !body.contains("EFBIG"), "{body}");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let api = ApiError::from(Error::Internal("thread panicked at src/x.rs".into()));
        let body = String::from_utf8(api.body(Shape::Native).to_vec()).unwrap();
        assert_eq!(body, r#"{"error":{"code":"internal","message":"internal server error"}}"#);
    }

    #[test]
    fn lanyard_routes_get_the_envelope() {
        let body = ApiError::not_found().body(Shape::Lanyard);
        assert_eq!(&body[..], br#"{"success":false,"error":{"code":"not_found","message":"no such route"}}"#);
    }
}
