//! A pushed frame: encoded once per update for every subscriber (with its
//! `zlib_json` form when one wants it), what it counts against a session's
//! queue, and what it shows, so that a push an INIT_STATE made redundant is
//! left out.

use bytes::Bytes;
use tokio_websockets::Message;

use super::protocol;
use crate::ids::UserId;

/// Bytes counted per queued push besides its text: the WebSocket header, the
/// queue slot and the writer's bookkeeping. It also bounds how many pushes a
/// queue holds (`max_queue_bytes / FRAME_OVERHEAD`), however small they are.
pub const FRAME_OVERHEAD: usize = 64;

/// A frame encoded for the wire, header and payload in one buffer (server
/// frames are unmasked: one encoding serves every session).
#[derive(Debug, Clone)]
pub struct Encoded {
    pub(super) wire: Bytes,
    /// Where the payload starts.
    header: usize,
    binary: bool,
}

impl Encoded {
    /// A text frame.
    pub fn text(payload: Bytes) -> Encoded {
        Encoded::new(payload, false)
    }

    /// A binary frame (`zlib_json`).
    pub fn binary(payload: Bytes) -> Encoded {
        Encoded::new(payload, true)
    }

    fn new(payload: Bytes, binary: bool) -> Encoded {
        let len = payload.len();
        let mut wire = Vec::with_capacity(len + 10);
        wire.push(0x80 | if binary { 0x2 } else { 0x1 });
        match len {
            len if len < 126 => wire.push(len as u8),
            len if len <= 0xffff => {
                wire.push(126);
                wire.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                wire.push(127);
                wire.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        let header = wire.len();
        wire.extend_from_slice(&payload);
        Encoded { wire: wire.into(), header, binary }
    }

    /// The frame as a message for tokio-websockets (its payload, not copied).
    pub fn message(&self) -> Message {
        let payload = self.wire.slice(self.header..);
        if self.binary { Message::binary(payload) } else { Message::text(payload) }
    }
}

/// What a pushed frame shows: a user's state, made for the changes marked up to
/// a generation of the change feed (read once the batch was taken, so every
/// change the frame was made for was marked at or before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// The user whose presence the frame carries.
    pub user: UserId,
    /// The change feed's generation when the frame's batch was taken.
    pub generation: u64,
    /// The presence object's digest ([`super::hub::Hub::digest`]).
    pub digest: u64,
}

/// Which pushes an INIT_STATE makes redundant, for each user it shows until a
/// push brings that user's next state: those made for changes marked by the
/// generation it read before reading them (their state, or an older one), and
/// those whose presence object is the one it showed (a change marked after
/// that read, which the read saw already).
#[derive(Debug, Default)]
pub struct Covered {
    /// The users it shows with their presence object's digest, sorted by user.
    pub users: Vec<(UserId, u64)>,
    /// The generation read before their state was.
    pub generation: u64,
}

impl Covered {
    pub(super) fn covers(&self, origin: Origin) -> bool {
        match self.users.binary_search_by_key(&origin.user, |(user, _)| *user) {
            Ok(at) => origin.generation <= self.generation || origin.digest == self.users[at].1,
            Err(_) => false,
        }
    }

    /// The client has a newer state of `user` than the one shown.
    pub(super) fn moved_on(&mut self, user: UserId) {
        if let Ok(at) = self.users.binary_search_by_key(&user, |(user, _)| *user) {
            self.users.remove(at);
        }
    }
}

/// One push, encoded once for every subscriber.
pub struct Push {
    text: Encoded,
    /// The `zlib_json` form, when a subscriber wants it.
    zlib: Option<Encoded>,
    /// What it counts against a session's queue bound (a compressed session is
    /// charged the text too: the push keeps it in memory either way).
    pub(super) cost: usize,
    /// What it shows, when it is a presence (INIT_STATEs can make it redundant).
    pub(super) origin: Option<Origin>,
}

impl Push {
    /// The frame `text` from `origin`, deflated too when `zlib`.
    pub async fn new(text: Bytes, zlib: bool, origin: Option<Origin>) -> Push {
        let cost = text.len() + FRAME_OVERHEAD;
        let zlib = if zlib { protocol::deflate_off_thread(text.clone()).await.map(Encoded::binary) } else { None };
        Push { text: Encoded::text(text), zlib, cost, origin }
    }

    pub(super) fn frame(&self, zlib: bool) -> Option<&Encoded> {
        if zlib { self.zlib.as_ref() } else { Some(&self.text) }
    }
}
