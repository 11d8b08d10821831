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
use http::StatusCode;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, ETAG, HeaderMap, HeaderValue, REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS,
};
use http::request::Parts;

use super::presence::not_modified;
use super::response::{self, Reply};
use super::{Api, accept, service};
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
        let etag = etag(text.as_bytes());
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
    demo: Option<String>,
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
fn demo_members() -> String {
    let members: Vec<_> = crate::demo::guild::roster()
        .map(|(id, name)| serde_json::json!({"id": id.to_string(), "name": name}))
        .collect();
    escape_for_script(serde_json::Value::from(members).to_string().as_bytes())
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

/// `GET /` for a request that does not prefer HTML: the JSON summary, marked as
/// varying with `Accept`; `None` when the page is wanted (it may wait for the store).
pub fn root_now(api: &Api, headers: &HeaderMap) -> Option<Reply> {
    if accept::prefers_html(headers) {
        return None;
    }
    let mut reply = service::root(api);
    reply.headers_mut().insert(VARY, HeaderValue::from_static("accept"));
    Some(reply)
}

/// `GET /` for a browser: the page, for the user of `?id=` if any.
pub async fn page(api: &Api, parts: &Parts) -> Reply {
    let page = &api.page;
    let mut data = format!(
        r#"{{"version":{},"perSecond":{},"cdn":{},"spotify":{}"#,
        json_string(env!("CARGO_PKG_VERSION")),
        page.per_second,
        json_string(&page.cdn),
        json_string(&page.spotify),
    );
    if let Some(demo) = &page.demo {
        data.push_str(",\"demo\":");
        data.push_str(demo);
    }
    if let Some(user) = parts.uri.query().and_then(query_id) {
        data.push_str(&format!(r#","initial":{{"id":"{user}""#));
        match api.app.reads.get(user).await {
            Ok(Some(published)) => {
                // Checked before escaping too: a big presence is not copied only to be dropped.
                let lanyard = &published.lanyard_data;
                let escaped = (lanyard.len() <= EMBED_LIMIT).then(|| escape_for_script(lanyard));
                if let Some(presence) = escaped.filter(|p| p.len() <= EMBED_LIMIT) {
                    data.push_str(",\"presence\":");
                    data.push_str(&presence);
                }
            }
            Ok(None) => data.push_str(",\"presence\":null"),
            Err(e) => tracing::warn!(%user, "the page goes without the presence: {e}"),
        }
        data.push('}');
    }
    data.push('}');

    let mut html = String::with_capacity(page.head.len() + data.len() + page.tail.len() + 64);
    html.push_str(&page.head);
    html.push_str(r#"<script type="application/json" id="harmy-config">"#);
    html.push_str(&data);
    html.push_str("</script>");
    html.push_str(&page.tail);
    let body = Bytes::from(html);
    let etag = etag(&body);
    let mut reply = if not_modified(&parts.headers, &etag) {
        response::empty(StatusCode::NOT_MODIFIED)
    } else {
        response::typed(StatusCode::OK, body, HeaderValue::from_static("text/html; charset=utf-8"))
    };
    let headers = reply.headers_mut();
    headers.insert(ETAG, etag);
    headers.insert(CONTENT_SECURITY_POLICY, page.csp.clone());
    // The presence inside changes: always revalidate (a 304 when nothing did).
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(VARY, HeaderValue::from_static("accept"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    reply
}

/// `GET /web/app.js` or `/web/style.css`. Linked from the page with `?v=<ETag>`,
/// they are cached for good under that name; other URLs revalidate every time.
pub fn asset(api: &Api, name: AssetName, parts: &Parts) -> Reply {
    let asset = api.page.asset(name);
    let mut reply = if not_modified(&parts.headers, &asset.etag) {
        response::empty(StatusCode::NOT_MODIFIED)
    } else {
        response::typed(StatusCode::OK, asset.body.clone(), asset.content_type.clone())
    };
    let versioned =
        parts.uri.query().is_some_and(|q| q.split('&').any(|p| p.strip_prefix("v=") == Some(&asset.version)));
    let headers = reply.headers_mut();
    headers.insert(ETAG, asset.etag.clone());
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static(if versioned { "public, max-age=31536000, immutable" } else { "no-cache" }),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    reply
}

/// The user of `?id=`, when it is one.
fn query_id(query: &str) -> Option<UserId> {
    query.split('&').find_map(|pair| pair.strip_prefix("id="))?.parse().ok()
}

/// A strong ETag: a hash of the exact bytes (as the presence bodies have).
fn etag(body: &[u8]) -> HeaderValue {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    HeaderValue::from_str(&format!("\"{:016x}\"", h.finish())).unwrap_or(HeaderValue::from_static("\"0\""))
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
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
        let members: serde_json::Value = serde_json::from_str(page.demo.as_deref().unwrap()).unwrap();
        assert_eq!(members.as_array().unwrap().len(), 20);
        assert_eq!(members[0], serde_json::json!({"id": "1300000000000000001", "name": "Ada"}));
        assert_eq!((page.cdn.as_str(), page.spotify.as_str()), ("", ""));
        assert!(page.csp.to_str().unwrap().contains("img-src 'self' data:;"));
    }

    #[test]
    fn the_id_comes_from_the_query() {
        assert_eq!(query_id("id=470320681905684500"), Some(UserId(470320681905684500)));
        assert_eq!(query_id("x=1&id=42"), Some(UserId(42)));
        assert_eq!(query_id("id=abc"), None);
        assert_eq!(query_id("uid=42"), None);
    }
}
