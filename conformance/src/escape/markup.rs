//! Text for markup: a Markdown table cell, XML 1.0 (JUnit), HTML (the
//! matrix page). The characters each reads as syntax become entities or
//! escapes, and control characters become visible `\xHH`.

use super::terminal::{is_terminal_control, push_hex};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
