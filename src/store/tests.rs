//! Opening, migrating and locking the database file. (Each domain's rows are
//! tested beside its `data.rs`.)

use super::*;

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
fn new_directories_are_owner_only_and_searchable_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/h.redb");
    // The admin socket's bind narrows the process umask to 0177 for a moment; a
    // directory created meanwhile got 0600 (no search bit) from `mkdir` alone.
    crate::admin::server::with_umask(0o177, || Store::migrate(&path, false)).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("a")), 0o700);
    assert_eq!(mode(&dir.path().join("a/b")), 0o700);
    assert_eq!(mode(&path), 0o600);
    Store::open(&path).unwrap();
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
fn a_schema_1_database_keeps_its_data_through_the_privacy_migration() {
    use crate::app::kv::{KvLimits, data as kv};
    use crate::app::privacy::data as privacy;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.redb");
    // A file as harmy left it before privacy: schema 1, with a KV pair.
    {
        let store = Store::open_file(&path, true).unwrap();
        store
            .write(Durability::Immediate, |txn| {
                (MIGRATIONS[0].apply)(txn)?;
                txn.open_table(META)?.insert(SCHEMA_KEY, 1)?;
                kv::set(txn, crate::ids::UserId(7), &[("k".into(), "v".into())], &KvLimits::default())
            })
            .unwrap();
    }
    assert!(matches!(Store::open(&path), Err(StoreError::NeedsMigration { found: 1, .. })));
    let done = Store::migrate(&path, false).unwrap();
    assert_eq!(done.len(), MIGRATIONS.len() - 1, "{done:?}");
    assert!(done[0].contains("privacy"), "{done:?}");
    let store = Store::open(&path).unwrap();
    let pairs = store.read(|txn| kv::all(txn, crate::ids::UserId(7))).unwrap();
    assert_eq!(pairs, vec![("k".to_string(), "v".to_string())]);
    assert!(store.read(privacy::choices).unwrap().is_empty());
    assert!(store.read(privacy::last_seen_all).unwrap().is_empty());
}
