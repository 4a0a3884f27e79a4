//! The one response writer, and the two ways its octets reach a socket: a
//! served connection's, paced against the minimum send rate, and the plain
//! writes of a refusal to a connection past the cap.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::TcpStream;
use std::time::Instant;

use rustix::io::Errno;
use rustix::net::SendFlags;

use super::pace::Pace;
use super::Connection;
use crate::files::SmallFiles;
use crate::limits::{FILE_CHUNK, MAX_CACHED_FILE};
use crate::problem::Problem;
use crate::response::{Body, Response, Segment};

/// Where a response's octets go.
pub(super) trait Sink {
    /// Writes all of `bytes`; returns whether all were written.
    fn send(&mut self, bytes: &[u8]) -> bool;
}

/// The one response writer: the head [`Response::head`] makes (status
/// line, `Date`, framing, `Connection: close`), then the content unless
/// the response has none to send. Returns whether all of it was sent,
/// or the problem to answer instead when the file cannot be read before
/// anything was written. Should a large file shrink while it is
/// streamed, the length sent is still the one planned, and the short
/// read closes the connection.
pub(super) fn write_response(
    out: &mut impl Sink,
    small_files: &SmallFiles,
    response: &Response,
    head_only: bool,
    close: bool,
) -> Result<bool, Problem> {
    let Body::File {
        path,
        meta,
        segments,
    } = response.content()
    else {
        let bytes = response.to_bytes(head_only, close);
        return Ok(out.send(&bytes));
    };
    let sends = response.sends_content(head_only);
    let small = meta.len() <= MAX_CACHED_FILE;
    let room = if sends && small {
        response.content().size() as usize
    } else {
        0
    };
    let mut bytes = response.head(close, room);
    if !sends {
        return Ok(out.send(&bytes));
    }
    // Small files go out with the head in one write; large ones are
    // streamed in fixed chunks, so memory does not grow with the file.
    if small {
        let content = small_files.content(path, meta);
        let content = content.map_err(|_| Problem::Internal)?;
        for segment in segments {
            match segment {
                Segment::Bytes(delimiter) => bytes.extend_from_slice(delimiter),
                Segment::File { offset, len } => {
                    let part = slice(&content, *offset, *len).ok_or(Problem::Internal)?;
                    bytes.extend_from_slice(part);
                }
            }
        }
        return Ok(out.send(&bytes));
    }
    let mut source = File::open(path).map_err(|_| Problem::Internal)?;
    if !out.send(&bytes) {
        return Ok(false);
    }
    let mut chunk = vec![0u8; FILE_CHUNK];
    for segment in segments {
        let sent = match segment {
            Segment::Bytes(delimiter) => out.send(delimiter),
            Segment::File { offset, len } => {
                stream_file(out, &mut source, *offset, *len, &mut chunk)
            }
        };
        if !sent {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Streams `len` octets of `file` from `offset`, through `chunk`.
/// Returns whether all were sent: a file that shrank while being sent
/// broke its Content-Length, and the only honest end is to close.
fn stream_file(
    out: &mut impl Sink,
    file: &mut File,
    offset: u64,
    len: u64,
    chunk: &mut [u8],
) -> bool {
    if file.seek(SeekFrom::Start(offset)).is_err() {
        return false;
    }
    let mut part = Read::take(&mut *file, len);
    let mut sent = 0u64;
    loop {
        match part.read(chunk) {
            Ok(0) => break,
            Ok(n) => {
                if !out.send(&chunk[..n]) {
                    return false;
                }
                sent += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    sent == len
}

/// `len` octets of `content` from `offset`, if it holds them.
fn slice(content: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    content.get(start..end)
}

impl Connection<'_> {
    /// Writes `response` on this connection, through [`write_response`].
    pub(super) fn write(
        &mut self,
        response: &Response,
        head_only: bool,
        close: bool,
    ) -> Result<bool, Problem> {
        let ctx = self.ctx;
        self.pace = None;
        write_response(self, &ctx.small_files, response, head_only, close)
    }

    /// One write of what `bytes` the socket takes; until the connection has
    /// been handed over, one that does not block, and would it block, the
    /// hand-over first.
    fn write_some(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.hand_over.is_some() {
            let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
            match rustix::net::send(self.stream, bytes, flags) {
                Err(Errno::AGAIN) => self.hand_over(),
                sent => return sent.map_err(io::Error::from),
            }
        }
        self.stream.write(bytes)
    }
}

impl Sink for Connection<'_> {
    /// Writes all of `bytes`, unless the response falls below the minimum
    /// send rate (then it is abandoned) or the client goes away. Returns
    /// whether all were written.
    ///
    /// A response the socket buffers take at once is never measured: its
    /// pace starts with its first write that could not be completed at
    /// once, and ends with the response ([`Connection::write`]), so a
    /// persistent connection is judged on each response alone, never on
    /// the pauses between its requests.
    fn send(&mut self, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            // A blocked write returns within a slot (the socket's write
            // timeout), to be judged here.
            if let Some(pace) = &mut self.pace {
                if !pace.keeps_pace(Instant::now()) {
                    self.too_slow = true;
                    return false;
                }
            }
            let written = match self.write_some(bytes) {
                Ok(0) => return false,
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    0
                }
                Err(_) => return false,
            };
            bytes = &bytes[written..];
            if self.pace.is_some() || !bytes.is_empty() {
                let now = Instant::now();
                let ctx = self.ctx;
                self.pace
                    .get_or_insert_with(|| Pace::new(now, ctx.min_send_rate, ctx.send_rate_window))
                    .sent(now, written);
            }
        }
        true
    }
}

/// A socket written with blocking writes, each bounded by the socket's own
/// write timeout and no pace kept: a refusal is small, and the worker must
/// not wait long on a client that does not read it.
pub(super) struct Plain<'s>(pub(super) &'s TcpStream);

impl Sink for Plain<'_> {
    fn send(&mut self, bytes: &[u8]) -> bool {
        let mut stream = self.0;
        stream.write_all(bytes).is_ok()
    }
}
