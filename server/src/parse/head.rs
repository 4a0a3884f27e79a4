//! The request head: the request-line and the field lines of RFC 9112
//! §2–§5. The field-section rules serve the trailer section of a chunked
//! body too (`chunked`).

use super::grammar::{ascii, FIELD_VALUE, TOKEN, URI};
use super::{Error, Parsed, Status};
use crate::limits::{MAX_FIELDS, MAX_HEADER_BYTES, MAX_METHOD_LEN, MAX_TARGET_LEN};

/// `HTTP/` major `.` minor, as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// The digit before the dot.
    pub major: u8,
    /// The digit after the dot.
    pub minor: u8,
}

/// One field line: the name as received and the value with OWS trimmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'b> {
    /// The field-name, in the case it was sent.
    pub name: &'b str,
    /// The field-value without leading and trailing whitespace; it may hold
    /// obs-text, so it is bytes, not text.
    pub value: &'b [u8],
}

/// A parsed request head, borrowing from the receive buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'b> {
    /// The method token, case-sensitive (RFC 9110 §9.1).
    pub method: &'b str,
    /// The request-target, as sent.
    pub target: &'b str,
    /// The HTTP-version of the request-line.
    pub version: Version,
    /// The field lines of the header section, in the order received.
    pub fields: Vec<Field<'b>>,
}

impl<'b> Request<'b> {
    /// Every value of the fields named `name` (case-insensitive), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'b [u8]> + 'a {
        values_named(&self.fields, name)
    }
}

/// Every value of the fields of `fields` named `name` (case-insensitive),
/// in order: a request's or a response's.
pub(super) fn values_named<'a, 'b>(
    fields: &'a [Field<'b>],
    name: &'a str,
) -> impl Iterator<Item = &'b [u8]> + 'a {
    fields
        .iter()
        .filter(move |f| f.name.eq_ignore_ascii_case(name))
        .map(|f| f.value)
}

///
/// ```text
/// HTTP-message = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
/// ```
/// (RFC 9112 §2.1). On success, the second value is the length of the head,
/// including the empty line that ends it.
pub fn parse_request(buf: &[u8]) -> Parsed<Request<'_>> {
    let mut pos = match skip_empty_lines(buf)? {
        Status::Complete(pos) => pos,
        Status::Partial => return Ok(Status::Partial),
    };
    let (method, target, version) = match parse_request_line(buf, &mut pos)? {
        Status::Complete(line) => line,
        Status::Partial => return Ok(Status::Partial),
    };
    match parse_field_section(buf, pos)? {
        Status::Complete((fields, end)) => Ok(Status::Complete((
            Request {
                method,
                target,
                version,
                fields,
            },
            end,
        ))),
        Status::Partial => Ok(Status::Partial),
    }
}

/// ```text
/// *( field-line CRLF ) CRLF
/// ```
/// from `start`: the header section of a request (RFC 9112 §2.1) or the
/// trailer section of a chunked body (§7.1.2). Returns the fields and the
/// position after the empty line.
pub(super) fn parse_field_section(
    buf: &[u8],
    start: usize,
) -> Result<Status<(Vec<Field<'_>>, usize)>, Error> {
    let mut pos = start;
    let mut fields = Vec::new();
    loop {
        if pos - start > MAX_HEADER_BYTES {
            return Err(Error::HeaderTooLarge);
        }
        match buf.get(pos) {
            None => return partial_within(buf.len() - start, MAX_HEADER_BYTES),
            Some(b'\r') | Some(b'\n') => {
                return match parse_line_end(buf, pos)? {
                    Status::Complete(end) => Ok(Status::Complete((fields, end))),
                    // The field lines end at `pos`, within the limit: only
                    // the LF of the empty line is missing.
                    Status::Partial => Ok(Status::Partial),
                };
            }
            Some(_) => {}
        }
        match parse_field_line(buf, &mut pos)? {
            Status::Complete(field) => {
                if fields.len() == MAX_FIELDS {
                    return Err(Error::TooManyFields);
                }
                fields.push(field);
            }
            Status::Partial => return partial_within(buf.len() - start, MAX_HEADER_BYTES),
        }
    }
}

/// `Partial` while `len` stays within `limit`; past it, the header section
/// can only end up too large.
fn partial_within<T>(len: usize, limit: usize) -> Result<Status<T>, Error> {
    if len > limit {
        Err(Error::HeaderTooLarge)
    } else {
        Ok(Status::Partial)
    }
}

/// Skips empty lines before the request-line.
///
/// RFC 9112 §2.2: "In the interest of robustness, a server that is expecting
/// to receive and parse a request-line SHOULD ignore at least one empty line
/// (CRLF) received prior to the request-line." They count toward the
/// header-section limit so a stream of CRLFs cannot hold a worker forever.
fn skip_empty_lines(buf: &[u8]) -> Result<Status<usize>, Error> {
    let mut pos = 0;
    loop {
        if pos > MAX_HEADER_BYTES {
            return Err(Error::HeaderTooLarge);
        }
        match buf.get(pos) {
            Some(b'\r') => match parse_line_end(buf, pos)? {
                Status::Complete(end) => pos = end,
                Status::Partial => return Ok(Status::Partial),
            },
            Some(b'\n') => return Err(Error::BareLf),
            Some(_) => return Ok(Status::Complete(pos)),
            None => return Ok(Status::Partial),
        }
    }
}

/// ```text
/// request-line = method SP request-target SP HTTP-version
/// ```
/// (RFC 9112 §3), followed by CRLF. Exactly one SP between the parts: no
/// tabs, no runs of spaces, nothing trailing.
fn parse_request_line<'b>(
    buf: &'b [u8],
    pos: &mut usize,
) -> Result<Status<(&'b str, &'b str, Version)>, Error> {
    let method = match parse_method(buf, pos)? {
        Status::Complete(method) => method,
        Status::Partial => return Ok(Status::Partial),
    };
    let target = match parse_target(buf, pos)? {
        Status::Complete(target) => target,
        Status::Partial => return Ok(Status::Partial),
    };
    let version = match parse_version(buf, pos)? {
        Status::Complete(version) => version,
        Status::Partial => return Ok(Status::Partial),
    };
    match buf.get(*pos) {
        None => return Ok(Status::Partial),
        Some(b'\r') | Some(b'\n') => {}
        Some(b' ') | Some(b'\t') => return Err(Error::RequestLine),
        Some(_) => return Err(Error::Version),
    }
    match parse_line_end(buf, *pos)? {
        Status::Complete(end) => *pos = end,
        Status::Partial => return Ok(Status::Partial),
    }
    Ok(Status::Complete((method, target, version)))
}

/// ```text
/// method = token
/// ```
/// (RFC 9112 §3.1), followed by one SP.
fn parse_method<'b>(buf: &'b [u8], pos: &mut usize) -> Result<Status<&'b str>, Error> {
    let word = Word {
        class: &TOKEN,
        max: MAX_METHOD_LEN,
        invalid: Error::Method,
        too_long: Error::MethodTooLong,
    };
    parse_word(buf, pos, word)
}

/// ```text
/// request-target = origin-form / absolute-form / authority-form / asterisk-form
/// ```
/// (RFC 9112 §3.2), followed by one SP. Only the characters are checked
/// here; which form is allowed with which method is decided later.
///
/// RFC 9112 §3: "A server that receives a request-target longer than any URI
/// it wishes to parse MUST respond with a 414 (URI Too Long) status code";
/// that is known before the rest of the target arrives.
fn parse_target<'b>(buf: &'b [u8], pos: &mut usize) -> Result<Status<&'b str>, Error> {
    let word = Word {
        class: &URI,
        max: MAX_TARGET_LEN,
        invalid: Error::Target,
        too_long: Error::TargetTooLong,
    };
    parse_word(buf, pos, word)
}

/// The shape the method and the request-target share: a non-empty run of
/// bytes from one class, at most `max` long, ended by one SP.
struct Word {
    class: &'static [bool; 256],
    max: usize,
    /// The error for a byte outside the class.
    invalid: Error,
    /// The error for a run longer than `max`.
    too_long: Error,
}

fn parse_word<'b>(buf: &'b [u8], pos: &mut usize, word: Word) -> Result<Status<&'b str>, Error> {
    let start = *pos;
    let mut i = start;
    while let Some(&b) = buf.get(i) {
        if b == b' ' {
            if i == start {
                return Err(Error::RequestLine);
            }
            *pos = i + 1;
            return Ok(Status::Complete(ascii(&buf[start..i])));
        }
        if !word.class[b as usize] {
            return Err(match b {
                // A tab is not SP; a line that ends after the target is an
                // HTTP/0.9-style request-line, a form RFC 9112 §3 does not have.
                b'\t' | b'\r' | b'\n' => Error::RequestLine,
                _ => word.invalid,
            });
        }
        if i - start == word.max {
            return Err(word.too_long);
        }
        i += 1;
    }
    Ok(Status::Partial)
}

/// ```text
/// HTTP-version  = HTTP-name "/" DIGIT "." DIGIT
/// HTTP-name     = %s"HTTP"
/// ```
/// (RFC 9112 §2.3): case-sensitive, one digit each side.
fn parse_version(buf: &[u8], pos: &mut usize) -> Result<Status<Version>, Error> {
    const SHAPE: &[u8; 8] = b"HTTP/0.0";
    let rest = &buf[*pos..];
    for (i, &expected) in SHAPE.iter().enumerate() {
        let Some(&b) = rest.get(i) else {
            return Ok(Status::Partial);
        };
        let fits = if expected == b'0' {
            b.is_ascii_digit()
        } else {
            b == expected
        };
        if !fits {
            return Err(match b {
                b'\r' | b'\n' | b' ' | b'\t' => Error::RequestLine,
                _ => Error::Version,
            });
        }
    }
    *pos += SHAPE.len();
    Ok(Status::Complete(Version {
        major: rest[5] - b'0',
        minor: rest[7] - b'0',
    }))
}

/// A line end at `pos`: CRLF and nothing else. Returns the position after it.
///
/// RFC 9112 §2.2: "A recipient that receives whitespace between the start-line
/// and the first header field MUST either reject the message as invalid or
/// consume each whitespace-preceded line without further processing of it";
/// and a bare CR "MUST" be treated as invalid or replaced with SP. This
/// server rejects both, and rejects a bare LF, which the RFC lets a
/// recipient accept (MAY) but does not require.
pub(super) fn parse_line_end(buf: &[u8], pos: usize) -> Result<Status<usize>, Error> {
    match (buf.get(pos), buf.get(pos + 1)) {
        (Some(b'\r'), Some(b'\n')) => Ok(Status::Complete(pos + 2)),
        (Some(b'\r'), None) => Ok(Status::Partial),
        (Some(b'\r'), Some(_)) => Err(Error::BareCr),
        (Some(b'\n'), _) => Err(Error::BareLf),
        (None, _) => Ok(Status::Partial),
        // Callers look for a line end only where one must start.
        (Some(_), _) => Err(Error::RequestLine),
    }
}

/// ```text
/// field-line   = field-name ":" OWS field-value OWS
/// field-name   = token
/// field-value  = *field-content
/// ```
/// (RFC 9112 §5, RFC 9110 §5.1 and §5.5), followed by CRLF.
///
/// RFC 9112 §5.1: "No whitespace is allowed between the field name and
/// colon." RFC 9112 §5.2: a server "MUST either reject the message by
/// sending a 400 (Bad Request)" or replace obs-fold; this server rejects.
fn parse_field_line<'b>(buf: &'b [u8], pos: &mut usize) -> Result<Status<Field<'b>>, Error> {
    let name = match parse_field_name(buf, *pos)? {
        Status::Complete(name) => name,
        Status::Partial => return Ok(Status::Partial),
    };
    let mut i = *pos + name.len() + 1;
    while matches!(buf.get(i), Some(b' ') | Some(b'\t')) {
        i += 1;
    }
    let value_start = i;
    while let Some(&b) = buf.get(i) {
        if b == b'\r' || b == b'\n' {
            let end = match parse_line_end(buf, i)? {
                Status::Complete(end) => end,
                Status::Partial => return Ok(Status::Partial),
            };
            let mut value = &buf[value_start..i];
            while let [rest @ .., b' ' | b'\t'] = value {
                value = rest;
            }
            *pos = end;
            return Ok(Status::Complete(Field { name, value }));
        }
        if !FIELD_VALUE[b as usize] {
            return Err(Error::FieldValue);
        }
        i += 1;
    }
    Ok(Status::Partial)
}

/// `field-name = token`, up to and including its colon. Returns the name.
fn parse_field_name(buf: &[u8], start: usize) -> Result<Status<&str>, Error> {
    let mut i = start;
    while let Some(&b) = buf.get(i) {
        match b {
            b':' if i == start => return Err(Error::FieldName),
            b':' => return Ok(Status::Complete(ascii(&buf[start..i]))),
            b' ' | b'\t' if i == start => return Err(Error::ObsFold),
            b' ' | b'\t' => {
                let mut j = i;
                while matches!(buf.get(j), Some(b' ') | Some(b'\t')) {
                    j += 1;
                }
                return match buf.get(j) {
                    None => Ok(Status::Partial),
                    Some(b':') => Err(Error::SpaceBeforeColon),
                    Some(b'\r') | Some(b'\n') => Err(Error::NoColon),
                    Some(_) => Err(Error::FieldName),
                };
            }
            b'\r' | b'\n' => return Err(Error::NoColon),
            _ if TOKEN[b as usize] => i += 1,
            _ => return Err(Error::FieldName),
        }
    }
    Ok(Status::Partial)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &[u8] = b"GET /hello.txt?x=1 HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\
X-Empty:\r\nX-Spaced: \t a b \t\r\n\r\n";

    fn parse(bytes: &[u8]) -> Result<Status<(Request<'_>, usize)>, Error> {
        parse_request(bytes)
    }

    fn error(bytes: &[u8]) -> Error {
        match parse(bytes) {
            Err(e) => e,
            other => panic!(
                "expected an error for {:?}, got {:?}",
                String::from_utf8_lossy(bytes),
                other
            ),
        }
    }

    #[test]
    fn valid_request_is_complete() {
        let Ok(Status::Complete((request, len))) = parse(VALID) else {
            panic!("not complete")
        };
        assert_eq!(len, VALID.len());
        assert_eq!(request.method, "GET");
        assert_eq!(request.target, "/hello.txt?x=1");
        assert_eq!(request.version, Version { major: 1, minor: 1 });
        let fields: Vec<(&str, &[u8])> = request.fields.iter().map(|f| (f.name, f.value)).collect();
        assert_eq!(
            fields,
            vec![
                ("Host", &b"localhost"[..]),
                ("Accept", b"*/*"),
                ("X-Empty", b""),
                ("X-Spaced", b"a b"),
            ]
        );
    }

    #[test]
    fn every_prefix_of_a_valid_request_is_partial() {
        for len in 0..VALID.len() {
            assert_eq!(
                parse(&VALID[..len]),
                Ok(Status::Partial),
                "prefix of {len} bytes"
            );
        }
    }

    #[test]
    fn bytes_after_the_head_are_not_consumed() {
        let mut bytes = VALID.to_vec();
        bytes.extend_from_slice(b"GET / HTTP/1.1\r\n");
        let Ok(Status::Complete((_, len))) = parse(&bytes) else {
            panic!("not complete")
        };
        assert_eq!(len, VALID.len());
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let Ok(Status::Complete((request, len))) = parse(b"\r\n\r\nGET / HTTP/1.1\r\n\r\n") else {
            panic!("not complete")
        };
        assert_eq!((request.method, request.target, len), ("GET", "/", 22));
    }

    #[test]
    fn leading_bare_lf_is_bare_lf() {
        assert_eq!(error(b"\nGET / HTTP/1.1\r\n\r\n"), Error::BareLf);
    }

    #[test]
    fn request_line_shapes_are_rejected() {
        for (bytes, expected) in [
            (&b"GET  / HTTP/1.1\r\n"[..], Error::RequestLine),
            (b" GET / HTTP/1.1\r\n", Error::RequestLine),
            (b"GET\t/ HTTP/1.1\r\n", Error::RequestLine),
            (b"GET /\tHTTP/1.1\r\n", Error::RequestLine),
            (b"GET / HTTP/1.1 \r\n", Error::RequestLine),
            (b"GET /\r\n\r\n", Error::RequestLine),
            (b"GET / \r\n", Error::RequestLine),
            (b"G(T / HTTP/1.1\r\n", Error::Method),
            (b"GET /a#b HTTP/1.1\r\n", Error::Target),
            (b"GET /a\"b HTTP/1.1\r\n", Error::Target),
            (b"GET /\x7f HTTP/1.1\r\n", Error::Target),
            (b"GET /caf\xc3\xa9 HTTP/1.1\r\n", Error::Target),
            (b"GET / http/1.1\r\n", Error::Version),
            (b"GET / HTTP/1\r\n", Error::RequestLine),
            (b"GET / HTTP/01.1\r\n", Error::Version),
            (b"GET / HTTP/1.10\r\n", Error::Version),
            (b"GET / HTTP/1.1\rX", Error::BareCr),
            (b"GET / HTTP/1.1\n", Error::BareLf),
        ] {
            assert_eq!(
                error(bytes),
                expected,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn field_line_shapes_are_rejected() {
        for (field, expected) in [
            (&b"Host : x\r\n"[..], Error::SpaceBeforeColon),
            (b"Host\t: x\r\n", Error::SpaceBeforeColon),
            (b" folded\r\n", Error::ObsFold),
            (b"\tfolded\r\n", Error::ObsFold),
            (b"NoColon\r\n", Error::NoColon),
            (b": empty name\r\n", Error::FieldName),
            (b"X(y): z\r\n", Error::FieldName),
            (b"X y: z\r\n", Error::FieldName),
            (b"X-A: a\x00b\r\n", Error::FieldValue),
            (b"X-A: a\x01b\r\n", Error::FieldValue),
            (b"X-A: a\x7fb\r\n", Error::FieldValue),
            (b"X-A: a\rb\r\n", Error::BareCr),
            (b"X-A: ab\n", Error::BareLf),
        ] {
            let mut bytes = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
            bytes.extend_from_slice(field);
            bytes.extend_from_slice(b"\r\n");
            assert_eq!(
                error(&bytes),
                expected,
                "{:?}",
                String::from_utf8_lossy(field)
            );
        }
    }

    #[test]
    fn obs_text_in_a_value_is_accepted() {
        let bytes = b"GET / HTTP/1.1\r\nX-A: caf\xc3\xa9\r\n\r\n";
        let Ok(Status::Complete((request, _))) = parse(bytes) else {
            panic!("not complete")
        };
        assert_eq!(request.fields[0].value, b"caf\xc3\xa9");
    }

    #[test]
    fn target_longer_than_limit_is_too_long_before_it_ends() {
        let mut bytes = b"GET /".to_vec();
        bytes.resize(5 + MAX_TARGET_LEN, b'a');
        assert_eq!(error(&bytes), Error::TargetTooLong);
    }

    #[test]
    fn target_at_limit_is_accepted() {
        let mut bytes = b"GET /".to_vec();
        bytes.resize(4 + MAX_TARGET_LEN, b'a');
        bytes.extend_from_slice(b" HTTP/1.1\r\n\r\n");
        let Ok(Status::Complete((request, _))) = parse(&bytes) else {
            panic!("not complete")
        };
        assert_eq!(request.target.len(), MAX_TARGET_LEN);
    }

    #[test]
    fn long_method_is_too_long() {
        let bytes = vec![b'A'; MAX_METHOD_LEN + 1];
        assert_eq!(error(&bytes), Error::MethodTooLong);
    }

    #[test]
    fn too_many_fields_is_too_many() {
        let mut bytes = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_FIELDS {
            bytes.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        assert_eq!(error(&bytes), Error::TooManyFields);
    }

    #[test]
    fn fields_at_limit_are_accepted() {
        let mut bytes = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..MAX_FIELDS {
            bytes.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        let Ok(Status::Complete((request, _))) = parse(&bytes) else {
            panic!("not complete")
        };
        assert_eq!(request.fields.len(), MAX_FIELDS);
    }

    #[test]
    fn header_section_over_limit_is_too_large_before_it_ends() {
        let mut bytes = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        bytes.resize(bytes.len() + MAX_HEADER_BYTES, b'a');
        assert_eq!(error(&bytes), Error::HeaderTooLarge);
    }

    /// Regression: a header section of exactly `MAX_HEADER_BYTES` was
    /// accepted when its last LF arrived with the rest, but refused (431)
    /// when the final CR ended a read — the answer depended on how the
    /// bytes were split.
    #[test]
    fn header_section_at_limit_is_partial_until_its_last_byte() {
        const LINE: &[u8] = b"GET / HTTP/1.1\r\n";
        let mut bytes = LINE.to_vec();
        bytes.extend_from_slice(b"X-Big: ");
        bytes.resize(LINE.len() + MAX_HEADER_BYTES - 2, b'a');
        bytes.extend_from_slice(b"\r\n\r\n");
        let Ok(Status::Complete((_, len))) = parse(&bytes) else {
            panic!("not complete")
        };
        assert_eq!(len, bytes.len());
        for len in (bytes.len() - 4)..bytes.len() {
            assert_eq!(parse(&bytes[..len]), Ok(Status::Partial), "{len} bytes");
        }
        // One octet more, and the section is too large however it arrives.
        bytes.insert(LINE.len() + 8, b'a');
        assert_eq!(error(&bytes), Error::HeaderTooLarge);
        assert_eq!(error(&bytes[..bytes.len() - 1]), Error::HeaderTooLarge);
    }

    #[test]
    fn endless_empty_lines_are_too_large() {
        let bytes = b"\r\n".repeat(MAX_HEADER_BYTES);
        assert_eq!(error(&bytes), Error::HeaderTooLarge);
    }

    #[test]
    fn values_finds_every_field_case_insensitively() {
        let bytes = b"GET / HTTP/1.1\r\nhost: a\r\nX: 1\r\nHOST: b\r\n\r\n";
        let Ok(Status::Complete((request, _))) = parse(bytes) else {
            panic!("not complete")
        };
        assert_eq!(
            request.values("Host").collect::<Vec<_>>(),
            vec![&b"a"[..], b"b"]
        );
    }
}
