//! `harmy bot invite`: the OAuth2 URL that adds the bot to a server, built
//! offline from the token (its first dot-separated part is the bot's user id in
//! base64, and a bot's user id is its application id).

use base64::Engine;
use twilight_model::guild::Permissions;

/// What the bot needs in a channel: see it (View Channels), answer commands
/// (Send Messages), reply to a command message, which references it (Read
/// Message History), and show link previews in answers (Embed Links).
/// 1024 + 2048 + 16384 + 65536 = 84992.
pub const PERMISSIONS: Permissions = Permissions::VIEW_CHANNEL
    .union(Permissions::SEND_MESSAGES)
    .union(Permissions::READ_MESSAGE_HISTORY)
    .union(Permissions::EMBED_LINKS);

/// The bot's id read from its token, when the token has the usual shape.
pub fn application_id_from_token(token: &str) -> Option<u64> {
    let first = token.trim().strip_prefix("Bot ").unwrap_or(token.trim()).split('.').next()?;
    let engines = [base64::engine::general_purpose::STANDARD_NO_PAD, base64::engine::general_purpose::URL_SAFE_NO_PAD];
    let decoded = engines.iter().find_map(|engine| engine.decode(first.trim_end_matches('=')).ok())?;
    crate::ids::parse_snowflake(std::str::from_utf8(&decoded).ok()?)
}

/// The invite URL for an application.
pub fn url(application_id: u64) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&scope=bot+applications.commands&permissions={}",
        PERMISSIONS.bits()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_are_the_four_the_bot_needs() {
        assert_eq!(PERMISSIONS.bits(), 84992);
    }

    #[test]
    fn application_id_comes_from_the_tokens_first_part() {
        // "NDcwMzIwNjgxOTA1Njg0NTAw" is base64 of "470320681905684500".
        assert_eq!(application_id_from_token("NDcwMzIwNjgxOTA1Njg0NTAw.GxYz.abc"), Some(470320681905684500));
        assert_eq!(application_id_from_token("Bot MTAw.x.y"), Some(100));
        assert_eq!(application_id_from_token("not a token"), None);
        assert_eq!(application_id_from_token(""), None);
    }

    #[test]
    fn url_has_both_scopes_and_the_permissions() {
        assert_eq!(
            url(100),
            "https://discord.com/oauth2/authorize?client_id=100&scope=bot+applications.commands&permissions=84992"
        );
    }
}
