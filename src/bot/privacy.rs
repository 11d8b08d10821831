//! `.show` / `.hide` (`/privacy show|hide`), `.forget` (`/forget`) and `.export`
//! (`/export`): a member's say over whether harmy serves them and over what it
//! stores about them (docs/API.md, "Privacy"), through `App`.

use twilight_model::http::attachment::Attachment;

use crate::app::App;
use crate::app::privacy::Choice;
use crate::error::Result;
use crate::ids::UserId;

use super::{Bot, dms_closed};

/// `.show`: serve the user from now on.
pub async fn show(app: &App, user: UserId) -> Result<String> {
    app.privacy.set(user, Choice::Shown).await?;
    Ok("You are shown: harmy now serves your presence, key/value pairs and GitHub profile. \
        `.hide` (or `/privacy hide`) stops it at once."
        .into())
}

/// `.hide`: answer as not monitored from now on.
pub async fn hide(app: &App, user: UserId) -> Result<String> {
    app.privacy.set(user, Choice::Hidden).await?;
    Ok("You are hidden: harmy now answers everyone as if it did not know you, and open \
        connections hear nothing more about you. Your key/value pairs and token are kept; \
        `.show` serves you again, `.forget` deletes them."
        .into())
}

/// `.forget` without `confirm`: what it would do, and how to go ahead.
pub fn forget_asks(prefix: &str, slash: bool) -> String {
    let go = if slash { "`/forget confirm: True`".to_string() } else { format!("`{prefix}forget confirm`") };
    format!(
        "This deletes everything harmy stores about you: your key/value pairs, your API token, \
         your GitHub link and your last-seen time, and hides you. It cannot be undone. \
         To go ahead, send {go}."
    )
}

/// `.forget confirm`: delete everything, hide.
pub async fn forget(app: &App, user: UserId, prefix: &str) -> Result<String> {
    let forgotten = app.forget(user).await?;
    let pairs = match forgotten.kv_pairs {
        1 => "1 key/value pair".to_string(),
        n => format!("{n} key/value pairs"),
    };
    let mut deleted = vec![pairs];
    if forgotten.token {
        deleted.push("your API token".into());
    }
    if forgotten.github {
        deleted.push("your GitHub link".into());
    }
    if forgotten.last_seen {
        deleted.push("your last-seen time".into());
    }
    Ok(format!("Done: deleted {}. You are hidden now; `{prefix}show` serves you again.", deleted.join(", ")))
}

/// The export's file name.
fn file_name(user: UserId) -> String {
    format!("harmy-export-{user}.json")
}

/// `.export` / `/export`: DMs the export as a file; returns what to answer where
/// the command came from (`in_dm`: it came by DM, so the file is the answer).
pub async fn export(bot: &Bot, user: UserId, in_dm: bool) -> String {
    let document = match bot.app.export(user).await {
        Ok(document) => document,
        Err(e) => return super::reply::error_text(&e),
    };
    match dm_file(bot, user, document).await {
        Ok(()) if in_dm => String::new(),
        Ok(()) => "Check your DMs: I sent you everything harmy stores about you, as a JSON file.".into(),
        Err(None) => "I can't DM you: you don't accept direct messages from this server's members. \
                      Allow them (server menu → Privacy Settings) and try again."
            .into(),
        Err(Some(e)) => {
            tracing::warn!(user = %user, error = %e, "could not DM an export");
            "I couldn't reach your DMs just now; please try again.".into()
        }
    }
}

/// Sends the export as a file in the user's DMs. `Err(None)`: the user does not
/// accept DMs; `Err(Some(_))`: anything else, for the log.
async fn dm_file(bot: &Bot, user: UserId, document: String) -> std::result::Result<(), Option<String>> {
    let failed = |e: twilight_http::Error| if dms_closed(&e) { None } else { Some(e.to_string()) };
    let response = bot.http.create_private_channel(user.to_twilight()).await.map_err(failed)?;
    let channel = response.model().await.map_err(|e| Some(e.to_string()))?;
    let files = [Attachment::from_bytes(file_name(user), document.into_bytes(), 1)];
    let mentions = super::reply::no_mentions();
    bot.http
        .create_message(channel.id)
        .content("Everything harmy stores about you (your presence itself is not stored).")
        .attachments(&files)
        .allowed_mentions(Some(&mentions))
        .await
        .map_err(failed)?;
    Ok(())
}
