//! The case format's byte escapes: decoding what a case file says into the
//! exact bytes to send, and encoding received bytes back in the same
//! notation for reports and snapshots.
//!
//! The notation (fixtures/cases/README.md) makes every byte visible so that
//! editors and git cannot change what is sent: `\r \n \t \0 \\ \xHH`,
//! `\{N:TEXT}` for TEXT repeated N times, and `{name}` for a variable the
//! run fills in ([`crate::template`]).

use crate::limits::MAX_DECODED_BYTES;
use crate::template::{Part, Template, Var};
use std::fmt;

/// The most digits a repeat count may have; anything longer is over
/// [`MAX_DECODED_BYTES`] anyway and would only risk overflow.
const MAX_COUNT_DIGITS: usize = 9;

/// Why an escaped string could not be decoded, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscapeError {
    /// 1-based character column in the string where the problem starts.
    pub column: usize,
    /// What is wrong there.
    pub kind: EscapeErrorKind,
}

/// The ways an escaped string can be malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscapeErrorKind {
    /// A backslash followed by a character the format does not define.
    UnknownEscape,
    /// A backslash at the very end of the string.
    TrailingBackslash,
    /// `\x` not followed by two hex digits.
    BadHex,
    /// A raw control character (tab, CR, LF, DEL, …) instead of its escape.
    RawControl,
    /// A raw non-ASCII character instead of `\xHH` escapes.
    NonAscii,
    /// `\{` without a decimal count followed by `:`.
    BadRepeatCount,
    /// A repeat count of zero.
    ZeroRepeat,
    /// `\{N:}` with nothing to repeat.
    EmptyRepeat,
    /// `\{N:TEXT` with no closing `}`.
    UnterminatedRepeat,
    /// `\{` inside the TEXT of another repeat.
    NestedRepeat,
    /// The decoded bytes would exceed [`MAX_DECODED_BYTES`].
    TooLarge,
    /// `{name}` with a name that is not a variable.
    UnknownVariable,
    /// `{` with no closing `}`.
    UnterminatedVariable,
    /// A raw `{` inside a repeat, where no variable may stand.
    BraceInRepeat,
    /// A variable where only fixed bytes may stand.
    Variable,
}

impl fmt::Display for EscapeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnknownEscape => "unknown escape (use \\r \\n \\t \\0 \\\\ \\xHH or \\{N:TEXT})",
            Self::TrailingBackslash => "backslash at the end of the string",
            Self::BadHex => "\\x must be followed by two hex digits",
            Self::RawControl => "raw control character (write it as an escape)",
            Self::NonAscii => "raw non-ASCII character (write its bytes as \\xHH)",
            Self::BadRepeatCount => "\\{ must be followed by a decimal count and ':'",
            Self::ZeroRepeat => "repeat count is zero",
            Self::EmptyRepeat => "repeat has nothing to repeat",
            Self::UnterminatedRepeat => "repeat is missing its closing '}'",
            Self::NestedRepeat => "a repeat cannot contain another repeat",
            Self::TooLarge => "decodes to more than 16 MiB",
            Self::UnknownVariable => {
                "unknown variable (expected {path}, {host}, {etag}, {last-modified} or {length}; \
                 write a literal { as \\x7b)"
            }
            Self::UnterminatedVariable => {
                "variable is missing its closing '}' (write a literal { as \\x7b)"
            }
            Self::BraceInRepeat => {
                "'{' inside a repeat (a variable cannot be repeated; write a literal { as \\x7b)"
            }
            Self::Variable => "a variable cannot be used here",
        })
    }
}

impl fmt::Display for EscapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.kind)
    }
}

impl std::error::Error for EscapeError {}

/// Decodes a case-format string that has no variables into the bytes it
/// stands for.
pub fn decode(text: &str) -> Result<Vec<u8>, EscapeError> {
    let template = decode_template(text)?;
    match template.as_literal() {
        Some(bytes) => Ok(bytes.to_vec()),
        None => {
            let at = text.find('{').unwrap_or(0);
            Err(error_at(
                text[..at].chars().count(),
                EscapeErrorKind::Variable,
            ))
        }
    }
}

/// Decodes a case-format string into a template: bytes and variables.
///
/// ```text
/// escaped  = *( plain / escape / repeat / variable )
/// plain    = %x20-5B / %x5D-7A / %x7C-7E   ; printable ASCII except "\" and "{"
/// escape   = "\r" / "\n" / "\t" / "\0" / "\\" / "\x" 2HEXDIG
/// repeat   = "\{" 1*DIGIT ":" 1*( plain-but-"}" / escape ) "}"
/// variable = "{" ( "path" / "host" / "etag" / "last-modified" / "length" ) "}"
/// ```
pub(crate) fn decode_template(text: &str) -> Result<Template, EscapeError> {
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    let mut out = Vec::with_capacity(chars.len());
    let mut total = 0;
    let mut i = 0;
    while i < chars.len() {
        let before = out.len();
        if chars[i] == '{' {
            let (var, next) = decode_variable(&chars, i)?;
            parts.push(Part::Bytes(std::mem::take(&mut out)));
            parts.push(Part::Var(var));
            i = next;
            continue;
        }
        if chars[i] == '\\' && chars.get(i + 1) == Some(&'{') {
            i = decode_repeat(&chars, i, total, &mut out)?;
        } else {
            i = decode_one(&chars, i, &mut out)?;
        }
        total += out.len() - before;
        if total > MAX_DECODED_BYTES {
            return Err(error_at(i.saturating_sub(1), EscapeErrorKind::TooLarge));
        }
    }
    parts.push(Part::Bytes(out));
    Ok(Template::from_parts(parts))
}

/// Decodes `{name}` starting at `start` (the brace); returns the variable
/// and the index after the closing brace.
fn decode_variable(chars: &[char], start: usize) -> Result<(Var, usize), EscapeError> {
    let name_start = start + 1;
    let mut i = name_start;
    while i < chars.len()
        && (chars[i].is_ascii_lowercase() || chars[i].is_ascii_digit() || chars[i] == '-')
    {
        i += 1;
    }
    if chars.get(i) != Some(&'}') {
        let kind = if i == chars.len() || i > name_start {
            EscapeErrorKind::UnterminatedVariable
        } else {
            EscapeErrorKind::UnknownVariable
        };
        return Err(error_at(start, kind));
    }
    let name: String = chars[name_start..i].iter().collect();
    match Var::parse(&name) {
        Some(var) => Ok((var, i + 1)),
        None => Err(error_at(start, EscapeErrorKind::UnknownVariable)),
    }
}

/// Decodes `\{N:TEXT}` starting at `start` (the backslash); returns the index
/// after the closing brace.
fn decode_repeat(
    chars: &[char],
    start: usize,
    so_far: usize,
    out: &mut Vec<u8>,
) -> Result<usize, EscapeError> {
    let mut i = start + 2;
    let digits_start = i;
    while i < chars.len() && chars[i].is_ascii_digit() {
        i += 1;
    }
    let digits = i - digits_start;
    if digits == 0 || digits > MAX_COUNT_DIGITS || chars.get(i) != Some(&':') {
        return Err(error_at(start, EscapeErrorKind::BadRepeatCount));
    }
    let count: usize = chars[digits_start..i]
        .iter()
        .fold(0, |n, c| n * 10 + c.to_digit(10).map_or(0, |d| d as usize));
    if count == 0 {
        return Err(error_at(start, EscapeErrorKind::ZeroRepeat));
    }
    i += 1;
    let mut unit = Vec::new();
    loop {
        match chars.get(i) {
            None => return Err(error_at(start, EscapeErrorKind::UnterminatedRepeat)),
            Some('}') => break,
            Some('\\') if chars.get(i + 1) == Some(&'{') => {
                return Err(error_at(i, EscapeErrorKind::NestedRepeat))
            }
            Some('{') => return Err(error_at(i, EscapeErrorKind::BraceInRepeat)),
            Some(_) => i = decode_one(chars, i, &mut unit)?,
        }
    }
    if unit.is_empty() {
        return Err(error_at(start, EscapeErrorKind::EmptyRepeat));
    }
    let total = unit
        .len()
        .checked_mul(count)
        .and_then(|n| n.checked_add(so_far));
    match total {
        Some(n) if n <= MAX_DECODED_BYTES => {}
        _ => return Err(error_at(start, EscapeErrorKind::TooLarge)),
    }
    for _ in 0..count {
        out.extend_from_slice(&unit);
    }
    Ok(i + 1)
}

/// Decodes one plain character or one single-byte escape at `i`; returns the
/// index after it.
fn decode_one(chars: &[char], i: usize, out: &mut Vec<u8>) -> Result<usize, EscapeError> {
    let c = chars[i];
    if !c.is_ascii() {
        return Err(error_at(i, EscapeErrorKind::NonAscii));
    }
    if c.is_ascii_control() {
        return Err(error_at(i, EscapeErrorKind::RawControl));
    }
    if c != '\\' {
        out.push(c as u8);
        return Ok(i + 1);
    }
    let byte = match chars.get(i + 1) {
        None => return Err(error_at(i, EscapeErrorKind::TrailingBackslash)),
        Some('r') => b'\r',
        Some('n') => b'\n',
        Some('t') => b'\t',
        Some('0') => 0,
        Some('\\') => b'\\',
        Some('x') => {
            let hi = chars.get(i + 2).and_then(|c| c.to_digit(16));
            let lo = chars.get(i + 3).and_then(|c| c.to_digit(16));
            match (hi, lo) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    return Ok(i + 4);
                }
                _ => return Err(error_at(i, EscapeErrorKind::BadHex)),
            }
        }
        Some(_) => return Err(error_at(i, EscapeErrorKind::UnknownEscape)),
    };
    out.push(byte);
    Ok(i + 2)
}

fn error_at(index: usize, kind: EscapeErrorKind) -> EscapeError {
    EscapeError {
        column: index + 1,
        kind,
    }
}

/// Encodes bytes in the case notation: printable ASCII as itself, `\` as
/// `\\`, CR LF HT NUL as `\r \n \t \0`, every other byte (and `{`, which
/// would start a variable) as `\xHH`.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        push_escaped(&mut out, b);
    }
    out
}

/// Like [`encode`], but one string per line: a line ends after each LF, so
/// a head reads as it would on the wire.
pub(crate) fn encode_lines(bytes: &[u8]) -> Vec<String> {
    bytes.split_inclusive(|&b| b == b'\n').map(encode).collect()
}

/// A template in the case notation, one string per line like
/// [`encode_lines`], its variables written `{name}`.
pub(crate) fn encode_template_lines(template: &Template) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for part in template.parts() {
        match part {
            Part::Bytes(bytes) => {
                for &b in bytes {
                    push_escaped(&mut line, b);
                    if b == b'\n' {
                        lines.push(std::mem::take(&mut line));
                    }
                }
            }
            Part::Var(var) => line.push_str(&var.to_string()),
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn push_escaped(out: &mut String, b: u8) {
    match b {
        b'\\' => out.push_str("\\\\"),
        b'\r' => out.push_str("\\r"),
        b'\n' => out.push_str("\\n"),
        b'\t' => out.push_str("\\t"),
        0 => out.push_str("\\0"),
        b'{' => out.push_str("\\x7b"),
        0x20..=0x7e => out.push(b as char),
        _ => out.push_str(&format!("\\x{b:02x}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> EscapeErrorKind {
        match decode(text) {
            Err(e) => e.kind,
            Ok(bytes) => panic!("{text:?} decoded to {bytes:?}"),
        }
    }

    #[test]
    fn plain_text_then_same_bytes() {
        assert_eq!(decode("GET / HTTP/1.1").unwrap(), b"GET / HTTP/1.1");
    }

    #[test]
    fn single_escapes_then_their_bytes() {
        assert_eq!(decode(r"\r\n\t\0\\").unwrap(), b"\r\n\t\0\\");
    }

    #[test]
    fn hex_escape_either_case_then_byte() {
        assert_eq!(decode(r"\x27\x7D\xff\x00").unwrap(), [0x27, 0x7d, 0xff, 0]);
    }

    #[test]
    fn repeat_then_text_n_times() {
        assert_eq!(decode(r"a\{3:xy}b").unwrap(), b"axyxyxyb");
    }

    #[test]
    fn repeat_with_escapes_inside_then_decoded_unit_repeated() {
        assert_eq!(decode(r"\{2:X: 1\r\n}").unwrap(), b"X: 1\r\nX: 1\r\n");
    }

    #[test]
    fn repeat_ends_at_first_brace_then_rest_is_plain() {
        assert_eq!(decode(r"\{2:a}}").unwrap(), b"aa}");
    }

    #[test]
    fn escaped_brace_inside_repeat_then_kept() {
        assert_eq!(decode(r"\{2:\x7d}").unwrap(), b"}}");
    }

    #[test]
    fn unknown_escape_then_error() {
        assert_eq!(kind(r"\q"), EscapeErrorKind::UnknownEscape);
        assert_eq!(kind(r"\'"), EscapeErrorKind::UnknownEscape);
    }

    #[test]
    fn trailing_backslash_then_error() {
        assert_eq!(kind("abc\\"), EscapeErrorKind::TrailingBackslash);
    }

    #[test]
    fn short_or_bad_hex_then_error() {
        assert_eq!(kind(r"\x4"), EscapeErrorKind::BadHex);
        assert_eq!(kind(r"\xg0"), EscapeErrorKind::BadHex);
    }

    #[test]
    fn raw_control_characters_then_error() {
        for text in ["a\tb", "a\rb", "a\nb", "a\u{7f}b", "a\0b"] {
            assert_eq!(kind(text), EscapeErrorKind::RawControl, "{text:?}");
        }
    }

    #[test]
    fn raw_non_ascii_then_error() {
        assert_eq!(kind("caf\u{e9}"), EscapeErrorKind::NonAscii);
    }

    #[test]
    fn malformed_repeats_then_errors() {
        assert_eq!(kind(r"\{x:a}"), EscapeErrorKind::BadRepeatCount);
        assert_eq!(kind(r"\{3a}"), EscapeErrorKind::BadRepeatCount);
        assert_eq!(kind(r"\{0:a}"), EscapeErrorKind::ZeroRepeat);
        assert_eq!(kind(r"\{3:}"), EscapeErrorKind::EmptyRepeat);
        assert_eq!(kind(r"\{3:abc"), EscapeErrorKind::UnterminatedRepeat);
        assert_eq!(kind(r"\{3:\{2:a}}"), EscapeErrorKind::NestedRepeat);
        assert_eq!(kind(r"\{3:\q}"), EscapeErrorKind::UnknownEscape);
    }

    #[test]
    fn huge_repeat_then_too_large_not_allocated() {
        assert_eq!(kind(r"\{999999999:abcdefgh}"), EscapeErrorKind::TooLarge);
        assert_eq!(kind(r"\{9999999999:a}"), EscapeErrorKind::BadRepeatCount);
    }

    #[test]
    fn error_column_points_at_the_backslash() {
        let err = decode(r"GET \q").unwrap_err();
        assert_eq!(err.column, 5);
        assert_eq!(
            err.to_string(),
            format!("column 5: {}", EscapeErrorKind::UnknownEscape)
        );
    }

    fn template(text: &str) -> Template {
        decode_template(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    #[test]
    fn variables_then_parts_between_bytes() {
        let t = template(r"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
        assert_eq!(t.vars(), [Var::Path, Var::Host]);
        assert_eq!(
            t.parts(),
            [
                Part::Bytes(b"GET ".to_vec()),
                Part::Var(Var::Path),
                Part::Bytes(b" HTTP/1.1\r\nHost: ".to_vec()),
                Part::Var(Var::Host),
                Part::Bytes(b"\r\n\r\n".to_vec()),
            ]
        );
    }

    #[test]
    fn every_variable_name_then_parsed() {
        let t = template(
            "{path}{host}{etag}{last-modified}{length}{last-modified-rfc850}{last-modified-asctime}{missing}",
        );
        assert_eq!(t.vars(), Var::ALL);
    }

    #[test]
    fn hex_brace_then_literal_not_a_variable() {
        assert_eq!(decode(r"\x7bpath}").unwrap(), b"{path}");
    }

    #[test]
    fn unknown_variable_then_error_at_its_brace() {
        let err = decode_template("GET {paht} HTTP/1.1").unwrap_err();
        assert_eq!(
            (err.kind, err.column),
            (EscapeErrorKind::UnknownVariable, 5)
        );
        assert_eq!(
            decode_template("a{}").unwrap_err().kind,
            EscapeErrorKind::UnknownVariable
        );
        assert_eq!(
            decode_template("a{Path}").unwrap_err().kind,
            EscapeErrorKind::UnknownVariable
        );
    }

    #[test]
    fn unclosed_variable_then_error() {
        assert_eq!(
            decode_template("GET {path HTTP/1.1").unwrap_err().kind,
            EscapeErrorKind::UnterminatedVariable
        );
        assert_eq!(
            decode_template("GET {").unwrap_err().kind,
            EscapeErrorKind::UnterminatedVariable
        );
    }

    #[test]
    fn variable_inside_repeat_then_error() {
        assert_eq!(kind(r"\{3:{path}}"), EscapeErrorKind::BraceInRepeat);
    }

    #[test]
    fn variable_where_bytes_are_needed_then_error() {
        assert_eq!(kind("ab{host}"), EscapeErrorKind::Variable);
        assert_eq!(decode("ab{host}").unwrap_err().column, 3);
    }

    #[test]
    fn encode_then_case_notation() {
        assert_eq!(encode(b"a\\b\r\n\t\0\x7f\xff"), r"a\\b\r\n\t\0\x7f\xff");
        assert_eq!(encode(b"{path}"), r"\x7bpath}");
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
    }

    #[test]
    fn template_lines_then_variables_by_name_split_after_lf() {
        let t = template(r"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
        assert_eq!(
            encode_template_lines(&t),
            [r"GET {path} HTTP/1.1\r\n", r"Host: {host}\r\n", r"\r\n"]
        );
    }

    #[test]
    fn encode_lines_then_split_after_each_lf() {
        assert_eq!(encode_lines(b"A\r\nB\n\nC"), [r"A\r\n", r"B\n", r"\n", "C"]);
    }
}
