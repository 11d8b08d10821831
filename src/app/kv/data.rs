//! The KV table, pairs keyed by `(user, key)`: the only code that reads or
//! writes it.

use std::collections::{BTreeMap, HashSet};

use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::limits::KvLimits;
use crate::error::Result;
use crate::ids::UserId;
use crate::store::tables::KV;

/// Every pair of a user, in key order.
pub(crate) fn all(txn: &ReadTransaction, user: UserId) -> Result<Vec<(String, String)>> {
    pairs_of(&txn.open_table(KV)?, user)
}

fn pairs_of(
    table: &impl ReadableTable<(u64, &'static str), &'static str>,
    user: UserId,
) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for entry in table.range((user.0, "")..)? {
        let (k, v) = entry?;
        let (owner, key) = k.value();
        if owner != user.0 {
            break;
        }
        pairs.push((key.to_string(), v.value().to_string()));
    }
    Ok(pairs)
}

/// One value.
pub(crate) fn get(txn: &ReadTransaction, user: UserId, key: &str) -> Result<Option<String>> {
    Ok(txn.open_table(KV)?.get((user.0, key))?.map(|v| v.value().to_string()))
}

/// A user's pairs as the JSON object the API shows (`{}` for none).
pub(crate) fn rendered(txn: &ReadTransaction, user: UserId) -> Result<Box<serde_json::value::RawValue>> {
    let object: serde_json::Map<String, serde_json::Value> =
        all(txn, user)?.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
    serde_json::value::to_raw_value(&object).map_err(|e| crate::error::Error::Internal(e.to_string()))
}

/// The users with at least one pair.
pub(crate) fn users(txn: &ReadTransaction) -> Result<HashSet<UserId>> {
    let mut users = HashSet::new();
    for entry in txn.open_table(KV)?.iter()? {
        users.insert(UserId(entry?.0.value().0));
    }
    Ok(users)
}

/// Sets pairs, refusing all of them (an error: the transaction is not committed)
/// when the user's KV would then break a per-user limit (`KvLimits::check_total`:
/// keys, rendered bytes). Pairs are validated one by one by the caller.
pub(crate) fn set(txn: &WriteTransaction, user: UserId, pairs: &[(String, String)], limits: &KvLimits) -> Result<()> {
    let mut table = txn.open_table(KV)?;
    // The KV as it would be: the stored pairs not overwritten, then the new ones
    // (a key given twice counts once, with its last value, as inserted).
    let mut after: BTreeMap<String, String> = pairs_of(&table, user)?.into_iter().collect();
    for (key, value) in pairs {
        after.insert(key.clone(), value.clone());
    }
    limits.check_total(after.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    for (key, value) in pairs {
        table.insert((user.0, key.as_str()), value.as_str())?;
    }
    Ok(())
}

/// What an import did to one user's KV.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Imported {
    /// Pairs written.
    pub written: usize,
    /// Pairs harmy already had as they are.
    pub unchanged: usize,
    /// Keys harmy has with another value, kept.
    pub kept: Vec<String>,
    /// Set when the user's KV would break a per-user limit: why, and how many
    /// pairs were not written for it (nothing was).
    pub refused: Option<(super::KvError, usize)>,
}

/// Imports pairs, each already checked against the per-pair rules: a key harmy
/// has with another value keeps it unless `overwrite`. When the user's KV would
/// then break a per-user limit, nothing is written and `refused` says why (the
/// transaction goes on: it carries other users' imports).
pub(crate) fn import(
    txn: &WriteTransaction,
    user: UserId,
    pairs: &[(String, String)],
    limits: &KvLimits,
    overwrite: bool,
) -> Result<Imported> {
    let mut table = txn.open_table(KV)?;
    let mut after: BTreeMap<String, String> = pairs_of(&table, user)?.into_iter().collect();
    let mut imported = Imported::default();
    let mut writes = Vec::new();
    for (key, value) in pairs {
        match after.get(key) {
            Some(held) if held == value => imported.unchanged += 1,
            Some(_) if !overwrite => imported.kept.push(key.clone()),
            _ => {
                after.insert(key.clone(), value.clone());
                writes.push((key, value));
            }
        }
    }
    if !writes.is_empty()
        && let Err(e) = limits.check_total(after.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    {
        imported.refused = Some((e, writes.len()));
        return Ok(imported);
    }
    for (key, value) in writes {
        table.insert((user.0, key.as_str()), value.as_str())?;
        imported.written += 1;
    }
    Ok(imported)
}

/// Deletes a key; true when it existed.
pub(crate) fn del(txn: &WriteTransaction, user: UserId, key: &str) -> Result<bool> {
    Ok(txn.open_table(KV)?.remove((user.0, key))?.is_some())
}

/// Deletes every pair of a user (`forget`); returns how many there were.
pub(super) fn forget(txn: &WriteTransaction, user: UserId) -> Result<usize> {
    let mut table = txn.open_table(KV)?;
    let keys: Vec<String> = pairs_of(&table, user)?.into_iter().map(|(key, _)| key).collect();
    for key in &keys {
        table.remove((user.0, key.as_str()))?;
    }
    Ok(keys.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::kv::KvError;
    use crate::error::Error;
    use crate::store::{Durability, Store};

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The default limits with `max_keys` keys.
    fn keys(max_keys: usize) -> KvLimits {
        KvLimits { max_keys, ..KvLimits::default() }
    }

    fn put(store: &Store, user: UserId, items: &[(&str, &str)], limits: KvLimits) -> Result<()> {
        store.write(Durability::Immediate, |txn| set(txn, user, &pairs(items), &limits))
    }

    fn stored(store: &Store, user: UserId) -> Vec<(String, String)> {
        store.read(|txn| all(txn, user)).unwrap()
    }

    #[test]
    fn kv_pairs_are_per_user_and_ordered() {
        let (_dir, store) = Store::temporary();
        let (a, b) = (UserId(1), UserId(2));
        put(&store, a, &[("z", "1"), ("a", "2")], keys(10)).unwrap();
        put(&store, b, &[("m", "3")], keys(10)).unwrap();
        assert_eq!(stored(&store, a), pairs(&[("a", "2"), ("z", "1")]));
        assert_eq!(stored(&store, b), pairs(&[("m", "3")]));
        assert_eq!(store.read(|txn| get(txn, a, "z")).unwrap().as_deref(), Some("1"));
        assert!(store.write(Durability::Immediate, |txn| del(txn, a, "z")).unwrap());
        assert!(!store.write(Durability::Immediate, |txn| del(txn, a, "z")).unwrap());
        assert_eq!(store.read(|txn| get(txn, a, "z")).unwrap(), None);
        assert_eq!(store.read(users).unwrap(), HashSet::from([a, b]));
        assert_eq!(store.read(|txn| rendered(txn, a)).unwrap().get(), r#"{"a":"2"}"#);
    }

    #[test]
    fn kv_key_count_limit_refuses_the_whole_write() {
        let (_dir, store) = Store::temporary();
        let user = UserId(u64::MAX);
        put(&store, user, &[("a", "1"), ("b", "2")], keys(3)).unwrap();
        // Overwriting existing keys never counts against the limit.
        put(&store, user, &[("a", "x"), ("b", "y")], keys(2)).unwrap();
        let refused = put(&store, user, &[("a", "changed"), ("c", "3"), ("d", "4")], keys(3));
        assert!(matches!(refused, Err(Error::Kv(KvError::TooManyKeys { max: 3 }))), "{refused:?}");
        assert_eq!(stored(&store, user), pairs(&[("a", "x"), ("b", "y")]));
        put(&store, user, &[("c", "3")], keys(3)).unwrap();
    }

    #[test]
    fn an_import_keeps_harmys_values_unless_overwriting_and_refuses_a_user_over_a_limit() {
        let (_dir, store) = Store::temporary();
        let user = UserId(3);
        put(&store, user, &[("a", "harmy"), ("b", "same")], keys(3)).unwrap();
        let incoming = pairs(&[("a", "lanyard"), ("b", "same"), ("c", "new")]);
        let run = |overwrite, limits| {
            store.write(Durability::Immediate, |txn| import(txn, user, &incoming, &limits, overwrite)).unwrap()
        };
        let kept = run(false, keys(3));
        assert_eq!(
            (kept.written, kept.unchanged, kept.kept.clone(), kept.refused.clone()),
            (1, 1, vec!["a".into()], None)
        );
        assert_eq!(stored(&store, user), pairs(&[("a", "harmy"), ("b", "same"), ("c", "new")]));
        let over = run(true, KvLimits { max_total_bytes: 20, ..keys(3) });
        assert!(matches!(over.refused, Some((KvError::TooLarge { .. }, 1))) && over.written == 0, "{over:?}");
        assert_eq!(stored(&store, user), pairs(&[("a", "harmy"), ("b", "same"), ("c", "new")]), "nothing written");
        let overwritten = run(true, keys(3));
        assert_eq!((overwritten.written, overwritten.unchanged), (1, 2));
        assert_eq!(stored(&store, user)[0], ("a".to_string(), "lanyard".to_string()));
    }

    #[test]
    fn kv_size_limit_counts_the_rendered_bytes_and_refuses_the_whole_write() {
        let (_dir, store) = Store::temporary();
        let user = UserId(9);
        // {"a":"\u0000"} is 14 bytes: the NUL renders as six.
        let limits = KvLimits { max_total_bytes: 14, ..KvLimits::default() };
        put(&store, user, &[("a", "\u{0}")], limits).unwrap();
        let refused = put(&store, user, &[("a", "\u{0}\u{0}")], limits);
        assert!(matches!(refused, Err(Error::Kv(KvError::TooLarge { len: 20, max: 14 }))), "{refused:?}");
        let refused = put(&store, user, &[("a", "x"), ("b", "")], limits);
        assert!(
            matches!(refused, Err(Error::Kv(KvError::TooLarge { len: 16, max: 14 }))),
            "{{\"a\":\"x\",\"b\":\"\"}}"
        );
        assert_eq!(stored(&store, user), pairs(&[("a", "\u{0}")]));
        // Replacing a value by a shorter one fits again.
        put(&store, user, &[("a", "xyzxyz")], limits).unwrap();
    }
}
