//! A session over a real loopback socket: the heartbeat timeout, the inbound
//! limits, a client that stops reading, and the close on shutdown.

use super::*;
use crate::app::App;
use crate::config::Config;
use tokio_util::task::TaskTracker;

fn api_with(config: Config) -> (tempfile::TempDir, Arc<Api>) {
    let (dir, app) = App::temporary(config);
    (dir, Arc::new(Api::new(app, CancellationToken::new(), TaskTracker::new(), true)))
}

fn api() -> (tempfile::TempDir, Arc<Api>) {
    api_with(Config::default())
}

type Client = WebSocketStream<TcpStream>;

/// A loopback connection: (client end, server end).
async fn connection() -> (TcpStream, TcpStream) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    (client, listener.accept().await.unwrap().0)
}

/// A session over a loopback connection, and the client end.
async fn pipe(api: &Arc<Api>) -> Client {
    let (client, server) = connection().await;
    tokio::spawn(run(api.clone(), server, Bytes::new(), false, api.stop.clone()));
    tokio_websockets::ClientBuilder::new().limits(Limits::unlimited()).take_over(client)
}

async fn closed(ws: &mut Client) -> Option<(u16, String)> {
    while let Some(Ok(message)) = ws.next().await {
        if let Some((code, reason)) = message.as_close() {
            return Some((code.into(), reason.to_string()));
        }
    }
    None
}

async fn close_code(ws: &mut Client) -> Option<u16> {
    closed(ws).await.map(|(code, _)| code)
}

#[tokio::test(start_paused = true)]
async fn silence_closes_after_twice_the_interval_and_any_message_resets_it() {
    let (_dir, api) = api();
    let mut ws = pipe(&api).await;
    assert_eq!(ws.next().await.unwrap().unwrap().as_text(), Some(std::str::from_utf8(protocol::HELLO).unwrap()));
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(50)).await;
    ws.send(Message::text(r#"{"op":3}"#)).await.unwrap();
    assert_eq!(close_code(&mut ws).await, Some(HEARTBEAT_TIMEOUT_CODE));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(110) && waited < Duration::from_secs(111), "{waited:?}");
}

#[tokio::test]
async fn a_message_over_64_kib_closes_with_1009_whole_or_fragmented() {
    let (_dir, api) = api();
    let mut ws = pipe(&api).await;
    ws.next().await.unwrap().unwrap();
    ws.send(Message::text(format!(r#"{{"op":3,"d":"{}"}}"#, "x".repeat(MAX_CLIENT_MESSAGE)))).await.unwrap();
    assert_eq!(close_code(&mut ws).await, Some(TOO_BIG_CODE));

    // Fragments each under the limit, adding up past it.
    let (client, server) = connection().await;
    tokio::spawn(run(api.clone(), server, Bytes::new(), false, api.stop.clone()));
    let config = tokio_websockets::Config::default().frame_size(16 * 1024);
    let mut ws = tokio_websockets::ClientBuilder::new().config(config).take_over(client);
    ws.next().await.unwrap().unwrap();
    ws.send(Message::text("x".repeat(4 * MAX_CLIENT_MESSAGE))).await.unwrap();
    assert_eq!(close_code(&mut ws).await, Some(TOO_BIG_CODE));
    let (_, ok) = (ws, pipe(&api).await);
    let mut ok = ok;
    ok.next().await.unwrap().unwrap();
    ok.send(Message::text(format!(r#"{{"op":3,"d":"{}"}}"#, "x".repeat(MAX_CLIENT_MESSAGE - 100)))).await.unwrap();
    ok.send(Message::text(r#"{"op":2,"d":{"subscribe_to_id":"1"}}"#)).await.unwrap();
    let init = ok.next().await.unwrap().unwrap();
    assert_eq!(init.as_text(), Some(r#"{"op":0,"t":"INIT_STATE","d":{}}"#), "just under the limit is read");
}

#[tokio::test]
async fn a_flood_of_heartbeats_closes_with_4008() {
    let (_dir, api) = api();
    let mut ws = pipe(&api).await;
    ws.next().await.unwrap().unwrap();
    for _ in 0..(BURST as usize + 5) {
        if ws.send(Message::text(r#"{"op":3}"#)).await.is_err() {
            break;
        }
    }
    assert_eq!(closed(&mut ws).await, Some((4008, "rate limited".into())));
}

#[tokio::test]
async fn subscribe_to_all_turned_off_closes_with_4006_and_a_reason() {
    let mut config = Config::default();
    config.socket.subscribe_to_all = false;
    let (_dir, api) = api_with(config);
    let mut ws = pipe(&api).await;
    ws.next().await.unwrap().unwrap();
    ws.send(Message::text(r#"{"op":2,"d":{"subscribe_to_all":true}}"#)).await.unwrap();
    assert_eq!(closed(&mut ws).await, Some((4006, "subscribe_to_all is disabled on this server".into())));
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_with_1008() {
    let (_dir, api) = api();
    let mut ws = pipe(&api).await;
    ws.next().await.unwrap().unwrap();
    ws.send(Message::text(r#"{"op":2,"d":{"subscribe_to_all":true}}"#)).await.unwrap();
    ws.next().await.unwrap().unwrap();
    // Nothing is read from here on; the session cannot run while this loop fills the
    // socket, then the queue (this test's runtime has one thread).
    let text = Bytes::from(vec![b' '; 512]);
    let mut sent = 0;
    while api.hub.send(crate::ids::UserId(1), text.clone(), None).await == 1 {
        sent += 1;
    }
    let bound = api.app.config().socket.max_queue_bytes / (text.len() + super::super::line::FRAME_OVERHEAD);
    assert!(sent >= bound, "the socket took some, the queue {bound} more: {sent}");
    let closed = timeout(Duration::from_secs(10), closed(&mut ws));
    assert_eq!(closed.await.ok().flatten(), Some((LAGGED_CODE, LAGGED_REASON.to_string())));
    drop(ws);
    let gone = timeout(Duration::from_secs(5), async {
        while api.metrics.sessions.load(Ordering::Relaxed) != 0 {
            tokio::task::yield_now().await;
        }
    });
    assert!(gone.await.is_ok(), "the session is gone");
}

#[tokio::test]
async fn shutdown_during_a_blocked_write_closes_with_1001_after_every_queued_frame() {
    let (_dir, api) = api();
    let mut ws = pipe(&api).await;
    ws.next().await.unwrap().unwrap();
    ws.send(Message::text(r#"{"op":2,"d":{"subscribe_to_all":true}}"#)).await.unwrap();
    ws.next().await.unwrap().unwrap();
    // More than the socket takes while the client reads nothing (the session cannot
    // run meanwhile: one thread), less than the queue bound.
    let text = Bytes::from(vec![b' '; 1000]);
    for _ in 0..7000 {
        assert_eq!(api.hub.send(crate::ids::UserId(1), text.clone(), None).await, 1);
    }
    api.stop.cancel();
    let mut frames = 0;
    let close = loop {
        let message = timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
        if let Some((code, _)) = message.as_close() {
            break u16::from(code);
        }
        assert_eq!(message.as_payload().len(), 1000);
        frames += 1;
    };
    assert_eq!((frames, close), (7000, 1001), "every frame, in full, then the close");
}

#[tokio::test]
async fn shutdown_closes_with_1001() {
    let (_dir, api) = api();
    let mut ws = pipe(&api).await;
    ws.next().await.unwrap().unwrap();
    api.stop.cancel();
    assert_eq!(close_code(&mut ws).await, Some(1001));
}
