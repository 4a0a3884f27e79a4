//! Reading: more bytes into the buffer before a deadline, and a request's
//! content read and dropped so the next request starts where it should.

use std::time::Instant;

use rustix::buffer::spare_capacity;
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::net::RecvFlags;

use super::{Connection, Stop};
use crate::limits::{
    FIRST_BYTES_WAIT, MAX_DISCARDED_BODY, MAX_HEADER_BYTES, READ_CHUNK, READ_TIMEOUT_SLACK,
};
use crate::parse::{self, parse_chunk_size, parse_trailer_section, Status};
use crate::problem::Problem;
use crate::request::Framing;
use crate::respond::reads_body;

/// Why a request body could not be read.
pub(super) enum Fault {
    /// Its framing is invalid.
    Bad(Problem),
    /// Reading stopped.
    Stop(Stop),
}

impl From<Stop> for Fault {
    fn from(stop: Stop) -> Fault {
        Fault::Stop(stop)
    }
}

impl Connection<'_> {
    /// Reads more bytes into the buffer before `deadline`. `may_wait`:
    /// nothing of a request has arrived, so if nothing is there and the
    /// connection has not been handed over, it may wait without this thread
    /// ([`Stop::Wait`]).
    pub(super) fn fill(&mut self, deadline: Instant, may_wait: bool) -> Result<(), Stop> {
        // Read straight into the buffer's spare room, which is never
        // zeroed (a zeroed chunk on the stack cost more than the parse).
        if self.buf.capacity() - self.buf.len() < READ_CHUNK / 2 {
            self.buf.reserve(READ_CHUNK);
        }
        let mut first_read = std::mem::take(&mut self.fresh);
        while self.hand_over.is_some() {
            let room = spare_capacity(&mut self.buf);
            match rustix::net::recv(self.stream, room, RecvFlags::DONTWAIT) {
                Ok((0, _)) => return Err(Stop::Closed),
                Ok(_) => return Ok(()),
                Err(Errno::AGAIN | Errno::INTR) if may_wait => {
                    if !std::mem::take(&mut first_read) || !self.arrives_soon() {
                        return Err(Stop::Wait);
                    }
                }
                Err(Errno::AGAIN | Errno::INTR) => self.hand_over(),
                Err(_) => return Err(Stop::Closed),
            }
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Stop::Timeout);
            }
            if self.timeout.is_none_or(|t| t > left + READ_TIMEOUT_SLACK) {
                let _ = self.stream.set_read_timeout(Some(left));
                self.timeout = Some(left);
            }
            let room = spare_capacity(&mut self.buf);
            match rustix::net::recv(self.stream, room, RecvFlags::empty()) {
                Ok((0, _)) => return Err(Stop::Closed),
                Ok(_) => return Ok(()),
                // The timeout may have been set for an earlier, shorter
                // deadline: only the deadline itself ends the wait.
                Err(Errno::AGAIN) => self.timeout = None,
                Err(Errno::INTR) => {}
                Err(_) => return Err(Stop::Closed),
            }
        }
    }

    /// Reads and drops the request body so the next request starts where it
    /// should (RFC 9112 §6.3). `Ok(false)` when the body is larger than this
    /// server reads: the connection must then close after the response.
    pub(super) fn discard_body(
        &mut self,
        framing: Framing,
        deadline: Instant,
    ) -> Result<bool, Fault> {
        match framing {
            Framing::Empty => Ok(true),
            _ if !reads_body(framing) => Ok(false),
            Framing::Length(n) => Ok(self.skip(n, deadline).map(|()| true)?),
            Framing::Chunked => {
                let mut total = 0u64;
                loop {
                    let size = self.parse_with(parse_chunk_size, deadline)?;
                    if size == 0 {
                        self.parse_with(parse_trailer_section, deadline)?;
                        return Ok(true);
                    }
                    total = total.saturating_add(size);
                    if total > MAX_DISCARDED_BODY {
                        return Ok(false);
                    }
                    self.skip(size, deadline)?;
                    self.parse_with(parse::parse_chunk_end, deadline)?;
                }
            }
        }
    }

    /// Runs `parse` on the buffer, reading more until it completes, and
    /// consumes what it parsed.
    fn parse_with<T>(
        &mut self,
        parse: fn(&[u8]) -> parse::Parsed<T>,
        deadline: Instant,
    ) -> Result<T, Fault> {
        loop {
            match parse(&self.buf) {
                Ok(Status::Complete((value, len))) => {
                    self.buf.drain(..len);
                    return Ok(value);
                }
                Ok(Status::Partial) if self.buf.len() > MAX_HEADER_BYTES => {
                    return Err(Fault::Bad(Problem::Parse(parse::Error::Chunk)))
                }
                Ok(Status::Partial) => self.fill(deadline, false)?,
                Err(e) => return Err(Fault::Bad(Problem::Parse(e))),
            }
        }
    }

    /// Drops the next `n` body bytes, from the buffer and then the socket.
    fn skip(&mut self, mut n: u64, deadline: Instant) -> Result<(), Stop> {
        loop {
            let here = n.min(self.buf.len() as u64) as usize;
            self.buf.drain(..here);
            n -= here as u64;
            if n == 0 {
                return Ok(());
            }
            self.fill(deadline, false)?;
        }
    }

    /// Whether the client's first bytes arrive within [`FIRST_BYTES_WAIT`].
    fn arrives_soon(&self) -> bool {
        let wait = Timespec {
            tv_sec: 0,
            tv_nsec: i64::from(FIRST_BYTES_WAIT.subsec_nanos()),
        };
        let mut fds = [PollFd::new(self.stream, PollFlags::IN)];
        matches!(rustix::event::poll(&mut fds, Some(&wait)), Ok(1))
    }
}
