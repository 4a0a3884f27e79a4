//! A chain run for people: the text report and the Markdown one. Each case
//! line and each finding names its hop; each failure shows the bytes on
//! each side, escaped. Also the pieces the chain reports and the catalogue
//! reports share: findings with their evidence, the closing notes, the
//! counts by hop and the JUnit suite around the cases.

use super::model::{Evidence, Finding, Hop, Role};
use super::run::ChainResult;
use crate::baseline::Baseline;
use crate::case::Case;
use crate::escape;
use crate::limits::SHOWN_BYTES;
use crate::report::describe::{describe_outcome, fold_whitespace};
use crate::report::Summary;
use crate::rules::{check_rules, RuleResult};
use crate::run::CaseResult;
use crate::verdict::Grade;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

/// What a chain report needs besides the results.
#[derive(Debug, Clone, Copy)]
pub struct ChainContext<'a> {
    /// A name for the front (`--name`, else its address).
    pub name: &'a str,
    /// The front's address as given.
    pub front: &'a str,
    /// The origin's address, as bound.
    pub origin: &'a str,
    /// The roles the front was taken for.
    pub roles: &'a [Role],
    /// The control's line, when it ran.
    pub control: Option<&'a str>,
    /// Known failures.
    pub baseline: Option<&'a Baseline>,
    /// Why the run stopped early, and the ids of the cases never started.
    pub not_run: Option<(&'a str, &'a [String])>,
    /// When the first case started.
    pub started: SystemTime,
    /// How long the cases took.
    pub wall: Duration,
}

/// The client's side of each result, as `run` reports count them.
pub fn case_results<'c>(results: &[ChainResult<'c>]) -> Vec<CaseResult<'c>> {
    results.iter().map(|r| r.result.clone()).collect()
}

/// Whether a result is a failure the baseline lists.
pub(crate) fn is_known(result: &ChainResult<'_>, baseline: Option<&Baseline>) -> bool {
    result.result.grade == Grade::Fail && is_known_id(&result.chain.case.id, baseline)
}

/// Whether the baseline lists the case `id`.
pub(crate) fn is_known_id(id: &str, baseline: Option<&Baseline>) -> bool {
    baseline.is_some_and(|b| b.contains(id))
}

/// The finding a case line leads with: a desync first, as the gravest,
/// then the first finding that made the case's grade.
pub fn headline<'r>(result: &'r ChainResult<'_>) -> Option<&'r Finding> {
    let graded = |f: &&Finding| f.grade == result.result.grade;
    result
        .findings
        .iter()
        .filter(graded)
        .find(|f| f.hop == Hop::Pair)
        .or_else(|| result.findings.iter().find(graded))
        .or(result.findings.first())
}

/// What a case line says after the id: its headline finding, else who
/// answered each step and what.
pub fn case_line(result: &ChainResult<'_>) -> String {
    if let Some(reason) = &result.result.skipped {
        return format!("skipped: {}", escape::terminal(reason));
    }
    if let Some(finding) = headline(result) {
        let more = match result.findings.len() {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        return format!("{}: {}{more}", finding.hop, escape::terminal(&finding.what));
    }
    let answers: Vec<String> = result
        .result
        .reading_steps()
        .zip(&result.answered_by)
        .map(|((_, _, step), hop)| {
            let outcome = step
                .exchange
                .outcome
                .as_ref()
                .map_or_else(|| "-".to_string(), describe_outcome);
            match hop {
                Some(hop) => format!("{hop}: {outcome}"),
                None => outcome,
            }
        })
        .collect();
    answers.join(" | ")
}

/// The requirement of a case, with the role it binds.
fn requirement(result: &ChainResult<'_>) -> String {
    let case = &result.chain.case;
    let role = match result.chain.role {
        Role::Intermediary => "any intermediary".to_string(),
        role => format!("a {role}"),
    };
    format!("{} ({}, binds {role}) {}", case.rfc, case.level, case.url)
}

/// The text report.
pub fn render_text(results: &[ChainResult<'_>], context: &ChainContext<'_>) -> String {
    let mut out = String::new();
    let roles: Vec<&str> = context.roles.iter().map(|r| r.as_str()).collect();
    let name = if context.name == context.front {
        String::new()
    } else {
        format!("{} ", escape::terminal(context.name))
    };
    let _ = writeln!(
        out,
        "conformance chain of {name}front {} (taken for a {}), origin {}, {}",
        escape::terminal(context.front),
        roles.join(" and "),
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
        .map(|r| r.chain.case.id.len())
        .max()
        .unwrap_or(0);
    for result in results {
        let known = if is_known(result, context.baseline) {
            "  (known)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:<5} {:<width$}  {}{known}",
            result.result.grade.as_str().to_uppercase(),
            result.chain.case.id,
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
    let _ = writeln!(out, "\nby hop: {}", hop_counts(results));
    let _ = writeln!(out, "{}", summary.line());
    out
}

/// `front 2, origin 1, pair 1`: the findings of each hop.
pub fn hop_counts(results: &[ChainResult<'_>]) -> String {
    tally(
        &[Hop::Front, Hop::Origin, Hop::Pair],
        results.iter().flat_map(|r| &r.findings).map(|f| f.hop),
        Hop::as_str,
    )
}

/// `front 2, origin 1, …`: how many of `hops` are each of `order`, named
/// by `name`.
pub(crate) fn tally<H: PartialEq + Copy>(
    order: &[H],
    hops: impl Iterator<Item = H> + Clone,
    name: impl Fn(H) -> &'static str,
) -> String {
    order
        .iter()
        .map(|hop| {
            let n = hops.clone().filter(|h| h == hop).count();
            format!("{} {n}", name(*hop))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The cases never started, when the run stopped early.
pub(crate) fn write_not_run(out: &mut String, context: &ChainContext<'_>, ran: usize) {
    if let Some((reason, ids)) = context.not_run {
        let _ = writeln!(
            out,
            "\nnot run ({reason}): {} of {} cases",
            ids.len(),
            ids.len() + ran
        );
        for id in ids {
            let _ = writeln!(out, "  {id}");
        }
    }
}

/// The known failures, the fixed ones and the response rules, after the
/// findings; returns the summary of `cases`.
pub(crate) fn write_notes(
    out: &mut String,
    cases: &[CaseResult<'_>],
    context: &ChainContext<'_>,
) -> Summary {
    let summary = Summary::of(cases, context.baseline);
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
    write_rules(out, &check_rules(cases));
    summary
}

/// One case in full: the requirement, then each finding with its bytes.
pub fn write_details(out: &mut String, result: &ChainResult<'_>, context: &ChainContext<'_>) {
    let case = &result.chain.case;
    let known = if is_known(result, context.baseline) {
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
            finding.hop.as_str(),
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

/// One finding in the text report: its hop, grade and sentence, then the
/// bytes on each side, bounded.
pub(crate) fn write_finding(
    out: &mut String,
    hop: &str,
    grade: Grade,
    what: &str,
    evidence: &[Evidence],
) {
    let _ = writeln!(out, "  {hop} ({grade}): {}", escape::terminal(what));
    for evidence in evidence {
        let _ = writeln!(out, "    {}:", evidence.label);
        let shown = &evidence.bytes[..evidence.bytes.len().min(SHOWN_BYTES)];
        for line in escape::encode_lines(shown) {
            let _ = writeln!(out, "      {line}");
        }
        let hidden = evidence.bytes.len() - shown.len();
        if hidden > 0 {
            let _ = writeln!(out, "      … ({hidden} more bytes)");
        }
    }
}

/// The response rules, on every response the client read: the front's
/// outbound messages (RFC 9110 §3.7: a gateway's outbound communication
/// meets an origin server's requirements).
pub(crate) fn write_rules(out: &mut String, rules: &[RuleResult]) {
    out.push_str("\nresponse rules, checked on every response the client read:\n");
    let width = rules.iter().map(|r| r.rule.id.len()).max().unwrap_or(0);
    for rule in rules {
        let _ = writeln!(
            out,
            "{:<5} {:<width$}  {}",
            rule.grade.as_str().to_uppercase(),
            rule.rule.id,
            rule.counts()
        );
        for breach in rule.first.iter().filter(|_| rule.broken > 0) {
            let _ = writeln!(
                out,
                "      {}: {}",
                breach.case,
                escape::terminal(&breach.problem)
            );
        }
    }
}

/// The Markdown report: one table row per case, the findings of each
/// failure below.
pub fn render_markdown(results: &[ChainResult<'_>], context: &ChainContext<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Chain conformance of {}\n\nFront `{}`, origin `{}`.\n",
        escape::markdown_cell(context.name),
        escape::markdown_cell(context.front),
        context.origin
    );
    if let Some(control) = context.control {
        let _ = writeln!(out, "{}\n", escape::markdown_cell(control));
    }
    out.push_str("| grade | case | role | hop | what |\n|---|---|---|---|---|\n");
    for result in results {
        let hop = headline(result).map_or_else(String::new, |f| f.hop.to_string());
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} |",
            result.result.grade.as_str().to_uppercase(),
            result.chain.case.id,
            result.chain.role,
            hop,
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
                result.chain.case.id,
                escape::markdown_cell(&requirement(result)),
                escape::markdown_cell(&fold_whitespace(&result.chain.case.quote))
            );
            for finding in &result.findings {
                write_markdown_finding(
                    &mut out,
                    finding.hop.as_str(),
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
        "\n{}; by hop: {}",
        Summary::of(&cases, context.baseline).line(),
        hop_counts(results)
    );
    out
}

/// One finding in the Markdown report: its hop, grade and sentence, then
/// the bytes on each side in a fenced block, bounded.
pub(crate) fn write_markdown_finding(
    out: &mut String,
    hop: &str,
    grade: Grade,
    what: &str,
    evidence: &[Evidence],
) {
    let _ = writeln!(
        out,
        "- **{hop}** ({grade}): {}",
        escape::markdown_cell(what)
    );
    for evidence in evidence {
        let shown = &evidence.bytes[..evidence.bytes.len().min(SHOWN_BYTES)];
        let _ = writeln!(out, "\n  {}:\n\n  ```", evidence.label);
        for line in escape::encode_lines(shown) {
            // The notation never holds a backtick run that could end the fence.
            let _ = writeln!(out, "  {}", line.replace('`', "\\x60"));
        }
        out.push_str("  ```\n");
    }
}

/// The head of a JUnit report: the XML declaration, the suites, the one
/// suite named `suite`, and its properties (`front`, `origin`, `extra`,
/// `tool`).
pub(crate) fn junit_head(
    suite: &str,
    ran: usize,
    summary: &Summary,
    context: &ChainContext<'_>,
    extra: &[(&str, &str)],
) -> String {
    let not_run = context.not_run.map_or(0, |(_, ids)| ids.len());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
        escape::xml(context.name),
        ran + not_run,
        summary.regressions.len(),
        summary.errors,
        context.wall.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" \
         timestamp=\"{}\">",
        ran + not_run,
        summary.regressions.len(),
        summary.errors,
        summary.skipped + summary.info + summary.known.len() + not_run,
        crate::date::format_rfc3339(context.started)
    );
    out.push_str("    <properties>\n");
    let properties = [("front", context.front), ("origin", context.origin)]
        .into_iter()
        .chain(extra.iter().copied())
        .chain([("tool", env!("CONFORMANCE_VERSION"))]);
    for (name, value) in properties {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            escape::xml(value)
        );
    }
    out.push_str("    </properties>\n");
    out
}

/// One case as a JUnit test case in `suite`, named by its id: a known
/// failure skipped, a failure or an error with `details`, a warning's
/// details as its output; `line` (the case line) is the message of a skip
/// and, with `line_on_pass`, a pass's output.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_junit_case(
    out: &mut String,
    suite: &str,
    case: &Case,
    result: &CaseResult<'_>,
    known: bool,
    details: &str,
    line: &str,
    line_on_pass: bool,
) {
    let _ = write!(
        out,
        "    <testcase classname=\"{suite}.{}\" name=\"{}\" time=\"{:.3}\"",
        case.group,
        escape::xml(&case.id),
        result.elapsed.as_secs_f64()
    );
    let message = format!(
        "{} ({}): \"{}\": {line}",
        case.rfc,
        case.level,
        fold_whitespace(&case.quote),
    );
    match result.grade {
        Grade::Fail if known => {
            let _ = writeln!(
                out,
                ">\n      <skipped message=\"known failure (in the baseline): {}\"/>\n    </testcase>",
                escape::xml(&message)
            );
        }
        Grade::Fail => {
            let _ = writeln!(
                out,
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                escape::xml(&message),
                escape::xml_content(details)
            );
        }
        Grade::Error => {
            let _ = writeln!(
                out,
                ">\n      <error message=\"{}\">{}</error>\n    </testcase>",
                escape::xml(&message),
                escape::xml_content(details)
            );
        }
        Grade::Skip | Grade::Info => {
            let _ = writeln!(
                out,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                escape::xml(line)
            );
        }
        Grade::Warn => {
            let _ = writeln!(
                out,
                ">\n      <system-out>{}</system-out>\n    </testcase>",
                escape::xml_content(&format!("WARN {details}"))
            );
        }
        Grade::Pass if line_on_pass => {
            let _ = writeln!(
                out,
                ">\n      <system-out>{}</system-out>\n    </testcase>",
                escape::xml_content(line)
            );
        }
        Grade::Pass => out.push_str("/>\n"),
    }
}

/// The end of a JUnit report: the cases never started, skipped, and the
/// closing tags.
pub(crate) fn junit_tail(out: &mut String, suite: &str, context: &ChainContext<'_>) {
    for id in context.not_run.map_or(&[][..], |(_, ids)| ids) {
        let _ = writeln!(
            out,
            "    <testcase classname=\"{suite}\" name=\"{}\">\n      <skipped message=\"not run\"/>\n    </testcase>",
            escape::xml(id)
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
}
