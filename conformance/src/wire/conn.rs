//! The connection: the socket, writes bounded by a deadline, reads that
//! say whether more bytes came, the peer closed, reset, or time ran out,
//! and the record of every byte received during a step.

use super::deadline::{is_retry, wait_slice};
use super::endpoint::{is_refusal, open, Endpoint, Plain};
use super::tls::{handshake, HandshakeError, Session};
use super::Transport;
use crate::limits::RECORD_LIMIT;
use rustls::ClientConnection;
use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// How many bytes one `read` call asks for.
const READ_CHUNK: usize = 16 * 1024;

/// How the server ended a connection, as far as the client saw it end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Close {
    /// A TCP close (FIN) on a plain connection.
    Fin,
    /// A TLS close_notify alert (RFC 8446 §6.1), then the TCP close.
    CloseNotify,
    /// A TCP close on a TLS connection without a close_notify first: the
    /// data cannot be told from a truncation (RFC 8446 §6.1).
    NoCloseNotify,
    /// A fatal TLS alert, by its name.
    Alert(String),
}

impl Close {
    /// A lowercase name for reports.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Close::Fin => "fin",
            Close::CloseNotify => "close_notify",
            Close::NoCloseNotify => "fin without close_notify",
            Close::Alert(name) => name,
        }
    }
}

/// A TLS connection: the rustls state and its socket.
pub(super) struct TlsStream {
    pub(super) tls: ClientConnection,
    pub(super) sock: TcpStream,
}

/// What a connection runs over.
pub(super) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    Tls(Box<TlsStream>),
}

/// Opens a connection to `endpoint` over `transport` (with its handshake)
/// by `timeout`; every wait gives way when `halted` says the run stopped.
pub(super) fn connect<'h>(
    endpoint: &Endpoint,
    transport: &Transport,
    timeout: Duration,
    halted: &'h dyn Fn() -> bool,
) -> Result<Conn<'h>, ConnectError> {
    let started = Instant::now();
    let sock = open(endpoint, started + timeout, halted).map_err(|e| {
        let why = format!("cannot connect to {endpoint}: {e}");
        if is_refusal(e.kind()) {
            ConnectError::Refused(why)
        } else {
            ConnectError::Connect(why)
        }
    })?;
    let sock = match sock {
        Plain::Unix(sock) => match transport {
            Transport::Tcp => return Ok(Conn::new(Stream::Unix(sock), halted)),
            Transport::Tls(_) => {
                return Err(ConnectError::Connect(format!(
                    "cannot connect to {endpoint}: TLS over a Unix-domain socket is not supported"
                )))
            }
        },
        Plain::Tcp(sock) => sock,
    };
    // Fragmented writes must leave as separate segments, or a pause between
    // steps would test nothing.
    let _ = sock.set_nodelay(true);
    let stream = match transport {
        Transport::Tcp => Stream::Tcp(sock),
        Transport::Tls(client) => {
            let mut sock = sock;
            let (tls, session) = handshake(
                client,
                &mut sock,
                started + timeout,
                timeout.as_millis(),
                halted,
            )
            .map_err(ConnectError::Handshake)?;
            let mut conn = Conn::new(Stream::Tls(Box::new(TlsStream { tls, sock })), halted);
            conn.session = Some(session);
            return Ok(conn);
        }
    };
    Ok(Conn::new(stream, halted))
}

/// Why a connection could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// Nothing accepted the connection: it was refused (or reset on the
    /// way in), or no socket is at the Unix path.
    Refused(String),
    /// The connection failed otherwise (a timeout, no route).
    Connect(String),
    /// The TLS handshake failed.
    Handshake(HandshakeError),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Refused(why) | ConnectError::Connect(why) => f.write_str(why),
            ConnectError::Handshake(e) => e.fmt(f),
        }
    }
}

/// One connection with its unread bytes and the record of what was read.
pub(super) struct Conn<'h> {
    stream: Stream,
    /// Whether the run stopped: every wait on the socket gives way to it.
    halted: &'h dyn Fn() -> bool,
    /// The handshake's result, on TLS.
    pub(super) session: Option<Session>,
    /// How the server ended the connection, once it did.
    pub(super) close: Option<Close>,
    /// Received bytes not consumed yet start at `start`.
    buf: Vec<u8>,
    start: usize,
    /// Raw bytes read during the current step, up to [`RECORD_LIMIT`](crate::limits::RECORD_LIMIT); on
    /// TLS, the decrypted bytes.
    pub(super) record: Vec<u8>,
    pub(super) record_total: u64,
}

/// The result of asking the socket for more bytes.
pub(super) enum Fill {
    Data,
    Eof,
    Reset,
    Deadline,
    Failed(String),
}

impl<'h> Conn<'h> {
    fn new(stream: Stream, halted: &'h dyn Fn() -> bool) -> Self {
        Conn {
            stream,
            halted,
            session: None,
            close: None,
            buf: Vec::new(),
            start: 0,
            record: Vec::new(),
            record_total: 0,
        }
    }

    pub(super) fn available(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    pub(super) fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start >= READ_CHUNK {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    /// Writes as much of `bytes` as the peer takes before `deadline`; on
    /// TLS the bytes leave as their own records, flushed before this
    /// returns, so a pause after them holds. A write error is recorded, not
    /// returned: the server may have answered and closed early (EPIPE,
    /// ECONNRESET), and its answer is still worth reading.
    pub(super) fn write_all_by(
        &mut self,
        bytes: &[u8],
        deadline: Instant,
    ) -> (usize, Option<String>) {
        let halted = self.halted;
        match &mut self.stream {
            Stream::Tcp(sock) => write_plain_by(sock, bytes, deadline, halted),
            Stream::Unix(sock) => write_plain_by(sock, bytes, deadline, halted),
            Stream::Tls(tls) => write_tls_by(tls, bytes, deadline, halted),
        }
    }

    /// Reads at least one more byte, or says why not, by `deadline`.
    pub(super) fn fill(&mut self, deadline: Instant) -> Fill {
        let mut chunk = [0u8; READ_CHUNK];
        let halted = self.halted;
        let read = match &mut self.stream {
            Stream::Tcp(sock) => read_plain_by(sock, &mut chunk, deadline, halted),
            Stream::Unix(sock) => read_plain_by(sock, &mut chunk, deadline, halted),
            Stream::Tls(tls) => read_tls_by(tls, &mut chunk, deadline, halted),
        };
        match read {
            Got::Data(n) => {
                let got = &chunk[..n];
                self.buf.extend_from_slice(got);
                let room = RECORD_LIMIT.saturating_sub(self.record.len());
                self.record.extend_from_slice(&got[..n.min(room)]);
                self.record_total += n as u64;
                Fill::Data
            }
            Got::Closed(close) => {
                self.close.get_or_insert(close);
                Fill::Eof
            }
            Got::Alert(close) => {
                self.close.get_or_insert(close);
                Fill::Reset
            }
            Got::Reset => Fill::Reset,
            Got::Deadline => Fill::Deadline,
            Got::Failed(e) => Fill::Failed(e),
        }
    }

    /// Ends the connection as a polite client does: close_notify first on
    /// TLS; on TCP the socket is closed when `self` is dropped.
    pub(super) fn finish(&mut self) {
        if let Stream::Tls(tls) = &mut self.stream {
            tls.tls.send_close_notify();
            let _ = tls.sock.set_write_timeout(Some(FINISH_WRITE));
            let _ = tls.tls.write_tls(&mut tls.sock);
            let _ = tls.sock.shutdown(Shutdown::Write);
        }
    }
}

/// How long the closing alert may take to leave.
const FINISH_WRITE: Duration = Duration::from_millis(100);

/// What one read got.
enum Got {
    Data(usize),
    Closed(Close),
    Alert(Close),
    Reset,
    Deadline,
    Failed(String),
}

fn is_reset(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
    )
}

/// A plain socket whose calls wait at most a set time.
trait Timed: Read + Write {
    fn read_wait(&self, wait: Duration) -> io::Result<()>;
    fn write_wait(&self, wait: Duration) -> io::Result<()>;
}

impl Timed for TcpStream {
    fn read_wait(&self, wait: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(wait))
    }
    fn write_wait(&self, wait: Duration) -> io::Result<()> {
        self.set_write_timeout(Some(wait))
    }
}

impl Timed for UnixStream {
    fn read_wait(&self, wait: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(wait))
    }
    fn write_wait(&self, wait: Duration) -> io::Result<()> {
        self.set_write_timeout(Some(wait))
    }
}

fn write_plain_by(
    sock: &mut impl Timed,
    bytes: &[u8],
    deadline: Instant,
    halted: &dyn Fn() -> bool,
) -> (usize, Option<String>) {
    let mut written = 0;
    while written < bytes.len() {
        let Some(left) = wait_slice(deadline, halted) else {
            return (written, Some("write timed out".to_string()));
        };
        if let Err(e) = sock.write_wait(left) {
            return (written, Some(e.to_string()));
        }
        match sock.write(&bytes[written..]) {
            Ok(0) => return (written, Some("peer accepted no more bytes".to_string())),
            Ok(n) => written += n,
            Err(e) if is_retry(e.kind()) => {}
            Err(e) => return (written, Some(e.to_string())),
        }
    }
    (written, None)
}

/// Hands `bytes` to rustls and writes every record it makes of them.
/// `written` counts the bytes whose records all left.
fn write_tls_by(
    tls: &mut TlsStream,
    bytes: &[u8],
    deadline: Instant,
    halted: &dyn Fn() -> bool,
) -> (usize, Option<String>) {
    let mut accepted = 0;
    let mut sent = 0;
    loop {
        if accepted < bytes.len() {
            match tls.tls.writer().write(&bytes[accepted..]) {
                Ok(0) if !tls.tls.wants_write() => {
                    return (sent, Some("TLS accepted no more bytes".to_string()))
                }
                Ok(n) => accepted += n,
                Err(e) => return (sent, Some(e.to_string())),
            }
        }
        while tls.tls.wants_write() {
            let Some(left) = wait_slice(deadline, halted) else {
                return (sent, Some("write timed out".to_string()));
            };
            if let Err(e) = tls.sock.set_write_timeout(Some(left)) {
                return (sent, Some(e.to_string()));
            }
            match tls.tls.write_tls(&mut tls.sock) {
                Ok(_) => {}
                Err(e) if is_retry(e.kind()) => {}
                Err(e) => return (sent, Some(e.to_string())),
            }
        }
        sent = accepted;
        if accepted == bytes.len() {
            return (accepted, None);
        }
    }
}

fn read_plain_by(
    sock: &mut impl Timed,
    chunk: &mut [u8],
    deadline: Instant,
    halted: &dyn Fn() -> bool,
) -> Got {
    loop {
        let Some(left) = wait_slice(deadline, halted) else {
            return Got::Deadline;
        };
        if let Err(e) = sock.read_wait(left) {
            return Got::Failed(e.to_string());
        }
        match sock.read(chunk) {
            Ok(0) => return Got::Closed(Close::Fin),
            Ok(n) => return Got::Data(n),
            Err(e) if is_retry(e.kind()) => {}
            Err(e) if is_reset(e.kind()) => return Got::Reset,
            Err(e) => return Got::Failed(e.to_string()),
        }
    }
}

/// Reads decrypted bytes, reading and decrypting records as needed.
fn read_tls_by(
    tls: &mut TlsStream,
    chunk: &mut [u8],
    deadline: Instant,
    halted: &dyn Fn() -> bool,
) -> Got {
    loop {
        match tls.tls.reader().read(chunk) {
            // RFC 8446 §6.1: close_notify, then nothing more.
            Ok(0) => return Got::Closed(Close::CloseNotify),
            Ok(n) => return Got::Data(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                return Got::Closed(Close::NoCloseNotify)
            }
            Err(e) => return Got::Failed(format!("TLS: {e}")),
        }
        let Some(left) = wait_slice(deadline, halted) else {
            return Got::Deadline;
        };
        if let Err(e) = tls.sock.set_read_timeout(Some(left)) {
            return Got::Failed(e.to_string());
        }
        match tls.tls.read_tls(&mut tls.sock) {
            // rustls notes the end; the reader above says how it ended.
            Ok(0) => continue,
            Ok(_) => {}
            Err(e) if is_retry(e.kind()) => continue,
            Err(e) if is_reset(e.kind()) => return Got::Reset,
            Err(e) => return Got::Failed(e.to_string()),
        }
        if let Err(e) = tls.tls.process_new_packets() {
            let _ = tls.tls.write_tls(&mut tls.sock);
            return match e {
                rustls::Error::AlertReceived(alert) => {
                    Got::Alert(Close::Alert(format!("{alert:?} alert")))
                }
                other => Got::Failed(format!("TLS: {other}")),
            };
        }
        // A post-handshake message may want an answer (a KeyUpdate).
        if tls.tls.wants_write() {
            let _ = tls.tls.write_tls(&mut tls.sock);
        }
    }
}
