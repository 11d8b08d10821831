//! Renders a cache entry to the two API shapes: the native `presence` object
//! (SPEC §4.1, camelCase activities) and Lanyard's presence object (without
//! `kv`/`github`, which the HTTP layer appends). Runs once per change.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::strict::{is_strict, strict_raw};
use super::{Entry, PresenceView, Status};

/// The fields of Discord's user object that the views show.
#[derive(Deserialize, Default)]
#[serde(default)]
struct User<'a> {
    #[serde(borrow)]
    username: Option<Cow<'a, str>>,
    #[serde(borrow)]
    global_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    avatar: Option<Cow<'a, str>>,
    #[serde(borrow)]
    discriminator: Option<Cow<'a, str>>,
    bot: bool,
    public_flags: u64,
    #[serde(borrow, deserialize_with = "strict_raw")]
    avatar_decoration_data: Option<&'a RawValue>,
    #[serde(borrow, deserialize_with = "strict_raw")]
    clan: Option<&'a RawValue>,
    #[serde(borrow, deserialize_with = "strict_raw")]
    primary_guild: Option<&'a RawValue>,
    #[serde(borrow, deserialize_with = "strict_raw")]
    collectibles: Option<&'a RawValue>,
    #[serde(borrow, deserialize_with = "strict_raw")]
    display_name_styles: Option<&'a RawValue>,
}

/// An activity as Discord sends it (the fields the views use). Serialising it
/// gives the native camelCase shape.
#[derive(Deserialize, Serialize)]
#[serde(rename_all(serialize = "camelCase"))]
struct Activity<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(rename = "type", default)]
    kind: u64,
    #[serde(borrow, default, skip_serializing)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    url: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    details: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    state: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "id_string")]
    application_id: Option<String>,
    #[serde(default)]
    timestamps: Option<Timestamps>,
    #[serde(borrow, default)]
    party: Option<Party<'a>>,
    #[serde(borrow, default)]
    sync_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    assets: Option<Assets<'a>>,
    #[serde(default)]
    flags: Option<u64>,
    #[serde(borrow, default)]
    emoji: Option<Emoji<'a>>,
    #[serde(borrow, default, deserialize_with = "strict_raw")]
    buttons: Option<&'a RawValue>,
    #[serde(default, rename(serialize = "createdTimestamp"))]
    created_at: Option<u64>,
}

#[derive(Deserialize, Serialize)]
struct Timestamps {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end: Option<u64>,
}

#[derive(Deserialize, Serialize)]
struct Party<'a> {
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    id: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size: Option<[u64; 2]>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all(serialize = "camelCase"))]
struct Assets<'a> {
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    large_text: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    large_image: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    small_text: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    small_image: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Serialize)]
struct Emoji<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "id_string", skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    animated: Option<bool>,
}

impl Activity<'_> {
    fn is_spotify(&self) -> bool {
        self.id.as_deref().is_some_and(|id| id.starts_with("spotify:")) || (self.kind == 2 && self.name == "Spotify")
    }
}

/// `spotifyActivity` of the native view.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NativeSpotify<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: u64,
    song: Option<&'a str>,
    artist: Option<&'a str>,
    album: Option<&'a str>,
    application_id: Option<&'a str>,
    timestamps: Option<&'a Timestamps>,
    party: Option<&'a Party<'a>>,
    sync_id: Option<&'a str>,
    assets: Option<&'a Assets<'a>>,
    flags: Option<u64>,
    created_timestamp: Option<u64>,
}

#[derive(Serialize)]
struct Native<'a> {
    #[serde(rename = "userId")]
    user_id: String,
    status: &'static str,
    username: &'a str,
    global_name: Option<&'a str>,
    server_name: Option<&'a str>,
    avatar: Option<&'a str>,
    #[serde(rename = "clientStatus")]
    client_status: serde_json::Map<String, serde_json::Value>,
    #[serde(rename = "spotifyActivity")]
    spotify_activity: Option<NativeSpotify<'a>>,
    activities: Vec<&'a Activity<'a>>,
}

#[derive(Serialize)]
struct DiscordUser<'a> {
    id: String,
    username: &'a str,
    avatar: Option<&'a str>,
    discriminator: &'a str,
    global_name: Option<&'a str>,
    display_name: Option<&'a str>,
    bot: bool,
    public_flags: u64,
    avatar_decoration_data: Option<&'a RawValue>,
    clan: Option<&'a RawValue>,
    primary_guild: Option<&'a RawValue>,
    collectibles: Option<&'a RawValue>,
    display_name_styles: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct LanyardSpotify<'a> {
    track_id: Option<&'a str>,
    timestamps: Option<&'a Timestamps>,
    album: Option<&'a str>,
    album_art_url: Option<String>,
    artist: Option<&'a str>,
    song: Option<&'a str>,
}

#[derive(Serialize)]
struct Lanyard<'a> {
    discord_user: DiscordUser<'a>,
    discord_status: &'static str,
    active_on_discord_desktop: bool,
    active_on_discord_mobile: bool,
    active_on_discord_web: bool,
    active_on_discord_embedded: bool,
    active_on_discord_vr: bool,
    listening_to_spotify: bool,
    spotify: Option<LanyardSpotify<'a>>,
    activities: Cow<'a, RawValue>,
}

/// Both views of one entry.
pub(super) fn view(user_id: u64, entry: &Entry) -> PresenceView {
    let user: User = serde_json::from_str(&entry.user).unwrap_or_default();
    let raw_activities = entry.activities.as_deref().unwrap_or("[]");
    let activities = parse_activities(raw_activities);
    let spotify = activities.iter().find(|a| a.is_spotify());
    let server_name = entry.guilds.first().and_then(|m| m.nick.as_deref());
    let username = user.username.as_deref().unwrap_or_default();
    let status: Status = entry.status;

    let native = Native {
        user_id: user_id.to_string(),
        status: status.as_str(),
        username,
        global_name: user.global_name.as_deref(),
        server_name,
        avatar: user.avatar.as_deref(),
        client_status: entry.clients.iter().map(|(p, s)| (p.to_string(), s.as_str().into())).collect(),
        spotify_activity: spotify.map(|a| NativeSpotify {
            name: &a.name,
            kind: a.kind,
            song: a.details.as_deref(),
            artist: a.state.as_deref(),
            album: a.assets.as_ref().and_then(|x| x.large_text.as_deref()),
            application_id: a.application_id.as_deref(),
            timestamps: a.timestamps.as_ref(),
            party: a.party.as_ref(),
            sync_id: a.sync_id.as_deref(),
            assets: a.assets.as_ref(),
            flags: a.flags,
            created_timestamp: a.created_at,
        }),
        activities: activities.iter().filter(|a| !a.is_spotify()).collect(),
    };

    let active = |platform| entry.clients.get(platform).is_some();
    let lanyard = Lanyard {
        discord_user: DiscordUser {
            id: user_id.to_string(),
            username,
            avatar: user.avatar.as_deref(),
            discriminator: user.discriminator.as_deref().unwrap_or("0"),
            global_name: user.global_name.as_deref(),
            display_name: user.global_name.as_deref(),
            bot: user.bot,
            public_flags: user.public_flags,
            avatar_decoration_data: user.avatar_decoration_data,
            clan: user.clan,
            primary_guild: user.primary_guild,
            collectibles: user.collectibles,
            display_name_styles: user.display_name_styles,
        },
        discord_status: status.as_str(),
        active_on_discord_desktop: active(0),
        active_on_discord_mobile: active(1),
        active_on_discord_web: active(2),
        active_on_discord_embedded: active(3),
        active_on_discord_vr: active(4),
        listening_to_spotify: spotify.is_some(),
        spotify: spotify.map(|a| {
            let large_image = a.assets.as_ref().and_then(|x| x.large_image.as_deref());
            LanyardSpotify {
                track_id: a.sync_id.as_deref(),
                timestamps: a.timestamps.as_ref(),
                album: a.assets.as_ref().and_then(|x| x.large_text.as_deref()),
                album_art_url: large_image
                    .and_then(|i| i.strip_prefix("spotify:"))
                    .map(|art| format!("https://i.scdn.co/image/{art}")),
                artist: a.state.as_deref(),
                song: a.details.as_deref(),
            }
        }),
        activities: lanyard_activities(raw_activities),
    };

    PresenceView { native: to_bytes(&native), lanyard: to_bytes(&lanyard) }
}

/// The activities that parse; one odd activity does not hide the others.
fn parse_activities(raw: &str) -> Vec<Activity<'_>> {
    serde_json::from_str(raw).unwrap_or_else(|_| {
        let items: Vec<&RawValue> = serde_json::from_str(raw).unwrap_or_default();
        items.into_iter().filter_map(|item| serde_json::from_str(item.get()).ok()).collect()
    })
}

/// Lanyard's `activities`: the array as Discord sent it when all of it is strict
/// JSON, else the items that are (one odd activity does not hide the others);
/// anything but an array shows as none.
fn lanyard_activities(raw: &str) -> Cow<'_, RawValue> {
    let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(raw) else { return Cow::Borrowed(empty_array()) };
    if items.iter().all(|item| is_strict(item)) {
        return Cow::Borrowed(serde_json::from_str(raw).unwrap_or_else(|_| empty_array()));
    }
    let kept: Vec<&RawValue> = items.into_iter().filter(|item| is_strict(item)).collect();
    serde_json::value::to_raw_value(&kept).map_or_else(|_| Cow::Borrowed(empty_array()), Cow::Owned)
}

fn empty_array() -> &'static RawValue {
    serde_json::from_str("[]").expect("a JSON array")
}

fn to_bytes(value: &impl Serialize) -> bytes::Bytes {
    // Serialising these structs cannot fail: every map key is a string.
    serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec()).into()
}

/// A snowflake sent as a string or a number, kept as its decimal string.
fn id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id<'a> {
        Str(Cow<'a, str>),
        Num(u64),
    }
    Ok(Option::<Id>::deserialize(d)?.map(|id| match id {
        Id::Str(s) => s.into_owned(),
        Id::Num(n) => n.to_string(),
    }))
}
