//! Discord gateway frames as JSON, in the shapes Discord sends and twilight 0.18
//! accepts: the hello, READY, GUILD_CREATE, members, presences and activities.
//! The demo's local gateway sends these; the end-to-end tests' fake gateway
//! builds its frames with the same functions.

use serde_json::{Value, json};

/// Discord's heartbeat interval, in milliseconds.
pub const HEARTBEAT_INTERVAL: u64 = 41_250;

/// op 10 HELLO.
pub fn hello(heartbeat_interval: u64) -> String {
    format!(r#"{{"op":10,"d":{{"heartbeat_interval":{heartbeat_interval}}}}}"#)
}

/// op 11 HEARTBEAT_ACK.
pub const HEARTBEAT_ACK: &str = r#"{"op":11}"#;

/// op 9 INVALID_SESSION, not resumable: the client identifies anew.
pub const INVALID_SESSION: &str = r#"{"op":9,"d":false}"#;

/// An op 0 dispatch with its sequence number.
pub fn dispatch(t: &str, seq: u64, d: &Value) -> String {
    format!(r#"{{"op":0,"t":"{t}","s":{seq},"d":{d}}}"#)
}

/// READY: the bot user (also the application), its guilds (unavailable until
/// their GUILD_CREATE), the session and where to resume it.
pub fn ready(bot_id: u64, guilds: &[u64], session_id: &str, resume_url: &str) -> Value {
    let guilds: Vec<Value> = guilds.iter().map(|id| json!({"id": id.to_string(), "unavailable": true})).collect();
    json!({
        "v": 10,
        "user": {"id": bot_id.to_string(), "username": "harmy", "discriminator": "0", "mfa_enabled": false, "bot": true},
        "guilds": guilds, "session_id": session_id, "resume_gateway_url": resume_url,
        "application": {"id": bot_id.to_string(), "flags": 0}
    })
}

/// GUILD_CREATE; a `large` guild carries no members (they come with op 8).
pub fn guild_create(id: u64, owner: u64, large: bool, members: &[Value], presences: &[Value]) -> Value {
    let member_count = members.len();
    let (members, presences) = if large { (&[][..], &[][..]) } else { (members, presences) };
    json!({
        "id": id.to_string(), "name": format!("guild {id}"), "owner_id": owner.to_string(),
        "afk_timeout": 300, "default_message_notifications": 0, "explicit_content_filter": 0, "features": [],
        "mfa_level": 0, "nsfw_level": 0, "preferred_locale": "en-US", "premium_progress_bar_enabled": false,
        "roles": [], "system_channel_flags": 0, "verification_level": 0, "large": large,
        "member_count": member_count, "members": members, "presences": presences
    })
}

/// A user object.
pub fn user(id: u64, username: &str, global_name: Option<&str>, avatar: Option<&str>) -> Value {
    json!({"id": id.to_string(), "username": username, "discriminator": "0", "global_name": global_name, "avatar": avatar})
}

/// A guild member.
pub fn member(user: Value, nick: Option<&str>) -> Value {
    json!({"user": user, "roles": [], "deaf": false, "mute": false, "flags": 0,
           "joined_at": "2024-01-01T00:00:00.000000+00:00", "nick": nick})
}

/// A presence as GUILD_CREATE carries it: `{"id":…}` for the user, the status per
/// platform, the activities.
pub fn presence(id: u64, status: &str, client_status: Value, activities: Vec<Value>) -> Value {
    json!({"user": {"id": id.to_string()}, "status": status, "client_status": client_status, "activities": activities})
}

/// A PRESENCE_UPDATE payload: a presence with its guild.
pub fn presence_update(guild: u64, presence: Value) -> Value {
    let mut p = presence;
    p["guild_id"] = json!(guild.to_string());
    p
}

/// A Spotify listening activity: `track_id` is Spotify's track id (`sync_id`), `image`
/// the album art id (sent with Discord's `spotify:` prefix), times in ms since the epoch.
pub struct Track<'a> {
    /// Track title (`details`).
    pub song: &'a str,
    /// Artists (`state`).
    pub artist: &'a str,
    /// Album (`assets.large_text`).
    pub album: &'a str,
    /// Spotify's track id.
    pub track_id: &'a str,
    /// The album art's image id.
    pub image: &'a str,
    /// When the track started and ends.
    pub start: u64,
    /// When it ends.
    pub end: u64,
}

/// A Spotify activity as Discord sends it for `listener`.
pub fn spotify(listener: u64, track: &Track<'_>) -> Value {
    json!({"name": "Spotify", "type": 2, "id": "spotify:1", "details": track.song, "state": track.artist,
           "sync_id": track.track_id, "party": {"id": format!("spotify:{listener}")},
           "timestamps": {"start": track.start, "end": track.end},
           "assets": {"large_text": track.album, "large_image": format!("spotify:{}", track.image)},
           "flags": 48, "created_at": track.start})
}

/// A custom status with its emoji (a unicode emoji, or a custom one with an id).
pub fn custom_status(text: &str, emoji: Option<Value>, created_at: u64) -> Value {
    let mut activity =
        json!({"name": "Custom Status", "type": 4, "id": "custom", "state": text, "created_at": created_at});
    if let Some(emoji) = emoji {
        activity["emoji"] = emoji;
    }
    activity
}

/// A game or other application (type 0), with rich presence when `details` or `state` is set.
pub fn playing(name: &str, application_id: u64, details: Option<&str>, state: Option<&str>, start: u64) -> Value {
    let mut activity = json!({"name": name, "type": 0, "id": format!("{application_id:x}"),
                              "application_id": application_id.to_string(),
                              "timestamps": {"start": start}, "created_at": start});
    if let Some(details) = details {
        activity["details"] = json!(details);
    }
    if let Some(state) = state {
        activity["state"] = json!(state);
    }
    activity
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatches_carry_their_sequence_and_parse_as_json() {
        let frame = dispatch("PRESENCE_UPDATE", 7, &json!({"a": 1}));
        let parsed: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(parsed, json!({"op": 0, "t": "PRESENCE_UPDATE", "s": 7, "d": {"a": 1}}));
        let hello: Value = serde_json::from_str(&hello(HEARTBEAT_INTERVAL)).unwrap();
        assert_eq!(hello["d"]["heartbeat_interval"], HEARTBEAT_INTERVAL);
    }

    #[test]
    fn a_large_guild_create_carries_no_members() {
        let members = [member(user(2, "a", None, None), None)];
        let presences = [presence(2, "online", json!({"desktop": "online"}), vec![])];
        assert_eq!(guild_create(1, 2, false, &members, &presences)["members"].as_array().unwrap().len(), 1);
        let large = guild_create(1, 2, true, &members, &presences);
        assert!(large["members"].as_array().unwrap().is_empty() && large["presences"].as_array().unwrap().is_empty());
    }

    #[test]
    fn spotify_sends_the_image_with_discords_prefix() {
        let track = Track { song: "s", artist: "a", album: "al", track_id: "t", image: "ab", start: 1, end: 2 };
        let activity = spotify(5, &track);
        assert_eq!(activity["assets"]["large_image"], "spotify:ab");
        assert_eq!(activity["party"]["id"], "spotify:5");
    }
}
