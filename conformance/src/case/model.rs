//! The case model: what a validated case file says, every type a run, a
//! report or `explain` reads (`fixtures/cases/README.md` defines each
//! field).

use crate::template::{Template, Var};
use crate::wire::{ReadPlan, StepPlan};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

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
    pub(crate) const ALL: [Level; 4] = [Level::Must, Level::Should, Level::May, Level::Info];

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
    pub(crate) fn parse(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == name)
    }

    /// How strong the level is: `info` 0 up to `must` 3.
    pub(crate) fn strength(self) -> u8 {
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
    pub(crate) fn parse(name: &str) -> Option<Group> {
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
    pub(crate) fn parse(text: &str) -> Option<Token> {
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
    /// `trace-echo` (should): a 2xx to TRACE has the request as its
    /// content, starting with the request-line sent (RFC 9110 §9.3.8).
    TraceEcho,
    /// `reason-phrase` (must; the check of `rule:reason-phrase`): the reason phrase matches
    /// RFC 9112 §4's grammar.
    ReasonPhrase,
    /// `field-value` (must; the check of `rule:field-value`): each field line's value
    /// matches RFC 9110 §5.5's grammar.
    FieldValue,
}

impl Check {
    /// Every check, in the README's order.
    pub(crate) const ALL: [Check; 33] = [
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
        Check::TraceEcho,
        Check::ReasonPhrase,
        Check::FieldValue,
    ];

    /// The name used in case files.
    pub(crate) fn as_str(self) -> &'static str {
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
            Check::TraceEcho => "trace-echo",
            Check::ReasonPhrase => "reason-phrase",
            Check::FieldValue => "field-value",
        }
    }

    /// Parses a check name as written in a case file.
    pub(crate) fn parse(name: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The check's own strength (README, "Checks").
    pub(crate) fn level(self) -> Level {
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
            | Check::NoCredentialsEcho
            | Check::TraceEcho => Level::Should,
            Check::Reason => Level::Info,
        }
    }

    /// Whether the check also applies when no response came (a close, a
    /// reset, a timeout): only `close-announced` looks back at the step
    /// before.
    pub(crate) fn applies_without_response(self) -> bool {
        self == Check::CloseAnnounced
    }

    /// The RFC sentence a check rests on, for the checks that apply to
    /// every response (a case quotes its own requirement; these have none).
    pub(crate) fn requirement(self) -> Option<&'static str> {
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
    /// `if-modified-since`: the control's GET with `If-Modified-Since` of
    /// its own `Last-Modified` was answered 304, so the target evaluates
    /// the field (a SHOULD): for cases about how it reads dates.
    IfModifiedSince,
    /// `if-unmodified-since`: the control's GET with an `If-Unmodified-Since`
    /// of 1994 was answered 412, so the target evaluates the field: for
    /// cases about how it reads dates.
    IfUnmodifiedSince,
    /// `missing-path`: the control's GET of `{missing}` was answered 404 or
    /// 410, so the target has missing resources to answer (implied by
    /// `{missing}`).
    MissingPath,
}

impl Need {
    /// Every need, in the README's order.
    pub(crate) const ALL: [Need; 8] = [
        Need::FixtureRoot,
        Need::Etag,
        Need::LastModified,
        Need::StrongEtag,
        Need::PlainTcp,
        Need::IfModifiedSince,
        Need::IfUnmodifiedSince,
        Need::MissingPath,
    ];

    /// The name used in case files.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Need::FixtureRoot => "fixture-root",
            Need::Etag => "etag",
            Need::LastModified => "last-modified",
            Need::StrongEtag => "strong-etag",
            Need::PlainTcp => "plain-tcp",
            Need::IfModifiedSince => "if-modified-since",
            Need::IfUnmodifiedSince => "if-unmodified-since",
            Need::MissingPath => "missing-path",
        }
    }

    /// Parses a need as written in a case file.
    pub(crate) fn parse(name: &str) -> Option<Need> {
        Need::ALL.into_iter().find(|n| n.as_str() == name)
    }

    /// The need a template variable implies: its value comes from the
    /// control response, which may lack it.
    pub(crate) fn of_var(var: Var) -> Option<Need> {
        match var {
            Var::Etag => Some(Need::Etag),
            Var::LastModified | Var::LastModifiedRfc850 | Var::LastModifiedAsctime => {
                Some(Need::LastModified)
            }
            Var::Missing => Some(Need::MissingPath),
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
    /// Lenient outcomes the RFC explicitly permits: graded pass, with the
    /// permission as the verdict's note.
    pub allowed: Vec<Allowed>,
    /// Extra assertions on the response.
    pub checks: Vec<Check>,
}

/// A lenient outcome and the RFC sentence that permits it
/// (`[[expect.allowed]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// The outcome permitted.
    pub outcome: Token,
    /// Where and what the permission is: `RFC 9112 §6.1: a server MAY …`.
    pub because: String,
}

impl Case {
    /// Whether `id` names this case: its id, or one of its aliases.
    pub fn answers_to(&self, id: &str) -> bool {
        self.id == id || self.aliases.iter().any(|alias| alias == id)
    }
}

impl Expect {
    /// Whether an interim (1xx) response is itself an outcome of this step,
    /// because a token names one; otherwise interim responses are skipped
    /// on the way to the final one.
    pub(crate) fn reads_interim(&self) -> bool {
        self.pass
            .iter()
            .chain(&self.warn)
            .chain(self.allowed.iter().map(|a| &a.outcome))
            .any(|token| match token {
                Token::Status(code) => (100..200).contains(code),
                Token::Class(class) => *class == 1,
                _ => false,
            })
    }

    /// Whether the step's checks need what follows the response: the
    /// `closed` check whether the server closed, `no-body` whether bytes
    /// followed a response that has no body.
    pub(crate) fn reads_after(&self) -> bool {
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
    pub(crate) fn plan(&self, send: Option<Vec<u8>>) -> StepPlan {
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
    /// Ids the case had before it was renamed or split off: baselines,
    /// `--id` and `explain` still accept them.
    pub aliases: Vec<String>,
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

/// Splits `RFC 9112 §5.1` into (9112, "5.1").
pub(super) fn parse_rfc_field(rfc: &str) -> Option<(u32, &str)> {
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
}
