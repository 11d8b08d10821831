//! The card as SVG: shapes, `<text>` and `<image>` with data: URIs only (no
//! `foreignObject`, no script, no style sheet, no external reference), so it
//! renders the same in browsers, GitHub's image proxy and SVG libraries.
//!
//! Every text is measured (`text::fit`) to end in "…" inside its box, XML
//! escaped, and clipped to its box as well. Times are as of `now`, which the
//! caller sets to the start of the minute, so one minute's renders are the same.

use std::fmt::Write;

mod activity;

use self::activity::{activity, listening};
use super::Pictures;
use super::badges;
use super::params::{HideActivity, Params, Theme};
use super::subject::{Featured, Subject};
use super::text::{self, Weight};
use crate::app::presence::Status;

/// The card's width, px.
pub const WIDTH: f32 = 410.0;
/// The profile part's height (avatar, name, status).
const PROFILE: f32 = 95.0;
/// The activity part's height.
const ACTIVITY: f32 = 115.0;
/// The margin above the activity part when there is no profile part.
const TOP: f32 = 10.0;
/// The left edge of the profile's texts, and the right edge of every text.
const TEXT_X: f32 = 95.0;
const RIGHT: f32 = 395.0;
/// The left edge of the activity's texts.
const ACTIVITY_X: f32 = 112.0;
/// The card's fonts: DejaVu Sans, whose widths `text` measures, then Verdana, as wide.
const FONTS: &str = "'DejaVu Sans',Verdana,Geneva,sans-serif";
/// The default `borderRadius`.
const RADIUS: u32 = 10;

/// The theme's colours.
struct Colours {
    bg: String,
    text: &'static str,
    sub: &'static str,
    muted: &'static str,
    spotify: &'static str,
    placeholder: &'static str,
    track: &'static str,
}

impl Colours {
    fn of(params: &Params) -> Colours {
        let dark = params.theme == Theme::Dark;
        let bg = match params.bg {
            Some([r, g, b]) => format!("#{r:02x}{g:02x}{b:02x}"),
            None if dark => "#1a1c1f".into(),
            None => "#eeeeee".into(),
        };
        if dark {
            Colours {
                bg,
                text: "#ffffff",
                sub: "#cccccc",
                muted: "#aaaaaa",
                spotify: "#1cb853",
                placeholder: "#3a3d42",
                track: "#4f545c",
            }
        } else {
            Colours {
                bg,
                text: "#000000",
                sub: "#333333",
                muted: "#555555",
                spotify: "#0d943d",
                placeholder: "#cfd2d6",
                track: "#b9bbbe",
            }
        }
    }
}

/// The colour of the status dot.
pub fn status_colour(status: Status) -> &'static str {
    match status {
        Status::Online => "#43b581",
        Status::Idle => "#faa61a",
        Status::Dnd => "#f04747",
        Status::Offline => "#747f8d",
    }
}

fn status_words(status: Status) -> &'static str {
    match status {
        Status::Online => "online",
        Status::Idle => "idle",
        Status::Dnd => "on do not disturb",
        Status::Offline => "offline",
    }
}

/// An SVG being written.
struct Card<'a> {
    out: String,
    colours: Colours,
    params: &'a Params,
}

impl Card<'_> {
    /// Opens the document: the root, its title, the clip paths, the background.
    fn open(&mut self, height: f32, title: &str, clips: &[(&str, String)]) {
        let radius = self.params.border_radius.unwrap_or(RADIUS);
        let _ = write!(
            self.out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="harmy-title" font-family="{FONTS}"><title id="harmy-title">"#
        );
        text::escape(&mut self.out, title);
        let _ = write!(
            self.out,
            r#"</title><defs><clipPath id="harmy-card"><rect width="{WIDTH}" height="{height}" rx="{radius}"/></clipPath>"#
        );
        for (id, shape) in clips {
            let _ = write!(self.out, r#"<clipPath id="harmy-{id}">{shape}</clipPath>"#);
        }
        let _ = write!(
            self.out,
            r#"</defs><g clip-path="url(#harmy-card)"><rect class="background" width="{WIDTH}" height="{height}" fill="{}"/>"#,
            self.colours.bg
        );
    }

    fn close(&mut self) {
        self.out.push_str("</g></svg>");
    }

    /// One line of text at (`x`, `y`), fitted into `max` px and clipped to `clip`.
    fn text(
        &mut self,
        class: &str,
        (x, y): (f32, f32),
        (size, weight): (f32, Weight),
        fill: &str,
        (max, clip): (f32, &str),
        content: &str,
    ) {
        let fitted = text::fit(content, size, weight, max);
        let bold = if weight == Weight::Bold { r#" font-weight="bold""# } else { "" };
        let _ = write!(
            self.out,
            r#"<text class="{class}" x="{x}" y="{y}" font-size="{size}"{bold} fill="{fill}" clip-path="url(#harmy-{clip})">"#
        );
        text::escape(&mut self.out, &fitted);
        self.out.push_str("</text>");
    }

    /// An inlined image, or the placeholder `missing` draws when it failed.
    fn image(
        &mut self,
        class: &str,
        (x, y, size): (f32, f32, f32),
        clip: &str,
        data: Option<&str>,
        missing: impl FnOnce(&mut Self),
    ) {
        match data {
            Some(uri) => {
                let _ = write!(
                    self.out,
                    r#"<image class="{class}" x="{x}" y="{y}" width="{size}" height="{size}" preserveAspectRatio="xMidYMid slice" clip-path="url(#harmy-{clip})" href="{uri}"/>"#
                );
            }
            None => missing(self),
        }
    }

    /// A placeholder tile: a picture glyph on a plain square.
    fn tile(&mut self, class: &str, x: f32, y: f32) {
        let (fill, glyph) = (self.colours.placeholder, self.colours.muted);
        let _ = write!(
            self.out,
            r#"<g class="{class} placeholder" transform="translate({x} {y})"><rect width="80" height="80" rx="10" fill="{fill}"/><circle cx="52" cy="28" r="6" fill="{glyph}"/><path d="M16 60l16-20 12 14 8-9 12 15z" fill="{glyph}"/></g>"#
        );
    }
}

/// A user's card at `now` (ms since the epoch).
pub fn card(subject: &Subject<'_>, params: &Params, pictures: &Pictures, now: u64) -> String {
    let show_profile = !params.hide_profile;
    let show_activity = params.hide_profile
        || match params.hide_activity {
            HideActivity::Never => true,
            HideActivity::Always => false,
            HideActivity::WhenNotUsed => subject.busy(),
        };
    let top = if show_profile { PROFILE } else { TOP };
    let height = if show_activity { top + ACTIVITY } else { PROFILE };
    let mut card = Card { out: String::with_capacity(pictures.bytes() + 4096), colours: Colours::of(params), params };

    let mut title = format!("{} is {}", subject.name, status_words(subject.status));
    match &subject.featured {
        Featured::Game(game) => {
            let _ = write!(title, ": {}", game.name);
        }
        Featured::Spotify(s) => {
            let _ = write!(
                title,
                ": listening to {} by {}",
                s.song.as_deref().unwrap_or("?"),
                s.artist.as_deref().unwrap_or("?")
            );
        }
        Featured::Idle => {}
    }
    let name_max = name_room(subject, params);
    let clips = [
        ("avatar", r#"<circle cx="50" cy="47" r="27"/>"#.to_string()),
        ("name", format!(r#"<rect x="{TEXT_X}" y="0" width="{name_max}" height="{PROFILE}"/>"#)),
        ("profile", format!(r#"<rect x="{TEXT_X}" y="0" width="{}" height="{PROFILE}"/>"#, RIGHT - TEXT_X)),
        (
            "activity",
            format!(r#"<rect x="{ACTIVITY_X}" y="{top}" width="{}" height="{ACTIVITY}"/>"#, RIGHT - ACTIVITY_X),
        ),
        ("large", format!(r#"<rect x="15" y="{}" width="80" height="80" rx="10"/>"#, top + 17.0)),
        ("small", format!(r#"<circle cx="88" cy="{}" r="13"/>"#, top + 90.0)),
        ("idle", format!(r#"<rect x="15" y="{top}" width="380" height="{ACTIVITY}"/>"#)),
    ];
    card.open(height, &title, &clips);
    if show_profile {
        profile(&mut card, subject, pictures, name_max);
    }
    if show_activity {
        if show_profile {
            let _ = write!(
                card.out,
                r#"<rect class="divider" x="15" y="94.5" width="380" height="1" fill="{}" fill-opacity="0.1"/>"#,
                card.colours.text
            );
        }
        match &subject.featured {
            Featured::Game(game) => activity(&mut card, game, pictures, top, now),
            Featured::Spotify(spotify) => listening(&mut card, spotify, pictures, top, now),
            Featured::Idle => {
                let muted = card.colours.muted;
                card.out.push_str(r#"<g font-style="italic" text-anchor="middle">"#);
                card.text(
                    "idle",
                    (WIDTH / 2.0, top + 62.0),
                    (13.0, Weight::Regular),
                    muted,
                    (370.0, "idle"),
                    params.idle_message(),
                );
                card.out.push_str("</g>");
            }
        }
    }
    card.close();
    card.out
}

/// The room the name gets beside its badges: at least 150 px, else all that the
/// badges leave.
fn name_room(subject: &Subject<'_>, params: &Params) -> f32 {
    let badges = if params.hide_badges { 0 } else { badges::count(subject.flags) };
    let row = badges as f32 * (badges::SIZE + badges::GAP);
    (RIGHT - TEXT_X - if badges > 0 { row + 3.0 } else { 0.0 }).max(150.0)
}

fn profile(card: &mut Card<'_>, subject: &Subject<'_>, pictures: &Pictures, name_max: f32) {
    let colours = (card.colours.text, card.colours.sub, card.colours.placeholder, card.colours.bg.clone());
    let (text_colour, sub, placeholder, bg) = colours;
    card.image("avatar", (23.0, 20.0, 54.0), "avatar", pictures.data(&pictures.avatar), |c| {
        let _ = write!(c.out, r#"<circle class="avatar placeholder" cx="50" cy="47" r="27" fill="{placeholder}"/>"#);
    });
    if subject.decoration.is_some() && !card.params.hide_decoration {
        card.image("decoration", (17.6, 14.6, 64.8), "card", pictures.data(&pictures.decoration), |_| {});
    }
    let _ = write!(
        card.out,
        r#"<circle class="status" cx="69" cy="66" r="7" fill="{}" stroke="{bg}" stroke-width="3"/>"#,
        status_colour(subject.status)
    );

    let custom = subject.custom.as_ref().filter(|_| !card.params.hide_status);
    let lines = 1 + usize::from(subject.username.is_some()) + usize::from(custom.is_some());
    let block = 22.0 + 19.0 * (lines - 1) as f32;
    let mut baseline = 47.0 - block / 2.0 + 16.0;
    card.text("name", (TEXT_X, baseline), (18.0, Weight::Bold), text_colour, (name_max, "name"), &subject.name);
    if !card.params.hide_badges {
        let shown = text::width(&text::fit(&subject.name, 18.0, Weight::Bold, name_max), 18.0, Weight::Bold);
        let left = TEXT_X + shown + 8.0;
        let fit = ((RIGHT - left + badges::GAP) / (badges::SIZE + badges::GAP)).max(0.0) as usize;
        badges::draw(&mut card.out, subject.flags, fit, left, baseline - 15.5);
    }
    if let Some(username) = &subject.username {
        baseline += 19.0;
        card.text(
            "username",
            (TEXT_X, baseline + 3.0),
            (14.0, Weight::Regular),
            sub,
            (RIGHT - TEXT_X, "profile"),
            username,
        );
        baseline += 3.0;
    }
    if let Some(custom) = custom {
        baseline += 19.0 + if subject.username.is_some() { 0.0 } else { 3.0 };
        let mut x = TEXT_X;
        if custom.emoji_image.is_some() {
            card.image("emoji", (x, baseline - 14.0, 18.0), "profile", pictures.data(&pictures.emoji), |c| {
                let _ = write!(
                    c.out,
                    r#"<circle class="emoji placeholder" cx="{}" cy="{}" r="8" fill="{placeholder}"/>"#,
                    x + 9.0,
                    baseline - 5.0
                );
            });
            x += 22.0;
        }
        let words = match (&custom.emoji_text, &custom.text) {
            (Some(emoji), Some(text)) => format!("{emoji} {text}"),
            (Some(emoji), None) => emoji.to_string(),
            (None, Some(text)) => text.to_string(),
            (None, None) => String::new(),
        };
        if !words.is_empty() {
            card.text("custom-status", (x, baseline), (14.0, Weight::Regular), sub, (RIGHT - x, "profile"), &words);
        }
    }
}

/// The card of a user harmy does not serve: the same for one it never saw and one
/// who is hidden.
pub fn not_monitored(user: u64, params: &Params) -> String {
    let mut card = Card { out: String::with_capacity(2048), colours: Colours::of(params), params };
    let clips = [("profile", format!(r#"<rect x="{TEXT_X}" y="0" width="{}" height="110"/>"#, RIGHT - TEXT_X))];
    card.open(110.0, &format!("User {user} is not monitored"), &clips);
    let (text_colour, sub, placeholder, muted) =
        (card.colours.text, card.colours.sub, card.colours.placeholder, card.colours.muted);
    let _ = write!(
        card.out,
        r#"<circle cx="50" cy="55" r="27" fill="{placeholder}"/><path d="M44 46a6 6 0 1 1 9 5c-2 1-3 2-3 4v2h-2v-3c0-2 1-3 3-4a4 4 0 1 0-5-4zM48 61h3v3h-3z" fill="{muted}"/>"#
    );
    card.text(
        "title",
        (TEXT_X, 48.0),
        (18.0, Weight::Bold),
        text_colour,
        (RIGHT - TEXT_X, "profile"),
        "User not monitored",
    );
    card.text(
        "reason",
        (TEXT_X, 70.0),
        (13.0, Weight::Regular),
        sub,
        (RIGHT - TEXT_X, "profile"),
        &format!("harmy does not serve {user}:"),
    );
    card.text(
        "hint",
        (TEXT_X, 88.0),
        (13.0, Weight::Regular),
        sub,
        (RIGHT - TEXT_X, "profile"),
        "not in a server its bot is in.",
    );
    card.close();
    card.out
}
