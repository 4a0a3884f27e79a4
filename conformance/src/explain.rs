//! What `conformance list` prints, and what `conformance explain ID`
//! prints: the case itself, then what each server in the matrix answered
//! and, for a cell that is not a pass, why.

use crate::case::Case;
use crate::escape;
use crate::escape::terminal;
use crate::matrix::{Answer, Matrix, MatrixError, ServerAnswers};
use crate::report::describe::{describe_expect, fold_whitespace, join_tokens};
use crate::rules::Rule;
use crate::template::Values;
use crate::verdict::{Grade, Matched};

/// Request bytes longer than this are shown as the case file writes them
/// (with repeats) instead of byte by byte.
const EXPLAIN_BYTES: usize = 1024;

/// One case a line: id, level, group, title, in columns.
pub fn render_list(cases: &[&Case]) -> String {
    let width = cases.iter().map(|c| c.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for case in cases {
        out.push_str(&format!(
            "{:<width$}  {:<6}  {:<13}  {}\n",
            case.id,
            case.level.as_str(),
            case.group.as_str(),
            case.title
        ));
    }
    out
}

/// A response rule as `explain` shows it: its requirement, and what the
/// check accepts.
pub fn render_rule(rule: &Rule) -> String {
    format!(
        "{}: {}\nlevel: {}, a response rule: checked on every response a run reads, reported \
         once\nrequirement: {}\n  \"{}\"\n\n{}\n",
        rule.id,
        rule.title,
        rule.level,
        rule.rfc,
        fold_whitespace(rule.quote),
        fold_whitespace(rule.explain)
    )
}

/// A case as `explain` shows it: the requirement, the request bytes (as a
/// run with `values` would send them), the acceptable outcomes and the
/// explanation.
pub fn render_case(case: &Case, values: &Values) -> String {
    let mut out = format!("{}: {}\n", case.id, case.title);
    out.push_str(&format!("level: {}, group: {}\n", case.level, case.group));
    if !case.aliases.is_empty() {
        out.push_str(&format!(
            "earlier ids (still accepted): {}\n",
            case.aliases.join(", ")
        ));
    }
    out.push_str(&format!("requirement: {} {}\n", case.rfc, case.url));
    out.push_str(&format!("  \"{}\"\n", fold_whitespace(&case.quote)));
    if !case.needs.is_empty() {
        let needs: Vec<&str> = case.needs.iter().map(|n| n.as_str()).collect();
        out.push_str(&format!(
            "needs: {} (skipped where the target lacks it)\n",
            needs.join(", ")
        ));
    }
    let single = case.steps.len() == 1;
    for (index, step) in case.steps.iter().enumerate() {
        let indent = if single {
            ""
        } else {
            out.push_str(&format!("step {}", index + 1));
            if step.pause_ms > 0 {
                out.push_str(&format!(" (after {} ms)", step.pause_ms));
            }
            out.push_str(":\n");
            "  "
        };
        match (&step.send, &step.send_source) {
            (Some(template), Some(source)) if template.byte_len() > EXPLAIN_BYTES => {
                out.push_str(&format!(
                    "{indent}request:\n{indent}  {source}\n{indent}  ({} bytes, as the case file \
                     writes them)\n",
                    template.byte_len()
                ));
            }
            (Some(template), _) if template.as_literal().is_some() => {
                out.push_str(&format!("{indent}request:\n"));
                for line in escape::encode_template_lines(template) {
                    out.push_str(&format!("{indent}  {line}\n"));
                }
            }
            (Some(template), _) => {
                out.push_str(&format!("{indent}request (template):\n"));
                for line in escape::encode_template_lines(template) {
                    out.push_str(&format!("{indent}  {line}\n"));
                }
                out.push_str(&format!(
                    "{indent}sent with --path {} --host {} (the other variables come from the \
                     control response):\n",
                    escape::readable(values.path.as_bytes()),
                    escape::readable(values.host.as_bytes())
                ));
                for line in escape::readable_lines(&template.fill_known(values)) {
                    out.push_str(&format!("{indent}  {line}\n"));
                }
            }
            _ => out.push_str(&format!("{indent}(reads the next response)\n")),
        }
        if let Some(expect) = &step.expect {
            out.push_str(&format!(
                "{indent}acceptable: {}\n",
                describe_expect(expect)
            ));
        }
    }
    out.push_str("explanation:\n");
    for line in case.explain.trim().lines() {
        out.push_str(&format!("  {line}\n").replace("  \n", "\n"));
    }
    out
}

/// What each server in the matrix answered to `case`, and for each warn
/// or fail why: the checks that broke and whether the answer itself was
/// acceptable. A matrix that cannot be read is said in one line, never an
/// error: explaining a case does not need one.
pub fn render_answers(case: &Case, source: &str, matrix: Result<Matrix, MatrixError>) -> String {
    render_servers(source, matrix, |out, server, name, width| {
        match server.answer(&case.id) {
            Some(answer) => {
                out.push_str(&format!(
                    "  {name:<width$}  {:<5} {}\n",
                    answer.grade.as_str(),
                    terminal(&answer.outcome())
                ));
                for reason in reasons(case, answer) {
                    out.push_str(&format!("  {:<width$}    why: {reason}\n", ""));
                }
            }
            None => out.push_str(&format!("  {name:<width$}  (not run)\n")),
        }
    })
}

/// What each server of `matrix` did with rule `rule`: its grade, how many
/// responses broke it, and where first.
pub fn render_rule_answers(
    rule: &Rule,
    source: &str,
    matrix: Result<Matrix, MatrixError>,
) -> String {
    render_servers(source, matrix, |out, server, name, width| {
        match server.rules.iter().find(|r| r.id == rule.id) {
            Some(answer) => {
                out.push_str(&format!(
                    "  {name:<width$}  {:<5} {} of {} responses broke it\n",
                    answer.grade.as_str(),
                    answer.broken,
                    answer.checked
                ));
                for first in &answer.first {
                    out.push_str(&format!("  {:<width$}    in {}\n", "", terminal(first)));
                }
            }
            None => out.push_str(&format!("  {name:<width$}  (not recorded)\n")),
        }
    })
}

/// The matrix heading, then one entry per server written by `entry`
/// (given the server, its escaped name and the names' width).
fn render_servers(
    source: &str,
    matrix: Result<Matrix, MatrixError>,
    entry: impl Fn(&mut String, &ServerAnswers, &str, usize),
) -> String {
    let matrix = match matrix {
        Ok(matrix) => matrix,
        Err(MatrixError::Missing(_)) => {
            return format!(
                "What servers answered: no matrix at {source} (`make matrix` writes one).\n"
            )
        }
        Err(e) => return format!("What servers answered: {e}.\n"),
    };
    let mut out = format!(
        "What servers answered (matrix of {}, {source}):\n",
        terminal(&matrix.generated)
    );
    if matrix.servers.is_empty() {
        out.push_str("  (no servers recorded)\n");
    }
    let width = matrix
        .servers
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0);
    for server in &matrix.servers {
        entry(&mut out, server, &terminal(&server.name), width);
    }
    out
}

/// Why an answer graded warn or fail, step by step: each broken check, and
/// an answer outside the `pass` list (in `warn`, or in neither).
fn reasons(case: &Case, answer: &Answer) -> Vec<String> {
    if !matches!(answer.grade, Grade::Warn | Grade::Fail) {
        return Vec::new();
    }
    let several = answer.steps.len() > 1;
    let mut reasons = Vec::new();
    for step in &answer.steps {
        if !matches!(step.grade, Some(Grade::Warn | Grade::Fail)) {
            continue;
        }
        let prefix = if several {
            format!("step {}: ", step.step)
        } else {
            String::new()
        };
        let expect = case
            .steps
            .get(step.step.wrapping_sub(1))
            .and_then(|s| s.expect.as_ref());
        let acceptable = expect.map_or_else(String::new, |e| {
            let mut lists = format!(" (pass {}", join_tokens(&e.pass));
            if !e.warn.is_empty() {
                lists.push_str(&format!("; warn {}", join_tokens(&e.warn)));
            }
            lists + ")"
        });
        let outcome = terminal(&step.outcome);
        match step.matched {
            Some(Matched::None) => reasons.push(format!(
                "{prefix}{outcome} is not an acceptable answer{acceptable}"
            )),
            Some(Matched::Warn) => reasons.push(format!(
                "{prefix}{outcome} is acceptable only with a warning{acceptable}"
            )),
            // A matrix recorded before `matched` was: no broken check
            // means the answer itself was not one the case passes.
            None if step.problems.is_empty() => reasons.push(format!(
                "{prefix}{outcome} is not an answer the case passes{acceptable}"
            )),
            _ => {}
        }
        for problem in &step.problems {
            reasons.push(format!("{prefix}broken check {}", terminal(problem)));
        }
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::AnswerStep;

    fn case() -> Case {
        let text = "id = \"rfc9112-3.2-x\"\ntitle = \"T\"\ngroup = \"host\"\n\
                    rfc = \"RFC 9112 §3.2\"\nurl = \"https://www.rfc-editor.org/rfc/rfc9112#section-3.2\"\n\
                    quote = \"Q.\"\nlevel = \"must\"\nexplain = \"E.\"\n\
                    request = 'GET / HTTP/1.1\\r\\n\\r\\n'\n\
                    [expect]\npass = [\"400\"]\nwarn = [\"close\"]\nchecks = [\"date\"]\n";
        crate::case::parse_case("rfc9112-3.2-x", text).unwrap()
    }

    fn answer(grade: Grade, outcome: &str, matched: Option<Matched>, problems: &[&str]) -> Answer {
        Answer {
            id: "rfc9112-3.2-x".into(),
            grade,
            skipped: None,
            steps: vec![AnswerStep {
                step: 1,
                outcome: outcome.into(),
                short: outcome.split(' ').next().unwrap_or_default().into(),
                grade: Some(grade),
                matched,
                problems: problems.iter().map(|p| p.to_string()).collect(),
                received: String::new(),
                received_total: 0,
            }],
            sent: Vec::new(),
        }
    }

    const ACCEPTABLE: &str = "(pass 400; warn close)";

    #[test]
    fn unacceptable_answer_then_said_with_what_the_case_accepts() {
        let fail = answer(Grade::Fail, "200 OK", Some(Matched::None), &[]);
        assert_eq!(
            reasons(&case(), &fail),
            [format!("200 OK is not an acceptable answer {ACCEPTABLE}")]
        );
    }

    #[test]
    fn warn_answer_and_broken_check_then_both_said() {
        let warn = answer(
            Grade::Fail,
            "closed",
            Some(Matched::Warn),
            &["date (must): no Date header"],
        );
        assert_eq!(
            reasons(&case(), &warn),
            [
                format!("closed is acceptable only with a warning {ACCEPTABLE}"),
                "broken check date (must): no Date header".to_string()
            ]
        );
    }

    #[test]
    fn pass_then_no_reason() {
        let pass = answer(Grade::Pass, "400 Bad Request", Some(Matched::Pass), &[]);
        assert!(reasons(&case(), &pass).is_empty());
    }

    #[test]
    fn hostile_bytes_in_a_matrix_then_escaped() {
        let fail = answer(Grade::Fail, "200 \u{1b}]0;x\u{7}", Some(Matched::None), &[]);
        assert_eq!(
            reasons(&case(), &fail),
            [format!(
                "200 \\x1b]0;x\\x07 is not an acceptable answer {ACCEPTABLE}"
            )]
        );
    }
}
