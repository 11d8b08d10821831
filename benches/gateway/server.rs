//! The benchmark's gateway: as little work per frame as possible so that the
//! client under test is the bottleneck. Frames are built before the clock
//! starts (or with one `format!`), written with `feed` and flushed in batches.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_websockets::{Message, ServerBuilder};

/// What the gateway sends after READY.
#[derive(Clone)]
pub enum Script {
    /// One GUILD_CREATE with every member and presence, then `updates` PRESENCE_UPDATEs;
    /// with `flips`, every other pass over the users sends them offline (each update
    /// then changes the status, half of them to offline: a last-seen time each).
    Flood { guild_create: Arc<String>, updates: usize, users: u64, flips: bool },
    /// A large guild: an empty GUILD_CREATE, then these chunks when op 8 asks; with
    /// `then_offline`, a PRESENCE_UPDATE sending each of the `users` offline after them.
    Chunks { guild_create: Arc<String>, chunks: Arc<Vec<String>>, users: u64, then_offline: bool },
}

/// A running bench gateway.
pub struct BenchGateway {
    /// `ws://127.0.0.1:PORT`.
    pub url: String,
    /// When the first PRESENCE_UPDATE of the last flood was written.
    pub flood_started: Arc<Mutex<Option<Instant>>>,
    /// When the last GUILD_MEMBERS_CHUNK of the last op 8 was flushed.
    pub chunks_sent: Arc<Mutex<Option<Instant>>>,
    _runtime: tokio::runtime::Runtime,
}

impl BenchGateway {
    /// Starts a gateway on its own thread that plays `script` to every connection.
    pub fn start(script: Script) -> BenchGateway {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let flood_started = Arc::new(Mutex::new(None));
        let chunks_sent = Arc::new(Mutex::new(None));
        let (started, sent) = (flood_started.clone(), chunks_sent.clone());
        let resume_url = url.clone();
        runtime.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tcp.set_nodelay(true).ok();
                let (script, started, resume_url) = (script.clone(), started.clone(), resume_url.clone());
                let sent = sent.clone();
                tokio::spawn(async move {
                    let Ok((_, mut ws)) = ServerBuilder::new().accept(tcp).await else { return };
                    let _ = ws.send(Message::text(r#"{"op":10,"d":{"heartbeat_interval":41250}}"#)).await;
                    let mut seq = 0u64;
                    while let Some(Ok(msg)) = ws.next().await {
                        let Some(frame) = msg.as_text().and_then(|t| serde_json::from_str::<Value>(t).ok()) else {
                            continue;
                        };
                        match frame["op"].as_u64() {
                            Some(1) => {
                                let _ = ws.send(Message::text(r#"{"op":11}"#)).await;
                            }
                            Some(2) => {
                                seq += 1;
                                let _ = ws.feed(Message::text(super::frames::ready(seq, &resume_url))).await;
                                match &script {
                                    Script::Flood { guild_create, updates, users, flips } => {
                                        seq += 1;
                                        let _ =
                                            ws.send(Message::text(dispatch(seq, "GUILD_CREATE", guild_create))).await;
                                        flood(&mut ws, &mut seq, (*updates, *users, *flips), &started).await;
                                    }
                                    Script::Chunks { guild_create, .. } => {
                                        seq += 1;
                                        let _ =
                                            ws.send(Message::text(dispatch(seq, "GUILD_CREATE", guild_create))).await;
                                    }
                                }
                            }
                            Some(8) => {
                                if let Script::Chunks { chunks, users, then_offline, .. } = &script {
                                    let nonce = frame["d"]["nonce"].to_string();
                                    for chunk in chunks.iter() {
                                        seq += 1;
                                        let chunk = format!("{chunk}{nonce}}}");
                                        let frame = dispatch(seq, "GUILD_MEMBERS_CHUNK", &chunk);
                                        let _ = ws.feed(Message::text(frame)).await;
                                    }
                                    let _ = ws.flush().await;
                                    *sent.lock().unwrap() = Some(Instant::now());
                                    if *then_offline {
                                        for user in super::frames::FIRST_USER..super::frames::FIRST_USER + users {
                                            seq += 1;
                                            let frame = super::frames::presence_update(seq, user, 0, "offline");
                                            let _ = ws.feed(Message::text(frame)).await;
                                        }
                                        let _ = ws.flush().await;
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                });
            }
        });
        BenchGateway { url, flood_started, chunks_sent, _runtime: runtime }
    }
}

fn dispatch(seq: u64, t: &str, d: &str) -> String {
    format!(r#"{{"op":0,"t":"{t}","s":{seq},"d":{d}}}"#)
}

async fn flood<S>(
    ws: &mut S,
    seq: &mut u64,
    (updates, users, flips): (usize, u64, bool),
    started: &Mutex<Option<Instant>>,
) where
    S: futures_util::Sink<Message> + Unpin,
{
    *started.lock().unwrap() = Some(Instant::now());
    for i in 0..updates {
        *seq += 1;
        let status = if flips && (i as u64 / users) % 2 == 1 { "offline" } else { "online" };
        let frame = super::frames::presence_update(*seq, super::frames::FIRST_USER + i as u64 % users, i, status);
        if ws.feed(Message::text(frame)).await.is_err() {
            return;
        }
        if i % 64 == 63 && ws.flush().await.is_err() {
            return;
        }
    }
    let _ = ws.flush().await;
}
