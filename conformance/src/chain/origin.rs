//! The origin behind the front: it records every connection the front
//! opens, byte for byte as it arrives, reads the requests in it with the
//! reference server's strict parser ([`super::message`]), tells the cases
//! apart by the token in each request's path, and answers each request as
//! its case scripts, marked so that the client can tell the origin's
//! answers from the front's.
//!
//! Every read is bounded: [`RECORD_LIMIT`] bytes a connection, and
//! [`IDLE`] without a byte before the origin lets a connection go.

use super::docroot::{Hooks, RootReader};
use super::message::{self, body_end, read_request, BodyEnd, Framing, Head, Read};
use super::model::{Piece, Script};
use crate::date::format_imf_fixdate;
use crate::wire::Response;
use server::respond::Responder;
use std::collections::{BTreeMap, HashMap};
use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

/// The most bytes the origin records from one connection.
pub const RECORD_LIMIT: usize = 1024 * 1024;

/// How long a connection may stay silent before the origin closes it.
pub const IDLE: Duration = Duration::from_secs(30);

/// Every case's requests start with this path, then the case's token.
pub const PATH_PREFIX: &str = "/conformance-chain/";

/// The field that marks the origin's answers: `TOKEN N` for the case's
/// N-th request, `TOKEN unsolicited` on bytes no request asked for.
pub const MARK_FIELD: &str = "X-Conformance-Origin";

/// What `{mark}` says in bytes written after an answer.
pub const UNSOLICITED: &str = "unsolicited";

/// The field that names a request's case when its target cannot: a
/// request-target of `*` (RFC 9112 §3.2.4) has no path. Its value holds
/// the case's path (`{path}`).
pub const CASE_FIELD: &str = "X-Conformance-Case";
/// What a mark names instead of a token when the request carried none:
/// `untagged N`, the request's number among all the origin read, counted
/// from 0 (an origin serving a docroot, [`Origin::bind_serving`]).
pub const UNTAGGED: &str = "untagged";

/// One request the origin read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// The connection it came on, counted from 1 in the order accepted.
    pub connection: usize,
    /// Its number among the requests of its case, from 1: what its answer's
    /// mark says.
    pub index: usize,
    /// The case token in its target, if any.
    pub token: Option<String>,
    /// Its head, as read.
    pub head: Head,
    /// Its body bytes as they arrived, once read to the end.
    pub body: Option<Vec<u8>>,
    /// Why its body could not be framed, if it could not.
    pub framing_error: Option<String>,
}

/// What the origin recorded for one case: its requests, and every byte of
/// each connection that carried one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recording {
    /// The case's requests, in the order they arrived.
    pub arrivals: Vec<Arrival>,
    /// (connection number, every byte it carried, up to [`RECORD_LIMIT`]).
    pub connections: Vec<(usize, Vec<u8>)>,
}

#[derive(Default)]
struct Connection {
    bytes: Vec<u8>,
    tokens: Vec<String>,
    last: Option<Instant>,
    stream: Option<TcpStream>,
}

#[derive(Default)]
struct State {
    scripts: HashMap<String, Script>,
    /// The requests not yet taken, by a number that stays theirs.
    arrivals: BTreeMap<usize, Arrival>,
    /// How many requests arrived in all: the next one's number.
    arrived: usize,
    connections: Vec<Connection>,
    /// The head of the answer each request got, by its number (an origin
    /// serving a docroot).
    answers: HashMap<usize, Vec<u8>>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
    /// The reference server's answers from a docroot, for every request
    /// (`chain --catalogue`), and the read timeout; `None`: each case's
    /// script answers.
    root: Option<(Responder, Duration)>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic on a connection thread leaves the state as it was: go on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The recording origin; dropping it stops it.
pub struct Origin {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Origin {
    /// Listens on `addr` (port 0 for any free port) and starts accepting.
    pub fn bind(addr: impl ToSocketAddrs) -> std::io::Result<Origin> {
        Origin::start(addr, None)
    }

    /// Listens on `addr` and answers every request as the reference server
    /// answers it from the docroot of `root`, each answer marked: the
    /// origin of `chain --catalogue`. A request's path has the case's token
    /// taken out of it before it is answered (`/conformance-chain/TOKEN/`
    /// is `/`); a request head still incomplete after `read_timeout` is
    /// answered 408; [`take_named`](Origin::take_named) reads what it
    /// recorded.
    pub fn bind_serving(
        addr: impl ToSocketAddrs,
        root: Responder,
        read_timeout: Duration,
    ) -> std::io::Result<Origin> {
        Origin::start(addr, Some((root, read_timeout)))
    }

    fn start(
        addr: impl ToSocketAddrs,
        root: Option<(Responder, Duration)>,
    ) -> std::io::Result<Origin> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            root,
        });
        let accept = thread::spawn({
            let shared = Arc::clone(&shared);
            move || accept_loop(&listener, &shared)
        });
        Ok(Origin {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// From now on, requests whose path holds `token` are answered by `script`.
    pub fn register(&self, token: &str, script: Script) {
        self.shared.lock().scripts.insert(token.to_string(), script);
    }

    /// Waits until every connection that carried a request of `token` has
    /// been silent for `quiet`, or closed, but no longer than `limit`: the
    /// bytes a front forwards for a case arrive together, so a pause this
    /// long after the client's last step means the case's bytes are in.
    pub fn settle(&self, token: &str, quiet: Duration, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut state = self.shared.lock();
        loop {
            let now = Instant::now();
            let latest = state
                .connections
                .iter()
                .filter(|c| c.stream.is_some() && c.tokens.iter().any(|t| t == token))
                .filter_map(|c| c.last)
                .max();
            let Some(latest) = latest else { return };
            let quiet_at = latest + quiet;
            if now >= quiet_at || now >= deadline {
                return;
            }
            let wait = quiet_at.min(deadline) - now;
            state = match self.shared.changed.wait_timeout(state, wait) {
                Ok((state, _)) => state,
                Err(e) => e.into_inner().0,
            };
        }
    }

    /// What the origin recorded for `token`; its script and its requests
    /// are dropped, so a long run keeps no more than its connections' bytes.
    pub fn take(&self, token: &str) -> Recording {
        let mut state = self.shared.lock();
        state.scripts.remove(token);
        let places: Vec<usize> = state
            .arrivals
            .iter()
            .filter(|(_, a)| a.token.as_deref() == Some(token))
            .map(|(place, _)| *place)
            .collect();
        let arrivals: Vec<Arrival> = places
            .iter()
            .filter_map(|place| state.arrivals.remove(place))
            .collect();
        let connections = state
            .connections
            .iter()
            .enumerate()
            .filter(|(_, c)| c.tokens.iter().any(|t| t == token))
            .map(|(i, c)| (i + 1, c.bytes.clone()))
            .collect();
        Recording {
            arrivals,
            connections,
        }
    }

    /// What an origin serving a docroot recorded for one case: the requests
    /// with `token` in their path, those whose numbers `named` (the marks
    /// on answers the client read: `untagged N`), and the requests without
    /// a token that came on the same connections for which `in_content`
    /// holds (the client sent their bytes as content); with the answer the
    /// origin wrote to each.
    pub fn take_named(
        &self,
        token: &str,
        named: &[usize],
        in_content: &dyn Fn(&Arrival) -> bool,
    ) -> Taken {
        let mut state = self.shared.lock();
        let claimed = |place: &usize, a: &Arrival| {
            a.token.as_deref() == Some(token) || (a.token.is_none() && named.contains(place))
        };
        let lines: Vec<usize> = (state.arrivals.iter())
            .filter(|(place, a)| claimed(place, a))
            .map(|(_, a)| a.connection)
            .collect();
        let places: Vec<usize> = (state.arrivals.iter())
            .filter(|(place, a)| {
                claimed(place, a)
                    || (a.token.is_none() && lines.contains(&a.connection) && in_content(a))
            })
            .map(|(place, _)| *place)
            .collect();
        let mut arrivals = Vec::new();
        let mut answers = Vec::new();
        for place in &places {
            if let Some(arrival) = state.arrivals.remove(place) {
                arrivals.push(arrival);
                answers.push(state.answers.remove(place));
            }
        }
        let mut numbers: Vec<usize> = arrivals.iter().map(|a| a.connection).collect();
        numbers.extend(
            state
                .connections
                .iter()
                .enumerate()
                .filter(|(_, c)| c.tokens.iter().any(|t| t == token))
                .map(|(i, _)| i + 1),
        );
        numbers.sort_unstable();
        numbers.dedup();
        let connections = numbers
            .into_iter()
            .map(|n| (n, state.connections[n - 1].bytes.clone()))
            .collect();
        Taken {
            recording: Recording {
                arrivals,
                connections,
            },
            places,
            answers,
        }
    }
}

/// What an origin serving a docroot recorded for one case
/// ([`Origin::take_named`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Taken {
    /// The case's requests and the connections that carried them.
    pub recording: Recording,
    /// Each request's number among all the origin read (what `untagged N`
    /// names), in the order of `recording.arrivals`.
    pub places: Vec<usize>,
    /// The head of the origin's answer to each request, if it answered.
    pub answers: Vec<Option<Vec<u8>>>,
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocked accept so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        for connection in &mut self.shared.lock().connections {
            if let Some(stream) = connection.stream.take() {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let number = {
            let mut state = shared.lock();
            state.connections.push(Connection {
                stream: stream.try_clone().ok(),
                ..Connection::default()
            });
            state.connections.len()
        };
        let shared = Arc::clone(shared);
        thread::spawn(move || serve(stream, number, &shared));
    }
}

/// The token in a request-target: the path segment after [`PATH_PREFIX`],
/// in origin-form or absolute-form.
pub fn token_of(target: &str) -> Option<String> {
    let at = target.find(PATH_PREFIX)? + PATH_PREFIX.len();
    let token: String = target[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    (!token.is_empty()).then_some(token)
}

/// `target` with the case's token taken out (`/conformance-chain/TOKEN/x`
/// is `/x`): the path an origin serving a docroot answers.
pub fn untokened(target: &str) -> String {
    match token_of(target) {
        Some(token) => target.replace(&format!("{PATH_PREFIX}{token}"), ""),
        None => target.to_string(),
    }
}

/// Reads one connection to its end: records, parses, answers.
fn serve(mut stream: TcpStream, number: usize, shared: &Shared) {
    if let Some((root, timeout)) = &shared.root {
        return serve_root(stream, number, shared, root, *timeout);
    }
    let _ = stream.set_read_timeout(Some(IDLE));
    let mut reader = Reader::default();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !record(shared, number, &chunk[..n]) {
            break;
        }
        reader.buf.extend_from_slice(&chunk[..n]);
        if !reader.parse(&mut stream, number, shared) {
            // Answered with a close, or the framing is lost: record the rest.
            record_rest(&mut stream, &mut chunk, number, shared);
            break;
        }
    }
    closed(shared, number, &stream);
}

/// Records what still comes on a connection the origin no longer reads
/// requests from.
fn record_rest(stream: &mut TcpStream, chunk: &mut [u8], number: usize, shared: &Shared) {
    while let Ok(n @ 1..) = stream.read(chunk) {
        if !record(shared, number, &chunk[..n]) {
            return;
        }
    }
}

/// Notes that connection `number` is done with, and closes it.
fn closed(shared: &Shared, number: usize, stream: &TcpStream) {
    let mut state = shared.lock();
    let connection = &mut state.connections[number - 1];
    connection.stream = None;
    connection.last = Some(Instant::now());
    drop(state);
    shared.changed.notify_all();
    let _ = stream.shutdown(Shutdown::Both);
}

/// Records bytes that came on connection `number`; false once it has
/// carried [`RECORD_LIMIT`] bytes.
fn record(shared: &Shared, number: usize, bytes: &[u8]) -> bool {
    let mut state = shared.lock();
    let connection = &mut state.connections[number - 1];
    connection.last = Some(Instant::now());
    let room = RECORD_LIMIT.saturating_sub(connection.bytes.len());
    connection
        .bytes
        .extend_from_slice(&bytes[..bytes.len().min(room)]);
    drop(state);
    shared.changed.notify_all();
    bytes.len() <= room
}

/// Reads one connection to its end as the reference server reads it,
/// answering from the docroot: records, parses, answers; a request head
/// left incomplete for the server's read timeout is answered 408.
fn serve_root(
    mut stream: TcpStream,
    number: usize,
    shared: &Shared,
    root: &Responder,
    timeout: Duration,
) {
    let _ = stream.set_read_timeout(Some(timeout));
    let mut reader = RootReader::default();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let mut hooks = RootHooks {
                    stream: &mut stream,
                    number,
                    shared,
                };
                reader.timed_out(root, &mut hooks);
                break;
            }
            Err(_) => break,
        };
        if !record(shared, number, &chunk[..n]) {
            break;
        }
        let mut hooks = RootHooks {
            stream: &mut stream,
            number,
            shared,
        };
        if !reader.read(&chunk[..n], root, &mut hooks) {
            let _ = stream.shutdown(Shutdown::Write);
            record_rest(&mut stream, &mut chunk, number, shared);
            break;
        }
    }
    closed(shared, number, &stream);
}

/// The origin's side of a docroot connection's reader.
struct RootHooks<'a> {
    stream: &'a mut TcpStream,
    number: usize,
    shared: &'a Shared,
}

impl Hooks for RootHooks<'_> {
    fn arrive(&mut self, head: Head, framing_error: Option<String>) -> (usize, String) {
        let place = arrive(self.shared, self.number, head, framing_error.as_ref());
        let state = self.shared.lock();
        let mark = match state.arrivals.get(&place) {
            Some(Arrival {
                token: Some(token),
                index,
                ..
            }) => format!("{token} {index}"),
            _ => format!("{UNTAGGED} {place}"),
        };
        (place, mark)
    }

    fn asked(&self, target: &str) -> String {
        untokened(target)
    }

    fn mark_field(&self) -> &'static str {
        MARK_FIELD
    }

    fn content(&mut self, place: usize, body: Option<Vec<u8>>, error: Option<String>) {
        if let Some(arrival) = self.shared.lock().arrivals.get_mut(&place) {
            arrival.body = body;
            if error.is_some() {
                arrival.framing_error = error;
            }
        }
    }

    fn write(&mut self, place: Option<usize>, bytes: &[u8], head: Option<Vec<u8>>) -> bool {
        if let (Some(place), Some(head)) = (place, head) {
            self.shared.lock().answers.insert(place, head);
        }
        match place {
            Some(place) => write(self.stream, self.shared, place, bytes),
            None => self.stream.write_all(bytes).is_ok(),
        }
    }
}

/// The requests of one connection, read as the bytes come.
#[derive(Default)]
struct Reader {
    buf: Vec<u8>,
    /// The request whose body is still arriving: its arrival's place, its
    /// framing, and where its body starts in `buf`.
    pending: Option<(usize, Framing, usize)>,
}

impl Reader {
    /// Reads and answers every complete request in the buffer; false once
    /// the connection is to be read no further.
    fn parse(&mut self, stream: &mut TcpStream, number: usize, shared: &Shared) -> bool {
        loop {
            let (place, framing, start) = match self.pending {
                Some(pending) => pending,
                None => match read_request(&self.buf) {
                    Read::Partial => return true,
                    Read::Broken(_) => return false,
                    Read::Head(head, len) => {
                        let framing = message::framing(&head, true, false);
                        let expects = head
                            .members("expect")
                            .iter()
                            .any(|m| m.eq_ignore_ascii_case(b"100-continue"));
                        let place = arrive(shared, number, head, framing.as_ref().err());
                        match framing {
                            Ok(framing) => {
                                if expects && framing != Framing::Empty {
                                    interim_continue(stream, shared, place);
                                }
                                (place, framing, len)
                            }
                            Err(_) => {
                                answer_refusal(stream, shared, place);
                                return false;
                            }
                        }
                    }
                },
            };
            self.pending = Some((place, framing, start));
            match body_end(framing, &self.buf[start..]) {
                BodyEnd::Partial => return true,
                BodyEnd::Broken => {
                    if let Some(arrival) = shared.lock().arrivals.get_mut(&place) {
                        arrival.framing_error = Some("the chunked framing is broken".into());
                    }
                    answer_refusal(stream, shared, place);
                    return false;
                }
                BodyEnd::At(n) => {
                    let body = self.buf[start..start + n].to_vec();
                    self.buf.drain(..start + n);
                    self.pending = None;
                    if let Some(arrival) = shared.lock().arrivals.get_mut(&place) {
                        arrival.body = Some(body);
                    }
                    if !answer(stream, shared, place) {
                        return false;
                    }
                }
            }
        }
    }
}

/// Records a request head; returns its place among all arrivals.
fn arrive(shared: &Shared, number: usize, head: Head, framing: Option<&String>) -> usize {
    let token = token_of(&head.target).or_else(|| {
        head.values(CASE_FIELD)
            .find_map(|v| token_of(&String::from_utf8_lossy(v)))
    });
    let mut state = shared.lock();
    let index = 1 + state
        .arrivals
        .values()
        .filter(|a| a.token.is_some() && a.token == token)
        .count();
    if let Some(token) = &token {
        let tokens = &mut state.connections[number - 1].tokens;
        if !tokens.contains(token) {
            tokens.push(token.clone());
        }
    }
    let place = state.arrived;
    state.arrived += 1;
    state.arrivals.insert(
        place,
        Arrival {
            connection: number,
            index,
            token,
            head,
            body: None,
            framing_error: framing.cloned(),
        },
    );
    place
}

/// The script of the arrival at `place`: its token, its number, whether
/// it carries `Upgrade`, and its case's script if the case is running.
fn script_of(shared: &Shared, place: usize) -> Scripted {
    let state = shared.lock();
    let arrival = state.arrivals.get(&place);
    let token = arrival.and_then(|a| a.token.clone());
    Scripted {
        script: token.as_ref().and_then(|t| state.scripts.get(t)).cloned(),
        token,
        index: arrival.map_or(0, |a| a.index),
        upgrade: arrival.is_some_and(|a| a.head.values("upgrade").next().is_some()),
        last: arrival.is_some_and(|a| wants_close(&a.head)),
    }
}

/// What the origin knows of an arrival when it answers it.
struct Scripted {
    /// The case's token, from the request's path.
    token: Option<String>,
    /// The request's number among its case's requests.
    index: usize,
    /// Whether the request carries `Upgrade`.
    upgrade: bool,
    /// Whether the request asks for the connection to close after its
    /// answer (RFC 9112 §9.6: the origin then closes).
    last: bool,
    /// The case's script.
    script: Option<Script>,
}

/// Writes the script's `continue` bytes for the arrival at `place`, whose
/// head asks for `100-continue` and whose content is still to come.
fn interim_continue(stream: &mut TcpStream, shared: &Shared, place: usize) {
    if let Scripted {
        token: Some(token),
        index,
        script: Some(script),
        ..
    } = script_of(shared, place)
    {
        if !script.continue_with.is_empty() {
            let bytes = fill(&script.continue_with, &token, &index.to_string());
            write(stream, shared, place, &bytes);
        }
    }
}

/// Answers the arrival at `place` as its case scripts; false when the
/// script closes the connection.
fn answer(stream: &mut TcpStream, shared: &Shared, place: usize) -> bool {
    let Scripted {
        token,
        index,
        upgrade,
        last,
        script,
    } = script_of(shared, place);
    let Some((token, script)) = token.clone().zip(script) else {
        let mark = token.unwrap_or_else(|| "none".into());
        let body = format!("no case has the token {mark}\n");
        let bytes = format!(
            "HTTP/1.1 404 Not Found\r\n{MARK_FIELD}: {mark} {index}\r\nCache-Control: no-store\r\n\
             Date: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            format_imf_fixdate(SystemTime::now()),
            body.len()
        );
        return write(stream, shared, place, bytes.as_bytes());
    };
    if script.hold {
        return true;
    }
    if script.drop.contains(&index) {
        // No answer: the front sees the connection close instead.
        let _ = stream.shutdown(Shutdown::Write);
        return false;
    }
    if upgrade && !script.upgrade.is_empty() {
        let bytes = fill(&script.upgrade, &token, &index.to_string());
        write(stream, shared, place, &bytes);
        let _ = stream.shutdown(Shutdown::Write);
        return false;
    }
    let mut bytes = fill(&script.response, &token, &index.to_string());
    bytes.extend(fill(&script.after, &token, UNSOLICITED));
    if write(stream, shared, place, &bytes) && !script.close && !last {
        return true;
    }
    let _ = stream.shutdown(Shutdown::Write);
    false
}

/// Whether the request ends its connection after its answer (RFC 9112
/// §9.6: "A server that receives a "close" connection option MUST initiate
/// closure of the connection after it sends the final response to the
/// request that contained the "close" connection option"; §9.3: an
/// HTTP/1.0 request without `keep-alive` is not persistent). A front that
/// sends each request with `Connection: close` may read an answer to its
/// end.
fn wants_close(head: &Head) -> bool {
    let options = head.members("connection");
    let has = |option: &[u8]| options.iter().any(|o| o.eq_ignore_ascii_case(option));
    has(b"close") || (head.version == "HTTP/1.0" && !has(b"keep-alive"))
}

/// A 400 for a request whose framing the origin cannot read, then a close.
fn answer_refusal(stream: &mut TcpStream, shared: &Shared, place: usize) {
    let (token, index) = {
        let state = shared.lock();
        let arrival = state.arrivals.get(&place);
        (
            arrival
                .and_then(|a| a.token.clone())
                .unwrap_or_else(|| "none".into()),
            arrival.map_or(0, |a| a.index),
        )
    };
    let bytes = format!(
        "HTTP/1.1 400 Bad Request\r\n{MARK_FIELD}: {token} {index}\r\nCache-Control: no-store\r\n\
         Date: {}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        format_imf_fixdate(SystemTime::now())
    );
    write(stream, shared, place, bytes.as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
}

fn write(stream: &mut TcpStream, shared: &Shared, place: usize, bytes: &[u8]) -> bool {
    let ok = stream.write_all(bytes).is_ok();
    let mut state = shared.lock();
    if let Some(number) = state.arrivals.get(&place).map(|a| a.connection) {
        state.connections[number - 1].last = Some(Instant::now());
    }
    drop(state);
    shared.changed.notify_all();
    ok
}

/// The origin's mark on a response the client read: the value of
/// [`MARK_FIELD`], or else the marked content (`origin TOKEN N`), for a
/// front that dropped the field; `None` for a response the origin did not
/// write.
pub fn mark_of(response: &Response) -> Option<String> {
    if let Some(mark) = response.header(MARK_FIELD) {
        return Some(mark.to_string());
    }
    let body = response.body.strip_prefix(b"origin ")?;
    let end = body.iter().position(|&b| b == b'\n')?;
    Some(String::from_utf8_lossy(&body[..end]).into_owned())
}

/// An origin template's bytes for the answer `TOKEN N`.
pub fn fill(pieces: &[Piece], token: &str, index: &str) -> Vec<u8> {
    let body = format!("origin {token} {index}\n");
    let mut out = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Bytes(bytes) => out.extend_from_slice(bytes),
            Piece::Mark => out.extend_from_slice(
                format!("{MARK_FIELD}: {token} {index}\r\nCache-Control: no-store\r\n").as_bytes(),
            ),
            Piece::Body => out.extend_from_slice(body.as_bytes()),
            Piece::BodyLength => out.extend_from_slice(body.len().to_string().as_bytes()),
            Piece::Date => {
                out.extend_from_slice(format_imf_fixdate(SystemTime::now()).as_bytes());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::parse::decode_pieces;

    #[test]
    fn token_then_from_origin_and_absolute_form() {
        assert_eq!(
            token_of("/conformance-chain/ab12/x?y").as_deref(),
            Some("ab12")
        );
        assert_eq!(
            token_of("http://h/conformance-chain/ab12").as_deref(),
            Some("ab12")
        );
        assert_eq!(token_of("/other"), None);
    }

    #[test]
    fn close_option_or_http10_without_keep_alive_then_the_last_answer() {
        let close = |text: &str| {
            let Read::Head(head, _) = read_request(text.as_bytes()) else {
                panic!("no head: {text:?}")
            };
            wants_close(&head)
        };
        assert!(close("GET / HTTP/1.1\r\nConnection: x, Close\r\n\r\n"));
        assert!(close("GET / HTTP/1.0\r\n\r\n"));
        assert!(!close("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
        assert!(!close("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"));
        assert!(!close("GET / HTTP/1.1\r\n\r\n"));
    }

    #[test]
    fn fill_then_marks_the_answer() {
        let pieces = decode_pieces("A\\r\\n{mark}L: {body-length}\\r\\n\\r\\n{body}").unwrap();
        assert_eq!(
            fill(&pieces, "t1", "2"),
            b"A\r\nX-Conformance-Origin: t1 2\r\nCache-Control: no-store\r\nL: 12\r\n\r\norigin t1 2\n"
        );
    }

    #[test]
    fn origin_then_records_answers_and_attributes() {
        let origin = Origin::bind("127.0.0.1:0").unwrap();
        let pieces = decode_pieces(super::super::model::DEFAULT_RESPONSE).unwrap();
        origin.register(
            "t1",
            Script {
                response: pieces,
                ..Script::default()
            },
        );
        let mut client = TcpStream::connect(origin.local_addr()).unwrap();
        let sent =
            b"POST /conformance-chain/t1/a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi\
                     GET /conformance-chain/t1/b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
        client.write_all(sent).unwrap();
        let mut answers = Vec::new();
        let mut chunk = [0u8; 4096];
        while !String::from_utf8_lossy(&answers).contains("origin t1 2\n") {
            let n = client.read(&mut chunk).unwrap();
            assert!(
                n > 0,
                "closed early: {:?}",
                String::from_utf8_lossy(&answers)
            );
            answers.extend_from_slice(&chunk[..n]);
        }
        let text = String::from_utf8_lossy(&answers);
        assert_eq!(text.matches("X-Conformance-Origin: t1 ").count(), 2);
        // The second request said close: the origin closed after its answer.
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(client.read(&mut chunk).unwrap(), 0);
        drop(client);
        origin.settle("t1", Duration::ZERO, Duration::from_secs(1));
        let recording = origin.take("t1");
        let targets: Vec<(&str, usize)> = recording
            .arrivals
            .iter()
            .map(|a| (a.head.target.as_str(), a.index))
            .collect();
        assert_eq!(
            targets,
            [
                ("/conformance-chain/t1/a", 1),
                ("/conformance-chain/t1/b", 2)
            ]
        );
        assert_eq!(recording.arrivals[0].body.as_deref(), Some(&b"hi"[..]));
        assert_eq!(recording.connections, [(1, sent.to_vec())]);
    }

    fn read_to_end(mut client: TcpStream) -> String {
        let mut all = Vec::new();
        let _ = client.read_to_end(&mut all);
        String::from_utf8_lossy(&all).into_owned()
    }

    #[test]
    fn scripts_then_continue_upgrade_drop_and_the_case_field() {
        let origin = Origin::bind("127.0.0.1:0").unwrap();
        let pieces = |t: &str| decode_pieces(t).unwrap();
        origin.register(
            "t2",
            Script {
                response: pieces("HTTP/1.1 200 OK\\r\\n{mark}Content-Length: 0\\r\\n\\r\\n"),
                drop: vec![2],
                continue_with: pieces("HTTP/1.1 100 Continue\\r\\n\\r\\n"),
                upgrade: pieces("HTTP/1.1 101 Switching Protocols\\r\\n{mark}\\r\\n"),
                ..Script::default()
            },
        );
        // The head alone: the origin says 100 before the content comes.
        let mut client = TcpStream::connect(origin.local_addr()).unwrap();
        client
            .write_all(
                b"POST * HTTP/1.1\r\nX-Conformance-Case: /conformance-chain/t2\r\n\
                  Expect: 100-continue\r\nContent-Length: 2\r\n\r\n",
            )
            .unwrap();
        let mut interim = [0u8; 25];
        client.read_exact(&mut interim).unwrap();
        assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
        // The content, then a second request, which the script drops.
        client
            .write_all(b"hiGET /conformance-chain/t2/b HTTP/1.1\r\n\r\n")
            .unwrap();
        assert_eq!(
            read_to_end(client),
            "HTTP/1.1 200 OK\r\nX-Conformance-Origin: t2 1\r\nCache-Control: no-store\r\n\
             Content-Length: 0\r\n\r\n"
        );
        let mut client = TcpStream::connect(origin.local_addr()).unwrap();
        client
            .write_all(b"GET /conformance-chain/t2/c HTTP/1.1\r\nUpgrade: x/1\r\n\r\n")
            .unwrap();
        assert_eq!(
            read_to_end(client),
            "HTTP/1.1 101 Switching Protocols\r\nX-Conformance-Origin: t2 3\r\n\
             Cache-Control: no-store\r\n\r\n"
        );
        origin.settle("t2", Duration::ZERO, Duration::from_secs(1));
        let targets: Vec<(String, usize)> = origin
            .take("t2")
            .arrivals
            .iter()
            .map(|a| (a.head.target.clone(), a.index))
            .collect();
        assert_eq!(
            targets,
            [
                ("*".to_string(), 1),
                ("/conformance-chain/t2/b".to_string(), 2),
                ("/conformance-chain/t2/c".to_string(), 3)
            ]
        );
    }
}
