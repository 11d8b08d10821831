//! The operator's commands, run the same way whether they arrive over the admin
//! socket of a running `harmy serve` or are run by the CLI on the database
//! itself: `execute` is the one implementation, so the output is the same.

pub(crate) mod client;
mod github;
mod kv;
mod lanyard;
pub(crate) mod server;
mod token;
mod user;

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::Result;
use crate::ids::UserId;

/// One operator command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    KvSet {
        user: UserId,
        key: String,
        value: String,
    },
    KvGet {
        user: UserId,
        key: Option<String>,
    },
    KvDel {
        user: UserId,
        key: String,
    },
    KvList {
        user: UserId,
    },
    TokenRotate {
        user: UserId,
    },
    TokenRevoke {
        user: UserId,
    },
    GithubLink {
        user: UserId,
        login: String,
    },
    GithubUnlink {
        user: UserId,
    },
    GithubRefresh {
        user: Option<UserId>,
    },
    UserShow {
        user: UserId,
    },
    UserHide {
        user: UserId,
    },
    UserForget {
        user: UserId,
    },
    UserExport {
        user: UserId,
    },
    /// One batch of `harmy migrate --from-lanyard`; the output is the batch's report as JSON.
    LanyardImport {
        records: Vec<crate::app::lanyard::Record>,
        overwrite: bool,
        dry_run: bool,
    },
}

/// The answer: what to print on stdout, or the error line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// Whether the command succeeded.
    pub ok: bool,
    /// Standard output on success, the error message otherwise.
    pub output: String,
}

/// Runs a command against the app; the string is what the CLI prints.
pub async fn execute(app: &App, request: Request) -> Result<String> {
    match request {
        Request::KvSet { user, key, value } => kv::set(app, user, key, value).await,
        Request::KvGet { user, key } => kv::get(app, user, key).await,
        Request::KvDel { user, key } => kv::del(app, user, key).await,
        Request::KvList { user } => kv::list(app, user).await,
        Request::TokenRotate { user } => token::rotate(app, user).await,
        Request::TokenRevoke { user } => token::revoke(app, user).await,
        Request::GithubLink { user, login } => github::link(app, user, login).await,
        Request::GithubUnlink { user } => github::unlink(app, user).await,
        Request::GithubRefresh { user } => github::refresh(app, user).await,
        Request::UserShow { user } => user::show(app, user).await,
        Request::UserHide { user } => user::hide(app, user).await,
        Request::UserForget { user } => user::forget(app, user).await,
        Request::UserExport { user } => user::export(app, user).await,
        Request::LanyardImport { records, overwrite, dry_run } => {
            lanyard::import(app, records, overwrite, dry_run).await
        }
    }
}
