//! End-to-end tests of the status card's limits against hostile clients: a
//! flood of parameter variations (the rendered-card cache), many users' large
//! images (the image cache), images too large or not images at all, and a slow
//! CDN (the concurrent-fetch cap). Each reproduces the attack against the real
//! binary, scaled to seconds, checks the server's RSS against a stated budget
//! and that other clients are answered meanwhile.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use serde_json::json;
use support::api::*;
use support::card::*;
use support::cdn::{Answer, FakeCdn, noise_png, png};
use support::discord_gateway::{Guild, presence};
use support::http_client::get;

/// Growth of the server's RSS each attack may cause, in KiB: the rendered-card cache
/// (16 MiB), the image cache as configured, and room for the cards being made.
const BUDGET_KIB: u64 = 48 * 1024;

/// A PNG too noisy to compress, between 256 and 512 KiB: inlined, about 0.5 MB.
fn big_png(seed: u32) -> Bytes {
    let image = noise_png(330, seed);
    assert!((256 << 10..512 << 10).contains(&image.len()), "{} bytes", image.len());
    image
}

/// Runs `requests` at most `at_once` at a time; their statuses.
async fn flood(addr: SocketAddr, paths: Vec<String>, at_once: usize) -> Vec<u16> {
    let mut statuses = Vec::with_capacity(paths.len());
    for batch in paths.chunks(at_once) {
        let replies = batch.iter().cloned().map(|path| tokio::spawn(async move { get(addr, &path).await.status }));
        for status in futures_util::future::join_all(replies).await {
            statuses.push(status.unwrap());
        }
    }
    statuses
}

/// Asks for Bob's presence and Dave's card until `done`; how many were answered 200.
fn bystander(addr: SocketAddr, done: Arc<AtomicUsize>) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut answered = 0;
        while done.load(Ordering::Relaxed) == 0 {
            assert_eq!(get(addr, &format!("/user/{BOB}")).await.status, 200);
            assert_eq!(card(addr, DAVE_ID, "theme=light").await.status, 200);
            answered += 1;
        }
        answered
    })
}

#[tokio::test]
async fn a_flood_of_card_variants_stays_within_the_memory_budget_and_others_are_served() {
    let cdn = FakeCdn::start();
    cdn.set(&format!("/avatars/{ALICE}/"), Answer::png(big_png(1)));
    let served = serve(&cdn, "");
    let addr = served.addr;
    until_served(addr, DAVE_ID).await;
    until_served(addr, ALICE_ID).await;
    let before = served.server.memory_kib();

    // The attack: 300 variations of one query (any change is a new cache key), each
    // card half a megabyte; kept unbounded they would hold 160 MB.
    let done = Arc::new(AtomicUsize::new(0));
    let others = bystander(addr, done.clone());
    let paths = (0..300).map(|i| format!("/user/{ALICE}/card.svg?idleMessage=v{i}&hideSpotify=true")).collect();
    let statuses = flood(addr, paths, 8).await;
    done.store(1, Ordering::Relaxed);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(others.await.unwrap() > 0, "another client was answered meanwhile");

    let after = served.server.memory_kib();
    eprintln!("RSS {before:?} -> {after:?}");
    assert!(after.hwm <= before.rss + BUDGET_KIB, "{before:?} -> {after:?}");
    assert_eq!(cdn.hits(&format!("/avatars/{ALICE}/")), 1, "one image for all the variations");
}

#[tokio::test]
async fn the_image_cache_is_bounded_in_bytes_and_drops_the_least_recently_used() {
    let cdn = FakeCdn::start();
    cdn.set("/avatars/", Answer::png(big_png(2)));
    // 120 members, each with an avatar of their own: 53 MB inlined, against a 4 MiB cache.
    let ids: Vec<u64> = (0..120).map(|i| 200_000_000_000_000_000 + i).collect();
    let guild = ids.iter().fold(Guild::new(1), |guild, id| {
        guild.member(member_with(*id, "m", json!({"avatar": format!("h{id}")})), Some(presence(*id, "online")))
    });
    let served = serve_guild(&cdn, &cdn.card_toml(4 << 20), guild.member(member_with(BOB_ID, "bob", json!({})), None));
    let addr = served.addr;
    until_served(addr, *ids.last().unwrap()).await;
    until_served(addr, BOB_ID).await;
    let before = served.server.memory_kib();

    let done = Arc::new(AtomicUsize::new(0));
    let others = tokio::spawn({
        let done = done.clone();
        async move {
            let mut answered = 0;
            while done.load(Ordering::Relaxed) == 0 {
                assert_eq!(get(addr, &format!("/user/{BOB}")).await.status, 200);
                answered += 1;
            }
            answered
        }
    });
    let paths = ids.iter().map(|id| format!("/user/{id}/card.svg")).collect();
    let statuses = flood(addr, paths, 8).await;
    done.store(1, Ordering::Relaxed);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(others.await.unwrap() > 0, "another client was answered meanwhile");
    let after = served.server.memory_kib();
    eprintln!("RSS {before:?} -> {after:?}");
    assert!(after.hwm <= before.rss + BUDGET_KIB, "{before:?} -> {after:?}");

    // The avatar of a card just made is kept; the first one was evicted long ago, so a
    // new card of that user fetches it again.
    let (first, last) = (ids[0], *ids.last().unwrap());
    let fetched = |user: u64| cdn.hits(&format!("/avatars/{user}/"));
    assert_eq!(Svg::of(&card(addr, last, "theme=light").await).images("avatar").len(), 1);
    let (first_before, last_before) = (fetched(first), fetched(last));
    assert_eq!(Svg::of(&card(addr, last, "theme=dark").await).images("avatar").len(), 1);
    assert_eq!(fetched(last), last_before, "kept");
    assert_eq!(Svg::of(&card(addr, first, "theme=light").await).images("avatar").len(), 1);
    assert_eq!(fetched(first), first_before + 1, "evicted and fetched again");
}

#[tokio::test]
async fn images_too_large_or_not_what_they_say_are_drawn_as_placeholders() {
    let cdn = FakeCdn::start();
    let mut too_large = png([1, 2, 3], 4, 4).to_vec();
    too_large.resize(600 << 10, 0);
    cdn.set(&format!("/avatars/{ALICE}/"), Answer::png(too_large.into()));
    cdn.set(
        &format!("/avatars/{BOB}/"),
        Answer { status: 200, content_type: "text/html".into(), body: png([1, 2, 3], 4, 4) },
    );
    cdn.set("/embed/avatars/", Answer::png(Bytes::from_static(b"<svg xmlns='http://www.w3.org/2000/svg'/>")));
    cdn.set(
        &format!("/avatars/{DAVE_ID}/"),
        Answer { status: 200, content_type: "image/gif".into(), body: png([1, 2, 3], 4, 4) },
    );
    let served = serve(&cdn, "");
    until_served(served.addr, EVE_ID).await;
    for user in [ALICE_ID, BOB_ID, CAROL_ID, DAVE_ID] {
        let reply = card(served.addr, user, "hideActivity=true").await;
        assert_eq!(reply.status, 200);
        let svg = Svg::of(&reply);
        assert!(svg.images("avatar").is_empty(), "{user}: refused");
        assert_eq!(svg.count("avatar placeholder"), 1, "{user}");
    }
    assert_eq!(cdn.hits(&format!("/avatars/{ALICE}/")), 1, "a refused image is remembered, not asked again");
    card(served.addr, ALICE_ID, "hideActivity=true&theme=light").await;
    assert_eq!(cdn.hits(&format!("/avatars/{ALICE}/")), 1);
}

#[tokio::test]
async fn at_most_eight_images_are_fetched_at_once() {
    let cdn = FakeCdn::start();
    cdn.delay(std::time::Duration::from_millis(250));
    let ids: Vec<u64> = (0..24).map(|i| 300_000_000_000_000_000 + i).collect();
    let guild = ids.iter().fold(Guild::new(1), |guild, id| {
        guild.member(member_with(*id, "m", json!({"avatar": format!("h{id}")})), Some(presence(*id, "online")))
    });
    let served = serve_guild(&cdn, "", guild);
    let addr = served.addr;
    until_served(addr, *ids.last().unwrap()).await; // (no images are fetched by this: it is an unknown user until it is not)
    let paths = ids.iter().map(|id| format!("/user/{id}/card.svg?theme=light")).collect();
    let statuses = flood(addr, paths, 24).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let most = cdn.most_at_once();
    assert!((2..=8).contains(&most), "{most} fetches at once");
}

#[tokio::test]
async fn crafted_asset_names_never_leave_the_cdn_prefix_and_the_card_still_renders() {
    use support::discord_gateway::presence_with;
    let cdn = FakeCdn::start();
    // Names a hostile presence can carry. Behind a proxy that decodes `%2e%2e` (or takes
    // `\` for `/`), the first ones would resolve outside the configured prefix.
    let crafted = [
        "mp:%2e%2e/%2e%2e/X",
        "mp:.%2e/X",
        "mp:%2E%2E/X",
        "mp:x?redir=1",
        "mp:external/..%2f..%2fX",
        "mp:external\\..\\..\\X",
        "mp:external/../../X",
        "mp:external/..;/X",
        "mp:external/x#y",
        "spotify:..%2fX",
        "../X",
    ];
    let ids: Vec<u64> = (0..crafted.len() as u64).map(|i| 400_000_000_000_000_000 + i).collect();
    let guild = ids.iter().zip(crafted).fold(Guild::new(1), |guild, (id, name)| {
        let game = json!({"name": "Game", "type": 0, "application_id": "356875570916753438",
                          "assets": {"large_image": name, "small_image": name}});
        let user = json!({"avatar": "%2e%2e", "avatar_decoration_data": {"asset": "..%2fX", "sku_id": "1"}});
        guild.member(
            member_with(*id, "m", user),
            Some(presence_with(*id, "online", json!({"desktop": "online"}), vec![game])),
        )
    });
    let card_toml = format!("[card]\ncdn_url = \"{0}/cdn\"\nspotify_image_url = \"{0}/cdn/spotify\"\n", cdn.url);
    let served = serve_guild(&cdn, &card_toml, guild);
    let addr = served.addr;
    until_served(addr, *ids.last().unwrap()).await;
    for (id, name) in ids.iter().zip(crafted) {
        let reply = card(addr, *id, "").await;
        assert_eq!(reply.status, 200, "{name}");
        let svg = Svg::of(&reply);
        assert_eq!(svg.text_of("activity-name"), "Game", "{name}: the card is there");
        assert!(svg.images("large-image").is_empty(), "{name}");
        assert_eq!(svg.count("large-image placeholder"), 1, "{name}");
        assert_eq!(svg.images("avatar").len(), 1, "{name}: the default avatar instead");
    }
    let paths = cdn.paths();
    assert!(!paths.is_empty());
    for path in &paths {
        assert!(path.starts_with("/cdn/embed/avatars/"), "only default avatars were asked for: {paths:?}");
        assert!(!path.contains('%') && !path.contains("..") && !path.contains('\\'), "{paths:?}");
    }
}
