//! Conforming-but-different responders: each is a correct static-file server
//! of one file, and differs from the reference server in one way the RFC
//! permits, which its [`Variant`]'s doc comment quotes. `fair.rs` runs the
//! whole catalogue against each of them.
//!
//! What they all do, unless their variant says otherwise: they parse each
//! request head with the reference server's strict parser
//! (`server::parse::parse_request`) and check it with the reference's own
//! rules (`server::request`: framing, version, Host, method, target,
//! expectations); they serve one file, [`CONTENT`], at [`PATH`] (its path
//! percent-decoded and its dot-segments removed) and answer 404 anywhere
//! else; a GET or HEAD of it is a 200 with Date (the clock's, in
//! IMF-fixdate), Content-Type, a strong ETag, Last-Modified, Accept-Ranges
//! and Content-Length, with preconditions (`server::conditions`) and byte
//! ranges (`server::range`) as the reference evaluates them; every other
//! method defined by RFC 9110 is a 405 with `Allow: GET, HEAD`, an unknown
//! one a 501. A malformed request is a 400 (414, 431 or 501 where the
//! reference answers those) that closes the connection. They read and drop
//! a request's content (up to [`MAX_DISCARDED`] octets; past it they answer
//! and close), send 100 (Continue) to `Expect: 100-continue` before reading
//! the content, or answer at once and close when the head alone decides a
//! refusal; they keep HTTP/1.1 connections open unless asked to close, close
//! HTTP/1.0 ones, and announce every close with `Connection: close`. They
//! wait for a slow client as long as it keeps the connection open.

use crate::support::{drain, Responder};
use conformance::date::format_imf_fixdate;
use server::conditions::{self, Outcome, Validators};
use server::date::parse_http_date;
use server::parse::{
    self, parse_chunk_end, parse_chunk_size, parse_request, parse_trailer_section, Parsed, Request,
    Status, Version,
};
use server::problem::Problem;
use server::range::{self, ByteRange, Ranges};
use server::request::{self, Framing};
use server::response::reason;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the one file is served.
pub const PATH: &str = "/hello.txt";

/// The file every variant but [`Variant::OneByte`] serves.
const CONTENT: &[u8] = b"Hello, world!\n";

/// The opaque-tag of the file's ETag.
const OPAQUE_TAG: &str = "\"fair-hello\"";

/// When the file was last modified: Thu, 01 Jan 2026 00:00:00 GMT.
const MODIFIED_SECS: u64 = 1_767_225_600;

/// The largest content the responders read to keep a connection in sync
/// (the reference's limit); past it they answer and close.
const MAX_DISCARDED: u64 = 1024 * 1024;

/// The largest head [`Variant::ServesOversized`] reads, and the most that
/// the variants that repair a head buffer while they look for its end.
const MAX_HEAD: usize = 1024 * 1024;

/// [`Variant::TimesOut`]'s own timeout. A real server's would be seconds (the
/// reference waits 10 s); the test runs every step of a case for longer
/// than this, so a case sees the timeout fire just as it would see a 10 s
/// one within a longer case timeout. It is longer than any pause the
/// catalogue makes between the fragments of one request.
pub const OWN_TIMEOUT: Duration = Duration::from_millis(600);

/// One permitted way to differ from the reference server. Each doc comment
/// quotes the RFC sentence that permits it, verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// None: the family's common behaviour (see the module documentation),
    /// the control group that tells a responder's own mistake from a
    /// permission a case ignores.
    Plain,
    /// Processes a request that has both Content-Length and
    /// Transfer-Encoding by its Transfer-Encoding alone (HTTP/1.1; an
    /// HTTP/1.0 one stays faulty), answers it, then closes the connection.
    ///
    /// RFC 9112 §6.1: "A server MAY reject a request that contains both
    /// Content-Length and Transfer-Encoding or process such a request in
    /// accordance with the Transfer-Encoding alone. Regardless, the server
    /// MUST close the connection after responding to such a request to avoid
    /// the potential attacks."
    TeOverClThenClose,
    /// Replaces each obs-fold in a field value with SP (a field line that
    /// starts with whitespace right after the request-line is not an
    /// obs-fold, and is still rejected).
    ///
    /// RFC 9112 §5.2: "A server that receives an obs-fold in a request
    /// message that is not within a "message/http" container MUST either
    /// reject the message by sending a 400 (Bad Request), preferably with a
    /// representation explaining that obsolete line folding is unacceptable,
    /// or replace each received obs-fold with one or more SP octets prior to
    /// interpreting the field value or forwarding the message downstream."
    UnfoldsObsFold,
    /// Ignores the whitespace-preceded lines between the request-line and
    /// the first field line.
    ///
    /// RFC 9112 §2.2: "A recipient that receives whitespace between the
    /// start-line and the first header field MUST either reject the message
    /// as invalid or consume each whitespace-preceded line without further
    /// processing of it (i.e., ignore the entire line, along with any
    /// subsequent lines preceded by whitespace, until a properly formed
    /// header field is received or the header section is terminated)."
    ConsumesWhitespaceLines,
    /// Replaces a bare CR anywhere in the head, and a NUL in a field value,
    /// with SP; keeps any other CTL in a field value. A kept CTL makes the
    /// value invalid for every field the server reads (Host,
    /// Content-Length, Transfer-Encoding, …), which it then rejects as the
    /// reference does, and is ignored with the rest of a field it does not
    /// read.
    ///
    /// RFC 9110 §5.5: "a recipient of CR, LF, or NUL within a field value
    /// MUST either reject the message or replace each of those characters
    /// with SP before further processing or forwarding of that message.
    /// Field values containing other CTL characters are also invalid;
    /// however, recipients MAY retain such characters for the sake of
    /// robustness when they appear within a safe context (e.g., an
    /// application-specific quoted string that will not be processed by any
    /// downstream HTTP parser)." RFC 9112 §2.2: "A recipient of such a bare
    /// CR MUST consider that element to be invalid or replace each bare CR
    /// with SP before processing the element or forwarding the message."
    ReplacesNulAndCr,
    /// Takes a bare LF for the end of a line in the request-line and the
    /// field lines.
    ///
    /// RFC 9112 §2.2: "Although the line terminator for the start-line and
    /// fields is the sequence CRLF, a recipient MAY recognize a single LF as
    /// a line terminator and ignore any preceding CR."
    AcceptsBareLf,
    /// Rejects a GET, HEAD or DELETE with content (a Transfer-Encoding, or a
    /// Content-Length above 0) with 400, without reading the content, and
    /// closes.
    ///
    /// RFC 9110 §9.3.1: "Although request message framing is independent of
    /// the method used, content received in a GET request has no generally
    /// defined semantics, cannot alter the meaning or target of the request,
    /// and might lead some implementations to reject the request and close
    /// the connection because of its potential as a request smuggling
    /// attack (Section 11.2 of [HTTP/1.1])." §9.3.2 and §9.3.5 say the same
    /// of HEAD and DELETE.
    RejectsContentOnGet,
    /// Answers 501 to every method but GET and HEAD: it implements no other.
    ///
    /// RFC 9110 §9.1: "All general-purpose servers MUST support the methods
    /// GET and HEAD. All other methods are OPTIONAL." and "An origin server
    /// that receives a request method that is unrecognized or not
    /// implemented SHOULD respond with the 501 (Not Implemented) status
    /// code."
    NotImplementedForOthers,
    /// Answers 405 with Allow to every method in the HTTP Method Registry
    /// (as a server with WebDAV would, for a file it serves read-only), and
    /// 501 to the methods it does not know.
    ///
    /// RFC 9110 §9.1: "An origin server that receives a request method that
    /// is recognized and implemented, but not allowed for the target
    /// resource, SHOULD respond with the 405 (Method Not Allowed) status
    /// code."
    NotAllowedForRegistered,
    /// Answers 400 where the reference answers 431: a header section larger
    /// than it wishes to process. (A request-target too long is still a
    /// 414, which RFC 9112 §3 requires: "A server that receives a
    /// request-target longer than any URI it wishes to parse MUST respond
    /// with a 414 (URI Too Long) status code".)
    ///
    /// RFC 9110 §5.4: "A server that receives a request header field line,
    /// field value, or set of fields larger than it wishes to process MUST
    /// respond with an appropriate 4xx (Client Error) status code."
    BadRequestForOversized,
    /// Serves a request-target or header section of any size up to 1 MiB:
    /// it checks the grammar of a query and of the field lines it does not
    /// read, then leaves them out, and parses the rest as the others do.
    ///
    /// RFC 9110 §5.4: "HTTP does not place a predefined limit on the length
    /// of each field line, field value, or on the length of a header or
    /// trailer section as a whole, as described in Section 2." RFC 9112 §3:
    /// "HTTP does not place a predefined limit on the length of a
    /// request-line, as described in Section 2.3 of [HTTP]."
    ServesOversized,
    /// Answers 304 to If-Modified-Since only when its date is exactly the
    /// file's Last-Modified; any other valid date, earlier or later, gets
    /// the 200.
    ///
    /// RFC 9110 §13.1.3 describes the choice without making it a MAY: "This
    /// behavior is most interoperable for cases where clocks are poorly
    /// synchronized or when the server has chosen to only honor exact
    /// timestamp matches (due to a problem with Last-Modified dates that
    /// appear to go "back in time" when the origin server's clock is
    /// corrected or a representation is restored from an archived
    /// backup)." The evaluation it departs from is a SHOULD ("the origin
    /// server SHOULD evaluate the If-Modified-Since condition per Section
    /// 13.2"), so a warning for it is what the grading model asks.
    IfModifiedSinceExactMatch,
    /// Sends a weak ETag, `W/"fair-hello"`, and evaluates preconditions as
    /// the reference does (strong comparison for If-Match and If-Range, so a
    /// weak tag never matches there).
    ///
    /// RFC 9110 §8.8.3: "If an origin server provides an entity tag for a
    /// representation and the generation of that entity tag does not
    /// satisfy all of the characteristics of a strong validator (Section
    /// 8.8.1), then the origin server MUST mark the entity tag as weak by
    /// prefixing its opaque value with "W/" (case-sensitive)." §8.8.1: "a
    /// weak validator is representation metadata that might not change for
    /// every change to the representation data."
    WeakEtag,
    /// Ignores Range: every GET of the file is a 200 of all of it, and no
    /// Accept-Ranges is sent.
    ///
    /// RFC 9110 §14.2: "A server MAY ignore the Range header field."
    NoRanges,
    /// Supports TRACE on the file: a 200 of `message/http` that reflects the
    /// request-line and field lines received, without Authorization,
    /// Proxy-Authorization and Cookie. 405s list TRACE in Allow.
    ///
    /// RFC 9110 §9.3.8: "The final recipient of the request SHOULD reflect
    /// the message received, excluding some fields described below, back to
    /// the client as the content of a 200 (OK) response." §9.1: "All other
    /// methods are OPTIONAL."
    Trace,
    /// Supports OPTIONS, on the file and on `*`: a 204 with `Allow: GET,
    /// HEAD, OPTIONS`. 405s list OPTIONS in Allow.
    ///
    /// RFC 9110 §9.3.7: "A server generating a successful response to
    /// OPTIONS SHOULD send any header that might indicate optional features
    /// implemented by the server and applicable to the target resource
    /// (e.g., Allow), including potential extensions not defined by this
    /// specification." §9.1: "All other methods are OPTIONAL."
    Options,
    /// An HTTP/1.0 server: its responses say `HTTP/1.0`, it closes after
    /// each (saying `Connection: close` all the same), and it sends no 100
    /// (Continue), which HTTP/1.0 does not have: to `Expect: 100-continue`
    /// it sends its final status at once, which the head decides, and
    /// closes without reading the content (RFC 9110 §10.1.1: "an immediate
    /// response with a final status code, if that status can be determined
    /// by examining just the method, target URI, and header fields"). It
    /// reads requests as the others do.
    ///
    /// RFC 9110 §6.2: "A server SHOULD send a response version equal to the
    /// highest version to which the server is conformant that has a major
    /// version less than or equal to the one received in the request. A
    /// server MUST NOT send a version to which it is not conformant." §15.2:
    /// "Since HTTP/1.0 did not define any 1xx status codes, a server MUST
    /// NOT send a 1xx response to an HTTP/1.0 client."
    Http10Only,
    /// Has no persistent connections: closes after every response, with
    /// `Connection: close`.
    ///
    /// RFC 9112 §9.3: "A server that does not support persistent connections
    /// MUST send the "close" connection option in every response message
    /// that does not have a 1xx (Informational) status code."
    NoPersistence,
    /// Keeps an HTTP/1.0 connection open when the request asks for
    /// `keep-alive`, and says `Connection: keep-alive`.
    ///
    /// RFC 9112 §9.3: "If the received protocol is HTTP/1.0, the
    /// "keep-alive" connection option is present, either the recipient is
    /// not a proxy or the message is a response, and the recipient wishes to
    /// honor the HTTP/1.0 "keep-alive" mechanism, the connection will
    /// persist after the current response"
    Http10KeepAlive,
    /// Ignores an Expect member other than 100-continue and serves the
    /// request (the reference answers 417).
    ///
    /// RFC 9110 §10.1.1: "A server that receives an Expect field value
    /// containing a member other than 100-continue MAY respond with a 417
    /// (Expectation Failed) status code to indicate that the unexpected
    /// expectation cannot be met."
    IgnoresUnknownExpectations,
    /// Gives up on a connection when nothing arrives for [`OWN_TIMEOUT`]
    /// (idle, or halfway through a request head or its content) and closes
    /// it without a response (the reference sends 408 first).
    ///
    /// RFC 9112 §9.5: "A client, server, or proxy MAY close the transport
    /// connection at any time." §8: "A server that receives an incomplete
    /// request message, usually due to a canceled request or a triggered
    /// timeout exception, MAY send an error response prior to closing the
    /// connection." §6.3: "If the sender closes the connection or the
    /// recipient times out before the indicated number of octets are
    /// received, the recipient MUST consider the message to be incomplete
    /// and close the connection."
    TimesOut,
    /// Serves a file of one octet.
    ///
    /// RFC 9110 §3.1: "HTTP does not limit the nature of a resource; it
    /// merely defines an interface that might be used to interact with
    /// resources."
    OneByte,
    /// Serves the file at every path, as a catch-all route does.
    ///
    /// RFC 9110 §4.3.1: "Each origin defines its own namespace and controls
    /// how identifiers within that namespace are mapped to resources."
    EveryPath,
}

impl Variant {
    /// Every variant, in the order the test reports them.
    pub const ALL: [Variant; 23] = [
        Variant::Plain,
        Variant::TeOverClThenClose,
        Variant::UnfoldsObsFold,
        Variant::ConsumesWhitespaceLines,
        Variant::ReplacesNulAndCr,
        Variant::AcceptsBareLf,
        Variant::RejectsContentOnGet,
        Variant::NotImplementedForOthers,
        Variant::NotAllowedForRegistered,
        Variant::BadRequestForOversized,
        Variant::ServesOversized,
        Variant::IfModifiedSinceExactMatch,
        Variant::WeakEtag,
        Variant::NoRanges,
        Variant::Trace,
        Variant::Options,
        Variant::Http10Only,
        Variant::NoPersistence,
        Variant::Http10KeepAlive,
        Variant::IgnoresUnknownExpectations,
        Variant::TimesOut,
        Variant::OneByte,
        Variant::EveryPath,
    ];

    /// Its name in the test's list of known unfair cases.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Plain => "plain",
            Variant::TeOverClThenClose => "te-over-cl-then-close",
            Variant::UnfoldsObsFold => "unfolds-obs-fold",
            Variant::ConsumesWhitespaceLines => "consumes-whitespace-lines",
            Variant::ReplacesNulAndCr => "replaces-nul-and-cr",
            Variant::AcceptsBareLf => "accepts-bare-lf",
            Variant::RejectsContentOnGet => "rejects-content-on-get",
            Variant::NotImplementedForOthers => "501-for-others",
            Variant::NotAllowedForRegistered => "405-for-registered",
            Variant::BadRequestForOversized => "400-for-oversized",
            Variant::ServesOversized => "serves-oversized",
            Variant::IfModifiedSinceExactMatch => "ims-exact-match",
            Variant::WeakEtag => "weak-etag",
            Variant::NoRanges => "no-ranges",
            Variant::Trace => "trace",
            Variant::Options => "options",
            Variant::Http10Only => "http10-only",
            Variant::NoPersistence => "no-persistence",
            Variant::Http10KeepAlive => "http10-keep-alive",
            Variant::IgnoresUnknownExpectations => "ignores-unknown-expectations",
            Variant::TimesOut => "times-out",
            Variant::OneByte => "one-byte",
            Variant::EveryPath => "every-path",
        }
    }

    /// The file it serves.
    pub fn content(self) -> &'static [u8] {
        match self {
            Variant::OneByte => b"!",
            _ => CONTENT,
        }
    }

    /// The ETag it sends.
    pub fn etag(self) -> String {
        match self {
            Variant::WeakEtag => format!("W/{OPAQUE_TAG}"),
            _ => OPAQUE_TAG.to_string(),
        }
    }

    /// Whether a GET of the file, then a HEAD, are answered on one
    /// connection (what the control learns).
    pub fn persistent(self) -> bool {
        !matches!(self, Variant::NoPersistence | Variant::Http10Only)
    }

    /// The header field names of its 200 to a GET of the file, lowercase,
    /// in order (what the control learns).
    pub fn fields(self) -> Vec<String> {
        let mut fields = vec!["date", "content-type", "etag", "last-modified"];
        if self != Variant::NoRanges {
            fields.push("accept-ranges");
        }
        fields.push("content-length");
        if !self.persistent() {
            fields.push("connection");
        }
        fields.into_iter().map(String::from).collect()
    }

    /// The methods its 405s list.
    fn allow(self) -> &'static str {
        match self {
            Variant::Trace => "GET, HEAD, TRACE",
            Variant::Options => "GET, HEAD, OPTIONS",
            _ => "GET, HEAD",
        }
    }

    /// Binds `127.0.0.1:0` and serves until dropped.
    pub fn start(self) -> Responder {
        Responder::start(move |stream| {
            if self == Variant::TimesOut && stream.set_read_timeout(Some(OWN_TIMEOUT)).is_err() {
                return;
            }
            let mut conn = Connection {
                variant: self,
                stream,
                buf: Vec::new(),
            };
            loop {
                match conn.exchange() {
                    Next::Again => {}
                    Next::Close => {
                        // Close in stages, so the answer is not lost to a
                        // reset (RFC 9112 §9.6).
                        let _ = conn.stream.shutdown(Shutdown::Write);
                        drain(&mut conn.stream);
                        return;
                    }
                    Next::Drop => return,
                }
            }
        })
    }
}

/// The file's Last-Modified, as sent.
pub fn last_modified() -> String {
    format_imf_fixdate(modified())
}

fn modified() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(MODIFIED_SECS)
}

/// What follows an exchange.
enum Next {
    /// Another request on the same connection.
    Again,
    /// Close gracefully.
    Close,
    /// The client went away: nothing to say.
    Drop,
}

/// Why a request could not be read.
enum Fault {
    /// It is malformed: answer this and close.
    Bad(Problem),
    /// Nothing arrived for [`OWN_TIMEOUT`].
    TimedOut,
    /// The client closed, or the socket failed.
    Closed,
}

/// A response, before its Date, Content-Length and Connection are added.
struct Reply {
    status: u16,
    /// Whole field lines.
    fields: String,
    /// The content; for a 304, the content a 200 would have had (its length
    /// is the Content-Length), never sent.
    content: Vec<u8>,
    /// Whether the connection closes after it, whatever the request asked.
    closes: bool,
}

struct Connection {
    variant: Variant,
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Connection {
    /// Reads one request and answers it.
    fn exchange(&mut self) -> Next {
        let head = match self.read_head() {
            Ok(head) => head,
            Err(Fault::Bad(problem)) => {
                let reply = self.problem(problem);
                return self.send(&reply, false, true, false);
            }
            Err(Fault::TimedOut) => return Next::Close,
            Err(Fault::Closed) => return Next::Drop,
        };
        // `read_head` returns only heads that parse.
        let Ok(Status::Complete((request, _))) = parse_request(&head) else {
            return Next::Drop;
        };
        let head_only = request.method == "HEAD";
        let te_over_cl = self.variant == Variant::TeOverClThenClose
            && !is_http10(&request)
            && request.values("Transfer-Encoding").next().is_some()
            && request.values("Content-Length").next().is_some();
        let framing = if te_over_cl {
            request::framing(&without(&request, "Content-Length"))
        } else {
            request::framing(&request)
        };
        let mut reply = self.decide(&request, &framing);
        let continues = request::expects_continue(&request);
        let keep_alive = self.variant == Variant::Http10KeepAlive && is_http10(&request);
        let mut close = reply.closes || te_over_cl || !self.persists(&request);
        match framing {
            Err(_) => close = true,
            Ok(Framing::Empty) => {}
            // Refused, and closing: the content is left unread.
            Ok(_) if reply.closes => {}
            // RFC 9110 §10.1.1: a final status at once, when the head alone
            // decides it, rather than a 100 (which HTTP/1.0 does not have);
            // the content is then not read.
            Ok(_) if continues && (reply.status >= 400 || self.variant == Variant::Http10Only) => {
                close = true
            }
            Ok(Framing::Length(n)) if n > MAX_DISCARDED => close = true,
            Ok(framing) => {
                if continues
                    && self
                        .stream
                        .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                        .is_err()
                {
                    return Next::Drop;
                }
                match self.discard(framing) {
                    Ok(()) => {}
                    Err(Fault::Bad(problem)) => {
                        reply = self.problem(problem);
                        close = true;
                    }
                    Err(Fault::TimedOut) => return Next::Close,
                    Err(Fault::Closed) => return Next::Drop,
                }
            }
        }
        self.send(&reply, head_only, close, keep_alive && !close)
    }

    /// Whether the connection stays open after answering `request`.
    fn persists(&self, request: &Request<'_>) -> bool {
        match self.variant {
            Variant::NoPersistence | Variant::Http10Only => false,
            Variant::Http10KeepAlive if is_http10(request) => {
                has_option(request, "keep-alive") && !has_option(request, "close")
            }
            _ => !request::wants_close(request),
        }
    }

    /// The answer the head decides, before any content is read.
    fn decide(&self, request: &Request<'_>, framing: &Result<Framing, Problem>) -> Reply {
        if let Err(problem) = framing {
            return self.problem(*problem);
        }
        if self.variant == Variant::RejectsContentOnGet
            && matches!(request.method, "GET" | "HEAD" | "DELETE")
            && framing != &Ok(Framing::Empty)
        {
            let why = "this server refuses content on GET, HEAD and DELETE";
            return refusal(400, why, true);
        }
        let target = match self.check(request) {
            Ok(target) => target,
            Err(problem) => return self.problem(problem),
        };
        if request.method == "OPTIONS" && request.target == "*" {
            return self.options();
        }
        if self.variant != Variant::EveryPath
            && remove_dot_segments(&target.path) != PATH.as_bytes()
        {
            return self.problem(Problem::NotFound);
        }
        match request.method {
            "TRACE" => trace(request),
            "OPTIONS" => self.options(),
            _ => self.representation(request),
        }
    }

    /// The reference's checks (version, Host, method, target,
    /// expectations), with the variant's own methods and expectations.
    fn check(&self, request: &Request<'_>) -> Result<request::Target, Problem> {
        let checked = match (self.variant, request.method) {
            (Variant::Trace, "TRACE") | (Variant::Options, "OPTIONS") => {
                // The checks a GET of the same target gets; `*` stands for
                // the server itself.
                let target = if request.target == "*" {
                    "/"
                } else {
                    request.target
                };
                request::check(&Request {
                    method: "GET",
                    target,
                    ..request.clone()
                })
            }
            _ => request::check(request),
        };
        match (self.variant, checked) {
            (Variant::NotImplementedForOthers, Err(Problem::NotAllowed)) => {
                Err(Problem::UnknownMethod)
            }
            (Variant::NotAllowedForRegistered, Err(Problem::UnknownMethod))
                if REGISTERED_METHODS.contains(&request.method) =>
            {
                Err(Problem::NotAllowed)
            }
            (Variant::IgnoresUnknownExpectations, Err(Problem::ExpectationFailed)) => {
                request::check(&without(request, "Expect"))
            }
            (_, checked) => checked,
        }
    }

    /// A 204 that lists the methods.
    fn options(&self) -> Reply {
        Reply {
            status: 204,
            fields: format!("Allow: {}\r\n", self.variant.allow()),
            content: Vec::new(),
            closes: false,
        }
    }

    /// The file, or the 304, 412, 206 or 416 its preconditions and Range
    /// make of a GET or HEAD.
    fn representation(&self, request: &Request<'_>) -> Reply {
        let now = SystemTime::now();
        let etag = self.variant.etag();
        let current = Validators {
            etag: Some(&etag),
            modified: Some(modified()),
        };
        let content = self.variant.content();
        let mut validators = format!("ETag: {etag}\r\nLast-Modified: {}\r\n", last_modified());
        if self.variant != Variant::NoRanges {
            validators.push_str("Accept-Ranges: bytes\r\n");
        }
        let reply = |status, fields: String, content: &[u8]| Reply {
            status,
            fields,
            content: content.to_vec(),
            closes: false,
        };
        match self.preconditions(request, &current, now) {
            Outcome::Failed => return self.problem(Problem::PreconditionFailed),
            Outcome::NotModified => return reply(304, validators, content),
            Outcome::Proceed => {}
        }
        let length = content.len() as u64;
        match self.ranges(request, &current, now) {
            Ranges::Ignored => reply(
                200,
                format!("Content-Type: text/plain\r\n{validators}"),
                content,
            ),
            Ranges::Unsatisfiable => self.problem(Problem::RangeNotSatisfiable(length)),
            Ranges::Satisfiable(parts) => {
                if let [part] = parts.as_slice() {
                    let fields = format!(
                        "Content-Type: text/plain\r\nContent-Range: {}\r\n{validators}",
                        content_range(*part, length)
                    );
                    return reply(206, fields, part_of(content, *part));
                }
                let mut body = Vec::new();
                for part in &parts {
                    let head = format!(
                        "--{BOUNDARY}\r\nContent-Type: text/plain\r\nContent-Range: {}\r\n\r\n",
                        content_range(*part, length)
                    );
                    body.extend_from_slice(head.as_bytes());
                    body.extend_from_slice(part_of(content, *part));
                    body.extend_from_slice(b"\r\n");
                }
                body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
                let fields = format!(
                    "Content-Type: multipart/byteranges; boundary={BOUNDARY}\r\n{validators}"
                );
                reply(206, fields, &body)
            }
        }
    }

    /// The reference's evaluation of preconditions, or the variant's.
    fn preconditions(
        &self,
        request: &Request<'_>,
        current: &Validators<'_>,
        now: SystemTime,
    ) -> Outcome {
        if self.variant != Variant::IfModifiedSinceExactMatch {
            return conditions::evaluate(request, current, now);
        }
        let outcome = conditions::evaluate(&without(request, "If-Modified-Since"), current, now);
        let mut since = request.values("If-Modified-Since");
        let exact = match (since.next(), since.next()) {
            (Some(value), None) => parse_http_date(value, now) == current.modified,
            _ => false,
        };
        let none_match = request.values("If-None-Match").next().is_some();
        match outcome {
            Outcome::Proceed if exact && !none_match => Outcome::NotModified,
            outcome => outcome,
        }
    }

    /// What the Range of a GET asks for, as the reference reads it.
    fn ranges(&self, request: &Request<'_>, current: &Validators<'_>, now: SystemTime) -> Ranges {
        if self.variant == Variant::NoRanges || request.method != "GET" {
            return Ranges::Ignored;
        }
        let mut values = request.values("Range");
        match (values.next(), values.next()) {
            (Some(value), None) if conditions::if_range(request, current, now) => {
                range::parse_range(value, self.variant.content().len() as u64)
            }
            _ => Ranges::Ignored,
        }
    }

    /// The answer to a problem, as the reference words it.
    fn problem(&self, problem: Problem) -> Reply {
        let mut reply = refusal(self.status(problem), &problem.to_string(), problem.closes());
        if problem == Problem::NotAllowed {
            // RFC 9110 §15.5.6: a 405 "MUST" have Allow.
            reply.fields += &format!("Allow: {}\r\n", self.variant.allow());
        }
        if let Problem::RangeNotSatisfiable(length) = problem {
            reply.fields += &format!("Content-Range: bytes */{length}\r\n");
        }
        reply
    }

    /// The reference's status code for `problem`, or the variant's.
    fn status(&self, problem: Problem) -> u16 {
        use parse::Error::{HeaderTooLarge, TooManyFields};
        match problem {
            Problem::Parse(TooManyFields | HeaderTooLarge)
                if self.variant == Variant::BadRequestForOversized =>
            {
                400
            }
            problem => problem.status(),
        }
    }

    /// Writes `reply`; `head_only` for a HEAD, `close` to close after it,
    /// `keep_alive` to say an HTTP/1.0 connection stays open.
    fn send(&mut self, reply: &Reply, head_only: bool, close: bool, keep_alive: bool) -> Next {
        let version = match self.variant {
            Variant::Http10Only => "HTTP/1.0",
            _ => "HTTP/1.1",
        };
        let mut head = format!(
            "{version} {} {}\r\nDate: {}\r\n{}",
            reply.status,
            reason(reply.status),
            format_imf_fixdate(SystemTime::now()),
            reply.fields
        );
        let bodiless = matches!(reply.status, 100..=199 | 204 | 304);
        if !matches!(reply.status, 100..=199 | 204) {
            head += &format!("Content-Length: {}\r\n", reply.content.len());
        }
        if close {
            head += "Connection: close\r\n";
        } else if keep_alive {
            head += "Connection: keep-alive\r\n";
        }
        head += "\r\n";
        let mut bytes = head.into_bytes();
        if !head_only && !bodiless {
            bytes.extend_from_slice(&reply.content);
        }
        match (self.stream.write_all(&bytes), close) {
            (Err(_), _) => Next::Drop,
            (Ok(()), true) => Next::Close,
            (Ok(()), false) => Next::Again,
        }
    }

    /// The next request head, taken off the buffer: bytes that parse as a
    /// whole head, as received or as the variant repairs them.
    fn read_head(&mut self) -> Result<Vec<u8>, Fault> {
        loop {
            match parse_request(&self.buf) {
                Ok(Status::Complete((_, len))) => return Ok(self.buf.drain(..len).collect()),
                Ok(Status::Partial) => {}
                Err(error) if self.variant.repairs(error) => {
                    if let Some(head) = self.repaired_head()? {
                        return Ok(head);
                    }
                }
                Err(error) => return Err(Fault::Bad(Problem::Parse(error))),
            }
            self.fill()?;
        }
    }

    /// Once the whole head has arrived, the head repaired; `None` before.
    fn repaired_head(&mut self) -> Result<Option<Vec<u8>>, Fault> {
        let Some((start, end)) = head_bounds(&self.buf) else {
            if self.buf.len() > MAX_HEAD {
                return Err(Fault::Bad(Problem::Parse(parse::Error::HeaderTooLarge)));
            }
            return Ok(None);
        };
        let raw: Vec<u8> = self.buf.drain(..end).skip(start).collect();
        let head = self.variant.repair(&raw).map_err(Fault::Bad)?;
        match parse_request(&head) {
            Ok(Status::Complete((_, len))) if len == head.len() => Ok(Some(head)),
            Err(error) => Err(Fault::Bad(Problem::Parse(error))),
            // An empty line inside, or none at the end: not one head.
            _ => Err(Fault::Bad(Problem::Parse(parse::Error::RequestLine))),
        }
    }

    /// Reads and drops a request's content.
    fn discard(&mut self, framing: Framing) -> Result<(), Fault> {
        match framing {
            Framing::Empty => Ok(()),
            Framing::Length(n) => self.skip(n),
            Framing::Chunked => loop {
                let size = self.parse_with(parse_chunk_size)?;
                if size == 0 {
                    return self.parse_with(parse_trailer_section);
                }
                self.skip(size)?;
                self.parse_with(parse_chunk_end)?;
            },
        }
    }

    /// Runs a chunked-body parser on the buffer, reading more until it
    /// completes, and takes what it parsed off the buffer.
    fn parse_with<T>(&mut self, parse: fn(&[u8]) -> Parsed<T>) -> Result<T, Fault> {
        loop {
            match parse(&self.buf) {
                Ok(Status::Complete((value, len))) => {
                    self.buf.drain(..len);
                    return Ok(value);
                }
                Ok(Status::Partial) if self.buf.len() > MAX_HEAD => {
                    return Err(Fault::Bad(Problem::Parse(parse::Error::Chunk)))
                }
                Ok(Status::Partial) => self.fill()?,
                Err(error) => return Err(Fault::Bad(Problem::Parse(error))),
            }
        }
    }

    /// Drops the next `n` octets of content.
    fn skip(&mut self, mut n: u64) -> Result<(), Fault> {
        loop {
            let here = n.min(self.buf.len() as u64) as usize;
            self.buf.drain(..here);
            n -= here as u64;
            if n == 0 {
                return Ok(());
            }
            self.fill()?;
        }
    }

    /// Reads what arrives next into the buffer.
    fn fill(&mut self) -> Result<(), Fault> {
        let mut chunk = [0u8; 8192];
        loop {
            return match self.stream.read(&mut chunk) {
                Ok(0) => Err(Fault::Closed),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    Ok(())
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    Err(Fault::TimedOut)
                }
                Err(_) => Err(Fault::Closed),
            };
        }
    }
}

impl Variant {
    /// Whether the variant repairs a head the strict parser refuses with
    /// `error`, rather than answer 400.
    fn repairs(self, error: parse::Error) -> bool {
        use parse::Error::{BareCr, BareLf, FieldValue, HeaderTooLarge, ObsFold};
        use parse::Error::{TargetTooLong, TooManyFields};
        matches!(
            (self, error),
            (
                Variant::UnfoldsObsFold | Variant::ConsumesWhitespaceLines,
                ObsFold
            ) | (Variant::ReplacesNulAndCr, FieldValue | BareCr)
                | (Variant::AcceptsBareLf, BareLf)
                | (
                    Variant::ServesOversized,
                    TargetTooLong | TooManyFields | HeaderTooLarge
                )
        )
    }

    /// The head as the variant reads it, for the strict parser to parse:
    /// `raw` is the whole head, from its request-line to its empty line.
    fn repair(self, raw: &[u8]) -> Result<Vec<u8>, Problem> {
        Ok(match self {
            Variant::UnfoldsObsFold => {
                let mut lines: Vec<Vec<u8>> = Vec::new();
                for (i, line) in crlf_lines(raw).enumerate() {
                    match lines.last_mut() {
                        // A continuation of a field line (not of the
                        // request-line): its CRLF becomes SP.
                        Some(field) if i >= 2 && starts_with_whitespace(line) => {
                            field.push(b' ');
                            field.extend_from_slice(line);
                        }
                        _ => lines.push(line.to_vec()),
                    }
                }
                lines.join(&b"\r\n"[..])
            }
            Variant::ConsumesWhitespaceLines => {
                let mut lines: Vec<&[u8]> = crlf_lines(raw).collect();
                let leading = lines[1..]
                    .iter()
                    .take_while(|line| starts_with_whitespace(line))
                    .count();
                lines.drain(1..1 + leading);
                lines.join(&b"\r\n"[..])
            }
            Variant::ReplacesNulAndCr => {
                let mut head = raw.to_vec();
                for i in 0..head.len() {
                    if head[i] == b'\r' && head.get(i + 1) != Some(&b'\n') {
                        head[i] = b' ';
                    }
                }
                let fields = head
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .map_or(0, |i| i + 2);
                for b in &mut head[fields..] {
                    match *b {
                        0 => *b = b' ',
                        b'\t' | b'\r' | b'\n' => {}
                        // Kept: the strict parser takes no CTL, so it gets
                        // an octet that, like the CTL, no field the server
                        // reads allows (obs-text), and that a field it does
                        // not read carries as well as the CTL.
                        0..=0x1f | 0x7f => *b = 0xff,
                        _ => {}
                    }
                }
                head
            }
            Variant::AcceptsBareLf => {
                let mut head = Vec::with_capacity(raw.len() + 16);
                for (i, &b) in raw.iter().enumerate() {
                    if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
                        head.push(b'\r');
                    }
                    head.push(b);
                }
                head
            }
            Variant::ServesOversized => read_parts(raw)?,
            _ => raw.to_vec(),
        })
    }
}

/// The fields a responder reads; [`Variant::ServesOversized`] leaves the
/// others out once their grammar is checked.
const READ_FIELDS: [&str; 11] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "expect",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "if-range",
    "range",
];

/// [`Variant::ServesOversized`]'s head: the request-line without its query
/// and the field lines it reads, once the query's octets and the other
/// field lines are checked. A line it cannot make sense of is kept, for
/// the strict parser to refuse.
fn read_parts(raw: &[u8]) -> Result<Vec<u8>, Problem> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for (i, line) in crlf_lines(raw).enumerate() {
        if i == 0 {
            lines.push(without_query(line)?);
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            lines.push(line.to_vec());
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let read = READ_FIELDS
            .iter()
            .any(|f| name.eq_ignore_ascii_case(f.as_bytes()));
        let valid = !name.is_empty()
            && name.iter().all(|&b| is_tchar(b))
            && value.iter().all(|&b| b == b'\t' || b >= b' ' && b != 0x7f);
        if read || !valid {
            lines.push(line.to_vec());
        }
    }
    Ok(lines.join(&b"\r\n"[..]))
}

/// A request-line with the query of its target left out, once its octets
/// are checked.
fn without_query(line: &[u8]) -> Result<Vec<u8>, Problem> {
    let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let [method, target, version] = words.as_slice() else {
        return Ok(line.to_vec());
    };
    let Some(question) = target.iter().position(|&b| b == b'?') else {
        return Ok(line.to_vec());
    };
    // RFC 9112 §3.2 by way of RFC 3986: what the reference's parser allows.
    let uri_char = |b: u8| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:@/?[]".contains(&b);
    if !target.iter().all(|&b| uri_char(b)) {
        return Err(Problem::Parse(parse::Error::Target));
    }
    Ok([*method, &target[..question], *version].join(&b' '))
}

/// `tchar` (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn starts_with_whitespace(line: &[u8]) -> bool {
    matches!(line.first(), Some(b' ' | b'\t'))
}

/// The lines of a head, split at each CRLF (the last two are the empty
/// ones after the final CRLF CRLF).
fn crlf_lines(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(raw);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.windows(2).position(|w| w == b"\r\n") {
            Some(i) => {
                rest = Some(&text[i + 2..]);
                Some(&text[..i])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

/// Where the next head starts (past empty lines) and ends (past its empty
/// line, CRLF or a bare LF), once it has all arrived.
fn head_bounds(buf: &[u8]) -> Option<(usize, usize)> {
    let mut start = 0;
    loop {
        match &buf[start..] {
            [b'\r', b'\n', ..] => start += 2,
            [b'\n', ..] => start += 1,
            _ => break,
        }
    }
    (start..buf.len()).find_map(|i| match &buf[i..] {
        [b'\n', b'\n', ..] => Some((start, i + 2)),
        [b'\n', b'\r', b'\n', ..] => Some((start, i + 3)),
        _ => None,
    })
}

/// The methods of the HTTP Method Registry that [`Variant::NotAllowedForRegistered`]
/// recognises beyond RFC 9110's own (which the reference already answers
/// 405).
const REGISTERED_METHODS: [&str; 29] = [
    "ACL",
    "BASELINE-CONTROL",
    "BIND",
    "CHECKIN",
    "CHECKOUT",
    "COPY",
    "LABEL",
    "LINK",
    "LOCK",
    "MERGE",
    "MKACTIVITY",
    "MKCALENDAR",
    "MKCOL",
    "MKREDIRECTREF",
    "MKWORKSPACE",
    "MOVE",
    "ORDERPATCH",
    "PROPFIND",
    "PROPPATCH",
    "REBIND",
    "REPORT",
    "SEARCH",
    "UNBIND",
    "UNCHECKOUT",
    "UNLINK",
    "UNLOCK",
    "UPDATE",
    "UPDATEREDIRECTREF",
    "VERSION-CONTROL",
];

/// The fields a TRACE leaves out of its reflection.
const SENSITIVE_FIELDS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

/// The 200 to a TRACE: the request as received, as `message/http`.
fn trace(request: &Request<'_>) -> Reply {
    let Version { major, minor } = request.version;
    let mut message = format!(
        "{} {} HTTP/{major}.{minor}\r\n",
        request.method, request.target
    )
    .into_bytes();
    for field in &request.fields {
        if SENSITIVE_FIELDS
            .iter()
            .any(|s| field.name.eq_ignore_ascii_case(s))
        {
            continue;
        }
        message.extend_from_slice(field.name.as_bytes());
        message.extend_from_slice(b": ");
        message.extend_from_slice(field.value);
        message.extend_from_slice(b"\r\n");
    }
    message.extend_from_slice(b"\r\n");
    Reply {
        status: 200,
        fields: "Content-Type: message/http\r\n".to_string(),
        content: message,
        closes: false,
    }
}

/// A refusal with a short text that names its reason.
fn refusal(status: u16, why: &str, closes: bool) -> Reply {
    Reply {
        status,
        fields: "Content-Type: text/plain\r\n".to_string(),
        content: format!("{status} {}: {why}\n", reason(status)).into_bytes(),
        closes,
    }
}

/// The boundary of a multipart 206.
const BOUNDARY: &str = "FAIR_RESPONDER_PARTS";

fn content_range(part: ByteRange, length: u64) -> String {
    format!("bytes {}-{}/{length}", part.first, part.last)
}

fn part_of(content: &[u8], part: ByteRange) -> &[u8] {
    &content[part.first as usize..=part.last as usize]
}

fn is_http10(request: &Request<'_>) -> bool {
    request.version == (Version { major: 1, minor: 0 })
}

/// Whether a Connection field of `request` names `option`.
fn has_option(request: &Request<'_>, option: &str) -> bool {
    request
        .values("Connection")
        .flat_map(|value| value.split(|&b| b == b','))
        .any(|o| o.trim_ascii().eq_ignore_ascii_case(option.as_bytes()))
}

/// `request` without its fields named `name`.
fn without<'b>(request: &Request<'b>, name: &str) -> Request<'b> {
    Request {
        fields: request
            .fields
            .iter()
            .filter(|field| !field.name.eq_ignore_ascii_case(name))
            .copied()
            .collect(),
        ..request.clone()
    }
}

/// RFC 3986 §5.2.4 `remove_dot_segments` of an absolute path, percent-decoded.
fn remove_dot_segments(path: &[u8]) -> Vec<u8> {
    let segments: Vec<&[u8]> = path.split(|&b| b == b'/').skip(1).collect();
    let mut kept: Vec<&[u8]> = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            b"." => {}
            b".." => {
                kept.pop();
            }
            other => kept.push(other),
        }
        // `/a/.` and `/a/b/..` end in a directory: `/a/`.
        if last && matches!(*segment, b"." | b"..") {
            kept.push(b"");
        }
    }
    let mut out: Vec<u8> = Vec::new();
    for segment in kept {
        out.push(b'/');
        out.extend_from_slice(segment);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

#[test]
fn remove_dot_segments_then_as_rfc_3986_resolves_them() {
    for (path, resolved) in [
        ("/hello.txt", "/hello.txt"),
        ("/./hello.txt", "/hello.txt"),
        ("/docs/../hello.txt", "/hello.txt"),
        ("/../../etc/passwd", "/etc/passwd"),
        ("/a/b/..", "/a/"),
        ("/a/.", "/a/"),
        ("/", "/"),
        ("//hello.txt", "//hello.txt"),
    ] {
        assert_eq!(
            remove_dot_segments(path.as_bytes()),
            resolved.as_bytes(),
            "{path}"
        );
    }
}
