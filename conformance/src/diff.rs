//! The differential view: the same cases against two or more targets, and
//! only the cases where they answer differently, grouped by the kind of
//! difference.
//!
//! Each reading step's outcome is reduced to what is compared: a response
//! below 400 *accepts* (its status code and its header fields, with the
//! values that vary between runs and servers redacted as in snapshots); a
//! response of 400 or more, or no response at all (`closed`, `reset`,
//! `timeout`, `invalid`), *rejects* (its code or that word). A case differs
//! in the worst way any of its steps does: one target accepting where
//! another rejects, then rejections with different codes, then acceptances
//! with different heads. Heads that differ in the `Connection` field alone
//! are kept apart: whether a server keeps a connection open is its choice
//! (RFC 9112 §9.3), not a different answer to the request. A case that one
//! target skips (it does not apply there) or could not run is not compared,
//! and says which.
//!
//! A diff is written as text for people ([`render_text`]) or as JSON for
//! tools ([`render_json`], the layout `docs/diff.schema.json` describes).

use crate::case::{Case, Group, Level};
use crate::escape::{self, terminal};
use crate::report::describe::{describe_outcomes, short_outcome};
use crate::run::CaseResult;
use crate::snapshot::{normalize_head, SnapshotOptions};
use crate::verdict::Grade;
use crate::wire::Outcome;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// The version of the JSON diff's layout (`docs/diff.schema.json`): raised
/// when a field changes meaning or goes; new fields keep it.
const JSON_FORMAT_VERSION: u32 = 1;

/// Header fields whose values are never compared: they differ between runs
/// ([`crate::snapshot::VARYING_FIELDS`], redacted anyway) or name the server.
pub(crate) const IGNORED_VALUES: [&str; 1] = ["Server"];
/// Header fields whose members are compared as a set (RFC 9110 §10.2.1:
/// `Allow` lists the methods, in no particular order).
pub(crate) const UNORDERED_FIELDS: [&str; 1] = ["Allow"];

/// How the answers to a case differ, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Difference {
    /// One target accepts (below 400) where another rejects.
    AcceptReject,
    /// Every target rejects, not all with the same code (or word).
    RejectCodes,
    /// Every target accepts, not all with the same status code and fields.
    Heads,
    /// Every target accepts with the same code and fields but `Connection`.
    ConnectionOnly,
    /// A target's harness could not run the case: not compared.
    #[serde(rename = "harness_error")]
    Unrunnable,
    /// A target skipped the case (it does not apply there, as `run` says
    /// why) where another ran it: not compared.
    Skipped,
}

impl Difference {
    /// Every kind, in report order: the cases not compared after the
    /// differences, the differences in `Connection` alone last.
    pub(crate) const ALL: [Difference; 6] = [
        Difference::AcceptReject,
        Difference::RejectCodes,
        Difference::Heads,
        Difference::Unrunnable,
        Difference::Skipped,
        Difference::ConnectionOnly,
    ];

    /// Whether the targets answered the case differently: a difference of
    /// acceptance, code or heads; not `Connection` alone, and not a case
    /// some target did not run.
    pub fn answered_differently(self) -> bool {
        matches!(
            self,
            Difference::AcceptReject | Difference::RejectCodes | Difference::Heads
        )
    }

    /// Whether a target did not run the case, so it was not compared.
    pub fn not_compared(self) -> bool {
        matches!(self, Difference::Unrunnable | Difference::Skipped)
    }

    /// The heading of the kind in reports.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Difference::AcceptReject => "one accepts where another rejects",
            Difference::RejectCodes => "both reject with different codes",
            Difference::Heads => "both accept with different heads",
            Difference::ConnectionOnly => "differ only in the Connection header",
            Difference::Unrunnable => "not compared: a harness error on a target",
            Difference::Skipped => "not compared: a target skipped it",
        }
    }
}

/// One step's outcome, reduced to what is compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reduced {
    /// A response below 400: its code and its normalised fields, sorted.
    Accept {
        /// The status code.
        code: u16,
        /// `name: value` with the name lowercased and varying values
        /// redacted, sorted.
        fields: Vec<String>,
    },
    /// A response of 400 or more (its code), or no response (the word).
    Reject(String),
    /// The harness could not run the step, or it never read.
    Unrunnable,
    /// The case was skipped: it does not apply to the target.
    Skipped,
}

/// A target of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its name in the report.
    pub name: String,
    /// The address tested, as typed.
    pub address: String,
    /// The resource its cases ask for: its `--target` URL's path, else
    /// `--path`.
    pub path: String,
    /// How its heads are normalised (its port, extra redactions).
    pub options: SnapshotOptions,
}

/// Reduces one outcome (`None`: the step never read).
pub(crate) fn reduce(outcome: Option<&Outcome>, options: &SnapshotOptions) -> Reduced {
    match outcome {
        Some(Outcome::Response(response)) if response.code < 400 => {
            let mut redacting = options.clone();
            redacting
                .redact
                .extend(IGNORED_VALUES.iter().map(|s| s.to_string()));
            redacting
                .unordered
                .extend(UNORDERED_FIELDS.iter().map(|s| s.to_string()));
            let lines = normalize_head(&response.head, &redacting);
            let mut fields: Vec<String> = lines
                .iter()
                .skip(1)
                .map(|line| field_key(line))
                .filter(|line| !line.is_empty())
                .collect();
            fields.sort();
            Reduced::Accept {
                code: response.code,
                fields,
            }
        }
        Some(Outcome::Error(_)) | None => Reduced::Unrunnable,
        Some(other) => Reduced::Reject(short_outcome(other)),
    }
}

/// An escaped head line without its line end, the name lowercased.
fn field_key(line: &str) -> String {
    let line = line
        .strip_suffix("\\r\\n")
        .or_else(|| line.strip_suffix("\\n"))
        .unwrap_or(line);
    match line.split_once(':') {
        Some((name, value)) => format!("{}:{value}", name.to_ascii_lowercase()),
        None => line.to_string(),
    }
}

/// How the answers differ: `answers[target][step]`, each target's reduced
/// reading steps. `None` when they answer alike.
pub(crate) fn classify(answers: &[Vec<Reduced>]) -> Option<Difference> {
    let steps = answers.iter().map(Vec::len).max().unwrap_or(0);
    let mut worst: Option<Difference> = None;
    for index in 0..steps {
        let column: Vec<&Reduced> = answers
            .iter()
            .map(|a| a.get(index).unwrap_or(&Reduced::Unrunnable))
            .collect();
        let kind = if column.iter().any(|r| matches!(r, Reduced::Unrunnable)) {
            Some(Difference::Unrunnable)
        } else if column.windows(2).all(|pair| pair[0] == pair[1]) {
            // Alike, or skipped by every target.
            None
        } else if column.iter().any(|r| matches!(r, Reduced::Skipped)) {
            Some(Difference::Skipped)
        } else {
            let accepts = column
                .iter()
                .filter(|r| matches!(r, Reduced::Accept { .. }))
                .count();
            Some(match accepts {
                0 => Difference::RejectCodes,
                n if n == column.len() && only_connection_differs(&column) => {
                    Difference::ConnectionOnly
                }
                n if n == column.len() => Difference::Heads,
                _ => Difference::AcceptReject,
            })
        };
        worst = match (worst, kind) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    // A case one target could not run is only "not compared" when nothing
    // else already shows a real difference.
    worst
}

/// Whether accepted answers are alike once their `Connection` fields are
/// left out.
fn only_connection_differs(column: &[&Reduced]) -> bool {
    let without: Vec<Option<(u16, Vec<&String>)>> = column
        .iter()
        .map(|r| match r {
            Reduced::Accept { code, fields } => Some((
                *code,
                fields
                    .iter()
                    .filter(|f| !f.starts_with("connection:"))
                    .collect(),
            )),
            _ => None,
        })
        .collect();
    without.windows(2).all(|pair| pair[0] == pair[1])
}

/// Each target's reduced reading steps for one case; a skipped case is
/// [`Reduced::Skipped`] at each of its reading steps.
fn reduce_case(targets: &[Target], results: &[&CaseResult<'_>]) -> Vec<Vec<Reduced>> {
    targets
        .iter()
        .zip(results)
        .map(|(target, result)| {
            if result.skipped.is_some() {
                let reading = result.case.steps.iter().filter(|s| s.expect.is_some());
                return reading.map(|_| Reduced::Skipped).collect();
            }
            result
                .reading_steps()
                .map(|(_, _, step)| reduce(step.exchange.outcome.as_ref(), &target.options))
                .collect()
        })
        .collect()
}

/// One case that differs.
#[derive(Debug, Clone)]
pub struct Entry<'c> {
    /// The case.
    pub case: &'c Case,
    /// How it differs.
    pub kind: Difference,
    /// What each target answered, in target order.
    pub answers: Vec<Answer>,
}

/// What one target answered to a case that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The case's grade on this target.
    pub grade: Grade,
    /// What it answered, one phrase per reading step (`400 Bad Request |
    /// closed`), escaped for a terminal; for a skipped case, why it was
    /// skipped.
    pub outcome: String,
    /// For a difference of heads, the fields (`name: value`, the name
    /// lowercased) this target sent and not every other did, escaped for a
    /// terminal.
    pub only_here: Vec<String>,
}

impl Answer {
    /// `FAIL  400 Bad Request`, `SKIP  the control response has no ETag`,
    /// `PASS  200 OK; only here: connection: keep-alive`.
    fn line(&self) -> String {
        let mut line = format!("{:<5} {}", self.grade.as_str().to_uppercase(), self.outcome);
        if !self.only_here.is_empty() {
            let _ = write!(line, "; only here: {}", self.only_here.join(", "));
        }
        line
    }
}

/// The cases that differ, in catalogue order. `results[target]` are each
/// target's results over the same cases, in the same order.
pub fn compare<'c>(targets: &[Target], results: &[Vec<CaseResult<'c>>]) -> Vec<Entry<'c>> {
    let Some(first) = results.first() else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    for (index, result) in first.iter().enumerate() {
        let row: Vec<&CaseResult<'c>> = results.iter().filter_map(|r| r.get(index)).collect();
        if row.len() != targets.len() {
            continue;
        }
        let reduced = reduce_case(targets, &row);
        let Some(kind) = classify(&reduced) else {
            continue;
        };
        let answers = row
            .iter()
            .enumerate()
            .map(|(t, r)| Answer {
                grade: r.grade,
                outcome: match &r.skipped {
                    Some(reason) => terminal(reason),
                    None => describe_outcomes(r),
                },
                only_here: match kind {
                    Difference::Heads | Difference::ConnectionOnly => {
                        fields_not_shared(&reduced, t)
                            .iter()
                            .map(|f| terminal(f))
                            .collect()
                    }
                    _ => Vec::new(),
                },
            })
            .collect();
        entries.push(Entry {
            case: result.case,
            kind,
            answers,
        });
    }
    entries
}

/// The fields of target `t`'s first differing accepted step that some other
/// target did not send.
fn fields_not_shared(reduced: &[Vec<Reduced>], t: usize) -> Vec<String> {
    let steps = reduced.iter().map(Vec::len).max().unwrap_or(0);
    for index in 0..steps {
        let column: Vec<Option<&Reduced>> = reduced.iter().map(|r| r.get(index)).collect();
        if column.windows(2).all(|pair| pair[0] == pair[1]) {
            continue;
        }
        let Some(Some(Reduced::Accept { fields, .. })) = column.get(t) else {
            return Vec::new();
        };
        let everywhere: BTreeSet<&String> = fields
            .iter()
            .filter(|f| {
                column.iter().all(|other| {
                    matches!(other, Some(Reduced::Accept { fields: theirs, .. }) if theirs.contains(f))
                })
            })
            .collect();
        return fields
            .iter()
            .filter(|f| !everywhere.contains(f))
            .cloned()
            .collect();
    }
    Vec::new()
}

/// `1 case` or `N cases`.
fn cases(n: usize) -> String {
    match n {
        1 => "1 case".to_string(),
        n => format!("{n} cases"),
    }
}

/// The counts of a diff, in a few lines: the cases answered differently
/// by kind (or `no real differences`), those that differ in `Connection`
/// alone, those not compared. For the end of a text diff's head, and for
/// the terminal when the diff goes to a file.
pub fn summary_lines(entries: &[Entry<'_>]) -> String {
    let mut out = String::new();
    if entries.is_empty() {
        out.push_str("no differences: every case was answered alike\n");
        return out;
    }
    let count = |kind: Difference| entries.iter().filter(|e| e.kind == kind).count();
    let kinds = |wanted: fn(Difference) -> bool| -> Vec<String> {
        Difference::ALL
            .iter()
            .filter(|&&kind| wanted(kind) && count(kind) > 0)
            .map(|&kind| format!("{} {}", count(kind), kind.title()))
            .collect()
    };
    let differently = entries
        .iter()
        .filter(|e| e.kind.answered_differently())
        .count();
    if differently == 0 {
        out.push_str("no real differences\n");
    } else {
        let _ = writeln!(
            out,
            "{} answered differently: {}",
            cases(differently),
            kinds(Difference::answered_differently).join("; ")
        );
    }
    let connection = count(Difference::ConnectionOnly);
    if connection > 0 {
        let _ = writeln!(
            out,
            "{} {} only in the Connection header (listed apart, last)",
            cases(connection),
            if connection == 1 { "differs" } else { "differ" }
        );
    }
    let not_compared = entries.iter().filter(|e| e.kind.not_compared()).count();
    if not_compared > 0 {
        let skipped = count(Difference::Skipped);
        let errors = count(Difference::Unrunnable);
        let mut why = Vec::new();
        if skipped > 0 {
            why.push(format!("{skipped} skipped by a target"));
        }
        if errors > 0 {
            why.push(format!(
                "{errors} {} on a target",
                if errors == 1 {
                    "harness error"
                } else {
                    "harness errors"
                }
            ));
        }
        let _ = writeln!(
            out,
            "{} not compared: {}",
            cases(not_compared),
            why.join(", ")
        );
    }
    out
}

/// The diff as text: a heading naming the targets, the counts, then each
/// kind's cases with what every target answered.
pub fn render_text(targets: &[Target], case_count: usize, entries: &[Entry<'_>]) -> String {
    let mut out = String::new();
    let names: Vec<String> = targets
        .iter()
        .map(|t| {
            if t.name == t.address {
                terminal(&t.name)
            } else {
                format!("{} ({})", terminal(&t.name), terminal(&t.address))
            }
        })
        .collect();
    let _ = writeln!(out, "diff of {}: {}", cases(case_count), names.join(", "));
    if entries.is_empty() {
        out.push('\n');
    }
    out.push_str(&summary_lines(entries));
    let width = targets.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for kind in Difference::ALL {
        let members: Vec<&Entry<'_>> = entries.iter().filter(|e| e.kind == kind).collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{} ({}):", kind.title(), members.len());
        for entry in members {
            let case = entry.case;
            let _ = writeln!(out, "\n  {} ({}): {}", case.id, case.level, case.title);
            for (target, answer) in targets.iter().zip(&entry.answers) {
                let _ = writeln!(
                    out,
                    "    {:<width$}  {}",
                    terminal(&target.name),
                    answer.line()
                );
            }
        }
    }
    out
}

/// The JSON diff: its layout is `docs/diff.schema.json`.
#[derive(Serialize)]
struct JsonDiff<'a> {
    format_version: u32,
    tool: JsonTool,
    host: &'a str,
    cases: usize,
    targets: Vec<JsonTarget<'a>>,
    answered_differently: usize,
    not_compared: usize,
    counts: JsonCounts,
    differences: Vec<JsonEntry<'a>>,
}

#[derive(Serialize)]
struct JsonTool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct JsonTarget<'a> {
    name: &'a str,
    target: &'a str,
    path: &'a str,
}

/// How many cases differ in each way, every kind present.
#[derive(Serialize)]
struct JsonCounts {
    accept_reject: usize,
    reject_codes: usize,
    heads: usize,
    connection_only: usize,
    harness_error: usize,
    skipped: usize,
}

#[derive(Serialize)]
struct JsonEntry<'a> {
    id: &'a str,
    title: &'a str,
    level: Level,
    group: Group,
    kind: Difference,
    answers: Vec<JsonAnswer<'a>>,
}

#[derive(Serialize)]
struct JsonAnswer<'a> {
    target: &'a str,
    grade: Grade,
    outcome: &'a str,
    only_here: &'a [String],
}

/// The diff as JSON, for tools: the targets, the counts of each kind, and
/// each case that differs with every target's grade and answer, in the
/// text diff's order (by kind, then catalogue order).
pub fn render_json(
    targets: &[Target],
    host: &str,
    case_count: usize,
    entries: &[Entry<'_>],
) -> String {
    let count = |kind: Difference| entries.iter().filter(|e| e.kind == kind).count();
    let differences = Difference::ALL
        .iter()
        .flat_map(|&kind| entries.iter().filter(move |e| e.kind == kind))
        .map(|entry| JsonEntry {
            id: &entry.case.id,
            title: &entry.case.title,
            level: entry.case.level,
            group: entry.case.group,
            kind: entry.kind,
            answers: targets
                .iter()
                .zip(&entry.answers)
                .map(|(target, answer)| JsonAnswer {
                    target: &target.name,
                    grade: answer.grade,
                    outcome: &answer.outcome,
                    only_here: &answer.only_here,
                })
                .collect(),
        })
        .collect();
    let diff = JsonDiff {
        format_version: JSON_FORMAT_VERSION,
        tool: JsonTool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        host,
        cases: case_count,
        targets: targets
            .iter()
            .map(|t| JsonTarget {
                name: &t.name,
                target: &t.address,
                path: &t.path,
            })
            .collect(),
        answered_differently: entries
            .iter()
            .filter(|e| e.kind.answered_differently())
            .count(),
        not_compared: entries.iter().filter(|e| e.kind.not_compared()).count(),
        counts: JsonCounts {
            accept_reject: count(Difference::AcceptReject),
            reject_codes: count(Difference::RejectCodes),
            heads: count(Difference::Heads),
            connection_only: count(Difference::ConnectionOnly),
            harness_error: count(Difference::Unrunnable),
            skipped: count(Difference::Skipped),
        },
        differences,
    };
    escape::json_text(&diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(code: u16, fields: &[&str]) -> Reduced {
        Reduced::Accept {
            code,
            fields: fields.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn reject(word: &str) -> Reduced {
        Reduced::Reject(word.into())
    }

    #[test]
    fn same_answers_then_no_difference() {
        let a = vec![reject("400")];
        assert_eq!(classify(&[a.clone(), a]), None);
    }

    #[test]
    fn accept_and_reject_then_accept_reject() {
        assert_eq!(
            classify(&[vec![accept(200, &[])], vec![reject("400")]]),
            Some(Difference::AcceptReject)
        );
    }

    #[test]
    fn reject_codes_or_words_then_reject_codes() {
        assert_eq!(
            classify(&[vec![reject("400")], vec![reject("closed")]]),
            Some(Difference::RejectCodes)
        );
    }

    #[test]
    fn accepts_with_other_fields_then_heads() {
        assert_eq!(
            classify(&[
                vec![accept(200, &["content-length: 14"])],
                vec![accept(200, &["content-length: 14", "accept-ranges: bytes"])]
            ]),
            Some(Difference::Heads)
        );
    }

    #[test]
    fn accepts_differing_in_connection_alone_then_connection_only() {
        assert_eq!(
            classify(&[
                vec![accept(200, &["content-length: 0"])],
                vec![accept(
                    200,
                    &["connection: keep-alive", "content-length: 0"]
                )]
            ]),
            Some(Difference::ConnectionOnly)
        );
        assert_eq!(
            classify(&[
                vec![accept(200, &["connection: close"])],
                vec![accept(204, &["connection: keep-alive"])]
            ]),
            Some(Difference::Heads)
        );
        // A real difference in another step wins over it.
        assert_eq!(
            classify(&[
                vec![accept(200, &["connection: close"]), accept(200, &["a: 1"])],
                vec![accept(200, &[]), accept(200, &["a: 2"])]
            ]),
            Some(Difference::Heads)
        );
    }

    #[test]
    fn worst_step_wins() {
        assert_eq!(
            classify(&[
                vec![accept(200, &["a: 1"]), reject("400")],
                vec![accept(200, &["a: 2"]), accept(200, &[])]
            ]),
            Some(Difference::AcceptReject)
        );
    }

    #[test]
    fn harness_error_then_unrunnable() {
        assert_eq!(
            classify(&[vec![Reduced::Unrunnable], vec![reject("400")]]),
            Some(Difference::Unrunnable)
        );
    }

    #[test]
    fn skipped_by_one_target_then_not_compared_and_by_all_then_alike() {
        assert_eq!(
            classify(&[vec![Reduced::Skipped], vec![reject("400")]]),
            Some(Difference::Skipped)
        );
        assert_eq!(
            classify(&[vec![Reduced::Skipped], vec![Reduced::Skipped]]),
            None
        );
        assert_eq!(
            classify(&[vec![Reduced::Skipped], vec![Reduced::Unrunnable]]),
            Some(Difference::Unrunnable)
        );
        assert!(!Difference::Skipped.answered_differently());
        assert!(!Difference::ConnectionOnly.answered_differently());
        assert!(Difference::Heads.answered_differently());
    }

    #[test]
    fn field_key_then_name_lowercased_line_end_dropped() {
        assert_eq!(
            field_key(r"Content-Type: text/plain\r\n"),
            "content-type: text/plain"
        );
        assert_eq!(field_key(r"\r\n"), "");
    }
}
