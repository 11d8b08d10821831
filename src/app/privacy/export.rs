//! The export document (`.export`, `/export`, `harmy user export`): everything
//! harmy stores about one user, as one JSON object. Never a token hash: only
//! whether a token exists. Presences are not stored (they live in memory while
//! the user is a member), so they are not part of it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Choice;
use super::last_seen::now_ms;
use crate::app::github::Record;
use crate::config::PrivacyMode;
use crate::ids::UserId;

/// The version of the document's shape.
pub const FORMAT: u32 = 1;

/// What is stored about a user.
#[derive(Debug, Clone)]
pub struct Export {
    pub user: UserId,
    pub mode: PrivacyMode,
    pub choice: Option<Choice>,
    pub served: bool,
    pub kv: BTreeMap<String, String>,
    pub has_token: bool,
    /// The linked login and its last fetched record.
    pub github: Option<(String, Option<Record>)>,
    /// When they were last seen going offline (ms since the epoch), as stored.
    pub last_seen: Option<u64>,
}

#[derive(Serialize)]
struct Document<'a> {
    harmy_export: u32,
    user_id: String,
    exported_at: u64,
    privacy: Privacy,
    kv: &'a BTreeMap<String, String>,
    api_token: Token,
    github: Option<Github<'a>>,
    last_seen: Option<u64>,
}

#[derive(Serialize)]
struct Privacy {
    mode: PrivacyMode,
    choice: Option<&'static str>,
    served: bool,
}

#[derive(Serialize)]
struct Token {
    /// Whether a token is issued; the token and its hash are never exported.
    issued: bool,
}

#[derive(Serialize)]
struct Github<'a> {
    login: &'a str,
    profile: Option<&'a crate::app::github::Profile>,
    /// Unix seconds of the last successful fetch.
    fetched_at: Option<u64>,
}

impl Export {
    /// The document, pretty-printed (people read it).
    pub fn to_json(&self) -> String {
        let document = Document {
            harmy_export: FORMAT,
            user_id: self.user.to_string(),
            exported_at: now_ms(),
            privacy: Privacy { mode: self.mode, choice: self.choice.map(Choice::as_str), served: self.served },
            kv: &self.kv,
            api_token: Token { issued: self.has_token },
            github: self.github.as_ref().map(|(login, record)| Github {
                login,
                profile: record.as_ref().map(|r| &r.profile),
                fetched_at: record.as_ref().map(|r| r.fetched_at),
            }),
            last_seen: self.last_seen,
        };
        // Serialising these structs cannot fail: every map key is a string.
        serde_json::to_string_pretty(&document).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_says_a_token_exists_and_carries_no_hash() {
        let export = Export {
            user: UserId(42),
            mode: PrivacyMode::OptIn,
            choice: Some(Choice::Shown),
            served: true,
            kv: BTreeMap::from([("k".into(), "v".into())]),
            has_token: true,
            github: Some(("octocat".into(), None)),
            last_seen: Some(1_700_000_000_000),
        };
        let json: serde_json::Value = serde_json::from_str(&export.to_json()).unwrap();
        assert_eq!(json["user_id"], "42");
        assert_eq!(json["privacy"], serde_json::json!({"mode": "opt_in", "choice": "shown", "served": true}));
        assert_eq!(json["kv"], serde_json::json!({"k": "v"}));
        assert_eq!(json["api_token"], serde_json::json!({"issued": true}));
        assert_eq!(json["github"], serde_json::json!({"login": "octocat", "profile": null, "fetched_at": null}));
        assert_eq!(json["last_seen"], 1_700_000_000_000u64);
        assert!(!export.to_json().contains("argon2"));
    }
}
