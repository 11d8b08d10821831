//! Gateway payloads for the benchmarks, shaped like Discord's (a full user per
//! member, a Spotify activity with the fields Discord really sends).

/// The first member's id; members are consecutive from here.
pub const FIRST_USER: u64 = 470_320_681_905_684_500;
/// The guild.
pub const GUILD: u64 = 81_384_788_765_712_384;

/// READY with this server as the resume URL.
pub fn ready(seq: u64, url: &str) -> String {
    format!(
        r#"{{"op":0,"t":"READY","s":{seq},"d":{{"v":10,"user":{{"id":"100","username":"harmy","discriminator":"0","mfa_enabled":false,"bot":true}},"guilds":[{{"id":"{GUILD}","unavailable":true}}],"session_id":"bench","resume_gateway_url":"{url}","application":{{"id":"100","flags":0}}}}}}"#
    )
}

/// A member with a full user object.
pub fn member(user: u64) -> String {
    format!(
        r#"{{"user":{{"id":"{user}","username":"user{user}","global_name":"User {user}","avatar":"5c11d7292c91e510c2b4f07946ea6d72","discriminator":"0","public_flags":64,"avatar_decoration_data":null,"clan":null,"primary_guild":null}},"roles":["81384788765712385"],"nick":null,"joined_at":"2024-01-01T00:00:00.000000+00:00","deaf":false,"mute":false,"flags":0,"pending":false,"premium_since":null}}"#
    )
}

/// A Spotify activity whose song is `song`.
pub fn spotify(song: usize) -> String {
    format!(
        r#"{{"type":2,"timestamps":{{"start":1720814201608,"end":1720814322741}},"sync_id":"56MDdzieU2dTT3YLpCdpcA","state":"Pashanim","session_id":"9d5d2f6f6e7f4a1c9a0e3b8d2c1f0a9b","party":{{"id":"spotify:470320681905684500"}},"name":"Spotify","id":"spotify:1","flags":48,"details":"song {song}","created_at":1720814203334,"assets":{{"large_text":"Himmel über Berlin","large_image":"spotify:ab67616d0000b273fa2f0c9e719ca71f2686ddf3"}}}}"#
    )
}

/// A presence listening to Spotify (inside GUILD_CREATE or a chunk).
pub fn presence(user: u64, song: usize) -> String {
    format!(
        r#"{{"user":{{"id":"{user}"}},"status":"online","client_status":{{"desktop":"online"}},"activities":[{}]}}"#,
        spotify(song)
    )
}

/// A PRESENCE_UPDATE frame with `status` (the Spotify activity is kept when offline, so
/// the last song of a flood shows whatever its status).
pub fn presence_update(seq: u64, user: u64, song: usize, status: &str) -> String {
    format!(
        r#"{{"op":0,"t":"PRESENCE_UPDATE","s":{seq},"d":{{"user":{{"id":"{user}"}},"status":"{status}","guild_id":"{GUILD}","client_status":{{"desktop":"{status}"}},"activities":[{}]}}}}"#,
        spotify(song)
    )
}

/// A GUILD_CREATE payload: with every member and presence, or (large) none.
pub fn guild_create(users: u64, large: bool) -> String {
    let (members, presences) = if large {
        (String::new(), String::new())
    } else {
        let ids = FIRST_USER..FIRST_USER + users;
        let members: Vec<String> = ids.clone().map(member).collect();
        let presences: Vec<String> = ids.map(|u| presence(u, 0)).collect();
        (members.join(","), presences.join(","))
    };
    format!(
        r#"{{"id":"{GUILD}","name":"bench","owner_id":"100","afk_timeout":300,"default_message_notifications":0,"explicit_content_filter":0,"features":[],"mfa_level":0,"nsfw_level":0,"preferred_locale":"en-US","premium_progress_bar_enabled":false,"roles":[],"system_channel_flags":0,"verification_level":0,"large":{large},"member_count":{users},"members":[{members}],"presences":[{presences}],"channels":[],"threads":[],"emojis":[],"stickers":[],"voice_states":[],"stage_instances":[],"guild_scheduled_events":[]}}"#
    )
}

/// The GUILD_MEMBERS_CHUNK payloads answering op 8 for `users` members, 1000 per
/// chunk, each open at the end for the request's nonce and the closing brace.
pub fn chunks(users: u64) -> Vec<String> {
    let ids: Vec<u64> = (FIRST_USER..FIRST_USER + users).collect();
    let count = ids.len().div_ceil(1000);
    ids.chunks(1000)
        .enumerate()
        .map(|(index, ids)| {
            let members: Vec<String> = ids.iter().map(|&u| member(u)).collect();
            let presences: Vec<String> = ids.iter().map(|&u| presence(u, 0)).collect();
            format!(
                r#"{{"guild_id":"{GUILD}","chunk_index":{index},"chunk_count":{count},"members":[{}],"presences":[{}],"nonce":"#,
                members.join(","),
                presences.join(",")
            )
        })
        .collect()
}
