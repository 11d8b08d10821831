//! The KV routes, native (`/user/:id/kv…`) and Lanyard (`/v1/users/:id/kv…`):
//! token-authenticated reads and writes through `App`. Write bodies are the
//! raw value whatever the `Content-Type` says (a Lanyard client sends
//! `application/json` for plain text); success is 204.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Body;

use super::error::ApiError;
use super::response::{self, Reply};
use super::{Api, Who, auth};
use crate::ids::InvalidUserId;

/// Largest request body read (`413 body_too_large` past it; docs/API.md).
pub const BODY_LIMIT: usize = 64 * 1024;

type PathUser = Result<Who, InvalidUserId>;

/// Reads a request body of at most `BODY_LIMIT` bytes, within the header timeout
/// (which covers only the head: without this, a client trickling a body would
/// hold its connection, and one of `max_connections`, for as long as it liked).
pub async fn read_body<B>(api: &Api, headers: &HeaderMap, body: B) -> Result<Bytes, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let declared = headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(ApiError::body_too_large(BODY_LIMIT));
    }
    let collect = Limited::new(body, BODY_LIMIT).collect();
    let limit = api.app.config().http.header_timeout;
    let collected = if limit.is_zero() {
        collect.await
    } else {
        tokio::time::timeout(limit, collect).await.map_err(|_| ApiError::body_timeout(limit))?
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::body_too_large(BODY_LIMIT)),
        Err(_) => Err(ApiError::invalid_body("the request body could not be read")),
    }
}

/// `GET /user/:id/kv`
pub async fn all(api: &Api, who: &PathUser, headers: &HeaderMap) -> Result<Reply, ApiError> {
    let user = auth::authorize(api, who, headers).await?;
    let pairs = api.app.kv.all(user).await?;
    let body = serde_json::to_vec(&pairs).map_err(|e| ApiError::internal(&e))?;
    Ok(response::json(StatusCode::OK, body))
}

/// `GET /user/:id/kv/:key`
pub async fn one(api: &Api, who: &PathUser, key: &str, headers: &HeaderMap) -> Result<Reply, ApiError> {
    let user = auth::authorize(api, who, headers).await?;
    let value = api.app.kv.get(user, key.to_string()).await?;
    let body =
        serde_json::to_vec(&serde_json::json!({ "key": key, "value": value })).map_err(|e| ApiError::internal(&e))?;
    Ok(response::json(StatusCode::OK, body))
}

/// `PUT …/kv/:key`: the body is the value.
pub async fn put<B>(api: &Api, who: &PathUser, key: &str, headers: &HeaderMap, body: B) -> Result<Reply, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let user = auth::authorize(api, who, headers).await?;
    api.app.kv.admit_write(user)?;
    let body = read_body(api, headers, body).await?;
    let value = String::from_utf8(body.to_vec()).map_err(|_| ApiError::invalid_body("the value must be UTF-8 text"))?;
    api.app.kv.set(user, key.to_string(), value).await?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

/// `PATCH …/kv`: the body is a JSON object of string values, merged in.
pub async fn patch<B>(api: &Api, who: &PathUser, headers: &HeaderMap, body: B) -> Result<Reply, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let user = auth::authorize(api, who, headers).await?;
    api.app.kv.admit_write(user)?;
    let body = read_body(api, headers, body).await?;
    let pairs = patch_pairs(&body)?;
    if !pairs.is_empty() {
        api.app.kv.set_many(user, pairs).await?;
    }
    Ok(response::empty(StatusCode::NO_CONTENT))
}

/// A PATCH body as the pairs it sets: a JSON object whose values are all strings
/// (a key given twice counts once, with its last value).
pub(crate) fn patch_pairs(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
        .map_err(|_| ApiError::invalid_body("the body must be a JSON object of string values"))?;
    object
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            _ => Err(ApiError::invalid_body(format!(
                "the value of `{}` is not a string",
                k.chars().take(64).collect::<String>()
            ))),
        })
        .collect()
}

/// `DELETE …/kv/:key`: 204 whether or not the key existed.
pub async fn delete(api: &Api, who: &PathUser, key: &str, headers: &HeaderMap) -> Result<Reply, ApiError> {
    let user = auth::authorize(api, who, headers).await?;
    api.app.kv.admit_write(user)?;
    api.app.kv.del(user, key.to_string()).await?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(body: &str) -> Result<Vec<(String, String)>, ApiError> {
        patch_pairs(body.as_bytes())
    }

    #[test]
    fn a_patch_body_is_an_object_of_strings() {
        let expected = vec![("a".to_string(), "1".to_string()), ("b".to_string(), "x\ny".to_string())];
        assert_eq!(pairs(r#"{"b":"x\ny","a":"1"}"#), Ok(expected));
        assert_eq!(pairs("{}"), Ok(vec![]));
    }

    #[test]
    fn a_key_given_twice_counts_once_with_its_last_value() {
        assert_eq!(pairs(r#"{"a":"1","a":"2"}"#), Ok(vec![("a".to_string(), "2".to_string())]));
    }

    #[test]
    fn anything_else_is_invalid_body() {
        for body in ["", "[]", r#""a""#, r#"{"a":1}"#, r#"{"a":null}"#, r#"{"a":"1"} x"#, "{\"a\":\"\\ud800\"}"] {
            let error = pairs(body).expect_err(body);
            assert_eq!((error.status, error.code), (StatusCode::BAD_REQUEST, "invalid_body"), "{body}");
        }
        assert!(pairs(r#"{"color":1}"#).unwrap_err().message.contains("`color`"));
    }
}
