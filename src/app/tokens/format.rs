//! What a token looks like: `harmy_<selector>_<secret>`, 64 + 128 random bits
//! from the OS generator, in hex, or a key imported from Lanyard ([`Shape`]);
//! and the fast hash that keys what is remembered about one (in memory only).

use blake2::{Blake2s256, Digest};
use rand::TryRngCore;

pub(super) const PREFIX: &str = "harmy_";
pub(super) const SELECTOR_BYTES: usize = 8;
pub(super) const SECRET_BYTES: usize = 16;
pub(super) const SALT_BYTES: usize = 16;
/// Lanyard's keys: `lnyd_` and 16 random bytes in lowercase hex.
pub(super) const LANYARD_PREFIX: &str = "lnyd_";
const LANYARD_HEX: usize = 32;

/// What a presented token is, by its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape<'a> {
    /// harmy's own: the selector finds the row, argon2 checks the secret.
    Harmy {
        /// The public half.
        selector: &'a str,
        /// The half argon2 checks.
        secret: &'a str,
    },
    /// A key imported from Lanyard: `lnyd_` and 32 lowercase hex characters, or
    /// the 32 characters alone, as Lanyard issued its keys before it prefixed them.
    /// Its keyed digest finds the row; argon2 checks the whole key.
    Lanyard,
}

/// The shape of a presented token, if it has one harmy knows.
pub fn shape(token: &str) -> Option<Shape<'_>> {
    if let Some((selector, secret)) = parse(token) {
        return Some(Shape::Harmy { selector, secret });
    }
    is_lanyard_key(token).then_some(Shape::Lanyard)
}

/// Whether a string has the shape of a Lanyard key.
pub fn is_lanyard_key(key: &str) -> bool {
    let hex = key.strip_prefix(LANYARD_PREFIX).unwrap_or(key);
    hex.len() == LANYARD_HEX && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Splits a token into selector and secret, if it has the shape of one.
pub fn parse(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(PREFIX)?;
    let (selector, secret) = rest.split_once('_')?;
    let is_hex = |s: &str, n: usize| s.len() == n * 2 && s.bytes().all(|b| b.is_ascii_hexdigit());
    (is_hex(selector, SELECTOR_BYTES) && is_hex(secret, SECRET_BYTES)).then_some((selector, secret))
}

/// The substrings of a message that have the shape of a token, in the order they
/// appear: harmy tokens and `lnyd_` keys wherever they start, unprefixed Lanyard
/// keys only as whole words (32 hex characters inside a longer word are no key).
pub fn find_in_text(text: &str) -> impl Iterator<Item = &str> {
    let harmy_len = PREFIX.len() + SELECTOR_BYTES * 2 + 1 + SECRET_BYTES * 2;
    let harmy = text
        .match_indices(PREFIX)
        .filter_map(move |(i, _)| Some((i, text.get(i..i + harmy_len)?)))
        .filter(|(_, t)| parse(t).is_some());
    let lanyard_len = LANYARD_PREFIX.len() + LANYARD_HEX;
    let lanyard = text
        .match_indices(LANYARD_PREFIX)
        .filter_map(move |(i, _)| Some((i, text.get(i..i + lanyard_len)?)))
        .filter(|(_, t)| is_lanyard_key(t));
    let bare = words(text).filter(|(_, w)| w.len() == LANYARD_HEX && is_lanyard_key(w));
    let mut found: Vec<(usize, &str)> = harmy.chain(lanyard).chain(bare).collect();
    found.sort_unstable_by_key(|(i, _)| *i);
    found.into_iter().map(|(_, t)| t)
}

/// The maximal runs of ASCII letters, digits and underscores, with their offsets.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut rest = text.char_indices().peekable();
    std::iter::from_fn(move || {
        while rest.next_if(|(_, c)| !is_word(*c)).is_some() {}
        let (start, _) = *rest.peek()?;
        let mut end = start;
        while let Some((i, c)) = rest.next_if(|(_, c)| is_word(*c)) {
            end = i + c.len_utf8();
        }
        Some((start, &text[start..end]))
    })
}

/// `N` bytes from the OS generator.
pub(super) fn random<const N: usize>() -> Option<[u8; N]> {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).ok()?;
    Some(bytes)
}

/// A fast hash of a token, keying what is remembered about it.
pub(super) fn fingerprint(token: &str) -> [u8; 32] {
    Blake2s256::digest(token.as_bytes()).into()
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "harmy_0011223344556677_00112233445566778899aabbccddeeff";

    #[test]
    fn parse_rejects_malformed_tokens() {
        assert_eq!(parse(TOKEN), Some(("0011223344556677", "00112233445566778899aabbccddeeff")));
        for bad in ["", "harmy_", "harmy_abc_def", "x_0123456789abcdef_0123456789abcdef0123456789abcdef"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    const LNYD: &str = "lnyd_00112233445566778899aabbccddeeff";
    const BARE: &str = "00112233445566778899aabbccddeeff";

    #[test]
    fn tokens_are_found_inside_messages() {
        let text = format!("here is my token:{TOKEN}, oops");
        assert_eq!(find_in_text(&text).collect::<Vec<_>>(), vec![TOKEN]);
        assert_eq!(find_in_text("harmy_ is a nice word").count(), 0);
    }

    #[test]
    fn lanyard_keys_are_told_apart_from_tokens() {
        assert_eq!(shape(TOKEN), Some(Shape::Harmy { selector: "0011223344556677", secret: BARE }));
        assert_eq!((shape(LNYD), shape(BARE)), (Some(Shape::Lanyard), Some(Shape::Lanyard)));
        let upper = BARE.to_uppercase();
        for bad in ["lnyd_", "lnyd_0011", &upper, &format!("{BARE}0"), &format!("lnyd_{BARE}0"), "x"] {
            assert_eq!(shape(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn lanyard_keys_are_found_inside_messages_in_order() {
        let text = format!("{BARE} then key:{LNYD}. and {TOKEN}");
        assert_eq!(find_in_text(&text).collect::<Vec<_>>(), vec![BARE, LNYD, TOKEN]);
        // 32 hex characters inside a longer word (a SHA-256, a name) are no key.
        for text in ["0".repeat(64), format!("x{BARE}"), format!("{BARE}_1")] {
            assert_eq!(find_in_text(&text).count(), 0, "{text:?}");
        }
        assert_eq!(find_in_text(&format!("é{BARE}é")).collect::<Vec<_>>(), vec![BARE], "words are ASCII");
    }
}
