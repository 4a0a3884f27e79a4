//! Fronts for the chain tests, each on `127.0.0.1:0`: a naive relay that
//! copies bytes both ways unchanged (it relays CL+TE, obs-fold, raw CR and
//! extra response bytes), and a small reverse proxy built on the reference
//! server's parser that conforms to every chain case, or breaks one thing
//! on purpose ([`Flaw`]).
//!
//! A front learns its upstream (the origin) from an [`Upstream`] cell that
//! may be filled after it starts: a front given to the binary, whose origin
//! binds port 0 and prints its address, waits for the test to read it.

use crate::support::Responder;
use server::parse::{parse_chunk_end, parse_chunk_size, parse_request, parse_trailer_section};
use server::parse::{Error, Request, Status};
use server::request::{framing, Framing};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, SystemTime};

/// How long a front waits for its upstream to be known.
const UPSTREAM_WAIT: Duration = Duration::from_secs(20);
/// The most bytes a front reads for one head.
const HEAD_LIMIT: usize = 64 * 1024;
/// A read that stalls this long ends the front's connection.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The upstream address, set once.
#[derive(Default)]
pub struct Upstream {
    addr: Mutex<Option<SocketAddr>>,
    known: Condvar,
}

impl Upstream {
    pub fn new(addr: Option<SocketAddr>) -> Arc<Upstream> {
        Arc::new(Upstream {
            addr: Mutex::new(addr),
            known: Condvar::new(),
        })
    }

    pub fn set(&self, addr: SocketAddr) {
        *self.addr.lock().unwrap() = Some(addr);
        self.known.notify_all();
    }

    fn wait(&self) -> Option<SocketAddr> {
        let guard = self.addr.lock().unwrap();
        let (guard, _) = self
            .known
            .wait_timeout_while(guard, UPSTREAM_WAIT, |a| a.is_none())
            .unwrap();
        *guard
    }
}

/// A front that copies bytes both ways, unchanged, and closes each side
/// when the other does.
pub fn naive_relay(upstream: Arc<Upstream>) -> Responder {
    Responder::start(move |client| {
        let Some(addr) = upstream.wait() else { return };
        let Ok(server) = TcpStream::connect(addr) else {
            return;
        };
        let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        let back = thread::spawn({
            let (mut s_read, mut c_write) = (server, client);
            move || {
                let _ = std::io::copy(&mut s_read, &mut c_write);
                let _ = c_write.shutdown(Shutdown::Write);
            }
        });
        let _ = std::io::copy(&mut c_read, &mut s_write);
        let _ = s_write.shutdown(Shutdown::Write);
        let _ = back.join();
    })
}

/// One thing the proxy gets wrong on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// None: the proxy conforms to every chain case.
    None,
    /// Forwards Connection, the fields it lists, and the other hop-by-hop
    /// fields, both ways.
    HopByHop,
    /// Passes on heads with obs-fold as they came, both ways.
    ObsFold,
    /// Keeps its connection to the origin and reads each answer from it in
    /// turn, so bytes after an answer become the next answer.
    ExtraBytes,
    /// Drops fields it does not know, reverses lines of one name, decodes
    /// the path, and drops 1xx responses.
    Rewrites,
    /// Adds no Date to an answer without one.
    NoDate,
}

/// Fields about one connection, never forwarded (RFC 9110 §7.6.1), and
/// the framing fields the proxy writes itself.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "max-forwards",
];

/// The proxy, with `flaw`.
pub fn proxy(upstream: Arc<Upstream>, flaw: Flaw) -> Responder {
    Responder::start(move |client| {
        let Some(addr) = upstream.wait() else { return };
        let _ = client.set_read_timeout(Some(READ_TIMEOUT));
        let mut session = Session {
            client: Conn::new(client),
            addr,
            flaw,
            pooled: None,
        };
        while session.exchange() {}
        let _ = session.client.stream.shutdown(Shutdown::Both);
    })
}

/// A stream and the bytes read from it but not yet used.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Reads more; false at the end of the stream.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk) {
            Ok(n) if n > 0 => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            _ => false,
        }
    }

    /// The next `n` bytes.
    fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill() {
                return None;
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    /// The chunked content at the front of the buffer, decoded.
    fn chunked(&mut self) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let (size, used) = loop {
                match parse_chunk_size(&self.buf) {
                    Ok(Status::Complete(sized)) => break sized,
                    Ok(Status::Partial) if self.fill() => {}
                    _ => return None,
                }
            };
            self.buf.drain(..used);
            if size == 0 {
                loop {
                    match parse_trailer_section(&self.buf) {
                        Ok(Status::Complete(((), used))) => {
                            self.buf.drain(..used);
                            return Some(body);
                        }
                        Ok(Status::Partial) if self.fill() => {}
                        _ => return None,
                    }
                }
            }
            body.extend(self.take(usize::try_from(size).ok()?)?);
            loop {
                match parse_chunk_end(&self.buf) {
                    Ok(Status::Complete(((), used))) => {
                        self.buf.drain(..used);
                        break;
                    }
                    Ok(Status::Partial) if self.fill() => {}
                    _ => return None,
                }
            }
        }
    }

    /// Reads until `parse` is complete or fails: the head and its length.
    fn head<T>(
        &mut self,
        parse: impl Fn(&[u8]) -> Result<Option<T>, Error>,
    ) -> Result<Option<T>, Error> {
        loop {
            match parse(&self.buf)? {
                Some(done) => return Ok(Some(done)),
                None if self.buf.len() > HEAD_LIMIT || !self.fill() => return Ok(None),
                None => {}
            }
        }
    }
}

/// A head as the proxy keeps it: start-line parts and fields, owned.
struct Head {
    method: String,
    target: String,
    http10: bool,
    fields: Vec<(String, Vec<u8>)>,
}

impl Head {
    fn of(request: &Request<'_>) -> Head {
        Head {
            method: request.method.to_string(),
            target: request.target.to_string(),
            http10: request.version.major == 1 && request.version.minor == 0,
            fields: request
                .fields
                .iter()
                .map(|f| (f.name.to_string(), f.value.to_vec()))
                .collect(),
        }
    }

    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The fields to pass on: without those this hop uses up (unless the
    /// flaw forwards them).
    fn forwarded(&self, flaw: Flaw) -> Vec<(String, Vec<u8>)> {
        let listed: Vec<String> = self
            .values("connection")
            .flat_map(|v| v.split(|&b| b == b','))
            .map(|o| String::from_utf8_lossy(o).trim().to_ascii_lowercase())
            .collect();
        self.fields
            .iter()
            .filter(|(name, _)| {
                let name = name.to_ascii_lowercase();
                // The proxy writes the framing and Max-Forwards itself.
                if matches!(
                    name.as_str(),
                    "content-length" | "transfer-encoding" | "max-forwards"
                ) {
                    return false;
                }
                flaw == Flaw::HopByHop
                    || !(HOP_BY_HOP.contains(&name.as_str()) || listed.contains(&name))
            })
            .cloned()
            .collect()
    }
}

fn date() -> String {
    conformance::date::format_imf_fixdate(SystemTime::now())
}

struct Session {
    client: Conn,
    addr: SocketAddr,
    flaw: Flaw,
    pooled: Option<Conn>,
}

impl Session {
    /// One request and its answer; false once the client connection ends.
    fn exchange(&mut self) -> bool {
        let parsed = self.client.head(|buf| match parse_request(buf) {
            Ok(Status::Complete((request, len))) => {
                Ok(Some((Head::of(&request), framing(&request), len)))
            }
            Ok(Status::Partial) => Ok(None),
            Err(e) => Err(e),
        });
        let (head, request_framing, len) = match parsed {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return false,
            Err(Error::ObsFold) if self.flaw == Flaw::ObsFold => return self.pass_raw_head(),
            Err(_) => return self.refuse(400, "Bad Request"),
        };
        self.client.buf.drain(..len);
        let body = match request_framing {
            Ok(Framing::Empty) => Vec::new(),
            Ok(Framing::Length(n)) => match self.client.take(n as usize) {
                Some(body) => body,
                None => return false,
            },
            Ok(Framing::Chunked) => match self.client.chunked() {
                Some(body) => body,
                None => return self.refuse(400, "Bad Request"),
            },
            Err(_) => return self.refuse(400, "Bad Request"),
        };
        let closing = head.http10
            || head.values("connection").any(|v| {
                String::from_utf8_lossy(v)
                    .to_ascii_lowercase()
                    .contains("close")
            });
        let mut max_forwards = None;
        if matches!(head.method.as_str(), "OPTIONS" | "TRACE") {
            if let Some(value) = head.values("max-forwards").next() {
                match String::from_utf8_lossy(value).parse::<u64>() {
                    Ok(0) => {
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\nDate: {}\r\nAllow: GET, HEAD, OPTIONS\r\nContent-Length: 0\r\n\r\n",
                            date()
                        );
                        return self.client.stream.write_all(answer.as_bytes()).is_ok() && !closing;
                    }
                    Ok(n) => max_forwards = Some(n - 1),
                    Err(_) => return self.refuse(400, "Bad Request"),
                }
            }
        }
        let mut out = format!(
            "{} {} HTTP/1.1\r\n",
            head.method,
            if self.flaw == Flaw::Rewrites {
                decode(&head.target)
            } else {
                head.target.clone()
            }
        )
        .into_bytes();
        let mut fields = head.forwarded(self.flaw);
        if self.flaw == Flaw::Rewrites {
            fields.retain(|(n, _)| !n.eq_ignore_ascii_case("x-chain-unknown"));
            fields.reverse();
        }
        for (name, value) in &fields {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        let received = if head.http10 { "1.0" } else { "1.1" };
        out.extend_from_slice(format!("Via: {received} chain-test\r\n").as_bytes());
        if let Some(n) = max_forwards {
            out.extend_from_slice(format!("Max-Forwards: {n}\r\n").as_bytes());
        }
        if !body.is_empty() || head.values("content-length").next().is_some() {
            out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        if self.flaw != Flaw::ExtraBytes {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&body);
        let mut server = match self.pooled.take() {
            Some(server) => server,
            None => match TcpStream::connect(self.addr) {
                Ok(stream) => {
                    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
                    Conn::new(stream)
                }
                Err(_) => return self.refuse(502, "Bad Gateway"),
            },
        };
        if server.stream.write_all(&out).is_err() {
            return self.refuse(502, "Bad Gateway");
        }
        let relayed = self.relay(&mut server, &head, closing);
        if self.flaw == Flaw::ExtraBytes {
            self.pooled = Some(server);
        }
        relayed && !closing
    }

    /// Reads the origin's answer (1xx first, if any) and relays it.
    fn relay(&mut self, server: &mut Conn, request: &Head, closing: bool) -> bool {
        loop {
            let parsed = server.head(response_head);
            let (code, reason, head, len) = match parsed {
                Ok(Some(parsed)) => parsed,
                Ok(None) => return self.refuse(502, "Bad Gateway"),
                Err(Error::ObsFold) if self.flaw == Flaw::ObsFold => {
                    return self.pass_raw_response(server)
                }
                Err(_) => return self.refuse(502, "Bad Gateway"),
            };
            server.buf.drain(..len);
            if (100..200).contains(&code) {
                if request.http10 || self.flaw == Flaw::Rewrites {
                    continue;
                }
                let mut out = format!("HTTP/1.1 {code} {reason}\r\n").into_bytes();
                write_fields(&mut out, &head.forwarded(self.flaw));
                out.extend_from_slice(b"\r\n");
                if self.client.stream.write_all(&out).is_err() {
                    return false;
                }
                continue;
            }
            let codings: Vec<Vec<u8>> = head
                .values("transfer-encoding")
                .map(<[u8]>::to_vec)
                .collect();
            let lengths: Vec<String> = head
                .values("content-length")
                .flat_map(|v| v.split(|&b| b == b','))
                .map(|v| String::from_utf8_lossy(v).trim().to_string())
                .collect();
            let body = if request.method == "HEAD" || code == 204 || code == 304 {
                Some(Vec::new())
            } else if !codings.is_empty() {
                server.chunked()
            } else if let Some(first) = lengths.first() {
                if lengths.iter().any(|l| l != first) {
                    return self.refuse(502, "Bad Gateway");
                }
                match first.parse::<usize>() {
                    Ok(n) => server.take(n),
                    Err(_) => return self.refuse(502, "Bad Gateway"),
                }
            } else {
                let mut all = std::mem::take(&mut server.buf);
                while server.fill() {
                    all.append(&mut server.buf);
                }
                Some(all)
            };
            let Some(body) = body else {
                return self.refuse(502, "Bad Gateway");
            };
            let mut out = format!("HTTP/1.1 {code} {reason}\r\n").into_bytes();
            write_fields(&mut out, &head.forwarded(self.flaw));
            if head.values("date").next().is_none() && self.flaw != Flaw::NoDate {
                out.extend_from_slice(format!("Date: {}\r\n", date()).as_bytes());
            }
            let received = if request.http10 { "1.0" } else { "1.1" };
            out.extend_from_slice(format!("Via: {received} chain-test\r\n").as_bytes());
            out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
            if closing {
                out.extend_from_slice(b"Connection: close\r\n");
            }
            out.extend_from_slice(b"\r\n");
            if request.method != "HEAD" {
                out.extend_from_slice(&body);
            }
            return self.client.stream.write_all(&out).is_ok();
        }
    }

    /// A refusal of the proxy's own, then a close.
    fn refuse(&mut self, code: u16, reason: &str) -> bool {
        let body = format!("{code} {reason}\n");
        let answer = format!(
            "HTTP/1.1 {code} {reason}\r\nDate: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            date(),
            body.len()
        );
        let _ = self.client.stream.write_all(answer.as_bytes());
        false
    }

    /// [`Flaw::ObsFold`]: a request head with obs-fold goes up as it came.
    fn pass_raw_head(&mut self) -> bool {
        let Some(end) = find(&self.client.buf, b"\r\n\r\n") else {
            return false;
        };
        let raw: Vec<u8> = self.client.buf.drain(..end + 4).collect();
        let Ok(stream) = TcpStream::connect(self.addr) else {
            return self.refuse(502, "Bad Gateway");
        };
        let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
        let mut server = Conn::new(stream);
        if server.stream.write_all(&raw).is_err() {
            return false;
        }
        let request = Head {
            method: "GET".into(),
            target: String::new(),
            http10: false,
            fields: Vec::new(),
        };
        self.relay(&mut server, &request, true);
        false
    }

    /// [`Flaw::ObsFold`]: a response head with obs-fold comes down as it came,
    /// with the rest of what the origin sent.
    fn pass_raw_response(&mut self, server: &mut Conn) -> bool {
        let length_at = find(&server.buf, b"Content-Length: ");
        let head_end = find(&server.buf, b"\r\n\r\n").map(|e| e + 4);
        let (Some(at), Some(end)) = (length_at, head_end) else {
            return false;
        };
        let digits: String = server.buf[at + 16..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .map(|&b| b as char)
            .collect();
        let total = end + digits.parse::<usize>().unwrap_or(0);
        let Some(all) = server.take(total) else {
            return false;
        };
        let _ = self.client.stream.write_all(&all);
        false
    }
}

fn write_fields(out: &mut Vec<u8>, fields: &[(String, Vec<u8>)]) {
    for (name, value) in fields {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A response head: the status line by hand, the fields by the reference
/// server's strict parser after a stand-in request line.
fn response_head(buf: &[u8]) -> Result<Option<(u16, String, Head, usize)>, Error> {
    let Some(line_end) = find(buf, b"\r\n") else {
        return Ok(None);
    };
    let line = String::from_utf8_lossy(&buf[..line_end]).into_owned();
    let mut parts = line.splitn(3, ' ');
    let (Some("HTTP/1.1" | "HTTP/1.0"), Some(code), reason) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::RequestLine);
    };
    let code: u16 = code.parse().map_err(|_| Error::RequestLine)?;
    let mut stand_in = b"GET / HTTP/1.1\r\n".to_vec();
    stand_in.extend_from_slice(&buf[line_end + 2..]);
    match parse_request(&stand_in)? {
        Status::Complete((request, len)) => Ok(Some((
            code,
            reason.unwrap_or_default().to_string(),
            Head::of(&request),
            len - 16 + line_end + 2,
        ))),
        Status::Partial => Ok(None),
    }
}

/// The path percent-decoded ([`Flaw::Rewrites`]).
fn decode(target: &str) -> String {
    let bytes = target.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&target[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
