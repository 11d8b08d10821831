//! What an import did (or, dry, would do): per kind (KV pairs, API keys, last
//! seen) how many were imported, unchanged or skipped and why, and one line per
//! skip naming the user. Never a value or a key: KV keys are named (shortened),
//! values and API keys never.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::UserId;

/// The kinds of data an import brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// KV pairs (counted in pairs).
    Kv,
    /// API keys.
    Key,
    /// Last-seen times.
    LastSeen,
}

/// Why something was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum Reason {
    /// A KV key with a character outside `[A-Za-z0-9_]` (or empty, or not UTF-8).
    InvalidKey,
    /// A KV key longer than harmy allows.
    KeyTooLong { len: usize, max: usize },
    /// A KV value longer than harmy allows, in characters.
    ValueTooLong { len: usize, max: usize },
    /// A KV value that is not UTF-8 text.
    ValueNotText,
    /// The key is in both Lanyard layouts with different values: the JSON layout's was taken.
    OlderLayoutDiffers,
    /// harmy has another value for the key, kept (`--overwrite` replaces it).
    HarmyValueKept,
    /// The user's KV would have more keys than harmy allows.
    TooManyKeys { count: usize, max: usize },
    /// The user's KV would render to more JSON than harmy allows.
    TooLarge { len: usize, max: usize },
    /// A Lanyard hash too large to read (more fields, or more bytes, than the import reads per user).
    TooBigToRead { fields: u64, bytes: u64 },
    /// `user_api_key:<id>` does not hold a key of Lanyard's shape.
    NotAKey,
    /// Lanyard's reverse index (`api_key:<key>`) does not name the user: Lanyard itself refuses the key.
    NotInReverseIndex,
    /// The user has a harmy token, kept (`--overwrite` replaces it).
    HarmyTokenKept,
    /// The user has another key imported before, kept (`--overwrite` replaces it).
    ImportedKeyKept,
    /// Another user's token row holds this key.
    KeyOfAnotherUser,
    /// A last seen that is not Unix milliseconds, or lies in the future.
    NotATime,
    /// harmy has its own last-seen time for the user, kept (`--overwrite` replaces it).
    HarmyTimeKept,
    /// The user hid themselves in harmy (`.hide`, `.forget`): nothing of theirs is brought in.
    UserHidden,
}

impl Reason {
    /// The reason without its figures, for the summary's counts.
    pub fn label(&self) -> &'static str {
        match self {
            Reason::InvalidKey => "invalid key",
            Reason::KeyTooLong { .. } => "key too long",
            Reason::ValueTooLong { .. } => "value too long",
            Reason::ValueNotText => "value not UTF-8",
            Reason::OlderLayoutDiffers => "older layout's value differs (JSON layout's taken)",
            Reason::HarmyValueKept => "harmy's value kept",
            Reason::TooManyKeys { .. } => "too many keys",
            Reason::TooLarge { .. } => "KV too large",
            Reason::TooBigToRead { .. } => "too big to read",
            Reason::NotAKey => "not a Lanyard key",
            Reason::NotInReverseIndex => "not in Lanyard's reverse index",
            Reason::HarmyTokenKept => "harmy token kept",
            Reason::ImportedKeyKept => "key imported before kept",
            Reason::KeyOfAnotherUser => "another user's key",
            Reason::NotATime => "not a time",
            Reason::HarmyTimeKept => "harmy's time kept",
            Reason::UserHidden => "user hid in harmy",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::InvalidKey => f.write_str("invalid key: keys are letters, digits and underscores"),
            Reason::KeyTooLong { len, max } => write!(f, "key is {len} characters long; the limit is {max}"),
            Reason::ValueTooLong { len, max } => write!(f, "value is {len} characters long; the limit is {max}"),
            Reason::ValueNotText => f.write_str("value is not UTF-8 text"),
            Reason::OlderLayoutDiffers => {
                f.write_str("lanyard_kv's value differs from lanyard:user_kv's; the latter was taken")
            }
            Reason::HarmyValueKept => f.write_str("harmy has another value, kept (--overwrite replaces it)"),
            Reason::TooManyKeys { count, max } => write!(f, "{count} keys; the limit is {max} per user"),
            Reason::TooLarge { len, max } => write!(f, "{len} bytes as JSON; the limit is {max} per user"),
            Reason::TooBigToRead { fields, bytes } => {
                write!(f, "the hash has {fields} fields and {bytes} bytes, more than the import reads for one user")
            }
            Reason::NotAKey => f.write_str("not a Lanyard key (lnyd_ and 32 hex characters)"),
            Reason::NotInReverseIndex => {
                f.write_str("api_key:<key> does not name this user, so Lanyard refuses the key too")
            }
            Reason::HarmyTokenKept => f.write_str("the user has a harmy token, kept (--overwrite replaces it)"),
            Reason::ImportedKeyKept => {
                f.write_str("the user has another key imported before, kept (--overwrite replaces it)")
            }
            Reason::KeyOfAnotherUser => f.write_str("another user's token is this key"),
            Reason::NotATime => f.write_str("not a time in Unix milliseconds up to now"),
            Reason::HarmyTimeKept => f.write_str("harmy has its own time, kept (--overwrite replaces it)"),
            Reason::UserHidden => f.write_str("the user chose to hide (or be forgotten) in harmy"),
        }
    }
}

/// One thing not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    /// Whose.
    pub user: UserId,
    /// What kind of data.
    pub kind: Kind,
    /// The KV key, shortened, when the skip is about one pair.
    pub key: Option<String>,
    /// How many KV pairs it covers (1 for a pair; the user's pairs for a per-user limit; 1 otherwise).
    pub count: usize,
    /// Why.
    pub reason: Reason,
}

impl Skip {
    /// A KV pair skipped.
    pub fn pair(user: UserId, key: &str, reason: Reason) -> Skip {
        Skip { user, kind: Kind::Kv, key: Some(shorten(key)), count: 1, reason }
    }

    /// Something of one user skipped whole: `count` KV pairs, or one key or time.
    pub fn whole(user: UserId, kind: Kind, count: usize, reason: Reason) -> Skip {
        Skip { user, kind, key: None, count, reason }
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = self.user;
        match (self.kind, &self.key) {
            (Kind::Kv, Some(key)) => write!(f, "user {user}: KV key `{key}` skipped: {}", self.reason),
            (Kind::Kv, None) => write!(f, "user {user}: KV skipped ({} pairs): {}", self.count, self.reason),
            (Kind::Key, _) => write!(f, "user {user}: API key skipped: {}", self.reason),
            (Kind::LastSeen, _) => write!(f, "user {user}: last seen skipped: {}", self.reason),
        }
    }
}

/// A key as a report names it: at most 64 characters, control characters shown as `?`.
fn shorten(key: &str) -> String {
    let mut short: String = key.chars().take(64).map(|c| if c.is_control() { '?' } else { c }).collect();
    if key.chars().count() > 64 {
        short.push('…');
    }
    short
}

/// The counts of one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Stored (or, dry, would be).
    pub imported: usize,
    /// Already in harmy as they are in Lanyard.
    pub unchanged: usize,
    /// Not imported, by reason (`Reason::label`).
    pub skipped: BTreeMap<String, usize>,
}

impl Counts {
    /// All skipped.
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }

    fn merge(&mut self, other: Counts) {
        self.imported += other.imported;
        self.unchanged += other.unchanged;
        for (reason, n) in other.skipped {
            *self.skipped.entry(reason).or_default() += n;
        }
    }
}

/// What an import (or one batch of it) did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// KV pairs.
    pub kv: Counts,
    /// API keys.
    pub keys: Counts,
    /// Last-seen times.
    pub last_seen: Counts,
    /// Every skip, in the order met.
    pub skips: Vec<Skip>,
}

impl Report {
    /// The counts of a kind.
    pub fn counts(&mut self, kind: Kind) -> &mut Counts {
        match kind {
            Kind::Kv => &mut self.kv,
            Kind::Key => &mut self.keys,
            Kind::LastSeen => &mut self.last_seen,
        }
    }

    /// Records a skip.
    pub fn skip(&mut self, skip: Skip) {
        *self.counts(skip.kind).skipped.entry(skip.reason.label().to_string()).or_default() += skip.count;
        self.skips.push(skip);
    }

    /// Adds another report (a batch's) to this one.
    pub fn merge(&mut self, other: Report) {
        self.kv.merge(other.kv);
        self.keys.merge(other.keys);
        self.last_seen.merge(other.last_seen);
        self.skips.extend(other.skips);
    }

    /// The summary lines: one per kind, then the skips counted by reason.
    pub fn summary(&self, dry_run: bool) -> String {
        let imported = if dry_run { "would import" } else { "imported" };
        let mut out = String::new();
        for (name, counts) in [("KV pairs", &self.kv), ("API keys", &self.keys), ("last seen", &self.last_seen)] {
            out += &format!(
                "{name:<10} {imported} {}, unchanged {}, skipped {}\n",
                counts.imported,
                counts.unchanged,
                counts.skipped_total()
            );
            for (reason, n) in &counts.skipped {
                out += &format!("{:<10}   {n} {reason}\n", "");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_are_counted_by_kind_and_reason_and_name_no_value() {
        let mut report = Report::default();
        report.kv.imported = 3;
        report.skip(Skip::pair(UserId(1), "bad-key", Reason::InvalidKey));
        report.skip(Skip::whole(UserId(2), Kind::Kv, 600, Reason::TooManyKeys { count: 600, max: 512 }));
        report.skip(Skip::whole(UserId(3), Kind::Key, 1, Reason::HarmyTokenKept));
        let mut total = Report::default();
        total.merge(report.clone());
        total.merge(report);
        assert_eq!((total.kv.imported, total.kv.skipped_total(), total.keys.skipped_total()), (6, 1202, 2));
        let summary = total.summary(false);
        assert!(summary.contains("KV pairs   imported 6, unchanged 0, skipped 1202"), "{summary}");
        assert!(summary.contains("1200 too many keys"), "{summary}");
        assert_eq!(
            total.skips[0].to_string(),
            "user 1: KV key `bad-key` skipped: invalid key: keys are letters, digits and underscores"
        );
        assert!(total.summary(true).contains("would import 6"));
    }

    #[test]
    fn keys_are_shortened_and_control_characters_hidden() {
        let skip = Skip::pair(UserId(1), &format!("a\u{1b}[2J{}", "k".repeat(100)), Reason::InvalidKey);
        let key = skip.key.unwrap();
        assert!(key.starts_with("a?[2J") && key.ends_with('…') && key.chars().count() == 65, "{key}");
    }
}
