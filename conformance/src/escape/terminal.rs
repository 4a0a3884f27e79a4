//! Text for a terminal: a text report, `explain`, `diff`. A reason phrase
//! or a field value can carry ANSI CSI and OSC sequences, BEL, NUL and C1
//! controls; none of them reaches the terminal as itself.

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
}
