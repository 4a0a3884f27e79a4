//! The request the proxy sends its origin: the request-line with its own
//! version and the target as received, the end-to-end fields in the order
//! received, `Max-Forwards` counted down, `Via`, and the framing it sends.
//! And the two requests it answers itself: a TRACE or OPTIONS whose
//! `Max-Forwards` is 0, and one that has already passed through it.

use std::borrow::Cow;

use super::fields::{end_to_end, via};
use crate::parse::{Request, Version};
use crate::problem::Problem;
use crate::request::{is_host, Framing};

/// The request-target, as the proxy forwards it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target<'r> {
    /// origin-form: forwarded unchanged.
    Origin(&'r str),
    /// absolute-form `http://authority/path?query`: forwarded in
    /// origin-form, with `Host` made from the authority.
    Absolute {
        authority: &'r str,
        /// The path and query, `/` or `*` for an empty path.
        path: Cow<'r, str>,
    },
    /// asterisk-form, for OPTIONS only.
    Asterisk,
}

impl Target<'_> {
    /// The request-target sent to the origin.
    fn forwarded(&self) -> &str {
        match self {
            Target::Origin(target) => target,
            Target::Absolute { path, .. } => path,
            Target::Asterisk => "*",
        }
    }
}

/// What `request`'s target asks the proxy to forward, or why it will not.
///
/// RFC 9110 §7.7: "A proxy MUST NOT modify the "absolute-path" and "query"
/// parts of the received target URI when forwarding it to the next inbound
/// server except as required by that forwarding protocol. For example, a
/// proxy forwarding a request to an origin server via HTTP/1.1 will replace
/// an empty path with "/" (Section 3.2.1 of [HTTP/1.1]) or "*" (Section
/// 3.2.4 of [HTTP/1.1]), depending on the request method." RFC 9112
/// §3.2.4: of an OPTIONS request "in which the URI has an empty path and no
/// query component, ... the last proxy on the request chain MUST send a
/// request-target of "*"". The proxy is the last one before its origin.
/// CONNECT opens a tunnel, which this proxy does not do.
pub(super) fn target<'r>(request: &Request<'r>) -> Result<Target<'r>, Problem> {
    let target = request.target;
    if request.method == "CONNECT" {
        return Err(Problem::NoTunnel);
    }
    if target.starts_with('/') {
        return Ok(Target::Origin(target));
    }
    if target == "*" {
        return if request.method == "OPTIONS" {
            Ok(Target::Asterisk)
        } else {
            Err(Problem::TargetForm)
        };
    }
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &target[7..]
    } else if lower.starts_with("https://") {
        &target[8..]
    } else {
        return Err(Problem::TargetForm);
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    // RFC 9110 §4.2.1: an empty host is invalid; §4.2.4: userinfo is an
    // error (it fails `is_host`).
    if authority.is_empty() || !is_host(authority.as_bytes()) {
        return Err(Problem::TargetForm);
    }
    let path = match path {
        "" if request.method == "OPTIONS" => Cow::Borrowed("*"),
        "" => Cow::Borrowed("/"),
        p if p.starts_with('?') => Cow::Owned(format!("/{p}")),
        p => Cow::Borrowed(p),
    };
    Ok(Target::Absolute { authority, path })
}

/// The `Max-Forwards` of a TRACE or OPTIONS request; `None` for other
/// methods, which forward the field untouched ("A recipient MAY ignore a
/// Max-Forwards header field received with any other request methods"),
/// and when there is none.
///
/// RFC 9110 §7.6.2: `Max-Forwards = 1*DIGIT`; "Each intermediary that
/// receives a TRACE or OPTIONS request containing a Max-Forwards header
/// field MUST check and update its value prior to forwarding the request."
/// A value that cannot be checked (not one number) is refused; one too
/// large for 64 bits is the largest this proxy counts.
pub(super) fn max_forwards(request: &Request<'_>) -> Result<Option<u64>, Problem> {
    if !matches!(request.method, "TRACE" | "OPTIONS") {
        return Ok(None);
    }
    let mut values = request.values("Max-Forwards");
    let (value, None) = (values.next(), values.next()) else {
        return Err(Problem::MaxForwards);
    };
    let Some(value) = value else {
        return Ok(None);
    };
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(Problem::MaxForwards);
    }
    Ok(Some(value.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    })))
}

/// How the forwarded request is built.
pub(super) struct Forward<'a, 'r> {
    pub(super) target: &'a Target<'r>,
    /// The received Max-Forwards of a TRACE or OPTIONS, more than 0.
    pub(super) max_forwards: Option<u64>,
    pub(super) framing: Framing,
    /// The origin as configured: the Host of a request without one.
    pub(super) upstream_name: &'a str,
    /// This proxy in Via.
    pub(super) received_by: &'a str,
}

/// The head of the request sent to the origin.
///
/// - The request-line carries `HTTP/1.1`: RFC 9112 §2.3, "Intermediaries
///   that process HTTP messages ... MUST send their own HTTP-version in
///   forwarded messages".
/// - `Host`: from an absolute-form target (RFC 9112 §3.2.2: "A proxy that
///   forwards such a request MUST generate a new Host field value based on
///   the received request-target rather than forward the received Host
///   field value"), else as received; an HTTP/1.0 request without one gets
///   the upstream's, since "A client MUST send a Host header field in all
///   HTTP/1.1 request messages" (§3.2). The host name is never changed
///   otherwise (RFC 9110 §7.7).
/// - `Max-Forwards` of a TRACE or OPTIONS: "the lesser of a) the received
///   value decremented by one (1) or b) the recipient's maximum supported
///   value" (RFC 9110 §7.6.2); never generated otherwise (§9.3.7: "A proxy
///   MUST NOT generate a Max-Forwards header field while forwarding a
///   request unless that request was received with a Max-Forwards field").
/// - The end-to-end fields ([`end_to_end`]), in the order received, values
///   unchanged: `Authorization` (RFC 9110 §11.6.2), the conditionals
///   (§13.2.1: a proxy that is not a cache "MUST NOT evaluate the
///   conditional request header fields ... and it MUST forward them"),
///   `Expect`, and fields it does not know.
/// - `Via`, after any received: RFC 9110 §7.6.3, "An HTTP-to-HTTP gateway
///   MUST send an appropriate Via header field in each inbound request
///   message".
/// - The framing the proxy sends: `Content-Length` for a length (RFC 9110
///   §8.6: never one "known to be incorrect"), or `Transfer-Encoding:
///   chunked` alone (RFC 9112 §6.2: "A sender MUST NOT send a
///   Content-Length header field in any message that contains a
///   Transfer-Encoding header field").
/// - `Connection: close`: the upstream connection carries this request
///   only.
pub(super) fn request_head(request: &Request<'_>, forward: &Forward<'_, '_>) -> Vec<u8> {
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(request.method.as_bytes());
    head.push(b' ');
    head.extend_from_slice(forward.target.forwarded().as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    let host = match forward.target {
        Target::Absolute { authority, .. } => Some(*authority),
        _ if request.values("Host").next().is_none() => Some(forward.upstream_name),
        _ => None,
    };
    let received_host = request.values("Host").next().is_some();
    if let (Some(host), false) = (host, received_host) {
        line(&mut head, "Host", host.as_bytes());
    }
    let max_forwards = forward.max_forwards.map(|n| (n - 1).to_string());
    for field in end_to_end(&request.fields) {
        let value = match (&max_forwards, host) {
            (Some(n), _) if field.name.eq_ignore_ascii_case("Max-Forwards") => n.as_bytes(),
            (_, Some(host)) if field.name.eq_ignore_ascii_case("Host") => host.as_bytes(),
            _ => field.value,
        };
        line(&mut head, field.name, value);
    }
    let via = via(request.version, forward.received_by);
    line(&mut head, "Via", via.as_bytes());
    let sent_length = request.values("Content-Length").next().is_some();
    match forward.framing {
        Framing::Length(n) => line(&mut head, "Content-Length", n.to_string().as_bytes()),
        Framing::Chunked => line(&mut head, "Transfer-Encoding", b"chunked"),
        Framing::Empty if sent_length => line(&mut head, "Content-Length", b"0"),
        Framing::Empty => {}
    }
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    head
}

fn line(head: &mut Vec<u8>, name: &str, value: &[u8]) {
    head.extend_from_slice(name.as_bytes());
    head.extend_from_slice(b": ");
    head.extend_from_slice(value);
    head.extend_from_slice(b"\r\n");
}

/// Fields a TRACE reflection leaves out. RFC 9110 §9.3.8: "The final
/// recipient of the request SHOULD exclude any request fields that are
/// likely to contain sensitive data when that recipient generates the
/// response content."
const SENSITIVE: [&str; 3] = ["Authorization", "Proxy-Authorization", "Cookie"];

/// The content of the 200 to a TRACE the proxy is the final recipient of:
/// the request as received, in the `message/http` format (RFC 9110 §9.3.8:
/// "The final recipient of the request SHOULD reflect the message received,
/// excluding some fields described below, back to the client as the
/// content of a 200 (OK) response").
pub(super) fn trace_reflection(request: &Request<'_>) -> Vec<u8> {
    let Version { major, minor } = request.version;
    let mut body = format!(
        "{} {} HTTP/{major}.{minor}\r\n",
        request.method, request.target
    )
    .into_bytes();
    for field in &request.fields {
        if !SENSITIVE.iter().any(|s| s.eq_ignore_ascii_case(field.name)) {
            line(&mut body, field.name, field.value);
        }
    }
    body.extend_from_slice(b"\r\n");
    body
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

    fn forwarded(bytes: &[u8], framing: Framing) -> String {
        with(bytes, |request| {
            let target = target(request).unwrap();
            let forward = Forward {
                target: &target,
                max_forwards: max_forwards(request).unwrap(),
                framing,
                upstream_name: "origin:9000",
                received_by: "http-server:8080",
            };
            String::from_utf8(request_head(request, &forward)).unwrap()
        })
    }

    #[test]
    fn targets_are_forwarded_as_received_or_in_origin_form() {
        for (line, expected) in [
            ("GET /a/../b%2F?q=%20 HTTP/1.1", Ok("/a/../b%2F?q=%20")),
            ("GET http://h.example:81 HTTP/1.1", Ok("/")),
            ("GET HTTP://h.example/p?q HTTP/1.1", Ok("/p?q")),
            ("GET http://h.example?q HTTP/1.1", Ok("/?q")),
            ("OPTIONS http://h.example HTTP/1.1", Ok("*")),
            ("OPTIONS http://h.example?q HTTP/1.1", Ok("/?q")),
            ("OPTIONS * HTTP/1.1", Ok("*")),
            ("GET https://h.example/s HTTP/1.1", Ok("/s")),
            ("GET * HTTP/1.1", Err(Problem::TargetForm)),
            ("GET h.example:80 HTTP/1.1", Err(Problem::TargetForm)),
            ("GET http://u@h/ HTTP/1.1", Err(Problem::TargetForm)),
            ("GET http:/// HTTP/1.1", Err(Problem::TargetForm)),
            ("GET ftp://h/ HTTP/1.1", Err(Problem::TargetForm)),
            ("CONNECT h.example:443 HTTP/1.1", Err(Problem::NoTunnel)),
        ] {
            let bytes = format!("{line}\r\nHost: x\r\n\r\n");
            let got = with(bytes.as_bytes(), |r| {
                target(r).map(|t| t.forwarded().to_owned())
            });
            assert_eq!(got.as_deref().map_err(|e| *e), expected, "{line}");
        }
    }

    #[test]
    fn max_forwards_is_read_on_trace_and_options_only() {
        let of = |line: &str, fields: &str| {
            let bytes = format!("{line}\r\nHost: x\r\n{fields}\r\n");
            with(bytes.as_bytes(), max_forwards)
        };
        assert_eq!(of("TRACE / HTTP/1.1", "Max-Forwards: 07\r\n"), Ok(Some(7)));
        assert_eq!(of("OPTIONS * HTTP/1.1", "Max-Forwards: 0\r\n"), Ok(Some(0)));
        assert_eq!(
            of(
                "OPTIONS * HTTP/1.1",
                "Max-Forwards: 99999999999999999999999\r\n"
            ),
            Ok(Some(u64::MAX))
        );
        assert_eq!(of("TRACE / HTTP/1.1", ""), Ok(None));
        assert_eq!(of("GET / HTTP/1.1", "Max-Forwards: x\r\n"), Ok(None));
        for bad in [
            "Max-Forwards: x\r\n",
            "Max-Forwards: -1\r\n",
            "Max-Forwards: 1, 2\r\n",
            "Max-Forwards:\r\n",
            "Max-Forwards: 1\r\nMax-Forwards: 1\r\n",
        ] {
            assert_eq!(
                of("TRACE / HTTP/1.1", bad),
                Err(Problem::MaxForwards),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_forwarded_head_keeps_the_end_to_end_fields_and_adds_its_own() {
        let request =
            b"OPTIONS /x HTTP/1.0\r\nMax-Forwards: 5\r\nConnection: keep-alive, X-Hop\r\n\
X-Hop: 1\r\nVia: 1.1 front\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(
            forwarded(request, Framing::Length(3)),
            "OPTIONS /x HTTP/1.1\r\nHost: origin:9000\r\nMax-Forwards: 4\r\nVia: 1.1 front\r\n\
Via: 1.0 http-server:8080\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
        );
        let absolute = b"GET http://Example.COM:81?q HTTP/1.1\r\nX-A: 1\r\nHost: other\r\n\
Max-Forwards: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(
            forwarded(absolute, Framing::Chunked),
            "GET /?q HTTP/1.1\r\nX-A: 1\r\nHost: Example.COM:81\r\nMax-Forwards: 5\r\n\
Via: 1.1 http-server:8080\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        let empty = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            forwarded(empty, Framing::Empty),
            "POST / HTTP/1.1\r\nHost: h\r\nVia: 1.1 http-server:8080\r\nContent-Length: 0\r\n\
Connection: close\r\n\r\n"
        );
    }

    #[test]
    fn a_trace_reflection_leaves_out_credentials() {
        let request = b"TRACE /t HTTP/1.1\r\nHost: h\r\nAuthorization: secret\r\nCookie: c\r\n\
Max-Forwards: 0\r\nX-A:  a \r\n\r\n";
        assert_eq!(
            with(request, trace_reflection),
            b"TRACE /t HTTP/1.1\r\nHost: h\r\nMax-Forwards: 0\r\nX-A: a\r\n\r\n"
        );
    }
}
