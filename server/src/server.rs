//! Binding, the two accept loops, and shutdown.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs,
};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use crate::connection::{configure_listener, serve, Context};
use crate::limits::{
    ACCEPT_BACKOFF, MAX_CONNECTIONS, MIN_SEND_RATE, OVERLOAD_WRITE_TIMEOUT, READ_TIMEOUT,
    SEND_RATE_WINDOW, WAKE_TIMEOUT,
};
use crate::response::{Problem, Response};

/// How connections are accepted and scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One thread, one connection at a time, one response per connection.
    Single,
    /// A thread per connection, persistent connections, a connection cap.
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
    /// Most concurrent connections in threaded mode (503 past it).
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
            max_connections: MAX_CONNECTIONS,
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
    /// Which worker accepts next (threaded variant).
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
        let root =
            canonical_root(&config.root).map_err(|e| StartError::Root(config.root.clone(), e))?;
        let listener =
            TcpListener::bind(&addr).map_err(|e| StartError::Bind(addr.to_string(), e))?;
        let ctx = Context {
            root,
            read_timeout: config.read_timeout,
            min_send_rate: config.min_send_rate,
            send_rate_window: config.send_rate_window.max(Duration::from_millis(1)),
            quiet: config.quiet,
            panic_on_target: config.panic_on_target,
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
    pub fn run(self, mode: Mode) {
        let workers = Arc::new(Workers {
            listener: self.listener,
            ctx: self.ctx,
            mode,
            max_connections: self.max_connections,
            shared: self.shared,
            alive: AtomicUsize::new(1),
            spawned: Mutex::new(Vec::new()),
        });
        // This thread is the first worker, with the turn to accept; in the
        // single variant it is the only one.
        workers.shared.turn_lock().taken = true;
        Arc::clone(&workers).work(true);
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

/// The threads that accept and serve connections, and what they share.
///
/// One worker at a time has the turn to accept: it blocks in `accept` on
/// the listener and serves the connection it takes itself, so no connection
/// is handed from thread to thread. It keeps the turn while it serves
/// without waiting on the client: a request that had arrived, a response
/// the socket buffer took, then the close, as most `Connection: close`
/// exchanges go; such a connection costs no other thread a wake-up. Before
/// its first wait on the client (a request not yet sent, a keep-alive
/// connection's next request, a large response), it passes the turn on, to
/// a worker waiting for it or to a new one (up to the cap, and one more to
/// answer 503 past it), and from then on serves that connection for its
/// lifetime. The single variant's one worker never passes it. The pool
/// grows to the peak number of concurrent connections that waited, and its
/// workers are kept and reused.
struct Workers {
    listener: TcpListener,
    ctx: Context,
    mode: Mode,
    max_connections: usize,
    shared: Arc<Shared>,
    /// Workers not yet ended.
    alive: AtomicUsize,
    /// The spawned workers, for `run` to join.
    spawned: Mutex<Vec<thread::JoinHandle<()>>>,
}

/// Which worker accepts next.
#[derive(Debug, Default)]
struct Turn {
    /// A worker has the turn (it is in `accept`, or serving without having
    /// waited yet).
    taken: bool,
    /// Workers waiting for the turn.
    waiting: usize,
}

impl Workers {
    /// Takes connections and serves them until shut down. `turn`: this
    /// worker starts with the turn to accept.
    fn work(self: Arc<Self>, mut turn: bool) {
        loop {
            if !turn && !self.shared.take_turn() {
                break;
            }
            let Some(stream) = self.accept() else {
                break;
            };
            turn = match self.mode {
                Mode::Single => {
                    self.serve(stream, false, None);
                    true
                }
                Mode::Threaded if self.shared.open_count() >= self.max_connections => {
                    refuse_overloaded(stream);
                    true
                }
                Mode::Threaded => {
                    let mut passed = false;
                    self.serve(
                        stream,
                        true,
                        Some(&mut || {
                            self.pass_turn();
                            passed = true;
                        }),
                    );
                    !passed
                }
            };
        }
        self.alive.fetch_sub(1, Ordering::SeqCst);
    }

    /// The next connection, or `None` once the server is stopping.
    fn accept(&self) -> Option<TcpStream> {
        next_connection(
            || self.listener.accept().map(|(stream, _)| stream),
            &self.shared.stopping,
            || thread::sleep(ACCEPT_BACKOFF),
        )
    }

    /// Gives up this worker's turn to accept: to a waiting worker, else to a
    /// new one. Past the cap's workers and the one more that refuses, none
    /// is spawned: the next worker to finish its connection takes the turn.
    fn pass_turn(self: &Arc<Self>) {
        let mut turn = self.shared.turn_lock();
        turn.taken = false;
        if turn.waiting > 0 {
            self.shared.turn_passed.notify_one();
            return;
        }
        let most = self.max_connections.saturating_add(1);
        let counted = self
            .alive
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < most).then_some(n + 1)
            });
        if counted.is_err() {
            return;
        }
        let worker = Arc::clone(self);
        match thread::Builder::new()
            .name("http-conn".into())
            .spawn(move || worker.work(true))
        {
            Ok(handle) => {
                turn.taken = true;
                self.spawned_lock().push(handle);
            }
            Err(_) => {
                self.alive.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// Serves one connection, registered so shutdown can end its reads.
    /// A panic is a bug, but one connection's bug must not stop the server:
    /// the connection closes and the worker goes on.
    fn serve(&self, stream: TcpStream, persistent: bool, hand_over: Option<&mut dyn FnMut()>) {
        let stream = Arc::new(stream);
        let id = self.shared.register(&stream);
        let served = panic::catch_unwind(AssertUnwindSafe(|| {
            serve(
                &stream,
                &self.ctx,
                persistent,
                &self.shared.stopping,
                hand_over,
            )
        }));
        if served.is_err() {
            eprintln!("http-server: a connection handler panicked; its connection was closed");
        }
        self.shared.unregister(id);
    }

    fn spawned_lock(&self) -> MutexGuard<'_, Vec<thread::JoinHandle<()>>> {
        self.spawned.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The next connection `accept` yields, pausing after each failure (out of
/// descriptors or memory: the cause persists for a while, and retrying at
/// once would spin), or `None` once `stopping` is set. Both variants take
/// every connection through this function.
fn next_connection(
    mut accept: impl FnMut() -> io::Result<TcpStream>,
    stopping: &AtomicBool,
    pause: impl Fn(),
) -> Option<TcpStream> {
    loop {
        if stopping.load(Ordering::SeqCst) {
            return None;
        }
        let accepted = accept();
        if stopping.load(Ordering::SeqCst) {
            return None;
        }
        match accepted {
            Ok(stream) => return Some(stream),
            Err(_) => pause(),
        }
    }
}

/// Answers a connection past the cap with 503 and closes it, without
/// blocking the worker on a client that does not read.
///
/// RFC 9110 §15.6.4: 503 "indicates that the server is currently unable to
/// handle the request due to a temporary overload".
fn refuse_overloaded(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(OVERLOAD_WRITE_TIMEOUT));
    let _ = stream.write_all(&Response::problem(Problem::Overloaded).to_bytes(false, true));
    let _ = stream.shutdown(Shutdown::Write);
    // Drain what already arrived so the close is a FIN, not a reset.
    if stream.set_nonblocking(true).is_ok() {
        let mut sink = [0u8; 4096];
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<TcpStream>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn turn_lock(&self) -> MutexGuard<'_, Turn> {
        self.turn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for the turn to accept and takes it; `false` once stopping.
    fn take_turn(&self) -> bool {
        let mut turn = self.turn_lock();
        loop {
            if self.stopping.load(Ordering::SeqCst) {
                return false;
            }
            if !turn.taken {
                turn.taken = true;
                return true;
            }
            turn.waiting += 1;
            turn = self
                .turn_passed
                .wait(turn)
                .unwrap_or_else(PoisonError::into_inner);
            turn.waiting -= 1;
        }
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

    /// Forgets a connection; the last one to close wakes `run`'s wait.
    fn unregister(&self, id: u64) {
        let mut open = self.lock();
        open.remove(&id);
        self.open_count.store(open.len(), Ordering::SeqCst);
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
        // Ends the workers' wait for the turn, and the one blocked in
        // `accept`: each sees `stopping` and ends.
        drop(shared.turn_lock());
        shared.turn_passed.notify_all();
        shared.wake();
    }
}

impl Shared {
    /// Connects to the listener once, to end one blocked `accept`.
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

fn canonical_root(root: &Path) -> io::Result<PathBuf> {
    let root = root.canonicalize()?;
    if root.is_dir() {
        Ok(root)
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            "not a directory",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Both variants take connections through `next_connection`: after a
    /// failed accept it pauses once, then tries again.
    #[test]
    fn accept_errors_pause_once_each_then_the_connection_is_taken() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let mut results = vec![
            Ok(()),
            Err(io::ErrorKind::ConnectionAborted),
            Err(io::ErrorKind::OutOfMemory),
        ];
        let stopping = AtomicBool::new(false);
        let pauses = Cell::new(0);
        let stream = next_connection(
            || match results.pop().unwrap() {
                Ok(()) => listener.accept().map(|(stream, _)| stream),
                Err(kind) => Err(io::Error::from(kind)),
            },
            &stopping,
            || pauses.set(pauses.get() + 1),
        );
        let stream = stream.expect("the connection after the errors");
        assert_eq!(stream.peer_addr().unwrap(), client.local_addr().unwrap());
        assert_eq!(pauses.get(), 2);
        assert!(results.is_empty());
    }

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

    #[test]
    fn stopping_takes_no_connection() {
        let stopping = AtomicBool::new(true);
        let taken = next_connection(|| panic!("accept was called"), &stopping, || {});
        assert!(taken.is_none());
    }

    /// A connection accepted while the server began stopping is not served.
    #[test]
    fn a_connection_accepted_during_shutdown_is_dropped() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let stopping = AtomicBool::new(false);
        let taken = next_connection(
            || {
                let accepted = listener.accept().map(|(stream, _)| stream);
                stopping.store(true, Ordering::SeqCst);
                accepted
            },
            &stopping,
            || {},
        );
        assert!(taken.is_none());
    }
}
