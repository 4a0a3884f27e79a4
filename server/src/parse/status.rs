//! The response head: the status-line and the field lines of RFC 9112 §4
//! and §5, for the reference proxy, which reads what an origin answers as
//! strictly as the server reads what a client asks. The field lines follow
//! the same rules as a request's (`head`): whitespace before a colon,
//! obs-fold, a bare CR or LF, and NUL or another control character in a
//! value are all errors.

use super::grammar::FIELD_VALUE;
use super::head::{parse_field_section, parse_line_end, values_named};
use super::{Error, Field, Parsed, Status, Version};

/// A parsed response head, borrowing from the receive buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead<'b> {
    /// The HTTP-version of the status-line.
    pub version: Version,
    /// The three-digit status code, 100 to 999 as received (the caller
    /// decides what to do with one outside 100–599).
    pub code: u16,
    /// The reason-phrase, possibly empty; it may hold obs-text.
    pub reason: &'b [u8],
    /// The field lines of the header section, in the order received.
    pub fields: Vec<Field<'b>>,
}

impl<'b> ResponseHead<'b> {
    /// Every value of the fields named `name` (case-insensitive), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'b [u8]> + 'a {
        values_named(&self.fields, name)
    }
}

/// ```text
/// status-line   = HTTP-version SP status-code SP [ reason-phrase ]
/// status-code   = 3DIGIT
/// reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
/// ```
/// (RFC 9112 §4), then the header section. On success, the second value is
/// the length of the head, including the empty line that ends it.
///
/// One robustness: the SP after the status code may be missing when the
/// reason-phrase is (`HTTP/1.1 200` CRLF), a form many servers send; no
/// other whitespace is accepted, since "lenient parsing can result in
/// response splitting security vulnerabilities if there are multiple
/// recipients of the message" (§4). Empty lines before the status-line are
/// an error: nothing may precede a response.
pub fn parse_response(buf: &[u8]) -> Parsed<ResponseHead<'_>> {
    let mut pos = 0;
    let version = match parse_status_version(buf, &mut pos)? {
        Status::Complete(version) => version,
        Status::Partial => return Ok(Status::Partial),
    };
    let code = match parse_code(buf, &mut pos)? {
        Status::Complete(code) => code,
        Status::Partial => return Ok(Status::Partial),
    };
    let reason = match parse_reason(buf, &mut pos)? {
        Status::Complete(reason) => reason,
        Status::Partial => return Ok(Status::Partial),
    };
    match parse_field_section(buf, pos)? {
        Status::Complete((fields, end)) => Ok(Status::Complete((
            ResponseHead {
                version,
                code,
                reason,
                fields,
            },
            end,
        ))),
        Status::Partial => Ok(Status::Partial),
    }
}

/// `HTTP-version SP` (RFC 9112 §2.3): `HTTP/` DIGIT `.` DIGIT, case-sensitive.
fn parse_status_version(buf: &[u8], pos: &mut usize) -> Result<Status<Version>, Error> {
    const SHAPE: &[u8; 9] = b"HTTP/0.0 ";
    for (i, &expected) in SHAPE.iter().enumerate() {
        let Some(&b) = buf.get(i) else {
            return Ok(Status::Partial);
        };
        let fits = if expected == b'0' {
            b.is_ascii_digit()
        } else {
            b == expected
        };
        if !fits {
            return Err(Error::Version);
        }
    }
    *pos = SHAPE.len();
    Ok(Status::Complete(Version {
        major: buf[5] - b'0',
        minor: buf[7] - b'0',
    }))
}

/// `status-code = 3DIGIT`.
fn parse_code(buf: &[u8], pos: &mut usize) -> Result<Status<u16>, Error> {
    let mut code = 0u16;
    for i in 0..3 {
        match buf.get(*pos + i) {
            None => return Ok(Status::Partial),
            Some(b) if b.is_ascii_digit() => code = code * 10 + u16::from(b - b'0'),
            Some(_) => return Err(Error::RequestLine),
        }
    }
    *pos += 3;
    Ok(Status::Complete(code))
}

/// `SP [ reason-phrase ]` and the line end; see [`parse_response`] for the
/// missing SP.
fn parse_reason<'b>(buf: &'b [u8], pos: &mut usize) -> Result<Status<&'b [u8]>, Error> {
    match buf.get(*pos) {
        None => return Ok(Status::Partial),
        Some(b' ') => *pos += 1,
        Some(b'\r') | Some(b'\n') => {}
        Some(_) => return Err(Error::RequestLine),
    }
    let start = *pos;
    let mut i = start;
    while let Some(&b) = buf.get(i) {
        if b == b'\r' || b == b'\n' {
            return Ok(match parse_line_end(buf, i)? {
                Status::Complete(end) => {
                    *pos = end;
                    Status::Complete(&buf[start..i])
                }
                Status::Partial => Status::Partial,
            });
        }
        if !FIELD_VALUE[b as usize] {
            return Err(Error::FieldValue);
        }
        i += 1;
    }
    Ok(Status::Partial)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nhi";

    fn error(bytes: &[u8]) -> Error {
        match parse_response(bytes) {
            Err(e) => e,
            other => panic!("expected an error for {bytes:?}, got {other:?}"),
        }
    }

    #[test]
    fn valid_response_is_complete_and_its_prefixes_partial() {
        let Ok(Status::Complete((head, len))) = parse_response(VALID) else {
            panic!("not complete")
        };
        assert_eq!(len, VALID.len() - 2);
        assert_eq!(
            (head.version, head.code, head.reason),
            (Version { major: 1, minor: 1 }, 200, &b"OK"[..])
        );
        let fields: Vec<(&str, &[u8])> = head.fields.iter().map(|f| (f.name, f.value)).collect();
        assert_eq!(fields, vec![("Content-Length", &b"2"[..]), ("X-A", b"b")]);
        for len in 0..VALID.len() - 2 {
            assert_eq!(parse_response(&VALID[..len]), Ok(Status::Partial), "{len}");
        }
    }

    #[test]
    fn the_reason_phrase_may_be_empty_or_absent() {
        for (bytes, reason) in [
            (&b"HTTP/1.1 204 \r\n\r\n"[..], &b""[..]),
            (b"HTTP/1.1 204\r\n\r\n", b""),
            (b"HTTP/1.0 299 Caf\xc3\xa9 ok\r\n\r\n", b"Caf\xc3\xa9 ok"),
        ] {
            let Ok(Status::Complete((head, _))) = parse_response(bytes) else {
                panic!("not complete: {bytes:?}")
            };
            assert_eq!(head.reason, reason);
        }
    }

    #[test]
    fn malformed_status_lines_and_fields_are_errors() {
        for (bytes, expected) in [
            (&b"HTTP/1.1  200 OK\r\n\r\n"[..], Error::RequestLine),
            (b"HTTP/1.1 20 OK\r\n\r\n", Error::RequestLine),
            (b"HTTP/1.1 2000 OK\r\n\r\n", Error::RequestLine),
            (b"http/1.1 200 OK\r\n\r\n", Error::Version),
            (b"HTTP/1.1\t200 OK\r\n\r\n", Error::Version),
            (b"\r\nHTTP/1.1 200 OK\r\n\r\n", Error::Version),
            (b"HTTP/1.1 200 O\x00K\r\n\r\n", Error::FieldValue),
            (b"HTTP/1.1 200 OK\rX\r\n\r\n", Error::BareCr),
            (b"HTTP/1.1 200 OK\n\r\n", Error::BareLf),
            (
                b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
                Error::ObsFold,
            ),
            (
                b"HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n",
                Error::SpaceBeforeColon,
            ),
            (b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n", Error::BareCr),
            (b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n", Error::FieldValue),
            (b"HTTP/1.1 200 OK\r\nX-A: 1\n\r\n", Error::BareLf),
        ] {
            assert_eq!(
                error(bytes),
                expected,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}
