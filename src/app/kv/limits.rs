//! The key/value rules: which keys and values are valid, and the limits
//! (`[kv]` in the config; the defaults are documented in docs/API.md). A write
//! that breaks a per-pair rule is refused before it reaches the store; one that
//! would break a per-user limit (keys, rendered bytes) is refused inside the
//! store's transaction. Either way it changes nothing.

use crate::config::KvConfig;

/// Why a KV write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// The key has a character outside `[A-Za-z0-9_]`, or is empty.
    #[error("invalid key `{0}`: keys are letters, digits and underscores")]
    InvalidKey(String),
    /// The key is too long.
    #[error("key is {len} characters long; the limit is {max}")]
    KeyTooLong { len: usize, max: usize },
    /// The value is too long.
    #[error("value is {len} characters long; the limit is {max}")]
    ValueTooLong { len: usize, max: usize },
    /// The user already has the maximum number of keys.
    #[error("too many keys: the limit is {max} per user")]
    TooManyKeys { max: usize },
    /// The user's KV would render to more JSON than allowed.
    #[error("the KV pairs would take {len} bytes as JSON; the limit is {max} per user")]
    TooLarge { len: usize, max: usize },
}

/// The limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvLimits {
    /// Keys per user.
    pub max_keys: usize,
    /// Characters per key.
    pub max_key_length: usize,
    /// Characters per value.
    pub max_value_length: usize,
    /// Bytes of a user's whole KV as rendered JSON.
    pub max_total_bytes: usize,
    /// A member's writes per minute (0: no limit).
    pub writes_per_minute: u32,
}

impl Default for KvLimits {
    /// The defaults of `[kv]`.
    fn default() -> Self {
        KvConfig::default().into()
    }
}

impl From<KvConfig> for KvLimits {
    fn from(c: KvConfig) -> Self {
        Self {
            max_keys: c.max_keys,
            max_key_length: c.max_key_length,
            max_value_length: c.max_value_length,
            max_total_bytes: c.max_total_bytes,
            writes_per_minute: c.writes_per_minute,
        }
    }
}

impl KvLimits {
    /// Checks a key: `^[A-Za-z0-9_]+$`, at most `max_key_length` characters.
    pub fn check_key(&self, key: &str) -> Result<(), KvError> {
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(KvError::InvalidKey(key.chars().take(64).collect()));
        }
        if key.len() > self.max_key_length {
            return Err(KvError::KeyTooLong { len: key.len(), max: self.max_key_length });
        }
        Ok(())
    }

    /// Checks a value: at most `max_value_length` Unicode scalar values.
    pub fn check_value(&self, value: &str) -> Result<(), KvError> {
        // Bytes bound characters from above: skip the count for short values.
        if value.len() > self.max_value_length {
            let len = value.chars().count();
            if len > self.max_value_length {
                return Err(KvError::ValueTooLong { len, max: self.max_value_length });
            }
        }
        Ok(())
    }

    /// Checks a key and its value.
    pub fn check_pair(&self, key: &str, value: &str) -> Result<(), KvError> {
        self.check_key(key)?;
        self.check_value(value)
    }

    /// Checks a user's whole KV as it would be after a write: its number of keys
    /// and its size as rendered JSON. `pairs` yields each key once.
    pub fn check_total<'a>(&self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<(), KvError> {
        let (mut keys, mut len) = (0usize, 2usize); // `{}`
        for (key, value) in pairs {
            keys += 1;
            len += rendered_pair_len(key, value) + usize::from(keys > 1); // `,`
        }
        if keys > self.max_keys {
            return Err(KvError::TooManyKeys { max: self.max_keys });
        }
        if len > self.max_total_bytes {
            return Err(KvError::TooLarge { len, max: self.max_total_bytes });
        }
        Ok(())
    }
}

/// Bytes of `"key":"value"` in the rendered KV object.
fn rendered_pair_len(key: &str, value: &str) -> usize {
    rendered_string_len(key) + 1 + rendered_string_len(value)
}

/// Bytes of a string as a JSON string literal, escaped as `serde_json` writes it:
/// `\"` and `\\` and the short control escapes take two bytes, other control
/// characters six (`\u0000`); everything else (UTF-8 included) is copied.
pub(crate) fn rendered_string_len(s: &str) -> usize {
    let escapes: usize = s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 1,
            0..=0x1f => 5,
            _ => 0,
        })
        .sum();
    s.len() + 2 + escapes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_word_characters_only() {
        let limits = KvLimits::default();
        assert!(limits.check_key("First1_x").is_ok());
        for bad in ["", "a-b", "a b", "é", "a.b", "a/b"] {
            assert!(matches!(limits.check_key(bad), Err(KvError::InvalidKey(_))), "{bad:?}");
        }
    }

    #[test]
    fn key_length_limit_is_inclusive() {
        let limits = KvLimits::default();
        assert!(limits.check_key(&"k".repeat(165)).is_ok());
        assert_eq!(limits.check_key(&"k".repeat(166)), Err(KvError::KeyTooLong { len: 166, max: 165 }));
    }

    #[test]
    fn value_length_counts_characters_not_bytes() {
        let limits = KvLimits::default();
        assert!(limits.check_value(&"é".repeat(10_000)).is_ok());
        assert_eq!(limits.check_value(&"é".repeat(10_001)), Err(KvError::ValueTooLong { len: 10_001, max: 10_000 }));
        assert!(limits.check_value(&"x".repeat(10_000)).is_ok());
    }

    #[test]
    fn limits_come_from_config() {
        let limits = KvLimits::from(KvConfig {
            max_keys: 3,
            max_key_length: 4,
            max_value_length: 5,
            max_total_bytes: 6,
            ..Default::default()
        });
        assert!(limits.check_key("abcde").is_err());
        assert!(limits.check_value("123456").is_err());
        assert_eq!((limits.max_keys, limits.max_total_bytes), (3, 6));
    }

    #[test]
    fn rendered_lengths_are_what_serde_json_writes() {
        let samples = ["", "plain", "quote\" and \\ slash", "\u{0}\u{1}\u{1f}\n\r\t\u{8}\u{c}", "é✓😀/\u{7f}<>&"];
        for s in samples {
            assert_eq!(rendered_string_len(s), serde_json::to_string(s).unwrap().len(), "{s:?}");
        }
        let pairs = [("a", "\u{0}x"), ("key_2", "é\"")];
        let object: serde_json::Map<String, serde_json::Value> =
            pairs.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(*v))).collect();
        let rendered = serde_json::to_vec(&object).unwrap().len();
        let exact = KvLimits { max_total_bytes: rendered, ..KvLimits::default() };
        assert_eq!(exact.check_total(pairs), Ok(()));
        let under = KvLimits { max_total_bytes: rendered - 1, ..KvLimits::default() };
        assert_eq!(under.check_total(pairs), Err(KvError::TooLarge { len: rendered, max: rendered - 1 }));
        assert_eq!(KvLimits::default().check_total([]), Ok(()));
    }

    #[test]
    fn the_key_count_is_checked_before_the_size() {
        let limits = KvLimits { max_keys: 1, max_total_bytes: 3, ..KvLimits::default() };
        assert_eq!(limits.check_total([("a", "1"), ("b", "2")]), Err(KvError::TooManyKeys { max: 1 }));
    }
}
