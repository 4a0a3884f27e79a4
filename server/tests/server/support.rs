//! Shared helpers: in-process servers on ephemeral ports, a raw-bytes
//! client, and exact assertions on response heads.

use std::collections::HashSet;
use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use server::{Config, Mode, Server, ShutdownHandle};

/// A client read that takes longer than this is a failing test, not a wait.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

pub fn fixtures_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/root"))
}

/// A server running on 127.0.0.1:0 in this process; stopped on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    pub mode: Mode,
    stop: ShutdownHandle,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start(mode: Mode) -> TestServer {
        TestServer::start_with(mode, quiet_config(fixtures_root()))
    }

    pub fn start_with(mode: Mode, config: Config) -> TestServer {
        let server = Server::bind("127.0.0.1:0", config).expect("bind 127.0.0.1:0");
        let addr = server.local_addr();
        let stop = server.shutdown_handle();
        let thread = Some(std::thread::spawn(move || server.run(mode)));
        TestServer {
            addr,
            mode,
            stop,
            thread,
        }
    }

    /// Stops the server and returns once `run` has: every connection closed.
    pub fn stop(self) {
        drop(self);
    }

    /// Whether this variant closes after every response.
    pub fn closes_always(&self) -> bool {
        self.mode == Mode::Single
    }

    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).expect("connect");
        stream.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
        stream
    }

    /// Sends `bytes` on a new connection, leaving the reading to the test.
    pub fn send(&self, bytes: &[u8]) -> TcpStream {
        let mut stream = self.connect();
        stream.write_all(bytes).unwrap();
        stream
    }

    /// Sends `bytes` on a new connection and reads one response.
    pub fn exchange(&self, bytes: &[u8]) -> (Reply, TcpStream) {
        let mut stream = self.connect();
        // The server may answer and close before reading everything (a
        // rejected oversized head): a failed write is not a failed test.
        let _ = stream.write_all(bytes);
        let reply = read_reply(&mut stream, bytes.starts_with(b"HEAD "));
        (reply, stream)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.shutdown();
        if let Some(thread) = self.thread.take() {
            // A panic in the server thread fails the test that owned it.
            if thread.join().is_err() && !std::thread::panicking() {
                panic!("the server thread panicked");
            }
        }
    }
}

pub fn quiet_config(root: PathBuf) -> Config {
    let mut config = Config::new(root);
    config.quiet = true;
    config
}

/// One response as received.
#[derive(Debug)]
pub struct Reply {
    pub status_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response head, up to and including its empty line, and
/// nothing after it.
pub fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            other => panic!(
                "connection ended inside a head ({other:?}) after {:?}",
                text(&head)
            ),
        }
    }
    text(&head)
}

/// A response head as read by [`read_head`], without its content.
pub fn parse_head(head: &str) -> Reply {
    let mut lines = head.trim_end_matches("\r\n").split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line
                .split_once(": ")
                .unwrap_or_else(|| panic!("bad line {line:?}"));
            (name.to_owned(), value.to_owned())
        })
        .collect();
    Reply {
        status_line,
        headers,
        body: Vec::new(),
    }
}

/// Reads one response: the head, then `Content-Length` body bytes (none for HEAD).
pub fn read_reply(stream: &mut TcpStream, head_request: bool) -> Reply {
    let mut reply = parse_head(&read_head(stream));
    let no_body = head_request || reply.status_line.starts_with("HTTP/1.1 304 ");
    if !no_body {
        let len: usize = reply
            .header("Content-Length")
            .expect("Content-Length")
            .parse()
            .unwrap();
        reply.body.resize(len, 0);
        stream.read_exact(&mut reply.body).expect("the whole body");
    }
    reply
}

/// Whether the server has closed the connection: the next read is end-of-stream.
pub fn is_closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Err(e) if e.kind() == ErrorKind::ConnectionReset => true,
        Ok(_) => false,
        Err(e) => panic!("no answer and no close: {e}"),
    }
}

/// Half-closes our side so a server waiting for more sees end-of-stream.
pub fn finish_writing(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts a reply exactly: the status line; `Date` first, as an IMF-fixdate;
/// then exactly `headers`, in order; then the body.
pub fn assert_reply(reply: &Reply, status_line: &str, headers: &[(&str, &str)], body: &[u8]) {
    assert_eq!(reply.status_line, status_line);
    let (first, rest) = reply.headers.split_first().expect("at least Date");
    assert_eq!(first.0, "Date");
    assert_imf_fixdate(&first.1);
    let rest: Vec<(&str, &str)> = rest.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(rest, headers, "headers of {status_line}");
    assert_eq!(text(&reply.body), text(body), "body of {status_line}");
}

/// RFC 9110 §5.6.7: `IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT`,
/// e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn assert_imf_fixdate(value: &str) {
    let b = value.as_bytes();
    let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    let ok = b.len() == 29
        && days.contains(&&value[0..3])
        && &value[3..5] == ", "
        && digits(5..7)
        && b[7] == b' '
        && months.contains(&&value[8..11])
        && b[11] == b' '
        && digits(12..16)
        && b[16] == b' '
        && digits(17..19)
        && b[19] == b':'
        && digits(20..22)
        && b[22] == b':'
        && digits(23..25)
        && &value[25..] == " GMT";
    assert!(ok, "not an IMF-fixdate: {value:?}");
    assert!(
        httpdate::parse_http_date(value).is_ok(),
        "not a real date: {value:?}"
    );
}

/// The exact reply to a refused request: a `text/plain` body naming the
/// problem, `Allow` on 405, `Connection: close` when the server closes.
pub fn assert_refused(reply: &Reply, code: u16, message: &str, close: bool) {
    let reason = server::response::reason(code);
    let body = format!("{code} {reason}: {message}\n");
    let len = body.len().to_string();
    let mut headers = vec![("Content-Type", "text/plain; charset=utf-8")];
    if code == 405 {
        headers.push(("Allow", "GET, HEAD"));
    }
    headers.push(("Content-Length", &len));
    if close {
        headers.push(("Connection", "close"));
    }
    assert_reply(
        reply,
        &format!("HTTP/1.1 {code} {reason}"),
        &headers,
        body.as_bytes(),
    );
}

/// Sends `request` to a new server of `mode` and asserts the exact refusal,
/// with `Connection: close` from the variant that always closes.
pub fn assert_request_refused(mode: Mode, request: &[u8], code: u16, message: &str) {
    let server = TestServer::start(mode);
    let (reply, _) = server.exchange(request);
    assert_refused(&reply, code, message, server.closes_always());
}

/// A request the tests send behind the one under test: one that is
/// answered as `application/json`.
pub const NEXT: &[u8] = b"GET /data.json HTTP/1.1\r\nHost: a\r\n\r\n";

/// After a reply read from `stream`, behind which the client sent [`NEXT`]:
/// the single variant has closed, and the threaded one answers [`NEXT`]
/// next, so it read exactly the request before (the connection is in sync).
pub fn assert_next_answered(server: &TestServer, stream: &mut TcpStream) {
    if server.closes_always() {
        assert!(is_closed(stream));
    } else {
        let next = read_reply(stream, false);
        assert_eq!(next.header("Content-Type"), Some("application/json"));
    }
}

/// The content of the fixture `hello.txt`.
pub const HELLO: &[u8] = b"Hello, world!\n";

/// The Content-Type of a `.txt` file.
pub const TEXT: &str = "text/plain; charset=utf-8";

/// `method` /hello.txt with `fields` (whole lines), where `{etag}` and
/// `{last-modified}` stand for the file's validators: one reply on a new
/// connection.
pub fn request_hello(server: &TestServer, method: &str, fields: &str) -> Reply {
    let validators = FileValidators::of_fixture("hello.txt");
    let fields = fields
        .replace("{etag}", &validators.etag)
        .replace("{last-modified}", &validators.last_modified);
    let request = format!("{method} /hello.txt HTTP/1.1\r\nHost: a\r\n{fields}\r\n");
    server.exchange(request.as_bytes()).0
}

/// Asserts the whole-file 200 of hello.txt, exactly; without content when
/// it answers a HEAD (`head_request`).
pub fn assert_hello_200(server: &TestServer, reply: &Reply, head_request: bool) {
    assert_hello_200_closing(reply, head_request, server.closes_always());
}

/// [`assert_hello_200`] for a reply that ends the connection (`close`:
/// with `Connection: close`) whatever the variant, or does not.
pub fn assert_hello_200_closing(reply: &Reply, head_request: bool, close: bool) {
    let head = FileValidators::of_fixture("hello.txt").head(&[("Content-Type", TEXT)], 14, close);
    let body = if head_request { b"" } else { HELLO };
    assert_reply(reply, "HTTP/1.1 200 OK", &pairs(&head), body);
}

/// Asserts the 304 of hello.txt, exactly. RFC 9110 §15.4.5: a 304 carries
/// the ETag and Date a 200 would; here also Last-Modified, Accept-Ranges and
/// the 200's Content-Length (§8.6).
pub fn assert_hello_304(server: &TestServer, reply: &Reply) {
    let head = FileValidators::of_fixture("hello.txt").head(&[], 14, server.closes_always());
    assert_reply(reply, "HTTP/1.1 304 Not Modified", &pairs(&head), b"");
}

/// The validators the server sends for a file: its `ETag` and its
/// `Last-Modified`.
pub struct FileValidators {
    pub etag: String,
    pub last_modified: String,
}

impl FileValidators {
    pub fn of(path: &Path) -> FileValidators {
        let meta = fs::metadata(path).unwrap();
        FileValidators {
            etag: server::files::etag(&meta),
            last_modified: httpdate::fmt_http_date(server::files::modified(&meta)),
        }
    }

    /// Those of a file of the fixture root, named without its leading `/`.
    pub fn of_fixture(name: &str) -> FileValidators {
        FileValidators::of(&fixtures_root().join(name))
    }

    /// The head a 200, 206 or 304 of the file has after `Date`, in order:
    /// `first` (Content-Type, Content-Range), the validators,
    /// Accept-Ranges, Content-Length, and `Connection: close` when `close`.
    pub fn head(
        &self,
        first: &[(&str, &str)],
        content_length: u64,
        close: bool,
    ) -> Vec<(String, String)> {
        let mut head: Vec<(String, String)> = first
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        head.push(("Last-Modified".into(), self.last_modified.clone()));
        head.push(("ETag".into(), self.etag.clone()));
        head.push(("Accept-Ranges".into(), "bytes".into()));
        head.push(("Content-Length".into(), content_length.to_string()));
        if close {
            head.push(("Connection".into(), "close".into()));
        }
        head
    }
}

/// Owned header pairs as `assert_reply` takes them.
pub fn pairs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// A temporary directory holding `root/`, the document root, removed on drop.
pub struct TempRoot {
    pub dir: PathBuf,
}

impl TempRoot {
    /// A new directory, named after `tag` for whoever finds it left over.
    pub fn new(tag: &str) -> TempRoot {
        // Tests run in parallel: the tag alone does not make a name unique.
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "http-server-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("root")).unwrap();
        // Canonical, so paths the server opens compare equal to it.
        let dir = dir.canonicalize().unwrap();
        TempRoot { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    /// Writes `bytes` to `path` under the root.
    pub fn file(&self, path: &str, bytes: &[u8]) -> &TempRoot {
        fs::write(self.root().join(path), bytes).unwrap();
        self
    }

    /// A sparse file of `len` zero bytes under the root: large, and cheap.
    pub fn large_file(&self, path: &str, len: u64) -> &TempRoot {
        fs::File::create(self.root().join(path))
            .unwrap()
            .set_len(len)
            .unwrap();
        self
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Open descriptors of this process that belong to one server: TCP sockets
/// with an end on its port (connections, not the listener) and files below
/// its root. Other tests run in this process at the same time, so the
/// plain count of `/proc/self/fd` moves for reasons of their own; this one
/// moves only with the server under test and its clients.
pub fn server_fds(addr: SocketAddr, root: &Path) -> usize {
    let sockets = connection_inodes(addr.port());
    let Ok(fds) = fs::read_dir("/proc/self/fd") else {
        panic!("/proc/self/fd is not readable");
    };
    fds.filter_map(|fd| fs::read_link(fd.ok()?.path()).ok())
        .filter(|target| {
            let text = target.to_string_lossy();
            match text
                .strip_prefix("socket:[")
                .and_then(|t| t.strip_suffix(']'))
            {
                Some(inode) => sockets.contains(inode),
                // The root directory itself the server holds open for as
                // long as it runs; what it opens per request lies below.
                None => target.starts_with(root) && target != root,
            }
        })
        .count()
}

/// Every open descriptor of this process (for the record; see `server_fds`).
pub fn process_fds() -> usize {
    fs::read_dir("/proc/self/fd").map_or(0, |fds| fds.count())
}

/// Inodes of the TCP sockets, other than listeners, with either end on
/// `port`, from `/proc/self/net/tcp` and `tcp6`.
fn connection_inodes(port: u16) -> HashSet<String> {
    /// `st` of a listening socket in /proc/net/tcp.
    const LISTEN: &str = "0A";
    // An address is `HEXIP:PORT`; no other column has four hex digits
    // after a colon. The tables hold every socket of the machine (tens of
    // thousands in TIME_WAIT after a load test): filter before splitting.
    let port = format!(":{port:04X} ");
    let mut inodes = HashSet::new();
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1).filter(|line| line.contains(&port)) {
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() > 9 && cols[3] != LISTEN {
                inodes.insert(cols[9].to_owned());
            }
        }
    }
    inodes
}

/// The resident memory of this process in KiB (Linux `VmRSS`).
pub fn rss_kib() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}
