//! The privacy service: show/hide, forget, export, and the last-seen batches.

use std::sync::Arc;

use super::*;
use crate::app::App;
use crate::app::presence::{Status, Update};
use crate::config::{Config, PrivacyMode};

fn online(app: &App, user: u64) -> bool {
    let update = Update { status: Status::Online, ..Update::default() };
    app.presences.update_presence(user, 1, 0, update, None)
}

#[tokio::test]
async fn a_hidden_user_is_answered_as_not_monitored_and_their_change_is_marked() {
    let (_dir, app) = App::temporary(Config::default());
    assert!(online(&app, 5));
    assert!(app.presences.view(UserId(5)).is_some());
    assert_eq!(app.presences.monitored_count(), 1);
    app.privacy.set(UserId(5), Choice::Hidden).await.unwrap();
    assert_eq!(app.changes.next_batch().await, vec![UserId(5)]);
    let presences = &app.presences;
    assert!(presences.view(UserId(5)).is_none());
    assert!(presences.raw(UserId(5)).is_none() && !presences.contains(UserId(5)));
    assert!(presences.is_member(UserId(5)), "the bot still answers them");
    assert_eq!(presences.monitored_count(), 0);
    let update = Update { status: Status::Dnd, ..Update::default() };
    assert!(!presences.update_presence(5, 1, 0, update, None), "nothing to push about a hidden user");
    app.privacy.set(UserId(5), Choice::Shown).await.unwrap();
    assert_eq!(app.changes.next_batch().await, vec![UserId(5)]);
    assert!(presences.view(UserId(5)).is_some());
    assert_eq!(presences.monitored_count(), 1);
}

#[tokio::test]
async fn opt_in_serves_nobody_until_they_show_and_choices_survive_a_restart() {
    let mut config = Config::default();
    config.privacy.mode = PrivacyMode::OptIn;
    let (dir, app) = App::temporary(config.clone());
    assert!(!online(&app, 6), "a hidden newcomer changes nothing anyone sees");
    assert!(app.presences.view(UserId(6)).is_none());
    assert_eq!(app.presences.monitored_count(), 0);
    app.privacy.set(UserId(6), Choice::Shown).await.unwrap();
    assert!(app.presences.view(UserId(6)).is_some());
    let path = app.store.path().to_path_buf();
    drop(Arc::into_inner(app).expect("the only handle"));
    let again = App::new(config, Store::open(&path).unwrap()).unwrap();
    assert!(again.privacy.served(UserId(6)) && !again.privacy.served(UserId(7)));
    drop(dir);
}

#[tokio::test]
async fn forget_deletes_everything_and_hides_in_either_mode() {
    let (_dir, app) = App::temporary(Config::default());
    let user = UserId(8);
    online(&app, 8);
    app.kv.set(user, "k".into(), "v".into()).await.unwrap();
    let token = app.tokens.rotate(user).await.unwrap();
    assert_eq!(app.tokens.authenticate(&token).await.unwrap(), user);
    let forgotten = app.forget(user).await.unwrap();
    assert_eq!((forgotten.kv_pairs, forgotten.token), (1, true));
    assert!(matches!(app.tokens.authenticate(&token).await, Err(crate::error::Error::Unauthorized)), "not remembered");
    assert!(app.kv.all(user).await.unwrap().is_empty());
    assert_eq!(app.reads.stored(user).await.unwrap().kv.get(), "{}");
    assert!(!app.privacy.served(user) && app.presences.view(user).is_none());
    let export: serde_json::Value = serde_json::from_str(&app.export(user).await.unwrap()).unwrap();
    assert_eq!(export["privacy"]["choice"], "hidden");
    assert_eq!(export["kv"], serde_json::json!({}));
    assert_eq!(export["api_token"]["issued"], false);
}

#[tokio::test]
async fn the_export_holds_the_kv_and_never_the_token_hash() {
    let (_dir, app) = App::temporary(Config::default());
    let user = UserId(9);
    app.kv.set(user, "colour".into(), "blue".into()).await.unwrap();
    app.tokens.rotate(user).await.unwrap();
    let text = app.export(user).await.unwrap();
    assert!(!text.contains("argon2"), "{text}");
    let export: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(export["kv"], serde_json::json!({"colour": "blue"}));
    assert_eq!(export["api_token"]["issued"], true);
    assert_eq!(export["privacy"], serde_json::json!({"mode": "public", "choice": null, "served": true}));
}

#[tokio::test]
async fn many_offline_changes_are_one_commit_and_forget_deletes_the_time_for_good() {
    let (dir, app) = App::temporary(Config::default());
    for _ in 0..50 {
        online(&app, 10);
        let offline = Update::default();
        app.presences.update_presence(10, 1, 0, offline, None);
    }
    online(&app, 11);
    let last_seen = app.privacy.last_seen();
    assert_eq!((last_seen.recorded(), last_seen.commits()), (50, 0));
    app.privacy.last_seen_flush().await;
    app.privacy.last_seen_flush().await;
    assert_eq!(last_seen.commits(), 1, "one batch; nothing left for a second");
    let written = stored(&app, UserId(10)).await;
    assert_eq!(written, last_seen.get(UserId(10)));
    // Shutdown: Eleven, still online, is recorded and written with the last batch.
    app.privacy.last_seen_at_shutdown().await;
    assert_eq!(last_seen.commits(), 2);
    assert!(stored(&app, UserId(11)).await.is_some());
    // A time recorded, then forgotten before the batch: never written.
    online(&app, 12);
    app.presences.update_presence(12, 1, 0, Update::default(), None);
    app.forget(UserId(12)).await.unwrap();
    app.forget(UserId(10)).await.unwrap();
    app.privacy.last_seen_flush().await;
    assert_eq!(stored(&app, UserId(12)).await, None);
    assert_eq!(stored(&app, UserId(10)).await, None);
    assert_eq!(last_seen.get(UserId(10)), None);
    let path = app.store.path().to_path_buf();
    drop(Arc::into_inner(app).expect("the only handle"));
    let again = App::new(Config::default(), Store::open(&path).unwrap()).unwrap();
    assert!(again.privacy.last_seen().get(UserId(11)).is_some(), "loaded at start");
    drop(dir);
}

#[tokio::test(start_paused = true)]
async fn the_batch_writer_commits_at_most_every_30_s_and_at_shutdown() {
    let (_dir, app) = App::temporary(Config::default());
    let stop = tokio_util::sync::CancellationToken::new();
    let writer = tokio::spawn(crate::app::privacy::last_seen::run(app.clone(), stop.clone()));
    let flip = |user: u64| {
        online(&app, user);
        app.presences.update_presence(user, 1, 0, Update::default(), None);
    };
    flip(20);
    tokio::time::sleep(std::time::Duration::from_secs(29)).await;
    flip(21);
    assert_eq!(app.privacy.last_seen().commits(), 0, "not before 30 s");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    // The write itself runs on the blocking pool: give it real time.
    until_commits(&app, 1).await;
    flip(22);
    stop.cancel();
    writer.await.unwrap().unwrap();
    assert_eq!(app.privacy.last_seen().commits(), 2, "the shutdown batch");
}

async fn until_commits(app: &App, n: u64) {
    for _ in 0..2000 {
        if app.privacy.last_seen().commits() >= n {
            return;
        }
        tokio::task::yield_now().await;
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    panic!("{n} commits not reached");
}

async fn stored(app: &App, user: UserId) -> Option<u64> {
    app.privacy.stored_last_seen(user).await.unwrap()
}

#[tokio::test]
async fn forget_leaves_everyone_else_s_data_alone() {
    let (_dir, app) = App::temporary(Config::default());
    let record = crate::app::github::Record {
        profile: crate::app::github::Profile {
            id: 1,
            username: "octocat".into(),
            avatar_url: "a".into(),
            url: "u".into(),
            company: None,
            blog: None,
            bio: None,
            public_repos: 0,
        },
        etag: None,
        fetched_at: 0,
    };
    for user in [UserId(1), UserId(2)] {
        app.kv.set(user, "a".into(), "1".into()).await.unwrap();
        app.kv.set(user, "b".into(), "2".into()).await.unwrap();
        app.tokens.rotate(user).await.unwrap();
        app.github.store_link(user, "octocat".into(), Some(record.clone())).await.unwrap();
    }
    let forgotten = app.forget(UserId(1)).await.unwrap();
    assert_eq!(forgotten, Forgotten { kv_pairs: 2, token: true, github: true, last_seen: false });
    assert!(app.kv.all(UserId(1)).await.unwrap().is_empty());
    assert!(!app.tokens.issued(UserId(1)).await.unwrap());
    assert_eq!(app.github.get(UserId(1)).await.unwrap(), None);
    assert_eq!(app.reads.stored(UserId(1)).await.unwrap().github.get(), "null");
    assert_eq!(app.kv.all(UserId(2)).await.unwrap().len(), 2);
    assert!(app.tokens.issued(UserId(2)).await.unwrap());
    assert!(app.github.get(UserId(2)).await.unwrap().is_some());
    assert_eq!(app.forget(UserId(1)).await.unwrap(), Forgotten::default(), "nothing left the second time");
}
