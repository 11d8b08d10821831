//! `github link|unlink|refresh` for the operator.

use crate::app::App;
use crate::app::github::{GithubError, Profile};
use crate::error::{Error, Result};
use crate::ids::UserId;

/// Links and prints the profile GitHub gave.
pub async fn link(app: &App, user: UserId, login: String) -> Result<String> {
    let profile = app.github.link(user, login).await?;
    Ok(format!("linked {user} to GitHub user {}\n{}", profile.username, summary(&profile)))
}

pub async fn unlink(app: &App, user: UserId) -> Result<String> {
    app.github.unlink(user).await?;
    Ok(format!("unlinked the GitHub profile of {user}"))
}

/// One line per profile: `USER LOGIN: refreshed|unchanged|unlinked …|failed: reason`.
/// A single user's failure is an error (non-zero exit); with every user it is a line.
pub async fn refresh(app: &App, user: Option<UserId>) -> Result<String> {
    let users = match user {
        Some(user) => vec![user],
        None => app.github.links().await?.into_iter().map(|(user, _)| user).collect(),
    };
    let mut lines = Vec::with_capacity(users.len());
    for each in users {
        match app.github.refresh(each).await {
            Ok((login, refreshed)) => {
                if let (Some(_), Some(reason)) = (user, refreshed.failure()) {
                    return Err(GithubError::Unavailable(reason).into());
                }
                lines.push(format!("{each} {login}: {refreshed}"));
            }
            // Unlinked between listing and refreshing: nothing to report.
            Err(Error::Github(GithubError::NotLinked)) if user.is_none() => {}
            Err(e) if user.is_none() => lines.push(format!("{each}: failed: {e}")),
            Err(e) => return Err(e),
        }
    }
    if lines.is_empty() {
        lines.push("no GitHub profile is linked".into());
    }
    Ok(lines.join("\n"))
}

fn summary(profile: &Profile) -> String {
    let field = |name: &str, value: &Option<String>| format!("{name}: {}", value.as_deref().unwrap_or("-"));
    [
        format!("id: {}", profile.id),
        format!("url: {}", profile.url),
        format!("avatar_url: {}", profile.avatar_url),
        field("company", &profile.company),
        field("blog", &profile.blog),
        field("bio", &profile.bio),
        format!("public_repos: {}", profile.public_repos),
    ]
    .map(|line| format!("  {line}"))
    .join("\n")
}
