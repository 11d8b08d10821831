//! Profile badges from `public_flags`, drawn as small icons (a coloured tile
//! and a white glyph, in SVG shapes: no image files, nothing fetched). Each
//! carries a `<title>` naming the badge for screen readers and hover.

use std::fmt::Write;

/// The side of a badge, px.
pub const SIZE: f32 = 18.0;
/// The gap after a badge, px.
pub const GAP: f32 = 5.0;

/// One badge: its flag bit, name, tile colour and glyph (an 18 × 18 path).
struct Badge {
    bit: u64,
    name: &'static str,
    colour: &'static str,
    glyph: &'static str,
}

const SHIELD: &str = "M9 3l5 2v4c0 3-2 5-5 6-3-1-5-3-5-6V5z";
const BUG: &str = "M6 7h6v4a3 3 0 0 1-6 0zM7 4h4v2H7zM3 8h2v1H3zM13 8h2v1h-2zM3 11h2v1H3zM13 11h2v1h-2z";
const STAR: &str = "M9 3l1.8 3.8 4.2.5-3.1 2.9.8 4.1L9 12.3l-3.7 2 .8-4.1L3 7.3l4.2-.5z";

/// Every badge, in the order Discord shows them.
const BADGES: [Badge; 12] = [
    Badge { bit: 1 << 0, name: "Discord Staff", colour: "#5865F2", glyph: SHIELD },
    Badge { bit: 1 << 1, name: "Partnered Server Owner", colour: "#4E5D94", glyph: "M9 3l6 6-6 6-6-6z" },
    Badge { bit: 1 << 2, name: "HypeSquad Events", colour: "#F8A532", glyph: "M4 4h10l-3 4 3 4H5v3H4z" },
    Badge { bit: 1 << 6, name: "HypeSquad Bravery", colour: "#9C84EF", glyph: "M4 4h10v5l-5 5-5-5z" },
    Badge { bit: 1 << 7, name: "HypeSquad Brilliance", colour: "#F47B67", glyph: "M9 3l6 11H3z" },
    Badge { bit: 1 << 8, name: "HypeSquad Balance", colour: "#45DDC0", glyph: "M4 9a5 5 0 1 0 10 0a5 5 0 1 0-10 0z" },
    Badge { bit: 1 << 3, name: "Bug Hunter", colour: "#3BA55C", glyph: BUG },
    Badge { bit: 1 << 14, name: "Golden Bug Hunter", colour: "#D4A72C", glyph: BUG },
    Badge {
        bit: 1 << 22,
        name: "Active Developer",
        colour: "#23A55A",
        glyph: "M7 5L3 9l4 4v-2L5 9l2-2zM11 5l4 4-4 4v-2l2-2-2-2z",
    },
    Badge {
        bit: 1 << 17,
        name: "Early Verified Bot Developer",
        colour: "#3E70DD",
        glyph: "M5 5h8v5H5zM8 11h2v2H8zM4 13h10v1H4z",
    },
    Badge { bit: 1 << 18, name: "Moderator Programs Alumni", colour: "#E67E22", glyph: SHIELD },
    Badge { bit: 1 << 9, name: "Early Supporter", colour: "#FF73FA", glyph: STAR },
];

/// How many badges `flags` has.
pub fn count(flags: u64) -> usize {
    BADGES.iter().filter(|b| flags & b.bit != 0).count()
}

/// Draws the first `most` badges of `flags` in a row from (`x`, `y`); returns how
/// wide the row is.
pub fn draw(out: &mut String, flags: u64, most: usize, x: f32, y: f32) -> f32 {
    let mut at = x;
    for badge in BADGES.iter().filter(|b| flags & b.bit != 0).take(most) {
        let _ = write!(
            out,
            r##"<g class="badge" transform="translate({at} {y})"><title>{}</title><rect width="{SIZE}" height="{SIZE}" rx="5" fill="{}"/><path d="{}" fill="#fff"/></g>"##,
            badge.name, badge.colour, badge.glyph
        );
        at += SIZE + GAP;
    }
    at - x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badges_follow_the_flags() {
        let mut out = String::new();
        assert_eq!(count(0), 0);
        assert_eq!(count(512 | 64 | 1 << 40), 2, "unknown bits draw nothing");
        let width = draw(&mut out, 512 | 64, 5, 10.0, 20.0);
        assert_eq!(width, 2.0 * (SIZE + GAP));
        assert!(out.find("HypeSquad Bravery").unwrap() < out.find("Early Supporter").unwrap());
        out.clear();
        draw(&mut out, 512 | 64, 1, 0.0, 0.0);
        assert_eq!(out.matches("<g ").count(), 1);
    }

    #[test]
    fn every_badge_has_its_own_bit() {
        let mut bits: Vec<u64> = BADGES.iter().map(|b| b.bit).collect();
        bits.sort();
        bits.dedup();
        assert_eq!(bits.len(), BADGES.len());
    }
}
