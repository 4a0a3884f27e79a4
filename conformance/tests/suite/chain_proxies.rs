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
    /// Changes what it forwards, as a transforming proxy does: drops
    /// fields it does not know, reverses lines of one name, decodes the
    /// path, sends its upstream's address as Host, adds `Max-Forwards: 10`
    /// to OPTIONS, drops preconditions and reworks Authorization; drops 1xx
    /// responses, collapses spaces in HTML, weakens ETags, rewrites
    /// Content-Type, Allow, WWW-Authenticate and Vary, and answers 502 for
    /// a 304 or a 206 in a range unit it does not know.
    Rewrites,
    /// Adds no Date to an answer without one.
    NoDate,
    /// Gets the chunked coding wrong both ways: counts chunk sizes in 64
    /// bits that wrap, merges trailer fields into the header section, and
    /// sends a Content-Length beside `Transfer-Encoding: chunked`.
    Chunked,
    /// Sends a request again when the origin closes without answering it.
    Retries,
    /// Answers `100 Continue` itself and forwards a request only once its
    /// content has arrived.
    OwnContinue,
    /// Answers 421 to every request in absolute form: it serves no origin
    /// but its own.
    Misdirects,
}

/// Fields about one connection, never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "transfer-encoding",
    "upgrade",
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

/// Field lines, owned: name and value.
type Fields = Vec<(String, Vec<u8>)>;

/// Chunked content decoded, and the trailer fields after it.
type Dechunked = (Vec<u8>, Fields);

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

    /// Reads until `parse` says how many bytes it takes; `None` at the end
    /// of the stream or when it fails.
    fn until<T>(&mut self, parse: impl Fn(&[u8]) -> Option<Option<(T, usize)>>) -> Option<T> {
        loop {
            match parse(&self.buf)? {
                Some((done, used)) => {
                    self.buf.drain(..used);
                    return Some(done);
                }
                None if self.fill() => {}
                None => return None,
            }
        }
    }

    /// The chunked content at the front of the buffer, decoded, and its
    /// trailer fields. `flawed`: the chunk sizes wrap at 64 bits and the
    /// trailer fields are kept ([`Flaw::Chunked`]); else the reference
    /// server's parser reads them, and the trailer fields are dropped.
    fn chunked(&mut self, flawed: bool) -> Option<Dechunked> {
        let mut body = Vec::new();
        loop {
            let size = if flawed {
                self.until(wrapping_chunk_size)?
            } else {
                self.until(|buf| match parse_chunk_size(buf) {
                    Ok(Status::Complete(sized)) => Some(Some(sized)),
                    Ok(Status::Partial) => Some(None),
                    Err(_) => None,
                })?
            };
            if size == 0 {
                return if flawed {
                    self.until(trailer_fields).map(|fields| (body, fields))
                } else {
                    self.until(|buf| match parse_trailer_section(buf) {
                        Ok(Status::Complete(((), used))) => Some(Some(((), used))),
                        Ok(Status::Partial) => Some(None),
                        Err(_) => None,
                    })
                    .map(|()| (body, Vec::new()))
                };
            }
            body.extend(self.take(usize::try_from(size).ok()?)?);
            self.until(|buf| match parse_chunk_end(buf) {
                Ok(Status::Complete(done)) => Some(Some(done)),
                Ok(Status::Partial) => Some(None),
                Err(_) => None,
            })?;
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

/// [`Flaw::Chunked`]: a chunk-size line read in 64 bits that wrap.
fn wrapping_chunk_size(buf: &[u8]) -> Option<Option<(u64, usize)>> {
    let Some(end) = find(buf, b"\r\n") else {
        return Some(None);
    };
    let digits: Vec<u8> = buf[..end]
        .iter()
        .take_while(|b| b.is_ascii_hexdigit())
        .copied()
        .collect();
    if digits.is_empty() {
        return None;
    }
    let size = digits.iter().fold(0u64, |n, &d| {
        n.wrapping_mul(16)
            .wrapping_add(u64::from((d as char).to_digit(16).unwrap_or(0)))
    });
    Some(Some((size, end + 2)))
}

/// [`Flaw::Chunked`]: the trailer section's fields.
fn trailer_fields(buf: &[u8]) -> Option<Option<(Fields, usize)>> {
    if buf.starts_with(b"\r\n") {
        return Some(Some((Vec::new(), 2)));
    }
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return Some(None);
    };
    let fields = buf[..end]
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let colon = line.iter().position(|&b| b == b':')?;
            let value = String::from_utf8_lossy(&line[colon + 1..])
                .trim()
                .to_string();
            Some((
                String::from_utf8_lossy(&line[..colon]).into_owned(),
                value.into_bytes(),
            ))
        })
        .collect();
    Some(Some((fields, end + 4)))
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

    fn has(&self, name: &str, value: &str) -> bool {
        self.values(name)
            .flat_map(|v| v.split(|&b| b == b','))
            .any(|o| {
                String::from_utf8_lossy(o)
                    .trim()
                    .eq_ignore_ascii_case(value)
            })
    }

    /// The fields to pass on: without those this hop uses up (unless the
    /// flaw forwards them), and without the framing and Max-Forwards,
    /// which the proxy writes itself.
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

/// An absolute-form target split: its authority, and the origin-form it
/// is forwarded in (RFC 9112 §3.2.1, §3.2.4: an empty path is `/`, or `*`
/// for OPTIONS).
fn absolute_form(method: &str, target: &str) -> Option<(String, String)> {
    let rest = target
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("http://"))
        .map(|_| &target[7..])?;
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    let path = match path {
        "" if method == "OPTIONS" => "*".to_string(),
        "" => "/".to_string(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_string(),
    };
    Some((authority.to_string(), path))
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

/// What a relay of the origin's answer came to.
enum Relayed {
    /// Relayed (true) or the client connection is to end (false).
    Done(bool),
    /// The origin closed without a byte of answer ([`Flaw::Retries`]).
    Nothing,
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
        let absolute = absolute_form(&head.method, &head.target);
        if absolute.is_some() && self.flaw == Flaw::Misdirects {
            return self.refuse(421, "Misdirected Request");
        }
        let expects = head.has("expect", "100-continue");
        // RFC 9110 §10.1.1: the head goes to the origin at once; the
        // content follows once the origin's 100 is relayed.
        let mut pending = match request_framing {
            Ok(Framing::Length(n)) if expects && self.flaw != Flaw::OwnContinue => Some(n),
            _ => None,
        };
        if expects && self.flaw == Flaw::OwnContinue {
            let _ = self
                .client
                .stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        let flawed = self.flaw == Flaw::Chunked;
        let (body, trailers) = match request_framing {
            _ if pending.is_some() => (Vec::new(), Vec::new()),
            Ok(Framing::Empty) => (Vec::new(), Vec::new()),
            Ok(Framing::Length(n)) => match self.client.take(n as usize) {
                Some(body) => (body, Vec::new()),
                None => return false,
            },
            Ok(Framing::Chunked) => match self.client.chunked(flawed) {
                Some(dechunked) => dechunked,
                None => return self.refuse(400, "Bad Request"),
            },
            Err(_) => return self.refuse(400, "Bad Request"),
        };
        let closing = head.http10 || head.has("connection", "close");
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
            } else if self.flaw == Flaw::Rewrites {
                max_forwards = Some(10);
            }
        }
        let target = match (&absolute, self.flaw) {
            (Some((_, path)), _) => path.clone(),
            (None, Flaw::Rewrites) => decode(&head.target),
            (None, _) => head.target.clone(),
        };
        let mut out = format!("{} {target} HTTP/1.1\r\n", head.method).into_bytes();
        let mut fields = head.forwarded(self.flaw);
        if let Some((authority, _)) = &absolute {
            // RFC 9112 §3.2.2: Host from the target, not as received.
            for (name, value) in &mut fields {
                if name.eq_ignore_ascii_case("host") {
                    *value = authority.clone().into_bytes();
                }
            }
        }
        if self.flaw == Flaw::Rewrites {
            rewrite_request(&mut fields, &self.addr.to_string());
        }
        if flawed {
            fields.extend(trailers);
        }
        write_fields(&mut out, &fields);
        let received = if head.http10 { "1.0" } else { "1.1" };
        out.extend_from_slice(format!("Via: {received} chain-test\r\n").as_bytes());
        if let Some(n) = max_forwards {
            out.extend_from_slice(format!("Max-Forwards: {n}\r\n").as_bytes());
        }
        let chunked_on = flawed && matches!(request_framing, Ok(Framing::Chunked));
        if let Some(n) = pending {
            out.extend_from_slice(format!("Content-Length: {n}\r\n").as_bytes());
        } else if chunked_on {
            out.extend_from_slice(
                format!(
                    "Transfer-Encoding: chunked\r\nContent-Length: {}\r\n",
                    body.len()
                )
                .as_bytes(),
            );
        } else if !body.is_empty() || head.values("content-length").next().is_some() {
            out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        if self.flaw != Flaw::ExtraBytes {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if chunked_on {
            out.extend_from_slice(&chunk(&body));
        } else {
            out.extend_from_slice(&body);
        }
        let mut tries = 0;
        loop {
            tries += 1;
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
            let retry = self.flaw == Flaw::Retries && tries == 1;
            match self.relay(&mut server, &head, closing, &mut pending, retry) {
                Relayed::Nothing => continue,
                Relayed::Done(relayed) => {
                    if self.flaw == Flaw::ExtraBytes {
                        self.pooled = Some(server);
                    }
                    return relayed && !closing;
                }
            }
        }
    }

    /// Reads the origin's answer (1xx first, if any) and relays it; after
    /// a 100, sends the `pending` content the client still had to send.
    /// `retry`: an origin that closes without a byte is to be asked again.
    fn relay(
        &mut self,
        server: &mut Conn,
        request: &Head,
        closing: bool,
        pending: &mut Option<u64>,
        retry: bool,
    ) -> Relayed {
        loop {
            let parsed = server.head(response_head);
            let (code, reason, head, len) = match parsed {
                Ok(Some(parsed)) => parsed,
                Ok(None) if retry && server.buf.is_empty() => return Relayed::Nothing,
                Ok(None) => return Relayed::Done(self.refuse(502, "Bad Gateway")),
                Err(Error::ObsFold) if self.flaw == Flaw::ObsFold => {
                    return Relayed::Done(self.pass_raw_response(server))
                }
                Err(_) => return Relayed::Done(self.refuse(502, "Bad Gateway")),
            };
            server.buf.drain(..len);
            if (100..200).contains(&code) {
                if !(request.http10 || self.flaw == Flaw::Rewrites) {
                    let mut out = format!("HTTP/1.1 {code} {reason}\r\n").into_bytes();
                    write_fields(&mut out, &head.forwarded(self.flaw));
                    out.extend_from_slice(b"\r\n");
                    if self.client.stream.write_all(&out).is_err() {
                        return Relayed::Done(false);
                    }
                }
                if code == 100 {
                    if let Some(n) = pending.take() {
                        let Some(body) = self.client.take(n as usize) else {
                            return Relayed::Done(false);
                        };
                        if server.stream.write_all(&body).is_err() {
                            return Relayed::Done(self.refuse(502, "Bad Gateway"));
                        }
                    }
                }
                continue;
            }
            if self.flaw == Flaw::Rewrites
                && (code == 304
                    || code == 206
                        && !head
                            .values("content-range")
                            .any(|v| v.starts_with(b"bytes ")))
            {
                return Relayed::Done(self.refuse(502, "Bad Gateway"));
            }
            let chunked_in = head.values("transfer-encoding").next().is_some();
            let lengths: Vec<String> = head
                .values("content-length")
                .flat_map(|v| v.split(|&b| b == b','))
                .map(|v| String::from_utf8_lossy(v).trim().to_string())
                .collect();
            let bodiless = request.method == "HEAD" || code == 204 || code == 304;
            let flawed = self.flaw == Flaw::Chunked;
            let dechunked = if bodiless {
                Some((Vec::new(), Vec::new()))
            } else if chunked_in {
                server.chunked(flawed)
            } else if let Some(first) = lengths.first() {
                if lengths.iter().any(|l| l != first) {
                    return Relayed::Done(self.refuse(502, "Bad Gateway"));
                }
                match first.parse::<usize>() {
                    Ok(n) => server.take(n).map(|body| (body, Vec::new())),
                    Err(_) => return Relayed::Done(self.refuse(502, "Bad Gateway")),
                }
            } else {
                let mut all = std::mem::take(&mut server.buf);
                while server.fill() {
                    all.append(&mut server.buf);
                }
                Some((all, Vec::new()))
            };
            let Some((mut body, trailers)) = dechunked else {
                return Relayed::Done(self.refuse(502, "Bad Gateway"));
            };
            let mut fields = head.forwarded(self.flaw);
            if self.flaw == Flaw::Rewrites {
                rewrite_response(&mut fields, &mut body);
            }
            if flawed {
                fields.extend(trailers);
            }
            let mut out = format!("HTTP/1.1 {code} {reason}\r\n").into_bytes();
            write_fields(&mut out, &fields);
            if head.values("date").next().is_none() && self.flaw != Flaw::NoDate {
                out.extend_from_slice(format!("Date: {}\r\n", date()).as_bytes());
            }
            let received = if request.http10 { "1.0" } else { "1.1" };
            out.extend_from_slice(format!("Via: {received} chain-test\r\n").as_bytes());
            let chunked_on = flawed && chunked_in && !bodiless && !request.http10;
            if chunked_on {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
            }
            if !bodiless || code == 304 && !lengths.is_empty() {
                // The length a GET would have had, on a HEAD or a 304.
                let length = match lengths.first() {
                    Some(first) if bodiless => first.clone(),
                    _ => body.len().to_string(),
                };
                out.extend_from_slice(format!("Content-Length: {length}\r\n").as_bytes());
            }
            if closing {
                out.extend_from_slice(b"Connection: close\r\n");
            }
            out.extend_from_slice(b"\r\n");
            if !bodiless {
                if chunked_on {
                    out.extend_from_slice(&chunk(&body));
                } else {
                    out.extend_from_slice(&body);
                }
            }
            return Relayed::Done(self.client.stream.write_all(&out).is_ok());
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
        self.relay(&mut server, &request, true, &mut None, false);
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

/// [`Flaw::Rewrites`] on a request's fields: unknown fields and
/// preconditions dropped, lines reversed, Host made the upstream's,
/// Authorization's scheme lowercased.
fn rewrite_request(fields: &mut Vec<(String, Vec<u8>)>, upstream: &str) {
    fields.retain(|(n, _)| {
        !(n.eq_ignore_ascii_case("x-chain-unknown") || n.to_ascii_lowercase().starts_with("if-"))
    });
    fields.reverse();
    for (name, value) in fields.iter_mut() {
        if name.eq_ignore_ascii_case("host") {
            *value = upstream.as_bytes().to_vec();
        } else if name.eq_ignore_ascii_case("authorization") {
            value.make_ascii_lowercase();
        }
    }
}

/// [`Flaw::Rewrites`] on a response: runs of spaces in HTML collapsed,
/// ETags weakened, the media type's parameters dropped, Allow and
/// WWW-Authenticate cut to what it knows, `*` added to Vary.
fn rewrite_response(fields: &mut Vec<(String, Vec<u8>)>, body: &mut Vec<u8>) {
    let html = fields
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("content-type") && v.starts_with(b"text/html"));
    if html {
        let mut collapsed = Vec::with_capacity(body.len());
        for &b in body.iter() {
            if !(b == b' ' && collapsed.last() == Some(&b' ')) {
                collapsed.push(b);
            }
        }
        *body = collapsed;
    }
    fields.retain(|(n, v)| !n.eq_ignore_ascii_case("www-authenticate") || v.starts_with(b"Basic "));
    for (name, value) in fields.iter_mut() {
        match name.to_ascii_lowercase().as_str() {
            "etag" if !value.starts_with(b"W/") => *value = [b"W/", value.as_slice()].concat(),
            "content-type" => {
                let end = value.iter().position(|&b| b == b';').unwrap_or(value.len());
                value.truncate(end);
            }
            "allow" => *value = b"GET, HEAD, OPTIONS".to_vec(),
            "vary" => value.extend_from_slice(b", *"),
            _ => {}
        }
    }
}

/// `body` as one chunk and the last chunk.
fn chunk(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if !body.is_empty() {
        out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
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
