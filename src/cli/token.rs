//! `harmy token`: issue and revoke API tokens.

use clap::Subcommand;

use crate::admin::Request;
use crate::config::Loaded;
use crate::ids::UserId;

/// `harmy token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a new API token for a user and print it once; the old one stops working at once.
    Rotate {
        /// The Discord user id.
        user_id: UserId,
    },
    /// Remove a user's API token.
    Revoke {
        /// The Discord user id.
        user_id: UserId,
    },
}

pub fn run(loaded: &Loaded, command: TokenCommand) -> anyhow::Result<std::process::ExitCode> {
    let request = match command {
        TokenCommand::Rotate { user_id } => Request::TokenRotate { user: user_id },
        TokenCommand::Revoke { user_id } => Request::TokenRevoke { user: user_id },
    };
    super::run_admin(loaded, request)
}
