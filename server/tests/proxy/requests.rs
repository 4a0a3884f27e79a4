//! The request direction: what the origin receives, or that it receives
//! nothing when the proxy must refuse or answer itself.

use crate::support::{answer, from_proxy, Origin, Step, TestProxy, ORIGIN_DATE};

/// A small answer from the origin, with its own `Date`.
fn ok() -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nDate: {ORIGIN_DATE}\r\nContent-Length: 2\r\n\r\nok").into_bytes()
}

/// The client's view of [`ok`] through `proxy`.
fn ok_relayed(proxy: &TestProxy) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nDate: {ORIGIN_DATE}\r\n{}\r\nContent-Length: 2\r\n\r\nok",
        proxy.via("1.1")
    )
}

/// RFC 9110 §5.1, §5.3, §7.6.3, §7.7, §11.6.2, §13.2.1: unknown fields are
/// forwarded, repeated fields keep their order, the target, the host name,
/// `Authorization` and the conditionals go unchanged, `Max-Forwards` on a
/// GET is neither counted down nor generated, and `Via` is appended.
#[test]
fn a_request_is_forwarded_with_its_fields_in_order_and_via_appended() {
    let origin = Origin::answering(&ok());
    let proxy = TestProxy::start(origin.addr);
    let got = proxy.exchange(
        b"GET /a/../b%2F;p?q=1&r=%20 HTTP/1.1\r\nHost: Example.COM:8080\r\nX-Unknown: 1\r\n\
Accept: text/html\r\nX-Unknown: 2\r\nAuthorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l\r\n\
If-None-Match: \"abc\"\r\nIf-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n\
Max-Forwards: 3\r\n\r\n",
    );
    assert_eq!(got, ok_relayed(&proxy));
    assert_eq!(
        origin.received(),
        [format!(
            "GET /a/../b%2F;p?q=1&r=%20 HTTP/1.1\r\nHost: Example.COM:8080\r\nX-Unknown: 1\r\n\
Accept: text/html\r\nX-Unknown: 2\r\nAuthorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l\r\n\
If-None-Match: \"abc\"\r\nIf-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n\
Max-Forwards: 3\r\n{}\r\nConnection: close\r\n\r\n",
            proxy.via("1.1")
        )]
    );
}

/// RFC 9110 §7.6.1: the fields the Connection field lists go, then
/// Connection itself, and Proxy-Connection, Keep-Alive, TE, Upgrade; RFC
/// 9112 §7.4 and RFC 9110 §7.8: the proxy never sends TE or Upgrade, so it
/// owes no `TE` or `Upgrade` connection option; an HTTP/1.0 Upgrade is
/// ignored the same way.
#[test]
fn hop_by_hop_request_fields_are_removed() {
    let origin = Origin::start(vec![answer(&ok()), answer(&ok())]);
    let proxy = TestProxy::start(origin.addr);
    let request = b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop\r\n\
X-Hop: secret\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n\
Upgrade: websocket\r\nX-End: kept\r\n\r\n";
    assert_eq!(proxy.exchange(request), ok_relayed(&proxy));
    let http10 = b"GET / HTTP/1.0\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n";
    assert_eq!(
        proxy.exchange(http10),
        ok_relayed(&proxy).replace(
            "Content-Length: 2\r\n",
            "Content-Length: 2\r\nConnection: close\r\n"
        )
    );
    let via = proxy.via("1.1");
    assert_eq!(
        origin.received(),
        [
            format!(
                "GET / HTTP/1.1\r\nHost: h\r\nX-End: kept\r\n{via}\r\nConnection: close\r\n\r\n"
            ),
            format!(
                "GET / HTTP/1.1\r\nHost: h\r\n{}\r\nConnection: close\r\n\r\n",
                proxy.via("1.0")
            ),
        ]
    );
}

/// RFC 9112 §6.1: "A server MAY reject a request that contains both
/// Content-Length and Transfer-Encoding ... Regardless, the server MUST
/// close the connection after responding to such a request". Refused, so
/// never forwarded (§6.3 rule 3), and the pipelined request after it is
/// never read.
#[test]
fn content_length_with_transfer_encoding_is_400_closed_and_never_forwarded() {
    let origin = Origin::silent();
    let proxy = TestProxy::start(origin.addr);
    let got = proxy.exchange(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n\
0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert_eq!(
        got,
        from_proxy(
            "400 Bad Request",
            "Transfer-Encoding and Content-Length in one request",
            true
        )
    );
    assert_eq!(origin.received(), Vec::<String>::new());
}

/// Every request the server refuses as malformed, the proxy refuses the
/// same way and never forwards: RFC 9112 §2.2 (bare CR), §5.1 (whitespace
/// before a colon), §5.2 (obs-fold), §6.1 (Transfer-Encoding in HTTP/1.0),
/// §6.3 (invalid or conflicting Content-Length), RFC 9110 §5.5 (NUL in a
/// value).
#[test]
fn malformed_requests_are_400_and_never_forwarded() {
    let origin = Origin::silent();
    let proxy = TestProxy::start(origin.addr);
    for (request, why) in [
        (
            &b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n"[..],
            "a CR is not followed by LF",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nX-A : a\r\n\r\n",
            "whitespace between a field-name and its colon",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n",
            "a field line starts with whitespace (obsolete line folding)",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x00b\r\n\r\n",
            "a field value contains a control character",
        ),
        (
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "Transfer-Encoding in an HTTP/1.0 request",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\nab",
            "Content-Length is invalid or conflicting",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
            "Content-Length is invalid or conflicting",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "more than one Host header",
        ),
        (
            b"GET / HTTP/1.1\r\n\r\n",
            "an HTTP/1.1 request needs a Host header",
        ),
    ] {
        assert_eq!(
            proxy.exchange(request),
            from_proxy("400 Bad Request", why, true),
            "{:?}",
            String::from_utf8_lossy(request)
        );
    }
    assert_eq!(origin.received(), Vec::<String>::new());
}

/// RFC 9112 §7.1: a chunked request goes on chunked, with the proxy's own
/// sizes, without the chunk extensions and, §7.1.2, without the trailer
/// fields (never merged into the header section); RFC 9112 §6.2: no
/// Content-Length beside Transfer-Encoding.
#[test]
fn a_chunked_request_is_forwarded_in_chunks_without_extensions_or_trailers() {
    let origin = Origin::answering(&ok());
    let proxy = TestProxy::start(origin.addr);
    let got = proxy.exchange(
        b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
005;name=\"v\"\r\nhello\r\n1\r\n!\r\n0\r\nX-Trailer: t\r\n\r\n",
    );
    assert_eq!(got, ok_relayed(&proxy));
    assert_eq!(
        origin.received(),
        [format!(
            "POST /up HTTP/1.1\r\nHost: h\r\n{}\r\nTransfer-Encoding: chunked\r\n\
Connection: close\r\n\r\n5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n",
            proxy.via("1.1")
        )]
    );
}

/// RFC 9112 §7.1: a chunk-size too large for the proxy to count is a
/// framing error (400, close); what reached the origin is the head and no
/// chunk, never the size wrapped.
#[test]
fn a_chunk_size_overflow_is_400_and_never_forwarded_wrapped() {
    let origin = Origin::start(vec![vec![Step::Head]]);
    let proxy = TestProxy::start(origin.addr);
    let got = proxy.exchange(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
10000000000000005\r\nhello\r\n0\r\n\r\n",
    );
    assert_eq!(
        got,
        from_proxy("400 Bad Request", "the chunked body is malformed", true)
    );
    assert_eq!(
        origin.received(),
        [format!(
            "POST / HTTP/1.1\r\nHost: h\r\n{}\r\nTransfer-Encoding: chunked\r\n\
Connection: close\r\n\r\n",
            proxy.via("1.1")
        )]
    );
}

/// RFC 9110 §8.6 and RFC 9112 §6.3 rule 5: a list of equal Content-Length
/// values goes on as the one value, never as a field a recipient could
/// read another way.
#[test]
fn a_content_length_list_is_forwarded_as_one_value() {
    let origin = Origin::answering(&ok());
    let proxy = TestProxy::start(origin.addr);
    let got = proxy.exchange(
        b"PUT /f HTTP/1.1\r\nContent-Length: 5, 5\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert_eq!(got, ok_relayed(&proxy));
    assert_eq!(
        origin.received(),
        [format!(
            "PUT /f HTTP/1.1\r\nHost: h\r\n{}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
            proxy.via("1.1")
        )]
    );
}

/// RFC 9112 §2.3: the proxy sends its own HTTP-version; RFC 9110 §7.6.3:
/// Via records the client's; RFC 9112 §3.2: an HTTP/1.1 request needs a
/// Host, so one without gets the upstream's.
#[test]
fn an_http10_request_is_forwarded_as_http11() {
    let origin = Origin::answering(&ok());
    let host = origin.addr.to_string();
    let proxy = TestProxy::start(origin.addr);
    proxy.exchange(b"GET /old HTTP/1.0\r\nUser-Agent: old\r\n\r\n");
    assert_eq!(
        origin.received(),
        [format!(
            "GET /old HTTP/1.1\r\nHost: {host}\r\nUser-Agent: old\r\n{}\r\nConnection: close\r\n\r\n",
            proxy.via("1.0")
        )]
    );
}

/// RFC 9112 §3.2.2: of an absolute-form target, "the proxy MUST ignore the
/// received Host header field (if any) and instead replace it with the
/// host information of the request-target"; RFC 9110 §7.7: the host name
/// and the path and query unchanged. An `https` target on this plain
/// connection is refused as an origin server refuses it (§3.7, §7.4), with
/// 400: a 421 "MUST NOT be generated by proxies" (§15.5.20).
#[test]
fn an_absolute_form_target_gives_the_host_and_goes_on_in_origin_form() {
    let origin = Origin::answering(&ok());
    let proxy = TestProxy::start(origin.addr);
    let got = proxy.exchange(
        b"GET http://WWW.Example.org:8001/p/q?x=%41 HTTP/1.1\r\nX-A: 1\r\nHost: other.example\r\n\r\n\
GET https://secure.example/s HTTP/1.1\r\nHost: secure.example\r\n\r\n",
    );
    assert_eq!(
        got,
        ok_relayed(&proxy)
            + &from_proxy(
                "400 Bad Request",
                "an https target cannot be requested over this unencrypted connection",
                false
            )
    );
    assert_eq!(
        origin.received(),
        [format!(
            "GET /p/q?x=%41 HTTP/1.1\r\nX-A: 1\r\nHost: WWW.Example.org:8001\r\n{}\r\n\
Connection: close\r\n\r\n",
            proxy.via("1.1")
        )]
    );
}

/// RFC 9112 §3.2.4: "If a proxy receives an OPTIONS request with an
/// absolute-form of request-target in which the URI has an empty path and
/// no query component, then the last proxy on the request chain MUST send
/// a request-target of "*"".
#[test]
fn options_for_a_whole_server_goes_on_as_an_asterisk() {
    let origin = Origin::start(vec![answer(&ok()), answer(&ok())]);
    let proxy = TestProxy::start(origin.addr);
    let got = proxy.exchange(
        b"OPTIONS http://www.example.org:8001 HTTP/1.1\r\nHost: www.example.org:8001\r\n\r\n\
OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert_eq!(got, ok_relayed(&proxy).repeat(2));
    let via = proxy.via("1.1");
    assert_eq!(
        origin.received(),
        [
            format!(
                "OPTIONS * HTTP/1.1\r\nHost: www.example.org:8001\r\n{via}\r\nConnection: close\r\n\r\n"
            ),
            format!("OPTIONS * HTTP/1.1\r\nHost: h\r\n{via}\r\nConnection: close\r\n\r\n"),
        ]
    );
}

/// RFC 9110 §7.6.2: "If the received value is zero (0), the intermediary
/// MUST NOT forward the request; instead, the intermediary MUST respond as
/// the final recipient"; §9.3.8: a TRACE is reflected as `message/http`,
/// credentials left out.
#[test]
fn max_forwards_zero_is_answered_by_the_proxy() {
    let origin = Origin::silent();
    let proxy = TestProxy::start(origin.addr);
    let got = proxy.exchange(
        b"OPTIONS /o HTTP/1.1\r\nHost: h\r\nMax-Forwards: 0\r\n\r\n\
TRACE /t HTTP/1.1\r\nHost: h\r\nMax-Forwards: 0\r\nCookie: secret\r\nX-A: 1\r\n\r\n",
    );
    assert_eq!(
        got,
        "HTTP/1.1 200 OK\r\nDate: <now>\r\nContent-Length: 0\r\n\r\n\
HTTP/1.1 200 OK\r\nDate: <now>\r\nContent-Type: message/http\r\nContent-Length: 55\r\n\r\n\
TRACE /t HTTP/1.1\r\nHost: h\r\nMax-Forwards: 0\r\nX-A: 1\r\n\r\n"
    );
    assert_eq!(origin.received(), Vec::<String>::new());
}

/// RFC 9110 §7.6.2: a Max-Forwards above zero on TRACE or OPTIONS goes on
/// decremented by one; §9.3.7: "A proxy MUST NOT generate a Max-Forwards
/// header field while forwarding a request unless that request was
/// received with a Max-Forwards field".
#[test]
fn max_forwards_is_decremented_on_trace_and_options_and_never_generated() {
    let origin = Origin::start(vec![answer(&ok()), answer(&ok()), answer(&ok())]);
    let proxy = TestProxy::start(origin.addr);
    proxy.exchange(
        b"TRACE / HTTP/1.1\r\nHost: h\r\nMax-Forwards: 10\r\nX-A: 1\r\n\r\n\
OPTIONS / HTTP/1.1\r\nMax-Forwards: 1\r\nHost: h\r\n\r\n\
OPTIONS / HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    let via = proxy.via("1.1");
    assert_eq!(
        origin.received(),
        [
            format!(
                "TRACE / HTTP/1.1\r\nHost: h\r\nMax-Forwards: 9\r\nX-A: 1\r\n{via}\r\n\
Connection: close\r\n\r\n"
            ),
            format!(
                "OPTIONS / HTTP/1.1\r\nMax-Forwards: 0\r\nHost: h\r\n{via}\r\nConnection: close\r\n\r\n"
            ),
            format!("OPTIONS / HTTP/1.1\r\nHost: h\r\n{via}\r\nConnection: close\r\n\r\n"),
        ]
    );
}

/// RFC 9110 §7.6: "An intermediary MUST NOT forward a message to itself
/// unless it is protected from an infinite request loop": a request whose
/// Via already names this proxy is answered 508, not forwarded.
#[test]
fn a_request_that_already_passed_through_the_proxy_is_a_loop() {
    let origin = Origin::silent();
    let proxy = TestProxy::start(origin.addr);
    let request = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nVia: 1.0 fred, {}\r\n\r\n",
        proxy.via("1.1").trim_start_matches("Via: ")
    );
    assert_eq!(
        proxy.exchange(request.as_bytes()),
        from_proxy(
            "508 Loop Detected",
            "the request has already passed through this proxy",
            false
        )
    );
    assert_eq!(origin.received(), Vec::<String>::new());
}

/// RFC 9110 §9.3.6: CONNECT asks for a tunnel, which this proxy does not
/// open; nothing reaches the origin.
#[test]
fn connect_is_not_implemented() {
    let origin = Origin::silent();
    let proxy = TestProxy::start(origin.addr);
    assert_eq!(
        proxy.exchange(b"CONNECT origin.example:443 HTTP/1.1\r\nHost: origin.example:443\r\n\r\n"),
        from_proxy(
            "501 Not Implemented",
            "this proxy does not open tunnels (CONNECT)",
            true
        )
    );
    assert_eq!(origin.received(), Vec::<String>::new());
}
