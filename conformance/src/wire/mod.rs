//! The raw client: plays a plan of steps on one connection, over TCP or TLS,
//! and records exactly what came back, with every read bounded in bytes and
//! in time.
//!
//! The client is deliberately not a general HTTP client. It reads one
//! response per reading step, delimiting it from the client side as
//! RFC 9112 §6.3 says, and never trusts the peer for sizes: a head that never
//! ends, a body that never ends, or a server that never answers each ends as
//! a recorded outcome within the step's deadline.
//!
//! The pieces: `conn` is the connection (timed writes and reads, close and
//! reset), `deadline` the time left for each socket call, `head` the
//! response-head parser, `body` the body decoder, `scan` the request
//! scanner that tells which method each response answers, and [`tls`] the
//! TLS client for `https://` targets. The client knows nothing
//! of cases: a case turns its steps into [`StepPlan`]s.

mod body;
mod conn;
mod deadline;
mod endpoint;
mod head;
mod scan;
pub mod tls;

use crate::limits::{AFTER_GRACE, MAX_INTERIM};
use body::{decide_framing, read_after, read_body};
use conn::{connect, Conn};
pub use conn::{Close, ConnectError};
use deadline::POLL;
pub use endpoint::{listens, open_idle, refuses_twice, Endpoint, Idle};
pub(crate) use head::trim_ows;
use head::{parse_head, read_head, HeadRead};
use scan::MethodScanner;
use std::time::{Duration, Instant};
use tls::{Session, TlsClient};

/// What a connection runs over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Transport {
    /// Plain TCP (`HOST:PORT`, `http://`).
    #[default]
    Tcp,
    /// TLS over TCP (`https://`).
    Tls(TlsClient),
}

/// One step of a plan: wait, write, then read one response or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepPlan {
    /// How long to wait before writing (fragmented writes).
    pub pause: Duration,
    /// The bytes to write; `None` writes nothing.
    pub send: Option<Vec<u8>>,
    /// Whether and how to read a response after writing; `None` only writes.
    pub read: Option<ReadPlan>,
}

/// How a step reads its response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadPlan {
    /// An interim (1xx) response is the step's outcome, instead of being
    /// skipped on the way to the final one.
    pub interim: bool,
    /// After the response, read on until the server closes or the deadline
    /// passes, and record what came ([`Response::after`]).
    pub after: bool,
}

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
    /// The body (chunked bodies decoded), up to [`BODY_KEEP`](crate::limits::BODY_KEEP) bytes.
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
    /// The reason phrase exactly as received, from the raw status line:
    /// [`reason`](Response::reason) is its text, this its bytes, for a check
    /// of its octets (RFC 9112 §4) and a report that shows them escaped.
    pub(crate) fn reason_bytes(&self) -> &[u8] {
        head::reason_bytes(&self.head)
    }

    /// The value of the first header field with this name (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The values of every header field with this name, in order.
    pub(crate) fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a `Connection` field lists the `close` option.
    pub(crate) fn has_connection_close(&self) -> bool {
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
    /// [`BODY_READ_LIMIT`](crate::limits::BODY_READ_LIMIT) bytes were read and the rest was not.
    Truncated,
}

impl BodyEnd {
    /// A lowercase name for reports.
    pub(crate) fn as_str(self) -> &'static str {
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
/// deadline passed, or [`BODY_READ_LIMIT`](crate::limits::BODY_READ_LIMIT) bytes arrived.
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
    /// The server kept sending past [`BODY_READ_LIMIT`](crate::limits::BODY_READ_LIMIT).
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
    /// The raw bytes read during this step, up to [`RECORD_LIMIT`](crate::limits::RECORD_LIMIT).
    pub received: Vec<u8>,
    /// How many bytes were read during this step in all.
    pub received_total: u64,
    /// How long the step took, pause excluded.
    pub elapsed: Duration,
    /// How the server ended the connection, if this step saw it end
    /// (on TLS: with or without a close_notify).
    pub close: Option<Close>,
}

/// Opens a TLS connection to `addr` and closes it again after the
/// handshake: the check a run does before any case, so that a certificate
/// or protocol problem ends the run in one line.
pub(crate) fn handshake(
    endpoint: &Endpoint,
    client: &TlsClient,
    timeout: Duration,
    halted: &dyn Fn() -> bool,
) -> Result<Session, ConnectError> {
    let mut conn = connect(endpoint, &Transport::Tls(client.clone()), timeout, halted)?;
    conn.finish();
    conn.session
        .take()
        .ok_or_else(|| ConnectError::Connect("no TLS session".into()))
}

/// Plays `steps` on one new plain TCP connection to `addr`, as
/// [`play_over`] does; for the unit tests.
#[cfg(test)]
pub(crate) fn play(
    addr: std::net::SocketAddr,
    steps: &[StepPlan],
    timeout: Duration,
) -> Vec<Exchange> {
    play_over(&Transport::Tcp, addr, steps, timeout)
}

/// A stop flag that never stops.
const NEVER: fn() -> bool = || false;

/// Plays `steps` on one new connection to `endpoint` over `transport`;
/// every step gets its own deadline of `timeout` (after its pause).
/// Returns one exchange per step. If the connection cannot be made, every
/// reading step's outcome is [`Outcome::Error`].
pub fn play_over(
    transport: &Transport,
    endpoint: impl Into<Endpoint>,
    steps: &[StepPlan],
    timeout: Duration,
) -> Vec<Exchange> {
    match play_until(transport, &endpoint.into(), steps, timeout, &NEVER) {
        Ok(exchanges) => exchanges,
        Err(Cut::NotConnected(e)) => not_connected(steps, &e),
        Err(Cut::Halted) => unreachable!("a run that never stops was halted"),
    }
}

/// Why [`play_until`] has no exchanges to give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// The connection could not be made.
    NotConnected(ConnectError),
    /// The run stopped while the steps were under way: what they got is
    /// not a server's answer, and is dropped.
    Halted,
}

/// The exchanges of steps whose connection could not be made: every
/// reading step's outcome is [`Outcome::Error`] saying why.
pub fn not_connected(steps: &[StepPlan], error: &ConnectError) -> Vec<Exchange> {
    let message = error.to_string();
    steps
        .iter()
        .map(|step| Exchange {
            outcome: step.read.map(|_| Outcome::Error(message.clone())),
            ..Exchange::default()
        })
        .collect()
}

/// [`play_over`] for a run that can be stopped: every wait (the connect,
/// each pause, write and read) looks at `halted` at least every
/// [`POLL`], and once it says the run stopped the steps end at once with
/// [`Cut::Halted`].
pub fn play_until(
    transport: &Transport,
    endpoint: &Endpoint,
    steps: &[StepPlan],
    timeout: Duration,
    halted: &dyn Fn() -> bool,
) -> Result<Vec<Exchange>, Cut> {
    let connected = connect(endpoint, transport, timeout, halted);
    if halted() {
        return Err(Cut::Halted);
    }
    let mut conn = connected.map_err(Cut::NotConnected)?;
    let mut methods = MethodScanner::default();
    let mut responses_read = 0;
    let mut exchanges = Vec::with_capacity(steps.len());
    for step in steps {
        let paused = Instant::now() + step.pause;
        while let Some(left) = deadline::time_left(paused) {
            if halted() {
                return Err(Cut::Halted);
            }
            std::thread::sleep(left.min(POLL));
        }
        let started = Instant::now();
        let deadline = started + timeout;
        let mut exchange = Exchange::default();
        if let Some(bytes) = &step.send {
            methods.feed(bytes);
            let (written, error) = conn.write_all_by(bytes, deadline);
            exchange.written = written;
            exchange.write_error = error;
        }
        if let Some(read) = step.read {
            let method = methods.method(responses_read);
            exchange.outcome = Some(read_response(
                &mut conn,
                method,
                deadline,
                read.after,
                read.interim,
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
        exchange.close = conn.close.take();
        exchange.elapsed = started.elapsed();
        exchanges.push(exchange);
    }
    conn.finish();
    if halted() {
        return Err(Cut::Halted);
    }
    Ok(exchanges)
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

/// Header fields as the head parser stores them, for the unit tests of the
/// head and body modules.
#[cfg(test)]
pub(crate) fn test_headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener};
    use std::thread;

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

    fn get_step(read: ReadPlan) -> StepPlan {
        StepPlan {
            pause: Duration::ZERO,
            send: Some(GET.to_vec()),
            read: Some(read),
        }
    }

    fn play_one(reply: &'static [u8], read: ReadPlan) -> Exchange {
        let (addr, server) = one_shot(reply);
        let mut exchanges = play(addr, &[get_step(read)], Duration::from_millis(500));
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
        let ex = play_one(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            ReadPlan::default(),
        );
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
        let steps = [
            get_step(ReadPlan {
                interim: true,
                after: false,
            }),
            StepPlan {
                read: Some(ReadPlan::default()),
                ..StepPlan::default()
            },
        ];
        let exchanges = play(addr, &steps, Duration::from_millis(500));
        server.join().unwrap();
        assert_eq!(response(&exchanges[0]).code, 100);
        let last = response(&exchanges[1]);
        assert_eq!((last.code, last.body.as_slice()), (200, &b"hi"[..]));
        assert_eq!(last.method.as_deref(), Some("GET"));
        // Without a 1xx token the interim response is skipped.
        let ex = play_one(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            ReadPlan::default(),
        );
        assert_eq!((response(&ex).code, response(&ex).interim.len()), (204, 1));
    }

    #[test]
    fn chunked_body_with_trailer_then_decoded() {
        let ex = play_one(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nT: 1\r\n\r\n",
            ReadPlan::default(),
        );
        let r = response(&ex);
        assert_eq!(r.body, b"hello!");
        assert_eq!(r.body_end, BodyEnd::Complete);
    }

    #[test]
    fn bad_chunk_then_invalid() {
        let ex = play_one(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            ReadPlan::default(),
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
            ReadPlan::default(),
        );
        let r = response(&ex);
        assert_eq!((r.body_len, r.body_end), (5, BodyEnd::Closed));
    }

    #[test]
    fn interim_then_final_response_read() {
        let ex = play_one(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            ReadPlan::default(),
        );
        let r = response(&ex);
        assert_eq!(r.code, 204);
        assert_eq!(r.interim, [b"HTTP/1.1 100 Continue\r\n\r\n".to_vec()]);
    }

    #[test]
    fn closed_check_then_after_read_sees_close() {
        let ex = play_one(
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            ReadPlan {
                interim: false,
                after: true,
            },
        );
        let after = response(&ex).after.unwrap();
        assert_eq!((after.bytes, after.end), (0, AfterEnd::Closed));
    }

    #[test]
    fn no_body_check_then_extra_bytes_counted() {
        let ex = play_one(
            b"HTTP/1.1 304 Not Modified\r\n\r\nsurprise",
            ReadPlan {
                interim: false,
                after: true,
            },
        );
        let r = response(&ex);
        assert_eq!(r.body_len, 0);
        assert_eq!(r.after.unwrap().bytes, 8);
    }

    #[test]
    fn nothing_then_closed() {
        let ex = play_one(b"", ReadPlan::default());
        assert_eq!(ex.outcome, Some(Outcome::Closed));
    }

    #[test]
    fn garbage_then_invalid_at_once() {
        let ex = play_one(b"SSH-2.0-OpenSSH\r\n", ReadPlan::default());
        assert!(
            matches!(ex.outcome, Some(Outcome::Invalid { .. })),
            "{:?}",
            ex.outcome
        );
    }

    #[test]
    fn partial_head_then_invalid() {
        let ex = play_one(b"HTTP/1.1 200 OK\r\nDate: x", ReadPlan::default());
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
            &[get_step(ReadPlan::default())],
            Duration::from_millis(300),
        );
        assert!(
            matches!(ex[0].outcome, Some(Outcome::Error(_))),
            "{:?}",
            ex[0].outcome
        );
    }
}
