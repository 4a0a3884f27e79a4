//! A proxy in this process in front of a scripted origin, both on
//! ephemeral ports: the origin records every byte each connection the proxy
//! opens carries, and answers as the test scripts; the client sends raw
//! bytes and reads the proxy's whole answer.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::Duration;

use server::parse::{parse_chunk_end, parse_chunk_size, parse_request, parse_trailer_section};
use server::parse::{Parsed, Status};
use server::request::{framing, Framing};
use server::{Proxy, ProxyConfig, ProxyShutdown};

/// A read that takes longer than this is a failing test, not a wait.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The `Date` the scripted origin sends, kept as is by the proxy.
pub const ORIGIN_DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

/// A proxy running on 127.0.0.1:0 in this process; stopped on drop.
pub struct TestProxy {
    pub addr: SocketAddr,
    stop: ProxyShutdown,
    thread: Option<JoinHandle<()>>,
}

impl TestProxy {
    /// A proxy in front of `origin`, with the default timeouts.
    pub fn start(origin: SocketAddr) -> TestProxy {
        TestProxy::start_with(quiet(origin))
    }

    pub fn start_with(config: ProxyConfig) -> TestProxy {
        let proxy = Proxy::bind("127.0.0.1:0", config).expect("bind 127.0.0.1:0");
        let addr = proxy.local_addr();
        let stop = proxy.shutdown_handle();
        let thread = Some(std::thread::spawn(move || proxy.run()));
        TestProxy { addr, stop, thread }
    }

    /// This proxy's `Via` member for a message received with `version`.
    pub fn via(&self, version: &str) -> String {
        format!("Via: {version} http-server:{}", self.addr.port())
    }

    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).expect("connect");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream
    }

    /// Sends `bytes`, half-closes, and reads everything the proxy sends
    /// until it closes, `Date` values other than [`ORIGIN_DATE`] replaced
    /// by `<now>` once checked.
    pub fn exchange(&self, bytes: &[u8]) -> String {
        let mut stream = self.connect();
        // The proxy may refuse and close before reading everything.
        let _ = stream.write_all(bytes);
        let _ = stream.shutdown(Shutdown::Write);
        read_to_close(&mut stream)
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.stop.shutdown();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() && !std::thread::panicking() {
                panic!("the proxy thread panicked");
            }
        }
    }
}

pub fn quiet(origin: SocketAddr) -> ProxyConfig {
    let mut config = ProxyConfig::new(origin.to_string());
    config.quiet = true;
    config
}

/// Reads until the peer closes; `Date` values masked as by
/// [`TestProxy::exchange`].
pub fn read_to_close(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    match stream.read_to_end(&mut bytes) {
        Ok(_) => {}
        // A reset after the answer (the proxy closed with bytes unread).
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("no close: {e} after {:?}", text(&bytes)),
    }
    mask_dates(&text(&bytes))
}

/// Replaces each `Date` the proxy made with `<now>`, after checking it is
/// an IMF-fixdate.
pub fn mask_dates(text: &str) -> String {
    let mut out = String::new();
    for (i, line) in text.split("\r\n").enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        match line.strip_prefix("Date: ") {
            Some(date) if date != ORIGIN_DATE => {
                assert!(
                    httpdate::parse_http_date(date).is_ok() && date.len() == 29,
                    "{date:?} is no IMF-fixdate"
                );
                out.push_str("Date: <now>");
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// What the proxy answers itself: `code` for `why`, as the server words
/// its problems, with `Connection: close` when `closes`.
pub fn from_proxy(code: &str, why: &str, closes: bool) -> String {
    let body = format!("{code}: {why}\n");
    let close = if closes { "Connection: close\r\n" } else { "" };
    format!(
        "HTTP/1.1 {code}\r\nDate: <now>\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Length: {}\r\n{close}\r\n{body}",
        body.len()
    )
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One step of what the origin does on a connection.
#[derive(Debug, Clone)]
pub enum Step {
    /// Reads one whole request: its head and the content its framing says.
    Request,
    /// Reads one request head only.
    Head,
    /// Reads this many octets.
    Content(usize),
    /// Sends these bytes.
    Send(Vec<u8>),
    /// Half-closes: nothing more will be sent.
    Close,
}

/// A script that reads a request and answers `answer`, then half-closes.
pub fn answer(answer: &[u8]) -> Vec<Step> {
    vec![Step::Request, Step::Send(answer.to_vec()), Step::Close]
}

/// The scripted origin: one script per connection, in order.
pub struct Origin {
    pub addr: SocketAddr,
    done: Receiver<(TcpListener, Vec<String>)>,
}

impl Origin {
    /// Accepts one connection per script, runs it, then records what else
    /// the proxy sends on that connection until the proxy closes it.
    pub fn start(scripts: Vec<Vec<Step>>) -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let (send, done) = mpsc::channel();
        std::thread::spawn(move || {
            let mut received = Vec::new();
            for script in scripts {
                let (mut stream, _) = listener.accept().expect("accept");
                stream.set_read_timeout(Some(TIMEOUT)).unwrap();
                received.push(text(&run(&mut stream, &script)));
            }
            let _ = send.send((listener, received));
        });
        Origin { addr, done }
    }

    /// One connection that answers `bytes`.
    pub fn answering(bytes: &[u8]) -> Origin {
        Origin::start(vec![answer(bytes)])
    }

    /// An origin the proxy must not reach.
    pub fn silent() -> Origin {
        Origin::start(Vec::new())
    }

    /// What each connection carried, in order; panics if the proxy opened
    /// one more than scripted.
    pub fn received(self) -> Vec<String> {
        let (listener, received) = self
            .done
            .recv_timeout(TIMEOUT)
            .expect("the origin did not see every scripted connection");
        listener.set_nonblocking(true).unwrap();
        match listener.accept() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => received,
            Ok(_) => panic!("the proxy opened an unscripted connection after {received:?}"),
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// Runs `script` on `stream`; returns every byte read from it.
fn run(stream: &mut TcpStream, script: &[Step]) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut used = 0;
    for step in script {
        match step {
            Step::Request => used = read_request(stream, &mut buf, used, true),
            Step::Head => used = read_request(stream, &mut buf, used, false),
            Step::Content(n) => {
                used += n;
                while buf.len() < used {
                    fill(stream, &mut buf);
                }
            }
            Step::Send(bytes) => {
                let _ = stream.write_all(bytes);
            }
            Step::Close => {
                let _ = stream.shutdown(Shutdown::Write);
            }
        }
    }
    // Everything else, until the proxy closes.
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    buf.extend_from_slice(&rest);
    buf
}

/// Reads into `buf` until a request starting at `from` is whole (with its
/// content when `content`); returns where it ends.
fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>, from: usize, content: bool) -> usize {
    let (head_end, framing) = loop {
        match parse_request(&buf[from..]) {
            Ok(Status::Complete((request, len))) => {
                break (
                    from + len,
                    framing(&request).expect("the proxy sent valid framing"),
                )
            }
            Ok(Status::Partial) => fill(stream, buf),
            Err(e) => panic!("the proxy sent an invalid head ({e}): {:?}", text(buf)),
        }
    };
    if !content {
        return head_end;
    }
    match framing {
        Framing::Empty => head_end,
        Framing::Length(n) => {
            while buf.len() < head_end + n as usize {
                fill(stream, buf);
            }
            head_end + n as usize
        }
        Framing::Chunked => {
            let mut pos = head_end;
            loop {
                let size = element(stream, buf, &mut pos, parse_chunk_size);
                if size == 0 {
                    break;
                }
                while buf.len() < pos + size as usize {
                    fill(stream, buf);
                }
                pos += size as usize;
                element(stream, buf, &mut pos, parse_chunk_end);
            }
            element(stream, buf, &mut pos, parse_trailer_section);
            pos
        }
    }
}

fn element<T>(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    pos: &mut usize,
    parse: impl Fn(&[u8]) -> Parsed<T>,
) -> T {
    loop {
        match parse(&buf[*pos..]) {
            Ok(Status::Complete((value, len))) => {
                *pos += len;
                return value;
            }
            Ok(Status::Partial) => fill(stream, buf),
            Err(e) => panic!("the proxy sent invalid chunks ({e}): {:?}", text(buf)),
        }
    }
}

fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    match stream.read(&mut chunk) {
        Ok(0) => panic!("the proxy closed inside a request: {:?}", text(buf)),
        Ok(n) => buf.extend_from_slice(&chunk[..n]),
        Err(e) => panic!("reading the proxy's request: {e} after {:?}", text(buf)),
    }
}
