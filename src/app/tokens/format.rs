//! What a token looks like: `harmy_<selector>_<secret>`, 64 + 128 random bits
//! from the OS generator, in hex; and the fast hash that keys what is
//! remembered about one.

use blake2::{Blake2s256, Digest};
use rand::TryRngCore;

pub(super) const PREFIX: &str = "harmy_";
pub(super) const SELECTOR_BYTES: usize = 8;
pub(super) const SECRET_BYTES: usize = 16;
pub(super) const SALT_BYTES: usize = 16;

/// Splits a token into selector and secret, if it has the shape of one.
pub fn parse(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(PREFIX)?;
    let (selector, secret) = rest.split_once('_')?;
    let is_hex = |s: &str, n: usize| s.len() == n * 2 && s.bytes().all(|b| b.is_ascii_hexdigit());
    (is_hex(selector, SELECTOR_BYTES) && is_hex(secret, SECRET_BYTES)).then_some((selector, secret))
}

/// The substrings of a message that have the shape of a token.
pub fn find_in_text(text: &str) -> impl Iterator<Item = &str> {
    let len = PREFIX.len() + SELECTOR_BYTES * 2 + 1 + SECRET_BYTES * 2;
    text.match_indices(PREFIX).filter_map(move |(i, _)| text.get(i..i + len)).filter(|t| parse(t).is_some())
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

    #[test]
    fn tokens_are_found_inside_messages() {
        let text = format!("here is my token:{TOKEN}, oops");
        assert_eq!(find_in_text(&text).collect::<Vec<_>>(), vec![TOKEN]);
        assert_eq!(find_in_text("harmy_ is a nice word").count(), 0);
    }
}
