//! The control: before any case, one clean `GET {path}` and `HEAD {path}`
//! tell the run what the target serves and how, so that every verdict
//! depends only on the server's HTTP implementation.
//!
//! The control learns the status a normal request gets (what the `control`
//! token matches), the validators and length the templates use, whether the
//! connection persists, and whether a second connection is served while one
//! is open (if not, cases must run one at a time). A target that does not
//! answer HTTP/1.x stops the run here, with one line saying what came back.

use crate::escape;
use crate::template::MISSING_PATH;
use crate::wire::tls::{Session, TlsClient};
use crate::wire::{
    self, BodyEnd, ConnectError, Endpoint, Exchange, Outcome, ReadPlan, Response, StepPlan,
    Transport,
};
use std::fmt;
use std::time::Duration;

/// How many bytes of a non-HTTP answer the error line shows.
const BANNER_SHOWN: usize = 48;

/// How many characters of the `Server` value the control line shows
/// (escaped, `…` included).
const SERVER_SHOWN: usize = 64;

/// What the control requests learned about the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    /// The resource asked for (`--path`).
    pub path: String,
    /// The Host value sent (`--host`).
    pub host: String,
    /// The GET's status code.
    pub status: u16,
    /// The GET's reason phrase.
    pub reason: String,
    /// The HTTP version the GET's response started with.
    pub version: String,
    /// The GET's `Server` value (RFC 9110 §10.2.4), as received.
    pub server: Option<String>,
    /// The HEAD's status code, if it got a response.
    pub head_status: Option<u16>,
    /// The GET's `ETag` value.
    pub etag: Option<String>,
    /// The GET's `Last-Modified` value.
    pub last_modified: Option<String>,
    /// How many body bytes the GET received, when the body ended where its
    /// framing said.
    pub length: Option<u64>,
    /// Whether the HEAD was answered on the GET's connection.
    pub persistent: bool,
    /// Whether a second connection was answered while a first one stayed
    /// open and idle.
    pub concurrent: bool,
    /// The GET's header field names, lowercase, in order.
    pub fields: Vec<String>,
    /// The GET's content, as far as the client keeps it.
    pub body: Vec<u8>,
    /// What the TLS handshake agreed on, for an `https://` target.
    pub tls: Option<Session>,
    /// Whether a GET with `If-Modified-Since` of the GET's own
    /// `Last-Modified` was answered 304; `None` without a Last-Modified.
    pub if_modified_since: Option<bool>,
    /// Whether a GET with an `If-Unmodified-Since` of 1994 (before any
    /// Last-Modified) was answered 412; `None` without a Last-Modified.
    pub if_unmodified_since: Option<bool>,
    /// The status a GET of [`MISSING_PATH`] got, if it got a response.
    pub missing_status: Option<u16>,
}

impl Control {
    /// Whether the GET was answered 2xx, as a resource to test against must be.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The one line a run prints about its control.
    pub fn line(&self) -> String {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let head = self
            .head_status
            .map_or_else(|| "no response".to_string(), |s| s.to_string());
        let length = self
            .length
            .map_or_else(|| "unknown".to_string(), |n| n.to_string());
        let server = self.server.as_deref().map_or_else(String::new, |value| {
            format!(" (Server: {})", escape::terminal_cut(value, SERVER_SHOWN))
        });
        let mut line = format!(
            "control: GET {} → {} {}{server}, HEAD → {head}; ETag {}, Last-Modified {}, \
             length {length}; persistent {}; second connection served while one is open: {}",
            escape::readable(self.path.as_bytes()),
            self.status,
            escape::terminal(&self.reason),
            yes(self.etag.is_some()),
            yes(self.last_modified.is_some()),
            yes(self.persistent),
            yes(self.concurrent),
        );
        if let Some(session) = &self.tls {
            line.push_str("; over ");
            line.push_str(&session.describe());
        }
        line
    }
}

/// Why the control could not establish a target to test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlError {
    /// The connection could not be made.
    Unreachable(String),
    /// Something answered, but not HTTP/1.x: TLS, a banner, a close, silence.
    NotHttp(String),
    /// The TLS handshake of an `https://` target failed.
    Handshake(String),
    /// The run stopped (a signal) before the control was done.
    Halted,
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::Unreachable(why)
            | ControlError::NotHttp(why)
            | ControlError::Handshake(why) => f.write_str(why),
            ControlError::Halted => f.write_str("the run stopped before the control was done"),
        }
    }
}

impl std::error::Error for ControlError {}

/// [`probe_over`] over plain TCP, for the unit tests.
#[cfg(test)]
pub(crate) fn probe(
    addr: std::net::SocketAddr,
    path: &str,
    host: &str,
    timeout: Duration,
) -> Result<Control, ControlError> {
    probe_over(&Transport::Tcp, addr, path, host, timeout)
}

/// Runs the control requests against `addr` over `transport`: `GET path`
/// then `HEAD path` on one connection (the HEAD again on a new one if the
/// first did not persist), then the second-connection test. Each read waits
/// at most `timeout`. On TLS, a handshake first, whose failure
/// is [`ControlError::Handshake`] (or [`ControlError::NotHttp`] when a
/// plain HTTP server answered the ClientHello).
pub fn probe_over(
    transport: &Transport,
    endpoint: impl Into<Endpoint>,
    path: &str,
    host: &str,
    timeout: Duration,
) -> Result<Control, ControlError> {
    probe_until(transport, &endpoint.into(), path, host, timeout, &|| false)
}

/// [`probe_over`] for a run that can be stopped: every wait looks at
/// `halted` at least every 100 ms, and once it says the run stopped the
/// probe ends with [`ControlError::Halted`].
pub fn probe_until(
    transport: &Transport,
    endpoint: &Endpoint,
    path: &str,
    host: &str,
    timeout: Duration,
    halted: &dyn Fn() -> bool,
) -> Result<Control, ControlError> {
    let probed = probe_all(transport, endpoint, path, host, timeout, halted);
    if halted() {
        return Err(ControlError::Halted);
    }
    probed
}

fn probe_all(
    transport: &Transport,
    addr: &Endpoint,
    path: &str,
    host: &str,
    timeout: Duration,
    halted: &dyn Fn() -> bool,
) -> Result<Control, ControlError> {
    let tls = match transport {
        Transport::Tcp => None,
        Transport::Tls(client) => Some(handshake(addr, client, timeout, halted)?),
    };
    let answers_tls = |addr, timeout| answers_tls(addr, timeout, halted);
    let play = |requests: &[&[u8]]| play(transport, addr, requests, timeout, halted);
    let get = request("GET", path, host, false);
    let head = request("HEAD", path, host, true);
    let first = play(&[&get]);
    let plain = tls.is_none();
    let response = match http_response(&first[0], addr, timeout) {
        Ok(response) => response,
        // A TLS server may close on bytes that are not a TLS record, or
        // wait for the rest of the "record" they seem to announce.
        Err(ControlError::NotHttp(_))
            if plain && no_answer(&first[0]) && answers_tls(addr, timeout) =>
        {
            return Err(ControlError::NotHttp(format!(
                "the target speaks TLS: use https://{addr} (it did not answer a plain-text \
                 request, and answered a TLS ClientHello with a TLS record)"
            )))
        }
        Err(e) => return Err(e),
    };
    // An HTTPS server may answer plain text with an HTTP error of its own.
    if plain && !(200..300).contains(&response.code) && answers_tls(addr, timeout) {
        return Err(ControlError::NotHttp(format!(
            "the target speaks TLS: use https://{addr} (it answered a plain-text request with \
             {} and a TLS ClientHello with a TLS record)",
            response.code
        )));
    }
    // The GET again, then the HEAD on the same connection: whether it persists.
    let pair = play(&[&get, &head]);
    let persistent = response_of(&pair[0]).is_some_and(|r| !r.has_connection_close())
        && response_of(&pair[1]).is_some();
    let head_status = if persistent {
        response_of(&pair[1]).map(|r| r.code)
    } else {
        response_of(&play(&[&head])[0]).map(|r| r.code)
    };
    // Whether the target evaluates the date preconditions, for the cases
    // about how it reads dates (each on a connection of its own, closed).
    let last_modified = response.header("last-modified").map(str::to_string);
    let answered = |field: &str, value: &str| {
        let conditional = conditional_request(path, host, field, value);
        response_of(&play(&[&conditional])[0]).map(|r| r.code)
    };
    let if_modified_since = last_modified
        .as_deref()
        .map(|date| answered("If-Modified-Since", date) == Some(304));
    let if_unmodified_since = last_modified
        .as_ref()
        .map(|_| answered("If-Unmodified-Since", LONG_AGO) == Some(412));
    let missing = request("GET", MISSING_PATH, host, true);
    let missing_status = response_of(&play(&[&missing])[0]).map(|r| r.code);
    Ok(Control {
        path: path.to_string(),
        host: host.to_string(),
        status: response.code,
        reason: response.reason.clone(),
        version: response.version.clone(),
        server: response.header("server").map(str::to_string),
        head_status,
        etag: response.header("etag").map(str::to_string),
        last_modified,
        length: (response.body_end == BodyEnd::Complete).then_some(response.body_len),
        persistent,
        concurrent: serves_second_connection(
            transport,
            addr,
            &request("GET", path, host, true),
            timeout,
            halted,
        ),
        fields: response
            .headers
            .iter()
            .map(|(name, _)| name.to_ascii_lowercase())
            .collect(),
        body: response.body.clone(),
        tls,
        if_modified_since,
        if_unmodified_since,
        missing_status,
    })
}

/// A date before any file was last modified: RFC 9110's own example.
const LONG_AGO: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

/// A GET of `path` with one precondition field, closing the connection.
fn conditional_request(path: &str, host: &str, field: &str, value: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{field}: {value}\r\nConnection: close\r\n\r\n")
        .into_bytes()
}

/// The handshake before the control requests, its failure in one line.
fn handshake(
    addr: &Endpoint,
    client: &TlsClient,
    timeout: Duration,
    halted: &dyn Fn() -> bool,
) -> Result<Session, ControlError> {
    match wire::handshake(addr, client, timeout, halted) {
        Ok(session) => Ok(session),
        Err(ConnectError::Refused(why) | ConnectError::Connect(why)) => {
            Err(ControlError::Unreachable(why))
        }
        Err(ConnectError::Handshake(e @ wire::tls::HandshakeError::PlainHttp(_))) => {
            Err(ControlError::NotHttp(format!("{e}{addr}")))
        }
        Err(ConnectError::Handshake(e)) => Err(ControlError::Handshake(e.to_string())),
    }
}

fn request(method: &str, path: &str, host: &str, close: bool) -> Vec<u8> {
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n{connection}\r\n").into_bytes()
}

/// Plays one reading step per request on one connection; once the run
/// stopped, each step's outcome is an error.
fn play(
    transport: &Transport,
    addr: &Endpoint,
    requests: &[&[u8]],
    timeout: Duration,
    halted: &dyn Fn() -> bool,
) -> Vec<Exchange> {
    let steps: Vec<StepPlan> = requests
        .iter()
        .map(|bytes| StepPlan {
            send: Some(bytes.to_vec()),
            read: Some(ReadPlan::default()),
            ..StepPlan::default()
        })
        .collect();
    match wire::play_until(transport, addr, &steps, timeout, halted) {
        Ok(exchanges) => exchanges,
        Err(wire::Cut::NotConnected(e)) => wire::not_connected(&steps, &e),
        Err(wire::Cut::Halted) => wire::not_connected(
            &steps,
            &ConnectError::Connect("the run stopped".to_string()),
        ),
    }
}

fn response_of(exchange: &Exchange) -> Option<&Response> {
    match &exchange.outcome {
        Some(Outcome::Response(response)) => Some(response),
        _ => None,
    }
}

/// The control GET's response, if it is HTTP/1.x; otherwise what came back,
/// in one line.
fn http_response<'a>(
    exchange: &'a Exchange,
    addr: &Endpoint,
    timeout: Duration,
) -> Result<&'a Response, ControlError> {
    let received = &exchange.received;
    let not_http = |what: String| Err(ControlError::NotHttp(what));
    match &exchange.outcome {
        Some(Outcome::Response(r)) if r.version.starts_with("HTTP/1.") => Ok(r),
        Some(Outcome::Response(r)) => not_http(format!(
            "the target answered with a {} status line, not HTTP/1.x",
            escape::readable(r.version.as_bytes())
        )),
        _ if is_tls_record(received) => not_http(format!(
            "the target speaks TLS: use https://{addr} (it answered a plain-text request with a \
             TLS record)"
        )),
        Some(Outcome::Invalid { .. }) => not_http(format!(
            "the target does not speak HTTP/1.x: it sent \"{}\"",
            escape::readable(&received[..received.len().min(BANNER_SHOWN)])
        )),
        Some(Outcome::Closed) => {
            not_http("the target closed the connection without answering the control GET".into())
        }
        Some(Outcome::Reset) => {
            not_http("the target reset the connection without answering the control GET".into())
        }
        Some(Outcome::Timeout) => not_http(format!(
            "nothing came back to the control GET within {} ms",
            timeout.as_millis()
        )),
        Some(Outcome::Error(e)) => Err(ControlError::Unreachable(e.clone())),
        None => Err(ControlError::Unreachable(
            "the control GET was not sent".into(),
        )),
    }
}

/// A TLS record starts with its content type (alert 21, handshake 22) and
/// the major version 3 (RFC 8446 §5.1).
fn is_tls_record(bytes: &[u8]) -> bool {
    matches!(bytes, [21 | 22, 3, ..])
}

/// Whether the control GET got no bytes at all: closed, reset or silent.
fn no_answer(exchange: &Exchange) -> bool {
    matches!(
        exchange.outcome,
        Some(Outcome::Closed | Outcome::Reset | Outcome::Timeout)
    )
}

/// A TLS 1.2 ClientHello (RFC 5246 §7.4.1.2) with two common cipher suites
/// and the extensions they need: any TLS server answers it with a
/// ServerHello or an alert, both TLS records.
fn client_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x03]; // client_version: TLS 1.2
    body.extend_from_slice(&[0x2a; 32]); // random
    body.push(0); // session_id: empty
    body.extend_from_slice(&[0x00, 0x04, 0xc0, 0x2f, 0x00, 0x9c]); // cipher_suites
    body.extend_from_slice(&[0x01, 0x00]); // compression_methods: null
    let extensions: &[u8] = &[
        0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17, // supported_groups: secp256r1
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // ec_point_formats: uncompressed
        0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x01, // signature_algorithms
    ];
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(extensions);
    let mut handshake = vec![0x01, 0x00]; // client_hello, 24-bit length
    handshake.extend_from_slice(&(body.len() as u16).to_be_bytes());
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01]; // handshake record, TLS 1.0 framing
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// Whether `addr` answers a TLS ClientHello with a TLS record.
fn answers_tls(addr: &Endpoint, timeout: Duration, halted: &dyn Fn() -> bool) -> bool {
    let exchange = play(&Transport::Tcp, addr, &[&client_hello()], timeout, halted);
    is_tls_record(&exchange[0].received)
}

/// Whether a request on a second connection is answered while a first
/// connection stays open and idle, and the first is still open when it is:
/// a server that serves one connection at a time answers the second only
/// after it gave up on the first.
fn serves_second_connection(
    transport: &Transport,
    addr: &Endpoint,
    request: &[u8],
    timeout: Duration,
    halted: &dyn Fn() -> bool,
) -> bool {
    let Ok(first) = wire::open_idle(addr, timeout) else {
        return false;
    };
    let exchanges = play(transport, addr, &[request], timeout, halted);
    response_of(&exchanges[0]).is_some() && first.still_open()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{Shutdown, SocketAddr, TcpListener};
    use std::thread;

    /// Serves every connection with `reply` (after reading a request's
    /// first bytes) on its own thread, until the test ends.
    fn serve(reply: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    if matches!(stream.read(&mut buf), Ok(n) if n > 0) {
                        let _ = stream.write_all(reply);
                        let _ = stream.shutdown(Shutdown::Write);
                    }
                    let _ = stream.read(&mut buf);
                });
            }
        });
        addr
    }

    const TIMEOUT: Duration = Duration::from_millis(500);

    #[test]
    fn tls_alert_then_speaks_tls() {
        let addr = serve(b"\x15\x03\x01\x00\x02\x02\x46");
        let err = probe(addr, "/", "localhost", TIMEOUT).unwrap_err();
        assert_eq!(
            err,
            ControlError::NotHttp(format!(
                "the target speaks TLS: use https://{addr} (it answered a plain-text request \
                 with a TLS record)"
            ))
        );
    }

    #[test]
    fn http_error_to_text_and_tls_to_a_client_hello_then_speaks_tls() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                let reply: &[u8] = if is_tls_record(&buf[..n]) {
                    b"\x15\x03\x03\x00\x02\x02\x28"
                } else {
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                };
                let _ = stream.write_all(reply);
            }
        });
        let err = probe(addr, "/", "localhost", TIMEOUT).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "the target speaks TLS: use https://{addr} (it answered a plain-text request \
                     with 400"
            )),
            "{err}"
        );
    }

    #[test]
    fn banner_then_its_first_bytes_escaped() {
        let addr = serve(b"SSH-2.0-OpenSSH_9.2\r\n");
        let err = probe(addr, "/", "localhost", TIMEOUT).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"the target does not speak HTTP/1.x: it sent "SSH-2.0-OpenSSH_9.2\r\n""#
        );
    }

    #[test]
    fn close_without_answer_then_said() {
        let addr = serve(b"");
        assert_eq!(
            probe(addr, "/", "localhost", TIMEOUT)
                .unwrap_err()
                .to_string(),
            "the target closed the connection without answering the control GET"
        );
    }

    #[test]
    fn one_response_per_connection_then_not_persistent_and_head_asked_again() {
        let addr = serve(
            b"HTTP/1.1 200 OK\r\nETag: \"x\"\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
        );
        let control = probe(addr, "/x", "h", TIMEOUT).unwrap();
        assert_eq!(
            (control.status, control.head_status, control.persistent),
            (200, Some(200), false)
        );
        assert_eq!(
            (
                control.etag.as_deref(),
                control.last_modified.as_deref(),
                control.length
            ),
            (Some("\"x\""), None, Some(2))
        );
        assert!(control.concurrent);
        assert_eq!(
            control.line(),
            "control: GET /x → 200 OK, HEAD → 200; ETag yes, Last-Modified no, length 2; \
             persistent no; second connection served while one is open: yes"
        );
    }

    #[test]
    fn server_field_then_on_the_control_line_escaped_and_cut() {
        let long = format!("Hostile/1.0 \x1b[2J{}", "x".repeat(100));
        let head = format!(
            "HTTP/1.1 200 OK\r\nServer: {long}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let addr = serve(Box::leak(head.into_bytes().into_boxed_slice()));
        let control = probe(addr, "/", "h", TIMEOUT).unwrap();
        assert_eq!(control.server.as_deref(), Some(long.as_str()));
        assert_eq!(
            control.line(),
            format!(
                "control: GET / → 200 OK (Server: Hostile/1.0 \\x1b[2J{}…), HEAD → 200; \
                 ETag no, Last-Modified no, length 0; persistent no; second connection served \
                 while one is open: yes",
                "x".repeat(44)
            )
        );
    }

    #[test]
    fn nothing_listening_then_unreachable() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(matches!(
            probe(addr, "/", "localhost", TIMEOUT),
            Err(ControlError::Unreachable(_))
        ));
    }

    #[test]
    fn client_hello_then_lengths_consistent() {
        let hello = client_hello();
        assert!(is_tls_record(&hello));
        let record_len = u16::from_be_bytes([hello[3], hello[4]]) as usize;
        assert_eq!(hello.len(), 5 + record_len);
        let handshake_len = u16::from_be_bytes([hello[7], hello[8]]) as usize;
        assert_eq!((hello[5], hello[6], record_len), (1, 0, 4 + handshake_len));
    }

    #[test]
    fn tls_record_then_recognised_and_text_not() {
        assert!(is_tls_record(b"\x16\x03\x03\x00\x10"));
        assert!(!is_tls_record(b"HTTP/1.1 200 OK"));
        assert!(!is_tls_record(b"\x16"));
    }
}
