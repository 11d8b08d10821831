//! Linking and refreshing, the two operations that ask GitHub: every adapter
//! (bot, CLI, admin socket, the refresher of `serve`) goes through these.

use std::time::{SystemTime, UNIX_EPOCH};

use super::client::Fetch;
use super::{Github, GithubError, Profile, Record, check_login};
use crate::error::Result;
use crate::ids::UserId;

/// What refreshing one linked profile did.
#[derive(Debug, Clone, PartialEq)]
pub enum Refreshed {
    /// GitHub had a different profile; it is stored and pushed.
    Changed(Profile),
    /// The stored profile is current (a 304 changes nothing, not even the store).
    Unchanged,
    /// GitHub no longer has the login: the link is removed.
    Unlinked,
    /// GitHub's rate limit holds every request until then; the stored profile stays.
    RateLimited(SystemTime),
    /// GitHub could not be asked; the stored profile stays.
    Failed(String),
}

impl Refreshed {
    /// Why the profile could not be refreshed, when it could not.
    pub fn failure(&self) -> Option<String> {
        match self {
            Refreshed::RateLimited(until) => Some(rate_limited(*until)),
            Refreshed::Failed(reason) => Some(reason.clone()),
            _ => None,
        }
    }
}

impl std::fmt::Display for Refreshed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refreshed::Changed(_) => f.write_str("refreshed"),
            Refreshed::Unchanged => f.write_str("unchanged"),
            Refreshed::Unlinked => f.write_str("unlinked (GitHub has no such user any more)"),
            Refreshed::RateLimited(until) => write!(f, "failed: {}", rate_limited(*until)),
            Refreshed::Failed(reason) => write!(f, "failed: {reason}"),
        }
    }
}

impl Github {
    /// Links a user to a GitHub login: the profile is fetched at once and stored
    /// with its ETag. An unknown login is refused and links nothing; the login
    /// kept is GitHub's spelling of it. Returns the linked profile.
    pub async fn link(&self, user: UserId, login: String) -> Result<Profile> {
        check_login(&login)?;
        match self.client.fetch(&login, None).await {
            Fetch::Fresh(profile, etag) => {
                let record = Record { profile: profile.clone(), etag, fetched_at: unix_now() };
                self.store_link(user, profile.username.clone(), Some(record)).await?;
                tracing::info!(%user, login = %profile.username, "GitHub profile linked");
                Ok(profile)
            }
            Fetch::NotFound => Err(GithubError::UnknownLogin(login).into()),
            Fetch::RateLimited { reset } => Err(GithubError::Unavailable(rate_limited(reset)).into()),
            Fetch::Failed(reason) => Err(GithubError::Unavailable(reason).into()),
            Fetch::NotModified => Err(GithubError::Unavailable("GitHub answered 304 to a plain request".into()).into()),
        }
    }

    /// Refetches a user's linked profile with `If-None-Match`, storing (and so
    /// pushing) it only when it changed; a login GitHub no longer knows is
    /// unlinked. `NotLinked` when the user has no link.
    pub async fn refresh(&self, user: UserId) -> Result<(String, Refreshed)> {
        let Some((login, record)) = self.get(user).await? else {
            return Err(GithubError::NotLinked.into());
        };
        let etag = record.as_ref().and_then(|r| r.etag.as_deref());
        let refreshed = match self.client.fetch(&login, etag).await {
            Fetch::Fresh(profile, etag) => {
                let same_profile = record.as_ref().is_some_and(|r| r.profile == profile);
                if record.is_some_and(|r| r.profile == profile && r.etag == etag) {
                    return Ok((login, Refreshed::Unchanged)); // a 200 without a usable ETag
                }
                // A new ETag over the same shown fields (GitHub's covers followers and
                // more) is still stored, so that the next revalidation is a free 304.
                let record = Record { profile: profile.clone(), etag, fetched_at: unix_now() };
                if !self.store_profile(user, login.clone(), record).await? {
                    return Err(GithubError::NotLinked.into()); // unlinked while we asked
                }
                if same_profile {
                    tracing::debug!(%user, %login, "GitHub profile unchanged under a new ETag");
                    Refreshed::Unchanged
                } else {
                    tracing::info!(%user, %login, "GitHub profile changed");
                    Refreshed::Changed(profile)
                }
            }
            Fetch::NotModified => Refreshed::Unchanged,
            Fetch::NotFound => {
                // Relinked to another login while we asked: that link is not the one gone.
                if self.get(user).await?.is_none_or(|(now, _)| now != login) {
                    return Err(GithubError::NotLinked.into());
                }
                match self.unlink(user).await {
                    Ok(()) | Err(crate::error::Error::Github(GithubError::NotLinked)) => {}
                    Err(e) => return Err(e),
                }
                tracing::warn!(%user, %login, "GitHub has no user {login} any more; unlinked it");
                Refreshed::Unlinked
            }
            Fetch::RateLimited { reset } => Refreshed::RateLimited(reset),
            Fetch::Failed(reason) => {
                tracing::warn!(%user, %login, %reason, "refreshing the GitHub profile failed; keeping the last one");
                Refreshed::Failed(reason)
            }
        };
        Ok((login, refreshed))
    }
}

fn rate_limited(until: SystemTime) -> String {
    format!("GitHub's rate limit is reached until {}", humantime::format_rfc3339_seconds(until))
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
