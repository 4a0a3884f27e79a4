//! Conditional requests (RFC 9110 §13) against both variants: 412 for a
//! false If-Match or If-Unmodified-Since, 304 for a false If-None-Match or
//! If-Modified-Since, in the order of §13.2.2, and ignored whenever the
//! answer would not have been 2xx (§13.2.1).

use rstest::rstest;
use rstest_reuse::apply;

use crate::both_modes;
use server::Mode;

use crate::support::{
    assert_hello_200, assert_hello_304, assert_refused, assert_reply, assert_request_refused,
    pairs, request_hello, FileValidators, TestServer,
};

const FAILED: &str = "the file does not meet the request's If-Match or If-Unmodified-Since";

#[apply(both_modes)]
// If-Match (§13.1.1) that holds.
#[case::if_match_star("If-Match: *\r\n")]
#[case::if_match_current("If-Match: {etag}\r\n")]
#[case::if_match_in_a_list("If-Match: \"other\", {etag}\r\n")]
#[case::if_match_on_a_second_line("If-Match: \"other\"\r\nIf-Match: {etag}\r\n")]
// If-Unmodified-Since (§13.1.4) that holds, or is ignored: an invalid date,
// a list, or one beside an If-Match (§13.2.2).
#[case::if_unmodified_since_last_modified("If-Unmodified-Since: {last-modified}\r\n")]
#[case::if_unmodified_since_later("If-Unmodified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n")]
#[case::if_unmodified_since_rfc850_year_70_is_2070(
    "If-Unmodified-Since: Wednesday, 01-Jan-70 00:00:00 GMT\r\n"
)]
#[case::if_unmodified_since_invalid_date("If-Unmodified-Since: yesterday\r\n")]
#[case::if_unmodified_since_wrong_weekday("If-Unmodified-Since: Mon, 06 Nov 1994 08:49:37 GMT\r\n")]
#[case::if_unmodified_since_list_of_dates(
    "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT\r\n"
)]
#[case::if_unmodified_since_two_lines(
    "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\nIf-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
)]
#[case::if_unmodified_since_beside_a_true_if_match(
    "If-Match: {etag}\r\nIf-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
)]
// A cache condition (§13.1.2, §13.1.3) that holds.
#[case::if_none_match_other("If-None-Match: \"other\"\r\n")]
#[case::if_none_match_invalid("If-None-Match: nope\r\n")]
#[case::if_none_match_beside_a_matching_if_modified_since(
    "If-None-Match: \"other\"\r\nIf-Modified-Since: {last-modified}\r\n"
)]
#[case::if_modified_since_rfc850_year_99_is_1999(
    "If-Modified-Since: Friday, 01-Jan-99 00:00:00 GMT\r\n"
)]
fn condition_that_holds_or_is_ignored_is_200(mode: Mode, #[case] fields: &str) {
    let server = TestServer::start(mode);
    assert_hello_200(&server, &request_hello(&server, "GET", fields), false);
}

#[apply(both_modes)]
// If-Match (§13.1.1) that fails.
#[case::if_match_mismatch("If-Match: \"nope\"\r\n")]
#[case::if_match_weak_current("If-Match: W/{etag}\r\n")]
#[case::if_match_not_an_entity_tag("If-Match: nope\r\n")]
#[case::if_match_star_in_a_list("If-Match: *, {etag}\r\n")]
#[case::if_match_empty("If-Match:\r\n")]
// If-Unmodified-Since (§13.1.4) older than the file, in each date format.
#[case::if_unmodified_since_imf_fixdate("If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n")]
#[case::if_unmodified_since_rfc850("If-Unmodified-Since: Sunday, 06-Nov-94 08:49:37 GMT\r\n")]
#[case::if_unmodified_since_asctime("If-Unmodified-Since: Sun Nov  6 08:49:37 1994\r\n")]
#[case::if_unmodified_since_rfc850_year_99_is_1999(
    "If-Unmodified-Since: Friday, 01-Jan-99 00:00:00 GMT\r\n"
)]
// A failed lost-update condition wins over a cache condition (§13.2.2).
#[case::if_match_before_if_none_match("If-Match: \"nope\"\r\nIf-None-Match: *\r\n")]
#[case::if_unmodified_since_before_if_none_match(
    "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\nIf-None-Match: {etag}\r\n"
)]
#[case::if_match_before_if_modified_since(
    "If-Match: \"nope\"\r\nIf-Modified-Since: {last-modified}\r\n"
)]
fn condition_that_fails_is_412(mode: Mode, #[case] fields: &str) {
    let server = TestServer::start(mode);
    let reply = request_hello(&server, "GET", fields);
    assert_refused(&reply, 412, FAILED, server.closes_always());
}

#[apply(both_modes)]
fn head_with_a_failed_if_match_is_412_without_body(mode: Mode) {
    let server = TestServer::start(mode);
    let reply = request_hello(&server, "HEAD", "If-Match: \"nope\"\r\n");
    assert_eq!(reply.status_line, "HTTP/1.1 412 Precondition Failed");
    assert!(reply.body.is_empty());
}

#[apply(both_modes)]
#[case::if_none_match("If-None-Match: {etag}\r\n")]
#[case::if_none_match_weak("If-None-Match: W/{etag}\r\n")]
#[case::if_match_then_if_none_match("If-Match: {etag}\r\nIf-None-Match: *\r\n")]
#[case::if_modified_since("If-Modified-Since: {last-modified}\r\n")]
#[case::if_modified_since_rfc850_year_70_is_2070(
    "If-Modified-Since: Wednesday, 01-Jan-70 00:00:00 GMT\r\n"
)]
#[case::if_modified_since_asctime("If-Modified-Since: Wed Jan  1 00:00:00 2070\r\n")]
#[case::if_none_match_beside_an_older_if_modified_since(
    "If-None-Match: {etag}\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
)]
fn cache_condition_that_is_false_is_304(
    mode: Mode,
    #[values("GET", "HEAD")] method: &str,
    #[case] fields: &str,
) {
    let server = TestServer::start(mode);
    assert_hello_304(&server, &request_hello(&server, method, fields));
}

/// RFC 9110 §13.2.1: "A server MUST ignore all received preconditions if
/// its response to the same request without those conditions ... would
/// have been a status code other than a 2xx (Successful) or 412".
#[apply(both_modes)]
#[case::missing_if_match(
    b"GET /no-such-file.txt HTTP/1.1\r\nHost: a\r\nIf-Match: *\r\n\r\n",
    404,
    "no such file"
)]
#[case::missing_if_none_match(
    b"GET /no-such-file.txt HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\n\r\n",
    404,
    "no such file"
)]
#[case::forbidden(
    b"GET /../etc/passwd HTTP/1.1\r\nHost: a\r\nIf-Match: \"nope\"\r\n\r\n",
    403,
    "the path leaves the served directory"
)]
#[case::post(
    b"POST /hello.txt HTTP/1.1\r\nHost: a\r\nIf-Match: \"nope\"\r\n\r\n",
    405,
    "this server serves files with GET and HEAD only"
)]
#[case::options(
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\n\r\n",
    405,
    "this server serves files with GET and HEAD only"
)]
#[case::trace(
    b"TRACE /hello.txt HTTP/1.1\r\nHost: a\r\nIf-Match: \"nope\"\r\n\r\n",
    405,
    "this server serves files with GET and HEAD only"
)]
fn precondition_of_a_request_not_answered_2xx_is_ignored(
    mode: Mode,
    #[case] request: &[u8],
    #[case] code: u16,
    #[case] message: &str,
) {
    assert_request_refused(mode, request, code, message);
}

#[apply(both_modes)]
fn precondition_of_a_redirect_is_ignored(mode: Mode) {
    let server = TestServer::start(mode);
    let (reply, _) =
        server.exchange(b"GET /docs HTTP/1.1\r\nHost: a\r\nIf-Match: \"nope\"\r\n\r\n");
    assert_eq!(reply.status_line, "HTTP/1.1 301 Moved Permanently");
    assert_eq!(reply.header("Location"), Some("/docs/"));
}

#[apply(both_modes)]
fn index_file_has_the_validators_of_its_file(mode: Mode) {
    let server = TestServer::start(mode);
    let validators = FileValidators::of_fixture("docs/index.html");
    let request = format!(
        "GET /docs/ HTTP/1.1\r\nHost: a\r\nIf-None-Match: {}\r\n\r\n",
        validators.etag
    );
    let (reply, _) = server.exchange(request.as_bytes());
    let len = std::fs::metadata(crate::support::fixtures_root().join("docs/index.html"))
        .unwrap()
        .len();
    let head = validators.head(&[], len, server.closes_always());
    assert_reply(&reply, "HTTP/1.1 304 Not Modified", &pairs(&head), b"");
    let request = "GET /docs/ HTTP/1.1\r\nHost: a\r\nIf-Match: \"nope\"\r\n\r\n";
    let (reply, _) = server.exchange(request.as_bytes());
    assert_refused(&reply, 412, FAILED, server.closes_always());
}

/// A listing has no validators: `*` is the only tag that matches it, and
/// the date conditions are ignored (§13.1.3, §13.1.4: "if the resource does
/// not have a modification date available").
#[apply(both_modes)]
fn listing_matches_only_star(mode: Mode) {
    let server = TestServer::start(mode);
    let get = |fields: &str| {
        let request = format!("GET /listing/ HTTP/1.1\r\nHost: a\r\n{fields}\r\n");
        server.exchange(request.as_bytes()).0
    };
    let plain = get("");
    assert_eq!(plain.status_line, "HTTP/1.1 200 OK");
    let len = plain.body.len().to_string();
    let mut head = vec![("Content-Length", len.as_str())];
    if server.closes_always() {
        head.push(("Connection", "close"));
    }
    assert_reply(
        &get("If-None-Match: *\r\n"),
        "HTTP/1.1 304 Not Modified",
        &head,
        b"",
    );
    for fields in [
        "If-Match: *\r\n",
        "If-None-Match: \"x\"\r\n",
        "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n",
        "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n",
    ] {
        let reply = get(fields);
        assert_eq!(reply.status_line, "HTTP/1.1 200 OK", "{fields:?}");
        assert_eq!(reply.body, plain.body, "{fields:?}");
    }
    assert_refused(
        &get("If-Match: \"x\"\r\n"),
        412,
        FAILED,
        server.closes_always(),
    );
}
