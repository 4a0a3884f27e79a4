//! Rendering a run: text for people, JSON for tools, JUnit for CI, Markdown
//! for pages.

use crate::baseline::Baseline;
use crate::case::{Case, Expect, Group};
use crate::control::Control;
use crate::escape;
use crate::limits::SHOWN_BYTES;
use crate::run::CaseResult;
use crate::verdict::Grade;
use crate::wire::Outcome;
use serde::Serialize;
use std::fmt::Write as _;

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

/// What a case got, one phrase per reading step: `400 Bad Request | closed`;
/// for a skipped case, `skipped: ` and the reason.
pub fn describe_outcomes(result: &CaseResult<'_>) -> String {
    if let Some(reason) = &result.skipped {
        return format!("skipped: {reason}");
    }
    let outcomes: Vec<String> = result
        .reading_steps()
        .map(|(_, _, step)| {
            step.exchange
                .outcome
                .as_ref()
                .map_or_else(|| "-".to_string(), Outcome::to_string)
        })
        .collect();
    outcomes.join(" | ")
}

/// The acceptable outcomes and checks of a step: `pass 400; warn close;
/// checks date (must), closed (must)`.
pub fn describe_expect(expect: &Expect) -> String {
    let list = |tokens: &[crate::case::Token]| {
        tokens
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!("pass {}", list(&expect.pass));
    if !expect.warn.is_empty() {
        let _ = write!(text, "; warn {}", list(&expect.warn));
    }
    if !expect.checks.is_empty() {
        let checks: Vec<String> = expect
            .checks
            .iter()
            .map(|c| format!("{c} ({})", c.level()))
            .collect();
        let _ = write!(text, "; checks {}", checks.join(", "));
    }
    text
}

fn is_known(result: &CaseResult<'_>, context: &ReportContext<'_>) -> bool {
    result.grade == Grade::Fail
        && context
            .baseline
            .is_some_and(|b| b.contains(&result.case.id))
}

fn render_text(results: &[CaseResult<'_>], context: &ReportContext<'_>) -> String {
    let mut out = String::new();
    let cases = match results.len() {
        1 => "1 case".to_string(),
        n => format!("{n} cases"),
    };
    let _ = if context.name == context.target {
        writeln!(out, "conformance of {}, {cases}", context.target)
    } else {
        writeln!(
            out,
            "conformance of {} ({}), {cases}",
            context.name, context.target
        )
    };
    if let Some(control) = context.control {
        let _ = writeln!(out, "{}", control.line());
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
                "    write stopped after {} bytes: {error}",
                exchange.written
            );
        }
        if let Some(expect) = &step.expect {
            let _ = writeln!(out, "    acceptable: {}", describe_expect(expect));
        }
        if let Some(outcome) = &exchange.outcome {
            let _ = writeln!(out, "    actual: {outcome}");
        }
        if let Some(verdict) = &step_result.verdict {
            let _ = writeln!(out, "    grade: {}", verdict.grade);
            for (check, problem) in verdict.broken_checks() {
                let _ = writeln!(
                    out,
                    "    broken check {check} ({}): {problem}",
                    check.level()
                );
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

/// Runs of whitespace (line breaks included) folded to one space.
pub(crate) fn fold_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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
    name: &'a str,
    target: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    control: Option<JsonControl<'a>>,
    summary: Summary,
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
        }
    }
}

#[derive(Serialize)]
struct JsonCase<'a> {
    id: &'a str,
    title: &'a str,
    group: Group,
    level: crate::case::Level,
    rfc: &'a str,
    url: &'a str,
    grade: Grade,
    known_failure: bool,
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
    matched: Option<crate::verdict::Matched>,
    checks: Vec<JsonCheck>,
    received: String,
    received_total: u64,
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
    level: crate::case::Level,
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

fn render_json(results: &[CaseResult<'_>], context: &ReportContext<'_>) -> String {
    let cases = results
        .iter()
        .map(|result| {
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
                elapsed_ms: result.elapsed.as_millis(),
                outcome: describe_outcomes(result),
                steps,
            }
        })
        .collect();
    let report = JsonReport {
        name: context.name,
        target: context.target,
        control: context.control.map(JsonControl::of),
        summary: Summary::of(results, context.baseline),
        cases,
        not_run: context.not_run.map(|n| JsonNotRun {
            reason: n.reason,
            ids: n.cases.iter().map(|c| c.id.as_str()).collect(),
        }),
    };
    match serde_json::to_string_pretty(&report) {
        Ok(mut text) => {
            text.push('\n');
            text
        }
        // Only a non-string map key can fail here, and there is none.
        Err(e) => format!("{{\"error\": \"{e}\"}}\n"),
    }
}

/// Escapes text for XML attribute values and content. Characters XML 1.0
/// cannot carry at all (most C0 controls) are written as `\xHH`.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
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

fn render_junit(results: &[CaseResult<'_>], context: &ReportContext<'_>) -> String {
    let seconds = |r: &CaseResult<'_>| r.elapsed.as_secs_f64();
    let summary = Summary::of(results, context.baseline);
    let not_run = context.not_run.map_or(0, |n| n.cases.len());
    let skipped = summary.info + summary.skipped + summary.known.len() + not_run;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        xml_escape(context.name),
        results.len() + not_run,
        summary.regressions.len(),
        summary.errors,
        skipped,
        results.iter().map(seconds).sum::<f64>()
    );
    for group in Group::ALL {
        let members: Vec<_> = results.iter().filter(|r| r.case.group == group).collect();
        if members.is_empty() {
            continue;
        }
        let count =
            |pred: &dyn Fn(&CaseResult<'_>) -> bool| members.iter().filter(|r| pred(r)).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            group,
            members.len(),
            count(&|r| r.grade == Grade::Fail && !is_known(r, context)),
            count(&|r| r.grade == Grade::Error),
            count(&|r| matches!(r.grade, Grade::Info | Grade::Skip) || is_known(r, context)),
            members.iter().map(|r| seconds(r)).sum::<f64>()
        );
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
            "  <testsuite name=\"not-run\" tests=\"{not_run}\" failures=\"0\" errors=\"0\" skipped=\"{not_run}\" time=\"0.000\">"
        );
        for case in stopped.cases {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}.not-run\" name=\"{}\" time=\"0.000\">\n      <skipped message=\"not run: {}\"/>\n    </testcase>",
                xml_escape(&class_part(context.name)),
                xml_escape(&case.id),
                xml_escape(stopped.reason)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
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
        xml_escape(classname),
        xml_escape(&case.id),
        result.elapsed.as_secs_f64()
    );
    let outcome = describe_outcomes(result);
    let message = format!("{} ({}): got {outcome}", case.rfc, case.level);
    let mut details = String::new();
    write_text_details(&mut details, result, context);
    let body = match result.grade {
        Grade::Pass => None,
        Grade::Fail if is_known(result, context) => Some(format!(
            "<skipped message=\"known failure (baseline): {}\"/>",
            xml_escape(&message)
        )),
        Grade::Fail => Some(format!(
            "<failure message=\"{}\" type=\"{}\">{}</failure>",
            xml_escape(&message),
            case.level,
            xml_escape(&details)
        )),
        Grade::Error => Some(format!(
            "<error message=\"{}\" type=\"harness\">{}</error>",
            xml_escape(&outcome),
            xml_escape(&details)
        )),
        Grade::Info => Some(format!(
            "<skipped message=\"info: {}\"/>",
            xml_escape(&message)
        )),
        Grade::Skip => Some(format!("<skipped message=\"{}\"/>", xml_escape(&outcome))),
        Grade::Warn => Some(format!(
            "<system-out>warn: {}</system-out>",
            xml_escape(&message)
        )),
    };
    match body {
        None => out.push_str("/>\n"),
        Some(body) => {
            let _ = writeln!(out, ">\n      {body}\n    </testcase>");
        }
    }
}

/// Escapes text for a Markdown table cell.
pub(crate) fn md_cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

fn render_markdown(results: &[CaseResult<'_>], context: &ReportContext<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Conformance: {}\n", md_cell(context.name));
    let _ = writeln!(
        out,
        "Target `{}`, {} cases.\n",
        md_cell(context.target),
        results.len()
    );
    if let Some(control) = context.control {
        let _ = writeln!(out, "{}\n", md_cell(&control.line()));
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
            md_cell(&case.rfc),
            case.url,
            md_cell(&describe_outcomes(result))
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
            md_cell(&not_run.line(results.len())),
            ids.join(", ")
        );
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

    #[test]
    fn xml_special_and_control_characters_then_escaped() {
        assert_eq!(
            xml_escape("a<b>&\"'\u{1}\n"),
            "a&lt;b&gt;&amp;&quot;&apos;\\x01\n"
        );
    }

    #[test]
    fn markdown_pipes_then_escaped() {
        assert_eq!(md_cell("200 OK | closed\n"), "200 OK \\| closed ");
    }

    #[test]
    fn class_part_then_no_dots() {
        assert_eq!(class_part("127.0.0.1:8080"), "127_0_0_1_8080");
    }
}
