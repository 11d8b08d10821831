//! The read path: bodies are the three parts put together, kept once per
//! change, never served after a change is acknowledged (readers and writers
//! racing), and one-off reads keep nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::Value;

use super::*;
use crate::app::App;
use crate::app::github::{Profile, Record};
use crate::app::presence::{ClientStatus, RawPresence, Status, Update};
use crate::config::Config;

/// A monitored user whose presence says `state` (a custom status).
fn present(app: &App, user: UserId, state: &str) {
    let activities = format!(r#"[{{"name":"Custom Status","type":4,"state":"{state}"}}]"#);
    let user_json = format!(r#"{{"id":"{}","username":"u"}}"#, user.0);
    let raw = RawPresence { user: user_json.into(), activities: Some(activities.into()), status: Status::Online };
    app.presences.insert_raw(user, raw);
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

/// The native body of a user and its ETag, as a reader gets them.
async fn native(app: &App, user: UserId) -> Option<(Bytes, HeaderValue)> {
    let published = app.reads.get(user, Keep::Bodies).await.unwrap()?;
    let body = published.body(Shape::Native);
    Some((body.bytes(), body.etag().clone()))
}

#[tokio::test]
async fn the_bodies_are_the_presence_with_the_kv_and_github_profile() {
    let (_dir, app) = App::temporary(Config::default());
    let user = UserId(5);
    present(&app, user, "1");
    app.kv.set(user, "a".into(), "b".into()).await.unwrap();
    let view = app.presences.view(user).unwrap();
    let published = app.reads.get(user, Keep::Bodies).await.unwrap().unwrap();
    let native = published.body(Shape::Native);
    assert_eq!(
        native.bytes(),
        format!(r#"{{"presence":{},"KV":{{"a":"b"}},"github":null}}"#, std::str::from_utf8(&view.native).unwrap())
    );
    let mut data = json_of(&view.lanyard);
    data["kv"] = serde_json::json!({"a": "b"});
    data["github"] = Value::Null;
    assert_eq!(json_of(published.lanyard_data.as_bytes()), data);
    let lanyard = published.body(Shape::Lanyard);
    assert!(lanyard.bytes().starts_with(br#"{"success":true,"data":{"discord_user":"#), "{lanyard:?}");
    assert_eq!(json_of(&lanyard.bytes())["data"], data);
    assert!(
        published.lanyard_data.as_bytes().ends_with(br#","kv":{"a":"b"},"github":null}"#),
        "kv and github come last, as Lanyard sends them"
    );
    assert_eq!(native.etag(), crate::etag::of(&native.bytes()));
    assert_ne!(native.etag(), lanyard.etag());
}

#[tokio::test]
async fn a_marked_change_reaches_every_reader() {
    let (_dir, app) = App::temporary(Config::default());
    let user = UserId(5);
    let expected = |kv: &str| {
        let view = app.presences.view(user).unwrap();
        format!(r#"{{"presence":{},"KV":{kv},"github":null}}"#, std::str::from_utf8(&view.native).unwrap())
    };
    assert!(native(&app, user).await.is_none(), "not monitored");
    present(&app, user, "1");
    let first = native(&app, user).await.unwrap();
    assert_eq!(first.0, expected("{}"));
    assert_eq!(native(&app, user).await.unwrap().0, first.0, "served again");
    present(&app, user, "2");
    assert_eq!(native(&app, user).await.unwrap().0, expected("{}"));
    assert!(native(&app, user).await.unwrap().0.windows(3).any(|w| w == b"\"2\""));
    app.kv.set(user, "k".into(), "v".into()).await.unwrap();
    let after_kv = native(&app, user).await.unwrap();
    assert_eq!(after_kv.0, expected(r#"{"k":"v"}"#));
    assert_ne!(after_kv.1, first.1);
}

#[tokio::test]
async fn bodies_are_rendered_once_per_change() {
    let (_dir, app) = App::temporary(Config::default());
    let user = UserId(6);
    present(&app, user, "x");
    let get = || app.reads.get(user, Keep::Bodies);
    let first = get().await.unwrap().unwrap();
    assert!(Arc::ptr_eq(&first, &get().await.unwrap().unwrap()), "kept");
    // An identical update is no change.
    let same = Update { status: Status::Online, clients: ClientStatus::default(), activities: "" };
    app.presences.update_presence(user.0, 0, 0, same, None);
    let changed = get().await.unwrap().unwrap();
    assert!(!Arc::ptr_eq(&first, &changed), "the activities went: a change");
    app.presences.update_presence(user.0, 0, 0, same, None);
    assert!(Arc::ptr_eq(&changed, &get().await.unwrap().unwrap()), "the same update again: no change");
}

#[tokio::test]
async fn a_users_stored_extras_are_read_from_the_store_once() {
    let (dir, app) = App::temporary(Config::default());
    let (with_kv, bare) = (UserId(6), UserId(8));
    app.kv.set(with_kv, "k".into(), "v".into()).await.unwrap();
    // A new process over the same file: it knows who has something stored, not what.
    let config = app.config().clone();
    drop(app);
    let app = App::new(config, Store::open(&dir.path().join("harmy.redb")).unwrap()).unwrap();
    present(&app, with_kv, "1");
    present(&app, bare, "1");
    assert!(app.reads.stored.now(with_kv).is_none(), "the stored must be read from the store first");
    assert!(app.reads.stored.now(bare).is_some(), "nothing stored: nothing to read");
    let (body, _) = native(&app, with_kv).await.unwrap();
    assert_eq!(json_of(&body)["KV"]["k"], "v");
    assert!(app.reads.stored.now(with_kv).is_some(), "kept once read");
    assert!(native(&app, UserId(7)).await.is_none(), "not monitored");
}

#[tokio::test]
async fn a_read_that_keeps_nothing_keeps_nothing_and_reuses_what_is_kept() {
    let (dir, app) = App::temporary(Config::default());
    let user = UserId(5);
    app.kv.set(user, "k".into(), "v".into()).await.unwrap();
    let config = app.config().clone();
    drop(app);
    let app = App::new(config, Store::open(&dir.path().join("harmy.redb")).unwrap()).unwrap();
    let once = || app.reads.get(user, Keep::Nothing);
    assert!(once().await.unwrap().is_none(), "not monitored");
    present(&app, user, "1");
    let side = once().await.unwrap().unwrap();
    assert!(side.lanyard_data.as_bytes().ends_with(br#","kv":{"k":"v"},"github":null}"#));
    assert!(app.reads.published.is_empty(), "no bodies kept");
    assert!(app.reads.stored.now(user).is_none(), "no stored kept");
    let kept = app.reads.get(user, Keep::Bodies).await.unwrap().unwrap();
    let again = once().await.unwrap().unwrap();
    assert!(Arc::ptr_eq(&again, &kept), "the kept bodies are shared, not rendered again");
}

#[tokio::test]
async fn users_with_nothing_stored_share_one_render_and_a_kept_one_is_reused() {
    let (dir, app) = App::temporary(Config::default());
    let user = UserId(8);
    app.kv.set(user, "k".into(), "v".into()).await.unwrap();
    let config = app.config().clone();
    drop(app);
    let app = App::new(config, Store::open(&dir.path().join("harmy.redb")).unwrap()).unwrap();
    let read = app.reads.stored.get(&app.reads.store, user, false).unwrap();
    assert_eq!(read.kv.get(), r#"{"k":"v"}"#);
    assert!(app.reads.stored.now(user).is_none(), "not kept");
    let none = app.reads.stored(UserId(9)).await.unwrap();
    assert!(Arc::ptr_eq(&none, &app.reads.stored(UserId(10)).await.unwrap()), "users with neither share one");
    let kept = app.reads.stored(user).await.unwrap();
    assert!(
        Arc::ptr_eq(&kept, &app.reads.stored.get(&app.reads.store, user, false).unwrap()),
        "a kept render is reused"
    );
}

#[tokio::test]
async fn extras_follow_every_write_and_mark_the_change() {
    let (_dir, app) = App::temporary(Config::default());
    let user = UserId(8);
    let empty = app.reads.stored(user).await.unwrap();
    assert_eq!((empty.kv.get(), empty.github.get()), ("{}", "null"));
    app.kv.set(user, "k".into(), "v \"quoted\"".into()).await.unwrap();
    assert_eq!(app.reads.stored(user).await.unwrap().kv.get(), r#"{"k":"v \"quoted\""}"#);
    assert_eq!(app.changes.next_batch().await, vec![user]);
    // Setting the same value again changes nothing anyone can see: no mark.
    app.kv.set(user, "k".into(), "v \"quoted\"".into()).await.unwrap();
    app.kv.set(user, "k2".into(), "x".into()).await.unwrap();
    assert_eq!(app.changes.next_batch().await, vec![user]);
    app.kv.del(user, "k2".into()).await.unwrap();
    assert_eq!(app.changes.next_batch().await, vec![user]);
    app.kv.set(user, "k".into(), "v \"quoted\"".into()).await.unwrap();
    app.kv.set(UserId(9), "other".into(), "1".into()).await.unwrap();
    assert_eq!(app.changes.next_batch().await, vec![UserId(9)], "the unchanged write was not marked");
    let record = Record {
        profile: Profile {
            id: 1,
            username: "octocat".into(),
            avatar_url: "a".into(),
            url: "u".into(),
            company: None,
            blog: None,
            bio: Some("hi".into()),
            public_repos: 2,
        },
        etag: Some("\"e\"".into()),
        fetched_at: 0,
    };
    app.github.store_link(user, "octocat".into(), Some(record.clone())).await.unwrap();
    let github: Profile = serde_json::from_str(app.reads.stored(user).await.unwrap().github.get()).unwrap();
    assert_eq!(github, record.profile);
    app.github.unlink(user).await.unwrap();
    assert_eq!(app.reads.stored(user).await.unwrap().github.get(), "null");
    assert!(matches!(
        app.github.unlink(user).await,
        Err(crate::error::Error::Github(crate::app::github::GithubError::NotLinked))
    ));
}

/// The number in a body: the presence's custom status (`p<N>`) and the `seq` KV pair.
fn numbers(body: &[u8], shape: Shape) -> (u64, u64) {
    let json = json_of(body);
    let (activities, kv) = match shape {
        Shape::Native => (&json["presence"]["activities"], &json["KV"]),
        Shape::Lanyard => (&json["data"]["activities"], &json["data"]["kv"]),
    };
    let presence = activities[0]["state"].as_str().and_then(|s| s.strip_prefix('p')).map_or(0, |n| n.parse().unwrap());
    let kv = kv["seq"].as_str().map_or(0, |n| n.parse().unwrap());
    (presence, kv)
}

/// Readers on four threads race a presence writer and a KV writer over a few
/// users. Each writer, once a change is acknowledged (its call returned),
/// publishes its number; each reader takes the published numbers *before* it
/// reads, and the body it is served must be at least as new. A body composed
/// before a change and served after it was acknowledged fails this.
#[test]
fn a_body_older_than_an_acknowledged_change_is_never_served() {
    const USERS: u64 = 3;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (_dir, app) = App::temporary(Config::default());
    let acked: Arc<Vec<[AtomicU64; 2]>> = Arc::new((0..USERS).map(|_| Default::default()).collect());
    for user in 0..USERS {
        present(&app, UserId(100 + user), "p0");
    }
    let done = Arc::new(AtomicBool::new(false));
    let presence_writer = std::thread::spawn({
        let (app, acked, done) = (app.clone(), acked.clone(), done.clone());
        move || {
            for n in 1u64.. {
                let user = n % USERS;
                let activities = format!(r#"[{{"name":"Custom Status","type":4,"state":"p{n}"}}]"#);
                let update =
                    Update { status: Status::Online, clients: ClientStatus::default(), activities: &activities };
                assert!(app.presences.update_presence(100 + user, 0, 0, update, None));
                acked[user as usize][0].store(n, Ordering::Release);
                if done.load(Ordering::Relaxed) {
                    return n;
                }
            }
            unreachable!()
        }
    });
    let kv_writer = std::thread::spawn({
        let (app, acked, handle) = (app.clone(), acked.clone(), runtime.handle().clone());
        move || {
            for n in 1..=150u64 {
                let user = n % USERS;
                handle.block_on(app.kv.set(UserId(100 + user), "seq".into(), n.to_string())).unwrap();
                acked[user as usize][1].store(n, Ordering::Release);
            }
        }
    });
    let readers: Vec<_> = (0..4u64)
        .map(|r| {
            let (app, acked, done, handle) = (app.clone(), acked.clone(), done.clone(), runtime.handle().clone());
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !done.load(Ordering::Relaxed) {
                    let user = (reads + r) % USERS;
                    let shape = if reads.is_multiple_of(2) { Shape::Native } else { Shape::Lanyard };
                    let floor = (
                        acked[user as usize][0].load(Ordering::Acquire),
                        acked[user as usize][1].load(Ordering::Acquire),
                    );
                    let id = UserId(100 + user);
                    let published = handle.block_on(app.reads.get(id, Keep::Bodies)).unwrap().unwrap();
                    let seen = numbers(&published.body(shape).bytes(), shape);
                    assert!(seen.0 >= floor.0 && seen.1 >= floor.1, "served {seen:?} after {floor:?} was acknowledged");
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    kv_writer.join().unwrap();
    done.store(true, Ordering::Relaxed);
    let updates = presence_writer.join().unwrap();
    let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(updates > 1_000 && reads > 1_000, "{updates} presence updates, {reads} reads: the race ran");
}
