//! Test responders: tiny TCP servers on `127.0.0.1:0`, each answering in one
//! fixed (wrong or hostile) way; the reference server, in process, for a run
//! that should pass; and helpers to build cases.

mod case_file;

pub use case_file::{case_dir_of, CaseFile, Step};

use assert_cmd::cargo::cargo_bin_cmd;
use assert_cmd::Command;
use conformance::date::format_imf_fixdate;
use server::{Config, Mode, Server, ShutdownHandle};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::SystemTime;

/// The most request bytes a responder buffers while looking for a head end.
const REQUEST_HEAD_LIMIT: usize = 1024 * 1024;

/// A running responder; dropping it stops the accept loop. Connection
/// threads end when their client closes.
pub struct Responder {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Responder {
    /// Binds `127.0.0.1:0` first, then serves each connection with `serve`
    /// on its own thread.
    pub fn start(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> Responder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let stop = Arc::new(AtomicBool::new(false));
        let serve = Arc::new(serve);
        let accept = thread::spawn({
            let stop = Arc::clone(&stop);
            move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = conn else { continue };
                    let serve = Arc::clone(&serve);
                    thread::spawn(move || serve(stream));
                }
            }
        });
        Responder {
            addr,
            stop,
            accept: Some(accept),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `HOST:PORT` for the command line.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocked accept so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// An address nothing listens on: bound, then released.
pub fn unused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local_addr")
}

/// Reads request heads one after another from a connection.
pub struct Requests {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Requests {
    pub fn new(stream: TcpStream) -> Requests {
        Requests {
            stream,
            buf: Vec::new(),
        }
    }

    /// The next head (up to its blank line, CRLF or bare LF), or `None` at
    /// end of stream.
    pub fn next_head(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(end) = head_end(&self.buf) {
                return Some(self.buf.drain(..end).collect());
            }
            if self.buf.len() > REQUEST_HEAD_LIMIT {
                return None;
            }
            self.fill()?;
        }
    }

    /// Reads and discards the next `len` bytes (the content after a head);
    /// `None` if the client closes first.
    pub fn discard(&mut self, mut len: u64) -> Option<()> {
        while len > 0 {
            if self.buf.is_empty() {
                self.fill()?;
            }
            let take = self
                .buf
                .len()
                .min(usize::try_from(len).unwrap_or(usize::MAX));
            self.buf.drain(..take);
            len -= take as u64;
        }
        Some(())
    }

    /// Reads what arrives next into the buffer; `None` at end of stream.
    fn fill(&mut self) -> Option<()> {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Some(())
            }
        }
    }

    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }
}

fn head_end(buf: &[u8]) -> Option<usize> {
    (0..buf.len()).find_map(|i| match &buf[i..] {
        [b'\n', b'\n', ..] => Some(i + 2),
        [b'\n', b'\r', b'\n', ..] => Some(i + 3),
        _ => None,
    })
}

/// A complete response with a valid Date and an empty body.
pub fn response(status: &str, extra: &str) -> Vec<u8> {
    response_with(status, "", b"", false, extra)
}

/// A complete response: a valid Date, then `fields` (whole lines), then the
/// Content-Length of `content`, then `extra` (whole lines); `content`
/// follows unless `head_only` (the answer to a HEAD).
pub fn response_with(
    status: &str,
    fields: &str,
    content: &[u8],
    head_only: bool,
    extra: &str,
) -> Vec<u8> {
    let mut response = format!(
        "HTTP/1.1 {status}\r\nDate: {}\r\n{fields}Content-Length: {}\r\n{extra}\r\n",
        format_imf_fixdate(SystemTime::now()),
        content.len()
    )
    .into_bytes();
    if !head_only {
        response.extend_from_slice(content);
    }
    response
}

/// `Connection: close` as a field line when `close`, else nothing.
pub fn connection(close: bool) -> &'static str {
    if close {
        "Connection: close\r\n"
    } else {
        ""
    }
}

/// A request head as a plausible static-file server reads it: the
/// request-line, when it is `METHOD /path HTTP/1.x`, and the field lines.
pub struct Head {
    /// Method, target and version; `None` for any other request-line.
    request_line: Option<[String; 3]>,
    /// The lines after the request-line, as they came (CR LF taken off).
    field_lines: Vec<String>,
}

impl Head {
    pub fn parse(bytes: &[u8]) -> Head {
        let text = String::from_utf8_lossy(bytes);
        let mut lines = text.lines();
        let words: Vec<&str> = lines.next().unwrap_or_default().split(' ').collect();
        let request_line = match words.as_slice() {
            [method, target, version]
                if target.starts_with('/') && version.starts_with("HTTP/1.") =>
            {
                Some([method, target, version].map(|word| word.to_string()))
            }
            _ => None,
        };
        Head {
            request_line,
            field_lines: lines.map(str::to_string).collect(),
        }
    }

    pub fn method(&self) -> Option<&str> {
        self.request_line
            .as_ref()
            .map(|[method, _, _]| method.as_str())
    }

    pub fn target(&self) -> Option<&str> {
        self.request_line
            .as_ref()
            .map(|[_, target, _]| target.as_str())
    }

    pub fn version(&self) -> Option<&str> {
        self.request_line
            .as_ref()
            .map(|[_, _, version]| version.as_str())
    }

    pub fn is_head(&self) -> bool {
        self.method() == Some("HEAD")
    }

    /// A GET or a HEAD: what a static-file server serves.
    pub fn is_get_or_head(&self) -> bool {
        matches!(self.method(), Some("GET" | "HEAD"))
    }

    /// The lines after the request-line, as they came.
    pub fn field_lines(&self) -> impl Iterator<Item = &str> {
        self.field_lines.iter().map(String::as_str)
    }

    /// The values of every field named `name` (either side of each name and
    /// value trimmed, the name matched in any case), in order.
    pub fn fields<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.field_lines()
            .filter_map(|line| line.split_once(':'))
            .filter(move |(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
    }

    /// The value of the first field named `name`.
    pub fn field<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.fields(name).next()
    }

    /// How many content bytes follow the head: its `Content-Length`
    /// (identical values allowed), 0 without one; `None` for a
    /// `Transfer-Encoding` or a length it cannot read.
    pub fn content_length(&self) -> Option<u64> {
        if self.field("transfer-encoding").is_some() {
            return None;
        }
        let mut length = None;
        for value in self.fields("content-length") {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: u64 = value.parse().ok()?;
            if length.is_some_and(|m| m != n) {
                return None;
            }
            length = Some(n);
        }
        Some(length.unwrap_or(0))
    }

    /// Whether a `Connection` field asks for `close`.
    pub fn wants_close(&self) -> bool {
        self.fields("connection")
            .any(|value| value.to_ascii_lowercase().contains("close"))
    }

    /// Whether the connection ends after the answer: a request-line it
    /// cannot read, HTTP/1.0 (RFC 9112 §9.3), or `Connection: close`.
    pub fn ends_connection(&self) -> bool {
        self.request_line.is_none() || self.version() == Some("HTTP/1.0") || self.wants_close()
    }
}

/// How a responder goes on after writing an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Reads the next request head.
    KeepOpen,
    /// Half-closes, then reads to the end, so the answer is not lost to a
    /// reset (RFC 9112 §9.6).
    Close,
    /// Stops at once: the connection has switched to a protocol the
    /// responder does not speak.
    Abandon,
}

impl After {
    pub fn close_if(close: bool) -> After {
        if close {
            After::Close
        } else {
            After::KeepOpen
        }
    }
}

/// Serves every request head of every connection with `answer`, given the
/// parsed head and the connection (to read content from): writes the bytes
/// it returns and goes on as it says. `None` from `answer` ends the
/// connection unanswered.
pub fn answer_heads(
    answer: impl Fn(&Head, &mut Requests) -> Option<(Vec<u8>, After)> + Send + Sync + 'static,
) -> Responder {
    Responder::start(move |stream| {
        let mut requests = Requests::new(stream);
        while let Some(bytes) = requests.next_head() {
            let Some((response, after)) = answer(&Head::parse(&bytes), &mut requests) else {
                return;
            };
            if requests.stream().write_all(&response).is_err() {
                return;
            }
            match after {
                After::KeepOpen => {}
                After::Close => {
                    let _ = requests.stream().shutdown(Shutdown::Write);
                    drain(requests.stream());
                    return;
                }
                After::Abandon => return,
            }
        }
    })
}

/// Wrong: answers `200 OK` (Date, Content-Length: 0) to every request head
/// and keeps the connection open.
pub fn ok_to_everything() -> Responder {
    Responder::start(|stream| {
        let mut requests = Requests::new(stream);
        while requests.next_head().is_some() {
            if requests
                .stream()
                .write_all(&response("200 OK", ""))
                .is_err()
            {
                return;
            }
        }
    })
}

/// The resource the CLI tests name with `--path`: the responders serve it,
/// so the control request before the cases succeeds.
pub const CONTROL_PATH: &str = "/control";

/// Whether `request` starts with a request-line for [`CONTROL_PATH`].
fn is_control_request(request: &[u8]) -> bool {
    [&b"GET "[..], b"HEAD "].iter().any(|method| {
        request
            .strip_prefix(*method)
            .is_some_and(|rest| rest.starts_with(format!("{CONTROL_PATH} HTTP/1.1\r\n").as_bytes()))
    })
}

/// Wrong: answers `status` (Date, Content-Length: 0, Connection: close) as
/// soon as any bytes arrive, then closes: half-close first and read to the
/// end, so the answer is not lost to a reset (RFC 9112 §9.6). A request for
/// [`CONTROL_PATH`] is answered `200 OK` instead, so a run gets past its
/// control.
pub fn answer_then_close(status: &'static str) -> Responder {
    Responder::start(move |mut stream| {
        let mut chunk = [0u8; 8192];
        let n = match stream.read(&mut chunk) {
            Ok(n) if n > 0 => n,
            _ => return,
        };
        let status = if is_control_request(&chunk[..n]) {
            "200 OK"
        } else {
            status
        };
        let _ = stream.write_all(&response(status, "Connection: close\r\n"));
        let _ = stream.shutdown(Shutdown::Write);
        drain(&mut stream);
    })
}

/// The control line a run prints for [`answer_then_close`]: it answers the
/// control 200 with no validators and no content, closes after each
/// answer, and serves each connection on its own thread.
pub const CONTROL_OF_ANSWER_THEN_CLOSE: &str = "control: GET /control → 200 OK, HEAD → 200; \
    ETag no, Last-Modified no, length 0; persistent no; second connection served while one is \
    open: yes";

/// `text` with every IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110
/// §5.6.7) replaced by `[date]`: the responders stamp their answers with
/// the time, and reports show what was received.
pub fn redact_dates(text: &str) -> String {
    // `A` an ASCII letter, `0` a digit, anything else itself.
    const SHAPE: &[u8] = b"Aaa, 00 Aaa 0000 00:00:00 GMT";
    let fits = |at: &[u8]| {
        at.len() >= SHAPE.len()
            && SHAPE.iter().zip(at).all(|(&want, &got)| match want {
                b'A' | b'a' => got.is_ascii_alphabetic(),
                b'0' => got.is_ascii_digit(),
                _ => got == want,
            })
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if fits(&bytes[i..]) {
            out.push_str("[date]");
            i += SHAPE.len();
        } else {
            let c = text[i..].chars().next().expect("a char at a char boundary");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The lines of a text report that grade a case (not the response rules'
/// lines, whose ids start `rule:`), and its summary line.
pub fn graded_lines(out: &str) -> Vec<&str> {
    let grades = ["PASS  ", "WARN  ", "FAIL  ", "INFO  ", "SKIP  ", "ERROR "];
    let mut lines: Vec<&str> = out
        .lines()
        .filter(|line| {
            grades.iter().any(|grade| {
                line.strip_prefix(grade)
                    .is_some_and(|id| !id.starts_with("rule:"))
            })
        })
        .collect();
    lines.extend(out.lines().rfind(|line| line.contains(" passed, ")));
    lines
}

/// The text report's block of response rules when no response broke one:
/// each applied to `responses` (`1 response`, `4 responses`) and is graded
/// `grade` as the report writes it (`PASS`, or coloured; `INFO` with `0
/// responses` when the run read none).
pub fn rules_held_as(grade: &str, responses: &str) -> String {
    format!(
        "response rules, checked on every response read:\n\
         {grade}  rule:date            {responses}\n\
         {grade}  rule:content-length  {responses}\n\
         {grade}  rule:status-sp       {responses}\n\
         {grade}  rule:reason-phrase   {responses}\n\
         {grade}  rule:field-value     {responses}\n"
    )
}

/// [`rules_held_as`] with the plain grade word `PASS`.
pub fn rules_held(responses: &str) -> String {
    rules_held_as("PASS", &format!("held on {responses}"))
}

/// Wrong: reads a request head (or whatever arrives before the client
/// stops sending) and closes without answering.
pub fn close_without_answer() -> Responder {
    Responder::start(|stream| {
        let mut requests = Requests::new(stream);
        let _ = requests.next_head();
        let _ = requests.stream().shutdown(Shutdown::Write);
        drain(requests.stream());
    })
}

/// Wrong: parses request-lines but never reads a request body, so a body
/// is taken for the next request (the desync behind request smuggling).
/// Answers `200` to a head whose request-line is `GET` or `HEAD`, a target
/// and `HTTP/1.1`, `400` to any other head, and keeps the connection open.
pub fn ignore_bodies() -> Responder {
    Responder::start(|stream| {
        let mut requests = Requests::new(stream);
        while let Some(head) = requests.next_head() {
            let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
            let served = matches!(
                words.as_slice(),
                [b"GET" | b"HEAD", target, b"HTTP/1.1"] if target.starts_with(b"/")
            );
            let status = if served { "200 OK" } else { "400 Bad Request" };
            if requests.stream().write_all(&response(status, "")).is_err() {
                return;
            }
        }
    })
}

/// Wrong: refuses POST with 405 from its head alone, without reading the
/// content its Content-Length or Transfer-Encoding announces, and keeps the
/// connection: the content is then read as the next request (RFC 9112 §9.3:
/// "A server MUST read the entire request message body or close the
/// connection after sending its response"). GET and HEAD of a path get a
/// 200 with no content, anything else a 400.
pub fn refuse_post_unread() -> Responder {
    Responder::start(|stream| {
        let mut requests = Requests::new(stream);
        while let Some(head) = requests.next_head() {
            let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
            let answer = match words.as_slice() {
                [b"GET" | b"HEAD", target, b"HTTP/1.1"] if target.starts_with(b"/") => {
                    response("200 OK", "")
                }
                [b"POST", target, b"HTTP/1.1"] if target.starts_with(b"/") => {
                    response("405 Method Not Allowed", "Allow: GET, HEAD\r\n")
                }
                _ => response("400 Bad Request", ""),
            };
            if requests.stream().write_all(&answer).is_err() {
                return;
            }
        }
    })
}

/// Reads and discards until the client closes.
pub fn drain(stream: &mut TcpStream) {
    let mut chunk = [0u8; 8192];
    while matches!(stream.read(&mut chunk), Ok(n) if n > 0) {}
}

/// Writes `bytes` again and again until the client goes away.
pub fn write_forever(stream: &mut TcpStream, bytes: &[u8]) {
    while stream.write_all(bytes).is_ok() {}
}

/// The `conformance` binary reading its cases from `dir`.
pub fn conformance(dir: &Path) -> Command {
    let mut cmd = cargo_bin_cmd!("conformance");
    cmd.arg("--cases").arg(dir);
    cmd
}

/// Runs the command, checks its exit code, returns its standard output.
pub fn stdout_with_code(cmd: &mut Command, code: i32) -> String {
    let assert = cmd.assert().code(code);
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// Wrong: serves every request at once with a response head that breaks
/// the rules on heads: `HTTP/1.1 200` with no space after the code, a
/// `Last-Modified` a day after its `Date`, and a chunked body with a
/// Content-Length besides, even to an HTTP/1.0 request; `OPTIONS *` gets a 204 with `Content-Length: 0`, any
/// other OPTIONS a 204 with `Transfer-Encoding: chunked`. Never reads a
/// body; keeps the connection open.
pub fn sloppy_heads() -> Responder {
    Responder::start(|stream| {
        let mut requests = Requests::new(stream);
        while let Some(head) = requests.next_head() {
            let now = SystemTime::now();
            let date = format_imf_fixdate(now);
            let head = if head.starts_with(b"OPTIONS * ") {
                format!("HTTP/1.1 204 No Content\r\nDate: {date}\r\nContent-Length: 0\r\n\r\n")
            } else if head.starts_with(b"OPTIONS ") {
                format!(
                    "HTTP/1.1 204 No Content\r\nDate: {date}\r\nTransfer-Encoding: chunked\r\n\r\n"
                )
            } else {
                let later = format_imf_fixdate(now + std::time::Duration::from_secs(86_400));
                let body = if head.starts_with(b"HEAD ") {
                    ""
                } else {
                    "0\r\n\r\n"
                };
                format!(
                    "HTTP/1.1 200\r\nDate: {date}\r\nLast-Modified: {later}\r\n\
                     Content-Length: 14\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
                )
            };
            if requests.stream().write_all(head.as_bytes()).is_err() {
                return;
            }
        }
    })
}

/// The reference server (threaded) on 127.0.0.1:0, serving fixtures/root
/// until dropped.
pub struct Reference {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: ShutdownHandle,
    running: Option<JoinHandle<()>>,
}

impl Reference {
    /// Binds 127.0.0.1:0 and serves on a thread of its own.
    pub fn start() -> Reference {
        let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/root"));
        let mut config = Config::new(root);
        config.quiet = true;
        let server = Server::bind("127.0.0.1:0", config).expect("bind 127.0.0.1:0");
        let addr = server.local_addr();
        let stop = server.shutdown_handle();
        let running = thread::spawn(move || {
            server.run(Mode::Threaded);
        });
        Reference {
            addr,
            stop,
            running: Some(running),
        }
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        self.stop.shutdown();
        if let Some(running) = self.running.take() {
            let _ = running.join();
        }
    }
}

#[test]
fn redact_dates_then_every_imf_fixdate_and_nothing_else() {
    assert_eq!(
        redact_dates(
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nLast-Modified: Thu, 01 Jan 2026 00:00:00 \
             GMT\r\nX: Sun, 6 Nov 1994 08:49:37 GMT — é\r\n"
        ),
        "Date: [date]\r\nLast-Modified: [date]\r\nX: Sun, 6 Nov 1994 08:49:37 GMT — é\r\n"
    );
}
