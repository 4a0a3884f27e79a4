//! A message body, read by the framing it arrived with and sent on with
//! the proxy's own: octets counted by `Content-Length`, the chunked coding
//! decoded (its extensions and trailer fields dropped) and, when the next
//! hop takes chunks, encoded again with sizes the proxy writes itself.

use std::time::Duration;

use super::wire::{Fill, Outbox, Wire};
use crate::limits::MAX_HEADER_BYTES;
use crate::parse::{parse_chunk_end, parse_chunk_size, parse_trailer_section, Parsed, Status};

/// How a body is delimited as it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Frame {
    /// This many octets.
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
    /// Everything until the sender closes (a response only).
    Close,
}

/// How a body is sent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reframe {
    /// The content's octets alone: framed by a `Content-Length` the head
    /// carries, or by the close that follows them.
    Raw,
    /// In chunks.
    Chunked,
}

/// Why a body was not passed on whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Broken {
    /// Reading stopped before its end.
    Source(Fill),
    /// Its chunked framing is invalid.
    Bad,
    /// The next hop stopped taking it.
    Sink,
}

/// Reads the body `frame` delimits from `from` (each read waiting at most
/// `wait`) and sends it to `to` as `out` says, the bytes after it left in
/// `from`'s buffer.
///
/// RFC 9112 §7.1.2: "A recipient that removes the chunked coding from a
/// message MAY selectively retain or discard the received trailer fields";
/// they are discarded, never merged into the header section. A chunk-size
/// of more than 15 hex digits is invalid (`parse_chunk_size`), and the size
/// sent on is the proxy's own count, so no size is forwarded wrapped.
/// What arrived before a failure is sent on all the same: the close that
/// follows tells the next hop the message is incomplete.
pub(super) fn transfer(
    from: &mut Wire<'_>,
    wait: Duration,
    frame: Frame,
    to: &mut Outbox<'_, '_>,
    out: Reframe,
) -> Result<(), Broken> {
    let passed = pass(from, wait, frame, to, out);
    match (to.flush(), passed) {
        (true, passed) => passed,
        (false, Err(broken)) => Err(broken),
        (false, Ok(())) => Err(Broken::Sink),
    }
}

fn pass(
    from: &mut Wire<'_>,
    wait: Duration,
    frame: Frame,
    to: &mut Outbox<'_, '_>,
    out: Reframe,
) -> Result<(), Broken> {
    match frame {
        Frame::Length(n) => {
            if out == Reframe::Chunked && n > 0 {
                push(to, format!("{n:x}\r\n").as_bytes())?;
            }
            copy(from, wait, n, to)?;
            if out == Reframe::Chunked {
                push(
                    to,
                    if n > 0 {
                        b"\r\n0\r\n\r\n"
                    } else {
                        b"0\r\n\r\n"
                    },
                )?;
            }
        }
        Frame::Chunked => dechunk(from, wait, to, out)?,
        Frame::Close => loop {
            if !from.buf.is_empty() {
                if out == Reframe::Chunked {
                    push(to, format!("{:x}\r\n", from.buf.len()).as_bytes())?;
                }
                push(to, &from.buf)?;
                if out == Reframe::Chunked {
                    push(to, b"\r\n")?;
                }
                from.buf.clear();
            }
            match from.fill(wait) {
                Ok(()) => {}
                Err(Fill::Closed) => {
                    if out == Reframe::Chunked {
                        push(to, b"0\r\n\r\n")?;
                    }
                    break;
                }
                Err(fill) => return Err(Broken::Source(fill)),
            }
        },
    }
    Ok(())
}

fn push(to: &mut Outbox<'_, '_>, bytes: &[u8]) -> Result<(), Broken> {
    if to.push(bytes) {
        Ok(())
    } else {
        Err(Broken::Sink)
    }
}

/// Copies `n` octets of `from` to `to`.
fn copy(
    from: &mut Wire<'_>,
    wait: Duration,
    n: u64,
    to: &mut Outbox<'_, '_>,
) -> Result<(), Broken> {
    let mut left = n;
    while left > 0 {
        if from.buf.is_empty() {
            from.fill(wait).map_err(Broken::Source)?;
        }
        let take = from
            .buf
            .len()
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        push(to, &from.buf[..take])?;
        from.buf.drain(..take);
        left -= take as u64;
    }
    Ok(())
}

/// Decodes a chunked body (RFC 9112 §7.1.3) and sends its data on.
fn dechunk(
    from: &mut Wire<'_>,
    wait: Duration,
    to: &mut Outbox<'_, '_>,
    out: Reframe,
) -> Result<(), Broken> {
    loop {
        let size = element(from, wait, parse_chunk_size)?;
        if size == 0 {
            break;
        }
        if out == Reframe::Chunked {
            push(to, format!("{size:x}\r\n").as_bytes())?;
        }
        copy(from, wait, size, to)?;
        element(from, wait, parse_chunk_end)?;
        if out == Reframe::Chunked {
            push(to, b"\r\n")?;
        }
    }
    element(from, wait, parse_trailer_section)?;
    if out == Reframe::Chunked {
        push(to, b"0\r\n\r\n")?;
    }
    Ok(())
}

/// One element of the chunked framing, read from `from` and consumed.
fn element<T>(
    from: &mut Wire<'_>,
    wait: Duration,
    parse: impl Fn(&[u8]) -> Parsed<T>,
) -> Result<T, Broken> {
    loop {
        match parse(&from.buf) {
            Ok(Status::Complete((value, used))) => {
                from.buf.drain(..used);
                return Ok(value);
            }
            // A chunk line of endless extensions is no chunk line.
            Ok(Status::Partial) if from.buf.len() > MAX_HEADER_BYTES => return Err(Broken::Bad),
            Ok(Status::Partial) => from.fill(wait).map_err(Broken::Source)?,
            Err(_) => return Err(Broken::Bad),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};

    /// `input` read from one socket pair and passed to another: what
    /// arrives, what is left unread in the buffer, and the outcome.
    fn run(input: &[u8], frame: Frame, out: Reframe) -> (Vec<u8>, Vec<u8>, Result<(), Broken>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut sender = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (source, _) = listener.accept().unwrap();
        let mut receiver = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (sink, _) = listener.accept().unwrap();
        sender.write_all(input).unwrap();
        sender.shutdown(Shutdown::Write).unwrap();
        let mut from = Wire::new(&source);
        let sink_wire = Wire::new(&sink);
        let mut to = Outbox::new(&sink_wire);
        let outcome = transfer(&mut from, Duration::from_secs(10), frame, &mut to, out);
        drop(to);
        sink.shutdown(Shutdown::Write).unwrap();
        let mut received = Vec::new();
        receiver.read_to_end(&mut received).unwrap();
        (received, from.buf, outcome)
    }

    #[test]
    fn chunks_are_decoded_and_encoded_again_without_extensions_or_trailers() {
        let input = b"5;ext=1\r\nhello\r\n001\r\n!\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
        let (sent, left, outcome) = run(input, Frame::Chunked, Reframe::Chunked);
        assert_eq!(outcome, Ok(()));
        assert_eq!(sent, b"5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n");
        assert_eq!(left, b"NEXT");
        let (sent, _, outcome) = run(input, Frame::Chunked, Reframe::Raw);
        assert_eq!((sent, outcome), (b"hello!".to_vec(), Ok(())));
    }

    #[test]
    fn a_length_is_copied_exactly_and_may_be_chunked() {
        let (sent, left, outcome) = run(b"abcdefXYZ", Frame::Length(6), Reframe::Raw);
        assert_eq!(
            (sent, left, outcome),
            (b"abcdef".to_vec(), b"XYZ".to_vec(), Ok(()))
        );
        let (sent, _, _) = run(b"abcdef", Frame::Length(6), Reframe::Chunked);
        assert_eq!(sent, b"6\r\nabcdef\r\n0\r\n\r\n");
        let (sent, _, _) = run(b"", Frame::Length(0), Reframe::Chunked);
        assert_eq!(sent, b"0\r\n\r\n");
    }

    #[test]
    fn a_close_delimited_body_ends_with_the_close() {
        let (sent, _, outcome) = run(b"all of it", Frame::Close, Reframe::Chunked);
        assert_eq!(
            (sent, outcome),
            (b"9\r\nall of it\r\n0\r\n\r\n".to_vec(), Ok(()))
        );
    }

    #[test]
    fn a_short_or_malformed_body_is_broken() {
        let (_, _, outcome) = run(b"abc", Frame::Length(6), Reframe::Raw);
        assert_eq!(outcome, Err(Broken::Source(Fill::Closed)));
        for bad in [
            &b"5\r\nhelloXX0\r\n\r\n"[..],
            b"1ffffffffffffffff\r\n",
            b"z\r\n",
            b"5\r\nhello\r\n0\r\nX : y\r\n\r\n",
        ] {
            let (_, _, outcome) = run(bad, Frame::Chunked, Reframe::Chunked);
            assert_eq!(
                outcome,
                Err(Broken::Bad),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
