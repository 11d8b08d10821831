//! The presence service: both views against the documented example, membership
//! accounting across guilds and syncs, and the changes it marks.

use serde_json::{Value, json};

use super::*;

mod golden;

const VAQ: u64 = 470320681905684500;
const USER: &str = r#"{"id":"470320681905684500","username":"vaq","global_name":"Vaq","avatar":"5c11d7292c91e510c2b4f07946ea6d72","discriminator":"0","public_flags":64}"#;
const SPOTIFY: &str = r#"[{"name":"Spotify","type":2,"id":"spotify:1","details":"BMW","state":"Pashanim","sync_id":"56MDdzieU2dTT3YLpCdpcA","party":{"id":"spotify:470320681905684500"},"timestamps":{"start":1720814201608,"end":1720814322741},"assets":{"large_text":"Himmel über Berlin","large_image":"spotify:ab67616d0000b273fa2f0c9e719ca71f2686ddf3"},"flags":48,"created_at":1720814203334}]"#;

fn dnd_on_desktop(activities: &str) -> Update<'_> {
    let mut clients = ClientStatus::default();
    clients.set("desktop", "dnd");
    Update { status: Status::Dnd, clients, activities }
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

fn vaq() -> Presences {
    let presences = Presences::default();
    presences.upsert_member(VAQ, 1, 1, MemberSeen { user: USER, nick: None });
    presences.update_presence(VAQ, 1, 1, dnd_on_desktop(SPOTIFY), None);
    presences
}

#[test]
fn native_view_is_the_documented_example() {
    let view = vaq().view(UserId(VAQ)).expect("monitored");
    let expected = json!({
        "userId": "470320681905684500", "status": "dnd", "username": "vaq", "global_name": "Vaq",
        "server_name": null, "avatar": "5c11d7292c91e510c2b4f07946ea6d72", "clientStatus": {"desktop": "dnd"},
        "spotifyActivity": {
            "name": "Spotify", "type": 2, "song": "BMW", "artist": "Pashanim",
            "album": "Himmel über Berlin", "applicationId": null,
            "timestamps": {"start": 1720814201608u64, "end": 1720814322741u64},
            "party": {"id": "spotify:470320681905684500"},
            "syncId": "56MDdzieU2dTT3YLpCdpcA",
            "assets": {"largeText": "Himmel über Berlin", "largeImage": "ab67616d0000b273fa2f0c9e719ca71f2686ddf3"},
            "flags": 48, "createdTimestamp": 1720814203334u64,
            // Not in api.harmy.gg's example: every field Discord sends is kept (docs/API.md).
            "id": "spotify:1"
        },
        "activities": [],
        "lastSeen": null
    });
    assert_eq!(json_of(&view.native), expected);
}

#[test]
fn lanyard_view_has_lanyards_fields() {
    let view = vaq().view(UserId(VAQ)).expect("monitored");
    let lanyard = json_of(&view.lanyard);
    assert_eq!(
        lanyard["discord_user"],
        json!({"id": "470320681905684500", "username": "vaq", "avatar": "5c11d7292c91e510c2b4f07946ea6d72",
               "discriminator": "0", "global_name": "Vaq", "display_name": "Vaq", "bot": false, "public_flags": 64,
               "avatar_decoration_data": null, "clan": null, "primary_guild": null, "collectibles": null,
               "display_name_styles": null})
    );
    assert_eq!(lanyard["discord_status"], "dnd");
    assert_eq!(lanyard["active_on_discord_desktop"], true);
    for platform in ["mobile", "web", "embedded", "vr"] {
        assert_eq!(lanyard[format!("active_on_discord_{platform}")], false);
    }
    assert_eq!(lanyard["listening_to_spotify"], true);
    assert_eq!(
        lanyard["spotify"],
        json!({"track_id": "56MDdzieU2dTT3YLpCdpcA",
               "timestamps": {"start": 1720814201608u64, "end": 1720814322741u64},
               "album": "Himmel über Berlin",
               "album_art_url": "https://i.scdn.co/image/ab67616d0000b273fa2f0c9e719ca71f2686ddf3",
               "artist": "Pashanim", "song": "BMW"})
    );
    assert_eq!(lanyard["activities"], json_of(SPOTIFY.as_bytes()), "activities as the gateway sent them");
    assert!(lanyard.get("kv").is_none() && lanyard.get("github").is_none());
}

#[test]
fn other_activities_are_camel_case_and_spotify_is_not_repeated() {
    let presences = vaq();
    let game = r#"[{"name":"Custom Status","type":4,"id":"custom","state":"hi","emoji":{"name":"🔥"},"created_at":5},
        {"name":"Game","type":0,"application_id":383226320970055681,"assets":{"small_text":"s"},"timestamps":{"start":1}}]"#;
    presences.update_presence(VAQ, 1, 1, dnd_on_desktop(game), None);
    let native = json_of(&presences.view(UserId(VAQ)).unwrap().native);
    assert_eq!(native["spotifyActivity"], Value::Null);
    assert_eq!(native["activities"][0]["state"], "hi");
    assert_eq!(native["activities"][0]["emoji"], json!({"name": "🔥"}));
    assert_eq!(native["activities"][0]["createdTimestamp"], 5);
    assert_eq!(native["activities"][1]["applicationId"], "383226320970055681");
    assert_eq!(native["activities"][1]["assets"], json!({"smallText": "s"}));
    assert_eq!(native["activities"][1]["timestamps"], json!({"start": 1}));
    let lanyard = json_of(&presences.view(UserId(VAQ)).unwrap().lanyard);
    assert_eq!(lanyard["spotify"], Value::Null);
    assert_eq!(lanyard["listening_to_spotify"], false);
}

#[test]
fn invisible_shows_as_offline() {
    let presences = vaq();
    let update = Update { status: Status::from_gateway("invisible"), ..Update::default() };
    assert!(presences.update_presence(VAQ, 1, 1, update, None));
    let view = presences.view(UserId(VAQ)).unwrap();
    assert_eq!(json_of(&view.native)["status"], "offline");
    assert_eq!(json_of(&view.native)["clientStatus"], json!({}));
    assert_eq!(json_of(&view.lanyard)["discord_status"], "offline");
}

#[test]
fn a_member_without_presence_is_offline_with_their_nickname() {
    let presences = Presences::default();
    assert!(presences.upsert_member(
        2,
        1,
        1,
        MemberSeen { user: r#"{"id":"2","username":"alice"}"#, nick: Some("Al") }
    ));
    let native = json_of(&presences.view(UserId(2)).unwrap().native);
    assert_eq!(native["status"], "offline");
    assert_eq!(native["server_name"], "Al");
    assert_eq!(native["username"], "alice");
    assert_eq!(native["activities"], json!([]));
}

#[test]
fn contains_answers_for_monitored_users_only() {
    let presences = vaq();
    assert!(presences.contains(UserId(VAQ)) && !presences.contains(UserId(1)));
}

#[test]
fn a_view_is_rendered_anew_and_the_same_bytes_each_time() {
    let presences = vaq();
    assert_eq!(presences.view(UserId(VAQ)), presences.view(UserId(VAQ)));
    assert!(presences.view(UserId(1)).is_none());
}

#[test]
fn every_change_and_only_a_change_is_marked() {
    let presences = vaq();
    let version = presences.changes.version(UserId(VAQ));
    assert!(!presences.update_presence(VAQ, 1, 1, dnd_on_desktop(SPOTIFY), None), "an identical update is no change");
    assert!(!presences.upsert_member(VAQ, 1, 1, MemberSeen { user: USER, nick: None }));
    assert_eq!(presences.changes.version(UserId(VAQ)), version, "nothing marked");
    assert!(presences.update_presence(VAQ, 1, 1, Update::default(), None));
    let after_update = presences.changes.version(UserId(VAQ));
    assert_ne!(after_update, version);
    assert_eq!(json_of(&presences.view(UserId(VAQ)).unwrap().native)["status"], "offline");
    assert!(presences.upsert_member(VAQ, 1, 1, MemberSeen { user: USER, nick: Some("V") }), "server_name changed");
    assert_ne!(presences.changes.version(UserId(VAQ)), after_update);
    let before_sweep = presences.changes.version(UserId(VAQ));
    assert_eq!(presences.sweep(1, 2), vec![UserId(VAQ)]);
    assert_ne!(presences.changes.version(UserId(VAQ)), before_sweep, "a sweep marks who it removed");
}

#[test]
fn a_user_in_two_guilds_stays_until_removed_from_both() {
    let presences = vaq();
    presences.upsert_member(VAQ, 2, 1, MemberSeen { user: USER, nick: None });
    assert_eq!(presences.monitored_count(), 1);
    assert!(presences.remove_member(VAQ, 1));
    assert!(presences.view(UserId(VAQ)).is_some(), "still in guild 2");
    assert!(!presences.remove_member(VAQ, 1), "already gone from guild 1");
    assert!(presences.remove_member(VAQ, 2));
    assert!(presences.view(UserId(VAQ)).is_none());
    assert_eq!(presences.monitored_count(), 0);
}

#[test]
fn a_sync_sweeps_members_it_no_longer_lists() {
    let presences = Presences::default();
    for user in [2, 3, 4] {
        presences.upsert_member(user, 1, 1, MemberSeen { user: &format!(r#"{{"id":"{user}"}}"#), nick: None });
    }
    presences.upsert_member(4, 9, 1, MemberSeen { user: r#"{"id":"4"}"#, nick: None });
    // Epoch 2 of guild 1 lists only user 2 (user 3 sent a presence, which proves membership).
    presences.upsert_member(2, 1, 2, MemberSeen { user: r#"{"id":"2"}"#, nick: None });
    presences.update_presence(3, 1, 2, Update::default(), None);
    let mut changed = presences.sweep(1, 2);
    changed.sort();
    assert_eq!(changed, vec![UserId(4)]);
    assert_eq!(presences.monitored_count(), 3, "user 4 is still in guild 9");
    assert_eq!(presences.retain_guilds(|g| g == 1), vec![UserId(4)]);
    assert!(presences.view(UserId(4)).is_none());
    assert_eq!(presences.monitored_count(), 2);
}

#[test]
fn a_presence_for_an_unknown_member_adds_them() {
    let presences = Presences::default();
    let full = r#"{"id":"5","username":"eve"}"#;
    assert!(presences.update_presence(5, 1, 0, dnd_on_desktop(""), Some(full)));
    let native = json_of(&presences.view(UserId(5)).unwrap().native);
    assert_eq!((native["username"].as_str(), native["status"].as_str()), (Some("eve"), Some("dnd")));
    assert_eq!(presences.monitored_count(), 1);
}

#[test]
fn a_lone_surrogate_from_the_gateway_leaves_the_views_strict_json() {
    let presences = Presences::default();
    let user = r#"{"id":"5","username":"odd","clan":{"tag":"\ud800"},"primary_guild":{"tag":"ok"}}"#;
    presences.upsert_member(5, 1, 1, MemberSeen { user, nick: None });
    let activities = concat!(
        r#"[{"name":"Odd","type":0,"emoji":{"n\ud800ame":"x"}},{"name":"Game","type":0},"#,
        r#"{"name":"Buttons","type":0,"buttons":["\udc00"]}]"#
    );
    presences.update_presence(5, 1, 1, dnd_on_desktop(activities), None);
    let view = presences.view(UserId(5)).expect("monitored");
    let (native, lanyard) = (json_of(&view.native), json_of(&view.lanyard));
    assert_eq!(lanyard["activities"], json!([{"name": "Game", "type": 0}]), "the strict activities, as sent");
    let names: Vec<&Value> = native["activities"].as_array().expect("a list").iter().map(|a| &a["name"]).collect();
    assert_eq!(names, [&json!("Game")], "the same activities as Lanyard's: {native}");
    assert_eq!(lanyard["discord_user"]["username"], "odd");
    assert_eq!(lanyard["discord_user"]["clan"], Value::Null);
    assert_eq!(lanyard["discord_user"]["primary_guild"], json!({"tag": "ok"}));
}

#[test]
fn activities_that_are_not_a_list_show_as_none() {
    let presences = Presences::default();
    presences.update_presence(6, 1, 1, dnd_on_desktop(r#"{"name":"x","type":0}"#), None);
    let view = presences.view(UserId(6)).expect("monitored");
    assert_eq!(json_of(&view.lanyard)["activities"], json!([]));
    assert_eq!(json_of(&view.native)["activities"], json!([]));
}

/// A user object with fields harmy has never heard of, as Discord might send it.
const FUTURE_USER: &str = r#"{"id":"470320681905684500","username":"vaq","global_name":"Vaq","avatar":null,"discriminator":"0","public_flags":64,"banner":"a_1","primary_guild":{"identity_guild_id":"1","identity_enabled":true,"tag":"VAQ","badge":"b"},"collectibles":{"nameplate":{"sku_id":"2","asset":"nameplates/x/","label":"","palette":"crimson"}},"avatar_decoration_data":{"asset":"a_d","sku_id":"3","expires_at":1767225600},"future_field":{"nested_key":[1,2.5,"x"]}}"#;

/// An activity with the fields Discord added in 2025.
const NEW_ACTIVITY: &str = r#"{"name":"Game","type":0,"id":"g1","application_id":"383226320970055681","status_display_type":1,"details":"d","details_url":"https://example.com/d","state":"s","state_url":"https://example.com/s","platform":"desktop","session_id":"abc","assets":{"large_image":"mp:external/x","large_url":"https://example.com/l","large_text":"lt"},"created_at":5}"#;

#[test]
fn discord_user_is_the_user_object_as_sent() {
    let presences = Presences::default();
    presences.upsert_member(VAQ, 1, 1, MemberSeen { user: FUTURE_USER, nick: None });
    let lanyard = json_of(&presences.view(UserId(VAQ)).unwrap().lanyard);
    let sent = json_of(FUTURE_USER.as_bytes());
    for (key, value) in sent.as_object().unwrap() {
        assert_eq!(&lanyard["discord_user"][key], value, "{key} as sent");
    }
    assert_eq!(lanyard["discord_user"]["display_name"], "Vaq", "Lanyard's display_name is global_name");
    assert_eq!(lanyard["discord_user"]["bot"], false, "a field Lanyard always shows, defaulted");
    assert_eq!(lanyard["discord_user"]["clan"], Value::Null);
    let text = std::str::from_utf8(&presences.view(UserId(VAQ)).unwrap().lanyard).unwrap().to_string();
    assert!(text.contains(r#""future_field":{"nested_key":[1,2.5,"x"]}"#), "kept byte for byte: {text}");
}

#[test]
fn a_placeholder_user_gets_lanyards_defaults() {
    let presences = Presences::default();
    presences.update_presence(7, 1, 1, dnd_on_desktop(""), None);
    let lanyard = json_of(&presences.view(UserId(7)).unwrap().lanyard);
    assert_eq!(
        lanyard["discord_user"],
        json!({"id": "7", "username": "", "avatar": null, "discriminator": "0", "global_name": null,
               "display_name": null, "bot": false, "public_flags": 0, "avatar_decoration_data": null, "clan": null,
               "primary_guild": null, "collectibles": null, "display_name_styles": null})
    );
}

#[test]
fn activities_keep_every_field_in_both_shapes() {
    let presences = vaq();
    let activities = format!("[{NEW_ACTIVITY},{}]", &SPOTIFY[1..SPOTIFY.len() - 1]);
    presences.update_presence(VAQ, 1, 1, dnd_on_desktop(&activities), None);
    let view = presences.view(UserId(VAQ)).unwrap();
    let (native, lanyard) = (json_of(&view.native), json_of(&view.lanyard));
    assert_eq!(lanyard["activities"], json_of(activities.as_bytes()), "Lanyard: as sent");
    assert_eq!(
        native["activities"],
        json!([{"name": "Game", "type": 0, "url": null, "details": "d", "state": "s",
                "applicationId": "383226320970055681", "timestamps": null, "party": null, "syncId": null,
                "assets": {"largeImage": "mp:external/x", "largeUrl": "https://example.com/l", "largeText": "lt"},
                "flags": null, "emoji": null, "buttons": null, "createdTimestamp": 5,
                "id": "g1", "statusDisplayType": 1, "detailsUrl": "https://example.com/d",
                "stateUrl": "https://example.com/s", "platform": "desktop", "sessionId": "abc"}])
    );
    assert_eq!(native["spotifyActivity"]["song"], "BMW", "the Spotify rules hold beside them");
}

#[test]
fn spotify_activity_keeps_new_fields_and_the_examples_order() {
    let presences = vaq();
    let spotify = SPOTIFY.replace(r#""flags":48"#, r#""flags":48,"status_display_type":2,"platform":"desktop""#).replace(
        r#""large_image":"spotify:ab67616d0000b273fa2f0c9e719ca71f2686ddf3""#,
        r#""large_image":"spotify:ab67616d0000b273fa2f0c9e719ca71f2686ddf3","large_url":"https://open.spotify.com/album/x""#,
    );
    presences.update_presence(VAQ, 1, 1, dnd_on_desktop(&spotify), None);
    let view = presences.view(UserId(VAQ)).unwrap();
    let native = json_of(&view.native);
    let activity = &native["spotifyActivity"];
    assert_eq!(activity["statusDisplayType"], 2);
    assert_eq!(activity["platform"], "desktop");
    assert_eq!(activity["assets"]["largeUrl"], "https://open.spotify.com/album/x");
    assert_eq!(activity["assets"]["largeImage"], "ab67616d0000b273fa2f0c9e719ca71f2686ddf3");
    assert!(activity.get("details").is_none() && activity.get("state").is_none(), "as song and artist");
    let text = std::str::from_utf8(&view.native).unwrap();
    let order = [
        "\"name\"",
        "\"type\"",
        "\"song\"",
        "\"artist\"",
        "\"album\"",
        "\"applicationId\"",
        "\"timestamps\"",
        "\"party\"",
        "\"syncId\"",
        "\"assets\"",
        "\"flags\"",
        "\"createdTimestamp\"",
    ];
    let at = text.find("\"spotifyActivity\"").unwrap();
    let positions: Vec<usize> = order.iter().map(|key| at + text[at..].find(key).unwrap()).collect();
    assert!(positions.is_sorted(), "api.harmy.gg's order: {text}");
    let lanyard = json_of(&view.lanyard);
    assert_eq!(lanyard["spotify"]["album_art_url"], "https://i.scdn.co/image/ab67616d0000b273fa2f0c9e719ca71f2686ddf3");
    assert_eq!(lanyard["activities"], json_of(spotify.as_bytes()));
}

#[test]
fn going_offline_records_last_seen_shown_only_while_offline() {
    let presences = vaq();
    assert_eq!(json_of(&presences.view(UserId(VAQ)).unwrap().native)["lastSeen"], Value::Null, "never seen offline");
    let before = crate::app::privacy::last_seen::now_ms();
    assert!(presences.update_presence(VAQ, 1, 1, Update::default(), None), "offline");
    let after = crate::app::privacy::last_seen::now_ms();
    let view = presences.view(UserId(VAQ)).unwrap();
    let seen = json_of(&view.native)["lastSeen"].as_u64().expect("a time");
    assert!((before..=after).contains(&seen), "{before} <= {seen} <= {after}");
    assert_eq!(json_of(&view.lanyard)["last_seen"], seen);
    assert_eq!(presences.privacy.last_seen().recorded(), 1);
    // Offline again (invisible, say) records nothing new; online hides the time.
    presences.update_presence(VAQ, 1, 1, Update { status: Status::Offline, ..Update::default() }, None);
    assert_eq!(presences.privacy.last_seen().recorded(), 1);
    presences.update_presence(VAQ, 1, 1, dnd_on_desktop("[]"), None);
    let view = presences.view(UserId(VAQ)).unwrap();
    assert_eq!(
        (json_of(&view.native)["lastSeen"].clone(), json_of(&view.lanyard)["last_seen"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(presences.online_served(), vec![VAQ]);
}

#[test]
fn a_stored_last_seen_is_served_for_an_offline_member_from_their_first_event() {
    let presences = Presences::default();
    presences.privacy.last_seen().load([(UserId(VAQ), 1_700_000_000_000)]);
    presences.upsert_member(VAQ, 1, 1, MemberSeen { user: USER, nick: None });
    let view = presences.view(UserId(VAQ)).unwrap();
    assert_eq!(json_of(&view.native)["lastSeen"], 1_700_000_000_000u64);
    assert_eq!(json_of(&view.lanyard)["last_seen"], 1_700_000_000_000u64);
}

#[test]
fn a_hidden_user_going_offline_is_not_recorded() {
    let opt_in = crate::app::privacy::Visibility::new(crate::config::PrivacyMode::OptIn, []);
    let presences = Presences::with_privacy(Arc::default(), Arc::new(Ledger::new(opt_in, [])));
    presences.update_presence(VAQ, 1, 1, dnd_on_desktop("[]"), None);
    presences.update_presence(VAQ, 1, 1, Update::default(), None);
    assert_eq!(presences.privacy.last_seen().recorded(), 0);
    assert_eq!(presences.privacy.last_seen().get(UserId(VAQ)), None);
    assert!(presences.online_served().is_empty());
}
