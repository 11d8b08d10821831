//! `harmy kv`: the operator's view of users' key/value pairs.

use std::io::Read;

use clap::Subcommand;

use crate::admin::Request;
use crate::config::Loaded;
use crate::ids::UserId;

/// `harmy kv …`
#[derive(Debug, Subcommand)]
pub enum KvCommand {
    /// Set a key (a VALUE of `-` reads the value from standard input).
    Set {
        /// The Discord user id.
        user_id: UserId,
        /// The key: letters, digits and underscores.
        key: String,
        /// The value, or `-` for standard input.
        value: String,
    },
    /// Print one value, or all pairs as a JSON object.
    Get {
        /// The Discord user id.
        user_id: UserId,
        /// The key; without it, every pair is printed as JSON.
        key: Option<String>,
    },
    /// Delete a key.
    Del {
        /// The Discord user id.
        user_id: UserId,
        /// The key.
        key: String,
    },
    /// List a user's keys, one per line.
    List {
        /// The Discord user id.
        user_id: UserId,
    },
}

pub fn run(loaded: &Loaded, command: KvCommand) -> anyhow::Result<std::process::ExitCode> {
    let request = match command {
        KvCommand::Set { user_id, key, value } => {
            let value = if value == "-" {
                let mut buf = String::new();
                std::io::stdin()
                    .read_to_string(&mut buf)
                    .map_err(|e| anyhow::anyhow!("reading the value from stdin: {e}"))?;
                // A trailing newline from `echo` or a file is not part of the value.
                buf.strip_suffix('\n').map(|s| s.strip_suffix('\r').unwrap_or(s).to_string()).unwrap_or(buf)
            } else {
                value
            };
            Request::KvSet { user: user_id, key, value }
        }
        KvCommand::Get { user_id, key } => Request::KvGet { user: user_id, key },
        KvCommand::Del { user_id, key } => Request::KvDel { user: user_id, key },
        KvCommand::List { user_id } => Request::KvList { user: user_id },
    };
    super::run_admin(loaded, request)
}
