//! The web page in a real browser: headless Chromium, driven over the DevTools
//! protocol, opens `/?id=<user>` on the real binary fed by the fake Discord
//! gateway (images from the fake CDN), with the default rate limits.
//!
//! Not part of `cargo test` (`test = false` in Cargo.toml: a machine without a
//! browser must still pass it); `.ci/run` runs it as its own step with
//! `cargo test --test browser`, after installing Chromium when it is missing. It
//! fails, never skips, when there is no browser.

#[path = "../support/mod.rs"]
mod support;

mod cdp;

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use support::api::{ALICE, ALICE_ID, serve_with};
use support::discord_gateway::{Guild, member_full, presence_update, presence_with};

/// A member whose display name is an attack on pages that build HTML from strings.
const MALLORY_ID: u64 = 94490510688792576;
const HOSTILE_NAME: &str = r#"<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>"#;
/// An id no guild has.
const NOBODY: &str = "175928847299117063";
/// How long Alice has been playing when the test starts.
const GAME_STARTED: Duration = Duration::from_secs(5 * 60 + 7);
/// How soon a pushed change must show.
const LIVE_WITHIN: Duration = Duration::from_secs(2);

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// A Spotify activity that started `into` ago and lasts `length`.
fn spotify(song: &str, artist: &str, into: Duration, length: Duration) -> Value {
    let start = now_ms() - into.as_millis() as u64;
    json!({"name": "Spotify", "type": 2, "id": "spotify:1", "details": song, "state": artist,
           "sync_id": "56MDdzieU2dTT3YLpCdpcA", "party": {"id": format!("spotify:{ALICE}")},
           "timestamps": {"start": start, "end": start + length.as_millis() as u64},
           "assets": {"large_text": "Himmel über Berlin", "large_image": "spotify:ab67616d0000b273fa2f0c9e719ca71f2686ddf3"},
           "flags": 48, "created_at": start})
}

/// A game with rich presence, started `ago`.
fn game(ago: Duration) -> Value {
    json!({"name": "Factorio", "type": 0, "id": "game1", "application_id": "1300000000000000202",
           "details": "Megabase", "state": "Fixing the spaghetti",
           "timestamps": {"start": now_ms() - ago.as_millis() as u64},
           "assets": {"large_image": "1300000000000000999", "large_text": "Nauvis"}, "created_at": now_ms()})
}

/// A custom status with a custom emoji (an image on the CDN).
fn custom_status(text: &str) -> Value {
    json!({"name": "Custom Status", "type": 4, "id": "custom", "state": text,
           "emoji": {"name": "ferris", "id": "1300000000000000777", "animated": false}, "created_at": now_ms()})
}

/// `GET path` from 127.0.0.2, so that the test's own requests do not count
/// against the browser's rate limit (it connects from 127.0.0.1).
async fn get_aside(addr: SocketAddr, path: &str) -> u16 {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let request = http::Request::get(path)
        .header("host", addr.to_string())
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    sender.send_request(request).await.unwrap().status().as_u16()
}

/// Where the screenshots go.
fn screenshot_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts `harmy serve --demo` on a free port, with a HOME and TMPDIR of its own.
fn serve_demo(root: &std::path::Path) -> support::Server {
    let mut cmd = std::process::Command::new(support::harmy_bin());
    cmd.args(["serve", "--demo", "--listen", "127.0.0.1:0"]).current_dir(root);
    for (name, _) in std::env::vars() {
        if name.starts_with("HARMY_") || name.starts_with("XDG_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("HOME", root).env("TMPDIR", root).env("HARMY_LOG", "info");
    support::Server::start(cmd)
}

#[test]
fn the_demo_page_lists_the_demo_members_as_links() {
    let root = tempfile::tempdir().unwrap();
    let demo = serve_demo(root.path());
    let addr = demo.http.expect("the demo's address");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        support::api::until("the demo guild", || async {
            (get_aside(addr, "/user/1300000000000000003").await == 200).then_some(())
        })
        .await;
        let browser = cdp::Chromium::launch();
        let page = cdp::Page::open(&browser).await;
        page.set_width(1280, 900).await;
        page.navigate(&format!("http://{addr}/")).await;
        page.wait_for("the member list", "!document.getElementById('demo').hidden", secs(5)).await;
        assert_eq!(page.eval("document.querySelectorAll('#demo-list a').length").await, 20);
        assert_eq!(page.eval("document.querySelector('#demo-list a').textContent").await, "Ada");
        // The third member, chosen by keyboard.
        page.eval("document.querySelectorAll('#demo-list a')[2].focus()").await;
        page.press("Enter", 13).await;
        page.wait_for(
            "Cyrene's presence",
            "document.getElementById('display-name').textContent === 'Cyrene' && !document.getElementById('profile').hidden",
            secs(5),
        )
        .await;
        assert_eq!(page.eval("location.search").await, "?id=1300000000000000003");
        assert_eq!(page.eval("document.querySelectorAll('#demo-list a')[2].getAttribute('aria-current')").await, "page");
        page.wait_for("the socket", "document.getElementById('connection').dataset.state === 'live'", secs(10)).await;
        let dir = screenshot_dir();
        std::fs::write(dir.join("demo-1280.png"), page.screenshot(1280).await).unwrap();
        assert_no_errors(&page);
        assert_requests_stayed_home(&page, &addr, &[]);
    });
}

#[test]
fn the_page_shows_a_presence_live_and_safely_in_a_real_browser() {
    let set_up = Instant::now();
    let alice = member_full(ALICE_ID, "alice", "Alice", "5c11d7292c91e510c2b4f07946ea6d72", None);
    let mallory = member_full(MALLORY_ID, "mallory", HOSTILE_NAME, "a_0123456789abcdef0123456789abcdef", None);
    let activities = vec![
        spotify("BMW", "Pashanim", Duration::from_secs(30), Duration::from_secs(180)),
        game(GAME_STARTED),
        custom_status("shipping the web page"),
    ];
    let guild = Guild::new(1)
        .member(alice, Some(presence_with(ALICE_ID, "online", json!({"desktop": "online"}), activities)))
        .member(mallory, Some(presence_with(MALLORY_ID, "idle", json!({"mobile": "idle"}), vec![])));
    // Default rate limits; Discord's CDN and Spotify's image host are the fake CDN.
    let cdn = support::cdn::FakeCdn::start();
    for (prefix, rgb, side) in [
        ("/avatars/", [88, 101, 242], 128),
        ("/spotify/", [29, 185, 84], 64),
        ("/app-assets/", [230, 126, 34], 64),
        ("/emojis/", [222, 165, 132], 48),
    ] {
        cdn.set(prefix, support::cdn::Answer::png(support::cdn::png(rgb, side, side)));
    }
    let served = serve_with(&cdn.card_toml(32 << 20), guild);
    let addr = served.addr;
    let origin = format!("http://{addr}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        support::api::until("Alice in the cache", || async {
            (get_aside(addr, &format!("/user/{ALICE}")).await == 200).then_some(())
        })
        .await;
        // The baseline of a first visit, in a browser of its own, before the page's.
        let baseline = health_painted(&cdp::Chromium::launch(), &origin).await;
        println!("baseline, first visit: /health in a new browser: first contentful paint {baseline} ms");
        // A second for that request to leave the rate limit's window.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let browser = cdp::Chromium::launch();
        let page = cdp::Page::open(&browser).await;
        page.set_width(1280, 900).await;
        page.call("Emulation.setFocusEmulationEnabled", json!({"enabled": true})).await;
        page.browser_call(
            "Browser.grantPermissions",
            json!({"origin": origin, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]}),
        )
        .await;

        // The presence, drawn from the page itself.
        page.navigate(&format!("{origin}/?id={ALICE}")).await;
        page.wait_for("Alice's name", "document.getElementById('display-name').textContent === 'Alice'", secs(5)).await;
        assert_eq!(page.eval("document.getElementById('status-dot').dataset.status").await, "online");
        assert_eq!(page.eval("document.getElementById('song').textContent").await, "BMW");
        assert_eq!(page.eval("document.getElementById('artist').textContent").await, "by Pashanim");
        assert_eq!(page.eval("document.getElementById('custom-text').textContent").await, "shipping the web page");
        let status_line = page.eval("document.getElementById('status-line').textContent").await;
        assert_eq!(status_line, "Online on desktop · Listening to BMW by Pashanim");
        assert_eq!(page.eval("document.getElementById('status-line').getAttribute('aria-live')").await, "polite");
        assert_eq!(page.eval("document.getElementById('demo').hidden").await, true, "no member list outside the demo");
        let timing = first_paint(&page).await;
        println!("first paint of the presence, first visit in a new browser: {timing}");
        // Again, as a visitor whose browser runs already and has the assets cached. The
        // first visit used the second's whole allowance (3 requests, the default) and
        // opens its socket a second later: coming back before that would be refused
        // (429), as for any client, so the visitor returns once it is live.
        page.wait_for("the socket", "document.getElementById('connection').dataset.state === 'live'", secs(10)).await;
        page.navigate("about:blank").await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        page.navigate(&format!("{origin}/?id={ALICE}")).await;
        page.wait_for("Alice's name", "document.getElementById('display-name').textContent === 'Alice'", secs(5)).await;
        let timing = first_paint(&page).await;
        println!("first paint of the presence, second visit: {timing}");
        page.wait_for(
            "the avatar, the album art and the emoji",
            "['avatar', 'album-art', 'custom-emoji'].every((id) => { const i = document.getElementById(id); return i.complete && i.naturalWidth > 0; })",
            secs(5),
        )
        .await;
        let dir = screenshot_dir();
        std::fs::write(dir.join("page-1280-top.png"), page.screenshot_viewport().await).unwrap();

        // The song's progress moves every second; the game shows its elapsed time.
        let before = page.eval("document.getElementById('elapsed-song').textContent").await;
        page.wait_for(
            "the song's clock to move",
            &format!("document.getElementById('elapsed-song').textContent !== {before}"),
            secs(3),
        )
        .await;
        let percent = page.eval("Number(document.getElementById('progress').getAttribute('aria-valuenow'))").await;
        assert!((15.0..=40.0).contains(&percent.as_f64().unwrap()), "30 s into 3 min: {percent}%");
        let elapsed = page.eval("document.querySelector('#activities .elapsed').textContent").await;
        let elapsed = elapsed.as_str().unwrap();
        let seconds = elapsed
            .strip_suffix(" elapsed")
            .and_then(|clock| clock.split_once(':'))
            .and_then(|(m, s)| Some(m.parse::<u64>().ok()? * 60 + s.parse::<u64>().ok()?));
        let since_set_up = GAME_STARTED.as_secs() + set_up.elapsed().as_secs();
        assert!(
            seconds.is_some_and(|s| (GAME_STARTED.as_secs()..=since_set_up + 1).contains(&s)),
            "{elapsed}, the game started {since_set_up} s ago"
        );
        assert_eq!(page.eval("document.querySelector('#activities .title').textContent").await, "Factorio");

        // Live: a change pushed through the gateway shows without a reload.
        page.wait_for("the socket", "document.getElementById('connection').dataset.state === 'live'", secs(10)).await;
        page.eval("window.notReloaded = true").await;
        let pushed = Instant::now();
        let song = spotify("Glasshouse", "Mira Sol", Duration::ZERO, Duration::from_secs(243));
        served.gw().dispatch("PRESENCE_UPDATE", presence_update(1, ALICE_ID, "dnd", vec![song]));
        let (_, shown) = page
            .wait_for(
                "the pushed change",
                "document.getElementById('status-dot').dataset.status === 'dnd' && \
                 document.getElementById('song').textContent === 'Glasshouse'",
                LIVE_WITHIN,
            )
            .await;
        println!("pushed change shown after {:?}", shown - pushed);
        assert_eq!(page.eval("window.notReloaded").await, true);
        assert_eq!(page.eval("document.querySelectorAll('#activities li').length").await, 0, "the game ended");

        // The raw JSON of both shapes.
        let raw = page.eval("document.getElementById('raw-json').textContent").await;
        let lanyard: Value = serde_json::from_str(raw.as_str().unwrap()).unwrap();
        assert_eq!(lanyard["data"]["discord_status"], "dnd");
        page.eval("document.getElementById('shape-native').click()").await;
        let (native, _) = page
            .wait_for(
                "the native shape",
                "document.getElementById('raw-json').textContent.includes('spotifyActivity') && \
                 document.getElementById('raw-json').textContent",
                secs(5),
            )
            .await;
        let native: Value = serde_json::from_str(native.as_str().unwrap()).unwrap();
        assert_eq!(native["presence"]["spotifyActivity"]["song"], "Glasshouse");
        assert_eq!(page.eval("document.getElementById('shape-native').getAttribute('aria-pressed')").await, "true");

        // The snippets name this server and this user; a copy button copies one.
        let markdown = page.eval("document.querySelector('[data-snippet=markdown]').textContent").await;
        assert_eq!(markdown, format!("![Discord presence]({origin}/user/{ALICE}/card.svg)"));
        for snippet in ["img", "fetch", "socket", "kv"] {
            let text = page.eval(&format!("document.querySelector('[data-snippet={snippet}]').textContent")).await;
            assert!(text.as_str().unwrap().contains(ALICE), "{snippet}: {text}");
        }
        let socket = page.eval("document.querySelector('[data-snippet=socket]').textContent").await;
        assert!(socket.as_str().unwrap().contains(&format!("ws://{addr}/socket")), "{socket}");
        page.eval("document.querySelector('button[data-copy=markdown]').click()").await;
        let (copied, _) = page.wait_for("the copy", "navigator.clipboard.readText().catch(() => '')", secs(5)).await;
        assert_eq!(copied, markdown);

        // Screenshots, wide and phone-sized; no horizontal scroll at 360 px.
        std::fs::write(dir.join("page-1280.png"), page.screenshot(1280).await).unwrap();
        page.set_width(360, 800).await;
        let (scroll, view) = (
            page.eval("document.documentElement.scrollWidth").await,
            page.eval("document.documentElement.clientWidth").await,
        );
        assert!(scroll.as_u64() <= view.as_u64(), "horizontal scroll at 360 px: {scroll} > {view}");
        std::fs::write(dir.join("page-360.png"), page.screenshot(360).await).unwrap();
        // Dark by the system's preference.
        let light = page.eval("getComputedStyle(document.body).backgroundColor").await;
        let dark = json!([{"name": "prefers-color-scheme", "value": "dark"}]);
        page.call("Emulation.setEmulatedMedia", json!({"features": dark})).await;
        let background = page.eval("getComputedStyle(document.body).backgroundColor").await;
        assert_ne!(background, light, "no dark colours");
        std::fs::write(dir.join("page-360-dark.png"), page.screenshot(360).await).unwrap();
        page.call("Emulation.setEmulatedMedia", json!({"features": []})).await;
        page.set_width(1280, 900).await;
        println!("screenshots in {}", dir.display());

        // Another user, by keyboard: a hostile name shows as text.
        let scripts = page.eval("document.scripts.length").await;
        choose_by_keyboard(&page, &MALLORY_ID.to_string()).await;
        page.wait_for(
            "Mallory's name",
            &format!("document.getElementById('display-name').textContent === {}", json!(HOSTILE_NAME)),
            secs(5),
        )
        .await;
        assert_eq!(page.eval("location.search").await, format!("?id={MALLORY_ID}"));
        assert_eq!(page.eval("document.getElementById('status-dot').dataset.status").await, "idle");
        assert_eq!(page.eval("document.scripts.length").await, scripts, "no script was added");
        assert_eq!(page.eval("document.querySelectorAll('img[src=x]').length").await, 0);
        assert_eq!(page.eval("typeof window.pwned").await, "undefined");

        // An id nobody has: a clear message, then a malformed one: an error by the field.
        choose_by_keyboard(&page, NOBODY).await;
        page.wait_for(
            "the not-monitored message",
            "document.getElementById('notice').textContent.includes('is not monitored here')",
            secs(5),
        )
        .await;
        assert_eq!(page.eval("document.getElementById('profile').hidden").await, true);
        choose_by_keyboard(&page, "12ab").await;
        let error = page.eval("document.getElementById('user-id-error').textContent").await;
        assert!(error.as_str().unwrap().contains("up to 20 digits"), "{error}");
        assert_eq!(page.eval("document.getElementById('user-id').getAttribute('aria-invalid')").await, "true");

        // Back through the browser's history (the malformed id made no entry), without a reload.
        page.eval("history.back()").await;
        page.wait_for(
            "Mallory again",
            &format!(
                "location.search === '?id={MALLORY_ID}' && document.getElementById('user-id').value === '{MALLORY_ID}' \
                 && document.getElementById('status-dot').dataset.status === 'idle'"
            ),
            secs(5),
        )
        .await;
        assert_eq!(page.eval("window.notReloaded").await, true);

        assert_no_errors(&page);
        assert_requests_stayed_home(&page, &addr, &[&cdn.url]);

        let baseline = health_painted(&browser, &origin).await;
        println!("baseline, second visit: /health in a new tab of that browser: first contentful paint {baseline} ms");
    });
}

/// The baseline for the page's first paint: when a document of the same server with
/// nothing to draw but itself (`/health`, one request) is first painted, in ms after
/// its navigation started, in a new tab of `browser`.
async fn health_painted(browser: &cdp::Chromium, origin: &str) -> Value {
    let tab = cdp::Page::open(browser).await;
    tab.navigate(&format!("{origin}/health")).await;
    tab.eval(
        "new Promise((resolve) => new PerformanceObserver((list, observer) => {
            const fcp = list.getEntriesByName('first-contentful-paint')[0];
            if (fcp) {
                observer.disconnect();
                resolve(Math.round(fcp.startTime));
            }
        }).observe({ type: 'paint', buffered: true }))",
    )
    .await
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Focuses the id field, replaces its text and presses Enter, as a keyboard user would.
async fn choose_by_keyboard(page: &cdp::Page, id: &str) {
    page.eval("(() => { const f = document.getElementById('user-id'); f.focus(); f.select(); })()").await;
    page.type_text(id).await;
    page.press("Enter", 13).await;
}

/// When the presence was first painted, in ms after navigation started: the
/// Element Timing of the name, the page's own mark, and the page's milestones.
async fn first_paint(page: &cdp::Page) -> Value {
    page.eval(
        "new Promise((resolve) => {
            const seen = [];
            const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
            observer.observe({ type: 'element', buffered: true });
            setTimeout(() => {
                observer.disconnect();
                const nav = performance.getEntriesByType('navigation')[0];
                const fcp = performance.getEntriesByName('first-contentful-paint')[0];
                const name = seen.find((e) => e.identifier === 'presence');
                resolve({
                    presencePainted: name ? Math.round(name.renderTime || name.loadTime) : null,
                    presenceDrawn: Math.round(performance.getEntriesByName('harmy:presence')[0]?.startTime ?? -1),
                    firstContentfulPaint: fcp ? Math.round(fcp.startTime) : null,
                    domContentLoaded: Math.round(nav.domContentLoadedEventEnd),
                    load: Math.round(nav.loadEventEnd),
                });
            }, 200);
        })",
    )
    .await
}

/// No console error, uncaught exception, logged error or dialog.
fn assert_no_errors(page: &cdp::Page) {
    let mut errors: Vec<Value> = Vec::new();
    errors.extend(page.events("Runtime.exceptionThrown"));
    errors.extend(
        page.events("Runtime.consoleAPICalled").into_iter().filter(|e| e["type"] == "error" || e["type"] == "assert"),
    );
    errors.extend(page.events("Log.entryAdded").into_iter().filter(|e| e["entry"]["level"] == "error"));
    errors.extend(page.events("Page.javascriptDialogOpening"));
    assert!(errors.is_empty(), "the page reported errors: {errors:#?}");
}

/// Every request the page made went to the server (HTTP or WebSocket), to one of
/// `image_hosts`, or was a `data:` URL.
fn assert_requests_stayed_home(page: &cdp::Page, addr: &SocketAddr, image_hosts: &[&str]) {
    let home = [format!("http://{addr}/"), format!("ws://{addr}/")];
    let requests = page.events("Network.requestWillBeSent");
    assert!(!requests.is_empty(), "no request seen at all");
    let sockets = page.events("Network.webSocketCreated");
    for socket in &sockets {
        let url = socket["url"].as_str().unwrap_or_default();
        assert_eq!(url, format!("ws://{addr}/socket"), "a socket to elsewhere");
    }
    let mut images = 0;
    for request in &requests {
        let url = request["request"]["url"].as_str().unwrap_or_default();
        if image_hosts.iter().any(|host| url.starts_with(host)) {
            assert_eq!(request["type"], "Image", "only images come from elsewhere: {url}");
            images += 1;
            continue;
        }
        assert!(
            home.iter().any(|h| url.starts_with(h.as_str())) || url.starts_with("data:"),
            "a request left the server's origin: {url}"
        );
    }
    println!("{} requests ({images} images from the CDN), {} sockets", requests.len(), sockets.len());
    let refused: Vec<Value> =
        page.events("Network.responseReceived").into_iter().filter(|r| r["response"]["status"] == 429).collect();
    assert!(refused.is_empty(), "the page went over the rate limit: {refused:#?}");
}
