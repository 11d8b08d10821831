//! `user show|hide|forget|export` for the operator (docs/API.md, "Privacy").

use crate::app::App;
use crate::app::privacy::Choice;
use crate::error::Result;
use crate::ids::UserId;

pub async fn show(app: &App, user: UserId) -> Result<String> {
    app.privacy.set(user, Choice::Shown).await?;
    Ok(format!("{user} is shown: served on every route"))
}

pub async fn hide(app: &App, user: UserId) -> Result<String> {
    app.privacy.set(user, Choice::Hidden).await?;
    Ok(format!("{user} is hidden: answered as not monitored on every route"))
}

pub async fn forget(app: &App, user: UserId) -> Result<String> {
    let forgotten = app.forget(user).await?;
    let yes = |b: bool| if b { "deleted" } else { "none" };
    Ok(format!(
        "forgot {user}: {} KV pairs deleted, API token {}, GitHub link {}, last seen {}; {user} is hidden",
        forgotten.kv_pairs,
        yes(forgotten.token),
        yes(forgotten.github),
        yes(forgotten.last_seen)
    ))
}

/// Prints only the document, so `harmy user export ID > file.json` works.
pub async fn export(app: &App, user: UserId) -> Result<String> {
    app.export(user).await
}
