//! Grading: what a recorded outcome means for a case, by the rules in
//! `fixtures/cases/README.md` ("Outcomes", "Checks").

use crate::case::{Check, Expect, Level, Token};
use crate::date::{imf_fixdate_seconds, is_imf_fixdate};
use crate::wire::{AfterEnd, BodyEnd, Framing, Outcome, Response};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The grade of a step or a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grade {
    /// An acceptable outcome, every check held.
    Pass,
    /// Allowed by the RFC, but a stricter answer exists; or a `should`/`may`
    /// requirement broken.
    Warn,
    /// A `must` requirement broken.
    Fail,
    /// Recorded for comparison, never scored.
    Info,
    /// The harness could not run the case; never counted against the server.
    Error,
    /// The case does not apply to this target (it needs the fixture
    /// docroot, or a validator the control lacked); never scored.
    Skip,
}

impl Grade {
    /// Every grade, in report order.
    pub const ALL: [Grade; 6] = [
        Grade::Pass,
        Grade::Warn,
        Grade::Fail,
        Grade::Info,
        Grade::Skip,
        Grade::Error,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Pass => "pass",
            Grade::Warn => "warn",
            Grade::Fail => "fail",
            Grade::Info => "info",
            Grade::Error => "error",
            Grade::Skip => "skip",
        }
    }

    /// Whether the grade says something about the server: pass, warn, fail
    /// or info. A run in which no case earned one is not conformant.
    pub fn is_graded(self) -> bool {
        !matches!(self, Grade::Error | Grade::Skip)
    }

    /// How bad a grade is when grades are combined.
    ///
    /// `fail` is worst: a broken `must` observed in one step stands even if
    /// a later step could not be run. Below it `error`: a case that could not
    /// be run to the end is unscored rather than graded on part of its
    /// evidence, and is never turned into a failure. Then `warn`, `info`,
    /// `pass`. A skipped case has no steps, so `skip` is never combined.
    fn severity(self) -> u8 {
        match self {
            Grade::Pass | Grade::Skip => 0,
            Grade::Info => 1,
            Grade::Warn => 2,
            Grade::Error => 3,
            Grade::Fail => 4,
        }
    }

    /// The worse of two grades.
    pub fn worse(self, other: Grade) -> Grade {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    /// The worst of several grades (`pass` for none): a case's grade from
    /// its steps'.
    pub fn worst(grades: impl IntoIterator<Item = Grade>) -> Grade {
        grades.into_iter().fold(Grade::Pass, Grade::worse)
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which list of the expectation an outcome matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Matched {
    /// One of `pass`.
    Pass,
    /// One of `warn`.
    Warn,
    /// Neither.
    None,
}

/// The result of one check that applied to a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// The check.
    pub check: Check,
    /// `None` if it held, else what was wrong.
    pub problem: Option<String>,
}

/// The grade of one reading step, with the evidence for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepVerdict {
    /// The step's grade.
    pub grade: Grade,
    /// Which acceptable list the outcome matched.
    pub matched: Matched,
    /// Every check that applied to the response, held or not (checks on a
    /// non-response, or that do not apply to its status code, are left out).
    pub checks: Vec<CheckResult>,
}

impl StepVerdict {
    /// The checks that did not hold.
    pub fn broken_checks(&self) -> impl Iterator<Item = (Check, &str)> {
        self.checks
            .iter()
            .filter_map(|c| c.problem.as_deref().map(|p| (c.check, p)))
    }
}

/// What grading a step may compare a response with: the control's answer
/// and the response to the step before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context<'a> {
    /// The status code the control GET got: what the `control` token matches.
    pub control_status: u16,
    /// The control GET's `ETag`.
    pub etag: Option<&'a str>,
    /// How many content bytes the control GET received.
    pub length: Option<u64>,
    /// The control GET's content (up to what the client keeps).
    pub body: Option<&'a [u8]>,
    /// The control GET's header field names, lowercase.
    pub fields: &'a [String],
    /// The response the previous reading step of the case got, if any.
    pub previous: Option<&'a Outcome>,
    /// The bytes the case sent last, up to this step: the request this
    /// response most likely answers (the `range` check reads its Range).
    pub request: Option<&'a [u8]>,
    /// Whether the control found that the target keeps connections open:
    /// for such a server an unannounced close breaks a SHOULD only.
    pub persistent: bool,
}

impl Default for Context<'_> {
    /// A control that got 200 and nothing else known.
    fn default() -> Self {
        Context {
            control_status: 200,
            etag: None,
            length: None,
            body: None,
            fields: &[],
            previous: None,
            request: None,
            persistent: false,
        }
    }
}

/// Grades one step's outcome for a case of strength `level`.
///
/// 1. A harness error grades `error`.
/// 2. An outcome in `pass` grades pass, in `warn` warn; otherwise `must`
///    fails, `should`/`may` warn, `info` is info.
/// 3. A broken check lowers the grade: a broken `must` check in a `must`
///    case fails it; a broken `should` check, or any broken non-info check in
///    a `should`/`may` case, warns. The `info` check (`reason`) is recorded,
///    never scored.
/// 4. An `info` case is always `info` (or `error`).
///
/// `context` holds what the checks compare with, and the status the
/// `control` token matches.
pub fn grade_step(
    level: Level,
    expect: &Expect,
    outcome: &Outcome,
    context: &Context<'_>,
) -> StepVerdict {
    let control = context.control_status;
    if let Outcome::Error(_) = outcome {
        return StepVerdict {
            grade: Grade::Error,
            matched: Matched::None,
            checks: Vec::new(),
        };
    }
    let matched = if expect
        .pass
        .iter()
        .any(|&t| token_matches(t, outcome, control))
    {
        Matched::Pass
    } else if expect
        .warn
        .iter()
        .any(|&t| token_matches(t, outcome, control))
    {
        Matched::Warn
    } else {
        Matched::None
    };
    // The grammar checks apply to every response, named or not.
    let always = Check::ALWAYS
        .into_iter()
        .filter(|c| matches!(outcome, Outcome::Response(_)) && !expect.checks.contains(c));
    let checks: Vec<CheckResult> = expect
        .checks
        .iter()
        .copied()
        .chain(always)
        .filter_map(|check| {
            let result = match outcome {
                Outcome::Response(response) => run_check(check, response, context),
                other if check.applies_without_response() => check_close_announced(other, context),
                _ => None,
            };
            result.map(|result| CheckResult {
                check,
                problem: result.err(),
            })
        })
        .collect();
    let mut grade = match (matched, level) {
        (Matched::Pass, _) => Grade::Pass,
        (Matched::Warn, _) => Grade::Warn,
        (Matched::None, Level::Must) => Grade::Fail,
        (Matched::None, Level::Should | Level::May) => Grade::Warn,
        (Matched::None, Level::Info) => Grade::Info,
    };
    for broken in checks.iter().filter(|c| c.problem.is_some()) {
        let strength = match broken.check {
            // RFC 9112 §9.3's MUST binds a server that does not support
            // persistent connections; one that does and closes without
            // saying so breaks §9.6's SHOULD.
            Check::CloseAnnounced if context.persistent => Level::Should,
            check => check.level(),
        };
        let lowered = match (strength, level) {
            (Level::Info, _) => Grade::Pass,
            (Level::Must, Level::Must) => Grade::Fail,
            _ => Grade::Warn,
        };
        grade = grade.worse(lowered);
    }
    if level == Level::Info {
        grade = Grade::Info;
    }
    StepVerdict {
        grade,
        matched,
        checks,
    }
}

/// Whether an outcome is the one a token names; `control` is the status
/// code the control GET got.
pub fn token_matches(token: Token, outcome: &Outcome, control: u16) -> bool {
    match (token, outcome) {
        (Token::Control, Outcome::Response(r)) => r.code == control,
        (Token::Status(code), Outcome::Response(r)) => r.code == code,
        (Token::Class(class), Outcome::Response(r)) => r.code / 100 == u16::from(class),
        (Token::Close, Outcome::Closed) => true,
        (Token::Reset, Outcome::Reset) => true,
        (Token::Timeout, Outcome::Timeout) => true,
        _ => false,
    }
}

/// Runs one check on a response: `None` if it does not apply, `Some(Ok)`
/// if it holds, `Some(Err(what is wrong))` if not.
pub fn run_check(
    check: Check,
    response: &Response,
    context: &Context<'_>,
) -> Option<Result<(), String>> {
    let r = response;
    match check {
        Check::Date => check_date(r),
        Check::ContentLength => check_content_length(r),
        Check::NoBody => Some(check_no_body(r)),
        Check::Allow => check_allow(r),
        Check::Closed => Some(check_closed(r)),
        Check::CloseHeader => Some(check_close_header(r)),
        Check::Version => Some(check_version(r)),
        Check::Reason => check_reason(r),
        Check::StatusSp => Some(check_status_sp(r)),
        Check::HasContentLength => check_has_content_length(r),
        Check::NoInterim => Some(check_no_interim(r)),
        Check::NoTransferEncoding => Some(absent(r, "Transfer-Encoding")),
        Check::OptionsAllow => check_options_allow(r),
        Check::Location => check_location(r),
        Check::LastModified => check_last_modified(r),
        Check::ContentType => check_content_type(r),
        Check::Validators => check_validators(r),
        Check::ErrorBody => check_error_body(r),
        Check::DateNow => check_date_now(r),
        Check::ControlEtag => check_control_etag(r, context),
        Check::ControlLength => check_control_length(r, context),
        Check::ControlFields => check_control_fields(r, context),
        Check::Range => crate::range::check_partial(r, context),
        Check::UnsatisfiedRange => crate::range::check_unsatisfied(r, context),
        Check::NoContentCoding => Some(absent(r, "Content-Encoding")),
        Check::CloseAnnounced => check_close_announced(&Outcome::Response(r.clone()), context),
        Check::CacheFields => check_cache_fields(r, context),
        Check::No304Metadata => check_no_304_metadata(r),
        Check::Upgrade => check_upgrade(r, context),
        Check::NoCredentialsEcho => check_no_credentials_echo(r, context),
        Check::ReasonPhrase => Some(check_reason_phrase(r)),
        Check::FieldValue => Some(check_field_values(r)),
    }
}

/// The octets a reason phrase may hold (RFC 9112 §4), and a field value
/// between its first and last octet (RFC 9110 §5.5; the ends are never SP
/// or HTAB, since the value is what remains once its optional whitespace
/// is taken off): HTAB, SP, VCHAR (%x21-7E) and obs-text (%x80-FF).
///
/// ```text
/// reason-phrase  = 1*( HTAB / SP / VCHAR / obs-text )
/// field-value    = *field-content
/// field-content  = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
/// field-vchar    = VCHAR / obs-text
/// obs-text       = %x80-FF
/// ```
const TEXT_OCTETS: [bool; 256] = text_octets();

const fn text_octets() -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = matches!(i, 0x09 | 0x20..=0x7e | 0x80..=0xff);
        i += 1;
    }
    table
}

/// The first octet of `bytes` outside `table`, with its position.
fn first_outside(bytes: &[u8], table: &[bool; 256]) -> Option<(usize, u8)> {
    bytes
        .iter()
        .position(|&b| !table[usize::from(b)])
        .map(|i| (i, bytes[i]))
}

/// RFC 9112 §4 and RFC 9110 §2.2: the reason phrase, read from the raw
/// status line, holds only HTAB, SP, VCHAR and obs-text.
fn check_reason_phrase(r: &Response) -> Result<(), String> {
    let reason = r.reason_bytes();
    match first_outside(reason, &TEXT_OCTETS) {
        None => Ok(()),
        Some((at, byte)) => Err(format!(
            "reason phrase has 0x{byte:02x} at octet {}, outside reason-phrase",
            at + 1
        )),
    }
}

/// RFC 9110 §5.5 and §2.2: every field line's value, read from the raw
/// head and trimmed of its optional whitespace, holds only field-vchar,
/// with SP and HTAB between them. A continuation line (obs-fold) is part
/// of the value before it.
fn check_field_values(r: &Response) -> Result<(), String> {
    let lines = r
        .head
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .skip(1)
        .filter(|line| !line.is_empty());
    let mut name: &[u8] = b"";
    for line in lines {
        let value = if matches!(line[0], b' ' | b'\t') {
            line
        } else {
            match line.iter().position(|&b| b == b':') {
                Some(colon) => {
                    name = &line[..colon];
                    &line[colon + 1..]
                }
                None => continue,
            }
        };
        let value = crate::wire::trim_ows(value);
        if let Some((at, byte)) = first_outside(value, &TEXT_OCTETS) {
            return Err(format!(
                "{} value has 0x{byte:02x} at octet {}, outside field-value",
                crate::escape::encode(name),
                at + 1
            ));
        }
    }
    Ok(())
}

/// How far `Date` may be from the client's clock for `date-now`: generous
/// for a loaded CI machine, tight enough to catch a stale cached Date.
const DATE_SLACK_SECONDS: u64 = 10;

/// Header fields whose presence legitimately differs between two answers
/// about the same resource: connection management and message framing.
const FRAMING_FIELDS: [&str; 4] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
];

/// The field is absent.
fn absent(r: &Response, name: &str) -> Result<(), String> {
    match r.header(name) {
        None => Ok(()),
        Some(value) => Err(format!("{name}: {value}")),
    }
}

/// RFC 9112 §4: A server MUST send the space that separates the
/// status-code from the reason-phrase even when the reason-phrase is absent.
fn check_status_sp(r: &Response) -> Result<(), String> {
    match r.head.get(12) {
        Some(b' ') => Ok(()),
        _ => Err("no space after the status code".into()),
    }
}

/// RFC 9110 §8.6: an origin server SHOULD send a Content-Length header
/// field when the content size is known prior to sending the complete header
/// section. Applies to responses that have content (not to HEAD, 1xx, 204,
/// 304).
fn check_has_content_length(r: &Response) -> Option<Result<(), String>> {
    if r.framing == Framing::None {
        return None;
    }
    Some(match r.header("content-length") {
        Some(_) => Ok(()),
        None => Err(match r.framing {
            Framing::Chunked => "no Content-Length: chunked".to_string(),
            _ => "no Content-Length: delimited by closing the connection".to_string(),
        }),
    })
}

/// RFC 9110 §15.2: a server MUST NOT send a 1xx response to an HTTP/1.0
/// client.
fn check_no_interim(r: &Response) -> Result<(), String> {
    match r.interim.first() {
        None if !(100..200).contains(&r.code) => Ok(()),
        None => Err(format!("a {} response", r.code)),
        Some(head) => Err(format!(
            "an interim response came first: {}",
            crate::escape::encode(head.split(|&b| b == b'\n').next().unwrap_or_default())
        )),
    }
}

/// RFC 9110 §9.3.7: A server generating a successful response to OPTIONS
/// SHOULD send any header that might indicate optional features implemented
/// by the server and applicable to the target resource (e.g., Allow).
fn check_options_allow(r: &Response) -> Option<Result<(), String>> {
    if r.method.as_deref() != Some("OPTIONS") || !(200..300).contains(&r.code) {
        return None;
    }
    Some(match r.header("allow") {
        Some(_) => Ok(()),
        None => Err(format!("{} to OPTIONS without an Allow header", r.code)),
    })
}

/// RFC 9110 §15.4.2 (and §15.4.3, §15.4.8, §15.4.9): the server SHOULD
/// generate a Location header field in the response.
fn check_location(r: &Response) -> Option<Result<(), String>> {
    if ![301, 302, 303, 307, 308].contains(&r.code) {
        return None;
    }
    Some(match r.header("location") {
        Some(value) if !value.is_empty() => Ok(()),
        _ => Err(format!("{} without a Location", r.code)),
    })
}

/// RFC 9110 §8.8.2.1: An origin server with a clock … MUST NOT generate a
/// Last-Modified date that is later than the server's time of message
/// origination (Date).
fn check_last_modified(r: &Response) -> Option<Result<(), String>> {
    let modified = r.header("last-modified")?;
    let date = imf_fixdate_seconds(r.header("date")?)?;
    Some(match imf_fixdate_seconds(modified) {
        Some(m) if m <= date => Ok(()),
        Some(_) => Err(format!("Last-Modified {modified} is later than Date")),
        None => Err(format!(
            "Last-Modified \"{modified}\" is not an IMF-fixdate"
        )),
    })
}

/// RFC 9110 §8.3: A sender that generates a message containing content
/// SHOULD generate a Content-Type header field in that message.
fn check_content_type(r: &Response) -> Option<Result<(), String>> {
    if r.body_len == 0 {
        return None;
    }
    Some(match r.header("content-type") {
        Some(_) => Ok(()),
        None => Err(format!(
            "{} bytes of content without a Content-Type",
            r.body_len
        )),
    })
}

/// RFC 9110 §8.8.2.1 and §8.8.3.1: an origin server SHOULD send
/// Last-Modified and an ETag where they can be reasonably and consistently
/// determined, as for a static file.
fn check_validators(r: &Response) -> Option<Result<(), String>> {
    if !(200..300).contains(&r.code) {
        return None;
    }
    let missing: Vec<&str> = ["ETag", "Last-Modified"]
        .into_iter()
        .filter(|name| r.header(name).is_none())
        .collect();
    Some(if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("no {}", missing.join(", no ")))
    })
}

/// RFC 9110 §15.5 and §15.6: Except when responding to a HEAD request, the
/// server SHOULD send a representation containing an explanation of the
/// error situation.
fn check_error_body(r: &Response) -> Option<Result<(), String>> {
    if r.code < 400 || r.method.as_deref() == Some("HEAD") {
        return None;
    }
    Some(if r.body_len > 0 {
        Ok(())
    } else {
        Err(format!("a {} with no content to explain it", r.code))
    })
}

/// RFC 9110 §6.6.1: A sender that generates a Date header field SHOULD
/// generate its field value as the best available approximation of the date
/// and time of message generation.
fn check_date_now(r: &Response) -> Option<Result<(), String>> {
    let date = imf_fixdate_seconds(r.header("date")?)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(if date.abs_diff(now) <= DATE_SLACK_SECONDS {
        Ok(())
    } else {
        Err(format!(
            "Date is {} s from this client's clock",
            date.abs_diff(now)
        ))
    })
}

/// The response's ETag is the control's (RFC 9110 §15.4.5 for a 304,
/// §15.3.7 for a 206, §9.3.2 for HEAD).
fn check_control_etag(r: &Response, context: &Context<'_>) -> Option<Result<(), String>> {
    let expected = context.etag?;
    Some(match r.header("etag") {
        Some(etag) if etag == expected => Ok(()),
        Some(etag) => Err(format!("ETag {etag}, the control got {expected}")),
        None => Err(format!("no ETag, the control got {expected}")),
    })
}

/// RFC 9110 §8.6: a server MUST NOT send Content-Length in a response to
/// HEAD, or in a 304, unless its field value equals the decimal number of
/// octets that would have been sent in the content of a 200 to GET.
fn check_control_length(r: &Response, context: &Context<'_>) -> Option<Result<(), String>> {
    let expected = context.length?;
    let value = r.header("content-length")?;
    Some(if value == expected.to_string() {
        Ok(())
    } else {
        Err(format!(
            "Content-Length: {value}, but the content is {expected} bytes"
        ))
    })
}

/// RFC 9110 §9.3.2: The server SHOULD send the same header fields in
/// response to a HEAD request as it would have sent if the request method
/// had been GET. Compared by name, framing and connection fields aside.
fn check_control_fields(r: &Response, context: &Context<'_>) -> Option<Result<(), String>> {
    if context.fields.is_empty() {
        return None;
    }
    let names = |fields: &mut dyn Iterator<Item = String>| -> Vec<String> {
        let mut names: Vec<String> = fields
            .filter(|n| !FRAMING_FIELDS.contains(&n.as_str()))
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let got = names(&mut r.headers.iter().map(|(n, _)| n.to_ascii_lowercase()));
    let expected = names(&mut context.fields.iter().cloned());
    let missing: Vec<&String> = expected.iter().filter(|n| !got.contains(n)).collect();
    let extra: Vec<&String> = got.iter().filter(|n| !expected.contains(n)).collect();
    Some(match (missing.is_empty(), extra.is_empty()) {
        (true, true) => Ok(()),
        _ => Err(format!(
            "fields differ from the control GET's: missing {missing:?}, extra {extra:?}"
        )),
    })
}

/// The values of the header fields named `name` in a request's head.
fn request_fields<'a>(request: &'a [u8], name: &'a str) -> impl Iterator<Item = String> + 'a {
    let end = request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(request.len());
    request[..end]
        .split(|&b| b == b'\n')
        .skip(1)
        .filter_map(move |line| {
            let line = String::from_utf8_lossy(line);
            let (field, value) = line.split_once(':')?;
            field
                .trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
}

/// RFC 9110 §7.8: A server that sends a 101 (Switching Protocols) response
/// MUST send an Upgrade header field to indicate the new protocol(s) …; a
/// server MUST NOT switch to a protocol that was not indicated by the
/// client; a server that sends a 426 (Upgrade Required) response MUST send
/// an Upgrade header field.
fn check_upgrade(r: &Response, context: &Context<'_>) -> Option<Result<(), String>> {
    if r.code != 101 && r.code != 426 {
        return None;
    }
    let Some(sent) = r.header("upgrade") else {
        return Some(Err(format!("a {} without an Upgrade header", r.code)));
    };
    if r.code == 426 {
        return Some(Ok(()));
    }
    let offered: Vec<String> = context
        .request
        .map(|request| {
            request_fields(request, "upgrade")
                .flat_map(|v| {
                    v.split(',')
                        .map(|p| p.trim().to_ascii_lowercase())
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .unwrap_or_default();
    let switched: Vec<String> = sent
        .split(',')
        .map(|p| p.trim().to_ascii_lowercase())
        .collect();
    Some(match switched.iter().find(|p| !offered.contains(p)) {
        None => Ok(()),
        Some(other) => Err(format!(
            "101 to \"{other}\", which the request did not offer"
        )),
    })
}

/// RFC 9110 §9.3.8: The final recipient of the request SHOULD exclude any
/// request fields that are likely to contain sensitive data when that
/// recipient generates the response content.
fn check_no_credentials_echo(r: &Response, context: &Context<'_>) -> Option<Result<(), String>> {
    let request = context.request?;
    let secrets: Vec<String> = ["authorization", "cookie"]
        .into_iter()
        .flat_map(|name| request_fields(request, name))
        .filter(|v| !v.is_empty())
        .collect();
    if secrets.is_empty() {
        return None;
    }
    let echoed = secrets
        .iter()
        .find(|secret| r.body.windows(secret.len()).any(|w| w == secret.as_bytes()));
    Some(match echoed {
        None => Ok(()),
        Some(secret) => Err(format!("the content repeats \"{secret}\"")),
    })
}

/// The fields a 304 (RFC 9110 §15.4.5) and a 206 (§15.3.7) MUST carry when
/// the 200 would have.
const CACHE_FIELDS: [&str; 6] = [
    "content-location",
    "date",
    "etag",
    "vary",
    "cache-control",
    "expires",
];

/// RFC 9110 §15.4.5: The server generating a 304 response MUST generate any
/// of the following header fields that would have been sent in a 200 (OK)
/// response to the same request: Content-Location, Date, ETag, and Vary;
/// Cache-Control and Expires (and §15.3.7 the same for a 206).
fn check_cache_fields(r: &Response, context: &Context<'_>) -> Option<Result<(), String>> {
    if ![304, 206].contains(&r.code) || context.fields.is_empty() {
        return None;
    }
    let missing: Vec<&str> = CACHE_FIELDS
        .into_iter()
        .filter(|name| context.fields.iter().any(|f| f == name) && r.header(name).is_none())
        .collect();
    Some(if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the control's 200 had {}, this {} does not",
            missing.join(", "),
            r.code
        ))
    })
}

/// RFC 9110 §15.4.5: a sender SHOULD NOT generate representation metadata
/// other than the above listed fields unless said metadata exists for the
/// purpose of guiding cache updates.
fn check_no_304_metadata(r: &Response) -> Option<Result<(), String>> {
    if r.code != 304 {
        return None;
    }
    let present: Vec<&str> = ["Content-Type", "Content-Encoding", "Content-Language"]
        .into_iter()
        .filter(|name| r.header(name).is_some())
        .collect();
    Some(if present.is_empty() {
        Ok(())
    } else {
        Err(format!("a 304 with {}", present.join(", ")))
    })
}

/// RFC 9112 §9.3: A server that does not support persistent connections
/// MUST send the "close" connection option in every response message that
/// does not have a 1xx (Informational) status code. So a connection closed
/// before this step's answer must have been announced by the last response.
fn check_close_announced(outcome: &Outcome, context: &Context<'_>) -> Option<Result<(), String>> {
    if !matches!(outcome, Outcome::Closed | Outcome::Reset) {
        return None;
    }
    let Some(Outcome::Response(previous)) = context.previous else {
        return None;
    };
    // RFC 9112 §9.3: an HTTP/1.0 response without the "keep-alive" option
    // already says the connection will close.
    let keep_alive = previous
        .header_values("connection")
        .flat_map(|v| v.split(','))
        .any(|option| option.trim().eq_ignore_ascii_case("keep-alive"));
    let http10_closing = previous.version == "HTTP/1.0" && !keep_alive;
    Some(if previous.has_connection_close() || http10_closing {
        Ok(())
    } else {
        Err(format!(
            "the connection closed after a {} that did not carry Connection: close",
            previous.code
        ))
    })
}

/// RFC 9110 §6.6.1: an origin server with a clock MUST generate a Date
/// header field in all 2xx, 3xx and 4xx responses (it MAY in 1xx and 5xx,
/// so those are not checked); RFC 9110 §5.6.7: a sender MUST generate it in
/// IMF-fixdate. Date is a singleton field, so exactly one.
fn check_date(r: &Response) -> Option<Result<(), String>> {
    if !(200..500).contains(&r.code) {
        return None;
    }
    let dates: Vec<&str> = r.header_values("date").collect();
    Some(match dates.as_slice() {
        [] => Err("no Date header".into()),
        [date] if is_imf_fixdate(date) => Ok(()),
        [date] => Err(format!("Date \"{date}\" is not an IMF-fixdate")),
        many => Err(format!("{} Date headers", many.len())),
    })
}

/// When Content-Length is present, exactly that many body bytes arrived.
///
/// - With Transfer-Encoding the body is not delimited by Content-Length at
///   all (RFC 9112 §6.2: a sender MUST NOT send both), so it cannot hold.
/// - A 1xx or 204 response MUST NOT carry Content-Length or
///   Transfer-Encoding at all, not even `0`.
/// - For a response to HEAD and a 304 the value describes the selected
///   representation (RFC 9110 §8.6), not this message: not compared.
fn check_content_length(r: &Response) -> Option<Result<(), String>> {
    // RFC 9110 §8.6 and RFC 9112 §6.1: a server MUST NOT send
    // Content-Length or Transfer-Encoding in any response with a status code
    // of 1xx (Informational) or 204 (No Content).
    // RFC 9110 §9.3.6: A server MUST NOT send any Transfer-Encoding or
    // Content-Length header fields in a 2xx (Successful) response to CONNECT.
    let connect_2xx = r.method.as_deref() == Some("CONNECT") && (200..300).contains(&r.code);
    if (100..200).contains(&r.code) || r.code == 204 || connect_2xx {
        let framing: Vec<String> = ["Content-Length", "Transfer-Encoding"]
            .into_iter()
            .filter_map(|name| r.header(name).map(|v| format!("{name}: {v}")))
            .collect();
        return Some(if framing.is_empty() {
            Ok(())
        } else {
            Err(format!("{} in a {} response", framing.join(", "), r.code))
        });
    }
    r.header("content-length")?;
    if r.header("transfer-encoding").is_some() {
        return Some(Err("Content-Length sent with Transfer-Encoding".into()));
    }
    let Framing::Length(declared) = r.framing else {
        return Some(Ok(()));
    };
    let extra = r.after.map_or(0, |a| a.bytes);
    let result = match r.body_end {
        BodyEnd::Complete if extra == 0 => Ok(()),
        BodyEnd::Complete => Err(format!(
            "Content-Length: {declared}, but {extra} more bytes followed the body"
        )),
        end => Err(format!(
            "Content-Length: {declared}, but {} bytes arrived before {}",
            r.body_len,
            describe_body_end(end)
        )),
    };
    Some(result)
}

fn describe_body_end(end: BodyEnd) -> &'static str {
    match end {
        BodyEnd::Complete => "the end",
        BodyEnd::Closed => "the server closed",
        BodyEnd::Reset => "the connection was reset",
        BodyEnd::Deadline => "the deadline",
        BodyEnd::Truncated => "the read limit",
    }
}

/// No bytes at all follow the head: neither a body by the response's own
/// framing nor anything before the server closed.
fn check_no_body(r: &Response) -> Result<(), String> {
    let extra = r.body_len + r.after.map_or(0, |a| a.bytes);
    if extra == 0 {
        Ok(())
    } else {
        Err(format!("{extra} bytes followed the head"))
    }
}

/// RFC 9110 §15.5.6: The origin server MUST generate an Allow header field
/// in a 405 response containing a list of the target resource's currently
/// supported methods. So the list is one of method tokens (§10.2.1:
/// `#method`, empty allowed), and the refused method is not on it.
fn check_allow(r: &Response) -> Option<Result<(), String>> {
    if r.code != 405 {
        return None;
    }
    let values: Vec<&str> = r.header_values("allow").collect();
    if values.is_empty() {
        return Some(Err("405 without an Allow header".into()));
    }
    let methods: Vec<&str> = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect();
    if let Some(bad) = methods.iter().find(|m| !m.bytes().all(is_tchar)) {
        return Some(Err(format!("Allow lists \"{bad}\", which is not a method")));
    }
    Some(match &r.method {
        Some(refused) if methods.contains(&refused.as_str()) => {
            Err(format!("Allow lists {refused}, the method the 405 refused"))
        }
        _ => Ok(()),
    })
}

/// RFC 9110 §5.6.2: tchar, the characters of a token.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The server closed the connection after the response, sending nothing
/// more. A reset also means the server closed it (RFC 9112 §9.6 explains why
/// a close can turn into a reset when the client has sent more).
fn check_closed(r: &Response) -> Result<(), String> {
    match r.after {
        None => Err("not measured".into()),
        Some(a) if a.bytes > 0 => Err(format!("{} more bytes arrived instead of a close", a.bytes)),
        Some(a) => match a.end {
            AfterEnd::Closed | AfterEnd::Reset => Ok(()),
            AfterEnd::Open | AfterEnd::Limit => {
                Err("the connection was still open at the deadline".into())
            }
        },
    }
}

/// RFC 9112 §9.6: A sender SHOULD send a Connection header field containing
/// the "close" connection option when it intends to close a connection.
fn check_close_header(r: &Response) -> Result<(), String> {
    if r.has_connection_close() {
        Ok(())
    } else {
        Err("no Connection: close".into())
    }
}

/// RFC 9110 §6.2: A server SHOULD send a response version equal to the
/// highest version to which the server is conformant.
fn check_version(r: &Response) -> Result<(), String> {
    if r.version == "HTTP/1.1" {
        Ok(())
    } else {
        Err(format!("status line starts {}", r.version))
    }
}

fn check_reason(r: &Response) -> Option<Result<(), String>> {
    let registered = registered_reason(r.code)?;
    Some(if r.reason == registered {
        Ok(())
    } else {
        Err(format!(
            "reason \"{}\", registered \"{registered}\"",
            r.reason
        ))
    })
}

/// The reason phrase RFC 9110 §15 registers for a status code (and RFC 6585
/// for 428, 429, 431, 511).
pub fn registered_reason(code: u16) -> Option<&'static str> {
    Some(match code {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        511 => "Network Authentication Required",
        _ => return None,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::wire::After;

    const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    pub(crate) fn response(code: u16, headers: &[(&str, &str)]) -> Response {
        Response {
            method: Some("GET".into()),
            version: "HTTP/1.1".into(),
            code,
            reason: registered_reason(code).unwrap_or("").into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            head: Vec::new(),
            interim: Vec::new(),
            framing: Framing::None,
            body: Vec::new(),
            body_len: 0,
            body_end: BodyEnd::Complete,
            after: None,
        }
    }

    fn with_body(mut r: Response, declared: u64, got: u64, end: BodyEnd) -> Response {
        r.framing = Framing::Length(declared);
        r.body_len = got;
        r.body_end = end;
        r
    }

    fn after(bytes: u64, end: AfterEnd) -> Option<After> {
        Some(After { bytes, end })
    }

    fn expect(pass: &[Token], warn: &[Token], checks: &[Check]) -> Expect {
        Expect {
            pass: pass.to_vec(),
            warn: warn.to_vec(),
            checks: checks.to_vec(),
        }
    }

    fn check(c: Check, r: &Response) -> Option<Result<(), String>> {
        run_check(c, r, &Context::default())
    }

    fn grade(level: Level, e: &Expect, outcome: Outcome) -> Grade {
        grade_step(level, e, &outcome, &Context::default()).grade
    }

    #[test]
    fn control_token_then_matches_the_control_status_only() {
        let e = expect(&[Token::Control], &[], &[]);
        let outcome = ok(response(203, &[]));
        let control = |status| Context {
            control_status: status,
            ..Context::default()
        };
        assert_eq!(
            grade_step(Level::Must, &e, &outcome, &control(203)).grade,
            Grade::Pass
        );
        assert_eq!(
            grade_step(Level::Must, &e, &outcome, &control(200)).grade,
            Grade::Fail
        );
        assert_eq!(
            grade_step(Level::Must, &e, &Outcome::Closed, &control(200)).grade,
            Grade::Fail
        );
    }

    fn ok(r: Response) -> Outcome {
        Outcome::Response(r)
    }

    #[test]
    fn exact_code_in_pass_then_pass() {
        let e = expect(&[Token::Status(400)], &[], &[]);
        assert_eq!(grade(Level::Must, &e, ok(response(400, &[]))), Grade::Pass);
    }

    #[test]
    fn class_token_then_any_code_of_class() {
        let e = expect(&[Token::Class(4)], &[], &[]);
        assert_eq!(grade(Level::Must, &e, ok(response(431, &[]))), Grade::Pass);
        assert_eq!(grade(Level::Must, &e, ok(response(500, &[]))), Grade::Fail);
    }

    #[test]
    fn outcome_in_warn_then_warn_even_for_must() {
        let e = expect(&[Token::Status(400)], &[Token::Close], &[]);
        assert_eq!(grade(Level::Must, &e, Outcome::Closed), Grade::Warn);
    }

    #[test]
    fn unlisted_outcome_then_level_decides() {
        let e = expect(&[Token::Status(400)], &[], &[]);
        let wrong = || ok(response(200, &[]));
        assert_eq!(grade(Level::Must, &e, wrong()), Grade::Fail);
        assert_eq!(grade(Level::Should, &e, wrong()), Grade::Warn);
        assert_eq!(grade(Level::May, &e, wrong()), Grade::Warn);
        assert_eq!(grade(Level::Info, &e, wrong()), Grade::Info);
    }

    #[test]
    fn info_case_then_info_even_when_matching() {
        let e = expect(&[Token::Status(200)], &[], &[]);
        assert_eq!(grade(Level::Info, &e, ok(response(200, &[]))), Grade::Info);
    }

    #[test]
    fn non_response_tokens_then_match_their_outcomes() {
        let e = expect(&[Token::Close, Token::Reset, Token::Timeout], &[], &[]);
        for outcome in [Outcome::Closed, Outcome::Reset, Outcome::Timeout] {
            assert_eq!(grade(Level::Must, &e, outcome), Grade::Pass);
        }
    }

    #[test]
    fn invalid_response_then_matches_nothing() {
        let e = expect(&[Token::Class(4), Token::Close], &[], &[]);
        let invalid = Outcome::Invalid {
            reason: "garbage".into(),
        };
        assert_eq!(grade(Level::Must, &e, invalid), Grade::Fail);
    }

    #[test]
    fn harness_error_then_error_not_fail() {
        let e = expect(&[Token::Status(400)], &[], &[Check::Date]);
        assert_eq!(
            grade(Level::Must, &e, Outcome::Error("x".into())),
            Grade::Error
        );
    }

    #[test]
    fn missing_date_in_4xx_then_must_check_fails_must_case() {
        let e = expect(&[Token::Status(400)], &[], &[Check::Date]);
        let v = grade_step(
            Level::Must,
            &e,
            &ok(response(400, &[])),
            &Context::default(),
        );
        assert_eq!(v.grade, Grade::Fail);
        assert_eq!(
            v.broken_checks().collect::<Vec<_>>(),
            [(Check::Date, "no Date header")]
        );
    }

    #[test]
    fn broken_must_check_in_should_case_then_warn() {
        let e = expect(&[Token::Status(400)], &[], &[Check::Date]);
        assert_eq!(
            grade(Level::Should, &e, ok(response(400, &[]))),
            Grade::Warn
        );
    }

    #[test]
    fn broken_should_check_in_must_case_then_warn() {
        let e = expect(&[Token::Status(400)], &[], &[Check::CloseHeader]);
        assert_eq!(grade(Level::Must, &e, ok(response(400, &[]))), Grade::Warn);
    }

    #[test]
    fn broken_info_check_then_grade_unchanged() {
        let e = expect(&[Token::Status(400)], &[], &[Check::Reason]);
        let mut r = response(400, &[]);
        r.reason = "Bad".into();
        let v = grade_step(Level::Must, &e, &ok(r), &Context::default());
        assert_eq!(v.grade, Grade::Pass);
        assert_eq!(v.broken_checks().count(), 1);
    }

    #[test]
    fn broken_must_check_on_warn_outcome_then_fail() {
        let e = expect(&[Token::Status(400)], &[Token::Status(501)], &[Check::Date]);
        assert_eq!(grade(Level::Must, &e, ok(response(501, &[]))), Grade::Warn);
        assert_eq!(grade(Level::Must, &e, ok(response(404, &[]))), Grade::Fail);
        let e = expect(&[Token::Status(400)], &[Token::Status(404)], &[Check::Date]);
        assert_eq!(grade(Level::Must, &e, ok(response(404, &[]))), Grade::Fail);
    }

    #[test]
    fn checks_on_non_response_then_not_applied() {
        let e = expect(&[Token::Close], &[], &[Check::Date, Check::Closed]);
        let v = grade_step(Level::Must, &e, &Outcome::Closed, &Context::default());
        assert_eq!((v.grade, v.checks.len()), (Grade::Pass, 0));
    }

    #[test]
    fn date_rules_then_by_status_class() {
        let run = |code, headers: &[(&str, &str)]| check(Check::Date, &response(code, headers));
        assert_eq!(run(200, &[("Date", DATE)]), Some(Ok(())));
        assert!(matches!(run(200, &[]), Some(Err(_))));
        assert!(matches!(run(304, &[]), Some(Err(_))));
        assert!(matches!(run(404, &[]), Some(Err(_))));
        assert_eq!(run(500, &[]), None);
        assert_eq!(run(100, &[]), None);
        assert_eq!(run(503, &[("Date", "yesterday")]), None);
        assert!(matches!(
            run(200, &[("date", "Sunday, 06-Nov-94 08:49:37 GMT")]),
            Some(Err(_))
        ));
        assert!(matches!(
            run(200, &[("Date", DATE), ("Date", DATE)]),
            Some(Err(_))
        ));
    }

    #[test]
    fn content_length_absent_then_not_applied() {
        assert_eq!(check(Check::ContentLength, &response(200, &[])), None);
    }

    #[test]
    fn content_length_matching_body_then_holds() {
        let r = with_body(
            response(200, &[("Content-Length", "14")]),
            14,
            14,
            BodyEnd::Complete,
        );
        assert_eq!(check(Check::ContentLength, &r), Some(Ok(())));
    }

    #[test]
    fn content_length_short_body_then_broken() {
        let r = with_body(
            response(200, &[("Content-Length", "14")]),
            14,
            3,
            BodyEnd::Closed,
        );
        assert_eq!(
            check(Check::ContentLength, &r),
            Some(Err(
                "Content-Length: 14, but 3 bytes arrived before the server closed".into()
            ))
        );
    }

    #[test]
    fn content_length_then_extra_bytes_then_broken() {
        let mut r = with_body(
            response(200, &[("Content-Length", "0")]),
            0,
            0,
            BodyEnd::Complete,
        );
        r.after = after(5, AfterEnd::Closed);
        assert!(matches!(check(Check::ContentLength, &r), Some(Err(_))));
    }

    #[test]
    fn content_length_on_head_response_then_not_compared() {
        let r = response(200, &[("Content-Length", "14")]);
        assert_eq!(check(Check::ContentLength, &r), Some(Ok(())));
    }

    #[test]
    fn content_length_with_transfer_encoding_or_any_on_204_then_broken() {
        let te = response(
            200,
            &[("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
        );
        assert!(matches!(check(Check::ContentLength, &te), Some(Err(_))));
        for headers in [
            &[("Content-Length", "0")][..],
            &[("Content-Length", "5")],
            &[("Transfer-Encoding", "chunked")],
        ] {
            assert!(matches!(
                check(Check::ContentLength, &response(204, headers)),
                Some(Err(_))
            ));
            assert!(matches!(
                check(Check::ContentLength, &response(100, headers)),
                Some(Err(_))
            ));
        }
        assert_eq!(
            check(Check::ContentLength, &response(204, &[])),
            Some(Ok(()))
        );
    }

    #[test]
    fn no_body_rules_then_body_or_trailing_bytes_break_it() {
        let mut head = response(200, &[("Content-Length", "14")]);
        head.after = after(0, AfterEnd::Closed);
        assert_eq!(check(Check::NoBody, &head), Some(Ok(())));
        head.after = after(14, AfterEnd::Closed);
        assert!(matches!(check(Check::NoBody, &head), Some(Err(_))));
        let get = with_body(response(200, &[]), 14, 14, BodyEnd::Complete);
        assert!(matches!(check(Check::NoBody, &get), Some(Err(_))));
    }

    #[test]
    fn allow_rules_then_only_for_405() {
        assert_eq!(check(Check::Allow, &response(400, &[])), None);
        assert!(matches!(
            check(Check::Allow, &response(405, &[])),
            Some(Err(_))
        ));
        let mut r = response(405, &[("Allow", "GET, HEAD")]);
        r.method = Some("POST".into());
        assert_eq!(check(Check::Allow, &r), Some(Ok(())));
        r.headers[0].1 = "GET, HEAD, POST".into();
        assert!(matches!(check(Check::Allow, &r), Some(Err(_))));
        r.headers[0].1 = "GET HEAD".into();
        assert!(matches!(check(Check::Allow, &r), Some(Err(_))));
        r.headers[0].1 = String::new();
        assert_eq!(check(Check::Allow, &r), Some(Ok(())));
    }

    #[test]
    fn status_sp_then_space_after_the_code_required() {
        let mut r = response(200, &[]);
        r.head = b"HTTP/1.1 200 \r\n\r\n".to_vec();
        assert_eq!(check(Check::StatusSp, &r), Some(Ok(())));
        r.head = b"HTTP/1.1 200\r\n\r\n".to_vec();
        assert!(matches!(check(Check::StatusSp, &r), Some(Err(_))));
    }

    #[test]
    fn reason_phrase_with_controls_then_broken_obs_text_and_tab_allowed() {
        let mut r = response(200, &[]);
        r.head = b"HTTP/1.1 200 OK\tfine \x80\xff\r\n\r\n".to_vec();
        assert_eq!(check(Check::ReasonPhrase, &r), Some(Ok(())));
        r.head = b"HTTP/1.1 200 \r\n\r\n".to_vec();
        assert_eq!(check(Check::ReasonPhrase, &r), Some(Ok(())));
        r.head = b"HTTP/1.1 200 O\x1b[31mK\r\n\r\n".to_vec();
        assert_eq!(
            check(Check::ReasonPhrase, &r),
            Some(Err(
                "reason phrase has 0x1b at octet 2, outside reason-phrase".into()
            ))
        );
        for bad in [&b"\x07"[..], b"\x00", b"\x7f", b"a\rb"] {
            let mut head = b"HTTP/1.1 200 ".to_vec();
            head.extend_from_slice(bad);
            head.extend_from_slice(b"\r\n\r\n");
            r.head = head;
            assert!(
                matches!(check(Check::ReasonPhrase, &r), Some(Err(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn field_value_with_controls_then_broken_ows_and_obs_text_allowed() {
        let mut r = response(200, &[]);
        r.head = b"HTTP/1.1 200 OK\r\nX-A:  a b\tc \xe9 \t\r\nX-Empty:\r\n\r\n".to_vec();
        assert_eq!(check(Check::FieldValue, &r), Some(Ok(())));
        r.head = b"HTTP/1.1 200 OK\r\nX-A: ok\r\nX-B: a\x1b]0;t\x07\r\n\r\n".to_vec();
        assert_eq!(
            check(Check::FieldValue, &r),
            Some(Err(
                "X-B value has 0x1b at octet 2, outside field-value".into()
            ))
        );
        r.head = b"HTTP/1.1 200 OK\r\nX-A: ok\r\n  more\x00\r\n\r\n".to_vec();
        assert!(matches!(check(Check::FieldValue, &r), Some(Err(_))));
    }

    #[test]
    fn grammar_checks_then_applied_to_every_response_unnamed() {
        let e = expect(&[Token::Status(200)], &[], &[]);
        let mut r = response(200, &[]);
        r.head = b"HTTP/1.1 200 O\x07K\r\n\r\n".to_vec();
        let verdict = grade_step(Level::Must, &e, &ok(r), &Context::default());
        assert_eq!(verdict.grade, Grade::Fail);
        let broken: Vec<Check> = verdict.broken_checks().map(|(c, _)| c).collect();
        assert_eq!(broken, [Check::ReasonPhrase]);
        assert_eq!(
            verdict.checks.iter().map(|c| c.check).collect::<Vec<_>>(),
            Check::ALWAYS
        );
        assert!(
            grade_step(Level::Must, &e, &Outcome::Closed, &Context::default())
                .checks
                .is_empty()
        );
    }

    #[test]
    fn has_content_length_then_only_for_responses_with_content() {
        let mut r = response(200, &[]);
        assert_eq!(check(Check::HasContentLength, &r), None);
        r.framing = Framing::Chunked;
        assert!(matches!(check(Check::HasContentLength, &r), Some(Err(_))));
        r.headers.push(("Content-Length".into(), "3".into()));
        assert_eq!(check(Check::HasContentLength, &r), Some(Ok(())));
    }

    #[test]
    fn interim_before_final_then_no_interim_broken() {
        let mut r = response(200, &[]);
        assert_eq!(check(Check::NoInterim, &r), Some(Ok(())));
        r.interim.push(b"HTTP/1.1 100 Continue\r\n\r\n".to_vec());
        assert!(matches!(check(Check::NoInterim, &r), Some(Err(_))));
    }

    #[test]
    fn options_allow_and_location_then_only_where_they_apply() {
        let mut r = response(200, &[]);
        assert_eq!(check(Check::OptionsAllow, &r), None);
        r.method = Some("OPTIONS".into());
        assert!(matches!(check(Check::OptionsAllow, &r), Some(Err(_))));
        r.headers.push(("Allow".into(), "GET".into()));
        assert_eq!(check(Check::OptionsAllow, &r), Some(Ok(())));
        assert_eq!(check(Check::Location, &response(200, &[])), None);
        assert!(matches!(
            check(Check::Location, &response(301, &[])),
            Some(Err(_))
        ));
        let moved = response(308, &[("Location", "/docs/")]);
        assert_eq!(check(Check::Location, &moved), Some(Ok(())));
    }

    #[test]
    fn last_modified_after_date_then_broken() {
        let ok = response(
            200,
            &[
                ("Date", DATE),
                ("Last-Modified", "Sat, 05 Nov 1994 08:49:37 GMT"),
            ],
        );
        assert_eq!(check(Check::LastModified, &ok), Some(Ok(())));
        let later = response(
            200,
            &[
                ("Date", DATE),
                ("Last-Modified", "Mon, 07 Nov 1994 08:49:37 GMT"),
            ],
        );
        assert!(matches!(check(Check::LastModified, &later), Some(Err(_))));
        assert_eq!(check(Check::LastModified, &response(200, &[])), None);
    }

    #[test]
    fn content_type_validators_error_body_then_should_checks() {
        let mut r = response(200, &[]);
        assert_eq!(check(Check::ContentType, &r), None);
        r.body_len = 3;
        assert!(matches!(check(Check::ContentType, &r), Some(Err(_))));
        assert!(matches!(check(Check::Validators, &r), Some(Err(_))));
        let v = response(200, &[("ETag", "\"x\""), ("Last-Modified", DATE)]);
        assert_eq!(check(Check::Validators, &v), Some(Ok(())));
        assert!(matches!(
            check(Check::ErrorBody, &response(404, &[])),
            Some(Err(_))
        ));
        let mut head = response(404, &[]);
        head.method = Some("HEAD".into());
        assert_eq!(check(Check::ErrorBody, &head), None);
    }

    #[test]
    fn date_now_then_far_dates_broken() {
        let now = crate::date::format_imf_fixdate(std::time::SystemTime::now());
        assert_eq!(
            check(Check::DateNow, &response(200, &[("Date", &now)])),
            Some(Ok(()))
        );
        assert!(matches!(
            check(Check::DateNow, &response(200, &[("Date", DATE)])),
            Some(Err(_))
        ));
    }

    #[test]
    fn control_comparisons_then_against_the_control() {
        let fields = [
            "date".to_string(),
            "etag".to_string(),
            "content-length".to_string(),
        ];
        let context = Context {
            etag: Some("\"v1\""),
            length: Some(14),
            fields: &fields,
            ..Context::default()
        };
        let same = response(
            304,
            &[("Date", DATE), ("ETag", "\"v1\""), ("Content-Length", "14")],
        );
        for c in [
            Check::ControlEtag,
            Check::ControlLength,
            Check::ControlFields,
        ] {
            assert_eq!(run_check(c, &same, &context), Some(Ok(())), "{c}");
        }
        let other = response(
            304,
            &[("ETag", "W/\"v1\""), ("Content-Length", "0"), ("X", "1")],
        );
        for c in [
            Check::ControlEtag,
            Check::ControlLength,
            Check::ControlFields,
        ] {
            assert!(
                matches!(run_check(c, &other, &context), Some(Err(_))),
                "{c}"
            );
        }
        // Nothing known of the control: nothing to compare.
        assert_eq!(check(Check::ControlEtag, &other), None);
    }

    #[test]
    fn upgrade_then_101_names_an_offered_protocol_and_426_carries_one() {
        let request = b"GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c, x-other\r\n\r\n";
        let context = Context {
            request: Some(request),
            ..Context::default()
        };
        let switched = response(101, &[("Upgrade", "h2c")]);
        assert_eq!(run_check(Check::Upgrade, &switched, &context), Some(Ok(())));
        let elsewhere = response(101, &[("Upgrade", "websocket")]);
        assert!(matches!(
            run_check(Check::Upgrade, &elsewhere, &context),
            Some(Err(_))
        ));
        assert!(matches!(
            check(Check::Upgrade, &response(101, &[])),
            Some(Err(_))
        ));
        assert!(matches!(
            check(Check::Upgrade, &response(426, &[])),
            Some(Err(_))
        ));
        assert_eq!(check(Check::Upgrade, &response(200, &[])), None);
    }

    #[test]
    fn credentials_in_the_content_then_no_credentials_echo_broken() {
        let request = b"TRACE / HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n\r\n";
        let context = Context {
            request: Some(request),
            ..Context::default()
        };
        let mut echo = response(200, &[]);
        echo.body = b"TRACE / HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n".to_vec();
        assert!(matches!(
            run_check(Check::NoCredentialsEcho, &echo, &context),
            Some(Err(_))
        ));
        echo.body = b"TRACE / HTTP/1.1\r\n".to_vec();
        assert_eq!(
            run_check(Check::NoCredentialsEcho, &echo, &context),
            Some(Ok(()))
        );
    }

    #[test]
    fn connect_2xx_with_framing_fields_then_content_length_broken() {
        let mut r = response(200, &[("Content-Length", "0")]);
        r.method = Some("CONNECT".into());
        assert!(matches!(check(Check::ContentLength, &r), Some(Err(_))));
        r.code = 405;
        assert_eq!(check(Check::ContentLength, &r), Some(Ok(())));
    }

    #[test]
    fn cache_fields_and_304_metadata_then_against_the_control() {
        let fields = ["date".to_string(), "etag".to_string(), "vary".to_string()];
        let context = Context {
            fields: &fields,
            ..Context::default()
        };
        let full = response(
            304,
            &[("Date", DATE), ("ETag", "\"v\""), ("Vary", "Accept")],
        );
        assert_eq!(run_check(Check::CacheFields, &full, &context), Some(Ok(())));
        let bare = response(304, &[("Date", DATE)]);
        assert!(matches!(
            run_check(Check::CacheFields, &bare, &context),
            Some(Err(_))
        ));
        assert_eq!(
            run_check(Check::CacheFields, &response(200, &[]), &context),
            None
        );
        assert_eq!(check(Check::No304Metadata, &full), Some(Ok(())));
        let typed = response(304, &[("Content-Type", "text/plain")]);
        assert!(matches!(check(Check::No304Metadata, &typed), Some(Err(_))));
    }

    #[test]
    fn close_after_a_response_without_close_then_close_announced_broken() {
        let e = expect(&[Token::Close], &[], &[Check::CloseAnnounced]);
        let silent = ok(response(200, &[]));
        let announced = ok(response(200, &[("Connection", "close")]));
        let graded = |previous: &Outcome| {
            let after = Context {
                previous: Some(previous),
                ..Context::default()
            };
            grade_step(Level::Must, &e, &Outcome::Closed, &after).grade
        };
        assert_eq!(graded(&silent), Grade::Fail);
        assert_eq!(graded(&announced), Grade::Pass);
        let mut http10 = response(200, &[]);
        http10.version = "HTTP/1.0".into();
        assert_eq!(graded(&ok(http10.clone())), Grade::Pass);
        http10
            .headers
            .push(("Connection".into(), "keep-alive".into()));
        assert_eq!(graded(&ok(http10)), Grade::Fail);
        assert_eq!(grade(Level::Must, &e, Outcome::Closed), Grade::Pass);
        let persistent = Context {
            previous: Some(&silent),
            persistent: true,
            ..Context::default()
        };
        assert_eq!(
            grade_step(Level::Must, &e, &Outcome::Closed, &persistent).grade,
            Grade::Warn
        );
    }

    #[test]
    fn closed_rules_then_eof_or_reset_with_nothing_more() {
        let mut r = response(400, &[]);
        for (a, holds) in [
            (after(0, AfterEnd::Closed), true),
            (after(0, AfterEnd::Reset), true),
            (after(0, AfterEnd::Open), false),
            (after(7, AfterEnd::Closed), false),
            (None, false),
        ] {
            r.after = a;
            assert_eq!(check(Check::Closed, &r).unwrap().is_ok(), holds, "{a:?}");
        }
    }

    #[test]
    fn close_header_rules_then_token_in_list() {
        let yes = response(400, &[("Connection", "keep-alive, Close")]);
        assert_eq!(check(Check::CloseHeader, &yes), Some(Ok(())));
        let no = response(400, &[("Connection", "closed")]);
        assert!(matches!(check(Check::CloseHeader, &no), Some(Err(_))));
    }

    #[test]
    fn version_rules_then_exactly_http_1_1() {
        let mut r = response(200, &[]);
        assert_eq!(check(Check::Version, &r), Some(Ok(())));
        r.version = "HTTP/1.0".into();
        assert!(matches!(check(Check::Version, &r), Some(Err(_))));
    }

    #[test]
    fn reason_rules_then_registered_phrase_or_not_applied() {
        let mut r = response(413, &[]);
        assert_eq!(check(Check::Reason, &r), Some(Ok(())));
        r.reason = "Payload Too Large".into();
        assert!(matches!(check(Check::Reason, &r), Some(Err(_))));
        assert_eq!(check(Check::Reason, &response(599, &[])), None);
    }

    #[test]
    fn worst_grade_then_fail_over_error_over_warn() {
        use Grade::*;
        assert_eq!(Grade::worst([]), Pass);
        assert_eq!(Grade::worst([Pass, Info]), Info);
        assert_eq!(Grade::worst([Info, Warn, Pass]), Warn);
        assert_eq!(Grade::worst([Warn, Error]), Error);
        assert_eq!(Grade::worst([Fail, Error, Warn]), Fail);
    }
}
