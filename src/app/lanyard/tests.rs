//! The import's rules: decoding, the two layouts, the limits, what harmy keeps,
//! dry runs, reruns, and imported keys working as tokens.

use std::collections::BTreeMap;

use super::*;
use crate::app::kv::KvLimits;
use crate::config::Config;
use crate::error::Error;

const ALICE: UserId = UserId(470_320_681_905_684_500);
const KEY: &str = "lnyd_00112233445566778899aabbccddeeff";
const NOW: u64 = 1_800_000_000_000;

fn bytes(pairs: &[(&str, &str)]) -> RawHash {
    RawHash::Pairs(pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect())
}

fn raw(kv: &[(&str, &str)], json_kv: &[(&str, &str)]) -> RawUser {
    RawUser { kv: bytes(kv), json_kv: bytes(json_kv), ..RawUser::new(ALICE) }
}

fn reasons(skips: &[Skip]) -> Vec<(Option<&str>, &Reason)> {
    skips.iter().map(|s| (s.key.as_deref(), &s.reason)).collect()
}

#[test]
fn json_layout_values_are_decoded_and_win_over_the_older_layout() {
    let user = raw(
        &[("same", "x"), ("differs", "old"), ("only_old", "plain \"text\"")],
        &[("same", r#""x""#), ("differs", r#""new""#), ("n", "42"), ("obj", r#"{"a": [1, 2]}"#), ("bad", "{not json")],
    );
    let (record, skips) = prepare(user, &KvLimits::default(), NOW);
    let kv: BTreeMap<_, _> = record.kv.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        kv,
        BTreeMap::from([
            ("bad", "{not json"),
            ("differs", "new"),
            ("n", "42"),
            ("obj", r#"{"a": [1, 2]}"#),
            ("only_old", "plain \"text\""),
            ("same", "x"),
        ])
    );
    assert_eq!(reasons(&skips), vec![(Some("differs"), &Reason::OlderLayoutDiffers)]);
}

#[test]
fn pairs_over_a_per_pair_rule_are_skipped_alone_at_the_exact_limits() {
    let limits = KvLimits::default();
    let long_key = "k".repeat(166);
    let value_at = "é".repeat(10_000);
    let value_over = "x".repeat(10_001);
    let user =
        raw(&[(&"k".repeat(165), "at"), (&long_key, "v"), ("at", &value_at), ("over", &value_over), ("a-b", "v")], &[]);
    let (record, skips) = prepare(user, &limits, NOW);
    assert_eq!(record.kv.iter().map(|(k, _)| k.len()).collect::<Vec<_>>(), vec![2, 165]);
    assert_eq!(
        reasons(&skips),
        vec![
            (Some("a-b"), &Reason::InvalidKey),
            (Some(&*format!("{}…", "k".repeat(64))), &Reason::KeyTooLong { len: 166, max: 165 }),
            (Some("over"), &Reason::ValueTooLong { len: 10_001, max: 10_000 }),
        ]
    );
}

#[test]
fn kv_over_a_per_user_limit_is_skipped_whole() {
    let limits = KvLimits { max_keys: 2, ..KvLimits::default() };
    let (record, skips) = prepare(raw(&[("a", "1"), ("b", "2"), ("c", "3")], &[]), &limits, NOW);
    assert!(record.kv.is_empty());
    assert_eq!(reasons(&skips), vec![(None, &Reason::TooManyKeys { count: 3, max: 2 })]);
    assert_eq!(skips[0].count, 3);
    let limits = KvLimits { max_total_bytes: 9, ..KvLimits::default() };
    let (record, skips) = prepare(raw(&[("a", "1")], &[]), &limits, NOW);
    assert_eq!((record.kv.len(), reasons(&skips)), (1, vec![]), "{{\"a\":\"1\"}} is 9 bytes");
    let (record, skips) = prepare(raw(&[("a", "12")], &[]), &limits, NOW);
    assert_eq!((record.kv.len(), reasons(&skips)), (0, vec![(None, &Reason::TooLarge { len: 10, max: 9 })]));
}

#[test]
fn keys_need_lanyards_shape_and_reverse_index_and_times_must_be_times() {
    let mut user = RawUser { key: Some(KEY.into()), key_owner: Some(ALICE.to_string().into()), ..RawUser::new(ALICE) };
    user.last_seen = Some(b"1700000000000".to_vec());
    let (record, skips) = prepare(user.clone(), &KvLimits::default(), NOW);
    assert_eq!((record.key.as_deref(), record.last_seen, skips.len()), (Some(KEY), Some(1_700_000_000_000), 0));
    user.key_owner = Some(b"94490510688792576".to_vec());
    user.last_seen = Some(format!("{}", NOW + 3_600_000).into_bytes());
    let (record, skips) = prepare(user.clone(), &KvLimits::default(), NOW);
    assert_eq!((record.key, record.last_seen), (None, None));
    assert_eq!(
        skips.iter().map(|s| &s.reason).collect::<Vec<_>>(),
        vec![&Reason::NotInReverseIndex, &Reason::NotATime]
    );
    user.key = Some(b"hunter2".to_vec());
    let (_, skips) = prepare(user, &KvLimits::default(), NOW);
    assert_eq!(skips[0].reason, Reason::NotAKey);
}

fn record(kv: &[(&str, &str)], key: Option<&str>, last_seen: Option<u64>) -> Record {
    let kv = kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Record { user: ALICE, kv, key: key.map(String::from), last_seen }
}

#[tokio::test]
async fn an_import_is_idempotent_and_a_dry_run_writes_nothing() {
    let (_dir, app) = App::temporary(Config::default());
    let batch = || vec![record(&[("a", "1"), ("b", "2")], Some(KEY), Some(1_700_000_000_000))];
    let dry = app.import_lanyard(batch(), false, true).await.unwrap();
    assert_eq!((dry.kv.imported, dry.keys.imported, dry.last_seen.imported), (2, 1, 1));
    assert!(app.kv.all(ALICE).await.unwrap().is_empty(), "a dry run writes nothing");
    assert!(matches!(app.tokens.authenticate(KEY).await, Err(Error::Unauthorized)));
    assert_eq!(app.privacy.last_seen().get(ALICE), None);

    let first = app.import_lanyard(batch(), false, false).await.unwrap();
    assert_eq!(first, dry, "the dry run said what the run does");
    assert_eq!(app.kv.all(ALICE).await.unwrap().len(), 2);
    assert_eq!(app.tokens.authenticate(KEY).await.unwrap(), ALICE);
    assert_eq!(app.privacy.last_seen().get(ALICE), Some(1_700_000_000_000));

    let again = app.import_lanyard(batch(), false, false).await.unwrap();
    assert_eq!((again.kv.unchanged, again.keys.unchanged, again.last_seen.unchanged), (2, 1, 1));
    assert_eq!((again.kv.imported, again.keys.imported, again.last_seen.imported, again.skips.len()), (0, 0, 0, 0));
}

#[tokio::test]
async fn harmys_own_values_win_unless_overwritten() {
    let (_dir, app) = App::temporary(Config::default());
    app.kv.set(ALICE, "a".into(), "harmy".into()).await.unwrap();
    let token = app.tokens.rotate(ALICE).await.unwrap();
    let batch = || vec![record(&[("a", "lanyard")], Some(KEY), None)];
    let kept = app.import_lanyard(batch(), false, false).await.unwrap();
    assert_eq!(
        kept.skips.iter().map(|s| &s.reason).collect::<Vec<_>>(),
        vec![&Reason::HarmyValueKept, &Reason::HarmyTokenKept]
    );
    assert_eq!(app.tokens.authenticate(&token).await.unwrap(), ALICE);
    assert!(matches!(app.tokens.authenticate(KEY).await, Err(Error::Unauthorized)));
    let overwritten = app.import_lanyard(batch(), true, false).await.unwrap();
    assert_eq!((overwritten.kv.imported, overwritten.keys.imported), (1, 1));
    assert_eq!(app.kv.get(ALICE, "a".into()).await.unwrap(), "lanyard");
    assert_eq!(app.tokens.authenticate(KEY).await.unwrap(), ALICE);
    assert!(matches!(app.tokens.authenticate(&token).await, Err(Error::Unauthorized)), "one token per user");
}

#[tokio::test]
async fn a_rotation_replaces_an_imported_key() {
    let (_dir, app) = App::temporary(Config::default());
    app.import_lanyard(vec![record(&[], Some(KEY), None)], false, false).await.unwrap();
    assert_eq!(app.tokens.authenticate(KEY).await.unwrap(), ALICE);
    let token = app.tokens.rotate(ALICE).await.unwrap();
    assert!(matches!(app.tokens.authenticate(KEY).await, Err(Error::Unauthorized)), "remembered no more");
    assert_eq!(app.tokens.authenticate(&token).await.unwrap(), ALICE);
    // A wrong key of the right shape is refused without a row to check.
    assert!(matches!(app.tokens.authenticate("lnyd_ffffffffffffffffffffffffffffffff").await, Err(Error::Unauthorized)));
}

#[tokio::test]
async fn the_leak_guard_knows_imported_keys() {
    let (_dir, app) = App::temporary(Config::default());
    let bare = "00112233445566778899aabbccddeeff";
    let bob = UserId(94_490_510_688_792_576);
    let mut second = record(&[], Some(bare), None);
    second.user = bob;
    app.import_lanyard(vec![record(&[], Some(KEY), None), second], false, false).await.unwrap();
    let leaks = app.tokens.leaked(&format!("my key is {KEY} and {bare}, and lnyd_{}", "e".repeat(32))).await.unwrap();
    assert_eq!(leaks.owners, vec![ALICE, bob]);
}

#[tokio::test]
async fn nothing_is_brought_back_for_a_user_who_hid_or_was_forgotten() {
    let (_dir, app) = App::temporary(Config::default());
    app.forget(ALICE).await.unwrap();
    let report = app.import_lanyard(vec![record(&[("a", "1")], Some(KEY), Some(1))], false, false).await.unwrap();
    assert_eq!(report.skips.iter().filter(|s| s.reason == Reason::UserHidden).count(), 3);
    assert!(app.kv.all(ALICE).await.unwrap().is_empty());
    assert!(matches!(app.tokens.authenticate(KEY).await, Err(Error::Unauthorized)));
    assert_eq!(app.privacy.last_seen().get(ALICE), None);
}
