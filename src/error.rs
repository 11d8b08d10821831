//! The crate's error: every way an `App` operation can fail. The HTTP layer maps
//! it to a status and code in one place; the CLI and the bot print its message.

use crate::app::github::GithubError;
use crate::app::kv::KvError;
use crate::ids::{InvalidUserId, UserId};
use crate::store::StoreError;

/// What went wrong, in terms a user of the API can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A user id that is not a snowflake.
    #[error(transparent)]
    InvalidUserId(#[from] InvalidUserId),
    /// A KV write that breaks a rule.
    #[error(transparent)]
    Kv(#[from] KvError),
    /// A KV key that is not set.
    #[error("key `{0}` is not set")]
    KvKeyNotFound(String),
    /// A user no configured guild has.
    #[error("user {0} is not monitored by this harmy")]
    NotMonitored(UserId),
    /// A missing, wrong or other user's token.
    #[error("missing or invalid API token")]
    Unauthorized,
    /// A token whose selector had too many failed verifications within a minute:
    /// it is not checked until the minute is over.
    #[error("too many failed attempts with this API token; try again in {retry_after} s")]
    TokenLocked {
        /// Seconds until it is checked again.
        retry_after: u64,
    },
    /// A member's KV writes past `kv.writes_per_minute`: refused until their
    /// window is over.
    #[error("too many KV writes: at most {per_minute} a minute; try again in {retry_after} s")]
    KvWriteRate {
        /// The limit.
        per_minute: u32,
        /// Seconds until a write is taken again.
        retry_after: u64,
    },
    /// A GitHub link problem.
    #[error(transparent)]
    Github(#[from] GithubError),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug or a lost task; the message is for the log, not for users.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
