//! The connection: the socket, writes bounded by a deadline, reads that
//! say whether more bytes came, the peer closed, reset, or time ran out,
//! and the record of every byte received during a step.

use crate::limits::RECORD_LIMIT;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// How many bytes one `read` call asks for.
const READ_CHUNK: usize = 16 * 1024;

/// Writes as much of `bytes` as the peer takes before `deadline`. A write
/// error is recorded, not returned: the server may have answered and closed
/// early (EPIPE, ECONNRESET), and its answer is still worth reading.
pub(super) fn write_all_by(
    stream: &mut TcpStream,
    bytes: &[u8],
    deadline: Instant,
) -> (usize, Option<String>) {
    let mut written = 0;
    while written < bytes.len() {
        let Some(left) = time_left(deadline) else {
            return (written, Some("write timed out".to_string()));
        };
        if let Err(e) = stream.set_write_timeout(Some(left)) {
            return (written, Some(e.to_string()));
        }
        match stream.write(&bytes[written..]) {
            Ok(0) => return (written, Some("peer accepted no more bytes".to_string())),
            Ok(n) => written += n,
            Err(e) if is_retry(e.kind()) => {}
            Err(e) => return (written, Some(e.to_string())),
        }
    }
    (written, None)
}

pub(super) fn time_left(deadline: Instant) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    (!left.is_zero()).then_some(left)
}

pub(super) fn is_retry(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Interrupted | ErrorKind::WouldBlock | ErrorKind::TimedOut
    )
}

/// One connection with its unread bytes and the record of what was read.
pub(super) struct Conn {
    pub(super) stream: TcpStream,
    /// Received bytes not consumed yet start at `start`.
    buf: Vec<u8>,
    start: usize,
    /// Raw bytes read during the current step, up to [`RECORD_LIMIT`].
    pub(super) record: Vec<u8>,
    pub(super) record_total: u64,
}

/// The result of asking the socket for more bytes.
pub(super) enum Fill {
    Data,
    Eof,
    Reset,
    Deadline,
    Failed(String),
}

impl Conn {
    pub(super) fn new(stream: TcpStream) -> Self {
        Conn {
            stream,
            buf: Vec::new(),
            start: 0,
            record: Vec::new(),
            record_total: 0,
        }
    }

    pub(super) fn available(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    pub(super) fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start >= READ_CHUNK {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    /// Reads at least one more byte, or says why not, by `deadline`.
    pub(super) fn fill(&mut self, deadline: Instant) -> Fill {
        let mut chunk = [0u8; READ_CHUNK];
        loop {
            let Some(left) = time_left(deadline) else {
                return Fill::Deadline;
            };
            if let Err(e) = self.stream.set_read_timeout(Some(left)) {
                return Fill::Failed(e.to_string());
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Fill::Eof,
                Ok(n) => {
                    let got = &chunk[..n];
                    self.buf.extend_from_slice(got);
                    let room = RECORD_LIMIT.saturating_sub(self.record.len());
                    self.record.extend_from_slice(&got[..n.min(room)]);
                    self.record_total += n as u64;
                    return Fill::Data;
                }
                Err(e) if is_retry(e.kind()) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                    ) =>
                {
                    return Fill::Reset
                }
                Err(e) => return Fill::Failed(e.to_string()),
            }
        }
    }
}
