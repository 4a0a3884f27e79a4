//! The brief's semantics table, row by row, against both variants: raw bytes
//! in, the exact status line, headers and body out.

use rstest::rstest;
use rstest_reuse::apply;

use crate::both_modes;
use server::Mode;

use std::path::PathBuf;

use crate::support::{
    assert_hello_200, assert_hello_200_closing, assert_refused, assert_reply, is_closed,
    quiet_config, TestServer,
};

/// Requests the server must refuse, with the code and the message the body
/// names. Every one of them closes the connection.
#[apply(both_modes)]
#[case::version_09_style(
    b"GET /\r\n\r\n",
    400,
    "the request-line is not method SP request-target SP HTTP-version"
)]
#[case::version_lowercase(
    b"GET / http/1.1\r\nHost: a\r\n\r\n",
    400,
    "the HTTP-version is not HTTP/DIGIT.DIGIT"
)]
#[case::version_one_digit(
    b"GET / HTTP/1\r\nHost: a\r\n\r\n",
    400,
    "the request-line is not method SP request-target SP HTTP-version"
)]
#[case::version_leading_zero(
    b"GET / HTTP/01.1\r\nHost: a\r\n\r\n",
    400,
    "the HTTP-version is not HTTP/DIGIT.DIGIT"
)]
#[case::version_2(
    b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    505,
    "only HTTP/1.x is supported"
)]
#[case::version_3(
    b"GET / HTTP/3.0\r\nHost: a\r\n\r\n",
    505,
    "only HTTP/1.x is supported"
)]
#[case::no_host(
    b"GET / HTTP/1.1\r\n\r\n",
    400,
    "an HTTP/1.1 request needs a Host header"
)]
#[case::two_hosts(
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    400,
    "more than one Host header"
)]
#[case::two_hosts_http10(
    b"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
    400,
    "more than one Host header"
)]
#[case::invalid_host(
    b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
    400,
    "the Host value is not host[:port]"
)]
#[case::host_with_userinfo(
    b"GET / HTTP/1.1\r\nHost: user@a\r\n\r\n",
    400,
    "the Host value is not host[:port]"
)]
#[case::space_before_colon(
    b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    400,
    "whitespace between a field-name and its colon"
)]
#[case::obs_fold(
    b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",
    400,
    "a field line starts with whitespace (obsolete line folding)"
)]
#[case::bare_cr(
    b"GET / HTTP/1.1\r\nHost: a\rX-A: b\r\n\r\n",
    400,
    "a CR is not followed by LF"
)]
#[case::bare_lf(b"GET / HTTP/1.1\nHost: a\n\n", 400, "a line ends in LF without CR")]
#[case::nul_in_value(
    b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n",
    400,
    "a field value contains a control character"
)]
#[case::ctl_in_value(
    b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x1bc\r\n\r\n",
    400,
    "a field value contains a control character"
)]
#[case::no_colon(
    b"GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n",
    400,
    "a field line has no colon"
)]
#[case::invalid_name(
    b"GET / HTTP/1.1\r\nHost: a\r\nX[A]: b\r\n\r\n",
    400,
    "a field-name is empty or not a token"
)]
#[case::extra_space(
    b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
    400,
    "the request-line is not method SP request-target SP HTTP-version"
)]
#[case::tab_separator(
    b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n",
    400,
    "the request-line is not method SP request-target SP HTTP-version"
)]
#[case::trailing_space(
    b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
    400,
    "the request-line is not method SP request-target SP HTTP-version"
)]
#[case::space_in_target(
    b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
    400,
    "the HTTP-version is not HTTP/DIGIT.DIGIT"
)]
#[case::ctl_in_target(
    b"GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n",
    400,
    "the request-target contains a character a URI cannot contain"
)]
#[case::non_ascii_target(
    b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
    400,
    "the request-target contains a character a URI cannot contain"
)]
#[case::fragment_in_target(
    b"GET /#top HTTP/1.1\r\nHost: a\r\n\r\n",
    400,
    "the request-target contains a character a URI cannot contain"
)]
#[case::long_method(
    b"AVERYLONGMETHODNAMETHATNOBODYIMPLEMENTS / HTTP/1.1\r\nHost: a\r\n\r\n",
    501,
    "the method is longer than any this server implements"
)]
#[case::invalid_content_length(
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n",
    400,
    "Content-Length is invalid or conflicting"
)]
#[case::negative_content_length(
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
    400,
    "Content-Length is invalid or conflicting"
)]
#[case::conflicting_content_length(
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    400,
    "Content-Length is invalid or conflicting"
)]
#[case::te_and_cl(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, "Transfer-Encoding and Content-Length in one request")]
#[case::te_in_http10(
    b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    400,
    "Transfer-Encoding in an HTTP/1.0 request"
)]
#[case::te_gzip_only(
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
    400,
    "the final transfer coding is not chunked"
)]
#[case::te_gzip_chunked(
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    501,
    "a transfer coding this server does not implement"
)]
#[case::bad_chunk_size(
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
    400,
    "the chunked body is malformed"
)]
#[case::framing_before_version(
    b"GET / HTTP/2.0\r\nContent-Length: x\r\n\r\n",
    400,
    "Content-Length is invalid or conflicting"
)]
fn malformed_request_is_refused_and_closed(
    mode: Mode,
    #[case] request: &[u8],
    #[case] code: u16,
    #[case] message: &str,
) {
    let server = TestServer::start(mode);
    let (reply, mut stream) = server.exchange(request);
    assert_refused(&reply, code, message, true);
    assert!(
        is_closed(&mut stream),
        "the connection stays open after {code}"
    );
}

/// Requests refused with the framing intact: the threaded variant keeps the
/// connection, the single variant closes as it always does.
#[apply(both_modes)]
#[case::post(
    b"POST / HTTP/1.1\r\nHost: a\r\n\r\n",
    405,
    "this server serves files with GET and HEAD only"
)]
#[case::put(
    b"PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
    405,
    "this server serves files with GET and HEAD only"
)]
#[case::delete(
    b"DELETE /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    405,
    "this server serves files with GET and HEAD only"
)]
#[case::patch(
    b"PATCH / HTTP/1.1\r\nHost: a\r\n\r\n",
    405,
    "this server serves files with GET and HEAD only"
)]
#[case::options_star(
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    405,
    "this server serves files with GET and HEAD only"
)]
#[case::trace(
    b"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n",
    405,
    "this server serves files with GET and HEAD only"
)]
#[case::connect_authority(
    b"CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n",
    405,
    "this server serves files with GET and HEAD only"
)]
#[case::post_chunked_body(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n", 405, "this server serves files with GET and HEAD only")]
#[case::unknown_method(
    b"BREW / HTTP/1.1\r\nHost: a\r\n\r\n",
    501,
    "unknown method (methods are case-sensitive)"
)]
#[case::lowercase_get(
    b"get / HTTP/1.1\r\nHost: a\r\n\r\n",
    501,
    "unknown method (methods are case-sensitive)"
)]
#[case::asterisk_with_get(
    b"GET * HTTP/1.1\r\nHost: a\r\n\r\n",
    400,
    "this request-target form is not allowed with this method"
)]
#[case::authority_with_get(
    b"GET localhost:80 HTTP/1.1\r\nHost: a\r\n\r\n",
    400,
    "this request-target form is not allowed with this method"
)]
#[case::https_target(
    b"GET https://localhost/hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n",
    421,
    "an https target cannot be served on this unencrypted connection"
)]
#[case::bad_escape(
    b"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
    400,
    "a % in the path is not followed by two hex digits"
)]
#[case::short_escape(
    b"GET /a%2 HTTP/1.1\r\nHost: a\r\n\r\n",
    400,
    "a % in the path is not followed by two hex digits"
)]
#[case::decoded_nul(
    b"GET /hello.txt%00.html HTTP/1.1\r\nHost: a\r\n\r\n",
    400,
    "the path contains an encoded NUL"
)]
#[case::missing(b"GET /missing.txt HTTP/1.1\r\nHost: a\r\n\r\n", 404, "no such file")]
#[case::file_with_slash(b"GET /hello.txt/ HTTP/1.1\r\nHost: a\r\n\r\n", 404, "no such file")]
#[case::double_encoded_dots(
    b"GET /%252e%252e/etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
    404,
    "no such file"
)]
#[case::dot_dot(
    b"GET /../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
    403,
    "the path leaves the served directory"
)]
#[case::encoded_dot_dot(
    b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
    403,
    "the path leaves the served directory"
)]
#[case::mixed_case_dot_dot(
    b"GET /docs/%2E%2e/%2e%2E/etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
    403,
    "the path leaves the served directory"
)]
#[case::encoded_slashes(
    b"GET /docs/..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: a\r\n\r\n",
    403,
    "the path leaves the served directory"
)]
#[case::absolute_form_dot_dot(
    b"GET http://a/../x HTTP/1.1\r\nHost: a\r\n\r\n",
    403,
    "the path leaves the served directory"
)]
fn refused_request_keeps_the_framing(
    mode: Mode,
    #[case] request: &[u8],
    #[case] code: u16,
    #[case] message: &str,
) {
    let server = TestServer::start(mode);
    let (reply, mut stream) = server.exchange(request);
    assert_refused(&reply, code, message, server.closes_always());
    if server.closes_always() {
        assert!(is_closed(&mut stream));
    } else {
        // The connection is still in sync: the next request is answered.
        use std::io::Write;
        stream
            .write_all(b"HEAD /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap();
        let next = crate::support::read_reply(&mut stream, true);
        assert_hello_200(&server, &next, true);
    }
}

#[apply(both_modes)]
fn head_of_a_refused_request_has_no_body(mode: Mode) {
    let server = TestServer::start(mode);
    let (reply, _) =
        server.exchange(b"HEAD /missing HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert_reply(
        &reply,
        "HTTP/1.1 404 Not Found",
        &[
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", "28"),
            ("Connection", "close"),
        ],
        b"",
    );
}

/// Requests that must be served: the body is the file.
#[apply(both_modes)]
#[case::origin_form(b"GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n")]
#[case::absolute_form(b"GET http://localhost/hello.txt HTTP/1.1\r\nHost: other\r\n\r\n")]
#[case::absolute_form_uppercase_scheme(
    b"GET HTTP://localhost:80/hello.txt HTTP/1.1\r\nHost: a\r\n\r\n"
)]
#[case::http_1_2(b"GET /hello.txt HTTP/1.2\r\nHost: a\r\n\r\n")]
#[case::leading_empty_lines(b"\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n")]
#[case::query_ignored(b"GET /hello.txt?a=1&b=%20 HTTP/1.1\r\nHost: a\r\n\r\n")]
#[case::encoded_name(b"GET /hello%2Etxt HTTP/1.1\r\nHost: a\r\n\r\n")]
#[case::dot_segments(b"GET /docs/../listing/./../hello.txt HTTP/1.1\r\nHost: a\r\n\r\n")]
#[case::double_slash(b"GET //hello.txt HTTP/1.1\r\nHost: a\r\n\r\n")]
#[case::empty_host(b"GET /hello.txt HTTP/1.1\r\nHost:\r\n\r\n")]
#[case::ipv6_host(b"GET /hello.txt HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n")]
#[case::obs_text_value(b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nX-Name: caf\xc3\xa9\r\n\r\n")]
#[case::whitespace_around_value(b"GET /hello.txt HTTP/1.1\r\nHost: \t a \t\r\n\r\n")]
#[case::body_on_get(b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")]
#[case::repeated_equal_lengths(
    b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\n\r\nhi"
)]
#[case::chunked_get(
    b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
)]
fn well_formed_request_is_served(mode: Mode, #[case] request: &[u8]) {
    let server = TestServer::start(mode);
    let (reply, _) = server.exchange(request);
    assert_hello_200(&server, &reply, false);
}

#[apply(both_modes)]
fn http10_is_served_and_closed(mode: Mode) {
    let server = TestServer::start(mode);
    let (reply, mut stream) = server.exchange(b"GET /hello.txt HTTP/1.0\r\n\r\n");
    assert_hello_200_closing(&reply, false, true);
    assert!(is_closed(&mut stream));
}

#[apply(both_modes)]
fn connection_close_is_honoured(mode: Mode) {
    let server = TestServer::start(mode);
    let (reply, mut stream) =
        server.exchange(b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert_hello_200_closing(&reply, false, true);
    assert!(is_closed(&mut stream));
}

#[apply(both_modes)]
#[case::over_limit(9000)]
fn long_target_is_414(mode: Mode, #[case] len: usize) {
    let server = TestServer::start(mode);
    let request = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(len));
    let (reply, mut stream) = server.exchange(request.as_bytes());
    assert_refused(
        &reply,
        414,
        "the request-target is longer than 8000 octets",
        true,
    );
    assert!(is_closed(&mut stream));
}

#[apply(both_modes)]
fn target_of_8000_octets_is_served(mode: Mode) {
    let server = TestServer::start(mode);
    let target = format!("/hello.txt?{}", "q".repeat(8000 - "/hello.txt?".len()));
    let (reply, _) =
        server.exchange(format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
    assert_hello_200(&server, &reply, false);
}

#[apply(both_modes)]
#[case::one_big_field(format!("X-Big: {}\r\n", "b".repeat(70_000)), "the header section is larger than 64 KiB")]
#[case::many_fields((0..101).map(|i| format!("X-{i}: v\r\n")).collect::<String>(), "more than 100 header fields")]
fn large_header_section_is_431(mode: Mode, #[case] fields: String, #[case] message: &str) {
    let server = TestServer::start(mode);
    let request = format!("GET / HTTP/1.1\r\nHost: a\r\n{fields}\r\n");
    let (reply, mut stream) = server.exchange(request.as_bytes());
    assert_refused(&reply, 431, message, true);
    assert!(is_closed(&mut stream));
}

#[apply(both_modes)]
fn long_but_fine_header_section_is_served(mode: Mode) {
    let server = TestServer::start(mode);
    let fields: String = (0..90)
        .map(|i| format!("X-Field-{i}: {}\r\n", "v".repeat(500)))
        .collect();
    let request = format!("GET /hello.txt HTTP/1.1\r\nHost: a\r\n{fields}\r\n");
    let (reply, _) = server.exchange(request.as_bytes());
    assert_hello_200(&server, &reply, false);
}

/// A file whose size changes between its stat and its read is a handler
/// failure: `/proc` files stat as empty and then read as text.
#[apply(both_modes)]
fn handler_failure_is_500_and_the_server_keeps_serving(mode: Mode) {
    let server = TestServer::start_with(mode, quiet_config(PathBuf::from("/proc/self")));
    let (reply, mut stream) = server.exchange(b"GET /status HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_refused(&reply, 500, "the server failed to answer", true);
    assert!(is_closed(&mut stream));
    let (next, _) = server.exchange(b"GET /no-such-entry HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_refused(&next, 404, "no such file", server.closes_always());
}
