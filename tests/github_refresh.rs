//! The GitHub refresher of `serve` end to end (docs/github.md): it revalidates with
//! ETags, stores changes (and marks them for subscribers), unlinks vanished
//! logins, waits out rate limits, keeps the last good profile on failure,
//! paces many links, and the token never reaches a log.

mod support;

use std::time::{Duration, UNIX_EPOCH};

use harmy::app::github::Refreshed;
use harmy::ids::UserId;
use support::github::{FakeGithub, app, fake, instance, link, marked, stored, unix_now, wait_for_request};
use support::{Server, stderr};

#[test]
fn the_refresher_revalidates_with_the_etag_and_a_304_changes_nothing() {
    let fake = fake();
    let (instance, _gateway) = instance(&fake, "refresh_interval = \"300ms\"");
    link(&instance, "1", "alice");
    let before = stored(&instance, 1);
    let server = instance.serve();
    support::eventually("three conditional refreshes", || (fake.count("alice") >= 4).then_some(()));
    assert!(!server.log_text().contains("GitHub profile changed"), "{}", server.log_text());
    assert!(server.stop().success());
    let refreshes: Vec<_> = fake.seen().into_iter().skip(1).collect();
    assert!(refreshes.iter().all(|s| s.status == 304 && s.headers.get("if-none-match") == Some(&fake.etag("alice"))));
    assert_eq!(stored(&instance, 1), before, "a 304 writes nothing, not even the fetch time");
}

#[test]
fn the_refresher_stores_a_changed_profile() {
    let fake = fake();
    let (instance, _gateway) = instance(&fake, "refresh_interval = \"300ms\"");
    link(&instance, "1", "alice");
    let server = instance.serve();
    fake.put_user("alice", 1001, "alice has news", 9);
    server.wait_for_log("GitHub profile changed");
    assert!(server.stop().success());
    let record = stored(&instance, 1).unwrap().1.unwrap();
    assert_eq!((record.profile.bio.as_deref(), record.profile.public_repos), (Some("alice has news"), 9));
    assert_eq!(record.etag, Some(fake.etag("alice")));
}

#[test]
fn a_login_gone_from_github_is_unlinked_on_refresh_and_logged() {
    let fake = fake();
    let (instance, _gateway) = instance(&fake, "refresh_interval = \"300ms\"");
    link(&instance, "31", "alice");
    link(&instance, "32", "bob");
    fake.remove_user("alice");
    let server = instance.serve();
    server.wait_for_log("unlinked it");
    let line = server.log_text().lines().find(|l| l.contains("unlinked it")).unwrap().to_string();
    assert!(line.contains("WARN") && line.contains("31") && line.contains("alice"), "{line}");
    assert!(server.stop().success());
    assert_eq!(stored(&instance, 31), None);
    assert!(stored(&instance, 32).is_some(), "other links stay");
}

#[test]
fn a_rate_limit_answer_holds_every_request_until_the_reset() {
    let fake = fake();
    let (instance, _gateway) = instance(&fake, "refresh_interval = \"300ms\"");
    link(&instance, "1", "alice");
    link(&instance, "2", "bob");
    let server = instance.serve();
    let reset = unix_now() + 4;
    fake.rate_limit_until(reset);
    let limited = wait_for_request(&fake, "a rate-limited request", |s| s.status == 403);

    // A link through the server meanwhile is refused without asking GitHub.
    let out = instance.cli(&["github", "link", "3", "octocat"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("rate limit"), "{}", stderr(&out));
    assert_eq!(fake.count("octocat"), 0);

    wait_for_request(&fake, "a request after the reset", |s| s.status == 304);
    assert!(server.log_text().contains("GitHub's rate limit is reached"), "{}", server.log_text());
    assert!(server.stop().success());
    let reset_at = UNIX_EPOCH + Duration::from_secs(reset);
    let early: Vec<_> = fake.seen().into_iter().filter(|s| s.at > limited.at && s.at < reset_at).collect();
    assert!(early.is_empty(), "requests before X-RateLimit-Reset: {early:?}");
}

#[test]
fn a_failing_github_keeps_the_last_good_profile() {
    let fake = fake();
    let (instance, _gateway) = instance(&fake, "refresh_interval = \"300ms\"");
    link(&instance, "1", "alice");
    let before = stored(&instance, 1);
    fake.fail_with(Some(500));
    let server = instance.serve();
    server.wait_for_log("keeping the last one");
    assert!(server.stop().success());
    assert_eq!(stored(&instance, 1), before);
}

#[test]
fn the_github_token_never_reaches_a_log() {
    const TOKEN: &str = "ghp_s3cr3tT0k3nV4lu3xyz";
    let fake = fake();
    let (instance, _gateway) = instance(&fake, &format!("token = \"{TOKEN}\"\nrefresh_interval = \"300ms\""));
    let local = instance.command(&["github", "link", "1", "alice"]).env("HARMY_LOG", "trace").output().unwrap();
    assert!(local.status.success(), "{}", stderr(&local));

    let mut serve = instance.command(&["serve"]);
    serve.env("HARMY_LOG", "trace");
    let server = Server::start(serve);
    let remote = instance.command(&["github", "link", "2", "bob"]).env("HARMY_LOG", "trace").output().unwrap();
    assert!(remote.status.success(), "{}", stderr(&remote));
    support::eventually("a refresh by the server", || (fake.count("alice") >= 2).then_some(()));
    let log = server.log_text();
    eprintln!("SERVERLOG\n{log}\nLOCAL\n{}", stderr(&local));
    assert!(server.stop().success());

    assert!(fake.seen().iter().all(|s| s.headers.get("authorization") == Some(&format!("Bearer {TOKEN}"))));
    for (what, text) in [("local CLI", stderr(&local)), ("remote CLI", stderr(&remote)), ("server", log)] {
        assert!(!text.contains(TOKEN) && !text.contains("s3cr3t"), "the token is in the {what} log:\n{text}");
        assert!(!text.to_lowercase().contains("bearer"), "an Authorization value is in the {what} log:\n{text}");
    }
}

/// In-process: the change feed (what the WebSocket hub pushes) is marked by a
/// changed profile and not by a 304.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_profile_marks_the_change_feed_and_a_304_does_not() {
    let fake = fake();
    let (app, _dir) = app(&fake, "6h");
    let user = UserId(5);

    app.github.link(user, "alice".into()).await.unwrap();
    assert_eq!(marked(&app).await, vec![user], "linking pushes");
    assert_eq!(app.github.refresh(user).await.unwrap(), ("alice".into(), Refreshed::Unchanged));
    assert_eq!(marked(&app).await, vec![], "a 304 pushes nothing");

    fake.put_user("alice", 1001, "alice's bio", 3); // same shown fields, new ETag
    assert_eq!(app.github.refresh(user).await.unwrap().1, Refreshed::Unchanged);
    assert_eq!(app.github.get(user).await.unwrap().unwrap().1.unwrap().etag, Some(fake.etag("alice")));
    assert_eq!(app.github.refresh(user).await.unwrap().1, Refreshed::Unchanged);
    assert_eq!(fake.seen().last().unwrap().status, 304, "the new ETag was kept for revalidation");
    marked(&app).await;

    fake.put_user("alice", 1001, "fresh", 3);
    let (_, refreshed) = app.github.refresh(user).await.unwrap();
    assert!(matches!(refreshed, Refreshed::Changed(ref p) if p.bio.as_deref() == Some("fresh")), "{refreshed:?}");
    assert_eq!(marked(&app).await, vec![user], "a changed profile pushes");
    let github: serde_json::Value = serde_json::from_str(app.reads.stored(user).await.unwrap().github.get()).unwrap();
    assert_eq!(github["bio"], "fresh");
    assert_eq!(github["blog"], serde_json::Value::Null);

    fake.remove_user("alice");
    assert_eq!(app.github.refresh(user).await.unwrap().1, Refreshed::Unlinked);
    assert_eq!(marked(&app).await, vec![user], "an unlink pushes");
    assert_eq!(app.reads.stored(user).await.unwrap().github.get(), "null");
}

/// In-process: many links due together are refreshed at a bounded pace, not at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refresher_paces_many_links() {
    let fake = FakeGithub::start();
    let (app, _dir) = app(&fake, "300ms");
    for i in 0..30 {
        fake.put_user(&format!("user{i}"), 5000 + i, "bio", 1);
        app.github.link(UserId(100 + i), format!("user{i}")).await.unwrap();
    }
    let linked = fake.seen().len();
    let stop = tokio_util::sync::CancellationToken::new();
    let refresher = tokio::spawn(harmy::app::github::refresher::run(app.github.clone(), stop.clone()));
    support::eventually("ten refreshes", || (fake.seen().len() >= linked + 10).then_some(()));
    stop.cancel();
    refresher.await.unwrap().unwrap();
    let times: Vec<_> = fake.seen()[linked..].iter().map(|s| s.at).collect();
    for pair in times.windows(2) {
        let gap = pair[1].duration_since(pair[0]).unwrap_or_default();
        assert!(gap >= Duration::from_millis(90), "two refreshes {gap:?} apart");
    }
}
