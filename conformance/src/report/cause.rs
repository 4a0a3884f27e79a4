//! Root causes: a run's failures grouped by what broke, so that one broken
//! rule that fails forty cases reads as one line, not forty.

use super::describe::{describe_outcomes, short_outcome};
use crate::case::{Check, Level, Token};
use crate::escape;
use crate::limits::REASON_CHARS;
use crate::rules::check_rules;
use crate::run::CaseResult;
use crate::verdict::{Grade, Matched};
use serde::Serialize;

/// The most characters of a check's problem a cause names (escaped, `…`
/// included): a problem can quote a server's bytes.
const CAUSE_PROBLEM_SHOWN: usize = 80;

/// One thing that broke, and the failed cases it broke in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RootCause {
    /// What broke, in words: `check date (must): no Date header`,
    /// `got 200 where the case wants 400`.
    pub cause: String,
    /// The check's name, for a broken check; none for an outcome that is
    /// not acceptable.
    pub check: Option<&'static str>,
    /// The failed cases, in run order.
    pub cases: Vec<String>,
}

/// The failures of `results` grouped by what broke: each broken `must`
/// response rule, then each `must` check that failed a step (with its problem when every case had the same one), and
/// each unacceptable answer (by its status code, or `closed`, `timeout`…,
/// and the answers the case passes); most cases first. A case that broke
/// two things is under both.
pub(crate) fn root_causes(results: &[CaseResult<'_>]) -> Vec<RootCause> {
    let mut causes: Vec<Tally> = Vec::new();
    for result in results.iter().filter(|r| r.grade == Grade::Fail) {
        let id = result.case.id.as_str();
        for broke in what_broke(result) {
            if broke.level == Level::Must {
                Tally::add(&mut causes, broke.key, broke.check, broke.problem, id);
            }
        }
    }
    let mut causes: Vec<RootCause> = causes.into_iter().map(Tally::into_cause).collect();
    causes.sort_by_key(|c| std::cmp::Reverse(c.cases.len()));
    // A broken `must` response rule is one finding however many responses
    // broke it: first, with the cases where it was first seen.
    let rules = check_rules(results)
        .into_iter()
        .filter(|r| r.grade == Grade::Fail)
        .map(|r| RootCause {
            cause: format!(
                "response rule {} ({}): {} of {} responses",
                r.rule.id, r.rule.level, r.broken, r.checked
            ),
            check: Some(r.rule.check.as_str()),
            cases: r.first.into_iter().map(|b| b.case).collect(),
        });
    rules.chain(causes).collect()
}

/// One thing that broke a failed step: an answer the case does not accept,
/// or a check; `level` is the case's level for an answer, the check's for
/// a check.
struct Broke {
    key: String,
    level: Level,
    check: Option<Check>,
    problem: Option<String>,
}

/// What broke the failed steps of `result`, step by step: the answer, if
/// the case accepts none like it, then each broken check.
fn what_broke(result: &CaseResult<'_>) -> Vec<Broke> {
    let mut broke = Vec::new();
    for (_, step_case, step) in result.reading_steps() {
        let Some(verdict) = step.verdict.as_ref().filter(|v| v.grade == Grade::Fail) else {
            continue;
        };
        if verdict.matched == Matched::None {
            let short = step
                .exchange
                .outcome
                .as_ref()
                .map_or_else(|| "-".to_string(), short_outcome);
            let wanted = match &step_case.expect {
                Some(expect) => wanted_outcomes(&expect.pass),
                None => "-".to_string(),
            };
            broke.push(Broke {
                key: format!("got {short} where the case wants {wanted}"),
                level: result.case.level,
                check: None,
                problem: None,
            });
        }
        for (check, problem) in verdict.broken_checks() {
            broke.push(Broke {
                key: format!("check {check} ({})", check.level()),
                level: check.level(),
                check: Some(check),
                problem: Some(escape::terminal_cut(problem, CAUSE_PROBLEM_SHOWN)),
            });
        }
    }
    broke
}

/// Why a failed case failed, in one line for the list of new failures:
/// what broke, as [`root_causes`] words it, each thing once, cut to
/// [`REASON_CHARS`] characters with a count of the rest.
pub(crate) fn failure_reason(result: &CaseResult<'_>) -> String {
    let mut parts: Vec<String> = Vec::new();
    for broke in what_broke(result) {
        let part = match broke.problem {
            Some(problem) => format!("{}: {problem}", broke.key),
            None => broke.key,
        };
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    let reason = if parts.is_empty() {
        describe_outcomes(result)
    } else {
        parts.join("; ")
    };
    cut(&reason, REASON_CHARS)
}

/// `text` whole, or its first `max` characters and `… (N more characters)`.
fn cut(text: &str, max: usize) -> String {
    let total = text.chars().count();
    if total <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max).collect();
    format!("{kept}… ({} more characters)", total - max)
}

/// The outcomes a case passes, for a root cause: `400, 4xx`, with
/// `control` spelled out, as a cause line is read without the case file.
fn wanted_outcomes(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(|token| match token {
            Token::Control => "the control's status".to_string(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One cause while [`root_causes`] counts: its key, the distinct problems
/// seen under it, the cases.
struct Tally {
    key: String,
    check: Option<Check>,
    problems: Vec<String>,
    cases: Vec<String>,
}

impl Tally {
    fn add(
        causes: &mut Vec<Tally>,
        key: String,
        check: Option<Check>,
        problem: Option<String>,
        id: &str,
    ) {
        let index = match causes.iter().position(|c| c.key == key) {
            Some(index) => index,
            None => {
                causes.push(Tally {
                    key,
                    check,
                    problems: Vec::new(),
                    cases: Vec::new(),
                });
                causes.len() - 1
            }
        };
        let tally = &mut causes[index];
        if let Some(problem) = problem.filter(|p| !tally.problems.contains(p)) {
            tally.problems.push(problem);
        }
        if tally.cases.last().map(String::as_str) != Some(id) {
            tally.cases.push(id.to_string());
        }
    }

    /// The cause, named with its problem when every case had the same one.
    fn into_cause(self) -> RootCause {
        let cause = match self.problems.as_slice() {
            [one] => format!("{}: {one}", self.key),
            _ => self.key,
        };
        RootCause {
            cause,
            check: self.check.map(Check::as_str),
            cases: self.cases,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::{case, case_passing, result};
    use crate::wire::Outcome;

    #[test]
    fn timeout_where_400_wanted_then_one_root_cause() {
        let (a, b) = (case("rfc9112-3.2-a"), case("rfc9112-3.2-b"));
        let results = [
            result(&a, Outcome::Timeout, Grade::Fail, 1),
            result(&b, Outcome::Timeout, Grade::Fail, 1),
        ];
        assert_eq!(
            root_causes(&results),
            [RootCause {
                cause: "got timeout where the case wants 400".into(),
                check: None,
                cases: vec!["rfc9112-3.2-a".into(), "rfc9112-3.2-b".into()],
            }]
        );
    }

    #[test]
    fn failed_case_then_one_line_reason_cut_to_its_bound() {
        let a = case("rfc9112-3.2-a");
        assert_eq!(
            failure_reason(&result(&a, Outcome::Timeout, Grade::Fail, 1)),
            "got timeout where the case wants 400"
        );
        let long = "x".repeat(REASON_CHARS + 7);
        assert_eq!(
            cut(&long, REASON_CHARS),
            format!("{}… (7 more characters)", &long[..REASON_CHARS])
        );
    }

    #[test]
    fn control_wanted_then_spelled_out_in_the_root_cause() {
        let a = case_passing("rfc9112-3.2-a", "control");
        let results = [result(&a, Outcome::Timeout, Grade::Fail, 1)];
        assert_eq!(
            root_causes(&results),
            [RootCause {
                cause: "got timeout where the case wants the control's status".into(),
                check: None,
                cases: vec!["rfc9112-3.2-a".into()],
            }]
        );
    }
}
