//! Opening, migrating and locking the database file. (Each domain's rows are
//! tested beside its `data.rs`.)

use super::migrations::{CURRENT_VERSION, MIGRATIONS};
use super::open::SCHEMA_KEY;
use super::tables::META;
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

/// A migrated database with some KV rows, closed; its path.
fn database_with_rows(dir: &std::path::Path) -> std::path::PathBuf {
    use crate::app::kv::{KvLimits, data as kv};
    let path = dir.join("h.redb");
    Store::migrate(&path, false).unwrap();
    let store = Store::open(&path).unwrap();
    for user in 0..50 {
        let pairs: Vec<(String, String)> = (0..20).map(|k| (format!("k{k}"), "v".repeat(300))).collect();
        store
            .write(Durability::Immediate, |txn| kv::set(txn, crate::ids::UserId(user), &pairs, &KvLimits::default()))
            .unwrap();
    }
    path
}

#[test]
fn a_damaged_file_is_refused_naming_it_and_left_as_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = database_with_rows(dir.path());
    let sound = std::fs::read(&path).unwrap();
    let middle = sound.len() / 2 / 4096 * 4096;
    let damages: Vec<(&str, Vec<u8>)> = vec![
        ("truncated to half", sound[..sound.len() / 2].to_vec()),
        ("one page short", sound[..sound.len() - 4096].to_vec()),
        ("truncated to 100 bytes", sound[..100].to_vec()),
        ("garbage in the header", [vec![0x5a; 64], sound[64..].to_vec()].concat()),
        ("a zeroed page", [&sound[..4096], &[0u8; 4096][..], &sound[8192..]].concat()),
        ("garbage mid-file", {
            let mut b = sound.clone();
            b[middle..middle + 4096].iter_mut().enumerate().for_each(|(i, x)| *x = (i * 7 + 3) as u8);
            b
        }),
    ];
    for (what, bytes) in damages {
        std::fs::write(&path, &bytes).unwrap();
        for attempt in [Store::open(&path).map(drop), Store::migrate(&path, false).map(drop)] {
            let err = attempt.expect_err(what);
            assert!(matches!(err, StoreError::Damaged { .. }), "{what}: {err}");
            let text = err.to_string();
            assert!(text.contains(&path.display().to_string()) && text.contains("backup"), "{what}: {text}");
        }
        assert!(std::fs::read(&path).unwrap() == bytes, "{what}: the file was changed");
    }
    std::fs::write(&path, &sound).unwrap();
    Store::open(&path).expect("the sound file opens again");
}

#[test]
fn storage_failures_are_unavailable_and_other_redb_errors_are_not() {
    let io = redb::Error::Io(std::io::Error::from_raw_os_error(libc::ENOSPC));
    assert!(matches!(StoreError::from(io), StoreError::Unavailable(_)));
    assert!(matches!(StoreError::from(redb::Error::PreviousIo), StoreError::Unavailable(_)));
    assert!(matches!(StoreError::from(redb::Error::TableDoesNotExist("t".into())), StoreError::Redb(_)));
}
