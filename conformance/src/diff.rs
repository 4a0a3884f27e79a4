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
//! (RFC 9112 §9.3), not a different answer to the request.

use crate::case::Case;
use crate::escape::terminal;
use crate::report::describe::{describe_outcomes, short_outcome};
use crate::run::CaseResult;
use crate::snapshot::{normalize_head, SnapshotOptions};
use crate::wire::Outcome;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Header fields whose values are never compared: they differ between runs
/// ([`crate::snapshot::VARYING_FIELDS`], redacted anyway) or name the server.
pub(crate) const IGNORED_VALUES: [&str; 1] = ["Server"];
/// Header fields whose members are compared as a set (RFC 9110 §10.2.1:
/// `Allow` lists the methods, in no particular order).
pub(crate) const UNORDERED_FIELDS: [&str; 1] = ["Allow"];

/// How the answers to a case differ, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    Unrunnable,
}

impl Difference {
    /// Every kind, in report order: the differences in `Connection` alone
    /// last, apart from the real ones.
    pub(crate) const ALL: [Difference; 5] = [
        Difference::AcceptReject,
        Difference::RejectCodes,
        Difference::Heads,
        Difference::Unrunnable,
        Difference::ConnectionOnly,
    ];

    /// Whether the answers really differ: not in `Connection` alone.
    pub(crate) fn is_real(self) -> bool {
        self != Difference::ConnectionOnly
    }

    /// The heading of the kind in reports.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Difference::AcceptReject => "one accepts where another rejects",
            Difference::RejectCodes => "both reject with different codes",
            Difference::Heads => "both accept with different heads",
            Difference::ConnectionOnly => "differ only in the Connection header",
            Difference::Unrunnable => "not compared (harness error)",
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
}

/// A target of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its name in the report.
    pub name: String,
    /// The address tested, as typed.
    pub address: String,
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
            None
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

/// Each target's reduced reading steps for one case.
fn reduce_case(targets: &[Target], results: &[&CaseResult<'_>]) -> Vec<Vec<Reduced>> {
    targets
        .iter()
        .zip(results)
        .map(|(target, result)| {
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
    /// Per target, its grade and what it answered (`FAIL  400 Bad Request |
    /// closed`), and for a difference of heads, the fields not every target
    /// sent.
    pub lines: Vec<String>,
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
        let lines = row
            .iter()
            .enumerate()
            .map(|(t, r)| {
                let mut line = format!(
                    "{:<5} {}",
                    r.grade.as_str().to_uppercase(),
                    describe_outcomes(r)
                );
                if matches!(kind, Difference::Heads | Difference::ConnectionOnly) {
                    let only = fields_not_shared(&reduced, t);
                    if !only.is_empty() {
                        let _ = write!(line, "; only here: {}", terminal(&only.join(", ")));
                    }
                }
                line
            })
            .collect();
        entries.push(Entry {
            case: result.case,
            kind,
            lines,
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

/// The diff as text: a heading naming the targets, a count per kind, then
/// each kind's cases with what every target answered.
pub fn render_text(targets: &[Target], case_count: usize, entries: &[Entry<'_>]) -> String {
    let mut out = String::new();
    let names: Vec<String> = targets
        .iter()
        .map(|t| {
            if t.name == t.address {
                t.name.clone()
            } else {
                format!("{} ({})", t.name, t.address)
            }
        })
        .collect();
    let cases = |n: usize| match n {
        1 => "1 case".to_string(),
        n => format!("{n} cases"),
    };
    let _ = writeln!(out, "diff of {}: {}", cases(case_count), names.join(", "));
    if entries.is_empty() {
        out.push_str("\nno differences: every case was answered alike\n");
        return out;
    }
    let real = entries.iter().filter(|e| e.kind.is_real()).count();
    let counts: Vec<String> = Difference::ALL
        .iter()
        .filter(|kind| kind.is_real())
        .filter_map(|&kind| {
            let n = entries.iter().filter(|e| e.kind == kind).count();
            (n > 0).then(|| format!("{n} {}", kind.title()))
        })
        .collect();
    if real == 0 {
        out.push_str("no real differences\n");
    } else {
        let _ = writeln!(
            out,
            "{} answered differently: {}",
            cases(real),
            counts.join("; ")
        );
    }
    let connection = entries.len() - real;
    if connection > 0 {
        let _ = writeln!(
            out,
            "{} {} only in the Connection header (listed apart, last)",
            cases(connection),
            if connection == 1 { "differs" } else { "differ" }
        );
    }
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
            for (target, line) in targets.iter().zip(&entry.lines) {
                let _ = writeln!(out, "    {:<width$}  {line}", target.name);
            }
        }
    }
    out
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
    fn field_key_then_name_lowercased_line_end_dropped() {
        assert_eq!(
            field_key(r"Content-Type: text/plain\r\n"),
            "content-type: text/plain"
        );
        assert_eq!(field_key(r"\r\n"), "");
    }
}
