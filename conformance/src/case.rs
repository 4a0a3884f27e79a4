//! The case model: one TOML file per case, loaded and validated against the
//! rules in `fixtures/cases/README.md`.
//!
//! A case with a single `request` and `[expect]` is normalised into one
//! [`Step`], so everything after loading deals only with steps.

use crate::escape::{self, EscapeError};
use crate::template::{Template, Var};
use crate::wire::{ReadPlan, StepPlan};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the catalogue lives inside the repository; the compiled-in
/// catalogue's cases name their files under it.
pub const CATALOGUE_DIR: &str = "fixtures/cases";

/// The catalogue (and the matrix) compiled into this crate by `build.rs`.
pub(crate) mod compiled {
    include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));
}

/// A requirement's strength: `must` cases fail the run when broken,
/// `should` and `may` cases warn, `info` cases are recorded, never scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// An absolute requirement (MUST, MUST NOT, REQUIRED).
    Must,
    /// A recommendation (SHOULD, SHOULD NOT, RECOMMENDED).
    Should,
    /// An option the RFC allows (MAY, OPTIONAL).
    May,
    /// Recorded for comparison, never graded.
    Info,
}

impl Level {
    /// Every level, strongest first.
    pub const ALL: [Level; 4] = [Level::Must, Level::Should, Level::May, Level::Info];

    /// The name used in case files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
            Level::May => "may",
            Level::Info => "info",
        }
    }

    /// Parses a level name as written in a case file.
    pub fn parse(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == name)
    }

    /// How strong the level is: `info` 0 up to `must` 3.
    pub fn strength(self) -> u8 {
        match self {
            Level::Info => 0,
            Level::May => 1,
            Level::Should => 2,
            Level::Must => 3,
        }
    }

    /// Whether this level is as strong as `floor` or stronger (for `--level`).
    pub fn at_least(self, floor: Level) -> bool {
        self.strength() >= floor.strength()
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The topic a case belongs to; reports summarise per group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    /// The request-line's shape (RFC 9112 §3).
    RequestLine,
    /// The request-target (RFC 9112 §3.2).
    Target,
    /// The protocol version (RFC 9112 §2.3).
    Version,
    /// Methods (RFC 9110 §9).
    Method,
    /// The Host header (RFC 9112 §3.2, RFC 9110 §7.2).
    Host,
    /// Field syntax (RFC 9112 §5).
    Fields,
    /// CRLF, bare CR, bare LF (RFC 9112 §2.2).
    LineEndings,
    /// Size limits (414, 431).
    Limits,
    /// Message body framing (RFC 9112 §6).
    Framing,
    /// Persistence, pipelining, closing (RFC 9112 §9).
    Connection,
    /// Path resolution against the docroot.
    Path,
    /// What every response head must carry.
    ResponseHead,
    /// Expect and 100 (Continue) (RFC 9110 §10.1.1, §15.2).
    Expect,
    /// Preconditions and validators (RFC 9110 §13, §8.8).
    Conditional,
    /// Range requests and partial responses (RFC 9110 §14, §15.3.7).
    Range,
    /// Upgrade and 101 (Switching Protocols) (RFC 9110 §7.8).
    Upgrade,
}

impl Group {
    /// Every group, in the order the README lists them.
    pub const ALL: [Group; 16] = [
        Group::RequestLine,
        Group::Target,
        Group::Version,
        Group::Method,
        Group::Host,
        Group::Fields,
        Group::LineEndings,
        Group::Limits,
        Group::Framing,
        Group::Connection,
        Group::Path,
        Group::ResponseHead,
        Group::Expect,
        Group::Conditional,
        Group::Range,
        Group::Upgrade,
    ];

    /// The name used in case files.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::RequestLine => "request-line",
            Group::Target => "target",
            Group::Version => "version",
            Group::Method => "method",
            Group::Host => "host",
            Group::Fields => "fields",
            Group::LineEndings => "line-endings",
            Group::Limits => "limits",
            Group::Framing => "framing",
            Group::Connection => "connection",
            Group::Path => "path",
            Group::ResponseHead => "response-head",
            Group::Expect => "expect",
            Group::Conditional => "conditional",
            Group::Range => "range",
            Group::Upgrade => "upgrade",
        }
    }

    /// Parses a group name as written in a case file.
    pub fn parse(name: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.as_str() == name)
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One acceptable outcome in an `expect.pass` or `expect.warn` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Token {
    /// `"400"`: a response with exactly this status code.
    Status(u16),
    /// `"4xx"`: a response whose code is in this class (the first digit).
    Class(u8),
    /// `"close"`: the server closed the connection without a response.
    Close,
    /// `"reset"`: the connection was reset without a response.
    Reset,
    /// `"timeout"`: nothing arrived before the case's timeout.
    Timeout,
    /// `"control"`: a response with the status code the control GET got,
    /// for a request that is to be served normally.
    Control,
}

impl Token {
    /// Parses a token as written in a case file.
    pub fn parse(text: &str) -> Option<Token> {
        match text {
            "control" => return Some(Token::Control),
            "close" => return Some(Token::Close),
            "reset" => return Some(Token::Reset),
            "timeout" => return Some(Token::Timeout),
            _ => {}
        }
        let b = text.as_bytes();
        let class = match b.first() {
            Some(d @ b'1'..=b'5') if b.len() == 3 => d - b'0',
            _ => return None,
        };
        if &b[1..] == b"xx" {
            return Some(Token::Class(class));
        }
        if b[1..].iter().all(u8::is_ascii_digit) {
            return text.parse().ok().map(Token::Status);
        }
        None
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Status(code) => write!(f, "{code}"),
            Token::Class(class) => write!(f, "{class}xx"),
            Token::Close => f.write_str("close"),
            Token::Reset => f.write_str("reset"),
            Token::Timeout => f.write_str("timeout"),
            Token::Control => f.write_str("control"),
        }
    }
}

/// An extra assertion on a response head; each has its own strength.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    /// `date` (must): a `Date` header in IMF-fixdate form, for 2xx–4xx.
    Date,
    /// `content-length` (must): exactly Content-Length body bytes arrived;
    /// none at all, and no Transfer-Encoding, on 1xx and 204.
    ContentLength,
    /// `no-body` (must): no bytes follow the head.
    NoBody,
    /// `allow` (must): a 405 carries an `Allow` list of methods that does
    /// not name the refused one.
    Allow,
    /// `closed` (must): the server closed the connection after the response.
    Closed,
    /// `close-header` (should): the response carries `Connection: close`.
    CloseHeader,
    /// `version` (should): the status line starts `HTTP/1.1`.
    Version,
    /// `reason` (info): the reason phrase is the one RFC 9110 registers.
    Reason,
    /// `status-sp` (must): a space follows the status code, reason or not.
    StatusSp,
    /// `has-content-length` (should): a `Content-Length` is sent (the size
    /// of a static representation is known before the head).
    HasContentLength,
    /// `no-interim` (must): no 1xx response came before the final one.
    NoInterim,
    /// `no-transfer-encoding` (must): the response has no `Transfer-Encoding`.
    NoTransferEncoding,
    /// `options-allow` (should): a 2xx answer to OPTIONS carries `Allow`.
    OptionsAllow,
    /// `location` (should): a 301, 302, 303, 307 or 308 carries `Location`.
    Location,
    /// `last-modified` (must): `Last-Modified` is not later than `Date`.
    LastModified,
    /// `content-type` (should): a response with content has `Content-Type`.
    ContentType,
    /// `validators` (should): a 2xx carries `ETag` and `Last-Modified`.
    Validators,
    /// `error-body` (should): a 4xx or 5xx (not to HEAD) explains itself in
    /// its content.
    ErrorBody,
    /// `date-now` (should): `Date` is within a few seconds of the client's
    /// clock.
    DateNow,
    /// `control-etag` (must): the `ETag` is the one the control got.
    ControlEtag,
    /// `control-length` (must): a `Content-Length`, if any, is the length of
    /// the control's content.
    ControlLength,
    /// `control-fields` (should): the same header field names as the
    /// control GET (framing and connection fields aside).
    ControlFields,
    /// `range` (must): a 206 is a well-formed partial response of the
    /// control's content (Content-Range, its bytes, multipart framing).
    Range,
    /// `unsatisfied-range` (should): a 416 carries `Content-Range: bytes */LENGTH`.
    UnsatisfiedRange,
    /// `no-content-coding` (should): the response has no `Content-Encoding`.
    NoContentCoding,
    /// `close-announced` (must; should where the control found persistent
    /// connections): if the connection closed before this step's response,
    /// the previous response carried `Connection: close`.
    CloseAnnounced,
    /// `cache-fields` (must): a 304 or 206 carries each of Content-Location,
    /// Date, ETag, Vary, Cache-Control and Expires that the control's 200
    /// carried.
    CacheFields,
    /// `no-304-metadata` (should): a 304 carries no Content-Type,
    /// Content-Encoding or Content-Language.
    No304Metadata,
    /// `upgrade` (must): a 101 carries an `Upgrade` naming a protocol the
    /// request offered; a 426 carries `Upgrade`.
    Upgrade,
    /// `no-credentials-echo` (should): the content does not repeat the
    /// request's Authorization or Cookie values.
    NoCredentialsEcho,
    /// `reason-phrase` (must, on every response): the reason phrase matches
    /// RFC 9112 §4's grammar.
    ReasonPhrase,
    /// `field-value` (must, on every response): each field line's value
    /// matches RFC 9110 §5.5's grammar.
    FieldValue,
}

impl Check {
    /// Every check, in the README's order.
    pub const ALL: [Check; 32] = [
        Check::Date,
        Check::ContentLength,
        Check::NoBody,
        Check::Allow,
        Check::Closed,
        Check::CloseHeader,
        Check::Version,
        Check::Reason,
        Check::StatusSp,
        Check::HasContentLength,
        Check::NoInterim,
        Check::NoTransferEncoding,
        Check::OptionsAllow,
        Check::Location,
        Check::LastModified,
        Check::ContentType,
        Check::Validators,
        Check::ErrorBody,
        Check::DateNow,
        Check::ControlEtag,
        Check::ControlLength,
        Check::ControlFields,
        Check::Range,
        Check::UnsatisfiedRange,
        Check::NoContentCoding,
        Check::CloseAnnounced,
        Check::CacheFields,
        Check::No304Metadata,
        Check::Upgrade,
        Check::NoCredentialsEcho,
        Check::ReasonPhrase,
        Check::FieldValue,
    ];

    /// The name used in case files.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Date => "date",
            Check::ContentLength => "content-length",
            Check::NoBody => "no-body",
            Check::Allow => "allow",
            Check::Closed => "closed",
            Check::CloseHeader => "close-header",
            Check::Version => "version",
            Check::Reason => "reason",
            Check::StatusSp => "status-sp",
            Check::HasContentLength => "has-content-length",
            Check::NoInterim => "no-interim",
            Check::NoTransferEncoding => "no-transfer-encoding",
            Check::OptionsAllow => "options-allow",
            Check::Location => "location",
            Check::LastModified => "last-modified",
            Check::ContentType => "content-type",
            Check::Validators => "validators",
            Check::ErrorBody => "error-body",
            Check::DateNow => "date-now",
            Check::ControlEtag => "control-etag",
            Check::ControlLength => "control-length",
            Check::ControlFields => "control-fields",
            Check::Range => "range",
            Check::UnsatisfiedRange => "unsatisfied-range",
            Check::NoContentCoding => "no-content-coding",
            Check::CloseAnnounced => "close-announced",
            Check::CacheFields => "cache-fields",
            Check::No304Metadata => "no-304-metadata",
            Check::Upgrade => "upgrade",
            Check::NoCredentialsEcho => "no-credentials-echo",
            Check::ReasonPhrase => "reason-phrase",
            Check::FieldValue => "field-value",
        }
    }

    /// Parses a check name as written in a case file.
    pub fn parse(name: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The check's own strength (README, "Checks").
    pub fn level(self) -> Level {
        match self {
            Check::Date
            | Check::ContentLength
            | Check::NoBody
            | Check::Allow
            | Check::Closed
            | Check::StatusSp
            | Check::NoInterim
            | Check::NoTransferEncoding
            | Check::LastModified
            | Check::ControlEtag
            | Check::ControlLength
            | Check::Range
            | Check::CloseAnnounced
            | Check::CacheFields
            | Check::Upgrade
            | Check::ReasonPhrase
            | Check::FieldValue => Level::Must,
            Check::CloseHeader
            | Check::Version
            | Check::HasContentLength
            | Check::OptionsAllow
            | Check::Location
            | Check::ContentType
            | Check::Validators
            | Check::ErrorBody
            | Check::DateNow
            | Check::ControlFields
            | Check::UnsatisfiedRange
            | Check::NoContentCoding
            | Check::No304Metadata
            | Check::NoCredentialsEcho => Level::Should,
            Check::Reason => Level::Info,
        }
    }

    /// Whether the check also applies when no response came (a close, a
    /// reset, a timeout): only `close-announced` looks back at the step
    /// before.
    pub fn applies_without_response(self) -> bool {
        self == Check::CloseAnnounced
    }

    /// The checks that apply to every response a case grades, whether the
    /// case names them or not: a server's head must match the grammar.
    pub const ALWAYS: [Check; 2] = [Check::ReasonPhrase, Check::FieldValue];

    /// The RFC sentence a check rests on, for the checks that apply to
    /// every response (a case quotes its own requirement; these have none).
    pub fn requirement(self) -> Option<&'static str> {
        match self {
            Check::ReasonPhrase => Some(
                "RFC 9112 §4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ); \
                 RFC 9110 §2.2: \"A sender MUST NOT generate protocol elements that do not \
                 match the grammar defined by the corresponding ABNF rules.\"",
            ),
            Check::FieldValue => Some(
                "RFC 9110 §5.5: field-value = *field-content, field-content = field-vchar \
                 [ 1*( SP / HTAB / field-vchar ) field-vchar ], field-vchar = VCHAR / obs-text; \
                 \"Field values containing CR, LF, or NUL characters are invalid and \
                 dangerous\" and \"Field values containing other CTL characters are also \
                 invalid\"; RFC 9110 §2.2: \"A sender MUST NOT generate protocol elements \
                 that do not match the grammar defined by the corresponding ABNF rules.\"",
            ),
            _ => None,
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a case requires of the target beyond HTTP itself; without it the
/// case is graded `skip`, with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Need {
    /// `fixture-root`: the target serves this repository's `fixtures/root`
    /// (the run says so with `--fixture-root`).
    FixtureRoot,
    /// `etag`: the control response carried an `ETag`.
    Etag,
    /// `last-modified`: the control response carried a `Last-Modified`.
    LastModified,
    /// `strong-etag`: the control response's `ETag` is a strong one (no
    /// `W/`), for cases that write its weak form as `W/{etag}`.
    StrongEtag,
    /// `plain-tcp`: the target is reached over plain TCP, not TLS, for
    /// cases about what a request received unsecured means.
    PlainTcp,
}

impl Need {
    /// Every need, in the README's order.
    pub const ALL: [Need; 5] = [
        Need::FixtureRoot,
        Need::Etag,
        Need::LastModified,
        Need::StrongEtag,
        Need::PlainTcp,
    ];

    /// The name used in case files.
    pub fn as_str(self) -> &'static str {
        match self {
            Need::FixtureRoot => "fixture-root",
            Need::Etag => "etag",
            Need::LastModified => "last-modified",
            Need::StrongEtag => "strong-etag",
            Need::PlainTcp => "plain-tcp",
        }
    }

    /// Parses a need as written in a case file.
    pub fn parse(name: &str) -> Option<Need> {
        Need::ALL.into_iter().find(|n| n.as_str() == name)
    }

    /// The need a template variable implies: its value comes from the
    /// control response, which may lack it.
    pub(crate) fn of_var(var: Var) -> Option<Need> {
        match var {
            Var::Etag => Some(Need::Etag),
            Var::LastModified => Some(Need::LastModified),
            Var::Path | Var::Host | Var::Length => None,
        }
    }
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The acceptable outcomes of one response, and the checks on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// Outcomes graded pass.
    pub pass: Vec<Token>,
    /// Outcomes the RFC allows but a stricter answer exists: graded warn.
    pub warn: Vec<Token>,
    /// Extra assertions on the response.
    pub checks: Vec<Check>,
}

impl Expect {
    /// Whether an interim (1xx) response is itself an outcome of this step,
    /// because a token names one; otherwise interim responses are skipped
    /// on the way to the final one.
    pub(crate) fn reads_interim(&self) -> bool {
        self.pass.iter().chain(&self.warn).any(|token| match token {
            Token::Status(code) => (100..200).contains(code),
            Token::Class(class) => *class == 1,
            _ => false,
        })
    }

    /// Whether the step's checks need what follows the response: the
    /// `closed` check whether the server closed, `no-body` whether bytes
    /// followed a response that has no body.
    pub fn reads_after(&self) -> bool {
        self.checks.contains(&Check::Closed) || self.checks.contains(&Check::NoBody)
    }
}

/// One write and/or one read on the case's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Milliseconds to wait before sending (fragmented writes).
    pub pause_ms: u64,
    /// The bytes to write, as a template the run fills in; `None` reads the
    /// next response only.
    pub send: Option<Template>,
    /// `send` as the case file writes it (escapes, repeats), for `explain`.
    pub send_source: Option<String>,
    /// What to read and how to grade it; `None` only writes.
    pub expect: Option<Expect>,
}

impl Step {
    /// What the wire client does for this step, writing `send` (the step's
    /// template filled in).
    pub fn plan(&self, send: Option<Vec<u8>>) -> StepPlan {
        StepPlan {
            pause: Duration::from_millis(self.pause_ms),
            send,
            read: self.expect.as_ref().map(|expect| ReadPlan {
                interim: expect.reads_interim(),
                after: expect.reads_after(),
            }),
        }
    }
}

/// One conformance case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Stable id, `rfc<number>-<section>-<slug>`; equals the file stem.
    pub id: String,
    /// One line saying what the case checks.
    pub title: String,
    /// The topic the case belongs to.
    pub group: Group,
    /// The document and section, e.g. `RFC 9112 §5.1`.
    pub rfc: String,
    /// A link to the section.
    pub url: String,
    /// The RFC sentence the case tests, verbatim (whitespace folded).
    pub quote: String,
    /// How strong the requirement is.
    pub level: Level,
    /// A short Markdown paragraph for learners.
    pub explain: String,
    /// Per-case timeout in milliseconds; raises the run's timeout.
    pub timeout_ms: Option<u64>,
    /// The writes and reads, in order (at least one step reads).
    pub steps: Vec<Step>,
    /// What the case requires of the target: the file's `needs`, and those
    /// its variables imply; sorted, each once.
    pub needs: Vec<Need>,
    /// The file the case was loaded from.
    pub file: PathBuf,
}

impl Case {
    /// The RFC number the case cites (`9112` for `RFC 9112 §5.1`).
    pub fn rfc_number(&self) -> Option<u32> {
        parse_rfc_field(&self.rfc).map(|(number, _)| number)
    }
}

/// A file that is not a valid case: which file, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseError {
    /// The offending file.
    pub file: PathBuf,
    /// What is wrong with it.
    pub problem: Problem,
}

impl fmt::Display for CaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.problem)
    }
}

impl std::error::Error for CaseError {}

/// What can be wrong with a case file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The file could not be read.
    Read(String),
    /// The file is not TOML, or has a missing, unknown or mistyped field.
    Toml {
        /// 1-based line of the problem, when TOML knows it.
        line: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// The file stem is not a well-formed id.
    MalformedId(String),
    /// `id` differs from the file stem.
    IdMismatch {
        /// The `id` field.
        id: String,
        /// The file stem.
        stem: String,
    },
    /// `rfc` is not `RFC <number> §<section>`.
    MalformedRfc(String),
    /// The id's RFC number or section differs from the `rfc` field.
    IdRfcMismatch {
        /// The `id` field.
        id: String,
        /// The `rfc` field.
        rfc: String,
    },
    /// `url` is not an https link with an anchor.
    MalformedUrl(String),
    /// `group` is not one of the README's groups.
    UnknownGroup(String),
    /// `level` is not must/should/may/info.
    UnknownLevel(String),
    /// A required text field is empty.
    EmptyField(&'static str),
    /// Both `request` and `steps` are present.
    RequestAndSteps,
    /// Neither `request` nor `steps` is present.
    NoRequest,
    /// `request` without `[expect]`.
    RequestWithoutExpect,
    /// `[expect]` at the top level of a `steps` case.
    ExpectWithSteps,
    /// `steps = []`.
    NoSteps,
    /// A step with neither `send` nor `expect`.
    EmptyStep(usize),
    /// No step has an `expect`, so nothing can be graded.
    NothingToGrade,
    /// A request or send string that decodes to no bytes.
    EmptySend(String),
    /// A request or send string with a bad escape or a raw control byte.
    Escape {
        /// `request` or `steps[N].send`.
        field: String,
        /// The decoder's error.
        error: EscapeError,
    },
    /// `pass` is empty.
    EmptyPass(String),
    /// An outcome token that is not a code, a class, close, reset or timeout.
    UnknownToken {
        /// `expect` or `steps[N].expect`.
        field: String,
        /// The token as written.
        token: String,
    },
    /// The same outcome listed twice (in pass and warn, or twice in one).
    DuplicateToken {
        /// `expect` or `steps[N].expect`.
        field: String,
        /// The token as written.
        token: String,
    },
    /// A check name not in the README's table.
    UnknownCheck {
        /// `expect` or `steps[N].expect`.
        field: String,
        /// The name as written.
        check: String,
    },
    /// The same check listed twice.
    DuplicateCheck {
        /// `expect` or `steps[N].expect`.
        field: String,
        /// The name as written.
        check: String,
    },
    /// `timeout_ms = 0`.
    ZeroTimeout,
    /// A `needs` entry that is not one of the README's.
    UnknownNeed(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Read(e) => write!(f, "cannot read: {e}"),
            Problem::Toml {
                line: Some(line),
                message,
            } => write!(f, "line {line}: {message}"),
            Problem::Toml {
                line: None,
                message,
            } => f.write_str(message),
            Problem::MalformedId(stem) => write!(
                f,
                "file name `{stem}` is not an id of the form rfc<number>-<section>-<slug> \
                 (lowercase, [a-z0-9.-])"
            ),
            Problem::IdMismatch { id, stem } => {
                write!(f, "id `{id}` differs from the file name `{stem}`")
            }
            Problem::MalformedRfc(rfc) => {
                write!(
                    f,
                    "rfc `{rfc}` is not of the form `RFC <number> §<section>`"
                )
            }
            Problem::IdRfcMismatch { id, rfc } => {
                write!(
                    f,
                    "id `{id}` does not start with the document and section of `{rfc}`"
                )
            }
            Problem::MalformedUrl(url) => {
                write!(f, "url `{url}` is not an https:// link with a #anchor")
            }
            Problem::UnknownGroup(group) => write!(
                f,
                "unknown group `{group}` (expected one of: {})",
                join(Group::ALL.iter().map(|g| g.as_str()))
            ),
            Problem::UnknownLevel(level) => {
                write!(
                    f,
                    "unknown level `{level}` (expected must, should, may or info)"
                )
            }
            Problem::EmptyField(field) => write!(f, "`{field}` is empty"),
            Problem::RequestAndSteps => f.write_str("has both `request` and `steps`; use one"),
            Problem::NoRequest => f.write_str("has neither `request` nor `steps`"),
            Problem::RequestWithoutExpect => f.write_str("has `request` but no `[expect]`"),
            Problem::ExpectWithSteps => {
                f.write_str("has `steps` and a top-level `[expect]`; put expect in each step")
            }
            Problem::NoSteps => f.write_str("`steps` is empty"),
            Problem::EmptyStep(n) => write!(f, "steps[{n}] has neither `send` nor `expect`"),
            Problem::NothingToGrade => f.write_str("no step has an `expect`"),
            Problem::EmptySend(field) => write!(f, "{field} is empty"),
            Problem::Escape { field, error } => write!(f, "{field}: {error}"),
            Problem::EmptyPass(field) => write!(f, "{field}.pass is empty"),
            Problem::UnknownToken { field, token } => write!(
                f,
                "{field}: unknown outcome `{token}` (expected a status code like \"400\", \
                 a class like \"4xx\", \"close\", \"reset\" or \"timeout\")"
            ),
            Problem::DuplicateToken { field, token } => {
                write!(f, "{field}: outcome `{token}` is listed more than once")
            }
            Problem::UnknownCheck { field, check } => write!(
                f,
                "{field}: unknown check `{check}` (expected one of: {})",
                join(Check::ALL.iter().map(|c| c.as_str()))
            ),
            Problem::DuplicateCheck { field, check } => {
                write!(f, "{field}: check `{check}` is listed more than once")
            }
            Problem::ZeroTimeout => f.write_str("timeout_ms must be more than 0"),
            Problem::UnknownNeed(need) => write!(
                f,
                "unknown need `{need}` (expected one of: {})",
                join(Need::ALL.iter().map(|n| n.as_str()))
            ),
        }
    }
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// The catalogue could not be loaded.
#[derive(Debug)]
pub enum CatalogueError {
    /// The directory could not be listed.
    ReadDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        error: String,
    },
    /// The directory holds no `*.toml` file.
    Empty(PathBuf),
    /// Some case files are invalid; every one is listed.
    Invalid(Vec<CaseError>),
}

impl fmt::Display for CatalogueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogueError::ReadDir { dir, error } => {
                write!(
                    f,
                    "cannot read the case directory {}: {error}",
                    dir.display()
                )
            }
            CatalogueError::Empty(dir) => write!(f, "no *.toml case files in {}", dir.display()),
            CatalogueError::Invalid(errors) => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for CatalogueError {}

/// The catalogue compiled into this crate: every case file of
/// `fixtures/cases` as it was at build time, sorted by id. A binary needs no
/// checkout to find its cases; `--cases DIR` reads another catalogue
/// ([`load_catalogue`]).
pub fn builtin_catalogue() -> Result<Vec<Case>, CatalogueError> {
    parse_catalogue(
        compiled::FILES
            .iter()
            .map(|&(name, text)| (Path::new(CATALOGUE_DIR).join(name), text.to_string())),
    )
}

/// How many cases the compiled-in catalogue has, and its fingerprint (the
/// short content hash `--version` shows).
pub fn builtin_fingerprint() -> (usize, &'static str) {
    (compiled::FILES.len(), compiled::FINGERPRINT)
}

/// The fingerprint of a catalogue's files, as `--version` names the
/// compiled-in one: `(file name, text)` pairs in any order.
pub fn fingerprint(files: &[(String, String)]) -> String {
    let mut sorted: Vec<(&str, &str)> = files
        .iter()
        .map(|(name, text)| (name.as_str(), text.as_str()))
        .collect();
    sorted.sort();
    crate::fingerprint::fingerprint(sorted)
}

/// Loads every `*.toml` file in `dir`, sorted by id. Every invalid file is
/// reported, not just the first.
pub fn load_catalogue(dir: &Path) -> Result<Vec<Case>, CatalogueError> {
    parse_catalogue(read_catalogue_files(dir)?)
}

/// Every `*.toml` file in `dir` with its text.
pub(crate) fn read_catalogue_files(dir: &Path) -> Result<Vec<(PathBuf, String)>, CatalogueError> {
    let read_dir_error = |e: std::io::Error| CatalogueError::ReadDir {
        dir: dir.to_path_buf(),
        error: e.to_string(),
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_dir_error)? {
        let path = entry.map_err(read_dir_error)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(CatalogueError::Empty(dir.to_path_buf()));
    }
    files.sort();
    let mut texts = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => texts.push((file, text)),
            Err(e) => errors.push(CaseError {
                file,
                problem: Problem::Read(e.to_string()),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(CatalogueError::Invalid(errors));
    }
    Ok(texts)
}

/// Parses and validates case files given as (path, text), sorted by id.
fn parse_catalogue(
    files: impl IntoIterator<Item = (PathBuf, String)>,
) -> Result<Vec<Case>, CatalogueError> {
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for (file, text) in files {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match parse_case(&stem, &text) {
            Ok(mut case) => {
                case.file = file;
                cases.push(case);
            }
            Err(problem) => errors.push(CaseError { file, problem }),
        }
    }
    if !errors.is_empty() {
        errors.sort_by(|a, b| a.file.cmp(&b.file));
        return Err(CatalogueError::Invalid(errors));
    }
    cases.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(cases)
}

/// The fields of a case file as TOML gives them, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    id: String,
    title: String,
    group: String,
    rfc: String,
    url: String,
    quote: String,
    level: String,
    explain: String,
    timeout_ms: Option<u64>,
    #[serde(default)]
    needs: Vec<String>,
    request: Option<String>,
    expect: Option<RawExpect>,
    steps: Option<Vec<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    pass: Vec<String>,
    #[serde(default)]
    warn: Vec<String>,
    #[serde(default)]
    checks: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(default)]
    pause_ms: u64,
    send: Option<String>,
    expect: Option<RawExpect>,
}

/// Parses and validates the text of a case file whose stem is `stem`.
/// The returned case's `file` is empty; [`load_catalogue`] fills it in.
pub fn parse_case(stem: &str, text: &str) -> Result<Case, Problem> {
    let raw: RawCase = toml::from_str(text).map_err(|e| Problem::Toml {
        line: e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1),
        message: e.message().trim().to_string(),
    })?;
    if !is_well_formed_id(stem) {
        return Err(Problem::MalformedId(stem.to_string()));
    }
    if raw.id != stem {
        return Err(Problem::IdMismatch {
            id: raw.id,
            stem: stem.to_string(),
        });
    }
    let (number, section) =
        parse_rfc_field(&raw.rfc).ok_or_else(|| Problem::MalformedRfc(raw.rfc.clone()))?;
    let prefix = format!("rfc{number}-{}-", section.to_ascii_lowercase());
    if !raw.id.starts_with(&prefix) {
        return Err(Problem::IdRfcMismatch {
            id: raw.id,
            rfc: raw.rfc,
        });
    }
    if !(raw.url.starts_with("https://") && raw.url.contains('#')) {
        return Err(Problem::MalformedUrl(raw.url));
    }
    let group = Group::parse(&raw.group).ok_or(Problem::UnknownGroup(raw.group))?;
    let level = Level::parse(&raw.level).ok_or(Problem::UnknownLevel(raw.level))?;
    for (name, value) in [
        ("title", &raw.title),
        ("quote", &raw.quote),
        ("explain", &raw.explain),
    ] {
        if value.trim().is_empty() {
            return Err(Problem::EmptyField(name));
        }
    }
    if raw.timeout_ms == Some(0) {
        return Err(Problem::ZeroTimeout);
    }
    let steps = match (raw.request, raw.steps) {
        (Some(_), Some(_)) => return Err(Problem::RequestAndSteps),
        (None, None) => return Err(Problem::NoRequest),
        (Some(request), None) => {
            let expect = raw.expect.ok_or(Problem::RequestWithoutExpect)?;
            vec![Step {
                pause_ms: 0,
                send: Some(decode_send("request", &request)?),
                send_source: Some(request),
                expect: Some(validate_expect("expect", expect)?),
            }]
        }
        (None, Some(raw_steps)) => {
            if raw.expect.is_some() {
                return Err(Problem::ExpectWithSteps);
            }
            validate_steps(raw_steps)?
        }
    };
    let mut needs = Vec::new();
    for name in raw.needs {
        needs.push(Need::parse(&name).ok_or(Problem::UnknownNeed(name))?);
    }
    for step in &steps {
        let vars = step.send.as_ref().map(Template::vars).unwrap_or_default();
        needs.extend(vars.into_iter().filter_map(Need::of_var));
    }
    needs.sort();
    needs.dedup();
    Ok(Case {
        id: raw.id,
        title: raw.title,
        group,
        rfc: raw.rfc,
        url: raw.url,
        quote: raw.quote,
        level,
        explain: raw.explain,
        timeout_ms: raw.timeout_ms,
        steps,
        needs,
        file: PathBuf::new(),
    })
}

fn validate_steps(raw_steps: Vec<RawStep>) -> Result<Vec<Step>, Problem> {
    if raw_steps.is_empty() {
        return Err(Problem::NoSteps);
    }
    let mut steps = Vec::with_capacity(raw_steps.len());
    for (n, raw) in raw_steps.into_iter().enumerate() {
        if raw.send.is_none() && raw.expect.is_none() {
            return Err(Problem::EmptyStep(n));
        }
        let send = match &raw.send {
            Some(text) => Some(decode_send(&format!("steps[{n}].send"), text)?),
            None => None,
        };
        let expect = match raw.expect {
            Some(e) => Some(validate_expect(&format!("steps[{n}].expect"), e)?),
            None => None,
        };
        steps.push(Step {
            pause_ms: raw.pause_ms,
            send,
            send_source: raw.send,
            expect,
        });
    }
    if steps.iter().all(|s| s.expect.is_none()) {
        return Err(Problem::NothingToGrade);
    }
    Ok(steps)
}

fn decode_send(field: &str, text: &str) -> Result<Template, Problem> {
    let template = escape::decode_template(text).map_err(|error| Problem::Escape {
        field: field.to_string(),
        error,
    })?;
    if template.is_empty() {
        return Err(Problem::EmptySend(field.to_string()));
    }
    Ok(template)
}

fn validate_expect(field: &str, raw: RawExpect) -> Result<Expect, Problem> {
    if raw.pass.is_empty() {
        return Err(Problem::EmptyPass(field.to_string()));
    }
    let mut seen = Vec::new();
    let mut parse_tokens = |texts: Vec<String>| -> Result<Vec<Token>, Problem> {
        let mut tokens = Vec::with_capacity(texts.len());
        for text in texts {
            let token = Token::parse(&text).ok_or_else(|| Problem::UnknownToken {
                field: field.to_string(),
                token: text.clone(),
            })?;
            if seen.contains(&token) {
                return Err(Problem::DuplicateToken {
                    field: field.to_string(),
                    token: text,
                });
            }
            seen.push(token);
            tokens.push(token);
        }
        Ok(tokens)
    };
    let pass = parse_tokens(raw.pass)?;
    let warn = parse_tokens(raw.warn)?;
    let mut checks = Vec::with_capacity(raw.checks.len());
    for name in raw.checks {
        let check = Check::parse(&name).ok_or_else(|| Problem::UnknownCheck {
            field: field.to_string(),
            check: name.clone(),
        })?;
        if checks.contains(&check) {
            return Err(Problem::DuplicateCheck {
                field: field.to_string(),
                check: name,
            });
        }
        checks.push(check);
    }
    Ok(Expect { pass, warn, checks })
}

/// `rfc<number>-<section>-<slug>`: lowercase `[a-z0-9.-]`, a section of
/// digits, letters and inner dots, a slug with no empty words.
fn is_well_formed_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("rfc") else {
        return false;
    };
    let mut parts = rest.splitn(3, '-');
    let (Some(number), Some(section), Some(slug)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let is_section_char = |c: char| c.is_ascii_digit() || c.is_ascii_lowercase() || c == '.';
    !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && !section.is_empty()
        && section.chars().all(is_section_char)
        && !section.starts_with('.')
        && !section.ends_with('.')
        && slug
            .split('-')
            .all(|word| !word.is_empty() && word.chars().all(is_section_char))
}

/// Splits `RFC 9112 §5.1` into (9112, "5.1").
fn parse_rfc_field(rfc: &str) -> Option<(u32, &str)> {
    let rest = rfc.strip_prefix("RFC ")?;
    let (number, section) = rest.split_once(" §")?;
    let valid = !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && !section.is_empty()
        && section
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.');
    if !valid {
        return None;
    }
    Some((number.parse().ok()?, section))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEM: &str = "rfc9112-5.1-space-before-colon";

    fn case_text(body: &str) -> String {
        format!(
            r#"id = "{STEM}"
title = "Whitespace between a field name and its colon is rejected"
group = "fields"
rfc = "RFC 9112 §5.1"
url = "https://www.rfc-editor.org/rfc/rfc9112#section-5.1"
quote = "A server MUST reject it."
level = "must"
explain = "Why."
{body}"#
        )
    }

    const SINGLE: &str = r#"request = 'GET / HTTP/1.1\r\nHost : localhost\r\n\r\n'

[expect]
pass = ["400"]
warn = ["close"]
checks = ["date", "content-length"]
"#;

    fn problem(body: &str) -> Problem {
        match parse_case(STEM, &case_text(body)) {
            Err(p) => p,
            Ok(case) => panic!("parsed: {case:?}"),
        }
    }

    #[test]
    fn single_request_then_one_step() {
        let case = parse_case(STEM, &case_text(SINGLE)).unwrap();
        assert_eq!(case.group, Group::Fields);
        assert_eq!(case.level, Level::Must);
        assert_eq!(case.steps.len(), 1);
        let step = &case.steps[0];
        assert_eq!(step.pause_ms, 0);
        assert_eq!(
            step.send.as_ref().and_then(Template::as_literal),
            Some(&b"GET / HTTP/1.1\r\nHost : localhost\r\n\r\n"[..])
        );
        let expect = step.expect.as_ref().unwrap();
        assert_eq!(expect.pass, [Token::Status(400)]);
        assert_eq!(expect.warn, [Token::Close]);
        assert_eq!(expect.checks, [Check::Date, Check::ContentLength]);
    }

    #[test]
    fn steps_then_each_step_kept_in_order() {
        let case = parse_case(
            STEM,
            &case_text(
                r#"timeout_ms = 3000
[[steps]]
send = 'GET / HTTP/1.1\r\n'
[[steps]]
pause_ms = 100
send = 'Host: localhost\r\n\r\n'
expect = { pass = ["200"] }
[[steps]]
expect = { pass = ["close", "timeout"], checks = ["closed"] }
"#,
            ),
        )
        .unwrap();
        assert_eq!(case.timeout_ms, Some(3000));
        assert_eq!(case.steps.len(), 3);
        assert!(case.steps[0].expect.is_none());
        assert_eq!(case.steps[1].pause_ms, 100);
        assert!(case.steps[2].send.is_none());
    }

    #[test]
    fn tokens_then_parsed() {
        assert_eq!(Token::parse("400"), Some(Token::Status(400)));
        assert_eq!(Token::parse("4xx"), Some(Token::Class(4)));
        assert_eq!(Token::parse("timeout"), Some(Token::Timeout));
        for bad in ["40", "4000", "600", "099", "6xx", "4XX", "4x0", "Close", ""] {
            assert_eq!(Token::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn token_display_then_round_trips() {
        for text in ["400", "4xx", "close", "reset", "timeout", "control"] {
            assert_eq!(Token::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn level_floor_then_stronger_levels_included() {
        assert!(Level::Must.at_least(Level::Should));
        assert!(Level::May.at_least(Level::May));
        assert!(!Level::Info.at_least(Level::May));
        assert!(!Level::Should.at_least(Level::Must));
    }

    #[test]
    fn well_formed_ids_then_accepted() {
        for id in [
            "rfc9112-5.1-space-before-colon",
            "rfc9110-9.1-lowercase-method-501",
            "rfc6585-5-too-many-fields",
            "rfc9112-3.2.2-absolute-form-1.0",
        ] {
            assert!(is_well_formed_id(id), "{id}");
        }
    }

    #[test]
    fn malformed_ids_then_rejected() {
        for id in [
            "RFC9112-5.1-x",
            "rfc-5.1-x",
            "rfc9112-5.1",
            "rfc9112-5.1-",
            "rfc9112-5.1-a--b",
            "rfc9112-5.1-Upper",
            "rfc9112-5.1-under_score",
            "rfc9112-.5-x",
            "rfc91x2-5.1-x",
        ] {
            assert!(!is_well_formed_id(id), "{id}");
        }
    }

    #[test]
    fn id_not_file_stem_then_mismatch() {
        let text = case_text(SINGLE).replace(STEM, "rfc9112-5.1-other");
        assert_eq!(
            parse_case(STEM, &text).unwrap_err(),
            Problem::IdMismatch {
                id: "rfc9112-5.1-other".into(),
                stem: STEM.into()
            }
        );
    }

    #[test]
    fn id_section_not_rfc_section_then_mismatch() {
        let text = case_text(SINGLE).replace("RFC 9112 §5.1", "RFC 9112 §5.2");
        assert!(matches!(
            parse_case(STEM, &text),
            Err(Problem::IdRfcMismatch { .. })
        ));
    }

    #[test]
    fn rfc_without_section_sign_then_malformed() {
        let text = case_text(SINGLE).replace("RFC 9112 §5.1", "RFC 9112 5.1");
        assert!(matches!(
            parse_case(STEM, &text),
            Err(Problem::MalformedRfc(_))
        ));
    }

    #[test]
    fn unknown_group_then_named() {
        let text = case_text(SINGLE).replace(r#"group = "fields""#, r#"group = "headers""#);
        assert_eq!(
            parse_case(STEM, &text).unwrap_err(),
            Problem::UnknownGroup("headers".into())
        );
    }

    #[test]
    fn unknown_level_then_named() {
        let text = case_text(SINGLE).replace(r#"level = "must""#, r#"level = "MUST""#);
        assert_eq!(
            parse_case(STEM, &text).unwrap_err(),
            Problem::UnknownLevel("MUST".into())
        );
    }

    #[test]
    fn missing_field_then_toml_problem_names_it() {
        let text = case_text(SINGLE).replace("explain = \"Why.\"\n", "");
        match parse_case(STEM, &text).unwrap_err() {
            Problem::Toml { message, .. } => assert!(message.contains("explain"), "{message}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_field_then_toml_problem_with_line() {
        let text = case_text(SINGLE).replace("checks =", "chekcs =");
        match parse_case(STEM, &text).unwrap_err() {
            Problem::Toml { line, message } => {
                assert!(message.contains("chekcs"), "{message}");
                assert_eq!(line, Some(14));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn request_and_steps_then_rejected() {
        let body = format!("{SINGLE}\n[[steps]]\nsend = 'x'\nexpect = {{ pass = [\"200\"] }}\n");
        assert_eq!(problem(&body), Problem::RequestAndSteps);
    }

    #[test]
    fn neither_request_nor_steps_then_rejected() {
        assert_eq!(problem("[expect]\npass = [\"400\"]\n"), Problem::NoRequest);
    }

    #[test]
    fn request_without_expect_then_rejected() {
        assert_eq!(
            problem("request = 'GET /'\n"),
            Problem::RequestWithoutExpect
        );
    }

    #[test]
    fn steps_with_top_level_expect_then_rejected() {
        let body = "[expect]\npass = [\"400\"]\n[[steps]]\nsend = 'x'\n";
        assert_eq!(problem(body), Problem::ExpectWithSteps);
    }

    #[test]
    fn step_with_nothing_then_rejected() {
        let body = "[[steps]]\npause_ms = 5\n[[steps]]\nexpect = { pass = [\"200\"] }\n";
        assert_eq!(problem(body), Problem::EmptyStep(0));
    }

    #[test]
    fn steps_without_any_expect_then_rejected() {
        assert_eq!(problem("[[steps]]\nsend = 'x'\n"), Problem::NothingToGrade);
    }

    #[test]
    fn bad_escape_then_field_and_column_named() {
        let body = SINGLE.replace(r"Host : localhost", r"Host:\q");
        match problem(&body) {
            Problem::Escape { field, error } => {
                assert_eq!(field, "request");
                assert_eq!(error.kind, escape::EscapeErrorKind::UnknownEscape);
                assert_eq!(error.column, 24);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn raw_tab_in_multiline_literal_then_rejected() {
        let body = SINGLE.replace(r"Host : localhost", "Host:\tlocalhost");
        assert!(matches!(problem(&body), Problem::Escape { .. }));
    }

    #[test]
    fn unknown_token_then_named() {
        let body = SINGLE.replace(r#"pass = ["400"]"#, r#"pass = ["400", "4XX"]"#);
        assert_eq!(
            problem(&body),
            Problem::UnknownToken {
                field: "expect".into(),
                token: "4XX".into()
            }
        );
    }

    #[test]
    fn token_in_pass_and_warn_then_duplicate() {
        let body = SINGLE.replace(r#"warn = ["close"]"#, r#"warn = ["400"]"#);
        assert!(matches!(problem(&body), Problem::DuplicateToken { .. }));
    }

    #[test]
    fn empty_pass_then_rejected() {
        let body = SINGLE.replace(r#"pass = ["400"]"#, "pass = []");
        assert_eq!(problem(&body), Problem::EmptyPass("expect".into()));
    }

    #[test]
    fn unknown_check_then_named() {
        let body = SINGLE.replace(r#""content-length""#, r#""content_length""#);
        assert_eq!(
            problem(&body),
            Problem::UnknownCheck {
                field: "expect".into(),
                check: "content_length".into()
            }
        );
    }

    #[test]
    fn zero_timeout_then_rejected() {
        assert_eq!(
            problem(&format!("timeout_ms = 0\n{SINGLE}")),
            Problem::ZeroTimeout
        );
    }

    #[test]
    fn empty_request_then_rejected() {
        let body = SINGLE.replace(r"'GET / HTTP/1.1\r\nHost : localhost\r\n\r\n'", "''");
        assert_eq!(problem(&body), Problem::EmptySend("request".into()));
    }

    #[test]
    fn needs_then_parsed_with_those_variables_imply() {
        let body = SINGLE.replace(
            r"'GET / HTTP/1.1\r\nHost : localhost\r\n\r\n'",
            r"'GET {path} HTTP/1.1\r\nHost: {host}\r\nIf-Match: {etag}\r\n\r\n'",
        );
        let text = case_text(&format!("needs = [\"fixture-root\"]\n{body}"));
        let case = parse_case(STEM, &text).unwrap();
        assert_eq!(case.needs, [Need::FixtureRoot, Need::Etag]);
        let send = case.steps[0].send.as_ref().unwrap();
        assert_eq!(send.vars(), [Var::Path, Var::Host, Var::Etag]);
    }

    #[test]
    fn no_needs_and_no_captured_variables_then_none() {
        let case = parse_case(STEM, &case_text(SINGLE)).unwrap();
        assert!(case.needs.is_empty());
    }

    #[test]
    fn unknown_need_then_named() {
        let text = case_text(&format!("needs = [\"docroot\"]\n{SINGLE}"));
        assert_eq!(
            parse_case(STEM, &text).unwrap_err(),
            Problem::UnknownNeed("docroot".into())
        );
    }

    #[test]
    fn unknown_variable_then_field_and_column_named() {
        let body = SINGLE.replace(r"Host : localhost", r"Host: {hots}");
        match problem(&body) {
            Problem::Escape { field, error } => {
                assert_eq!(field, "request");
                assert_eq!(error.kind, escape::EscapeErrorKind::UnknownVariable);
                assert_eq!(error.column, 25);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn builtin_catalogue_then_every_compiled_file_parses() {
        let cases = builtin_catalogue().unwrap();
        let (count, fingerprint) = builtin_fingerprint();
        assert_eq!(cases.len(), count);
        assert_eq!(fingerprint.len(), 12);
        assert!(cases[0].file.starts_with(CATALOGUE_DIR));
    }

    #[test]
    fn fingerprint_then_independent_of_order_and_sensitive_to_content() {
        let a = ("a.toml".to_string(), "x".to_string());
        let b = ("b.toml".to_string(), "y".to_string());
        let one = fingerprint(&[a.clone(), b.clone()]);
        assert_eq!(one, fingerprint(&[b.clone(), a.clone()]));
        assert_ne!(one, fingerprint(&[a, ("b.toml".into(), "z".into())]));
    }

    #[test]
    fn case_error_display_then_file_then_problem() {
        let err = CaseError {
            file: PathBuf::from("fixtures/cases/x.toml"),
            problem: Problem::NoSteps,
        };
        assert_eq!(err.to_string(), "fixtures/cases/x.toml: `steps` is empty");
    }

    #[test]
    fn catalogue_dir_with_bad_files_then_every_file_named() {
        let dir =
            std::env::temp_dir().join(format!("conformance-case-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{STEM}.toml")), case_text(SINGLE)).unwrap();
        std::fs::write(dir.join("rfc9112-5.1-broken.toml"), "id = 1").unwrap();
        std::fs::write(dir.join("Bad Name.toml"), case_text(SINGLE)).unwrap();
        std::fs::write(dir.join("notes.md"), "ignored").unwrap();
        let result = load_catalogue(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        match result {
            Err(CatalogueError::Invalid(errors)) => {
                let names: Vec<_> = errors
                    .iter()
                    .map(|e| e.file.file_name().unwrap().to_string_lossy().into_owned())
                    .collect();
                assert_eq!(names, ["Bad Name.toml", "rfc9112-5.1-broken.toml"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
