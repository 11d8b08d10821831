//! A small HTTP/1.1 client for the tests, on hyper's client connection (no
//! second HTTP stack), plus raw-TCP and WebSocket helpers for what a
//! well-behaved client cannot send. Every response it receives, and every
//! socket message read as JSON, is validated against docs/openapi.json
//! (`openapi`).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response, fully read.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value, or "".
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }

    /// The error code of an error body (native or Lanyard envelope).
    pub fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_string()
    }
}

/// Sends one request on a fresh connection.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(conn);
    let mut request = http::Request::builder().method(method).uri(path).header("host", addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body.into())).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(20), sender.send_request(request))
        .await
        .expect("response in time")
        .expect("response");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    super::openapi::check_response(method, path, parts.status.as_u16(), content_type, &body);
    Reply { status: parts.status.as_u16(), headers: parts.headers, body }
}

/// `GET path`
pub async fn get(addr: SocketAddr, path: &str) -> Reply {
    send(addr, "GET", path, &[], Bytes::new()).await
}

/// Writes raw bytes and reads what comes back until the server closes (or 5 s).
pub async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// A WebSocket client stream.
pub type Socket = tokio_websockets::WebSocketStream<tokio_websockets::MaybeTlsStream<TcpStream>>;

/// Connects to `ws://addr{path}`.
pub async fn socket(addr: SocketAddr, path: &str) -> Socket {
    let uri = format!("ws://{addr}{path}");
    let (ws, _) = tokio_websockets::ClientBuilder::new().uri(&uri).unwrap().connect().await.expect("ws connect");
    ws
}

/// What the next frame was.
#[derive(Debug, PartialEq)]
pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
    Close(u16, String),
    Ended,
}

/// The next data or close frame (panics after the harness's patience: a debug-built
/// client reading a large INIT_STATE on a busy machine takes seconds).
pub async fn next(ws: &mut Socket) -> Frame {
    use futures_util::StreamExt;
    loop {
        let item = tokio::time::timeout(super::PATIENCE, ws.next()).await.expect("a frame in time");
        match item {
            None | Some(Err(_)) => return Frame::Ended,
            Some(Ok(m)) if m.is_close() => {
                let (code, reason) =
                    m.as_close().map(|(c, r)| (u16::from(c), r.to_string())).unwrap_or((1005, String::new()));
                return Frame::Close(code, reason);
            }
            Some(Ok(m)) if m.is_text() => return Frame::Text(m.as_text().unwrap().to_string()),
            Some(Ok(m)) if m.is_binary() => return Frame::Binary(m.as_payload().to_vec()),
            Some(Ok(_)) => continue,
        }
    }
}

/// The next frame as text JSON, checked against docs/openapi.json's socket messages
/// (those up to 1 MiB: a debug build would take long over a 10 MB INIT_STATE).
pub async fn next_json(ws: &mut Socket) -> serde_json::Value {
    match next(ws).await {
        Frame::Text(t) => {
            let message = serde_json::from_str(&t).unwrap();
            if t.len() <= 1 << 20 {
                super::openapi::check_socket_message(&message);
            }
            message
        }
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// Sends a text frame.
pub async fn say(ws: &mut Socket, text: &str) {
    use futures_util::SinkExt;
    ws.send(tokio_websockets::Message::text(text.to_string())).await.expect("send");
}
