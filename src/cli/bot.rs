//! `harmy bot`: diagnose, invite and register the Discord bot.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::bot::{check, invite, register};
use crate::config::{Config, Loaded};

/// `harmy bot …`
#[derive(Debug, Subcommand)]
pub enum BotCommand {
    /// Check the bot setup against Discord: token, privileged intents, guild membership.
    ///
    /// Prints one pass/fail line per check and exits non-zero when any fails.
    Check,
    /// Print the OAuth2 URL that adds the bot to a server.
    ///
    /// Scopes `bot applications.commands`; permissions View Channels, Send
    /// Messages, Read Message History and Embed Links.
    Invite,
    /// Register the slash commands, globally or per guild.
    ///
    /// Registering replaces the bot's previous commands in that scope.
    Commands {
        /// Register in one guild only (takes effect at once, unlike global commands);
        /// without an ID, in every guild of discord.guild_ids.
        #[arg(long, value_name = "GUILD_ID", num_args = 0..=1)]
        guild: Option<Option<u64>>,
    },
}

/// Runs a `harmy bot` command.
pub fn run(loaded: Loaded, command: BotCommand) -> anyhow::Result<ExitCode> {
    let config = loaded.config;
    let runtime = super::runtime()?;
    // twilight's client spawns its rate limiter task when built: inside the runtime.
    let _entered = runtime.enter();
    let mut stdout = std::io::stdout().lock();
    match command {
        BotCommand::Check => {
            let outcomes = runtime.block_on(check::run(&config));
            for outcome in &outcomes {
                writeln!(stdout, "{outcome}")?;
            }
            stdout.flush()?;
            Ok(if outcomes.iter().all(|o| o.passed) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        BotCommand::Invite => {
            let id = match invite::application_id_from_token(need_token(&config)?) {
                Some(id) => id,
                None => runtime.block_on(application_id(&config))?,
            };
            writeln!(stdout, "{}", invite::url(id))?;
            Ok(ExitCode::SUCCESS)
        }
        BotCommand::Commands { guild } => {
            need_token(&config)?;
            let scopes = match guild {
                None => vec![register::Scope::Global],
                Some(Some(id)) => vec![register::Scope::Guild(id)],
                Some(None) if config.discord.guild_ids.is_empty() => {
                    anyhow::bail!("--guild without an ID registers in discord.guild_ids, which is empty")
                }
                Some(None) => config.discord.guild_ids.iter().map(|&id| register::Scope::Guild(id)).collect(),
            };
            let client = crate::bot::client(&config.discord);
            for scope in scopes {
                let count = runtime
                    .block_on(register::register(&client, scope, config.kv.into()))
                    .with_context(|| format!("registering the slash commands ({})", describe(scope)))?;
                writeln!(stdout, "registered {count} slash commands {}", describe(scope))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn describe(scope: register::Scope) -> String {
    match scope {
        register::Scope::Global => "globally".into(),
        register::Scope::Guild(id) => format!("in guild {id}"),
    }
}

fn need_token(config: &Config) -> anyhow::Result<&str> {
    let token = config.discord.token.expose();
    anyhow::ensure!(!token.is_empty(), "no bot token: set discord.token, discord.token_file or HARMY_DISCORD_TOKEN");
    Ok(token)
}

/// The application id from Discord, for a token of an unusual shape.
pub(super) async fn application_id(config: &Config) -> anyhow::Result<u64> {
    let client = crate::bot::client(&config.discord);
    let application = client.current_user_application().await.context("asking Discord for the application")?;
    Ok(application.model().await?.id.get())
}
