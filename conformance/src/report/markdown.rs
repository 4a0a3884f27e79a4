//! The Markdown report, for a page or a pull request: a table of every
//! case (with `--failures-only`, of the failed and errored ones, new
//! failures first), the counts per group, the root causes, the summary
//! line, and with a baseline the list of new failures.

use super::cause::root_causes;
use super::describe::describe_outcomes;
use super::summary::{group_counts, Summary};
use super::{is_known, is_known_rule, listed, new_failures, ReportContext};
use crate::escape;
use crate::rules::check_rules;
use crate::run::CaseResult;
use std::fmt::Write as _;

/// The Markdown report.
pub(super) fn render_markdown(results: &[CaseResult<'_>], context: &ReportContext<'_>) -> String {
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
    for result in listed(results, context) {
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
    out.push_str(
        "\n## Response rules\n\nChecked on every response the run read.\n\n\
         | grade | rule | requirement | responses |\n|---|---|---|---|\n",
    );
    for rule in check_rules(results) {
        let known = is_known_rule(&rule, context);
        let _ = writeln!(
            out,
            "| {}{} | `{}` | {}: {} | {} |",
            rule.grade.as_str(),
            if known { " (known)" } else { "" },
            rule.rule.id,
            rule.rule.rfc,
            cell(rule.rule.title),
            cell(&rule.counts())
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
    if context.baseline.is_some() {
        let failures = new_failures(results, context.baseline);
        out.push_str("\n## New failures (not in the baseline)\n\n");
        if failures.is_empty() {
            out.push_str("None.\n");
        }
        for (id, reason) in failures {
            let _ = writeln!(out, "- `{id}`: {}", cell(&reason));
        }
    }
    out
}
