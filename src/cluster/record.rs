//! What the users bucket holds per served user (key `u<id>`): everything a
//! read of them answers — the presence as Discord sent it, the KV pairs and
//! GitHub profile as shown, the last-seen time — and nothing else: no token,
//! no token hash, no privacy choice (a hidden user has no record at all).
//!
//! A replica rebuilds the same entries the primary's readers render from, so
//! that both render the same bytes.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::app::App;
use crate::app::presence::{ClientStatus, PLATFORMS, Snapshot, Status};
use crate::app::reads::Stored;
use crate::error::Result;
use crate::ids::UserId;

/// The key of a user's record.
pub fn key(user: UserId) -> String {
    format!("u{}", user.0)
}

/// The user a key names.
pub fn user_of(key: &str) -> Option<UserId> {
    key.strip_prefix('u')?.parse().ok().map(UserId)
}

/// One user's record as JSON.
#[derive(Debug, Serialize, Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    user: &'a RawValue,
    #[serde(borrow)]
    activities: Option<&'a RawValue>,
    status: &'a str,
    /// Platform → status, for the platforms the user is active on.
    clients: Vec<(&'a str, &'a str)>,
    nick: Option<&'a str>,
    #[serde(borrow)]
    kv: &'a RawValue,
    #[serde(borrow)]
    github: &'a RawValue,
    last_seen: Option<u64>,
}

/// A user's state as a replica applies it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserState {
    /// The presence.
    pub presence: Snapshot,
    /// The KV pairs and GitHub profile as shown.
    pub stored: Stored,
    /// When they were last seen online (shown while offline).
    pub last_seen: Option<u64>,
}

/// The record of a user as the primary serves them now; `None` when they are
/// not served (not monitored, or hidden): their key is then purged.
pub async fn read(app: &App, user: UserId) -> Result<Option<Vec<u8>>> {
    let Some(presence) = app.presences.snapshot(user) else { return Ok(None) };
    let stored = app.reads.stored(user).await?;
    let last_seen = app.privacy.last_seen().get(user);
    Ok(encode(&UserState { presence, stored: (*stored).clone(), last_seen }))
}

/// A state as its record; `None` only if the presence's JSON is not JSON (never from Discord's frames).
pub fn encode(state: &UserState) -> Option<Vec<u8>> {
    let presence = &state.presence;
    let user = serde_json::from_str::<&RawValue>(&presence.user).ok()?;
    let activities = match &presence.activities {
        Some(raw) => Some(serde_json::from_str::<&RawValue>(raw).ok()?),
        None => None,
    };
    let record = Record {
        user,
        activities,
        status: presence.status.as_str(),
        clients: presence.clients.iter().map(|(platform, status)| (platform, status.as_str())).collect(),
        nick: presence.nick.as_deref(),
        kv: &state.stored.kv,
        github: &state.stored.github,
        last_seen: state.last_seen,
    };
    serde_json::to_vec(&record).ok()
}

/// A record as the state it carries; `None` when it is not one.
pub fn decode(bytes: &[u8]) -> Option<UserState> {
    let record: Record<'_> = serde_json::from_slice(bytes).ok()?;
    let mut clients = ClientStatus::default();
    for (platform, status) in &record.clients {
        if PLATFORMS.contains(platform) {
            clients.set(platform, status);
        }
    }
    Some(UserState {
        presence: Snapshot {
            user: record.user.get().into(),
            activities: record.activities.map(|a| a.get().into()),
            status: Status::from_gateway(record.status),
            clients,
            nick: record.nick.map(Into::into),
        },
        stored: Stored { kv: record.kv.to_owned(), github: record.github.to_owned() },
        last_seen: record.last_seen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> UserState {
        let mut clients = ClientStatus::default();
        clients.set("desktop", "dnd");
        clients.set("mobile", "idle");
        UserState {
            presence: Snapshot {
                user: r#"{"id":"94490510688792576","username":"bob","avatar":null}"#.into(),
                activities: Some(r#"[{"type":4,"name":"Custom Status","state":"é \"quoted\""}]"#.into()),
                status: Status::Dnd,
                clients,
                nick: Some("bobby".into()),
            },
            stored: Stored {
                kv: RawValue::from_string(r#"{"a":"1","b":"x\ny"}"#.into()).unwrap(),
                github: RawValue::from_string(r#"{"username":"bob"}"#.into()).unwrap(),
            },
            last_seen: Some(1_750_000_000_000),
        }
    }

    #[test]
    fn a_record_carries_the_state_unchanged() {
        let state = state();
        let bytes = encode(&state).unwrap();
        assert_eq!(decode(&bytes), Some(state));
    }

    #[test]
    fn a_user_without_activities_kv_or_github_round_trips_too() {
        let state = UserState {
            presence: Snapshot {
                user: r#"{"id":"1"}"#.into(),
                activities: None,
                status: Status::Offline,
                clients: ClientStatus::default(),
                nick: None,
            },
            stored: (*Stored::none()).clone(),
            last_seen: None,
        };
        assert_eq!(decode(&encode(&state).unwrap()), Some(state));
    }

    #[test]
    fn keys_name_users_and_nothing_else() {
        assert_eq!(key(UserId(42)), "u42");
        assert_eq!(user_of("u42"), Some(UserId(42)));
        assert_eq!(user_of("42"), None);
        assert_eq!(user_of("ux"), None);
        assert_eq!(decode(b"not json"), None);
    }
}
