//! The status card's test scene: a guild of people in different situations
//! (a Spotify listener, a player, a custom emoji, an offline member, a hostile
//! name) served by the real binary against the fake gateway and the fake CDN;
//! and readers of the SVG it sends: as XML (roxmltree) and as pixels (resvg).

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::api::{ALICE_ID, BOB_ID, NO_LIMITS, Served, serve_with, until};
use super::cdn::FakeCdn;
use super::discord_gateway::{Guild, custom_status, member, presence_with};
use super::http_client::{Reply, get};

pub const CAROL_ID: u64 = 80351110224678912;
pub const DAVE_ID: u64 = 81440962496172032;
pub const EVE_ID: u64 = 110000000000000001;
/// The game's application.
pub const GAME_APP: &str = "356875570916753438";
/// Eve's username: markup and both quotes.
pub const HOSTILE: &str = "<script>alert(\"x\")</script>&'";
/// Spotify's 640 px image id of Alice's album, which the card asks for at 300 px.
pub const ALBUM: &str = "ab67616d0000b273fa2f0c9e719ca71f2686ddf3";
pub const ALBUM_300: &str = "ab67616d00001e02fa2f0c9e719ca71f2686ddf3";

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// A member whose user object has these extra fields.
pub fn member_with(id: u64, username: &str, fields: Value) -> Value {
    let mut m = member(id, username);
    for (k, v) in fields.as_object().unwrap() {
        m["user"][k] = v.clone();
    }
    m
}

pub fn spotify_now(song: &str) -> Value {
    let start = now_ms() - 83_000;
    json!({"name": "Spotify", "type": 2, "id": "spotify:1", "details": song, "state": "Pashanim",
           "sync_id": "56MDdzieU2dTT3YLpCdpcA", "party": {"id": "spotify:1"},
           "timestamps": {"start": start, "end": start + 200_000},
           "assets": {"large_text": "Himmel über Berlin", "large_image": format!("spotify:{ALBUM}")}})
}

pub fn game() -> Value {
    json!({"name": "Minecraft", "type": 0, "application_id": GAME_APP, "details": "Survival", "state": "In a party",
           "party": {"size": [2, 4]}, "timestamps": {"start": now_ms() - 65 * 60_000},
           "assets": {"large_image": "1111", "small_image": "mp:external/abc/https/example.com/s.png"}})
}

fn with_emoji(mut status: Value, emoji: Value) -> Value {
    status["emoji"] = emoji;
    status
}

/// The scene's guild.
pub fn guild() -> Guild {
    let desktop = |status: &str| json!({"desktop": status});
    Guild::new(1)
        .member(
            member_with(ALICE_ID, "alice", json!({"global_name": "Alice Liddell", "avatar": "a_0123abcd",
                "public_flags": 512 | 64 | (1 << 22), "avatar_decoration_data": {"asset": "a_deco1", "sku_id": "1"}})),
            Some(presence_with(ALICE_ID, "online", desktop("online"), vec![
                with_emoji(custom_status("reading"), json!({"name": "📖"})),
                spotify_now("BMW"),
            ])),
        )
        .member(
            member_with(BOB_ID, "bob", json!({"avatar": "b0b"})),
            Some(presence_with(BOB_ID, "dnd", desktop("dnd"), vec![custom_status("in a match"), game(), spotify_now("BMW")])),
        )
        .member(
            member_with(CAROL_ID, "carol", json!({})),
            Some(presence_with(CAROL_ID, "idle", desktop("idle"), vec![
                with_emoji(custom_status("hi"), json!({"name": "blobwave", "id": "7777", "animated": false})),
            ])),
        )
        .member(member_with(DAVE_ID, "dave", json!({"avatar": "d4"})), None)
        .member(
            member_with(EVE_ID, HOSTILE, json!({"global_name": "W".repeat(200), "public_flags": 1 | 2 | 4 | 8 | 64 | 512})),
            Some(presence_with(EVE_ID, "online", desktop("online"), vec![
                custom_status(&format!("]]></text><script>x</script>{}", "M".repeat(300))),
                json!({"name": "W".repeat(300), "type": 0, "details": "&amp; <b>".repeat(40), "state": "Ж".repeat(200)}),
            ])),
        )
}

/// The scene served, with `extra` config, its images from `cdn`; waits until Eve,
/// the last member, is served.
pub fn serve(cdn: &FakeCdn, extra: &str) -> Served {
    serve_guild(cdn, extra, guild())
}

/// Any guild served against `cdn` (with the default image cache, unless `extra` has
/// its own `[card]` section: `cdn.card_toml(bytes)`).
pub fn serve_guild(cdn: &FakeCdn, extra: &str, guild: Guild) -> Served {
    let card = if extra.contains("[card]") { String::new() } else { cdn.card_toml(32 << 20) };
    serve_with(&format!("{NO_LIMITS}{extra}\n{card}"), guild)
}

/// The card of `user` with a query string (without `?`).
pub async fn card(addr: SocketAddr, user: u64, query: &str) -> Reply {
    let path =
        if query.is_empty() { format!("/user/{user}/card.svg") } else { format!("/user/{user}/card.svg?{query}") };
    get(addr, &path).await
}

/// Waits until `user` is monitored (their card is 200).
pub async fn until_served(addr: SocketAddr, user: u64) {
    until("the user is served", || async { (card(addr, user, "").await.status == 200).then_some(()) }).await;
}

/// A card's XML, parsed: the document is well-formed or this panics.
pub struct Svg {
    pub text: String,
}

impl Svg {
    pub fn of(reply: &Reply) -> Svg {
        let text = reply.text();
        if let Err(e) = roxmltree::Document::parse(&text) {
            panic!("not well-formed XML ({e}):\n{text}");
        }
        Svg { text }
    }

    fn doc(&self) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(&self.text).unwrap()
    }

    /// The text of every `<text>` of this class.
    pub fn texts(&self, class: &str) -> Vec<String> {
        let doc = self.doc();
        let found = doc.descendants().filter(|n| n.has_tag_name("text") && n.attribute("class") == Some(class));
        found.map(|n| n.text().unwrap_or_default().to_string()).collect()
    }

    /// The one text of this class.
    pub fn text_of(&self, class: &str) -> String {
        let texts = self.texts(class);
        assert_eq!(texts.len(), 1, "one {class} text in:\n{}", self.text);
        texts[0].clone()
    }

    /// The `href` of every `<image>` whose class is `class`.
    pub fn images(&self, class: &str) -> Vec<String> {
        let doc = self.doc();
        let found = doc.descendants().filter(|n| n.has_tag_name("image") && n.attribute("class") == Some(class));
        found.map(|n| n.attribute("href").unwrap_or_default().to_string()).collect()
    }

    /// How many elements have a class that starts with `class`.
    pub fn count(&self, class: &str) -> usize {
        self.doc().descendants().filter(|n| n.attribute("class").is_some_and(|c| c.starts_with(class))).count()
    }

    /// An attribute of the first element of this class.
    pub fn attr(&self, class: &str, name: &str) -> Option<String> {
        let doc = self.doc();
        let node = doc.descendants().find(|n| n.attribute("class") == Some(class))?;
        node.attribute(name).map(str::to_string)
    }

    /// An attribute of the root.
    pub fn root(&self, name: &str) -> String {
        self.doc().root_element().attribute(name).unwrap_or_default().to_string()
    }

    /// Every element name and every attribute value, to look for what must never be there.
    pub fn everything(&self) -> Vec<String> {
        let doc = self.doc();
        let mut all = Vec::new();
        for node in doc.descendants().filter(|n| n.is_element()) {
            all.push(node.tag_name().name().to_string());
            all.extend(node.attributes().map(|a| format!("{}={}", a.name(), a.value())));
        }
        all
    }
}

/// The SVG rasterised with the card's first font, DejaVu Sans, from `tests/fonts`
/// (whatever fonts the machine has).
pub fn rasterise(svg: &str) -> resvg::tiny_skia::Pixmap {
    let mut options = resvg::usvg::Options::default();
    let fonts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fonts");
    options.fontdb_mut().load_fonts_dir(fonts);
    let tree = resvg::usvg::Tree::from_str(svg, &options).expect("resvg reads the card");
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(&tree, resvg::tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap
}

/// The colour of one pixel.
pub fn pixel(pixmap: &resvg::tiny_skia::Pixmap, x: u32, y: u32) -> [u8; 3] {
    let p = pixmap.pixel(x, y).unwrap().demultiply();
    [p.red(), p.green(), p.blue()]
}

/// `#rrggbb` as bytes.
pub fn rgb(hex: &str) -> [u8; 3] {
    let hex = hex.trim_start_matches('#');
    [0, 2, 4].map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
}

/// Whether two colours are within `tolerance` on every channel.
pub fn close(a: [u8; 3], b: [u8; 3], tolerance: u8) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= tolerance)
}
