//! CORS (docs/API.md): `Access-Control-Allow-Origin` on every response,
//! errors included, and the `OPTIONS` preflight. The preflight names
//! `authorization` explicitly because a `*` in `Allow-Headers` does not cover it.

use http::StatusCode;
use http::header::{self, HeaderMap, HeaderValue};

use super::response::{self, Reply};

const ALLOW_METHODS: HeaderValue = HeaderValue::from_static("GET, PUT, PATCH, DELETE, OPTIONS");
const ALLOW_HEADERS: HeaderValue = HeaderValue::from_static("authorization, content-type, if-none-match");
const EXPOSE_HEADERS: HeaderValue =
    HeaderValue::from_static("etag, ratelimit-limit, ratelimit-remaining, ratelimit-reset, retry-after");
const MAX_AGE: HeaderValue = HeaderValue::from_static("86400");
const ANY: HeaderValue = HeaderValue::from_static("*");

/// The allowed origins (`http.cors_origins`).
#[derive(Debug, Clone)]
pub struct Cors {
    any: bool,
    origins: Vec<HeaderValue>,
}

impl Cors {
    /// From the configured list; `*` allows every origin, an empty list none.
    pub fn new(origins: &[String]) -> Cors {
        Cors {
            any: origins.iter().any(|o| o == "*"),
            origins: origins.iter().filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()).collect(),
        }
    }

    /// Adds the CORS headers for a request from `origin` to a response.
    pub fn apply(&self, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
        if self.any {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ANY);
            // Only a browser's cross-origin request (it sends Origin) reads the exposed list.
            if origin.is_none() {
                return;
            }
        } else {
            // The answer depends on the request's Origin: caches must know.
            headers.append(header::VARY, HeaderValue::from_static("origin"));
            match origin {
                Some(origin) if self.origins.contains(origin) => {
                    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
                }
                _ => return,
            }
        }
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS);
    }

    /// The answer to an `OPTIONS` preflight (the origin header is added by `apply`).
    pub fn preflight(&self) -> Reply {
        let mut reply = response::empty(StatusCode::NO_CONTENT);
        let headers = reply.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS);
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE);
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_allows_any_origin() {
        let mut headers = HeaderMap::new();
        Cors::new(&["*".into()]).apply(None, &mut headers);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }

    #[test]
    fn a_listed_origin_is_echoed_and_others_get_nothing() {
        let cors = Cors::new(&["https://me.example".into()]);
        let mut headers = HeaderMap::new();
        cors.apply(Some(&HeaderValue::from_static("https://me.example")), &mut headers);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://me.example");
        let mut headers = HeaderMap::new();
        cors.apply(Some(&HeaderValue::from_static("https://evil.example")), &mut headers);
        assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        assert_eq!(headers[header::VARY], "origin");
    }
}
