//! The soak's clients: one HTTP/1.1 request per fresh connection (hyper's
//! client connection), WebSockets, and raw TCP for what a well-behaved client
//! cannot send. Every client names its address in `X-Forwarded-For` (the soak's
//! server trusts 127.0.0.1 as a proxy), so that each gets its own rate limits,
//! as clients on the internet do. Failures are returned, never panicked on:
//! the soak counts them.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest any one request or socket read may take before it counts as failed.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// An address in 10.0.0.0/8 from a number, for `X-Forwarded-For`.
pub fn address(n: u32) -> String {
    let n = n & 0x00ff_ffff;
    format!("10.{}.{}.{}", n >> 16, (n >> 8) & 0xff, n & 0xff)
}

/// One request from `client` on a fresh connection: the status and body.
pub async fn request(
    addr: SocketAddr,
    client: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<(u16, Bytes), String> {
    let body = body.into();
    let exchange = async {
        let stream = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
        let (mut sender, conn) = http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(conn);
        let mut builder = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string())
            .header("x-forwarded-for", client);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Full::new(body)).map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(|e| format!("send: {e}"))?;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.map_err(|e| format!("body: {e}"))?.to_bytes();
        Ok((status, bytes))
    };
    tokio::time::timeout(PATIENCE, exchange).await.map_err(|_| "timed out".to_string())?
}

/// A WebSocket client stream.
pub type Socket = tokio_websockets::WebSocketStream<tokio_websockets::MaybeTlsStream<TcpStream>>;

/// Opens `/socket` as `client`.
pub async fn socket(addr: SocketAddr, client: &str) -> Result<Socket, String> {
    let uri = http::Uri::try_from(format!("ws://{addr}/socket")).map_err(|e| e.to_string())?;
    let value = http::HeaderValue::from_str(client).map_err(|e| e.to_string())?;
    let builder = tokio_websockets::ClientBuilder::from_uri(uri)
        .add_header(http::header::HeaderName::from_static("x-forwarded-for"), value)
        .map_err(|e| e.to_string())?;
    let connect = builder.connect();
    let (ws, _) = tokio::time::timeout(PATIENCE, connect)
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
    Ok(ws)
}

/// What a socket read returned.
#[derive(Debug)]
pub enum Read {
    Text(String),
    Close(u16),
    /// Nothing within the wait.
    Quiet,
    Ended,
}

/// The next data or close frame within `wait`.
pub async fn read(ws: &mut Socket, wait: Duration) -> Read {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Err(_) => return Read::Quiet,
            Ok(None | Some(Err(_))) => return Read::Ended,
            Ok(Some(Ok(m))) if m.is_close() => return Read::Close(m.as_close().map_or(1005, |(c, _)| c.into())),
            Ok(Some(Ok(m))) if m.is_text() => return Read::Text(m.as_text().unwrap_or_default().to_string()),
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// Sends a text frame.
pub async fn say(ws: &mut Socket, text: String) -> Result<(), String> {
    ws.send(tokio_websockets::Message::text(text)).await.map_err(|e| e.to_string())
}

/// Closes a socket as a client does (a close frame).
pub async fn close(ws: &mut Socket) {
    let _ = tokio::time::timeout(PATIENCE, ws.close()).await;
}

/// Writes raw bytes and reads what comes back until the server closes (or `PATIENCE`).
pub async fn raw(addr: SocketAddr, bytes: &[u8]) -> Result<String, String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    // The server may close before it has read everything (a head too large): that is its answer.
    let _ = stream.write_all(bytes).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut out)).await;
    Ok(String::from_utf8_lossy(&out).into_owned())
}
