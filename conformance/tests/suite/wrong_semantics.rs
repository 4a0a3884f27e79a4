//! Wrong responders for request semantics: each answers every request the
//! way a plausible but broken static-file server would, and is wrong about
//! one thing only, so the cases about that thing are what catch it.

use crate::support::{response, Requests, Responder};

/// Wrong: ignores `Expect: 100-continue`, so a client that waits for the
/// 100 before sending the content waits until it gives up.
///
/// It never sends 100 (Continue) and reads the whole content a
/// `Content-Length` announces before it answers, even when the method alone
/// decides the answer: the bug behind "POST hangs until the client gives
/// up". Otherwise a plain static-file server of one file: a GET or HEAD of
/// any path is a 200 of `Hello, world!\n` (Date, Content-Length 14; no
/// content for HEAD), any other method a 405 with `Allow: GET, HEAD`, and a
/// request-line it cannot read, or a `Transfer-Encoding` (it has no chunked
/// uploads), a 400 that closes. It keeps the connection open unless the
/// request asks for `close` or is HTTP/1.0.
pub fn ignores_expect() -> Responder {
    Responder::start(|mut stream| {
        use std::io::Write;
        let mut buf = Vec::new();
        while let Some(request) = expect_next_request(&mut stream, &mut buf) {
            if stream.write_all(&expect_answer(&request)).is_err() {
                return;
            }
            if request.close {
                let _ = stream.shutdown(std::net::Shutdown::Write);
                crate::support::drain(&mut stream);
                return;
            }
        }
    })
}

/// What [`ignores_expect`] serves.
const EXPECT_CONTENT: &[u8] = b"Hello, world!\n";

/// The most bytes [`ignores_expect`] buffers while looking for a head end.
const EXPECT_HEAD_LIMIT: usize = 1024 * 1024;

/// What [`ignores_expect`] reads of a request: the request-line and how the
/// connection goes on. `Expect` is not read at all.
struct ExpectRequest {
    /// `None` for a request-line that is not `METHOD /path HTTP/1.x`, or a
    /// head whose content it cannot delimit.
    method: Option<String>,
    /// `Connection: close`, HTTP/1.0, or a head it refuses.
    close: bool,
}

/// Reads the next request head from `stream` (with what `buf` holds from
/// earlier reads), then waits for and discards all of its content, as the
/// `Content-Length` says, before returning it: the wait is the bug. `None`
/// once the client closes.
fn expect_next_request(
    stream: &mut std::net::TcpStream,
    buf: &mut Vec<u8>,
) -> Option<ExpectRequest> {
    let head_len = loop {
        if let Some(end) = expect_head_end(buf) {
            break end;
        }
        if buf.len() > EXPECT_HEAD_LIMIT {
            return None;
        }
        expect_fill(stream, buf)?;
    };
    let head: Vec<u8> = buf.drain(..head_len).collect();
    let mut request = expect_parse_head(&head);
    let Some(mut left) = expect_content_length(&head) else {
        request.method = None;
        request.close = true;
        return Some(request);
    };
    while left > 0 {
        if buf.is_empty() {
            expect_fill(stream, buf)?;
        }
        let take = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        buf.drain(..take);
        left -= take as u64;
    }
    Some(request)
}

/// Reads what arrives next into `buf`; `None` at end of stream.
fn expect_fill(stream: &mut std::net::TcpStream, buf: &mut Vec<u8>) -> Option<()> {
    use std::io::Read;
    let mut chunk = [0u8; 8192];
    match stream.read(&mut chunk) {
        Ok(0) | Err(_) => None,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Some(())
        }
    }
}

/// The index just past the blank line that ends a head (CRLF or bare LF).
fn expect_head_end(buf: &[u8]) -> Option<usize> {
    (0..buf.len()).find_map(|i| match &buf[i..] {
        [b'\n', b'\n', ..] => Some(i + 2),
        [b'\n', b'\r', b'\n', ..] => Some(i + 3),
        _ => None,
    })
}

/// The request-line's method, and whether the connection ends after the
/// answer.
fn expect_parse_head(head: &[u8]) -> ExpectRequest {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.lines();
    let words: Vec<&str> = lines.next().unwrap_or_default().split(' ').collect();
    let (method, http10) = match words.as_slice() {
        [method, target, version] if target.starts_with('/') && version.starts_with("HTTP/1.") => {
            (Some(method.to_string()), *version == "HTTP/1.0")
        }
        _ => (None, false),
    };
    let asks_close = lines.any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("connection:") && line.contains("close")
    });
    ExpectRequest {
        close: method.is_none() || http10 || asks_close,
        method,
    }
}

/// How many content bytes follow the head: its `Content-Length` (identical
/// values allowed), 0 without one; `None` for a `Transfer-Encoding` or a
/// length it cannot read.
fn expect_content_length(head: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(head);
    let mut length = None;
    for (name, value) in text.lines().skip(1).filter_map(|line| line.split_once(':')) {
        let name = name.trim().to_ascii_lowercase();
        if name == "transfer-encoding" {
            return None;
        }
        if name == "content-length" {
            let value = value.trim();
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: u64 = value.parse().ok()?;
            if length.is_some_and(|m| m != n) {
                return None;
            }
            length = Some(n);
        }
    }
    Some(length.unwrap_or(0))
}

/// [`ignores_expect`]' answer, once the content has arrived.
fn expect_answer(request: &ExpectRequest) -> Vec<u8> {
    let close = if request.close {
        "Connection: close\r\n"
    } else {
        ""
    };
    let head_only = match request.method.as_deref() {
        None => return crate::support::response("400 Bad Request", close),
        Some(method @ ("GET" | "HEAD")) => method == "HEAD",
        Some(_) => {
            return crate::support::response(
                "405 Method Not Allowed",
                &format!("Allow: GET, HEAD\r\n{close}"),
            )
        }
    };
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nDate: {}\r\nContent-Length: {}\r\n{close}\r\n",
        conformance::date::format_imf_fixdate(std::time::SystemTime::now()),
        EXPECT_CONTENT.len()
    )
    .into_bytes();
    if !head_only {
        response.extend_from_slice(EXPECT_CONTENT);
    }
    response
}

/// Wrong: ignores If-Match, If-Unmodified-Since, If-None-Match,
/// If-Modified-Since and If-Range, serving every GET in full.
///
/// Otherwise a plain static-file server of one file: a GET or HEAD of any
/// path is a 200 of `Hello, world!\n` (Date, Content-Type, ETag
/// `"wrong-responder"`, Last-Modified `Thu, 01 Jan 2026 00:00:00 GMT`,
/// Content-Length 14; no content for HEAD), a path starting `/no-such-` is
/// a 404, any other method a 405 with `Allow: GET, HEAD`, and a request-line
/// it cannot read a 400. It has no range support either. It keeps the
/// connection open unless the request asks for `close` (or is HTTP/1.0),
/// and answers a request with content, which it does not read, then closes.
pub fn ignores_preconditions() -> Responder {
    Responder::start(|stream| {
        use std::io::Write;
        let mut requests = crate::support::Requests::new(stream);
        while let Some(head) = requests.next_head() {
            let request = precondition_request(&head);
            let answer = precondition_answer(&request);
            if requests.stream().write_all(&answer).is_err() {
                return;
            }
            if request.close {
                let _ = requests.stream().shutdown(std::net::Shutdown::Write);
                crate::support::drain(requests.stream());
                return;
            }
        }
    })
}

/// What [`ignores_preconditions`] serves.
const PRECONDITION_CONTENT: &[u8] = b"Hello, world!\n";

/// What [`ignores_preconditions`] reads of a request head: the request-line
/// and whether the connection ends after the answer. No conditional field
/// is read at all.
struct PreconditionRequest {
    /// `None` for a request-line that is not `METHOD /path HTTP/1.x`.
    method: Option<String>,
    target: String,
    /// `Connection: close`, HTTP/1.0, or content it will not read.
    close: bool,
}

fn precondition_request(head: &[u8]) -> PreconditionRequest {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.lines();
    let words: Vec<&str> = lines.next().unwrap_or_default().split(' ').collect();
    let (method, target, http10) = match words.as_slice() {
        [method, target, version] if target.starts_with('/') && version.starts_with("HTTP/1.") => (
            Some(method.to_string()),
            target.to_string(),
            *version == "HTTP/1.0",
        ),
        _ => (None, String::new(), false),
    };
    let fields: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| {
            (
                name.trim().to_ascii_lowercase(),
                value.trim().to_ascii_lowercase(),
            )
        })
        .collect();
    let has_content = fields.iter().any(|(name, value)| {
        name == "transfer-encoding"
            || (name == "content-length" && !value.trim_start_matches('0').is_empty())
    });
    let asks_close = fields
        .iter()
        .any(|(name, value)| name == "connection" && value.contains("close"));
    PreconditionRequest {
        close: method.is_none() || http10 || has_content || asks_close,
        method,
        target,
    }
}

/// [`ignores_preconditions`]' answer: the same whatever conditional fields
/// the request carries.
fn precondition_answer(request: &PreconditionRequest) -> Vec<u8> {
    let close = if request.close {
        "Connection: close\r\n"
    } else {
        ""
    };
    let head_only = match request.method.as_deref() {
        None => return crate::support::response("400 Bad Request", close),
        Some(method @ ("GET" | "HEAD")) => method == "HEAD",
        Some(_) => {
            return crate::support::response(
                "405 Method Not Allowed",
                &format!("Allow: GET, HEAD\r\n{close}"),
            )
        }
    };
    if request.target.starts_with("/no-such-") {
        return crate::support::response("404 Not Found", close);
    }
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nDate: {}\r\nContent-Type: text/plain\r\n\
         ETag: \"wrong-responder\"\r\nLast-Modified: Thu, 01 Jan 2026 00:00:00 GMT\r\n\
         Content-Length: {}\r\n{close}\r\n",
        conformance::date::format_imf_fixdate(std::time::SystemTime::now()),
        PRECONDITION_CONTENT.len()
    )
    .into_bytes();
    if !head_only {
        response.extend_from_slice(PRECONDITION_CONTENT);
    }
    response
}

/// Wrong: answers Range requests with a 206 whose Content-Range or bytes do
/// not match what was asked.
///
/// A GET or HEAD of any path without a range is served as a 200 of
/// `Hello, world!\n` (Date, Content-Type, ETag `"wrong-responder"`,
/// Content-Length 14). Its range code has the classic bugs:
///
/// - it takes any field whose line contains `range:` for Range, so a
///   `Content-Range` in a request counts too;
/// - it honours Range on HEAD as well (a 206 without content);
/// - it never looks at the unit (`pages=1-2` is read as bytes);
/// - it reads positions as 32-bit numbers and fails with 500 when one does
///   not fit;
/// - it treats last-pos as exclusive and clips it to the length instead of
///   below it: `bytes=2-6` sends 4 bytes labelled `bytes 2-6/14`, `bytes=5-`
///   is labelled `bytes 5-14/14`;
/// - several ranges become `multipart/byteranges`, but the first part's
///   Content-Range stays in the header section too;
/// - its 206 leaves out the ETag the 200 carries;
/// - an unsatisfiable or unreadable range gets a 416 without Content-Range.
pub fn wrong_ranges() -> Responder {
    Responder::start(|stream| {
        use std::io::Write;
        let mut requests = crate::support::Requests::new(stream);
        while let Some(head) = requests.next_head() {
            let close = range_wants_close(&head);
            let answer = range_answer(&head, close);
            if requests.stream().write_all(&answer).is_err() {
                return;
            }
            if close {
                let _ = requests.stream().shutdown(std::net::Shutdown::Write);
                crate::support::drain(requests.stream());
                return;
            }
        }
    })
}

/// What [`wrong_ranges`] serves.
const RANGE_CONTENT: &[u8] = b"Hello, world!\n";

/// The boundary of [`wrong_ranges`]' multipart answers.
const RANGE_BOUNDARY: &str = "RANGE_SEPARATOR";

/// Whether the request head asks for `Connection: close`.
fn range_wants_close(head: &[u8]) -> bool {
    String::from_utf8_lossy(head).lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("connection:") && line.contains("close")
    })
}

/// [`wrong_ranges`]' answer to one request head.
fn range_answer(head: &[u8], close: bool) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.lines();
    let words: Vec<&str> = lines.next().unwrap_or_default().split(' ').collect();
    let head_only = match words.as_slice() {
        [method @ ("GET" | "HEAD"), target, version]
            if target.starts_with('/') && version.starts_with("HTTP/1.") =>
        {
            *method == "HEAD"
        }
        _ => return range_reply("400 Bad Request", &[], b"", false, close),
    };
    // Bug: `Content-Range:` (or `If-Range:`) contains `range:` as well.
    let range = lines.find_map(|line| {
        let at = line.to_ascii_lowercase().find("range:")?;
        Some(line[at + "range:".len()..].trim().to_string())
    });
    let Some(range) = range else {
        let fields = [
            ("Content-Type", "text/plain".to_string()),
            ("ETag", "\"wrong-responder\"".to_string()),
        ];
        return range_reply("200 OK", &fields, RANGE_CONTENT, head_only, close);
    };
    let parts = match range_parts(&range) {
        Ok(parts) => parts,
        Err(status) => return range_reply(status, &[], b"", false, close),
    };
    let length = RANGE_CONTENT.len();
    let content_range = |&(first, last): &(usize, usize)| format!("bytes {first}-{last}/{length}");
    if let [part] = parts.as_slice() {
        let fields = [
            ("Content-Type", "text/plain".to_string()),
            ("Content-Range", content_range(part)),
        ];
        let bytes = &RANGE_CONTENT[part.0..part.1];
        return range_reply("206 Partial Content", &fields, bytes, head_only, close);
    }
    let mut body = Vec::new();
    for part in &parts {
        body.extend_from_slice(
            format!(
                "--{RANGE_BOUNDARY}\r\nContent-Type: text/plain\r\nContent-Range: {}\r\n\r\n",
                content_range(part)
            )
            .as_bytes(),
        );
        body.extend_from_slice(&RANGE_CONTENT[part.0..part.1]);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{RANGE_BOUNDARY}--\r\n").as_bytes());
    let fields = [
        (
            "Content-Type",
            format!("multipart/byteranges; boundary={RANGE_BOUNDARY}"),
        ),
        ("Content-Range", content_range(&parts[0])),
    ];
    range_reply("206 Partial Content", &fields, &body, head_only, close)
}

/// The parts a Range value names, each as `(first, end)` with `end` taken
/// for the last offset (the bug), or the status of the error answer.
fn range_parts(value: &str) -> Result<Vec<(usize, usize)>, &'static str> {
    const UNSATISFIABLE: &str = "416 Range Not Satisfiable";
    let length = RANGE_CONTENT.len() as u32;
    // Bug: whatever precedes `=` is taken for `bytes`.
    let (_, set) = value.split_once('=').ok_or(UNSATISFIABLE)?;
    let number = |digits: &str| -> Result<Option<u32>, &'static str> {
        if digits.is_empty() {
            Ok(None)
        } else if !digits.bytes().all(|b| b.is_ascii_digit()) {
            Err(UNSATISFIABLE)
        } else {
            // Bug: a numeral that does not fit 32 bits is a server error.
            digits
                .parse()
                .map(Some)
                .map_err(|_| "500 Internal Server Error")
        }
    };
    let mut parts = Vec::new();
    for spec in set.split(',') {
        let (first, last) = spec.trim().split_once('-').ok_or(UNSATISFIABLE)?;
        let (first, end) = match (number(first)?, number(last)?) {
            (Some(first), last) => (first, last.unwrap_or(length).min(length)),
            (None, Some(suffix)) => (length - suffix.min(length), length),
            (None, None) => return Err(UNSATISFIABLE),
        };
        if first >= length || first > end {
            return Err(UNSATISFIABLE);
        }
        parts.push((first as usize, end as usize));
    }
    Ok(parts)
}

/// A response with Date, the given fields, Content-Length and `content`
/// (left out for HEAD).
fn range_reply(
    status: &str,
    fields: &[(&str, String)],
    content: &[u8],
    head_only: bool,
    close: bool,
) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nDate: {}\r\n",
        conformance::date::format_imf_fixdate(std::time::SystemTime::now())
    );
    for (name, value) in fields {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n", content.len()));
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut response = head.into_bytes();
    if !head_only {
        response.extend_from_slice(content);
    }
    response
}

/// Wrong: takes up every `Upgrade` offer without saying so properly. To an
/// offer of h2c it switches with a 101 that has no `Upgrade` field; to a
/// WebSocket offer it answers 426 without naming a protocol; to any other
/// offer it switches to h2c, which was not offered. Every other request is
/// a 200 of `Hello, world!\n`.
pub fn wrong_upgrades() -> Responder {
    Responder::start(|stream| {
        use std::io::Write;
        let mut requests = Requests::new(stream);
        while let Some(head) = requests.next_head() {
            let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
            let offer = text
                .lines()
                .find_map(|line| line.strip_prefix("upgrade:"))
                .map(|value| value.trim().to_string());
            let (answer, switched) = match offer.as_deref() {
                None => (
                    response("200 OK", "Content-Type: text/plain\r\n")
                        .into_iter()
                        .collect::<Vec<u8>>(),
                    false,
                ),
                Some("h2c") => (
                    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n".to_vec(),
                    true,
                ),
                Some("websocket") => (response("426 Upgrade Required", ""), false),
                Some(_) => (
                    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
                        .to_vec(),
                    true,
                ),
            };
            if requests.stream().write_all(&answer).is_err() || switched {
                return;
            }
        }
    })
}
