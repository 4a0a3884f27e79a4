//! The JSON report, for tools: everything a run learned, in the layout
//! `docs/report.schema.json` describes.

use super::cause::{root_causes, RootCause};
use super::describe::{describe_expect, describe_outcomes};
use super::summary::Summary;
use super::{is_known, is_known_rule, listed, ReportContext, Settings};
use crate::case::{Case, Group, Level};
use crate::control::Control;
use crate::escape;
use crate::limits::RECORD_LIMIT;
use crate::rules::{check_rules, RuleResult};
use crate::run::CaseResult;
use crate::verdict::{Grade, Matched};
use crate::wire::Outcome;
use serde::Serialize;

/// The version of the JSON report's layout (`docs/report.schema.json`):
/// raised when a field changes meaning or goes; new fields keep it.
const JSON_FORMAT_VERSION: u32 = 1;

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
    rules: Vec<JsonRule>,
    root_causes: Vec<RootCause>,
    cases: Vec<JsonCase<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_run: Option<JsonNotRun<'a>>,
}

/// A response rule over the run, as the JSON report gives it.
#[derive(Serialize)]
struct JsonRule {
    id: &'static str,
    level: Level,
    rfc: &'static str,
    title: &'static str,
    quote: &'static str,
    grade: Grade,
    known_failure: bool,
    checked: usize,
    broken: usize,
    first: Vec<JsonBreach>,
}

/// Where a rule was broken: the case, and the problem, escaped.
#[derive(Serialize)]
struct JsonBreach {
    case: String,
    problem: String,
}

impl JsonRule {
    fn of(rule: RuleResult, context: &ReportContext<'_>) -> Self {
        JsonRule {
            id: rule.rule.id,
            level: rule.rule.level,
            rfc: rule.rule.rfc,
            title: rule.rule.title,
            quote: rule.rule.quote,
            grade: rule.grade,
            known_failure: is_known_rule(&rule, context),
            checked: rule.checked,
            broken: rule.broken,
            first: rule
                .first
                .into_iter()
                .map(|b| JsonBreach {
                    case: b.case,
                    problem: b.problem,
                })
                .collect(),
        }
    }
}

/// The cases a stopped run never started, as the JSON report gives them.
#[derive(Serialize)]
struct JsonNotRun<'a> {
    reason: &'a str,
    ids: Vec<&'a str>,
    interrupted: Vec<&'a str>,
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
    server: Option<&'a str>,
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
            server: c.server.as_deref(),
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
    /// The first [`RECORD_LIMIT`] bytes sent, in the case notation.
    sent: Option<String>,
    /// How many bytes the step was to send.
    sent_total: Option<usize>,
    written: usize,
    write_error: Option<String>,
    expect: Option<String>,
    outcome: Option<JsonOutcome>,
    grade: Option<Grade>,
    matched: Option<Matched>,
    /// The permission a lenient outcome passed by, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed: Option<String>,
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
                sent: step_result.sent.as_deref().map(sent_record),
                sent_total: step_result.sent.as_ref().map(Vec::len),
                written: exchange.written,
                write_error: exchange.write_error.clone(),
                expect: step.expect.as_ref().map(describe_expect),
                outcome: exchange.outcome.as_ref().map(json_outcome),
                grade: verdict.map(|v| v.grade),
                matched: verdict.map(|v| v.matched),
                allowed: verdict.and_then(|v| v.allowed.clone()),
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

/// What a step sent, as the report keeps it: the first [`RECORD_LIMIT`]
/// bytes (as many as of what it received), in the case notation; a case
/// may send megabytes, and `sent_total` counts them.
fn sent_record(sent: &[u8]) -> String {
    escape::encode(&sent[..sent.len().min(RECORD_LIMIT)])
}

/// The JSON report.
pub(super) fn render_json(results: &[CaseResult<'_>], context: &ReportContext<'_>) -> String {
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
        rules: check_rules(results)
            .into_iter()
            .map(|r| JsonRule::of(r, context))
            .collect(),
        root_causes: root_causes(results),
        cases: listed(results, context)
            .into_iter()
            .map(|r| json_case(r, context))
            .collect(),
        not_run: context.not_run.map(|n| JsonNotRun {
            reason: n.reason,
            ids: n.cases.iter().map(|c| c.id.as_str()).collect(),
            interrupted: n.interrupted.iter().map(|c| c.id.as_str()).collect(),
        }),
    };
    escape::json_text(&report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_request_then_sent_bounded_to_the_record_limit_in_the_notation() {
        let mut sent = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        sent.resize(70_000, b'a');
        let record = sent_record(&sent);
        assert_eq!(
            record.len(),
            RECORD_LIMIT + 2,
            "CR and LF are written in two characters each"
        );
        assert_eq!(escape::decode(&record).unwrap(), sent[..RECORD_LIMIT]);
        assert_eq!(sent_record(b"{\"ok\":true}"), "\\x7b\"ok\":true}");
    }
}
