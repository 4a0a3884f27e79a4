//! The origin's scripted answers: it reads the requests of a connection as
//! the bytes come, with the reference server's strict parser
//! ([`super::message`]), records each ([`super::recording`]) and answers it
//! as its case scripts, marked ([`MARK_FIELD`]) so that the client can tell
//! the origin's answers from the front's; a request whose framing cannot be
//! read is refused with a 400. [`mark_of`] reads a mark back.

use super::message::{self, body_end, read_request, BodyEnd, Framing, Head, Read};
use super::model::{Piece, Script};
use super::recording::{arrive, Shared};
use crate::date::format_imf_fixdate;
use crate::wire::Response;
use std::io::Write as _;
use std::net::{Shutdown, TcpStream};
use std::time::{Instant, SystemTime};

/// The field that marks the origin's answers: `TOKEN N` for the case's
/// N-th request, `TOKEN unsolicited` on bytes no request asked for.
pub const MARK_FIELD: &str = "X-Conformance-Origin";

/// What `{mark}` says in bytes written after an answer.
pub const UNSOLICITED: &str = "unsolicited";

/// The requests of one connection, read as the bytes come.
#[derive(Default)]
pub(super) struct Reader {
    /// The bytes read and not yet taken by a whole request.
    pub(super) buf: Vec<u8>,
    /// The request whose body is still arriving: its arrival's place, its
    /// framing, and where its body starts in `buf`.
    pending: Option<(usize, Framing, usize)>,
}

impl Reader {
    /// Reads and answers every complete request in the buffer; false once
    /// the connection is to be read no further.
    pub(super) fn parse(&mut self, stream: &mut TcpStream, number: usize, shared: &Shared) -> bool {
        loop {
            let (place, framing, start) = match self.pending {
                Some(pending) => pending,
                None => match read_request(&self.buf) {
                    Read::Partial => return true,
                    Read::Broken(_) => return false,
                    Read::Head(head, len) => {
                        let framing = message::framing(&head, true, false);
                        let expects = head
                            .members("expect")
                            .iter()
                            .any(|m| m.eq_ignore_ascii_case(b"100-continue"));
                        let place = arrive(shared, number, head, framing.as_ref().err());
                        match framing {
                            Ok(framing) => {
                                if expects && framing != Framing::Empty {
                                    interim_continue(stream, shared, place);
                                }
                                (place, framing, len)
                            }
                            Err(_) => {
                                answer_refusal(stream, shared, place);
                                return false;
                            }
                        }
                    }
                },
            };
            self.pending = Some((place, framing, start));
            match body_end(framing, &self.buf[start..]) {
                BodyEnd::Partial => return true,
                BodyEnd::Broken => {
                    if let Some(arrival) = shared.lock().arrivals.get_mut(&place) {
                        arrival.framing_error = Some("the chunked framing is broken".into());
                    }
                    answer_refusal(stream, shared, place);
                    return false;
                }
                BodyEnd::At(n) => {
                    let body = self.buf[start..start + n].to_vec();
                    self.buf.drain(..start + n);
                    self.pending = None;
                    if let Some(arrival) = shared.lock().arrivals.get_mut(&place) {
                        arrival.body = Some(body);
                    }
                    if !answer(stream, shared, place) {
                        return false;
                    }
                }
            }
        }
    }
}

/// The script of the arrival at `place`: its token, its number, whether
/// it carries `Upgrade`, and its case's script if the case is running.
fn script_of(shared: &Shared, place: usize) -> Scripted {
    let state = shared.lock();
    let arrival = state.arrivals.get(&place);
    let token = arrival.and_then(|a| a.token.clone());
    Scripted {
        script: token.as_ref().and_then(|t| state.scripts.get(t)).cloned(),
        token,
        index: arrival.map_or(0, |a| a.index),
        upgrade: arrival.is_some_and(|a| a.head.values("upgrade").next().is_some()),
        last: arrival.is_some_and(|a| wants_close(&a.head)),
    }
}

/// What the origin knows of an arrival when it answers it.
struct Scripted {
    /// The case's token, from the request's path.
    token: Option<String>,
    /// The request's number among its case's requests.
    index: usize,
    /// Whether the request carries `Upgrade`.
    upgrade: bool,
    /// Whether the request asks for the connection to close after its
    /// answer (RFC 9112 §9.6: the origin then closes).
    last: bool,
    /// The case's script.
    script: Option<Script>,
}

/// Writes the script's `continue` bytes for the arrival at `place`, whose
/// head asks for `100-continue` and whose content is still to come.
fn interim_continue(stream: &mut TcpStream, shared: &Shared, place: usize) {
    if let Scripted {
        token: Some(token),
        index,
        script: Some(script),
        ..
    } = script_of(shared, place)
    {
        if !script.continue_with.is_empty() {
            let bytes = fill(&script.continue_with, &token, &index.to_string());
            write(stream, shared, place, &bytes);
        }
    }
}

/// Answers the arrival at `place` as its case scripts; false when the
/// script closes the connection.
fn answer(stream: &mut TcpStream, shared: &Shared, place: usize) -> bool {
    let Scripted {
        token,
        index,
        upgrade,
        last,
        script,
    } = script_of(shared, place);
    let Some((token, script)) = token.clone().zip(script) else {
        let mark = token.unwrap_or_else(|| "none".into());
        let body = format!("no case has the token {mark}\n");
        let bytes = format!(
            "HTTP/1.1 404 Not Found\r\n{MARK_FIELD}: {mark} {index}\r\nCache-Control: no-store\r\n\
             Date: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            format_imf_fixdate(SystemTime::now()),
            body.len()
        );
        return write(stream, shared, place, bytes.as_bytes());
    };
    if script.hold {
        return true;
    }
    if script.drop.contains(&index) {
        // No answer: the front sees the connection close instead.
        let _ = stream.shutdown(Shutdown::Write);
        return false;
    }
    if upgrade && !script.upgrade.is_empty() {
        let bytes = fill(&script.upgrade, &token, &index.to_string());
        write(stream, shared, place, &bytes);
        let _ = stream.shutdown(Shutdown::Write);
        return false;
    }
    let mut bytes = fill(&script.response, &token, &index.to_string());
    bytes.extend(fill(&script.after, &token, UNSOLICITED));
    if write(stream, shared, place, &bytes) && !script.close && !last {
        return true;
    }
    let _ = stream.shutdown(Shutdown::Write);
    false
}

/// Whether the request ends its connection after its answer (RFC 9112
/// §9.6: "A server that receives a "close" connection option MUST initiate
/// closure of the connection after it sends the final response to the
/// request that contained the "close" connection option"; §9.3: an
/// HTTP/1.0 request without `keep-alive` is not persistent). A front that
/// sends each request with `Connection: close` may read an answer to its
/// end.
fn wants_close(head: &Head) -> bool {
    let options = head.members("connection");
    let has = |option: &[u8]| options.iter().any(|o| o.eq_ignore_ascii_case(option));
    has(b"close") || (head.version == "HTTP/1.0" && !has(b"keep-alive"))
}

/// A 400 for a request whose framing the origin cannot read, then a close.
fn answer_refusal(stream: &mut TcpStream, shared: &Shared, place: usize) {
    let (token, index) = {
        let state = shared.lock();
        let arrival = state.arrivals.get(&place);
        (
            arrival
                .and_then(|a| a.token.clone())
                .unwrap_or_else(|| "none".into()),
            arrival.map_or(0, |a| a.index),
        )
    };
    let bytes = format!(
        "HTTP/1.1 400 Bad Request\r\n{MARK_FIELD}: {token} {index}\r\nCache-Control: no-store\r\n\
         Date: {}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        format_imf_fixdate(SystemTime::now())
    );
    write(stream, shared, place, bytes.as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
}

/// Writes `bytes` in answer to the arrival at `place`, and notes the time
/// on its connection; false when the write failed.
pub(super) fn write(stream: &mut TcpStream, shared: &Shared, place: usize, bytes: &[u8]) -> bool {
    let ok = stream.write_all(bytes).is_ok();
    let mut state = shared.lock();
    if let Some(number) = state.arrivals.get(&place).map(|a| a.connection) {
        state.connections[number - 1].last = Some(Instant::now());
    }
    drop(state);
    shared.changed.notify_all();
    ok
}

/// The origin's mark on a response the client read: the value of
/// [`MARK_FIELD`], or else the marked content (`origin TOKEN N`), for a
/// front that dropped the field; `None` for a response the origin did not
/// write.
pub fn mark_of(response: &Response) -> Option<String> {
    if let Some(mark) = response.header(MARK_FIELD) {
        return Some(mark.to_string());
    }
    let body = response.body.strip_prefix(b"origin ")?;
    let end = body.iter().position(|&b| b == b'\n')?;
    Some(String::from_utf8_lossy(&body[..end]).into_owned())
}

/// An origin template's bytes for the answer `TOKEN N`.
pub fn fill(pieces: &[Piece], token: &str, index: &str) -> Vec<u8> {
    let body = format!("origin {token} {index}\n");
    let mut out = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Bytes(bytes) => out.extend_from_slice(bytes),
            Piece::Mark => out.extend_from_slice(
                format!("{MARK_FIELD}: {token} {index}\r\nCache-Control: no-store\r\n").as_bytes(),
            ),
            Piece::Body => out.extend_from_slice(body.as_bytes()),
            Piece::BodyLength => out.extend_from_slice(body.len().to_string().as_bytes()),
            Piece::Date => {
                out.extend_from_slice(format_imf_fixdate(SystemTime::now()).as_bytes());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::parse::decode_pieces;

    #[test]
    fn close_option_or_http10_without_keep_alive_then_the_last_answer() {
        let close = |text: &str| {
            let Read::Head(head, _) = read_request(text.as_bytes()) else {
                panic!("no head: {text:?}")
            };
            wants_close(&head)
        };
        assert!(close("GET / HTTP/1.1\r\nConnection: x, Close\r\n\r\n"));
        assert!(close("GET / HTTP/1.0\r\n\r\n"));
        assert!(!close("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
        assert!(!close("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"));
        assert!(!close("GET / HTTP/1.1\r\n\r\n"));
    }

    #[test]
    fn fill_then_marks_the_answer() {
        let pieces = decode_pieces("A\\r\\n{mark}L: {body-length}\\r\\n\\r\\n{body}").unwrap();
        assert_eq!(
            fill(&pieces, "t1", "2"),
            b"A\r\nX-Conformance-Origin: t1 2\r\nCache-Control: no-store\r\nL: 12\r\n\r\norigin t1 2\n"
        );
    }
}
