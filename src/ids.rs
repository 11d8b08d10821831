//! Discord snowflakes as harmy accepts them from users: decimal, non-zero, fitting in a u64.

use std::fmt;
use std::str::FromStr;

/// A Discord user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct UserId(pub u64);

impl UserId {
    /// The id as twilight's typed id.
    pub fn to_twilight(self) -> twilight_model::id::Id<twilight_model::id::marker::UserMarker> {
        twilight_model::id::Id::new(self.0)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Not a snowflake: the message names what was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a Discord user id (a snowflake: up to 20 decimal digits)")]
pub struct InvalidUserId(pub String);

impl FromStr for UserId {
    type Err = InvalidUserId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_snowflake(s).map(UserId).ok_or_else(|| InvalidUserId(s.chars().take(40).collect()))
    }
}

impl<M> From<twilight_model::id::Id<M>> for UserId {
    fn from(id: twilight_model::id::Id<M>) -> Self {
        UserId(id.get())
    }
}

/// splitmix64's finaliser, the one mixer of ids: snowflakes' low bits are a
/// counter and worker ids, their high bits a timestamp, so they are mixed before
/// any use of their bits (hash tables, shards, spreading users over time).
/// Stable across releases, unlike std's hashers, so it may also place a user at
/// a fixed time (the GitHub refresher's slots).
pub fn mix(id: u64) -> u64 {
    let mut z = id.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashes an id (or anything that hashes as one `u64`) with [`mix`]: cheaper
/// than std's keyed hasher, and fine for ids, which clients do not choose.
#[derive(Debug, Default, Clone, Copy)]
pub struct MixHasher(u64);

impl std::hash::Hasher for MixHasher {
    fn finish(&self) -> u64 {
        mix(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, id: u64) {
        self.0 = id;
    }
}

/// The hasher of maps keyed by user id.
pub type IdHasher = std::hash::BuildHasherDefault<MixHasher>;

/// Parses a decimal snowflake: digits only, 1 to 20 of them, non-zero, at most `u64::MAX`.
pub fn parse_snowflake(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    // One pass (this runs for every `GET /user/:id`): no sign, no overflow.
    s.bytes()
        .try_fold(
            0u64,
            |n, b| if b.is_ascii_digit() { n.checked_mul(10)?.checked_add(u64::from(b - b'0')) } else { None },
        )
        .filter(|&n| n != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_are_decimal_nonzero_u64() {
        assert_eq!(parse_snowflake("470320681905684500"), Some(470320681905684500));
        assert_eq!(parse_snowflake("18446744073709551615"), Some(u64::MAX));
        for bad in ["", "0", "-1", "+1", "12a", " 1", "18446744073709551616", "1e5", "@me"] {
            assert_eq!(parse_snowflake(bad), None, "{bad:?}");
        }
    }
}
