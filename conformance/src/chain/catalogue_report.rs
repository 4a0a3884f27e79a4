//! The ordinary catalogue through a front, for people and for tools: text,
//! Markdown, JSON and JUnit. Each case names the hop that answered it —
//! `front`, `origin`, `pair` or `unknown` — each finding its hop and the
//! bytes on each side, escaped; the reports end with the cases and the
//! findings counted by hop.

use super::catalogue::{Attributed, Found};
use super::model::Hop;
use super::report::{
    is_known_id, junit_head, junit_tail, tally, write_finding, write_junit_case,
    write_markdown_finding, write_not_run, write_notes, ChainContext,
};
use crate::case::Level;
use crate::escape;
use crate::report::describe::fold_whitespace;
use crate::report::{Format, Summary};
use crate::rules::check_rules;
use crate::run::CaseResult;
use crate::verdict::Grade;
use serde::Serialize;
use std::fmt::Write as _;

/// The name of a hop in reports; `unknown` where no answer could be
/// attributed.
pub fn hop_name(hop: Option<Hop>) -> &'static str {
    hop.map_or("unknown", Hop::as_str)
}

/// The client's side of each result, as `run` reports count them.
pub fn case_results<'c>(results: &[Attributed<'c>]) -> Vec<CaseResult<'c>> {
    results.iter().map(|r| r.result.clone()).collect()
}

fn is_known(result: &Attributed<'_>, context: &ChainContext<'_>) -> bool {
    result.result.grade == Grade::Fail && is_known_id(&result.result.case.id, context.baseline)
}

/// The finding a case line leads with: a desync first, then the first
/// finding that made the case's grade.
pub fn headline<'r>(result: &'r Attributed<'_>) -> Option<&'r Found> {
    let graded = |f: &&Found| f.grade == result.result.grade;
    result
        .findings
        .iter()
        .filter(graded)
        .find(|f| f.hop == Some(Hop::Pair))
        .or_else(|| result.findings.iter().find(graded))
        .or(result.findings.first())
}

/// What a case line says after the id: its headline finding, else what
/// passed between the hops at each reading step.
pub fn case_line(result: &Attributed<'_>) -> String {
    if let Some(reason) = &result.result.skipped {
        return format!("skipped: {}", escape::terminal(reason));
    }
    if let Some(finding) = headline(result) {
        let more = match result.findings.len() {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        return format!(
            "{}: {}{more}",
            hop_name(finding.hop),
            escape::terminal(&finding.what)
        );
    }
    let stories: Vec<String> = result
        .steps
        .iter()
        .map(|s| escape::terminal(&s.story))
        .collect();
    stories.join(" | ")
}

/// `front 160, origin 223, pair 0, unknown 12`: the graded cases by the
/// hop that answered the step deciding their grade.
pub fn case_hops(results: &[Attributed<'_>]) -> String {
    counts(
        results
            .iter()
            .filter(|r| r.result.skipped.is_none())
            .map(|r| r.hop),
    )
}

/// `front 2, origin 1, pair 1, unknown 0`: the findings by hop.
pub fn finding_hops(results: &[Attributed<'_>]) -> String {
    counts(results.iter().flat_map(|r| &r.findings).map(|f| f.hop))
}

fn counts(hops: impl Iterator<Item = Option<Hop>> + Clone) -> String {
    tally(
        &[Some(Hop::Front), Some(Hop::Origin), Some(Hop::Pair), None],
        hops,
        hop_name,
    )
}

fn requirement(result: &Attributed<'_>) -> String {
    let case = result.result.case;
    format!("{} ({}) {}", case.rfc, case.level, case.url)
}

/// Renders the catalogue run in `format`.
pub fn render(format: Format, results: &[Attributed<'_>], context: &ChainContext<'_>) -> String {
    match format {
        Format::Text => render_text(results, context),
        Format::Markdown => render_markdown(results, context),
        Format::Json => render_json(results, context),
        Format::Junit => render_junit(results, context),
    }
}

/// The text report.
pub fn render_text(results: &[Attributed<'_>], context: &ChainContext<'_>) -> String {
    let mut out = String::new();
    let name = if context.name == context.front {
        String::new()
    } else {
        format!("{} ", escape::terminal(context.name))
    };
    let _ = writeln!(
        out,
        "conformance chain --catalogue of {name}front {}, origin {} serving the fixture \
         docroot, {}",
        escape::terminal(context.front),
        context.origin,
        match results.len() {
            1 => "1 case".to_string(),
            n => format!("{n} cases"),
        }
    );
    if let Some(control) = context.control {
        let _ = writeln!(out, "{}", escape::terminal(control));
    }
    let width = results
        .iter()
        .map(|r| r.result.case.id.len())
        .max()
        .unwrap_or(0);
    for result in results {
        let known = if is_known(result, context) {
            "  (known)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:<5} {:<width$}  {}{known}",
            result.result.grade.as_str().to_uppercase(),
            result.result.case.id,
            case_line(result)
        );
    }
    write_not_run(&mut out, context, results.len());
    let details: Vec<_> = results
        .iter()
        .filter(|r| matches!(r.result.grade, Grade::Fail | Grade::Error | Grade::Warn))
        .collect();
    if !details.is_empty() {
        out.push_str("\nfindings:\n");
        for result in details {
            out.push('\n');
            write_details(&mut out, result, context);
        }
    }
    let cases = case_results(results);
    let summary = write_notes(&mut out, &cases, context);
    let _ = writeln!(out, "\ncases by hop: {}", case_hops(results));
    let _ = writeln!(out, "findings by hop: {}", finding_hops(results));
    let _ = writeln!(out, "{}", summary.line());
    out
}

/// One case in full: the requirement, each finding with its bytes, and
/// what passed between the hops at each step.
pub fn write_details(out: &mut String, result: &Attributed<'_>, context: &ChainContext<'_>) {
    let case = result.result.case;
    let known = if is_known(result, context) {
        " (known failure)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "{} {}{known}: {}",
        result.result.grade.as_str().to_uppercase(),
        case.id,
        case.title
    );
    let _ = writeln!(out, "  requirement: {}", requirement(result));
    let _ = writeln!(out, "    \"{}\"", fold_whitespace(&case.quote));
    for finding in &result.findings {
        write_finding(
            out,
            hop_name(finding.hop),
            finding.grade,
            &finding.what,
            &finding.evidence,
        );
    }
    for (number, _, step) in result.result.reading_steps() {
        if let Some(crate::wire::Outcome::Error(why)) = &step.exchange.outcome {
            let _ = writeln!(out, "  error in step {number}: {}", escape::terminal(why));
        }
    }
}

/// The Markdown report: one table row per case with its hop, the findings
/// of each failure below.
pub fn render_markdown(results: &[Attributed<'_>], context: &ChainContext<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# The catalogue through {}\n\nFront `{}`, origin `{}` serving the fixture docroot.\n",
        escape::markdown_cell(context.name),
        escape::markdown_cell(context.front),
        context.origin
    );
    if let Some(control) = context.control {
        let _ = writeln!(out, "{}\n", escape::markdown_cell(control));
    }
    out.push_str("| grade | case | hop | what |\n|---|---|---|---|\n");
    for result in results {
        let hop = if result.result.skipped.is_some() {
            ""
        } else {
            hop_name(result.hop)
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {hop} | {} |",
            result.result.grade.as_str().to_uppercase(),
            result.result.case.id,
            escape::markdown_cell(&case_line(result))
        );
    }
    let failed: Vec<_> = results.iter().filter(|r| !r.findings.is_empty()).collect();
    if !failed.is_empty() {
        out.push_str("\n## Findings\n");
        for result in failed {
            let _ = writeln!(
                out,
                "\n### `{}`\n\n{}: \"{}\"\n",
                result.result.case.id,
                escape::markdown_cell(&requirement(result)),
                escape::markdown_cell(&fold_whitespace(&result.result.case.quote))
            );
            for finding in &result.findings {
                write_markdown_finding(
                    &mut out,
                    hop_name(finding.hop),
                    finding.grade,
                    &finding.what,
                    &finding.evidence,
                );
            }
        }
    }
    let cases = case_results(results);
    let _ = writeln!(
        out,
        "\n{}; cases by hop: {}; findings by hop: {}",
        Summary::of(&cases, context.baseline).line(),
        case_hops(results),
        finding_hops(results)
    );
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    tool: &'static str,
    mode: &'static str,
    name: &'a str,
    front: &'a str,
    origin: &'a str,
    control: Option<&'a str>,
    started: String,
    wall_ms: u128,
    cases: Vec<JsonCase<'a>>,
    not_run: Option<JsonNotRun<'a>>,
    rules: Vec<JsonRule>,
    summary: JsonSummary,
}

#[derive(Serialize)]
struct JsonNotRun<'a> {
    reason: &'a str,
    cases: &'a [String],
}

#[derive(Serialize)]
struct JsonCase<'a> {
    id: &'a str,
    title: &'a str,
    rfc: &'a str,
    url: &'a str,
    level: Level,
    grade: Grade,
    known: bool,
    token: &'a str,
    skipped: Option<&'a str>,
    /// The case's hop: `front`, `origin`, `pair`, or `unknown`.
    hop: Option<&'static str>,
    steps: Vec<JsonStep<'a>>,
    outcome: String,
    findings: Vec<JsonFinding<'a>>,
    origin_received: Vec<JsonArrival>,
}

#[derive(Serialize)]
struct JsonStep<'a> {
    step: usize,
    hop: &'static str,
    /// The request the answer is the origin's answer to, as received.
    origin_received: Option<String>,
    /// The head of the origin's answer to it, as written.
    origin_answered: Option<String>,
    story: &'a str,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    hop: &'static str,
    grade: Grade,
    what: &'a str,
    evidence: Vec<JsonEvidence<'a>>,
}

#[derive(Serialize)]
struct JsonEvidence<'a> {
    label: &'a str,
    /// The bytes in the case notation.
    bytes: String,
}

#[derive(Serialize)]
struct JsonArrival {
    connection: usize,
    index: usize,
    head: String,
    strict_error: Option<String>,
    answered: Option<String>,
}

#[derive(Serialize)]
struct JsonRule {
    id: &'static str,
    grade: Grade,
    checked: usize,
    broken: usize,
}

#[derive(Serialize)]
struct JsonSummary {
    passed: usize,
    warned: usize,
    failed: usize,
    info: usize,
    errors: usize,
    skipped: usize,
    known: Vec<String>,
    regressions: Vec<String>,
    fixed: Vec<String>,
    cases_by_hop: String,
    findings_by_hop: String,
    line: String,
}

fn json_case<'a>(r: &'a Attributed<'_>, context: &ChainContext<'_>) -> JsonCase<'a> {
    let arrivals = &r.taken.recording.arrivals;
    let answer = |i: usize| r.taken.answers.get(i).cloned().flatten();
    JsonCase {
        id: &r.result.case.id,
        title: &r.result.case.title,
        rfc: &r.result.case.rfc,
        url: &r.result.case.url,
        level: r.result.case.level,
        grade: r.result.grade,
        known: is_known(r, context),
        token: &r.token,
        skipped: r.result.skipped.as_deref(),
        hop: r.result.skipped.is_none().then(|| hop_name(r.hop)),
        steps: r
            .steps
            .iter()
            .map(|s| JsonStep {
                step: s.step,
                hop: hop_name(s.hop),
                origin_received: s.arrival.map(|i| escape::encode(&arrivals[i].head.raw)),
                origin_answered: s.arrival.and_then(answer).map(|head| escape::encode(&head)),
                story: &s.story,
            })
            .collect(),
        outcome: case_line(r),
        findings: r
            .findings
            .iter()
            .map(|f| JsonFinding {
                hop: hop_name(f.hop),
                grade: f.grade,
                what: &f.what,
                evidence: f
                    .evidence
                    .iter()
                    .map(|e| JsonEvidence {
                        label: &e.label,
                        bytes: escape::encode(&e.bytes),
                    })
                    .collect(),
            })
            .collect(),
        origin_received: arrivals
            .iter()
            .enumerate()
            .map(|(i, a)| JsonArrival {
                connection: a.connection,
                index: a.index,
                head: escape::encode(&a.head.raw),
                strict_error: a.head.strict_error.clone(),
                answered: answer(i).map(|head| escape::encode(&head)),
            })
            .collect(),
    }
}

/// The JSON report: every case with its hop, each step's hop with what the
/// origin received and answered, and the counts by hop.
pub fn render_json(results: &[Attributed<'_>], context: &ChainContext<'_>) -> String {
    let cases = case_results(results);
    let summary = Summary::of(&cases, context.baseline);
    let report = JsonReport {
        tool: env!("CONFORMANCE_VERSION"),
        mode: "chain-catalogue",
        name: context.name,
        front: context.front,
        origin: context.origin,
        control: context.control,
        started: crate::date::format_rfc3339(context.started),
        wall_ms: context.wall.as_millis(),
        cases: results.iter().map(|r| json_case(r, context)).collect(),
        not_run: context
            .not_run
            .map(|(reason, cases)| JsonNotRun { reason, cases }),
        rules: check_rules(&cases)
            .iter()
            .map(|r| JsonRule {
                id: r.rule.id,
                grade: r.grade,
                checked: r.checked,
                broken: r.broken,
            })
            .collect(),
        summary: JsonSummary {
            passed: summary.passed,
            warned: summary.warned,
            failed: summary.failed,
            info: summary.info,
            errors: summary.errors,
            skipped: summary.skipped,
            line: summary.line(),
            known: summary.known,
            regressions: summary.regressions,
            fixed: summary.fixed,
            cases_by_hop: case_hops(results),
            findings_by_hop: finding_hops(results),
        },
    };
    escape::json_text(&report)
}

/// The JUnit report: one test suite, one test case per case named by its
/// id, its hop in the message, its findings (hop first) as the failure.
pub fn render_junit(results: &[Attributed<'_>], context: &ChainContext<'_>) -> String {
    let cases = case_results(results);
    let summary = Summary::of(&cases, context.baseline);
    let properties = [
        ("cases by hop", case_hops(results)),
        ("findings by hop", finding_hops(results)),
    ];
    let properties: Vec<(&str, &str)> = properties.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let mut out = junit_head(
        "chain-catalogue",
        results.len(),
        &summary,
        context,
        &properties,
    );
    for result in results {
        let mut details = String::new();
        write_details(&mut details, result, context);
        write_junit_case(
            &mut out,
            "chain-catalogue",
            result.result.case,
            &result.result,
            is_known(result, context),
            &details,
            &case_line(result),
            true,
        );
    }
    junit_tail(&mut out, "chain-catalogue", context);
    out
}
