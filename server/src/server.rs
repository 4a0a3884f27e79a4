//! Binding, the two accept loops, and shutdown.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs,
};
use std::os::fd::OwnedFd;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use rustix::event::{epoll, Timespec};
use rustix::io::Errno;

use crate::connection::{configure_listener, resume, serve, Context, Idle};
use crate::limits::{
    ACCEPT_BACKOFF, ACCEPT_BATCH, MAX_CONNECTIONS, MIN_SEND_RATE, OVERLOAD_WRITE_TIMEOUT,
    READ_TIMEOUT, SEND_RATE_WINDOW, WAKE_TIMEOUT,
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
        let poll = match mode {
            Mode::Single => None,
            Mode::Threaded => match poll_set(&self.listener) {
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

/// The poll set's id for the listener; a connection's is its registry id.
const LISTENER: u64 = u64::MAX;

/// The threaded variant's poll set, with the listener in it, made
/// non-blocking so that the worker with the turn accepts what is pending
/// and goes back to its other connections.
fn poll_set(listener: &TcpListener) -> io::Result<OwnedFd> {
    listener.set_nonblocking(true)?;
    let poll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
    epoll::add(
        &poll,
        listener,
        epoll::EventData::new_u64(LISTENER),
        epoll::EventFlags::IN,
    )?;
    Ok(poll)
}

/// The threads that accept and serve connections, and what they share.
///
/// The single variant's one thread accepts a connection and serves it to
/// its close, then accepts the next.
///
/// In the threaded variant, one worker at a time has the turn: it waits on
/// the poll set (the listener and every connection waiting for its next
/// request), accepts what is pending and serves each connection that is
/// ready on its own thread, so no connection is handed from thread to
/// thread and one wake-up serves every connection ready at once. A
/// connection whose request arrived and whose response fitted the socket
/// buffer goes back to the poll set until its next request (or its read
/// timeout); one just accepted goes there if it sends nothing within
/// [`FIRST_BYTES_WAIT`](crate::limits::FIRST_BYTES_WAIT). Before its first read or write that would block, or when a
/// client has more requests buffered, the worker passes the turn on (to a
/// worker waiting for it, or a new one: up to the cap, and one more to
/// answer 503 past it), serves that connection on its thread until it
/// closes, then waits for the turn again. Workers are kept and reused.
struct Workers {
    listener: TcpListener,
    ctx: Context,
    max_connections: usize,
    shared: Arc<Shared>,
    /// The threaded variant's poll set.
    poll: Option<OwnedFd>,
    /// Workers not yet ended.
    alive: AtomicUsize,
    /// The spawned workers, for `run` to join.
    spawned: Mutex<Vec<thread::JoinHandle<()>>>,
}

/// Who may lead next, and the connections the leader watches.
#[derive(Default)]
struct Turn {
    /// The connections waiting for a request, held here while no worker
    /// has the turn; the worker that takes the turn takes them.
    set: Option<Box<Waiting>>,
    /// Workers waiting for the turn.
    workers_waiting: usize,
}

/// The connections waiting in the poll set for their next request, and
/// when each one's read timeout runs out.
#[derive(Default)]
struct Waiting {
    connections: HashMap<u64, (Arc<TcpStream>, Idle, Instant)>,
    deadlines: BTreeSet<(Instant, u64)>,
}

/// What one attempt to accept gave.
enum Accepted {
    Connection(TcpStream),
    /// Nothing is pending (or the attempt failed and paused).
    Nothing,
    /// The server is stopping.
    Stopping,
}

impl Workers {
    /// The single variant: one connection at a time, to its close.
    fn serve_one_at_a_time(&self) {
        loop {
            match self.accept() {
                Accepted::Connection(stream) => {
                    let stream = Arc::new(stream);
                    let id = self.shared.register(&stream);
                    self.guarded(|| serve(&stream, &self.ctx, &self.shared.stopping));
                    self.shared.unregister(id);
                }
                Accepted::Nothing => {}
                Accepted::Stopping => return,
            }
        }
    }

    /// A threaded worker: leads while it has the turn, serves the
    /// connection it then keeps, and waits for the turn again, until the
    /// server stops.
    fn work(self: Arc<Self>) {
        while let Some(set) = self.shared.take_turn() {
            if self.shared.stopping.load(Ordering::SeqCst) {
                self.close_all(*set);
                break;
            }
            if !self.lead(set) {
                break;
            }
        }
        self.alive.fetch_sub(1, Ordering::SeqCst);
    }

    /// Waits on the poll set and serves what is ready, until this worker
    /// passes the turn (then `true`, once the connection it kept has
    /// closed) or the server stops (`false`).
    fn lead(self: &Arc<Self>, set: Box<Waiting>) -> bool {
        let poll = self.poll();
        let mut turn = Some(set);
        let mut events = [MaybeUninit::<epoll::Event>::uninit(); 64];
        let mut ready = Vec::with_capacity(events.len());
        loop {
            let Some(set) = turn.as_mut() else {
                return true;
            };
            if self.shared.stopping.load(Ordering::SeqCst) {
                let set = turn.take().expect("the turn is held");
                self.close_all(*set);
                return false;
            }
            let wait = set.deadlines.first().map(|&(deadline, _)| {
                // Rounded up, so the wait does not end just before it.
                let left = deadline.saturating_duration_since(Instant::now());
                Timespec::try_from(left + Duration::from_micros(999)).unwrap_or(Timespec {
                    tv_sec: 1,
                    tv_nsec: 0,
                })
            });
            ready.clear();
            match epoll::wait(poll, &mut events, wait.as_ref()) {
                Ok((events, _)) => ready.extend(events.iter().map(|e| e.data.u64())),
                Err(Errno::INTR) => {}
                Err(_) => thread::sleep(ACCEPT_BACKOFF),
            }
            for &id in &ready {
                if id == LISTENER {
                    self.accept_pending(&mut turn);
                } else {
                    self.resume_waiting(id, &mut turn);
                }
                if turn.is_none() {
                    return true;
                }
            }
            if let Some(set) = turn.as_mut() {
                self.expire(set, Instant::now());
            }
        }
    }

    /// Accepts the connections pending on the listener and serves each as
    /// far as it can without waiting. If the turn is passed on meanwhile,
    /// the rest stay pending for the next leader.
    fn accept_pending(self: &Arc<Self>, turn: &mut Option<Box<Waiting>>) {
        for _ in 0..ACCEPT_BATCH {
            let stream = match self.accept() {
                Accepted::Connection(stream) => stream,
                Accepted::Nothing | Accepted::Stopping => return,
            };
            if self.shared.open_count() >= self.max_connections {
                refuse_overloaded(stream);
                continue;
            }
            let stream = Arc::new(stream);
            let id = self.shared.register(&stream);
            match Idle::accepted(&stream, &self.ctx) {
                Some(idle) => self.serve_ready(id, stream, idle, false, turn),
                None => self.shared.unregister(id),
            }
            if turn.is_none() {
                return;
            }
        }
    }

    /// Serves a waiting connection the poll set reported ready.
    fn resume_waiting(self: &Arc<Self>, id: u64, turn: &mut Option<Box<Waiting>>) {
        let Some(set) = turn.as_mut() else {
            return;
        };
        let Some((stream, idle, deadline)) = set.connections.remove(&id) else {
            return;
        };
        set.deadlines.remove(&(deadline, id));
        self.serve_ready(id, stream, idle, true, turn);
    }

    /// Serves connection `id` as far as it can without waiting; puts it in
    /// the poll set if it waits for a request, or passes the turn on (and
    /// serves it to its close) if it must wait on the client otherwise.
    fn serve_ready(
        self: &Arc<Self>,
        id: u64,
        stream: Arc<TcpStream>,
        idle: Idle,
        polled: bool,
        turn: &mut Option<Box<Waiting>>,
    ) {
        let poll = self.poll();
        let served = self.guarded(|| {
            let mut pass = || {
                if polled {
                    let _ = epoll::delete(poll, &*stream);
                }
                if let Some(set) = turn.take() {
                    self.pass_turn(set);
                }
            };
            resume(&stream, &self.ctx, idle, &self.shared.stopping, &mut pass)
        });
        match (served, turn.as_mut()) {
            (Some(Some(idle)), Some(set)) => self.wait_for_request(id, stream, idle, polled, set),
            _ => self.shared.unregister(id),
        }
    }

    /// Puts connection `id` in the poll set (unless `polled`, it is there)
    /// to wait for its next request until its read timeout.
    fn wait_for_request(
        &self,
        id: u64,
        stream: Arc<TcpStream>,
        idle: Idle,
        polled: bool,
        set: &mut Waiting,
    ) {
        let poll = self.poll();
        if !polled {
            let added = epoll::add(
                poll,
                &*stream,
                epoll::EventData::new_u64(id),
                epoll::EventFlags::IN,
            );
            if added.is_err() {
                self.shared.unregister(id);
                return;
            }
        }
        let deadline = idle.deadline(&self.ctx);
        set.deadlines.insert((deadline, id));
        set.connections.insert(id, (stream, idle, deadline));
    }

    /// Closes the waiting connections whose read timeout has run out: an
    /// idle connection closes silently.
    fn expire(&self, set: &mut Waiting, now: Instant) {
        while let Some(&(deadline, id)) = set.deadlines.first() {
            if deadline > now {
                break;
            }
            set.deadlines.pop_first();
            if set.connections.remove(&id).is_some() {
                self.shared.unregister(id);
            }
        }
    }

    /// Closes every waiting connection (the server is stopping).
    fn close_all(&self, set: Waiting) {
        for (id, _) in set.connections {
            self.shared.unregister(id);
        }
    }

    /// The next connection, if one is pending, or a pause after a failure
    /// (see [`next_connection`]).
    fn accept(&self) -> Accepted {
        next_connection(
            || self.listener.accept().map(|(stream, _)| stream),
            &self.shared.stopping,
            || thread::sleep(ACCEPT_BACKOFF),
        )
    }

    /// Gives the turn (and the waiting connections) up: to a waiting
    /// worker, else to a new one. Past the cap's workers and the one more
    /// that refuses, none is spawned: the next worker to finish its
    /// connection takes the turn.
    fn pass_turn(self: &Arc<Self>, set: Box<Waiting>) {
        let mut turn = self.shared.turn_lock();
        turn.set = Some(set);
        if turn.workers_waiting > 0 {
            self.shared.turn_passed.notify_one();
            return;
        }
        drop(turn);
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
            .spawn(move || worker.work())
        {
            Ok(handle) => self.spawned_lock().push(handle),
            Err(_) => {
                self.alive.fetch_sub(1, Ordering::SeqCst);
            }
        }
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

    /// The threaded variant's poll set.
    fn poll(&self) -> &OwnedFd {
        self.poll
            .as_ref()
            .expect("the threaded variant has a poll set")
    }

    fn spawned_lock(&self) -> MutexGuard<'_, Vec<thread::JoinHandle<()>>> {
        self.spawned.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One attempt to accept: the connection, nothing pending (the listener is
/// non-blocking, or its timeout ran out), or a pause after a failure (out
/// of descriptors or memory: the cause persists for a while, and retrying
/// at once would spin). Both variants take every connection through this
/// function.
fn next_connection(
    accept: impl FnOnce() -> io::Result<TcpStream>,
    stopping: &AtomicBool,
    pause: impl FnOnce(),
) -> Accepted {
    if stopping.load(Ordering::SeqCst) {
        return Accepted::Stopping;
    }
    let accepted = accept();
    if stopping.load(Ordering::SeqCst) {
        return Accepted::Stopping;
    }
    match accepted {
        Ok(stream) => Accepted::Connection(stream),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
            ) =>
        {
            Accepted::Nothing
        }
        Err(_) => {
            pause();
            Accepted::Nothing
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

    /// Waits for the turn and takes it, with the waiting connections;
    /// `None` once the server is stopping and another worker has them.
    fn take_turn(&self) -> Option<Box<Waiting>> {
        let mut turn = self.turn_lock();
        loop {
            if let Some(set) = turn.set.take() {
                return Some(set);
            }
            if self.stopping.load(Ordering::SeqCst) {
                return None;
            }
            turn.workers_waiting += 1;
            turn = self
                .turn_passed
                .wait(turn)
                .unwrap_or_else(PoisonError::into_inner);
            turn.workers_waiting -= 1;
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

    /// Both variants take connections through `next_connection`: a failed
    /// accept pauses once and gives nothing; the next attempt is made.
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
        let mut attempts = 0;
        let stream = loop {
            attempts += 1;
            let accepted = next_connection(
                || match results.pop().unwrap() {
                    Ok(()) => listener.accept().map(|(stream, _)| stream),
                    Err(kind) => Err(io::Error::from(kind)),
                },
                &stopping,
                || pauses.set(pauses.get() + 1),
            );
            match accepted {
                Accepted::Connection(stream) => break stream,
                Accepted::Nothing => assert_eq!(pauses.get(), attempts),
                Accepted::Stopping => panic!("not stopping"),
            }
        };
        assert_eq!(stream.peer_addr().unwrap(), client.local_addr().unwrap());
        assert_eq!((attempts, pauses.get()), (3, 2));
        assert!(results.is_empty());
    }

    /// Nothing pending on a non-blocking listener (or a listener whose
    /// timeout ran out) is no failure: no pause.
    #[test]
    fn nothing_pending_is_no_failure() {
        let stopping = AtomicBool::new(false);
        for kind in [io::ErrorKind::WouldBlock, io::ErrorKind::TimedOut] {
            let accepted = next_connection(
                || Err(io::Error::from(kind)),
                &stopping,
                || panic!("paused after {kind:?}"),
            );
            assert!(matches!(accepted, Accepted::Nothing));
        }
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
        assert!(matches!(taken, Accepted::Stopping));
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
        assert!(matches!(taken, Accepted::Stopping));
    }
}
