//! A server: binding, running one of the two variants' accept loops
//! (`single`, `threaded`), and shutdown.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs,
};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use socket2::{Domain, Socket, Type};

use crate::connection::{configure_listener, Context};
use crate::handler::Handler;
use crate::limits::{
    default_max_connections, ACCEPT_BACKOFF, LISTEN_BACKLOG, MIN_SEND_RATE, READ_TIMEOUT,
    SEND_RATE_WINDOW, WAKE_TIMEOUT,
};
use crate::respond::canonical_root;

mod accept;
mod single;
mod threaded;

use accept::{next_connection, Accepted};
use threaded::{PollSet, Turn};

/// How connections are accepted and scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One thread, one connection at a time, one response per connection.
    Single,
    /// Persistent connections and a connection cap, served by a pool of
    /// worker threads of which one at a time leads: it waits on an epoll
    /// poll set holding the listener and every connection waiting for its
    /// next request, and serves what is ready (see [`Server::run`]).
    Threaded,
}

impl Mode {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::Threaded => "threaded",
        }
    }
}

/// What a server serves and how patient it is.
#[derive(Debug, Clone)]
pub struct Config {
    /// The document root.
    pub root: PathBuf,
    /// Time a client has to send a complete request head (408 past it).
    pub read_timeout: Duration,
    /// Most concurrent connections in threaded mode (503 past it); by
    /// default the open-file limit less a reserve
    /// ([`connection_cap`](crate::limits::connection_cap)).
    pub max_connections: usize,
    /// Least octets per second a response must make progress at, averaged
    /// over each `send_rate_window`; slower, it is abandoned.
    pub min_send_rate: u64,
    /// The window `min_send_rate` is averaged over.
    pub send_rate_window: Duration,
    /// No access log on stderr.
    pub quiet: bool,
    /// For tests of the panic handling only: a request for exactly this
    /// request-target makes the handler panic.
    #[doc(hidden)]
    pub panic_on_target: Option<String>,
}

impl Config {
    /// Serves `root` with the default limits, logging each request.
    pub fn new(root: impl Into<PathBuf>) -> Config {
        Config {
            root: root.into(),
            read_timeout: READ_TIMEOUT,
            max_connections: default_max_connections(),
            min_send_rate: MIN_SEND_RATE,
            send_rate_window: SEND_RATE_WINDOW,
            quiet: false,
            panic_on_target: None,
        }
    }
}

/// Why a server could not start.
#[derive(Debug)]
pub enum StartError {
    /// The root is missing or not a directory.
    Root(PathBuf, io::Error),
    /// The address could not be bound.
    Bind(String, io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Root(path, e) => write!(f, "cannot serve {}: {e}", path.display()),
            StartError::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    ctx: Context,
    max_connections: usize,
    shared: Arc<Shared>,
}

/// Stops a running server: the accept loop ends, connections finish the
/// response in flight and close, and `run` returns.
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

/// State the accept loop, the workers and the shutdown handle share.
struct Shared {
    addr: SocketAddr,
    stopping: AtomicBool,
    next_id: AtomicU64,
    /// Open connections, so shutdown can end their reads: the sockets the
    /// workers serve, shared rather than duplicated (a `dup` and a `close`
    /// per connection saved).
    open: Mutex<HashMap<u64, Arc<TcpStream>>>,
    /// How many connections `open` holds, read without its lock for the cap.
    open_count: AtomicUsize,
    /// Signalled when the last open connection closes.
    closed: Condvar,
    /// Which worker leads next (threaded variant).
    turn: Mutex<Turn>,
    /// Signalled when the turn is free, and on shutdown.
    turn_passed: Condvar,
}

impl Server {
    /// Checks the root and binds `addr` (port 0 picks a free port).
    pub fn bind(
        addr: impl ToSocketAddrs + fmt::Display,
        config: Config,
    ) -> Result<Server, StartError> {
        let panic_on_target = config.panic_on_target;
        let handler = canonical_root(&config.root)
            .and_then(|root| Handler::new(root, panic_on_target))
            .map_err(|e| StartError::Root(config.root.clone(), e))?;
        let listener = listen(&addr).map_err(|e| StartError::Bind(addr.to_string(), e))?;
        let ctx = Context {
            handler,
            read_timeout: config.read_timeout,
            min_send_rate: config.min_send_rate,
            send_rate_window: config.send_rate_window.max(Duration::from_millis(1)),
            quiet: config.quiet,
            small_files: Default::default(),
        };
        let addr = configure_listener(&listener, &ctx)
            .and_then(|()| listener.local_addr())
            .map_err(|e| StartError::Bind(addr.to_string(), e))?;
        Ok(Server {
            listener,
            ctx,
            max_connections: config.max_connections.max(1),
            shared: Arc::new(Shared {
                addr,
                stopping: AtomicBool::new(false),
                next_id: AtomicU64::new(0),
                open: Mutex::new(HashMap::new()),
                open_count: AtomicUsize::new(0),
                closed: Condvar::new(),
                turn: Mutex::new(Turn::default()),
                turn_passed: Condvar::new(),
            }),
        })
    }

    /// The address the server listens on, with the real port.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// A handle that stops this server from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Accepts and serves connections until shut down; returns once every
    /// connection has closed.
    ///
    /// [`Mode::Single`]: this thread accepts a connection, serves its one
    /// request and closes it, then accepts the next.
    ///
    /// [`Mode::Threaded`]: this thread is the first of a pool of workers.
    /// One worker at a time leads: it waits on an epoll poll set that holds
    /// the listener and every connection waiting for its next request,
    /// accepts what is pending and serves each ready connection in turn,
    /// as far as it can without blocking and for at most a budget of
    /// requests, then puts it back in the set. Before a read or write that
    /// would block, it hands the lead to another worker (a waiting one, or
    /// a new one while there are fewer than the connection cap plus one),
    /// serves that connection alone until it has answered what it was
    /// sent, gives it back to the set, and waits for the lead again. Past
    /// the cap, a connection is answered 503 and closed.
    pub fn run(self, mode: Mode) {
        let poll = match mode {
            Mode::Single => None,
            Mode::Threaded => match threaded::poll_set(&self.listener) {
                Ok(poll) => Some(poll),
                Err(e) => {
                    eprintln!("http-server: cannot poll the listener: {e}");
                    return;
                }
            },
        };
        let workers = Arc::new(Workers {
            listener: self.listener,
            ctx: self.ctx,
            max_connections: self.max_connections,
            shared: self.shared,
            poll,
            alive: AtomicUsize::new(1),
            spawned: Mutex::new(Vec::new()),
        });
        // This thread is the first worker; in the single variant the only one.
        match mode {
            Mode::Single => workers.serve_one_at_a_time(),
            Mode::Threaded => {
                workers.shared.turn_lock().set = Some(Box::default());
                Arc::clone(&workers).work();
            }
        }
        loop {
            let next = workers.spawned_lock().pop();
            match next {
                Some(handle) => {
                    let _ = handle.join();
                }
                None => break,
            }
        }
        workers.shared.wait_until_all_closed();
    }
}

/// The threads that accept and serve connections, and what they share:
/// one thread in the single variant (`single`), a pool that takes turns
/// in the threaded one (`threaded`).
struct Workers {
    listener: TcpListener,
    ctx: Context,
    max_connections: usize,
    shared: Arc<Shared>,
    /// The threaded variant's poll set.
    poll: Option<PollSet>,
    /// Workers not yet ended.
    alive: AtomicUsize,
    /// The spawned workers, for `run` to join.
    spawned: Mutex<Vec<thread::JoinHandle<()>>>,
}

impl Workers {
    /// The next connection, if one is pending, or a pause after a failure
    /// (see [`next_connection`]).
    fn accept(&self) -> Accepted {
        next_connection(
            || self.listener.accept().map(|(stream, _)| stream),
            &self.shared.stopping,
            || thread::sleep(ACCEPT_BACKOFF),
        )
    }

    /// Runs `serve`, which serves a connection. A panic is a bug, but one
    /// connection's bug must not stop the server: the connection closes
    /// (`None`) and the worker goes on.
    fn guarded<T>(&self, serve: impl FnOnce() -> T) -> Option<T> {
        let served = panic::catch_unwind(AssertUnwindSafe(serve));
        if served.is_err() {
            eprintln!("http-server: a connection handler panicked; its connection was closed");
        }
        served.ok()
    }

    fn spawned_lock(&self) -> MutexGuard<'_, Vec<thread::JoinHandle<()>>> {
        self.spawned.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<TcpStream>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn open_count(&self) -> usize {
        self.open_count.load(Ordering::SeqCst)
    }

    fn register(&self, stream: &Arc<TcpStream>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut open = self.lock();
        open.insert(id, Arc::clone(stream));
        self.open_count.store(open.len(), Ordering::SeqCst);
        id
    }

    /// Forgets a connection. Once the server is stopping, the last one to
    /// close wakes `run`'s wait (which starts only then: a signal each time
    /// the server goes idle would cost a system call).
    fn unregister(&self, id: u64) {
        let mut open = self.lock();
        open.remove(&id);
        self.open_count.store(open.len(), Ordering::SeqCst);
        if open.is_empty() && self.stopping.load(Ordering::SeqCst) {
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

impl ShutdownHandle {
    /// Stops the server. Returns at once; `run` returns when the last
    /// connection has closed.
    pub fn shutdown(&self) {
        let shared = &self.shared;
        if shared.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        // Ends every blocked read: a worker finishes what it is writing,
        // then sees end-of-stream and closes.
        for stream in shared.lock().values() {
            let _ = stream.shutdown(Shutdown::Read);
        }
        // Ends the workers' wait for the turn, and the wait of the one
        // blocked in `accept` (single) or on the poll set (threaded): each
        // sees `stopping` and ends.
        drop(shared.turn_lock());
        shared.turn_passed.notify_all();
        shared.wake();
    }
}

impl Shared {
    /// Connects to the listener once, to end a blocked `accept` or the
    /// leader's wait on the poll set.
    fn wake(&self) {
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        let _ = TcpStream::connect_timeout(&wake, WAKE_TIMEOUT);
    }
}

/// Binds the first of `addr`'s addresses that can be bound, as
/// `TcpListener::bind` does, but with a backlog of [`LISTEN_BACKLOG`]
/// rather than the standard library's 128: thousands of clients that
/// connect at once wait there to be accepted, where past the backlog the
/// kernel drops their handshakes and they retry a second or more later.
fn listen(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
    let mut last = io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any addresses",
    );
    for addr in addr.to_socket_addrs()? {
        let bound = (|| {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
            socket.set_reuse_address(true)?;
            socket.bind(&addr.into())?;
            socket.listen(LISTEN_BACKLOG)?;
            Ok(TcpListener::from(socket))
        })();
        match bound {
            Ok(listener) => return Ok(listener),
            Err(e) => last = e,
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `serve` counts on an accepted socket having the options the listener
    /// was given (Linux copies them), and sets none itself there.
    #[test]
    fn accepted_sockets_inherit_the_listeners_options() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/root");
        let mut config = Config::new(root);
        config.read_timeout = Duration::from_millis(1500);
        config.send_rate_window = Duration::from_secs(3);
        let server = Server::bind("127.0.0.1:0", config).unwrap();
        let _client = TcpStream::connect(server.local_addr()).unwrap();
        let (accepted, _) = server.listener.accept().unwrap();
        assert_eq!(
            (
                accepted.nodelay().unwrap(),
                accepted.read_timeout().unwrap(),
                accepted.write_timeout().unwrap()
            ),
            (
                true,
                Some(Duration::from_millis(1500)),
                // One of the window's slots.
                Some(Duration::from_millis(300))
            )
        );
    }
}
