//! Checking partial responses (RFC 9110 §14, §15.3.7, §15.5.17) against the
//! content the control GET received: a 206 must carry exactly the bytes its
//! Content-Range names, in one part or as `multipart/byteranges`.

use crate::verdict::Context;
use crate::wire::{BodyEnd, Response};

/// One `Content-Range: bytes FIRST-LAST/COMPLETE` value; `complete` is
/// `None` for `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
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
pub fn parse_content_range(value: &str) -> Option<ContentRange> {
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
pub fn check_partial(r: &Response, context: &Context<'_>) -> Option<Result<(), String>> {
    if r.code != 206 {
        return None;
    }
    if r.body_end != BodyEnd::Complete {
        return Some(Err(format!(
            "the 206 content ended early ({})",
            r.body_end.as_str()
        )));
    }
    let content_type = r.header("content-type").unwrap_or("");
    Some(match multipart_boundary(content_type) {
        None => check_single(r, context),
        Some(Err(e)) => Err(e),
        Some(Ok(boundary)) => check_multipart(r, &boundary, context),
    })
}

fn check_single(r: &Response, context: &Context<'_>) -> Result<(), String> {
    let value = r
        .header("content-range")
        .ok_or("a single-part 206 without Content-Range")?;
    let range = parse_content_range(value)
        .ok_or_else(|| format!("Content-Range \"{value}\" is not bytes FIRST-LAST/LENGTH"))?;
    check_part(range, &r.body, r.body_len, context)
}

fn check_part(
    range: ContentRange,
    bytes: &[u8],
    len: u64,
    context: &Context<'_>,
) -> Result<(), String> {
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
fn check_multipart(r: &Response, boundary: &str, context: &Context<'_>) -> Result<(), String> {
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
        check_part(range, content, content.len() as u64, context)?;
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
pub fn check_unsatisfied(r: &Response, context: &Context<'_>) -> Option<Result<(), String>> {
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
            method: Some("GET".into()),
            version: "HTTP/1.1".into(),
            code: 206,
            reason: "Partial Content".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            head: Vec::new(),
            interim: Vec::new(),
            framing: Framing::Length(body.len() as u64),
            body: body.to_vec(),
            body_len: body.len() as u64,
            body_end: BodyEnd::Complete,
            after: None,
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
