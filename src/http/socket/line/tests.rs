//! The line over real loopback sockets: the direct write, the queue behind a
//! busy or full socket written through tokio-websockets, the rest of a frame
//! written in part, byte accounting, what an INIT_STATE shows, the lag, and
//! the receipt check.

use futures_util::SinkExt;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_websockets::{Config, ServerBuilder};

use super::*;

/// A line over one end of a loopback connection, and the other end.
async fn pair(max_queue_bytes: usize) -> (Arc<Line>, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    // The socket must report writable once before a direct write is tried.
    server.writable().await.unwrap();
    (Arc::new(Line::new(server, false, max_queue_bytes)), client)
}

/// An update whose text is `n`, padded to `len` bytes with spaces.
async fn numbered(n: usize, len: usize, origin: Option<Origin>) -> Arc<Push> {
    let mut text = n.to_string().into_bytes();
    text.resize(len, b' ');
    Arc::new(Push::new(Bytes::from(text), false, origin).await)
}

/// Reads one unmasked frame: (opcode, payload).
async fn read_frame(client: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await.unwrap();
    let len = match head[1] & 0x7f {
        126 => client.read_u16().await.unwrap() as usize,
        127 => client.read_u64().await.unwrap() as usize,
        len => len as usize,
    };
    let mut payload = vec![0; len];
    client.read_exact(&mut payload).await.unwrap();
    (head[0] & 0x0f, payload)
}

fn number(payload: &[u8]) -> usize {
    std::str::from_utf8(payload).unwrap().trim_end().parse().unwrap()
}

/// What a session does with its line, alone: writes what is queued through
/// tokio-websockets whenever woken.
fn writer(line: Arc<Line>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let config = Config::default().frame_size(usize::MAX).flush_threshold(usize::MAX);
        let mut ws = ServerBuilder::new().config(config).serve(Conn::new(line.clone(), Bytes::new()));
        loop {
            line.woken().await;
            loop {
                let Ok((messages, _)) = line.take() else { return };
                for message in messages {
                    ws.feed(message).await.unwrap();
                }
                ws.flush().await.unwrap();
                if line.release() {
                    break;
                }
            }
        }
    })
}

#[test]
fn frames_are_encoded_with_the_shortest_length() {
    for (len, head) in [(0, 2), (125, 2), (126, 4), (65_535, 4), (65_536, 10)] {
        let frame = Encoded::text(Bytes::from(vec![b'x'; len]));
        assert_eq!(frame.wire.len(), len + head, "{len}");
        assert_eq!(frame.wire[0], 0x81);
        assert_eq!(&frame.wire[head..], &vec![b'x'; len][..]);
    }
    assert_eq!(Encoded::binary(Bytes::from_static(b"z")).wire[..], [0x82, 1, b'z']);
    let long = Encoded::text(Bytes::from(vec![b'x'; 70_000]));
    assert_eq!(long.wire[1], 127);
    assert_eq!(u64::from_be_bytes(long.wire[2..10].try_into().unwrap()), 70_000);
}

#[tokio::test]
async fn a_push_to_an_idle_line_is_written_at_once_and_nothing_is_queued() {
    let (line, mut client) = pair(1 << 20).await;
    assert_eq!(line.push(&numbered(7, 300, None).await), Delivery::Written);
    assert_eq!(line.counted(), 0);
    let (opcode, payload) = read_frame(&mut client).await;
    assert_eq!((opcode, number(&payload), payload.len()), (1, 7, 300));
}

#[tokio::test]
async fn pushes_queue_while_the_session_writes_and_go_out_after_in_order() {
    let (line, mut client) = pair(1 << 20).await;
    line.claim();
    for n in 0..10 {
        assert_eq!(line.push(&numbered(n, 100, None).await), Delivery::Queued);
    }
    assert_eq!(line.counted(), 10 * (100 + FRAME_OVERHEAD), "each queued push counts until written");
    let writer = writer(line.clone());
    assert!(!line.release(), "something is queued: the socket stays the session's");
    line.wake.notify_one();
    for n in 0..10 {
        assert_eq!(number(&read_frame(&mut client).await.1), n, "in order");
    }
    let drained = async {
        while line.counted() != 0 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), drained).await.expect("written pushes leave the count");
    assert_eq!(line.push(&numbered(10, 100, None).await), Delivery::Written, "idle again: straight out");
    assert_eq!(number(&read_frame(&mut client).await.1), 10);
    writer.abort();
}

#[tokio::test]
async fn the_rest_of_a_frame_written_in_part_goes_out_before_anything_else() {
    let (line, mut client) = pair(64 << 20).await;
    let big = 8 << 20;
    assert_eq!(line.push(&numbered(1, big, None).await), Delivery::Written, "the socket took the start of it");
    assert!(!line.lock().rest.is_empty(), "a frame this large does not fit the socket at once");
    assert_eq!(line.push(&numbered(2, 50, None).await), Delivery::Queued, "behind the rest");
    let writer = writer(line.clone());
    let (_, first) = read_frame(&mut client).await;
    assert_eq!((number(&first), first.len()), (1, big), "whole");
    assert_eq!(number(&read_frame(&mut client).await.1), 2);
    writer.abort();
}

#[tokio::test]
async fn pushes_of_a_state_the_init_state_showed_or_an_older_one_are_left_out() {
    let (line, mut client) = pair(1 << 20).await;
    let at = |user, generation| Some(Origin { user: UserId(user), generation, digest: generation });
    line.claim();
    // Queued while the INIT_STATE was made: 1 at generations 4 and 6, 2 at 5.
    for (n, origin) in [(1, at(1, 4)), (2, at(2, 5)), (3, at(1, 6))] {
        assert_eq!(line.push(&numbered(n, 20, origin).await), Delivery::Queued);
    }
    line.cover(Covered { users: vec![(UserId(1), 99)], generation: 5 });
    assert_eq!(line.counted(), 2 * (20 + FRAME_OVERHEAD), "the push of 1 at 4 went");
    assert_eq!(line.push(&numbered(4, 20, at(1, 5)).await), Delivery::Covered, "later, of what it showed");
    let same = Some(Origin { user: UserId(1), generation: 7, digest: 99 });
    assert_eq!(line.push(&numbered(5, 20, same).await), Delivery::Covered, "marked after, but the state it showed");
    let writer = writer(line.clone());
    line.wake.notify_one();
    assert_eq!(number(&read_frame(&mut client).await.1), 2, "2 was not shown");
    assert_eq!(number(&read_frame(&mut client).await.1), 3, "1 changed after the INIT_STATE read it");
    writer.abort();
}

#[tokio::test]
async fn a_push_past_the_bound_lags_and_lets_go_of_the_queue() {
    let (line, _client) = pair(1000).await;
    line.claim();
    let push = numbered(0, 300, None).await;
    for _ in 0..2 {
        assert_eq!(line.push(&push), Delivery::Queued);
    }
    assert_eq!(line.push(&push), Delivery::Lagged, "a third would pass 1000 bytes");
    assert!(line.lagged() && line.lock().queue.is_empty());
    assert_eq!(line.push(&push), Delivery::Closed);
    assert!(line.take().is_err(), "the session learns it lagged");
    // A session with nothing counted takes a push larger than the bound.
    let (line, _client) = pair(10).await;
    line.claim();
    assert_eq!(line.push(&push), Delivery::Queued);
}

#[tokio::test]
async fn a_closing_line_refuses_pushes_and_a_shut_one_holds_nothing() {
    let (line, _client) = pair(1 << 20).await;
    line.claim();
    line.push(&numbered(1, 10, None).await);
    line.close();
    assert_eq!(line.push(&numbered(2, 10, None).await), Delivery::Closed);
    assert_eq!(line.lock().queue.len(), 1, "what was queued may still go out before the close");
    line.shut();
    assert!(line.lock().queue.is_empty());
}

#[tokio::test]
async fn a_client_that_does_not_read_is_stalled_after_the_checks_and_one_that_reads_is_not() {
    let (line, mut client) = pair(64 << 20).await;
    let mut receipt = Receipt::default();
    line.push(&numbered(1, 100, None).await);
    read_frame(&mut client).await;
    for _ in 0..2 * CHECKS {
        assert!(!receipt.stalled(&line), "everything was received");
    }
    // Far more than the kernel takes: the client reads none of it.
    line.push(&numbered(2, 16 << 20, None).await);
    let mut stalled = 0;
    for check in 0..=CHECKS {
        if receipt.stalled(&line) {
            stalled = check;
            break;
        }
    }
    assert_eq!(stalled, CHECKS, "bytes unreceived for {CHECKS} checks");
    assert!(line.unreceived().0 > 0);
}
