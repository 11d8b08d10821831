//! The card's images: fetched from the CDN on the outbound HTTP stack and kept,
//! base64-encoded as the card inlines them, in a cache bounded in bytes.
//!
//! * Each URL is fetched once however many cards wait for it: the first asker
//!   starts a task, later askers wait on its result (a `watch` channel).
//! * A fetch has 2 s in all (waiting for a fetch slot included); at most
//!   `MAX_CONCURRENT_FETCHES` run at once and at most `MAX_PENDING` distinct
//!   URLs wait, past which a card gets its placeholder at once.
//! * Only a 200 whose `Content-Type` is PNG, GIF, WebP or JPEG, whose first
//!   bytes agree, and whose body is at most `MAX_IMAGE_BYTES` is kept; anything
//!   else is a failure, remembered for a minute so a broken image costs one
//!   fetch a minute, and drawn as a placeholder.
//! * Images are kept an hour; past the budget the least recently used go first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty, Limited};
use tokio::sync::{Semaphore, watch};

/// The whole of one fetch, from waiting for a slot to the last byte.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a fetched image is kept.
pub const IMAGE_TTL: Duration = Duration::from_secs(3600);
/// How long a failed fetch is remembered.
pub const FAILURE_TTL: Duration = Duration::from_secs(60);
/// The largest image taken, in bytes as fetched.
pub const MAX_IMAGE_BYTES: usize = 512 * 1024;
/// Fetches running at once.
pub const MAX_CONCURRENT_FETCHES: usize = 8;
/// Distinct URLs being fetched or waiting for a fetch slot.
pub const MAX_PENDING: usize = 256;
/// What an entry costs besides its data: the key, the map slot, the `Arc`.
const ENTRY_OVERHEAD: usize = 128;

/// An image ready to inline: `data:<type>;base64,<data>`.
#[derive(Debug, PartialEq, Eq)]
pub struct Image {
    /// The data URI.
    pub data_uri: Box<str>,
}

/// What fetching a URL gave: the image, or `None` for a failure.
pub type Fetched = Option<Arc<Image>>;

/// The image cache and fetcher; clones share it.
#[derive(Clone)]
pub struct Images(Arc<Inner>);

struct Inner {
    state: Mutex<State>,
    budget: usize,
    slots: Semaphore,
    http: OnceLock<crate::outbound::Client>,
    /// Requests made to image hosts since start.
    fetches: AtomicU64,
}

#[derive(Default)]
struct State {
    ready: HashMap<Arc<str>, CachedImage>,
    pending: HashMap<Arc<str>, watch::Receiver<Option<Fetched>>>,
    bytes: usize,
    /// A use counter: an entry's `used` is the value at its last use.
    tick: u64,
}

struct CachedImage {
    image: Fetched,
    expires: Instant,
    used: u64,
    size: usize,
}

impl Images {
    /// A cache of at most `budget` bytes.
    pub fn new(budget: usize) -> Images {
        Images(Arc::new(Inner {
            state: Mutex::default(),
            budget,
            slots: Semaphore::new(MAX_CONCURRENT_FETCHES),
            http: OnceLock::new(),
            fetches: AtomicU64::new(0),
        }))
    }

    /// What the cache knows of `url` now: `None` when it must be fetched (or is being).
    pub fn peek(&self, url: &str) -> Option<Fetched> {
        let mut state = self.0.lock();
        state.tick += 1;
        let tick = state.tick;
        let entry = state.ready.get_mut(url).filter(|e| e.expires > Instant::now())?;
        entry.used = tick;
        Some(entry.image.clone())
    }

    /// The image at `url`, fetched if the cache does not have it (`None`: it failed).
    pub async fn get(&self, url: &str) -> Fetched {
        if let Some(known) = self.peek(url) {
            return known;
        }
        let mut waiting = {
            let mut state = self.0.lock();
            match state.pending.get(url) {
                Some(waiting) => waiting.clone(),
                None if state.pending.len() >= MAX_PENDING => return None,
                None => {
                    let (done, waiting) = watch::channel(None);
                    let url: Arc<str> = url.into();
                    state.pending.insert(url.clone(), waiting.clone());
                    tokio::spawn(self.0.clone().fetch(url, done));
                    waiting
                }
            }
        };
        match waiting.wait_for(Option::is_some).await {
            Ok(fetched) => fetched.clone().flatten(),
            Err(_) => None, // the task is gone (it cannot panic short of a bug): a placeholder
        }
    }

    /// Bytes held (for tests and metrics).
    pub fn bytes(&self) -> usize {
        self.0.lock().bytes
    }

    /// Requests made to image hosts since start.
    pub fn fetches(&self) -> u64 {
        self.0.fetches.load(Ordering::Relaxed)
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fetches `url`, keeps the outcome and tells the waiters.
    async fn fetch(self: Arc<Self>, url: Arc<str>, done: watch::Sender<Option<Fetched>>) {
        let fetched = tokio::time::timeout(FETCH_TIMEOUT, async {
            let _slot = self.slots.acquire().await.map_err(|_| "closed".to_string())?;
            self.fetches.fetch_add(1, Ordering::Relaxed);
            self.download(&url).await
        })
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", FETCH_TIMEOUT.as_secs())));
        let fetched = match fetched {
            Ok(image) => Some(Arc::new(image)),
            Err(reason) => {
                tracing::debug!(%url, %reason, "card image not fetched; a placeholder is drawn");
                None
            }
        };
        {
            let mut state = self.lock();
            state.pending.remove(&url);
            let size = fetched.as_ref().map_or(0, |i| i.data_uri.len()) + url.len() + ENTRY_OVERHEAD;
            let ttl = if fetched.is_some() { IMAGE_TTL } else { FAILURE_TTL };
            if size <= self.budget {
                state.tick += 1;
                let entry =
                    CachedImage { image: fetched.clone(), expires: Instant::now() + ttl, used: state.tick, size };
                if let Some(old) = state.ready.insert(url, entry) {
                    state.bytes -= old.size;
                }
                state.bytes += size;
                make_room(&mut state, self.budget);
            }
        }
        done.send_replace(Some(fetched));
    }

    async fn download(&self, url: &str) -> Result<Image, String> {
        let request = Request::get(url)
            .header(USER_AGENT, concat!("harmy/", env!("CARGO_PKG_VERSION")))
            .header(ACCEPT, "image/png,image/gif,image/webp,image/jpeg")
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let http = self.http.get_or_init(|| crate::outbound::client(FETCH_TIMEOUT));
        let response = http.request(request).await.map_err(|e| e.to_string())?;
        if response.status() != StatusCode::OK {
            return Err(format!("answered {}", response.status()));
        }
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok());
        let declared =
            header(CONTENT_TYPE).map(|t| t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        let declared = declared.filter(|t| KINDS.iter().any(|(kind, _)| kind == t)).ok_or("not an image type")?;
        if header(CONTENT_LENGTH).and_then(|l| l.parse::<usize>().ok()).is_some_and(|l| l > MAX_IMAGE_BYTES) {
            return Err(format!("larger than {MAX_IMAGE_BYTES} bytes"));
        }
        let body = Limited::new(response.into_body(), MAX_IMAGE_BYTES)
            .collect()
            .await
            .map_err(|e| format!("reading the body: {e}"))?
            .to_bytes();
        match sniff(&body) {
            Some(kind) if kind == declared => Ok(Image { data_uri: data_uri(kind, &body).into() }),
            _ => Err(format!("the bytes are not {declared}")),
        }
    }
}

/// Drops the expired entries, then the least recently used, until a tenth of the
/// budget is free (so that eviction runs once per many inserts, not on each).
fn make_room(state: &mut State, budget: usize) {
    if state.bytes <= budget {
        return;
    }
    let now = Instant::now();
    let mut by_use: Vec<(u64, Arc<str>)> = Vec::new();
    let mut freed = 0;
    state.ready.retain(|url, entry| {
        if entry.expires <= now {
            freed += entry.size;
            return false;
        }
        by_use.push((entry.used, url.clone()));
        true
    });
    state.bytes -= freed;
    by_use.sort_unstable_by_key(|(used, _)| *used);
    for (_, url) in by_use {
        if state.bytes <= budget - budget / 10 {
            break;
        }
        if let Some(entry) = state.ready.remove(&url) {
            state.bytes -= entry.size;
        }
    }
}

/// The image types taken, and the first bytes of each.
const KINDS: [(&str, &[u8]); 4] = [
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/gif", b"GIF8"),
    ("image/jpeg", b"\xff\xd8\xff"),
    ("image/webp", b"RIFF"),
];

/// The type the bytes say they are.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let (kind, _) = KINDS.iter().find(|(_, magic)| bytes.starts_with(magic))?;
    (*kind != "image/webp" || bytes.get(8..12) == Some(b"WEBP")).then_some(*kind)
}

/// `data:<kind>;base64,<bytes>`
pub fn data_uri(kind: &str, bytes: &[u8]) -> String {
    let mut uri = String::with_capacity(kind.len() + 13 + bytes.len().div_ceil(3) * 4);
    uri.push_str("data:");
    uri.push_str(kind);
    uri.push_str(";base64,");
    base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut uri);
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_must_be_what_they_say() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(b"GIF89a..."), Some("image/gif"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(data_uri("image/png", b"abc"), "data:image/png;base64,YWJj");
    }

    fn insert(state: &mut State, url: &str, size: usize, expires: Instant) {
        state.tick += 1;
        let entry = CachedImage { image: None, expires, used: state.tick, size };
        state.ready.insert(url.into(), entry);
        state.bytes += size;
    }

    #[test]
    fn eviction_drops_the_expired_then_the_least_recently_used() {
        let mut state = State::default();
        let later = Instant::now() + IMAGE_TTL;
        insert(&mut state, "old", 400, later);
        insert(&mut state, "expired", 400, Instant::now());
        insert(&mut state, "recent", 400, later);
        state.ready.get_mut("old").unwrap().used = 100; // used since: now the most recent
        insert(&mut state, "new", 400, later);
        make_room(&mut state, 1000);
        let mut left: Vec<&str> = state.ready.keys().map(|k| &**k).collect();
        left.sort();
        assert_eq!(left, ["new", "old"]);
        assert_eq!(state.bytes, 800);
    }
}
