//! The response-head parser: finds where a head ends, and splits it into the
//! status line and the header fields (RFC 9112 §4, §5).

use super::conn::{Conn, Fill};
use super::Outcome;
use crate::limits::HEAD_LIMIT;
use std::time::Instant;

pub(super) enum HeadRead {
    Head(Vec<u8>),
    Nothing(Outcome),
}

/// Reads up to and including the blank line that ends a head. A recipient
/// MAY accept a bare LF as a line end (RFC 9112 §2.2), so `\n\n` ends a
/// head too; the raw bytes keep the evidence for snapshots.
pub(super) fn read_head(conn: &mut Conn, deadline: Instant, after_interim: bool) -> HeadRead {
    let mut scanned = 0;
    loop {
        let avail = conn.available();
        let prefix = &avail[..avail.len().min(STATUS_PREFIX.len())];
        if !STATUS_PREFIX.starts_with(prefix) {
            return HeadRead::Nothing(Outcome::Invalid {
                reason: format!(
                    "not an HTTP response: starts with \"{}\"",
                    crate::escape::readable(&avail[..avail.len().min(24)])
                ),
            });
        }
        if let Some(end) = find_head_end(avail, &mut scanned) {
            let head = avail[..end].to_vec();
            conn.consume(end);
            return HeadRead::Head(head);
        }
        if avail.len() > HEAD_LIMIT {
            return HeadRead::Nothing(Outcome::Invalid {
                reason: format!("response head longer than {HEAD_LIMIT} bytes"),
            });
        }
        let partial = avail.len();
        let fresh = partial == 0 && !after_interim;
        let how = match conn.fill(deadline) {
            Fill::Data => continue,
            Fill::Failed(e) => return HeadRead::Nothing(Outcome::Error(e)),
            Fill::Eof if fresh => return HeadRead::Nothing(Outcome::Closed),
            Fill::Reset if fresh => return HeadRead::Nothing(Outcome::Reset),
            Fill::Deadline if fresh => return HeadRead::Nothing(Outcome::Timeout),
            Fill::Eof => "closed",
            Fill::Reset => "reset",
            Fill::Deadline => "deadline passed",
        };
        let reason = if partial == 0 {
            format!("{how} after an interim response, before the final one")
        } else {
            format!("{how} after {partial} bytes of a response head")
        };
        return HeadRead::Nothing(Outcome::Invalid { reason });
    }
}

/// Every response starts with this (RFC 9112 §4: `HTTP-version` is
/// `HTTP-name "/" DIGIT "." DIGIT`).
const STATUS_PREFIX: &[u8] = b"HTTP/";

/// The index just past the blank line ending the head, if it has arrived.
/// `scanned` remembers how far earlier calls looked.
pub(super) fn find_head_end(bytes: &[u8], scanned: &mut usize) -> Option<usize> {
    let from = scanned.saturating_sub(2);
    for i in from..bytes.len() {
        if bytes[i] != b'\n' {
            continue;
        }
        match bytes.get(i + 1..) {
            Some([b'\n', ..]) => return Some(i + 2),
            Some([b'\r', b'\n', ..]) => return Some(i + 3),
            _ => {}
        }
    }
    *scanned = bytes.len();
    None
}

/// A head split into its parts.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct ParsedHead {
    pub(super) version: String,
    pub(super) code: u16,
    pub(super) reason: String,
    pub(super) headers: Vec<(String, String)>,
}

/// Parses a complete head (status line, field lines, blank line).
///
/// ```text
/// status-line = HTTP-version SP status-code SP [ reason-phrase ]
/// field-line  = field-name ":" OWS field-value OWS
/// obs-fold    = OWS CRLF RWS
/// ```
///
/// A missing SP after the code with no reason is accepted: the reason is
/// optional and a client SHOULD ignore it (RFC 9112 §4).
pub(super) fn parse_head(head: &[u8]) -> Result<ParsedHead, String> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let status = lines.next().unwrap_or_default();
    let (version, code, reason) = parse_status_line(status).ok_or_else(|| {
        format!(
            "malformed status line \"{}\"",
            crate::escape::readable(&status[..status.len().min(80)])
        )
    })?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines.filter(|line| !line.is_empty()) {
        if line[0] == b' ' || line[0] == b'\t' {
            // RFC 9112 §5.2: a user agent MUST replace each received obs-fold
            // with one or more SP before interpreting the field value.
            let Some((_, value)) = headers.last_mut() else {
                return Err("a continuation line before any header field".into());
            };
            let more = String::from_utf8_lossy(trim_ows(line));
            value.push(' ');
            value.push_str(&more);
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(format!(
                "header line without a colon \"{}\"",
                crate::escape::readable(&line[..line.len().min(80)])
            ));
        };
        if colon == 0 {
            return Err("header line with an empty field name".into());
        }
        headers.push((
            String::from_utf8_lossy(&line[..colon]).into_owned(),
            String::from_utf8_lossy(trim_ows(&line[colon + 1..])).into_owned(),
        ));
    }
    Ok(ParsedHead {
        version,
        code,
        reason,
        headers,
    })
}

fn parse_status_line(line: &[u8]) -> Option<(String, u16, String)> {
    let version = line.get(..8)?;
    let valid_version = version.starts_with(STATUS_PREFIX)
        && version[5].is_ascii_digit()
        && version[6] == b'.'
        && version[7].is_ascii_digit();
    if !valid_version || line.get(8) != Some(&b' ') {
        return None;
    }
    let code = line.get(9..12)?;
    if !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = code.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    let reason = match line.get(12..) {
        None | Some([]) => Vec::new(),
        Some([b' ', rest @ ..]) => rest.to_vec(),
        Some(_) => return None,
    };
    Some((
        String::from_utf8_lossy(version).into_owned(),
        code,
        String::from_utf8_lossy(&reason).into_owned(),
    ))
}

/// `bytes` without leading and trailing SP and HTAB (OWS).
pub(crate) fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// The reason phrase exactly as received: the bytes of the status line
/// after `HTTP/x.y SSS ` (none when the line ends after the code).
pub(super) fn reason_bytes(head: &[u8]) -> &[u8] {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.get(13..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_headers as headers;

    #[test]
    fn head_end_crlf_then_found() {
        let mut scanned = 0;
        let bytes = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody";
        assert_eq!(find_head_end(bytes, &mut scanned), Some(bytes.len() - 4));
    }

    #[test]
    fn head_end_bare_lf_then_found() {
        let mut scanned = 0;
        assert_eq!(
            find_head_end(b"HTTP/1.1 200 OK\nA: b\n\nx", &mut scanned),
            Some(22)
        );
    }

    #[test]
    fn head_end_split_across_reads_then_found_later() {
        let mut scanned = 0;
        let whole = b"HTTP/1.1 200 OK\r\n\r\n";
        assert_eq!(find_head_end(&whole[..18], &mut scanned), None);
        assert_eq!(find_head_end(whole, &mut scanned), Some(whole.len()));
    }

    #[test]
    fn status_line_then_parts() {
        let parsed = parse_head(b"HTTP/1.1 404 Not Found\r\nDate: x\r\n\r\n").unwrap();
        assert_eq!(parsed.version, "HTTP/1.1");
        assert_eq!(parsed.code, 404);
        assert_eq!(parsed.reason, "Not Found");
        assert_eq!(parsed.headers, headers(&[("Date", "x")]));
    }

    #[test]
    fn status_line_without_reason_then_empty_reason() {
        assert_eq!(parse_head(b"HTTP/1.1 200\r\n\r\n").unwrap().reason, "");
        assert_eq!(parse_head(b"HTTP/1.1 200 \r\n\r\n").unwrap().reason, "");
    }

    #[test]
    fn malformed_status_lines_then_errors() {
        for head in [
            &b"HTTP/1.1 20 OK\r\n\r\n"[..],
            b"HTTP/1.1  200 OK\r\n\r\n",
            b"HTTP/11 200 OK\r\n\r\n",
            b"HTTP/1.1 200OK\r\n\r\n",
            b"HTTP/1.1\r\n\r\n",
        ] {
            assert!(parse_head(head).is_err(), "{head:?}");
        }
    }

    #[test]
    fn header_values_then_trimmed_and_ordered() {
        let parsed = parse_head(b"HTTP/1.1 200 OK\r\nB:  1 \t\r\nA:2\r\nb: 3\r\n\r\n").unwrap();
        assert_eq!(
            parsed.headers,
            headers(&[("B", "1"), ("A", "2"), ("b", "3")])
        );
    }

    #[test]
    fn obs_fold_then_joined_with_space() {
        let parsed = parse_head(b"HTTP/1.1 200 OK\r\nX: a\r\n  b\r\n\r\n").unwrap();
        assert_eq!(parsed.headers, headers(&[("X", "a b")]));
    }

    #[test]
    fn header_without_colon_then_error() {
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nnonsense\r\n\r\n").is_err());
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
}
