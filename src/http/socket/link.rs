//! The session's socket as tokio-websockets sees it: reads come from the TCP
//! stream (after whatever hyper had read past the upgrade request), writes go
//! into the session's [`Outbox`], so that the frames tokio-websockets makes
//! itself (pongs, close replies, its 1009 close) take their turn with the
//! pushed frames instead of interleaving with them.
//!
//! Each write is collected and handed to the outbox as one chunk on flush:
//! tokio-websockets writes whole frames and then flushes, so a chunk is always
//! whole frames. Writes never wait; their bytes are few (control frames), and
//! the session's data frames go to the outbox directly, never through here.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::outbox::{Outbox, Wire};

/// A session's socket for tokio-websockets.
pub struct Link {
    outbox: Arc<Outbox>,
    /// Bytes hyper read past the upgrade request (a client may send op 2 at once).
    early: Bytes,
    /// Written and not flushed yet.
    pending: BytesMut,
}

impl Link {
    /// The link over an outbox's socket; `early` is read first.
    pub fn new(outbox: Arc<Outbox>, early: Bytes) -> Link {
        Link { outbox, early, pending: BytesMut::new() }
    }
}

impl AsyncRead for Link {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.early.is_empty() {
            let n = this.early.len().min(buf.remaining());
            buf.put_slice(&this.early[..n]);
            this.early.advance(n);
            return Poll::Ready(Ok(()));
        }
        let stream = this.outbox.stream();
        loop {
            ready!(stream.poll_read_ready(cx))?;
            match stream.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // The readiness was stale; `try_read` cleared it, so the next poll registers.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Link {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().pending.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mut n = 0;
        for buf in bufs {
            this.pending.extend_from_slice(buf);
            n += buf.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pending.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let chunk = this.pending.split().freeze();
        Poll::Ready(this.outbox.send(Wire::raw(chunk)).map_err(|_| io::ErrorKind::BrokenPipe.into()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The session drains the outbox before it ends; the socket closes when it drops.
        self.poll_flush(cx)
    }
}
