//! Reading a Lanyard instance's Redis, read-only: `SCAN` for its users (never
//! `KEYS`, which stops a busy Redis), then each chunk of users in two pipelined
//! round trips. Every read is bounded before it is made, so a Redis holding huge
//! values cannot make the import hold them: a hash is read only when its field
//! count and its size in Redis (`HLEN`, `MEMORY USAGE`) are within bounds, and
//! strings only through `GETRANGE` of a few bytes.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, anyhow};
use redis::Value;

use crate::app::lanyard::{RawHash, RawUser};
use crate::app::tokens::is_lanyard_key;
use crate::ids::UserId;

/// Bytes of one user's hash in Redis (`MEMORY USAGE`) past which it is not read:
/// far above what harmy's limits let through (256 KiB of KV by default), and
/// above the 15 MB Lanyard's own limits allow (512 keys of 30 000 characters).
pub const READ_BYTES: u64 = 16 << 20;
/// Hash bytes requested in one round trip, at most (more hashes: more round trips).
const TRIP_BYTES: u64 = 32 << 20;
/// Keys asked for per `SCAN` call.
const SCAN_COUNT: usize = 1_000;

/// Which of Lanyard's keys a user has, as bits.
pub type Has = u8;
/// `lanyard_kv:<id>`: KV, values as stored.
pub const KV: Has = 1;
/// `lanyard:user_kv:<id>`: KV, values JSON-encoded.
pub const JSON_KV: Has = 2;
/// `user_api_key:<id>`: the API key.
pub const KEY: Has = 4;
/// `lanyard:user_last_seen:<id>`: Unix milliseconds.
pub const LAST_SEEN: Has = 8;

/// The key prefixes, and what each says a user has.
const PREFIXES: [(&str, Has); 4] = [
    ("lanyard_kv:", KV),
    ("lanyard:user_kv:", JSON_KV),
    ("user_api_key:", KEY),
    ("lanyard:user_last_seen:", LAST_SEEN),
];

/// The users found, in id order, and what each has.
#[derive(Debug, Default)]
pub struct Found {
    /// User id → which keys.
    pub users: BTreeMap<u64, Has>,
    /// Keys with one of the prefixes but no user id after it: left alone.
    pub stray: u64,
}

/// A connection to Lanyard's Redis.
pub struct Redis {
    conn: redis::Connection,
}

impl Redis {
    /// Connects (`redis://` or `rediss://`, with user and password as the URL
    /// gives them) and checks that Redis answers.
    pub fn connect(url: &str) -> anyhow::Result<Redis> {
        let shown = redact(url);
        let client = redis::Client::open(url).map_err(|e| anyhow!("{shown}: not a Redis URL: {e}"))?;
        let conn = client
            .get_connection_with_timeout(Duration::from_secs(10))
            .map_err(|e| anyhow!("cannot connect to Lanyard's Redis at {shown}: {e}"))?;
        conn.set_read_timeout(Some(Duration::from_secs(120)))?;
        conn.set_write_timeout(Some(Duration::from_secs(120)))?;
        let mut redis = Redis { conn };
        redis::cmd("PING").query::<()>(&mut redis.conn).with_context(|| format!("Lanyard's Redis at {shown}"))?;
        Ok(redis)
    }

    /// Every user that has one of Lanyard's keys.
    pub fn users(&mut self) -> anyhow::Result<Found> {
        let mut found = Found::default();
        for (prefix, has) in PREFIXES {
            let pattern = format!("{prefix}*");
            let mut cursor = 0u64;
            loop {
                let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(SCAN_COUNT)
                    .query(&mut self.conn)
                    .context("SCAN")?;
                for key in keys {
                    let id = key.strip_prefix(prefix.as_bytes()).and_then(|id| std::str::from_utf8(id).ok());
                    match id.and_then(|id| id.parse::<UserId>().ok()) {
                        Some(user) => *found.users.entry(user.0).or_default() |= has,
                        None => found.stray += 1,
                    }
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        Ok(found)
    }

    /// What Redis holds for a chunk of users; a hash with more than `max_fields`
    /// fields, or more than [`READ_BYTES`] bytes, is not read.
    pub fn read(&mut self, chunk: &[(u64, Has)], max_fields: u64) -> anyhow::Result<Vec<RawUser>> {
        // First trip: sizes of the hashes, the key and the time (a few bytes each).
        let mut sizes = redis::pipe();
        sizes.ignore_errors();
        for &(id, has) in chunk {
            for (prefix, bit) in [("lanyard_kv:", KV), ("lanyard:user_kv:", JSON_KV)] {
                if has & bit != 0 {
                    sizes.cmd("HLEN").arg(format!("{prefix}{id}"));
                    sizes.cmd("MEMORY").arg("USAGE").arg(format!("{prefix}{id}")).arg("SAMPLES").arg(0);
                }
            }
            if has & KEY != 0 {
                sizes.cmd("GETRANGE").arg(format!("user_api_key:{id}")).arg(0).arg(63);
            }
            if has & LAST_SEEN != 0 {
                sizes.cmd("GETRANGE").arg(format!("lanyard:user_last_seen:{id}")).arg(0).arg(31);
            }
        }
        let mut answers = sizes.query::<Vec<Value>>(&mut self.conn).context("reading sizes")?.into_iter();
        let mut users = Vec::with_capacity(chunk.len());
        // What the second trip fetches: (user index, which hash, key name) or a reverse-index lookup.
        let mut fetches: Vec<(usize, Fetch, String, u64)> = Vec::new();
        for (i, &(id, has)) in chunk.iter().enumerate() {
            let mut user = RawUser::new(UserId(id));
            for (prefix, bit, json) in [("lanyard_kv:", KV, false), ("lanyard:user_kv:", JSON_KV, true)] {
                if has & bit == 0 {
                    continue;
                }
                let fields = int(answers.next()).unwrap_or(0);
                let bytes = int(answers.next());
                let hash = if fields > max_fields || bytes.is_some_and(|b| b > READ_BYTES) {
                    RawHash::TooBig { fields, bytes: bytes.unwrap_or(0) }
                } else {
                    if fields > 0 {
                        let cost = bytes.unwrap_or(fields * 64);
                        fetches.push((i, Fetch::Hash { json }, format!("{prefix}{id}"), cost));
                    }
                    RawHash::Absent
                };
                *(if json { &mut user.json_kv } else { &mut user.kv }) = hash;
            }
            if has & KEY != 0 {
                user.key = bulk(answers.next());
                if let Some(key) = user.key.as_deref().and_then(|k| std::str::from_utf8(k).ok())
                    && is_lanyard_key(key)
                {
                    fetches.push((i, Fetch::Owner, format!("api_key:{key}"), 32));
                }
            }
            if has & LAST_SEEN != 0 {
                user.last_seen = bulk(answers.next());
            }
            users.push(user);
        }
        // Second trip(s): the hashes and the reverse index, at most TRIP_BYTES of hashes each.
        let mut rest = fetches.as_slice();
        while !rest.is_empty() {
            let (mut take, mut bytes) = (0, 0u64);
            while take < rest.len() && (take == 0 || bytes + rest[take].3 <= TRIP_BYTES) {
                bytes += rest[take].3;
                take += 1;
            }
            let (trip, later) = rest.split_at(take);
            rest = later;
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            for (_, fetch, key, _) in trip {
                match fetch {
                    Fetch::Hash { .. } => pipe.cmd("HGETALL").arg(key),
                    Fetch::Owner => pipe.cmd("GETRANGE").arg(key).arg(0).arg(31),
                };
            }
            let answers = pipe.query::<Vec<Value>>(&mut self.conn).context("reading hashes")?;
            for ((i, fetch, _, _), answer) in trip.iter().zip(answers) {
                let user = &mut users[*i];
                match fetch {
                    Fetch::Hash { json } => {
                        let pairs = pairs(answer);
                        // The hash grew since its size was read (a Lanyard still running).
                        let hash = if pairs.len() as u64 > max_fields {
                            RawHash::TooBig { fields: pairs.len() as u64, bytes: 0 }
                        } else {
                            RawHash::Pairs(pairs)
                        };
                        *(if *json { &mut user.json_kv } else { &mut user.kv }) = hash;
                    }
                    Fetch::Owner => user.key_owner = bulk(Some(answer)),
                }
            }
        }
        Ok(users)
    }
}

/// What the second trip reads.
#[derive(Debug, Clone, Copy)]
enum Fetch {
    /// A KV hash (`json`: the JSON layout).
    Hash { json: bool },
    /// `api_key:<key>`, whom Lanyard finds for the user's key.
    Owner,
}

fn int(value: Option<Value>) -> Option<u64> {
    match value? {
        Value::Int(n) => u64::try_from(n).ok(),
        _ => None,
    }
}

fn bulk(value: Option<Value>) -> Option<Vec<u8>> {
    match value? {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.into_bytes()),
        _ => None,
    }
}

/// HGETALL's answer: a flat array (RESP2) or a map (RESP3); anything else is no pairs.
fn pairs(value: Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    let flat = match value {
        Value::Array(items) => items,
        Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => return Vec::new(),
    };
    let mut items = flat.into_iter();
    let mut pairs = Vec::new();
    while let (Some(k), Some(v)) = (items.next(), items.next()) {
        if let (Some(k), Some(v)) = (bulk(Some(k)), bulk(Some(v))) {
            pairs.push((k, v));
        }
    }
    pairs
}

/// A Redis URL as it may be shown: the password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            let hidden = if userinfo.contains(':') { format!("{user}:***") } else { "***".to_string() };
            format!("{scheme}://{hidden}@{host}{path}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(redact("redis://default:s3cret@db:6379/2"), "redis://default:***@db:6379/2");
        assert_eq!(redact("rediss://:s3cret@db"), "rediss://:***@db");
        assert_eq!(redact("redis://s3cret@db/0"), "redis://***@db/0");
        assert_eq!(redact("redis://db:6379"), "redis://db:6379");
        assert_eq!(redact("redis://u:p@ss@db/0"), "redis://u:***@db/0");
    }

    #[test]
    fn hgetall_answers_of_either_protocol_give_pairs() {
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let expected = vec![(b"a".to_vec(), b"1".to_vec())];
        assert_eq!(pairs(Value::Array(vec![b("a"), b("1")])), expected);
        assert_eq!(pairs(Value::Map(vec![(b("a"), b("1"))])), expected);
        assert_eq!(pairs(Value::Nil), vec![]);
    }
}
