//! What every renderer shares: escaping for each output format, and the
//! one way an outcome becomes text.
//!
//! Everything a server sent is untrusted: a reason phrase or a field value
//! can carry ANSI CSI and OSC sequences, BEL, NUL, C1 controls, markup. Each
//! format escapes it here before it is written, so no peer byte reaches a
//! terminal, a Markdown page, an XML or a JSON consumer with its meaning:
//!
//! - [`terminal`] (text reports, `explain`): C0 controls, DEL and C1
//!   (U+0080–U+009F) as `\xHH`; [`terminal_bytes`] also shows the bytes that
//!   are not UTF-8 (obs-text, raw 0x80–0x9F) as `\xHH`;
//! - [`markdown_cell`]: the terminal escapes, then HTML's (`<`, `>`, `&`,
//!   quotes), then `|`, backticks and line breaks, so a cell stays a cell;
//! - [`xml`]: XML 1.0 text and attribute values; the controls XML cannot
//!   carry (most of C0, even as character references) as visible `\xHH`;
//! - [`html`]: the page's text and attribute values;
//! - [`json_text`]: JSON from serde with DEL and C1 written `\u00HH`.

use crate::case::{Expect, Token};
use crate::run::CaseResult;
use crate::wire::{Outcome, Response};
use std::fmt::Write as _;

/// Whether a character may not reach a terminal as itself: C0 (tab and
/// line breaks included), DEL, C1.
fn is_terminal_control(c: char) -> bool {
    c.is_control()
}

fn push_hex(out: &mut String, value: u32) {
    let _ = write!(out, "\\x{value:02x}");
}

/// `text` with every control character (C0, DEL, C1) as `\xHH`.
pub(crate) fn terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_terminal_control(c) {
            push_hex(&mut out, c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Bytes as [`terminal`] text: UTF-8 runs escaped like text, every byte
/// that is not part of one (obs-text, raw C1 bytes) as `\xHH`.
pub(crate) fn terminal_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(&terminal(chunk.valid()));
        for &b in chunk.invalid() {
            push_hex(&mut out, u32::from(b));
        }
    }
    out
}

/// The reason phrase exactly as received: the bytes of the status line
/// after `HTTP/x.y SSS ` (none when the line ends after the code).
pub(crate) fn reason_bytes(head: &[u8]) -> &[u8] {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.get(13..).unwrap_or_default()
}

/// What a step got, as every report writes it: `400 Bad Request`,
/// `closed`, `invalid: …`, with the server's bytes escaped for a terminal.
pub(crate) fn outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Response(r) => status(r),
        Outcome::Closed => "closed".into(),
        Outcome::Reset => "reset".into(),
        Outcome::Timeout => "timeout".into(),
        Outcome::Invalid { reason } => format!("invalid: {}", terminal(reason)),
        Outcome::Error(e) => format!("error: {}", terminal(e)),
    }
}

/// A step's outcome, or `-` when it read nothing.
pub(crate) fn maybe_outcome(step: Option<&Outcome>) -> String {
    step.map_or_else(|| "-".to_string(), outcome)
}

/// An outcome in one word: the status code, or what happened instead.
pub(crate) fn short_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Response(response) => response.code.to_string(),
        Outcome::Closed => "closed".into(),
        Outcome::Reset => "reset".into(),
        Outcome::Timeout => "timeout".into(),
        Outcome::Invalid { .. } => "invalid".into(),
        Outcome::Error(_) => "error".into(),
    }
}

/// `400 Bad Request`: the code and the reason phrase as received, escaped.
fn status(r: &Response) -> String {
    let reason = reason_bytes(&r.head);
    if reason.is_empty() {
        r.code.to_string()
    } else {
        format!("{} {}", r.code, terminal_bytes(reason))
    }
}

/// What a case got, one phrase per reading step: `400 Bad Request | closed`;
/// for a skipped case, `skipped: ` and the reason.
pub fn describe_outcomes(result: &CaseResult<'_>) -> String {
    if let Some(reason) = &result.skipped {
        return format!("skipped: {reason}");
    }
    let outcomes: Vec<String> = result
        .reading_steps()
        .map(|(_, _, step)| maybe_outcome(step.exchange.outcome.as_ref()))
        .collect();
    join_outcomes(&outcomes)
}

/// Each step's outcome joined as [`describe_outcomes`] joins them.
pub(crate) fn join_outcomes<S: AsRef<str>>(outcomes: &[S]) -> String {
    let parts: Vec<&str> = outcomes.iter().map(AsRef::as_ref).collect();
    parts.join(" | ")
}

/// Outcome tokens as a case file lists them: `400, close`.
pub(crate) fn join_tokens(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The acceptable outcomes and checks of a step: `pass 400; warn close;
/// checks date (must), closed (must)`.
pub fn describe_expect(expect: &Expect) -> String {
    let mut text = format!("pass {}", join_tokens(&expect.pass));
    if !expect.warn.is_empty() {
        let _ = write!(text, "; warn {}", join_tokens(&expect.warn));
    }
    if !expect.checks.is_empty() {
        let checks: Vec<String> = expect
            .checks
            .iter()
            .map(|c| format!("{c} ({})", c.level()))
            .collect();
        let _ = write!(text, "; checks {}", checks.join(", "));
    }
    text
}

/// The entity for a character that markup (HTML, XML) would read as
/// syntax: `&`, `<`, `>` and both quotes.
fn entity(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        _ => None,
    }
}

/// Text for a Markdown table cell or line: controls as `\xHH`, HTML's
/// special characters as entities (a renderer that allows inline HTML
/// shows them, never runs them), `|` and `\` escaped, backticks as an
/// entity (no code span can open), line breaks as spaces.
pub(crate) fn markdown_cell(text: &str) -> String {
    escape_markup(text, |c| match c {
        '\r' | '\n' => Some(" "),
        '`' => Some("&#96;"),
        '|' => Some("\\|"),
        '\\' => Some("\\\\"),
        _ => None,
    })
}

/// Text for XML 1.0 content and attribute values. The C0 controls XML
/// cannot carry at all, and DEL and C1 (allowed, but no consumer wants
/// them), are written as `\xHH`; tab and line breaks become character
/// references so that attribute normalisation keeps them.
pub(crate) fn xml(text: &str) -> String {
    escape_markup(text, |c| match c {
        '\t' => Some("&#9;"),
        '\n' => Some("&#10;"),
        '\r' => Some("&#13;"),
        _ => None,
    })
}

/// Text for XML content where line breaks should stay line breaks (a
/// failure's details): like [`xml`], with tab and LF kept as themselves.
pub(crate) fn xml_content(text: &str) -> String {
    xml(text).replace("&#10;", "\n").replace("&#9;", "\t")
}

/// Text for HTML content and attribute values: `& < > " '` as entities,
/// controls as `\xHH` (C0 and C1 are parse errors in HTML; no page needs
/// them), tab and line breaks kept.
pub(crate) fn html(text: &str) -> String {
    escape_markup(text, |c| match c {
        '\t' => Some("\t"),
        '\n' => Some("\n"),
        '\r' => Some("\r"),
        _ => None,
    })
}

/// Markup text: what `special` names as it says, then the characters
/// markup reads as syntax as entities, then every control character (and
/// the noncharacters U+FFFE, U+FFFF) as `\xHH`.
fn escape_markup(text: &str, special: fn(char) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if let Some(replacement) = special(c).or_else(|| entity(c)) {
            out.push_str(replacement);
        } else if is_terminal_control(c) || matches!(c, '\u{fffe}' | '\u{ffff}') {
            push_hex(&mut out, c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// JSON text for a value: serde escapes C0 in strings; DEL and C1 are
/// written `\u00HH` too, so the text carries no control character at all.
/// They can only stand inside strings, so the replacement keeps it JSON.
pub(crate) fn json_text<T: serde::Serialize>(value: &T) -> String {
    let text = match serde_json::to_string_pretty(value) {
        Ok(text) => text,
        // Only a non-string map key can fail here, and there is none.
        Err(e) => format!("{{\"error\": {:?}}}", e.to_string()),
    };
    let mut out = escape_json_chars(&text, |_| false);
    out.push('\n');
    out
}

/// JSON that is safe inside a `<script>` element: no `<`, `>` or `&` left
/// that could end the element or start markup, and no control character.
pub(crate) fn json_in_script<T: serde::Serialize>(value: &T) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string());
    escape_json_chars(&text, |c| matches!(c, '<' | '>' | '&'))
}

/// JSON text with DEL, C1 and every character `also` picks written as
/// `\u00HH`: outside strings JSON has none of them, so it stays the same
/// JSON.
fn escape_json_chars(text: &str, also: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if ('\u{7f}'..='\u{9f}').contains(&c) || also(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs of whitespace (line breaks included) folded to one space.
pub(crate) fn fold_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "a\u{1b}[31mb\u{1b}]0;t\u{7}c\u{0}\u{85}\u{9b}d\u{7f}";

    #[test]
    fn terminal_controls_then_hex() {
        assert_eq!(
            terminal(HOSTILE),
            "a\\x1b[31mb\\x1b]0;t\\x07c\\x00\\x85\\x9bd\\x7f"
        );
        assert_eq!(terminal("tab\there\r\n"), "tab\\x09here\\x0d\\x0a");
        assert_eq!(terminal("café ünï"), "café ünï");
    }

    #[test]
    fn terminal_bytes_then_raw_c1_and_obs_text_as_hex() {
        assert_eq!(
            terminal_bytes(b"OK\x85\x9b\xff \x1b"),
            "OK\\x85\\x9b\\xff \\x1b"
        );
        assert_eq!(terminal_bytes("é".as_bytes()), "é");
    }

    #[test]
    fn reason_bytes_then_after_code_and_space() {
        assert_eq!(
            reason_bytes(b"HTTP/1.1 404 Not Found\r\n\r\n"),
            b"Not Found"
        );
        assert_eq!(reason_bytes(b"HTTP/1.1 200 \r\n\r\n"), b"");
        assert_eq!(reason_bytes(b"HTTP/1.1 200\r\n\r\n"), b"");
        assert_eq!(reason_bytes(b"HTTP/1.1 200 \x85x\n\n"), b"\x85x");
    }

    #[test]
    fn markdown_cell_then_no_markup_no_pipe_no_code_span() {
        assert_eq!(
            markdown_cell("<img src=x onerror=\"alert(1)\">|`x`\n\\\u{1b}"),
            "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;\\|&#96;x&#96; \\\\\\x1b"
        );
    }

    #[test]
    fn xml_special_and_control_characters_then_escaped() {
        assert_eq!(
            xml("a<b>&\"'\u{1}\n\u{85}]]>"),
            "a&lt;b&gt;&amp;&quot;&#39;\\x01&#10;\\x85]]&gt;"
        );
        assert_eq!(xml_content("a\nb\tc\u{1b}"), "a\nb\tc\\x1b");
    }

    #[test]
    fn html_markup_and_controls_then_escaped() {
        assert_eq!(
            html("<a href=\"x\">'&'</a>\u{7}\n"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\\x07\n"
        );
    }

    #[test]
    fn json_text_then_no_control_character() {
        let text = json_text(&serde_json::json!({ "reason": HOSTILE }));
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["reason"], HOSTILE);
    }
}
