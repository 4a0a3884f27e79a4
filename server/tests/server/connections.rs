//! Connection management: keep-alive, pipelining, timeouts, the cap, and
//! floods of bad input.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use rstest::rstest;
use rstest_reuse::apply;

use crate::both_modes;
use server::Mode;

use crate::support::{
    assert_hello_200, assert_next_answered, assert_refused, assert_reply, finish_writing,
    fixtures_root, is_closed, pairs, quiet_config, read_reply, FileValidators, TestServer, NEXT,
};

const GET_HELLO: &[u8] = b"GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n";

fn fast_timeout_server(mode: Mode) -> TestServer {
    let mut config = quiet_config(fixtures_root());
    config.read_timeout = Duration::from_millis(300);
    TestServer::start_with(mode, config)
}

#[test]
fn threaded_keeps_the_connection_for_several_requests() {
    let server = TestServer::start(Mode::Threaded);
    let mut stream = server.connect();
    for _ in 0..3 {
        stream.write_all(GET_HELLO).unwrap();
        let reply = read_reply(&mut stream, false);
        // Exactly the file, and no `Connection: close`.
        assert_hello_200(&server, &reply, false);
    }
}

#[test]
fn threaded_answers_pipelined_requests_in_order() {
    let server = TestServer::start(Mode::Threaded);
    let mut stream = server.send(
        b"GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n\
GET /missing HTTP/1.1\r\nHost: a\r\n\r\n\
HEAD /style.css HTTP/1.1\r\nHost: a\r\n\r\n\
GET /data.json HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    let first = read_reply(&mut stream, false);
    let second = read_reply(&mut stream, false);
    let third = read_reply(&mut stream, true);
    let fourth = read_reply(&mut stream, false);
    assert_hello_200(&server, &first, false);
    assert_refused(&second, 404, "no such file", false);
    let file_200 = |name: &str, content_type: &str, close: bool| {
        let content = std::fs::read(fixtures_root().join(name)).unwrap();
        let head = FileValidators::of_fixture(name).head(
            &[("Content-Type", content_type)],
            content.len() as u64,
            close,
        );
        (head, content)
    };
    let (head, _) = file_200("style.css", "text/css; charset=utf-8", false);
    assert_reply(&third, "HTTP/1.1 200 OK", &pairs(&head), b"");
    let (head, content) = file_200("data.json", "application/json", true);
    assert_reply(&fourth, "HTTP/1.1 200 OK", &pairs(&head), &content);
    assert!(is_closed(&mut stream));
}

/// The threaded variant's accepting worker answers a connection's first
/// request itself, and lets another worker accept before it waits for the
/// second: a client whose next request is always there already (it sends
/// one ahead) must not keep a new client from being served.
#[test]
fn threaded_serves_a_new_client_while_another_sends_back_to_back() {
    const MOST: usize = 20_000;
    let server = TestServer::start(Mode::Threaded);
    let stop = Arc::new(AtomicBool::new(false));
    let first_answered = Arc::new(Barrier::new(2));
    let mut busy = server.connect();
    let busy = {
        let (stop, first_answered) = (Arc::clone(&stop), Arc::clone(&first_answered));
        thread::spawn(move || {
            busy.write_all(GET_HELLO).unwrap();
            let mut answered = 0;
            while answered < MOST && !stop.load(Ordering::SeqCst) {
                busy.write_all(GET_HELLO).unwrap();
                assert_eq!(read_reply(&mut busy, false).status_line, "HTTP/1.1 200 OK");
                answered += 1;
                if answered == 1 {
                    first_answered.wait();
                }
            }
            assert_eq!(read_reply(&mut busy, false).status_line, "HTTP/1.1 200 OK");
            answered
        })
    };
    first_answered.wait();
    let (reply, _stream) = server.exchange(GET_HELLO);
    stop.store(true, Ordering::SeqCst);
    assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
    let answered = busy.join().unwrap();
    assert!(
        answered < MOST,
        "the new client was served only after {answered} requests of the busy one"
    );
}

/// The minimum send rate judges each response on its own: a keep-alive
/// client whose requests come further apart than the rate's window is
/// never cut off for the pauses between them.
#[test]
fn threaded_judges_the_send_rate_per_response_not_across_pauses() {
    let mut config = quiet_config(fixtures_root());
    config.send_rate_window = Duration::from_millis(100);
    let server = TestServer::start_with(Mode::Threaded, config);
    let mut stream = server.connect();
    for _ in 0..4 {
        stream.write_all(GET_HELLO).unwrap();
        assert_hello_200(&server, &read_reply(&mut stream, false), false);
        // The client's own pause, longer than the window.
        thread::sleep(Duration::from_millis(150));
    }
}

#[test]
fn single_answers_the_first_pipelined_request_and_closes() {
    let server = TestServer::start(Mode::Single);
    let mut stream = server.send(&[GET_HELLO, GET_HELLO].concat());
    let reply = read_reply(&mut stream, false);
    assert_hello_200(&server, &reply, false);
    assert!(is_closed(&mut stream));
}

#[apply(both_modes)]
fn body_on_get_is_discarded_and_the_next_request_is_in_sync(mode: Mode) {
    let server = TestServer::start(mode);
    // The body looks like a request: answering it would be a desync.
    let smuggled = b"GET /missing HTTP/1.1\r\nHost: a\r\n\r\n";
    let first = format!(
        "GET /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        smuggled.len()
    );
    let mut stream = server.send(&[first.as_bytes(), smuggled, NEXT].concat());
    assert_eq!(read_reply(&mut stream, false).body, b"Hello, world!\n");
    assert_next_answered(&server, &mut stream);
}

#[apply(both_modes)]
fn chunked_smuggling_attempt_is_refused_and_closed(mode: Mode) {
    let server = TestServer::start(mode);
    let (reply, mut stream) = server.exchange(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n\
0\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert_refused(
        &reply,
        400,
        "Transfer-Encoding and Content-Length in one request",
        true,
    );
    assert!(
        is_closed(&mut stream),
        "the hidden request must not be answered"
    );
}

#[apply(both_modes)]
fn partial_request_then_silence_is_408(mode: Mode) {
    let server = fast_timeout_server(mode);
    let mut stream = server.send(b"GET /hello.txt HTTP/1.1\r\nHost: a\r\n");
    let reply = read_reply(&mut stream, false);
    assert_refused(&reply, 408, "the request did not arrive in time", true);
    assert!(is_closed(&mut stream));
}

#[apply(both_modes)]
fn slow_trickle_is_cut_off_with_408(mode: Mode) {
    // Each byte resets no clock: the whole head must arrive within the timeout.
    let server = fast_timeout_server(mode);
    let mut stream = server.connect();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut reply = None;
    for &byte in b"GET /hello.txt HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
        let _ = stream.write_all(&[byte]);
        // The read is the pacing: it waits up to 50 ms for the server's answer.
        let mut peek = [0u8; 1];
        if stream.peek(&mut peek).is_ok() {
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            reply = Some(read_reply(&mut stream, false));
            break;
        }
    }
    let reply = reply.expect("the server never cut the trickle off");
    assert_refused(&reply, 408, "the request did not arrive in time", true);
}

#[apply(both_modes)]
fn idle_connection_is_closed_silently(mode: Mode) {
    let server = fast_timeout_server(mode);
    let mut stream = server.connect();
    assert!(
        is_closed(&mut stream),
        "an idle connection gets no response, only a close"
    );
}

#[apply(both_modes)]
fn client_half_close_mid_request_ends_quietly(mode: Mode) {
    let server = TestServer::start(mode);
    let mut stream = server.send(b"GET /hello.txt HTTP/1.1\r\nHo");
    finish_writing(&stream);
    assert!(is_closed(&mut stream));
    let (reply, _) = server.exchange(GET_HELLO);
    assert_hello_200(&server, &reply, false);
}

#[test]
fn threaded_answers_503_past_the_connection_cap_and_recovers() {
    let mut config = quiet_config(fixtures_root());
    config.max_connections = 2;
    let server = TestServer::start_with(Mode::Threaded, config);
    // Two connections that have each been answered are certainly registered.
    let mut held: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut stream = server.send(GET_HELLO);
            assert_eq!(
                read_reply(&mut stream, false).status_line,
                "HTTP/1.1 200 OK"
            );
            stream
        })
        .collect();
    let (reply, mut refused) = server.exchange(GET_HELLO);
    assert_refused(&reply, 503, "too many connections; try again", true);
    assert!(is_closed(&mut refused));
    // Free one slot: the server closes after this response.
    let mut leaving = held.pop().unwrap();
    leaving
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    read_reply(&mut leaving, false);
    assert!(is_closed(&mut leaving));
    drop(leaving);
    // The worker unregisters right after its close; a few refusals may
    // still arrive before it has.
    let served = (0..1000).any(|_| server.exchange(GET_HELLO).0.status_line == "HTTP/1.1 200 OK");
    assert!(served, "the server did not recover a slot");
}

#[apply(both_modes)]
fn flood_of_malformed_requests_leaves_the_server_serving(mode: Mode) {
    let server = TestServer::start(mode);
    let garbage: [&[u8]; 8] = [
        b"\x00\x01\x02\x03\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        b"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
        b"\xff\xfe GET",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"GET /../../../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
    ];
    for round in 0..25 {
        for bytes in garbage {
            let mut stream = server.connect();
            let _ = stream.write_all(bytes);
            finish_writing(&stream);
            // Some are answered, some only closed; reading to the end is enough.
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut stream, &mut sink);
            assert!(
                !String::from_utf8_lossy(&sink).contains("root:"),
                "round {round}"
            );
        }
    }
    let (reply, _) = server.exchange(GET_HELLO);
    assert_hello_200(&server, &reply, false);
}
