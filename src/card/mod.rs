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

pub mod badges;
mod font;
pub mod images;
pub mod links;
pub mod params;
pub mod rendered;
pub mod subject;
pub mod svg;
pub mod text;

use std::time::{SystemTime, UNIX_EPOCH};

use self::images::{Fetched, Images};
use self::links::Links;
use self::params::{Params, QueryError};
use self::rendered::{Key, Rendered};
use self::subject::{Shown, Subject};
use crate::app::App;
use crate::config::CardConfig;
use crate::ids::UserId;
use crate::presence::RawPresence;

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
    let (large, small, art) = match &subject.shown {
        Shown::Game(game) => (game.large_image.clone(), game.small_image.clone(), None),
        Shown::Spotify(spotify) => (None, None, spotify.art.clone()),
        Shown::Idle => (None, None, None),
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

    /// A user's card for a query string, if it can be had without waiting: kept, or
    /// renderable from images already cached. `None` when images must be fetched.
    pub fn now(&self, app: &App, user: UserId, query: &str, at: SystemTime) -> Option<Result<Card, QueryError>> {
        let job = match self.begin(app, user, query, at) {
            Ok(Begun::Done(card)) => return Some(Ok(card)),
            Ok(Begun::Render(job)) => job,
            Err(e) => return Some(Err(e)),
        };
        let subject = Subject::read(user.0, &job.raw, &job.params, &self.links);
        let mut pictures = Pictures::default();
        for (slot, url) in pictures.slots_mut().into_iter().zip(wanted(&subject, &job.params)) {
            if let Some(url) = url {
                *slot = self.images.peek(&url)?;
            }
        }
        Some(Ok(self.finish(&job, &subject, &pictures, query)))
    }

    /// A user's card for a query string, fetching the images it needs.
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
