//! End-to-end tests of the web page at `/` against the real binary: content
//! negotiation both ways, the assets' types, ETags and cache lifetimes, the
//! Content-Security-Policy, that the page references nothing outside the server,
//! the presence it carries (escaped, bounded) and the rate limit it counts
//! against. What the page does in a browser is `tests/browser/` (its own step).

mod support;

use bytes::Bytes;
use serde_json::{Value, json};
use support::api::*;
use support::discord_gateway::{Guild, member_full, presence_with};
use support::http_client::{Reply, get, send};

/// What Chrome sends when it navigates.
const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";
const HOSTILE_NAME: &str = r#"</script><script>alert(1)</script><!--"#;
const MALLORY_ID: u64 = 94490510688792576;

async fn browse(addr: std::net::SocketAddr, path: &str) -> Reply {
    send(addr, "GET", path, &[("accept", BROWSER)], Bytes::new()).await
}

/// The page's data block, parsed.
fn data_block(html: &str) -> Value {
    let start = r#"<script type="application/json" id="harmy-config">"#;
    let from = html.find(start).expect("a data block") + start.len();
    let to = from + html[from..].find("</script>").expect("the block's end");
    serde_json::from_str(&html[from..to]).expect("the block is JSON")
}

/// The values of every `name="…"` attribute in `html`.
fn attributes<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

fn asset_paths(html: &str) -> (String, String) {
    let script = attributes(html, "src").into_iter().find(|s| s.starts_with("/web/app.js")).expect("the script");
    let style = attributes(html, "href").into_iter().find(|s| s.starts_with("/web/style.css")).expect("the style");
    (script.to_string(), style.to_string())
}

#[tokio::test]
async fn browsers_get_the_page_and_everyone_else_the_json() {
    let (_served, addr) = start(NO_LIMITS);
    for accept in [None, Some("*/*"), Some("application/json"), Some("text/html;q=0.5, application/json")] {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("accept", *a)).collect();
        let reply = send(addr, "GET", "/", &headers, Bytes::new()).await;
        assert_eq!(reply.status, 200, "{accept:?}");
        assert_eq!(reply.header("content-type"), "application/json; charset=utf-8", "{accept:?}");
        assert_eq!(reply.json()["name"], "harmy");
        assert_eq!(reply.json()["monitored_users"], 0);
        assert_eq!(reply.header("vary"), "accept", "caches must keep the two apart");
        assert!(reply.header("content-security-policy").is_empty());
    }

    let page = browse(addr, "/").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(page.header("vary"), "accept");
    assert_eq!(page.header("cache-control"), "no-cache");
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert!(!page.header("ratelimit-limit").is_empty(), "the page counts against the rate limit");
    let html = page.text();
    assert!(html.starts_with("<!doctype html>"), "{html}");
    assert!(html.contains(r#"<label for="user-id">"#));
    let data = data_block(&html);
    assert!(!data.as_object().unwrap().contains_key("initial"), "no user asked for");
    assert!(!data.as_object().unwrap().contains_key("demo"), "no member list outside the demo");

    // Strong ETag: a repeat is a 304 without a body.
    let etag = page.header("etag");
    assert!(etag.starts_with('"'), "{etag}");
    let again = send(addr, "GET", "/", &[("accept", BROWSER), ("if-none-match", &etag)], Bytes::new()).await;
    assert_eq!((again.status, again.body.len()), (304, 0));
    assert_eq!(again.header("etag"), etag);

    let head = send(addr, "HEAD", "/", &[("accept", BROWSER)], Bytes::new()).await;
    assert_eq!((head.status, head.header("content-type").as_str()), (200, "text/html; charset=utf-8"));
}

#[tokio::test]
async fn the_assets_have_their_types_etags_and_cache_lifetimes() {
    let (_served, addr) = start(NO_LIMITS);
    let html = browse(addr, "/").await.text();
    let (script, style) = asset_paths(&html);
    let mut total = html.len();
    for (path, content_type) in [(&script, "text/javascript; charset=utf-8"), (&style, "text/css; charset=utf-8")] {
        let reply = get(addr, path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.header("content-type"), content_type, "{path}");
        assert_eq!(reply.header("x-content-type-options"), "nosniff");
        assert_eq!(reply.header("cache-control"), "public, max-age=31536000, immutable", "{path} is versioned");
        let etag = reply.header("etag");
        assert!(path.ends_with(&format!("?v={}", etag.trim_matches('"'))), "{path} is linked by its ETag {etag}");
        let not_modified = send(addr, "GET", path, &[("if-none-match", &etag)], Bytes::new()).await;
        assert_eq!((not_modified.status, not_modified.body.len()), (304, 0));

        let unversioned = get(addr, path.split('?').next().unwrap()).await;
        assert_eq!((unversioned.status, unversioned.header("cache-control").as_str()), (200, "no-cache"));
        assert_eq!(unversioned.body, reply.body);
        let stale = get(addr, &format!("{}?v=0000", path.split('?').next().unwrap())).await;
        assert_eq!(stale.header("cache-control"), "no-cache", "an old version is not cached for good");
        total += reply.body.len();
    }
    assert!(total <= 50 * 1024, "the page and its assets weigh {total} bytes, over 50 KiB");
    let missing = get(addr, "/web/nope.js").await;
    assert_eq!((missing.status, missing.code()), (404, "not_found".into()));
    let post = send(addr, "POST", &script, &[], Bytes::new()).await;
    assert_eq!((post.status, post.code()), (405, "method_not_allowed".into()));
}

#[tokio::test]
async fn the_page_references_nothing_outside_the_server() {
    let cdn = "[card]\ncdn_url = \"https://cdn.example.test/discord/\"\nspotify_image_url = \"https://img.example.test/spotify\"\n";
    let (_served, addr) = start(&format!("{NO_LIMITS}{cdn}"));
    let page = browse(addr, "/").await;
    let html = page.text();

    // Every URL the document loads or links is the server's own, or data:.
    for value in
        attributes(&html, "src").into_iter().chain(attributes(&html, "href")).chain(attributes(&html, "action"))
    {
        let own =
            (value.starts_with('/') && !value.starts_with("//")) || value.starts_with('?') || value.starts_with('#');
        assert!(own || value.starts_with("data:"), "the page references {value:?}");
    }
    // No inline script or style: one script file, the JSON data block, one stylesheet.
    assert_eq!(html.matches("<script").count(), 2, "{html}");
    assert!(html.contains(r#"<script type="application/json" id="harmy-config">"#));
    assert!(!html.contains("<style") && !html.contains(" style="), "inline style");
    let handler = html.match_indices(" on").find(|(i, _)| {
        let name: String = html[i + 3..].chars().take_while(|c| c.is_ascii_lowercase()).collect();
        !name.is_empty() && html[i + 3 + name.len()..].starts_with('=')
    });
    assert!(handler.is_none(), "an inline event handler: {:?}", handler.map(|(i, _)| &html[i..i + 20]));
    let (script, style) = asset_paths(&html);
    for path in [&script, &style] {
        let text = get(addr, path).await.text();
        assert!(!text.contains("://"), "{path} names an absolute URL");
        assert!(!text.contains("@import") && !text.contains("innerHTML") && !text.contains("eval("), "{path}");
    }
    let css = get(addr, &style).await.text();
    assert!(!css.contains("url("), "the stylesheet loads nothing");

    // The policy: the server, data: images and the configured image hosts.
    let csp = page.header("content-security-policy");
    assert!(csp.starts_with("default-src 'self'; "), "{csp}");
    assert!(
        csp.contains("img-src 'self' data: https://cdn.example.test/discord/ https://img.example.test/spotify/;"),
        "{csp}"
    );
    assert!(csp.contains("object-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    // The script builds image URLs on the same hosts.
    let data = data_block(&html);
    assert_eq!(
        (data["cdn"].as_str(), data["spotify"].as_str()),
        (Some("https://cdn.example.test/discord"), Some("https://img.example.test/spotify"))
    );
}

#[test]
fn the_page_carries_the_presence_asked_for_escaped() {
    let mallory = member_full(MALLORY_ID, "mallory", HOSTILE_NAME, "0123456789abcdef0123456789abcdef", None);
    let guild = Guild::new(1).member(mallory, Some(presence_with(MALLORY_ID, "dnd", json!({"web": "dnd"}), vec![])));
    let served = serve_with(NO_LIMITS, guild);
    let addr = served.addr;
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        until("Mallory in the cache", || async {
            (get(addr, &format!("/user/{MALLORY_ID}")).await.status == 200).then_some(())
        })
        .await;
        let page = browse(addr, &format!("/?id={MALLORY_ID}")).await;
        let html = page.text();
        assert!(!html.contains(HOSTILE_NAME) && !html.contains("alert(1)</script>"), "the name is escaped");
        assert_eq!(html.matches("</script>").count(), 2, "only the page's own script elements end");
        let data = data_block(&html);
        assert_eq!(data["initial"]["id"], MALLORY_ID.to_string());
        let presence = &data["initial"]["presence"];
        assert_eq!(presence["discord_user"]["global_name"], HOSTILE_NAME);
        assert_eq!(presence["discord_status"], "dnd");
        let api = get(addr, &format!("/v1/users/{MALLORY_ID}")).await.json();
        assert_eq!(presence, &api["data"], "the page carries what the API says");

        // Not monitored: said so; a malformed id: nothing asked for.
        let nobody = data_block(&browse(addr, "/?id=175928847299117063").await.text());
        assert_eq!(nobody["initial"], json!({"id": "175928847299117063", "presence": null}));
        let malformed = data_block(&browse(addr, "/?id=%3Cscript%3E").await.text());
        assert!(malformed.get("initial").is_none(), "{malformed}");

        // The page changes (a new ETag) when the presence does.
        let etag = page.header("etag");
        let unchanged =
            send(addr, "GET", &format!("/?id={MALLORY_ID}"), &[("accept", BROWSER), ("if-none-match", &etag)], "")
                .await;
        assert_eq!(unchanged.status, 304);
        served
            .gw()
            .dispatch("PRESENCE_UPDATE", support::discord_gateway::presence_update(1, MALLORY_ID, "idle", vec![]));
        let changed = until("the new presence in the page", || async {
            let reply = browse(addr, &format!("/?id={MALLORY_ID}")).await;
            (data_block(&reply.text())["initial"]["presence"]["discord_status"] == "idle").then_some(reply)
        })
        .await;
        assert_ne!(changed.header("etag"), etag);
    });
}

#[tokio::test]
async fn the_page_and_its_assets_count_against_the_rate_limit() {
    // A minute window only, so the count cannot straddle a second boundary.
    let (_served, addr) = start("[rate_limit]\nper_second = 0\nper_minute = 3\n");
    let page = browse(addr, "/").await;
    assert_eq!((page.status, page.header("ratelimit-remaining").as_str()), (200, "2"));
    let (script, style) = asset_paths(&page.text());
    assert_eq!(get(addr, &script).await.status, 200);
    assert_eq!(get(addr, &style).await.status, 200);
    let refused = browse(addr, "/").await;
    assert_eq!((refused.status, refused.code()), (429, "rate_limited".into()));
    assert!(!refused.header("retry-after").is_empty());
    let refused = get(addr, &script).await;
    assert_eq!(refused.status, 429);
}

/// A user whose KV makes their presence larger than the page carries (32 KiB), asked
/// for by many clients that never read: each page stays small (the presence is left
/// to the socket), the server's memory stays within budget, and others are served.
#[test]
fn a_presence_too_big_for_the_page_is_left_to_the_socket_and_stuck_readers_stay_bounded() {
    const CLIENTS: usize = 200;
    const PIPELINED: usize = 20;
    const BUDGET_KIB: u64 = 16 * 1024;
    let alice = member_full(ALICE_ID, "alice", "Alice", "0123456789abcdef0123456789abcdef", None);
    let guild =
        Guild::new(1).member(alice, Some(presence_with(ALICE_ID, "online", json!({"desktop": "online"}), vec![])));
    let served = serve_with(NO_LIMITS, guild);
    let addr = served.addr;
    for key in ["a", "b", "c", "d", "e"] {
        let out = served.instance.cli_with_stdin(&["kv", "set", ALICE, key, "-"], &"<".repeat(9_000));
        assert!(out.status.success(), "{}", support::stderr(&out));
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let api = until("the big KV", || async {
            let reply = get(addr, &format!("/v1/users/{ALICE}")).await;
            (reply.status == 200 && reply.body.len() > 45_000).then_some(reply)
        })
        .await;
        let page = browse(addr, &format!("/?id={ALICE}")).await;
        let html = page.text();
        let data = data_block(&html);
        assert_eq!(data["initial"], json!({"id": ALICE}), "the presence is left to the socket");
        assert!(html.len() < 16 * 1024, "the page is {} bytes for a {}-byte presence", html.len(), api.body.len());

        let before = served.server.memory_kib();
        let request =
            format!("GET /?id={ALICE} HTTP/1.1\r\nhost: {addr}\r\naccept: {BROWSER}\r\n\r\n").repeat(PIPELINED);
        let mut stuck = Vec::new();
        for _ in 0..CLIENTS {
            // A small receive window, so that what the server sends stays in its own memory
            // rather than in the kernel's buffers on this side.
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            let mut stream = socket.connect(addr).await.unwrap();
            tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes()).await.unwrap();
            stuck.push(stream); // never read
        }
        until("the stuck clients' pages to be answered", || async {
            let metrics = get(addr, "/metrics").await.text();
            let served: u64 = metrics
                .lines()
                .find(|l| l.starts_with("harmy_http_requests_total{route=\"/\",status=\"200\"}"))
                .and_then(|l| l.rsplit(' ').next()?.parse().ok())
                .unwrap_or(0);
            (served >= (CLIENTS * PIPELINED) as u64).then_some(())
        })
        .await;
        let other = get(addr, &format!("/user/{ALICE}")).await;
        assert_eq!(other.status, 200, "another client is answered meanwhile");
        let after = served.server.memory_kib();
        let grown = after.rss.saturating_sub(before.rss);
        println!("RSS {} KiB → {} KiB (+{grown} KiB) with {CLIENTS} clients not reading", before.rss, after.rss);
        assert!(grown <= BUDGET_KIB, "RSS grew by {grown} KiB, over the {BUDGET_KIB} KiB budget");
        drop(stuck);
    });
}

#[test]
fn the_demo_page_lists_the_demo_members() {
    let root = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(support::harmy_bin());
    cmd.args(["serve", "--demo", "--listen", "127.0.0.1:0"]).current_dir(root.path());
    for (name, _) in std::env::vars() {
        if name.starts_with("HARMY_") || name.starts_with("XDG_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("HOME", root.path()).env("TMPDIR", root.path()).env("HARMY_LOG", "info");
    let demo = support::Server::start(cmd);
    let addr = demo.http.expect("the demo's address");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let page = browse(addr, "/").await;
        let data = data_block(&page.text());
        let members = data["demo"].as_array().expect("the demo members");
        assert_eq!(members.len(), 20);
        assert_eq!(members[0], json!({"id": "1300000000000000001", "name": "Ada"}));
        assert_eq!(members[19]["id"], "1300000000000000020");
        // The demo reaches no network: no image host for the page either.
        assert_eq!((data["cdn"].as_str(), data["spotify"].as_str()), (Some(""), Some("")));
        let csp = page.header("content-security-policy");
        assert!(csp.contains("img-src 'self' data:;"), "{csp}");
        // The JSON clients see is unchanged.
        assert_eq!(get(addr, "/").await.json()["name"], "harmy");
    });
}
