//! From what Lanyard's Redis holds for one user to what harmy would store:
//! values decoded, the two KV layouts merged, and everything that breaks a rule
//! of harmy's (docs/API.md, "Moving from Lanyard") set aside with its reason.
//! Nothing is truncated: a pair that breaks a per-pair rule is skipped alone,
//! KV that breaks a per-user limit is skipped whole.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::report::{Kind, Reason, Skip};
use crate::app::kv::{KvError, KvLimits};
use crate::app::tokens::is_lanyard_key;
use crate::ids::UserId;

/// How far in the future a last seen may lie (clocks of two machines differ a little).
const CLOCK_SLACK_MS: u64 = 60_000;

/// One of Lanyard's KV hashes, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RawHash {
    /// No such hash.
    #[default]
    Absent,
    /// Its fields and values, bytes as stored.
    Pairs(Vec<(Vec<u8>, Vec<u8>)>),
    /// Not read: more fields than harmy's key limit, or more bytes than the
    /// import reads for one user.
    TooBig {
        /// Fields in the hash.
        fields: u64,
        /// Its size in Redis, when known.
        bytes: u64,
    },
}

/// One user's data in Lanyard's Redis, bytes as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct RawUser {
    /// The user.
    pub user: UserId,
    /// `lanyard_kv:<id>`: values as stored.
    pub kv: RawHash,
    /// `lanyard:user_kv:<id>`: values JSON-encoded.
    pub json_kv: RawHash,
    /// `user_api_key:<id>`.
    pub key: Option<Vec<u8>>,
    /// `api_key:<that key>`: whom Lanyard's own check finds for the key.
    pub key_owner: Option<Vec<u8>>,
    /// `lanyard:user_last_seen:<id>`.
    pub last_seen: Option<Vec<u8>>,
}

impl RawUser {
    /// Nothing read yet for `user`.
    pub fn new(user: UserId) -> RawUser {
        RawUser { user, kv: RawHash::Absent, json_kv: RawHash::Absent, key: None, key_owner: None, last_seen: None }
    }
}

impl std::fmt::Debug for RawUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawUser").field("user", &self.user).finish_non_exhaustive()
    }
}

/// What harmy would store for one user, every value within its rules.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The user.
    pub user: UserId,
    /// KV pairs, by key.
    pub kv: Vec<(String, String)>,
    /// The Lanyard API key.
    pub key: Option<String>,
    /// Last seen, Unix milliseconds.
    pub last_seen: Option<u64>,
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key, never a value.
        f.debug_struct("Record")
            .field("user", &self.user)
            .field("kv_pairs", &self.kv.len())
            .field("key", &self.key.as_ref().map(|_| ".."))
            .field("last_seen", &self.last_seen)
            .finish()
    }
}

impl Record {
    /// Bytes of its KV as rendered JSON, about what it takes in a request.
    pub fn weight(&self) -> usize {
        let pairs = self.kv.iter().map(|(k, v)| crate::app::kv::rendered_string_len(k) + rendered(v)).sum::<usize>();
        pairs + 100
    }

    /// Whether there is anything to import.
    pub fn is_empty(&self) -> bool {
        self.kv.is_empty() && self.key.is_none() && self.last_seen.is_none()
    }
}

fn rendered(value: &str) -> usize {
    crate::app::kv::rendered_string_len(value) + 2
}

/// What harmy would store for `raw`, checked against `limits`, and what it skips;
/// `now` (ms since the epoch) bounds the last seen.
pub fn prepare(raw: RawUser, limits: &KvLimits, now: u64) -> (Record, Vec<Skip>) {
    let user = raw.user;
    let mut skips = Vec::new();
    let kv = prepare_kv(user, raw.kv, raw.json_kv, limits, &mut skips);
    let key = raw.key.and_then(|key| {
        let key = String::from_utf8(key).ok().filter(|k| is_lanyard_key(k));
        let Some(key) = key else {
            skips.push(Skip::whole(user, Kind::Key, 1, Reason::NotAKey));
            return None;
        };
        if raw.key_owner.as_deref() != Some(user.to_string().as_bytes()) {
            skips.push(Skip::whole(user, Kind::Key, 1, Reason::NotInReverseIndex));
            return None;
        }
        Some(key)
    });
    let last_seen = raw.last_seen.and_then(|at| {
        let at = std::str::from_utf8(&at).ok().and_then(|s| s.trim().parse::<u64>().ok());
        let at = at.filter(|&at| at > 0 && at <= now + CLOCK_SLACK_MS);
        if at.is_none() {
            skips.push(Skip::whole(user, Kind::LastSeen, 1, Reason::NotATime));
        }
        at
    });
    (Record { user, kv, key, last_seen }, skips)
}

/// The KV of both layouts, merged and checked.
fn prepare_kv(
    user: UserId,
    kv: RawHash,
    json_kv: RawHash,
    limits: &KvLimits,
    skips: &mut Vec<Skip>,
) -> Vec<(String, String)> {
    let too_big = |hash: &RawHash| match hash {
        RawHash::TooBig { fields, bytes } => Some((*fields, *bytes)),
        _ => None,
    };
    if let Some((fields, bytes)) = too_big(&kv).or(too_big(&json_kv)) {
        let count = [&kv, &json_kv].iter().map(|h| pairs_in(h)).sum::<u64>().max(fields) as usize;
        let reason = if fields > limits.max_keys as u64 {
            Reason::TooManyKeys { count: fields as usize, max: limits.max_keys }
        } else {
            Reason::TooBigToRead { fields, bytes }
        };
        skips.push(Skip::whole(user, Kind::Kv, count, reason));
        return Vec::new();
    }
    // The JSON layout second: where both hold a key, its value wins.
    let mut merged: BTreeMap<String, Result<String, Reason>> = BTreeMap::new();
    for (layout_is_json, hash) in [(false, kv), (true, json_kv)] {
        let RawHash::Pairs(pairs) = hash else { continue };
        for (key, value) in pairs {
            let key = match String::from_utf8(key) {
                Ok(key) => key,
                Err(e) => {
                    skips.push(Skip::pair(user, &String::from_utf8_lossy(e.as_bytes()), Reason::InvalidKey));
                    continue;
                }
            };
            let value = String::from_utf8(value).map_err(|_| Reason::ValueNotText);
            let value = if layout_is_json { value.map(decode_json) } else { value };
            if layout_is_json && merged.get(&key).is_some_and(|older| *older != value) {
                skips.push(Skip::pair(user, &key, Reason::OlderLayoutDiffers));
            }
            merged.insert(key, value);
        }
    }
    let mut valid = Vec::with_capacity(merged.len());
    for (key, value) in merged {
        let checked = value.and_then(|value| match limits.check_pair(&key, &value) {
            Ok(()) => Ok(value),
            Err(e) => Err(reason_of(e)),
        });
        match checked {
            Ok(value) => valid.push((key, value)),
            Err(reason) => skips.push(Skip::pair(user, &key, reason)),
        }
    }
    if let Err(e) = limits.check_total(valid.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        let reason = match e {
            KvError::TooManyKeys { max } => Reason::TooManyKeys { count: valid.len(), max },
            other => reason_of(other),
        };
        skips.push(Skip::whole(user, Kind::Kv, valid.len(), reason));
        return Vec::new();
    }
    valid
}

fn pairs_in(hash: &RawHash) -> u64 {
    match hash {
        RawHash::Pairs(pairs) => pairs.len() as u64,
        _ => 0,
    }
}

/// A value of the JSON layout: a JSON string is its text, any other JSON value
/// stays the JSON text stored, and text that is no JSON at all is kept as it is
/// (what Lanyard's own reader does with it).
fn decode_json(stored: String) -> String {
    match serde_json::from_str::<serde_json::Value>(&stored) {
        Ok(serde_json::Value::String(text)) => text,
        _ => stored,
    }
}

/// A KV rule's refusal as an import's reason.
pub(super) fn reason_of(e: KvError) -> Reason {
    match e {
        KvError::InvalidKey(_) => Reason::InvalidKey,
        KvError::KeyTooLong { len, max } => Reason::KeyTooLong { len, max },
        KvError::ValueTooLong { len, max } => Reason::ValueTooLong { len, max },
        KvError::TooManyKeys { max } => Reason::TooManyKeys { count: max + 1, max },
        KvError::TooLarge { len, max } => Reason::TooLarge { len, max },
    }
}
