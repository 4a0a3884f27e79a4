//! Rendering a run: text for people, JSON for tools, JUnit for CI, Markdown
//! for pages, one file each. Every byte a server sent goes through
//! [`crate::escape`]'s escaping for the format before it is written; what a
//! step got and what a case wants are described for people the one way
//! `describe` words them; `summary` counts a run and `cause` groups its
//! failures by what broke.

mod cause;
pub(crate) mod describe;
mod json;
mod junit;
mod markdown;
mod summary;
mod text;

use crate::baseline::Baseline;
use crate::case::{Case, Level};
use crate::control::Control;
use crate::rules::RuleResult;
use crate::run::CaseResult;
use crate::verdict::Grade;
pub use describe::{describe_expect, describe_outcomes};
use json::render_json;
use junit::render_junit;
use markdown::render_markdown;
use serde::Serialize;
use std::time::{Duration, SystemTime};
pub use summary::Summary;
use text::render_text;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One line per case, failure details, a group table, a summary line.
    Text,
    /// Everything, for tools.
    Json,
    /// JUnit XML for CI.
    Junit,
    /// A Markdown table.
    Markdown,
}

/// What a report needs besides the results.
#[derive(Debug, Clone, Copy)]
pub struct ReportContext<'a> {
    /// A name for the target in reports (`--name`).
    pub name: &'a str,
    /// The address that was tested.
    pub target: &'a str,
    /// Known failures, if a baseline was given.
    pub baseline: Option<&'a Baseline>,
    /// What the control requests learned, if they ran.
    pub control: Option<&'a Control>,
    /// When the run started, how long it took, with what settings.
    pub run: &'a RunInfo,
    /// The cases a stopped run never started, and why it stopped.
    pub not_run: Option<NotRun<'a>>,
}

/// The cases a run stopped before starting, and why it stopped.
#[derive(Debug, Clone, Copy)]
pub struct NotRun<'a> {
    /// Why the run stopped: `interrupted by SIGINT`.
    pub reason: &'a str,
    /// The cases never started or abandoned under way, in catalogue order.
    pub cases: &'a [&'a Case],
    /// The cases of `cases` that were under way when the run stopped:
    /// abandoned, never graded.
    pub interrupted: &'a [&'a Case],
}

impl NotRun<'_> {
    /// Whether `case` was under way when the run stopped.
    pub(crate) fn was_under_way(&self, case: &Case) -> bool {
        self.interrupted.iter().any(|c| c.id == case.id)
    }

    /// `not run (REASON): N of M cases`, M counting the cases that ran.
    pub(crate) fn line(&self, ran: usize) -> String {
        format!(
            "not run ({}): {} of {} cases",
            self.reason,
            self.cases.len(),
            self.cases.len() + ran
        )
    }
}

/// When a run started, how long it took, and the settings it ran with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// When the first case started (after the control requests).
    pub started: SystemTime,
    /// From the first case's start to the last case's end.
    pub wall: Duration,
    /// The options the run was given.
    pub settings: Settings,
}

/// The options a run was given, as reports record them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// The resource the cases ask for (`--path`).
    pub path: String,
    /// The Host value the cases send (`--host`).
    pub host: String,
    /// Whether the target serves the fixture docroot (`--fixture-root`).
    pub fixture_root: bool,
    /// How many cases ran at once.
    pub jobs: usize,
    /// The per-step timeout in milliseconds (`--timeout`).
    pub timeout_ms: u64,
    /// `--filter` prefixes.
    pub filter: Vec<String>,
    /// `--group` names.
    pub group: Vec<String>,
    /// `--id` case ids.
    pub id: Vec<String>,
    /// `--exclude` prefixes.
    pub exclude: Vec<String>,
    /// `--level`, if given.
    pub level: Option<Level>,
    /// `--fail-on`: the weakest level whose failure fails the run.
    pub fail_on: Level,
    /// `--deadline` in seconds, if given.
    pub deadline_s: Option<u64>,
    /// The `--baseline` file, if given.
    pub baseline: Option<String>,
    /// The `--cases` directory, if the catalogue did not come compiled in.
    pub cases_dir: Option<String>,
    /// `--failures-only`: the report lists only the failed and errored
    /// cases, new failures first (the counts still cover the whole run).
    pub failures_only: bool,
}

/// Renders `results` in `format`.
pub fn render(format: Format, results: &[CaseResult<'_>], context: &ReportContext<'_>) -> String {
    match format {
        Format::Text => render_text(results, context),
        Format::Json => render_json(results, context),
        Format::Junit => render_junit(results, context),
        Format::Markdown => render_markdown(results, context),
    }
}

/// The block that ends a report of a run with a baseline, after the
/// summary line: `new failures (not in the baseline): N`, then each new
/// failure (cases in run order, then broken rules) on a line of its own
/// with why it failed; `new failures (not in the baseline): none` when
/// there are none. Empty without a baseline.
pub fn new_failures_block(results: &[CaseResult<'_>], baseline: Option<&Baseline>) -> String {
    use std::fmt::Write as _;
    if baseline.is_none() {
        return String::new();
    }
    let failures = new_failures(results, baseline);
    if failures.is_empty() {
        return "new failures (not in the baseline): none\n".to_string();
    }
    let mut out = format!("new failures (not in the baseline): {}\n", failures.len());
    let width = failures.iter().map(|(id, _)| id.len()).max().unwrap_or(0);
    for (id, reason) in failures {
        let _ = writeln!(out, "  {id:<width$}  {reason}");
    }
    out
}

/// The failures `baseline` does not list, each with its one-line reason:
/// failed cases in run order, then broken `must` rules.
pub(crate) fn new_failures(
    results: &[CaseResult<'_>],
    baseline: Option<&Baseline>,
) -> Vec<(String, String)> {
    let listed = |id: &str| baseline.is_some_and(|b| b.contains(id));
    let cases = results
        .iter()
        .filter(|r| r.grade == Grade::Fail && !listed(&r.case.id))
        .map(|r| (r.case.id.clone(), cause::failure_reason(r)));
    let rules = crate::rules::check_rules(results)
        .into_iter()
        .filter(|r| r.grade == Grade::Fail && !listed(r.rule.id))
        .map(|r| (r.rule.id.to_string(), r.counts()));
    cases.chain(rules).collect()
}

/// The results a report lists: all of them in run order; with
/// `--failures-only`, the new failures, then the errors, then the known
/// failures, each in run order.
fn listed<'r, 'c>(
    results: &'r [CaseResult<'c>],
    context: &ReportContext<'_>,
) -> Vec<&'r CaseResult<'c>> {
    if !context.run.settings.failures_only {
        return results.iter().collect();
    }
    let new = results
        .iter()
        .filter(|r| r.grade == Grade::Fail && !is_known(r, context));
    let errors = results.iter().filter(|r| r.grade == Grade::Error);
    let known = results.iter().filter(|r| is_known(r, context));
    new.chain(errors).chain(known).collect()
}

/// Whether a result is a failure the baseline already lists.
fn is_known(result: &CaseResult<'_>, context: &ReportContext<'_>) -> bool {
    is_known_id(result.grade, &result.case.id, context)
}

/// Whether a broken response rule is a known failure: the baseline lists
/// its id (`rule:date`).
fn is_known_rule(rule: &RuleResult, context: &ReportContext<'_>) -> bool {
    is_known_id(rule.grade, rule.rule.id, context)
}

/// A failure whose id the baseline lists.
fn is_known_id(grade: Grade, id: &str, context: &ReportContext<'_>) -> bool {
    grade == Grade::Fail && context.baseline.is_some_and(|b| b.contains(id))
}

/// What the unit tests of the reports share: cases and results to report.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::case::Case;
    use crate::run::{CaseResult, StepResult};
    use crate::verdict::{Grade, Matched, StepVerdict};
    use crate::wire::{Exchange, Outcome};
    use std::time::Duration;

    pub(crate) fn case(id: &str) -> Case {
        case_passing(id, "400")
    }

    /// A `must` case whose one step passes `pass`.
    pub(crate) fn case_passing(id: &str, pass: &str) -> Case {
        let text = format!(
            "id = \"{id}\"\ntitle = \"T\"\ngroup = \"host\"\nrfc = \"RFC 9112 §3.2\"\n\
             url = \"https://www.rfc-editor.org/rfc/rfc9112#section-3.2\"\nquote = \"Q.\"\n\
             level = \"must\"\nexplain = \"E.\"\nrequest = 'GET / HTTP/1.1\\r\\n\\r\\n'\n\
             [expect]\npass = [\"{pass}\"]\n"
        );
        crate::case::parse_case(id, &text).unwrap()
    }

    /// A result of one reading step that got `outcome`, graded `grade`,
    /// taking `seconds`.
    pub(crate) fn result(
        case: &Case,
        outcome: Outcome,
        grade: Grade,
        seconds: u64,
    ) -> CaseResult<'_> {
        CaseResult {
            case,
            grade,
            steps: vec![StepResult {
                sent: Some(b"GET / HTTP/1.1\r\n\r\n".to_vec()),
                exchange: Exchange {
                    outcome: Some(outcome),
                    ..Exchange::default()
                },
                verdict: Some(StepVerdict {
                    grade,
                    matched: Matched::None,
                    checks: Vec::new(),
                    allowed: None,
                }),
            }],
            skipped: None,
            elapsed: Duration::from_secs(seconds),
        }
    }
}
