//! Connections: pipelining, an origin that fails or is slow, retries,
//! `Expect: 100-continue`, and the `http-server --mode proxy` binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;

use crate::support::{answer, from_proxy, quiet, read_to_close, text, Origin, Step, TestProxy};

fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// RFC 9112 §9.3.2: pipelined requests are answered "in the same order
/// that the requests were received", each on its own upstream connection.
#[test]
fn pipelined_requests_are_answered_in_order() {
    let origin = Origin::start(vec![
        answer(&ok("one")),
        answer(&ok("two")),
        answer(&ok("three")),
    ]);
    let proxy = TestProxy::start(origin.addr);
    let via = proxy.via("1.1");
    let got = proxy.exchange(
        b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx\
GET /3 HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert_eq!(
        got,
        format!(
            "HTTP/1.1 200 OK\r\nDate: <now>\r\n{via}\r\nContent-Length: 3\r\n\r\none\
HTTP/1.1 200 OK\r\nDate: <now>\r\n{via}\r\nContent-Length: 3\r\n\r\ntwo\
HTTP/1.1 200 OK\r\nDate: <now>\r\n{via}\r\nContent-Length: 5\r\n\r\nthree"
        )
    );
    assert_eq!(
        origin.received(),
        [
            format!("GET /1 HTTP/1.1\r\nHost: h\r\n{via}\r\nConnection: close\r\n\r\n"),
            format!(
                "POST /2 HTTP/1.1\r\nHost: h\r\n{via}\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"
            ),
            format!("GET /3 HTTP/1.1\r\nHost: h\r\n{via}\r\nConnection: close\r\n\r\n"),
        ]
    );
}

/// RFC 9110 §9.2.2: "A proxy MUST NOT automatically retry non-idempotent
/// requests"; RFC 9112 §9.3.2: an intermediary whose inbound connection
/// fails "SHOULD forward any received responses and then close": the first
/// answer is relayed, the failed POST is answered 502 once, the connection
/// closes and the request after it is never forwarded.
#[test]
fn an_origin_that_drops_a_post_is_a_502_never_retried() {
    let origin = Origin::start(vec![answer(&ok("first")), vec![Step::Request, Step::Close]]);
    let proxy = TestProxy::start(origin.addr);
    let via = proxy.via("1.1");
    let got = proxy.exchange(
        b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi\
GET /3 HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert_eq!(
        got,
        format!(
            "HTTP/1.1 200 OK\r\nDate: <now>\r\n{via}\r\nContent-Length: 5\r\n\r\nfirst{}",
            from_proxy(
                "502 Bad Gateway",
                "the origin closed the connection without a complete response",
                true
            )
        )
    );
    assert_eq!(
        origin.received(),
        [
            format!("GET /1 HTTP/1.1\r\nHost: h\r\n{via}\r\nConnection: close\r\n\r\n"),
            format!(
                "POST /2 HTTP/1.1\r\nHost: h\r\n{via}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
            ),
        ]
    );
}

/// RFC 9110 §15.6.3: 502 when the origin cannot be reached.
#[test]
fn an_unreachable_origin_is_a_502() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let proxy = TestProxy::start(addr);
    assert_eq!(
        proxy.exchange(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
        from_proxy("502 Bad Gateway", "the origin could not be reached", true)
    );
}

/// RFC 9110 §15.6.5: 504 when the origin does not answer in time (here,
/// a timeout of a tenth of a second, and an origin that never answers).
#[test]
fn a_silent_origin_is_a_504() {
    let origin = Origin::start(vec![vec![Step::Request]]);
    let mut config = quiet(origin.addr);
    config.upstream_timeout = Duration::from_millis(100);
    let proxy = TestProxy::start_with(config);
    assert_eq!(
        proxy.exchange(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
        from_proxy(
            "504 Gateway Timeout",
            "the origin did not answer in time",
            true
        )
    );
    assert_eq!(
        origin.received(),
        [format!(
            "GET / HTTP/1.1\r\nHost: h\r\n{}\r\nConnection: close\r\n\r\n",
            proxy.via("1.1")
        )]
    );
}

/// RFC 9110 §10.1.1: a proxy that receives a 100-continue expectation
/// MUST "forward the request toward the origin server by sending a
/// corresponding request-line and header section to the next inbound
/// server"; the origin's 100 is relayed (§15.2), then the content goes on.
#[test]
fn expect_100_continue_forwards_the_head_and_relays_the_origins_100() {
    let content = b"the content";
    let origin = Origin::start(vec![vec![
        Step::Head,
        Step::Send(b"HTTP/1.1 100 Continue\r\n\r\n".to_vec()),
        Step::Content(content.len()),
        Step::Send(ok("stored")),
        Step::Close,
    ]]);
    let proxy = TestProxy::start(origin.addr);
    let mut client = proxy.connect();
    client
        .write_all(
            format!(
                "PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
                content.len()
            )
            .as_bytes(),
        )
        .unwrap();
    let via = proxy.via("1.1");
    let continued = format!("HTTP/1.1 100 Continue\r\n{via}\r\n\r\n");
    let mut interim = vec![0u8; continued.len()];
    client.read_exact(&mut interim).unwrap();
    assert_eq!(text(&interim), continued);
    client.write_all(content).unwrap();
    client.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(
        read_to_close(&mut client),
        format!("HTTP/1.1 200 OK\r\nDate: <now>\r\n{via}\r\nContent-Length: 6\r\n\r\nstored")
    );
    assert_eq!(
        origin.received(),
        [format!(
            "PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n{via}\r\nContent-Length: {}\r\n\
Connection: close\r\n\r\n{}",
            content.len(),
            text(content)
        )]
    );
}

/// When the origin answers a 100-continue request with a final status at
/// once, the client gets it without sending its content, and the
/// connection closes (the content was never read).
#[test]
fn expect_100_continue_answered_at_once_closes_without_the_content() {
    let origin = Origin::start(vec![vec![
        Step::Head,
        Step::Send(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n".to_vec()),
        Step::Close,
    ]]);
    let proxy = TestProxy::start(origin.addr);
    let mut client = proxy.connect();
    client
        .write_all(
            b"PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 99999\r\n\r\n",
        )
        .unwrap();
    let via = proxy.via("1.1");
    assert_eq!(
        read_to_close(&mut client),
        format!(
            "HTTP/1.1 413 Content Too Large\r\nDate: <now>\r\n{via}\r\nContent-Length: 0\r\n\
Connection: close\r\n\r\n"
        )
    );
    assert_eq!(
        origin.received(),
        [format!(
            "PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n{via}\r\nContent-Length: 99999\r\n\
Connection: close\r\n\r\n"
        )]
    );
}

/// The binary: `--mode proxy --upstream HOST:PORT` prints the real port
/// and forwards; a missing or misplaced `--upstream` is exit 2.
#[test]
fn the_binary_runs_as_a_proxy() {
    let origin = Origin::answering(&ok("via the binary"));
    let mut child = Running(
        Command::cargo_bin("http-server")
            .unwrap()
            .args([
                "--mode",
                "proxy",
                "--bind",
                "127.0.0.1:0",
                "--quiet",
                "--upstream",
            ])
            .arg(origin.addr.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_owned();
    let port = addr.rsplit(':').next().unwrap().to_owned();
    let mut client = TcpStream::connect(&addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    client.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let got = read_to_close(&mut client);
    assert_eq!(
        got,
        format!(
            "HTTP/1.1 200 OK\r\nDate: <now>\r\nVia: 1.1 http-server:{port}\r\nContent-Length: 14\r\n\
Connection: close\r\n\r\nvia the binary"
        )
    );
    for (args, line) in [
        (
            &["--mode", "proxy"][..],
            "http-server: --mode proxy needs --upstream HOST:PORT (see --help)\n",
        ),
        (
            &["--upstream", "127.0.0.1:1"],
            "http-server: --upstream needs --mode proxy (see --help)\n",
        ),
    ] {
        let out = Command::cargo_bin("http-server")
            .unwrap()
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            (out.status.code(), text(&out.stderr)),
            (Some(2), line.to_owned())
        );
    }
}

/// A child process, stopped by its process id when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

/// RFC 9110 §15.5.9: a request head that does not arrive within the read
/// timeout (here a tenth of a second) is answered 408, and the connection
/// closes; nothing reaches the origin.
#[test]
fn a_request_head_cut_short_is_a_408_after_the_read_timeout() {
    let origin = Origin::silent();
    let mut config = quiet(origin.addr);
    config.read_timeout = Duration::from_millis(100);
    let proxy = TestProxy::start_with(config);
    let mut client = proxy.connect();
    client.write_all(b"GET / HTTP/1.1\r\nHost: h\r\n").unwrap();
    assert_eq!(
        read_to_close(&mut client),
        from_proxy(
            "408 Request Timeout",
            "the request did not arrive in time",
            true
        )
    );
    assert_eq!(origin.received(), Vec::<String>::new());
}
