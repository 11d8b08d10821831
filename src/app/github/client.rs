//! The GitHub REST client: `GET /users/LOGIN`, conditional on the stored ETag,
//! on the one outbound HTTP stack (`outbound`).
//!
//! One client per process, shared by linking, the refresher and forced
//! refreshes, so that a rate-limit answer pauses every GitHub request until
//! GitHub's reset time: asking again before it only prolongs the penalty.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, ETAG, HeaderValue, IF_NONE_MATCH, RETRY_AFTER, USER_AGENT};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty, Limited};
use serde::Deserialize;

use super::Profile;
use crate::config::{GithubConfig, Secret};

/// Establishing the TCP and TLS connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole request, from connecting to the last byte of the body.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A user object is about 1.5 KiB; anything far larger is not one.
const MAX_BODY: usize = 256 * 1024;
/// Added to GitHub's reset time: our clock and GitHub's are not the same clock.
const CLOCK_SKEW_MARGIN: Duration = Duration::from_secs(1);
/// How long to hold off after a 429 or secondary-limit 403 that names no time
/// (GitHub's documented advice: at least a minute).
const DEFAULT_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(60);
/// The REST API version harmy is written against.
const API_VERSION: &str = "2022-11-28";

/// What asking GitHub for a user gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetch {
    /// A 200: the profile and its ETag.
    Fresh(Profile, Option<String>),
    /// A 304: the stored profile is current.
    NotModified,
    /// A 404: GitHub has no such user.
    NotFound,
    /// GitHub's rate limit (now or earlier): no request is made before `reset`.
    RateLimited {
        /// When requests may resume.
        reset: SystemTime,
    },
    /// Anything else (network, timeout, 5xx, an unreadable body); the reason is for people.
    Failed(String),
}

/// The GitHub client of a process, with its shared rate-limit pause.
pub struct Client {
    api_url: String,
    token: Secret,
    user_agent: HeaderValue,
    /// Built on first use: the CLI's KV commands never need TLS set up.
    http: OnceLock<crate::outbound::Client>,
    paused_until: Mutex<Option<SystemTime>>,
}

impl Client {
    /// A client for `[github]`'s base URL and token.
    pub fn new(config: &GithubConfig) -> Client {
        Client {
            api_url: config.api_url.trim_end_matches('/').to_string(),
            token: config.token.clone(),
            user_agent: HeaderValue::from_static(concat!("harmy/", env!("CARGO_PKG_VERSION"))),
            http: OnceLock::new(),
            paused_until: Mutex::new(None),
        }
    }

    /// Until when every request waits for GitHub's rate limit to reset, if it does.
    pub fn paused_until(&self) -> Option<SystemTime> {
        let paused = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        paused.filter(|until| *until > SystemTime::now())
    }

    /// `GET /users/LOGIN`, with `If-None-Match` when an ETag is known.
    pub async fn fetch(&self, login: &str, etag: Option<&str>) -> Fetch {
        if let Some(reset) = self.paused_until() {
            return Fetch::RateLimited { reset };
        }
        let request = match self.request(login, etag) {
            Ok(request) => request,
            Err(reason) => return Fetch::Failed(reason),
        };
        let exchange = async {
            let response = self.http().request(request).await.map_err(|e| chain(&e))?;
            let (parts, body) = response.into_parts();
            let body = if parts.status == StatusCode::OK {
                Limited::new(body, MAX_BODY)
                    .collect()
                    .await
                    .map_err(|e| format!("reading GitHub's answer: {e}"))?
                    .to_bytes()
            } else {
                Bytes::new() // only a 200's body is used; dropping the rest closes the connection
            };
            Ok::<_, String>((parts, body))
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Err(_) => Fetch::Failed(format!("GitHub did not answer within {}s", REQUEST_TIMEOUT.as_secs())),
            Ok(Err(reason)) => Fetch::Failed(reason),
            Ok(Ok((parts, body))) => self.classify(login, &parts, &body),
        }
    }

    fn request(&self, login: &str, etag: Option<&str>) -> Result<Request<Empty<Bytes>>, String> {
        let url = format!("{}/users/{login}", self.api_url);
        let mut request = Request::get(&url)
            .header(USER_AGENT, self.user_agent.clone())
            .header(ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", API_VERSION)
            .body(Empty::new())
            .map_err(|e| format!("cannot ask GitHub at {url}: {e}"))?;
        let headers = request.headers_mut();
        if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(e).ok()) {
            headers.insert(IF_NONE_MATCH, etag);
        }
        if !self.token.is_empty() {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", self.token.expose()))
                .map_err(|_| "github.token contains characters not allowed in a header".to_string())?;
            value.set_sensitive(true); // kept out of any Debug output and HPACK tables
            headers.insert(AUTHORIZATION, value);
        }
        Ok(request)
    }

    fn http(&self) -> &crate::outbound::Client {
        self.http.get_or_init(|| crate::outbound::client(CONNECT_TIMEOUT))
    }

    fn classify(&self, login: &str, parts: &http::response::Parts, body: &[u8]) -> Fetch {
        match parts.status {
            StatusCode::OK => match serde_json::from_slice::<ApiUser>(body) {
                Ok(user) => {
                    let etag = parts.headers.get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_string);
                    Fetch::Fresh(user.into(), etag)
                }
                Err(e) => Fetch::Failed(format!("GitHub sent an unreadable profile for {login}: {e}")),
            },
            StatusCode::NOT_MODIFIED => Fetch::NotModified,
            StatusCode::NOT_FOUND | StatusCode::GONE => Fetch::NotFound,
            status @ (StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS) => match rate_limit_reset(parts) {
                Some(reset) => self.pause(reset),
                None if status == StatusCode::TOO_MANY_REQUESTS => {
                    self.pause(SystemTime::now() + DEFAULT_RATE_LIMIT_PAUSE)
                }
                None => Fetch::Failed(format!("GitHub refused the request ({status})")),
            },
            status => Fetch::Failed(format!("GitHub answered {status}")),
        }
    }

    /// Holds every request until `reset`.
    fn pause(&self, reset: SystemTime) -> Fetch {
        let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        if paused.is_none_or(|until| until < reset) {
            *paused = Some(reset);
            tracing::warn!(
                until = %humantime::format_rfc3339_seconds(reset),
                "GitHub's rate limit is reached; no GitHub request until then"
            );
        }
        Fetch::RateLimited { reset }
    }
}

/// When a rate-limited answer says requests may resume: `Retry-After` (secondary
/// limits), else `X-RateLimit-Reset` when `X-RateLimit-Remaining` is 0.
fn rate_limit_reset(parts: &http::response::Parts) -> Option<SystemTime> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(seconds) = header(RETRY_AFTER.as_str()).and_then(|v| v.parse::<u64>().ok()) {
        return Some(SystemTime::now() + Duration::from_secs(seconds));
    }
    if header("x-ratelimit-remaining") == Some("0") {
        let reset = header("x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok());
        return Some(match reset {
            Some(reset) => UNIX_EPOCH + Duration::from_secs(reset) + CLOCK_SKEW_MARGIN,
            None => SystemTime::now() + DEFAULT_RATE_LIMIT_PAUSE,
        });
    }
    None
}

/// An error with its sources, e.g. "client error (Connect): tcp connect error: Connection refused".
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = format!("cannot reach GitHub: {error}");
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(&format!(": {e}"));
        source = e.source();
    }
    text
}

/// The fields of GitHub's user object that harmy keeps.
#[derive(Deserialize)]
struct ApiUser {
    id: u64,
    login: String,
    #[serde(default)]
    avatar_url: String,
    #[serde(default)]
    html_url: String,
    company: Option<String>,
    blog: Option<String>,
    bio: Option<String>,
    #[serde(default)]
    public_repos: u64,
}

impl From<ApiUser> for Profile {
    fn from(user: ApiUser) -> Profile {
        Profile {
            id: user.id,
            username: user.login,
            avatar_url: user.avatar_url,
            url: user.html_url,
            company: non_empty(user.company),
            blog: non_empty(user.blog),
            bio: non_empty(user.bio),
            public_repos: user.public_repos,
        }
    }
}

/// GitHub sends `""` for an unset blog (and `null` for other unset fields): both show as `null`.
fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(status: u16, headers: &[(&str, &str)]) -> http::response::Parts {
        let mut builder = http::Response::builder().status(status);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn an_unset_blog_shows_as_null() {
        let user: ApiUser = serde_json::from_str(
            r#"{"id":1,"login":"octocat","avatar_url":"a","html_url":"h","company":null,"blog":"","bio":"hi","public_repos":8,"type":"User"}"#,
        )
        .unwrap();
        let profile = Profile::from(user);
        assert_eq!((profile.blog, profile.company, profile.bio.as_deref()), (None, None, Some("hi")));
    }

    #[test]
    fn a_primary_rate_limit_resets_at_github_s_time() {
        let reset =
            rate_limit_reset(&parts(403, &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "2000000000")]));
        assert_eq!(reset, Some(UNIX_EPOCH + Duration::from_secs(2_000_000_000) + CLOCK_SKEW_MARGIN));
    }

    #[test]
    fn a_plain_forbidden_is_not_a_rate_limit() {
        let client = Client::new(&GithubConfig::default());
        assert!(matches!(client.classify("x", &parts(403, &[("x-ratelimit-remaining", "12")]), b""), Fetch::Failed(_)));
        assert_eq!(client.paused_until(), None);
    }

    #[tokio::test]
    async fn a_rate_limit_pauses_every_later_request() {
        // Port 9 (discard) on localhost: were a request made, it would fail, not be rate limited.
        let client = Client::new(&GithubConfig { api_url: "http://127.0.0.1:9".into(), ..GithubConfig::default() });
        let fetched = client.classify("x", &parts(429, &[("retry-after", "30")]), b"");
        let Fetch::RateLimited { reset } = fetched else { panic!("{fetched:?}") };
        assert_eq!(client.paused_until(), Some(reset));
        assert_eq!(client.fetch("someone", None).await, Fetch::RateLimited { reset });
    }
}
