//! The status card (`GET /user/:id/card.svg`, `GET /api/:id`): a user's
//! presence as a 410 × 210 SVG image for a README or any page, with no
//! JavaScript and no third-party service; and the avatar links of `/:id.png`.
//!
//! * `params` — the query parameters, validated and bounded.
//! * `subject` — what the card shows, read from the raw presence the API serves.
//! * `svg` — the layout, with `text` (XML escaping, widths from the `font`
//!   table, "…" where a text would overflow) and `badges` (drawn icons).
//! * `links` — image URLs on Discord's CDN and Spotify's image host.
//! * `images` — the image fetcher and its byte-bounded cache.
//! * `rendered` — rendered cards, keyed by (user, version, minute, query).
//!
//! A card is drawn as of the start of the current minute, and kept for that
//! minute while the user's presence does not change: so the elapsed time and
//! the Spotify progress move once a minute, as often as `max-age=60` lets a
//! client see them, and every render of one minute gives the same bytes.

pub(crate) mod badges;
mod font;
pub(crate) mod images;
pub(crate) mod links;
pub(crate) mod params;
pub(crate) mod rendered;
pub(crate) mod subject;
pub(crate) mod svg;
pub(crate) mod text;

use std::time::{SystemTime, UNIX_EPOCH};

use self::images::{Fetched, Images};
use self::links::Links;
use self::params::{Params, QueryError};
use self::rendered::{Key, Rendered};
use self::subject::{Featured, Subject};
use crate::app::App;
use crate::app::presence::RawPresence;
use crate::config::CardConfig;
use crate::ids::UserId;

pub use self::rendered::Card;

/// The images a card inlines; `None` where there is none or it failed.
#[derive(Default)]
pub struct Pictures {
    /// The avatar.
    pub avatar: Fetched,
    /// The avatar decoration.
    pub decoration: Fetched,
    /// The custom status's emoji.
    pub emoji: Fetched,
    /// The activity's large image.
    pub large: Fetched,
    /// The activity's small image.
    pub small: Fetched,
    /// Spotify's album art.
    pub art: Fetched,
}

impl Pictures {
    /// A picture's data URI.
    pub fn data<'a>(&self, picture: &'a Fetched) -> Option<&'a str> {
        picture.as_deref().map(|image| &*image.data_uri)
    }

    /// The bytes of all the data URIs.
    pub fn bytes(&self) -> usize {
        self.slots().iter().map(|p| p.as_ref().map_or(0, |i| i.data_uri.len())).sum()
    }

    fn slots(&self) -> [&Fetched; 6] {
        [&self.avatar, &self.decoration, &self.emoji, &self.large, &self.small, &self.art]
    }

    fn slots_mut(&mut self) -> [&mut Fetched; 6] {
        [&mut self.avatar, &mut self.decoration, &mut self.emoji, &mut self.large, &mut self.small, &mut self.art]
    }
}

/// The URLs of the images a card needs, in the order of `Pictures::slots`.
fn wanted(subject: &Subject<'_>, params: &Params) -> [Option<String>; 6] {
    let profile = !params.hide_profile;
    let custom = subject.custom.as_ref().filter(|_| profile && !params.hide_status);
    let (large, small, art) = match &subject.featured {
        Featured::Game(game) => (game.large_image.clone(), game.small_image.clone(), None),
        Featured::Spotify(spotify) => (None, None, spotify.art.clone()),
        Featured::Idle => (None, None, None),
    };
    let activity = !matches!(params.hide_activity, params::HideActivity::Always) || params.hide_profile;
    [
        Some(subject.avatar.clone()).filter(|_| profile),
        subject.decoration.clone().filter(|_| profile && !params.hide_decoration),
        custom.and_then(|c| c.emoji_image.clone()),
        large.filter(|_| activity),
        small.filter(|_| activity),
        art.filter(|_| activity),
    ]
}

/// The card's state: its image hosts, image cache and rendered cards.
pub struct Cards {
    links: Links,
    images: Images,
    rendered: Rendered,
}

/// A card to render: its key and what it is made of.
struct Job {
    user: UserId,
    version: u64,
    minute: u64,
    params: Params,
    raw: RawPresence,
}

/// A card found at once, or one to render.
enum Begun {
    Done(Card),
    Render(Box<Job>),
}

impl Cards {
    /// The state for `[card]`.
    pub fn new(config: &CardConfig) -> Cards {
        Cards {
            links: Links::new(config),
            images: Images::new(config.image_cache_bytes),
            rendered: Rendered::new(rendered::RENDERED_CACHE_BYTES),
        }
    }

    /// The image hosts.
    pub fn links(&self) -> &Links {
        &self.links
    }

    /// The image cache.
    pub fn images(&self) -> &Images {
        &self.images
    }

    /// The rendered cards.
    pub fn rendered(&self) -> &Rendered {
        &self.rendered
    }

    /// A user's card for a query string: kept, or rendered with the images it
    /// needs (from the cache, else fetched).
    pub async fn card(&self, app: &App, user: UserId, query: &str, at: SystemTime) -> Result<Card, QueryError> {
        let job = match self.begin(app, user, query, at)? {
            Begun::Done(card) => return Ok(card),
            Begun::Render(job) => job,
        };
        let subject = Subject::read(user.0, &job.raw, &job.params, &self.links);
        let fetches = wanted(&subject, &job.params).map(|url| async move {
            match url {
                Some(url) => self.images.get(&url).await,
                None => None,
            }
        });
        let mut pictures = Pictures::default();
        let fetched = futures_util::future::join_all(fetches).await;
        for (slot, picture) in pictures.slots_mut().into_iter().zip(fetched) {
            *slot = picture;
        }
        Ok(self.finish(&job, &subject, &pictures, query))
    }

    /// The kept card, the not-monitored card, or what to render.
    fn begin(&self, app: &App, user: UserId, query: &str, at: SystemTime) -> Result<Begun, QueryError> {
        if query.len() > params::MAX_QUERY_BYTES {
            return Err(QueryError(format!("the query string is longer than {} bytes", params::MAX_QUERY_BYTES)));
        }
        let minute = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / 60;
        // Read before the presence it validates: a change after this read bumps it.
        let version = app.changes.version(user);
        if let Some(card) = self.rendered.get(&Key { user: user.0, version, minute, query }) {
            return Ok(Begun::Done(card));
        }
        let params = Params::parse(query)?;
        match app.presences.raw(user) {
            Some(raw) => Ok(Begun::Render(Box::new(Job { user, version, minute, params, raw }))),
            None => Ok(Begun::Done(Card::new(svg::not_monitored(user.0, &params), false))),
        }
    }

    /// Renders, keeps and returns a card.
    fn finish(&self, job: &Job, subject: &Subject<'_>, pictures: &Pictures, query: &str) -> Card {
        let card = Card::new(svg::card(subject, &job.params, pictures, job.minute * 60_000), true);
        let key = Key { user: job.user.0, version: job.version, minute: job.minute, query };
        self.rendered.insert(&key, &card);
        card
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::presence::Status;
    use crate::config::Config;

    fn presence(status: Status, activities: &str) -> RawPresence {
        RawPresence {
            user: r#"{"id":"5","username":"vaq","avatar":"abc","public_flags":512}"#.into(),
            activities: Some(activities.into()),
            status,
        }
    }

    /// Cards whose CDN is a closed local port: every fetch fails at once.
    fn cards() -> Cards {
        Cards::new(&CardConfig { cdn_url: "http://127.0.0.1:9".into(), ..CardConfig::default() })
    }

    #[tokio::test]
    async fn a_card_fetches_its_images_once_then_is_kept() {
        let (_dir, app) = App::temporary(Config::default());
        let (cards, user, at) = (cards(), UserId(5), SystemTime::now());
        app.presences.insert_raw(user, presence(Status::Online, "[]"));
        let card = cards.card(&app, user, "", at).await.unwrap();
        assert!(card.found && std::str::from_utf8(&card.svg).unwrap().contains("avatar placeholder"));
        assert_eq!(cards.rendered().bytes(), card.svg.len() + 160, "kept");
        let again = cards.card(&app, user, "", at).await.unwrap();
        assert_eq!((again.svg, again.etag), (card.svg.clone(), card.etag.clone()));
        let light = cards.card(&app, user, "theme=light", at).await.unwrap();
        assert_ne!(light.etag, card.etag);
        assert_eq!(cards.images().fetches(), 1, "the failure is remembered");
    }

    #[tokio::test]
    async fn a_presence_change_or_a_new_minute_makes_a_new_card() {
        let (_dir, app) = App::temporary(Config::default());
        let (cards, user) = (cards(), UserId(5));
        let at = UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        app.presences.insert_raw(user, presence(Status::Online, "[]"));
        let first = cards.card(&app, user, "", at).await.unwrap();
        app.presences.insert_raw_unmarked(user, presence(Status::Dnd, "[]"));
        let unmarked = cards.card(&app, user, "", at).await.unwrap();
        assert_eq!(unmarked.etag, first.etag, "until the change is marked, the kept card is served");
        app.changes.mark(user);
        let changed = cards.card(&app, user, "", at).await.unwrap();
        assert!(std::str::from_utf8(&changed.svg).unwrap().contains(svg::status_colour(Status::Dnd)));
        let later = cards.card(&app, user, "", at + std::time::Duration::from_secs(60)).await.unwrap();
        assert_eq!(later.etag, changed.etag, "nothing on this card moves with time");
        assert_eq!(cards.rendered().bytes(), later.svg.len() + 160, "the past minute's cards are gone");
    }

    #[tokio::test]
    async fn an_unknown_user_and_a_bad_query() {
        let (_dir, app) = App::temporary(Config::default());
        let cards = cards();
        let card = cards.card(&app, UserId(6), "", SystemTime::now()).await.unwrap();
        assert!(!card.found);
        assert!(std::str::from_utf8(&card.svg).unwrap().contains("User not monitored"));
        let bad = cards.card(&app, UserId(6), "theme=blue", SystemTime::now()).await.unwrap_err();
        assert!(bad.0.contains("`theme`"));
    }

    /// A PNG of an SVG drawing, for the examples.
    fn drawn(svg: &str) -> Fetched {
        let tree = resvg::usvg::Tree::from_str(svg, &resvg::usvg::Options::default()).unwrap();
        let size = tree.size().to_int_size();
        let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
        resvg::render(&tree, resvg::tiny_skia::Transform::default(), &mut pixmap.as_mut());
        Some(std::sync::Arc::new(images::Image {
            data_uri: images::data_uri("image/png", &pixmap.encode_png().unwrap()).into(),
        }))
    }

    fn gradient(from: &str, to: &str, shape: &str) -> Fetched {
        drawn(&format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96"><defs><linearGradient id="g" x2="1" y2="1"><stop offset="0" stop-color="{from}"/><stop offset="1" stop-color="{to}"/></linearGradient></defs><rect width="96" height="96" fill="url(#g)"/>{shape}</svg>"##
        ))
    }

    /// Writes the examples `docs/API.md` shows: `cargo test --lib card::tests -- --ignored`.
    #[test]
    #[ignore]
    fn write_the_docs_examples() {
        let now = 1_752_000_000_000u64;
        let user = format!(
            r#"{{"id":"470320681905684500","username":"vaq","global_name":"Vaq","avatar":"abc","public_flags":{}}}"#,
            512 | 64 | (1 << 22)
        );
        let spotify = format!(
            r#"[{{"type":4,"name":"Custom Status","state":"shipping harmy","emoji":{{"name":"🚀"}}}},{{"type":2,"name":"Spotify","id":"spotify:1","details":"BMW","state":"Pashanim","timestamps":{{"start":{},"end":{}}},"assets":{{"large_text":"Himmel über Berlin","large_image":"spotify:ab67616d0000b273fa2f"}}}}]"#,
            now - 83_000,
            now + 38_000
        );
        let game = format!(
            r#"[{{"type":0,"name":"Minecraft","application_id":"1","details":"Survival","state":"In a party","party":{{"size":[2,4]}},"timestamps":{{"start":{}}},"assets":{{"large_image":"2"}}}}]"#,
            now - 65 * 60_000
        );
        let links = Links::new(&CardConfig::default());
        let avatar = gradient(
            "#5865f2",
            "#eb459e",
            r##"<circle cx="48" cy="40" r="16" fill="#fff" fill-opacity=".85"/><rect x="22" y="62" width="52" height="40" rx="26" fill="#fff" fill-opacity=".85"/>"##,
        );
        let art = gradient(
            "#1db954",
            "#191414",
            r##"<circle cx="48" cy="48" r="30" fill="none" stroke="#fff" stroke-width="6"/>"##,
        );
        let block = gradient(
            "#7cb342",
            "#5d4037",
            r##"<rect x="24" y="24" width="48" height="48" fill="#8d6e63"/><rect x="24" y="24" width="48" height="14" fill="#9ccc65"/>"##,
        );
        for (name, status, activities, query, pictures) in [
            (
                "card-spotify.svg",
                Status::Online,
                &spotify,
                "",
                Pictures { avatar: avatar.clone(), art, ..Pictures::default() },
            ),
            (
                "card-game.svg",
                Status::Dnd,
                &game,
                "theme=light&showDisplayName=true",
                Pictures { avatar, large: block, ..Pictures::default() },
            ),
        ] {
            let raw = RawPresence { user: user.as_str().into(), activities: Some(activities.as_str().into()), status };
            let params = Params::parse(query).unwrap();
            let subject = Subject::read(470320681905684500, &raw, &params, &links);
            std::fs::write(format!("docs/{name}"), svg::card(&subject, &params, &pictures, now)).unwrap();
        }
    }
}
