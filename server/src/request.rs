//! What a parsed request means: its framing, and whether this server answers
//! it, in the order the server checks them — message framing, then version,
//! then Host, then method, then the request-target, then its expectations.

use crate::parse::{trim_ows, Request, Version};
use crate::problem::Problem;

/// How the request body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// `Content-Length` octets.
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
}

/// What the request asks for, once every check has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The path and query as received (still percent-encoded), for
    /// `Location`.
    raw: String,
    /// Where the query starts in `raw` (its length when there is none).
    query_at: usize,
    /// The path percent-decoded.
    pub path: Vec<u8>,
}

impl Target {
    /// The path as received (still percent-encoded).
    pub fn raw_path(&self) -> &str {
        &self.raw[..self.query_at]
    }

    /// The query as received, with its `?`, or empty.
    pub fn query(&self) -> &str {
        &self.raw[self.query_at..]
    }
}

/// Methods RFC 9110 §9 defines that a static file server refuses with 405.
const KNOWN_METHODS: [&str; 7] = [
    "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
];

/// The body framing of `request`.
///
/// RFC 9112 §6.3: "If a message is received with both a Transfer-Encoding and
/// a Content-Length header field, the Transfer-Encoding overrides the
/// Content-Length. Such a message might indicate an attempt to perform request
/// smuggling ... or response splitting ... and ought to be handled as an
/// error." This server treats it as one.
pub fn framing(request: &Request<'_>) -> Result<Framing, Problem> {
    let lengths: Vec<&[u8]> = request.values("Content-Length").collect();
    let has_encoding = request.values("Transfer-Encoding").next().is_some();
    if has_encoding {
        // RFC 9112 §6.1: "A server or client that receives an HTTP/1.0 message
        // containing a Transfer-Encoding header field MUST treat the message
        // as if the framing is faulty".
        if request.version.minor == 0 && request.version.major == 1 {
            return Err(Problem::EncodingInHttp10);
        }
        if !lengths.is_empty() {
            return Err(Problem::LengthAndEncoding);
        }
        return transfer_codings(request).map(|()| Framing::Chunked);
    }
    content_length(&lengths)
}

/// Checks `Transfer-Encoding = #transfer-coding` (RFC 9112 §6.1): `chunked`
/// last and once; a coding before it is not implemented here.
fn transfer_codings(request: &Request<'_>) -> Result<(), Problem> {
    let mut codings = Vec::new();
    for value in request.values("Transfer-Encoding") {
        for element in value.split(|&b| b == b',') {
            let element = trim_ows(element);
            // RFC 9110 §5.6.1: empty list elements are allowed and ignored.
            if !element.is_empty() {
                codings.push(element);
            }
        }
    }
    let Some((last, before)) = codings.split_last() else {
        return Err(Problem::NotChunked);
    };
    // RFC 9112 §6.3: "If a Transfer-Encoding header field is present in a
    // request and the chunked transfer coding is not the final encoding, the
    // message body length cannot be determined reliably; the server MUST
    // respond with the 400 (Bad Request) status code and then close the
    // connection." §7.1: a sender "MUST NOT apply the chunked transfer coding
    // more than once to a message body".
    if !last.eq_ignore_ascii_case(b"chunked")
        || before.iter().any(|c| c.eq_ignore_ascii_case(b"chunked"))
    {
        return Err(Problem::NotChunked);
    }
    if before.is_empty() {
        Ok(())
    } else {
        // RFC 9112 §6.1: "A server that receives a request message with a
        // transfer coding it does not understand SHOULD respond with 501".
        Err(Problem::UnknownCoding)
    }
}

/// `Content-Length = 1*DIGIT` (RFC 9110 §8.6). Several lines, or a list,
/// are accepted only when every value is the same number: "a recipient MAY
/// either reject the message as invalid or replace that invalid field value
/// with a single instance of the decimal value".
fn content_length(values: &[&[u8]]) -> Result<Framing, Problem> {
    let mut length = None;
    for value in values {
        for element in value.split(|&b| b == b',') {
            let n = decimal(trim_ows(element)).ok_or(Problem::ContentLength)?;
            if length.is_some_and(|l| l != n) {
                return Err(Problem::ContentLength);
            }
            length = Some(n);
        }
    }
    Ok(match length {
        None | Some(0) => Framing::Empty,
        Some(n) => Framing::Length(n),
    })
}

/// `1*DIGIT` as a u64; `None` for anything else or an overflow.
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if d.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        } else {
            None
        }
    })
}

/// Whether the client asked to close: HTTP/1.0 always (this server does not
/// implement HTTP/1.0 keep-alive), or a `close` connection option.
///
/// RFC 9112 §9.6: "A server that receives a "close" connection option MUST
/// initiate closure of the connection ... after it sends the final response".
pub fn wants_close(request: &Request<'_>) -> bool {
    is_http10(request)
        || request.values("Connection").any(|value| {
            value
                .split(|&b| b == b',')
                .any(|o| trim_ows(o).eq_ignore_ascii_case(b"close"))
        })
}

/// Whether the client waits for a 100 (Continue) before sending content:
/// an `Expect` with the `100-continue` member (case-insensitive) in an
/// HTTP/1.1 or later request.
///
/// RFC 9110 §10.1.1: "A server that receives a 100-continue expectation in
/// an HTTP/1.0 request MUST ignore that expectation", and §15.2: "a server
/// MUST NOT send a 1xx response to an HTTP/1.0 client".
pub fn expects_continue(request: &Request<'_>) -> bool {
    !is_http10(request) && expectations(request).any(|e| e.eq_ignore_ascii_case(b"100-continue"))
}

/// Whether the server can meet every expectation of the request: it meets
/// `100-continue` and no other. HTTP/1.0, which has no `Expect`, is not
/// checked.
///
/// RFC 9110 §10.1.1: "A server that receives an Expect field value
/// containing a member other than 100-continue MAY respond with a 417
/// (Expectation Failed) status code to indicate that the unexpected
/// expectation cannot be met." This server does: going ahead would ignore
/// what the client said it needs.
fn check_expectations(request: &Request<'_>) -> Result<(), Problem> {
    if is_http10(request) || expectations(request).all(|e| e.eq_ignore_ascii_case(b"100-continue"))
    {
        Ok(())
    } else {
        Err(Problem::ExpectationFailed)
    }
}

/// ```text
/// Expect      = #expectation
/// expectation = token [ "=" ( token / quoted-string ) parameters ]
/// ```
/// (RFC 9110 §10.1.1): the members of every `Expect` line, empty ones
/// dropped. Split on commas, a quoted-string holding one splits into
/// pieces, and every piece is then a member other than `100-continue`
/// (`100-continue` has "no defined parameters", so a member with `=` is
/// another one): such a field is refused with 417 either way.
fn expectations<'r>(request: &'r Request<'_>) -> impl Iterator<Item = &'r [u8]> + 'r {
    request
        .values("Expect")
        .flat_map(|value| value.split(|&b| b == b','))
        .map(trim_ows)
        .filter(|member| !member.is_empty())
}

fn is_http10(request: &Request<'_>) -> bool {
    request.version == (Version { major: 1, minor: 0 })
}

/// Checks version, Host, method, target and expectations, in that order,
/// and returns what the request asks for.
pub fn check(request: &Request<'_>) -> Result<Target, Problem> {
    // RFC 9110 §15.6.6: 505 "indicates that the server does not support, or
    // refuses to support, the major version of HTTP that was used".
    if request.version.major != 1 {
        return Err(Problem::Version);
    }
    check_host(request)?;
    match request.method {
        "GET" | "HEAD" => {}
        m if KNOWN_METHODS.contains(&m) => return Err(Problem::NotAllowed),
        // RFC 9110 §9.1: "The method token is case-sensitive"; `get` is unknown.
        _ => return Err(Problem::UnknownMethod),
    }
    let path_and_query = origin_of(request.target)?;
    let query_at = path_and_query.find('?').unwrap_or(path_and_query.len());
    let path = decode_path(&path_and_query[..query_at])?;
    check_expectations(request)?;
    Ok(Target {
        raw: path_and_query.to_owned(),
        query_at,
        path,
    })
}

/// RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code
/// to any HTTP/1.1 request message that lacks a Host header field and to any
/// request message that contains more than one Host header field line or a
/// Host header field with an invalid field value."
pub fn check_host(request: &Request<'_>) -> Result<(), Problem> {
    let mut hosts = request.values("Host");
    match (hosts.next(), hosts.next()) {
        (None, _) if request.version.minor == 0 => Ok(()),
        (None, _) => Err(Problem::NoHost),
        (Some(_), Some(_)) => Err(Problem::TwoHosts),
        (Some(value), None) if is_host(value) => Ok(()),
        (Some(_), None) => Err(Problem::BadHost),
    }
}

/// ```text
/// Host = uri-host [ ":" port ]
/// uri-host = IP-literal / IPv4address / reg-name
/// reg-name = *( unreserved / pct-encoded / sub-delims )
/// port = *DIGIT
/// ```
/// (RFC 9110 §7.2, RFC 3986 §3.2.2). An empty value is allowed: RFC 9112
/// §3.2 has a client send an empty Host when the target has no authority.
pub(crate) fn is_host(value: &[u8]) -> bool {
    let (host, port) = match value {
        [b'[', rest @ ..] => {
            let Some(close) = rest.iter().position(|&b| b == b']') else {
                return false;
            };
            let literal = &rest[..close];
            if literal.is_empty()
                || !literal
                    .iter()
                    .all(|&b| b.is_ascii_hexdigit() || b":.vV".contains(&b))
            {
                return false;
            }
            match &rest[close + 1..] {
                [] => return true,
                [b':', port @ ..] => (&[][..], port),
                _ => return false,
            }
        }
        _ => match value.iter().position(|&b| b == b':') {
            Some(i) => (&value[..i], &value[i + 1..]),
            None => (value, &[][..]),
        },
    };
    port.iter().all(u8::is_ascii_digit) && is_reg_name(host)
}

fn is_reg_name(host: &[u8]) -> bool {
    let mut i = 0;
    while i < host.len() {
        let b = host[i];
        if b == b'%' {
            if hex(host.get(i + 1)).is_none() || hex(host.get(i + 2)).is_none() {
                return false;
            }
            i += 3;
            continue;
        }
        if !REG_NAME[usize::from(b)] {
            return false;
        }
        i += 1;
    }
    true
}

/// The octets of a reg-name other than `%`: `unreserved / sub-delims`
/// (RFC 3986 §3.2.2).
static REG_NAME: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(c, b'-' | b'.' | b'_' | b'~')
            || matches!(
                c,
                b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
            );
        b += 1;
    }
    table
};

/// The path and query of the target.
///
/// RFC 9112 §3.2.1 origin-form: `absolute-path [ "?" query ]`. §3.2.2: "a
/// server MUST accept the absolute-form in requests". The asterisk-form
/// (§3.2.4) belongs to OPTIONS and the authority-form (§3.2.3) to CONNECT;
/// with GET or HEAD they are a client error.
fn origin_of(target: &str) -> Result<&str, Problem> {
    if target.starts_with('/') {
        return Ok(target);
    }
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    let (rest, secure) = if lower.starts_with("http://") {
        (&target[7..], false)
    } else if lower.starts_with("https://") {
        (&target[8..], true)
    } else {
        return Err(Problem::TargetForm);
    };
    let path_start = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest.as_bytes()[..path_start];
    // RFC 9110 §4.2.1: a URI with an empty host "MUST" be rejected as
    // invalid; §4.2.4: userinfo is treated as an error (it fails `is_host`).
    if authority.is_empty() || !is_host(authority) {
        return Err(Problem::TargetForm);
    }
    // RFC 9110 §4.2.2, §7.4: "a request for an https resource MUST be
    // rejected unless it has been received over a connection that has been
    // secured"; 421 says this connection is the wrong one for it.
    if secure {
        return Err(Problem::Misdirected);
    }
    match &rest[path_start..] {
        // RFC 3986 §6.2.3: an empty path is equivalent to "/".
        "" => Ok("/"),
        p if p.starts_with('?') => Err(Problem::TargetForm),
        p => Ok(p),
    }
}

/// Percent-decodes a path (RFC 3986 §2.1): `%` must be followed by two hex
/// digits, and a decoded NUL is refused (no file name can contain one).
pub(crate) fn decode_path(raw: &str) -> Result<Vec<u8>, Problem> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let (Some(hi), Some(lo)) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) else {
                return Err(Problem::BadEscape);
            };
            let b = hi << 4 | lo;
            if b == 0 {
                return Err(Problem::DecodedNul);
            }
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn hex(b: Option<&u8>) -> Option<u8> {
    let b = *b?;
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_request, Status};

    fn with<T>(bytes: &[u8], f: impl FnOnce(&Request<'_>) -> T) -> T {
        match parse_request(bytes) {
            Ok(Status::Complete((request, _))) => f(&request),
            other => panic!("does not parse: {other:?}"),
        }
    }

    fn framing_of(fields: &str) -> Result<Framing, Problem> {
        let bytes = format!("POST / HTTP/1.1\r\nHost: a\r\n{fields}\r\n");
        with(bytes.as_bytes(), framing)
    }

    fn check_of(line: &str, fields: &str) -> Result<Target, Problem> {
        let bytes = format!("{line}\r\n{fields}\r\n");
        with(bytes.as_bytes(), check)
    }

    #[test]
    fn content_length_forms() {
        assert_eq!(framing_of(""), Ok(Framing::Empty));
        assert_eq!(framing_of("Content-Length: 0\r\n"), Ok(Framing::Empty));
        assert_eq!(framing_of("Content-Length: 5\r\n"), Ok(Framing::Length(5)));
        assert_eq!(
            framing_of("Content-Length: 5, 5\r\n"),
            Ok(Framing::Length(5))
        );
        assert_eq!(
            framing_of("Content-Length: 5\r\nContent-Length: 5\r\n"),
            Ok(Framing::Length(5))
        );
        for bad in [
            "abc",
            "-1",
            "+5",
            "1.0",
            "",
            "5 5",
            "5, 6",
            "99999999999999999999",
        ] {
            let fields = format!("Content-Length: {bad}\r\n");
            assert_eq!(framing_of(&fields), Err(Problem::ContentLength), "{bad:?}");
        }
        assert_eq!(
            framing_of("Content-Length: 5\r\nContent-Length: 6\r\n"),
            Err(Problem::ContentLength)
        );
    }

    #[test]
    fn transfer_encoding_forms() {
        assert_eq!(
            framing_of("Transfer-Encoding: chunked\r\n"),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing_of("Transfer-Encoding: Chunked\r\n"),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing_of("Transfer-Encoding: chunked,\r\n"),
            Ok(Framing::Chunked)
        );
        for (value, problem) in [
            ("gzip", Problem::NotChunked),
            ("chunked, gzip", Problem::NotChunked),
            ("chunked, chunked", Problem::NotChunked),
            ("x-chunked", Problem::NotChunked),
            ("", Problem::NotChunked),
            ("gzip, chunked", Problem::UnknownCoding),
        ] {
            let fields = format!("Transfer-Encoding: {value}\r\n");
            assert_eq!(framing_of(&fields), Err(problem), "{value:?}");
        }
        assert_eq!(
            framing_of("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
            Err(Problem::LengthAndEncoding)
        );
        let http10 = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(with(http10, framing), Err(Problem::EncodingInHttp10));
    }

    #[test]
    fn checks_come_in_order() {
        assert_eq!(check_of("POST / HTTP/2.0", ""), Err(Problem::Version));
        assert_eq!(check_of("POST / HTTP/1.1", ""), Err(Problem::NoHost));
        assert_eq!(
            check_of("POST * HTTP/1.1", "Host: a\r\n"),
            Err(Problem::NotAllowed)
        );
        assert_eq!(
            check_of("get * HTTP/1.1", "Host: a\r\n"),
            Err(Problem::UnknownMethod)
        );
        assert_eq!(
            check_of("GET * HTTP/1.1", "Host: a\r\n"),
            Err(Problem::TargetForm)
        );
    }

    #[test]
    fn host_rules() {
        assert!(check_of("GET / HTTP/1.0", "").is_ok());
        assert_eq!(
            check_of("GET / HTTP/1.1", "Host: a\r\nHost: a\r\n"),
            Err(Problem::TwoHosts)
        );
        for good in [
            "localhost",
            "localhost:8080",
            "127.0.0.1",
            "[::1]:80",
            "",
            "a%41b",
            "h:",
        ] {
            let fields = format!("Host: {good}\r\n");
            assert!(check_of("GET / HTTP/1.1", &fields).is_ok(), "{good:?}");
        }
        for bad in [
            "a b",
            "user@host",
            "a:b",
            "a:1:2",
            "[::1",
            "a, b",
            "a/b",
            "%zz",
        ] {
            let fields = format!("Host: {bad}\r\n");
            assert_eq!(
                check_of("GET / HTTP/1.1", &fields),
                Err(Problem::BadHost),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn target_forms() {
        let target = check_of("GET http://localhost:80/a%20b?q HTTP/1.1", "Host: x\r\n").unwrap();
        assert_eq!(target.raw_path(), "/a%20b");
        assert_eq!(target.query(), "?q");
        assert_eq!(target.path, b"/a b");
        assert_eq!(
            check_of("GET HTTP://localhost HTTP/1.1", "Host: x\r\n")
                .unwrap()
                .path,
            b"/"
        );
        assert_eq!(
            check_of("GET https://localhost/ HTTP/1.1", "Host: x\r\n"),
            Err(Problem::Misdirected)
        );
        for bad in [
            "localhost:80",
            "*",
            "ftp://localhost/",
            "http:///",
            "http://u@h/",
            "a",
        ] {
            let line = format!("GET {bad} HTTP/1.1");
            assert_eq!(
                check_of(&line, "Host: x\r\n"),
                Err(Problem::TargetForm),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(decode_path("/%2e%2E/a%2Fb"), Ok(b"/../a/b".to_vec()));
        assert_eq!(decode_path("/%252e"), Ok(b"/%2e".to_vec()));
        assert_eq!(decode_path("/%zz"), Err(Problem::BadEscape));
        assert_eq!(decode_path("/%2"), Err(Problem::BadEscape));
        assert_eq!(decode_path("/a%00b"), Err(Problem::DecodedNul));
    }

    #[test]
    fn expect_100_continue_is_case_insensitive_and_ignored_in_http10() {
        let expects = |bytes: &[u8]| with(bytes, expects_continue);
        assert!(expects(b"GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"));
        assert!(expects(b"GET / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n"));
        assert!(expects(
            b"GET / HTTP/1.1\r\nExpect: , 100-CONTINUE ,\r\n\r\n"
        ));
        assert!(!expects(b"GET / HTTP/1.1\r\n\r\n"));
        assert!(!expects(b"GET / HTTP/1.1\r\nExpect: 100-continued\r\n\r\n"));
        assert!(!expects(b"GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"));
    }

    #[test]
    fn expectation_other_than_100_continue_is_417() {
        for fields in [
            "Expect: something-else\r\n",
            "Expect: 100-continue, something-else\r\n",
            "Expect: 100-continue\r\nExpect: x\r\n",
            "Expect: 100-continue=1\r\n",
            "Expect: foo=\"a, 100-continue\"\r\n",
        ] {
            assert_eq!(
                check_of("GET / HTTP/1.1", &format!("Host: a\r\n{fields}")),
                Err(Problem::ExpectationFailed),
                "{fields:?}"
            );
        }
        for fields in ["Expect: 100-continue\r\n", "Expect:\r\n", ""] {
            assert!(
                check_of("GET / HTTP/1.1", &format!("Host: a\r\n{fields}")).is_ok(),
                "{fields:?}"
            );
        }
        // HTTP/1.0 has no Expect; the method is checked before it.
        assert!(check_of("GET / HTTP/1.0", "Expect: something-else\r\n").is_ok());
        assert_eq!(
            check_of("POST / HTTP/1.1", "Host: a\r\nExpect: something-else\r\n"),
            Err(Problem::NotAllowed)
        );
    }

    #[test]
    fn close_is_asked_by_http10_or_the_option() {
        assert!(with(b"GET / HTTP/1.0\r\n\r\n", wants_close));
        assert!(with(
            b"GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n",
            wants_close
        ));
        assert!(!with(
            b"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n",
            wants_close
        ));
    }
}
