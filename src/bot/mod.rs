//! The Discord bot: message commands (README, "Bot commands"), slash commands, the token-leak
//! guard, and the setup tools behind `harmy bot check|invite|commands`.
//!
//! The gateway runner hands MESSAGE_CREATE and INTERACTION_CREATE events to
//! [`run`] over a bounded channel; each event is handled in its own task (at
//! most [`MAX_IN_FLIGHT`] at once, so a flood backs up into the channel rather
//! than into memory), so a slow REST call never delays the next command. The
//! commands themselves are thin: they call [`App`] and turn its result into
//! text with [`reply`].

pub(crate) mod check;
pub(crate) mod command;
mod github;
mod help;
pub(crate) mod invite;
mod kv;
pub mod limit;
mod message;
mod privacy;
pub(crate) mod register;
pub(crate) mod reply;
mod slash;
mod token;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use twilight_http::Client;
use twilight_http::api_error::ApiError;
use twilight_http::error::ErrorType;
use twilight_model::gateway::event::Event;
use twilight_model::id::Id;
use twilight_model::id::marker::GuildMarker;

use crate::app::App;
use crate::config::DiscordConfig;
use crate::error::Result;
use crate::ids::UserId;
use command::Action;

/// Commands handled at once; further events wait in the gateway's channel.
pub const MAX_IN_FLIGHT: usize = 64;
/// How long in-flight replies may take to finish on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// What every command handler needs.
pub struct Bot {
    app: Arc<App>,
    http: Client,
    limits: limit::CommandLimits,
}

impl Bot {
    /// A bot over the shared state, with a REST client built from the config.
    pub fn new(app: Arc<App>) -> Bot {
        let http = client(&app.config().discord);
        Bot { app, http, limits: limit::CommandLimits::default() }
    }

    /// Whether the bot answers `user` in this guild. In DMs (`None`) it answers
    /// only members of monitored guilds (hidden ones too: they may want to
    /// `.show`), so that a stranger who can DM the bot cannot fill the store with
    /// KV pairs and tokens.
    fn serves(&self, guild: Option<Id<GuildMarker>>, user: UserId) -> bool {
        let configured = &self.app.config().discord.guild_ids;
        match guild {
            Some(g) => configured.is_empty() || configured.contains(&g.get()),
            None => self.app.presences.is_member(user),
        }
    }

    /// Counts a command against the member's limits ([`limit`]): `Ok` to run it,
    /// else what to answer (`None`: nothing, the member was told already).
    fn admit(&self, user: UserId, action: &Action, quiet: bool) -> std::result::Result<(), Option<String>> {
        match self.limits.check(user, action, crate::limit::Instant::now(), quiet) {
            limit::Verdict::Run => Ok(()),
            limit::Verdict::Refuse { retry_after } => Err(Some(limit::refusal(retry_after))),
            limit::Verdict::Ignore => Err(None),
        }
    }

    /// Runs an action other than `Token` and `Export` (whose replies depend on the
    /// channel) and returns the text to show. `slash`: it came as a slash command.
    async fn answer(&self, user: UserId, action: Action, slash: bool) -> String {
        let app = &self.app;
        let prefix = &app.config().discord.command_prefix;
        let result: Result<String> = match action {
            Action::KvSet { key, value } => kv::set(app, user, key, value).await,
            Action::KvGet { key } => kv::get(app, user, key).await,
            Action::KvDel { key } => kv::del(app, user, key).await,
            Action::KvList => kv::list(app, user).await,
            Action::GithubLink { login } => github::link(app, user, login).await,
            Action::GithubUnlink => github::unlink(app, user).await,
            Action::Show => privacy::show(app, user).await,
            Action::Hide => privacy::hide(app, user).await,
            Action::Forget { confirmed: false } => Ok(privacy::forget_asks(prefix, slash)),
            Action::Forget { confirmed: true } => privacy::forget(app, user, prefix).await,
            Action::Help => Ok(help::text(prefix)),
            Action::Token | Action::Export => Ok(String::new()),
        };
        result.unwrap_or_else(|e| reply::error_text(&e))
    }
}

/// Handles the bot's events until `shutdown`, each in its own task. Returns
/// only at shutdown, so that it is never the part that ends `serve`.
pub async fn run(app: Arc<App>, mut events: mpsc::Receiver<Event>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let bot = Arc::new(Bot::new(app));
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut tasks = JoinSet::new();
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => break,
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = done {
                    tracing::error!("a bot command task failed: {e}");
                }
                continue;
            }
            event = events.recv() => match event {
                Some(event) => event,
                // The gateway has ended: `serve` is stopping for its reason, not the bot's.
                None => {
                    shutdown.cancelled().await;
                    break;
                }
            },
        };
        if !message::worth_a_look(&bot, &event) {
            continue;
        }
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = permits.clone().acquire_owned() => permit?,
        };
        let bot = bot.clone();
        tasks.spawn(async move {
            match event {
                Event::MessageCreate(message) => message::handle(&bot, &message).await,
                Event::InteractionCreate(interaction) => slash::handle(&bot, &interaction).await,
                _ => {}
            }
            drop(permit);
        });
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, async { while tasks.join_next().await.is_some() {} }).await.is_err() {
        tracing::warn!("bot replies still in flight at shutdown were abandoned");
    }
    Ok(())
}

/// The REST client for `discord.api_url`: Discord itself, or (for a proxy or a
/// test server) any other base, reached over plain HTTP when it says `http://`
/// and without the client-side rate limiter, which only knows Discord's buckets.
pub fn client(config: &DiscordConfig) -> Client {
    let builder =
        Client::builder().token(config.token.expose().to_string()).default_allowed_mentions(reply::no_mentions());
    match config.api_proxy() {
        None => builder.build(),
        Some((host, use_http)) => builder.proxy(host, use_http).ratelimiter(None).build(),
    }
}

/// Whether Discord refused a DM because the user does not accept them (403, code 50007).
pub fn dms_closed(error: &twilight_http::Error) -> bool {
    match error.kind() {
        ErrorType::Response { status, error, .. } => {
            status.get() == 403 || matches!(error, ApiError::General(e) if e.code == 50007)
        }
        _ => false,
    }
}
