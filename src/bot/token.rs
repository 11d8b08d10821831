//! `.token`/`.apikey`, `/token`, and the leak guard: API tokens handed out by DM
//! (or in an ephemeral reply), and a token pasted into a channel replaced at once.
//!
//! When the DM cannot be delivered (the user does not accept DMs from server
//! members: 403, code 50007) the freshly issued token is revoked again, since
//! nobody saw it; the reply in the channel says so and points to `/token`,
//! whose ephemeral reply needs no DM.

use twilight_model::channel::Message;

use crate::ids::UserId;

use super::reply::error_text;
use super::{Bot, dms_closed};

/// The DM that carries a new token.
fn token_text(token: &str, why: &str) -> String {
    format!(
        "{why}Your new harmy API token (the previous one no longer works):\n`{token}`\n\
         Keep it secret: it lets anyone change your key/value pairs. \
         Send it as the `Authorization` header."
    )
}

/// `.token` from a message: the token goes to the user's DMs; the return value
/// is what to answer in the channel the command came from.
pub async fn by_message(bot: &Bot, message: &Message) -> String {
    let user = UserId::from(message.author.id);
    let token = match bot.app.tokens.rotate(user).await {
        Ok(token) => token,
        Err(e) => return error_text(&e),
    };
    if message.guild_id.is_none() {
        // Already a DM: the answer itself carries the token.
        return token_text(&token, "");
    }
    match dm(bot, user, &token_text(&token, "")).await {
        Ok(()) => "Check your DMs: I sent you a new API token.".into(),
        Err(failure) => {
            revoke_unseen(bot, user).await;
            if let DmFailure::Closed = failure {
                "I can't DM you: you don't accept direct messages from this server's members. \
                 Allow them (server menu → Privacy Settings) and try again, or use `/token`, \
                 whose answer only you can see. No new token was issued, and any previous one \
                 no longer works."
                    .into()
            } else {
                tracing::warn!(user = %user, "could not DM a token: {failure}");
                "I couldn't reach your DMs just now. No new token was issued, and any previous one \
                 no longer works; please try again."
                    .into()
            }
        }
    }
}

/// `/token`: the answer is ephemeral, so it carries the token itself.
pub async fn by_slash(bot: &Bot, user: UserId) -> String {
    match bot.app.tokens.rotate(user).await {
        Ok(token) => token_text(&token, ""),
        Err(e) => error_text(&e),
    }
}

/// Replaces every valid API token found in a guild message (whoever it belongs
/// to) and DMs its owner the new one. Returns what to say in the channel, or
/// `None` when the message holds no valid token. At most three token-shaped
/// words of a message are verified, and only those whose selector exists
/// (`App::leaked_tokens`), so a message full of them costs little.
pub async fn guard_leak(bot: &Bot, message: &Message) -> Option<String> {
    let leaks = match bot.app.tokens.leaked(&message.content).await {
        Ok(leaks) => leaks,
        Err(e) => {
            tracing::error!(channel = %message.channel_id, error = %e, "could not check a message for API tokens");
            return None;
        }
    };
    let owners = leaks.owners;
    if owners.is_empty() {
        // A token that could not be checked (its selector is locked out after
        // wrong attempts) may still be real: say so rather than nothing.
        return leaks.locked.map(|_| {
            "That message looks like it contains an API token, but that token had too many failed \
             attempts in the last minute, so I could not check it. If it is yours, use `/token` to \
             replace it, and please delete the message."
                .into()
        });
    }
    let mut all_delivered = true;
    for owner in owners {
        tracing::warn!(user = %owner, channel = %message.channel_id, "an API token was posted in a channel; replacing it");
        let delivered = match bot.app.tokens.rotate(owner).await {
            Ok(token) => {
                let why = "Your API token was posted in a Discord channel, so I replaced it.\n";
                dm(bot, owner, &token_text(&token, why)).await.is_ok()
            }
            Err(e) => {
                tracing::error!(user = %owner, error = %e, "could not rotate a leaked token");
                false
            }
        };
        if !delivered {
            revoke_unseen(bot, owner).await;
            all_delivered = false;
        }
    }
    Some(if all_delivered {
        "That message contained an API token, so I revoked it and sent a new one by DM. \
         Please delete the message."
            .into()
    } else {
        "That message contained an API token, so I revoked it. I couldn't send a new one by DM: \
         use `/token` to get one privately. Please delete the message."
            .into()
    })
}

/// Why a DM did not arrive.
#[derive(Debug, thiserror::Error)]
enum DmFailure {
    /// The user does not accept DMs (403, code 50007).
    #[error("the user does not accept direct messages")]
    Closed,
    /// Anything else (network, Discord error); the message is for the log.
    #[error("{0}")]
    Other(String),
}

impl From<twilight_http::Error> for DmFailure {
    fn from(e: twilight_http::Error) -> Self {
        if dms_closed(&e) { DmFailure::Closed } else { DmFailure::Other(e.to_string()) }
    }
}

/// Opens (or finds) the DM channel with a user and sends `text` there.
async fn dm(bot: &Bot, user: UserId, text: &str) -> Result<(), DmFailure> {
    let response = bot.http.create_private_channel(user.to_twilight()).await?;
    let channel = response.model().await.map_err(|e| DmFailure::Other(e.to_string()))?;
    let mentions = super::reply::no_mentions();
    bot.http.create_message(channel.id).content(text).allowed_mentions(Some(&mentions)).await?;
    Ok(())
}

/// Revokes a token that was issued but never reached its owner.
async fn revoke_unseen(bot: &Bot, user: UserId) {
    if let Err(e) = bot.app.tokens.revoke(user).await {
        tracing::error!(user = %user, error = %e, "could not revoke an undelivered token");
    }
}
