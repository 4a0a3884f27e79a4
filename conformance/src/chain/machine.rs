//! A chain run for tools: JSON, and JUnit XML for CI. Every byte from a
//! peer is written in the case notation (escaped), each finding with its hop.

use super::model::{Finding, Hop, Role};
use super::report::{
    case_line, case_results, hop_counts, is_known, junit_head, junit_tail, write_details,
    write_junit_case, ChainContext,
};
use super::run::ChainResult;
use crate::case::Level;
use crate::escape;
use crate::report::Summary;
use crate::rules::check_rules;
use crate::verdict::Grade;
use serde::Serialize;

#[derive(Serialize)]
struct JsonReport<'a> {
    tool: &'static str,
    mode: &'static str,
    name: &'a str,
    front: &'a str,
    origin: &'a str,
    roles: &'a [Role],
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
    role: Role,
    grade: Grade,
    known: bool,
    token: &'a str,
    skipped: Option<&'a str>,
    answered_by: Vec<Option<Hop>>,
    outcome: String,
    findings: Vec<JsonFinding<'a>>,
    origin_received: Vec<JsonArrival>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    hop: Hop,
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
    by_hop: String,
    line: String,
}

fn finding(f: &Finding) -> JsonFinding<'_> {
    JsonFinding {
        hop: f.hop,
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
    }
}

/// The JSON report.
pub fn render_json(results: &[ChainResult<'_>], context: &ChainContext<'_>) -> String {
    let cases = case_results(results);
    let summary = Summary::of(&cases, context.baseline);
    let report = JsonReport {
        tool: env!("CONFORMANCE_VERSION"),
        mode: "chain",
        name: context.name,
        front: context.front,
        origin: context.origin,
        roles: context.roles,
        control: context.control,
        started: crate::date::format_rfc3339(context.started),
        wall_ms: context.wall.as_millis(),
        cases: results
            .iter()
            .map(|r| JsonCase {
                id: &r.chain.case.id,
                title: &r.chain.case.title,
                rfc: &r.chain.case.rfc,
                url: &r.chain.case.url,
                level: r.chain.case.level,
                role: r.chain.role,
                grade: r.result.grade,
                known: is_known(r, context.baseline),
                token: &r.token,
                skipped: r.result.skipped.as_deref(),
                answered_by: r.answered_by.clone(),
                outcome: case_line(r),
                findings: r.findings.iter().map(finding).collect(),
                origin_received: r
                    .recording
                    .arrivals
                    .iter()
                    .map(|a| JsonArrival {
                        connection: a.connection,
                        index: a.index,
                        head: escape::encode(&a.head.raw),
                        strict_error: a.head.strict_error.clone(),
                    })
                    .collect(),
            })
            .collect(),
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
            by_hop: hop_counts(results),
        },
    };
    escape::json_text(&report)
}

/// The JUnit report: one test suite, one test case per chain case named
/// by its id, its findings (hop first) as the failure.
pub fn render_junit(results: &[ChainResult<'_>], context: &ChainContext<'_>) -> String {
    let cases = case_results(results);
    let summary = Summary::of(&cases, context.baseline);
    let mut out = junit_head("chain", results.len(), &summary, context, &[]);
    for result in results {
        let mut details = String::new();
        write_details(&mut details, result, context);
        write_junit_case(
            &mut out,
            "chain",
            &result.chain.case,
            &result.result,
            is_known(result, context.baseline),
            &details,
            &case_line(result),
            false,
        );
    }
    junit_tail(&mut out, "chain", context);
    out
}
