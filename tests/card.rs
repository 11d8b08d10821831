//! End-to-end tests of the status card (`/user/:id/card.svg`, `/api/:id`) and
//! the avatar links (`/:id.png`): the real binary against the fake gateway and
//! a fake CDN. Cards are read as XML (well-formed, escaped, no external
//! reference) and, for the layout, as pixels rasterised by resvg.

mod support;

use support::api::*;
use support::card::*;
use support::cdn::{Answer, FakeCdn, png};
use support::http_client::{get, send};

#[tokio::test]
async fn a_spotify_listeners_card_shows_the_song_artist_album_art_and_progress() {
    let cdn = FakeCdn::start();
    cdn.set(&format!("/spotify/{ALBUM_300}"), Answer::png(png([30, 215, 96], 8, 8)));
    let served = serve(&cdn, "");
    until_served(served.addr, ALICE_ID).await;
    let reply = card(served.addr, ALICE_ID, "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), "image/svg+xml; charset=utf-8");
    assert_eq!(reply.header("cache-control"), "public, max-age=60");
    assert!(reply.header("etag").starts_with('"'), "a strong ETag");
    let svg = Svg::of(&reply);
    assert_eq!((svg.root("width"), svg.root("height")), ("410".into(), "210".into()));
    assert_eq!(svg.text_of("name"), "alice");
    assert_eq!(svg.text_of("custom-status"), "📖 reading");
    assert_eq!(svg.text_of("spotify"), "LISTENING TO SPOTIFY");
    assert_eq!(svg.text_of("song"), "BMW");
    assert_eq!(svg.text_of("artist"), "by Pashanim");
    assert_eq!(svg.text_of("album"), "on Himmel über Berlin");
    assert_eq!(svg.text_of("duration"), "3:20");
    let progress: f32 = svg.attr("progress", "width").unwrap().parse().unwrap();
    assert!(progress > 0.0 && progress < 283.0, "part of the track played: {progress}");
    let art = base64_of(&png([30, 215, 96], 8, 8));
    assert_eq!(svg.images("album-art"), [format!("data:image/png;base64,{art}")], "the 300 px art, inlined");
    assert_eq!(svg.images("avatar").len(), 1);
    assert_eq!(svg.images("decoration").len(), 1);
    assert_eq!(svg.count("badge"), 3, "early supporter, bravery, active developer");
    assert_eq!(cdn.hits(&format!("/avatars/{ALICE}/a_0123abcd.png?size=128")), 1, "{:?}", cdn.paths());
    assert_eq!(cdn.hits("/avatar-decoration-presets/a_deco1.png"), 1);
    assert!(svg.text.contains("<title id=\"harmy-title\">alice is online: listening to BMW by Pashanim</title>"));
    for item in svg.everything() {
        assert!(!item.starts_with("script") && !item.starts_with("foreignObject") && !item.starts_with("style"));
        if let Some(href) = item.strip_prefix("href=") {
            assert!(href.starts_with("data:image/"), "only inlined images: {href:.60}");
        }
    }
    // Without the time on it, a card is the same in every minute: compare those.
    let timeless = card(served.addr, ALICE_ID, "hideTimestamp=true").await;
    let api = get(served.addr, &format!("/api/{ALICE}?hideTimestamp=true")).await;
    assert_eq!((api.status, api.body.clone()), (200, timeless.body.clone()), "/api/:id is the same card");
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn a_players_card_shows_the_game_its_images_and_elapsed_time() {
    let cdn = FakeCdn::start();
    let served = serve(&cdn, "");
    until_served(served.addr, BOB_ID).await;
    let svg = Svg::of(&card(served.addr, BOB_ID, "").await);
    assert_eq!(svg.text_of("activity-name"), "Minecraft");
    assert_eq!(svg.text_of("details"), "Survival");
    assert_eq!(svg.text_of("state"), "In a party (2 of 4)");
    let elapsed = svg.text_of("elapsed");
    assert!(elapsed == "1 h 04 min elapsed" || elapsed == "1 h 05 min elapsed", "{elapsed}");
    assert_eq!(svg.images("large-image").len(), 1);
    assert_eq!(svg.images("small-image").len(), 1);
    assert!(svg.texts("song").is_empty(), "the game comes before Spotify");
    assert_eq!(cdn.hits(&format!("/app-assets/{GAME_APP}/1111.png")), 1, "{:?}", cdn.paths());
    assert_eq!(cdn.hits("/external/abc/https/example.com/s.png"), 1, "mp: assets through the media proxy");
    assert_eq!(svg.attr("status", "fill").as_deref(), Some("#f04747"), "dnd");
}

#[tokio::test]
async fn a_custom_status_shows_its_custom_emoji_inlined() {
    let cdn = FakeCdn::start();
    let served = serve(&cdn, "");
    until_served(served.addr, CAROL_ID).await;
    let svg = Svg::of(&card(served.addr, CAROL_ID, "").await);
    assert_eq!(svg.text_of("custom-status"), "hi");
    assert_eq!(svg.images("emoji").len(), 1);
    assert_eq!(cdn.hits("/emojis/7777.png"), 1);
    let default_avatar = format!("/embed/avatars/{}.png", (CAROL_ID >> 22) % 6);
    assert_eq!(cdn.hits(&default_avatar), 1, "no avatar: the default one; {:?}", cdn.paths());
    assert_eq!(svg.text_of("idle"), "I'm not currently doing anything!");
}

#[tokio::test]
async fn an_offline_members_card_is_grey_and_idle() {
    let cdn = FakeCdn::start();
    let served = serve(&cdn, "");
    until_served(served.addr, DAVE_ID).await;
    let svg = Svg::of(&card(served.addr, DAVE_ID, "").await);
    assert_eq!(svg.attr("status", "fill").as_deref(), Some("#747f8d"));
    assert_eq!(svg.text_of("idle"), "I'm not currently doing anything!");
    assert!(svg.texts("custom-status").is_empty());
    assert!(svg.text.contains("dave is offline"));
}

#[tokio::test]
async fn an_unknown_user_gets_a_404_card_and_a_bad_id_a_400() {
    let cdn = FakeCdn::start();
    let served = serve(&cdn, "");
    for path in ["/user/123456789012345678/card.svg?theme=light", "/api/123456789012345678"] {
        let reply = get(served.addr, path).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.header("content-type"), "image/svg+xml; charset=utf-8");
        let svg = Svg::of(&reply);
        assert_eq!(svg.text_of("title"), "User not monitored");
        assert!(svg.text_of("reason").contains("123456789012345678"));
    }
    let bad = get(served.addr, "/user/abc/card.svg").await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_user_id".into()));
    assert_eq!(cdn.paths(), Vec::<String>::new(), "nothing fetched for nobody");
}

#[tokio::test]
async fn hostile_names_and_statuses_are_escaped_and_clipped() {
    let cdn = FakeCdn::start();
    let served = serve(&cdn, "");
    until_served(served.addr, EVE_ID).await;
    let svg = Svg::of(&card(served.addr, EVE_ID, "").await);
    let name = svg.text_of("name");
    assert!(name.starts_with("<script>alert") && name.ends_with('…'), "the name, as text, cut: {name}");
    assert!(svg.text.contains("&lt;script&gt;alert"));
    let status = svg.text_of("custom-status");
    assert!(status.starts_with("]]></text><script>x</script>") && status.ends_with('…'), "{status}");
    assert!(svg.text_of("activity-name").ends_with('…'));
    assert!(svg.text_of("details").starts_with("&amp; <b>"));
    assert!(svg.text_of("state").ends_with('…'));
    assert!(!svg.everything().iter().any(|e| e == "script" || e == "b"), "no element from a name");
    let wide = Svg::of(&card(served.addr, EVE_ID, "showDisplayName=true").await);
    let name = wide.text_of("name");
    assert!(name.starts_with("WWW") && name.ends_with('…') && name.chars().count() < 30, "{name}");
    assert_eq!(wide.text_of("username"), HOSTILE, "the username, whole, as text");
    assert!(wide.text.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"));
}

#[tokio::test]
async fn every_parameter_changes_the_card_as_documented() {
    let cdn = FakeCdn::start();
    let served = serve(&cdn, "");
    let addr = served.addr;
    until_served(addr, EVE_ID).await;
    let alice = |q: &'static str| async move { Svg::of(&card(addr, ALICE_ID, q).await) };
    let bob = |q: &'static str| async move { Svg::of(&card(addr, BOB_ID, q).await) };

    let plain = alice("").await;
    assert_eq!(plain.attr("background", "fill").as_deref(), Some("#1a1c1f"));
    assert_eq!(alice("theme=light").await.attr("background", "fill").as_deref(), Some("#eeeeee"));
    assert_eq!(alice("theme=light").await.attr("name", "fill").as_deref(), Some("#000000"));
    assert_eq!(alice("bg=ff0000").await.attr("background", "fill").as_deref(), Some("#ff0000"));
    assert!(plain.text.contains(r#"<clipPath id="harmy-card"><rect width="410" height="210" rx="10"/>"#));
    assert!(alice("borderRadius=0").await.text.contains(r#"rx="0"/></clipPath>"#));
    alice("animated=true").await;
    assert_eq!(cdn.hits(&format!("/avatars/{ALICE}/a_0123abcd.gif?size=128")), 1, "{:?}", cdn.paths());
    assert!(alice("hideStatus=true").await.texts("custom-status").is_empty());
    assert_eq!(alice("hideBadges=true").await.count("badge"), 0);
    assert!(alice("hideDecoration=true").await.images("decoration").is_empty());
    let no_profile = alice("hideProfile=true").await;
    assert_eq!(no_profile.root("height"), "125");
    assert!(no_profile.texts("name").is_empty() && no_profile.images("avatar").is_empty());
    assert_eq!(no_profile.text_of("song"), "BMW");
    let no_activity = alice("hideActivity=true").await;
    assert_eq!(no_activity.root("height"), "95");
    assert!(no_activity.texts("song").is_empty());
    assert_eq!(alice("hideActivity=whenNotUsed").await.root("height"), "210", "Spotify is used");
    assert_eq!(Svg::of(&card(addr, DAVE_ID, "hideActivity=whenNotUsed").await).root("height"), "95");
    let no_spotify = alice("hideSpotify=true").await;
    assert!(no_spotify.texts("song").is_empty());
    assert_eq!(no_spotify.text_of("idle"), "I'm not currently doing anything!");
    let idle = Svg::of(&card(addr, DAVE_ID, "idleMessage=Out+%26+about").await);
    assert_eq!(idle.text_of("idle"), "Out & about");
    let shown = alice("showDisplayName=true").await;
    assert_eq!((shown.text_of("name"), shown.text_of("username")), ("Alice Liddell".into(), "alice".into()));

    assert!(bob("").await.texts("elapsed").len() == 1);
    assert!(bob("hideTimestamp=true").await.texts("elapsed").is_empty());
    assert!(alice("hideTimestamp=true").await.texts("duration").is_empty(), "no Spotify progress either");
    let ignored = bob(concat!("ignoreAppId=1,", "356875570916753438")).await;
    assert!(ignored.texts("activity-name").is_empty());
    assert_eq!(ignored.text_of("song"), "BMW", "then Spotify");
}

#[tokio::test]
async fn bad_query_values_are_400_invalid_query_naming_the_parameter() {
    let cdn = FakeCdn::start();
    let served = serve(&cdn, "");
    until_served(served.addr, ALICE_ID).await;
    let long_message = format!("idleMessage={}", "a".repeat(129));
    let many_apps = format!("ignoreAppId={}", vec!["1"; 21].join(","));
    let long_query = format!("gradient={}", "a".repeat(1100));
    for (query, needle) in [
        ("theme=blue", "`theme`"),
        ("bg=zzz", "`bg`"),
        ("borderRadius=500", "`borderRadius`"),
        ("hideActivity=maybe", "`hideActivity`"),
        ("animated=1", "`animated`"),
        ("ignoreAppId=abc", "`ignoreAppId`"),
        (long_message.as_str(), "`idleMessage` is longer than 128"),
        (many_apps.as_str(), "`ignoreAppId` lists more than 20"),
        (long_query.as_str(), "longer than 1024 bytes"),
    ] {
        let reply = card(served.addr, ALICE_ID, query).await;
        assert_eq!((reply.status, reply.code()), (400, "invalid_query".into()), "{query:.40}");
        assert_eq!(reply.header("content-type"), "application/json; charset=utf-8");
        let message = reply.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(needle), "{message}");
    }
}

#[tokio::test]
async fn an_unchanged_card_is_kept_with_its_etag_and_a_change_makes_a_new_one() {
    let cdn = FakeCdn::start();
    let served = serve(&cdn, "");
    let addr = served.addr;
    until_served(addr, ALICE_ID).await;
    // (No time on the card: the same bytes whichever minute each request falls in.)
    let query = "theme=light&hideTimestamp=true";
    let first = card(addr, ALICE_ID, query).await;
    let again = card(addr, ALICE_ID, query).await;
    assert_eq!((&first.body, first.header("etag")), (&again.body, again.header("etag")));
    let etag = first.header("etag");
    let cached = send(addr, "GET", &format!("/user/{ALICE}/card.svg?{query}"), &[("if-none-match", &etag)], "").await;
    assert_eq!(cached.status, 304);
    assert_eq!((cached.header("etag"), cached.header("cache-control")), (etag.clone(), "public, max-age=60".into()));
    served.gw().dispatch(
        "PRESENCE_UPDATE",
        support::discord_gateway::presence_update(1, ALICE_ID, "idle", vec![spotify_now("Nimbus")]),
    );
    let changed = until("the new song on the card", || async {
        let reply = card(addr, ALICE_ID, query).await;
        Svg::of(&reply).texts("song").contains(&"Nimbus".to_string()).then_some(reply)
    })
    .await;
    assert_ne!(changed.header("etag"), etag);
    assert_eq!(Svg::of(&changed).attr("status", "fill").as_deref(), Some("#faa61a"));
}

#[tokio::test]
async fn images_are_fetched_once_for_many_cards_and_a_slow_one_once_for_all_waiting() {
    let cdn = FakeCdn::start();
    let served = serve(&cdn, "");
    let addr = served.addr;
    until_served(addr, ALICE_ID).await;
    for query in ["theme=light", "theme=dark", "bg=123456", "hideBadges=true"] {
        assert_eq!(card(addr, ALICE_ID, query).await.status, 200);
    }
    assert_eq!(cdn.hits(&format!("/avatars/{ALICE}/")), 1, "two renders or more, one CDN hit: {:?}", cdn.paths());
    assert_eq!(cdn.hits("/spotify/"), 1);

    // Ten cards at once wait for the same slow image: one fetch.
    cdn.delay(std::time::Duration::from_millis(200));
    let cards = (0..10).map(|i| tokio::spawn(async move { card(addr, BOB_ID, &format!("borderRadius={i}")).await }));
    for reply in futures_util::future::join_all(cards).await {
        assert_eq!(Svg::of(&reply.unwrap()).images("avatar").len(), 1, "each has the avatar");
    }
    assert_eq!(cdn.hits(&format!("/avatars/{BOB}/")), 1, "{:?}", cdn.paths());
}

#[tokio::test]
async fn a_failing_cdn_still_gives_a_200_card_with_placeholders() {
    let cdn = FakeCdn::start();
    cdn.fail_with(Some(500));
    let served = serve(&cdn, "");
    until_served(served.addr, BOB_ID).await;
    let reply = card(served.addr, BOB_ID, "").await;
    assert_eq!(reply.status, 200);
    let svg = Svg::of(&reply);
    assert!(svg.images("avatar").is_empty() && svg.images("large-image").is_empty());
    assert_eq!(svg.count("avatar placeholder"), 1);
    assert_eq!(svg.count("large-image placeholder"), 1);
    assert_eq!(svg.text_of("activity-name"), "Minecraft", "the rest of the card is there");
    assert!(cdn.hits(&format!("/avatars/{BOB}/")) >= 1, "it was asked");
}

#[tokio::test]
async fn avatar_links_redirect_to_the_cdn() {
    let cdn = FakeCdn::start();
    let served = serve(&cdn, "");
    let addr = served.addr;
    until_served(addr, CAROL_ID).await;
    let location = |path: String| async move {
        let reply = get(addr, &path).await;
        assert_eq!(reply.status, 302, "{path}");
        reply.header("location")
    };
    let cdn_url = &cdn.url;
    assert_eq!(location(format!("/{ALICE}.png")).await, format!("{cdn_url}/avatars/{ALICE}/a_0123abcd.png"));
    assert_eq!(
        location(format!("/{ALICE}.gif?size=64")).await,
        format!("{cdn_url}/avatars/{ALICE}/a_0123abcd.gif?size=64")
    );
    assert_eq!(
        location(format!("/{DAVE_ID}.gif")).await,
        format!("{cdn_url}/avatars/{DAVE_ID}/d4.png"),
        "a still avatar"
    );
    assert_eq!(
        location(format!("/{DAVE_ID}.jpg?size=100")).await,
        format!("{cdn_url}/avatars/{DAVE_ID}/d4.jpg"),
        "size dropped"
    );
    let default = format!("{cdn_url}/embed/avatars/{}.png?size=4096", (CAROL_ID >> 22) % 6);
    assert_eq!(location(format!("/{CAROL_ID}.webp?size=4096")).await, default);
    let unknown = get(addr, "/123456789012345678.png").await;
    assert_eq!((unknown.status, unknown.code()), (404, "user_not_monitored".into()));
    assert_eq!(get(addr, "/favicon.png").await.status, 404);
}

#[tokio::test]
async fn the_status_dot_has_the_status_colour_in_pixels() {
    let cdn = FakeCdn::start();
    let served = serve(&cdn, "");
    until_served(served.addr, EVE_ID).await;
    for (user, colour) in [(ALICE_ID, "#43b581"), (BOB_ID, "#f04747"), (CAROL_ID, "#faa61a"), (DAVE_ID, "#747f8d")] {
        let pixels = rasterise(&card(served.addr, user, "").await.text());
        assert!(close(pixel(&pixels, 69, 66), rgb(colour), 2), "{user}: {:?} is not {colour}", pixel(&pixels, 69, 66));
        assert!(close(pixel(&pixels, 69, 73), rgb("#1a1c1f"), 2), "the dot's ring is the background");
    }
}

#[tokio::test]
async fn text_stays_inside_the_card_in_pixels_even_without_clipping() {
    let cdn = FakeCdn::start();
    let served = serve(&cdn, "");
    until_served(served.addr, EVE_ID).await;
    for query in ["", "showDisplayName=true", "hideBadges=true"] {
        let svg = card(served.addr, EVE_ID, query).await.text();
        // Without any clip path, only the measured "…" keeps each text in its box.
        let unclipped = regex_free_strip(&svg, " clip-path=\"url(#harmy-");
        let pixels = rasterise(&unclipped);
        let bg = rgb("#1a1c1f");
        let drawn =
            |x0: u32, x1: u32| (0..pixels.height()).any(|y| (x0..x1).any(|x| !close(pixel(&pixels, x, y), bg, 8)));
        assert!(drawn(95, 390), "{query}: the texts are drawn");
        assert!(!drawn(397, 410), "{query}: nothing in the right margin");
    }
}

/// `text` without any attribute that starts with `prefix` (up to its closing quote).
fn regex_free_strip(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        out.push_str(&rest[..at]);
        let after = &rest[at + prefix.len()..];
        rest = &after[after.find('"').map_or(after.len(), |q| q + 1)..];
    }
    out.push_str(rest);
    out
}
