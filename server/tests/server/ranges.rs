//! Range requests (RFC 9110 §14, §15.3.7, §15.5.17) against both variants:
//! 206 with one part or `multipart/byteranges`, 416, and every case in
//! which the Range is ignored and the whole file is sent.

use std::fs;
use std::time::{Duration, SystemTime};

use rstest::rstest;
use rstest_reuse::apply;

use crate::both_modes;
use server::limits::MAX_RANGES;
use server::Mode;

use crate::support::{
    assert_hello_200, assert_hello_304, assert_refused, assert_reply, assert_request_refused,
    is_closed, pairs, quiet_config, read_reply, request_hello, FileValidators, Reply, TempRoot,
    TestServer, HELLO, TEXT,
};

/// GET /hello.txt with `fields`, where `{etag}` and `{last-modified}` stand
/// for the file's validators.
fn get_hello(server: &TestServer, fields: &str) -> Reply {
    request_hello(server, "GET", fields)
}

/// Asserts a single-part 206 of hello.txt, exactly.
fn assert_part_of_hello(server: &TestServer, reply: &Reply, first: usize, last: usize) {
    let content_range = format!("bytes {first}-{last}/14");
    let head = FileValidators::of_fixture("hello.txt").head(
        &[("Content-Type", TEXT), ("Content-Range", &content_range)],
        (last - first + 1) as u64,
        server.closes_always(),
    );
    assert_reply(
        reply,
        "HTTP/1.1 206 Partial Content",
        &pairs(&head),
        &HELLO[first..=last],
    );
}

/// Asserts the 416 of a file of `length` octets, exactly.
fn assert_unsatisfiable(reply: &Reply, length: u64, close: bool) {
    let body =
        format!("416 Range Not Satisfiable: no requested range lies within the {length} bytes of the file\n");
    let (unsatisfied, content_length) = (format!("bytes */{length}"), body.len().to_string());
    let mut headers = vec![
        ("Content-Type", TEXT),
        ("Content-Range", unsatisfied.as_str()),
        ("Content-Length", content_length.as_str()),
    ];
    if close {
        headers.push(("Connection", "close"));
    }
    assert_reply(
        reply,
        "HTTP/1.1 416 Range Not Satisfiable",
        &headers,
        body.as_bytes(),
    );
}

/// The boundary of a `multipart/byteranges` reply.
fn boundary(reply: &Reply) -> String {
    let content_type = reply.header("Content-Type").expect("Content-Type");
    let boundary = content_type
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap_or_else(|| panic!("not multipart: {content_type}"));
    assert!(
        boundary.len() <= 70
            && boundary
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        "{boundary:?}"
    );
    boundary.to_owned()
}

/// The content of a `multipart/byteranges` reply with `parts` (first,
/// last, octets) of a file of `length` and type `content_type`.
fn multipart_body(
    boundary: &str,
    content_type: &str,
    length: u64,
    parts: &[(u64, u64, &[u8])],
) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, (first, last, octets)) in parts.iter().enumerate() {
        if i > 0 {
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {first}-{last}/{length}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(octets);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

#[apply(both_modes)]
#[case::first_bytes("bytes=0-4", 0, 4)]
#[case::open_ended("bytes=7-", 7, 13)]
#[case::suffix("bytes=-7", 7, 13)]
#[case::suffix_longer_than_the_file("bytes=-100", 0, 13)]
#[case::last_byte("bytes=13-13", 13, 13)]
#[case::last_pos_past_the_end("bytes=7-1000", 7, 13)]
#[case::last_pos_too_large_for_u64("bytes=0-99999999999999999999999", 0, 13)]
#[case::suffix_too_large_for_u64("bytes=-99999999999999999999999", 0, 13)]
#[case::unit_is_case_insensitive("Bytes=0-4", 0, 4)]
#[case::whitespace_in_the_list("bytes= 0-4 ,", 0, 4)]
#[case::overlapping_ranges_merged("bytes=0-4,2-6", 0, 6)]
#[case::adjacent_ranges_merged("bytes=0-4,5-6", 0, 6)]
#[case::unsatisfiable_one_left_out("bytes=0-4,100-200", 0, 4)]
fn one_satisfiable_range_is_206_with_its_content_range(
    mode: Mode,
    #[case] range: &str,
    #[case] first: usize,
    #[case] last: usize,
) {
    let server = TestServer::start(mode);
    let reply = get_hello(&server, &format!("Range: {range}\r\n"));
    assert_part_of_hello(&server, &reply, first, last);
}

#[apply(both_modes)]
#[case::zero_suffix("bytes=-0")]
#[case::first_pos_at_the_end("bytes=14-")]
#[case::first_pos_past_the_end("bytes=20-30")]
#[case::first_pos_too_large_for_u64("bytes=99999999999999999999-")]
#[case::all_unsatisfiable("bytes=20-30,-0,14-14")]
fn no_satisfiable_range_is_416_with_the_length(mode: Mode, #[case] range: &str) {
    let server = TestServer::start(mode);
    let reply = get_hello(&server, &format!("Range: {range}\r\n"));
    assert_unsatisfiable(&reply, 14, server.closes_always());
}

#[apply(both_modes)]
#[case::unknown_unit("Range: pages=1-2\r\n")]
#[case::last_before_first("Range: bytes=5-2\r\n")]
#[case::not_a_number("Range: bytes=abc\r\n")]
#[case::one_invalid_among_valid("Range: bytes=0-1,x\r\n")]
#[case::empty_set("Range: bytes=\r\n")]
#[case::empty_value("Range:\r\n")]
#[case::no_equals("Range: bytes 0-4\r\n")]
#[case::space_before_equals("Range: bytes =0-4\r\n")]
#[case::two_range_lines("Range: bytes=0-1\r\nRange: bytes=2-3\r\n")]
#[case::if_range_other_etag("Range: bytes=0-4\r\nIf-Range: \"other\"\r\n")]
#[case::if_range_weak_etag("Range: bytes=0-4\r\nIf-Range: W/{etag}\r\n")]
#[case::if_range_other_date("Range: bytes=0-4\r\nIf-Range: Thu, 01 Jan 1970 00:00:00 GMT\r\n")]
#[case::if_range_invalid_date("Range: bytes=0-4\r\nIf-Range: yesterday\r\n")]
#[case::if_range_without_range("If-Range: {etag}\r\n")]
#[case::content_range_in_the_request("Content-Range: bytes 0-4/14\r\n")]
fn ignored_range_is_200_with_the_whole_file(mode: Mode, #[case] fields: &str) {
    let server = TestServer::start(mode);
    assert_hello_200(&server, &get_hello(&server, fields), false);
}

#[apply(both_modes)]
fn more_ranges_than_the_limit_are_ignored(mode: Mode) {
    let server = TestServer::start(mode);
    let many = vec!["0-0"; MAX_RANGES + 1].join(",");
    let reply = get_hello(&server, &format!("Range: bytes={many}\r\n"));
    assert_hello_200(&server, &reply, false);
    // At the limit, they are read (and, all the same range, merged).
    let at_limit = vec!["0-0"; MAX_RANGES].join(",");
    let reply = get_hello(&server, &format!("Range: bytes={at_limit}\r\n"));
    assert_part_of_hello(&server, &reply, 0, 0);
}

#[apply(both_modes)]
fn range_on_head_is_ignored(mode: Mode) {
    let server = TestServer::start(mode);
    let reply = request_hello(&server, "HEAD", "Range: bytes=0-4\r\n");
    assert_hello_200(&server, &reply, true);
}

#[apply(both_modes)]
#[case::first_and_last("bytes=0-0,-1", &[(0, 0), (13, 13)])]
#[case::in_the_order_asked("bytes=7-,0-4", &[(7, 13), (0, 4)])]
#[case::merged_where_they_overlap("bytes=0-1,7-8,1-2,12-", &[(0, 2), (7, 8), (12, 13)])]
fn several_ranges_are_multipart_byteranges(
    mode: Mode,
    #[case] range: &str,
    #[case] parts: &[(u64, u64)],
) {
    let server = TestServer::start(mode);
    let reply = get_hello(&server, &format!("Range: {range}\r\n"));
    let boundary = boundary(&reply);
    let parts: Vec<(u64, u64, &[u8])> = parts
        .iter()
        .map(|&(first, last)| (first, last, &HELLO[first as usize..=last as usize]))
        .collect();
    let body = multipart_body(&boundary, TEXT, 14, &parts);
    let content_type = format!("multipart/byteranges; boundary={boundary}");
    // RFC 9110 §15.3.7.2: "a server MUST NOT generate a Content-Range
    // header field in the HTTP header section of a multiple part response".
    let head = FileValidators::of_fixture("hello.txt").head(
        &[("Content-Type", &content_type)],
        body.len() as u64,
        server.closes_always(),
    );
    assert_reply(&reply, "HTTP/1.1 206 Partial Content", &pairs(&head), &body);
}

#[apply(both_modes)]
#[case::etag("{etag}")]
#[case::last_modified("{last-modified}")]
fn if_range_that_holds_is_206(mode: Mode, #[case] validator: &str) {
    let server = TestServer::start(mode);
    let reply = get_hello(
        &server,
        &format!("Range: bytes=0-4\r\nIf-Range: {validator}\r\n"),
    );
    assert_part_of_hello(&server, &reply, 0, 4);
}

/// RFC 9110 §13.1.5: an If-Range date must be a strong validator
/// (§8.8.2.2). A file whose time lies ahead of the clock is sent with the
/// clock's time as its Last-Modified (§8.8.2.1), and a date no older than
/// the response cannot tell two versions of that second apart.
#[apply(both_modes)]
fn if_range_date_of_the_current_second_is_weak_and_200(mode: Mode) {
    let root = TempRoot::new(&format!("if-range-weak-{}", mode.name()));
    root.file("new.txt", HELLO);
    let ahead = SystemTime::now() + Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(root.root().join("new.txt"))
        .unwrap()
        .set_modified(ahead)
        .unwrap();
    let server = TestServer::start_with(mode, quiet_config(root.root()));
    let (first, _) = server.exchange(b"GET /new.txt HTTP/1.1\r\nHost: a\r\n\r\n");
    let last_modified = first.header("Last-Modified").unwrap().to_owned();
    let date = |name| httpdate::parse_http_date(first.header(name).unwrap()).unwrap();
    assert!(
        date("Last-Modified") <= date("Date"),
        "a Last-Modified ahead of Date"
    );
    let request = format!(
        "GET /new.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=0-4\r\nIf-Range: {last_modified}\r\n\r\n"
    );
    let (reply, _) = server.exchange(request.as_bytes());
    assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
    assert_eq!(reply.body, HELLO);
}

#[apply(both_modes)]
fn range_with_a_matching_if_none_match_is_304(mode: Mode) {
    let server = TestServer::start(mode);
    let reply = get_hello(&server, "Range: bytes=0-4\r\nIf-None-Match: {etag}\r\n");
    assert_hello_304(&server, &reply);
}

#[apply(both_modes)]
fn range_with_a_failed_if_match_is_412(mode: Mode) {
    let server = TestServer::start(mode);
    let reply = get_hello(&server, "Range: bytes=0-4\r\nIf-Match: \"other\"\r\n");
    assert_refused(
        &reply,
        412,
        "the file does not meet the request's If-Match or If-Unmodified-Since",
        server.closes_always(),
    );
}

#[apply(both_modes)]
fn range_of_a_listing_is_ignored(mode: Mode) {
    let server = TestServer::start(mode);
    let (plain, _) = server.exchange(b"GET /listing/ HTTP/1.1\r\nHost: a\r\n\r\n");
    let (ranged, _) =
        server.exchange(b"GET /listing/ HTTP/1.1\r\nHost: a\r\nRange: bytes=0-4\r\n\r\n");
    assert_eq!(ranged.status_line, "HTTP/1.1 200 OK");
    assert_eq!(ranged.header("Accept-Ranges"), None);
    assert_eq!(ranged.header("Content-Range"), None);
    assert_eq!(ranged.body, plain.body);
}

#[apply(both_modes)]
#[case::missing(
    b"GET /missing.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=-0\r\n\r\n",
    404,
    "no such file"
)]
#[case::post(
    b"POST /hello.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=-0\r\n\r\n",
    405,
    "this server serves files with GET and HEAD only"
)]
fn range_of_what_is_not_served_is_not_read(
    mode: Mode,
    #[case] request: &[u8],
    #[case] code: u16,
    #[case] message: &str,
) {
    assert_request_refused(mode, request, code, message);
}

#[apply(both_modes)]
fn range_of_an_empty_file_is_ignored(mode: Mode) {
    let root = TempRoot::new(&format!("empty-range-{}", mode.name()));
    root.file("empty.txt", b"");
    let server = TestServer::start_with(mode, quiet_config(root.root()));
    let (reply, _) =
        server.exchange(b"GET /empty.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=-1\r\n\r\n");
    let head = FileValidators::of(&root.root().join("empty.txt")).head(
        &[("Content-Type", TEXT)],
        0,
        server.closes_always(),
    );
    assert_reply(&reply, "HTTP/1.1 200 OK", &pairs(&head), b"");
}

/// A file larger than the cached ones is streamed from an offset: parts
/// that cross the 64 KiB chunks are exactly the octets of the file.
#[apply(both_modes)]
#[case::across_a_chunk("bytes=65530-131080", &[(65_530, 131_080)])]
#[case::suffix("bytes=-10", &[(299_990, 299_999)])]
#[case::several("bytes=0-9,200000-265540,-3", &[(0, 9), (200_000, 265_540), (299_997, 299_999)])]
fn range_of_a_streamed_file_is_exactly_those_octets(
    mode: Mode,
    #[case] range: &str,
    #[case] parts: &[(u64, u64)],
) {
    const LEN: u64 = 300_000;
    let content: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    let root = TempRoot::new(&format!("streamed-range-{}", mode.name()));
    root.file("data.bin", &content);
    let server = TestServer::start_with(mode, quiet_config(root.root()));
    let request = format!("GET /data.bin HTTP/1.1\r\nHost: a\r\nRange: {range}\r\n\r\n");
    let (reply, _) = server.exchange(request.as_bytes());
    assert_eq!(reply.status_line, "HTTP/1.1 206 Partial Content");
    let octets = |&(first, last): &(u64, u64)| &content[first as usize..=last as usize];
    match parts {
        [one] => {
            assert_eq!(
                reply.header("Content-Range"),
                Some(format!("bytes {}-{}/{LEN}", one.0, one.1).as_str())
            );
            assert_eq!(reply.body, octets(one));
        }
        parts => {
            let parts: Vec<(u64, u64, &[u8])> =
                parts.iter().map(|p| (p.0, p.1, octets(p))).collect();
            let expected =
                multipart_body(&boundary(&reply), "application/octet-stream", LEN, &parts);
            assert_eq!(reply.body, expected);
        }
    }
}

#[test]
fn threaded_keeps_the_connection_after_a_206_and_a_416() {
    let server = TestServer::start(Mode::Threaded);
    let mut stream = server.send(
        b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=0-4\r\n\r\n\
GET /hello.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=-0\r\n\r\n\
GET /hello.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=0-0,-1\r\n\r\n\
GET /hello.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert_part_of_hello(&server, &read_reply(&mut stream, false), 0, 4);
    assert_unsatisfiable(&read_reply(&mut stream, false), 14, false);
    let multipart = read_reply(&mut stream, false);
    assert_eq!(multipart.status_line, "HTTP/1.1 206 Partial Content");
    let last = read_reply(&mut stream, false);
    assert_eq!(last.body, HELLO);
    assert!(is_closed(&mut stream));
}
