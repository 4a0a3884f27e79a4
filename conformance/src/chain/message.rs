//! One HTTP/1.1 message head as the chain reads it, and where its body
//! ends: requests with the reference server's strict parser
//! (`server::parse`), responses by the same parser after their status
//! line; and, when the strict parser refuses a head, a lenient reading of
//! it so that the message can still be attributed, graded and framed.

use crate::wire::Response;
use server::parse::{
    parse_chunk_end, parse_chunk_size, parse_request, parse_trailer_section, Status,
};

/// The most bytes a head may take before the chain stops looking for its end.
pub(crate) const HEAD_LIMIT: usize = 64 * 1024;

/// A message head: its bytes, its start line, its fields, and what the
/// strict parser said of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The exact bytes of the head, up to and including its empty line.
    pub raw: Vec<u8>,
    /// The request's method, or empty for a response.
    pub method: String,
    /// The request-target, or the status code of a response.
    pub target: String,
    /// The HTTP-version of the start line (`HTTP/1.1`).
    pub version: String,
    /// The field lines in order: the name as sent and the value with OWS
    /// trimmed (a lenient reading joins an obs-fold with one SP).
    pub fields: Vec<(String, Vec<u8>)>,
    /// Why the strict parser refused the head, if it did (`a field line
    /// starts with whitespace (obsolete line folding)`).
    pub strict_error: Option<String>,
}

impl Head {
    /// Every value of the fields named `name` (case-insensitive), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The comma-separated members of every field named `name`, trimmed,
    /// in order (RFC 9110 §5.3: lines of one name combine in order).
    pub fn members(&self, name: &str) -> Vec<Vec<u8>> {
        self.values(name)
            .flat_map(|v| v.split(|&b| b == b','))
            .map(|m| trim(m).to_vec())
            .filter(|m| !m.is_empty())
            .collect()
    }

    /// The start line as sent, without its line ending.
    pub fn start_line(&self) -> &[u8] {
        let end = self
            .raw
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(self.raw.len());
        let line = &self.raw[..end];
        line.strip_suffix(b"\r").unwrap_or(line)
    }
}

/// A head read from the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// A head, and how many bytes it took.
    Head(Head, usize),
    /// The bytes so far may still become a head.
    Partial,
    /// No head can be read from these bytes: why.
    Broken(String),
}

/// Reads a request head from the start of `buf`.
pub fn read_request(buf: &[u8]) -> Read {
    match parse_request(buf) {
        Ok(Status::Complete((request, len))) => Read::Head(
            Head {
                raw: buf[..len].to_vec(),
                method: request.method.to_string(),
                target: request.target.to_string(),
                version: format!("HTTP/{}.{}", request.version.major, request.version.minor),
                fields: request
                    .fields
                    .iter()
                    .map(|f| (f.name.to_string(), f.value.to_vec()))
                    .collect(),
                strict_error: None,
            },
            len,
        ),
        Ok(Status::Partial) => partial(buf),
        Err(error) => lenient(buf, error.to_string(), |line| {
            let mut parts = line.split(|&b| b == b' ').filter(|p| !p.is_empty());
            let method = parts.next().unwrap_or_default();
            let target = parts.next().unwrap_or_default();
            let version = parts.next().unwrap_or_default();
            (text(method), text(target), text(version))
        }),
    }
}

/// Reads a response head from the start of `buf`: the status line by
/// hand, the field lines by the strict request parser after a stand-in
/// request line, so that both directions meet the same field grammar.
pub fn read_response(buf: &[u8]) -> Read {
    let Some(line_end) = buf.iter().position(|&b| b == b'\n') else {
        return partial(buf);
    };
    let line = &buf[..line_end];
    let status = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = status.splitn(3, |&b| b == b' ');
    let version = text(parts.next().unwrap_or_default());
    let code = text(parts.next().unwrap_or_default());
    let status_ok = line.ends_with(b"\r")
        && version.starts_with("HTTP/")
        && code.len() == 3
        && code.bytes().all(|b| b.is_ascii_digit());
    let mut stand_in = b"GET / HTTP/1.1\r\n".to_vec();
    stand_in.extend_from_slice(&buf[line_end + 1..]);
    let offset = line_end + 1;
    match parse_request(&stand_in) {
        Ok(Status::Complete((request, len))) if status_ok => {
            let len = len - 16 + offset;
            Read::Head(
                Head {
                    raw: buf[..len].to_vec(),
                    method: String::new(),
                    target: code,
                    version,
                    fields: request
                        .fields
                        .iter()
                        .map(|f| (f.name.to_string(), f.value.to_vec()))
                        .collect(),
                    strict_error: None,
                },
                len,
            )
        }
        Ok(Status::Partial) => partial(buf),
        other => {
            let why = match other {
                Err(error) => error.to_string(),
                _ => "the status line is not HTTP-version SP status-code SP reason-phrase CRLF"
                    .to_string(),
            };
            lenient(buf, why, |line| {
                let mut parts = line.splitn(3, |&b| b == b' ');
                let version = parts.next().unwrap_or_default();
                let code = parts.next().unwrap_or_default();
                (String::new(), text(code), text(version))
            })
        }
    }
}

/// The head of a response the client read, as [`read_response`] reads it.
pub fn response_head(response: &Response) -> Head {
    match read_response(&response.head) {
        Read::Head(head, _) => head,
        _ => Head {
            raw: response.head.clone(),
            method: String::new(),
            target: response.code.to_string(),
            version: response.version.clone(),
            fields: response
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), v.as_bytes().to_vec()))
                .collect(),
            strict_error: Some("the head could not be read again".into()),
        },
    }
}

fn partial(buf: &[u8]) -> Read {
    if buf.len() > HEAD_LIMIT {
        Read::Broken(format!("no end of the head in {HEAD_LIMIT} bytes"))
    } else {
        Read::Partial
    }
}

/// A head the strict parser refused, read as a lenient recipient would:
/// it ends at the first empty line (CRLF or LF); lines split at LF, a CR
/// before it dropped; a line starting with whitespace continues the field
/// before it; the name is what precedes the colon, trailing whitespace cut.
fn lenient(buf: &[u8], why: String, start: impl Fn(&[u8]) -> (String, String, String)) -> Read {
    let end = (0..buf.len()).find_map(|i| {
        if buf[i..].starts_with(b"\r\n\r\n") {
            Some(i + 4)
        } else if buf[i..].starts_with(b"\n\n") {
            Some(i + 2)
        } else if buf[i..].starts_with(b"\n\r\n") {
            Some(i + 3)
        } else {
            None
        }
    });
    let Some(end) = end else {
        return partial(buf);
    };
    let raw = &buf[..end];
    let mut lines = raw
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let (method, target, version) = start(lines.next().unwrap_or_default());
    let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(b' ');
                value.extend_from_slice(trim(line));
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = &line[..colon];
        let name = &name[..name.len() - name.iter().rev().take_while(|b| is_ws(**b)).count()];
        fields.push((text(name), trim(&line[colon + 1..]).to_vec()));
    }
    Read::Head(
        Head {
            raw: raw.to_vec(),
            method,
            target,
            version,
            fields,
            strict_error: Some(why),
        },
        end,
    )
}

/// How a message's body is delimited, decided as RFC 9112 §6.3 says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// `Content-Length` octets.
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
    /// Until the connection closes (a response only).
    UntilClose,
}

/// The framing of a message with this head; an unrecoverable framing error
/// (RFC 9112 §6.3 rule 5) is its reason. Transfer-Encoding overrides
/// Content-Length (rule 3). `bodiless` is a response to HEAD or a 1xx, 204
/// or 304 (rule 1).
pub fn framing(head: &Head, request: bool, bodiless: bool) -> Result<Framing, String> {
    if bodiless {
        return Ok(Framing::Empty);
    }
    let codings = head.members("transfer-encoding");
    if let Some(last) = codings.last() {
        return if last.eq_ignore_ascii_case(b"chunked") {
            Ok(Framing::Chunked)
        } else if request {
            Err("Transfer-Encoding does not end in chunked".into())
        } else {
            Ok(Framing::UntilClose)
        };
    }
    if head.values("transfer-encoding").next().is_some() {
        return Err("an empty Transfer-Encoding".into());
    }
    match content_length(head)? {
        Some(0) => Ok(Framing::Empty),
        Some(n) => Ok(Framing::Length(n)),
        None if request => Ok(Framing::Empty),
        None => Ok(Framing::UntilClose),
    }
}

/// The Content-Length of a head: none, or one value that every line and
/// list member agrees on (RFC 9112 §6.3 rule 5).
pub fn content_length(head: &Head) -> Result<Option<u64>, String> {
    let mut length = None;
    for member in head
        .values("content-length")
        .flat_map(|v| v.split(|&b| b == b','))
    {
        let member = trim(member);
        let n = (!member.is_empty() && member.iter().all(u8::is_ascii_digit))
            .then(|| text(member).parse::<u64>().ok())
            .flatten()
            .ok_or_else(|| format!("Content-Length {} is not a number", text(member)))?;
        if length.is_some_and(|l| l != n) {
            return Err("Content-Length values differ".into());
        }
        length = Some(n);
    }
    Ok(length)
}

/// Where a body that starts at `buf[0]` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEnd {
    /// The body takes this many bytes.
    At(usize),
    /// More bytes are needed.
    Partial,
    /// The chunked framing is broken.
    Broken,
}

/// Where a body of `framing` ends in `buf` (which starts with it).
pub fn body_end(framing: Framing, buf: &[u8]) -> BodyEnd {
    match framing {
        Framing::Empty => BodyEnd::At(0),
        Framing::Length(n) => match usize::try_from(n) {
            Ok(n) if n <= buf.len() => BodyEnd::At(n),
            _ => BodyEnd::Partial,
        },
        Framing::UntilClose => BodyEnd::Partial,
        Framing::Chunked => chunked_end(buf),
    }
}

/// The content of a request body as it arrived with `head`: the chunked
/// coding removed (extensions and trailer fields dropped), else the bytes
/// as they are; `None` when the framing cannot be read.
pub fn request_content(head: &Head, body: &[u8]) -> Option<Vec<u8>> {
    match framing(head, true, false).ok()? {
        Framing::Chunked => dechunk(body),
        _ => Some(body.to_vec()),
    }
}

/// The data of a whole chunked body.
fn dechunk(buf: &[u8]) -> Option<Vec<u8>> {
    let mut content = Vec::new();
    let mut pos = 0;
    loop {
        let Ok(Status::Complete((size, used))) = parse_chunk_size(&buf[pos..]) else {
            return None;
        };
        pos += used;
        if size == 0 {
            return Some(content);
        }
        let end = usize::try_from(size)
            .ok()
            .and_then(|s| pos.checked_add(s))?;
        content.extend_from_slice(buf.get(pos..end)?);
        pos = end;
        let Ok(Status::Complete(((), used))) = parse_chunk_end(&buf[pos..]) else {
            return None;
        };
        pos += used;
    }
}

fn chunked_end(buf: &[u8]) -> BodyEnd {
    let mut pos = 0;
    loop {
        let (size, used) = match parse_chunk_size(&buf[pos..]) {
            Ok(Status::Complete(sized)) => sized,
            Ok(Status::Partial) => return BodyEnd::Partial,
            Err(_) => return BodyEnd::Broken,
        };
        pos += used;
        if size == 0 {
            return match parse_trailer_section(&buf[pos..]) {
                Ok(Status::Complete(((), used))) => BodyEnd::At(pos + used),
                Ok(Status::Partial) => BodyEnd::Partial,
                Err(_) => BodyEnd::Broken,
            };
        }
        let Some(data_end) = usize::try_from(size).ok().and_then(|s| pos.checked_add(s)) else {
            return BodyEnd::Broken;
        };
        if data_end > buf.len() {
            return BodyEnd::Partial;
        }
        pos = data_end;
        match parse_chunk_end(&buf[pos..]) {
            Ok(Status::Complete(((), used))) => pos += used,
            Ok(Status::Partial) => return BodyEnd::Partial,
            Err(_) => return BodyEnd::Broken,
        }
    }
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `bytes` without leading and trailing SP and HTAB.
pub(crate) fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().take_while(|b| is_ws(**b)).count();
    let end = bytes.len()
        - bytes[start..]
            .iter()
            .rev()
            .take_while(|b| is_ws(**b))
            .count();
    &bytes[start..end]
}

/// Bytes as text, each non-ASCII or control byte replaced.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(read: Read) -> (Head, usize) {
        match read {
            Read::Head(head, len) => (head, len),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn strict_request_then_fields_and_length() {
        let (h, len) = head(read_request(
            b"GET /a?b HTTP/1.1\r\nHost: x\r\nX:  1 \r\n\r\nrest",
        ));
        assert_eq!((h.method.as_str(), h.target.as_str()), ("GET", "/a?b"));
        assert_eq!((h.version.as_str(), len), ("HTTP/1.1", 38));
        assert_eq!(h.fields[1], ("X".to_string(), b"1".to_vec()));
        assert_eq!(h.strict_error, None);
        assert_eq!(h.start_line(), b"GET /a?b HTTP/1.1");
    }

    #[test]
    fn obs_fold_request_then_lenient_head_with_the_strict_error() {
        let (h, len) = head(read_request(
            b"GET / HTTP/1.1\r\nX: a\r\n b\r\nHost: x\r\n\r\n",
        ));
        assert_eq!(len, 37);
        assert_eq!(h.fields[0], ("X".to_string(), b"a b".to_vec()));
        assert_eq!(
            h.strict_error.as_deref(),
            Some("a field line starts with whitespace (obsolete line folding)")
        );
    }

    #[test]
    fn response_then_fields_by_the_strict_parser() {
        let (h, len) = head(read_response(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        ));
        assert_eq!((h.target.as_str(), len), ("200", 38));
        assert_eq!(framing(&h, false, false), Ok(Framing::Length(2)));
        let (h, _) = head(read_response(b"HTTP/1.1 200 OK\r\nX : 1\r\n\r\n"));
        assert_eq!(
            h.strict_error.as_deref(),
            Some("whitespace between a field-name and its colon")
        );
        assert_eq!(h.fields, [("X".to_string(), b"1".to_vec())]);
        assert_eq!(read_response(b"HTTP/1.1 200 OK\r\nX: 1\r\n"), Read::Partial);
    }

    #[test]
    fn framing_then_transfer_encoding_overrides_and_lengths_agree() {
        let (h, _) = head(read_request(
            b"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
        ));
        assert_eq!(framing(&h, true, false), Ok(Framing::Chunked));
        let (h, _) = head(read_response(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 9\r\n\r\n",
        ));
        assert_eq!(
            framing(&h, false, false),
            Err("Content-Length values differ".into())
        );
        assert_eq!(
            body_end(Framing::Chunked, b"3\r\nabc\r\n0\r\n\r\nGET"),
            BodyEnd::At(13)
        );
        assert_eq!(
            body_end(Framing::Chunked, b"3\r\nabc\r\n"),
            BodyEnd::Partial
        );
        assert_eq!(body_end(Framing::Chunked, b"zz\r\n"), BodyEnd::Broken);
        assert_eq!(body_end(Framing::Length(3), b"ab"), BodyEnd::Partial);
    }

    #[test]
    fn request_content_then_chunks_decoded_and_broken_ones_none() {
        let (h, _) = head(read_request(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        ));
        assert_eq!(
            request_content(&h, b"3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n").as_deref(),
            Some(&b"abcde"[..])
        );
        assert_eq!(request_content(&h, b"10000000000000005\r\nhello\r\n"), None);
        let (h, _) = head(read_request(
            b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n",
        ));
        assert_eq!(request_content(&h, b"hi").as_deref(), Some(&b"hi"[..]));
    }
}
