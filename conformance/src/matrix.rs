//! The matrix: how several servers answered the catalogue.
//!
//! `conformance run --matrix FILE` records one server's answers into the
//! file (replacing an earlier entry of the same name); `make matrix` does
//! that for every server it starts. `conformance report` renders the file
//! as Markdown or as a self-contained HTML page ([`crate::page`]), and
//! `conformance explain` shows what each server answered to one case.
//!
//! The file is JSON: per server its name, exact version and counts, and per
//! case the grade and, per reading step, the outcome and the first
//! [`MATRIX_SHOWN_BYTES`] bytes received (escaped in the case notation).
//! What was sent is not stored: it is the case's, the same for every server.

use crate::case::{Case, Group};
use crate::escape;
use crate::escape::markdown_cell as md_cell;
use crate::limits::MATRIX_SHOWN_BYTES;
use crate::report::describe;
use crate::report::Summary;
use crate::rules::{check_rules, RULES};
use crate::run::CaseResult;
use crate::verdict::{Grade, Matched};
use serde::{Deserialize, Serialize};
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

/// Where `make matrix` keeps the committed matrix, from the repository root.
pub(crate) const MATRIX_FILE: &str = "matrix/results.json";

/// Where the matrix compiled into the binary is said to come from.
pub(crate) const BUILTIN_MATRIX: &str = "the matrix compiled into this binary";

/// The matrix to use when none is given: `matrix/results.json` under the
/// current directory if it exists (a checkout after `make matrix`), else
/// the one compiled into the binary; with where it came from.
pub fn default_matrix() -> (String, Result<Matrix, MatrixError>) {
    let here = PathBuf::from(MATRIX_FILE);
    if here.is_file() {
        return (here.display().to_string(), Matrix::read(&here));
    }
    let source = PathBuf::from(BUILTIN_MATRIX);
    let matrix = match crate::case::compiled::MATRIX {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| MatrixError::Invalid(source.clone(), e.to_string())),
        None => Err(MatrixError::Missing(source)),
    };
    (BUILTIN_MATRIX.to_string(), matrix)
}

/// Every server's answers to the catalogue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matrix {
    /// The UTC date (`YYYY-MM-DD`) of the latest run recorded in it.
    pub generated: String,
    /// The servers, in the order they were first recorded.
    pub servers: Vec<ServerAnswers>,
}

/// One server's answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerAnswers {
    /// The column name (`nginx`, `single`).
    pub name: String,
    /// The exact version, as the server and its package report it.
    pub version: String,
    /// Cases per grade.
    pub counts: Counts,
    /// One answer per case that ran, in catalogue order.
    pub answers: Vec<Answer>,
    /// Each response rule over the server's responses (absent from
    /// matrices recorded before the rules).
    #[serde(default)]
    pub rules: Vec<RuleAnswer>,
}

/// How one server's responses kept one response rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleAnswer {
    /// The rule id, `rule:date`.
    pub id: String,
    /// The rule's grade over the run.
    pub grade: Grade,
    /// Responses it applied to.
    pub checked: usize,
    /// Responses that broke it.
    pub broken: usize,
    /// The first cases where it broke, each with what was wrong.
    pub first: Vec<String>,
}

impl RuleAnswer {
    /// One matrix cell: `pass`, `fail 38/402`.
    pub(crate) fn cell(&self) -> String {
        match self.grade {
            Grade::Pass | Grade::Info => self.grade.to_string(),
            grade => format!("{grade} {}/{}", self.broken, self.checked),
        }
    }
}

/// Cases per grade.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Graded pass.
    pub passed: usize,
    /// Graded warn.
    pub warned: usize,
    /// Graded fail.
    pub failed: usize,
    /// Graded info (never scored).
    pub info: usize,
    /// The harness could not run them (never scored).
    pub errors: usize,
    /// They did not apply to the server (never scored).
    #[serde(default)]
    pub skipped: usize,
}

/// What one server answered to one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The case id.
    pub id: String,
    /// The case's grade.
    pub grade: Grade,
    /// Why the case did not apply to the server, for a `skip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// One entry per step that read a response.
    pub steps: Vec<AnswerStep>,
    /// What each step sent, when the source recorded it: a run's JSON
    /// report does ([`crate::saved`]); a matrix of several servers does
    /// not, and keeps its file the size it was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent: Vec<SentStep>,
}

/// What one step of an answer sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentStep {
    /// The 1-based number of the step in its case.
    pub step: usize,
    /// The first bytes sent, escaped in the case notation, a line break
    /// after each `\n`.
    pub sent: String,
    /// How many bytes the step was to send.
    pub sent_total: u64,
}

/// One reading step of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerStep {
    /// The 1-based number of the step in its case.
    pub step: usize,
    /// The outcome as reports write it: `400 Bad Request`, `closed`.
    pub outcome: String,
    /// The outcome in one word: the status code, or `closed`, `reset`,
    /// `timeout`, `invalid`, `error`, `-` (nothing was read).
    pub short: String,
    /// The step's grade, when it read something.
    pub grade: Option<Grade>,
    /// Which acceptable list the outcome was in (`pass`, `warn`, `none`),
    /// when it read something.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<Matched>,
    /// Broken checks: `date (must): no Date field`.
    pub problems: Vec<String>,
    /// The first received bytes, escaped in the case notation, a line
    /// break after each `\n`.
    pub received: String,
    /// How many bytes arrived in all.
    pub received_total: u64,
}

/// Why a matrix file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatrixError {
    /// The file does not exist.
    Missing(PathBuf),
    /// The file could not be read.
    Read(PathBuf, String),
    /// The file is not a matrix.
    Invalid(PathBuf, String),
}

impl fmt::Display for MatrixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatrixError::Missing(path) => write!(f, "no matrix at {}", path.display()),
            MatrixError::Read(path, e) => write!(f, "cannot read {}: {e}", path.display()),
            MatrixError::Invalid(path, e) => write!(f, "{} is not a matrix: {e}", path.display()),
        }
    }
}

impl std::error::Error for MatrixError {}

impl Matrix {
    /// Reads a matrix file.
    pub fn read(path: &Path) -> Result<Matrix, MatrixError> {
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => MatrixError::Missing(path.to_path_buf()),
            _ => MatrixError::Read(path.to_path_buf(), e.to_string()),
        })?;
        serde_json::from_str(&text)
            .map_err(|e| MatrixError::Invalid(path.to_path_buf(), e.to_string()))
    }

    /// Records `server`, replacing the entry of the same name in place, or
    /// appending it.
    pub fn record(&mut self, server: ServerAnswers, date: String) {
        self.generated = date;
        match self.servers.iter_mut().find(|s| s.name == server.name) {
            Some(slot) => *slot = server,
            None => self.servers.push(server),
        }
    }

    /// The file text: pretty JSON, one trailing newline.
    pub fn to_json(&self) -> String {
        escape::json_text(self)
    }
}

impl ServerAnswers {
    /// A server's answers from a run's results.
    pub fn from_results(name: &str, version: &str, results: &[CaseResult<'_>]) -> ServerAnswers {
        ServerAnswers {
            name: name.to_string(),
            version: version.to_string(),
            counts: Counts::of(results),
            answers: results.iter().map(Answer::from_result).collect(),
            rules: check_rules(results)
                .into_iter()
                .map(|r| RuleAnswer {
                    id: r.rule.id.to_string(),
                    grade: r.grade,
                    checked: r.checked,
                    broken: r.broken,
                    first: r
                        .first
                        .into_iter()
                        .map(|b| format!("{}: {}", b.case, b.problem))
                        .collect(),
                })
                .collect(),
        }
    }

    /// The answer to case `id`, if it ran.
    pub(crate) fn answer(&self, id: &str) -> Option<&Answer> {
        self.answers.iter().find(|a| a.id == id)
    }
}

impl Counts {
    /// Counts the grades of `results`.
    pub(crate) fn of(results: &[CaseResult<'_>]) -> Counts {
        let summary = Summary::of(results, None);
        Counts {
            passed: summary.passed,
            warned: summary.warned,
            failed: summary.failed,
            info: summary.info,
            errors: summary.errors,
            skipped: summary.skipped,
        }
    }

    /// The scored cases: `must`, `should` and `may` cases that ran.
    pub(crate) fn scored(&self) -> usize {
        self.passed + self.warned + self.failed
    }

    /// The score: passes out of scored cases, as `212/225 (94%)`.
    pub(crate) fn score(&self) -> String {
        let scored = self.scored();
        if scored == 0 {
            return "0/0".to_string();
        }
        let percent = (self.passed * 100 + scored / 2) / scored;
        format!("{}/{scored} ({percent}%)", self.passed)
    }
}

impl Answer {
    /// The answer recorded for one case result.
    pub(crate) fn from_result(result: &CaseResult<'_>) -> Answer {
        let steps = result
            .reading_steps()
            .map(|(number, _, step)| {
                let exchange = &step.exchange;
                let verdict = step.verdict.as_ref();
                let kept = &exchange.received[..exchange.received.len().min(MATRIX_SHOWN_BYTES)];
                AnswerStep {
                    step: number,
                    outcome: describe::maybe_outcome(exchange.outcome.as_ref()),
                    short: exchange
                        .outcome
                        .as_ref()
                        .map_or_else(|| "-".to_string(), describe::short_outcome),
                    grade: verdict.map(|v| v.grade),
                    matched: verdict.map(|v| v.matched),
                    problems: verdict
                        .map(|v| {
                            v.broken_checks()
                                .map(|(check, problem)| {
                                    format!(
                                        "{check} ({}): {}",
                                        check.level(),
                                        escape::terminal(problem)
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    received: escape::encode_lines(kept).join("\n"),
                    received_total: exchange.received_total,
                }
            })
            .collect();
        Answer {
            id: result.case.id.clone(),
            grade: result.grade,
            skipped: result.skipped.clone(),
            steps,
            sent: Vec::new(),
        }
    }

    /// Each step's outcome in one word, joined: `200 / 200 / closed`;
    /// `-` for a skipped case.
    pub(crate) fn short(&self) -> String {
        if self.skipped.is_some() {
            return "-".to_string();
        }
        join(self.steps.iter().map(|s| s.short.as_str()), " / ")
    }

    /// Each step's outcome, joined: `200 OK | closed`; for a skipped case,
    /// `skipped: ` and the reason.
    pub(crate) fn outcome(&self) -> String {
        if let Some(reason) = &self.skipped {
            return format!("skipped: {reason}");
        }
        let outcomes: Vec<&str> = self.steps.iter().map(|s| s.outcome.as_str()).collect();
        describe::join_outcomes(&outcomes)
    }
}

fn join<'a>(parts: impl Iterator<Item = &'a str>, separator: &str) -> String {
    parts.collect::<Vec<_>>().join(separator)
}

/// The scores table: one row per server with its version and counts.
pub fn render_scores(matrix: &Matrix) -> String {
    let mut out = String::from(
        "| server | version | score | pass | warn | fail | info | skip | error |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for server in &matrix.servers {
        let c = server.counts;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            md_cell(&server.name),
            md_cell(&server.version),
            c.score(),
            c.passed,
            c.warned,
            c.failed,
            c.info,
            c.skipped,
            c.errors
        );
    }
    out
}

/// One matrix cell in Markdown: `pass 400`, `**fail** 200`, `—` (not run).
fn md_answer(answer: Option<&Answer>) -> String {
    match answer {
        None => "—".to_string(),
        Some(answer) if answer.grade == Grade::Fail => format!("**fail** {}", answer.short()),
        Some(answer) => format!("{} {}", answer.grade, answer.short()),
    }
}

/// The whole matrix in Markdown: the scores, then one table per group with
/// one row per case of `cases` and one column per server.
pub fn render_markdown(matrix: &Matrix, cases: &[Case]) -> String {
    let mut out = String::from("# How real servers answer\n\n");
    let _ = writeln!(
        out,
        "The matrix of {}: the {} cases of the catalogue, each sent as raw bytes \
         to {} servers on loopback: file servers serving `fixtures/root` (run with \
         `--fixture-root`), application servers answering one path (run without it, \
         so the cases that need the fixture docroot are `skip`). `make matrix` \
         writes this page, [the HTML report](report.html) (click a cell for the \
         raw request, the raw response and the requirement), `matrix/results.json` \
         and `snapshots/<server>/`.\n",
        matrix.generated,
        cases.len(),
        matrix.servers.len()
    );
    out.push_str("## Scores\n\n");
    out.push_str(&render_scores(matrix));
    out.push_str(
        "\nScore: cases graded pass out of those scored (`must`, `should` and `may`; \
         `info` cases are recorded, never scored). A **fail** breaks a `must`; a warn \
         is an answer the RFC allows where a stricter one exists, or a broken `should`. \
         Each cell is the grade and the status code (or what happened instead: \
         `closed`, `reset`, `timeout`), one per response for cases that read several.\n",
    );
    write_rules_markdown(&mut out, matrix);
    for group in Group::ALL {
        let members: Vec<&Case> = cases.iter().filter(|c| c.group == group).collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n## {group}\n");
        out.push_str("| case | level |");
        for server in &matrix.servers {
            let _ = write!(out, " {} |", md_cell(&server.name));
        }
        out.push_str("\n|---|---|");
        out.push_str(&"---|".repeat(matrix.servers.len()));
        out.push('\n');
        for case in members {
            let _ = write!(out, "| [`{}`]({}) | {} |", case.id, case.url, case.level);
            for server in &matrix.servers {
                let _ = write!(out, " {} |", md_answer(server.answer(&case.id)));
            }
            out.push('\n');
        }
    }
    out
}

/// The response rules, one row each, one column per server: `pass`, or
/// `**fail** 38/402` (responses that broke it out of those it applied to).
fn write_rules_markdown(out: &mut String, matrix: &Matrix) {
    let columns: Vec<(&str, &[RuleAnswer])> = matrix
        .servers
        .iter()
        .map(|s| (s.name.as_str(), s.rules.as_slice()))
        .collect();
    write_rules_table(
        out,
        "checked on every response a server sent and graded once per server",
        &columns,
    );
}

/// The "Response rules" section of a matrix page: what the rules are
/// `checked` on, then one row per rule and one column per `(name, rules)`:
/// `—` where a column has no answer for the rule, a failed rule in bold.
pub(crate) fn write_rules_table(
    out: &mut String,
    checked: &str,
    columns: &[(&str, &[RuleAnswer])],
) {
    let _ = write!(
        out,
        "\n## Response rules\n\nWhat every response must satisfy, {checked}.\n\n| rule | level |"
    );
    for (name, _) in columns {
        let _ = write!(out, " {} |", md_cell(name));
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(columns.len()));
    out.push('\n');
    for rule in &RULES {
        let _ = write!(out, "| `{}` | {} |", rule.id, rule.level);
        for (_, rules) in columns {
            let cell = match rules.iter().find(|r| r.id == rule.id) {
                None => "—".to_string(),
                Some(answer) if answer.grade == Grade::Fail => format!("**{}**", answer.cell()),
                Some(answer) => answer.cell(),
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
}

/// Whether the servers that ran `id` did not all answer alike (by
/// [`Answer::short`]).
pub(crate) fn answers_differ(matrix: &Matrix, id: &str) -> bool {
    let mut shorts = matrix
        .servers
        .iter()
        .filter_map(|s| s.answer(id))
        .map(Answer::short);
    match shorts.next() {
        Some(first) => shorts.any(|s| s != first),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(passed: usize, warned: usize, failed: usize) -> Counts {
        Counts {
            passed,
            warned,
            failed,
            ..Counts::default()
        }
    }

    fn server(name: &str) -> ServerAnswers {
        ServerAnswers {
            name: name.into(),
            version: format!("{name}/1"),
            counts: Counts::default(),
            answers: Vec::new(),
            rules: Vec::new(),
        }
    }

    #[test]
    fn rules_then_one_row_each_fail_in_bold_with_counts() {
        let mut a = server("a");
        a.rules = vec![RuleAnswer {
            id: "rule:date".into(),
            grade: Grade::Fail,
            checked: 402,
            broken: 38,
            first: vec!["x: 400 Bad Request: no Date header".into()],
        }];
        let matrix = Matrix {
            generated: "2026-12-06".into(),
            servers: vec![a, server("b")],
        };
        let mut out = String::new();
        write_rules_markdown(&mut out, &matrix);
        assert_eq!(
            out,
            "\n## Response rules\n\nWhat every response must satisfy, checked on every \
             response a server sent and graded once per server.\n\n| rule | level | a | b |\n\
             |---|---|---|---|\n| `rule:date` | must | **fail 38/402** | — |\n\
             | `rule:content-length` | must | — | — |\n| `rule:status-sp` | must | — | — |\n\
             | `rule:reason-phrase` | must | — | — |\n| `rule:field-value` | must | — | — |\n"
        );
    }

    #[test]
    fn score_then_passes_out_of_scored_rounded() {
        assert_eq!(counts(2, 1, 0).score(), "2/3 (67%)");
        assert_eq!(counts(0, 0, 0).score(), "0/0");
    }

    #[test]
    fn record_same_name_then_replaced_in_place() {
        let mut matrix = Matrix::default();
        matrix.record(server("a"), "2026-01-01".into());
        matrix.record(server("b"), "2026-01-01".into());
        let mut again = server("a");
        again.version = "a/2".into();
        matrix.record(again, "2026-01-02".into());
        let names: Vec<&str> = matrix.servers.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(matrix.servers[0].version, "a/2");
        assert_eq!(matrix.generated, "2026-01-02");
    }

    #[test]
    fn json_then_reads_back_equal() {
        let mut matrix = Matrix::default();
        let mut a = server("a");
        a.answers.push(Answer {
            id: "rfc9112-3-x".into(),
            grade: Grade::Warn,
            skipped: None,
            steps: vec![AnswerStep {
                step: 1,
                outcome: "400 Bad Request".into(),
                short: "400".into(),
                grade: Some(Grade::Warn),
                matched: Some(Matched::Pass),
                problems: vec!["date (must): missing".into()],
                received: "HTTP/1.1 400 Bad Request\\r\\n".into(),
                received_total: 26,
            }],
            sent: Vec::new(),
        });
        matrix.record(a, "2026-01-01".into());
        let back: Matrix = serde_json::from_str(&matrix.to_json()).unwrap();
        assert_eq!(back, matrix);
    }

    #[test]
    fn markdown_cell_then_fail_bold_and_missing_dash() {
        let answer = Answer {
            id: "x".into(),
            grade: Grade::Fail,
            skipped: None,
            steps: Vec::new(),
            sent: Vec::new(),
        };
        assert_eq!(md_answer(Some(&answer)), "**fail** ");
        assert_eq!(md_answer(None), "—");
    }
}
