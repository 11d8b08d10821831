//! A session's way out: its TCP socket, shared by the session (through
//! tokio-websockets, which frames and writes everything the session sends)
//! and the hub's fan-out, with the queue of pushes the session has yet to
//! write. [`Conn`] is the socket as tokio-websockets sees it.
//!
//! **The one fast path** (docs/BENCHMARKS.md, "Hot fan-out" for what it buys,
//! "One path" for the stack around it, before and after): a push reaches
//! a session with nothing else to write (no queue, nothing tokio-websockets
//! holds unflushed, no frame of the session's own in progress) as a frame
//! encoded once per push, written by the fan-out straight to the socket
//! with one non-blocking write; so the hub's fan-out to ten thousand sockets
//! costs one write each, not a task wake-up each. Everything else, and a
//! push the socket does not take at once, goes the ordinary way: into the
//! queue, which the session writes through tokio-websockets. A frame the
//! socket takes in part leaves its rest here, written before anything else.
//! Frames are never interleaved, and each session gets pushes in order.
//!
//! Limits (docs/SECURITY.md):
//! * pushes queued or handed to tokio-websockets and not yet flushed count
//!   against `socket.max_queue_bytes` (their text plus [`FRAME_OVERHEAD`]); a push past it
//!   is refused and the line is marked lagged (the session closes with 1008);
//! * [`Receipt`] says when bytes written to the socket have not been received
//!   by the client (the kernel's send queue has not drained) within
//!   `socket.write_timeout`: the session then ends.
//!
//! A push of a user that the session's INIT_STATE showed ([`Covered`]) is left
//! out when it was made for that state or an older one.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_websockets::Message;

pub use super::push::{Covered, Encoded, FRAME_OVERHEAD, Origin, Push};

/// What happened to a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The socket took it (all of it, or the start of it: the rest is written next).
    Written,
    /// Queued for the session to write.
    Queued,
    /// Refused: it would have gone past `max_queue_bytes`. The session closes (1008).
    Lagged,
    /// Refused: the session is closing, lagged already, or its socket failed.
    Closed,
    /// Left out: the session's INIT_STATE showed that state or a later one.
    Covered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Open,
    /// No more pushes: the session is closing.
    Closing,
    Lagged,
    Broken,
}

struct State {
    /// Pushes for the session to write, with their cost.
    queue: VecDeque<(Arc<Push>, usize)>,
    /// Cost of the queued pushes and of those the session is writing.
    counted: usize,
    /// Of `counted`, what the session took to write.
    taken: usize,
    /// The unwritten rest of a frame the fan-out wrote in part.
    rest: Bytes,
    /// The session writes (its own frames, or pushes it took): no push may go
    /// straight to the socket.
    claimed: bool,
    /// tokio-websockets has written bytes and not flushed yet (a pong, say).
    unflushed: bool,
    status: Status,
    /// What the last INIT_STATE showed.
    covered: Option<Covered>,
    /// Bytes written to the socket since it opened.
    written: u64,
}

/// A session's socket and its queue.
pub struct Line {
    stream: TcpStream,
    state: Mutex<State>,
    /// Tells the session there is something to write, or that it lagged.
    wake: Notify,
    zlib: bool,
    max_queue_bytes: usize,
}

impl Line {
    /// A line over a connected socket; `zlib`: the session takes binary `zlib_json` frames.
    pub fn new(stream: TcpStream, zlib: bool, max_queue_bytes: usize) -> Line {
        let state = State {
            queue: VecDeque::new(),
            counted: 0,
            taken: 0,
            rest: Bytes::new(),
            claimed: false,
            unflushed: false,
            status: Status::Open,
            covered: None,
            written: 0,
        };
        Line { stream, state: Mutex::new(state), wake: Notify::new(), zlib, max_queue_bytes }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the session takes `zlib_json` frames.
    pub fn zlib(&self) -> bool {
        self.zlib
    }

    /// Sends a push: straight to the socket when the session has nothing else to
    /// write and the socket takes it, else queued for the session. Never waits.
    pub fn push(&self, push: &Arc<Push>) -> Delivery {
        let Some(frame) = push.frame(self.zlib) else { return Delivery::Closed };
        let mut state = self.lock();
        if state.status != Status::Open {
            return Delivery::Closed;
        }
        if let (Some(origin), Some(covered)) = (push.origin, &mut state.covered) {
            if covered.covers(origin) {
                return Delivery::Covered;
            }
            covered.moved_on(origin.user);
            if covered.users.is_empty() {
                state.covered = None;
            }
        }
        let idle = !state.claimed && !state.unflushed && state.rest.is_empty() && state.queue.is_empty();
        if idle {
            match self.stream.try_write(&frame.wire) {
                Ok(n) => {
                    state.written += n as u64;
                    if n < frame.wire.len() {
                        state.rest = frame.wire.slice(n..);
                        drop(state);
                        self.wake.notify_one();
                    }
                    return Delivery::Written;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => {
                    state.status = Status::Broken;
                    drop(state);
                    self.wake.notify_one();
                    return Delivery::Closed;
                }
            }
        }
        // A session with nothing counted takes any push, even one larger than the bound.
        if state.counted > 0 && state.counted + push.cost > self.max_queue_bytes {
            state.status = Status::Lagged;
            state.queue = VecDeque::new();
            drop(state);
            self.wake.notify_one();
            return Delivery::Lagged;
        }
        state.counted += push.cost;
        state.queue.push_back((push.clone(), push.cost));
        drop(state);
        self.wake.notify_one();
        Delivery::Queued
    }

    /// Waits until there may be something for the session to write (a queued push,
    /// the rest of a frame) or it lagged.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Claims the socket for the session's own frames: pushes queue until [`Line::release`].
    pub fn claim(&self) {
        self.lock().claimed = true;
    }

    /// Claims the socket and takes the queued pushes, in order, as messages to
    /// write; their cost counts until [`Line::release`]. `Err` when the session
    /// lagged. `true` with them when the rest of a frame is to be written first.
    pub fn take(&self) -> Result<(Vec<Message>, bool), Lagged> {
        let mut state = self.lock();
        if state.status == Status::Lagged {
            return Err(Lagged);
        }
        state.claimed = true;
        state.taken = state.counted;
        let zlib = self.zlib;
        let messages = state.queue.drain(..).filter_map(|(push, _)| push.frame(zlib).map(Encoded::message));
        let messages: Vec<Message> = messages.collect();
        Ok((messages, !state.rest.is_empty()))
    }

    /// The session wrote what it took (tokio-websockets flushed it): its cost no
    /// longer counts. Gives the socket back to the fan-out and returns true when
    /// nothing is queued; false when there is more to take.
    pub fn release(&self) -> bool {
        let mut state = self.lock();
        state.counted -= state.taken;
        state.taken = 0;
        if state.queue.is_empty() && state.rest.is_empty() && state.status != Status::Lagged {
            state.claimed = false;
            return true;
        }
        false
    }

    /// Records what an INIT_STATE shows: queued pushes it makes redundant are
    /// dropped, and later ones left out.
    pub fn cover(&self, covered: Covered) {
        let mut state = self.lock();
        let before = state.queue.len();
        let mut dropped = 0;
        state.queue.retain(|(push, cost)| {
            let redundant = push.origin.is_some_and(|origin| covered.covers(origin));
            dropped += if redundant { *cost } else { 0 };
            !redundant
        });
        if state.queue.len() != before {
            state.counted -= dropped;
        }
        state.covered = (!covered.users.is_empty()).then_some(covered);
    }

    /// Refuses pushes from now on (the session is closing); what is queued can
    /// still be taken.
    pub fn close(&self) {
        let mut state = self.lock();
        if state.status == Status::Open {
            state.status = Status::Closing;
        }
    }

    /// Refuses pushes and lets go of the queue (the session ended): nothing it
    /// held stays in memory while a fan-out still holds the line.
    pub fn shut(&self) {
        self.close();
        self.lock().queue = VecDeque::new();
    }

    /// Whether the session fell `max_queue_bytes` behind.
    pub fn lagged(&self) -> bool {
        self.lock().status == Status::Lagged
    }

    /// Bytes of pushes queued or being written.
    pub fn counted(&self) -> usize {
        self.lock().counted
    }

    /// Bytes written to the socket that the client has not received yet (the
    /// kernel's send queue), and bytes written in all.
    pub fn unreceived(&self) -> (u64, u64) {
        let mut queued: libc::c_int = 0;
        // SAFETY: TIOCOUTQ writes one int through the pointer; the fd is open for `self`'s life.
        let ok = unsafe { libc::ioctl(self.stream.as_raw_fd(), libc::TIOCOUTQ, &mut queued) } == 0;
        (if ok { queued.max(0) as u64 } else { 0 }, self.lock().written)
    }

    /// Ends the socket at once (a reset): the kernel drops what it still held for
    /// a client that does not read, instead of keeping it for minutes.
    pub fn abort(&self) {
        let _ = self.stream.set_zero_linger();
    }

    /// Writes out the rest of a frame the fan-out wrote in part.
    fn poll_rest(&self, state: &mut State, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !state.rest.is_empty() {
            ready!(self.stream.poll_write_ready(cx))?;
            match self.stream.try_write(&state.rest) {
                Ok(n) => {
                    state.written += n as u64;
                    state.rest.advance(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// The session lagged: it is closed with 1008.
#[derive(Debug)]
pub struct Lagged;

/// The socket as tokio-websockets reads and writes it: reads come from the TCP
/// stream (after what hyper had read past the upgrade request); writes go to it
/// after the rest of a frame the fan-out wrote in part.
pub struct Conn {
    line: Arc<Line>,
    /// Bytes hyper read past the upgrade request (a client may send op 2 at once).
    early: Bytes,
}

impl Conn {
    /// The socket of `line`; `early` is read first.
    pub fn new(line: Arc<Line>, early: Bytes) -> Conn {
        Conn { line, early }
    }

    fn poll_write_with(
        &self,
        cx: &mut Context<'_>,
        write: impl Fn(&TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let mut state = self.line.lock();
        ready!(self.line.poll_rest(&mut state, cx))?;
        state.unflushed = true;
        loop {
            ready!(self.line.stream.poll_write_ready(cx))?;
            match write(&self.line.stream) {
                Ok(n) => {
                    state.written += n as u64;
                    return Poll::Ready(Ok(n));
                }
                // The readiness was stale; `try_write` cleared it, so the next poll registers.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.early.is_empty() {
            let n = this.early.len().min(buf.remaining());
            buf.put_slice(&this.early[..n]);
            this.early.advance(n);
            return Poll::Ready(Ok(()));
        }
        let stream = &this.line.stream;
        loop {
            ready!(stream.poll_read_ready(cx))?;
            match stream.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |stream| stream.try_write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |stream| stream.try_write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// tokio-websockets flushes once everything it holds is written: from here
    /// on, a push may go straight to the socket again (once the session releases it).
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = self.line.lock();
        ready!(self.line.poll_rest(&mut state, cx))?;
        state.unflushed = false;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The socket closes when the session drops it.
        self.poll_flush(cx)
    }
}

/// How often a session checks that its client receives what it is sent.
pub fn receipt_check_period(write_timeout: Duration) -> Duration {
    (write_timeout / 4).max(Duration::from_millis(50))
}

/// Whether a client receives what it is sent: bytes written before the check
/// [`CHECKS`] checks ago (a `write_timeout` ago, checking every quarter of it)
/// and still in the kernel's send queue mean it stopped reading.
#[derive(Debug, Default)]
pub struct Receipt {
    /// Bytes written in all, at each of the last checks (oldest first).
    written_at: VecDeque<u64>,
}

/// Checks a byte may stay unreceived.
pub const CHECKS: usize = 4;

impl Receipt {
    /// One periodic check: true when the client has stalled.
    pub fn stalled(&mut self, line: &Line) -> bool {
        let (unreceived, written) = line.unreceived();
        let received = written.saturating_sub(unreceived);
        let stalled = self.written_at.len() == CHECKS && received < self.written_at[0];
        if self.written_at.len() == CHECKS {
            self.written_at.pop_front();
        }
        self.written_at.push_back(written);
        stalled
    }
}

#[cfg(test)]
mod tests;
