//! Where a connection goes, a TCP address or a Unix-domain socket, and
//! whether anything still listens there.

use super::deadline::time_left;
use std::fmt;
use std::io::{self, ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where a connection goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// A TCP address (`HOST:PORT`, `http://`, `https://`).
    Tcp(SocketAddr),
    /// A Unix-domain stream socket, by its path (`unix:/path/to.sock`).
    Unix(PathBuf),
}

impl From<SocketAddr> for Endpoint {
    fn from(addr: SocketAddr) -> Self {
        Endpoint::Tcp(addr)
    }
}

impl From<&Endpoint> for Endpoint {
    fn from(endpoint: &Endpoint) -> Self {
        endpoint.clone()
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(addr) => addr.fmt(f),
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

impl Endpoint {
    /// The TCP port, for a TCP endpoint.
    pub fn port(&self) -> Option<u16> {
        match self {
            Endpoint::Tcp(addr) => Some(addr.port()),
            Endpoint::Unix(_) => None,
        }
    }
}

/// The longest a connect attempt blocks before the caller looks at its
/// stop flag again; an attempt cut short is made again until the deadline.
pub(super) const CONNECT_SLICE: Duration = Duration::from_millis(250);

/// A plain stream to an endpoint.
pub(super) enum Plain {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// Opens a plain stream to `endpoint` by `deadline`, giving up early when
/// `halted` says so (as a timeout). A TCP attempt that has not succeeded
/// within [`CONNECT_SLICE`] is made again, so a stop is noticed while a
/// target drops SYNs; a Unix-domain connect does not wait.
pub(super) fn open(
    endpoint: &Endpoint,
    deadline: Instant,
    halted: &dyn Fn() -> bool,
) -> io::Result<Plain> {
    match endpoint {
        Endpoint::Unix(path) => UnixStream::connect(path).map(Plain::Unix),
        Endpoint::Tcp(addr) => loop {
            let left = match time_left(deadline) {
                Some(left) if !halted() => left,
                _ => return Err(io::Error::new(ErrorKind::TimedOut, "connect timed out")),
            };
            match TcpStream::connect_timeout(addr, left.min(CONNECT_SLICE)) {
                Err(e) if e.kind() == ErrorKind::TimedOut && left > CONNECT_SLICE => {}
                other => return other.map(Plain::Tcp),
            }
        },
    }
}

/// Whether a connect error says nothing listens at the endpoint: refused,
/// reset or aborted on the way in, or no socket at a Unix path.
pub(super) fn is_refusal(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::NotFound
    )
}

/// How long the second look waits after a first refusal, so that one
/// refused connect (a listener being replaced) is not taken for a target
/// that went away.
const SECOND_LOOK: Duration = Duration::from_millis(100);

/// Whether nothing listens at `endpoint` any more: a fresh connect is
/// refused, and refused again a moment later. A connect that succeeds or
/// times out says the target may still be there.
pub fn refuses_twice(endpoint: &Endpoint, timeout: Duration) -> bool {
    let refused = || {
        let never = || false;
        match open(
            endpoint,
            Instant::now() + timeout.min(Duration::from_secs(1)),
            &never,
        ) {
            Ok(_) => false,
            Err(e) => is_refusal(e.kind()),
        }
    };
    refused() && {
        std::thread::sleep(SECOND_LOOK);
        refused()
    }
}

/// Whether something accepts a connection at `endpoint` now; the error of
/// the connect when not.
pub fn listens(endpoint: &Endpoint, timeout: Duration) -> Result<(), io::Error> {
    open_idle(endpoint, timeout).map(|_| ())
}

/// A connection opened and left idle: nothing is written to it.
pub struct Idle(Plain);

/// Opens a connection to `endpoint` by `timeout` and leaves it idle.
pub fn open_idle(endpoint: &Endpoint, timeout: Duration) -> Result<Idle, io::Error> {
    let never = || false;
    open(endpoint, Instant::now() + timeout, &never).map(Idle)
}

impl Idle {
    /// Whether the peer has neither closed the connection nor written to it.
    pub fn still_open(&self) -> bool {
        let mut byte = [0u8; 1];
        let read = match &self.0 {
            Plain::Tcp(sock) => sock
                .set_nonblocking(true)
                .and_then(|()| (&mut &*sock).read(&mut byte)),
            Plain::Unix(sock) => sock
                .set_nonblocking(true)
                .and_then(|()| (&mut &*sock).read(&mut byte)),
        };
        matches!(read, Err(e) if e.kind() == ErrorKind::WouldBlock)
    }
}
