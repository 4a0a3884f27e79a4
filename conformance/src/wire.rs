//! The raw TCP client: plays a case's steps on one connection and records
//! exactly what came back, with every read bounded in bytes and in time.
//!
//! The client is deliberately not a general HTTP client. It reads one
//! response per reading step, delimiting it from the client side as
//! RFC 9112 §6.3 says, and never trusts the peer for sizes: a head that never
//! ends, a body that never ends, or a server that never answers each ends as
//! a recorded outcome within the step's deadline.

use crate::case::{Check, Step};
use crate::limits::{
    AFTER_GRACE, BODY_KEEP, BODY_READ_LIMIT, CHUNK_LINE_LIMIT, HEAD_LIMIT, MAX_INTERIM,
    RECORD_LIMIT,
};
use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How many request methods are remembered per connection.
const MAX_TRACKED_REQUESTS: usize = 1024;
/// How many bytes one `read` call asks for.
const READ_CHUNK: usize = 16 * 1024;

/// What one reading step got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A response that parsed as HTTP.
    Response(Response),
    /// The server closed the connection without sending a byte.
    Closed,
    /// The connection was reset without a byte of response.
    Reset,
    /// Nothing arrived before the step's deadline.
    Timeout,
    /// Bytes arrived, but not an HTTP response (graded as matching nothing).
    Invalid {
        /// What was wrong with them.
        reason: String,
    },
    /// The harness could not run the step (connect failed, …): graded
    /// `error`, never counted against the server.
    Error(String),
}

/// As every report writes an outcome, the server's bytes escaped
/// ([`crate::render`]).
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::render::outcome(self))
    }
}

/// A parsed response, with what is needed to check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The method of the request this response answers, as far as the
    /// client could tell from what it sent.
    pub method: Option<String>,
    /// The version token of the status line, e.g. `HTTP/1.1`.
    pub version: String,
    /// The status code.
    pub code: u16,
    /// The reason phrase (possibly empty).
    pub reason: String,
    /// The header fields in the order received; obs-fold lines are joined
    /// with a space (RFC 9112 §5.2), values trimmed of leading and trailing
    /// whitespace.
    pub headers: Vec<(String, String)>,
    /// The exact bytes of the final head, up to and including its blank line.
    pub head: Vec<u8>,
    /// The exact bytes of each interim (1xx) head skipped before this one.
    pub interim: Vec<Vec<u8>>,
    /// How the body was delimited.
    pub framing: Framing,
    /// The body (chunked bodies decoded), up to [`BODY_KEEP`] bytes.
    pub body: Vec<u8>,
    /// How many body bytes arrived (chunked: decoded bytes).
    pub body_len: u64,
    /// How the body read ended.
    pub body_end: BodyEnd,
    /// What arrived after the message, when the step's checks needed to know
    /// (`closed`, `no-body`).
    pub after: Option<After>,
}

impl Response {
    /// The value of the first header field with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The values of every header field with this name, in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a `Connection` field lists the `close` option.
    pub fn has_connection_close(&self) -> bool {
        self.header_values("connection")
            .flat_map(|v| v.split(','))
            .any(|option| option.trim().eq_ignore_ascii_case("close"))
    }
}

/// How a response body is delimited, decided from the client side as in
/// RFC 9112 §6.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body: a response to HEAD, 1xx, 204, 304, or 2xx to CONNECT.
    None,
    /// `Transfer-Encoding` ending in `chunked`.
    Chunked,
    /// `Content-Length`.
    Length(u64),
    /// Everything until the server closes.
    UntilClose,
}

/// How a body read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEnd {
    /// The body ended where its framing says (or at close, for close-delimited bodies).
    Complete,
    /// The server closed before the body was complete.
    Closed,
    /// The connection was reset before the body was complete.
    Reset,
    /// The step's deadline passed before the body was complete.
    Deadline,
    /// [`BODY_READ_LIMIT`] bytes were read and the rest was not.
    Truncated,
}

impl BodyEnd {
    /// A lowercase name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyEnd::Complete => "complete",
            BodyEnd::Closed => "closed",
            BodyEnd::Reset => "reset",
            BodyEnd::Deadline => "deadline",
            BodyEnd::Truncated => "truncated",
        }
    }
}

/// What arrived after a response, read until the server closed, the
/// deadline passed, or [`BODY_READ_LIMIT`] bytes arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct After {
    /// Bytes that arrived after the message.
    pub bytes: u64,
    /// How the read ended.
    pub end: AfterEnd,
}

/// How the after-response read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterEnd {
    /// The server closed the connection (end of stream).
    Closed,
    /// The connection was reset, which also means the server closed it.
    Reset,
    /// The connection was still open at the deadline.
    Open,
    /// The server kept sending past [`BODY_READ_LIMIT`].
    Limit,
}

/// What happened in one step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exchange {
    /// How many of the step's bytes were written.
    pub written: usize,
    /// Why writing stopped early, if it did (the read still happens: the
    /// server may have answered and closed before reading everything).
    pub write_error: Option<String>,
    /// The outcome of the read, for a step with `expect`.
    pub outcome: Option<Outcome>,
    /// The raw bytes read during this step, up to [`RECORD_LIMIT`].
    pub received: Vec<u8>,
    /// How many bytes were read during this step in all.
    pub received_total: u64,
    /// How long the step took, pause excluded.
    pub elapsed: Duration,
}

/// Connects to `addr` and closes again: the reachability check a run does
/// before any case.
pub fn probe(addr: SocketAddr, timeout: Duration) -> std::io::Result<()> {
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    // No request was sent, so no response is owed: close at once.
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}

/// Plays `steps` on one new connection to `addr`, each step writing its
/// entry of `sends` (its template filled in); every step gets its own
/// deadline of `timeout` (after its pause). Returns one exchange per step.
/// If the connection cannot be made, every reading step's outcome is
/// [`Outcome::Error`].
pub fn play(
    addr: SocketAddr,
    steps: &[Step],
    sends: &[Option<Vec<u8>>],
    timeout: Duration,
) -> Vec<Exchange> {
    let stream = match TcpStream::connect_timeout(&addr, timeout) {
        Ok(stream) => stream,
        Err(e) => {
            let message = format!("cannot connect to {addr}: {e}");
            return steps
                .iter()
                .map(|step| Exchange {
                    outcome: step
                        .expect
                        .as_ref()
                        .map(|_| Outcome::Error(message.clone())),
                    ..Exchange::default()
                })
                .collect();
        }
    };
    // Fragmented writes must leave as separate segments, or a pause between
    // steps would test nothing.
    let _ = stream.set_nodelay(true);
    let mut conn = Conn::new(stream);
    let mut methods = MethodScanner::default();
    let mut responses_read = 0;
    let mut exchanges = Vec::with_capacity(steps.len());
    for (step, send) in steps.iter().zip(sends) {
        if step.pause_ms > 0 {
            std::thread::sleep(Duration::from_millis(step.pause_ms));
        }
        let started = Instant::now();
        let deadline = started + timeout;
        let mut exchange = Exchange::default();
        if let Some(bytes) = send {
            methods.feed(bytes);
            let (written, error) = write_all_by(&mut conn.stream, bytes, deadline);
            exchange.written = written;
            exchange.write_error = error;
        }
        if let Some(expect) = &step.expect {
            let method = methods.method(responses_read);
            let after_read =
                expect.checks.contains(&Check::Closed) || expect.checks.contains(&Check::NoBody);
            exchange.outcome = Some(read_response(
                &mut conn,
                method,
                deadline,
                after_read,
                expect.reads_interim(),
            ));
            // An interim response read as a step's outcome is followed by
            // the final response to the same request.
            let interim = matches!(
                &exchange.outcome,
                Some(Outcome::Response(r)) if (100..200).contains(&r.code) && r.code != 101
            );
            if !interim {
                responses_read += 1;
            }
        }
        exchange.received_total = conn.record_total;
        exchange.received = std::mem::take(&mut conn.record);
        conn.record_total = 0;
        exchange.elapsed = started.elapsed();
        exchanges.push(exchange);
    }
    exchanges
}

/// Writes as much of `bytes` as the peer takes before `deadline`. A write
/// error is recorded, not returned: the server may have answered and closed
/// early (EPIPE, ECONNRESET), and its answer is still worth reading.
fn write_all_by(
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

fn time_left(deadline: Instant) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    (!left.is_zero()).then_some(left)
}

fn is_retry(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Interrupted | ErrorKind::WouldBlock | ErrorKind::TimedOut
    )
}

/// One connection with its unread bytes and the record of what was read.
struct Conn {
    stream: TcpStream,
    /// Received bytes not consumed yet start at `start`.
    buf: Vec<u8>,
    start: usize,
    /// Raw bytes read during the current step, up to [`RECORD_LIMIT`].
    record: Vec<u8>,
    record_total: u64,
}

/// The result of asking the socket for more bytes.
enum Fill {
    Data,
    Eof,
    Reset,
    Deadline,
    Failed(String),
}

impl Conn {
    fn new(stream: TcpStream) -> Self {
        Conn {
            stream,
            buf: Vec::new(),
            start: 0,
            record: Vec::new(),
            record_total: 0,
        }
    }

    fn available(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    fn consume(&mut self, n: usize) {
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
    fn fill(&mut self, deadline: Instant) -> Fill {
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

/// Reads one final response (skipping interim 1xx ones, unless
/// `stop_at_interim`: then an interim response is the outcome) and its body.
fn read_response(
    conn: &mut Conn,
    method: Option<&str>,
    deadline: Instant,
    after_read: bool,
    stop_at_interim: bool,
) -> Outcome {
    let mut interim = Vec::new();
    loop {
        let head = match read_head(conn, deadline, !interim.is_empty()) {
            HeadRead::Head(head) => head,
            HeadRead::Nothing(outcome) => return outcome,
        };
        let parsed = match parse_head(&head) {
            Ok(parsed) => parsed,
            Err(reason) => return Outcome::Invalid { reason },
        };
        // RFC 9110 §15.2: a client MUST be able to parse interim responses
        // before the final one; 101 ends HTTP/1.1 on this connection, so it
        // is final for our purposes.
        if (100..200).contains(&parsed.code) && parsed.code != 101 && !stop_at_interim {
            if interim.len() == MAX_INTERIM {
                return Outcome::Invalid {
                    reason: format!("more than {MAX_INTERIM} interim (1xx) responses"),
                };
            }
            interim.push(head);
            continue;
        }
        let framing = match decide_framing(method, parsed.code, &parsed.headers) {
            Ok(framing) => framing,
            Err(reason) => return Outcome::Invalid { reason },
        };
        let body = match read_body(conn, framing, deadline) {
            Ok(body) => body,
            Err(reason) => return Outcome::Invalid { reason },
        };
        let after =
            after_read.then(|| read_after(conn, deadline.max(Instant::now() + AFTER_GRACE)));
        return Outcome::Response(Response {
            method: method.map(str::to_string),
            version: parsed.version,
            code: parsed.code,
            reason: parsed.reason,
            headers: parsed.headers,
            head,
            interim,
            framing,
            body: body.kept,
            body_len: body.len,
            body_end: body.end,
            after,
        });
    }
}

enum HeadRead {
    Head(Vec<u8>),
    Nothing(Outcome),
}

/// Reads up to and including the blank line that ends a head. A recipient
/// MAY accept a bare LF as a line end (RFC 9112 §2.2), so `\n\n` ends a
/// head too; the raw bytes keep the evidence for snapshots.
fn read_head(conn: &mut Conn, deadline: Instant, after_interim: bool) -> HeadRead {
    let mut scanned = 0;
    loop {
        let avail = conn.available();
        let prefix = &avail[..avail.len().min(STATUS_PREFIX.len())];
        if !STATUS_PREFIX.starts_with(prefix) {
            return HeadRead::Nothing(Outcome::Invalid {
                reason: format!(
                    "not an HTTP response: starts with \"{}\"",
                    crate::escape::encode(&avail[..avail.len().min(24)])
                ),
            });
        }
        if let Some(end) = find_head_end(avail, &mut scanned) {
            let head = avail[..end].to_vec();
            conn.consume(end);
            return HeadRead::Head(head);
        }
        if avail.len() > HEAD_LIMIT {
            return HeadRead::Nothing(Outcome::Invalid {
                reason: format!("response head longer than {HEAD_LIMIT} bytes"),
            });
        }
        let partial = avail.len();
        let fresh = partial == 0 && !after_interim;
        let how = match conn.fill(deadline) {
            Fill::Data => continue,
            Fill::Failed(e) => return HeadRead::Nothing(Outcome::Error(e)),
            Fill::Eof if fresh => return HeadRead::Nothing(Outcome::Closed),
            Fill::Reset if fresh => return HeadRead::Nothing(Outcome::Reset),
            Fill::Deadline if fresh => return HeadRead::Nothing(Outcome::Timeout),
            Fill::Eof => "closed",
            Fill::Reset => "reset",
            Fill::Deadline => "deadline passed",
        };
        let reason = if partial == 0 {
            format!("{how} after an interim response, before the final one")
        } else {
            format!("{how} after {partial} bytes of a response head")
        };
        return HeadRead::Nothing(Outcome::Invalid { reason });
    }
}

/// Every response starts with this (RFC 9112 §4: `HTTP-version` is
/// `HTTP-name "/" DIGIT "." DIGIT`).
const STATUS_PREFIX: &[u8] = b"HTTP/";

/// The index just past the blank line ending the head, if it has arrived.
/// `scanned` remembers how far earlier calls looked.
fn find_head_end(bytes: &[u8], scanned: &mut usize) -> Option<usize> {
    let from = scanned.saturating_sub(2);
    for i in from..bytes.len() {
        if bytes[i] != b'\n' {
            continue;
        }
        match bytes.get(i + 1..) {
            Some([b'\n', ..]) => return Some(i + 2),
            Some([b'\r', b'\n', ..]) => return Some(i + 3),
            _ => {}
        }
    }
    *scanned = bytes.len();
    None
}

/// A head split into its parts.
#[derive(Debug, PartialEq, Eq)]
struct ParsedHead {
    version: String,
    code: u16,
    reason: String,
    headers: Vec<(String, String)>,
}

/// Parses a complete head (status line, field lines, blank line).
///
/// ```text
/// status-line = HTTP-version SP status-code SP [ reason-phrase ]
/// field-line  = field-name ":" OWS field-value OWS
/// obs-fold    = OWS CRLF RWS
/// ```
///
/// A missing SP after the code with no reason is accepted: the reason is
/// optional and a client SHOULD ignore it (RFC 9112 §4).
fn parse_head(head: &[u8]) -> Result<ParsedHead, String> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let status = lines.next().unwrap_or_default();
    let (version, code, reason) = parse_status_line(status).ok_or_else(|| {
        format!(
            "malformed status line \"{}\"",
            crate::escape::encode(&status[..status.len().min(80)])
        )
    })?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines.filter(|line| !line.is_empty()) {
        if line[0] == b' ' || line[0] == b'\t' {
            // RFC 9112 §5.2: a user agent MUST replace each received obs-fold
            // with one or more SP before interpreting the field value.
            let Some((_, value)) = headers.last_mut() else {
                return Err("a continuation line before any header field".into());
            };
            let more = String::from_utf8_lossy(trim_ows(line));
            value.push(' ');
            value.push_str(&more);
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(format!(
                "header line without a colon \"{}\"",
                crate::escape::encode(&line[..line.len().min(80)])
            ));
        };
        if colon == 0 {
            return Err("header line with an empty field name".into());
        }
        headers.push((
            String::from_utf8_lossy(&line[..colon]).into_owned(),
            String::from_utf8_lossy(trim_ows(&line[colon + 1..])).into_owned(),
        ));
    }
    Ok(ParsedHead {
        version,
        code,
        reason,
        headers,
    })
}

fn parse_status_line(line: &[u8]) -> Option<(String, u16, String)> {
    let version = line.get(..8)?;
    let valid_version = version.starts_with(STATUS_PREFIX)
        && version[5].is_ascii_digit()
        && version[6] == b'.'
        && version[7].is_ascii_digit();
    if !valid_version || line.get(8) != Some(&b' ') {
        return None;
    }
    let code = line.get(9..12)?;
    if !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = code.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    let reason = match line.get(12..) {
        None | Some([]) => Vec::new(),
        Some([b' ', rest @ ..]) => rest.to_vec(),
        Some(_) => return None,
    };
    Some((
        String::from_utf8_lossy(version).into_owned(),
        code,
        String::from_utf8_lossy(&reason).into_owned(),
    ))
}

/// `bytes` without leading and trailing SP and HTAB (OWS).
pub(crate) fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Decides how the body is delimited, in RFC 9112 §6.3's order.
fn decide_framing(
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
struct Body {
    kept: Vec<u8>,
    len: u64,
    end: BodyEnd,
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
fn read_body(conn: &mut Conn, framing: Framing, deadline: Instant) -> Result<Body, String> {
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
                crate::escape::encode(&line[..line.len().min(40)])
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
fn parse_chunk_size(line: &[u8]) -> Option<u64> {
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
/// passes, or [`BODY_READ_LIMIT`] bytes arrive; only counts them.
fn read_after(conn: &mut Conn, deadline: Instant) -> After {
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

/// Finds the method of each request in the bytes sent on a connection, so
/// that a response to HEAD is read without a body (RFC 9112 §6.3 rule 1)
/// even when requests are pipelined or fragmented across steps.
///
/// A request is taken to start at the first byte and after each blank line;
/// its method is its first token. Request bodies are not understood, which
/// only matters for a case that pipelines a HEAD behind a body.
#[derive(Default)]
struct MethodScanner {
    state: ScanState,
    token: Vec<u8>,
    methods: Vec<String>,
}

#[derive(Default, Clone, Copy)]
enum ScanState {
    /// Before a request: skipping empty lines (RFC 9112 §2.2).
    #[default]
    Start,
    /// Reading the method token.
    Method,
    /// Inside the head; `true` when the current line has content.
    Head(bool),
}

/// Methods longer than this are not methods we need to recognise.
const MAX_METHOD_LEN: usize = 16;

impl MethodScanner {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.state = match (self.state, b) {
                (ScanState::Start, b'\r' | b'\n') => ScanState::Start,
                (ScanState::Start, _) => {
                    self.token.clear();
                    self.token.push(b);
                    ScanState::Method
                }
                (ScanState::Method, b' ' | b'\t' | b'\r' | b'\n') => {
                    if self.methods.len() < MAX_TRACKED_REQUESTS {
                        self.methods
                            .push(String::from_utf8_lossy(&self.token).into_owned());
                    }
                    ScanState::Head(b != b'\n')
                }
                (ScanState::Method, _) => {
                    if self.token.len() < MAX_METHOD_LEN {
                        self.token.push(b);
                    }
                    ScanState::Method
                }
                (ScanState::Head(false), b'\n') => ScanState::Start,
                (ScanState::Head(true), b'\n') => ScanState::Head(false),
                (ScanState::Head(has), b'\r') => ScanState::Head(has),
                (ScanState::Head(_), _) => ScanState::Head(true),
            };
        }
    }

    /// The method of the `index`-th request (0-based), or of the last one
    /// seen if fewer were sent (or of the one still being sent).
    fn method(&self, index: usize) -> Option<&str> {
        if let Some(m) = self.methods.get(index) {
            return Some(m);
        }
        if let ScanState::Method = self.state {
            return std::str::from_utf8(&self.token).ok();
        }
        self.methods.last().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{Expect, Token};
    use crate::template::Template;
    use std::net::TcpListener;
    use std::thread;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn head_end_crlf_then_found() {
        let mut scanned = 0;
        let bytes = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody";
        assert_eq!(find_head_end(bytes, &mut scanned), Some(bytes.len() - 4));
    }

    #[test]
    fn head_end_bare_lf_then_found() {
        let mut scanned = 0;
        assert_eq!(
            find_head_end(b"HTTP/1.1 200 OK\nA: b\n\nx", &mut scanned),
            Some(22)
        );
    }

    #[test]
    fn head_end_split_across_reads_then_found_later() {
        let mut scanned = 0;
        let whole = b"HTTP/1.1 200 OK\r\n\r\n";
        assert_eq!(find_head_end(&whole[..18], &mut scanned), None);
        assert_eq!(find_head_end(whole, &mut scanned), Some(whole.len()));
    }

    #[test]
    fn status_line_then_parts() {
        let parsed = parse_head(b"HTTP/1.1 404 Not Found\r\nDate: x\r\n\r\n").unwrap();
        assert_eq!(parsed.version, "HTTP/1.1");
        assert_eq!(parsed.code, 404);
        assert_eq!(parsed.reason, "Not Found");
        assert_eq!(parsed.headers, headers(&[("Date", "x")]));
    }

    #[test]
    fn status_line_without_reason_then_empty_reason() {
        assert_eq!(parse_head(b"HTTP/1.1 200\r\n\r\n").unwrap().reason, "");
        assert_eq!(parse_head(b"HTTP/1.1 200 \r\n\r\n").unwrap().reason, "");
    }

    #[test]
    fn malformed_status_lines_then_errors() {
        for head in [
            &b"HTTP/1.1 20 OK\r\n\r\n"[..],
            b"HTTP/1.1  200 OK\r\n\r\n",
            b"HTTP/11 200 OK\r\n\r\n",
            b"HTTP/1.1 200OK\r\n\r\n",
            b"HTTP/1.1\r\n\r\n",
        ] {
            assert!(parse_head(head).is_err(), "{head:?}");
        }
    }

    #[test]
    fn header_values_then_trimmed_and_ordered() {
        let parsed = parse_head(b"HTTP/1.1 200 OK\r\nB:  1 \t\r\nA:2\r\nb: 3\r\n\r\n").unwrap();
        assert_eq!(
            parsed.headers,
            headers(&[("B", "1"), ("A", "2"), ("b", "3")])
        );
    }

    #[test]
    fn obs_fold_then_joined_with_space() {
        let parsed = parse_head(b"HTTP/1.1 200 OK\r\nX: a\r\n  b\r\n\r\n").unwrap();
        assert_eq!(parsed.headers, headers(&[("X", "a b")]));
    }

    #[test]
    fn header_without_colon_then_error() {
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nnonsense\r\n\r\n").is_err());
    }

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

    #[test]
    fn pipelined_methods_then_each_found() {
        let mut scanner = MethodScanner::default();
        scanner.feed(b"\r\nHEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n");
        scanner.feed(b"Host: a\r\n\r\n");
        assert_eq!(scanner.method(0), Some("HEAD"));
        assert_eq!(scanner.method(1), Some("GET"));
        assert_eq!(scanner.method(2), Some("GET"));
    }

    #[test]
    fn method_split_across_sends_then_joined() {
        let mut scanner = MethodScanner::default();
        scanner.feed(b"HE");
        assert_eq!(scanner.method(0), Some("HE"));
        scanner.feed(b"AD / HTTP/1.1\r\n");
        assert_eq!(scanner.method(0), Some("HEAD"));
    }

    /// Serves one connection with `reply` after reading whatever the client
    /// sends first, then closes.
    fn one_shot(reply: &'static [u8]) -> (SocketAddr, thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(reply);
        });
        (addr, handle)
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

    fn get_send() -> [Option<Vec<u8>>; 1] {
        [Some(GET.to_vec())]
    }

    fn get_step(checks: Vec<Check>) -> Step {
        Step {
            pause_ms: 0,
            send: Some(Template::literal(GET)),
            send_source: None,
            expect: Some(Expect {
                pass: vec![],
                warn: vec![],
                checks,
            }),
        }
    }

    fn play_one(reply: &'static [u8], checks: Vec<Check>) -> Exchange {
        let (addr, server) = one_shot(reply);
        let mut exchanges = play(
            addr,
            &[get_step(checks)],
            &get_send(),
            Duration::from_millis(500),
        );
        server.join().unwrap();
        exchanges.remove(0)
    }

    fn response(exchange: &Exchange) -> &Response {
        match &exchange.outcome {
            Some(Outcome::Response(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn content_length_body_then_read_exactly() {
        let ex = play_one(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", vec![]);
        let r = response(&ex);
        assert_eq!(
            (r.body.as_slice(), r.body_end),
            (&b"hello"[..], BodyEnd::Complete)
        );
        assert_eq!(ex.received_total, 43);
    }

    #[test]
    fn step_expecting_1xx_then_interim_is_its_outcome_and_the_final_follows() {
        let (addr, server) = one_shot(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        );
        let expect = |pass| Expect {
            pass: vec![pass],
            warn: vec![],
            checks: vec![],
        };
        let steps = [
            Step {
                expect: Some(expect(Token::Status(100))),
                ..get_step(vec![])
            },
            Step {
                pause_ms: 0,
                send: None,
                send_source: None,
                expect: Some(expect(Token::Status(200))),
            },
        ];
        let exchanges = play(
            addr,
            &steps,
            &[Some(GET.to_vec()), None],
            Duration::from_millis(500),
        );
        server.join().unwrap();
        assert_eq!(response(&exchanges[0]).code, 100);
        let last = response(&exchanges[1]);
        assert_eq!((last.code, last.body.as_slice()), (200, &b"hi"[..]));
        assert_eq!(last.method.as_deref(), Some("GET"));
        // Without a 1xx token the interim response is skipped.
        let ex = play_one(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            vec![],
        );
        assert_eq!((response(&ex).code, response(&ex).interim.len()), (204, 1));
    }

    #[test]
    fn chunked_body_with_trailer_then_decoded() {
        let ex = play_one(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nT: 1\r\n\r\n",
            vec![],
        );
        let r = response(&ex);
        assert_eq!(r.body, b"hello!");
        assert_eq!(r.body_end, BodyEnd::Complete);
    }

    #[test]
    fn bad_chunk_then_invalid() {
        let ex = play_one(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            vec![],
        );
        assert!(
            matches!(ex.outcome, Some(Outcome::Invalid { .. })),
            "{:?}",
            ex.outcome
        );
    }

    #[test]
    fn short_body_then_closed_early() {
        let ex = play_one(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
            vec![],
        );
        let r = response(&ex);
        assert_eq!((r.body_len, r.body_end), (5, BodyEnd::Closed));
    }

    #[test]
    fn interim_then_final_response_read() {
        let ex = play_one(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            vec![],
        );
        let r = response(&ex);
        assert_eq!(r.code, 204);
        assert_eq!(r.interim, [b"HTTP/1.1 100 Continue\r\n\r\n".to_vec()]);
    }

    #[test]
    fn closed_check_then_after_read_sees_close() {
        let ex = play_one(
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            vec![Check::Closed],
        );
        let after = response(&ex).after.unwrap();
        assert_eq!((after.bytes, after.end), (0, AfterEnd::Closed));
    }

    #[test]
    fn no_body_check_then_extra_bytes_counted() {
        let ex = play_one(
            b"HTTP/1.1 304 Not Modified\r\n\r\nsurprise",
            vec![Check::NoBody],
        );
        let r = response(&ex);
        assert_eq!(r.body_len, 0);
        assert_eq!(r.after.unwrap().bytes, 8);
    }

    #[test]
    fn nothing_then_closed() {
        let ex = play_one(b"", vec![]);
        assert_eq!(ex.outcome, Some(Outcome::Closed));
    }

    #[test]
    fn garbage_then_invalid_at_once() {
        let ex = play_one(b"SSH-2.0-OpenSSH\r\n", vec![]);
        assert!(
            matches!(ex.outcome, Some(Outcome::Invalid { .. })),
            "{:?}",
            ex.outcome
        );
    }

    #[test]
    fn partial_head_then_invalid() {
        let ex = play_one(b"HTTP/1.1 200 OK\r\nDate: x", vec![]);
        assert_eq!(
            ex.outcome,
            Some(Outcome::Invalid {
                reason: "closed after 24 bytes of a response head".into()
            })
        );
    }

    #[test]
    fn refused_connection_then_error_outcome() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let ex = play(
            addr,
            &[get_step(vec![])],
            &get_send(),
            Duration::from_millis(300),
        );
        assert!(
            matches!(ex[0].outcome, Some(Outcome::Error(_))),
            "{:?}",
            ex[0].outcome
        );
    }
}
