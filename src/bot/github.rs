//! `.github LOGIN` / `.github unlink` and `/github link|unlink`: the linked
//! GitHub profile, through `App` (which fetches the profile on link).

use crate::app::App;
use crate::error::Result;
use crate::ids::UserId;

use super::reply::code;

/// Links a GitHub login.
pub async fn link(app: &App, user: UserId, login: String) -> Result<String> {
    let shown = code(&login);
    app.github.link(user, login).await?;
    Ok(format!("Linked GitHub profile {shown}."))
}

/// Removes the link.
pub async fn unlink(app: &App, user: UserId) -> Result<String> {
    app.github.unlink(user).await?;
    Ok("Unlinked your GitHub profile.".into())
}
