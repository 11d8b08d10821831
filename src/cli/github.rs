//! `harmy github`: link, unlink and refresh GitHub profiles.

use clap::Subcommand;

use crate::admin::Request;
use crate::config::Loaded;
use crate::ids::UserId;

/// `harmy github …`
#[derive(Debug, Subcommand)]
pub enum GithubCommand {
    /// Link a user to a GitHub login and fetch the profile.
    Link {
        /// The Discord user id.
        user_id: UserId,
        /// The GitHub login.
        github_login: String,
    },
    /// Remove a user's GitHub link.
    Unlink {
        /// The Discord user id.
        user_id: UserId,
    },
    /// Refetch one linked profile, or all of them.
    Refresh {
        /// The Discord user id; without it, every linked profile.
        user_id: Option<UserId>,
    },
}

pub fn run(loaded: &Loaded, command: GithubCommand) -> anyhow::Result<std::process::ExitCode> {
    let request = match command {
        GithubCommand::Link { user_id, github_login } => Request::GithubLink { user: user_id, login: github_login },
        GithubCommand::Unlink { user_id } => Request::GithubUnlink { user: user_id },
        GithubCommand::Refresh { user_id } => Request::GithubRefresh { user: user_id },
    };
    super::run_admin(loaded, request)
}
