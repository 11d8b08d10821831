//! `cargo bench --bench http -- card`: the status card.
//!
//! * Warm: `GET /user/:id/card.svg` for one user whose card is kept, against a
//!   bare hyper server returning the same bytes and headers, with the `rest`
//!   settings (wrk -t2 -c64 -d10s, 5 rounds in alternating order, the median
//!   of the rounds' ratios).
//! * Cold: the CPU time of one render with every image cached and the
//!   presence changed before each (so the kept card is never valid), measured
//!   with the thread's CPU clock around `Cards::now`.
//!
//! The images come from a local bare server standing in for the CDN: an
//! avatar and an album art of realistic size (noise PNGs of about 20 and 30 KB).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use harmy::app::App;
use harmy::app::presence::{RawPresence, Status};
use harmy::card::Cards;
use harmy::ids::UserId;

use super::{bare_server, bench_config, fetch_full, wrk, wrk_round};

const USER: u64 = 470_320_681_905_684_500;

/// A noise PNG (it does not compress) of `side` × `side`.
fn noise_png(side: u32) -> Bytes {
    let mut pixmap = resvg::tiny_skia::Pixmap::new(side, side).expect("a size");
    let mut x = 0x2545_f491_u32;
    for pixel in pixmap.data_mut().chunks_mut(4) {
        for channel in &mut pixel[..3] {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *channel = x as u8;
        }
        pixel[3] = 255;
    }
    Bytes::from(pixmap.encode_png().expect("a PNG"))
}

fn presence() -> RawPresence {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
    let activities = format!(
        r#"[{{"type":4,"name":"Custom Status","state":"shipping harmy","emoji":{{"name":"🚀"}}}},{{"type":2,"name":"Spotify","id":"spotify:1","details":"BMW","state":"Pashanim","sync_id":"56MDdzieU2dTT3YLpCdpcA","timestamps":{{"start":{},"end":{}}},"assets":{{"large_text":"Himmel über Berlin","large_image":"spotify:ab67616d0000b273fa2f0c9e719ca71f2686ddf3"}}}}]"#,
        now - 60_000,
        now + 120_000
    );
    RawPresence {
        user: r#"{"id":"470320681905684500","username":"vaq","global_name":"Vaq","avatar":"5c11d7292c91e510c2b4f07946ea6d72","discriminator":"0","public_flags":4194880}"#.into(),
        activities: Some(activities.into()),
        status: Status::Online,
    }
}

pub async fn run() -> anyhow::Result<()> {
    let mut png_headers = hyper::HeaderMap::new();
    png_headers.insert("content-type", "image/png".parse()?);
    let (avatar, art) = (noise_png(72), noise_png(90));
    println!("images: avatar {} bytes, album art {} bytes", avatar.len(), art.len());
    let avatar_host = bare_server(avatar, png_headers.clone()).await?;
    let art_host = bare_server(art, png_headers).await?;

    let dir = tempfile::tempdir()?;
    let mut config = bench_config(dir.path())?;
    let path = config.storage.path.clone();
    config.card.cdn_url = format!("http://{avatar_host}");
    config.card.spotify_image_url = format!("http://{art_host}");
    let app = App::new(config.clone(), harmy::store::Store::open(&path)?)?;
    app.presences.insert_raw(UserId(USER), presence());
    let listeners = harmy::http::bind(&config).await?;
    let addr = listeners.api.local_addr()?;
    tokio::spawn(harmy::http::serve(app.clone(), listeners, std::future::pending()));

    cold(&app, &config).await?;
    warm(addr).await
}

/// CPU time of this thread.
fn thread_cpu() -> Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given and nothing else.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

async fn cold(app: &Arc<App>, config: &harmy::config::Config) -> anyhow::Result<()> {
    let cards = Cards::new(&config.card);
    let user = UserId(USER);
    let at = SystemTime::now();
    let card = cards.card(app, user, "", at).await.map_err(|e| anyhow::anyhow!(e.0))?;
    anyhow::ensure!(cards.images().fetches() == 2 && card.svg.len() > 50_000, "the images are inlined");
    let fetched = cards.images().fetches();
    const RENDERS: u32 = 5_000;
    let mut runs = Vec::new();
    for _ in 0..5 {
        let started = thread_cpu();
        for _ in 0..RENDERS {
            app.changes.mark(user);
            let card = cards.card(app, user, "", at).await.map_err(|e| anyhow::anyhow!(e.0))?;
            std::hint::black_box(card);
        }
        runs.push((thread_cpu() - started).as_secs_f64() * 1e6 / f64::from(RENDERS));
    }
    anyhow::ensure!(cards.images().fetches() == fetched, "every image came from the cache");
    runs.sort_by(f64::total_cmp);
    println!(
        "cold render (images cached, presence changed), card of {} bytes: median {:.1} µs of CPU (runs {:.1}–{:.1}; target <= 200)",
        card.svg.len(),
        runs[2],
        runs[0],
        runs[4]
    );
    Ok(())
}

async fn warm(addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let path = format!("/user/{USER}/card.svg");
    fetch_full(addr, &path, &[]).await?; // fetches the images and keeps the card
    let (mut head, body) = fetch_full(addr, &path, &[]).await?;
    anyhow::ensure!(head.get("content-type").is_some_and(|t| t == "image/svg+xml; charset=utf-8"), "a card");
    head.remove(hyper::header::DATE);
    head.remove(hyper::header::CONTENT_LENGTH);
    let bare = bare_server(body.clone(), head).await?;
    let (harmy_url, bare_url) = (format!("http://{addr}{path}"), format!("http://{bare}{path}"));
    wrk(&harmy_url, &["-d2s"]).await?;
    const ROUNDS: usize = 5;
    let mut ratios = Vec::with_capacity(ROUNDS);
    for round in 1..=ROUNDS {
        let (b, o) = wrk_round(round, &bare_url, &harmy_url, &[]).await?;
        println!(
            "round {round}: bare {:>8.0} req/s p99 {:>6.2} ms, CPU/request {:.1} µs | harmy {:>8.0} req/s p99 {:>6.2} ms, \
             CPU/request {:.1} µs | ratio {:.3}",
            b.rps,
            b.p99_ms,
            b.server_us,
            o.rps,
            o.p99_ms,
            o.server_us,
            o.rps / b.rps
        );
        ratios.push(o.rps / b.rps);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "warm card of {} bytes: ratio (median of the rounds' ratios) {:.3} x the bare server (target >= 0.5)",
        body.len(),
        ratios[ROUNDS / 2]
    );
    Ok(())
}
