//! Wrong responders for request semantics: each answers every request the
//! way a plausible but broken static-file server would, and is wrong about
//! one thing only, so the cases about that thing are what catch it.

use crate::support::{answer_heads, connection, response, response_with, After, Head, Responder};

/// The one file the responders serve, whatever the path.
pub const HELLO: &[u8] = b"Hello, world!\n";

/// The ETag of [`HELLO`], where a responder sends one.
pub const ETAG: &str = "\"wrong-responder\"";

/// The Last-Modified of [`HELLO`], where a responder sends one.
pub const LAST_MODIFIED: &str = "Thu, 01 Jan 2026 00:00:00 GMT";

/// A plain static-file server's answer: 400 to a request-line it cannot
/// read, 405 with `Allow: GET, HEAD` to any other method than GET and HEAD,
/// else a 200 of [`HELLO`] with `fields` (no content for HEAD).
fn serve_hello(head: &Head, fields: &str, close: bool) -> Vec<u8> {
    match head.method() {
        None => response("400 Bad Request", connection(close)),
        Some("GET" | "HEAD") => {
            response_with("200 OK", fields, HELLO, head.is_head(), connection(close))
        }
        Some(_) => response(
            "405 Method Not Allowed",
            &format!("Allow: GET, HEAD\r\n{}", connection(close)),
        ),
    }
}

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
    answer_heads(|head, requests| {
        let Some(length) = head.content_length() else {
            return Some((response("400 Bad Request", connection(true)), After::Close));
        };
        // The bug: waits for all of the content before answering, and
        // never reads `Expect`.
        requests.discard(length)?;
        let close = head.ends_connection();
        Some((serve_hello(head, "", close), After::close_if(close)))
    })
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
    answer_heads(|head, _| {
        let has_content = head.field("transfer-encoding").is_some()
            || head
                .fields("content-length")
                .any(|value| value.bytes().any(|b| b != b'0'));
        let close = head.ends_connection() || has_content;
        let missing = head.is_get_or_head()
            && head
                .target()
                .is_some_and(|target| target.starts_with("/no-such-"));
        // The bug: no conditional field is read at all.
        let answer = if missing {
            response("404 Not Found", connection(close))
        } else {
            let fields = format!(
                "Content-Type: text/plain\r\nETag: {ETAG}\r\nLast-Modified: {LAST_MODIFIED}\r\n"
            );
            serve_hello(head, &fields, close)
        };
        Some((answer, After::close_if(close)))
    })
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
    answer_heads(|head, _| {
        let close = head.wants_close();
        Some((
            range_answer(head, connection(close)),
            After::close_if(close),
        ))
    })
}

/// The boundary of [`wrong_ranges`]' multipart answers.
const RANGE_BOUNDARY: &str = "RANGE_SEPARATOR";

/// [`wrong_ranges`]' answer to one request head, with `close` (a field
/// line or nothing) after its Content-Length.
fn range_answer(head: &Head, close: &str) -> Vec<u8> {
    if !head.is_get_or_head() {
        return response("400 Bad Request", close);
    }
    let head_only = head.is_head();
    // Bug: `Content-Range:` (or `If-Range:`) contains `range:` as well.
    let range = head.field_lines().find_map(|line| {
        let at = line.to_ascii_lowercase().find("range:")?;
        Some(line[at + "range:".len()..].trim().to_string())
    });
    let Some(range) = range else {
        let fields = format!("Content-Type: text/plain\r\nETag: {ETAG}\r\n");
        return response_with("200 OK", &fields, HELLO, head_only, close);
    };
    let parts = match range_parts(&range) {
        Ok(parts) => parts,
        Err(status) => return response(status, close),
    };
    let length = HELLO.len();
    let content_range = |&(first, last): &(usize, usize)| format!("bytes {first}-{last}/{length}");
    if let [part] = parts.as_slice() {
        let fields = format!(
            "Content-Type: text/plain\r\nContent-Range: {}\r\n",
            content_range(part)
        );
        let bytes = &HELLO[part.0..part.1];
        return response_with("206 Partial Content", &fields, bytes, head_only, close);
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
        body.extend_from_slice(&HELLO[part.0..part.1]);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{RANGE_BOUNDARY}--\r\n").as_bytes());
    let fields = format!(
        "Content-Type: multipart/byteranges; boundary={RANGE_BOUNDARY}\r\nContent-Range: {}\r\n",
        content_range(&parts[0])
    );
    response_with("206 Partial Content", &fields, &body, head_only, close)
}

/// The parts a Range value names, each as `(first, end)` with `end` taken
/// for the last offset (the bug), or the status of the error answer.
fn range_parts(value: &str) -> Result<Vec<(usize, usize)>, &'static str> {
    const UNSATISFIABLE: &str = "416 Range Not Satisfiable";
    let length = HELLO.len() as u32;
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

/// Wrong: takes up every `Upgrade` offer without saying so properly. To an
/// offer of h2c it switches with a 101 that has no `Upgrade` field; to a
/// WebSocket offer it answers 426 without naming a protocol; to any other
/// offer it switches to h2c, which was not offered. Every other request is
/// a 200 with no content (Date, Content-Type, `Content-Length: 0`).
pub fn wrong_upgrades() -> Responder {
    answer_heads(|head, _| {
        let offer = head.field("upgrade").map(str::to_ascii_lowercase);
        Some(match offer.as_deref() {
            None => (
                response("200 OK", "Content-Type: text/plain\r\n"),
                After::KeepOpen,
            ),
            Some("h2c") => (
                b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n".to_vec(),
                After::Abandon,
            ),
            Some("websocket") => (response("426 Upgrade Required", ""), After::KeepOpen),
            Some(_) => (
                b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
                    .to_vec(),
                After::Abandon,
            ),
        })
    })
}
