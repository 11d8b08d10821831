//! The roster against dispatch frames: which guilds are monitored, sessions,
//! large guilds and their chunks, member requests under Discord's limit, the
//! change feed, and session liveness.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::members::SPACING;
use super::roster::Roster;
use crate::app::App;
use crate::config::Config;
use crate::ids::UserId;

fn app(guild_ids: &[u64]) -> (tempfile::TempDir, Arc<App>) {
    let mut config = Config::default();
    config.discord.guild_ids = guild_ids.to_vec();
    App::temporary(config)
}

fn frame(t: &str, d: Value) -> String {
    format!(r#"{{"op":0,"t":"{t}","s":1,"d":{d}}}"#)
}

fn user(id: u64, name: &str) -> Value {
    json!({"id": id.to_string(), "username": name, "discriminator": "0"})
}

fn member(id: u64, name: &str) -> Value {
    json!({"user": user(id, name), "nick": null, "roles": []})
}

fn presence(id: u64, status: &str) -> Value {
    json!({"user": {"id": id.to_string()}, "status": status, "client_status": {"web": status}, "activities": []})
}

fn guild_create(id: u64, large: bool, members: &[(u64, &str)], online: &[u64]) -> String {
    let members: Vec<Value> = members.iter().map(|(id, name)| member(*id, name)).collect();
    let presences: Vec<Value> = online.iter().map(|id| presence(*id, "online")).collect();
    frame("GUILD_CREATE", json!({"id": id.to_string(), "large": large, "members": members, "presences": presences}))
}

fn native(app: &App, user: u64) -> Option<Value> {
    app.presences.view(UserId(user)).map(|v| serde_json::from_slice(&v.native).unwrap())
}

#[test]
fn only_members_of_configured_guilds_are_monitored() {
    let (_dir, app) = app(&[1]);
    let mut roster = Roster::new(app.clone());
    roster.handle("GUILD_CREATE", &guild_create(1, false, &[(2, "alice")], &[2])).unwrap();
    roster.handle("GUILD_CREATE", &guild_create(9, false, &[(3, "bob")], &[3])).unwrap();
    let update = json!({"user": {"id": "4"}, "guild_id": "9", "status": "dnd", "client_status": {}});
    roster.handle("PRESENCE_UPDATE", &frame("PRESENCE_UPDATE", update)).unwrap();
    assert_eq!(native(&app, 2).unwrap()["status"], "online");
    assert!(native(&app, 3).is_none() && native(&app, 4).is_none());
    assert_eq!(app.presences.monitored_count(), 1);
}

#[test]
fn every_guild_is_monitored_when_none_is_configured() {
    let (_dir, app) = app(&[]);
    let mut roster = Roster::new(app.clone());
    roster.handle("GUILD_CREATE", &guild_create(1, false, &[(2, "alice")], &[])).unwrap();
    roster.handle("GUILD_CREATE", &guild_create(9, false, &[(3, "bob")], &[3])).unwrap();
    assert_eq!(native(&app, 2).unwrap()["status"], "offline", "a member with no presence is offline");
    assert_eq!(native(&app, 3).unwrap()["status"], "online");
}

#[test]
fn a_new_session_drops_guilds_the_bot_is_no_longer_in() {
    let (_dir, app) = app(&[]);
    let mut roster = Roster::new(app.clone());
    roster.handle("GUILD_CREATE", &guild_create(1, false, &[(2, "alice"), (3, "bob")], &[])).unwrap();
    roster.handle("GUILD_CREATE", &guild_create(9, false, &[(3, "bob"), (4, "carol")], &[])).unwrap();
    let ready = json!({"session_id": "s2", "guilds": [{"id": "9", "unavailable": true}]});
    roster.handle("READY", &frame("READY", ready)).unwrap();
    assert!(native(&app, 2).is_none(), "only in guild 1");
    assert!(native(&app, 3).is_some() && native(&app, 4).is_some());
    // The bot is removed from guild 9 (no `unavailable`): everyone there is gone.
    roster.handle("GUILD_DELETE", &frame("GUILD_DELETE", json!({"id": "9"}))).unwrap();
    assert_eq!(app.presences.monitored_count(), 0);
}

#[test]
fn an_outage_keeps_the_guilds_members() {
    let (_dir, app) = app(&[]);
    let mut roster = Roster::new(app.clone());
    roster.handle("GUILD_CREATE", &guild_create(1, false, &[(2, "alice")], &[])).unwrap();
    roster.handle("GUILD_DELETE", &frame("GUILD_DELETE", json!({"id": "1", "unavailable": true}))).unwrap();
    assert!(native(&app, 2).is_some());
}

#[test]
fn a_large_guild_is_synced_by_its_own_chunks_only() {
    let (_dir, app) = app(&[]);
    let mut roster = Roster::new(app.clone());
    roster.handle("GUILD_CREATE", &guild_create(1, false, &[(2, "alice"), (3, "bob")], &[])).unwrap();
    let request = roster.handle("GUILD_CREATE", &guild_create(1, true, &[], &[])).unwrap().expect("op 8");
    assert!(request.d.presences == Some(true));
    let nonce = request.d.nonce.clone().unwrap();
    let chunk = |nonce: &str| {
        let d = json!({"guild_id": "1", "chunk_index": 0, "chunk_count": 1, "nonce": nonce,
                       "members": [member(2, "alice")], "presences": [presence(2, "idle")]});
        frame("GUILD_MEMBERS_CHUNK", d)
    };
    roster.handle("GUILD_MEMBERS_CHUNK", &chunk("1:999")).unwrap();
    assert!(native(&app, 3).is_some(), "a stale request's chunk sweeps nothing");
    roster.handle("GUILD_MEMBERS_CHUNK", &chunk(&nonce)).unwrap();
    assert!(native(&app, 3).is_none(), "bob is not in the member list any more");
    assert_eq!(native(&app, 2).unwrap()["status"], "idle");
}

#[test]
fn member_updates_and_full_users_change_the_view() {
    let (_dir, app) = app(&[]);
    let mut roster = Roster::new(app.clone());
    roster.handle("GUILD_CREATE", &guild_create(1, false, &[(2, "alice")], &[2])).unwrap();
    let update = json!({"guild_id": "1", "user": user(2, "alice"), "nick": "Al", "roles": []});
    roster.handle("GUILD_MEMBER_UPDATE", &frame("GUILD_MEMBER_UPDATE", update)).unwrap();
    assert_eq!(native(&app, 2).unwrap()["server_name"], "Al");
    let renamed =
        json!({"user": user(2, "alicia"), "guild_id": "1", "status": "online", "client_status": {"web": "online"}});
    roster.handle("PRESENCE_UPDATE", &frame("PRESENCE_UPDATE", renamed)).unwrap();
    assert_eq!(native(&app, 2).unwrap()["username"], "alicia");
    let removed = json!({"guild_id": "1", "user": user(2, "alicia")});
    roster.handle("GUILD_MEMBER_REMOVE", &frame("GUILD_MEMBER_REMOVE", removed)).unwrap();
    assert!(native(&app, 2).is_none());
}

#[tokio::test]
async fn changes_are_marked_and_unchanged_updates_are_not() {
    let (_dir, app) = app(&[]);
    let mut roster = Roster::new(app.clone());
    roster.handle("GUILD_CREATE", &guild_create(1, false, &[(2, "alice"), (3, "bob")], &[2])).unwrap();
    let mut first = app.changes.next_batch().await;
    first.sort();
    assert_eq!(first, [UserId(2), UserId(3)]);
    let same = json!({"user": {"id": "2"}, "guild_id": "1", "status": "online", "client_status": {"web": "online"}, "activities": []});
    roster.handle("PRESENCE_UPDATE", &frame("PRESENCE_UPDATE", same)).unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(50), app.changes.next_batch()).await;
    assert!(waited.is_err(), "an identical presence is no change");
    let idle = json!({"user": {"id": "3"}, "guild_id": "1", "status": "idle", "client_status": {"web": "idle"}});
    roster.handle("PRESENCE_UPDATE", &frame("PRESENCE_UPDATE", idle)).unwrap();
    assert_eq!(app.changes.next_batch().await, [UserId(3)]);
}

#[test]
fn snowflakes_may_be_numbers_and_activities_null() {
    let (_dir, app) = app(&[]);
    let mut roster = Roster::new(app.clone());
    let update =
        json!({"user": {"id": 5}, "guild_id": 1, "status": "invisible", "client_status": {}, "activities": null});
    roster.handle("PRESENCE_UPDATE", &frame("PRESENCE_UPDATE", update)).unwrap();
    assert_eq!(native(&app, 5).unwrap()["status"], "offline");
    assert!(roster.handle("PRESENCE_UPDATE", &frame("PRESENCE_UPDATE", json!({"user": 1}))).is_err());
}

fn large_guild_request(roster: &mut Roster, epoch_hint: &str) -> Option<String> {
    let request = roster.handle("GUILD_CREATE", &guild_create(1, true, &[], &[])).unwrap();
    request.map(|r| r.d.nonce.expect(epoch_hint))
}

fn rate_limited(d: Value) -> String {
    frame("RATE_LIMITED", d)
}

fn nonces(roster: &mut Roster) -> Vec<String> {
    roster.due_requests().into_iter().filter_map(|r| r.d.nonce).collect()
}

#[tokio::test(start_paused = true)]
async fn a_rate_limited_member_request_is_sent_again_after_retry_after() {
    let (_dir, app) = app(&[]);
    let mut roster = Roster::new(app.clone());
    let nonce = large_guild_request(&mut roster, "a nonce").expect("the first request goes at once");
    // As Discord sends it: a float retry_after, the nonce, and a field harmy does not know.
    let limited = json!({"opcode": 8, "retry_after": 1.5, "meta": {"guild_id": "1", "nonce": nonce}, "extra": true});
    assert!(roster.handle("RATE_LIMITED", &rate_limited(limited)).unwrap().is_none());
    assert_eq!(roster.next_due(), Some(tokio::time::Instant::now() + Duration::from_millis(1500)));
    tokio::time::advance(Duration::from_millis(1499)).await;
    assert!(nonces(&mut roster).is_empty(), "not before retry_after");
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(
        nonces(&mut roster),
        std::slice::from_ref(&nonce),
        "the same sync's request, the refused one not counted"
    );
    assert!(nonces(&mut roster).is_empty(), "sent once");

    // A longer retry_after than the spacing is waited for in full.
    let limited = json!({"opcode": 8, "retry_after": 42, "meta": {"guild_id": 1}});
    roster.handle("RATE_LIMITED", &rate_limited(limited)).unwrap();
    tokio::time::advance(Duration::from_secs(41)).await;
    assert!(nonces(&mut roster).is_empty());
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(nonces(&mut roster), [nonce]);
}

#[tokio::test(start_paused = true)]
async fn a_new_session_within_30_s_asks_for_a_large_guilds_members_after_30_s() {
    let (_dir, app) = app(&[]);
    let mut roster = Roster::new(app.clone());
    let first = large_guild_request(&mut roster, "a nonce").unwrap();
    tokio::time::advance(Duration::from_secs(5)).await;
    let ready = json!({"session_id": "s2", "guilds": [{"id": "1", "unavailable": true}]});
    roster.handle("READY", &frame("READY", ready)).unwrap();
    assert_eq!(large_guild_request(&mut roster, "a nonce"), None, "within 30 s of the first");
    tokio::time::advance(Duration::from_secs(25)).await;
    assert!(nonces(&mut roster).is_empty());
    tokio::time::advance(SPACING - Duration::from_secs(30)).await;
    let second = nonces(&mut roster);
    assert_eq!(second.len(), 1);
    assert_ne!(second[0], first, "the new sync's nonce");
    // Its chunk completes the sync.
    let chunk = json!({"guild_id": "1", "chunk_index": 0, "chunk_count": 1, "nonce": second[0],
                       "members": [member(2, "alice")], "presences": []});
    roster.handle("GUILD_MEMBERS_CHUNK", &frame("GUILD_MEMBERS_CHUNK", chunk)).unwrap();
    assert_eq!(native(&app, 2).unwrap()["status"], "offline");
}

#[test]
fn rate_limits_of_other_commands_and_unknown_guilds_are_ignored() {
    let (_dir, app) = app(&[1]);
    let mut roster = Roster::new(app.clone());
    let other_opcode = json!({"opcode": 3, "retry_after": 1, "meta": {}});
    assert!(roster.handle("RATE_LIMITED", &rate_limited(other_opcode)).unwrap().is_none());
    let unknown = json!({"opcode": 8, "retry_after": 1, "meta": {"guild_id": "9"}});
    assert!(roster.handle("RATE_LIMITED", &rate_limited(unknown)).unwrap().is_none());
    assert!(roster.due_requests().is_empty());
    assert!(roster.handle("RATE_LIMITED", &rate_limited(json!({"retry_after": "soon"}))).is_err());
}

#[test]
fn a_lost_session_counts_as_one_reconnect() {
    let (_dir, app) = app(&[]);
    let health = &app.gateway;
    assert!(!health.up());
    health.set_up(false);
    health.set_up(true);
    health.set_up(true);
    assert!(health.up());
    assert_eq!(health.reconnects(), 0);
    health.set_up(false);
    health.set_up(false);
    assert!(!health.up());
    assert_eq!(health.reconnects(), 1);
}
