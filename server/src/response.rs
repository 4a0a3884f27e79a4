//! Response heads, and the one place where every reason to refuse a request
//! becomes a status code and a decision to close.

use std::fmt;
use std::time::SystemTime;

use crate::{parse, range};

/// The reason phrase RFC 9110 §15 registers for `code`.
pub fn reason(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        200 => "OK",
        206 => "Partial Content",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        412 => "Precondition Failed",
        414 => "URI Too Long",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Why a request is answered with something other than the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The head does not parse.
    Parse(parse::Error),
    /// `Content-Length` is not a decimal number, or several disagree.
    ContentLength,
    /// Both `Transfer-Encoding` and `Content-Length`.
    LengthAndEncoding,
    /// `Transfer-Encoding` in an HTTP/1.0 request.
    EncodingInHttp10,
    /// The final transfer coding is not `chunked`, or it appears twice.
    NotChunked,
    /// A transfer coding before `chunked` that this server does not implement.
    UnknownCoding,
    /// The HTTP major version is not 1.
    Version,
    /// An HTTP/1.1 request without `Host`.
    NoHost,
    /// More than one `Host` field line.
    TwoHosts,
    /// A `Host` value that is not `uri-host [ ":" port ]`.
    BadHost,
    /// A method this server knows but does not allow on static files.
    NotAllowed,
    /// A method this server does not know.
    UnknownMethod,
    /// A request-target form that this method cannot use (`*`, authority-form).
    TargetForm,
    /// An `https` target on this unencrypted connection.
    Misdirected,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// A `%00` in the path.
    DecodedNul,
    /// The path escapes the root.
    Forbidden,
    /// Nothing at that path.
    NotFound,
    /// An `If-Match` or `If-Unmodified-Since` that does not hold.
    PreconditionFailed,
    /// A `Range` of which no range lies within the file, whose length it holds.
    RangeNotSatisfiable(u64),
    /// An `Expect` member other than `100-continue`.
    ExpectationFailed,
    /// The request did not arrive in time.
    Timeout,
    /// The server is at its connection cap.
    Overloaded,
    /// The server failed.
    Internal,
}

impl Problem {
    /// The status code this problem is answered with.
    pub fn status(self) -> u16 {
        match self {
            Problem::Parse(parse::Error::TargetTooLong) => 414,
            Problem::Parse(parse::Error::TooManyFields | parse::Error::HeaderTooLarge) => 431,
            Problem::Parse(parse::Error::MethodTooLong) => 501,
            Problem::Parse(_) => 400,
            Problem::ContentLength
            | Problem::LengthAndEncoding
            | Problem::EncodingInHttp10
            | Problem::NotChunked => 400,
            Problem::UnknownCoding => 501,
            Problem::Version => 505,
            Problem::NoHost | Problem::TwoHosts | Problem::BadHost => 400,
            Problem::NotAllowed => 405,
            Problem::UnknownMethod => 501,
            Problem::TargetForm | Problem::BadEscape | Problem::DecodedNul => 400,
            Problem::Misdirected => 421,
            Problem::Forbidden => 403,
            Problem::NotFound => 404,
            Problem::PreconditionFailed => 412,
            Problem::RangeNotSatisfiable(_) => 416,
            Problem::ExpectationFailed => 417,
            Problem::Timeout => 408,
            Problem::Overloaded => 503,
            Problem::Internal => 500,
        }
    }

    /// Whether the connection must close after the answer.
    ///
    /// After a syntax or framing error the server cannot know where the next
    /// request starts (RFC 9112 §6.3: "the server MUST respond with a 400
    /// (Bad Request) status code and then close the connection"); after a
    /// refused version or Host the rest of the stream is not trusted either.
    /// A refused method, a missing file or a failed condition leaves the
    /// framing intact.
    pub fn closes(self) -> bool {
        !matches!(
            self,
            Problem::NotAllowed
                | Problem::UnknownMethod
                | Problem::TargetForm
                | Problem::Misdirected
                | Problem::BadEscape
                | Problem::DecodedNul
                | Problem::Forbidden
                | Problem::NotFound
                | Problem::PreconditionFailed
                | Problem::RangeNotSatisfiable(_)
                | Problem::ExpectationFailed
        )
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Parse(e) => e.fmt(f),
            Problem::ContentLength => f.write_str("Content-Length is invalid or conflicting"),
            Problem::LengthAndEncoding => {
                f.write_str("Transfer-Encoding and Content-Length in one request")
            }
            Problem::EncodingInHttp10 => f.write_str("Transfer-Encoding in an HTTP/1.0 request"),
            Problem::NotChunked => f.write_str("the final transfer coding is not chunked"),
            Problem::UnknownCoding => {
                f.write_str("a transfer coding this server does not implement")
            }
            Problem::Version => f.write_str("only HTTP/1.x is supported"),
            Problem::NoHost => f.write_str("an HTTP/1.1 request needs a Host header"),
            Problem::TwoHosts => f.write_str("more than one Host header"),
            Problem::BadHost => f.write_str("the Host value is not host[:port]"),
            Problem::NotAllowed => f.write_str("this server serves files with GET and HEAD only"),
            Problem::UnknownMethod => f.write_str("unknown method (methods are case-sensitive)"),
            Problem::TargetForm => {
                f.write_str("this request-target form is not allowed with this method")
            }
            Problem::Misdirected => {
                f.write_str("an https target cannot be served on this unencrypted connection")
            }
            Problem::BadEscape => f.write_str("a % in the path is not followed by two hex digits"),
            Problem::DecodedNul => f.write_str("the path contains an encoded NUL"),
            Problem::Forbidden => f.write_str("the path leaves the served directory"),
            Problem::NotFound => f.write_str("no such file"),
            Problem::PreconditionFailed => {
                f.write_str("the file does not meet the request's If-Match or If-Unmodified-Since")
            }
            Problem::RangeNotSatisfiable(length) => {
                write!(
                    f,
                    "no requested range lies within the {length} bytes of the file"
                )
            }
            Problem::ExpectationFailed => {
                f.write_str("this server meets no expectation but 100-continue")
            }
            Problem::Timeout => f.write_str("the request did not arrive in time"),
            Problem::Overloaded => f.write_str("too many connections; try again"),
            Problem::Internal => f.write_str("the server failed to answer"),
        }
    }
}

/// The interim response to `Expect: 100-continue` (RFC 9110 §15.2.1): the
/// status line and the empty line. A 1xx "cannot contain content" (§15.2),
/// a server "MUST NOT send a Content-Length header field in any response
/// with a status code of 1xx" (§8.6) nor Transfer-Encoding (RFC 9112 §6.1),
/// and Date is required only on 2xx to 4xx (§6.6.1).
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// A response head under construction.
pub struct Head {
    buf: Vec<u8>,
}

impl Head {
    /// Starts `HTTP/1.1 <code> <reason>` with the `Date` header.
    ///
    /// RFC 9110 §6.6.1: "An origin server with a clock ... MUST generate a
    /// Date header field in all 2xx, 3xx, and 4xx responses"; sending it on
    /// 5xx too costs nothing.
    pub fn new(code: u16) -> Head {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(b"HTTP/1.1 ");
        buf.extend_from_slice(code.to_string().as_bytes());
        buf.push(b' ');
        buf.extend_from_slice(reason(code).as_bytes());
        buf.extend_from_slice(b"\r\n");
        let mut head = Head { buf };
        head.header("Date", &httpdate::fmt_http_date(SystemTime::now()));
        head
    }

    /// Appends one header line.
    pub fn header(&mut self, name: &str, value: &str) -> &mut Head {
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(b": ");
        self.buf.extend_from_slice(value.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
        self
    }

    /// Ends the head with `Content-Length`, `Connection: close` when the
    /// server will close, and the empty line; returns the bytes.
    pub fn finish(mut self, content_length: u64, close: bool) -> Vec<u8> {
        self.header("Content-Length", &content_length.to_string());
        if close {
            self.header("Connection", "close");
        }
        self.buf.extend_from_slice(b"\r\n");
        self.buf
    }
}

/// The whole response to a problem: a short `text/plain` body that names
/// it, `Allow` on 405, `Content-Range` on 416, `Connection: close` when
/// `close`.
pub fn problem(problem: Problem, close: bool, head_only: bool) -> Vec<u8> {
    let code = problem.status();
    let body = format!("{code} {}: {problem}\n", reason(code));
    let mut head = Head::new(code);
    head.header("Content-Type", "text/plain; charset=utf-8");
    if problem == Problem::NotAllowed {
        // RFC 9110 §15.5.6: "The origin server MUST generate an Allow header
        // field in a 405 response containing a list of the target resource's
        // currently supported methods."
        head.header("Allow", "GET, HEAD");
    }
    if let Problem::RangeNotSatisfiable(length) = problem {
        head.header("Content-Range", &range::unsatisfied_range(length));
    }
    let mut bytes = head.finish(body.len() as u64, close);
    if !head_only {
        bytes.extend_from_slice(body.as_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn without_date(response: &str) -> String {
        response
            .lines()
            .filter(|l| !l.starts_with("Date: "))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn not_allowed_carries_allow_and_keeps_the_connection() {
        let response = text(&problem(Problem::NotAllowed, false, false));
        assert_eq!(
            without_date(&response),
            "HTTP/1.1 405 Method Not Allowed\nContent-Type: text/plain; charset=utf-8\n\
Allow: GET, HEAD\nContent-Length: 72\n\n405 Method Not Allowed: this server serves files with GET and HEAD only"
        );
    }

    #[test]
    fn head_only_problem_has_the_length_and_no_body() {
        let response = text(&problem(Problem::NotFound, true, true));
        assert_eq!(
            without_date(&response),
            "HTTP/1.1 404 Not Found\nContent-Type: text/plain; charset=utf-8\n\
Content-Length: 28\nConnection: close\n"
        );
    }

    #[test]
    fn date_is_an_imf_fixdate() {
        let response = text(&Head::new(200).finish(0, false));
        let date = response
            .lines()
            .find_map(|l| l.strip_prefix("Date: "))
            .unwrap();
        assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
        assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
    }

    #[test]
    fn framing_problems_close_and_resource_problems_do_not() {
        assert!(Problem::LengthAndEncoding.closes());
        assert!(Problem::Parse(parse::Error::BareLf).closes());
        assert!(!Problem::NotFound.closes());
        assert!(!Problem::NotAllowed.closes());
    }

    #[test]
    fn limits_map_to_their_codes() {
        assert_eq!(Problem::Parse(parse::Error::TargetTooLong).status(), 414);
        assert_eq!(Problem::Parse(parse::Error::HeaderTooLarge).status(), 431);
        assert_eq!(Problem::Parse(parse::Error::TooManyFields).status(), 431);
        assert_eq!(Problem::Timeout.status(), 408);
        assert_eq!(Problem::UnknownCoding.status(), 501);
        assert_eq!(Problem::Version.status(), 505);
    }
}
