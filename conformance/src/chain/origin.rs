//! The origin behind the front: it accepts every connection the front
//! opens and reads it to its end, recording it byte for byte as it arrives
//! ([`super::recording`]) and answering each request as its case scripts
//! ([`super::answer`]) or, bound with a docroot, as the reference server
//! answers it ([`super::docroot`]). The cases' runs register their scripts
//! here, wait for their bytes to settle, and take what was recorded.
//!
//! Every read is bounded: [`RECORD_LIMIT`] bytes a connection, and
//! [`IDLE`] without a byte before the origin lets a connection go.

use super::answer::{write, Reader};
use super::docroot::{Hooks, RootReader};
use super::message::Head;
use super::model::Script;
use super::recording::{arrive, closed, record, Connection, Shared, State};
use server::respond::Responder;
use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use super::answer::{fill, mark_of, MARK_FIELD, UNSOLICITED};
pub use super::recording::{
    token_of, untokened, Arrival, Recording, Taken, CASE_FIELD, PATH_PREFIX, RECORD_LIMIT,
};

/// How long a connection may stay silent before the origin closes it.
pub const IDLE: Duration = Duration::from_secs(30);

/// What a mark names instead of a token when the request carried none:
/// `untagged N`, the request's number among all the origin read, counted
/// from 0 (an origin serving a docroot, [`Origin::bind_serving`]).
pub const UNTAGGED: &str = "untagged";

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
        self.shared.lock().take(token)
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
        self.shared.lock().take_named(token, named, in_content)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::parse::decode_pieces;

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
