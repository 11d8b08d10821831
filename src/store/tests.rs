use super::*;
use crate::ids::UserId;
use crate::kv::{KvError, KvLimits};

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The default limits with `max_keys` keys.
fn keys(max_keys: usize) -> KvLimits {
    KvLimits { max_keys, ..KvLimits::default() }
}

#[test]
fn a_new_database_is_owner_only_in_an_owner_only_directory() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/harmy/h.redb");
    Store::migrate(&path, false).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(&dir.path().join("state")), 0o700);
    // An existing file keeps the mode its owner chose.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    Store::migrate(&path, false).unwrap();
    assert_eq!(mode(&path), 0o640);
}

#[test]
fn migrate_creates_then_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/h.redb");
    let dry = Store::migrate(&path, true).unwrap();
    assert!(dry[0].starts_with("create database"));
    assert!(!path.exists(), "a dry run creates nothing");
    assert_eq!(Store::migrate(&path, false).unwrap().len(), 1 + MIGRATIONS.len());
    assert!(Store::migrate(&path, false).unwrap().is_empty());
    assert!(Store::migrate(&path, true).unwrap().is_empty());
    Store::open(&path).unwrap();
}

#[test]
fn open_refuses_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(&dir.path().join("none.redb")).unwrap_err();
    assert!(matches!(err, StoreError::Missing(_)));
    assert!(err.to_string().contains("run `harmy migrate`"));
}

#[test]
fn open_refuses_an_old_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.redb");
    Store::force_schema_version(&path, 0).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::NeedsMigration { found: 0, .. }), "{err}");
    Store::migrate(&path, false).unwrap();
    Store::open(&path).unwrap();
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.redb");
    Store::force_schema_version(&path, CURRENT_VERSION + 1).unwrap();
    assert!(matches!(Store::open(&path).unwrap_err(), StoreError::TooNew { .. }));
    assert!(matches!(Store::migrate(&path, false).unwrap_err(), StoreError::TooNew { .. }));
    let store = Store::open_file(&path, false).unwrap();
    assert_eq!(store.schema_version().unwrap(), CURRENT_VERSION + 1);
}

#[test]
fn a_second_open_reports_the_lock() {
    let (_dir, store) = Store::temporary();
    let err = Store::open(store.path()).unwrap_err();
    assert!(matches!(err, StoreError::Locked(_)), "{err}");
}

#[test]
fn kv_pairs_are_per_user_and_ordered() {
    let (_dir, store) = Store::temporary();
    let (a, b) = (UserId(1), UserId(2));
    store.kv_set(a, &pairs(&[("z", "1"), ("a", "2")]), &keys(10)).unwrap().unwrap();
    store.kv_set(b, &pairs(&[("m", "3")]), &keys(10)).unwrap().unwrap();
    assert_eq!(store.kv_all(a).unwrap(), pairs(&[("a", "2"), ("z", "1")]));
    assert_eq!(store.kv_all(b).unwrap(), pairs(&[("m", "3")]));
    assert_eq!(store.kv_get(a, "z").unwrap().as_deref(), Some("1"));
    assert!(store.kv_del(a, "z").unwrap());
    assert!(!store.kv_del(a, "z").unwrap());
    assert_eq!(store.kv_get(a, "z").unwrap(), None);
}

#[test]
fn kv_key_count_limit_refuses_the_whole_write() {
    let (_dir, store) = Store::temporary();
    let user = UserId(u64::MAX);
    store.kv_set(user, &pairs(&[("a", "1"), ("b", "2")]), &keys(3)).unwrap().unwrap();
    // Overwriting existing keys never counts against the limit.
    store.kv_set(user, &pairs(&[("a", "x"), ("b", "y")]), &keys(2)).unwrap().unwrap();
    let refused = store.kv_set(user, &pairs(&[("a", "changed"), ("c", "3"), ("d", "4")]), &keys(3)).unwrap();
    assert_eq!(refused, Err(KvError::TooManyKeys { max: 3 }));
    assert_eq!(store.kv_all(user).unwrap(), pairs(&[("a", "x"), ("b", "y")]));
    store.kv_set(user, &pairs(&[("c", "3")]), &keys(3)).unwrap().unwrap();
}

#[test]
fn kv_size_limit_counts_the_rendered_bytes_and_refuses_the_whole_write() {
    let (_dir, store) = Store::temporary();
    let user = UserId(9);
    // {"a":"\u0000"} is 14 bytes: the NUL renders as six.
    let limits = KvLimits { max_total_bytes: 14, ..KvLimits::default() };
    store.kv_set(user, &pairs(&[("a", "\u{0}")]), &limits).unwrap().unwrap();
    let refused = store.kv_set(user, &pairs(&[("a", "\u{0}\u{0}")]), &limits).unwrap();
    assert_eq!(refused, Err(KvError::TooLarge { len: 20, max: 14 }));
    let refused = store.kv_set(user, &pairs(&[("a", "x"), ("b", "")]), &limits).unwrap();
    assert_eq!(refused, Err(KvError::TooLarge { len: 16, max: 14 }), "{{\"a\":\"x\",\"b\":\"\"}}");
    assert_eq!(store.kv_all(user).unwrap(), pairs(&[("a", "\u{0}")]));
    // Replacing a value by a shorter one fits again.
    store.kv_set(user, &pairs(&[("a", "xyzxyz")]), &limits).unwrap().unwrap();
}

#[test]
fn a_new_token_replaces_the_old_selector() {
    let (_dir, store) = Store::temporary();
    let user = UserId(5);
    store.token_set(user, "aaaa", "hash1").unwrap();
    store.token_set(user, "bbbb", "hash2").unwrap();
    assert_eq!(store.token_by_selector("aaaa").unwrap(), None);
    assert_eq!(store.token_by_selector("bbbb").unwrap(), Some((user, "hash2".into())));
    assert!(store.token_remove(user).unwrap());
    assert_eq!(store.token_by_selector("bbbb").unwrap(), None);
    assert!(!store.token_remove(user).unwrap());
}

#[test]
fn github_links_and_profiles() {
    let (_dir, store) = Store::temporary();
    let user = UserId(9);
    store.github_link(user, "octocat", Some("{}")).unwrap();
    assert_eq!(store.github_get(user).unwrap(), Some(("octocat".into(), Some("{}".into()))));
    assert!(!store.github_set_profile(user, "someoneelse", "{\"x\":1}").unwrap());
    assert!(store.github_set_profile(user, "octocat", "{\"x\":1}").unwrap());
    assert_eq!(store.github_links().unwrap(), vec![(user, "octocat".to_string())]);
    assert!(store.github_unlink(user).unwrap());
    assert_eq!(store.github_get(user).unwrap(), None);
}
