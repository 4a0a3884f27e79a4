//! Checking partial responses (RFC 9110 §14, §15.3.7, §15.5.17) against the
//! content the control GET received: a 206 must carry exactly the bytes its
//! Content-Range names, in one part or as `multipart/byteranges`.

use super::context::Context;
use crate::wire::{BodyEnd, Response};

/// One `Content-Range: bytes FIRST-LAST/COMPLETE` value; `complete` is
/// `None` for `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ContentRange {
    /// The first byte's offset.
    pub first: u64,
    /// The last byte's offset (inclusive).
    pub last: u64,
    /// The representation's whole length, if the server knew it.
    pub complete: Option<u64>,
}

/// Parses a satisfied `Content-Range` value (RFC 9110 §14.4).
///
/// ```text
/// Content-Range       = range-unit SP ( range-resp / unsatisfied-range )
/// range-resp          = incl-range "/" ( complete-length / "*" )
/// incl-range          = first-pos "-" last-pos
/// ```
fn parse_content_range(value: &str) -> Option<ContentRange> {
    let rest = value.strip_prefix("bytes ")?;
    let (range, complete) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let number = |text: &str| -> Option<u64> {
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse().ok())
            .flatten()
    };
    let complete = match complete {
        "*" => None,
        digits => Some(number(digits)?),
    };
    let range = ContentRange {
        first: number(first)?,
        last: number(last)?,
        complete,
    };
    let valid = range.first <= range.last && complete.is_none_or(|c| range.last < c);
    valid.then_some(range)
}

/// The `boundary` parameter of a `multipart/byteranges` media type, or
/// `None` when the type is something else.
fn multipart_boundary(content_type: &str) -> Option<Result<String, String>> {
    let mut params = content_type.split(';');
    let media = params.next()?.trim();
    if !media.eq_ignore_ascii_case("multipart/byteranges") {
        return None;
    }
    let boundary = params
        .filter_map(|p| p.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value.trim().trim_matches('"').to_string());
    Some(match boundary {
        Some(b) if !b.is_empty() => Ok(b),
        _ => Err("multipart/byteranges without a boundary parameter".to_string()),
    })
}

/// `range` (must): a 206 is a well-formed partial response of the control's
/// content. One part: a valid Content-Range, its complete length the
/// control's, exactly that many bytes, and those bytes the control's.
/// Several parts (RFC 9110 §15.3.7.2): `multipart/byteranges` with a
/// boundary, no Content-Range in the header section, each part with its own
/// Content-Range and bytes.
pub(super) fn check_partial(r: &Response, context: &Context<'_>) -> Option<Result<(), String>> {
    if r.code != 206 {
        return None;
    }
    if r.body_end != BodyEnd::Complete {
        return Some(Err(format!(
            "the 206 content ended early ({})",
            r.body_end.as_str()
        )));
    }
    let asked = match (context.request, context.length) {
        (Some(request), Some(length)) => requested_ranges(request, length),
        _ => None,
    };
    let content_type = r.header("content-type").unwrap_or("");
    Some(match multipart_boundary(content_type) {
        None => check_single(r, context, asked.as_deref()),
        Some(Err(e)) => Err(e),
        // RFC 9110 §15.3.7.2: A server MUST NOT generate a multipart
        // response to a request for a single range.
        Some(Ok(_)) if asked.as_ref().is_some_and(|a| a.len() == 1) => {
            Err("a multipart/byteranges answer to a request for a single range".into())
        }
        Some(Ok(boundary)) => check_multipart(r, &boundary, context, asked.as_deref()),
    })
}

/// The satisfiable ranges a request's `Range: bytes=…` asks for, resolved
/// against a representation of `length` bytes (RFC 9110 §14.1.2), in the
/// order asked; `None` when the request has no Range of the bytes unit or
/// one whose syntax is invalid (a server ignores it then).
///
/// ```text
/// ranges-specifier = range-unit "=" range-set
/// range-set        = 1#range-spec
/// range-spec       = int-range / suffix-range / other-range
/// int-range        = first-pos "-" [ last-pos ]
/// suffix-range     = "-" suffix-length
/// ```
fn requested_ranges(request: &[u8], length: u64) -> Option<Vec<(u64, u64)>> {
    let head_end = request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(request.len());
    let head = String::from_utf8_lossy(&request[..head_end]);
    let value = head.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("range").then(|| value.trim())
    })?;
    let (unit, set) = value.split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    // Digits beyond u64 saturate: a position past any real length.
    let number = |text: &str| -> Option<u64> {
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse().unwrap_or(u64::MAX))
    };
    let mut ranges = Vec::new();
    for spec in set.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (first, last) = spec.split_once('-')?;
        match (first.trim(), last.trim()) {
            ("", suffix) => {
                let n = number(suffix)?;
                if n > 0 && length > 0 {
                    ranges.push((length.saturating_sub(n), length - 1));
                }
            }
            (first, "") => {
                let first = number(first)?;
                if first < length {
                    ranges.push((first, length - 1));
                }
            }
            (first, last) => {
                let (first, last) = (number(first)?, number(last)?);
                if first > last {
                    return None;
                }
                if first < length {
                    ranges.push((first, last.min(length - 1)));
                }
            }
        }
    }
    Some(ranges)
}

fn check_single(
    r: &Response,
    context: &Context<'_>,
    asked: Option<&[(u64, u64)]>,
) -> Result<(), String> {
    let value = r
        .header("content-range")
        .ok_or("a single-part 206 without Content-Range")?;
    let range = parse_content_range(value)
        .ok_or_else(|| format!("Content-Range \"{value}\" is not bytes FIRST-LAST/LENGTH"))?;
    check_part(range, &r.body, r.body_len, context, asked)
}

/// Checks one part: its length is what its Content-Range says, its bytes
/// are the control's there, and it is what was asked: exactly the one range
/// asked for, or within the span of several (which a server MAY coalesce).
fn check_part(
    range: ContentRange,
    bytes: &[u8],
    len: u64,
    context: &Context<'_>,
    asked: Option<&[(u64, u64)]>,
) -> Result<(), String> {
    match asked {
        Some([(first, last)]) if (range.first, range.last) != (*first, *last) => {
            return Err(format!(
                "Content-Range bytes {}-{}, but the request asks for bytes {first}-{last}",
                range.first, range.last
            ))
        }
        Some(several @ [_, _, ..]) => {
            let low = several.iter().map(|r| r.0).min().unwrap_or(0);
            let high = several.iter().map(|r| r.1).max().unwrap_or(0);
            if range.first < low || range.last > high {
                return Err(format!(
                    "a part of bytes {}-{}, outside the {low}-{high} the request asks for",
                    range.first, range.last
                ));
            }
        }
        _ => {}
    }
    if let (Some(complete), Some(length)) = (range.complete, context.length) {
        if complete != length {
            return Err(format!(
                "Content-Range says {complete} bytes in all, the control got {length}"
            ));
        }
    }
    let expected = range.last - range.first + 1;
    if len != expected {
        return Err(format!(
            "Content-Range bytes {}-{} is {expected} bytes, {len} arrived",
            range.first, range.last
        ));
    }
    let Some(body) = context.body else {
        return Ok(());
    };
    let (Ok(first), Ok(last)) = (usize::try_from(range.first), usize::try_from(range.last)) else {
        return Ok(());
    };
    match (body.get(first..=last), bytes.len() as u64 == len) {
        (Some(wanted), true) if wanted != bytes => Err(format!(
            "bytes {first}-{last} are not the control's bytes at that offset"
        )),
        _ => Ok(()),
    }
}

/// Splits multipart content at `--boundary` delimiter lines and checks each
/// part (RFC 2046 §5.1.1, as RFC 9110 §14.6 uses it).
fn check_multipart(
    r: &Response,
    boundary: &str,
    context: &Context<'_>,
    asked: Option<&[(u64, u64)]>,
) -> Result<(), String> {
    if let Some(value) = r.header("content-range") {
        return Err(format!(
            "a multipart 206 with Content-Range: {value} in its header section"
        ));
    }
    if r.body.len() as u64 != r.body_len {
        return Ok(());
    }
    let delimiter = format!("--{boundary}").into_bytes();
    let body = &r.body;
    let mut at = find(body, &delimiter, 0).ok_or("no boundary delimiter in the content")?;
    let mut parts = 0;
    loop {
        at += delimiter.len();
        if body[at..].starts_with(b"--") {
            break;
        }
        let head_start = skip_line(body, at).ok_or("a delimiter line without CRLF")?;
        let head_end = find(body, b"\r\n\r\n", head_start).ok_or("a part without a blank line")?;
        let head = String::from_utf8_lossy(&body[head_start..head_end]).into_owned();
        let content_start = head_end + 4;
        let mut close = delimiter.clone();
        close.splice(0..0, *b"\r\n");
        let content_end = find(body, &close, content_start).ok_or("a part that never ends")?;
        let range_value = head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-range"))
            .map(|(_, value)| value.trim().to_string())
            .ok_or("a part without Content-Range")?;
        let range = parse_content_range(&range_value)
            .ok_or_else(|| format!("part Content-Range \"{range_value}\" is malformed"))?;
        let content = &body[content_start..content_end];
        check_part(range, content, content.len() as u64, context, asked)?;
        parts += 1;
        at = content_end + 2;
    }
    if parts == 0 {
        return Err("multipart/byteranges with no parts".into());
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

fn skip_line(bytes: &[u8], from: usize) -> Option<usize> {
    find(bytes, b"\r\n", from).map(|i| i + 2)
}

/// `unsatisfied-range` (should): RFC 9110 §15.5.17: A server that
/// generates a 416 response to a byte-range request SHOULD generate a
/// Content-Range header field specifying the current length of the selected
/// representation (`bytes */LENGTH`).
pub(super) fn check_unsatisfied(r: &Response, context: &Context<'_>) -> Option<Result<(), String>> {
    if r.code != 416 {
        return None;
    }
    let expected = context.length.map(|n| format!("bytes */{n}"));
    Some(match (r.header("content-range"), expected) {
        (None, _) => Err("416 without Content-Range".into()),
        (Some(value), Some(expected)) if value != expected => {
            Err(format!("Content-Range: {value}, expected {expected}"))
        }
        (Some(value), None)
            if !value
                .strip_prefix("bytes */")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            Err(format!("Content-Range: {value} is not bytes */LENGTH"))
        }
        _ => Ok(()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Framing;

    fn partial(headers: &[(&str, &str)], body: &[u8]) -> Response {
        Response {
            framing: Framing::Length(body.len() as u64),
            body: body.to_vec(),
            body_len: body.len() as u64,
            ..crate::verdict::test_support::response(206, headers)
        }
    }

    const CONTENT: &[u8] = b"Hello, world!\n";

    fn context() -> Context<'static> {
        Context {
            length: Some(14),
            body: Some(CONTENT),
            ..Context::default()
        }
    }

    #[test]
    fn content_range_forms_then_parsed_or_refused() {
        assert_eq!(
            parse_content_range("bytes 0-4/14"),
            Some(ContentRange {
                first: 0,
                last: 4,
                complete: Some(14)
            })
        );
        assert_eq!(parse_content_range("bytes 0-4/*").unwrap().complete, None);
        for bad in [
            "bytes 4-0/14",
            "bytes 0-14/14",
            "bytes */14",
            "pages 0-4/14",
            "bytes 0-4",
            "bytes -4/14",
            "bytes 0-99999999999999999999999/14",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn single_part_with_the_right_bytes_then_holds() {
        let r = partial(&[("Content-Range", "bytes 0-4/14")], b"Hello");
        assert_eq!(check_partial(&r, &context()), Some(Ok(())));
    }

    #[test]
    fn single_part_with_wrong_bytes_length_or_total_then_broken() {
        for (range, body) in [
            ("bytes 0-4/14", &b"World"[..]),
            ("bytes 0-4/14", b"Hell"),
            ("bytes 0-4/15", b"Hello"),
        ] {
            let r = partial(&[("Content-Range", range)], body);
            assert!(
                matches!(check_partial(&r, &context()), Some(Err(_))),
                "{range}"
            );
        }
        let r = partial(&[], b"Hello");
        assert!(matches!(check_partial(&r, &context()), Some(Err(_))));
    }

    #[test]
    fn multipart_with_parts_then_each_checked() {
        let body = b"\r\n--XX\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/14\r\n\r\nHe\
\r\n--XX\r\nContent-Range: bytes 7-11/14\r\n\r\nworld\r\n--XX--\r\n";
        let r = partial(
            &[("Content-Type", "multipart/byteranges; boundary=XX")],
            body,
        );
        assert_eq!(check_partial(&r, &context()), Some(Ok(())));
        let wrong = &body[..]
            .to_vec()
            .iter()
            .map(|&b| if b == b'w' { b'W' } else { b })
            .collect::<Vec<u8>>();
        let r = partial(
            &[("Content-Type", "multipart/byteranges; boundary=XX")],
            wrong,
        );
        assert!(matches!(check_partial(&r, &context()), Some(Err(_))));
        let r = partial(
            &[
                ("Content-Type", "multipart/byteranges; boundary=XX"),
                ("Content-Range", "bytes 0-1/14"),
            ],
            body,
        );
        assert!(matches!(check_partial(&r, &context()), Some(Err(_))));
        let r = partial(&[("Content-Type", "multipart/byteranges")], body);
        assert!(matches!(check_partial(&r, &context()), Some(Err(_))));
    }

    #[test]
    fn requested_ranges_then_resolved_against_the_length() {
        let asked = |range: &str| {
            requested_ranges(
                format!("GET / HTTP/1.1\r\nRange: {range}\r\n\r\n").as_bytes(),
                14,
            )
        };
        assert_eq!(asked("bytes=0-4"), Some(vec![(0, 4)]));
        assert_eq!(asked("bytes=-5"), Some(vec![(9, 13)]));
        assert_eq!(asked("bytes=-50"), Some(vec![(0, 13)]));
        assert_eq!(asked("bytes=5-"), Some(vec![(5, 13)]));
        assert_eq!(
            asked("bytes=0-99999999999999999999999"),
            Some(vec![(0, 13)])
        );
        assert_eq!(asked("bytes=99999999999999999999-"), Some(vec![]));
        assert_eq!(asked("bytes=0-1, 4-5"), Some(vec![(0, 1), (4, 5)]));
        assert_eq!(asked("bytes=-0"), Some(vec![]));
        for ignored in ["bytes=5-2", "bytes=abc", "pages=1-2", "bytes=-"] {
            assert_eq!(asked(ignored), None, "{ignored}");
        }
        assert_eq!(
            requested_ranges(b"GET / HTTP/1.1\r\nContent-Range: bytes 0-1/14\r\n\r\n", 14),
            None
        );
    }

    #[test]
    fn part_other_than_the_one_asked_for_then_broken() {
        let request = b"GET / HTTP/1.1\r\nRange: bytes=5-\r\n\r\n";
        let asked = Context {
            request: Some(request),
            ..context()
        };
        let right = partial(&[("Content-Range", "bytes 5-13/14")], b"world!\n\x00\x00");
        let mut right = right;
        right.body = CONTENT[5..].to_vec();
        right.body_len = 9;
        assert_eq!(check_partial(&right, &asked), Some(Ok(())));
        let wrong = partial(&[("Content-Range", "bytes 0-4/14")], b"Hello");
        assert!(matches!(check_partial(&wrong, &asked), Some(Err(_))));
        let multipart = b"--XX\r\nContent-Range: bytes 5-13/14\r\n\r\n, world!\n\r\n--XX--\r\n";
        let r = partial(
            &[("Content-Type", "multipart/byteranges; boundary=XX")],
            multipart,
        );
        assert!(matches!(check_partial(&r, &asked), Some(Err(_))));
    }

    #[test]
    fn unsatisfied_then_star_and_the_control_length() {
        let mut r = partial(&[("Content-Range", "bytes */14")], b"");
        r.code = 416;
        assert_eq!(check_unsatisfied(&r, &context()), Some(Ok(())));
        r.headers[0].1 = "bytes */15".into();
        assert!(matches!(check_unsatisfied(&r, &context()), Some(Err(_))));
        r.headers.clear();
        assert!(matches!(check_unsatisfied(&r, &context()), Some(Err(_))));
        r.code = 200;
        assert_eq!(check_unsatisfied(&r, &context()), None);
    }
}
