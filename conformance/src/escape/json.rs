//! JSON for a report or a page: serde's escaping, and DEL and C1 as well,
//! so no control character is left in the text.

use std::fmt::Write as _;

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

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "a\u{1b}[31mb\u{1b}]0;t\u{7}c\u{0}\u{85}\u{9b}d\u{7f}";

    #[test]
    fn json_text_then_no_control_character() {
        let text = json_text(&serde_json::json!({ "reason": HOSTILE }));
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["reason"], HOSTILE);
    }
}
