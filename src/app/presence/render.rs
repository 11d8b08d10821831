//! Renders a cache entry to the two API shapes: the native `presence` object
//! (docs/API.md, camelCase activities) and Lanyard's presence object, alone
//! ([`view`]) or in the response bodies with the user's KV and GitHub profile
//! ([`bodies`]). Runs once per change. What Discord sent is passed on whole
//! (`passthrough`); the shapes add their derived fields (`song`, `spotify`,
//! `display_name`…) around it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::passthrough::{Fields, Node, Value, camel_case, fields, raw_fields};
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

/// An activity as Discord sent it: every field that parses strictly, in order.
struct Activity<'a>(Vec<(Cow<'a, str>, Node<'a>)>);

impl<'a> Activity<'a> {
    fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::as_str)
    }

    fn asset(&self, key: &str) -> Option<&str> {
        self.get("assets").and_then(|a| a.get(key)).and_then(Node::as_str)
    }

    fn is_spotify(&self) -> bool {
        self.str("id").is_some_and(|id| id.starts_with("spotify:"))
            || (self.get("type").and_then(Node::as_u64) == Some(2) && self.str("name") == Some("Spotify"))
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
fn native_activity<'f, 'a>(a: &'f Activity<'a>) -> Fields<'f, 'a> {
    let mut out = Fields(Vec::with_capacity(a.0.len() + NATIVE_FIELDS.len()));
    for (native, gateway) in NATIVE_FIELDS {
        let value = match (gateway, a.get(gateway)) {
            ("type", None) => Value::Int(0),
            (_, None) => Value::Null,
            (_, Some(node)) => native_value(gateway, node),
        };
        out.push(native, value);
    }
    rest(&mut out, a, &[]);
    out
}

/// `spotifyActivity`: the fields of api.harmy.gg's example in its order (`song`,
/// `artist`, `album` from `details`, `state`, `assets.large_text`; the album art id
/// without `spotify:`), then every other field sent, keys camelCased.
fn native_spotify<'f, 'a>(a: &'f Activity<'a>) -> Fields<'f, 'a> {
    let node = |key: &str| a.get(key).map_or(Value::Null, |n| native_value(key, n));
    let text = |value: Option<&'f str>| value.map_or(Value::Null, |t| Value::Text(Cow::Borrowed(t)));
    let mut out = Fields(Vec::with_capacity(a.0.len() + 8));
    out.push("name", node("name"));
    out.push("type", a.get("type").map_or(Value::Int(0), |n| native_value("type", n)));
    out.push("song", text(a.str("details")));
    out.push("artist", text(a.str("state")));
    out.push("album", text(a.asset("large_text")));
    out.push("applicationId", node("application_id"));
    out.push("timestamps", node("timestamps"));
    out.push("party", node("party"));
    out.push("syncId", node("sync_id"));
    out.push("assets", a.get("assets").map_or(Value::Null, spotify_assets));
    out.push("flags", node("flags"));
    out.push("createdTimestamp", node("created_at"));
    rest(&mut out, a, &["details", "state"]);
    out
}

/// Every field of `a` not among the fixed ones (nor in `skip`), camelCased.
fn rest<'f, 'a>(out: &mut Fields<'f, 'a>, a: &'f Activity<'a>, skip: &[&str]) {
    for (key, node) in &a.0 {
        let fixed = NATIVE_FIELDS.iter().any(|(_, gateway)| gateway == key);
        if !fixed && !skip.contains(&key.as_ref()) {
            out.push(camel_case(key), native_value(key, node));
        }
    }
}

/// A field's native value: camelCased, with ids as strings (`application_id`, an
/// emoji's `id`), as api.harmy.gg sends them.
fn native_value<'f, 'a>(key: &str, node: &'f Node<'a>) -> Value<'f, 'a> {
    match (key, node) {
        ("application_id", Node::Number(n)) => Value::Text(Cow::Owned(n.to_string())),
        ("emoji", Node::Object(fields)) => {
            let mut out = Fields(Vec::with_capacity(fields.len()));
            for (k, v) in fields {
                let value = match (k.as_ref(), v) {
                    ("id", Node::Number(n)) => Value::Text(Cow::Owned(n.to_string())),
                    _ => Value::Camel(v),
                };
                out.push(camel_case(k), value);
            }
            Value::Object(out)
        }
        _ => Value::Camel(node),
    }
}

/// A Spotify activity's assets, camelCased, `largeImage` without `spotify:`.
fn spotify_assets<'f, 'a>(assets: &'f Node<'a>) -> Value<'f, 'a> {
    let Node::Object(fields) = assets else { return Value::Camel(assets) };
    let mut out = Fields(Vec::with_capacity(fields.len()));
    for (k, v) in fields {
        let value = match (k.as_ref(), v.as_str().and_then(|id| id.strip_prefix("spotify:"))) {
            ("large_image", Some(id)) => Value::Text(Cow::Borrowed(id)),
            _ => Value::Camel(v),
        };
        out.push(camel_case(k), value);
    }
    Value::Object(out)
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
    spotify_activity: Option<Fields<'a, 'a>>,
    activities: Vec<Fields<'a, 'a>>,
    #[serde(rename = "lastSeen")]
    last_seen: Option<u64>,
}

/// Lanyard's `discord_user`: the user object as Discord sent it (every field,
/// unknown ones included), `id` as a string first, then the fields Lanyard's
/// clients read with their defaults when Discord did not send them.
fn discord_user<'f>(user_id: u64, raw: &'f str, user: &'f User<'f>) -> Fields<'f, 'f> {
    let sent = raw_fields(raw).unwrap_or_default();
    let mut out = Fields(Vec::with_capacity(sent.len() + 12));
    out.push("id", Value::Text(Cow::Owned(user_id.to_string())));
    for (key, value) in sent {
        out.push(key, Value::Raw(value));
    }
    let text = |t: Option<&'f str>| t.map_or(Value::Null, |t| Value::Text(Cow::Borrowed(t)));
    out.push("username", Value::Text(Cow::Borrowed(user.username.as_deref().unwrap_or_default())));
    out.push("avatar", Value::Null);
    out.push("discriminator", Value::Text(Cow::Borrowed("0")));
    out.push("global_name", Value::Null);
    out.push("display_name", text(user.global_name.as_deref()));
    out.push("bot", Value::Bool(false));
    out.push("public_flags", Value::Int(0));
    for key in ["avatar_decoration_data", "clan", "primary_guild", "collectibles", "display_name_styles"] {
        out.push(key, Value::Null);
    }
    out
}

#[derive(Serialize)]
struct LanyardSpotify<'a> {
    track_id: Option<&'a str>,
    timestamps: Option<&'a Node<'a>>,
    album: Option<&'a str>,
    album_art_url: Option<String>,
    artist: Option<&'a str>,
    song: Option<&'a str>,
}

#[derive(Serialize)]
struct Lanyard<'a> {
    discord_user: Fields<'a, 'a>,
    discord_status: &'static str,
    active_on_discord_desktop: bool,
    active_on_discord_mobile: bool,
    active_on_discord_web: bool,
    active_on_discord_embedded: bool,
    active_on_discord_vr: bool,
    listening_to_spotify: bool,
    spotify: Option<LanyardSpotify<'a>>,
    activities: Cow<'a, RawValue>,
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
        spotify_activity: spotify.map(native_spotify),
        activities: activities.iter().filter(|a| !a.is_spotify()).map(native_activity).collect(),
        last_seen,
    };

    let active = |platform| entry.clients.get(platform).is_some();
    let lanyard = Lanyard {
        discord_user: discord_user(user_id, &entry.user, &user),
        discord_status: status.as_str(),
        active_on_discord_desktop: active(0),
        active_on_discord_mobile: active(1),
        active_on_discord_web: active(2),
        active_on_discord_embedded: active(3),
        active_on_discord_vr: active(4),
        listening_to_spotify: spotify.is_some(),
        spotify: spotify.map(|a| {
            let large_image = a.asset("large_image");
            LanyardSpotify {
                track_id: a.str("sync_id"),
                timestamps: a.get("timestamps"),
                album: a.asset("large_text"),
                album_art_url: large_image
                    .and_then(|i| i.strip_prefix("spotify:"))
                    .map(|art| format!("https://i.scdn.co/image/{art}")),
                artist: a.str("state"),
                song: a.str("details"),
            }
        }),
        activities: lanyard_activities(raw_activities),
        last_seen,
        kv: stored.map(|(kv, _)| kv),
        github: stored.map(|(_, github)| github),
    };
    finish(&native, &lanyard)
}

/// The activities as sent. The same items as Lanyard's `activities`: one that is not
/// strict JSON is left out (and does not hide the others), so an activity shows in
/// both shapes or in neither; so is one with no `name` (Discord always sends one).
fn parse_activities(raw: &str) -> Vec<Activity<'_>> {
    let items: Vec<&RawValue> = serde_json::from_str(raw).unwrap_or_default();
    items
        .into_iter()
        .filter(|item| is_strict(item))
        .filter_map(|item| fields(item.get()).map(Activity))
        .filter(|a| a.str("name").is_some())
        .collect()
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

fn to_raw(value: &impl Serialize) -> Box<RawValue> {
    // As `to_bytes`: cannot fail.
    serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned())
}
