//! The body decoder: reads a response body as its framing says (RFC 9112
//! §6.3, §7.1), and what follows a response, every read bounded.

use super::conn::{Conn, Fill};
use super::head::trim_ows;
use super::{After, AfterEnd, BodyEnd, Framing};
use crate::limits::{BODY_KEEP, BODY_READ_LIMIT, CHUNK_LINE_LIMIT, HEAD_LIMIT};
use std::time::Instant;

/// Decides how the body is delimited, in RFC 9112 §6.3's order.
pub(super) fn decide_framing(
    method: Option<&str>,
    code: u16,
    headers: &[(String, String)],
) -> Result<Framing, String> {
    // §6.3 rule 1: HEAD, 1xx, 204 and 304 responses end at the blank line.
    if method == Some("HEAD") || (100..200).contains(&code) || code == 204 || code == 304 {
        return Ok(Framing::None);
    }
    // §6.3 rule 2: a 2xx to CONNECT turns the connection into a tunnel.
    if method == Some("CONNECT") && (200..300).contains(&code) {
        return Ok(Framing::None);
    }
    let named = |name: &'static str| {
        headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    // §6.3 rule 4: Transfer-Encoding overrides Content-Length; if chunked is
    // not the final coding of a response, the body runs until close.
    let codings: Vec<&str> = named("transfer-encoding")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    if let Some(last) = codings.last() {
        return Ok(if last.eq_ignore_ascii_case("chunked") {
            Framing::Chunked
        } else {
            Framing::UntilClose
        });
    }
    // §6.3 rule 5: an invalid Content-Length is an unrecoverable error; a
    // list of identical values MAY be accepted as that one value.
    let mut length = None;
    for value in named("content-length").flat_map(|v| v.split(',')) {
        let value = value.trim();
        let parsed = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
            .then(|| value.parse::<u64>().ok())
            .flatten();
        match (parsed, length) {
            (None, _) => return Err(format!("invalid Content-Length \"{value}\"")),
            (Some(n), Some(m)) if n != m => {
                return Err(format!("conflicting Content-Length values {m} and {n}"))
            }
            (Some(n), _) => length = Some(n),
        }
    }
    // §6.3 rule 8: otherwise the body runs until the server closes.
    Ok(length.map_or(Framing::UntilClose, Framing::Length))
}

/// A body as read: the bytes kept, how many arrived, how the read ended.
pub(super) struct Body {
    pub(super) kept: Vec<u8>,
    pub(super) len: u64,
    pub(super) end: BodyEnd,
}

impl Body {
    fn new() -> Self {
        Body {
            kept: Vec::new(),
            len: 0,
            end: BodyEnd::Complete,
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        let room = BODY_KEEP.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.len += bytes.len() as u64;
    }
}

/// Reads a body by its framing. `Err` is a chunked body that is not
/// chunked coding (the response is then invalid).
pub(super) fn read_body(
    conn: &mut Conn,
    framing: Framing,
    deadline: Instant,
) -> Result<Body, String> {
    let mut body = Body::new();
    match framing {
        Framing::None => {}
        Framing::Length(n) => body.end = read_exact_body(conn, &mut body, n, deadline),
        Framing::UntilClose => {
            body.end = read_exact_body(conn, &mut body, u64::MAX, deadline);
            if body.end == BodyEnd::Closed {
                // Close is how this body ends (RFC 9112 §6.3 rule 8).
                body.end = BodyEnd::Complete;
            }
        }
        Framing::Chunked => body.end = read_chunked_body(conn, &mut body, deadline)?,
    }
    Ok(body)
}

/// Reads until `body` has `total` bytes, the read limit, or the connection
/// or deadline ends it.
fn read_exact_body(conn: &mut Conn, body: &mut Body, total: u64, deadline: Instant) -> BodyEnd {
    while body.len < total {
        if body.len >= BODY_READ_LIMIT {
            return BodyEnd::Truncated;
        }
        if conn.available().is_empty() {
            match conn.fill(deadline) {
                Fill::Data => {}
                Fill::Eof => return BodyEnd::Closed,
                Fill::Reset | Fill::Failed(_) => return BodyEnd::Reset,
                Fill::Deadline => return BodyEnd::Deadline,
            }
        }
        let want = (total - body.len).min(BODY_READ_LIMIT - body.len);
        let avail = conn.available();
        let n = avail.len().min(usize::try_from(want).unwrap_or(usize::MAX));
        body.take(&avail[..n]);
        conn.consume(n);
    }
    BodyEnd::Complete
}

/// Decodes a chunked body (RFC 9112 §7.1):
///
/// ```text
/// chunked-body = *chunk last-chunk trailer-section CRLF
/// chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
/// last-chunk   = 1*("0") [ chunk-ext ] CRLF
/// ```
fn read_chunked_body(
    conn: &mut Conn,
    body: &mut Body,
    deadline: Instant,
) -> Result<BodyEnd, String> {
    loop {
        let line = match read_line(conn, deadline, CHUNK_LINE_LIMIT)? {
            Line::Text(line) => line,
            Line::End(end) => return Ok(end),
        };
        let size = parse_chunk_size(&line).ok_or_else(|| {
            format!(
                "malformed chunk-size line \"{}\"",
                crate::escape::readable(&line[..line.len().min(40)])
            )
        })?;
        if size == 0 {
            return read_trailers(conn, deadline);
        }
        let before = body.len;
        let end = read_exact_body(conn, body, before.saturating_add(size), deadline);
        if end != BodyEnd::Complete {
            return Ok(end);
        }
        match read_line(conn, deadline, CHUNK_LINE_LIMIT)? {
            Line::Text(rest) if rest.is_empty() => {}
            Line::Text(_) => return Err("chunk data longer than its chunk-size".into()),
            Line::End(end) => return Ok(end),
        }
    }
}

/// `trailer-section = *( field-line CRLF )`, then the final CRLF.
fn read_trailers(conn: &mut Conn, deadline: Instant) -> Result<BodyEnd, String> {
    let mut total = 0;
    loop {
        match read_line(conn, deadline, HEAD_LIMIT)? {
            Line::Text(line) if line.is_empty() => return Ok(BodyEnd::Complete),
            Line::Text(line) => {
                total += line.len();
                if total > HEAD_LIMIT {
                    return Err(format!("trailer section longer than {HEAD_LIMIT} bytes"));
                }
            }
            Line::End(end) => return Ok(end),
        }
    }
}

/// `chunk-size [ chunk-ext ]`: hex digits, then optionally BWS and `;…`.
pub(super) fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return None;
    }
    let rest = trim_ows(&line[digits..]);
    if !(rest.is_empty() || rest[0] == b';') {
        return None;
    }
    line[..digits].iter().try_fold(0u64, |n, &b| {
        let digit = char::from(b).to_digit(16)?;
        n.checked_mul(16)?.checked_add(u64::from(digit))
    })
}

enum Line {
    Text(Vec<u8>),
    End(BodyEnd),
}

/// Reads one line (without its CRLF or LF) of at most `limit` bytes.
fn read_line(conn: &mut Conn, deadline: Instant, limit: usize) -> Result<Line, String> {
    loop {
        let avail = conn.available();
        if let Some(lf) = avail.iter().position(|&b| b == b'\n') {
            let line = avail[..lf]
                .strip_suffix(b"\r")
                .unwrap_or(&avail[..lf])
                .to_vec();
            conn.consume(lf + 1);
            return Ok(Line::Text(line));
        }
        if avail.len() > limit {
            return Err(format!(
                "a line in a chunked body longer than {limit} bytes"
            ));
        }
        match conn.fill(deadline) {
            Fill::Data => {}
            Fill::Eof => return Ok(Line::End(BodyEnd::Closed)),
            Fill::Reset | Fill::Failed(_) => return Ok(Line::End(BodyEnd::Reset)),
            Fill::Deadline => return Ok(Line::End(BodyEnd::Deadline)),
        }
    }
}

/// Reads whatever follows a response until the server closes, `deadline`
/// passes, or [`BODY_READ_LIMIT`](crate::limits::BODY_READ_LIMIT) bytes arrive; only counts them.
pub(super) fn read_after(conn: &mut Conn, deadline: Instant) -> After {
    let mut bytes = 0u64;
    loop {
        let n = conn.available().len();
        bytes += n as u64;
        conn.consume(n);
        if bytes > BODY_READ_LIMIT {
            return After {
                bytes,
                end: AfterEnd::Limit,
            };
        }
        let end = match conn.fill(deadline) {
            Fill::Data => continue,
            Fill::Eof => AfterEnd::Closed,
            Fill::Reset => AfterEnd::Reset,
            Fill::Deadline | Fill::Failed(_) => AfterEnd::Open,
        };
        return After { bytes, end };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_headers as headers;

    #[test]
    fn framing_rules_then_rfc9112_6_3_order() {
        let cl = headers(&[("Content-Length", "5")]);
        assert_eq!(decide_framing(Some("HEAD"), 200, &cl), Ok(Framing::None));
        assert_eq!(decide_framing(Some("GET"), 204, &cl), Ok(Framing::None));
        assert_eq!(decide_framing(Some("GET"), 304, &cl), Ok(Framing::None));
        assert_eq!(decide_framing(Some("CONNECT"), 200, &[]), Ok(Framing::None));
        assert_eq!(
            decide_framing(Some("GET"), 200, &cl),
            Ok(Framing::Length(5))
        );
        assert_eq!(
            decide_framing(Some("GET"), 200, &[]),
            Ok(Framing::UntilClose)
        );
        let te = headers(&[
            ("Content-Length", "5"),
            ("Transfer-Encoding", "gzip, chunked"),
        ]);
        assert_eq!(decide_framing(Some("GET"), 200, &te), Ok(Framing::Chunked));
        let te = headers(&[("Transfer-Encoding", "chunked, gzip")]);
        assert_eq!(
            decide_framing(Some("GET"), 200, &te),
            Ok(Framing::UntilClose)
        );
    }

    #[test]
    fn identical_content_lengths_then_accepted() {
        let cl = headers(&[("Content-Length", "5, 5"), ("content-length", "5")]);
        assert_eq!(
            decide_framing(Some("GET"), 200, &cl),
            Ok(Framing::Length(5))
        );
    }

    #[test]
    fn bad_content_lengths_then_invalid() {
        for value in ["-1", "5x", "", "5, 6", "99999999999999999999999"] {
            let cl = headers(&[("Content-Length", value)]);
            assert!(decide_framing(Some("GET"), 200, &cl).is_err(), "{value:?}");
        }
    }

    #[test]
    fn chunk_sizes_then_parsed() {
        assert_eq!(parse_chunk_size(b"1a"), Some(26));
        assert_eq!(parse_chunk_size(b"0"), Some(0));
        assert_eq!(parse_chunk_size(b"A ; name=value"), Some(10));
        assert_eq!(parse_chunk_size(b""), None);
        assert_eq!(parse_chunk_size(b"x"), None);
        assert_eq!(parse_chunk_size(b"1 2"), None);
        assert_eq!(parse_chunk_size(b"fffffffffffffffff"), None);
    }
}
