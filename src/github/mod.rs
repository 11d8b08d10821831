//! The linked GitHub profile (SPEC §7): what is stored and shown, the REST
//! client that fetches it ([`client`]), linking and refreshing as `App`
//! methods ([`link`]), and the periodic refresher of `serve` ([`refresher`]).

pub mod client;
pub mod link;
pub mod refresher;

pub use client::{Client, Fetch};
pub use link::Refreshed;

use serde::{Deserialize, Serialize};

/// The public profile fields harmy shows as `github`. `company`, `blog` and
/// `bio` are `null` when unset, also where GitHub sends `""` (it does for `blog`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// GitHub's numeric user id.
    pub id: u64,
    /// The login.
    pub username: String,
    /// Avatar image URL.
    pub avatar_url: String,
    /// The profile page (`html_url`).
    pub url: String,
    /// Company, if set.
    pub company: Option<String>,
    /// Blog or website, if set.
    pub blog: Option<String>,
    /// Bio, if set.
    pub bio: Option<String>,
    /// Number of public repositories.
    pub public_repos: u64,
}

/// What the store keeps per link: the profile and how to revalidate it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The last good profile.
    pub profile: Profile,
    /// GitHub's ETag for `If-None-Match`.
    pub etag: Option<String>,
    /// Unix seconds of the last successful fetch (200 or 304).
    pub fetched_at: u64,
}

/// Why a GitHub operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GithubError {
    /// GitHub has no such login.
    #[error("GitHub has no user `{0}`")]
    UnknownLogin(String),
    /// The login is not a valid GitHub login.
    #[error("`{0}` is not a GitHub login (letters, digits and single hyphens, up to 39)")]
    InvalidLogin(String),
    /// The user has no linked profile.
    #[error("no GitHub profile is linked")]
    NotLinked,
    /// GitHub could not be asked (network, rate limit, server error).
    #[error("GitHub is unavailable: {0}")]
    Unavailable(String),
}

/// Checks the shape of a GitHub login before asking GitHub.
pub fn check_login(login: &str) -> Result<(), GithubError> {
    let ok = !login.is_empty()
        && login.len() <= 39
        && login.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !login.starts_with('-')
        && !login.ends_with('-')
        && !login.contains("--");
    if ok { Ok(()) } else { Err(GithubError::InvalidLogin(login.chars().take(40).collect())) }
}
