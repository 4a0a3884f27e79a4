//! One connection, from its first byte to its close: it reads requests,
//! writes the responses the [`handler`](crate::handler) decides, and
//! closes. Both variants share it; they differ only in how connections are
//! accepted and whether one may carry more than one request.
//!
//! - `exchange`: one request read and its response written.
//! - `read`: reading more bytes, and reading past a request's content.
//! - `write`: the one response writer.
//! - `pace`: a response's progress against the minimum send rate.

use std::cell::Cell;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::net::RecvFlags;
use socket2::SockRef;

use crate::files;
use crate::handler::Handler;
use crate::limits::{
    LINGER_TIMEOUT, MAX_LINGER_BYTES, OVERLOAD_WRITE_TIMEOUT, READ_CHUNK, REQUEST_BUDGET,
};
use crate::problem::Problem;
use crate::response::Response;

mod exchange;
mod pace;
mod read;
#[cfg(test)]
mod tests;
mod write;

use pace::Pace;
use write::{write_response, Plain};

/// What every connection needs to know about the server.
#[derive(Debug)]
pub(crate) struct Context {
    /// What decides each response.
    pub handler: Handler,
    pub read_timeout: Duration,
    /// Least octets per second a response is sent at, over each window.
    pub min_send_rate: u64,
    /// The window the send rate is averaged over (never zero).
    pub send_rate_window: Duration,
    pub quiet: bool,
    pub small_files: files::SmallFiles,
}

/// Why reading stopped before a complete message.
enum Stop {
    /// The peer closed (or the socket failed): nothing more to say.
    Closed,
    /// The deadline passed.
    Timeout,
    /// Nothing has arrived of the next request, and the connection may
    /// wait for it without this thread (see [`resume`]).
    Wait,
}

/// What follows an exchange.
enum Next {
    /// The connection stays open for another request.
    Again,
    /// The connection closes.
    Close,
    /// No request arrived: the connection waits for one.
    Wait,
}

/// Sets on the listening socket the options every connection is served
/// with: no Nagle delay, a write timeout of one send-rate slot, and the read
/// timeout. Linux copies them to each accepted socket, which saves three
/// system calls per connection; elsewhere [`serve`] sets them on each.
pub(crate) fn configure_listener(listener: &TcpListener, ctx: &Context) -> io::Result<()> {
    set_options(&SockRef::from(listener), ctx)
}

/// Whether an accepted socket has the listener's options already.
const INHERITS_OPTIONS: bool = cfg!(target_os = "linux");

fn set_options(socket: &SockRef<'_>, ctx: &Context) -> io::Result<()> {
    socket.set_tcp_nodelay(true)?;
    socket.set_write_timeout(Some(Pace::slot(ctx.send_rate_window)))?;
    socket.set_read_timeout(Some(ctx.read_timeout))
}

/// A connection of the threaded variant between turns: what of it outlives
/// the thread that served it, while it waits in the poll set for its next
/// request, or in the leader's queue with more requests already read
/// ([`Idle::has_requests`]).
///
/// An idle connection with nothing buffered holds no read buffer (the
/// thread that serves it lends one, [`SPARE`]): its memory is this struct
/// and the poll set's entry for it.
pub(crate) struct Idle {
    /// The client's address, for the access log.
    peer: Option<SocketAddr>,
    /// The socket's read timeout as last set.
    timeout: Option<Duration>,
    /// Since when it has waited: it has the read timeout from then to send
    /// a complete request head.
    since: Instant,
    /// What has been read and not yet answered: empty, without capacity,
    /// unless the client pipelined past this turn's request budget.
    buf: Vec<u8>,
    /// Just accepted, and the last of its batch: its first read may wait
    /// [`FIRST_BYTES_WAIT`](crate::limits::FIRST_BYTES_WAIT).
    fresh: bool,
}

impl Idle {
    /// A connection just accepted, from a listener [`configure_listener`]
    /// set up, that has sent nothing yet.
    pub(crate) fn accepted(stream: &TcpStream, ctx: &Context) -> Option<Idle> {
        if !INHERITS_OPTIONS && set_options(&SockRef::from(stream), ctx).is_err() {
            return None;
        }
        Some(Idle {
            // Only the access log needs the peer: no system call for it when quiet.
            peer: if ctx.quiet {
                None
            } else {
                stream.peer_addr().ok()
            },
            timeout: Some(ctx.read_timeout),
            since: Instant::now(),
            buf: Vec::new(),
            fresh: false,
        })
    }

    /// Lets the first read of a connection just accepted wait a moment for
    /// its first bytes: the threaded variant's leader gives this to the
    /// last connection of a batch that emptied the listener's backlog.
    pub(crate) fn let_first_bytes_wait(&mut self) {
        self.fresh = true;
    }

    /// When its read timeout runs out.
    pub(crate) fn deadline(&self, ctx: &Context) -> Instant {
        self.since + ctx.read_timeout
    }

    /// Whether requests the client pipelined are already read: it is ready
    /// to be served again without waiting for the socket.
    pub(crate) fn has_requests(&self) -> bool {
        !self.buf.is_empty()
    }
}

thread_local! {
    /// The read buffer of this thread's last connection that went idle with
    /// nothing buffered, lent to the next connection this thread serves: an
    /// idle connection holds no buffer, and serving one allocates none.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A read buffer: this thread's spare one, or a new one.
fn lend_buffer() -> Vec<u8> {
    let buf = SPARE.with(Cell::take);
    if buf.capacity() == 0 {
        Vec::with_capacity(READ_CHUNK)
    } else {
        buf
    }
}

/// Keeps an emptied read buffer as this thread's spare (a large one, grown
/// by a large head, is dropped instead).
fn return_buffer(mut buf: Vec<u8>) {
    if buf.capacity() <= 2 * READ_CHUNK {
        buf.clear();
        SPARE.with(|spare| spare.set(buf));
    }
}

/// Serves `stream` until it closes, on this thread: the single variant,
/// where the first response closes the connection.
pub(crate) fn serve(stream: &TcpStream, ctx: &Context, stopping: &AtomicBool) {
    if let Some(idle) = Idle::accepted(stream, ctx) {
        Connection::new(stream, ctx, idle, None).run(false, stopping);
    }
}

/// What [`resume`] left of a connection.
pub(crate) enum Turn {
    /// It waits for its next request ([`Idle::has_requests`] false), or
    /// has more requests read than this turn's budget let it have answered
    /// (true): either way it waits without a thread. If it was handed over
    /// meanwhile, that is once every request read so far was answered.
    Idle(Idle),
    /// It has closed.
    Closed,
}

/// Serves what `stream` has sent without waiting for it: a persistent
/// connection of the threaded variant, just accepted, reported readable,
/// or with requests already read.
///
/// While every read finds its bytes there and every write fits the socket
/// buffer, the thread answers the requests the client has sent, at most
/// [`REQUEST_BUDGET`] of them, and returns the connection ([`Turn::Idle`]),
/// so one thread serves every connection that is ready without any other
/// being woken, and a client that pipelines waits its turn behind the
/// others rather than keeping the thread. Before the first read or write
/// that would block (half a request has arrived, or the response is larger
/// than the socket buffer), it calls `hand_over`, once, and then serves the
/// connection on this thread, waiting as long as it must, until it has
/// answered every request read, then returns it too: a connection holds a
/// thread only while an exchange is under way.
pub(crate) fn resume(
    stream: &TcpStream,
    ctx: &Context,
    idle: Idle,
    stopping: &AtomicBool,
    hand_over: &mut dyn FnMut(),
) -> Turn {
    let mut conn = Connection::new(stream, ctx, idle, Some(hand_over));
    for _ in 0..REQUEST_BUDGET {
        match conn.exchange(true) {
            Next::Wait => return Turn::Idle(conn.idle()),
            Next::Again if conn.hand_over.is_some() => {
                if stopping.load(Ordering::Relaxed) {
                    conn.close();
                    return Turn::Closed;
                }
                conn.since = Instant::now();
                if conn.buf.is_empty() {
                    return Turn::Idle(conn.idle());
                }
            }
            Next::Again => return conn.finish_handed_over(stopping),
            Next::Close => {
                conn.close();
                return Turn::Closed;
            }
        }
    }
    // The budget is spent and more requests are read: the next turn.
    Turn::Idle(conn.idle())
}

/// Answers a connection past the cap with 503 and closes it, without
/// blocking the worker on a client that does not read: the response goes
/// through the one writer ([`write_response`]), in plain writes bounded by
/// [`OVERLOAD_WRITE_TIMEOUT`] rather than paced.
///
/// RFC 9110 §15.6.4: 503 "indicates that the server is currently unable to
/// handle the request due to a temporary overload".
pub(crate) fn refuse_overloaded(mut stream: TcpStream, ctx: &Context) {
    let _ = stream.set_write_timeout(Some(OVERLOAD_WRITE_TIMEOUT));
    let response = Response::problem(Problem::Overloaded);
    let _ = write_response(
        &mut Plain(&stream),
        &ctx.small_files,
        &response,
        false,
        true,
    );
    let _ = stream.shutdown(Shutdown::Write);
    // Drain what already arrived so the close is a FIN, not a reset.
    if stream.set_nonblocking(true).is_ok() {
        let mut sink = [0u8; 4096];
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    }
}

/// A connection being served on this thread: its socket, what has been
/// read of it, and what it keeps from one request to the next.
struct Connection<'c> {
    stream: &'c TcpStream,
    buf: Vec<u8>,
    ctx: &'c Context,
    /// The client's address, for the access log.
    peer: Option<SocketAddr>,
    /// False once a request was refused: the client may still be sending.
    clean: bool,
    /// The socket's read timeout as last set, to skip a syscall per request.
    timeout: Option<Duration>,
    /// The progress of the response being written, once a write of it
    /// could not be completed at once (see [`Sink::send`](write::Sink)).
    pace: Option<Pace>,
    /// A response fell below the minimum send rate and was abandoned.
    too_slow: bool,
    /// Called once, before the first wait on the client; `None` once
    /// called, and in the single variant.
    hand_over: Option<&'c mut dyn FnMut()>,
    /// Since when the connection has waited for the request being read.
    since: Instant,
    /// Nothing has been read yet: the first read may wait
    /// [`FIRST_BYTES_WAIT`](crate::limits::FIRST_BYTES_WAIT) before the
    /// connection goes to the poll set.
    fresh: bool,
}

impl<'c> Connection<'c> {
    fn new(
        stream: &'c TcpStream,
        ctx: &'c Context,
        idle: Idle,
        hand_over: Option<&'c mut dyn FnMut()>,
    ) -> Connection<'c> {
        let buf = if idle.buf.capacity() == 0 {
            lend_buffer()
        } else {
            idle.buf
        };
        Connection {
            stream,
            buf,
            ctx,
            peer: idle.peer,
            clean: true,
            timeout: idle.timeout,
            pace: None,
            too_slow: false,
            hand_over,
            since: idle.since,
            fresh: idle.fresh,
        }
    }

    /// What outlives this thread of a connection between requests: the
    /// read buffer only if it holds requests not yet answered.
    fn idle(mut self) -> Idle {
        let buf = if self.buf.is_empty() {
            return_buffer(std::mem::take(&mut self.buf));
            Vec::new()
        } else {
            std::mem::take(&mut self.buf)
        };
        Idle {
            peer: self.peer,
            timeout: self.timeout,
            since: self.since,
            buf,
            fresh: false,
        }
    }

    /// Serves requests until the connection closes, then closes it. With
    /// `persistent` false, the first response closes it.
    fn run(mut self, persistent: bool, stopping: &AtomicBool) {
        loop {
            self.since = Instant::now();
            let next = self.exchange(persistent);
            if !matches!(next, Next::Again) || stopping.load(Ordering::Relaxed) {
                break;
            }
        }
        self.close();
    }

    /// After a hand-over, answers on this thread the requests already read
    /// (waiting for the rest of one that is half read), then returns the
    /// connection to wait for its next request without a thread.
    fn finish_handed_over(mut self, stopping: &AtomicBool) -> Turn {
        loop {
            if stopping.load(Ordering::Relaxed) {
                break;
            }
            self.since = Instant::now();
            if self.buf.is_empty() {
                return Turn::Idle(self.idle());
            }
            if !matches!(self.exchange(true), Next::Again) {
                break;
            }
        }
        self.close();
        Turn::Closed
    }

    /// Closes: with a reset after a response abandoned as too slow, else
    /// in stages.
    fn close(self) {
        if self.too_slow {
            self.abort();
        } else {
            self.linger_close();
        }
    }

    /// Lets another worker accept, once, before this one first waits on
    /// its client (see [`serve`]).
    fn hand_over(&mut self) {
        if let Some(hand_over) = self.hand_over.take() {
            hand_over();
        }
    }

    /// Closes with a reset (SO_LINGER 0): the rest of an abandoned response
    /// is dropped from the socket's buffers, not sent at the same crawl.
    fn abort(self) {
        let _ = SockRef::from(self.stream).set_linger(Some(Duration::ZERO));
    }

    /// Whether the client sent more than the requests read, without waiting
    /// for it: one `recv` that does not block, where switching the socket to
    /// non-blocking and back would cost two more system calls.
    fn more_arrived(&self) -> bool {
        let mut sink = [0u8; 1024];
        let arrived = rustix::net::recv(self.stream, &mut sink[..], RecvFlags::DONTWAIT);
        matches!(arrived, Ok((n, _)) if n > 0)
    }

    /// If the client may still be sending, half-closes and drains what it
    /// sends for a moment, so the kernel does not answer unread bytes with a
    /// reset that would destroy the response in flight (RFC 9112 §9.6:
    /// close in stages). After a clean exchange with nothing left unread the
    /// close is immediate: the single variant must not wait a round trip for
    /// every client's own close.
    fn linger_close(mut self) {
        if self.clean && self.buf.is_empty() && !self.more_arrived() {
            return;
        }
        if self.stream.shutdown(Shutdown::Write).is_err() {
            return;
        }
        self.hand_over();
        let mut chunk = [0u8; READ_CHUNK];
        let deadline = Instant::now() + LINGER_TIMEOUT;
        let mut drained = 0;
        while drained < MAX_LINGER_BYTES {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stream.set_read_timeout(Some(left)).is_err() {
                return;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => drained += n,
            }
        }
    }
}
