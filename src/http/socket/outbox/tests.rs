//! The write path: direct writes, the queue behind a full socket, partial
//! writes, byte accounting, the kept place of an INIT_STATE, the lag and the
//! write deadline, over real loopback sockets.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use super::*;

const DEADLINE: Duration = Duration::from_secs(60);

/// An outbox over one end of a loopback connection, and the other end.
async fn pair(max_queue_bytes: usize) -> (Arc<Outbox>, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    // The socket must report writable once before a direct write is tried.
    server.writable().await.unwrap();
    (Arc::new(Outbox::new(server, max_queue_bytes, DEADLINE)), client)
}

/// A text frame whose payload is `n` as text, padded to `len` bytes with spaces.
fn numbered(n: usize, len: usize) -> Wire {
    let mut text = n.to_string().into_bytes();
    text.resize(len, b' ');
    Wire::text(Bytes::from(text))
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

/// Pushes `len`-byte frames until the socket stops taking them; the pushes made.
fn fill_socket(outbox: &Outbox, len: usize) -> usize {
    let mut n = 0;
    while outbox.push(&numbered(n, len), len + 64, None) == Delivery::Written {
        n += 1;
        assert!(n < 100_000, "the socket never filled");
    }
    n + 1
}

#[test]
fn frames_are_encoded_with_the_shortest_length() {
    for (len, head) in [(0, 2), (125, 2), (126, 4), (65_535, 4), (65_536, 10)] {
        let wire = Wire::text(Bytes::from(vec![b'x'; len]));
        assert_eq!(wire.len(), len + head, "{len}");
        let [first, rest] = wire.slices(0);
        let bytes = [first, rest].concat();
        assert_eq!(bytes[0], 0x81);
        assert_eq!(&bytes[head..], &vec![b'x'; len][..]);
    }
    let small = Wire::binary(Bytes::from_static(b"z"));
    assert!(small.slices(0)[0].is_empty());
    assert_eq!(small.body()[..], [0x82, 1, b'z'], "small: one buffer");
    let long = Wire::text(Bytes::from(vec![b'x'; 70_000]));
    assert_eq!(long.head[1], 127);
    assert_eq!(u64::from_be_bytes(long.head[2..10].try_into().unwrap()), 70_000);
    assert_eq!(long.body().len(), 70_000, "large: the payload is not copied");
    let [first, rest] = long.slices(5);
    assert_eq!((first.len(), rest.len()), (5, 70_000), "a partial write resumes within the header");
    assert_eq!(Wire::raw(Bytes::from_static(b"abc")).len(), 3);
}

#[tokio::test]
async fn a_frame_the_socket_takes_is_written_at_once_and_nothing_is_queued() {
    let (outbox, mut client) = pair(1 << 20).await;
    assert_eq!(outbox.push(&numbered(7, 300), 364, None), Delivery::Written);
    assert_eq!(outbox.queued(), 0);
    let (opcode, payload) = read_frame(&mut client).await;
    assert_eq!((opcode, number(&payload), payload.len()), (1, 7, 300));
}

#[tokio::test]
async fn what_the_socket_does_not_take_is_queued_and_written_in_order() {
    let (outbox, mut client) = pair(64 << 20).await;
    let len = 16 * 1024;
    let pushed = fill_socket(&outbox, len);
    // More behind the one that did not fit (whole or in part).
    for n in pushed..pushed + 50 {
        assert_eq!(outbox.push(&numbered(n, len), len + 64, None), Delivery::Queued);
    }
    assert_eq!(outbox.queued(), 51 * (len + 64), "each queued frame counts until written");
    let session = tokio::spawn({
        let outbox = outbox.clone();
        async move { outbox.run().await }
    });
    for n in 0..pushed + 50 {
        let (opcode, payload) = read_frame(&mut client).await;
        assert_eq!((opcode, number(&payload), payload.len()), (1, n, len), "frame {n} whole and in order");
    }
    let drained = async {
        while outbox.queued() != 0 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), drained).await.expect("the written frames leave the count");
    // Written out, pushes go straight to the socket again.
    assert_eq!(outbox.push(&numbered(1, 10), 74, None), Delivery::Written);
    session.abort();
}

#[tokio::test]
async fn own_frames_take_their_turn_and_do_not_count() {
    let (outbox, mut client) = pair(64 << 20).await;
    let len = 16 * 1024;
    let pushed = fill_socket(&outbox, len);
    let before = outbox.queued();
    outbox.send(Wire::raw(Bytes::from_static(&[0x89, 1, b'!']))).unwrap(); // a ping, say
    assert_eq!(outbox.queued(), before);
    outbox.push(&numbered(pushed, len), len + 64, None);
    let session = tokio::spawn({
        let outbox = outbox.clone();
        async move { outbox.run().await }
    });
    for n in 0..pushed {
        assert_eq!(number(&read_frame(&mut client).await.1), n);
    }
    assert_eq!(read_frame(&mut client).await, (0x9, b"!".to_vec()));
    assert_eq!(number(&read_frame(&mut client).await.1), pushed);
    session.abort();
}

#[tokio::test]
async fn pushes_wait_behind_a_kept_place_until_it_is_filled() {
    let (outbox, mut client) = pair(1 << 20).await;
    outbox.reserve();
    assert_eq!(outbox.push(&numbered(2, 10), 74, None), Delivery::Queued, "not before the INIT_STATE");
    let session = tokio::spawn({
        let outbox = outbox.clone();
        async move { outbox.run().await }
    });
    let early = tokio::time::timeout(Duration::from_millis(200), read_frame(&mut client)).await;
    assert!(early.is_err(), "nothing goes out while the place is kept");
    outbox.fill(Some(numbered(1, 10)), None, Shown::default());
    assert_eq!(number(&read_frame(&mut client).await.1), 1);
    assert_eq!(number(&read_frame(&mut client).await.1), 2);
    // A place given up lets what queued behind it go.
    outbox.reserve();
    outbox.push(&numbered(3, 10), 74, None);
    outbox.fill(None, None, Shown::default());
    assert_eq!(number(&read_frame(&mut client).await.1), 3);
    session.abort();
}

#[tokio::test]
async fn pushes_of_a_state_the_init_state_showed_or_an_older_one_are_left_out() {
    let (outbox, mut client) = pair(64 << 20).await;
    let len = 16 * 1024;
    let from = |user, generation, digest| Some(Origin { user: UserId(user), generation, digest });
    let pushed = fill_socket(&outbox, len);
    // Queued before the place was kept: it goes, whatever the INIT_STATE shows.
    outbox.push(&numbered(pushed, len), len + 64, from(1, 5, 1));
    outbox.reserve();
    outbox.push(&numbered(pushed + 2, len), len + 64, from(1, 5, 1)); // marked before its read: dropped
    outbox.push(&numbered(pushed + 3, len), len + 64, from(2, 5, 2)); // a user it does not show
    outbox.push(&numbered(pushed + 4, len), len + 64, None);
    let before = outbox.queued();
    let shown = Shown { users: vec![(UserId(1), 100), (UserId(3), 300)], generation: 5 };
    outbox.fill(Some(numbered(pushed + 1, len)), None, shown);
    assert_eq!(outbox.queued(), before - (len + 64), "the dropped push no longer counts");
    // Pushes coming after it: marked before its read, or marked after but what it showed.
    assert_eq!(outbox.push(&numbered(0, len), len + 64, from(3, 4, 299)), Delivery::Shown);
    assert_eq!(outbox.push(&numbered(0, len), len + 64, from(3, 6, 300)), Delivery::Shown);
    // A new state goes, and from then on the user's pushes all go.
    assert_eq!(outbox.push(&numbered(pushed + 5, len), len + 64, from(3, 6, 301)), Delivery::Queued);
    assert_eq!(outbox.push(&numbered(pushed + 6, len), len + 64, from(3, 7, 300)), Delivery::Queued);
    assert_eq!(outbox.push(&numbered(pushed + 7, len), len + 64, from(1, 6, 101)), Delivery::Queued);
    assert!(outbox.lock().shown.is_none(), "nothing left to leave out");
    let session = tokio::spawn({
        let outbox = outbox.clone();
        async move { outbox.run().await }
    });
    for n in (0..=pushed + 1).chain(pushed + 3..=pushed + 7) {
        assert_eq!(number(&read_frame(&mut client).await.1), n);
    }
    session.abort();
}

#[tokio::test]
async fn a_push_past_the_bound_lags_and_only_the_half_written_frame_stays() {
    let len = 16 * 1024;
    let (outbox, mut client) = pair(4 * (len + 64)).await;
    let pushed = fill_socket(&outbox, len);
    let mut queued = 1;
    let lagged = loop {
        match outbox.push(&numbered(pushed + queued - 1, len), len + 64, None) {
            Delivery::Queued => queued += 1,
            other => break other,
        }
    };
    assert_eq!((lagged, queued), (Delivery::Lagged, 4), "the bound holds four frames");
    let kept = outbox.queued();
    assert!(kept == 0 || kept == len + 64, "at most the half-written frame is kept: {kept}");
    assert_eq!(outbox.push(&numbered(0, 1), 65, None), Delivery::Closed, "a lagged session takes nothing more");
    assert_eq!(tokio::time::timeout(Duration::from_secs(1), outbox.run()).await, Ok(Trouble::Lagged));
    // The close frame follows whatever was half written.
    outbox.send(Wire::raw(Bytes::from_static(&[0x88, 2, 0x03, 0xf0]))).unwrap();
    let drain = tokio::spawn({
        let outbox = outbox.clone();
        async move { outbox.drain().await }
    });
    let mut seen = 0;
    loop {
        let (opcode, payload) = read_frame(&mut client).await;
        if opcode == 0x8 {
            assert_eq!(payload, [0x03, 0xf0], "1008");
            break;
        }
        assert_eq!(number(&payload), seen, "whole frames in order, then the close");
        seen += 1;
    }
    assert!(seen == pushed - 1 || seen == pushed, "{seen} of {pushed}");
    assert_eq!(drain.await.unwrap(), Ok(()));
    assert_eq!(outbox.queued(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_frame_not_taken_within_the_deadline_ends_the_session() {
    let (outbox, _client) = pair(64 << 20).await;
    fill_socket(&outbox, 16 * 1024);
    let started = Instant::now();
    assert_eq!(outbox.run().await, Trouble::TimedOut);
    assert!(started.elapsed() >= DEADLINE, "{:?}", started.elapsed());
    assert_eq!(outbox.drain().await, Err(Trouble::TimedOut));
}

#[tokio::test]
async fn a_closed_client_breaks_the_outbox_and_refuses_pushes() {
    let (outbox, client) = pair(1 << 20).await;
    drop(client);
    let broken = async {
        while outbox.push(&numbered(0, 100), 164, None) != Delivery::Closed {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), broken).await.expect("the write fails");
    assert_eq!(outbox.run().await, Trouble::Broken);
    assert!(outbox.send(numbered(1, 1)).is_err());
}

#[tokio::test]
async fn shut_lets_go_of_everything_queued() {
    let (outbox, _client) = pair(64 << 20).await;
    fill_socket(&outbox, 16 * 1024);
    let keep: Keep = Arc::new(());
    outbox.reserve();
    outbox.fill(Some(numbered(0, 10)), Some(keep.clone()), Shown::default());
    assert_eq!(Arc::strong_count(&keep), 2);
    outbox.shut();
    assert_eq!((outbox.queued(), Arc::strong_count(&keep)), (0, 1));
    assert_eq!(outbox.push(&numbered(1, 10), 74, None), Delivery::Closed);
}
