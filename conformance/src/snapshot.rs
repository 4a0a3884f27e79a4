//! Rendering a case result's heads for exact snapshot tests.
//!
//! A snapshot is the status line and header fields of every response a case
//! read, in order and byte for byte, with the few values that vary between
//! runs redacted. Bytes are escaped in the case notation (`\r`, `\n`,
//! `\t`, `\0`, `\\`, `\xHH`), one head line per snapshot line, so that line
//! endings and stray bytes are part of what is compared: insta would
//! otherwise fold CRLF to LF and trim trailing spaces.
//!
//! ```text
//! --- step 1 ---
//! HTTP/1.1 200 OK\r\n
//! Date: [redacted]\r\n
//! Content-Length: 14\r\n
//! \r\n
//! [body: 14 bytes]
//! --- step 2 ---
//! [closed]
//! ```

use crate::escape;
use crate::run::CaseResult;
use crate::wire::{BodyEnd, Outcome, Response};
use std::collections::BTreeSet;
use std::path::Path;

/// Header fields whose values differ on every run or every checkout.
pub(crate) const VARYING_FIELDS: [&str; 3] = ["Date", "ETag", "Last-Modified"];
/// What a redacted value is replaced with.
pub(crate) const REDACTED: &str = "[redacted]";
/// What the target's port is replaced with in field values.
pub(crate) const PORT_REDACTED: &str = "[port]";
/// The extension of a snapshot file.
pub(crate) const SNAPSHOT_EXTENSION: &str = "snap";

/// Extra choices for rendering.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// More header field names (case-insensitive) whose values are
    /// redacted, e.g. `Server` for a third-party server whose version moves.
    pub redact: Vec<String>,
    /// The port of the target, replaced in field values: a server that
    /// writes absolute URLs (`Location: http://localhost:41234/docs/`)
    /// names the port it was started on, which differs on every run.
    pub port: Option<u16>,
    /// Header field names (case-insensitive) whose comma-separated members
    /// are sorted: for a list that is a set (RFC 9110 §10.2.1: `Allow`) and
    /// that a server writes in an order that changes from run to run.
    pub unordered: Vec<String>,
}

/// One normalisation applied to each line of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Normalization {
    /// Replace the values of [`VARYING_FIELDS`] with [`REDACTED`].
    RedactVarying,
    /// Replace the values of [`SnapshotOptions::redact`] with [`REDACTED`].
    RedactExtra,
    /// Escape every byte visibly in the case notation.
    Escape,
    /// Replace `:<port>` in field values with `:[port]` when
    /// [`SnapshotOptions::port`] is set.
    RedactPort,
    /// Sort the members of the fields in [`SnapshotOptions::unordered`].
    SortUnordered,
    /// Replace a `Content-Type` field's `boundary` parameter with
    /// [`REDACTED`]: RFC 2046 §5.1.1 has a sender pick a boundary that
    /// cannot occur in the content, and many servers pick it at random.
    RedactBoundary,
}

/// The normalisations, in the order they run. New ones go at the end, so
/// that snapshots taken before them keep passing.
pub(crate) const NORMALIZATIONS: [Normalization; 6] = [
    Normalization::RedactVarying,
    Normalization::RedactExtra,
    Normalization::Escape,
    Normalization::RedactPort,
    Normalization::SortUnordered,
    Normalization::RedactBoundary,
];

/// Renders every reading step of a case result. Steps are headed
/// `--- step N ---` when the case reads more than once; a skipped case is
/// one bracketed line with the reason.
pub fn render(result: &CaseResult<'_>, options: &SnapshotOptions) -> String {
    if let Some(reason) = &result.skipped {
        return format!("[skipped: {reason}]\n");
    }
    let reading: Vec<_> = result.reading_steps().collect();
    let mut out = String::new();
    for (number, _, step) in &reading {
        if reading.len() > 1 {
            out.push_str(&format!("--- step {number} ---\n"));
        }
        if let Some(outcome) = &step.exchange.outcome {
            out.push_str(&render_outcome(outcome, options));
        }
    }
    out
}

/// Renders one outcome: a response's heads and a body line, or one
/// bracketed word for anything else.
pub(crate) fn render_outcome(outcome: &Outcome, options: &SnapshotOptions) -> String {
    match outcome {
        Outcome::Response(response) => render_response(response, options),
        Outcome::Closed => "[closed]\n".into(),
        Outcome::Reset => "[reset]\n".into(),
        Outcome::Timeout => "[timeout]\n".into(),
        Outcome::Invalid { reason } => format!("[invalid: {reason}]\n"),
        Outcome::Error(error) => format!("[error: {error}]\n"),
    }
}

fn render_response(response: &Response, options: &SnapshotOptions) -> String {
    let mut out = String::new();
    for head in response.interim.iter().chain([&response.head]) {
        for line in normalize_head(head, options) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    let end = match response.body_end {
        BodyEnd::Complete => "",
        BodyEnd::Closed => ", closed early",
        BodyEnd::Reset => ", reset",
        BodyEnd::Deadline => ", deadline",
        BodyEnd::Truncated => ", truncated",
    };
    out.push_str(&format!("[body: {} bytes{end}]\n", response.body_len));
    if let Some(after) = response.after.filter(|a| a.bytes > 0) {
        out.push_str(&format!("[then: {} bytes]\n", after.bytes));
    }
    out
}

/// Splits a raw head into lines (each keeps its line end) and runs every
/// [`NORMALIZATIONS`] step over each.
pub(crate) fn normalize_head(head: &[u8], options: &SnapshotOptions) -> Vec<String> {
    head.split_inclusive(|&b| b == b'\n')
        .enumerate()
        .map(|(index, line)| {
            let is_field = index > 0;
            let line = NORMALIZATIONS.iter().fold(line.to_vec(), |line, &step| {
                apply(step, is_field, line, options)
            });
            String::from_utf8_lossy(&line).into_owned()
        })
        .collect()
}

/// Applies one normalisation to one line; `is_field` is false for the
/// status line, which is never redacted.
fn apply(step: Normalization, is_field: bool, line: Vec<u8>, options: &SnapshotOptions) -> Vec<u8> {
    match step {
        Normalization::RedactVarying if is_field => {
            redact_if_named(line, VARYING_FIELDS.iter().copied())
        }
        Normalization::RedactExtra if is_field => {
            redact_if_named(line, options.redact.iter().map(String::as_str))
        }
        Normalization::RedactPort if is_field => match options.port {
            Some(port) => redact_port(&line, port),
            None => line,
        },
        Normalization::SortUnordered if is_field => {
            sort_if_named(line, options.unordered.iter().map(String::as_str))
        }
        Normalization::RedactBoundary if is_field => redact_boundary(line),
        Normalization::RedactVarying
        | Normalization::RedactExtra
        | Normalization::RedactPort
        | Normalization::SortUnordered
        | Normalization::RedactBoundary => line,
        Normalization::Escape => escape::encode(&line).into_bytes(),
    }
}

/// `Allow: POST,GET, HEAD\r\n` → `Allow: GET,HEAD,POST\r\n` when the name
/// is one of `names`: members trimmed and sorted, joined with `,` (or `, `
/// when the value had a space after a comma); name, colon, leading
/// whitespace and line end kept as received.
fn sort_if_named<'a>(line: Vec<u8>, mut names: impl Iterator<Item = &'a str>) -> Vec<u8> {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return line;
    };
    if !names.any(|n| n.as_bytes().eq_ignore_ascii_case(&line[..colon])) {
        return line;
    }
    let value_start = colon + 1 + line[colon + 1..].iter().take_while(|&&b| b == b' ').count();
    // The line is escaped by now: its end is the text `\r\n` or `\n`.
    let end = [&b"\\r\\n"[..], b"\\n"]
        .iter()
        .find(|ending| line.ends_with(ending))
        .map_or(line.len(), |ending| line.len() - ending.len());
    let value = &line[value_start.min(end)..end];
    let separator: &[u8] = if value.windows(2).any(|w| w == b", ") {
        b", "
    } else {
        b","
    };
    let mut members: Vec<&[u8]> = value
        .split(|&b| b == b',')
        .map(|m| m.trim_ascii())
        .collect();
    members.sort_unstable();
    let mut out = line[..value_start.min(end)].to_vec();
    out.extend_from_slice(&members.join(separator));
    out.extend_from_slice(&line[end..]);
    out
}

/// `Content-Type: multipart/byteranges; boundary=3d6b6a416f9b5\r\n` →
/// `…; boundary=[redacted]\r\n`: the parameter's value, a token or a
/// quoted string, in a line already escaped (so it ends at `;`, a space,
/// or the `\` of the escaped line end).
fn redact_boundary(line: Vec<u8>) -> Vec<u8> {
    const NAME: &[u8] = b"content-type:";
    const PARAMETER: &[u8] = b"boundary=";
    if !line
        .get(..NAME.len())
        .is_some_and(|n| n.eq_ignore_ascii_case(NAME))
    {
        return line;
    }
    let Some(start) = line
        .windows(PARAMETER.len())
        .position(|w| w.eq_ignore_ascii_case(PARAMETER))
        .map(|at| at + PARAMETER.len())
    else {
        return line;
    };
    let rest = &line[start..];
    let len = if rest.first() == Some(&b'"') {
        rest[1..]
            .iter()
            .position(|&b| b == b'"')
            .map_or(rest.len(), |end| end + 2)
    } else {
        rest.iter()
            .position(|&b| matches!(b, b';' | b' ' | b'\\' | b'\t' | b','))
            .unwrap_or(rest.len())
    };
    let mut out = line[..start].to_vec();
    out.extend_from_slice(REDACTED.as_bytes());
    out.extend_from_slice(&rest[len..]);
    out
}

/// Replaces every `:<port>` not followed by another digit with `:[port]`.
fn redact_port(line: &[u8], port: u16) -> Vec<u8> {
    let needle = format!(":{port}").into_bytes();
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let rest = &line[i..];
        let followed_by_digit = rest.get(needle.len()).is_some_and(u8::is_ascii_digit);
        if rest.starts_with(&needle) && !followed_by_digit {
            out.push(b':');
            out.extend_from_slice(PORT_REDACTED.as_bytes());
            i += needle.len();
        } else {
            out.push(line[i]);
            i += 1;
        }
    }
    out
}

/// The text of a snapshot file for `result`, in the form insta writes for
/// `make conformance` (a small YAML header, then [`render`]), so that every
/// `snapshots/<target>/` folder reads the same way.
pub(crate) fn file_text(
    result: &CaseResult<'_>,
    options: &SnapshotOptions,
    source: &str,
) -> String {
    let case = result.case;
    let description = format!("{} — {}", case.id, case.title);
    let input_file = case.file.to_string_lossy().replace('\\', "/");
    format!(
        "---\nsource: {}\ndescription: {}\ninput_file: {}\n---\n{}",
        yaml_scalar(source),
        yaml_scalar(&description),
        yaml_scalar(&input_file),
        render(result, options)
    )
}

/// A YAML scalar: as it is when plain YAML reads it back unchanged, else
/// double-quoted (JSON string syntax is valid YAML).
fn yaml_scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.ends_with(':')
        && !text.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c) || c == ' ')
        && !text.ends_with(' ')
        && text.chars().all(|c| !c.is_control());
    if plain {
        text.to_string()
    } else {
        serde_json::to_string(text).unwrap_or_default()
    }
}

/// What [`write_dir`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Snapshot files written because they were new or their text changed.
    pub written: usize,
    /// Snapshot files whose text was already the same (left untouched).
    pub unchanged: usize,
    /// Snapshot files of cases not in the catalogue, removed.
    pub removed: usize,
}

/// Writes one `<case-id>.snap` per result into `dir` (created if missing),
/// touching only files whose text changed, and removes snapshot files whose
/// id is not in `catalogue_ids` (cases that were deleted or renamed).
pub fn write_dir(
    dir: &Path,
    results: &[CaseResult<'_>],
    options: &SnapshotOptions,
    source: &str,
    catalogue_ids: &BTreeSet<&str>,
) -> std::io::Result<WriteSummary> {
    std::fs::create_dir_all(dir)?;
    let mut summary = WriteSummary::default();
    for result in results {
        let path = dir.join(format!("{}.{SNAPSHOT_EXTENSION}", result.case.id));
        let text = file_text(result, options, source);
        if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
            summary.unchanged += 1;
        } else {
            std::fs::write(&path, text)?;
            summary.written += 1;
        }
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let orphan = name
            .strip_suffix(".snap")
            .is_some_and(|id| !catalogue_ids.contains(id));
        if orphan {
            std::fs::remove_file(&path)?;
            summary.removed += 1;
        }
    }
    Ok(summary)
}

/// `Name: value\r\n` → `Name: [redacted]\r\n` when the name is one of
/// `names`: keeps the name, the colon, the whitespace after it, and the line
/// end exactly as received.
fn redact_if_named<'a>(line: Vec<u8>, mut names: impl Iterator<Item = &'a str>) -> Vec<u8> {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return line;
    };
    let name = &line[..colon];
    if !names.any(|n| n.as_bytes().eq_ignore_ascii_case(name)) {
        return line;
    }
    let value_start = colon
        + 1
        + line[colon + 1..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
    let line_end = line.len()
        - line
            .iter()
            .rev()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
    let mut out = line[..value_start.min(line_end)].to_vec();
    out.extend_from_slice(REDACTED.as_bytes());
    out.extend_from_slice(&line[line_end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{After, AfterEnd, Framing};

    fn lines(head: &[u8]) -> Vec<String> {
        normalize_head(head, &SnapshotOptions::default())
    }

    #[test]
    fn crlf_head_then_one_escaped_line_each() {
        assert_eq!(
            lines(b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n"),
            [r"HTTP/1.1 200 OK\r\n", r"Content-Length: 14\r\n", r"\r\n"]
        );
    }

    #[test]
    fn bare_lf_and_stray_bytes_then_visible() {
        assert_eq!(
            lines(b"HTTP/1.1 200 OK\nX: a\x01\xff \t\n\n"),
            [r"HTTP/1.1 200 OK\n", r"X: a\x01\xff \t\n", r"\n"]
        );
    }

    #[test]
    fn multipart_boundary_then_redacted_token_or_quoted() {
        let head = b"HTTP/1.1 206 Partial Content\r\n\
            Content-Type: multipart/byteranges; boundary=3d6b6a416f9b5\r\n\
            content-type: multipart/byteranges; BOUNDARY=\"a b\"; x=1\r\n\
            X-Boundary: boundary=keep\r\n\r\n";
        assert_eq!(
            normalize_head(head, &SnapshotOptions::default()),
            [
                r"HTTP/1.1 206 Partial Content\r\n",
                r"Content-Type: multipart/byteranges; boundary=[redacted]\r\n",
                r"content-type: multipart/byteranges; BOUNDARY=[redacted]; x=1\r\n",
                r"X-Boundary: boundary=keep\r\n",
                r"\r\n",
            ]
        );
    }

    #[test]
    fn varying_fields_then_redacted_whatever_their_case() {
        assert_eq!(
            lines(b"HTTP/1.1 200 OK\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\nETag:\"x\"\r\nLast-Modified:  y \r\n\r\n"),
            [
                r"HTTP/1.1 200 OK\r\n",
                r"date: [redacted]\r\n",
                r"ETag:[redacted]\r\n",
                r"Last-Modified:  [redacted]\r\n",
                r"\r\n"
            ]
        );
    }

    #[test]
    fn similar_names_then_not_redacted() {
        assert_eq!(
            lines(b"HTTP/1.1 200 OK\r\nX-Date: 1\r\nDate : 2\r\n\r\n"),
            [
                r"HTTP/1.1 200 OK\r\n",
                r"X-Date: 1\r\n",
                r"Date : 2\r\n",
                r"\r\n"
            ]
        );
    }

    #[test]
    fn status_line_with_colon_then_never_redacted() {
        assert_eq!(lines(b"Date: x\r\n\r\n"), [r"Date: x\r\n", r"\r\n"]);
    }

    #[test]
    fn extra_redaction_then_applied_after_varying() {
        let options = SnapshotOptions {
            redact: vec!["server".into()],
            ..SnapshotOptions::default()
        };
        assert_eq!(
            normalize_head(b"HTTP/1.1 200 OK\r\nServer: nginx/1.25.3\r\n\r\n", &options),
            [r"HTTP/1.1 200 OK\r\n", r"Server: [redacted]\r\n", r"\r\n"]
        );
    }

    #[test]
    fn redacted_value_with_backslash_then_escape_runs_last() {
        let options = SnapshotOptions {
            redact: vec!["X".into()],
            ..SnapshotOptions::default()
        };
        assert_eq!(
            normalize_head(b"HTTP/1.1 200 OK\r\nX: \\\r\nY: \\\r\n\r\n", &options),
            [
                r"HTTP/1.1 200 OK\r\n",
                r"X: [redacted]\r\n",
                r"Y: \\\r\n",
                r"\r\n"
            ]
        );
    }

    #[test]
    fn port_in_field_value_then_redacted_but_not_longer_numbers() {
        let options = SnapshotOptions {
            port: Some(4123),
            ..SnapshotOptions::default()
        };
        assert_eq!(
            normalize_head(
                b"HTTP/1.1 301 Moved :4123\r\nLocation: http://localhost:4123/docs/\r\nX: :41234 a:4123\r\n\r\n",
                &options
            ),
            [
                r"HTTP/1.1 301 Moved :4123\r\n",
                r"Location: http://localhost:[port]/docs/\r\n",
                r"X: :41234 a:[port]\r\n",
                r"\r\n"
            ]
        );
    }

    #[test]
    fn unordered_field_then_members_sorted_and_line_end_kept() {
        let options = SnapshotOptions {
            unordered: vec!["allow".into()],
            ..SnapshotOptions::default()
        };
        assert_eq!(
            normalize_head(
                b"HTTP/1.1 405 No\r\nAllow: POST,OPTIONS,HEAD,GET\r\nVary: b, a\r\nallow: b, a\n\r\n",
                &options
            ),
            [
                r"HTTP/1.1 405 No\r\n",
                r"Allow: GET,HEAD,OPTIONS,POST\r\n",
                r"Vary: b, a\r\n",
                r"allow: a, b\n",
                r"\r\n"
            ]
        );
    }

    #[test]
    fn no_port_given_then_numbers_kept() {
        assert_eq!(
            lines(b"HTTP/1.1 301 Moved\r\nLocation: http://localhost:4123/\r\n\r\n")[1],
            r"Location: http://localhost:4123/\r\n"
        );
    }

    #[test]
    fn yaml_scalars_then_plain_or_quoted() {
        assert_eq!(yaml_scalar("a — b"), "a — b");
        assert_eq!(yaml_scalar("a: b"), "\"a: b\"");
        assert_eq!(yaml_scalar("\"quoted\" start"), "\"\\\"quoted\\\" start\"");
    }

    #[test]
    fn non_responses_then_bracketed_words() {
        let options = SnapshotOptions::default();
        assert_eq!(render_outcome(&Outcome::Closed, &options), "[closed]\n");
        assert_eq!(render_outcome(&Outcome::Reset, &options), "[reset]\n");
        assert_eq!(render_outcome(&Outcome::Timeout, &options), "[timeout]\n");
        let invalid = Outcome::Invalid {
            reason: "garbage".into(),
        };
        assert_eq!(render_outcome(&invalid, &options), "[invalid: garbage]\n");
    }

    #[test]
    fn response_then_interim_heads_first_and_body_line_last() {
        let response = Response {
            method: Some("GET".into()),
            version: "HTTP/1.1".into(),
            code: 200,
            reason: "OK".into(),
            headers: Vec::new(),
            head: b"HTTP/1.1 200 OK\r\n\r\n".to_vec(),
            interim: vec![b"HTTP/1.1 100 Continue\r\n\r\n".to_vec()],
            framing: Framing::Length(14),
            body: Vec::new(),
            body_len: 3,
            body_end: BodyEnd::Closed,
            after: Some(After {
                bytes: 2,
                end: AfterEnd::Closed,
            }),
        };
        assert_eq!(
            render_outcome(&Outcome::Response(response), &SnapshotOptions::default()),
            "HTTP/1.1 100 Continue\\r\\n\n\\r\\n\nHTTP/1.1 200 OK\\r\\n\n\\r\\n\n\
             [body: 3 bytes, closed early]\n[then: 2 bytes]\n"
        );
    }
}
