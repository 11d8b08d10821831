//! `harmy bot`: diagnose, invite and register the Discord bot.

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Loaded;

/// `harmy bot …`
#[derive(Debug, Subcommand)]
pub enum BotCommand {
    /// Check the bot setup against Discord: token, privileged intents, guild membership.
    ///
    /// Prints one pass/fail line per check and exits non-zero when any fails.
    Check,
    /// Print the OAuth2 URL that adds the bot to a server.
    Invite,
    /// Register the slash commands, globally or in one guild.
    Commands {
        /// Register in this guild only (takes effect at once, unlike global commands).
        #[arg(long, value_name = "GUILD_ID")]
        guild: Option<u64>,
    },
}

pub fn run(_loaded: Loaded, command: BotCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`harmy bot {command:?}` is not available yet in this build")
}
