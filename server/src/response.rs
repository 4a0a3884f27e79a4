//! Responses: a status, its header fields and its content, and the one
//! writer of a head; [`Problem`]s become responses here. The reference
//! proxy writes the heads it relays through the same writer
//! ([`Response::relayed`]).

use std::path::PathBuf;
use std::time::SystemTime;

use crate::date::imf_fixdate;
use crate::files::FileStat;
use crate::problem::Problem;
use crate::range;

/// The reason phrase RFC 9110 §15 registers for `code`.
pub fn reason(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        101 => "Switching Protocols",
        103 => "Early Hints",
        200 => "OK",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        412 => "Precondition Failed",
        414 => "URI Too Long",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        508 => "Loop Detected",
        _ => "Unknown",
    }
}

/// A piece of a file response's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Octets made for this response: the delimiters of multipart/byteranges.
    Bytes(Vec<u8>),
    /// `len` octets of the file from `offset`.
    File { offset: u64, len: u64 },
}

impl Segment {
    /// The octets of the file `range` names.
    pub(crate) fn part(range: range::ByteRange) -> Segment {
        Segment::File {
            offset: range.first,
            len: range.size(),
        }
    }

    /// How many octets this piece is.
    pub(crate) fn size(&self) -> u64 {
        match self {
            Segment::Bytes(bytes) => bytes.len() as u64,
            Segment::File { len, .. } => *len,
        }
    }
}

/// A response's content, as much as a HEAD of the same resource would count.
#[derive(Debug)]
pub(crate) enum Body {
    /// No content (an interim response).
    Empty,
    /// Octets made for this response.
    Bytes(Vec<u8>),
    /// Pieces of a file, read when the content is sent.
    File {
        path: PathBuf,
        meta: FileStat,
        segments: Vec<Segment>,
    },
}

impl Body {
    /// The content's length in octets.
    pub(crate) fn size(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(bytes) => bytes.len() as u64,
            Body::File { segments, .. } => segments.iter().map(Segment::size).sum(),
        }
    }
}

/// How the head delimits the content that follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delimit {
    /// `Content-Length` is the length of the [`Body`] (the server's own
    /// responses).
    Body,
    /// `Content-Length` with this value; the content is sent by the caller
    /// (a relayed response, or the length of a relayed HEAD or 304).
    Length(u64),
    /// `Transfer-Encoding: chunked`; the caller sends the chunks.
    Chunked,
    /// No framing field: the content, if any, ends when the connection
    /// closes, or there is none (a relayed HEAD or 304 without a length).
    None,
}

/// One response: a status, its header fields but for those the writer
/// decides (`Date` unless a relayed one is there, `Content-Length` or
/// `Transfer-Encoding`, `Connection`), and its content.
///
/// A 304 keeps the content a 200 would have had: it is never sent, but its
/// length is the 304's `Content-Length` (RFC 9110 §8.6: a server may send
/// "the value that would have been sent in a 200 (OK) response").
#[derive(Debug)]
pub(crate) struct Response {
    code: u16,
    /// The reason-phrase received with a relayed response; `None`: the one
    /// [`reason`] registers.
    phrase: Option<Vec<u8>>,
    fields: Vec<u8>,
    /// A `Date` is among the fields.
    dated: bool,
    delimit: Delimit,
    body: Body,
    closes: bool,
}

impl Response {
    /// A response with `code`, no header fields yet, and no content.
    pub(crate) fn new(code: u16) -> Response {
        Response {
            code,
            phrase: None,
            fields: Vec::with_capacity(192),
            dated: false,
            delimit: Delimit::Body,
            body: Body::Empty,
            closes: false,
        }
    }

    /// A response received from an origin and forwarded by the proxy: its
    /// status code and reason-phrase as received, no fields yet, and a
    /// content the caller sends after the head, delimited as `delimit` says.
    pub(crate) fn relayed(code: u16, phrase: &[u8], delimit: Delimit) -> Response {
        let mut response = Response::new(code);
        response.phrase = Some(phrase.to_vec());
        response.delimit = delimit;
        response
    }

    /// The answer to a problem: a short `text/plain` body that names it,
    /// `Allow` on 405, `Content-Range` on 416; it closes the connection when
    /// the problem does ([`Problem::closes`]).
    pub(crate) fn problem(problem: Problem) -> Response {
        let code = problem.status();
        let mut response = Response::new(code);
        response.header("Content-Type", "text/plain; charset=utf-8");
        if problem == Problem::NotAllowed {
            // RFC 9110 §15.5.6: "The origin server MUST generate an Allow header
            // field in a 405 response containing a list of the target resource's
            // currently supported methods."
            response.header("Allow", "GET, HEAD");
        }
        if let Problem::RangeNotSatisfiable(length) = problem {
            response.header("Content-Range", &range::unsatisfied_range(length));
        }
        let body = format!("{code} {}: {problem}\n", reason(code));
        response.body = Body::Bytes(body.into_bytes());
        response.closes = problem.closes();
        response
    }

    /// Appends one header field line.
    pub(crate) fn header(&mut self, name: &str, value: &str) -> &mut Response {
        self.header_bytes(name, value.as_bytes())
    }

    /// Appends one header field line whose value may hold obs-text (a
    /// relayed field). The caller has checked the value: no CR, LF or NUL.
    pub(crate) fn header_bytes(&mut self, name: &str, value: &[u8]) -> &mut Response {
        self.dated |= name.eq_ignore_ascii_case("Date");
        self.fields.extend_from_slice(name.as_bytes());
        self.fields.extend_from_slice(b": ");
        self.fields.extend_from_slice(value);
        self.fields.extend_from_slice(b"\r\n");
        self
    }

    /// Sets the content.
    pub(crate) fn body(&mut self, body: Body) -> &mut Response {
        self.body = body;
        self
    }

    /// The status code.
    pub(crate) fn code(&self) -> u16 {
        self.code
    }

    /// The content, sent or only counted.
    pub(crate) fn content(&self) -> &Body {
        &self.body
    }

    /// Whether the server must close the connection after this response,
    /// whatever the request asked: it answers a problem that leaves the
    /// stream untrusted.
    pub(crate) fn closes(&self) -> bool {
        self.closes
    }

    /// Whether the content follows the head. RFC 9110 §9.3.2: a server
    /// "MUST NOT send content in the response" to HEAD; §15.4.5: "A 304
    /// response is terminated by the end of the header section"; §15.2 and
    /// §15.3.5: a 1xx and a 204 cannot contain content.
    pub(crate) fn sends_content(&self, head_only: bool) -> bool {
        !head_only && !matches!(self.code, 100..=199 | 204 | 304)
    }

    /// The framing field: `Content-Length` is the content's length, also
    /// on a HEAD and a 304 (the length a GET would have had), and no framing
    /// field on a 1xx and a 204 (RFC 9110 §8.6: "A server MUST NOT send a
    /// Content-Length header field in any response with a status code of
    /// 1xx (Informational) or 204 (No Content)"; RFC 9112 §6.1: "A server
    /// MUST NOT send a Transfer-Encoding header field in any response with
    /// a status code of 1xx (Informational) or 204 (No Content)").
    fn framing(&self) -> Option<Framing> {
        match (self.code, self.delimit) {
            (100..=199 | 204, _) | (_, Delimit::None) => None,
            (_, Delimit::Body) => Some(Framing::Length(self.body.size())),
            (_, Delimit::Length(n)) => Some(Framing::Length(n)),
            (_, Delimit::Chunked) => Some(Framing::Chunked),
        }
    }

    /// The head: the status line, `Date`, the fields, the framing,
    /// `Connection: close` when `close`, and the empty line.
    ///
    /// RFC 9110 §6.6.1: "An origin server with a clock ... MUST generate a
    /// Date header field in all 2xx, 3xx, and 4xx responses"; sending it on
    /// 5xx too costs nothing, and a 1xx needs none. A relayed response
    /// keeps the origin's `Date`, and gets one when it has none: "A
    /// recipient with a clock that receives a response message without a
    /// Date header field MUST record the time it was received and append a
    /// corresponding Date header field to the message's header section if
    /// it is cached or forwarded downstream". RFC 9112 §9.6: a server
    /// that will close "SHOULD send a "close" connection option in its
    /// final response"; an interim response is not one.
    ///
    /// `room`: octets to keep free after the head, for content sent with it.
    pub(crate) fn head(&self, close: bool, room: usize) -> Vec<u8> {
        let mut buf = Vec::with_capacity(self.fields.len() + 128 + room);
        buf.extend_from_slice(b"HTTP/1.1 ");
        push_decimal(&mut buf, u64::from(self.code));
        buf.push(b' ');
        match &self.phrase {
            Some(phrase) => buf.extend_from_slice(phrase),
            None => buf.extend_from_slice(reason(self.code).as_bytes()),
        }
        buf.extend_from_slice(b"\r\n");
        let last = self.code >= 200;
        if last && !self.dated {
            buf.extend_from_slice(b"Date: ");
            buf.extend_from_slice(imf_fixdate(SystemTime::now()).as_bytes());
            buf.extend_from_slice(b"\r\n");
        }
        buf.extend_from_slice(&self.fields);
        match self.framing() {
            Some(Framing::Length(length)) => {
                buf.extend_from_slice(b"Content-Length: ");
                push_decimal(&mut buf, length);
                buf.extend_from_slice(b"\r\n");
            }
            Some(Framing::Chunked) => buf.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
            None => {}
        }
        if close && last {
            buf.extend_from_slice(b"Connection: close\r\n");
        }
        buf.extend_from_slice(b"\r\n");
        buf
    }

    /// The head and, when it is sent and held in memory, the content: the
    /// whole response unless the content is a file's.
    pub(crate) fn to_bytes(&self, head_only: bool, close: bool) -> Vec<u8> {
        let content = match (self.sends_content(head_only), &self.body) {
            (true, Body::Bytes(content)) => &content[..],
            _ => &[],
        };
        let mut bytes = self.head(close, content.len());
        bytes.extend_from_slice(content);
        bytes
    }
}

/// Appends `n` in decimal.
/// The framing field a head carries.
enum Framing {
    /// `Content-Length` with this many octets.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

fn push_decimal(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn without_date(response: &str) -> String {
        response
            .lines()
            .filter(|l| !l.starts_with("Date: "))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn not_allowed_carries_allow_and_keeps_the_connection() {
        let response = text(&Response::problem(Problem::NotAllowed).to_bytes(false, false));
        assert_eq!(
            without_date(&response),
            "HTTP/1.1 405 Method Not Allowed\nContent-Type: text/plain; charset=utf-8\n\
Allow: GET, HEAD\nContent-Length: 72\n\n405 Method Not Allowed: this server serves files with GET and HEAD only"
        );
    }

    #[test]
    fn head_only_problem_has_the_length_and_no_body() {
        let response = text(&Response::problem(Problem::NotFound).to_bytes(true, true));
        assert_eq!(
            without_date(&response),
            "HTTP/1.1 404 Not Found\nContent-Type: text/plain; charset=utf-8\n\
Content-Length: 28\nConnection: close\n"
        );
    }

    #[test]
    fn date_is_an_imf_fixdate() {
        let response = text(&Response::new(200).to_bytes(false, false));
        let date = response
            .lines()
            .find_map(|l| l.strip_prefix("Date: "))
            .unwrap();
        assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
        assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
    }

    #[test]
    fn continue_is_the_status_line_alone() {
        let response = Response::new(100);
        assert_eq!(
            text(&response.to_bytes(false, true)),
            "HTTP/1.1 100 Continue\r\n\r\n"
        );
    }

    #[test]
    fn not_modified_has_the_200s_length_and_no_content() {
        let mut response = Response::new(304);
        response
            .header("ETag", "\"x\"")
            .body(Body::Bytes(b"<html></html>".to_vec()));
        assert_eq!(
            without_date(&text(&response.to_bytes(false, false))),
            "HTTP/1.1 304 Not Modified\nETag: \"x\"\nContent-Length: 13\n"
        );
    }

    #[test]
    fn no_content_has_no_length() {
        let mut response = Response::new(204);
        response.body(Body::Bytes(b"ignored".to_vec()));
        assert_eq!(
            without_date(&text(&response.to_bytes(false, true))),
            "HTTP/1.1 204 No Content\nConnection: close\n"
        );
    }

    #[test]
    fn problems_that_close_say_so() {
        assert!(Response::problem(Problem::Timeout).closes());
        assert!(!Response::problem(Problem::NotFound).closes());
    }
}
