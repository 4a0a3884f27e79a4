//! Text for a terminal: a text report, `explain`, `diff`. A reason phrase
//! or a field value can carry ANSI CSI and OSC sequences, BEL, NUL and C1
//! controls; none of them reaches the terminal as itself.
//!
//! Bytes for people to read ([`readable`]) are not the case notation: a
//! `{` or a `\` a server sent is shown as itself, not as `\x7b` or `\\`.

use std::fmt::Write as _;

/// Whether a character may not reach a terminal as itself: C0 (tab and
/// line breaks included), DEL, C1.
pub(super) fn is_terminal_control(c: char) -> bool {
    c.is_control()
}

/// `\xHH`, the visible form of a character or byte no output may carry.
pub(super) fn push_hex(out: &mut String, value: u32) {
    let _ = write!(out, "\\x{value:02x}");
}

/// `text` with every control character (C0, DEL, C1) as `\xHH`.
pub fn terminal(text: &str) -> String {
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

/// Bytes for people to read, in prose and in the byte blocks of reports:
/// printable ASCII as itself, CR, LF and HT as `\r`, `\n`, `\t`, every
/// other byte (controls, DEL, every byte from 0x80) as `\xHH`. Unlike the
/// case notation it escapes nothing printable, so a JSON body reads as
/// `{"ok":true}`; the JSON report keeps the exact bytes.
pub fn readable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => push_hex(&mut out, u32::from(b)),
        }
    }
    out
}

/// [`readable`], one string per wire line: a line ends after each LF.
pub(crate) fn readable_lines(bytes: &[u8]) -> Vec<String> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(readable)
        .collect()
}

/// `text` escaped as [`terminal`] does, cut to at most `max` characters:
/// a cut text ends with `…` (counted), and never inside an escape.
pub(crate) fn terminal_cut(text: &str, max: usize) -> String {
    let escaped = terminal(text);
    if escaped.chars().count() <= max {
        return escaped;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let mut piece = String::new();
        if is_terminal_control(c) {
            push_hex(&mut piece, c as u32);
        } else {
            piece.push(c);
        }
        let width = piece.chars().count();
        if used + width + 1 > max {
            break;
        }
        used += width;
        out.push_str(&piece);
    }
    out.push('…');
    out
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
    fn readable_then_printable_ascii_as_itself_and_the_rest_as_hex() {
        assert_eq!(
            readable(b"{\"ok\":true}\\ \r\n\t\x00\x1b[2J\x7f\xc3\xa9"),
            "{\"ok\":true}\\ \\r\\n\\t\\x00\\x1b[2J\\x7f\\xc3\\xa9"
        );
        assert_eq!(
            readable_lines(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n{}"),
            ["HTTP/1.1 200 OK\\r\\n", "A: b\\r\\n", "\\r\\n", "{}"]
        );
    }

    #[test]
    fn terminal_cut_then_bounded_with_an_ellipsis_never_inside_an_escape() {
        assert_eq!(terminal_cut("nginx/1.24.0", 20), "nginx/1.24.0");
        assert_eq!(terminal_cut("abcdefgh", 5), "abcd…");
        assert_eq!(terminal_cut("ab\u{1b}[31mcd", 6), "ab…");
        assert_eq!(terminal_cut("ab\u{1b}[31mcd", 7), "ab\\x1b…");
    }
}
