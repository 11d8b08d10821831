//! `token rotate|revoke` for the operator.

use crate::app::App;
use crate::error::Result;
use crate::ids::UserId;

/// Prints only the token, so `TOKEN=$(harmy token rotate ID)` works.
pub async fn rotate(app: &App, user: UserId) -> Result<String> {
    app.tokens.rotate(user).await
}

pub async fn revoke(app: &App, user: UserId) -> Result<String> {
    Ok(if app.tokens.revoke(user).await? {
        format!("revoked the API token of {user}")
    } else {
        format!("{user} had no API token")
    })
}
