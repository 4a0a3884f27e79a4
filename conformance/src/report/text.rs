//! The text report, for people at a terminal: one line per case, the
//! details of each new failure and error with the bytes sent and received,
//! a table per group, the root causes, the summary line, and with a
//! baseline the list of new failures last, where a CI log ends.

use super::cause::{root_causes, RootCause};
use super::describe::{describe_expect, describe_outcome, describe_outcomes, fold_whitespace};
use super::summary::{group_counts, Summary};
use super::{is_known, is_known_rule, listed, new_failures_block, ReportContext};
use crate::escape;
use crate::limits::SHOWN_BYTES;
use crate::rules::{check_rules, RuleResult};
use crate::run::CaseResult;
use crate::verdict::Grade;
use std::fmt::Write as _;

/// `1 case` or `N cases`.
fn cases_count(n: usize) -> String {
    match n {
        1 => "1 case".to_string(),
        n => format!("{n} cases"),
    }
}

/// The most columns a root-cause line takes: its cases beyond it are
/// counted, not listed (the JSON report lists them all).
const CAUSE_LINE_WIDTH: usize = 160;

/// `  CAUSE: N cases: id, id` per cause, under a heading, each line at
/// most [`CAUSE_LINE_WIDTH`] columns.
fn write_root_causes(out: &mut String, causes: &[RootCause]) {
    if causes.is_empty() {
        return;
    }
    out.push_str("\nroot causes of the failures:\n");
    for cause in causes {
        let head = format!("  {}: {}: ", cause.cause, cases_count(cause.cases.len()));
        let _ = writeln!(out, "{}", fit_ids(head, &cause.cases, CAUSE_LINE_WIDTH));
    }
}

/// `head`, then as many of `ids` as fit in `width` columns, joined by
/// `, `, the rest counted: `a, b, … and 37 more`; the first id always.
fn fit_ids(head: String, ids: &[String], width: usize) -> String {
    let columns = |text: &str| text.chars().count();
    let more = |n: usize| format!(", … and {n} more");
    let mut line = head;
    for (index, id) in ids.iter().enumerate() {
        let separator = if index == 0 { "" } else { ", " };
        let left = ids.len() - index - 1;
        let reserve = if left == 0 { 0 } else { columns(&more(left)) };
        let fits = columns(&line) + separator.len() + columns(id) + reserve <= width;
        if index > 0 && !fits {
            line.push_str(&more(ids.len() - index));
            return line;
        }
        line.push_str(separator);
        line.push_str(id);
    }
    line
}

/// The text report.
pub(super) fn render_text(results: &[CaseResult<'_>], context: &ReportContext<'_>) -> String {
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
    let failures_only = context.run.settings.failures_only;
    let listed = listed(results, context);
    let width = listed.iter().map(|r| r.case.id.len()).max().unwrap_or(0);
    for result in &listed {
        let known = if is_known(result, context) {
            "  (known)"
        } else {
            ""
        };
        let allowed: Vec<&str> = result
            .steps
            .iter()
            .filter_map(|s| s.verdict.as_ref()?.allowed.as_deref())
            .collect();
        let allowed = match allowed.first() {
            Some(because) if result.grade == Grade::Pass => format!("  (allowed: {because})"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{:<5} {:<width$}  {}{known}{allowed}",
            result.grade.as_str().to_uppercase(),
            result.case.id,
            describe_outcomes(result)
        );
    }
    if failures_only && listed.is_empty() {
        out.push_str("no case failed or ended in error\n");
    }
    if let Some(not_run) = &context.not_run {
        let _ = writeln!(out, "\n{}", not_run.line(results.len()));
        for case in not_run.cases {
            let under_way = if not_run.was_under_way(case) {
                "  (under way: abandoned, not graded)"
            } else {
                ""
            };
            let _ = writeln!(out, "  {}{under_way}", case.id);
        }
    }
    // A known failure is listed on its line, not in full: the baseline
    // accepted it, and its details would bury a new failure.
    let details: Vec<_> = listed
        .iter()
        .filter(|r| matches!(r.grade, Grade::Fail | Grade::Error) && !is_known(r, context))
        .collect();
    if !details.is_empty() {
        out.push_str("\nfailures and errors:\n");
        for result in details {
            out.push('\n');
            write_text_details(&mut out, result);
        }
    }
    let warned: Vec<&str> = results
        .iter()
        .filter(|r| r.grade == Grade::Warn)
        .map(|r| r.case.id.as_str())
        .collect();
    if !warned.is_empty() {
        out.push_str("\nwhy each case warned:\n");
        for id in warned {
            let _ = writeln!(out, "  {}", explain_command(id));
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
    let mut rules = check_rules(results);
    if failures_only {
        rules.retain(|r| r.grade == Grade::Fail);
    }
    if !rules.is_empty() {
        write_rules(&mut out, &rules, context);
    }
    if !failures_only {
        out.push('\n');
        write_group_table(&mut out, results);
        write_root_causes(&mut out, &root_causes(results));
    }
    let _ = writeln!(out, "\n{}", summary.line());
    if context.baseline.is_some() {
        out.push('\n');
        out.push_str(&new_failures_block(results, context.baseline));
    }
    out
}

/// One failed or errored case in full: the requirement, and per step
/// what was sent, what was acceptable, what came, which checks broke.
pub(super) fn write_text_details(out: &mut String, result: &CaseResult<'_>) {
    let case = result.case;
    let _ = writeln!(
        out,
        "{} {}: {}",
        result.grade.as_str().to_uppercase(),
        case.id,
        case.title
    );
    let _ = writeln!(out, "  more: {}", explain_command(&case.id));
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
            let _ = writeln!(out, "    actual: {}", describe_outcome(outcome));
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

/// The command that explains a case: `conformance explain ID`.
fn explain_command(id: &str) -> String {
    format!("conformance explain {id}")
}

/// Writes bytes escaped for people ([`escape::readable`]), one wire line
/// per report line, at most [`SHOWN_BYTES`] of them.
fn write_bytes(out: &mut String, bytes: &[u8], total: u64) {
    let shown = &bytes[..bytes.len().min(SHOWN_BYTES)];
    for line in escape::readable_lines(shown) {
        let _ = writeln!(out, "      {line}");
    }
    let hidden = total.saturating_sub(shown.len() as u64);
    if hidden > 0 {
        let _ = writeln!(out, "      … ({hidden} more bytes)");
    }
}

/// The response rules, one line each; a broken one with its requirement
/// and what was wrong in the first cases where it was seen.
fn write_rules(out: &mut String, rules: &[RuleResult], context: &ReportContext<'_>) {
    out.push_str("\nresponse rules, checked on every response read:\n");
    let width = rules.iter().map(|r| r.rule.id.len()).max().unwrap_or(0);
    for rule in rules {
        let known = if is_known_rule(rule, context) {
            "  (known)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:<5} {:<width$}  {}{known}",
            rule.grade.as_str().to_uppercase(),
            rule.rule.id,
            rule.counts()
        );
        if rule.broken == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "      requirement: {} ({}): \"{}\"",
            rule.rule.rfc,
            rule.rule.level,
            fold_whitespace(rule.rule.quote)
        );
        let _ = writeln!(out, "      more: {}", explain_command(rule.rule.id));
        for breach in &rule.first {
            let _ = writeln!(
                out,
                "      {}: {}",
                breach.case,
                escape::terminal(&breach.problem)
            );
        }
    }
}

/// The counts per grade of each group, as a table.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (1..=n)
            .map(|i| format!("rfc9112-3.2-case-{i:02}"))
            .collect()
    }

    #[test]
    fn root_cause_of_many_cases_then_cut_at_160_columns_with_a_count() {
        let line = fit_ids(
            "  got 200 where the case wants 400: 40 cases: ".into(),
            &ids(40),
            160,
        );
        assert_eq!(
            line,
            "  got 200 where the case wants 400: 40 cases: rfc9112-3.2-case-01, \
             rfc9112-3.2-case-02, rfc9112-3.2-case-03, rfc9112-3.2-case-04, … and 36 more"
        );
        assert!(line.chars().count() <= 160);
    }

    #[test]
    fn root_cause_that_fits_then_every_id_and_no_count() {
        assert_eq!(
            fit_ids("  x: 2 cases: ".into(), &ids(2), 160),
            "  x: 2 cases: rfc9112-3.2-case-01, rfc9112-3.2-case-02"
        );
        // The last id needs no room for a count after it.
        let exact = fit_ids("h: ".into(), &ids(2), 3 + 19 + 2 + 19);
        assert_eq!(exact, "h: rfc9112-3.2-case-01, rfc9112-3.2-case-02");
        assert_eq!(
            fit_ids("h: ".into(), &ids(2), 3 + 19 + 2 + 18),
            "h: rfc9112-3.2-case-01, … and 1 more"
        );
    }

    #[test]
    fn head_wider_than_the_line_then_still_the_first_id() {
        assert_eq!(
            fit_ids("x".repeat(170), &ids(3), 160),
            format!("{}rfc9112-3.2-case-01, … and 2 more", "x".repeat(170))
        );
    }
}
