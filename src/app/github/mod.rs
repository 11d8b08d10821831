//! The GitHub service: each user's linked GitHub profile (docs/github.md).
//! What is stored and shown is here, the tables in `data`, the REST client
//! that fetches profiles in [`client`], linking and refreshing in [`link`],
//! and the periodic refresher of `serve` (this service's background worker)
//! in [`refresher`]. Writes go through the write path of the public state
//! (`app::writes`), so subscribers and readers see them.

pub(crate) mod client;
pub(crate) mod data;
pub(crate) mod link;
pub mod refresher;

use std::sync::Arc;
use std::time::Duration;

pub use client::{Client, Fetch};
pub use link::Refreshed;
use serde::{Deserialize, Serialize};

use super::writes::Writes;
use crate::config::GithubConfig;
use crate::error::Result;
use crate::ids::UserId;
use crate::store::{self, Store};

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

/// Every user's GitHub link.
pub struct Github {
    /// Shared by every request, so that a rate-limit pause holds for all of them.
    client: Client,
    refresh_interval: Duration,
    store: Arc<Store>,
    writes: Arc<Writes>,
}

impl Github {
    /// The service for `[github]`, over `store`.
    pub fn new(config: &GithubConfig, store: Arc<Store>, writes: Arc<Writes>) -> Github {
        Github { client: Client::new(config), refresh_interval: config.refresh_interval, store, writes }
    }

    /// How often the refresher refetches each linked profile.
    pub fn refresh_interval(&self) -> Duration {
        self.refresh_interval
    }

    /// Stores a link, with its first profile record when one was fetched (`link`
    /// fetches it, and is what adapters call).
    pub(crate) async fn store_link(&self, user: UserId, login: String, record: Option<Record>) -> Result<()> {
        check_login(&login)?;
        self.writes.run(user, move |txn| data::link(txn, user, &login, record.as_ref())).await
    }

    /// Stores a refreshed profile; false when the user was unlinked meanwhile.
    async fn store_profile(&self, user: UserId, login: String, record: Record) -> Result<bool> {
        self.writes.run(user, move |txn| data::set_profile(txn, user, &login, &record)).await
    }

    /// Removes a GitHub link; `NotLinked` when there was none.
    pub async fn unlink(&self, user: UserId) -> Result<()> {
        let existed = self.writes.run(user, move |txn| data::unlink(txn, user)).await?;
        if existed { Ok(()) } else { Err(GithubError::NotLinked.into()) }
    }

    /// Deletes a user's link and profile inside `txn` (`App::forget`); true when
    /// there was a link.
    pub(crate) fn forget_in(txn: &redb::WriteTransaction, user: UserId) -> Result<bool> {
        data::forget(txn, user)
    }

    /// The linked login and its stored record.
    pub async fn get(&self, user: UserId) -> Result<Option<(String, Option<Record>)>> {
        store::blocking(&self.store, move |store| store.read(|txn| data::get(txn, user))).await
    }

    /// Every GitHub link.
    pub async fn links(&self) -> Result<Vec<(UserId, String)>> {
        store::blocking(&self.store, |store| store.read(data::links)).await
    }
}
