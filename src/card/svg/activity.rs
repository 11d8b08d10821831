//! The activity part of the card: a game (or any activity) with its images,
//! details and elapsed time, or Spotify with its album art and progress.

use std::fmt::Write;

use super::{ACTIVITY_X, Card, RIGHT};
use crate::card::Pictures;
use crate::card::subject::{Game, Spotify};
use crate::card::text::Weight;

pub(super) fn activity(card: &mut Card<'_>, game: &Game<'_>, pictures: &Pictures, top: f32, now: u64) {
    let (text_colour, sub, muted, bg) =
        (card.colours.text, card.colours.sub, card.colours.muted, card.colours.bg.clone());
    let wanted = game.large_image.as_ref().and(pictures.data(&pictures.large));
    card.image("large-image", (15.0, top + 17.0, 80.0), "large", wanted, |c| c.tile("large-image", 15.0, top + 17.0));
    if game.small_image.is_some()
        && let Some(uri) = pictures.data(&pictures.small)
    {
        let _ = write!(card.out, r#"<circle cx="88" cy="{}" r="15" fill="{bg}"/>"#, top + 90.0);
        card.image("small-image", (75.0, top + 77.0, 26.0), "small", Some(uri), |_| {});
    }
    let max = RIGHT - ACTIVITY_X;
    let mut lines = [top + 35.0, top + 54.0, top + 72.0, top + 90.0].into_iter();
    let mut line = |card: &mut Card<'_>, class: &str, size: f32, weight: Weight, fill: &str, content: &str| {
        let y = lines.next().unwrap_or(top + 90.0);
        card.text(class, (ACTIVITY_X, y), (size, weight), fill, (max, "activity"), content);
    };
    line(card, "activity-name", 14.0, Weight::Bold, text_colour, &game.name);
    if let Some(details) = &game.details {
        line(card, "details", 13.0, Weight::Regular, sub, details);
    }
    if let Some(state) = &game.state {
        line(card, "state", 13.0, Weight::Regular, sub, state);
    }
    if let Some(start) = game.start.filter(|_| !card.params.hide_timestamp) {
        line(card, "elapsed", 13.0, Weight::Regular, muted, &elapsed(now.saturating_sub(start)));
    }
}

pub(super) fn listening(card: &mut Card<'_>, spotify: &Spotify<'_>, pictures: &Pictures, top: f32, now: u64) {
    let c = (card.colours.text, card.colours.sub, card.colours.muted, card.colours.spotify, card.colours.track);
    let (text_colour, sub, muted, green, track) = c;
    let art = spotify.art.as_ref().and(pictures.data(&pictures.art));
    card.image("album-art", (15.0, top + 17.0, 80.0), "large", art, |c| c.tile("album-art", 15.0, top + 17.0));
    let max = RIGHT - ACTIVITY_X;
    card.text(
        "spotify",
        (ACTIVITY_X, top + 30.0),
        (11.0, Weight::Bold),
        green,
        (max, "activity"),
        "LISTENING TO SPOTIFY",
    );
    let song = spotify.song.as_deref().unwrap_or("Unknown song");
    card.text("song", (ACTIVITY_X, top + 49.0), (14.0, Weight::Bold), text_colour, (max, "activity"), song);
    if let Some(artist) = &spotify.artist {
        card.text(
            "artist",
            (ACTIVITY_X, top + 67.0),
            (13.0, Weight::Regular),
            sub,
            (max, "activity"),
            &format!("by {artist}"),
        );
    }
    if let Some(album) = &spotify.album {
        card.text(
            "album",
            (ACTIVITY_X, top + 84.0),
            (13.0, Weight::Regular),
            muted,
            (max, "activity"),
            &format!("on {album}"),
        );
    }
    let (Some(start), Some(end)) = (spotify.start, spotify.end) else { return };
    if end <= start || card.params.hide_timestamp {
        return;
    }
    let (total, done) = (end - start, now.saturating_sub(start).min(end - start));
    let filled = max * done as f32 / total as f32;
    let _ = write!(
        card.out,
        r#"<rect class="track" x="{ACTIVITY_X}" y="{}" width="{max}" height="4" rx="2" fill="{track}"/><rect class="progress" x="{ACTIVITY_X}" y="{}" width="{filled:.1}" height="4" rx="2" fill="{text_colour}"/>"#,
        top + 92.0,
        top + 92.0
    );
    card.text("position", (ACTIVITY_X, top + 107.0), (11.0, Weight::Regular), muted, (60.0, "activity"), &clock(done));
    card.out.push_str(r#"<g text-anchor="end">"#);
    card.text("duration", (RIGHT, top + 107.0), (11.0, Weight::Regular), muted, (60.0, "activity"), &clock(total));
    card.out.push_str("</g>");
}

/// How long an activity has run, to the minute (the card is cached for one).
fn elapsed(ms: u64) -> String {
    let minutes = ms / 60_000;
    match minutes {
        0 => "just started".into(),
        1..60 => format!("{minutes} min elapsed"),
        60..1440 => format!("{} h {:02} min elapsed", minutes / 60, minutes % 60),
        _ => format!("{} d {} h elapsed", minutes / 1440, minutes % 1440 / 60),
    }
}

/// `m:ss`, or `h:mm:ss` from an hour.
fn clock(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_and_clock_read_naturally() {
        assert_eq!(elapsed(59_999), "just started");
        assert_eq!(elapsed(60_000 * 12 + 5), "12 min elapsed");
        assert_eq!(elapsed(60_000 * 65), "1 h 05 min elapsed");
        assert_eq!(elapsed(60_000 * (1440 * 2 + 180)), "2 d 3 h elapsed");
        assert_eq!(clock(83_000), "1:23");
        assert_eq!(clock(3_723_000), "1:02:03");
    }
}
