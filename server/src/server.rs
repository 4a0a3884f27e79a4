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
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use crate::connection::{serve, Context};
use crate::limits::{
    ACCEPT_BACKOFF, MAX_CONNECTIONS, OVERLOAD_WRITE_TIMEOUT, READ_TIMEOUT, WAKE_TIMEOUT,
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
    /// No access log on stderr.
    pub quiet: bool,
}

impl Config {
    /// Serves `root` with the default limits, logging each request.
    pub fn new(root: impl Into<PathBuf>) -> Config {
        Config {
            root: root.into(),
            read_timeout: READ_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            quiet: false,
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
    /// Open connections, so shutdown can end their reads.
    open: Mutex<HashMap<u64, TcpStream>>,
    /// Signalled when a connection closes.
    closed: Condvar,
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
        let addr = listener
            .local_addr()
            .map_err(|e| StartError::Bind(addr.to_string(), e))?;
        Ok(Server {
            listener,
            ctx: Context {
                root,
                read_timeout: config.read_timeout,
                quiet: config.quiet,
                small_files: Default::default(),
            },
            max_connections: config.max_connections.max(1),
            shared: Arc::new(Shared {
                addr,
                stopping: AtomicBool::new(false),
                next_id: AtomicU64::new(0),
                open: Mutex::new(HashMap::new()),
                closed: Condvar::new(),
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
        match mode {
            Mode::Single => self.run_single(),
            Mode::Threaded => self.run_threaded(),
        }
    }

    fn run_single(self) {
        for stream in self.listener.incoming() {
            if self.shared.stopping.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let Some(id) = self.shared.register(&stream) else {
                continue;
            };
            // A panic is a bug, but one connection's bug must not stop the
            // server: the connection closes and the server keeps serving.
            let served = panic::catch_unwind(AssertUnwindSafe(|| {
                serve(stream, &self.ctx, false, &self.shared.stopping)
            }));
            if served.is_err() {
                eprintln!("http-server: a connection handler panicked");
            }
            self.shared.unregister(id);
        }
    }

    /// Each connection gets a worker thread of its own for its lifetime.
    /// Workers are kept after their connection closes and reused, so a
    /// new connection costs a hand-over, not a thread spawn; the pool grows
    /// to the peak number of concurrent connections (at most the cap).
    fn run_threaded(self) {
        let ctx = Arc::new(self.ctx);
        let (jobs, queue) = mpsc::channel::<(u64, TcpStream)>();
        let queue = Arc::new(Mutex::new(queue));
        // Workers waiting for a connection and not yet promised one.
        let idle = Arc::new(AtomicUsize::new(0));
        let mut workers = Vec::new();
        for stream in self.listener.incoming() {
            if self.shared.stopping.load(Ordering::SeqCst) {
                break;
            }
            let stream = match stream {
                Ok(stream) => stream,
                // Out of descriptors or memory: back off rather than spin.
                Err(_) => {
                    thread::sleep(ACCEPT_BACKOFF);
                    continue;
                }
            };
            if self.shared.open_count() >= self.max_connections {
                refuse_overloaded(stream);
                continue;
            }
            let Some(id) = self.shared.register(&stream) else {
                continue;
            };
            let claimed =
                idle.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
            if claimed.is_ok() {
                if jobs.send((id, stream)).is_err() {
                    self.shared.unregister(id);
                }
                continue;
            }
            let worker = Worker {
                ctx: Arc::clone(&ctx),
                shared: Arc::clone(&self.shared),
                queue: Arc::clone(&queue),
                idle: Arc::clone(&idle),
            };
            match thread::Builder::new()
                .name("http-conn".into())
                .spawn(move || worker.run(id, stream))
            {
                Ok(handle) => workers.push(handle),
                Err(_) => self.shared.unregister(id),
            }
        }
        // Idle workers see the closed queue and end; busy ones end after
        // their connection, which shutdown has asked to close.
        drop(jobs);
        self.shared.wait_until_all_closed();
        for worker in workers {
            let _ = worker.join();
        }
    }
}

/// A pooled connection worker of the threaded variant.
struct Worker {
    ctx: Arc<Context>,
    shared: Arc<Shared>,
    queue: Arc<Mutex<mpsc::Receiver<(u64, TcpStream)>>>,
    idle: Arc<AtomicUsize>,
}

impl Worker {
    /// Serves `stream`, then each connection handed over, until the queue closes.
    fn run(self, mut id: u64, mut stream: TcpStream) {
        loop {
            {
                let _done = Unregister {
                    shared: &self.shared,
                    id,
                };
                serve(stream, &self.ctx, true, &self.shared.stopping);
            }
            self.idle.fetch_add(1, Ordering::SeqCst);
            let next = self
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .recv();
            match next {
                Ok((next_id, next_stream)) => (id, stream) = (next_id, next_stream),
                Err(_) => return,
            }
        }
    }
}

/// Unregisters a connection when its worker ends, even by panic.
struct Unregister<'s> {
    shared: &'s Shared,
    id: u64,
}

impl Drop for Unregister<'_> {
    fn drop(&mut self) {
        self.shared.unregister(self.id);
    }
}

/// Answers a connection past the cap with 503 and closes it, without
/// blocking the accept loop on a client that does not read.
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
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, TcpStream>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn open_count(&self) -> usize {
        self.lock().len()
    }

    fn register(&self, stream: &TcpStream) -> Option<u64> {
        let clone = stream.try_clone().ok()?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, clone);
        Some(id)
    }

    fn unregister(&self, id: u64) {
        self.lock().remove(&id);
        self.closed.notify_all();
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
        // Wakes the accept loop, which then sees `stopping`.
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
