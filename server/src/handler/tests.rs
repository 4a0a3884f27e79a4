//! The handler's decisions, without a socket: each test parses a request
//! head, lets the handler decide and compose, and checks the response
//! exactly: its status line, its header fields in order (all but `Date`,
//! which the writer stamps), and which bytes it carries.

use std::fs;
use std::path::PathBuf;
use std::time::SystemTime;

use super::{compose, refuses, Handler};
use crate::files;
use crate::parse::{parse_request, Status};
use crate::problem::Problem;
use crate::range::{ByteRange, Multipart};
use crate::request::{self, Framing};
use crate::response::{Body, Response, Segment};

fn root() -> PathBuf {
    fs::canonicalize(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/root")).unwrap()
}

fn handler() -> Handler {
    Handler::new(root(), None).unwrap()
}

/// The response to `head`, a complete request head, framed as it says.
fn respond(head: &str) -> Response {
    let Ok(Status::Complete((request, _))) = parse_request(head.as_bytes()) else {
        panic!("not a complete head: {head:?}")
    };
    let framing = request::framing(&request);
    compose(handler().decide(&request, framing, SystemTime::now()))
}

/// The status line and the header fields but `Date`, one line each, as the
/// head of a response that keeps the connection open.
fn head_lines(response: &Response) -> Vec<String> {
    let head = String::from_utf8(response.head(false, 0)).unwrap();
    head.split("\r\n")
        .filter(|line| !line.is_empty() && !line.starts_with("Date: "))
        .map(str::to_owned)
        .collect()
}

/// The file a response sends from, and the pieces of its content.
fn file_content(response: &Response) -> (PathBuf, Vec<Segment>) {
    match response.content() {
        Body::File { path, segments, .. } => (path.clone(), segments.clone()),
        other => panic!("not a file's content: {other:?}"),
    }
}

/// The content made for a response.
fn bytes_content(response: &Response) -> String {
    match response.content() {
        Body::Bytes(bytes) => String::from_utf8(bytes.clone()).unwrap(),
        other => panic!("not made content: {other:?}"),
    }
}

/// The `Last-Modified` and `ETag` of a fixture, as its response has them.
fn validators(name: &str) -> (String, String) {
    let meta = fs::metadata(root().join(name)).unwrap();
    (
        httpdate::fmt_http_date(files::modified(&meta)),
        files::etag(&meta),
    )
}

/// What every problem response has: the status line, `text/plain`, and
/// the message's length.
fn problem_lines(status_line: &str, extra: &[&str], message: &str) -> Vec<String> {
    let code = &status_line[9..];
    let body_len = format!("{code}: {message}\n").len();
    let mut lines = vec![
        status_line.to_owned(),
        "Content-Type: text/plain; charset=utf-8".to_owned(),
    ];
    lines.extend(extra.iter().map(|l| l.to_string()));
    lines.push(format!("Content-Length: {body_len}"));
    lines
}

#[test]
fn get_of_a_file_is_200_with_its_validators_and_the_whole_file() {
    let response = respond("GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n");
    let (modified, etag) = validators("hello.txt");
    assert_eq!(
        head_lines(&response),
        [
            "HTTP/1.1 200 OK".to_owned(),
            "Content-Type: text/plain; charset=utf-8".to_owned(),
            format!("Last-Modified: {modified}"),
            format!("ETag: {etag}"),
            "Accept-Ranges: bytes".to_owned(),
            "Content-Length: 14".to_owned(),
        ]
    );
    assert_eq!(
        file_content(&response),
        (
            root().join("hello.txt"),
            vec![Segment::File { offset: 0, len: 14 }]
        )
    );
    assert!(response.sends_content(false));
    assert!(!response.closes());
}

#[test]
fn directory_with_slash_is_its_index_file() {
    let response = respond("GET /docs/ HTTP/1.1\r\nHost: a\r\n\r\n");
    let (path, segments) = file_content(&response);
    assert_eq!(path, root().join("docs/index.html"));
    assert_eq!(
        segments,
        [Segment::File {
            offset: 0,
            len: 153
        }]
    );
    assert_eq!(
        head_lines(&response)[1],
        "Content-Type: text/html; charset=utf-8"
    );
}

#[test]
fn one_range_is_206_with_content_range_and_that_part() {
    let response = respond("GET /hello.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=7-11\r\n\r\n");
    let (modified, etag) = validators("hello.txt");
    assert_eq!(
        head_lines(&response),
        [
            "HTTP/1.1 206 Partial Content".to_owned(),
            "Content-Type: text/plain; charset=utf-8".to_owned(),
            "Content-Range: bytes 7-11/14".to_owned(),
            format!("Last-Modified: {modified}"),
            format!("ETag: {etag}"),
            "Accept-Ranges: bytes".to_owned(),
            "Content-Length: 5".to_owned(),
        ]
    );
    assert_eq!(
        file_content(&response),
        (
            root().join("hello.txt"),
            vec![Segment::File { offset: 7, len: 5 }]
        )
    );
}

#[test]
fn two_ranges_are_multipart_byteranges_in_the_order_asked() {
    let response = respond("GET /hello.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=7-8,0-1\r\n\r\n");
    let parts = [
        ByteRange { first: 7, last: 8 },
        ByteRange { first: 0, last: 1 },
    ];
    let multipart = Multipart::new(&parts, 14, "text/plain; charset=utf-8");
    let mut expected = vec![Segment::Bytes(multipart.part_heads[0].clone())];
    expected.push(Segment::File { offset: 7, len: 2 });
    expected.push(Segment::Bytes(multipart.part_heads[1].clone()));
    expected.push(Segment::File { offset: 0, len: 2 });
    expected.push(Segment::Bytes(multipart.tail.clone()));
    let length: u64 = expected.iter().map(Segment::size).sum();
    let (modified, etag) = validators("hello.txt");
    assert_eq!(
        head_lines(&response),
        [
            "HTTP/1.1 206 Partial Content".to_owned(),
            format!("Content-Type: {}", multipart.content_type),
            format!("Last-Modified: {modified}"),
            format!("ETag: {etag}"),
            "Accept-Ranges: bytes".to_owned(),
            format!("Content-Length: {length}"),
        ]
    );
    assert!(multipart
        .content_type
        .starts_with("multipart/byteranges; boundary="));
    assert_eq!(
        file_content(&response),
        (root().join("hello.txt"), expected)
    );
}

#[test]
fn matching_if_none_match_is_304_with_the_200s_length_and_no_content_sent() {
    let (modified, etag) = validators("hello.txt");
    let response = respond(&format!(
        "GET /hello.txt HTTP/1.1\r\nHost: a\r\nIf-None-Match: {etag}\r\n\r\n"
    ));
    assert_eq!(
        head_lines(&response),
        [
            "HTTP/1.1 304 Not Modified".to_owned(),
            format!("Last-Modified: {modified}"),
            format!("ETag: {etag}"),
            "Accept-Ranges: bytes".to_owned(),
            "Content-Length: 14".to_owned(),
        ]
    );
    assert_eq!(
        file_content(&response).1,
        [Segment::File { offset: 0, len: 14 }]
    );
    assert!(!response.sends_content(false));
}

#[test]
fn failed_if_match_is_412() {
    let response = respond("GET /hello.txt HTTP/1.1\r\nHost: a\r\nIf-Match: \"other\"\r\n\r\n");
    let message = Problem::PreconditionFailed.to_string();
    assert_eq!(
        head_lines(&response),
        problem_lines("HTTP/1.1 412 Precondition Failed", &[], &message)
    );
    assert!(!response.closes());
}

#[test]
fn range_past_the_end_is_416_with_the_files_length() {
    let response = respond("GET /hello.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=20-30\r\n\r\n");
    let message = Problem::RangeNotSatisfiable(14).to_string();
    assert_eq!(
        head_lines(&response),
        problem_lines(
            "HTTP/1.1 416 Range Not Satisfiable",
            &["Content-Range: bytes */14"],
            &message
        )
    );
    assert_eq!(
        bytes_content(&response),
        format!("416 Range Not Satisfiable: {message}\n")
    );
}

#[test]
fn range_on_head_is_ignored() {
    let response = respond("HEAD /hello.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\n\r\n");
    assert_eq!(head_lines(&response)[0], "HTTP/1.1 200 OK");
    assert_eq!(
        file_content(&response).1,
        [Segment::File { offset: 0, len: 14 }]
    );
}

#[test]
fn directory_without_slash_is_301_to_it_with_the_query() {
    let response = respond("GET /listing?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
    let body = "301 Moved Permanently: /listing/?x=1\n";
    assert_eq!(
        head_lines(&response),
        [
            "HTTP/1.1 301 Moved Permanently".to_owned(),
            "Location: /listing/?x=1".to_owned(),
            "Content-Type: text/plain; charset=utf-8".to_owned(),
            format!("Content-Length: {}", body.len()),
        ]
    );
    assert_eq!(bytes_content(&response), body);
}

#[test]
fn directory_without_index_is_its_html_listing() {
    let response = respond("GET /listing/ HTTP/1.1\r\nHost: a\r\n\r\n");
    let html = files::listing(&root().join("listing"), "/listing/").unwrap();
    assert_eq!(
        head_lines(&response),
        [
            "HTTP/1.1 200 OK".to_owned(),
            "Content-Type: text/html; charset=utf-8".to_owned(),
            format!("Content-Length: {}", html.len()),
        ]
    );
    assert_eq!(bytes_content(&response), html);
}

#[test]
fn missing_file_is_404_and_keeps_the_connection() {
    let response = respond("GET /nothing.txt HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        head_lines(&response),
        problem_lines("HTTP/1.1 404 Not Found", &[], "no such file")
    );
    assert_eq!(bytes_content(&response), "404 Not Found: no such file\n");
    assert!(!response.closes());
}

#[test]
fn climbing_above_the_root_is_403() {
    let response = respond("GET /../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n");
    let message = Problem::Forbidden.to_string();
    assert_eq!(
        head_lines(&response),
        problem_lines("HTTP/1.1 403 Forbidden", &[], &message)
    );
}

#[test]
fn post_is_405_with_allow() {
    let response = respond("POST /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n");
    let message = Problem::NotAllowed.to_string();
    assert_eq!(
        head_lines(&response),
        problem_lines(
            "HTTP/1.1 405 Method Not Allowed",
            &["Allow: GET, HEAD"],
            &message
        )
    );
    assert!(!response.closes());
}

#[test]
fn missing_host_is_400_and_closes() {
    let response = respond("GET /hello.txt HTTP/1.1\r\n\r\n");
    let message = Problem::NoHost.to_string();
    assert_eq!(
        head_lines(&response),
        problem_lines("HTTP/1.1 400 Bad Request", &[], &message)
    );
    assert!(response.closes());
}

/// After a framing error the server cannot know where the next request
/// starts: that problem is the answer, whatever the target.
#[test]
fn framing_problem_wins_over_the_resource() {
    let head = "GET /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
    let response = respond(head);
    let message = Problem::LengthAndEncoding.to_string();
    assert_eq!(
        head_lines(&response),
        problem_lines("HTTP/1.1 400 Bad Request", &[], &message)
    );
    assert!(response.closes());
}

/// Only a refusal or a redirect is decided without the content: a file's
/// answer may still turn into a problem while the content is read.
#[test]
fn refusals_and_redirects_are_decided_by_the_head_alone() {
    let decide = |head: &str| {
        let Ok(Status::Complete((request, _))) = parse_request(head.as_bytes()) else {
            panic!("not a complete head: {head:?}")
        };
        handler().decide(&request, Ok(Framing::Empty), SystemTime::now())
    };
    assert!(refuses(&decide("GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n")));
    assert!(refuses(&decide("GET /docs HTTP/1.1\r\nHost: a\r\n\r\n")));
    assert!(!refuses(&decide(
        "GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n"
    )));
    assert!(!refuses(&decide(
        "GET /listing/ HTTP/1.1\r\nHost: a\r\n\r\n"
    )));
}
