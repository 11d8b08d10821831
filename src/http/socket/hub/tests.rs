//! The hub over real loopback sockets: who gets an update, in what form and
//! order, and what subscriptions cost.

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use super::*;

fn hub(max_ids: usize) -> Hub {
    Hub::new(&SocketConfig { max_ids, ..SocketConfig::default() })
}

/// `n` sessions registered over loopback connections: (id, client end) each.
async fn sessions(hub: &Hub, n: usize, zlib: bool) -> Vec<(SessionId, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        server.writable().await.unwrap();
        let id = hub.register(Arc::new(Line::new(server, zlib, SocketConfig::default().max_queue_bytes)));
        out.push((id, client));
    }
    out
}

/// The payload of the next (unmasked, short) frame, and its opcode.
async fn frame(client: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await.unwrap();
    let len = match head[1] {
        126 => client.read_u16().await.unwrap() as usize,
        len => len as usize,
    };
    let mut payload = vec![0; len];
    client.read_exact(&mut payload).await.unwrap();
    (head[0] & 0x0f, payload)
}

async fn nothing_more(client: &mut TcpStream) {
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(std::time::Duration::from_millis(100), client.read(&mut byte)).await;
    assert!(read.is_err(), "nothing more was sent");
}

#[tokio::test]
async fn a_frame_reaches_direct_and_all_subscribers_once() {
    let hub = Hub::default();
    let mut s = sessions(&hub, 3, false).await;
    hub.subscribe(s[0].0, &[UserId(1)]).unwrap();
    hub.subscribe(s[1].0, &[UserId(1)]).unwrap();
    hub.subscribe_all(s[1].0);
    assert_eq!(hub.send(UserId(1), Bytes::from_static(b"x"), None).await, 2);
    assert_eq!(frame(&mut s[0].1).await, (1, b"x".to_vec()));
    assert_eq!(frame(&mut s[1].1).await, (1, b"x".to_vec()));
    nothing_more(&mut s[1].1).await; // no duplicate for a session subscribed both ways
    nothing_more(&mut s[2].1).await;
}

#[tokio::test]
async fn zlib_sessions_get_the_update_deflated_once_and_others_the_text() {
    let hub = Hub::default();
    let mut plain = sessions(&hub, 1, false).await;
    let mut zlib = sessions(&hub, 2, true).await;
    for (id, _) in plain.iter().chain(&zlib) {
        hub.subscribe(*id, &[UserId(1)]).unwrap();
    }
    let text = Bytes::from_static(br#"{"op":0,"t":"PRESENCE_UPDATE","d":{}}"#);
    assert_eq!(hub.send(UserId(1), text.clone(), None).await, 3);
    assert_eq!(frame(&mut plain[0].1).await, (1, text.to_vec()));
    for (_, client) in &mut zlib {
        let (opcode, deflated) = frame(client).await;
        assert_eq!((opcode, deflated.clone()), (2, protocol::deflate(&text).to_vec()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_fan_out_reaches_everyone_in_groups_and_in_order() {
    let hub = Hub::default();
    let n = 2 * GROUP + 17;
    let mut s = sessions(&hub, n, false).await;
    for (id, _) in &s {
        hub.subscribe(*id, &[UserId(1)]).unwrap();
    }
    for update in 0..5u8 {
        assert_eq!(hub.send(UserId(1), Bytes::from(vec![b'0' + update; 100]), None).await, n as u64);
    }
    for (_, client) in &mut s {
        for update in 0..5u8 {
            assert_eq!(frame(client).await, (1, vec![b'0' + update; 100]));
        }
    }
}

#[tokio::test]
async fn a_session_watches_at_most_max_ids_distinct_ids() {
    let hub = hub(3);
    let s = sessions(&hub, 1, false).await;
    let a = s[0].0;
    hub.subscribe(a, &[UserId(1), UserId(2)]).unwrap();
    hub.subscribe(a, &[UserId(1), UserId(2), UserId(3)]).unwrap();
    assert_eq!(hub.subscribe(a, &[UserId(2), UserId(4)]), Err(Refusal::TooManyIds { max: 3 }));
    assert!(hub.subscribers(UserId(4)).is_empty(), "a refused subscription changes nothing");
    hub.unsubscribe(a, Unsubscribe::Id(UserId(1)));
    hub.subscribe(a, &[UserId(4)]).unwrap();
    assert_eq!(hub.subscribers(UserId(4)).len(), 1);
    hub.unsubscribe(a, Unsubscribe::All);
    hub.subscribe(a, &[UserId(5), UserId(6), UserId(7)]).unwrap();
}

#[tokio::test]
async fn unsubscribe_and_unregister_stop_frames_and_give_memory_back() {
    let hub = Hub::default();
    let s = sessions(&hub, 2, false).await;
    let (a, b) = (s[0].0, s[1].0);
    hub.subscribe(a, &[UserId(1), UserId(2)]).unwrap();
    hub.unsubscribe(a, Unsubscribe::Id(UserId(1)));
    assert!(hub.subscribers(UserId(1)).is_empty());
    assert_eq!(hub.subscribers(UserId(2)).len(), 1);
    hub.unregister(a);
    assert!(hub.subscribers(UserId(2)).is_empty());
    assert!(hub.state().by_user.is_empty());
    let many: Vec<UserId> = (1..=1000).map(UserId).collect();
    hub.subscribe(b, &many).unwrap();
    hub.unregister(b);
    assert!(hub.state().by_user.capacity() <= 64, "the burst's capacity is given back");
}
