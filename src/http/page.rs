//! The web page at `/` (browsers; everyone else keeps the JSON of `service::root`)
//! and its two assets, `/web/app.js` and `/web/style.css`: vanilla HTML, CSS and
//! JavaScript from `web/`, embedded in the binary.
//!
//! The page arrives with what its script needs to draw at once: the configured
//! image hosts, the per-second rate limit, the asked-for user's presence (when
//! small enough; else it comes over `/socket`) and, under `serve --demo` only, the
//! demo members (the page never lists members otherwise; the demo shows no images,
//! since it reaches no network). That block is JSON in a `<script type="application/json">`,
//! which browsers never run, with `<`, `>` and `&` escaped so no presence text can
//! close it. The `Content-Security-Policy` allows scripts, styles and connections
//! from the server only, and images from it, `data:` and the two image hosts.

use bytes::Bytes;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderMap, HeaderValue, REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS,
};

use super::response::{self, Reply};
use super::{Api, accept, service};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::app::reads::Keep;
use crate::app::{App, PresenceSource};
use crate::ids::UserId;

const HTML: &str = include_str!("../../web/index.html");
const SCRIPT: &str = include_str!("../../web/app.js");
const STYLE: &str = include_str!("../../web/style.css");

/// Where the template takes the page's data block.
const DATA_MARK: &str = "<!--harmy:config-->";

/// The most bytes of a presence (as escaped into the page) that the page carries; a
/// larger one (a user with a big KV) is left to the socket, so that a page costs the
/// server at most this much beyond its template, whoever it shows.
pub const EMBED_LIMIT: usize = 32 * 1024;

/// One of the page's assets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetName {
    /// `/web/app.js`
    Script,
    /// `/web/style.css`
    Style,
}

impl AssetName {
    /// The asset a file name under `/web/` names.
    pub fn from_file(file: &str) -> Option<AssetName> {
        match file {
            "app.js" => Some(AssetName::Script),
            "style.css" => Some(AssetName::Style),
            _ => None,
        }
    }

    /// The asset's file name under `/web/`.
    pub fn file(self) -> &'static str {
        match self {
            AssetName::Script => "app.js",
            AssetName::Style => "style.css",
        }
    }
}

/// An asset's bytes and headers, made once.
struct Asset {
    body: Bytes,
    content_type: HeaderValue,
    etag: HeaderValue,
    /// The ETag without quotes: the `?v=` the page links the asset with.
    version: String,
}

impl Asset {
    fn new(text: &'static str, content_type: &'static str) -> Asset {
        let etag = crate::etag::of(text.as_bytes());
        let version = etag.to_str().unwrap_or_default().trim_matches('"').to_string();
        Asset {
            body: Bytes::from_static(text.as_bytes()),
            content_type: HeaderValue::from_static(content_type),
            etag,
            version,
        }
    }
}

/// The page and its assets, as this server's configuration fills them in.
pub struct Page {
    /// The template before and after the data block, asset versions filled in.
    head: String,
    tail: String,
    script: Asset,
    style: Asset,
    csp: HeaderValue,
    /// The image hosts as the page's script builds URLs on them (no trailing slash).
    cdn: String,
    spotify: String,
    per_second: u32,
    /// `[{"id":…,"name":…},…]` under `serve --demo`.
    demo: Option<Box<RawValue>>,
}

impl Page {
    /// The page for this server.
    pub fn new(app: &App) -> Page {
        let config = app.config();
        let demo = app.gateway.source() == PresenceSource::Demo;
        let image_hosts = if demo { ["", ""] } else { [config.card.cdn_url.as_str(), &config.card.spotify_image_url] };
        let script = Asset::new(SCRIPT, "text/javascript; charset=utf-8");
        let style = Asset::new(STYLE, "text/css; charset=utf-8");
        let html = HTML
            .replace("{{script_version}}", &script.version)
            .replace("{{style_version}}", &style.version)
            .replace("{{version}}", env!("CARGO_PKG_VERSION"));
        let (head, tail) = html.split_once(DATA_MARK).unwrap_or((&html, ""));
        // A host that cannot go in the policy would only show broken images: the script
        // does not get it either (and what it gets is safe to write into the page).
        let [cdn, spotify] = image_hosts.map(|url| match csp_source(url) {
            Some(_) => url.trim_end_matches('/').to_string(),
            None => String::new(),
        });
        Page {
            head: head.to_string(),
            tail: tail.to_string(),
            csp: content_security_policy(&image_hosts),
            script,
            style,
            cdn,
            spotify,
            per_second: config.rate_limit.per_second,
            demo: demo.then(demo_members),
        }
    }

    fn asset(&self, name: AssetName) -> &Asset {
        match name {
            AssetName::Script => &self.script,
            AssetName::Style => &self.style,
        }
    }
}

/// The policy: everything from the server itself, images also from `data:` and the
/// image hosts that parse as plain `http(s)` origins (with a path, as a prefix).
fn content_security_policy(image_hosts: &[&str; 2]) -> HeaderValue {
    let mut images = String::from("'self' data:");
    for host in image_hosts {
        match csp_source(host) {
            Some(source) => {
                images.push(' ');
                images.push_str(&source);
            }
            None if host.is_empty() => {}
            None => tracing::warn!(
                "image host {host:?} cannot go in the page's Content-Security-Policy; its images will not show"
            ),
        }
    }
    let policy = format!(
        "default-src 'self'; img-src {images}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'self'"))
}

/// The demo's members as the page lists them.
fn demo_members() -> Box<RawValue> {
    let members: Vec<_> = crate::demo::guild::roster()
        .map(|(id, name)| serde_json::json!({"id": id.to_string(), "name": name}))
        .collect();
    serde_json::value::to_raw_value(&members).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// A CSP source for an image host URL: `scheme://host[:port]` plus its path as a
/// prefix (a path source without a trailing `/` would match that one path only).
fn csp_source(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let (host, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let host_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    let path_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_' | '~' | '%');
    if host.is_empty() || !host.chars().all(host_ok) || !path.chars().all(path_ok) {
        return None;
    }
    let slash = if path.is_empty() || path.ends_with('/') { "" } else { "/" };
    Some(format!("{scheme}://{host}{path}{slash}"))
}

/// `GET /`: the page for a browser (for the user of `?id=` if any); for anyone
/// else the JSON summary. Either is marked as varying with `Accept`.
pub async fn root(api: &Api, headers: &HeaderMap, query: &str) -> Reply {
    let mut reply = if accept::prefers_html(headers) { page(api, headers, query).await } else { service::root(api) };
    reply.headers_mut().insert(VARY, HeaderValue::from_static("accept"));
    reply
}

/// What the page's script needs to draw at once, embedded in the page.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageData<'a> {
    version: &'static str,
    per_second: u32,
    cdn: &'a str,
    spotify: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    demo: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    initial: Option<Initial<'a>>,
}

/// The user of `?id=`: their presence (`null`: not served), left out when too large.
#[derive(Serialize)]
struct Initial<'a> {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    presence: Option<Option<&'a RawValue>>,
}

/// The page.
async fn page(api: &Api, headers: &HeaderMap, query: &str) -> Reply {
    let page = &api.page;
    let user = crate::query::first(query, "id").and_then(|id| id.parse::<UserId>().ok());
    let read = match user {
        Some(user) => api.app.reads.get(user, Keep::Bodies).await.inspect_err(|e| {
            tracing::warn!(%user, "the page goes without the presence: {e}");
        }),
        None => Ok(None),
    };
    let presence = match &read {
        Ok(Some(published)) => Some(Some(published.lanyard_data.raw())).filter(|_| {
            let json = published.lanyard_data.as_bytes();
            json.len() + 5 * json.iter().filter(|b| matches!(b, b'<' | b'>' | b'&')).count() <= EMBED_LIMIT
        }),
        Ok(None) => Some(None),
        Err(_) => None,
    };
    let data = PageData {
        version: env!("CARGO_PKG_VERSION"),
        per_second: page.per_second,
        cdn: &page.cdn,
        spotify: &page.spotify,
        demo: page.demo.as_deref(),
        initial: user.map(|user| Initial { id: user.to_string(), presence }),
    };
    let data = escape_for_script(&serde_json::to_vec(&data).unwrap_or_default());
    let mut html = String::with_capacity(page.head.len() + data.len() + page.tail.len() + 64);
    html.push_str(&page.head);
    html.push_str(r#"<script type="application/json" id="harmy-config">"#);
    html.push_str(&data);
    html.push_str("</script>");
    html.push_str(&page.tail);
    let etag = crate::etag::of(html.as_bytes());
    let mut reply = response::tagged(headers, HeaderValue::from_static("text/html; charset=utf-8"), html, etag);
    let headers = reply.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, page.csp.clone());
    // The presence inside changes: always revalidate (a 304 when nothing did).
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    reply
}

/// `GET /web/app.js` or `/web/style.css`. Linked from the page with `?v=<ETag>`,
/// they are cached for good under that name; other URLs revalidate every time.
pub fn asset(api: &Api, name: AssetName, headers: &HeaderMap, query: &str) -> Reply {
    let asset = api.page.asset(name);
    let mut reply = response::tagged(headers, asset.content_type.clone(), asset.body.clone(), asset.etag.clone());
    let versioned = crate::query::first(query, "v").is_some_and(|v| v == asset.version);
    let headers = reply.headers_mut();
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static(if versioned { "public, max-age=31536000, immutable" } else { "no-cache" }),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    reply
}

/// JSON made safe inside `<script>`: `<`, `>` and `&` become `\u` escapes (valid in
/// JSON strings, and absent from JSON outside them), so no `</script>` or `<!--`
/// in a presence can end the block.
fn escape_for_script(json: &[u8]) -> String {
    let mut out = String::with_capacity(json.len() + 16);
    for c in String::from_utf8_lossy(json).chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_hosts_become_csp_sources() {
        assert_eq!(csp_source("https://cdn.discordapp.com").as_deref(), Some("https://cdn.discordapp.com"));
        assert_eq!(csp_source("https://i.scdn.co/image").as_deref(), Some("https://i.scdn.co/image/"));
        assert_eq!(csp_source("http://127.0.0.1:8080/cdn/").as_deref(), Some("http://127.0.0.1:8080/cdn/"));
        for bad in
            ["", "cdn.example", "javascript://x", "https://a; script-src *", "https://a b", "https://", "ftp://x"]
        {
            assert_eq!(csp_source(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_policy_names_the_image_hosts_and_nothing_inline() {
        let csp = content_security_policy(&["https://cdn.discordapp.com", "https://i.scdn.co/image"]);
        let csp = csp.to_str().unwrap();
        assert!(
            csp.starts_with(
                "default-src 'self'; img-src 'self' data: https://cdn.discordapp.com https://i.scdn.co/image/;"
            ),
            "{csp}"
        );
        assert!(!csp.contains("unsafe"), "{csp}");
        let csp = content_security_policy(&["https://x; script-src *", ""]);
        assert!(csp.to_str().unwrap().starts_with("default-src 'self'; img-src 'self' data:;"), "{csp:?}");
    }

    #[test]
    fn embedded_json_cannot_close_its_script_element() {
        let escaped = escape_for_script(br#"{"name":"</script><script>alert(1)</script><!--&"}"#);
        assert!(!escaped.contains('<') && !escaped.contains('>') && !escaped.contains('&'), "{escaped}");
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back["name"], "</script><script>alert(1)</script><!--&");
    }

    #[test]
    fn the_template_takes_the_asset_versions_and_the_data_block() {
        let (_dir, app) = App::temporary(crate::config::Config::default());
        let page = Page::new(&app);
        assert!(page.head.contains(&format!("/web/app.js?v={}", page.script.version)), "{}", page.head);
        assert!(page.head.contains(&format!("/web/style.css?v={}", page.style.version)));
        assert!(!page.head.contains("{{") && !page.tail.contains("{{"));
        assert!(page.tail.trim_start().starts_with("</body>"), "the data block goes at the end of the body");
        assert!(page.demo.is_none(), "no member list outside the demo");
    }

    #[test]
    fn the_demo_lists_its_members_and_shows_no_images() {
        let (_dir, store) = crate::store::Store::temporary();
        let app = App::with_source(crate::config::Config::default(), store, PresenceSource::Demo).unwrap();
        let page = Page::new(&app);
        let members: serde_json::Value = serde_json::from_str(page.demo.as_deref().unwrap().get()).unwrap();
        assert_eq!(members.as_array().unwrap().len(), 20);
        assert_eq!(members[0], serde_json::json!({"id": "1300000000000000001", "name": "Ada"}));
        assert_eq!((page.cdn.as_str(), page.spotify.as_str()), ("", ""));
        assert!(page.csp.to_str().unwrap().contains("img-src 'self' data:;"));
    }
}
