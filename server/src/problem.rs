//! Refusals: the one place where every reason to refuse a request becomes
//! a status code and a decision to close.

use std::fmt;

use crate::parse;

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
    /// The proxy's origin could not be reached, or its answer was invalid
    /// (what was wrong with it).
    BadGateway(&'static str),
    /// The proxy's origin did not answer in time.
    GatewayTimeout,
    /// The request already passed through this proxy (its `Via` says so).
    Loop,
    /// A CONNECT to the proxy, which opens no tunnels.
    NoTunnel,
    /// A `Max-Forwards` on TRACE or OPTIONS that is not one decimal number.
    MaxForwards,
    /// An `https` target the proxy received on its unencrypted connection.
    PlainHttps,
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
            Problem::BadGateway(_) => 502,
            Problem::GatewayTimeout => 504,
            Problem::Loop => 508,
            Problem::NoTunnel => 501,
            Problem::MaxForwards => 400,
            Problem::PlainHttps => 400,
        }
    }

    /// Whether the connection must close after the answer.
    ///
    /// After a syntax or framing error the server cannot know where the next
    /// request starts (RFC 9112 §6.3: "the server MUST respond with a 400
    /// (Bad Request) status code and then close the connection"); after a
    /// refused version or Host the rest of the stream is not trusted either.
    /// A refused method, a missing file or a failed condition leaves the
    /// framing intact. The proxy closes after a 502 or 504: it forwards
    /// what it received and closes, as RFC 9112 §9.3.2 asks of an
    /// intermediary whose inbound connection failed.
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
                | Problem::Loop
                | Problem::MaxForwards
                | Problem::PlainHttps
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
            Problem::BadGateway(why) => f.write_str(why),
            Problem::GatewayTimeout => f.write_str("the origin did not answer in time"),
            Problem::Loop => f.write_str("the request has already passed through this proxy"),
            Problem::NoTunnel => f.write_str("this proxy does not open tunnels (CONNECT)"),
            Problem::MaxForwards => f.write_str("Max-Forwards is not one decimal number"),
            Problem::PlainHttps => {
                f.write_str("an https target cannot be requested over this unencrypted connection")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
