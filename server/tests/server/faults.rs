//! Hostile peers against both variants: slowloris, a flood of idle
//! connections, resets, half-closes. After each, the server still serves,
//! and once it has stopped, every descriptor it opened is closed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use rstest::rstest;
use rstest_reuse::apply;

use crate::both_modes;
use server::{Config, Mode};
use socket2::{Domain, SockRef, Socket, Type};

use crate::support::{
    assert_refused, assert_reply, finish_writing, is_closed, pairs, parse_head, process_fds,
    quiet_config, read_head, read_reply, server_fds, FileValidators, Reply, TempRoot, TestServer,
    TEXT,
};

const GET_HELLO: &[u8] = b"GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n";
const HELLO: &[u8] = b"Hello from a temporary root.\n";
const GET_LARGE: &[u8] = b"GET /large.bin HTTP/1.1\r\nHost: a\r\n\r\n";
/// Large enough that a response is still being written when the client
/// walks away (socket buffers hold a few MiB at most).
const LARGE: u64 = 8 * 1024 * 1024;

/// A temporary root with `hello.txt` and `large.bin`, served by `mode`
/// with `config` applied, and its descriptors as they were before.
fn start(
    mode: Mode,
    tag: &str,
    config: impl FnOnce(&mut Config),
) -> (TempRoot, TestServer, Descriptors) {
    let root = TempRoot::new(&format!("{tag}-{}", mode.name()));
    root.file("hello.txt", HELLO).large_file("large.bin", LARGE);
    let mut settings = quiet_config(root.root());
    config(&mut settings);
    let process_before = process_fds();
    let server = TestServer::start_with(mode, settings);
    let baseline = server_fds(server.addr, &root.root());
    let fds = Descriptors {
        addr: server.addr,
        root: root.root(),
        baseline,
        peak: baseline,
        process_before,
    };
    (root, server, fds)
}

/// The descriptors a server and its clients hold, sampled during a flood
/// and checked once the server has stopped.
struct Descriptors {
    addr: SocketAddr,
    root: PathBuf,
    /// Of the server and its clients, after it started.
    baseline: usize,
    peak: usize,
    /// Of the whole process, before the server started.
    process_before: usize,
}

impl Descriptors {
    /// Counts now, to show the flood really held descriptors. It reads
    /// every TCP socket of the machine: a few samples per test, not one per
    /// request.
    fn sample(&mut self) {
        self.peak = self.peak.max(server_fds(self.addr, &self.root));
    }

    /// Stops the server (`run` returns only when every connection has
    /// closed: no sleep, no polling) and checks that what it opened is
    /// closed. The test's own sockets must be dropped first.
    fn check_after_stop(self, server: TestServer, flood: &str) {
        server.stop();
        let after = server_fds(self.addr, &self.root);
        // The whole process's count is exact only with --test-threads=1:
        // otherwise other tests open and close descriptors meanwhile.
        eprintln!(
            "{flood}: descriptors of the server and its clients {} before, {} at peak, \
{after} after; of the process {} before, {} after",
            self.baseline,
            self.peak,
            self.process_before,
            process_fds()
        );
        assert!(self.peak > self.baseline, "{flood}: the count saw nothing");
        assert_eq!(after, self.baseline, "{flood}: descriptors leaked");
    }
}

/// Asks again while the server answers 503: a worker unregisters only
/// after its client has seen the close, so a slot can lag a moment.
fn assert_served_again(server: &TestServer) {
    for _ in 0..1000 {
        let (reply, _) = server.exchange(GET_HELLO);
        if reply.status_line == "HTTP/1.1 503 Service Unavailable" {
            continue;
        }
        assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
        assert_eq!(reply.body, HELLO);
        return;
    }
    panic!("the server did not recover");
}

/// Aborts the connection: with SO_LINGER 0 the close sends RST, not FIN
/// (RFC 9293 §3.10.4, ABORT).
fn reset(stream: TcpStream) {
    SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER");
    drop(stream);
}

/// Sends a head that never ends, one byte per `pace`, and returns the
/// server's answer. A timer restarted by each byte would never fire.
fn slowloris(
    mut stream: TcpStream,
    pace: Duration,
    started: &Barrier,
    answered: &AtomicUsize,
) -> Reply {
    let mut head = b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nX-Slow: ".to_vec();
    head.resize(head.len() + 200, b'a');
    stream.set_read_timeout(Some(pace)).unwrap();
    for (i, &byte) in head.iter().enumerate() {
        // After the server's 408 and close, a write may fail: the answer
        // is already waiting to be read.
        let _ = stream.write_all(&[byte]);
        if i == 0 {
            started.wait();
        }
        // The wait for an answer is the pacing.
        let mut first = [0u8; 1];
        if stream.peek(&mut first).is_ok() {
            answered.fetch_add(1, Ordering::SeqCst);
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let reply = read_reply(&mut stream, false);
            assert!(is_closed(&mut stream), "a slow client was not closed");
            return reply;
        }
    }
    panic!("a slow client was never cut off");
}

#[apply(both_modes)]
fn slowloris_is_cut_off_with_408_while_another_client_is_served(mode: Mode) {
    const SLOW_CLIENTS: usize = 3;
    // Threaded: long enough that the good client is surely answered while
    // every slow one is held. Single: short, since the slow ones are served
    // one after another and the good client waits behind them.
    let timeout = match mode {
        Mode::Single => Duration::from_millis(250),
        Mode::Threaded => Duration::from_millis(1000),
    };
    let (_root, server, mut fds) = start(mode, "slowloris", |c| c.read_timeout = timeout);
    let started = Arc::new(Barrier::new(SLOW_CLIENTS + 1));
    let answered = Arc::new(AtomicUsize::new(0));
    let slow: Vec<_> = (0..SLOW_CLIENTS)
        .map(|_| {
            let stream = server.connect();
            let (started, answered) = (Arc::clone(&started), Arc::clone(&answered));
            thread::spawn(move || slowloris(stream, timeout / 2, &started, &answered))
        })
        .collect();
    started.wait();

    let waited = Instant::now();
    let (reply, stream) = server.exchange(GET_HELLO);
    let waited = waited.elapsed();
    assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
    assert_eq!(reply.body, HELLO);
    if mode == Mode::Threaded {
        assert_eq!(
            answered.load(Ordering::SeqCst),
            0,
            "the good client was served only after a slow one was cut off"
        );
    }
    fds.sample();
    drop(stream);
    for handle in slow {
        let reply = handle.join().expect("a slow client failed");
        assert_refused(&reply, 408, "the request did not arrive in time", true);
    }
    eprintln!(
        "slowloris ({}): {SLOW_CLIENTS} slow clients cut off with 408, the good client waited {waited:?}",
        mode.name()
    );
    fds.check_after_stop(server, &format!("slowloris ({})", mode.name()));
}

#[apply(both_modes)]
fn idle_flood_meets_the_cap_and_the_server_recovers(mode: Mode) {
    // In waves smaller than the listen backlog (128, std's): past it the
    // kernel drops a connect's SYN and the client retries a second later,
    // which would measure TCP, not the server.
    const WAVE: usize = 100;
    const CAP: usize = 16;
    // The single variant closes idle connections one read timeout after
    // another, and a socket timeout lasts at least a kernel tick (some
    // 8 ms here): a wave costs it a second, more on a loaded machine.
    let (waves, timeout) = match mode {
        Mode::Single => (2, Duration::from_millis(1)),
        Mode::Threaded => (3, Duration::from_millis(200)),
    };
    let patience = Duration::from_secs(30);
    let (_root, server, mut fds) = start(mode, "idle-flood", |c| {
        c.read_timeout = timeout;
        c.max_connections = CAP;
    });
    let started = Instant::now();
    let (mut refused, mut closed) = (0, 0);
    for _ in 0..waves {
        let mut idle: Vec<TcpStream> = (0..WAVE).map(|_| server.connect()).collect();
        for stream in &idle {
            // The last of a wave waits for all before it.
            stream.set_read_timeout(Some(patience)).unwrap();
        }
        fds.sample();
        for stream in &mut idle {
            let mut first = [0u8; 1];
            match stream.peek(&mut first) {
                Ok(0) => closed += 1,
                Ok(_) => {
                    let reply = read_reply(stream, false);
                    assert_refused(&reply, 503, "too many connections; try again", true);
                    assert!(is_closed(stream));
                    refused += 1;
                }
                Err(e) => panic!("an idle connection was neither answered nor closed: {e}"),
            }
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "idle flood ({}): {} idle connections in waves of {WAVE}, {refused} refused with 503, \
{closed} closed by the read timeout, in {elapsed:?}",
        mode.name(),
        waves * WAVE,
    );
    match mode {
        Mode::Single => assert_eq!((refused, closed), (0, waves * WAVE)),
        // The first CAP of a wave are held until their timeout; the wave
        // is sent long before, so most of the rest meet the cap.
        Mode::Threaded => {
            assert!(closed >= waves * CAP, "{closed} held");
            assert!(refused >= waves * WAVE / 2, "only {refused} refused");
        }
    }
    assert_served_again(&server);
    fds.check_after_stop(server, &format!("idle flood ({})", mode.name()));
}

#[apply(both_modes)]
fn resets_mid_response_and_mid_request_leave_the_server_serving(mode: Mode) {
    const RESETS: usize = 20;
    let (_root, server, mut fds) = start(mode, "resets", |_| {});
    // Threaded: a persistent connection opened before the resets is
    // served after them, by a worker that never went away.
    let mut keeper = (mode == Mode::Threaded).then(|| {
        let mut stream = server.connect();
        stream.write_all(GET_HELLO).unwrap();
        assert_eq!(read_reply(&mut stream, false).body, HELLO);
        stream
    });
    for i in 0..RESETS {
        let mut stream = server.connect();
        if i % 2 == 0 {
            stream.write_all(GET_LARGE).unwrap();
            // The head and a first slice: the response is in flight.
            let mut first = vec![0u8; 64 * 1024];
            stream.read_exact(&mut first).unwrap();
            assert!(first.starts_with(b"HTTP/1.1 200 OK\r\n"));
        } else {
            stream.write_all(b"GET /large.bin HTTP/1.1\r\nHo").unwrap();
        }
        if i < 2 {
            fds.sample();
        }
        reset(stream);
    }
    assert_served_again(&server);
    if let Some(stream) = &mut keeper {
        stream.write_all(GET_HELLO).unwrap();
        assert_eq!(read_reply(stream, false).body, HELLO);
    }
    drop(keeper);
    fds.check_after_stop(server, &format!("{RESETS} resets ({})", mode.name()));
}

#[apply(both_modes)]
fn half_close_after_the_requests_still_gets_every_response(mode: Mode) {
    const ROUNDS: usize = 10;
    let (_root, server, mut fds) = start(mode, "half-close", |_| {});
    for round in 0..ROUNDS {
        let mut stream = server.connect();
        stream.write_all(&[GET_LARGE, GET_HELLO].concat()).unwrap();
        // RFC 9112 §9.6: a half-close ends what the client sends, not
        // what it is willing to receive.
        finish_writing(&stream);
        if round == 0 {
            fds.sample();
        }
        let large = read_reply(&mut stream, false);
        assert_eq!(large.status_line, "HTTP/1.1 200 OK");
        assert_eq!(large.body.len() as u64, LARGE);
        if mode == Mode::Threaded {
            assert_eq!(read_reply(&mut stream, false).body, HELLO);
        }
        assert!(is_closed(&mut stream));
    }
    assert_served_again(&server);
    fds.check_after_stop(server, &format!("{ROUNDS} half-closes ({})", mode.name()));
}

/// Regression (issue 11: only the single variant caught a panic): a
/// handler that panics costs its own connection, which closes unanswered,
/// and nothing else. After each panic a request is answered with the exact
/// 200: on a new connection (single), on a persistent connection opened
/// before the panics (threaded); then a new client is served. With a cap of
/// 3 the threaded pool has four workers at most: four panics would leave
/// none to accept, had a panic ended its worker.
#[apply(both_modes)]
fn handler_panic_closes_its_connection_and_the_server_goes_on(mode: Mode) {
    const PANICS: usize = 4;
    let (root, server, mut fds) = start(mode, "panic", |c| {
        c.panic_on_target = Some("/panic".into());
        c.max_connections = 3;
    });
    let mut keeper = (mode == Mode::Threaded).then(|| server.connect());
    let validators = FileValidators::of(&root.root().join("hello.txt"));
    let head = validators.head(
        &[("Content-Type", TEXT)],
        HELLO.len() as u64,
        server.closes_always(),
    );
    let assert_served = |keeper: &mut Option<TcpStream>| {
        let reply = match keeper {
            Some(stream) => {
                stream.write_all(GET_HELLO).unwrap();
                read_reply(stream, false)
            }
            None => server.exchange(GET_HELLO).0,
        };
        assert_reply(&reply, "HTTP/1.1 200 OK", &pairs(&head), HELLO);
    };
    assert_served(&mut keeper);
    for _ in 0..PANICS {
        let mut stream = server.send(b"GET /panic HTTP/1.1\r\nHost: a\r\n\r\n");
        fds.sample();
        assert!(
            is_closed(&mut stream),
            "the panicking connection was answered"
        );
        assert_served(&mut keeper);
    }
    drop(keeper);
    assert_served(&mut None);
    fds.check_after_stop(server, &format!("{PANICS} panics ({})", mode.name()));
}

/// A window of one second for the minimum send rate instead of ten, so a
/// test of it takes seconds; the rate is the default.
fn short_rate_window(config: &mut Config) {
    config.send_rate_window = Duration::from_secs(1);
}

/// A connection whose receive buffer is small, so the server's writes meet
/// the client's reads soon, not after megabytes of buffering.
fn connect_with_small_buffer(server: &TestServer) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&server.addr.into()).unwrap();
    let stream = TcpStream::from(socket);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Regression (issue 11): a client reading an 8 MiB file at 512 B/s held
/// the single variant as long as it liked, since the write timeout applied
/// to each write and each made a little progress. Now the response falls
/// below the minimum send rate and is abandoned: the connection is reset
/// (or closed) before the file was sent, and a client that connected
/// meanwhile gets its exact 200. The slow client reads 64 octets at a time
/// with blocking reads, eight times a second, and checks for a reset after
/// each; it gives up after 15 s of that, some seven one-second windows more
/// than the server may take.
#[apply(both_modes)]
fn reader_below_the_minimum_send_rate_is_cut_off_and_the_next_client_served(mode: Mode) {
    const READ: usize = 64;
    const PACE: Duration = Duration::from_millis(125);
    const MOST_READS: usize = 15 * 8;
    let (root, server, mut fds) = start(mode, "slow-reader", short_rate_window);
    let mut slow = connect_with_small_buffer(&server);
    slow.write_all(GET_LARGE).unwrap();
    let mut received = Vec::new();
    let mut chunk = [0u8; READ];
    let mut next = None;
    let mut ended = None;
    for _ in 0..MOST_READS {
        match slow.read(&mut chunk) {
            Ok(0) => ended = Some("closed"),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => ended = Some("reset"),
            Err(e) => panic!("the slow read failed: {e}"),
        }
        // A reset is pending even while what arrived before it is unread:
        // the socket's error says so without reading the rest.
        if let Ok(Some(e)) = slow.take_error() {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
            ended = Some("reset");
        }
        if ended.is_some() {
            break;
        }
        // The response is under way: a second client asks meanwhile.
        next.get_or_insert_with(|| {
            fds.sample();
            server.send(GET_HELLO)
        });
        // The slow client's own behaviour, not a wait for the server: it
        // reads 512 B/s. Nothing it could wait on marks the pace (the
        // server always has more to send), and a reset still ends the loop
        // at the next read.
        thread::sleep(PACE);
    }
    let ended = ended.expect("a reader at 512 B/s was not cut off within 15 s of reading");
    assert!(
        received.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{:?}",
        String::from_utf8_lossy(&received[..received.len().min(64)])
    );
    assert!((received.len() as u64) < LARGE, "the whole file was sent");
    let mut next = next.expect("a second client");
    let reply = read_reply(&mut next, false);
    let validators = FileValidators::of(&root.root().join("hello.txt"));
    let head = validators.head(
        &[("Content-Type", TEXT)],
        HELLO.len() as u64,
        server.closes_always(),
    );
    assert_reply(&reply, "HTTP/1.1 200 OK", &pairs(&head), HELLO);
    eprintln!(
        "slow reader ({}): {ended} after {} octets of {LARGE}",
        mode.name(),
        received.len()
    );
    drop((slow, next));
    fds.check_after_stop(server, &format!("slow reader ({})", mode.name()));
}

/// A client that reads a 64 MiB file as fast as it can is never taken for
/// a slow one, even measured over one-second windows: it gets the exact
/// head and every octet, and (threaded) the connection stays open.
#[apply(both_modes)]
fn reader_at_full_speed_gets_all_of_a_64_mib_file(mode: Mode) {
    const SIZE: u64 = 64 * 1024 * 1024;
    let root = TempRoot::new(&format!("fast-reader-{}", mode.name()));
    root.file("hello.txt", HELLO).large_file("big.bin", SIZE);
    let mut config = quiet_config(root.root());
    short_rate_window(&mut config);
    let server = TestServer::start_with(mode, config);
    let mut stream = server.send(b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n");
    let head = read_head(&mut stream);
    let validators = FileValidators::of(&root.root().join("big.bin"));
    let expected = validators.head(
        &[("Content-Type", "application/octet-stream")],
        SIZE,
        server.closes_always(),
    );
    assert_reply(
        &parse_head(&head),
        "HTTP/1.1 200 OK",
        &pairs(&expected),
        b"",
    );
    let mut received = 0u64;
    let mut chunk = vec![0u8; 256 * 1024];
    while received < SIZE {
        match stream.read(&mut chunk).unwrap() {
            0 => panic!("closed after {received} of {SIZE} octets"),
            n => received += n as u64,
        }
    }
    assert_eq!(received, SIZE);
    if server.closes_always() {
        assert!(is_closed(&mut stream));
    } else {
        stream.write_all(GET_HELLO).unwrap();
        assert_eq!(read_reply(&mut stream, false).body, HELLO);
    }
}
