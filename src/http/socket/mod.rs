//! `GET /socket`: Lanyard's WebSocket (docs/API.md). The upgrade is hyper's;
//! the frames are tokio-websockets' (the codec twilight already uses).
//!
//! * `session` — one socket: its client's ops, its own frames, its timers;
//!   `hub` — subscriptions and the fan-out of presence updates; `line` — a
//!   session's socket and its queue of pushes (with the one fast path: a push
//!   written straight to an idle socket); `init_state` — the shared INIT_STATE
//!   of `subscribe_to_all`; `protocol` — Lanyard's ops and frames.
//! * The limits of docs/SECURITY.md and where they hold: message size, message rate
//!   (`session`), ids per session (`hub`), queue bytes and receipt (`line`),
//!   sockets per address (here, before the upgrade), `subscribe_to_all`
//!   (`session`, `init_state`).

pub mod hub;
pub mod init_state;
pub mod line;
pub mod protocol;
pub mod session;

use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine;
use http::StatusCode;
use http::header::{
    CONNECTION, HeaderMap, HeaderName, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use http::request::Parts;
use hyper_util::rt::TokioIo;

use super::Api;
use super::error::ApiError;
use super::response::{self, Reply};

/// RFC 6455's GUID for `Sec-WebSocket-Accept`.
const WS_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The `Sec-WebSocket-Accept` answering a key.
fn accept_key(key: &[u8]) -> String {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key);
    sha.update(WS_GUID);
    base64::engine::general_purpose::STANDARD.encode(sha.digest().bytes())
}

/// `Retry-After` of an upgrade refused for `socket.max_per_ip`: a slot frees when
/// one of the address's sockets closes, which cannot be known in advance.
const PER_IP_RETRY_AFTER: u64 = 5;

/// Answers the upgrade with 101 and starts the session once hyper hands over the
/// connection; 429 when `client` (the rate limiter's client address) has
/// `socket.max_per_ip` sockets open.
pub fn upgrade(api: &Arc<Api>, parts: &mut Parts, client: IpAddr) -> Result<Reply, ApiError> {
    let headers = &parts.headers;
    let key = headers.get(SEC_WEBSOCKET_KEY).map(|k| k.as_bytes().to_vec());
    let ok = has_token(headers, UPGRADE, "websocket")
        && has_token(headers, CONNECTION, "upgrade")
        && headers.get(SEC_WEBSOCKET_VERSION).is_some_and(|v| v == "13");
    let (true, Some(key)) = (ok, key) else { return Err(ApiError::upgrade_required()) };
    let query = parts.uri.query().unwrap_or_default();
    let zlib = crate::query::first(query, "compression").is_some_and(|c| c == "zlib_json");
    let Some(slot) = api.sockets_per_ip.take(super::ratelimit::bucket(client)) else {
        api.metrics.rate_limited.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut reply = ApiError::rate_limited(PER_IP_RETRY_AFTER).reply(crate::app::reads::Shape::Native);
        reply.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from(PER_IP_RETRY_AFTER));
        return Ok(reply);
    };
    let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
        return Err(ApiError::internal(&"connection cannot be upgraded"));
    };
    let (session_api, stop) = (api.clone(), api.stop.clone());
    // Tracked, so that shutdown waits (up to its drain time) for the session's close.
    api.alive.spawn(async move {
        // Held for the session's life, whatever ends it.
        let _slot = slot;
        match on_upgrade.await {
            // The fan-out writes to the TCP socket itself (see `line`).
            Ok(upgraded) => match upgraded.downcast::<TokioIo<tokio::net::TcpStream>>() {
                Ok(parts) => session::run(session_api, parts.io.into_inner(), parts.read_buf, zlib, stop).await,
                Err(_) => tracing::error!("socket upgrade: the connection is not a TCP stream"),
            },
            Err(e) => tracing::debug!("socket upgrade failed: {e}"),
        }
    });
    let mut reply = response::empty(StatusCode::SWITCHING_PROTOCOLS);
    let h = reply.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(SEC_WEBSOCKET_ACCEPT, HeaderValue::from_str(&accept_key(&key)).expect("base64 is a valid header value"));
    Ok(reply)
}

#[cfg(test)]
mod tests {
    #[test]
    fn accept_key_matches_rfc_6455_example() {
        assert_eq!(super::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}
