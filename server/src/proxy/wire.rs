//! A socket of the proxy, the client's or the origin's, with the bytes
//! read from it and not yet used; and the writes that gather a message's
//! pieces into few system calls.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::limits::{LINGER_TIMEOUT, MAX_LINGER_BYTES, READ_CHUNK};

/// Why no more bytes were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fill {
    /// The peer closed its side.
    Closed,
    /// Nothing arrived in time.
    Timeout,
    /// The socket failed (a reset).
    Failed,
}

/// One socket and its read buffer.
pub(super) struct Wire<'s> {
    pub(super) stream: &'s TcpStream,
    /// Read and not yet used.
    pub(super) buf: Vec<u8>,
    /// The socket's read timeout as last set.
    timeout: Option<Duration>,
}

impl<'s> Wire<'s> {
    pub(super) fn new(stream: &'s TcpStream) -> Wire<'s> {
        Wire {
            stream,
            buf: Vec::with_capacity(READ_CHUNK),
            timeout: None,
        }
    }

    /// Reads more bytes into the buffer, waiting at most `wait`.
    pub(super) fn fill(&mut self, wait: Duration) -> Result<(), Fill> {
        if wait.is_zero() {
            return Err(Fill::Timeout);
        }
        if self.timeout != Some(wait) {
            self.stream
                .set_read_timeout(Some(wait))
                .map_err(|_| Fill::Failed)?;
            self.timeout = Some(wait);
        }
        let mut chunk = [0u8; READ_CHUNK];
        loop {
            match (&mut &*self.stream).read(&mut chunk) {
                Ok(0) => return Err(Fill::Closed),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(Fill::Timeout)
                }
                Err(_) => return Err(Fill::Failed),
            }
        }
    }

    /// Reads more bytes into the buffer before `deadline`.
    pub(super) fn fill_before(&mut self, deadline: Instant) -> Result<(), Fill> {
        self.fill(deadline.saturating_duration_since(Instant::now()))
    }

    /// Writes all of `bytes` (each write bounded by the socket's write
    /// timeout); returns whether all were written.
    pub(super) fn send(&self, bytes: &[u8]) -> bool {
        (&mut &*self.stream).write_all(bytes).is_ok()
    }

    /// Closes in stages when the peer may still be sending: half-closes,
    /// then drains what arrives for a moment, so the kernel does not answer
    /// unread bytes with a reset that destroys the response in flight.
    pub(super) fn linger_close(mut self) {
        if self.stream.shutdown(Shutdown::Write).is_err() {
            return;
        }
        let deadline = Instant::now() + LINGER_TIMEOUT;
        let mut drained = 0;
        while drained < MAX_LINGER_BYTES {
            self.buf.clear();
            if self.fill_before(deadline).is_err() {
                return;
            }
            drained += self.buf.len();
        }
    }
}

/// Where a message's pieces gather before they are written, so a head and
/// a small body go out in one write.
pub(super) struct Outbox<'w, 's> {
    wire: &'w Wire<'s>,
    pending: Vec<u8>,
    /// A write failed: the peer is gone.
    pub(super) broken: bool,
}

/// Gathered bytes past this are written at once.
const OUTBOX_FLUSH: usize = 64 * 1024;

impl<'w, 's> Outbox<'w, 's> {
    pub(super) fn new(wire: &'w Wire<'s>) -> Outbox<'w, 's> {
        Outbox {
            wire,
            pending: Vec::new(),
            broken: false,
        }
    }

    /// Adds `bytes`, writing what has gathered once it is large.
    pub(super) fn push(&mut self, bytes: &[u8]) -> bool {
        self.pending.extend_from_slice(bytes);
        self.pending.len() < OUTBOX_FLUSH || self.flush()
    }

    /// Writes what has gathered; returns whether all of it was written.
    pub(super) fn flush(&mut self) -> bool {
        if !self.broken && !self.pending.is_empty() {
            self.broken = !self.wire.send(&self.pending);
        }
        self.pending.clear();
        !self.broken
    }
}
