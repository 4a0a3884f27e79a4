//! The grade of a step: the outcome matched against the case's lists,
//! lowered by every check that broke, by the rules in
//! `fixtures/cases/README.md` ("Outcomes", "Checks").

use super::check::run_check;
use super::context::Context;
use super::framing::check_close_announced;
use super::matching::{token_matches, Matched};
use crate::case::{Check, Expect, Level};
use crate::wire::Outcome;
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
    pub(crate) const ALL: [Grade; 6] = [
        Grade::Pass,
        Grade::Warn,
        Grade::Fail,
        Grade::Info,
        Grade::Skip,
        Grade::Error,
    ];

    /// The lowercase name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Grade::Pass => "pass",
            Grade::Warn => "warn",
            Grade::Fail => "fail",
            Grade::Info => "info",
            Grade::Error => "error",
            Grade::Skip => "skip",
        }
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
    pub(crate) fn worse(self, other: Grade) -> Grade {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    /// The worst of several grades (`pass` for none): a case's grade from
    /// its steps'.
    pub(crate) fn worst(grades: impl IntoIterator<Item = Grade>) -> Grade {
        grades.into_iter().fold(Grade::Pass, Grade::worse)
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// The permission a lenient outcome passed by (`[[expect.allowed]]`'s
    /// `because`), when it did.
    pub allowed: Option<String>,
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
/// `context` holds what the checks compare with, and the status the
/// `control` token matches.
pub(crate) fn grade_step(
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
            allowed: None,
        };
    }
    let mut allowed = None;
    let matched = if expect
        .pass
        .iter()
        .any(|&t| token_matches(t, outcome, control))
    {
        Matched::Pass
    } else if let Some(permitted) = expect
        .allowed
        .iter()
        .find(|a| token_matches(a.outcome, outcome, control))
    {
        allowed = Some(permitted.because.clone());
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
    // The rules every response must satisfy are checked once per run
    // (`crate::rules`); a case grades only the checks it names.
    let checks: Vec<CheckResult> = expect
        .checks
        .iter()
        .copied()
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
        allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Token;
    use crate::verdict::test_support::{expect, grade, ok, response};

    #[test]
    fn allowed_outcome_then_pass_with_its_permission() {
        let mut e = expect(&[Token::Status(400)], &[], &[]);
        e.allowed = vec![crate::case::Allowed {
            outcome: Token::Status(200),
            because: "RFC 9110 §5.5: MAY replace with SP".into(),
        }];
        let v = grade_step(
            Level::Must,
            &e,
            &ok(response(200, &[])),
            &Context::default(),
        );
        assert_eq!(
            (v.grade, v.matched, v.allowed.as_deref()),
            (
                Grade::Pass,
                Matched::Pass,
                Some("RFC 9110 §5.5: MAY replace with SP")
            )
        );
        let v = grade_step(
            Level::Must,
            &e,
            &ok(response(400, &[])),
            &Context::default(),
        );
        assert_eq!((v.grade, v.allowed), (Grade::Pass, None));
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
    fn unnamed_rule_broken_then_case_grade_unchanged_named_then_graded() {
        // A broken reason phrase and no Date: rules (`crate::rules`), not
        // the subject of a case that does not name them.
        let mut r = response(400, &[]);
        r.head = b"HTTP/1.1 400 B\x07d\r\n\r\n".to_vec();
        let unnamed = expect(&[Token::Status(400)], &[], &[]);
        let verdict = grade_step(Level::Must, &unnamed, &ok(r.clone()), &Context::default());
        assert_eq!((verdict.grade, verdict.checks.len()), (Grade::Pass, 0));
        let named = expect(
            &[Token::Status(400)],
            &[],
            &[Check::ReasonPhrase, Check::Date],
        );
        let verdict = grade_step(Level::Must, &named, &ok(r), &Context::default());
        assert_eq!(verdict.grade, Grade::Fail);
        let broken: Vec<Check> = verdict.broken_checks().map(|(c, _)| c).collect();
        assert_eq!(broken, [Check::ReasonPhrase, Check::Date]);
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
    fn worst_grade_then_fail_over_error_over_warn() {
        use Grade::*;
        assert_eq!(Grade::worst([]), Pass);
        assert_eq!(Grade::worst([Pass, Info]), Info);
        assert_eq!(Grade::worst([Info, Warn, Pass]), Warn);
        assert_eq!(Grade::worst([Warn, Error]), Error);
        assert_eq!(Grade::worst([Fail, Error, Warn]), Fail);
    }
}
