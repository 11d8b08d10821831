//! `harmy user`: serve or hide a user, forget them, export what is stored (docs/API.md, "Privacy").

use clap::Subcommand;

use crate::admin::Request;
use crate::config::Loaded;
use crate::ids::UserId;

/// `harmy user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Serve a user on every route, whatever privacy.mode says.
    Show {
        /// The Discord user id.
        user_id: UserId,
    },
    /// Answer a user as not monitored on every route (open sockets hear nothing more of them).
    Hide {
        /// The Discord user id.
        user_id: UserId,
    },
    /// Delete everything stored about a user (KV, API token, GitHub link, last seen) and hide them.
    ///
    /// One transaction; the user stays hidden in either privacy mode until `harmy user show`
    /// (or their `.show`).
    Forget {
        /// The Discord user id.
        user_id: UserId,
    },
    /// Print everything stored about a user as one JSON document (never a token hash).
    Export {
        /// The Discord user id.
        user_id: UserId,
    },
}

pub fn run(loaded: &Loaded, command: UserCommand) -> anyhow::Result<std::process::ExitCode> {
    let request = match command {
        UserCommand::Show { user_id } => Request::UserShow { user: user_id },
        UserCommand::Hide { user_id } => Request::UserHide { user: user_id },
        UserCommand::Forget { user_id } => Request::UserForget { user: user_id },
        UserCommand::Export { user_id } => Request::UserExport { user: user_id },
    };
    super::run_admin(loaded, request)
}
