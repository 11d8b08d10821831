//! `github link|unlink|refresh` for the operator.

use crate::app::App;
use crate::error::{Error, Result};
use crate::ids::UserId;

pub async fn link(app: &App, user: UserId, login: String) -> Result<String> {
    app.link_github(user, login.clone()).await?;
    Ok(format!("linked {user} to GitHub user {login}"))
}

pub async fn unlink(app: &App, user: UserId) -> Result<String> {
    app.github_unlink(user).await?;
    Ok(format!("unlinked the GitHub profile of {user}"))
}

pub async fn refresh(_app: &App, _user: Option<UserId>) -> Result<String> {
    Err(Error::Internal("refreshing GitHub profiles is not available yet".into()))
}
