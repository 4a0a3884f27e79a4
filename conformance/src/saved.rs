//! A run's JSON report (`conformance run --format json`) read back, so that
//! `conformance report --input RUN.json` renders one run as a matrix does:
//! the run becomes a matrix of one server, each answer keeping what its
//! steps sent (a matrix of several servers does not).
//!
//! Only the fields a page shows are read; the report's layout is
//! `docs/report.schema.json`, whose `format_version` this reader knows.

use crate::escape;
use crate::matrix::{Answer, AnswerStep, Counts, Matrix, RuleAnswer, SentStep, ServerAnswers};
use crate::verdict::{Grade, Matched};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The `format_version` of the run reports this reader knows.
const KNOWN_FORMAT_VERSION: u32 = 1;

/// How many bytes of each step's request and response a run page keeps:
/// the text report's [`SHOWN_BYTES`](crate::limits::SHOWN_BYTES), as a
/// page of one server can afford more than a matrix cell.
const RUN_SHOWN_BYTES: usize = crate::limits::SHOWN_BYTES;

/// A run's JSON report, as far as a page needs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SavedRun {
    /// The layout's version.
    pub format_version: u32,
    /// The run's `--name`.
    pub name: String,
    /// The address that was tested.
    pub target: String,
    /// When the first case started, RFC 3339 UTC.
    pub started: String,
    /// What the control learned.
    pub control: Option<SavedControl>,
    /// The response rules over the run.
    #[serde(default)]
    pub rules: Vec<SavedRule>,
    /// Every case that ran.
    pub cases: Vec<SavedCase>,
}

/// The control, as far as a page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SavedControl {
    /// The control GET's `Server` value (absent from reports written
    /// before it was recorded).
    #[serde(default)]
    pub server: Option<String>,
}

/// A response rule over the run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SavedRule {
    /// `rule:date`.
    pub id: String,
    /// Its grade over the run.
    pub grade: Grade,
    /// Responses it applied to.
    pub checked: usize,
    /// Responses that broke it.
    pub broken: usize,
    /// Where it broke first.
    pub first: Vec<SavedBreach>,
}

/// Where a rule broke: the case, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SavedBreach {
    /// The case id.
    pub case: String,
    /// What was wrong.
    pub problem: String,
}

/// One case of the run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SavedCase {
    /// The case id.
    pub id: String,
    /// Its grade.
    pub grade: Grade,
    /// Why it did not apply, for a skip.
    pub skipped: Option<String>,
    /// Each step, in order.
    pub steps: Vec<SavedStep>,
}

/// One step of a case.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SavedStep {
    /// The 1-based step number.
    pub step: usize,
    /// What it sent, in the case notation.
    pub sent: Option<String>,
    /// How many bytes it was to send (absent from older reports, whose
    /// `sent` holds them all).
    #[serde(default)]
    pub sent_total: Option<u64>,
    /// What was acceptable, for a step that reads a response.
    pub expect: Option<String>,
    /// What came back.
    pub outcome: Option<SavedOutcome>,
    /// The step's grade.
    pub grade: Option<Grade>,
    /// Which list the outcome was in.
    pub matched: Option<Matched>,
    /// Every check with its result.
    pub checks: Vec<SavedCheck>,
    /// What was received, in the case notation.
    pub received: String,
    /// How many bytes arrived in all.
    pub received_total: u64,
}

/// What a step got.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SavedOutcome {
    /// A response.
    Response {
        /// The status code.
        code: u16,
        /// The reason phrase.
        reason: String,
    },
    /// Closed without a response.
    Closed,
    /// Reset.
    Reset,
    /// Nothing within the timeout.
    Timeout,
    /// Bytes that are not a response.
    Invalid {
        /// What was wrong.
        reason: String,
    },
    /// The harness failed.
    Error {
        /// What failed.
        message: String,
    },
}

/// One check of a step.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SavedCheck {
    /// The check's name.
    pub check: String,
    /// Its level.
    pub level: String,
    /// Whether it held.
    pub ok: bool,
    /// What was wrong, when it broke.
    pub problem: Option<String>,
}

/// What `report --input` was given: a matrix, or one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A matrix (`run --matrix`).
    Matrix(Matrix),
    /// A run's JSON report (`run --format json`).
    Run(Box<SavedRun>),
}

/// Why an input could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// The file does not exist.
    Missing(PathBuf),
    /// The file could not be read.
    Read(PathBuf, String),
    /// The file is JSON, neither a matrix nor a run's report, or is not JSON.
    Neither(PathBuf, String),
    /// It looks like one of them, but a field is wrong.
    Invalid(PathBuf, &'static str, String),
    /// A run report of a layout this reader does not know.
    Version(PathBuf, u64),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Missing(path) => {
                write!(f, "no matrix or run report at {}", path.display())
            }
            InputError::Read(path, e) => write!(f, "cannot read {}: {e}", path.display()),
            InputError::Neither(path, why) => write!(
                f,
                "{} is neither a matrix (run --matrix FILE) nor a run's JSON report \
                 (run --format json): {why}",
                path.display()
            ),
            InputError::Invalid(path, what, e) => {
                write!(f, "{} is not a valid {what}: {e}", path.display())
            }
            InputError::Version(path, version) => write!(
                f,
                "{} is a run report of format_version {version}; this conformance reads \
                 format_version {KNOWN_FORMAT_VERSION}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for InputError {}

/// Reads `path` as a matrix or a run's JSON report, telling them apart by
/// their top-level fields (`servers`; `format_version` and `cases`).
pub fn read_input(path: &Path) -> Result<Input, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => InputError::Missing(path.to_path_buf()),
        _ => InputError::Read(path.to_path_buf(), e.to_string()),
    })?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| InputError::Neither(path.to_path_buf(), format!("not JSON ({e})")))?;
    let has = |field: &str| value.get(field).is_some();
    if has("servers") {
        return serde_json::from_value(value)
            .map(Input::Matrix)
            .map_err(|e| InputError::Invalid(path.to_path_buf(), "matrix", e.to_string()));
    }
    if has("format_version") && has("cases") {
        let version = value["format_version"].as_u64().unwrap_or(0);
        if version > u64::from(KNOWN_FORMAT_VERSION) {
            return Err(InputError::Version(path.to_path_buf(), version));
        }
        return serde_json::from_value(value)
            .map(|run| Input::Run(Box::new(run)))
            .map_err(|e| InputError::Invalid(path.to_path_buf(), "run report", e.to_string()));
    }
    Err(InputError::Neither(
        path.to_path_buf(),
        "it has neither `servers` nor `format_version` and `cases`".to_string(),
    ))
}

impl SavedRun {
    /// The run as a matrix of one server, named by the run, its version the
    /// control's `Server` value.
    pub fn to_matrix(&self) -> Matrix {
        let answers: Vec<Answer> = self.cases.iter().map(SavedCase::answer).collect();
        let mut counts = Counts::default();
        for answer in &answers {
            match answer.grade {
                Grade::Pass => counts.passed += 1,
                Grade::Warn => counts.warned += 1,
                Grade::Fail => counts.failed += 1,
                Grade::Info => counts.info += 1,
                Grade::Error => counts.errors += 1,
                Grade::Skip => counts.skipped += 1,
            }
        }
        let version = self
            .control
            .as_ref()
            .and_then(|c| c.server.clone())
            .unwrap_or_default();
        Matrix {
            generated: self.started.get(..10).unwrap_or_default().to_string(),
            servers: vec![ServerAnswers {
                name: self.name.clone(),
                version,
                counts,
                answers,
                rules: self
                    .rules
                    .iter()
                    .map(|r| RuleAnswer {
                        id: r.id.clone(),
                        grade: r.grade,
                        checked: r.checked,
                        broken: r.broken,
                        first: r
                            .first
                            .iter()
                            .map(|b| format!("{}: {}", b.case, b.problem))
                            .collect(),
                    })
                    .collect(),
            }],
        }
    }

    /// The ids of the cases that ran, in run order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.cases.iter().map(|c| c.id.as_str())
    }
}

/// The bytes of a notation string, the first `limit` of them; `None` when
/// it is not the notation (then it is shown as it is).
fn kept(notation: &str, limit: usize) -> Option<Vec<u8>> {
    let mut bytes = escape::decode(notation).ok()?;
    bytes.truncate(limit);
    Some(bytes)
}

/// The first [`RUN_SHOWN_BYTES`] of a notation string, one wire line a
/// line, as a matrix keeps received bytes.
fn shown(notation: &str) -> String {
    match kept(notation, RUN_SHOWN_BYTES) {
        Some(bytes) => escape::encode_lines(&bytes).join("\n"),
        None => notation.to_string(),
    }
}

impl SavedCase {
    fn answer(&self) -> Answer {
        let steps = self
            .steps
            .iter()
            .filter(|s| s.expect.is_some())
            .map(|s| AnswerStep {
                step: s.step,
                outcome: s.outcome.as_ref().map_or_else(|| "-".into(), describe),
                short: s.outcome.as_ref().map_or_else(|| "-".into(), short),
                grade: s.grade,
                matched: s.matched,
                problems: s
                    .checks
                    .iter()
                    .filter(|c| !c.ok)
                    .map(|c| {
                        format!(
                            "{} ({}): {}",
                            c.check,
                            c.level,
                            escape::terminal(c.problem.as_deref().unwrap_or_default())
                        )
                    })
                    .collect(),
                received: shown(&s.received),
                received_total: s.received_total,
            })
            .collect();
        let sent = self
            .steps
            .iter()
            .filter_map(|s| {
                let notation = s.sent.as_deref()?;
                let total = s
                    .sent_total
                    .or_else(|| kept(notation, usize::MAX).map(|b| b.len() as u64))
                    .unwrap_or_default();
                Some(SentStep {
                    step: s.step,
                    sent: shown(notation),
                    sent_total: total,
                })
            })
            .collect();
        Answer {
            id: self.id.clone(),
            grade: self.grade,
            skipped: self.skipped.clone(),
            steps,
            sent,
        }
    }
}

/// An outcome as reports write it: `400 Bad Request`, `closed`.
fn describe(outcome: &SavedOutcome) -> String {
    match outcome {
        SavedOutcome::Response { code, reason } if reason.is_empty() => code.to_string(),
        SavedOutcome::Response { code, reason } => {
            format!("{code} {}", escape::terminal(reason))
        }
        SavedOutcome::Invalid { reason } => format!("invalid: {}", escape::terminal(reason)),
        SavedOutcome::Error { message } => format!("error: {}", escape::terminal(message)),
        other => short(other),
    }
}

/// An outcome in one word: the status code, or what happened instead.
fn short(outcome: &SavedOutcome) -> String {
    match outcome {
        SavedOutcome::Response { code, .. } => code.to_string(),
        SavedOutcome::Closed => "closed".into(),
        SavedOutcome::Reset => "reset".into(),
        SavedOutcome::Timeout => "timeout".into(),
        SavedOutcome::Invalid { .. } => "invalid".into(),
        SavedOutcome::Error { .. } => "error".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = r#"{
      "format_version": 1, "name": "mine", "target": "127.0.0.1:8080",
      "started": "2026-12-06T14:15:00Z",
      "control": { "server": "mine/2.0", "status": 200 },
      "rules": [{ "id": "rule:date", "grade": "fail", "checked": 2, "broken": 1,
                  "first": [{ "case": "a", "problem": "400 Bad Request: no Date header" }] }],
      "cases": [
        { "id": "a", "grade": "fail", "skipped": null, "steps": [
          { "step": 1, "sent": "GET / HTTP/1.1\\r\\n\\r\\n", "sent_total": 18, "expect": "pass 200",
            "outcome": { "kind": "response", "code": 400, "reason": "Bad Request" },
            "grade": "fail", "matched": "none",
            "checks": [{ "check": "date", "level": "must", "ok": false, "problem": "no Date header" }],
            "received": "HTTP/1.1 400 Bad Request\\r\\n\\r\\n\\x7b}", "received_total": 30 } ] },
        { "id": "b", "grade": "skip", "skipped": "needs the fixture docroot", "steps": [] }
      ]
    }"#;

    #[test]
    fn run_report_then_a_matrix_of_one_server_with_what_was_sent() {
        let run: SavedRun = serde_json::from_str(RUN).unwrap();
        let matrix = run.to_matrix();
        assert_eq!(matrix.generated, "2026-12-06");
        let server = &matrix.servers[0];
        assert_eq!(
            (server.name.as_str(), server.version.as_str()),
            ("mine", "mine/2.0")
        );
        assert_eq!(
            server.counts,
            Counts {
                failed: 1,
                skipped: 1,
                ..Counts::default()
            }
        );
        assert_eq!(
            server.rules[0].first,
            ["a: 400 Bad Request: no Date header"]
        );
        let a = &server.answers[0];
        assert_eq!(
            a.steps,
            [AnswerStep {
                step: 1,
                outcome: "400 Bad Request".into(),
                short: "400".into(),
                grade: Some(Grade::Fail),
                matched: Some(Matched::None),
                problems: vec!["date (must): no Date header".into()],
                received: "HTTP/1.1 400 Bad Request\\r\\n\n\\r\\n\n\\x7b}".into(),
                received_total: 30,
            }]
        );
        assert_eq!(
            a.sent,
            [SentStep {
                step: 1,
                sent: "GET / HTTP/1.1\\r\\n\n\\r\\n".into(),
                sent_total: 18
            }]
        );
        assert_eq!(
            server.answers[1].skipped.as_deref(),
            Some("needs the fixture docroot")
        );
    }

    fn read(text: &str) -> Result<Input, InputError> {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("in.json");
        std::fs::write(&path, text).unwrap();
        read_input(&path).map_err(|e| match e {
            InputError::Neither(_, why) => InputError::Neither(PathBuf::from("in.json"), why),
            InputError::Invalid(_, what, _) => {
                InputError::Invalid(PathBuf::from("in.json"), what, String::new())
            }
            InputError::Version(_, v) => InputError::Version(PathBuf::from("in.json"), v),
            other => other,
        })
    }

    #[test]
    fn either_input_then_told_apart_and_neither_then_said() {
        assert!(matches!(read(RUN), Ok(Input::Run(_))));
        assert!(matches!(
            read(r#"{"generated": "2026-01-01", "servers": []}"#),
            Ok(Input::Matrix(_))
        ));
        assert_eq!(
            read(r#"{"hello": 1}"#).unwrap_err().to_string(),
            "in.json is neither a matrix (run --matrix FILE) nor a run's JSON report (run \
             --format json): it has neither `servers` nor `format_version` and `cases`"
        );
        assert_eq!(
            read(&RUN.replace("\"format_version\": 1", "\"format_version\": 2"))
                .unwrap_err()
                .to_string(),
            "in.json is a run report of format_version 2; this conformance reads format_version 1"
        );
        assert!(matches!(
            read(r#"{"format_version": 1, "cases": 3}"#),
            Err(InputError::Invalid(_, "run report", _))
        ));
    }
}
