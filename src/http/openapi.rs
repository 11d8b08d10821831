//! `GET /openapi.json` (docs/API.md): the OpenAPI 3.1 document of every route,
//! `docs/openapi.json`, compiled in and served as it is.
//!
//! The document is kept by hand, next to the prose of docs/API.md; three
//! checks keep it true: the tests below (every route the router knows is in
//! it and every path in it is a route, every error code the API sends is in
//! its `ErrorCode`, its version is the crate's), `tests/openapi.rs` (it is
//! valid OpenAPI 3.1 against the official meta-schema), and the end-to-end
//! tests' HTTP client, which validates every JSON response it receives
//! against the document's schema for that route and status.

use std::sync::LazyLock;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue};

use super::response::{self, Reply};

/// The document.
pub const DOCUMENT: &str = include_str!("../../docs/openapi.json");

static TAG: LazyLock<HeaderValue> = LazyLock::new(|| crate::etag::of(DOCUMENT.as_bytes()));

/// `GET /openapi.json`, with a strong ETag.
pub fn reply(headers: &HeaderMap) -> Reply {
    response::tagged(headers, response::JSON, Bytes::from_static(DOCUMENT.as_bytes()), TAG.clone())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::error::Error;
    use crate::http::error::ApiError;
    use crate::http::router::Route;
    use crate::ids::UserId;

    fn document() -> Value {
        serde_json::from_str(DOCUMENT).expect("the document is JSON")
    }

    #[test]
    fn the_version_is_the_crates() {
        assert_eq!(document()["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert!(document()["openapi"].as_str().unwrap().starts_with("3.1."));
    }

    #[test]
    fn every_route_is_in_the_document_and_every_path_is_a_route() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        for label in Route::LABELS.iter().filter(|l| **l != "other") {
            let templated = label.replace(":id", "{id}").replace(":key", "{key}").replace(":asset", "{asset}");
            if templated == "/{id}.png" {
                for ext in ["png", "gif", "webp", "jpg"] {
                    assert!(paths.contains_key(&format!("/{{id}}.{ext}")), "/{{id}}.{ext} missing");
                }
            } else {
                assert!(paths.contains_key(&templated), "{templated} is a route but not in docs/openapi.json");
            }
        }
        for path in paths.keys() {
            let concrete =
                path.replace("{id}", "470320681905684500").replace("{key}", "k").replace("{asset}", "app.js");
            assert!(
                !matches!(Route::parse(&concrete), Route::Unknown { .. }),
                "{path} is in docs/openapi.json but no route"
            );
        }
    }

    #[test]
    fn every_error_code_is_in_the_document() {
        let doc = document();
        let listed: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let id_error = || "x".parse::<UserId>().unwrap_err();
        let sent: Vec<ApiError> = vec![
            ApiError::not_found(),
            ApiError::method_not_allowed(),
            ApiError::body_too_large(1),
            ApiError::body_timeout(std::time::Duration::from_secs(1)),
            ApiError::invalid_body("x"),
            ApiError::invalid_query("x"),
            ApiError::too_many_ids(1),
            ApiError::upgrade_required(),
            ApiError::rate_limited(1),
            ApiError::internal(&"x"),
            ApiError::storage_unavailable(),
            ApiError::primary_unavailable(5),
            Error::from(id_error()).into(),
            Error::Kv(crate::app::kv::KvError::InvalidKey("-".into())).into(),
            Error::Kv(crate::app::kv::KvError::ValueTooLong { len: 2, max: 1 }).into(),
            Error::Kv(crate::app::kv::KvError::TooManyKeys { max: 1 }).into(),
            Error::Kv(crate::app::kv::KvError::TooLarge { len: 2, max: 1 }).into(),
            Error::KvKeyNotFound("k".into()).into(),
            Error::NotMonitored(UserId(1)).into(),
            Error::Unauthorized.into(),
            Error::TokenLocked { retry_after: 1 }.into(),
            Error::KvWriteRate { per_minute: 1, retry_after: 1 }.into(),
        ];
        for error in &sent {
            assert!(listed.contains(&error.code), "{} is sent but not in ErrorCode", error.code);
        }
        for code in &listed {
            assert!(sent.iter().any(|e| e.code == *code), "{code} is in ErrorCode but never sent");
        }
    }
}
