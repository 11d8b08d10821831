//! The key/value rules of SPEC §4.4: which keys and values are valid, and the
//! limits (configurable, defaults as named constants). A write that breaks a
//! rule is refused before it reaches the store, and so changes nothing.

use crate::config::KvConfig;

/// Default keys per user (Lanyard's limit).
pub const MAX_KEYS: usize = 512;
/// Default characters per key.
pub const MAX_KEY_LENGTH: usize = 165;
/// Default characters (Unicode scalar values) per value.
pub const MAX_VALUE_LENGTH: usize = 10_000;

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
}

impl Default for KvLimits {
    fn default() -> Self {
        Self { max_keys: MAX_KEYS, max_key_length: MAX_KEY_LENGTH, max_value_length: MAX_VALUE_LENGTH }
    }
}

impl From<KvConfig> for KvLimits {
    fn from(c: KvConfig) -> Self {
        Self { max_keys: c.max_keys, max_key_length: c.max_key_length, max_value_length: c.max_value_length }
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
        let limits = KvLimits::from(KvConfig { max_keys: 3, max_key_length: 4, max_value_length: 5 });
        assert!(limits.check_key("abcde").is_err());
        assert!(limits.check_value("123456").is_err());
        assert_eq!(limits.max_keys, 3);
    }
}
