//! The origin's response heads: checked, their framing read, and rebuilt
//! for the client through the server's one head writer, with the proxy's
//! own version, framing and `Via`, and every end-to-end field as received.

use super::body::{Frame, Reframe};
use super::fields::{end_to_end, via};
use crate::parse::{trim_ows, ResponseHead, Version};
use crate::problem::Problem;
use crate::response::{Delimit, Response};

/// What of the request the response depends on.
#[derive(Debug, Clone, Copy)]
pub(super) struct Asked {
    /// A HEAD: the response has no content.
    pub(super) head_only: bool,
    /// The client's HTTP-version.
    pub(super) client: Version,
}

impl Asked {
    /// An HTTP/1.1 (or later) client, which takes chunks and 1xx responses.
    pub(super) fn modern(&self) -> bool {
        self.client.major > 1 || self.client.minor >= 1
    }
}

/// A final response, ready to relay.
#[derive(Debug)]
pub(super) struct Relay {
    /// The head to send.
    pub(super) response: Response,
    /// How the origin's content is delimited; `None`: there is none.
    pub(super) frame: Option<Frame>,
    /// How it is sent on.
    pub(super) out: Reframe,
    /// The content is close-delimited to the client: the connection
    /// closes after it.
    pub(super) closes: bool,
}

/// An interim (1xx) response, rebuilt for an HTTP/1.1 client.
///
/// RFC 9110 §15.2: "A proxy MUST forward 1xx responses unless the proxy
/// itself requested the generation of the 1xx response". A 101 is not
/// forwarded: the proxy removed the request's `Upgrade`, so the origin
/// switched to a protocol nobody asked for (§7.8: "A server MUST NOT switch
/// to a protocol that was not indicated by the client in the corresponding
/// request's Upgrade header field").
pub(super) fn interim(head: &ResponseHead<'_>, received_by: &str) -> Result<Response, Problem> {
    if head.code == 101 {
        return Err(Problem::BadGateway(
            "the origin switched protocols, which nobody asked it to",
        ));
    }
    let mut response = Response::relayed(head.code, head.reason, Delimit::None);
    copy_fields(head, &mut response, received_by);
    Ok(response)
}

/// A final response: its framing, checked, and its head rebuilt.
///
/// RFC 9112 §6.3 in order: no content after a HEAD, a 204 or a 304 (rule
/// 1); `Transfer-Encoding` overrides `Content-Length` (rule 3: "An
/// intermediary that chooses to forward the message MUST first remove the
/// received Content-Length field and process the Transfer-Encoding"), and
/// only `chunked` is understood; an invalid `Content-Length` is "an
/// unrecoverable error ... the proxy MUST close the connection to the
/// server, discard the received response, and send a 502 (Bad Gateway)
/// response to the client" (rule 5); without either, the content ends
/// with the connection (rule 8).
///
/// RFC 9112 §6.1: "A server or client that receives an HTTP/1.0 message
/// containing a Transfer-Encoding header field MUST treat the message as
/// if the framing is faulty" (502 here), and "A server MUST NOT send a
/// response containing Transfer-Encoding unless the corresponding request
/// indicates HTTP/1.1": an HTTP/1.0 client gets chunked or close-delimited
/// content close-delimited. RFC 9110 §15: "Values outside the range
/// 100..599 are invalid"; a client "SHOULD process the response as if it
/// had a 5xx (Server Error) status code".
pub(super) fn final_response(
    head: &ResponseHead<'_>,
    asked: Asked,
    received_by: &str,
) -> Result<Relay, Problem> {
    if !(200..=599).contains(&head.code) {
        return Err(Problem::BadGateway(
            "the origin's status code is outside 100-599",
        ));
    }
    let encoded = head.values("Transfer-Encoding").next().is_some();
    if encoded && head.version == (Version { major: 1, minor: 0 }) {
        return Err(Problem::BadGateway(
            "the origin sent Transfer-Encoding in an HTTP/1.0 response",
        ));
    }
    let length = if encoded { None } else { content_length(head)? };
    let bodiless = asked.head_only || matches!(head.code, 204 | 304);
    let frame = match (bodiless, encoded, length) {
        (true, _, _) => None,
        (false, true, _) if only_chunked(head) => Some(Frame::Chunked),
        (false, true, _) => {
            return Err(Problem::BadGateway(
                "the origin used a transfer coding other than chunked",
            ))
        }
        (false, false, Some(n)) => Some(Frame::Length(n)),
        (false, false, None) => Some(Frame::Close),
    };
    let (delimit, out, closes) = match frame {
        // The length a GET would have had, on a HEAD or a 304 (RFC 9110
        // §8.6); none on a 204, which the head writer leaves out.
        None => (
            length.map_or(Delimit::None, Delimit::Length),
            Reframe::Raw,
            false,
        ),
        Some(Frame::Length(n)) => (Delimit::Length(n), Reframe::Raw, false),
        Some(_) if asked.modern() => (Delimit::Chunked, Reframe::Chunked, false),
        Some(_) => (Delimit::None, Reframe::Raw, true),
    };
    let mut response = Response::relayed(head.code, head.reason, delimit);
    copy_fields(head, &mut response, received_by);
    Ok(Relay {
        response,
        frame,
        out,
        closes,
    })
}

/// The end-to-end fields as received, then `Via`.
///
/// RFC 9110 §7.6.3: a gateway "MAY send a Via header field in forwarded
/// response messages"; this one does, as a proxy must. The rest is as
/// received: `WWW-Authenticate` (§11.6.1: "A proxy forwarding a response
/// MUST NOT modify any WWW-Authenticate header fields"), `Allow` (§10.2.1:
/// "A proxy MUST NOT modify the Allow header field"), `Vary` (the proxy
/// never adds `*`, §12.5.5), the validators and representation metadata
/// (§7.7: "A proxy SHOULD NOT modify header fields that provide information
/// about the endpoints of the communication chain, the resource state, or
/// the selected representation").
fn copy_fields(head: &ResponseHead<'_>, response: &mut Response, received_by: &str) {
    for field in end_to_end(&head.fields) {
        response.header_bytes(field.name, field.value);
    }
    response.header("Via", &via(head.version, received_by));
}

/// `Content-Length = 1*DIGIT` (RFC 9110 §8.6), as a list whose values are
/// all the same (RFC 9112 §6.3 rule 5), across every line; `None` when
/// there is none.
fn content_length(head: &ResponseHead<'_>) -> Result<Option<u64>, Problem> {
    let mut length = None;
    for element in head
        .values("Content-Length")
        .flat_map(|v| v.split(|&b| b == b','))
    {
        let digits = trim_ows(element);
        let n = (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
            .then(|| {
                digits.iter().try_fold(0u64, |n, &d| {
                    n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
                })
            })
            .flatten();
        match (n, length) {
            (Some(n), None) => length = Some(n),
            (Some(n), Some(l)) if n == l => {}
            _ => {
                return Err(Problem::BadGateway(
                    "the origin's Content-Length is invalid or conflicting",
                ))
            }
        }
    }
    Ok(length)
}

/// Whether the transfer codings are `chunked` alone (RFC 9112 §6.1), empty
/// list elements aside.
fn only_chunked(head: &ResponseHead<'_>) -> bool {
    let mut codings = head
        .values("Transfer-Encoding")
        .flat_map(|v| v.split(|&b| b == b','))
        .map(trim_ows)
        .filter(|c| !c.is_empty());
    matches!(
        (codings.next(), codings.next()),
        (Some(c), None) if c.eq_ignore_ascii_case(b"chunked")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_response, Status};

    const HTTP11: Version = Version { major: 1, minor: 1 };
    const HTTP10: Version = Version { major: 1, minor: 0 };

    fn relay(bytes: &str, head_only: bool, client: Version) -> Result<Relay, Problem> {
        let Ok(Status::Complete((head, _))) = parse_response(bytes.as_bytes()) else {
            panic!("does not parse: {bytes:?}")
        };
        final_response(&head, Asked { head_only, client }, "p:1")
    }

    fn shape(
        bytes: &str,
        head_only: bool,
        client: Version,
    ) -> (Option<Frame>, Reframe, bool, String) {
        let relay = relay(bytes, head_only, client).unwrap();
        let head = String::from_utf8(relay.response.head(false, 0)).unwrap();
        let head = head
            .lines()
            .filter(|l| !l.starts_with("Date: "))
            .collect::<Vec<_>>()
            .join("|");
        (relay.frame, relay.out, relay.closes, head)
    }

    #[test]
    fn each_framing_is_read_and_sent_on_as_the_client_takes_it() {
        assert_eq!(
            shape(
                "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
                false,
                HTTP11
            ),
            (
                Some(Frame::Length(5)),
                Reframe::Raw,
                false,
                "HTTP/1.1 200 OK|Via: 1.1 p:1|Content-Length: 5|".into()
            )
        );
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n";
        assert_eq!(
            shape(chunked, false, HTTP11),
            (
                Some(Frame::Chunked),
                Reframe::Chunked,
                false,
                "HTTP/1.1 200 OK|Via: 1.1 p:1|Transfer-Encoding: chunked|".into()
            )
        );
        assert_eq!(
            shape(chunked, false, HTTP10),
            (
                Some(Frame::Chunked),
                Reframe::Raw,
                true,
                "HTTP/1.1 200 OK|Via: 1.1 p:1|".into()
            )
        );
        assert_eq!(
            shape("HTTP/1.0 200 Fine\r\n\r\n", false, HTTP11),
            (
                Some(Frame::Close),
                Reframe::Chunked,
                false,
                "HTTP/1.1 200 Fine|Via: 1.0 p:1|Transfer-Encoding: chunked|".into()
            )
        );
    }

    #[test]
    fn bodiless_responses_keep_their_length_and_lose_their_coding() {
        assert_eq!(
            shape(
                "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n",
                false,
                HTTP11
            ),
            (
                None,
                Reframe::Raw,
                false,
                "HTTP/1.1 304 Not Modified|Via: 1.1 p:1|Content-Length: 7|".into()
            )
        );
        assert_eq!(
            shape(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                true,
                HTTP11
            ),
            (
                None,
                Reframe::Raw,
                false,
                "HTTP/1.1 200 OK|Via: 1.1 p:1|".into()
            )
        );
        assert_eq!(
            shape(
                "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n",
                false,
                HTTP11
            ),
            (
                None,
                Reframe::Raw,
                false,
                "HTTP/1.1 204 No Content|Via: 1.1 p:1|".into()
            )
        );
    }

    #[test]
    fn broken_framing_is_a_bad_gateway() {
        for bytes in [
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
            "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HTTP/1.1 600 Nope\r\n\r\n",
            "HTTP/1.1 099 Nope\r\n\r\n",
        ] {
            assert!(
                matches!(relay(bytes, false, HTTP11), Err(Problem::BadGateway(_))),
                "{bytes:?}"
            );
        }
    }
}
