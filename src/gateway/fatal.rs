//! Gateway close codes that end `harmy serve`, turned into what the operator
//! must do: 4014 names the Developer Portal switch(es) to turn on (asking
//! Discord's REST API which ones are off, when it answers), 4004 says the
//! token is wrong. Never prints the token.

use std::time::Duration;

use twilight_model::gateway::CloseCode;
use twilight_model::oauth::ApplicationFlags;

use crate::config::DiscordConfig;

/// The privileged intents harmy needs: (full flag, limited flag, Developer Portal switch).
const PRIVILEGED: [(ApplicationFlags, ApplicationFlags, &str); 3] = [
    (ApplicationFlags::GATEWAY_PRESENCE, ApplicationFlags::GATEWAY_PRESENCE_LIMITED, "Presence Intent"),
    (ApplicationFlags::GATEWAY_GUILD_MEMBERS, ApplicationFlags::GATEWAY_GUILD_MEMBERS_LIMITED, "Server Members Intent"),
    (
        ApplicationFlags::GATEWAY_MESSAGE_CONTENT,
        ApplicationFlags::GATEWAY_MESSAGE_CONTENT_LIMITED,
        "Message Content Intent",
    ),
];

/// The Developer Portal switches that are off, given the application's flags.
pub fn missing_intent_switches(flags: u64) -> Vec<&'static str> {
    let flags = ApplicationFlags::from_bits_truncate(flags);
    PRIVILEGED.iter().filter(|(full, limited, _)| !flags.intersects(*full | *limited)).map(|p| p.2).collect()
}

/// The error that ends `serve` for a fatal close code; `None` when twilight reconnects.
pub async fn diagnose(code: Option<u16>, discord: &DiscordConfig) -> Option<anyhow::Error> {
    let code = code?;
    let known = CloseCode::try_from(code).ok();
    if known.is_none_or(CloseCode::can_reconnect) {
        return None;
    }
    Some(match code {
        4004 => anyhow::anyhow!(
            "Discord rejected the bot token (gateway close 4004, authentication failed): set discord.token \
             (or discord.token_file / HARMY_DISCORD_TOKEN) to the token shown under Developer Portal → your \
             application → Bot → Reset Token"
        ),
        4014 => {
            let switches = match application_flags(discord).await {
                Some(flags) if !missing_intent_switches(flags).is_empty() => missing_intent_switches(flags),
                _ => PRIVILEGED.iter().map(|p| p.2).collect(),
            };
            let switches: Vec<String> = switches.iter().map(|s| format!("\"{s}\"")).collect();
            anyhow::anyhow!(
                "Discord refused a privileged intent (gateway close 4014, disallowed intents): in the Developer \
                 Portal open your application → Bot → Privileged Gateway Intents and turn on {}, save, then \
                 restart harmy",
                switches.join(", ")
            )
        }
        _ => anyhow::anyhow!("the Discord gateway closed the connection for good (code {code}, {})", known?),
    })
}

/// The application's flags from `GET /applications/@me`, if Discord answers soon.
async fn application_flags(discord: &DiscordConfig) -> Option<u64> {
    let mut builder = twilight_http::Client::builder()
        .token(discord.token.expose().to_string())
        .timeout(Duration::from_secs(5))
        .ratelimiter(None);
    if let Some((host, use_http)) = discord.api_proxy() {
        builder = builder.proxy(host, use_http);
    }
    let client = builder.build();
    let request = async { client.current_user_application().await.ok()?.model().await.ok() };
    let application = tokio::time::timeout(Duration::from_secs(6), request).await.ok()??;
    application.flags.map(|f| f.bits())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_are_named_for_missing_flags_only() {
        assert_eq!(missing_intent_switches(0), ["Presence Intent", "Server Members Intent", "Message Content Intent"]);
        let limited_presence_and_members = (1 << 13) | (1 << 14);
        assert_eq!(missing_intent_switches(limited_presence_and_members), ["Message Content Intent"]);
        assert!(missing_intent_switches((1 << 12) | (1 << 15) | (1 << 18)).is_empty());
    }
}
