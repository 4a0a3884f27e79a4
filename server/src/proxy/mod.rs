//! The reference proxy: a gateway (reverse proxy, RFC 9110 §3.7) in front
//! of one origin, `http-server --mode proxy --upstream HOST:PORT`. It keeps
//! the chain cases of the conformance suite honest the way the reference
//! server keeps the single-server cases honest.
//!
//! ## Design
//!
//! - **A thread per client connection**, up to the connection cap (503
//!   past it). Requests on a connection are read and answered one at a
//!   time, so pipelined requests are answered in the order received.
//! - **A new upstream connection per request**, closed once the response
//!   has been relayed (the forwarded request says `Connection: close`).
//!   No upstream connection is ever reused, so bytes an origin sends after
//!   a response can never be read as the answer to another request: they
//!   are dropped with the connection. Nothing is retried: a request is
//!   sent once, and an origin that fails is answered 502 (504 when it is
//!   too slow), then the client connection closes.
//! - **Both directions are parsed strictly** by the server's own parser
//!   ([`crate::parse`]): a request the server would refuse is refused the
//!   same way (400 for CL+TE, obs-fold, a bare CR, CR/LF/NUL in a value, an
//!   invalid Content-Length, ...) and never forwarded; a response that
//!   would be refused as a request (obs-fold, whitespace before a colon,
//!   CR/LF/NUL in a value, invalid or conflicting Content-Length, a
//!   transfer coding other than chunked) is discarded and answered 502.
//! - **Every message is re-framed**: the proxy reads the body by the
//!   received framing and sends it with its own (`Content-Length` when the
//!   length is known, else chunked to an HTTP/1.1 client and close-delimited
//!   to an HTTP/1.0 one); chunk extensions and trailer fields are dropped,
//!   `Transfer-Encoding` and `Content-Length` are never sent together.
//! - **Heads are rebuilt, fields kept in order**: the request-line and the
//!   status-line carry the proxy's own `HTTP/1.1`; the hop-by-hop fields
//!   (those the Connection field lists, and Connection, Proxy-Connection,
//!   Keep-Alive, TE, Transfer-Encoding, Upgrade) are removed; `Via` is
//!   appended in both directions; everything else is forwarded as
//!   received. Response heads go through the server's one head writer
//!   ([`crate::response::Response::head`]), which adds `Date` when the
//!   origin sent none.
//!
//! - `exchange`: one client connection, request after request.
//! - `forward`: the request head sent to the origin, and what the proxy
//!   answers itself (Max-Forwards 0, a loop).
//! - `relay`: the origin's response heads, checked and rebuilt.
//! - `fields`: the hop-by-hop fields and `Via`, both directions.
//! - `body`: a body read by its framing and sent on with the proxy's own.
//! - `wire`: a socket and what has been read from it.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use crate::limits::{
    ACCEPT_BACKOFF, OVERLOAD_WRITE_TIMEOUT, PROXY_MAX_CONNECTIONS, READ_TIMEOUT, UPSTREAM_TIMEOUT,
    WAKE_TIMEOUT,
};
use crate::problem::Problem;
use crate::response::Response;

mod body;
mod exchange;
mod fields;
mod forward;
mod relay;
mod wire;

/// What a proxy forwards to and how patient it is.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The origin, `HOST:PORT`, resolved once when the proxy starts.
    pub upstream: String,
    /// Time a client has to send a complete request head (408 past it),
    /// and each read of its content or write to it may take.
    pub read_timeout: Duration,
    /// Time connecting to the origin, and each read from it or write to
    /// it, may take (504 past it, when nothing has been relayed yet).
    pub upstream_timeout: Duration,
    /// Most concurrent client connections (503 past it).
    pub max_connections: usize,
    /// No access log on stderr.
    pub quiet: bool,
}

impl ProxyConfig {
    /// Forwards to `upstream` with the default limits, logging each request.
    pub fn new(upstream: impl Into<String>) -> ProxyConfig {
        ProxyConfig {
            upstream: upstream.into(),
            read_timeout: READ_TIMEOUT,
            upstream_timeout: UPSTREAM_TIMEOUT,
            max_connections: PROXY_MAX_CONNECTIONS,
            quiet: false,
        }
    }
}

/// Why a proxy could not start.
#[derive(Debug)]
pub enum ProxyStartError {
    /// The address could not be bound.
    Bind(String, io::Error),
    /// The upstream does not resolve to an address.
    Upstream(String, io::Error),
    /// The upstream is the proxy's own address: it would forward to itself.
    Loop(String),
}

impl fmt::Display for ProxyStartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyStartError::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
            ProxyStartError::Upstream(addr, e) => write!(f, "cannot resolve upstream {addr}: {e}"),
            ProxyStartError::Loop(addr) => {
                write!(f, "upstream {addr} is this proxy's own address")
            }
        }
    }
}

impl std::error::Error for ProxyStartError {}

/// What every client connection needs to know about the proxy.
#[derive(Debug)]
struct Settings {
    /// The origin's addresses, tried in turn.
    upstream: Vec<SocketAddr>,
    /// The origin as configured, the `Host` of a request that has none.
    upstream_name: String,
    /// This proxy in `Via`: `http-server:` and its port (RFC 9110 §7.6.3:
    /// `received-by = pseudonym [ ":" port ]`), which is also how it
    /// recognises a request that has already passed through it.
    received_by: String,
    read_timeout: Duration,
    upstream_timeout: Duration,
    quiet: bool,
}

/// A bound proxy, ready to run.
pub struct Proxy {
    listener: TcpListener,
    settings: Arc<Settings>,
    max_connections: usize,
    shared: Arc<Shared>,
}

/// Stops a running proxy: no new connection is accepted, each open one
/// ends after the exchange in flight, and `run` returns.
#[derive(Clone)]
pub struct ProxyShutdown {
    shared: Arc<Shared>,
}

struct Shared {
    addr: SocketAddr,
    stopping: AtomicBool,
    next_id: AtomicU64,
    /// Open client connections, so shutdown can end their reads.
    open: Mutex<HashMap<u64, Arc<TcpStream>>>,
    /// Signalled when the last open connection closes.
    closed: Condvar,
}

impl Proxy {
    /// Resolves the upstream and binds `addr` (port 0 picks a free port).
    pub fn bind(
        addr: impl ToSocketAddrs + fmt::Display,
        config: ProxyConfig,
    ) -> Result<Proxy, ProxyStartError> {
        let upstream: Vec<SocketAddr> = config
            .upstream
            .to_socket_addrs()
            .map_err(|e| ProxyStartError::Upstream(config.upstream.clone(), e))?
            .collect();
        if upstream.is_empty() {
            let none = io::Error::new(io::ErrorKind::NotFound, "no address");
            return Err(ProxyStartError::Upstream(config.upstream, none));
        }
        let listener =
            TcpListener::bind(&addr).map_err(|e| ProxyStartError::Bind(addr.to_string(), e))?;
        let local = listener
            .local_addr()
            .map_err(|e| ProxyStartError::Bind(addr.to_string(), e))?;
        // RFC 9110 §7.6: "An intermediary MUST NOT forward a message to
        // itself unless it is protected from an infinite request loop."
        // The Via check guards every request; this refuses the plain case.
        if upstream.iter().any(|u| is_self(*u, local)) {
            return Err(ProxyStartError::Loop(config.upstream));
        }
        let settings = Settings {
            upstream,
            upstream_name: config.upstream,
            received_by: format!("http-server:{}", local.port()),
            read_timeout: config.read_timeout,
            upstream_timeout: config.upstream_timeout,
            quiet: config.quiet,
        };
        Ok(Proxy {
            listener,
            settings: Arc::new(settings),
            max_connections: config.max_connections.max(1),
            shared: Arc::new(Shared {
                addr: local,
                stopping: AtomicBool::new(false),
                next_id: AtomicU64::new(0),
                open: Mutex::new(HashMap::new()),
                closed: Condvar::new(),
            }),
        })
    }

    /// The address the proxy listens on, with the real port.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// A handle that stops this proxy from another thread.
    pub fn shutdown_handle(&self) -> ProxyShutdown {
        ProxyShutdown {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Accepts connections until shut down, each served on its own thread;
    /// returns once every connection has closed.
    pub fn run(self) {
        while !self.shared.stopping.load(Ordering::SeqCst) {
            let stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    // Out of descriptors or memory: the cause persists for
                    // a while, and retrying at once would spin.
                    thread::sleep(ACCEPT_BACKOFF);
                    continue;
                }
            };
            if self.shared.stopping.load(Ordering::SeqCst) {
                break;
            }
            if self.shared.lock().len() >= self.max_connections {
                refuse_overloaded(stream);
                continue;
            }
            let stream = Arc::new(stream);
            let id = self.shared.register(&stream);
            let shared = Arc::clone(&self.shared);
            let settings = Arc::clone(&self.settings);
            let spawned = thread::Builder::new()
                .name("proxy-connection".into())
                .spawn(move || {
                    let _open = Registered {
                        shared: &shared,
                        id,
                    };
                    exchange::serve(&stream, &settings, &shared.stopping);
                });
            if spawned.is_err() {
                self.shared.unregister(id);
            }
        }
        self.shared.wait_until_all_closed();
    }
}

/// Whether `upstream` is the proxy's own listening address.
fn is_self(upstream: SocketAddr, local: SocketAddr) -> bool {
    if upstream.port() != local.port() {
        return false;
    }
    upstream.ip() == local.ip()
        || (local.ip().is_unspecified()
            && (upstream.ip().is_loopback() || upstream.ip().is_unspecified()))
}

/// Answers a connection past the cap with 503 and closes it, without
/// waiting long on a client that does not read.
fn refuse_overloaded(stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(OVERLOAD_WRITE_TIMEOUT));
    let bytes = Response::problem(Problem::Overloaded).to_bytes(false, true);
    let _ = io::Write::write_all(&mut &stream, &bytes);
    let _ = stream.shutdown(Shutdown::Both);
}

/// Forgets its connection when the thread that served it ends, even by a
/// panic.
struct Registered<'s> {
    shared: &'s Shared,
    id: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.shared.unregister(self.id);
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<TcpStream>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn register(&self, stream: &Arc<TcpStream>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, Arc::clone(stream));
        id
    }

    fn unregister(&self, id: u64) {
        let mut open = self.lock();
        open.remove(&id);
        if open.is_empty() {
            self.closed.notify_all();
        }
    }

    fn wait_until_all_closed(&self) {
        let mut open = self.lock();
        while !open.is_empty() {
            open = self
                .closed
                .wait(open)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl ProxyShutdown {
    /// Stops the proxy. Returns at once; `run` returns when the last
    /// connection has closed.
    pub fn shutdown(&self) {
        let shared = &self.shared;
        if shared.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        // Ends every blocked read of a client: its thread finishes the
        // exchange in flight, then sees end-of-stream and closes.
        for stream in shared.lock().values() {
            let _ = stream.shutdown(Shutdown::Read);
        }
        // Ends the blocked `accept`.
        let mut wake = shared.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        let _ = TcpStream::connect_timeout(&wake, WAKE_TIMEOUT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upstream_may_not_be_the_proxy_itself() {
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        for (upstream, local, is) in [
            ("127.0.0.1:8080", local, true),
            ("127.0.0.1:8081", local, false),
            ("127.0.0.2:8080", local, false),
            ("127.0.0.1:8080", any, true),
            ("127.0.0.2:8080", any, true),
            ("10.0.0.1:8080", any, false),
        ] {
            let upstream: SocketAddr = upstream.parse().unwrap();
            assert_eq!(is_self(upstream, local), is, "{upstream} {local}");
        }
    }

    #[test]
    fn binding_onto_the_upstream_is_refused() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        drop(taken);
        let config = ProxyConfig::new(format!("127.0.0.1:{port}"));
        match Proxy::bind(format!("127.0.0.1:{port}"), config) {
            Err(ProxyStartError::Loop(addr)) => assert_eq!(addr, format!("127.0.0.1:{port}")),
            Err(e) => panic!("another error: {e}"),
            Ok(_) => panic!("bound onto its own upstream"),
        }
    }
}
