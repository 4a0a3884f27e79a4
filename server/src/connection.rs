//! One connection, from its first byte to its close: the request-handling
//! core both variants share. The variants differ only in how connections
//! are accepted and whether one may carry more than one request.

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags};
use socket2::SockRef;

use crate::conditions::{self, Outcome, Validators};
use crate::files;
use crate::limits::{
    FILE_CHUNK, FIRST_BYTES_WAIT, LINGER_TIMEOUT, MAX_CACHED_FILE, MAX_DISCARDED_BODY,
    MAX_HEADER_BYTES, MAX_LINGER_BYTES, READ_CHUNK, READ_TIMEOUT_SLACK, SEND_RATE_SLOTS,
};
use crate::parse::{self, parse_chunk_size, parse_request, parse_trailer_section, Status};
use crate::range::{self, ByteRange, Multipart, Ranges};
use crate::request::{self, Framing};
use crate::resolve::{resolve_path, Resource};
use crate::response::{Body, Problem, Response, Segment};

/// What every connection needs to know about the server.
#[derive(Debug)]
pub(crate) struct Context {
    /// The canonical document root.
    pub root: PathBuf,
    pub read_timeout: Duration,
    /// Least octets per second a response is sent at, over each window.
    pub min_send_rate: u64,
    /// The window the send rate is averaged over (never zero).
    pub send_rate_window: Duration,
    pub quiet: bool,
    /// A request-target whose handling panics (tests of the panic handling).
    pub panic_on_target: Option<String>,
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

/// Why a request head could not be read.
enum HeadFault {
    /// Answer this problem.
    Answer(Problem),
    /// End the connection without an answer.
    End,
    /// Nothing arrived yet: wait for it.
    Wait,
}

/// Why a request body could not be read.
enum Fault {
    /// Its framing is invalid.
    Bad(Problem),
    /// Reading stopped.
    Stop(Stop),
}

impl From<Stop> for Fault {
    fn from(stop: Stop) -> Fault {
        Fault::Stop(stop)
    }
}

/// What to send, decided while the request head is still borrowed.
enum Reply {
    File(Box<FileReply>),
    Listing {
        dir: PathBuf,
        shown: String,
        /// `If-None-Match: *` (RFC 9110 §13.1.2): 304.
        not_modified: bool,
    },
    Redirect {
        location: String,
    },
}

/// What the head decided: a reply, or the problem to answer instead.
type Answer = Result<Reply, Problem>;

/// Whether the request is refused or sent elsewhere: an answer decided by
/// the head alone, which no content could change.
fn refuses(answer: &Answer) -> bool {
    matches!(answer, Err(_) | Ok(Reply::Redirect { .. }))
}

/// A file and what of it to send, with the validators its preconditions
/// were evaluated against (so the head sends the same ones).
struct FileReply {
    path: PathBuf,
    meta: Metadata,
    etag: String,
    modified: SystemTime,
    answer: FileAnswer,
}

/// What a GET or HEAD of a file is answered with.
enum FileAnswer {
    /// 200: the whole file.
    Whole,
    /// 206: these parts of it, one, or several as `multipart/byteranges`.
    Parts(Vec<ByteRange>),
    /// 304: no content.
    NotModified,
}

/// What a request's head said about its exchange, kept once the head's
/// bytes are gone.
struct Exchange {
    /// The request-line, for the access log (empty when none was parsed).
    line: String,
    /// A HEAD: the response has no content (RFC 9110 §9.3.2).
    head_only: bool,
    /// How the content is delimited, or the problem with its framing.
    framing: Result<Framing, Problem>,
    /// `Expect: 100-continue` (RFC 9110 §10.1.1).
    continues: bool,
    /// The variant and the request let the connection persist (RFC 9112 §9.3).
    persists: bool,
    /// The client may still be sending: content was left unread, so the
    /// connection closes after the response.
    unread: bool,
}

impl Exchange {
    /// An exchange whose head never parsed: nothing of it is known, and
    /// what the client sent is left unread.
    fn unparsed() -> Exchange {
        Exchange {
            line: String::new(),
            head_only: false,
            framing: Ok(Framing::Empty),
            continues: false,
            persists: false,
            unread: true,
        }
    }

    /// Whether the connection closes after `response`: the one place that
    /// decides it, from the request's persistence, content left unread, and
    /// the problem answered ([`Problem::closes`]).
    fn closes_after(&self, response: &Response) -> bool {
        !self.persists || self.unread || response.closes()
    }
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

/// A connection of the threaded variant between requests (or just
/// accepted), with nothing buffered: what of it outlives the thread that
/// served it, while it waits in the poll set for its next request.
pub(crate) struct Idle {
    /// The client's address, for the access log.
    peer: Option<SocketAddr>,
    /// The socket's read timeout as last set.
    timeout: Option<Duration>,
    /// The connection's progress against the minimum send rate.
    pace: Pace,
    /// Since when it has waited: it has the read timeout from then to send
    /// a complete request head.
    since: Instant,
    /// The read buffer, kept for its capacity.
    buf: Vec<u8>,
    /// Just accepted: nothing has been read yet.
    fresh: bool,
}

impl Idle {
    /// A connection just accepted, from a listener [`configure_listener`]
    /// set up, that has sent nothing yet.
    pub(crate) fn accepted(stream: &TcpStream, ctx: &Context) -> Option<Idle> {
        if !INHERITS_OPTIONS && set_options(&SockRef::from(stream), ctx).is_err() {
            return None;
        }
        let now = Instant::now();
        Some(Idle {
            // Only the access log needs the peer: no system call for it when quiet.
            peer: if ctx.quiet {
                None
            } else {
                stream.peer_addr().ok()
            },
            timeout: Some(ctx.read_timeout),
            pace: Pace::new(now, ctx.min_send_rate, ctx.send_rate_window),
            since: now,
            buf: Vec::with_capacity(READ_CHUNK),
            fresh: true,
        })
    }

    /// When its read timeout runs out.
    pub(crate) fn deadline(&self, ctx: &Context) -> Instant {
        self.since + ctx.read_timeout
    }
}

/// Serves `stream` until it closes, on this thread: the single variant,
/// where the first response closes the connection.
pub(crate) fn serve(stream: &TcpStream, ctx: &Context, stopping: &AtomicBool) {
    if let Some(idle) = Idle::accepted(stream, ctx) {
        Connection::new(stream, ctx, idle, None).run(false, stopping);
    }
}

/// Serves what `stream` has sent without waiting for it: a persistent
/// connection of the threaded variant, just accepted or reported readable.
///
/// While every read finds its bytes there and every write fits the socket
/// buffer, the thread serves one request and returns the connection to
/// wait for the next (`Some`), so one thread serves every connection that
/// is ready without any other being woken; `None` once it has closed.
/// Before the first read or write that would block, or when more requests
/// are already buffered (a client that pipelines), it calls `hand_over`,
/// once, and then serves the connection on this thread until it closes.
pub(crate) fn resume(
    stream: &TcpStream,
    ctx: &Context,
    idle: Idle,
    stopping: &AtomicBool,
    hand_over: &mut dyn FnMut(),
) -> Option<Idle> {
    let mut conn = Connection::new(stream, ctx, idle, Some(hand_over));
    match conn.exchange(true) {
        Next::Wait => return Some(conn.idle()),
        Next::Again if conn.hand_over.is_some() && conn.buf.is_empty() => {
            if !stopping.load(Ordering::Relaxed) {
                conn.since = Instant::now();
                return Some(conn.idle());
            }
        }
        Next::Again => {
            conn.hand_over();
            conn.run(true, stopping);
            return None;
        }
        Next::Close => {}
    }
    conn.close();
    None
}

/// A response's progress against the minimum send rate: octets written
/// per slot, over the last window's slots. Once a whole window has passed,
/// the last window must hold the rate's worth of octets; what the socket
/// buffers took at the start counts only while it lies within the window.
#[derive(Debug, Clone, Copy)]
struct Pace {
    start: Instant,
    slot: Duration,
    /// Octets due in each window.
    quota: u64,
    /// Octets written in each slot, by slot number modulo the length: the
    /// window's slots and the current one.
    sent: [u64; SEND_RATE_SLOTS + 1],
    /// The number of the current slot since `start`.
    current: u64,
}

impl Pace {
    /// The pace of a response whose first write is at `now`, due `rate`
    /// octets per second over each `window`.
    fn new(now: Instant, rate: u64, window: Duration) -> Pace {
        let quota = u128::from(rate) * window.as_millis() / 1000;
        Pace {
            start: now,
            slot: Pace::slot(window),
            quota: u64::try_from(quota).unwrap_or(u64::MAX),
            sent: [0; SEND_RATE_SLOTS + 1],
            current: 0,
        }
    }

    /// The length of one slot of `window`: also the socket's write timeout,
    /// so a blocked write returns once a slot to be judged.
    fn slot(window: Duration) -> Duration {
        (window / SEND_RATE_SLOTS as u32).max(Duration::from_millis(1))
    }

    /// Counts `n` octets written at `now`.
    fn sent(&mut self, now: Instant, n: usize) {
        self.advance(now);
        let slot = (self.current % self.sent.len() as u64) as usize;
        self.sent[slot] = self.sent[slot].saturating_add(n as u64);
    }

    /// Whether the response keeps pace at `now`: false once a whole window
    /// has passed and the last one carried less than the quota.
    fn keeps_pace(&mut self, now: Instant) -> bool {
        self.advance(now);
        if self.current < SEND_RATE_SLOTS as u64 {
            return true;
        }
        let slot = (self.current % self.sent.len() as u64) as usize;
        let window: u64 = self.sent.iter().sum::<u64>() - self.sent[slot];
        window >= self.quota
    }

    /// Moves to the slot `now` falls in, emptying the slots passed.
    fn advance(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.start).as_nanos();
        let slot = u64::try_from(elapsed / self.slot.as_nanos()).unwrap_or(u64::MAX);
        let len = self.sent.len() as u64;
        if slot.saturating_sub(self.current) >= len {
            self.sent = [0; SEND_RATE_SLOTS + 1];
        } else {
            for passed in self.current + 1..=slot {
                self.sent[(passed % len) as usize] = 0;
            }
        }
        self.current = self.current.max(slot);
    }
}

/// Decides the answer to a GET or HEAD of a file: its preconditions
/// (RFC 9110 §13.2.2, steps 1 to 4), then its Range (step 5).
fn plan_file(
    request: &parse::Request<'_>,
    path: PathBuf,
    meta: Metadata,
    now: SystemTime,
) -> Answer {
    let etag = files::etag(&meta);
    let modified = files::modified(&meta);
    let current = Validators {
        etag: Some(&etag),
        modified: Some(modified),
    };
    let answer = match conditions::evaluate(request, &current, now) {
        Outcome::Failed => return Err(Problem::PreconditionFailed),
        Outcome::NotModified => FileAnswer::NotModified,
        Outcome::Proceed => match requested_ranges(request, &current, meta.len(), now) {
            Ranges::Ignored => FileAnswer::Whole,
            Ranges::Unsatisfiable => return Err(Problem::RangeNotSatisfiable(meta.len())),
            Ranges::Satisfiable(parts) => FileAnswer::Parts(parts),
        },
    };
    Ok(Reply::File(Box::new(FileReply {
        path,
        meta,
        etag,
        modified,
        answer,
    })))
}

/// The ranges a request asks of `length` octets, where they apply.
///
/// RFC 9110 §14.2: "A server MUST ignore a Range header field received
/// with a request method that is unrecognized or for which range handling
/// is not defined. For this specification, GET is the only method for which
/// range handling is defined." §13.1.5: "A recipient of an If-Range header
/// field MUST ignore the Range header field if the If-Range condition
/// evaluates to false." Two Range lines are no ranges-specifier. A
/// Content-Range in a request is never read (§14.4: "A server MUST ignore a
/// Content-Range header field received in a request with a method for
/// which Content-Range support is not defined").
fn requested_ranges(
    request: &parse::Request<'_>,
    current: &Validators<'_>,
    length: u64,
    now: SystemTime,
) -> Ranges {
    let mut values = request.values("Range");
    let value = match (values.next(), values.next()) {
        (Some(value), None) if request.method == "GET" => value,
        _ => return Ranges::Ignored,
    };
    if !conditions::if_range(request, current, now) {
        return Ranges::Ignored;
    }
    range::parse_range(value, length)
}

/// Checks a parsed request before its resource is looked up: the framing
/// first (after a framing error the server cannot know where the next
/// request starts, so it wins), then version, Host, method and target.
fn check(request: &parse::Request<'_>, exchange: &Exchange) -> Result<request::Target, Problem> {
    exchange.framing?;
    request::check(request)
}

/// The response to what the head decided.
fn compose(answer: Answer) -> Response {
    let composed = match answer {
        Ok(Reply::File(file)) => Ok(compose_file(*file)),
        Ok(Reply::Listing {
            dir,
            shown,
            not_modified,
        }) => compose_listing(&dir, &shown, not_modified),
        Ok(Reply::Redirect { location }) => Ok(compose_redirect(&location)),
        Err(problem) => Err(problem),
    };
    composed.unwrap_or_else(Response::problem)
}

/// The response to a file: 200, 206 or 304.
fn compose_file(file: FileReply) -> Response {
    let length = file.meta.len();
    let content_type = files::content_type(&file.path);
    let whole = Segment::File {
        offset: 0,
        len: length,
    };
    let (mut response, segments) = match &file.answer {
        // The 200's content, never sent: its length is the 304's
        // Content-Length (RFC 9110 §8.6).
        FileAnswer::NotModified => (Response::new(304), vec![whole]),
        FileAnswer::Whole => {
            let mut response = Response::new(200);
            response.header("Content-Type", content_type);
            (response, vec![whole])
        }
        // RFC 9110 §15.3.7.1: a single part "MUST" have a Content-Range.
        // §15.3.7 would have a 206 to an If-Range request leave out the
        // representation fields the client already has ("SHOULD NOT");
        // Content-Type is kept on every 206 all the same, so the head of a
        // part does not depend on which validator the client sent.
        FileAnswer::Parts(parts) => {
            let mut response = Response::new(206);
            let mut segments = Vec::with_capacity(2 * parts.len() + 1);
            if let [part] = parts.as_slice() {
                response
                    .header("Content-Type", content_type)
                    .header("Content-Range", &range::content_range(*part, length));
                segments.push(Segment::part(*part));
            } else {
                let multipart = Multipart::new(parts, length, content_type);
                response.header("Content-Type", &multipart.content_type);
                for (part_head, part) in multipart.part_heads.into_iter().zip(parts) {
                    segments.push(Segment::Bytes(part_head));
                    segments.push(Segment::part(*part));
                }
                segments.push(Segment::Bytes(multipart.tail));
            }
            (response, segments)
        }
    };
    // RFC 9110 §15.3.7 and §15.4.5: a 206 and a 304 carry the ETag (and the
    // Date) a 200 would; Last-Modified and Accept-Ranges go with them. §14.3:
    // `Accept-Ranges: bytes` tells the client the file may be asked for in
    // parts.
    response
        .header("Last-Modified", &httpdate::fmt_http_date(file.modified))
        .header("ETag", &file.etag)
        .header("Accept-Ranges", "bytes")
        .body(Body::File {
            path: file.path,
            meta: file.meta,
            segments,
        });
    response
}

/// The response to a directory: its listing, or a 304 with the listing's
/// length.
fn compose_listing(dir: &Path, shown: &str, not_modified: bool) -> Result<Response, Problem> {
    let html = files::listing(dir, shown).map_err(|_| Problem::Internal)?;
    let mut response = Response::new(if not_modified { 304 } else { 200 });
    if !not_modified {
        response.header("Content-Type", "text/html; charset=utf-8");
    }
    response.body(Body::Bytes(html.into_bytes()));
    Ok(response)
}

/// The 301 to a directory's URI with its trailing slash.
fn compose_redirect(location: &str) -> Response {
    let mut response = Response::new(301);
    let body = format!("301 Moved Permanently: {location}\n");
    response
        .header("Location", location)
        .header("Content-Type", "text/plain; charset=utf-8")
        .body(Body::Bytes(body.into_bytes()));
    response
}

/// Whether the server reads a body of this framing (to discard it), rather
/// than answer and close without reading it.
fn reads_body(framing: Framing) -> bool {
    !matches!(framing, Framing::Length(n) if n > MAX_DISCARDED_BODY)
}

/// `len` octets of `content` from `offset`, if it holds them.
fn slice(content: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    content.get(start..end)
}

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
    /// The progress of the response being written.
    pace: Pace,
    /// A response fell below the minimum send rate and was abandoned.
    too_slow: bool,
    /// Called once, before the first wait on the client; `None` once
    /// called, and in the single variant.
    hand_over: Option<&'c mut dyn FnMut()>,
    /// Since when the connection has waited for the request being read.
    since: Instant,
    /// Nothing has been read yet: the first read may wait
    /// [`FIRST_BYTES_WAIT`] before the connection goes to the poll set.
    fresh: bool,
}

impl<'c> Connection<'c> {
    fn new(
        stream: &'c TcpStream,
        ctx: &'c Context,
        idle: Idle,
        hand_over: Option<&'c mut dyn FnMut()>,
    ) -> Connection<'c> {
        Connection {
            stream,
            buf: idle.buf,
            ctx,
            peer: idle.peer,
            clean: true,
            timeout: idle.timeout,
            pace: idle.pace,
            too_slow: false,
            hand_over,
            since: idle.since,
            fresh: idle.fresh,
        }
    }

    /// What outlives this thread of a connection with nothing buffered.
    fn idle(self) -> Idle {
        Idle {
            peer: self.peer,
            timeout: self.timeout,
            pace: self.pace,
            since: self.since,
            buf: self.buf,
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

    /// Closes: with a reset after a response abandoned as too slow, else
    /// in stages.
    fn close(self) {
        if self.too_slow {
            self.abort();
        } else {
            self.linger_close();
        }
    }

    /// Reads one request, from `since` on, and answers it: read → parse →
    /// check → resolve → respond. Returns what follows: another request,
    /// the close, or (nothing of a request having arrived) a wait for one.
    fn exchange(&mut self, persistent: bool) -> Next {
        let deadline = self.since + self.ctx.read_timeout;
        let head_len = match self.read_head(deadline) {
            Ok(len) => len,
            Err(HeadFault::Answer(problem)) => {
                return self.respond(Exchange::unparsed(), Err(problem))
            }
            Err(HeadFault::End) => return Next::Close,
            Err(HeadFault::Wait) => return Next::Wait,
        };
        // Parsed again to borrow it: a request borrowed from the buffer
        // cannot leave the loop that refills the buffer (a limit of today's
        // borrow checker). A head is small; this costs under 1% of a request.
        let Ok(Status::Complete((request, _))) = parse_request(&self.buf[..head_len]) else {
            return Next::Close;
        };
        let mut exchange = self.parse(&request, persistent);
        let answer = check(&request, &exchange).and_then(|target| self.resolve(&request, &target));
        drop(request);
        self.buf.drain(..head_len);
        let answer = match self.read_content(&mut exchange, &answer, deadline) {
            Ok(()) => answer,
            Err(Some(problem)) => Err(problem),
            Err(None) => return Next::Close,
        };
        self.respond(exchange, answer)
    }

    /// Reads until the buffer starts with a complete request head; returns
    /// its length, or the problem to answer. `Err(None)`: the connection
    /// ends without an answer.
    fn read_head(&mut self, deadline: Instant) -> Result<usize, HeadFault> {
        loop {
            match parse_request(&self.buf) {
                Ok(Status::Complete((_, len))) => return Ok(len),
                Ok(Status::Partial) => {}
                Err(e) => return Err(HeadFault::Answer(Problem::Parse(e))),
            }
            let may_wait = self.buf.is_empty();
            match self.fill(deadline, may_wait) {
                Ok(()) => {}
                Err(Stop::Wait) => return Err(HeadFault::Wait),
                // RFC 9110 §15.5.9: 408 "indicates that the server did not
                // receive a complete request message within the time that it
                // was prepared to wait". An idle connection just closes.
                Err(Stop::Timeout) if !self.buf.is_empty() => {
                    return Err(HeadFault::Answer(Problem::Timeout))
                }
                Err(_) => return Err(HeadFault::End),
            }
        }
    }

    /// What the head says about the exchange besides its target.
    fn parse(&self, request: &parse::Request<'_>, persistent: bool) -> Exchange {
        let line = if self.ctx.quiet {
            String::new()
        } else {
            format!(
                "{} {} HTTP/{}.{}",
                request.method, request.target, request.version.major, request.version.minor
            )
        };
        Exchange {
            line,
            head_only: request.method == "HEAD",
            framing: request::framing(request),
            continues: request::expects_continue(request),
            persists: persistent && !request::wants_close(request),
            unread: false,
        }
    }

    /// Decides the answer to a checked request for `target`.
    fn resolve(&self, request: &parse::Request<'_>, target: &request::Target) -> Answer {
        if self.ctx.panic_on_target.as_deref() == Some(request.target) {
            panic!("the handler was asked to panic on {}", request.target);
        }
        let now = SystemTime::now();
        match resolve_path(&self.ctx.root, &target.path) {
            Resource::File(path, meta) => plan_file(request, path, meta, now),
            Resource::Listing(dir) => {
                // A listing is made anew for every request: it has no
                // validators, and only `*` matches it.
                let none = Validators {
                    etag: None,
                    modified: None,
                };
                let not_modified = match conditions::evaluate(request, &none, now) {
                    Outcome::Proceed => false,
                    Outcome::NotModified => true,
                    Outcome::Failed => return Err(Problem::PreconditionFailed),
                };
                let shown = String::from_utf8_lossy(&target.path).into_owned();
                Ok(Reply::Listing {
                    dir,
                    shown,
                    not_modified,
                })
            }
            Resource::Redirect => Ok(Reply::Redirect {
                location: format!("{}/{}", target.raw_path, target.query),
            }),
            Resource::NotFound => Err(Problem::NotFound),
            Resource::Forbidden => Err(Problem::Forbidden),
        }
    }

    /// Reads and drops the request's content, or leaves it unread and says
    /// so in `exchange`. `Err(Some)`: the problem to answer instead;
    /// `Err(None)`: the connection ends without an answer.
    fn read_content(
        &mut self,
        exchange: &mut Exchange,
        answer: &Answer,
        deadline: Instant,
    ) -> Result<(), Option<Problem>> {
        // A framing error is the answer: where the content ends is unknown.
        let Ok(framing) = exchange.framing else {
            exchange.unread = true;
            return Ok(());
        };
        // RFC 9110 §10.1.1: a client that sent `Expect: 100-continue` may
        // wait to be asked for the content. An origin server "MUST send
        // either: an immediate response with a final status code, if that
        // status can be determined by examining just the method, target URI,
        // and header fields, or an immediate 100 (Continue) response".
        let waiting = exchange.continues && framing != Framing::Empty;
        if waiting && refuses(answer) {
            // The final status now, and no content read. §10.1.1: "A server
            // that responds with a final status code before reading the
            // entire request content SHOULD indicate whether it intends to
            // close the connection (e.g., see Section 9.6 of [HTTP/1.1]) or
            // continue reading the request content." This server closes,
            // and says so with `Connection: close`: the client may send the
            // content or not, and waiting to find out which would cost a
            // read timeout. What it sends meanwhile is drained on close.
            exchange.unread = true;
            return Ok(());
        }
        // "The origin server MUST NOT wait for the content before sending
        // the 100 (Continue) response" — unless it will not read that
        // content at all: then its final answer closes, at once.
        if waiting && reads_body(framing) {
            let interim = Response::new(100);
            if !matches!(self.write(&interim, false, false), Ok(true)) {
                return Err(None);
            }
        }
        match self.discard_body(framing, deadline) {
            Ok(true) => Ok(()),
            Ok(false) => {
                exchange.unread = true;
                Ok(())
            }
            Err(fault) => {
                exchange.unread = true;
                match fault {
                    Fault::Bad(problem) => Err(Some(problem)),
                    Fault::Stop(Stop::Timeout) => Err(Some(Problem::Timeout)),
                    Fault::Stop(Stop::Closed | Stop::Wait) => Err(None),
                }
            }
        }
    }

    /// Composes the response, decides whether the connection closes after
    /// it, writes it and logs it. Returns whether the connection stays open
    /// for another request.
    fn respond(&mut self, exchange: Exchange, answer: Answer) -> Next {
        if exchange.unread {
            self.clean = false;
        }
        let mut response = compose(answer);
        loop {
            let close = exchange.closes_after(&response);
            match self.write(&response, exchange.head_only, close) {
                Ok(sent) => {
                    self.log(&exchange.line, response.code());
                    return if sent && !close {
                        Next::Again
                    } else {
                        Next::Close
                    };
                }
                // Nothing was written: the failure is answered instead.
                Err(problem) => response = Response::problem(problem),
            }
        }
    }

    /// The one response writer: the head [`Response::head`] makes (status
    /// line, `Date`, framing, `Connection: close`), then the content unless
    /// the response has none to send. Returns whether all of it was sent,
    /// or the problem to answer instead when the file cannot be read before
    /// anything was written. Should a large file shrink while it is
    /// streamed, the length sent is still the one planned, and the short
    /// read closes the connection.
    fn write(
        &mut self,
        response: &Response,
        head_only: bool,
        close: bool,
    ) -> Result<bool, Problem> {
        let Body::File {
            path,
            meta,
            segments,
        } = response.content()
        else {
            let bytes = response.to_bytes(head_only, close);
            return Ok(self.send(&bytes));
        };
        let mut bytes = response.head(close);
        if !response.sends_content(head_only) {
            return Ok(self.send(&bytes));
        }
        // Small files go out with the head in one write; large ones are
        // streamed in fixed chunks, so memory does not grow with the file.
        if meta.len() <= MAX_CACHED_FILE {
            let content = self.ctx.small_files.content(path, meta);
            let content = content.map_err(|_| Problem::Internal)?;
            for segment in segments {
                match segment {
                    Segment::Bytes(delimiter) => bytes.extend_from_slice(delimiter),
                    Segment::File { offset, len } => {
                        let part = slice(&content, *offset, *len).ok_or(Problem::Internal)?;
                        bytes.extend_from_slice(part);
                    }
                }
            }
            return Ok(self.send(&bytes));
        }
        let mut source = File::open(path).map_err(|_| Problem::Internal)?;
        if !self.send(&bytes) {
            return Ok(false);
        }
        let mut chunk = vec![0u8; FILE_CHUNK];
        for segment in segments {
            let sent = match segment {
                Segment::Bytes(delimiter) => self.send(delimiter),
                Segment::File { offset, len } => {
                    self.stream_file(&mut source, *offset, *len, &mut chunk)
                }
            };
            if !sent {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads more bytes into the buffer before `deadline`. `may_wait`:
    /// nothing of a request has arrived, so if nothing is there and the
    /// connection has not been handed over, it may wait without this thread
    /// ([`Stop::Wait`]).
    fn fill(&mut self, deadline: Instant, may_wait: bool) -> Result<(), Stop> {
        let mut chunk = [0u8; READ_CHUNK];
        let mut first_read = std::mem::take(&mut self.fresh);
        while self.hand_over.is_some() {
            match rustix::net::recv(self.stream, &mut chunk[..], RecvFlags::DONTWAIT) {
                Ok((0, _)) => return Err(Stop::Closed),
                Ok((n, _)) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(Errno::AGAIN | Errno::INTR) if may_wait => {
                    if !std::mem::take(&mut first_read) || !self.arrives_soon() {
                        return Err(Stop::Wait);
                    }
                }
                Err(Errno::AGAIN | Errno::INTR) => self.hand_over(),
                Err(_) => return Err(Stop::Closed),
            }
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Stop::Timeout);
            }
            if self.timeout.is_none_or(|t| t > left + READ_TIMEOUT_SLACK) {
                let _ = self.stream.set_read_timeout(Some(left));
                self.timeout = Some(left);
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(Stop::Closed),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                // The timeout may have been set for an earlier, shorter
                // deadline: only the deadline itself ends the wait.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    self.timeout = None;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(Stop::Closed),
            }
        }
    }

    /// Reads and drops the request body so the next request starts where it
    /// should (RFC 9112 §6.3). `Ok(false)` when the body is larger than this
    /// server reads: the connection must then close after the response.
    fn discard_body(&mut self, framing: Framing, deadline: Instant) -> Result<bool, Fault> {
        match framing {
            Framing::Empty => Ok(true),
            _ if !reads_body(framing) => Ok(false),
            Framing::Length(n) => Ok(self.skip(n, deadline).map(|()| true)?),
            Framing::Chunked => {
                let mut total = 0u64;
                loop {
                    let size = self.parse_with(parse_chunk_size, deadline)?;
                    if size == 0 {
                        self.parse_with(parse_trailer_section, deadline)?;
                        return Ok(true);
                    }
                    total = total.saturating_add(size);
                    if total > MAX_DISCARDED_BODY {
                        return Ok(false);
                    }
                    self.skip(size, deadline)?;
                    self.parse_with(parse::parse_chunk_end, deadline)?;
                }
            }
        }
    }

    /// Runs `parse` on the buffer, reading more until it completes, and
    /// consumes what it parsed.
    fn parse_with<T>(
        &mut self,
        parse: fn(&[u8]) -> parse::Parsed<T>,
        deadline: Instant,
    ) -> Result<T, Fault> {
        loop {
            match parse(&self.buf) {
                Ok(Status::Complete((value, len))) => {
                    self.buf.drain(..len);
                    return Ok(value);
                }
                Ok(Status::Partial) if self.buf.len() > MAX_HEADER_BYTES => {
                    return Err(Fault::Bad(Problem::Parse(parse::Error::Chunk)))
                }
                Ok(Status::Partial) => self.fill(deadline, false)?,
                Err(e) => return Err(Fault::Bad(Problem::Parse(e))),
            }
        }
    }

    /// Drops the next `n` body bytes, from the buffer and then the socket.
    fn skip(&mut self, mut n: u64, deadline: Instant) -> Result<(), Stop> {
        loop {
            let here = n.min(self.buf.len() as u64) as usize;
            self.buf.drain(..here);
            n -= here as u64;
            if n == 0 {
                return Ok(());
            }
            self.fill(deadline, false)?;
        }
    }

    /// Writes all of `bytes`, unless the response falls below the minimum
    /// send rate (then it is abandoned) or the client goes away. Returns
    /// whether all were written.
    fn send(&mut self, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            // A blocked write returns within a slot (the socket's write
            // timeout), to be judged here.
            if !self.pace.keeps_pace(Instant::now()) {
                self.too_slow = true;
                return false;
            }
            match self.write_some(bytes) {
                Ok(0) => return false,
                Ok(n) => {
                    bytes = &bytes[n..];
                    self.pace.sent(Instant::now(), n);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// One write of what `bytes` the socket takes; until the connection has
    /// been handed over, one that does not block, and would it block, the
    /// hand-over first.
    fn write_some(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.hand_over.is_some() {
            let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
            match rustix::net::send(self.stream, bytes, flags) {
                Err(Errno::AGAIN) => self.hand_over(),
                sent => return sent.map_err(io::Error::from),
            }
        }
        self.stream.write(bytes)
    }

    /// Whether the client's first bytes arrive within [`FIRST_BYTES_WAIT`].
    fn arrives_soon(&self) -> bool {
        let wait = Timespec {
            tv_sec: 0,
            tv_nsec: i64::from(FIRST_BYTES_WAIT.subsec_nanos()),
        };
        let mut fds = [PollFd::new(self.stream, PollFlags::IN)];
        matches!(rustix::event::poll(&mut fds, Some(&wait)), Ok(1))
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

    /// Streams `len` octets of `file` from `offset`, through `chunk`.
    /// Returns whether all were sent: a file that shrank while being sent
    /// broke its Content-Length, and the only honest end is to close.
    fn stream_file(&mut self, file: &mut File, offset: u64, len: u64, chunk: &mut [u8]) -> bool {
        if file.seek(SeekFrom::Start(offset)).is_err() {
            return false;
        }
        let mut part = Read::take(&mut *file, len);
        let mut sent = 0u64;
        loop {
            match part.read(chunk) {
                Ok(0) => break,
                Ok(n) => {
                    if !self.send(&chunk[..n]) {
                        return false;
                    }
                    sent += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        sent == len
    }

    fn log(&self, line: &str, code: u16) {
        if !self.ctx.quiet {
            let line = if line.is_empty() { "-" } else { line };
            match self.peer {
                Some(peer) => eprintln!("{peer} \"{line}\" {code}"),
                None => eprintln!("- \"{line}\" {code}"),
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    /// 4 KiB/s over 10 s, as `limits.rs` has it, and a start.
    fn pace() -> (Pace, Instant) {
        let start = Instant::now();
        (Pace::new(start, 4096, 10 * SECOND), start)
    }

    #[test]
    fn a_steady_rate_keeps_pace() {
        let (mut pace, start) = pace();
        for second in 0..30 {
            pace.sent(start + second * SECOND, 4096);
            assert!(pace.keeps_pace(start + second * SECOND + SECOND / 2));
        }
    }

    #[test]
    fn nothing_sent_falls_behind_after_one_window() {
        let (mut pace, start) = pace();
        assert!(pace.keeps_pace(start + 9 * SECOND));
        assert!(!pace.keeps_pace(start + 10 * SECOND));
    }

    /// The socket buffers take 45 KiB at once, then the client reads 512
    /// octets a second: behind as soon as the burst leaves the window.
    #[test]
    fn a_burst_then_512_octets_a_second_falls_behind_when_the_burst_leaves_the_window() {
        let (mut pace, start) = pace();
        pace.sent(start, 45 * 1024);
        for second in 1..=10 {
            assert!(pace.keeps_pace(start + second * SECOND), "{second} s");
            pace.sent(start + second * SECOND, 512);
        }
        assert!(!pace.keeps_pace(start + 11 * SECOND));
    }

    #[test]
    fn a_long_stall_forgets_what_came_before() {
        let (mut pace, start) = pace();
        pace.sent(start, 1 << 30);
        assert!(pace.keeps_pace(start + 10 * SECOND));
        assert!(!pace.keeps_pace(start + 60 * SECOND));
    }
}
