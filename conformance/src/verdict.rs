//! Grading: what a recorded outcome means for a case, by the rules in
//! `fixtures/cases/README.md` ("Outcomes", "Checks").

use crate::case::{Check, Expect, Level, Token};
use crate::date::is_imf_fixdate;
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
/// `control` is the status code the control GET got: what the `control`
/// token matches.
pub fn grade_step(level: Level, expect: &Expect, outcome: &Outcome, control: u16) -> StepVerdict {
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
    let checks: Vec<CheckResult> = match outcome {
        Outcome::Response(response) => expect
            .checks
            .iter()
            .filter_map(|&check| {
                run_check(check, response).map(|result| CheckResult {
                    check,
                    problem: result.err(),
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut grade = match (matched, level) {
        (Matched::Pass, _) => Grade::Pass,
        (Matched::Warn, _) => Grade::Warn,
        (Matched::None, Level::Must) => Grade::Fail,
        (Matched::None, Level::Should | Level::May) => Grade::Warn,
        (Matched::None, Level::Info) => Grade::Info,
    };
    for broken in checks.iter().filter(|c| c.problem.is_some()) {
        let lowered = match (broken.check.level(), level) {
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
pub fn run_check(check: Check, response: &Response) -> Option<Result<(), String>> {
    match check {
        Check::Date => check_date(response),
        Check::ContentLength => check_content_length(response),
        Check::NoBody => Some(check_no_body(response)),
        Check::Allow => check_allow(response),
        Check::Closed => Some(check_closed(response)),
        Check::CloseHeader => Some(check_close_header(response)),
        Check::Version => Some(check_version(response)),
        Check::Reason => check_reason(response),
    }
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
/// - A 1xx or 204 response has no body, so only `0` can hold.
/// - For a response to HEAD and a 304 the value describes the selected
///   representation (RFC 9110 §8.6), not this message: not compared.
fn check_content_length(r: &Response) -> Option<Result<(), String>> {
    let value = r.header("content-length")?;
    if r.header("transfer-encoding").is_some() {
        return Some(Err("Content-Length sent with Transfer-Encoding".into()));
    }
    if (100..200).contains(&r.code) || r.code == 204 {
        return Some(if value == "0" {
            Ok(())
        } else {
            Err(format!(
                "Content-Length: {value} in a {} response, which has no body",
                r.code
            ))
        });
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
/// in a 405 response.
fn check_allow(r: &Response) -> Option<Result<(), String>> {
    if r.code != 405 {
        return None;
    }
    Some(match r.header("allow") {
        Some(_) => Ok(()),
        None => Err("405 without an Allow header".into()),
    })
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
mod tests {
    use super::*;
    use crate::wire::After;

    const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    fn response(code: u16, headers: &[(&str, &str)]) -> Response {
        Response {
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

    fn grade(level: Level, e: &Expect, outcome: Outcome) -> Grade {
        grade_step(level, e, &outcome, 200).grade
    }

    #[test]
    fn control_token_then_matches_the_control_status_only() {
        let e = expect(&[Token::Control], &[], &[]);
        let outcome = ok(response(203, &[]));
        assert_eq!(
            grade_step(Level::Must, &e, &outcome, 203).grade,
            Grade::Pass
        );
        assert_eq!(
            grade_step(Level::Must, &e, &outcome, 200).grade,
            Grade::Fail
        );
        assert_eq!(
            grade_step(Level::Must, &e, &Outcome::Closed, 200).grade,
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
        let v = grade_step(Level::Must, &e, &ok(response(400, &[])), 200);
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
        let v = grade_step(Level::Must, &e, &ok(r), 200);
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
        let v = grade_step(Level::Must, &e, &Outcome::Closed, 200);
        assert_eq!((v.grade, v.checks.len()), (Grade::Pass, 0));
    }

    #[test]
    fn date_rules_then_by_status_class() {
        let run = |code, headers: &[(&str, &str)]| run_check(Check::Date, &response(code, headers));
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
        assert_eq!(run_check(Check::ContentLength, &response(200, &[])), None);
    }

    #[test]
    fn content_length_matching_body_then_holds() {
        let r = with_body(
            response(200, &[("Content-Length", "14")]),
            14,
            14,
            BodyEnd::Complete,
        );
        assert_eq!(run_check(Check::ContentLength, &r), Some(Ok(())));
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
            run_check(Check::ContentLength, &r),
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
        assert!(matches!(run_check(Check::ContentLength, &r), Some(Err(_))));
    }

    #[test]
    fn content_length_on_head_response_then_not_compared() {
        let r = response(200, &[("Content-Length", "14")]);
        assert_eq!(run_check(Check::ContentLength, &r), Some(Ok(())));
    }

    #[test]
    fn content_length_with_transfer_encoding_or_nonzero_on_204_then_broken() {
        let te = response(
            200,
            &[("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
        );
        assert!(matches!(run_check(Check::ContentLength, &te), Some(Err(_))));
        let empty = response(204, &[("Content-Length", "0")]);
        assert_eq!(run_check(Check::ContentLength, &empty), Some(Ok(())));
        let nc = response(204, &[("Content-Length", "5")]);
        assert!(matches!(run_check(Check::ContentLength, &nc), Some(Err(_))));
    }

    #[test]
    fn no_body_rules_then_body_or_trailing_bytes_break_it() {
        let mut head = response(200, &[("Content-Length", "14")]);
        head.after = after(0, AfterEnd::Closed);
        assert_eq!(run_check(Check::NoBody, &head), Some(Ok(())));
        head.after = after(14, AfterEnd::Closed);
        assert!(matches!(run_check(Check::NoBody, &head), Some(Err(_))));
        let get = with_body(response(200, &[]), 14, 14, BodyEnd::Complete);
        assert!(matches!(run_check(Check::NoBody, &get), Some(Err(_))));
    }

    #[test]
    fn allow_rules_then_only_for_405() {
        assert_eq!(run_check(Check::Allow, &response(400, &[])), None);
        assert!(matches!(
            run_check(Check::Allow, &response(405, &[])),
            Some(Err(_))
        ));
        let r = response(405, &[("Allow", "GET, HEAD")]);
        assert_eq!(run_check(Check::Allow, &r), Some(Ok(())));
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
            assert_eq!(
                run_check(Check::Closed, &r).unwrap().is_ok(),
                holds,
                "{a:?}"
            );
        }
    }

    #[test]
    fn close_header_rules_then_token_in_list() {
        let yes = response(400, &[("Connection", "keep-alive, Close")]);
        assert_eq!(run_check(Check::CloseHeader, &yes), Some(Ok(())));
        let no = response(400, &[("Connection", "closed")]);
        assert!(matches!(run_check(Check::CloseHeader, &no), Some(Err(_))));
    }

    #[test]
    fn version_rules_then_exactly_http_1_1() {
        let mut r = response(200, &[]);
        assert_eq!(run_check(Check::Version, &r), Some(Ok(())));
        r.version = "HTTP/1.0".into();
        assert!(matches!(run_check(Check::Version, &r), Some(Err(_))));
    }

    #[test]
    fn reason_rules_then_registered_phrase_or_not_applied() {
        let mut r = response(413, &[]);
        assert_eq!(run_check(Check::Reason, &r), Some(Ok(())));
        r.reason = "Payload Too Large".into();
        assert!(matches!(run_check(Check::Reason, &r), Some(Err(_))));
        assert_eq!(run_check(Check::Reason, &response(599, &[])), None);
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
