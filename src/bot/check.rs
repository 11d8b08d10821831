//! `harmy bot check`: the usual setup mistakes, diagnosed against Discord's REST
//! API, one pass/fail line each: a wrong token, a privileged intent switch left
//! off in the Developer Portal, the bot missing from a configured guild.

use twilight_http::Client;
use twilight_http::error::ErrorType;
use twilight_model::id::Id;
use twilight_model::oauth::ApplicationFlags;

use crate::config::Config;

/// Guilds asked for per page (Discord's maximum).
const GUILDS_PER_PAGE: u16 = 200;

/// The privileged intents harmy needs: (what, the application flags that show it
/// on, the Developer Portal switch that turns it on).
const INTENTS: [(&str, ApplicationFlags, &str); 3] = [
    (
        "presence intent",
        ApplicationFlags::GATEWAY_PRESENCE.union(ApplicationFlags::GATEWAY_PRESENCE_LIMITED),
        "Presence Intent",
    ),
    (
        "server members intent",
        ApplicationFlags::GATEWAY_GUILD_MEMBERS.union(ApplicationFlags::GATEWAY_GUILD_MEMBERS_LIMITED),
        "Server Members Intent",
    ),
    (
        "message content intent",
        ApplicationFlags::GATEWAY_MESSAGE_CONTENT.union(ApplicationFlags::GATEWAY_MESSAGE_CONTENT_LIMITED),
        "Message Content Intent",
    ),
];

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Whether it passed.
    pub passed: bool,
    /// What was found, and what to do when it failed.
    pub detail: String,
}

impl Outcome {
    fn pass(detail: impl Into<String>) -> Outcome {
        Outcome { passed: true, detail: detail.into() }
    }
    fn fail(detail: impl Into<String>) -> Outcome {
        Outcome { passed: false, detail: detail.into() }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", if self.passed { "pass" } else { "FAIL" }, self.detail)
    }
}

/// Runs every check; later checks are skipped when the token is not accepted.
pub async fn run(config: &Config) -> Vec<Outcome> {
    if config.discord.token.is_empty() {
        return vec![Outcome::fail(
            "token: none configured; set discord.token, discord.token_file or HARMY_DISCORD_TOKEN",
        )];
    }
    let client = super::client(&config.discord);
    let mut outcomes = Vec::new();
    match client.current_user().await {
        Ok(response) => match response.model().await {
            Ok(user) => {
                outcomes.push(Outcome::pass(format!("token: valid, the bot is {} (id {})", user.name, user.id)))
            }
            Err(e) => return vec![Outcome::fail(format!("token: unreadable answer from Discord: {e}"))],
        },
        Err(e) if unauthorized(&e) => {
            return vec![Outcome::fail(
                "token: the token is wrong (Discord answered 401 Unauthorized); copy it again from \
                 the Developer Portal → your application → Bot → Reset Token",
            )];
        }
        Err(e) => {
            return vec![Outcome::fail(format!("token: could not ask Discord at {}: {e}", config.discord.api_url))];
        }
    }
    outcomes.extend(intents(&client).await);
    outcomes.extend(guilds(&client, &config.discord.guild_ids).await);
    outcomes
}

fn unauthorized(e: &twilight_http::Error) -> bool {
    match e.kind() {
        ErrorType::Unauthorized => true,
        ErrorType::Response { status, .. } => status.get() == 401,
        _ => false,
    }
}

/// One line per privileged intent, from the application's flags.
async fn intents(client: &Client) -> Vec<Outcome> {
    let application = match client.current_user_application().await {
        Ok(response) => response.model().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let flags = match application {
        Ok(application) => application.flags.unwrap_or(ApplicationFlags::empty()),
        Err(e) => return vec![Outcome::fail(format!("intents: could not read the application: {e}"))],
    };
    INTENTS
        .iter()
        .map(|(what, bits, switch)| {
            if flags.intersects(*bits) {
                Outcome::pass(format!("{what}: enabled"))
            } else {
                Outcome::fail(format!(
                    "{what}: off; turn on Developer Portal → your application → Bot → \
                     Privileged Gateway Intents → {switch}"
                ))
            }
        })
        .collect()
}

/// One line per configured guild (or one for "every guild" when none is configured).
async fn guilds(client: &Client, configured: &[u64]) -> Vec<Outcome> {
    let mut joined = Vec::new();
    loop {
        let mut request = client.current_user_guilds().limit(GUILDS_PER_PAGE);
        if let Some(&(last, _)) = joined.last() {
            request = request.after(Id::new(last));
        }
        let page = match request.await {
            Ok(response) => response.models().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let page = match page {
            Ok(page) => page,
            Err(e) => return vec![Outcome::fail(format!("guilds: could not list the bot's guilds: {e}"))],
        };
        let full = page.len() == usize::from(GUILDS_PER_PAGE);
        joined.extend(page.into_iter().map(|g| (g.id.get(), g.name)));
        if !full {
            break;
        }
    }
    let invite = "add it with the URL `harmy bot invite` prints";
    if configured.is_empty() {
        return vec![if joined.is_empty() {
            Outcome::fail(format!("guilds: the bot is in no guild; {invite}"))
        } else {
            Outcome::pass(format!(
                "guilds: discord.guild_ids is empty, so all {} guild(s) the bot is in are monitored",
                joined.len()
            ))
        }];
    }
    configured
        .iter()
        .map(|id| match joined.iter().find(|(g, _)| g == id) {
            Some((_, name)) => Outcome::pass(format!("guild {id}: the bot is a member ({name})")),
            None => Outcome::fail(format!("guild {id}: the bot is not a member; {invite}")),
        })
        .collect()
}
