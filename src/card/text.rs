//! Text on the card: XML escaping, and widths measured with the advance widths
//! of DejaVu Sans (`font.rs`), the card's first font, so that a long name ends
//! in "…" inside its box instead of running over whatever is beside it.
//!
//! Verdana, the card's second font, has nearly the same advances (both were
//! drawn to be wide and legible at small sizes). A character the table does not
//! have (CJK, emoji, rarer scripts) counts as a full em, the widest it can be
//! in any fallback font, so a text measured too wide is cut early, never late.
//! Each text is also clipped to its box, for fonts wider still.

use std::borrow::Cow;

use super::font;

/// The font weights the card uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// DejaVu Sans (italic shares its advances).
    Regular,
    /// DejaVu Sans Bold.
    Bold,
}

/// What a character the table does not have counts as, in font units (one em).
const UNKNOWN: u32 = font::UNITS_PER_EM as u32;

/// The advance of one character in font units.
fn advance(c: char, weight: Weight) -> u32 {
    if is_zero_width(c) {
        return 0;
    }
    let table: &[u16] = match weight {
        Weight::Regular => &font::REGULAR,
        Weight::Bold => &font::BOLD,
    };
    let code = c as u32;
    let mut offset = 0;
    for &(start, end) in font::RANGES.iter() {
        if (start..end).contains(&code) {
            return match table[offset + (code - start) as usize] {
                font::MISSING => UNKNOWN,
                width => u32::from(width),
            };
        }
        offset += (end - start) as usize;
    }
    UNKNOWN
}

/// Combining marks, joiners and variation selectors: they take no room of their own.
fn is_zero_width(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x200B..=0x200F | 0x20D0..=0x20FF | 0xFE00..=0xFE0F | 0xE0100..=0xE01EF)
}

/// The width of `text` at `size` px.
pub fn width(text: &str, size: f32, weight: Weight) -> f32 {
    let units: u32 = text.chars().map(|c| advance(c, weight)).sum();
    units as f32 * size / f32::from(font::UNITS_PER_EM)
}

/// `text` as it fits in `max` px at `size`: whole, or cut and ended with "…".
pub fn fit(text: &str, size: f32, weight: Weight, max: f32) -> Cow<'_, str> {
    let scale = size / f32::from(font::UNITS_PER_EM);
    let limit = (max / scale) as u32;
    let mut used = 0;
    for (at, c) in text.char_indices() {
        used += advance(c, weight);
        if used > limit {
            return Cow::Owned(cut(text, at, limit, weight));
        }
    }
    Cow::Borrowed(text)
}

/// The longest prefix of `text[..end]` that fits in `limit` units with "…" after it.
fn cut(text: &str, end: usize, limit: u32, weight: Weight) -> String {
    let room = limit.saturating_sub(advance('…', weight));
    let mut used = 0;
    let mut keep = 0;
    for (at, c) in text[..end].char_indices() {
        used += advance(c, weight);
        if used > room {
            break;
        }
        keep = at + c.len_utf8();
    }
    // Never end on half a cluster (a joiner, a selector) or on a space before the "…".
    let kept = text[..keep].trim_end_matches(|c: char| is_zero_width(c) || c.is_whitespace());
    format!("{kept}…")
}

/// Writes `text` XML-escaped, leaving out what XML 1.0 cannot hold (control
/// characters other than tab and newline, U+FFFE and U+FFFF).
pub fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(' '),
            c if allowed_in_xml(c) => out.push(c),
            _ => {}
        }
    }
}

/// Whether XML 1.0 allows `c` in text (tab and newline aside, which `escape` turns into spaces).
pub fn allowed_in_xml(c: char) -> bool {
    !(c < ' ' || ('\u{7f}'..='\u{9f}').contains(&c) || c == '\u{fffe}' || c == '\u{ffff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_the_font() {
        // DejaVu Sans: "i" is 569/2048 em, "W" 2025/2048; at 2048 px the units are pixels.
        assert_eq!(width("i", 2048.0, Weight::Regular), 569.0);
        assert_eq!(width("W", 2048.0, Weight::Regular), 2025.0);
        assert!(width("vaq", 16.0, Weight::Bold) > width("vaq", 16.0, Weight::Regular));
        assert_eq!(width("漢", 10.0, Weight::Regular), 10.0, "unknown: one em");
        assert_eq!(width("e\u{301}", 10.0, Weight::Regular), width("e", 10.0, Weight::Regular));
    }

    #[test]
    fn a_long_text_ends_in_an_ellipsis_within_its_box() {
        let long = "W".repeat(100);
        let fitted = fit(&long, 16.0, Weight::Bold, 200.0);
        assert!(fitted.ends_with('…') && fitted.len() < long.len());
        assert!(width(&fitted, 16.0, Weight::Bold) <= 200.0);
        assert_eq!(fit("short", 16.0, Weight::Bold, 200.0), "short");
        let spaced = fit("aaaa      bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 10.0, Weight::Regular, 60.0);
        assert!(!spaced.contains(" …"), "{spaced}");
    }

    #[test]
    fn escaping_covers_markup_and_drops_what_xml_cannot_hold() {
        let mut out = String::new();
        escape(&mut out, "<script>&\"'\u{0}\u{1b}x\ty\u{ffff}");
        assert_eq!(out, "&lt;script&gt;&amp;&quot;&#39;x y");
    }

    /// The table is the fonts' own: regenerate with `HARMY_WRITE_FONT_TABLE=1`.
    #[test]
    fn the_width_table_matches_dejavu_sans() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fonts");
        let load = |name: &str| std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("tests/fonts/{name}: {e}"));
        let (regular, bold) = (load("DejaVuSans.ttf"), load("DejaVuSans-Bold.ttf"));
        let advances = |data: &[u8]| -> Vec<u16> {
            let face = ttf_parser::Face::parse(data, 0).unwrap();
            assert_eq!(face.units_per_em(), font::UNITS_PER_EM);
            let mut out = Vec::new();
            for &(start, end) in font::RANGES.iter() {
                for code in start..end {
                    let glyph = char::from_u32(code).and_then(|c| face.glyph_index(c));
                    out.push(glyph.and_then(|g| face.glyph_hor_advance(g)).unwrap_or(font::MISSING));
                }
            }
            out
        };
        let (regular, bold) = (advances(&regular), advances(&bold));
        if std::env::var_os("HARMY_WRITE_FONT_TABLE").is_some() {
            std::fs::write("src/card/font.rs", font_source(&regular, &bold)).unwrap();
        }
        assert_eq!(font::REGULAR.as_slice(), regular.as_slice());
        assert_eq!(font::BOLD.as_slice(), bold.as_slice());
    }

    fn font_source(regular: &[u16], bold: &[u16]) -> String {
        let ranges: Vec<String> = font::RANGES.iter().map(|(s, e)| format!("(0x{s:04X}, 0x{e:04X})")).collect();
        let table = |values: &[u16]| -> String {
            values
                .chunks(16)
                .map(|row| {
                    let row: Vec<String> = row.iter().map(|v| v.to_string()).collect();
                    format!("    {},\n", row.join(", "))
                })
                .collect()
        };
        format!(
            "//! Advance widths of DejaVu Sans and DejaVu Sans Bold, in font units, for the\n\
             //! characters the card measures (`text.rs`). Generated from the fonts in\n\
             //! `tests/fonts` (Debian's fonts-dejavu-core) by `HARMY_WRITE_FONT_TABLE=1 cargo test --lib\n\
             //! card::text`, and checked against them by that test.\n\n\
             /// Font units per em.\n\
             pub const UNITS_PER_EM: u16 = 2048;\n\
             /// A character the font has no glyph for.\n\
             pub const MISSING: u16 = u16::MAX;\n\
             /// The code point ranges (start, end exclusive) the tables cover, in order.\n\
             pub const RANGES: [(u32, u32); {}] = [{}];\n\
             /// Characters in all ranges.\n\
             const LEN: usize = {};\n\n\
             /// DejaVu Sans.\n\
             #[rustfmt::skip]\n\
             pub static REGULAR: [u16; LEN] = [\n{}];\n\n\
             /// DejaVu Sans Bold.\n\
             #[rustfmt::skip]\n\
             pub static BOLD: [u16; LEN] = [\n{}];\n",
            font::RANGES.len(),
            ranges.join(", "),
            regular.len(),
            table(regular),
            table(bold)
        )
    }
}
