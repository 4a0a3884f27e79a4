//! Grading: what a recorded outcome means for a case, by the rules in
//! `fixtures/cases/README.md` ("Outcomes", "Checks").
//!
//! [`grade_step`] (`grade`) matches the outcome against the case's
//! acceptable outcomes (`matching`), then runs the case's checks (`check`,
//! which picks the function of each: `grammar`, `framing`, `fields`,
//! `compare`, `range`); a check may compare the response with the
//! [`Context`] (`context`): the control's answer, the step before, the
//! request sent.

mod check;
mod compare;
mod context;
mod fields;
mod framing;
mod grade;
mod grammar;
mod matching;
mod range;

pub(crate) use check::run_check;
pub(crate) use context::Context;
pub(crate) use grade::grade_step;
pub use grade::{CheckResult, Grade, StepVerdict};
pub use matching::Matched;

/// What the unit tests of grading share: responses to grade, and the
/// checks and grading run as a run runs them.
#[cfg(test)]
pub(crate) mod test_support {
    use super::check::run_check;
    use super::grammar::registered_reason;
    use super::*;
    use crate::case::{Check, Expect, Level, Token};
    use crate::wire::{After, AfterEnd, BodyEnd, Framing, Outcome, Response};

    pub(crate) const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

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

    pub(crate) fn with_body(mut r: Response, declared: u64, got: u64, end: BodyEnd) -> Response {
        r.framing = Framing::Length(declared);
        r.body_len = got;
        r.body_end = end;
        r
    }

    pub(crate) fn after(bytes: u64, end: AfterEnd) -> Option<After> {
        Some(After { bytes, end })
    }

    pub(crate) fn expect(pass: &[Token], warn: &[Token], checks: &[Check]) -> Expect {
        Expect {
            pass: pass.to_vec(),
            warn: warn.to_vec(),
            allowed: Vec::new(),
            checks: checks.to_vec(),
        }
    }

    pub(crate) fn check(c: Check, r: &Response) -> Option<Result<(), String>> {
        run_check(c, r, &Context::default())
    }

    pub(crate) fn grade(level: Level, e: &Expect, outcome: Outcome) -> Grade {
        grade_step(level, e, &outcome, &Context::default()).grade
    }

    pub(crate) fn ok(r: Response) -> Outcome {
        Outcome::Response(r)
    }
}
