//! The card's query parameters, named as the common Lanyard card service names
//! them (so a URL moves to harmy by changing its host), each validated: a bad
//! value is a 400 naming the parameter, seen by the author while writing the URL.
//!
//! Every part an anonymous client controls is bounded: the query string's
//! length, the number of parameters, `idleMessage`'s length and `ignoreAppId`'s
//! count. Parameters the card does not know are ignored, as that service
//! ignores them (URLs made for it carry a few harmy has no use for).

/// Longest query string taken, in bytes as sent (percent-encoded).
pub const MAX_QUERY_BYTES: usize = 1024;
/// Most `name=value` pairs in one query string.
pub const MAX_PARAMS: usize = 32;
/// Longest `idleMessage`, in characters.
pub const MAX_IDLE_MESSAGE_CHARS: usize = 128;
/// Most application ids in `ignoreAppId`.
pub const MAX_IGNORED_APPS: usize = 20;
/// Largest `borderRadius`, in px.
pub const MAX_BORDER_RADIUS: u32 = 100;
/// What the card says when nothing is going on.
pub const DEFAULT_IDLE_MESSAGE: &str = "I'm not currently doing anything!";

/// Dark or light colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Light text on a dark background (the default).
    #[default]
    Dark,
    /// Dark text on a light background.
    Light,
}

/// When the activity part of the card is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HideActivity {
    /// Never (the default): with nothing going on, it shows `idleMessage`.
    #[default]
    Never,
    /// Always.
    Always,
    /// When there is no activity or Spotify to show.
    WhenNotUsed,
}

/// A card's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params {
    /// `theme`
    pub theme: Theme,
    /// `bg`: the background colour, overriding the theme's.
    pub bg: Option<[u8; 3]>,
    /// `borderRadius`, px (default 10).
    pub border_radius: Option<u32>,
    /// `animated`: an animated avatar (or custom emoji) as a GIF.
    pub animated: bool,
    /// `hideStatus`: no custom status.
    pub hide_status: bool,
    /// `hideTimestamp`: no elapsed time.
    pub hide_timestamp: bool,
    /// `hideBadges`: no badges.
    pub hide_badges: bool,
    /// `hideProfile`: no avatar, name or status.
    pub hide_profile: bool,
    /// `hideActivity`
    pub hide_activity: HideActivity,
    /// `hideSpotify`: Spotify is not shown as an activity.
    pub hide_spotify: bool,
    /// `hideDecoration`: no avatar decoration.
    pub hide_decoration: bool,
    /// `ignoreAppId`: activities of these applications are not shown.
    pub ignore_app_ids: Vec<u64>,
    /// `idleMessage`
    pub idle_message: Option<String>,
    /// `showDisplayName`: the display name, with the username below it.
    pub show_display_name: bool,
}

/// A query the card refuses: the message names the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

impl Params {
    /// Parses and checks a query string (without the `?`).
    pub fn parse(query: &str) -> Result<Params, QueryError> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(QueryError(format!("the query string is longer than {MAX_QUERY_BYTES} bytes")));
        }
        let mut params = Params::default();
        let mut seen: Vec<&'static str> = Vec::new();
        for (i, pair) in query.split('&').filter(|p| !p.is_empty()).enumerate() {
            if i == MAX_PARAMS {
                return Err(QueryError(format!("the query string has more than {MAX_PARAMS} parameters")));
            }
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let Some(name) = crate::query::decode_str(name) else { continue };
            let Some(known) = KNOWN.iter().find(|k| **k == name) else { continue };
            if seen.contains(known) {
                return Err(QueryError(format!("`{known}` is given more than once")));
            }
            seen.push(known);
            let value = crate::query::decode_str(value)
                .ok_or_else(|| QueryError(format!("`{known}` is not percent-encoded UTF-8")))?;
            params.set(known, &value)?;
        }
        if params.hide_profile && params.hide_activity == HideActivity::Always {
            return Err(QueryError("`hideActivity=true` with `hideProfile=true` leaves nothing to show".into()));
        }
        Ok(params)
    }

    fn set(&mut self, name: &'static str, value: &str) -> Result<(), QueryError> {
        let flag = || match value {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(bad(name, value, "must be true or false")),
        };
        match name {
            "theme" => {
                self.theme = match value {
                    "dark" => Theme::Dark,
                    "light" => Theme::Light,
                    _ => return Err(bad(name, value, "must be dark or light")),
                }
            }
            "bg" => {
                self.bg = Some(colour(value).ok_or_else(|| bad(name, value, "must be a hex colour such as 1a1c1f"))?)
            }
            "borderRadius" => {
                let px = value.strip_suffix("px").unwrap_or(value);
                let radius = px.parse::<u32>().ok().filter(|r| *r <= MAX_BORDER_RADIUS && !px.starts_with('+'));
                let why = format!("must be a whole number of pixels from 0 to {MAX_BORDER_RADIUS}, such as 10 or 10px");
                self.border_radius = Some(radius.ok_or_else(|| bad(name, value, &why))?);
            }
            "hideActivity" => {
                self.hide_activity = match value {
                    "true" => HideActivity::Always,
                    "false" => HideActivity::Never,
                    "whenNotUsed" => HideActivity::WhenNotUsed,
                    _ => return Err(bad(name, value, "must be true, false or whenNotUsed")),
                }
            }
            "ignoreAppId" => {
                let ids = value.split(',').map(str::trim).filter(|id| !id.is_empty());
                for id in ids {
                    if self.ignore_app_ids.len() == MAX_IGNORED_APPS {
                        return Err(QueryError(format!("`{name}` lists more than {MAX_IGNORED_APPS} applications")));
                    }
                    let id = crate::ids::parse_snowflake(id)
                        .ok_or_else(|| bad(name, id, "lists an id that is not a snowflake"))?;
                    self.ignore_app_ids.push(id);
                }
            }
            "idleMessage" => {
                if value.chars().count() > MAX_IDLE_MESSAGE_CHARS {
                    return Err(QueryError(format!("`{name}` is longer than {MAX_IDLE_MESSAGE_CHARS} characters")));
                }
                if value.chars().any(char::is_control) {
                    return Err(QueryError(format!("`{name}` contains control characters")));
                }
                self.idle_message = Some(value.to_string()).filter(|m| !m.trim().is_empty());
            }
            "animated" => self.animated = flag()?,
            "hideStatus" => self.hide_status = flag()?,
            "hideTimestamp" => self.hide_timestamp = flag()?,
            "hideBadges" => self.hide_badges = flag()?,
            "hideProfile" => self.hide_profile = flag()?,
            "hideSpotify" => self.hide_spotify = flag()?,
            "hideDecoration" => self.hide_decoration = flag()?,
            "showDisplayName" => self.show_display_name = flag()?,
            _ => {}
        }
        Ok(())
    }

    /// The message shown when nothing is going on.
    pub fn idle_message(&self) -> &str {
        self.idle_message.as_deref().unwrap_or(DEFAULT_IDLE_MESSAGE)
    }
}

/// The parameters the card takes.
const KNOWN: [&str; 14] = [
    "theme",
    "bg",
    "borderRadius",
    "hideActivity",
    "ignoreAppId",
    "idleMessage",
    "animated",
    "hideStatus",
    "hideTimestamp",
    "hideBadges",
    "hideProfile",
    "hideSpotify",
    "hideDecoration",
    "showDisplayName",
];

fn bad(name: &str, value: &str, why: &str) -> QueryError {
    let shown: String = value.chars().take(40).collect();
    let more = if shown.len() < value.len() { "…" } else { "" };
    QueryError(format!("`{name}` {why} (got `{shown}{more}`)"))
}

/// `rgb` or `rrggbb`, hex digits.
fn colour(value: &str) -> Option<[u8; 3]> {
    if !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digit = |i: usize| u8::from_str_radix(&value[i..i + 1], 16).ok();
    match value.len() {
        3 => Some([digit(0)? * 17, digit(1)? * 17, digit(2)? * 17]),
        6 => Some([0, 2, 4].map(|i| u8::from_str_radix(&value[i..i + 2], 16).unwrap_or(0))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(query: &str) -> String {
        Params::parse(query).unwrap_err().0
    }

    #[test]
    fn every_parameter_parses() {
        let p = Params::parse(
            "theme=light&bg=ABC&borderRadius=4px&animated=true&hideStatus=true&hideTimestamp=true&hideBadges=true\
             &hideActivity=whenNotUsed&hideSpotify=true&hideDecoration=true&ignoreAppId=1,%202&idleMessage=out+%26+about\
             &showDisplayName=true",
        )
        .unwrap();
        assert_eq!(p.theme, Theme::Light);
        assert_eq!(p.bg, Some([0xaa, 0xbb, 0xcc]));
        assert_eq!(p.border_radius, Some(4));
        assert!(p.animated && p.hide_status && p.hide_timestamp && p.hide_badges && p.hide_spotify);
        assert!(p.hide_decoration && p.show_display_name && !p.hide_profile);
        assert_eq!(p.hide_activity, HideActivity::WhenNotUsed);
        assert_eq!(p.ignore_app_ids, vec![1, 2]);
        assert_eq!(p.idle_message(), "out & about");
        assert_eq!(Params::parse("").unwrap(), Params::default());
        assert_eq!(Params::parse("bg=1a1c1f").unwrap().bg, Some([0x1a, 0x1c, 0x1f]));
        assert_eq!(Params::parse("gradient=x&hideTag=true").unwrap(), Params::default(), "unknown: ignored");
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for (query, name) in [
            ("theme=blue", "theme"),
            ("bg=%23fff", "bg"),
            ("bg=ggg", "bg"),
            ("bg=abcd", "bg"),
            ("borderRadius=101", "borderRadius"),
            ("borderRadius=-1", "borderRadius"),
            ("borderRadius=1.5px", "borderRadius"),
            ("hideStatus=yes", "hideStatus"),
            ("hideActivity=sometimes", "hideActivity"),
            ("ignoreAppId=1,abc", "ignoreAppId"),
            ("idleMessage=%FF", "idleMessage"),
            ("idleMessage=a%0Ab", "idleMessage"),
            ("animated=true&animated=false", "animated"),
            ("hideProfile=true&hideActivity=true", "hideActivity"),
        ] {
            assert!(err(query).contains(&format!("`{name}")), "{query}: {}", err(query));
        }
    }

    #[test]
    fn lengths_and_counts_are_bounded() {
        assert!(err(&format!("idleMessage={}", "a".repeat(129))).contains("longer than 128"));
        assert!(Params::parse(&format!("idleMessage={}", "é".repeat(128))).is_ok(), "characters, not bytes");
        let ids = vec!["1"; 21].join(",");
        assert!(err(&format!("ignoreAppId={ids}")).contains("more than 20"));
        assert!(err(&format!("x={}", "a".repeat(1100))).contains("longer than 1024 bytes"));
        assert!(err(&"a=1&".repeat(33)).contains("more than 32 parameters"));
    }
}
