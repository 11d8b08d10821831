//! A fake image CDN for the status card's tests: Discord's CDN and Spotify's
//! image host in one local server (`[card]`'s `cdn_url` and
//! `spotify_image_url` both point here). It answers every path with PNG bytes
//! (solid colours drawn with resvg's tiny-skia), or with what a test sets for
//! a path prefix; it can fail with a status, answer slowly, and it counts the
//! requests per path and the most it served at once.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper_util::rt::TokioIo;

/// What the fake answers for a path prefix.
#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Bytes,
}

impl Answer {
    /// A PNG.
    pub fn png(body: Bytes) -> Answer {
        Answer { status: 200, content_type: "image/png".into(), body }
    }
}

#[derive(Default)]
struct State {
    /// Path prefix → answer; the longest matching prefix wins.
    answers: Vec<(String, Answer)>,
    /// Answer everything with this status.
    failing: Option<u16>,
    delay: Duration,
    /// Path and query → requests.
    hits: HashMap<String, usize>,
}

/// A running fake CDN; it lives until the test process ends.
pub struct FakeCdn {
    /// Its base URL.
    pub url: String,
    state: Arc<Mutex<State>>,
    in_flight: Arc<AtomicUsize>,
    most_in_flight: Arc<AtomicUsize>,
}

/// A `width` × `height` PNG of one colour.
pub fn png(rgb: [u8; 3], width: u32, height: u32) -> Bytes {
    let mut pixmap = resvg::tiny_skia::Pixmap::new(width, height).unwrap();
    pixmap.fill(resvg::tiny_skia::Color::from_rgba8(rgb[0], rgb[1], rgb[2], 255));
    Bytes::from(pixmap.encode_png().unwrap())
}

/// A PNG of noise (it does not compress), about `3 * side * side` bytes.
pub fn noise_png(side: u32, seed: u32) -> Bytes {
    let mut pixmap = resvg::tiny_skia::Pixmap::new(side, side).unwrap();
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    for pixel in pixmap.data_mut().chunks_mut(4) {
        for channel in &mut pixel[..3] {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *channel = x as u8;
        }
        pixel[3] = 255; // opaque, so any colour is a valid premultiplied one
    }
    Bytes::from(pixmap.encode_png().unwrap())
}

impl FakeCdn {
    /// Binds 127.0.0.1:0 and serves in a thread of its own; every path gets a
    /// 16 × 16 PNG of `rgb(88, 101, 242)` until a test says otherwise.
    pub fn start() -> FakeCdn {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind fake CDN");
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            answers: vec![(String::new(), Answer::png(png([88, 101, 242], 16, 16)))],
            ..State::default()
        }));
        let (in_flight, most_in_flight) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let cdn =
            FakeCdn { url, state: state.clone(), in_flight: in_flight.clone(), most_in_flight: most_in_flight.clone() };
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                while let Ok((stream, _)) = listener.accept().await {
                    let (state, in_flight, most) = (state.clone(), in_flight.clone(), most_in_flight.clone());
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
                            let (state, in_flight, most) = (state.clone(), in_flight.clone(), most.clone());
                            async move {
                                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                                most.fetch_max(now, Ordering::SeqCst);
                                let path = request.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
                                let (answer, delay) = {
                                    let mut state = state.lock().unwrap();
                                    *state.hits.entry(path.clone()).or_default() += 1;
                                    let answer = state
                                        .answers
                                        .iter()
                                        .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
                                        .max_by_key(|(prefix, _)| prefix.len())
                                        .map(|(_, a)| a.clone())
                                        .unwrap();
                                    let answer = match state.failing {
                                        Some(status) => {
                                            Answer { status, content_type: "text/plain".into(), body: "down".into() }
                                        }
                                        None => answer,
                                    };
                                    (answer, state.delay)
                                };
                                tokio::time::sleep(delay).await;
                                in_flight.fetch_sub(1, Ordering::SeqCst);
                                let response = Response::builder()
                                    .status(answer.status)
                                    .header("content-type", answer.content_type)
                                    .body(Full::new(answer.body))
                                    .unwrap();
                                Ok::<_, Infallible>(response)
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        cdn
    }

    /// The `[card]` section pointing at this fake.
    pub fn card_toml(&self, image_cache_bytes: usize) -> String {
        format!(
            "[card]\ncdn_url = \"{}\"\nspotify_image_url = \"{}/spotify\"\nimage_cache_bytes = {image_cache_bytes}\n",
            self.url, self.url
        )
    }

    /// Answers paths starting with `prefix` with `answer`.
    pub fn set(&self, prefix: &str, answer: Answer) {
        let mut state = self.state.lock().unwrap();
        state.answers.retain(|(p, _)| p != prefix);
        state.answers.push((prefix.to_string(), answer));
    }

    /// Answers everything with `status`, or normally again with `None`.
    pub fn fail_with(&self, status: Option<u16>) {
        self.state.lock().unwrap().failing = status;
    }

    /// Waits this long before every answer.
    pub fn delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// Requests whose path and query start with `prefix`.
    pub fn hits(&self, prefix: &str) -> usize {
        self.state.lock().unwrap().hits.iter().filter(|(p, _)| p.starts_with(prefix)).map(|(_, n)| n).sum()
    }

    /// Every path and query asked for, sorted.
    pub fn paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self.state.lock().unwrap().hits.keys().cloned().collect();
        paths.sort();
        paths
    }

    /// The most requests served at once so far.
    pub fn most_at_once(&self) -> usize {
        self.most_in_flight.load(Ordering::SeqCst)
    }
}
