//! JSON builders for the fake Discord gateway's dispatches: users, members,
//! presences, Spotify and custom-status activities, member add/remove and the
//! GUILD_CREATE of a [`Guild`]. Re-exported by `discord_gateway`. The shapes
//! come from `harmy::demo::frames`, which the demo's local gateway sends too.

use harmy::demo::frames;
use serde_json::{Value, json};

use super::discord_gateway::{BOT_ID, Guild};

/// The GUILD_CREATE payload of a guild.
pub fn guild_create(guild: &Guild) -> Value {
    frames::guild_create(guild.id, BOT_ID, guild.large, &guild.members, &guild.presences)
}

/// A user object.
pub fn user(id: u64, username: &str) -> Value {
    frames::user(id, username, None, None)
}

/// A guild member without a nickname.
pub fn member(id: u64, username: &str) -> Value {
    frames::member(user(id, username), None)
}

/// A guild member with a nickname, global name and avatar hash.
pub fn member_full(id: u64, username: &str, global_name: &str, avatar: &str, nick: Option<&str>) -> Value {
    let mut m = member(id, username);
    m["user"]["global_name"] = json!(global_name);
    m["user"]["avatar"] = json!(avatar);
    m["nick"] = json!(nick);
    m
}

/// A presence (as in GUILD_CREATE) with the status on desktop and no activities.
pub fn presence(id: u64, status: &str) -> Value {
    presence_with(id, status, json!({"desktop": status}), vec![])
}

/// A presence with its client status and activities.
pub fn presence_with(id: u64, status: &str, client_status: Value, activities: Vec<Value>) -> Value {
    frames::presence(id, status, client_status, activities)
}

/// A PRESENCE_UPDATE payload (desktop client) for a guild.
pub fn presence_update(guild: u64, id: u64, status: &str, activities: Vec<Value>) -> Value {
    frames::presence_update(guild, presence_with(id, status, json!({"desktop": status}), activities))
}

/// The Spotify activity of docs/API.md's example with `song` as its details.
pub fn spotify(song: &str) -> Value {
    json!({"name": "Spotify", "type": 2, "id": "spotify:1", "details": song, "state": "Pashanim",
           "sync_id": "56MDdzieU2dTT3YLpCdpcA", "party": {"id": "spotify:470320681905684500"},
           "timestamps": {"start": 1720814201608u64, "end": 1720814322741u64},
           "assets": {"large_text": "Himmel über Berlin", "large_image": "spotify:ab67616d0000b273fa2f0c9e719ca71f2686ddf3"},
           "flags": 48, "created_at": 1720814203334u64})
}

/// A custom status activity.
pub fn custom_status(text: &str) -> Value {
    frames::custom_status(text, None, 1720814203334)
}

/// A GUILD_MEMBER_ADD (or GUILD_MEMBER_UPDATE) payload.
pub fn member_add(guild: u64, member: &Value) -> Value {
    let mut m = member.clone();
    m["guild_id"] = json!(guild.to_string());
    m
}

/// A GUILD_MEMBER_REMOVE payload.
pub fn member_remove(guild: u64, id: u64) -> Value {
    json!({"guild_id": guild.to_string(), "user": user(id, "gone")})
}
