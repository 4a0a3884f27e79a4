//! A bounded load test: many persistent connections, good and malformed
//! requests mixed, every response checked, memory measured.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use server::Mode;

use crate::support::{fixtures_root, rss_kib, TestServer};

/// One request of the mix and the response it must get.
struct Case {
    request: &'static [u8],
    status_line: &'static str,
    /// The body, or for HEAD the `Content-Length` of the body it has not.
    body: Vec<u8>,
    head: bool,
    /// Whether the server must close after it (a framing error).
    closes: bool,
}

/// The mix: files, HEAD, a range, 404, 405 with a body to discard, 501,
/// 301, and malformed requests that close the connection.
fn cases() -> Vec<Case> {
    let file = |name: &str| fs::read(fixtures_root().join(name)).unwrap();
    let problem = |code: u16, message: &str| {
        let reason = server::response::reason(code);
        format!("{code} {reason}: {message}\n").into_bytes()
    };
    let case = |request, status_line, body, head, closes| Case {
        request,
        status_line,
        body,
        head,
        closes,
    };
    vec![
        case(
            b"GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n",
            "HTTP/1.1 200 OK",
            file("hello.txt"),
            false,
            false,
        ),
        case(
            b"HEAD /style.css HTTP/1.1\r\nHost: a\r\n\r\n",
            "HTTP/1.1 200 OK",
            file("style.css"),
            true,
            false,
        ),
        case(
            b"GET /index.html HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n",
            "HTTP/1.1 200 OK",
            file("index.html"),
            false,
            false,
        ),
        case(
            b"GET /missing.txt HTTP/1.1\r\nHost: a\r\n\r\n",
            "HTTP/1.1 404 Not Found",
            problem(404, "no such file"),
            false,
            false,
        ),
        case(
            b"POST /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
            "HTTP/1.1 405 Method Not Allowed",
            problem(405, "this server serves files with GET and HEAD only"),
            false,
            false,
        ),
        case(
            b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=7-\r\n\r\n",
            "HTTP/1.1 206 Partial Content",
            b"world!\n".to_vec(),
            false,
            false,
        ),
        case(
            b"GET /data.json HTTP/1.1\r\nHost: a\r\n\r\n",
            "HTTP/1.1 200 OK",
            file("data.json"),
            false,
            false,
        ),
        case(
            b"get / HTTP/1.1\r\nHost: a\r\n\r\n",
            "HTTP/1.1 501 Not Implemented",
            problem(501, "unknown method (methods are case-sensitive)"),
            false,
            false,
        ),
        case(
            b"GET /docs HTTP/1.1\r\nHost: a\r\n\r\n",
            "HTTP/1.1 301 Moved Permanently",
            b"301 Moved Permanently: /docs/\n".to_vec(),
            false,
            false,
        ),
        case(
            b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
            problem(400, "whitespace between a field-name and its colon"),
            false,
            true,
        ),
        case(
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
            problem(400, "Transfer-Encoding and Content-Length in one request"),
            false,
            true,
        ),
    ]
}

/// What the clients saw.
#[derive(Debug, Default)]
struct Tally {
    requests: usize,
    unexpected: Vec<String>,
    connections: usize,
}

/// A client on its own connections: sends `count` requests of the mix,
/// starting at `offset`, one at a time, reconnecting when the server
/// closes — after every response when `one_per_connection`.
fn client(server_addr: SocketAddr, offset: usize, count: usize, one_per_connection: bool) -> Tally {
    let cases = cases();
    let mut tally = Tally::default();
    let connect = |tally: &mut Tally| {
        tally.connections += 1;
        let stream = TcpStream::connect(server_addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        BufReader::new(stream)
    };
    let mut conn = connect(&mut tally);
    for i in 0..count {
        let case = &cases[(offset + i) % cases.len()];
        conn.get_mut().write_all(case.request).expect("write");
        tally.requests += 1;
        let closes = case.closes || one_per_connection;
        if let Err(problem) = check_reply(&mut conn, case, closes) {
            tally.unexpected.push(format!(
                "{:?}: {problem}",
                String::from_utf8_lossy(case.request)
            ));
            conn = connect(&mut tally);
        } else if closes {
            conn = connect(&mut tally);
        }
    }
    tally
}

/// Reads one response and compares it with what `case` must get, closing
/// the connection after it when `closes`.
fn check_reply(conn: &mut BufReader<TcpStream>, case: &Case, closes: bool) -> Result<(), String> {
    let mut status_line = String::new();
    conn.read_line(&mut status_line)
        .map_err(|e| e.to_string())?;
    if status_line.trim_end() != case.status_line {
        return Err(format!("status line {status_line:?}"));
    }
    let (mut length, mut close) = (None, false);
    loop {
        let mut line = String::new();
        conn.read_line(&mut line).map_err(|e| e.to_string())?;
        match line.trim_end().split_once(": ") {
            _ if line == "\r\n" => break,
            Some(("Content-Length", n)) => length = n.parse::<usize>().ok(),
            Some(("Connection", "close")) => close = true,
            Some(_) => {}
            None => return Err(format!("header line {line:?}")),
        }
    }
    if length != Some(case.body.len()) {
        return Err(format!("Content-Length {length:?}"));
    }
    if close != closes {
        return Err(format!("Connection: close is {close}"));
    }
    if !case.head {
        let mut body = vec![0u8; case.body.len()];
        conn.read_exact(&mut body).map_err(|e| e.to_string())?;
        if body != case.body {
            return Err(format!("body {:?}", String::from_utf8_lossy(&body)));
        }
    }
    if closes {
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).map_err(|e| e.to_string())?;
        if !rest.is_empty() {
            return Err("bytes after a closing response".into());
        }
    }
    Ok(())
}

/// Runs `requests` over `connections` concurrent clients; returns the
/// merged tally.
fn load(server: &TestServer, requests: usize, connections: usize) -> Tally {
    let (addr, one_per_connection) = (server.addr, server.closes_always());
    let handles: Vec<_> = (0..connections)
        .map(|c| {
            let count = requests / connections + usize::from(c < requests % connections);
            thread::spawn(move || client(addr, c, count, one_per_connection))
        })
        .collect();
    let mut total = Tally::default();
    for handle in handles {
        let tally = handle.join().expect("a client panicked");
        total.requests += tally.requests;
        total.connections += tally.connections;
        total.unexpected.extend(tally.unexpected);
    }
    total
}

#[test]
fn twenty_thousand_mixed_requests_over_64_connections_all_answered_in_flat_memory() {
    const REQUESTS: usize = 20_000;
    const CONNECTIONS: usize = 64;
    /// Growth allowed over the whole run: the pool of 64 workers, their
    /// buffers and the allocator's arenas, but not a leak per request.
    const MAX_GROWTH_KIB: u64 = 32 * 1024;
    /// Growth allowed over the second half, once the pool is warm.
    const MAX_WARM_GROWTH_KIB: u64 = 8 * 1024;
    let server = TestServer::start(Mode::Threaded);
    let before = rss_kib();
    let started = Instant::now();
    let first = load(&server, REQUESTS / 2, CONNECTIONS);
    let half = rss_kib();
    let second = load(&server, REQUESTS - REQUESTS / 2, CONNECTIONS);
    let elapsed = started.elapsed();
    let after = rss_kib();
    server.stop();
    let stopped = rss_kib();
    let requests = first.requests + second.requests;
    let unexpected: Vec<&String> = first.unexpected.iter().chain(&second.unexpected).collect();
    eprintln!(
        "load (threaded): {requests} requests over {CONNECTIONS} concurrent clients \
({} connections, {} unexpected) in {elapsed:.2?}, {:.0} requests/s; \
RSS {before} KiB before, {half} KiB at half, {after} KiB after, {stopped} KiB once stopped",
        first.connections + second.connections,
        unexpected.len(),
        requests as f64 / elapsed.as_secs_f64(),
    );
    assert_eq!(requests, REQUESTS);
    assert!(
        unexpected.is_empty(),
        "{} unexpected responses, the first: {:#?}",
        unexpected.len(),
        &unexpected[..unexpected.len().min(10)]
    );
    let grown = after.saturating_sub(before);
    assert!(grown < MAX_GROWTH_KIB, "RSS grew by {grown} KiB");
    let warm_grown = after.saturating_sub(half);
    assert!(
        warm_grown < MAX_WARM_GROWTH_KIB,
        "RSS grew by {warm_grown} KiB over the second half"
    );
}

#[test]
fn five_thousand_mixed_requests_on_the_single_variant_all_answered() {
    const REQUESTS: usize = 5_000;
    /// Clients waiting in the listen backlog while one is served.
    const CLIENTS: usize = 8;
    let server = TestServer::start(Mode::Single);
    let started = Instant::now();
    let tally = load(&server, REQUESTS, CLIENTS);
    let elapsed = started.elapsed();
    server.stop();
    eprintln!(
        "load (single): {} requests from {CLIENTS} concurrent clients, one connection each, \
{} unexpected, in {elapsed:.2?}",
        tally.requests,
        tally.unexpected.len(),
    );
    assert_eq!(
        (tally.requests, tally.connections),
        (REQUESTS, REQUESTS + CLIENTS)
    );
    assert!(
        tally.unexpected.is_empty(),
        "{} unexpected responses, the first: {:#?}",
        tally.unexpected.len(),
        &tally.unexpected[..tally.unexpected.len().min(10)]
    );
}
