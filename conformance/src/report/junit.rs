//! The JUnit report, for CI: one test suite per group, one test case per
//! case, in the XML the Jenkins xunit plugin reads.

use super::describe::{describe_outcomes, fold_whitespace};
use super::summary::Summary;
use super::text::write_text_details;
use super::{is_known, is_known_rule, ReportContext};
use crate::case::Group;
use crate::escape;
use crate::rules::{check_rules, RuleResult, RULES};
use crate::run::CaseResult;
use crate::verdict::Grade;
use std::fmt::Write as _;

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
/// run's settings, WARN count and known-failure count as `<properties>`);
/// per case a `<testcase>` whose `<failure>` message is the requirement and
/// the actual outcome, `<skipped>` for skip, info and known failures (the
/// message of a known failure starts `known failure (baseline):`, so a CI
/// page lists it apart from a case that does not apply), `<error>` for
/// harness errors, and `<system-out>` starting `WARN` for a warn.
pub(super) fn render_junit(results: &[CaseResult<'_>], context: &ReportContext<'_>) -> String {
    let summary = Summary::of(results, context.baseline);
    let not_run = context.not_run.map_or(0, |n| n.cases.len());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
        escape::xml(context.name),
        results.len() + not_run + RULES.len(),
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
        let known = count(&|r| is_known(r, context)).to_string();
        let properties = [
            ("target", context.target),
            ("path", &settings.path),
            ("host", &settings.host),
            ("tool", env!("CONFORMANCE_VERSION")),
            ("warned", &warned),
            ("known-failures", &known),
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
    write_junit_rules(&mut out, &check_rules(results), &started, context);
    if let Some(stopped) = &context.not_run {
        // The cases a stopped run never started, so CI sees them missing.
        let _ = writeln!(
            out,
            "  <testsuite name=\"not-run\" tests=\"{not_run}\" failures=\"0\" errors=\"0\" \
             skipped=\"{not_run}\" timestamp=\"{started}\">"
        );
        for case in stopped.cases {
            let how = if stopped.was_under_way(case) {
                "abandoned under way"
            } else {
                "not run"
            };
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}.not-run\" name=\"{}\" time=\"0.000\">\n      \
                 <skipped message=\"{how}: {}\"/>\n    </testcase>",
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

/// `<testsuite name="response-rules">`: one `<testcase>` per response
/// rule, a `<failure>` naming the responses that broke it and the first
/// cases where they did.
fn write_junit_rules(
    out: &mut String,
    rules: &[RuleResult],
    started: &str,
    context: &ReportContext<'_>,
) {
    let known = |rule: &RuleResult| is_known_rule(rule, context);
    let count = |pred: &dyn Fn(&RuleResult) -> bool| rules.iter().filter(|r| pred(r)).count();
    let _ = writeln!(
        out,
        "  <testsuite name=\"response-rules\" tests=\"{}\" failures=\"{}\" errors=\"0\" \
         skipped=\"{}\" timestamp=\"{started}\">",
        rules.len(),
        count(&|r| r.grade == Grade::Fail && !known(r)),
        count(&|r| r.grade == Grade::Info || known(r)),
    );
    let classname = format!("{}.response-rules", class_part(context.name));
    for rule in rules {
        let _ = writeln!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"0.000\">",
            escape::xml(&classname),
            rule.rule.id
        );
        let message = || {
            let problems: Vec<String> = rule
                .first
                .iter()
                .map(|b| format!("{}: {}", b.case, b.problem))
                .collect();
            format!(
                "{} ({}): \"{}\"; {}; {}",
                rule.rule.rfc,
                rule.rule.level,
                rule.rule.quote,
                rule.counts(),
                problems.join("; ")
            )
        };
        match rule.grade {
            Grade::Fail if known(rule) => {
                let _ = writeln!(
                    out,
                    "      <skipped message=\"known failure (baseline): {}\"/>",
                    escape::xml(&message())
                );
            }
            Grade::Fail => {
                let _ = writeln!(
                    out,
                    "      <failure message=\"{}\"/>",
                    escape::xml(&message())
                );
            }
            Grade::Warn => {
                let _ = writeln!(
                    out,
                    "      <system-out>WARN {}</system-out>",
                    escape::xml(&message())
                );
            }
            Grade::Info => {
                out.push_str("      <skipped message=\"no response it applies to was read\"/>\n");
            }
            _ => {}
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n");
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

/// One `<testcase>`, with what its grade puts in it.
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
        write_text_details(&mut details, result);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Level;
    use crate::report::test_support::{case, result};
    use crate::report::{render, Format, RunInfo, Settings};
    use crate::wire::Outcome;
    use std::time::Duration;

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
                failures_only: false,
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
        // Two cases and the five response rules.
        assert_eq!(
            lines[1],
            "<testsuites name=\"t\" tests=\"7\" failures=\"1\" errors=\"1\" time=\"5.250\">"
        );
        assert_eq!(
            lines[2],
            "  <testsuite name=\"host\" tests=\"2\" failures=\"1\" errors=\"1\" skipped=\"0\" \
             timestamp=\"1994-11-06T08:49:37.000Z\">"
        );
        // Neither case read a response: every rule is skipped, none failed.
        assert!(
            lines.contains(
                &"  <testsuite name=\"response-rules\" tests=\"5\" failures=\"0\" errors=\"0\" \
                  skipped=\"5\" timestamp=\"1994-11-06T08:49:37.000Z\">"
            ),
            "{xml}"
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
    fn class_part_then_no_dots() {
        assert_eq!(class_part("127.0.0.1:8080"), "127_0_0_1_8080");
    }
}
