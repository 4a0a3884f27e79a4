//! One connection, from its first byte to its close: the request-handling
//! core both variants share. The variants differ only in how connections
//! are accepted and whether one may carry more than one request.

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::conditions::{self, Outcome, Validators};
use crate::files;
use crate::limits::{
    FILE_CHUNK, LINGER_TIMEOUT, MAX_CACHED_FILE, MAX_DISCARDED_BODY, MAX_HEADER_BYTES,
    MAX_LINGER_BYTES, READ_CHUNK, READ_TIMEOUT_SLACK, WRITE_TIMEOUT,
};
use crate::parse::{self, parse_chunk_size, parse_request, parse_trailer_section, Status};
use crate::range::{self, ByteRange, Multipart, Ranges};
use crate::request::{self, Framing};
use crate::resolve::{resolve_path, Resource};
use crate::response::{self, Head, Problem};

/// What every connection needs to know about the server.
#[derive(Debug)]
pub(crate) struct Context {
    /// The canonical document root.
    pub root: PathBuf,
    pub read_timeout: Duration,
    pub quiet: bool,
    pub small_files: files::SmallFiles,
}

/// Why reading stopped before a complete message.
enum Stop {
    /// The peer closed (or the socket failed): nothing more to say.
    Closed,
    /// The deadline passed.
    Timeout,
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
    Problem(Problem),
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

impl Reply {
    /// Whether the request is refused or sent elsewhere: an answer decided
    /// by the head alone, which no content could change.
    fn refuses(&self) -> bool {
        matches!(self, Reply::Problem(_) | Reply::Redirect { .. })
    }
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

/// A piece of a response's content.
enum Segment {
    /// Octets made for this response: the delimiters of multipart/byteranges.
    Bytes(Vec<u8>),
    /// `len` octets of the file from `offset`.
    File { offset: u64, len: u64 },
}

impl Segment {
    fn part(range: ByteRange) -> Segment {
        Segment::File {
            offset: range.first,
            len: range.size(),
        }
    }

    fn len(&self) -> u64 {
        match self {
            Segment::Bytes(bytes) => bytes.len() as u64,
            Segment::File { len, .. } => *len,
        }
    }
}

/// Serves `stream` until it closes. With `persistent` false (the single
/// variant), the first response closes the connection.
pub(crate) fn serve(stream: TcpStream, ctx: &Context, persistent: bool, stopping: &AtomicBool) {
    // Only the access log needs the peer: no system call for it when quiet.
    let peer = if ctx.quiet {
        None
    } else {
        stream.peer_addr().ok()
    };
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut conn = Connection {
        stream,
        buf: Vec::with_capacity(READ_CHUNK),
        ctx,
        peer,
        clean: true,
        timeout: None,
    };
    while conn.exchange(persistent) && !stopping.load(Ordering::Relaxed) {}
    conn.linger_close();
}

/// Decides the answer to a GET or HEAD of a file: its preconditions
/// (RFC 9110 §13.2.2, steps 1 to 4), then its Range (step 5).
fn plan_file(
    request: &parse::Request<'_>,
    path: PathBuf,
    meta: Metadata,
    now: SystemTime,
) -> Reply {
    let etag = files::etag(&meta);
    let modified = files::modified(&meta);
    let current = Validators {
        etag: Some(&etag),
        modified: Some(modified),
    };
    let answer = match conditions::evaluate(request, &current, now) {
        Outcome::Failed => return Reply::Problem(Problem::PreconditionFailed),
        Outcome::NotModified => FileAnswer::NotModified,
        Outcome::Proceed => match requested_ranges(request, &current, meta.len(), now) {
            Ranges::Ignored => FileAnswer::Whole,
            Ranges::Unsatisfiable => {
                return Reply::Problem(Problem::RangeNotSatisfiable(meta.len()))
            }
            Ranges::Satisfiable(parts) => FileAnswer::Parts(parts),
        },
    };
    Reply::File(Box::new(FileReply {
        path,
        meta,
        etag,
        modified,
        answer,
    }))
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

/// The status, the head but for its framing, and the content of the
/// answer to a file.
fn compose_file(file: &FileReply) -> (u16, Head, Vec<Segment>) {
    let length = file.meta.len();
    let content_type = files::content_type(&file.path);
    let (code, mut head, body) = match &file.answer {
        FileAnswer::NotModified => (304, Head::new(304), Vec::new()),
        FileAnswer::Whole => {
            let mut head = Head::new(200);
            head.header("Content-Type", content_type);
            let whole = Segment::File {
                offset: 0,
                len: length,
            };
            (200, head, vec![whole])
        }
        // RFC 9110 §15.3.7.1: a single part "MUST" have a Content-Range.
        // §15.3.7 would have a 206 to an If-Range request leave out the
        // representation fields the client already has ("SHOULD NOT");
        // Content-Type is kept on every 206 all the same, so the head of a
        // part does not depend on which validator the client sent.
        FileAnswer::Parts(parts) => {
            let mut head = Head::new(206);
            let mut body = Vec::with_capacity(2 * parts.len() + 1);
            if let [part] = parts.as_slice() {
                head.header("Content-Type", content_type)
                    .header("Content-Range", &range::content_range(*part, length));
                body.push(Segment::part(*part));
            } else {
                let multipart = Multipart::new(parts, length, content_type);
                head.header("Content-Type", &multipart.content_type);
                for (part_head, part) in multipart.part_heads.into_iter().zip(parts) {
                    body.push(Segment::Bytes(part_head));
                    body.push(Segment::part(*part));
                }
                body.push(Segment::Bytes(multipart.tail));
            }
            (206, head, body)
        }
    };
    // RFC 9110 §15.3.7 and §15.4.5: a 206 and a 304 carry the ETag (and the
    // Date) a 200 would; Last-Modified and Accept-Ranges go with them. §14.3:
    // `Accept-Ranges: bytes` tells the client the file may be asked for in
    // parts.
    head.header("Last-Modified", &httpdate::fmt_http_date(file.modified))
        .header("ETag", &file.etag)
        .header("Accept-Ranges", "bytes");
    (code, head, body)
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
    stream: TcpStream,
    buf: Vec<u8>,
    ctx: &'c Context,
    /// The client's address, for the access log.
    peer: Option<SocketAddr>,
    /// False once a request was refused: the client may still be sending.
    clean: bool,
    /// The socket's read timeout as last set, to skip a syscall per request.
    timeout: Option<Duration>,
}

impl Connection<'_> {
    /// Reads one request and answers it. Returns whether the connection
    /// stays open for another.
    fn exchange(&mut self, persistent: bool) -> bool {
        let deadline = Instant::now() + self.ctx.read_timeout;
        let head_len = loop {
            match parse_request(&self.buf) {
                Ok(Status::Complete((_, len))) => break len,
                Ok(Status::Partial) => {}
                Err(e) => return self.refuse(Problem::Parse(e), "", false),
            }
            match self.fill(deadline) {
                Ok(()) => {}
                // RFC 9110 §15.5.9: 408 "indicates that the server did not
                // receive a complete request message within the time that it
                // was prepared to wait". An idle connection just closes.
                Err(Stop::Timeout) if !self.buf.is_empty() => {
                    return self.refuse(Problem::Timeout, "", false)
                }
                Err(_) => return false,
            }
        };
        // Parsed again to borrow it: a request borrowed from the buffer
        // cannot leave the loop that refills the buffer (a limit of today's
        // borrow checker). A head is small; this costs under 1% of a request.
        let Ok(Status::Complete((request, _))) = parse_request(&self.buf[..head_len]) else {
            return false;
        };
        let line = if self.ctx.quiet {
            String::new()
        } else {
            format!(
                "{} {} HTTP/{}.{}",
                request.method, request.target, request.version.major, request.version.minor
            )
        };
        let head_only = request.method == "HEAD";
        let framing = request::framing(&request);
        let continues = request::expects_continue(&request);
        let mut close = !persistent || request::wants_close(&request);
        let reply = match framing {
            Ok(_) => self.plan(&request),
            Err(problem) => Reply::Problem(problem),
        };
        drop(request);
        self.buf.drain(..head_len);
        let framing = match framing {
            Ok(framing) => framing,
            Err(problem) => return self.refuse(problem, &line, head_only),
        };
        // RFC 9110 §10.1.1: a client that sent `Expect: 100-continue` may
        // wait to be asked for the content. An origin server "MUST send
        // either: an immediate response with a final status code, if that
        // status can be determined by examining just the method, target URI,
        // and header fields, or an immediate 100 (Continue) response".
        let waiting = continues && framing != Framing::Empty;
        if waiting && reply.refuses() {
            // The final status now, and no content read. §10.1.1: "A server
            // that responds with a final status code before reading the
            // entire request content SHOULD indicate whether it intends to
            // close the connection (e.g., see Section 9.6 of [HTTP/1.1]) or
            // continue reading the request content." This server closes,
            // and says so with `Connection: close`: the client may send the
            // content or not, and waiting to find out which would cost a
            // read timeout. What it sends meanwhile is drained on close.
            close = true;
            self.clean = false;
        } else {
            // "The origin server MUST NOT wait for the content before
            // sending the 100 (Continue) response" — unless it will not read
            // that content at all: then its final answer closes, at once.
            if waiting && reads_body(framing) && self.stream.write_all(response::CONTINUE).is_err()
            {
                return false;
            }
            match self.discard_body(framing, deadline) {
                Ok(true) => {}
                Ok(false) => {
                    close = true;
                    self.clean = false;
                }
                Err(Fault::Bad(problem)) => return self.refuse(problem, &line, head_only),
                Err(Fault::Stop(Stop::Timeout)) => {
                    return self.refuse(Problem::Timeout, &line, head_only)
                }
                Err(Fault::Stop(Stop::Closed)) => return false,
            }
        }
        // Every failure to answer as planned becomes a problem, answered below.
        let answered = match reply {
            Reply::Problem(problem) => Err(problem),
            Reply::Redirect { location } => {
                let body = format!("301 Moved Permanently: {location}\n");
                let mut head = Head::new(301);
                head.header("Location", &location)
                    .header("Content-Type", "text/plain; charset=utf-8");
                let mut bytes = head.finish(body.len() as u64, close);
                if !head_only {
                    bytes.extend_from_slice(body.as_bytes());
                }
                Ok(self.send(&bytes, 301, &line))
            }
            Reply::Listing {
                dir,
                shown,
                not_modified,
            } => match files::listing(&dir, &shown) {
                Ok(html) => {
                    let code = if not_modified { 304 } else { 200 };
                    let mut head = Head::new(code);
                    if !not_modified {
                        head.header("Content-Type", "text/html; charset=utf-8");
                    }
                    // RFC 9110 §8.6: a 304 may carry the Content-Length a
                    // 200 would have had.
                    let mut bytes = head.finish(html.len() as u64, close);
                    if !head_only && !not_modified {
                        bytes.extend_from_slice(html.as_bytes());
                    }
                    Ok(self.send(&bytes, code, &line))
                }
                Err(_) => Err(Problem::Internal),
            },
            Reply::File(file) => self.send_file(&file, head_only, close, &line),
        };
        let sent = match answered {
            Ok(sent) => sent,
            Err(problem) => {
                close |= problem.closes();
                let bytes = response::problem(problem, close, head_only);
                self.send(&bytes, problem.status(), &line)
            }
        };
        sent && !close
    }

    /// Decides the answer to a well-framed request.
    fn plan(&self, request: &parse::Request<'_>) -> Reply {
        let target = match request::check(request) {
            Ok(target) => target,
            Err(problem) => return Reply::Problem(problem),
        };
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
                    Outcome::Failed => return Reply::Problem(Problem::PreconditionFailed),
                };
                let shown = String::from_utf8_lossy(&target.path).into_owned();
                Reply::Listing {
                    dir,
                    shown,
                    not_modified,
                }
            }
            Resource::Redirect => Reply::Redirect {
                location: format!("{}/{}", target.raw_path, target.query),
            },
            Resource::NotFound => Reply::Problem(Problem::NotFound),
            Resource::Forbidden => Reply::Problem(Problem::Forbidden),
        }
    }

    /// Answers a problem and reports that the connection closes.
    fn refuse(&mut self, problem: Problem, line: &str, head_only: bool) -> bool {
        self.clean = false;
        self.send(
            &response::problem(problem, true, head_only),
            problem.status(),
            line,
        );
        false
    }

    /// Reads more bytes into the buffer before `deadline`.
    fn fill(&mut self, deadline: Instant) -> Result<(), Stop> {
        let mut chunk = [0u8; READ_CHUNK];
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
                Ok(Status::Partial) => self.fill(deadline)?,
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
            self.fill(deadline)?;
        }
    }

    /// Writes a whole response; logs it. Returns whether it was sent.
    fn send(&mut self, bytes: &[u8], code: u16, line: &str) -> bool {
        let sent = self.stream.write_all(bytes).is_ok();
        self.log(line, code);
        sent
    }

    /// Sends a file, or parts of it, with the validators its answer was
    /// decided by. Returns whether it was sent, or the problem to answer
    /// when the file cannot be read before anything was written. Should a
    /// large file shrink while it is streamed, the length sent is still the
    /// one planned, and the short read closes the connection.
    fn send_file(
        &mut self,
        file: &FileReply,
        head_only: bool,
        close: bool,
        line: &str,
    ) -> Result<bool, Problem> {
        let length = file.meta.len();
        let (code, head, body) = compose_file(file);
        let content_length = match file.answer {
            // RFC 9110 §8.6: a 304 may carry the Content-Length a 200 would
            // have had.
            FileAnswer::NotModified => length,
            _ => body.iter().map(Segment::len).sum(),
        };
        let mut bytes = head.finish(content_length, close);
        if head_only || body.is_empty() {
            return Ok(self.send(&bytes, code, line));
        }
        // Small files go out with the head in one write; large ones are
        // streamed in fixed chunks, so memory does not grow with the file.
        if length <= MAX_CACHED_FILE {
            let content = self.ctx.small_files.content(&file.path, &file.meta);
            let content = content.map_err(|_| Problem::Internal)?;
            for segment in &body {
                match segment {
                    Segment::Bytes(delimiter) => bytes.extend_from_slice(delimiter),
                    Segment::File { offset, len } => {
                        let part = slice(&content, *offset, *len).ok_or(Problem::Internal)?;
                        bytes.extend_from_slice(part);
                    }
                }
            }
            return Ok(self.send(&bytes, code, line));
        }
        let mut source = File::open(&file.path).map_err(|_| Problem::Internal)?;
        self.log(line, code);
        if self.stream.write_all(&bytes).is_err() {
            return Ok(false);
        }
        let mut chunk = vec![0u8; FILE_CHUNK];
        for segment in &body {
            let sent = match segment {
                Segment::Bytes(delimiter) => self.stream.write_all(delimiter).is_ok(),
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
                    if self.stream.write_all(&chunk[..n]).is_err() {
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

    /// Half-closes, then, if the client may still be sending, drains what it
    /// sends for a moment, so the kernel does not answer unread bytes with a
    /// reset that would destroy the response in flight (RFC 9112 §9.6:
    /// close in stages). After a clean exchange with nothing left unread the
    /// close is immediate: the single variant must not wait a round trip for
    /// every client's own close.
    fn linger_close(mut self) {
        let _ = self.stream.flush();
        if self.stream.shutdown(Shutdown::Write).is_err() {
            return;
        }
        let mut chunk = [0u8; READ_CHUNK];
        if self.clean && self.buf.is_empty() {
            if self.stream.set_nonblocking(true).is_err() {
                return;
            }
            match self.stream.read(&mut chunk) {
                Ok(n) if n > 0 => {}
                _ => return,
            }
            if self.stream.set_nonblocking(false).is_err() {
                return;
            }
        }
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
