//! A connection's turn in the threaded variant: how many of a pipelining
//! client's requests one turn answers.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::AtomicBool;

use super::{resume, Context, Idle, Turn};
use crate::handler::Handler;
use crate::limits::{MIN_SEND_RATE, READ_TIMEOUT, REQUEST_BUDGET, SEND_RATE_WINDOW};

const GET_HELLO: &[u8] = b"GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n";

fn context() -> Context {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/root");
    Context {
        handler: Handler::new(std::fs::canonicalize(root).unwrap(), None).unwrap(),
        read_timeout: READ_TIMEOUT,
        min_send_rate: MIN_SEND_RATE,
        send_rate_window: SEND_RATE_WINDOW,
        quiet: true,
        small_files: Default::default(),
    }
}

/// The responses that have arrived at `client`, without waiting for more.
fn responses_arrived(client: &mut TcpStream) -> usize {
    client.set_nonblocking(true).unwrap();
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match client.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    let text = String::from_utf8(received).unwrap();
    assert!(
        text.ends_with("Hello, world!\n") || text.is_empty(),
        "{text}"
    );
    text.matches("HTTP/1.1 200 OK\r\n").count()
}

/// A client that pipelined more requests than a turn's budget is answered
/// the budget, then waits its turn with the rest already read; the turn
/// after the last answer finds nothing more and waits for the socket.
#[test]
fn a_turn_answers_at_most_the_request_budget_of_pipelined_requests() {
    let ctx = context();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (stream, _) = listener.accept().unwrap();
    let sent = 2 * REQUEST_BUDGET + 3;
    // On loopback the bytes are in the server's receive queue once written.
    client.write_all(&GET_HELLO.repeat(sent)).unwrap();
    let stopping = AtomicBool::new(false);
    let mut idle = Idle::accepted(&stream, &ctx).unwrap();
    let mut answered = Vec::new();
    loop {
        let mut handed_over = false;
        let turn = resume(&stream, &ctx, idle, &stopping, &mut || handed_over = true);
        assert!(!handed_over, "no read or write had to wait");
        let Turn::Idle(next) = turn else {
            panic!("the connection closed");
        };
        answered.push((responses_arrived(&mut client), next.has_requests()));
        if !next.has_requests() {
            break;
        }
        idle = next;
    }
    assert_eq!(
        answered,
        [(REQUEST_BUDGET, true), (REQUEST_BUDGET, true), (3, false)]
    );
}
