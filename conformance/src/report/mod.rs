//! Rendering a run: text for people, JSON for tools, JUnit for CI, Markdown
//! for pages. Every byte a server sent goes through [`crate::escape`]'s
//! escaping for the format before it is written.

use crate::baseline::Baseline;
use crate::case::{Case, Check, Group, Level, Token};
use crate::control::Control;
use crate::escape;
use crate::limits::SHOWN_BYTES;

use crate::run::CaseResult;
use crate::verdict::{Grade, Matched};
use crate::wire::Outcome;
pub(crate) mod describe;

pub(crate) use describe::fold_whitespace;
pub use describe::{describe_expect, describe_outcomes};
use serde::Serialize;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

/// The version of the JSON report's layout (`docs/report.schema.json`):
/// raised when a field changes meaning or goes; new fields keep it.
pub(crate) const JSON_FORMAT_VERSION: u32 = 1;

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
    /// The cases never started, in catalogue order.
    pub cases: &'a [&'a Case],
}

impl NotRun<'_> {
    /// `not run (REASON): N of M cases`, M counting the cases that ran.
    pub fn line(&self, ran: usize) -> String {
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
}

/// Counts and the baseline comparison of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Cases graded pass.
    pub passed: usize,
    /// Cases graded warn.
    pub warned: usize,
    /// Cases graded fail (known failures included).
    pub failed: usize,
    /// Cases graded info.
    pub info: usize,
    /// Cases the harness could not run.
    pub errors: usize,
    /// Cases that do not apply to the target, never scored.
    pub skipped: usize,
    /// Failures listed in the baseline.
    pub known: Vec<String>,
    /// Failures not listed in the baseline: these make the run non-conformant.
    pub regressions: Vec<String>,
    /// Baseline ids that no longer fail: remove them from the baseline.
    pub fixed: Vec<String>,
}

impl Summary {
    /// Counts `results`, comparing failures with `baseline`.
    pub fn of(results: &[CaseResult<'_>], baseline: Option<&Baseline>) -> Summary {
        let mut summary = Summary::default();
        for result in results {
            let id = &result.case.id;
            let known = baseline.is_some_and(|b| b.contains(id));
            match result.grade {
                Grade::Pass => summary.passed += 1,
                Grade::Warn => summary.warned += 1,
                Grade::Fail => summary.failed += 1,
                Grade::Info => summary.info += 1,
                Grade::Error => summary.errors += 1,
                Grade::Skip => summary.skipped += 1,
            }
            match (result.grade, known) {
                (Grade::Fail, true) => summary.known.push(id.clone()),
                (Grade::Fail, false) => summary.regressions.push(id.clone()),
                (Grade::Pass | Grade::Warn, true) => summary.fixed.push(id.clone()),
                _ => {}
            }
        }
        summary
    }

    /// `N passed, N warned, N failed`, then `, N info, N errors` when
    /// either is non-zero, then `, N skipped` when some were.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{} passed, {} warned, {} failed",
            self.passed, self.warned, self.failed
        );
        if self.info > 0 || self.errors > 0 {
            let _ = write!(line, ", {} info, {} errors", self.info, self.errors);
        }
        if self.skipped > 0 {
            let _ = write!(line, ", {} skipped", self.skipped);
        }
        line
    }

    /// No `must` failure outside the baseline.
    pub fn is_conformant(&self) -> bool {
        self.regressions.is_empty()
    }

    /// Whether any case was graded at all (pass, warn, fail or info): a run
    /// in which every case was skipped or errored says nothing about the
    /// server and is not conformant.
    pub fn graded_any(&self) -> bool {
        self.passed + self.warned + self.failed + self.info > 0
    }
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

fn is_known(result: &CaseResult<'_>, context: &ReportContext<'_>) -> bool {
    result.grade == Grade::Fail
        && context
            .baseline
            .is_some_and(|b| b.contains(&result.case.id))
}

/// One thing that broke, and the failed cases it broke in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RootCause {
    /// What broke, in words: `check date (must): no Date header`,
    /// `got 200 where the case wants 400`.
    pub cause: String,
    /// The check's name, for a broken check; none for an outcome that is
    /// not acceptable.
    pub check: Option<&'static str>,
    /// The failed cases, in run order.
    pub cases: Vec<String>,
}

/// The failures of `results` grouped by what broke: each `must` check that
/// failed a step (with its problem when every case had the same one), and
/// each unacceptable answer (by its status code, or `closed`, `timeout`…,
/// and the answers the case passes); most cases first. A case that broke
/// two things is under both.
pub fn root_causes(results: &[CaseResult<'_>]) -> Vec<RootCause> {
    let mut causes: Vec<Tally> = Vec::new();
    for result in results.iter().filter(|r| r.grade == Grade::Fail) {
        let id = result.case.id.as_str();
        for (_, step_case, step) in result.reading_steps() {
            let Some(verdict) = step.verdict.as_ref().filter(|v| v.grade == Grade::Fail) else {
                continue;
            };
            if verdict.matched == Matched::None && result.case.level == Level::Must {
                let short = step
                    .exchange
                    .outcome
                    .as_ref()
                    .map_or_else(|| "-".to_string(), describe::short_outcome);
                let wanted = match &step_case.expect {
                    Some(expect) => wanted_outcomes(&expect.pass),
                    None => "-".to_string(),
                };
                let key = format!("got {short} where the case wants {wanted}");
                Tally::add(&mut causes, key, None, None, id);
            }
            for (check, problem) in verdict.broken_checks() {
                if check.level() == Level::Must {
                    let key = format!("check {check} ({})", check.level());
                    let problem = escape::terminal(problem);
                    Tally::add(&mut causes, key, Some(check), Some(problem), id);
                }
            }
        }
    }
    let mut causes: Vec<RootCause> = causes.into_iter().map(Tally::into_cause).collect();
    causes.sort_by_key(|c| std::cmp::Reverse(c.cases.len()));
    causes
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

/// `1 case` or `N cases`.
fn cases_count(n: usize) -> String {
    match n {
        1 => "1 case".to_string(),
        n => format!("{n} cases"),
    }
}

/// `  CAUSE: N cases: id, id` per cause, under a heading.
fn write_root_causes(out: &mut String, causes: &[RootCause]) {
    if causes.is_empty() {
        return;
    }
    out.push_str("\nroot causes of the failures:\n");
    for cause in causes {
        let _ = writeln!(
            out,
            "  {}: {}: {}",
            cause.cause,
            cases_count(cause.cases.len()),
            cause.cases.join(", ")
        );
    }
}

fn render_text(results: &[CaseResult<'_>], context: &ReportContext<'_>) -> String {
    let mut out = String::new();
    let cases = cases_count(results.len());
    let _ = if context.name == context.target {
        writeln!(
            out,
            "conformance of {}, {cases}",
            escape::terminal(context.target)
        )
    } else {
        writeln!(
            out,
            "conformance of {} ({}), {cases}",
            escape::terminal(context.name),
            escape::terminal(context.target)
        )
    };
    if let Some(control) = context.control {
        let _ = writeln!(out, "{}", escape::terminal(&control.line()));
    }
    let width = results.iter().map(|r| r.case.id.len()).max().unwrap_or(0);
    for result in results {
        let known = if is_known(result, context) {
            "  (known)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:<5} {:<width$}  {}{known}",
            result.grade.as_str().to_uppercase(),
            result.case.id,
            describe_outcomes(result)
        );
    }
    if let Some(not_run) = &context.not_run {
        let _ = writeln!(out, "\n{}", not_run.line(results.len()));
        for case in not_run.cases {
            let _ = writeln!(out, "  {}", case.id);
        }
    }
    let details: Vec<_> = results
        .iter()
        .filter(|r| matches!(r.grade, Grade::Fail | Grade::Error))
        .collect();
    if !details.is_empty() {
        out.push_str("\nfailures and errors:\n");
        for result in details {
            out.push('\n');
            write_text_details(&mut out, result, context);
        }
    }
    let summary = Summary::of(results, context.baseline);
    if !summary.known.is_empty() {
        let _ = writeln!(
            out,
            "\nknown failures (in the baseline): {}",
            summary.known.join(", ")
        );
    }
    for id in &summary.fixed {
        let _ = writeln!(out, "fixed: remove from baseline: {id}");
    }
    out.push('\n');
    write_group_table(&mut out, results);
    write_root_causes(&mut out, &root_causes(results));
    let _ = writeln!(out, "\n{}", summary.line());
    out
}

fn write_text_details(out: &mut String, result: &CaseResult<'_>, context: &ReportContext<'_>) {
    let case = result.case;
    let known = if is_known(result, context) {
        " (known failure)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "{} {}{known}: {}",
        result.grade.as_str().to_uppercase(),
        case.id,
        case.title
    );
    let _ = writeln!(
        out,
        "  requirement: {} ({}) {}",
        case.rfc, case.level, case.url
    );
    let _ = writeln!(out, "    \"{}\"", fold_whitespace(&case.quote));
    for (index, (step, step_result)) in case.steps.iter().zip(&result.steps).enumerate() {
        let _ = write!(out, "  step {}", index + 1);
        if step.pause_ms > 0 {
            let _ = write!(out, " (after {} ms)", step.pause_ms);
        }
        out.push_str(":\n");
        if let Some(sent) = &step_result.sent {
            out.push_str("    sent:\n");
            write_bytes(out, sent, sent.len() as u64);
        }
        let exchange = &step_result.exchange;
        if let Some(error) = &exchange.write_error {
            let _ = writeln!(
                out,
                "    write stopped after {} bytes: {}",
                exchange.written,
                escape::terminal(error)
            );
        }
        if let Some(expect) = &step.expect {
            let _ = writeln!(out, "    acceptable: {}", describe_expect(expect));
        }
        if let Some(outcome) = &exchange.outcome {
            let _ = writeln!(out, "    actual: {}", describe::describe_outcome(outcome));
        }
        if let Some(verdict) = &step_result.verdict {
            let _ = writeln!(out, "    grade: {}", verdict.grade);
            for (check, problem) in verdict.broken_checks() {
                let _ = writeln!(
                    out,
                    "    broken check {check} ({}): {}",
                    check.level(),
                    escape::terminal(problem)
                );
                if let Some(requirement) = check.requirement() {
                    let _ = writeln!(out, "      {requirement}");
                }
            }
        }
        if exchange.received_total > 0 {
            out.push_str("    received:\n");
            write_bytes(out, &exchange.received, exchange.received_total);
        }
    }
}

/// Writes bytes escaped, one wire line per report line, at most
/// [`SHOWN_BYTES`] of them.
fn write_bytes(out: &mut String, bytes: &[u8], total: u64) {
    let shown = &bytes[..bytes.len().min(SHOWN_BYTES)];
    for line in escape::encode_lines(shown) {
        let _ = writeln!(out, "      {line}");
    }
    let hidden = total.saturating_sub(shown.len() as u64);
    if hidden > 0 {
        let _ = writeln!(out, "      … ({hidden} more bytes)");
    }
}

/// Counts per grade ([`Grade::ALL`]'s order) for each group present, in
/// the catalogue's group order.
fn group_counts(results: &[CaseResult<'_>]) -> Vec<(Group, [usize; 6])> {
    Group::ALL
        .iter()
        .filter_map(|&group| {
            let mut counts = [0; 6];
            let mut any = false;
            for result in results.iter().filter(|r| r.case.group == group) {
                any = true;
                if let Some(i) = Grade::ALL.iter().position(|&g| g == result.grade) {
                    counts[i] += 1;
                }
            }
            any.then_some((group, counts))
        })
        .collect()
}

fn write_group_table(out: &mut String, results: &[CaseResult<'_>]) {
    let _ = writeln!(
        out,
        "{:<14} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5}",
        "group", "pass", "warn", "fail", "info", "skip", "error"
    );
    for (group, c) in group_counts(results) {
        let _ = writeln!(
            out,
            "{:<14} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5}",
            group.as_str(),
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5]
        );
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    format_version: u32,
    tool: JsonTool,
    catalogue: JsonCatalogue,
    name: &'a str,
    target: &'a str,
    started: String,
    wall_ms: u128,
    options: &'a Settings,
    control: Option<JsonControl<'a>>,
    summary: Summary,
    root_causes: Vec<RootCause>,
    cases: Vec<JsonCase<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_run: Option<JsonNotRun<'a>>,
}

/// The cases a stopped run never started, as the JSON report gives them.
#[derive(Serialize)]
struct JsonNotRun<'a> {
    reason: &'a str,
    ids: Vec<&'a str>,
}

#[derive(Serialize)]
struct JsonTool {
    name: &'static str,
    version: &'static str,
}

/// The catalogue compiled in: its size and fingerprint, as `--version`
/// gives them.
#[derive(Serialize)]
struct JsonCatalogue {
    cases: usize,
    fingerprint: &'static str,
}

/// What the control learned, as the JSON report gives it.
#[derive(Serialize)]
struct JsonControl<'a> {
    path: &'a str,
    host: &'a str,
    status: u16,
    reason: &'a str,
    head_status: Option<u16>,
    etag: Option<&'a str>,
    last_modified: Option<&'a str>,
    length: Option<u64>,
    persistent: bool,
    concurrent: bool,
    tls: Option<JsonTls<'a>>,
}

/// The TLS session of an `https://` target's control.
#[derive(Serialize)]
struct JsonTls<'a> {
    version: &'a str,
    cipher: &'a str,
    alpn: Option<&'a str>,
    verified: bool,
}

impl<'a> JsonControl<'a> {
    fn of(c: &'a Control) -> Self {
        JsonControl {
            path: &c.path,
            host: &c.host,
            status: c.status,
            reason: &c.reason,
            head_status: c.head_status,
            etag: c.etag.as_deref(),
            last_modified: c.last_modified.as_deref(),
            length: c.length,
            persistent: c.persistent,
            concurrent: c.concurrent,
            tls: c.tls.as_ref().map(|t| JsonTls {
                version: &t.version,
                cipher: &t.cipher,
                alpn: t.alpn.as_deref(),
                verified: t.verified,
            }),
        }
    }
}

#[derive(Serialize)]
struct JsonCase<'a> {
    id: &'a str,
    title: &'a str,
    group: Group,
    level: Level,
    rfc: &'a str,
    url: &'a str,
    grade: Grade,
    known_failure: bool,
    skipped: Option<&'a str>,
    elapsed_ms: u128,
    outcome: String,
    steps: Vec<JsonStep>,
}

#[derive(Serialize)]
struct JsonStep {
    step: usize,
    pause_ms: u64,
    sent: Option<String>,
    written: usize,
    write_error: Option<String>,
    expect: Option<String>,
    outcome: Option<JsonOutcome>,
    grade: Option<Grade>,
    matched: Option<Matched>,
    checks: Vec<JsonCheck>,
    received: String,
    received_total: u64,
    /// How the server ended the connection, if this step saw it end.
    close: Option<String>,
    elapsed_ms: u128,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum JsonOutcome {
    Response {
        version: String,
        code: u16,
        reason: String,
        headers: Vec<(String, String)>,
        body_len: u64,
        body_end: &'static str,
    },
    Closed,
    Reset,
    Timeout,
    Invalid {
        reason: String,
    },
    Error {
        message: String,
    },
}

#[derive(Serialize)]
struct JsonCheck {
    check: String,
    level: Level,
    ok: bool,
    problem: Option<String>,
}

fn json_outcome(outcome: &Outcome) -> JsonOutcome {
    match outcome {
        Outcome::Response(r) => JsonOutcome::Response {
            version: r.version.clone(),
            code: r.code,
            reason: r.reason.clone(),
            headers: r.headers.clone(),
            body_len: r.body_len,
            body_end: r.body_end.as_str(),
        },
        Outcome::Closed => JsonOutcome::Closed,
        Outcome::Reset => JsonOutcome::Reset,
        Outcome::Timeout => JsonOutcome::Timeout,
        Outcome::Invalid { reason } => JsonOutcome::Invalid {
            reason: reason.clone(),
        },
        Outcome::Error(message) => JsonOutcome::Error {
            message: message.clone(),
        },
    }
}

fn json_case<'a>(result: &'a CaseResult<'_>, context: &ReportContext<'_>) -> JsonCase<'a> {
    let case: &Case = result.case;
    let steps = case
        .steps
        .iter()
        .zip(&result.steps)
        .enumerate()
        .map(|(index, (step, step_result))| {
            let exchange = &step_result.exchange;
            let verdict = step_result.verdict.as_ref();
            JsonStep {
                step: index + 1,
                pause_ms: step.pause_ms,
                sent: step_result.sent.as_deref().map(escape::encode),
                written: exchange.written,
                write_error: exchange.write_error.clone(),
                expect: step.expect.as_ref().map(describe_expect),
                outcome: exchange.outcome.as_ref().map(json_outcome),
                grade: verdict.map(|v| v.grade),
                matched: verdict.map(|v| v.matched),
                checks: verdict
                    .map(|v| {
                        v.checks
                            .iter()
                            .map(|c| JsonCheck {
                                check: c.check.to_string(),
                                level: c.check.level(),
                                ok: c.problem.is_none(),
                                problem: c.problem.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                received: escape::encode(&exchange.received),
                received_total: exchange.received_total,
                close: exchange.close.as_ref().map(|c| c.as_str().to_string()),
                elapsed_ms: exchange.elapsed.as_millis(),
            }
        })
        .collect();
    JsonCase {
        id: &case.id,
        title: &case.title,
        group: case.group,
        level: case.level,
        rfc: &case.rfc,
        url: &case.url,
        grade: result.grade,
        known_failure: is_known(result, context),
        skipped: result.skipped.as_deref(),
        elapsed_ms: result.elapsed.as_millis(),
        outcome: describe_outcomes(result),
        steps,
    }
}

fn render_json(results: &[CaseResult<'_>], context: &ReportContext<'_>) -> String {
    let (cases, fingerprint) = crate::case::builtin_fingerprint();
    let report = JsonReport {
        format_version: JSON_FORMAT_VERSION,
        tool: JsonTool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        catalogue: JsonCatalogue { cases, fingerprint },
        name: context.name,
        target: context.target,
        started: crate::date::format_rfc3339(context.run.started),
        wall_ms: context.run.wall.as_millis(),
        options: &context.run.settings,
        control: context.control.map(JsonControl::of),
        summary: Summary::of(results, context.baseline),
        root_causes: root_causes(results),
        cases: results.iter().map(|r| json_case(r, context)).collect(),
        not_run: context.not_run.map(|n| JsonNotRun {
            reason: n.reason,
            ids: n.cases.iter().map(|c| c.id.as_str()).collect(),
        }),
    };
    escape::json_text(&report)
}

/// A JUnit class name part: dots separate packages in CI tools, so the
/// target name keeps only `[A-Za-z0-9_-]`.
fn class_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// JUnit XML in the shape of the Jenkins xunit plugin's `junit-10.xsd`:
/// `<testsuites name tests failures errors time>` with the run's wall time;
/// one `<testsuite>` per group (its counts, `skipped`, `timestamp`, and the
/// run's settings and WARN count as `<properties>`); per case a
/// `<testcase>` whose `<failure>` message is the requirement and the actual
/// outcome, `<skipped>` for skip, info and known failures, `<error>` for
/// harness errors, and `<system-out>` starting `WARN` for a warn.
fn render_junit(results: &[CaseResult<'_>], context: &ReportContext<'_>) -> String {
    let summary = Summary::of(results, context.baseline);
    let not_run = context.not_run.map_or(0, |n| n.cases.len());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
        escape::xml(context.name),
        results.len() + not_run,
        summary.regressions.len(),
        summary.errors,
        context.run.wall.as_secs_f64()
    );
    let started = crate::date::format_rfc3339(context.run.started);
    for group in Group::ALL {
        let members: Vec<_> = results.iter().filter(|r| r.case.group == group).collect();
        if members.is_empty() {
            continue;
        }
        let count =
            |pred: &dyn Fn(&CaseResult<'_>) -> bool| members.iter().filter(|r| pred(r)).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{group}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" \
             skipped=\"{}\" timestamp=\"{started}\">",
            members.len(),
            count(&|r| r.grade == Grade::Fail && !is_known(r, context)),
            count(&|r| r.grade == Grade::Error),
            count(&|r| matches!(r.grade, Grade::Info | Grade::Skip) || is_known(r, context)),
        );
        out.push_str("    <properties>\n");
        let settings = &context.run.settings;
        let warned = count(&|r| r.grade == Grade::Warn).to_string();
        let properties = [
            ("target", context.target),
            ("path", &settings.path),
            ("host", &settings.host),
            ("tool", env!("CONFORMANCE_VERSION")),
            ("warned", &warned),
        ];
        for (name, value) in properties {
            let _ = writeln!(
                out,
                "      <property name=\"{name}\" value=\"{}\"/>",
                escape::xml(value)
            );
        }
        out.push_str("    </properties>\n");
        let classname = format!("{}.{}", class_part(context.name), group);
        for result in members {
            write_junit_case(&mut out, result, &classname, context);
        }
        out.push_str("  </testsuite>\n");
    }
    if let Some(stopped) = &context.not_run {
        // The cases a stopped run never started, so CI sees them missing.
        let _ = writeln!(
            out,
            "  <testsuite name=\"not-run\" tests=\"{not_run}\" failures=\"0\" errors=\"0\" \
             skipped=\"{not_run}\" timestamp=\"{started}\">"
        );
        for case in stopped.cases {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}.not-run\" name=\"{}\" time=\"0.000\">\n      \
                 <skipped message=\"not run: {}\"/>\n    </testcase>",
                escape::xml(&class_part(context.name)),
                escape::xml(&case.id),
                escape::xml(stopped.reason)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// A failure's message: the requirement and what actually happened.
fn junit_message(result: &CaseResult<'_>) -> String {
    let case = result.case;
    let mut message = format!(
        "{} ({}): \"{}\"; actual: {}",
        case.rfc,
        case.level,
        fold_whitespace(&case.quote),
        describe_outcomes(result)
    );
    for (_, _, step) in result.reading_steps() {
        for (check, problem) in step.verdict.iter().flat_map(|v| v.broken_checks()) {
            let _ = write!(
                message,
                "; broken check {check} ({}): {}",
                check.level(),
                escape::terminal(problem)
            );
        }
    }
    message
}

fn write_junit_case(
    out: &mut String,
    result: &CaseResult<'_>,
    classname: &str,
    context: &ReportContext<'_>,
) {
    let case = result.case;
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
        escape::xml(classname),
        escape::xml(&case.id),
        result.elapsed.as_secs_f64()
    );
    let message = escape::xml(&junit_message(result));
    let details = || {
        let mut details = String::new();
        write_text_details(&mut details, result, context);
        escape::xml_content(&details)
    };
    let body = match result.grade {
        Grade::Pass => None,
        Grade::Fail if is_known(result, context) => Some(format!(
            "<skipped message=\"known failure (baseline): {message}\"/>"
        )),
        Grade::Fail => Some(format!(
            "<failure message=\"{message}\" type=\"{}\">{}</failure>",
            case.level,
            details()
        )),
        Grade::Error => Some(format!(
            "<error message=\"{}\" type=\"harness\">{}</error>",
            escape::xml(&describe_outcomes(result)),
            details()
        )),
        Grade::Info => Some(format!(
            "<skipped message=\"info, never scored: {message}\"/>"
        )),
        Grade::Skip => Some(format!(
            "<skipped message=\"{}\"/>",
            escape::xml(result.skipped.as_deref().unwrap_or("skipped"))
        )),
        Grade::Warn => Some(format!(
            "<system-out>WARN {}: {}</system-out>",
            case.id,
            escape::xml_content(&junit_message(result))
        )),
    };
    match body {
        None => out.push_str("/>\n"),
        Some(body) => {
            let _ = writeln!(out, ">\n      {body}\n    </testcase>");
        }
    }
}

fn render_markdown(results: &[CaseResult<'_>], context: &ReportContext<'_>) -> String {
    let cell = escape::markdown_cell;
    let mut out = String::new();
    let _ = writeln!(out, "# Conformance: {}\n", cell(context.name));
    let _ = writeln!(
        out,
        "Target {}, {} cases, started {}, {:.1} s.\n",
        cell(context.target),
        results.len(),
        crate::date::format_rfc3339(context.run.started),
        context.run.wall.as_secs_f64()
    );
    if let Some(control) = context.control {
        let _ = writeln!(out, "{}\n", cell(&control.line()));
    }
    out.push_str("| grade | case | level | group | requirement | outcome |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for result in results {
        let case = result.case;
        let grade = if is_known(result, context) {
            "fail (known)".to_string()
        } else {
            result.grade.to_string()
        };
        let _ = writeln!(
            out,
            "| {grade} | `{}` | {} | {} | [{}]({}) | {} |",
            case.id,
            case.level,
            case.group,
            cell(&case.rfc),
            case.url,
            cell(&describe_outcomes(result))
        );
    }
    out.push('\n');
    out.push_str(
        "| group | pass | warn | fail | info | skip | error |\n|---|---|---|---|---|---|---|\n",
    );
    for (group, c) in group_counts(results) {
        let _ = writeln!(
            out,
            "| {group} | {} | {} | {} | {} | {} | {} |",
            c[0], c[1], c[2], c[3], c[4], c[5]
        );
    }
    if let Some(not_run) = &context.not_run {
        let ids: Vec<String> = not_run
            .cases
            .iter()
            .map(|c| format!("`{}`", c.id))
            .collect();
        let _ = writeln!(
            out,
            "\n{}: {}",
            cell(&not_run.line(results.len())),
            ids.join(", ")
        );
    }
    let causes = root_causes(results);
    if !causes.is_empty() {
        out.push_str(
            "\n## Root causes of the failures\n\n| cause | cases | ids |\n|---|---:|---|\n",
        );
        for cause in &causes {
            let ids: Vec<String> = cause.cases.iter().map(|id| format!("`{id}`")).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                cell(&cause.cause),
                cause.cases.len(),
                ids.join(", ")
            );
        }
    }
    let _ = writeln!(
        out,
        "\n**{}**",
        Summary::of(results, context.baseline).line()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(passed: usize, warned: usize, failed: usize, info: usize, errors: usize) -> Summary {
        Summary {
            passed,
            warned,
            failed,
            info,
            errors,
            ..Summary::default()
        }
    }

    #[test]
    fn summary_line_without_info_or_errors_then_three_counts() {
        assert_eq!(
            summary(3, 1, 0, 0, 0).line(),
            "3 passed, 1 warned, 0 failed"
        );
    }

    #[test]
    fn summary_line_with_info_or_errors_then_five_counts() {
        assert_eq!(
            summary(3, 1, 2, 1, 0).line(),
            "3 passed, 1 warned, 2 failed, 1 info, 0 errors"
        );
        assert_eq!(
            summary(0, 0, 0, 0, 2).line(),
            "0 passed, 0 warned, 0 failed, 0 info, 2 errors"
        );
    }

    #[test]
    fn summary_line_with_skips_then_skip_count_last() {
        let skipped = Summary {
            skipped: 4,
            ..summary(3, 0, 0, 0, 0)
        };
        assert_eq!(skipped.line(), "3 passed, 0 warned, 0 failed, 4 skipped");
        assert!(skipped.graded_any());
    }

    #[test]
    fn only_skips_and_errors_then_nothing_graded() {
        let nothing = Summary {
            skipped: 4,
            ..summary(0, 0, 0, 0, 2)
        };
        assert!(!nothing.graded_any());
        assert!(summary(0, 0, 0, 1, 0).graded_any());
    }

    use crate::run::StepResult;
    use crate::verdict::StepVerdict;
    use crate::wire::Exchange;

    fn case(id: &str) -> Case {
        case_passing(id, "400")
    }

    /// A `must` case whose one step passes `pass`.
    fn case_passing(id: &str, pass: &str) -> Case {
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
    fn result(case: &Case, outcome: Outcome, grade: Grade, seconds: u64) -> CaseResult<'_> {
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
                }),
            }],
            skipped: None,
            elapsed: Duration::from_secs(seconds),
        }
    }

    fn run_info(wall: Duration) -> RunInfo {
        RunInfo {
            started: std::time::UNIX_EPOCH + Duration::from_secs(784_111_777),
            wall,
            settings: Settings {
                path: "/".into(),
                host: "localhost".into(),
                fixture_root: false,
                jobs: 1,
                timeout_ms: 1000,
                filter: Vec::new(),
                group: Vec::new(),
                id: Vec::new(),
                exclude: Vec::new(),
                level: None,
                fail_on: Level::Must,
                deadline_s: None,
                baseline: None,
                cases_dir: None,
            },
        }
    }

    #[test]
    fn junit_harness_error_then_error_element_and_wall_time_not_the_sum() {
        let (a, b) = (case("rfc9112-3.2-a"), case("rfc9112-3.2-b"));
        let results = [
            result(
                &a,
                Outcome::Error("connection refused".into()),
                Grade::Error,
                5,
            ),
            result(&b, Outcome::Timeout, Grade::Fail, 5),
        ];
        let run = run_info(Duration::from_millis(5250));
        let context = ReportContext {
            name: "t",
            target: "127.0.0.1:1",
            baseline: None,
            control: None,
            run: &run,
            not_run: None,
        };
        let xml = render(Format::Junit, &results, &context);
        let lines: Vec<&str> = xml.lines().collect();
        assert_eq!(
            lines[1],
            "<testsuites name=\"t\" tests=\"2\" failures=\"1\" errors=\"1\" time=\"5.250\">"
        );
        assert_eq!(
            lines[2],
            "  <testsuite name=\"host\" tests=\"2\" failures=\"1\" errors=\"1\" skipped=\"0\" \
             timestamp=\"1994-11-06T08:49:37.000Z\">"
        );
        assert!(
            xml.contains(
                "<error message=\"error: connection refused\" type=\"harness\">ERROR rfc9112-3.2-a"
            ),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<failure message=\"RFC 9112 §3.2 (must): &quot;Q.&quot;; actual: timeout\" \
                 type=\"must\">FAIL rfc9112-3.2-b"
            ),
            "{xml}"
        );
    }

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

    #[test]
    fn class_part_then_no_dots() {
        assert_eq!(class_part("127.0.0.1:8080"), "127_0_0_1_8080");
    }
}
