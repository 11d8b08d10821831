//! Renders a cache entry to the two API shapes: the native `presence` object
//! (docs/API.md, camelCase activities) and Lanyard's presence object, alone
//! ([`view`]) or in the response bodies with the user's KV and GitHub profile
//! ([`bodies`]). Runs on a read when no kept body is current. What Discord sent
//! is passed on whole (`passthrough`); the shapes add their derived fields
//! (`song`, `spotify`, `display_name`…) around it. Every shape is a serde type
//! written straight to the body: structs for the fixed fields, [`Object`] where
//! the fields Discord sent follow them.

use std::borrow::Cow;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::passthrough::{Cased, Entries, Object, camel_case, text};
use super::strict::is_strict;
use super::{Bodies, Entry, PresenceView, Status};

/// The fields of Discord's user object that the native view shows.
#[derive(Deserialize, Default)]
#[serde(default)]
struct User<'a> {
    #[serde(borrow)]
    username: Option<Cow<'a, str>>,
    #[serde(borrow)]
    global_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    avatar: Option<Cow<'a, str>>,
}

/// An activity as Discord sent it: every field, in order, values raw.
struct Activity<'a> {
    fields: Entries<'a>,
    spotify: bool,
}

impl<'a> Activity<'a> {
    /// An activity of the strict JSON `raw`, if it is an object with a `name`
    /// (Discord always sends one).
    fn of(raw: &'a RawValue) -> Option<Activity<'a>> {
        let mut a = Activity { fields: Entries::of(raw.get())?, spotify: false };
        let name = a.str("name")?;
        let type_2 = a.fields.get("type").and_then(|t| serde_json::from_str::<u64>(t.get()).ok()) == Some(2);
        a.spotify = a.str("id").is_some_and(|id| id.starts_with("spotify:")) || (type_2 && name == "Spotify");
        Some(a)
    }

    fn str(&self, key: &str) -> Option<Cow<'a, str>> {
        self.fields.get(key).and_then(text)
    }

    fn asset(&self, key: &str) -> Option<Cow<'a, str>> {
        Entries::of(self.fields.get("assets")?.get())?.get(key).and_then(text)
    }
}

/// The native shape's activity fields that are always there (`null` when not
/// sent), in api.harmy.gg's order, with the gateway's name of each.
const NATIVE_FIELDS: [(&str, &str); 14] = [
    ("name", "name"),
    ("type", "type"),
    ("url", "url"),
    ("details", "details"),
    ("state", "state"),
    ("applicationId", "application_id"),
    ("timestamps", "timestamps"),
    ("party", "party"),
    ("syncId", "sync_id"),
    ("assets", "assets"),
    ("flags", "flags"),
    ("emoji", "emoji"),
    ("buttons", "buttons"),
    ("createdTimestamp", "created_at"),
];

/// A native activity: the fields above, then every other field sent, keys camelCased.
struct NativeActivity<'a>(&'a Activity<'a>);

impl Serialize for NativeActivity<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = Object::new(s.serialize_map(None)?);
        for (native, gateway) in NATIVE_FIELDS {
            match self.0.fields.get(gateway) {
                Some(raw) => out.entry(native, &NativeValue(gateway, raw))?,
                None if gateway == "type" => out.entry(native, &0)?,
                None => out.entry(native, &())?,
            }
        }
        rest(out, self.0)
    }
}

/// `spotifyActivity`: the fields of api.harmy.gg's example in its order (`song`,
/// `artist`, `album` from `details`, `state`, `assets.large_text`; the album art id
/// without `spotify:`), then every other field sent, keys camelCased.
struct NativeSpotify<'a>(&'a Activity<'a>);

impl Serialize for NativeSpotify<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let native = |gateway| a.fields.get(gateway).map(|raw| NativeValue(gateway, raw));
        let mut out = Object::new(s.serialize_map(None)?);
        out.entry("name", &native("name"))?;
        match native("type") {
            Some(kind) => out.entry("type", &kind)?,
            None => out.entry("type", &0)?,
        }
        out.entry("song", &a.str("details"))?;
        out.entry("artist", &a.str("state"))?;
        out.entry("album", &a.asset("large_text"))?;
        out.entry("applicationId", &native("application_id"))?;
        out.entry("timestamps", &native("timestamps"))?;
        out.entry("party", &native("party"))?;
        out.entry("syncId", &native("sync_id"))?;
        out.entry("assets", &a.fields.get("assets").map(SpotifyAssets))?;
        out.entry("flags", &native("flags"))?;
        out.entry("createdTimestamp", &native("created_at"))?;
        rest(out, a)
    }
}

/// Ends a native activity with every field of `a` not among the fixed ones, camelCased.
fn rest<'k, M: SerializeMap>(mut out: Object<'k, M>, a: &'k Activity<'_>) -> Result<M::Ok, M::Error> {
    for (key, raw) in &a.fields.0 {
        if !NATIVE_FIELDS.iter().any(|(_, gateway)| gateway == key) {
            out.entry(camel_case(key), &NativeValue(key, raw))?;
        }
    }
    out.end()
}

/// A field's native value: camelCased, with ids as strings (`application_id`, an
/// emoji's `id`), as api.harmy.gg sends them.
struct NativeValue<'a>(&'a str, &'a RawValue);

impl Serialize for NativeValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let NativeValue(key, raw) = *self;
        let cased = Cased { raw, camel: true };
        match key {
            "application_id" => match number(raw) {
                Some(id) => s.collect_str(&id),
                None => cased.serialize(s),
            },
            "emoji" => match Entries::of(raw.get()) {
                Some(emoji) => {
                    let mut out = Object::new(s.serialize_map(None)?);
                    for (k, v) in &emoji.0 {
                        match (k == "id").then(|| number(v)).flatten() {
                            Some(id) => out.entry(camel_case(k), &id.to_string())?,
                            None => out.entry(camel_case(k), &Cased { raw: v, camel: true })?,
                        }
                    }
                    out.end()
                }
                None => cased.serialize(s),
            },
            _ => cased.serialize(s),
        }
    }
}

/// The number `raw` holds, if it is one.
fn number(raw: &RawValue) -> Option<serde_json::Number> {
    // Looked at first: serde_json formats a message for every error.
    let numeric = raw.get().starts_with(|c: char| c == '-' || c.is_ascii_digit());
    numeric.then(|| serde_json::from_str(raw.get()).ok()).flatten()
}

/// A Spotify activity's assets, camelCased, `largeImage` without `spotify:`.
struct SpotifyAssets<'a>(&'a RawValue);

impl Serialize for SpotifyAssets<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(assets) = Entries::of(self.0.get()) else { return Cased { raw: self.0, camel: true }.serialize(s) };
        let mut out = Object::new(s.serialize_map(None)?);
        for (k, v) in &assets.0 {
            let image = (k == "large_image").then(|| text(v)).flatten();
            match image.as_deref().and_then(|image| image.strip_prefix("spotify:")) {
                Some(id) => out.entry(camel_case(k), id)?,
                None => out.entry(camel_case(k), &Cased { raw: v, camel: true })?,
            }
        }
        out.end()
    }
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
    activities: Vec<NativeActivity<'a>>,
    #[serde(rename = "lastSeen")]
    last_seen: Option<u64>,
}

/// Lanyard's `discord_user`: the user object as Discord sent it (every field
/// that is strict JSON, unknown ones included), `id` as a string first, then
/// the fields Lanyard's clients read with their defaults when Discord did not
/// send them.
struct DiscordUser<'a> {
    id: u64,
    sent: &'a str,
    user: &'a User<'a>,
}

impl Serialize for DiscordUser<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let sent = Entries::of(self.sent);
        let mut out = Object::new(s.serialize_map(None)?);
        out.entry("id", &self.id.to_string())?;
        for (key, raw) in sent.iter().flat_map(|sent| &sent.0) {
            if is_strict(raw) {
                out.entry(&**key, *raw)?;
            }
        }
        out.entry("username", self.user.username.as_deref().unwrap_or_default())?;
        out.entry("avatar", &())?;
        out.entry("discriminator", "0")?;
        out.entry("global_name", &())?;
        out.entry("display_name", &self.user.global_name)?;
        out.entry("bot", &false)?;
        out.entry("public_flags", &0)?;
        for key in ["avatar_decoration_data", "clan", "primary_guild", "collectibles", "display_name_styles"] {
            out.entry(key, &())?;
        }
        out.end()
    }
}

#[derive(Serialize)]
struct LanyardSpotify<'a> {
    track_id: Option<Cow<'a, str>>,
    timestamps: Option<Cased<'a>>,
    album: Option<Cow<'a, str>>,
    album_art_url: Option<String>,
    artist: Option<Cow<'a, str>>,
    song: Option<Cow<'a, str>>,
}

/// Lanyard's `activities`: the array as Discord sent it when all of it is
/// strict JSON, else the items that are (one odd activity does not hide the
/// others); anything but an array shows as none.
#[derive(Serialize)]
#[serde(untagged)]
enum LanyardActivities<'a> {
    AsSent(&'a RawValue),
    Strict(Vec<&'a RawValue>),
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
    activities: LanyardActivities<'a>,
    last_seen: Option<u64>,
    /// The user's KV and GitHub profile, in the bodies (not in the bare view).
    #[serde(skip_serializing_if = "Option::is_none")]
    kv: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    github: Option<&'a RawValue>,
}

/// `GET /user/:id`'s body.
#[derive(Serialize)]
struct NativeBody<'a> {
    presence: &'a Native<'a>,
    #[serde(rename = "KV")]
    kv: &'a RawValue,
    github: &'a RawValue,
}

/// Both views of one entry; `last_seen` is shown as given (the caller gives it
/// only for an offline user).
pub(super) fn view(user_id: u64, entry: &Entry, last_seen: Option<u64>) -> PresenceView {
    shapes(user_id, entry, last_seen, None, |native, lanyard| PresenceView {
        native: to_bytes(native),
        lanyard: to_bytes(lanyard),
    })
}

/// The response bodies of one entry with the user's KV (a JSON object) and
/// GitHub profile (or `null`).
pub(super) fn bodies(user_id: u64, entry: &Entry, last_seen: Option<u64>, kv: &RawValue, github: &RawValue) -> Bodies {
    shapes(user_id, entry, last_seen, Some((kv, github)), |native, lanyard| Bodies {
        native: to_raw(&NativeBody { presence: native, kv, github }),
        lanyard: to_raw(lanyard),
    })
}

/// The two shapes of one entry, handed to `finish` to serialise.
fn shapes<R>(
    user_id: u64,
    entry: &Entry,
    last_seen: Option<u64>,
    stored: Option<(&RawValue, &RawValue)>,
    finish: impl FnOnce(&Native<'_>, &Lanyard<'_>) -> R,
) -> R {
    let user: User = serde_json::from_str(&entry.user).unwrap_or_default();
    let raw_activities = entry.activities.as_deref().unwrap_or("[]");
    // The same items in both shapes: one that is not strict JSON is left out (and
    // does not hide the others), so an activity shows in both shapes or in neither.
    let items: Option<Vec<&RawValue>> = serde_json::from_str(raw_activities).ok();
    let strict: Vec<&RawValue> = items.iter().flatten().copied().filter(|item| is_strict(item)).collect();
    let activities: Vec<Activity> = strict.iter().filter_map(|item| Activity::of(item)).collect();
    let spotify = activities.iter().find(|a| a.spotify);
    let status: Status = entry.status;

    let native = Native {
        user_id: user_id.to_string(),
        status: status.as_str(),
        username: user.username.as_deref().unwrap_or_default(),
        global_name: user.global_name.as_deref(),
        server_name: entry.guilds.first().and_then(|m| m.nick.as_deref()),
        avatar: user.avatar.as_deref(),
        client_status: entry.clients.iter().map(|(p, s)| (p.to_string(), s.as_str().into())).collect(),
        spotify_activity: spotify.map(NativeSpotify),
        activities: activities.iter().filter(|a| !a.spotify).map(NativeActivity).collect(),
        last_seen,
    };

    let active = |platform| entry.clients.get(platform).is_some();
    let all_strict = items.is_some_and(|items| items.len() == strict.len());
    let as_sent = if all_strict { serde_json::from_str(raw_activities).ok() } else { None };
    let lanyard = Lanyard {
        discord_user: DiscordUser { id: user_id, sent: &entry.user, user: &user },
        discord_status: status.as_str(),
        active_on_discord_desktop: active(0),
        active_on_discord_mobile: active(1),
        active_on_discord_web: active(2),
        active_on_discord_embedded: active(3),
        active_on_discord_vr: active(4),
        listening_to_spotify: spotify.is_some(),
        spotify: spotify.map(|a| LanyardSpotify {
            track_id: a.str("sync_id"),
            timestamps: a.fields.get("timestamps").map(|raw| Cased { raw, camel: false }),
            album: a.asset("large_text"),
            album_art_url: a
                .asset("large_image")
                .and_then(|image| image.strip_prefix("spotify:").map(|art| format!("https://i.scdn.co/image/{art}"))),
            artist: a.str("state"),
            song: a.str("details"),
        }),
        activities: as_sent.map_or(LanyardActivities::Strict(strict), LanyardActivities::AsSent),
        last_seen,
        kv: stored.map(|(kv, _)| kv),
        github: stored.map(|(_, github)| github),
    };
    finish(&native, &lanyard)
}

fn to_bytes(value: &impl Serialize) -> bytes::Bytes {
    // Serialising these types cannot fail: every map key is a string, every raw
    // value written anew is strict JSON.
    serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec()).into()
}

fn to_raw(value: &impl Serialize) -> Box<RawValue> {
    // As `to_bytes`: cannot fail.
    serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned())
}
