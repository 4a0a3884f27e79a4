//! The response direction: what the client receives of what the origin
//! answers, and what the proxy says instead when the answer is unsafe.

use crate::support::{answer, from_proxy, Origin, Step, TestProxy, ORIGIN_DATE};

const GET: &[u8] = b"GET /r HTTP/1.1\r\nHost: h\r\n\r\n";

/// The request the origin receives for [`GET`].
fn forwarded_get(proxy: &TestProxy) -> String {
    format!(
        "GET /r HTTP/1.1\r\nHost: h\r\n{}\r\nConnection: close\r\n\r\n",
        proxy.via("1.1")
    )
}

/// RFC 9110 §5.1 and §5.3 (unknown fields, in order), §7.6.3 (Via),
/// §7.7 (no-transform: the content is unchanged; endpoint and
/// representation fields unchanged), §10.2.1 (Allow), §11.6.1
/// (WWW-Authenticate), §12.5.5 (Vary, no `*` added), §6.6.1 (the origin's
/// Date kept).
#[test]
fn a_response_is_relayed_with_its_fields_in_order_and_via_appended() {
    let response = format!(
        "HTTP/1.1 401 Who Are You\r\nDate: {ORIGIN_DATE}\r\nServer: origin/1\r\n\
WWW-Authenticate: Basic realm=\"a, b\"\r\nX-Multi: 1\r\nAllow: GET, X-CUSTOM\r\n\
Cache-Control: no-transform\r\nContent-Type: application/x-thing\r\nContent-Encoding: x-own\r\n\
ETag: \"v1\"\r\nLast-Modified: Sat, 01 Jan 2000 00:00:00 GMT\r\nVary: Accept\r\nX-Multi: 2\r\n\
Content-Length: 10\r\n\r\n  <raw>\t\r\n"
    );
    let origin = Origin::answering(response.as_bytes());
    let proxy = TestProxy::start(origin.addr);
    assert_eq!(
        proxy.exchange(GET),
        format!(
            "HTTP/1.1 401 Who Are You\r\nDate: {ORIGIN_DATE}\r\nServer: origin/1\r\n\
WWW-Authenticate: Basic realm=\"a, b\"\r\nX-Multi: 1\r\nAllow: GET, X-CUSTOM\r\n\
Cache-Control: no-transform\r\nContent-Type: application/x-thing\r\nContent-Encoding: x-own\r\n\
ETag: \"v1\"\r\nLast-Modified: Sat, 01 Jan 2000 00:00:00 GMT\r\nVary: Accept\r\nX-Multi: 2\r\n\
{}\r\nContent-Length: 10\r\n\r\n  <raw>\t\r\n",
            proxy.via("1.1")
        )
    );
    assert_eq!(origin.received(), [forwarded_get(&proxy)]);
}

/// RFC 9110 §6.6.1: "A recipient with a clock that receives a response
/// message without a Date header field MUST record the time it was
/// received and append a corresponding Date header field"; §7.6.1: the
/// hop-by-hop fields of a response go too.
#[test]
fn a_response_without_date_gets_one_and_loses_its_hop_by_hop_fields() {
    let origin = Origin::answering(
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive, X-Conn\r\nX-Conn: 1\r\nKeep-Alive: timeout=5\r\n\
Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-End: 1\r\nContent-Length: 2\r\n\r\nok",
    );
    let proxy = TestProxy::start(origin.addr);
    assert_eq!(
        proxy.exchange(GET),
        format!(
            "HTTP/1.1 200 OK\r\nDate: <now>\r\nX-End: 1\r\n{}\r\nContent-Length: 2\r\n\r\nok",
            proxy.via("1.0")
        )
    );
    assert_eq!(origin.received(), [forwarded_get(&proxy)]);
}

/// Each response the origin must not have sent is discarded and answered
/// 502, and the upstream connection closed: RFC 9112 §5.2 (obs-fold: "MUST
/// either discard the message and replace it with a 502 (Bad Gateway)
/// response ... or replace each received obs-fold with one or more SP"),
/// §5.1 (whitespace before a colon, which a proxy must remove: refused
/// here, so never forwarded), RFC 9110 §5.5 (CR, LF or NUL in a value),
/// RFC 9112 §6.3 rule 5 (an invalid or conflicting Content-Length: "the
/// proxy MUST close the connection to the server, discard the received
/// response, and send a 502"), §6.1 (Transfer-Encoding in HTTP/1.0: faulty
/// framing), a coding other than chunked, a status code outside 100–599
/// (RFC 9110 §15), a 101 nobody asked for.
#[test]
fn an_invalid_response_is_discarded_for_a_502() {
    let invalid = "the origin's response head is invalid";
    let length = "the origin's Content-Length is invalid or conflicting";
    for (response, why) in [
        (
            &b"HTTP/1.1 200 OK\r\nX-A: a\r\n folded\r\nContent-Length: 0\r\n\r\n"[..],
            invalid,
        ),
        (
            b"HTTP/1.1 200 OK\r\nX-A : a\r\nContent-Length: 0\r\n\r\n",
            invalid,
        ),
        (
            b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n",
            invalid,
        ),
        (
            b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n",
            invalid,
        ),
        (
            b"HTTP/1.1 200 OK\r\nX-A: a\nContent-Length: 0\r\n\r\n",
            invalid,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 12\r\n\r\nabcdefghijkl",
            length,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3, 12\r\n\r\nabcdefghijkl",
            length,
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0x3\r\n\r\nabc", length),
        (
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "the origin sent Transfer-Encoding in an HTTP/1.0 response",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz",
            "the origin used a transfer coding other than chunked",
        ),
        (
            b"HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n",
            "the origin's status code is outside 100-599",
        ),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
            "the origin switched protocols, which nobody asked it to",
        ),
    ] {
        let origin = Origin::answering(response);
        let proxy = TestProxy::start(origin.addr);
        assert_eq!(
            proxy.exchange(GET),
            from_proxy("502 Bad Gateway", why, true),
            "{:?}",
            String::from_utf8_lossy(response)
        );
        assert_eq!(origin.received(), [forwarded_get(&proxy)]);
    }
}

/// RFC 9112 §6.3 rule 3: with both Transfer-Encoding and Content-Length,
/// "An intermediary that chooses to forward the message MUST first remove
/// the received Content-Length field and process the Transfer-Encoding";
/// §6.2: never both; §7.1.2: the trailer fields are dropped, not merged.
#[test]
fn content_length_with_transfer_encoding_from_the_origin_is_framed_by_the_chunks() {
    let origin = Origin::answering(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n\
c;x=y\r\nhello, world\r\n0\r\nX-Trailer: dropped\r\n\r\n",
    );
    let proxy = TestProxy::start(origin.addr);
    assert_eq!(
        proxy.exchange(GET),
        format!(
            "HTTP/1.1 200 OK\r\nDate: <now>\r\n{}\r\nTransfer-Encoding: chunked\r\n\r\n\
c\r\nhello, world\r\n0\r\n\r\n",
            proxy.via("1.1")
        )
    );
    assert_eq!(origin.received(), [forwarded_get(&proxy)]);
}

/// RFC 9112 §6.3: "A client MUST NOT process, cache, or forward such extra
/// data as a separate response". The origin answers the first request with
/// `Content-Length: 3`, then 12 octets and a whole second response; the
/// client's second request gets the answer of its own upstream connection.
#[test]
fn bytes_after_the_origins_response_are_never_relayed() {
    let origin = Origin::start(vec![
        answer(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdefghijkl\
HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\npoisoned",
        ),
        answer(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"),
    ]);
    let proxy = TestProxy::start(origin.addr);
    let via = proxy.via("1.1");
    assert_eq!(
        proxy.exchange(&GET.repeat(2)),
        format!(
            "HTTP/1.1 200 OK\r\nDate: <now>\r\n{via}\r\nContent-Length: 3\r\n\r\nabc\
HTTP/1.1 200 OK\r\nDate: <now>\r\n{via}\r\nContent-Length: 6\r\n\r\nsecond"
        )
    );
    assert_eq!(
        origin.received(),
        [forwarded_get(&proxy), forwarded_get(&proxy)]
    );
}

/// RFC 9110 §15.2: "A proxy MUST forward 1xx responses", and "A server
/// MUST NOT send a 1xx response to an HTTP/1.0 client"; RFC 9112 §6.1: no
/// Transfer-Encoding in a response to HTTP/1.0 (close-delimited instead),
/// §9.3: no persistent connection with it.
#[test]
fn interim_responses_reach_http11_clients_only() {
    let early = b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n\
HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n";
    let origin = Origin::start(vec![answer(early), answer(early)]);
    let proxy = TestProxy::start(origin.addr);
    let via = proxy.via("1.1");
    assert_eq!(
        proxy.exchange(GET),
        format!(
            "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n{via}\r\n\r\n\
HTTP/1.1 200 OK\r\nDate: <now>\r\n{via}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
        )
    );
    assert_eq!(
        proxy.exchange(b"GET /r HTTP/1.0\r\nHost: h\r\n\r\n"),
        format!("HTTP/1.1 200 OK\r\nDate: <now>\r\n{via}\r\nConnection: close\r\n\r\nok")
    );
    let http10 = format!(
        "GET /r HTTP/1.1\r\nHost: h\r\n{}\r\nConnection: close\r\n\r\n",
        proxy.via("1.0")
    );
    assert_eq!(origin.received(), [forwarded_get(&proxy), http10]);
}

/// RFC 9112 §6.1: no Transfer-Encoding on a 1xx or 204; RFC 9110 §15.4.5:
/// a proxy "SHOULD forward the 304 response", with the length a 200 would
/// have had (§8.6); §14.4: a 206 with a range unit the proxy does not know
/// goes on as it came; RFC 9110 §13.2.1: the conditional is the origin's
/// to evaluate.
#[test]
fn bodiless_and_partial_responses_are_forwarded_without_a_coding() {
    let origin = Origin::start(vec![
        answer(b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"),
        answer(b"HTTP/1.1 304 Not Modified\r\nETag: \"v\"\r\nContent-Length: 1234\r\n\r\n"),
        answer(b"HTTP/1.1 206 Partial Content\r\nContent-Range: lines 1-2/9\r\nContent-Length: 4\r\n\r\na\nb\n"),
    ]);
    let proxy = TestProxy::start(origin.addr);
    let via = proxy.via("1.1");
    assert_eq!(
        proxy.exchange(
            b"DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n\
GET /v HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"v\"\r\n\r\n\
GET /l HTTP/1.1\r\nHost: h\r\nRange: lines=1-2\r\n\r\n"
        ),
        format!(
            "HTTP/1.1 204 No Content\r\nDate: <now>\r\nX-A: 1\r\n{via}\r\n\r\n\
HTTP/1.1 304 Not Modified\r\nDate: <now>\r\nETag: \"v\"\r\n{via}\r\nContent-Length: 1234\r\n\r\n\
HTTP/1.1 206 Partial Content\r\nDate: <now>\r\nContent-Range: lines 1-2/9\r\n{via}\r\n\
Content-Length: 4\r\n\r\na\nb\n"
        )
    );
    assert_eq!(
        origin.received(),
        [
            format!("DELETE /x HTTP/1.1\r\nHost: h\r\n{via}\r\nConnection: close\r\n\r\n"),
            format!(
                "GET /v HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"v\"\r\n{via}\r\nConnection: close\r\n\r\n"
            ),
            format!("GET /l HTTP/1.1\r\nHost: h\r\nRange: lines=1-2\r\n{via}\r\nConnection: close\r\n\r\n"),
        ]
    );
}

/// RFC 9112 §6.3 rule 8: a response without framing ends with the origin's
/// close; to an HTTP/1.1 client it goes on chunked, so the client's
/// connection persists; a HEAD response keeps its Content-Length and gets
/// no content.
#[test]
fn a_close_delimited_response_is_chunked_and_a_head_response_has_no_content() {
    let origin = Origin::start(vec![
        answer(b"HTTP/1.1 200 OK\r\n\r\nuntil the close"),
        answer(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
    ]);
    let proxy = TestProxy::start(origin.addr);
    let via = proxy.via("1.1");
    assert_eq!(
        proxy.exchange(b"GET /c HTTP/1.1\r\nHost: h\r\n\r\nHEAD /h HTTP/1.1\r\nHost: h\r\n\r\n"),
        format!(
            "HTTP/1.1 200 OK\r\nDate: <now>\r\n{via}\r\nTransfer-Encoding: chunked\r\n\r\n\
f\r\nuntil the close\r\n0\r\n\r\n\
HTTP/1.1 200 OK\r\nDate: <now>\r\n{via}\r\nContent-Length: 5\r\n\r\n"
        )
    );
    assert_eq!(
        origin.received(),
        [
            format!("GET /c HTTP/1.1\r\nHost: h\r\n{via}\r\nConnection: close\r\n\r\n"),
            format!("HEAD /h HTTP/1.1\r\nHost: h\r\n{via}\r\nConnection: close\r\n\r\n"),
        ]
    );
}

/// RFC 9112 §6.3 rule 6: an origin that closes before the length it
/// announced is incomplete: the client gets the head and what arrived, and
/// the close tells it the response is incomplete.
#[test]
fn a_response_cut_short_closes_the_client_connection() {
    let origin = Origin::start(vec![vec![
        Step::Request,
        Step::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort".to_vec()),
        Step::Close,
    ]]);
    let proxy = TestProxy::start(origin.addr);
    // The second request is never answered: the first response broke off.
    assert_eq!(
        proxy.exchange(&GET.repeat(2)),
        format!(
            "HTTP/1.1 200 OK\r\nDate: <now>\r\n{}\r\nContent-Length: 10\r\n\r\nshort",
            proxy.via("1.1")
        )
    );
    assert_eq!(origin.received(), [forwarded_get(&proxy)]);
}
