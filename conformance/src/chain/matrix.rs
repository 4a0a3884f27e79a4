//! The chain matrix: how several fronts (real reverse proxies) did on the
//! chain catalogue, each in front of the embedded origin.
//!
//! `conformance chain --matrix FILE` records one front's results into the
//! file (replacing an earlier entry of the same `--name`); `make matrix`
//! does that for every proxy it starts. `conformance report` renders the
//! file as Markdown, as its scores, or as a section of the HTML report
//! ([`super::page`]).
//!
//! The file is JSON, `{"generated", "fronts": [...]}`: per front its name,
//! exact version, the roles it was taken for, its counts and its findings
//! per hop; per case the grade, who answered each step, the case line and
//! every finding with its hop and the first [`MATRIX_SHOWN_BYTES`] bytes of
//! each side, escaped in the case notation. What changes from run to run
//! although the front does not is replaced as it is recorded, so that a
//! rerun diffs only where a front answered differently: the case's token
//! becomes `<token>`, another case's `<other>` (cases run in parallel and
//! share a front's pooled connections), the run's id `<run>`, the origin's
//! and the front's addresses `<origin>` and `<front>`, a valid `Date` value
//! `<date>`; the origin's connections are numbered from 1 within each case,
//! and the bytes of one start at the case's first request on it.

use super::model::{ChainCase, Finding, Hop, Role};
use super::origin::PATH_PREFIX;
use super::report::{case_line, case_results, headline};
use super::run::ChainResult;
use crate::escape;
use crate::escape::markdown_cell as md_cell;
use crate::limits::MATRIX_SHOWN_BYTES;
use crate::matrix::{write_rules_table, Counts, MatrixError, RuleAnswer};
use crate::rules::check_rules;
use crate::verdict::Grade;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// Every front's results on the chain catalogue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainMatrix {
    /// The UTC date (`YYYY-MM-DD`) of the latest run recorded in it.
    pub generated: String,
    /// The fronts, in the order they were first recorded.
    pub fronts: Vec<FrontAnswers>,
}

/// One front's results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrontAnswers {
    /// The column name (`nginx`).
    pub name: String,
    /// The exact version, as the proxy and its package report it.
    pub version: String,
    /// The roles the front was taken for (`--role`).
    pub roles: Vec<Role>,
    /// Cases per grade.
    pub counts: Counts,
    /// Findings per hop.
    pub hops: HopCounts,
    /// One answer per case that ran, in catalogue order.
    pub answers: Vec<ChainAnswer>,
    /// Each response rule over every response the client read.
    pub rules: Vec<RuleAnswer>,
}

/// How many findings name each hop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HopCounts {
    /// Findings about what the front did itself.
    pub front: usize,
    /// Findings about an origin answer the front relayed.
    pub origin: usize,
    /// Desyncs.
    pub pair: usize,
}

/// What one front did on one chain case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainAnswer {
    /// The chain case id.
    pub id: String,
    /// The case's grade, findings of every hop included.
    pub grade: Grade,
    /// Why the case did not apply, for a `skip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The hop of the finding the case leads with (a desync first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop: Option<Hop>,
    /// Who answered each reading step (`null`: no response).
    pub answered_by: Vec<Option<Hop>>,
    /// The case line of the text report: its headline finding, else who
    /// answered each step and what.
    pub outcome: String,
    /// Every finding, each at its hop.
    pub findings: Vec<ChainFinding>,
}

/// One finding, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainFinding {
    /// The hop it is about.
    pub hop: Hop,
    /// `fail` or `warn`.
    pub grade: Grade,
    /// What was wrong, in one sentence.
    pub what: String,
    /// The bytes on each side.
    pub evidence: Vec<ChainEvidence>,
}

/// The bytes of one side of a finding, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainEvidence {
    /// `client sent`, `origin received (connection 2)`.
    pub label: String,
    /// The first bytes, escaped in the case notation, a line break after
    /// each `\n`.
    pub bytes: String,
    /// How many bytes there were in all.
    pub total: u64,
}

/// What a recording replaces, so that reruns compare: each pair is the
/// text found and what it becomes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Normalise {
    /// The run's id (the start of every token).
    pub run_id: String,
    /// The origin's address as bound (`127.0.0.1:9000`).
    pub origin: String,
    /// The front's address as given.
    pub front: String,
}

impl Normalise {
    /// The (found, replacement) pairs for one case's token, longest first.
    fn pairs(&self, token: &str) -> Vec<(String, &'static str)> {
        let mut pairs = vec![(token.to_string(), "<token>")];
        for (found, with) in [
            (&self.run_id, "<run>"),
            (&self.origin, "<origin>"),
            (&self.front, "<front>"),
        ] {
            if !found.is_empty() {
                pairs.push((found.clone(), with));
            }
        }
        pairs
    }

    fn text(&self, token: &str, text: &str) -> String {
        String::from_utf8_lossy(&self.bytes(token, text.as_bytes())).into_owned()
    }

    /// `bytes` with the case's token, other cases' tokens, the run's id
    /// and the addresses replaced, and valid Date values.
    fn bytes(&self, token: &str, bytes: &[u8]) -> Vec<u8> {
        let mut out = replace_bytes(bytes, token.as_bytes(), b"<token>");
        if !self.run_id.is_empty() {
            out = other_tokens(&out, self.run_id.as_bytes());
        }
        for (found, with) in self.pairs(token).iter().skip(1) {
            out = replace_bytes(&out, found.as_bytes(), with.as_bytes());
        }
        dates(&out)
    }
}

/// Other cases' tokens (`RUN-0012`, `RUN-control`) written `<other>`.
fn other_tokens(bytes: &[u8], run_id: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.starts_with(run_id) && rest.get(run_id.len()) == Some(&b'-') {
            let tail = &rest[run_id.len() + 1..];
            let digits = tail.len() >= 4 && tail[..4].iter().all(u8::is_ascii_digit);
            let length = if digits {
                Some(4)
            } else if tail.starts_with(b"control") {
                Some("control".len())
            } else {
                None
            };
            if let Some(length) = length {
                out.extend_from_slice(b"<other>");
                at += run_id.len() + 1 + length;
                continue;
            }
        }
        out.push(bytes[at]);
        at += 1;
    }
    out
}

/// Each `Date` field line whose value is an IMF-fixdate, its value written
/// `<date>` (an invalid value stays: it may be what a finding is about).
fn dates(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let body = line.strip_suffix(b"\r\n").unwrap_or(line);
        let is_date = body.len() > 5 && body[..5].eq_ignore_ascii_case(b"date:");
        let value = std::str::from_utf8(&body[body.len().min(5)..]).unwrap_or("");
        if is_date && crate::date::is_imf_fixdate(value.trim_matches(' ')) {
            out.extend_from_slice(&body[..5]);
            out.extend_from_slice(b" <date>");
            out.extend_from_slice(&line[body.len()..]);
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

/// A connection's bytes from the line that starts the case's first request
/// on it: a front's pooled connection carries other cases' requests before
/// it, which depend on how the parallel cases met.
fn from_own_request(bytes: Vec<u8>) -> Vec<u8> {
    let own = format!("{PATH_PREFIX}<token>");
    let Some(at) = bytes.windows(own.len()).position(|w| w == own.as_bytes()) else {
        return bytes;
    };
    let line = bytes[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    bytes[line..].to_vec()
}

/// The origin's connection numbers in `labels` (`origin received
/// (connection 17)`), numbered from 1 in the order of the numbers.
fn renumber_connections(labels: &[String]) -> Vec<String> {
    const AT: &str = "(connection ";
    let number = |label: &str| -> Option<(usize, usize, usize)> {
        let start = label.find(AT)? + AT.len();
        let len = label[start..].find(')')?;
        Some((start, len, label[start..start + len].parse().ok()?))
    };
    let mut seen: Vec<usize> = labels
        .iter()
        .filter_map(|l| number(l))
        .map(|n| n.2)
        .collect();
    seen.sort_unstable();
    seen.dedup();
    labels
        .iter()
        .map(|label| match number(label) {
            Some((start, len, n)) => {
                let new = seen.iter().position(|&m| m == n).map_or(0, |p| p + 1);
                format!("{}{new}{}", &label[..start], &label[start + len..])
            }
            None => label.clone(),
        })
        .collect()
}

/// `bytes` with every `found` replaced by `with`.
fn replace_bytes(bytes: &[u8], found: &[u8], with: &[u8]) -> Vec<u8> {
    if found.is_empty() {
        return bytes.to_vec();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at..].starts_with(found) {
            out.extend_from_slice(with);
            at += found.len();
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    out
}

impl ChainMatrix {
    /// Reads a chain matrix file.
    pub fn read(path: &Path) -> Result<ChainMatrix, MatrixError> {
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => MatrixError::Missing(path.to_path_buf()),
            _ => MatrixError::Read(path.to_path_buf(), e.to_string()),
        })?;
        ChainMatrix::parse(&text).map_err(|e| MatrixError::Invalid(path.to_path_buf(), e))
    }

    /// A chain matrix from its file text.
    pub fn parse(text: &str) -> Result<ChainMatrix, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// Whether the JSON `text` is a chain matrix rather than something
    /// else (a matrix of servers, a run's report): it has `fronts`.
    pub fn is_chain_matrix(text: &str) -> bool {
        serde_json::from_str::<serde_json::Value>(text)
            .is_ok_and(|v| v.get("fronts").is_some_and(|f| f.is_array()))
    }

    /// Records `front`, replacing the entry of the same name in place, or
    /// appending it.
    pub fn record(&mut self, front: FrontAnswers, date: String) {
        self.generated = date;
        match self.fronts.iter_mut().find(|f| f.name == front.name) {
            Some(slot) => *slot = front,
            None => self.fronts.push(front),
        }
    }

    /// The file text: pretty JSON, one trailing newline.
    pub fn to_json(&self) -> String {
        escape::json_text(self)
    }
}

impl FrontAnswers {
    /// A front's answers from a chain run's results.
    pub fn from_results(
        name: &str,
        version: &str,
        roles: &[Role],
        results: &[ChainResult<'_>],
        normalise: &Normalise,
    ) -> FrontAnswers {
        let cases = case_results(results);
        let mut hops = HopCounts::default();
        for finding in results.iter().flat_map(|r| &r.findings) {
            match finding.hop {
                Hop::Front => hops.front += 1,
                Hop::Origin => hops.origin += 1,
                Hop::Pair => hops.pair += 1,
            }
        }
        FrontAnswers {
            name: name.to_string(),
            version: version.to_string(),
            roles: roles.to_vec(),
            counts: Counts::of(&cases),
            hops,
            answers: results
                .iter()
                .map(|r| ChainAnswer::from_result(r, normalise))
                .collect(),
            rules: check_rules(&cases)
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
    pub fn answer(&self, id: &str) -> Option<&ChainAnswer> {
        self.answers.iter().find(|a| a.id == id)
    }
}

impl ChainAnswer {
    /// The answer recorded for one chain result.
    pub fn from_result(result: &ChainResult<'_>, normalise: &Normalise) -> ChainAnswer {
        let token = result.token.as_str();
        let mut findings: Vec<ChainFinding> = result
            .findings
            .iter()
            .map(|f| ChainFinding::of(f, token, normalise))
            .collect();
        let labels: Vec<String> = findings
            .iter()
            .flat_map(|f| &f.evidence)
            .map(|e| e.label.clone())
            .collect();
        let mut renumbered = renumber_connections(&labels).into_iter();
        for evidence in findings.iter_mut().flat_map(|f| &mut f.evidence) {
            if let Some(label) = renumbered.next() {
                evidence.label = label;
            }
        }
        ChainAnswer {
            id: result.chain.case.id.clone(),
            grade: result.result.grade,
            skipped: result.result.skipped.clone(),
            hop: headline(result).map(|f| f.hop),
            answered_by: result.answered_by.clone(),
            outcome: normalise.text(token, &case_line(result)),
            findings,
        }
    }

    /// One cell: the grade, and the hop of the headline finding when the
    /// case found something (`fail pair`, `warn front`, `pass`).
    pub fn cell(&self) -> String {
        match self.hop {
            Some(hop) if matches!(self.grade, Grade::Fail | Grade::Warn) => {
                format!("{} {hop}", self.grade)
            }
            _ => self.grade.to_string(),
        }
    }

    /// The desyncs among the findings.
    pub fn desyncs(&self) -> impl Iterator<Item = &ChainFinding> {
        self.findings.iter().filter(|f| f.hop == Hop::Pair)
    }
}

impl ChainFinding {
    fn of(finding: &Finding, token: &str, normalise: &Normalise) -> ChainFinding {
        ChainFinding {
            hop: finding.hop,
            grade: finding.grade,
            what: normalise.text(token, &finding.what),
            evidence: finding
                .evidence
                .iter()
                .map(|e| {
                    let mut bytes = normalise.bytes(token, &e.bytes);
                    if e.label.starts_with("origin received") {
                        bytes = from_own_request(bytes);
                    }
                    let kept = &bytes[..bytes.len().min(MATRIX_SHOWN_BYTES)];
                    ChainEvidence {
                        label: normalise.text(token, &e.label),
                        bytes: escape::encode_lines(kept).join("\n"),
                        total: bytes.len() as u64,
                    }
                })
                .collect(),
        }
    }
}

/// The scores table: one row per front with its version, its counts and
/// its findings per hop.
pub fn render_scores(matrix: &ChainMatrix) -> String {
    let mut out = String::from(
        "| proxy | version | score | pass | warn | fail | skip | error | front | origin | pair |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for front in &matrix.fronts {
        let c = front.counts;
        let h = front.hops;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            md_cell(&front.name),
            md_cell(&front.version),
            c.score(),
            c.passed,
            c.warned,
            c.failed,
            c.skipped,
            c.errors,
            h.front,
            h.origin,
            h.pair
        );
    }
    out
}

/// The chain cases the matrix has answers for, in catalogue order.
pub fn answered<'c>(matrix: &ChainMatrix, cases: &'c [ChainCase]) -> Vec<&'c ChainCase> {
    cases
        .iter()
        .filter(|c| matrix.fronts.iter().any(|f| f.answer(&c.case.id).is_some()))
        .collect()
}

/// The ids the matrix has answers for that `cases` lacks.
pub fn unknown_ids<'m>(matrix: &'m ChainMatrix, cases: &[ChainCase]) -> Vec<&'m str> {
    let mut ids: Vec<&str> = matrix
        .fronts
        .iter()
        .flat_map(|f| &f.answers)
        .map(|a| a.id.as_str())
        .filter(|id| !cases.iter().any(|c| c.case.id == *id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// One Markdown cell: `**fail pair**`, `warn front`, `pass`, `—`.
fn md_answer(answer: Option<&ChainAnswer>) -> String {
    match answer {
        None => "—".to_string(),
        Some(a) if a.grade == Grade::Fail => format!("**{}**", a.cell()),
        Some(a) => a.cell(),
    }
}

/// The chain matrix in Markdown: the scores, what each front breaks, each
/// desync with the bytes of both sides, then one row per case and one
/// column per front, and the response rules.
pub fn render_markdown(matrix: &ChainMatrix, cases: &[ChainCase]) -> String {
    let rows = answered(matrix, cases);
    let mut out = String::from("# How real reverse proxies relay\n\n");
    let _ = writeln!(
        out,
        "The chain matrix of {}: the {} chain cases, each run by `conformance chain` \
         through {} reverse proxies on loopback, each started from its config in \
         `matrix/proxies/` in front of the origin embedded in `conformance`, which \
         records every byte the proxy forwards and answers as each case scripts (marked, \
         `Cache-Control: no-store`). `make matrix` writes this page, the chain section of \
         [the HTML report](report.html#chain) (click a cell for the findings and the bytes \
         of each side) and `matrix/chain-results.json`. So that reruns compare, the case's \
         token is written `<token>`, another case's `<other>`, the run's id `<run>`, the two \
         addresses `<origin>` and `<front>`, a valid Date `<date>`; the origin's connections are \
         numbered within each case, and the bytes of one start at the case's first request on \
         it (a proxy's pooled connection carries other cases' requests before).\n",
        matrix.generated,
        rows.len(),
        matrix.fronts.len()
    );
    out.push_str("## Scores\n\n");
    out.push_str(&render_scores(matrix));
    out.push_str(
        "\nScore: chain cases graded pass out of those scored. A **fail** breaks a `must`, \
         a warn a `should`. `front`, `origin`, `pair`: the findings naming each hop — \
         **front**: the proxy answered or changed something itself; **origin**: it relayed \
         the origin's answer; **pair**: the proxy and the origin disagree on the messages \
         (a desync). Each case cell is the grade and the hop of the case's leading \
         finding.\n",
    );
    write_broken(&mut out, matrix, &rows);
    write_desyncs(&mut out, matrix);
    out.push_str("\n## Cases\n\n| case | level | role |");
    for front in &matrix.fronts {
        let _ = write!(out, " {} |", md_cell(&front.name));
    }
    out.push_str("\n|---|---|---|");
    out.push_str(&"---|".repeat(matrix.fronts.len()));
    out.push('\n');
    for chain in &rows {
        let case = &chain.case;
        let _ = write!(
            out,
            "| [`{}`]({}) | {} | {} |",
            case.id, case.url, case.level, chain.role
        );
        for front in &matrix.fronts {
            let _ = write!(out, " {} |", md_answer(front.answer(&case.id)));
        }
        out.push('\n');
    }
    write_rules(&mut out, matrix);
    out
}

/// Per front: its fail and warn counts and the requirements it breaks,
/// each with its cases and their hops.
fn write_broken(out: &mut String, matrix: &ChainMatrix, rows: &[&ChainCase]) {
    out.push_str(
        "\n## Requirements broken\n\n| proxy | fail | warn | requirements broken (case: hop) |\n\
         |---|---:|---:|---|\n",
    );
    for front in &matrix.fronts {
        let mut broken: Vec<(String, Vec<String>)> = Vec::new();
        for chain in rows {
            let Some(answer) = front
                .answer(&chain.case.id)
                .filter(|a| matches!(a.grade, Grade::Fail | Grade::Warn))
            else {
                continue;
            };
            let requirement = format!("{} ({})", chain.case.rfc, chain.case.level);
            let item = format!(
                "`{}`: {}",
                chain.case.id.trim_start_matches("chain-"),
                answer.hop.map_or("-".to_string(), |h| h.to_string())
            );
            match broken.iter_mut().find(|(r, _)| *r == requirement) {
                Some((_, items)) => items.push(item),
                None => broken.push((requirement, vec![item])),
            }
        }
        let list = if broken.is_empty() {
            "none".to_string()
        } else {
            broken
                .iter()
                .map(|(r, items)| format!("{r}: {}", items.join(", ")))
                .collect::<Vec<_>>()
                .join("; ")
        };
        // Case ids and RFC sections come from the catalogue: no cell markup.
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            md_cell(&front.name),
            front.counts.failed,
            front.counts.warned,
            list.replace('|', "\\|")
        );
    }
}

/// Every pair finding, with the bytes of both sides.
fn write_desyncs(out: &mut String, matrix: &ChainMatrix) {
    out.push_str("\n## Desyncs\n\n");
    let mut any = false;
    for front in &matrix.fronts {
        for answer in &front.answers {
            for finding in answer.desyncs() {
                any = true;
                let _ = writeln!(
                    out,
                    "### {} — `{}`\n\n**pair** ({}): {}\n",
                    md_cell(&front.name),
                    answer.id,
                    finding.grade,
                    md_cell(&finding.what)
                );
                write_evidence(out, finding);
            }
        }
    }
    if !any {
        out.push_str("No proxy desynchronised from the origin.\n");
    }
}

fn write_evidence(out: &mut String, finding: &ChainFinding) {
    for evidence in &finding.evidence {
        let _ = writeln!(out, "{}:\n\n```", md_cell(&evidence.label));
        for line in evidence.bytes.split('\n') {
            // The notation never holds a backtick run that could end the fence.
            let _ = writeln!(out, "{}", line.replace('`', "\\x60"));
        }
        out.push_str("```\n");
        let shown = escape::decode(&evidence.bytes.replace('\n', "")).map_or(0, |b| b.len());
        let hidden = evidence.total.saturating_sub(shown as u64);
        if hidden > 0 {
            let _ = writeln!(out, "… ({hidden} more bytes)");
        }
        out.push('\n');
    }
}

/// The response rules over every response the client read through each
/// front.
fn write_rules(out: &mut String, matrix: &ChainMatrix) {
    let columns: Vec<(&str, &[RuleAnswer])> = matrix
        .fronts
        .iter()
        .map(|f| (f.name.as_str(), f.rules.as_slice()))
        .collect();
    write_rules_table(
        out,
        "checked on every response the client read through each proxy (its own and those \
         it relayed)",
        &columns,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_then_tokens_run_addresses_and_dates_replaced() {
        let n = Normalise {
            run_id: "0fd63b64".into(),
            origin: "127.0.0.1:9000".into(),
            front: "127.0.0.1:8080".into(),
        };
        assert_eq!(
            n.text(
                "0fd63b64-0022",
                "GET /x/0fd63b64-0022 via 127.0.0.1:8080 to 127.0.0.1:9000, and 0fd63b64-0001, \
                 0fd63b64-control, 0fd63b64-x"
            ),
            "GET /x/<token> via <front> to <origin>, and <other>, <other>, <run>-x"
        );
        assert_eq!(
            n.bytes(
                "0fd63b64-0022",
                b"Host: 127.0.0.1:9000\r\ndate: Sun, 06 Dec 2026 15:06:12 GMT\r\n\
                  Date: yesterday\r\nX-Date: Sun, 06 Dec 2026 15:06:12 GMT\n"
            ),
            b"Host: <origin>\r\ndate: <date>\r\nDate: yesterday\r\n\
              X-Date: Sun, 06 Dec 2026 15:06:12 GMT\n"
        );
        assert_eq!(replace_bytes(b"aaa", b"aa", b"b"), b"ba");
        assert_eq!(replace_bytes(b"abc", b"", b"x"), b"abc");
    }

    #[test]
    fn pooled_connection_then_shown_from_the_case_s_own_request() {
        let bytes = b"GET /conformance-chain/<other> HTTP/1.1\r\n\r\n\
                      GET /conformance-chain/<token>/smuggled HTTP/1.1\r\n\r\n"
            .to_vec();
        assert_eq!(
            from_own_request(bytes),
            b"GET /conformance-chain/<token>/smuggled HTTP/1.1\r\n\r\n"
        );
        let alone = b"POST /conformance-chain/<token> HTTP/1.1\r\n\r\n".to_vec();
        assert_eq!(from_own_request(alone.clone()), alone);
        assert_eq!(from_own_request(b"junk".to_vec()), b"junk");
    }

    #[test]
    fn connections_then_numbered_from_one_within_the_case() {
        let labels: Vec<String> = [
            "client sent",
            "origin received (connection 17)",
            "origin received (connection 9)",
            "origin received (connection 17)",
        ]
        .map(String::from)
        .into();
        assert_eq!(
            renumber_connections(&labels),
            [
                "client sent",
                "origin received (connection 2)",
                "origin received (connection 1)",
                "origin received (connection 2)"
            ]
        );
    }

    #[test]
    fn cell_then_hop_named_only_for_findings() {
        let answer = |grade, hop| ChainAnswer {
            id: "x".into(),
            grade,
            skipped: None,
            hop,
            answered_by: Vec::new(),
            outcome: String::new(),
            findings: Vec::new(),
        };
        assert_eq!(answer(Grade::Fail, Some(Hop::Pair)).cell(), "fail pair");
        assert_eq!(answer(Grade::Warn, Some(Hop::Front)).cell(), "warn front");
        assert_eq!(answer(Grade::Pass, None).cell(), "pass");
        assert_eq!(
            md_answer(Some(&answer(Grade::Fail, Some(Hop::Origin)))),
            "**fail origin**"
        );
        assert_eq!(md_answer(None), "—");
    }

    #[test]
    fn record_same_name_then_replaced_in_place_and_json_reads_back() {
        let front = |name: &str, version: &str| FrontAnswers {
            name: name.into(),
            version: version.into(),
            roles: vec![Role::Gateway],
            counts: Counts::default(),
            hops: HopCounts::default(),
            answers: Vec::new(),
            rules: Vec::new(),
        };
        let mut matrix = ChainMatrix::default();
        matrix.record(front("a", "1"), "2026-01-01".into());
        matrix.record(front("b", "1"), "2026-01-01".into());
        matrix.record(front("a", "2"), "2026-01-02".into());
        let names: Vec<&str> = matrix.fronts.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(matrix.fronts[0].version, "2");
        let text = matrix.to_json();
        assert!(ChainMatrix::is_chain_matrix(&text));
        assert!(!ChainMatrix::is_chain_matrix("{\"servers\": []}"));
        assert_eq!(ChainMatrix::parse(&text), Ok(matrix));
    }
}
