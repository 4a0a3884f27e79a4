//! `Expect: 100-continue` (RFC 9110 §10.1.1, §15.2) against both variants:
//! the client sends the head and waits; the server answers at once, with
//! the final status when the head decides it, else with 100 (Continue).
//! Every wait below is a read the server must answer: a server that waited
//! for the content would fail the test by the client's read timeout.

use std::io::Write;

use rstest::rstest;
use rstest_reuse::apply;

use crate::both_modes;
use server::Mode;

use crate::support::{
    assert_hello_200, assert_hello_200_closing, assert_next_answered, assert_refused, is_closed,
    read_head, read_reply, FileValidators, Reply, TestServer, HELLO, NEXT,
};

const CONTINUE: &str = "HTTP/1.1 100 Continue\r\n\r\n";

/// Sends `head`, reads the 100 (Continue), sends `content` and [`NEXT`];
/// returns the final reply. [`NEXT`] is answered on the threaded variant
/// (the connection stayed in sync), and the single variant closes.
fn continue_then_send(server: &TestServer, head: &[u8], content: &[u8]) -> Reply {
    let mut stream = server.send(head);
    // Exactly the status line and the empty line: no Content-Length, no
    // Transfer-Encoding (RFC 9110 §8.6, RFC 9112 §6.1), no content.
    assert_eq!(read_head(&mut stream), CONTINUE);
    stream.write_all(&[content, NEXT].concat()).unwrap();
    let reply = read_reply(&mut stream, head.starts_with(b"HEAD "));
    assert_next_answered(server, &mut stream);
    reply
}

#[apply(both_modes)]
#[case::content_length(
    b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    b"hello",
    "HTTP/1.1 200 OK",
    "14",
    HELLO
)]
#[case::chunked(
    b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"5\r\nhello\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK",
    "14",
    HELLO
)]
#[case::case_insensitive(
    b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n",
    b"hello",
    "HTTP/1.1 200 OK",
    "14",
    HELLO
)]
#[case::content_that_looks_like_a_request(
    b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 36\r\n\r\n",
    b"GET /missing HTTP/1.1\r\nHost: a\r\n\r\n\r\n",
    "HTTP/1.1 200 OK",
    "14",
    HELLO
)]
#[case::head(
    b"HEAD /hello.txt HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    b"hello",
    "HTTP/1.1 200 OK",
    "14",
    b""
)]
#[case::range_is_206(
    b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nRange: bytes=0-4\r\nContent-Length: 5\r\n\r\n",
    b"hello",
    "HTTP/1.1 206 Partial Content",
    "5",
    b"Hello"
)]
fn expect_100_continue_on_a_served_request_is_100_then_its_answer(
    mode: Mode,
    #[case] head: &[u8],
    #[case] content: &[u8],
    #[case] status_line: &str,
    #[case] content_length: &str,
    #[case] body: &[u8],
) {
    let server = TestServer::start(mode);
    let reply = continue_then_send(&server, head, content);
    assert_eq!(reply.status_line, status_line);
    assert_eq!(reply.header("Content-Length"), Some(content_length));
    assert_eq!(reply.body, body);
}

/// The head decides the answer: it comes at once, with `Connection: close`
/// (RFC 9110 §10.1.1: the server "SHOULD indicate whether it intends to
/// close the connection ... or continue reading the request content"), and
/// the server closes without the content.
#[apply(both_modes)]
#[case::post(
    b"POST /hello.txt HTTP/1.1",
    "",
    405,
    "this server serves files with GET and HEAD only"
)]
#[case::missing(b"GET /missing.txt HTTP/1.1", "", 404, "no such file")]
#[case::forbidden(
    b"GET /../etc/passwd HTTP/1.1",
    "",
    403,
    "the path leaves the served directory"
)]
#[case::unknown_method(
    b"BREW /hello.txt HTTP/1.1",
    "",
    501,
    "unknown method (methods are case-sensitive)"
)]
#[case::bad_escape(
    b"GET /%zz HTTP/1.1",
    "",
    400,
    "a % in the path is not followed by two hex digits"
)]
#[case::precondition(
    b"GET /hello.txt HTTP/1.1",
    "If-Match: \"nope\"\r\n",
    412,
    "the file does not meet the request's If-Match or If-Unmodified-Since"
)]
#[case::unsatisfiable_range(
    b"GET /hello.txt HTTP/1.1",
    "Range: bytes=-0\r\n",
    416,
    "no requested range lies within the 14 bytes of the file"
)]
#[case::another_expectation(
    b"GET /hello.txt HTTP/1.1",
    "Expect: something-else\r\n",
    417,
    "this server meets no expectation but 100-continue"
)]
fn expect_100_continue_on_a_refused_request_is_the_final_status_at_once_and_closes(
    mode: Mode,
    #[values("Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n")] framing: &str,
    #[case] line: &[u8],
    #[case] fields: &str,
    #[case] code: u16,
    #[case] message: &str,
) {
    let server = TestServer::start(mode);
    let head = [
        line,
        format!("\r\nHost: a\r\nExpect: 100-continue\r\n{fields}{framing}\r\n").as_bytes(),
    ]
    .concat();
    let mut stream = server.send(&head);
    let reply = read_reply(&mut stream, false);
    if code == 416 {
        assert_eq!(reply.status_line, "HTTP/1.1 416 Range Not Satisfiable");
        assert_eq!(reply.header("Content-Range"), Some("bytes */14"));
        assert_eq!(reply.header("Connection"), Some("close"));
    } else {
        assert_refused(&reply, code, message, true);
    }
    assert!(
        is_closed(&mut stream),
        "the connection stays open after {code}"
    );
}

#[apply(both_modes)]
fn expect_100_continue_on_a_redirect_is_301_at_once_and_closes(mode: Mode) {
    let server = TestServer::start(mode);
    let mut stream = server.send(
        b"GET /docs HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    let reply = read_reply(&mut stream, false);
    assert_eq!(reply.status_line, "HTTP/1.1 301 Moved Permanently");
    assert_eq!(reply.header("Connection"), Some("close"));
    assert!(is_closed(&mut stream));
}

/// A body larger than the server discards is never read: sending 100
/// would ask for it in vain, so the final answer comes at once, and closes.
#[apply(both_modes)]
fn expect_100_continue_with_content_over_the_limit_is_answered_at_once_and_closed(mode: Mode) {
    let server = TestServer::start(mode);
    let head = format!(
        "GET /hello.txt HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        server::limits::MAX_DISCARDED_BODY + 1
    );
    let mut stream = server.send(head.as_bytes());
    let reply = read_reply(&mut stream, false);
    assert_hello_200_closing(&reply, false, true);
    assert!(is_closed(&mut stream));
}

/// RFC 9110 §10.1.1: "A server that receives a 100-continue expectation
/// in an HTTP/1.0 request MUST ignore that expectation"; §15.2: "a server
/// MUST NOT send a 1xx response to an HTTP/1.0 client".
#[apply(both_modes)]
fn expect_100_continue_in_http10_is_ignored(mode: Mode) {
    let server = TestServer::start(mode);
    let (reply, mut stream) = server.exchange(
        b"GET /hello.txt HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert_hello_200_closing(&reply, false, true);
    assert!(is_closed(&mut stream));
}

/// RFC 9110 §10.1.1: "A server MAY omit sending a 100 (Continue) response
/// ... if the framing indicates that there is no content."
#[apply(both_modes)]
#[case::no_framing(b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n")]
#[case::zero_length(
    b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n"
)]
fn expect_100_continue_without_content_is_answered_without_100(mode: Mode, #[case] request: &[u8]) {
    let server = TestServer::start(mode);
    let mut stream = server.send(request);
    let reply = read_reply(&mut stream, false);
    assert_hello_200(&server, &reply, false);
}

/// RFC 9110 §10.1.1: "A server that receives an Expect field value
/// containing a member other than 100-continue MAY respond with a 417
/// (Expectation Failed)". Without a 100-continue the client sends its
/// content anyway: it is read, and the connection stays in sync.
#[apply(both_modes)]
#[case::alone(b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\n\r\n")]
#[case::with_content(
    b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\nContent-Length: 5\r\n\r\nhello"
)]
#[case::with_parameters(b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nExpect: 100-continue=now\r\n\r\n")]
fn unknown_expectation_is_417(mode: Mode, #[case] request: &[u8]) {
    let server = TestServer::start(mode);
    let mut stream = server.send(&[request, NEXT].concat());
    let reply = read_reply(&mut stream, false);
    assert_refused(
        &reply,
        417,
        "this server meets no expectation but 100-continue",
        server.closes_always(),
    );
    assert_next_answered(&server, &mut stream);
}

/// The 100 comes before the content is read, and the final response after
/// it carries the same validators as any 200.
#[apply(both_modes)]
fn final_response_after_100_is_the_usual_200(mode: Mode) {
    let server = TestServer::start(mode);
    let reply = continue_then_send(
        &server,
        b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
        b"hi",
    );
    let validators = FileValidators::of_fixture("hello.txt");
    assert_eq!(reply.header("ETag"), Some(validators.etag.as_str()));
    assert_eq!(
        reply.header("Last-Modified"),
        Some(validators.last_modified.as_str())
    );
    assert_eq!(reply.header("Accept-Ranges"), Some("bytes"));
}
