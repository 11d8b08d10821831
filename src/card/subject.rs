//! What a card shows of a presence, read from the raw user object and
//! activities Discord sent (the same data the API serves): the names, avatar,
//! badges and decoration, the custom status, and the one activity shown —
//! the first game or other activity, else Spotify, else nothing.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::links::Links;
use super::params::Params;
use crate::app::presence::{RawPresence, Status};

/// The user object's fields the card uses.
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
    public_flags: u64,
    #[serde(borrow)]
    avatar_decoration_data: Option<Decoration<'a>>,
}

#[derive(Deserialize)]
struct Decoration<'a> {
    #[serde(borrow, default)]
    asset: Option<Cow<'a, str>>,
}

/// An activity's fields the card uses.
#[derive(Deserialize)]
struct Activity<'a> {
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(rename = "type", default)]
    kind: u64,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    details: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    state: Option<Cow<'a, str>>,
    #[serde(default)]
    application_id: Option<Snowflake>,
    #[serde(default)]
    timestamps: Option<Timestamps>,
    #[serde(default)]
    party: Option<Party>,
    #[serde(borrow, default)]
    assets: Option<Assets<'a>>,
    #[serde(borrow, default)]
    emoji: Option<Emoji<'a>>,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct Timestamps {
    #[serde(default)]
    start: Option<u64>,
    #[serde(default)]
    end: Option<u64>,
}

#[derive(Deserialize)]
struct Party {
    #[serde(default)]
    size: Option<[u64; 2]>,
}

#[derive(Deserialize)]
struct Assets<'a> {
    #[serde(borrow, default)]
    large_image: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    large_text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    small_image: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Emoji<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    id: Option<Snowflake>,
    #[serde(default)]
    animated: bool,
}

/// A snowflake sent as a string or a number, kept as its decimal string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Snowflake {
    Str(String),
    Num(u64),
}

impl Snowflake {
    fn text(&self) -> Cow<'_, str> {
        match self {
            Snowflake::Str(s) => Cow::Borrowed(s),
            Snowflake::Num(n) => Cow::Owned(n.to_string()),
        }
    }
}

/// The custom status: its text and emoji.
pub struct Custom<'a> {
    /// The text.
    pub text: Option<Cow<'a, str>>,
    /// A unicode emoji, shown as text.
    pub emoji_text: Option<Cow<'a, str>>,
    /// A custom emoji, shown as an image from this URL.
    pub emoji_image: Option<String>,
}

/// A game or other activity.
pub struct Game<'a> {
    /// The name.
    pub name: Cow<'a, str>,
    /// The first line under it.
    pub details: Option<Cow<'a, str>>,
    /// The second line, with the party size when there is one.
    pub state: Option<Cow<'a, str>>,
    /// When it started, ms since the epoch.
    pub start: Option<u64>,
    /// The large image's URL.
    pub large_image: Option<String>,
    /// The small image's URL.
    pub small_image: Option<String>,
}

/// A Spotify track.
pub struct Spotify<'a> {
    /// The song.
    pub song: Option<Cow<'a, str>>,
    /// The artist(s).
    pub artist: Option<Cow<'a, str>>,
    /// The album.
    pub album: Option<Cow<'a, str>>,
    /// The album art's URL.
    pub art: Option<String>,
    /// Start and end, ms since the epoch.
    pub start: Option<u64>,
    /// The end.
    pub end: Option<u64>,
}

/// What the activity part of the card shows.
pub enum Featured<'a> {
    /// A game or other activity.
    Game(Game<'a>),
    /// Spotify.
    Spotify(Spotify<'a>),
    /// Nothing going on.
    Idle,
}

/// Everything a card shows of one user.
pub struct Subject<'a> {
    /// The name in bold: the username, or the display name with `showDisplayName`.
    pub name: Cow<'a, str>,
    /// The username under it, with `showDisplayName` (when the display name differs).
    pub username: Option<Cow<'a, str>>,
    /// The avatar's URL.
    pub avatar: String,
    /// The avatar decoration's URL.
    pub decoration: Option<String>,
    /// `public_flags`, for the badges.
    pub flags: u64,
    /// The status.
    pub status: Status,
    /// The custom status.
    pub custom: Option<Custom<'a>>,
    /// The activity part.
    pub featured: Featured<'a>,
}

impl<'a> Subject<'a> {
    /// Reads what the card shows from a raw presence.
    pub fn read(id: u64, raw: &'a RawPresence, params: &Params, links: &Links) -> Subject<'a> {
        let user: User = serde_json::from_str(&raw.user).unwrap_or_default();
        let activities = parse_activities(raw.activities.as_deref().unwrap_or("[]"));
        let username = user.username.clone().unwrap_or(Cow::Borrowed("unknown user"));
        let global_name = user.global_name.clone().filter(|g| !g.trim().is_empty());
        let (name, under) = match global_name {
            Some(global) if params.show_display_name => {
                let under = (global != username).then(|| username.clone());
                (global, under)
            }
            _ => (username, None),
        };
        let avatar = links.card_avatar(id, user.avatar.as_deref(), user.discriminator.as_deref(), params.animated);
        let decoration = user.avatar_decoration_data.as_ref().and_then(|d| d.asset.as_deref());
        let custom = activities.iter().find(|a| a.kind == 4).map(|a| custom(a, params, links));
        let mut subject = Subject {
            name,
            username: under,
            avatar,
            decoration: decoration.and_then(|asset| links.decoration(asset)),
            flags: user.public_flags,
            status: raw.status,
            custom,
            featured: Featured::Idle,
        };
        subject.featured = featured(activities, params, links);
        subject
    }

    /// Whether the activity part has something to show.
    pub fn busy(&self) -> bool {
        !matches!(self.featured, Featured::Idle)
    }
}

fn custom<'a>(activity: &Activity<'a>, params: &Params, links: &Links) -> Custom<'a> {
    let emoji = activity.emoji.as_ref();
    let id = emoji.and_then(|e| e.id.as_ref());
    let emoji_image = id.and_then(|id| links.emoji(&id.text(), params.animated && emoji.is_some_and(|e| e.animated)));
    let emoji_text = emoji.filter(|_| id.is_none()).and_then(|e| e.name.clone());
    Custom { text: activity.state.clone().filter(|s| !s.trim().is_empty()), emoji_text, emoji_image }
}

fn is_spotify(activity: &Activity<'_>) -> bool {
    activity.id.as_deref().is_some_and(|id| id.starts_with("spotify:"))
        || (activity.kind == 2 && activity.name == "Spotify")
}

/// The first game or other activity not ignored, else Spotify (unless hidden), else idle.
fn featured<'a>(activities: Vec<Activity<'a>>, params: &Params, links: &Links) -> Featured<'a> {
    let ignored = |a: &Activity<'_>| {
        let app = a.application_id.as_ref().map(|id| id.text());
        app.and_then(|id| id.parse::<u64>().ok()).is_some_and(|id| params.ignore_app_ids.contains(&id))
    };
    let mut spotify = None;
    for a in activities {
        if a.kind == 4 || ignored(&a) {
            continue;
        }
        if is_spotify(&a) {
            spotify = spotify.or(Some(a));
            continue;
        }
        let app = a.application_id.as_ref().map(|id| id.text().into_owned());
        let image = |image: Option<&Cow<'a, str>>| image.and_then(|i| links.activity_image(app.as_deref(), i));
        let assets = a.assets.as_ref();
        let large_image = image(assets.and_then(|x| x.large_image.as_ref()));
        let small_image = image(assets.and_then(|x| x.small_image.as_ref()));
        let state = match (a.state, a.party.and_then(|p| p.size)) {
            (Some(state), Some([n, of])) => Some(Cow::Owned(format!("{state} ({n} of {of})"))),
            (state, _) => state,
        };
        return Featured::Game(Game {
            name: a.name,
            details: a.details,
            state,
            start: a.timestamps.and_then(|t| t.start),
            large_image,
            small_image,
        });
    }
    match spotify.filter(|_| !params.hide_spotify) {
        Some(a) => {
            let assets = a.assets.as_ref();
            let art = assets.and_then(|x| x.large_image.as_deref()).and_then(|i| links.activity_image(None, i));
            let times = a.timestamps.unwrap_or_default();
            Featured::Spotify(Spotify {
                album: assets.and_then(|x| x.large_text.clone()),
                song: a.details,
                artist: a.state,
                art,
                start: times.start,
                end: times.end,
            })
        }
        None => Featured::Idle,
    }
}

/// The activities that parse; one odd activity does not hide the others.
fn parse_activities(raw: &str) -> Vec<Activity<'_>> {
    serde_json::from_str(raw).unwrap_or_else(|_| {
        let items: Vec<&RawValue> = serde_json::from_str(raw).unwrap_or_default();
        items.into_iter().filter_map(|item| serde_json::from_str(item.get()).ok()).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CardConfig;

    fn raw(user: &str, activities: &str) -> RawPresence {
        RawPresence { user: user.into(), activities: Some(activities.into()), status: Status::Online }
    }

    fn read<'a>(raw: &'a RawPresence, query: &str) -> Subject<'a> {
        Subject::read(1, raw, &Params::parse(query).unwrap(), &Links::new(&CardConfig::default()))
    }

    const GAME: &str = r#"{"type":0,"name":"Minecraft","application_id":"11","details":"Survival","state":"In a party","party":{"size":[2,4]},"timestamps":{"start":1000},"assets":{"large_image":"22","small_image":"mp:external/x"}}"#;
    const SPOTIFY: &str = r#"{"type":2,"name":"Spotify","id":"spotify:1","details":"BMW","state":"Pashanim","timestamps":{"start":1,"end":2},"assets":{"large_text":"Himmel","large_image":"spotify:abc"}}"#;
    const CUSTOM: &str = r#"{"type":4,"name":"Custom Status","state":"coding","emoji":{"name":"🔥"}}"#;

    #[test]
    fn a_game_comes_before_spotify_and_ignored_apps_are_skipped() {
        let r = raw(r#"{"username":"vaq"}"#, &format!("[{CUSTOM},{SPOTIFY},{GAME}]"));
        let Featured::Game(game) = read(&r, "").featured else { panic!("the game is shown") };
        assert_eq!((game.name.as_ref(), game.state.as_deref()), ("Minecraft", Some("In a party (2 of 4)")));
        assert_eq!(game.large_image.as_deref(), Some("https://cdn.discordapp.com/app-assets/11/22.png?size=160"));
        assert_eq!(game.small_image.as_deref(), Some("https://media.discordapp.net/external/x"));
        let Featured::Spotify(s) = read(&r, "ignoreAppId=11").featured else { panic!("then Spotify") };
        assert_eq!((s.song.as_deref(), s.album.as_deref()), (Some("BMW"), Some("Himmel")));
        assert_eq!(s.art.as_deref(), Some("https://i.scdn.co/image/abc"));
        assert!(!read(&r, "ignoreAppId=11&hideSpotify=true").busy());
    }

    #[test]
    fn the_custom_status_keeps_its_emoji() {
        let r = raw(r#"{"username":"vaq"}"#, &format!("[{CUSTOM}]"));
        let subject = read(&r, "");
        let custom = subject.custom.unwrap();
        assert_eq!((custom.text.as_deref(), custom.emoji_text.as_deref()), (Some("coding"), Some("🔥")));
        let r = raw(
            r#"{"username":"vaq"}"#,
            r#"[{"type":4,"name":"Custom Status","emoji":{"name":"x","id":"55","animated":true}}]"#,
        );
        let custom = read(&r, "animated=true").custom.unwrap();
        assert_eq!(custom.emoji_image.as_deref(), Some("https://cdn.discordapp.com/emojis/55.gif?size=48"));
        assert_eq!(custom.emoji_text, None);
    }

    #[test]
    fn names_and_the_avatar() {
        let r = raw(
            r#"{"username":"vaq","global_name":"Vaq","avatar":"abc","public_flags":512,"avatar_decoration_data":{"asset":"a_d"}}"#,
            "[]",
        );
        let s = read(&r, "");
        assert_eq!((s.name.as_ref(), s.username.is_none(), s.flags), ("vaq", true, 512));
        assert_eq!(s.avatar, "https://cdn.discordapp.com/avatars/1/abc.png?size=128");
        assert!(s.decoration.unwrap().contains("/avatar-decoration-presets/a_d.png"));
        let s = read(&r, "showDisplayName=true");
        assert_eq!((s.name.as_ref(), s.username.as_deref()), ("Vaq", Some("vaq")));
        let broken = raw("not json", "[{\"type\":\"odd\"},");
        assert_eq!(read(&broken, "").name, "unknown user");
    }
}
