//! One session's way out: its TCP socket and the queue of what the socket did
//! not take at once.
//!
//! Every WebSocket frame a session sends goes through its [`Outbox`], whoever
//! sends it. The hub's fan-out tasks write a pushed frame straight to the
//! socket when nothing is queued before it (a non-blocking `writev`): a
//! subscriber whose socket takes the whole frame costs no task wake-up. What
//! the socket does not take (all of the frame, or the rest of it) is queued,
//! and the session task writes the queue out as the socket drains. Every write
//! happens under the outbox's lock, in queue order, so frames are never
//! interleaved and each session sees them in the order they were sent.
//!
//! Limits (docs/SECURITY.md):
//! * pushed frames queued and not yet written count against
//!   `socket.max_queue_bytes` (their [`cost`](super::hub::Pushed::cost)); a push
//!   that would go past it is refused and the outbox is marked lagged: the
//!   queue is dropped at once, except a frame already partly written, which
//!   must be finished before the 1008 close can follow it;
//! * a frame not fully written within `socket.write_timeout` (60 s) of reaching
//!   the front of the queue ends the session ([`Trouble::TimedOut`]), whatever
//!   its size and whoever sent it: a client that keeps its socket open and
//!   sends heartbeats but stops reading cannot keep an INIT_STATE (or anything
//!   else) in memory for longer than that.
//!
//! A push of a user that the session's INIT_STATE shows ([`Shown`]) is left
//! out while it shows what the INIT_STATE did, or an older state, whether it
//! was queued behind the place kept for the INIT_STATE or comes after: the
//! client would otherwise get a state it already has, or go back to an older
//! one, right after the INIT_STATE.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

use crate::ids::UserId;

/// Frames up to this size are encoded into one buffer, header and payload.
const CONTIGUOUS_MAX: usize = 16 * 1024;

/// Iovecs handed to one `writev` when writing the queue out.
const IOVECS: usize = 64;

/// A WebSocket frame encoded for the wire: its header and its payload. Server
/// frames are not masked, so one encoding serves every session, and cloning it
/// shares the payload.
#[derive(Clone)]
pub struct Wire {
    head: [u8; 10],
    head_len: u8,
    body: Bytes,
}

impl Wire {
    /// A final text frame.
    pub fn text(payload: Bytes) -> Wire {
        Wire::frame(0x1, payload)
    }

    /// A final binary frame (`zlib_json`).
    pub fn binary(payload: Bytes) -> Wire {
        Wire::frame(0x2, payload)
    }

    /// Bytes already encoded (the frames tokio-websockets writes: pongs, closes).
    pub fn raw(bytes: Bytes) -> Wire {
        Wire { head: [0; 10], head_len: 0, body: bytes }
    }

    fn frame(opcode: u8, body: Bytes) -> Wire {
        // A small frame is copied once behind its header, so that each socket takes it
        // in one piece; a large one (an INIT_STATE) is never copied.
        if body.len() <= CONTIGUOUS_MAX {
            let framed = Wire::frame_parts(opcode, body);
            let mut bytes = Vec::with_capacity(framed.len());
            bytes.extend_from_slice(&framed.head[..framed.head_len as usize]);
            bytes.extend_from_slice(&framed.body);
            return Wire::raw(bytes.into());
        }
        Wire::frame_parts(opcode, body)
    }

    fn frame_parts(opcode: u8, body: Bytes) -> Wire {
        let mut head = [0u8; 10];
        head[0] = 0x80 | opcode;
        let head_len = match body.len() {
            len if len < 126 => {
                head[1] = len as u8;
                2
            }
            len if len <= 0xffff => {
                head[1] = 126;
                head[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                head[1] = 127;
                head[2..10].copy_from_slice(&(len as u64).to_be_bytes());
                10
            }
        };
        Wire { head, head_len, body }
    }

    /// Bytes on the wire.
    pub fn len(&self) -> usize {
        self.head_len as usize + self.body.len()
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes after the header kept apart (all of them for a small frame).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The unwritten part, from `offset`, as at most two slices.
    fn slices(&self, offset: usize) -> [&[u8]; 2] {
        let head = &self.head[..self.head_len as usize];
        if offset < head.len() { [&head[offset..], &self.body[..]] } else { [&[], &self.body[offset - head.len()..]] }
    }
}

/// What a pushed frame shows: a user's state, made for the changes marked up to a
/// generation of the change feed (read once the batch was taken, so every change
/// the frame was made for was marked at or before it).
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
/// change feed's generation it read before reading them (an older state, or the
/// same), and those whose presence object is the one it showed (a change marked
/// after that read, which the read saw already).
#[derive(Debug, Default)]
pub struct Shown {
    /// The users it shows with their presence object's digest, sorted by user.
    pub users: Vec<(UserId, u64)>,
    /// The generation read before their state was.
    pub generation: u64,
}

impl Shown {
    fn shows(&self, origin: Origin) -> bool {
        match self.users.binary_search_by_key(&origin.user, |(user, _)| *user) {
            Ok(at) => origin.generation <= self.generation || origin.digest == self.users[at].1,
            Err(_) => false,
        }
    }

    /// The client has a newer state of `user` than the one shown.
    fn moved_on(&mut self, user: UserId) {
        if let Ok(at) = self.users.binary_search_by_key(&user, |(user, _)| *user) {
            self.users.remove(at);
        }
    }
}

/// What happened to a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The socket took all of it.
    Written,
    /// Queued (all or the rest of it), for the session to write.
    Queued,
    /// Refused: it would have gone past `max_queue_bytes`. The session closes (1008).
    Lagged,
    /// Refused: the session is closing, lagged already, or its socket failed.
    Closed,
    /// Left out: the session's INIT_STATE showed that state or a later one.
    Shown,
}

/// Why a session must stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// Its queue went past `max_queue_bytes`.
    Lagged,
    /// A frame was not written within [`self.write_timeout`].
    TimedOut,
    /// The socket failed.
    Broken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Open,
    /// No more pushes: the session is closing.
    Closing,
    Lagged,
    Broken,
}

struct Entry {
    /// `None`: a place kept for a frame being made (an INIT_STATE): nothing behind
    /// it goes out before it.
    wire: Option<Wire>,
    /// What it counts against `max_queue_bytes` (0 for the session's own frames).
    cost: usize,
    /// Held until the entry is written (a shared INIT_STATE's build: while any
    /// session holds it, it counts as in memory).
    keep: Option<Keep>,
    /// What a pushed frame shows (`None` for the session's own frames).
    origin: Option<Origin>,
}

/// Something an entry keeps alive until it is written.
pub type Keep = Arc<dyn Send + Sync>;

impl Entry {
    fn new(wire: Wire, cost: usize) -> Entry {
        Entry { wire: Some(wire), cost, keep: None, origin: None }
    }
}

struct State {
    queue: VecDeque<Entry>,
    /// Bytes of the front entry already written.
    offset: usize,
    /// Cost of the queued entries.
    queued: usize,
    /// Since when the front entry has been the next one out.
    front_since: Instant,
    status: Status,
    /// Entries queued that keep something alive (INIT_STATEs).
    kept: usize,
    /// What the last INIT_STATE showed, of the users no push has moved on since.
    shown: Option<Shown>,
}

impl State {
    /// Empties the queue.
    fn clear(&mut self) {
        self.queue = VecDeque::new();
        self.queued = 0;
        self.offset = 0;
        self.kept = 0;
    }
}

/// A session's socket and its write queue.
pub struct Outbox {
    stream: TcpStream,
    state: Mutex<State>,
    wake: Notify,
    /// Told when the last kept entry (an INIT_STATE) is written or dropped.
    written: Notify,
    max_queue_bytes: usize,
    write_timeout: Duration,
}

/// What one round of writing the queue out came to.
enum Pump {
    /// Nothing to write (or the front is a place kept for a frame being made).
    Idle,
    /// The socket is full; the front entry has waited since then.
    Blocked(Instant),
    Trouble(Trouble),
}

impl Outbox {
    /// An outbox over a connected socket, with `socket.max_queue_bytes` and
    /// `socket.write_timeout`.
    pub fn new(stream: TcpStream, max_queue_bytes: usize, write_timeout: Duration) -> Outbox {
        let state = State {
            queue: VecDeque::new(),
            offset: 0,
            queued: 0,
            front_since: Instant::now(),
            status: Status::Open,
            kept: 0,
            shown: None,
        };
        Outbox {
            stream,
            state: Mutex::new(state),
            wake: Notify::new(),
            written: Notify::new(),
            max_queue_bytes,
            write_timeout,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The socket, for reading.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Sends a pushed frame that counts `cost` against the bound: written at once
    /// when nothing is queued and the socket takes it, else queued. Never waits.
    pub fn push(&self, wire: &Wire, cost: usize, origin: Option<Origin>) -> Delivery {
        let mut state = self.lock();
        if state.status != Status::Open {
            return Delivery::Closed;
        }
        if let (Some(origin), Some(shown)) = (origin, &mut state.shown) {
            if shown.shows(origin) {
                return Delivery::Shown;
            }
            shown.moved_on(origin.user);
            if shown.users.is_empty() {
                state.shown = None;
            }
        }
        if state.queue.is_empty() {
            return match self.write_now(&mut state, wire, cost) {
                Ok(true) => Delivery::Written,
                Ok(false) => Delivery::Queued,
                Err(()) => Delivery::Closed,
            };
        }
        // A session with nothing counted takes any frame, even one larger than the bound.
        if state.queued > 0 && state.queued + cost > self.max_queue_bytes {
            lag(&mut state);
            drop(state);
            self.wake.notify_one();
            self.written.notify_waiters();
            return Delivery::Lagged;
        }
        state.queue.push_back(Entry { origin, ..Entry::new(wire.clone(), cost) });
        state.queued += cost;
        // The session knows already: it queued the front itself, or was woken for it.
        Delivery::Queued
    }

    /// Sends one of the session's own frames (hello, INIT_STATE, control frames):
    /// not counted against the bound, refused only once the socket failed.
    pub fn send(&self, wire: Wire) -> Result<(), Trouble> {
        let mut state = self.lock();
        if state.status == Status::Broken {
            return Err(Trouble::Broken);
        }
        if state.queue.is_empty() {
            return self.write_now(&mut state, &wire, 0).map(|_| ()).map_err(|()| Trouble::Broken);
        }
        state.queue.push_back(Entry::new(wire, 0));
        Ok(())
    }

    /// Keeps the next place in the queue for a frame being made: pushes queue behind
    /// it until [`Outbox::fill`]. One at a time.
    pub fn reserve(&self) {
        let mut state = self.lock();
        if state.queue.is_empty() {
            state.offset = 0;
        }
        state.queue.push_back(Entry { wire: None, cost: 0, keep: None, origin: None });
    }

    /// Puts the frame made into the kept place (or gives the place up with `None`),
    /// with something to keep alive until it is written, and what it shows: the
    /// pushes queued behind it that it makes redundant are dropped, and those that
    /// come later are left out ([`Shown`]).
    pub fn fill(&self, wire: Option<Wire>, keep: Option<Keep>, shown: Shown) {
        let mut state = self.lock();
        let Some(at) = state.queue.iter().position(|entry| entry.wire.is_none()) else { return };
        match wire {
            Some(wire) => {
                state.kept += usize::from(keep.is_some());
                state.queue[at] = Entry { wire: Some(wire), cost: 0, keep, origin: None };
                // Nothing behind the kept place has been written: any entry there may go.
                let (mut index, mut dropped) = (0, 0);
                state.queue.retain(|entry| {
                    index += 1;
                    let redundant = index > at + 1 && entry.origin.is_some_and(|origin| shown.shows(origin));
                    dropped += if redundant { entry.cost } else { 0 };
                    !redundant
                });
                state.queued -= dropped;
                state.shown = (!shown.users.is_empty()).then_some(shown);
            }
            None => {
                state.queue.remove(at);
            }
        }
        if at == 0 {
            state.front_since = Instant::now();
        }
        drop(state);
        self.wake.notify_one();
    }

    /// Whether a frame whose payload starts at this address is still queued, not
    /// completely written.
    pub fn holds(&self, payload: usize) -> bool {
        self.lock().queue.iter().any(|entry| entry.wire.as_ref().is_some_and(|w| w.body.as_ptr() as usize == payload))
    }

    /// Whether an entry that keeps something alive (an INIT_STATE) is still queued.
    pub fn holds_kept(&self) -> bool {
        self.lock().kept > 0
    }

    /// Resolves once no entry that keeps something alive is queued.
    pub async fn kept_written(&self) {
        loop {
            let written = self.written.notified();
            tokio::pin!(written);
            // Registered before looking, so that a write meanwhile wakes it.
            written.as_mut().enable();
            if !self.holds_kept() {
                return;
            }
            written.await;
        }
    }

    /// Refuses pushes from now on (the session is closing); what is queued still goes out.
    pub fn closing(&self) {
        let mut state = self.lock();
        if state.status == Status::Open {
            state.status = Status::Closing;
        }
    }

    /// Drops everything queued (the session ended): nothing it held stays in memory
    /// while a fan-out still holds the outbox.
    pub fn shut(&self) {
        let mut state = self.lock();
        if state.status != Status::Broken {
            state.status = Status::Closing;
        }
        state.clear();
        drop(state);
        self.written.notify_waiters();
    }

    /// Bytes of pushed frames queued and not yet written.
    pub fn queued(&self) -> usize {
        self.lock().queued
    }

    /// Writes the queue out as the socket takes it; returns only when the session
    /// must stop. Cancel-safe: nothing is lost when it is dropped between writes.
    pub async fn run(&self) -> Trouble {
        loop {
            // Created before looking, so that a notification meanwhile is not missed.
            let notified = self.wake.notified();
            {
                let state = self.lock();
                match state.status {
                    Status::Lagged => return Trouble::Lagged,
                    Status::Broken => return Trouble::Broken,
                    Status::Open | Status::Closing => {}
                }
            }
            match self.pump() {
                Pump::Idle => notified.await,
                Pump::Blocked(since) => {
                    tokio::select! {
                        ready = self.stream.writable() => if ready.is_err() { return Trouble::Broken },
                        () = notified => {}
                        () = sleep_until(since + self.write_timeout) => return Trouble::TimedOut,
                    }
                }
                Pump::Trouble(trouble) => return trouble,
            }
        }
    }

    /// Writes out everything queued (a closing session's last frames), whatever the
    /// status; `Err` when the socket fails or a frame misses its deadline.
    pub async fn drain(&self) -> Result<(), Trouble> {
        loop {
            match self.pump() {
                Pump::Idle => return Ok(()),
                Pump::Blocked(since) => {
                    tokio::select! {
                        ready = self.stream.writable() => if ready.is_err() { return Err(Trouble::Broken) },
                        () = sleep_until(since + self.write_timeout) => return Err(Trouble::TimedOut),
                    }
                }
                Pump::Trouble(trouble) => return Err(trouble),
            }
        }
    }

    /// Tries to write `wire` with nothing queued: `Ok(true)` when all of it went out,
    /// `Ok(false)` when (the rest of) it is queued, `Err` when the socket failed.
    fn write_now(&self, state: &mut State, wire: &Wire, cost: usize) -> Result<bool, ()> {
        let [head, body] = wire.slices(0);
        let tried = if head.is_empty() {
            self.stream.try_write(body)
        } else {
            self.stream.try_write_vectored(&[IoSlice::new(head), IoSlice::new(body)])
        };
        let written = match tried {
            Ok(n) if n == wire.len() => return Ok(true),
            Ok(0) if !wire.is_empty() => {
                self.broke(state);
                return Err(());
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(_) => {
                self.broke(state);
                return Err(());
            }
        };
        state.queue.push_back(Entry::new(wire.clone(), cost));
        state.queued += cost;
        state.offset = written;
        state.front_since = Instant::now();
        self.wake.notify_one();
        Ok(false)
    }

    fn broke(&self, state: &mut State) {
        state.status = Status::Broken;
        state.clear();
        self.wake.notify_one();
        self.written.notify_waiters();
    }

    /// Writes as much of the queue as the socket takes now.
    fn pump(&self) -> Pump {
        let mut state = self.lock();
        if state.status == Status::Broken {
            return Pump::Trouble(Trouble::Broken);
        }
        loop {
            let mut slices = [IoSlice::new(&[]); IOVECS];
            let mut count = 0;
            let mut offset = state.offset;
            for entry in &state.queue {
                let Some(wire) = &entry.wire else { break };
                for part in wire.slices(offset) {
                    if !part.is_empty() && count < IOVECS {
                        slices[count] = IoSlice::new(part);
                        count += 1;
                    }
                }
                offset = 0;
                if count >= IOVECS - 1 {
                    break;
                }
            }
            if count == 0 {
                // Empty entries (nothing to write) are done at once.
                let mut kept_done = false;
                while state.queue.front().is_some_and(|e| e.wire.as_ref().is_some_and(Wire::is_empty)) {
                    kept_done |= pop_written(&mut state);
                }
                if kept_done {
                    self.written.notify_waiters();
                }
                return Pump::Idle;
            }
            let written = match self.stream.try_write_vectored(&slices[..count]) {
                Ok(0) => {
                    self.broke(&mut state);
                    return Pump::Trouble(Trouble::Broken);
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Pump::Blocked(state.front_since),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.broke(&mut state);
                    return Pump::Trouble(Trouble::Broken);
                }
            };
            if advance(&mut state, written) {
                self.written.notify_waiters();
            }
        }
    }
}

/// Marks `written` bytes from the front of the queue as written; true when the
/// last entry keeping something alive went out.
fn advance(state: &mut State, mut written: usize) -> bool {
    let (mut moved, mut kept_done) = (false, false);
    while written > 0 {
        let Some(Entry { wire: Some(wire), .. }) = state.queue.front() else { break };
        let left = wire.len() - state.offset;
        if written < left {
            state.offset += written;
            break;
        }
        written -= left;
        kept_done |= pop_written(state);
        moved = true;
    }
    if moved {
        state.front_since = Instant::now();
    }
    kept_done
}

/// Takes the written front entry off the queue; true when it was the last one
/// keeping something alive.
fn pop_written(state: &mut State) -> bool {
    let Some(done) = state.queue.pop_front() else { return false };
    state.queued -= done.cost;
    state.offset = 0;
    if done.keep.is_none() {
        return false;
    }
    state.kept -= 1;
    state.kept == 0
}

/// Drops the queue of a session that fell behind, but a frame partly written (the
/// close frame can only follow a whole frame).
fn lag(state: &mut State) {
    state.status = Status::Lagged;
    let front = if state.offset > 0 { state.queue.pop_front() } else { None };
    let offset = state.offset;
    state.clear();
    if let Some(front) = front {
        state.queued = front.cost;
        state.kept = usize::from(front.keep.is_some());
        state.offset = offset;
        state.queue.push_back(front);
    }
}

#[cfg(test)]
mod tests;
