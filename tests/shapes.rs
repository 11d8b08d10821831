//! End-to-end tests of the two presence shapes' exactness (docs/API.md)
//! against the real binary and the fake gateway: Discord's user object and
//! activities come out with every field they were sent with (an invented
//! `future_field`, the fields Discord added in 2025), Lanyard's as sent and
//! the native shape camelCased, and the native Spotify activity as
//! api.harmy.gg sends it.

mod support;

use serde_json::{Value, json};
use support::api::*;
use support::discord_gateway::*;
use support::http_client::get;

fn future_user() -> Value {
    json!({"id": ALICE, "username": "vaq", "global_name": "Vaq", "avatar": "5c11d7292c91e510c2b4f07946ea6d72",
           "discriminator": "0", "public_flags": 64, "banner": "a_1",
           "primary_guild": {"identity_guild_id": "1", "identity_enabled": true, "tag": "VAQ", "badge": "b"},
           "collectibles": {"nameplate": {"sku_id": "2", "asset": "nameplates/x/", "label": "", "palette": "crimson"}},
           "avatar_decoration_data": {"asset": "a_d", "sku_id": "3", "expires_at": 1767225600},
           "future_field": {"nested_key": [1, 2.5, "x"]}})
}

fn new_activity() -> Value {
    json!({"name": "Game", "type": 0, "id": "g1", "application_id": "383226320970055681", "status_display_type": 1,
           "details": "d", "details_url": "https://example.com/d", "state": "s", "state_url": "https://example.com/s",
           "platform": "desktop", "future_field": {"snake_key": 1},
           "assets": {"large_image": "mp:external/x", "large_url": "https://example.com/l", "large_text": "lt"},
           "created_at": 5})
}

#[tokio::test]
async fn discord_user_and_activities_come_out_with_every_field_sent() {
    let mut alice = member(ALICE_ID, "vaq");
    alice["user"] = future_user();
    let activities = vec![new_activity(), spotify("BMW")];
    let guild = Guild::new(1)
        .member(alice, Some(presence_with(ALICE_ID, "dnd", json!({"desktop": "dnd"}), activities.clone())));
    let served = serve_with(NO_LIMITS, guild);
    let addr = served.addr;
    let lanyard = until("alice with her activities", || async {
        let reply = get(addr, &format!("/v1/users/{ALICE}")).await;
        (reply.status == 200 && reply.json()["data"]["listening_to_spotify"] == true).then(|| reply.json())
    })
    .await;
    let user = &lanyard["data"]["discord_user"];
    for (key, value) in future_user().as_object().unwrap() {
        assert_eq!(&user[key], value, "discord_user.{key} as sent");
    }
    assert_eq!(user["display_name"], "Vaq");
    assert_eq!(lanyard["data"]["activities"], json!(activities), "Lanyard's activities as sent");

    let native = get(addr, &format!("/user/{ALICE}")).await.json();
    let game = &native["presence"]["activities"][0];
    for (key, value) in [
        ("statusDisplayType", json!(1)),
        ("detailsUrl", json!("https://example.com/d")),
        ("stateUrl", json!("https://example.com/s")),
        ("platform", json!("desktop")),
        ("futureField", json!({"snakeKey": 1})),
        ("applicationId", json!("383226320970055681")),
        ("createdTimestamp", json!(5)),
    ] {
        assert_eq!(game[key], value, "native activities[0].{key}: {game}");
    }
    assert_eq!(
        game["assets"],
        json!({"largeImage": "mp:external/x", "largeUrl": "https://example.com/l", "largeText": "lt"})
    );
    let spotify = &native["presence"]["spotifyActivity"];
    assert_eq!(spotify["assets"]["largeImage"], "ab67616d0000b273fa2f0c9e719ca71f2686ddf3", "no spotify: prefix");
    assert_eq!((spotify["song"].as_str(), spotify["artist"].as_str()), (Some("BMW"), Some("Pashanim")));
    assert_eq!(
        lanyard["data"]["spotify"]["album_art_url"],
        "https://i.scdn.co/image/ab67616d0000b273fa2f0c9e719ca71f2686ddf3"
    );
}
