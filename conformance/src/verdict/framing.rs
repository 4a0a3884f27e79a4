//! The checks on how a response is delimited and how the connection ends
//! after it (RFC 9112 §6, §9; RFC 9110 §8.6, §15.2): the bytes that
//! followed the head, and the close that was or was not announced.

use super::context::Context;
use crate::wire::{AfterEnd, BodyEnd, Framing, Outcome, Response};

/// RFC 9110 §8.6: an origin server SHOULD send a Content-Length header
/// field when the content size is known prior to sending the complete header
/// section. Applies to responses that have content (not to HEAD, 1xx, 204,
/// 304).
pub(super) fn check_has_content_length(r: &Response) -> Option<Result<(), String>> {
    if r.framing == Framing::None {
        return None;
    }
    Some(match r.header("content-length") {
        Some(_) => Ok(()),
        None => Err(match r.framing {
            Framing::Chunked => "no Content-Length: chunked".to_string(),
            _ => "no Content-Length: delimited by closing the connection".to_string(),
        }),
    })
}

/// RFC 9110 §15.2: a server MUST NOT send a 1xx response to an HTTP/1.0
/// client.
pub(super) fn check_no_interim(r: &Response) -> Result<(), String> {
    match r.interim.first() {
        None if !(100..200).contains(&r.code) => Ok(()),
        None => Err(format!("a {} response", r.code)),
        Some(head) => Err(format!(
            "an interim response came first: {}",
            crate::escape::readable(head.split(|&b| b == b'\n').next().unwrap_or_default())
        )),
    }
}

/// RFC 9112 §9.3: A server that does not support persistent connections
/// MUST send the "close" connection option in every response message that
/// does not have a 1xx (Informational) status code. So a connection closed
/// before this step's answer must have been announced by the last response.
pub(super) fn check_close_announced(
    outcome: &Outcome,
    context: &Context<'_>,
) -> Option<Result<(), String>> {
    if !matches!(outcome, Outcome::Closed | Outcome::Reset) {
        return None;
    }
    let Some(Outcome::Response(previous)) = context.previous else {
        return None;
    };
    // RFC 9112 §9.3: an HTTP/1.0 response without the "keep-alive" option
    // already says the connection will close.
    let keep_alive = previous
        .header_values("connection")
        .flat_map(|v| v.split(','))
        .any(|option| option.trim().eq_ignore_ascii_case("keep-alive"));
    let http10_closing = previous.version == "HTTP/1.0" && !keep_alive;
    Some(if previous.has_connection_close() || http10_closing {
        Ok(())
    } else {
        Err(format!(
            "the connection closed after a {} that did not carry Connection: close",
            previous.code
        ))
    })
}

/// When Content-Length is present, exactly that many body bytes arrived.
///
/// - With Transfer-Encoding the body is not delimited by Content-Length at
///   all (RFC 9112 §6.2: a sender MUST NOT send both), so it cannot hold.
/// - A 1xx or 204 response MUST NOT carry Content-Length or
///   Transfer-Encoding at all, not even `0`.
/// - For a response to HEAD and a 304 the value describes the selected
///   representation (RFC 9110 §8.6), not this message: not compared.
pub(super) fn check_content_length(r: &Response) -> Option<Result<(), String>> {
    // RFC 9110 §8.6 and RFC 9112 §6.1: a server MUST NOT send
    // Content-Length or Transfer-Encoding in any response with a status code
    // of 1xx (Informational) or 204 (No Content).
    // RFC 9110 §9.3.6: A server MUST NOT send any Transfer-Encoding or
    // Content-Length header fields in a 2xx (Successful) response to CONNECT.
    let connect_2xx = r.method.as_deref() == Some("CONNECT") && (200..300).contains(&r.code);
    if (100..200).contains(&r.code) || r.code == 204 || connect_2xx {
        let framing: Vec<String> = ["Content-Length", "Transfer-Encoding"]
            .into_iter()
            .filter_map(|name| r.header(name).map(|v| format!("{name}: {v}")))
            .collect();
        return Some(if framing.is_empty() {
            Ok(())
        } else {
            Err(format!("{} in a {} response", framing.join(", "), r.code))
        });
    }
    r.header("content-length")?;
    if r.header("transfer-encoding").is_some() {
        return Some(Err("Content-Length sent with Transfer-Encoding".into()));
    }
    let Framing::Length(declared) = r.framing else {
        return Some(Ok(()));
    };
    let extra = r.after.map_or(0, |a| a.bytes);
    let result = match r.body_end {
        BodyEnd::Complete if extra == 0 => Ok(()),
        BodyEnd::Complete => Err(format!(
            "Content-Length: {declared}, but {extra} more bytes followed the body"
        )),
        end => Err(format!(
            "Content-Length: {declared}, but {} bytes arrived before {}",
            r.body_len,
            describe_body_end(end)
        )),
    };
    Some(result)
}

fn describe_body_end(end: BodyEnd) -> &'static str {
    match end {
        BodyEnd::Complete => "the end",
        BodyEnd::Closed => "the server closed",
        BodyEnd::Reset => "the connection was reset",
        BodyEnd::Deadline => "the deadline",
        BodyEnd::Truncated => "the read limit",
    }
}

/// No bytes at all follow the head: neither a body by the response's own
/// framing nor anything before the server closed. It applies where content
/// is not allowed (RFC 9112 §6.3: a response to HEAD, a 1xx, 204 or 304):
/// a case that asks for a 304 and gets a 200 is graded on its status, not
/// on the 200's content.
pub(super) fn check_no_body(r: &Response) -> Option<Result<(), String>> {
    let bodiless = r.method.as_deref() == Some("HEAD")
        || (100..200).contains(&r.code)
        || r.code == 204
        || r.code == 304;
    if !bodiless {
        return None;
    }
    let extra = r.body_len + r.after.map_or(0, |a| a.bytes);
    Some(if extra == 0 {
        Ok(())
    } else {
        Err(format!("{extra} bytes followed the head"))
    })
}

/// The server closed the connection after the response, sending nothing
/// more. A reset also means the server closed it (RFC 9112 §9.6 explains why
/// a close can turn into a reset when the client has sent more).
pub(super) fn check_closed(r: &Response) -> Result<(), String> {
    match r.after {
        None => Err("not measured".into()),
        Some(a) if a.bytes > 0 => Err(format!("{} more bytes arrived instead of a close", a.bytes)),
        Some(a) => match a.end {
            AfterEnd::Closed | AfterEnd::Reset => Ok(()),
            AfterEnd::Open | AfterEnd::Limit => {
                Err("the connection was still open at the deadline".into())
            }
        },
    }
}

/// RFC 9112 §9.6: A sender SHOULD send a Connection header field containing
/// the "close" connection option when it intends to close a connection.
pub(super) fn check_close_header(r: &Response) -> Result<(), String> {
    if r.has_connection_close() {
        Ok(())
    } else {
        Err("no Connection: close".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Check;
    use crate::verdict::test_support::{after, check, response, with_body};

    #[test]
    fn content_length_absent_then_not_applied() {
        assert_eq!(check(Check::ContentLength, &response(200, &[])), None);
    }

    #[test]
    fn content_length_matching_body_then_holds() {
        let r = with_body(
            response(200, &[("Content-Length", "14")]),
            14,
            14,
            BodyEnd::Complete,
        );
        assert_eq!(check(Check::ContentLength, &r), Some(Ok(())));
    }

    #[test]
    fn content_length_short_body_then_broken() {
        let r = with_body(
            response(200, &[("Content-Length", "14")]),
            14,
            3,
            BodyEnd::Closed,
        );
        assert_eq!(
            check(Check::ContentLength, &r),
            Some(Err(
                "Content-Length: 14, but 3 bytes arrived before the server closed".into()
            ))
        );
    }

    #[test]
    fn content_length_then_extra_bytes_then_broken() {
        let mut r = with_body(
            response(200, &[("Content-Length", "0")]),
            0,
            0,
            BodyEnd::Complete,
        );
        r.after = after(5, AfterEnd::Closed);
        assert!(matches!(check(Check::ContentLength, &r), Some(Err(_))));
    }

    #[test]
    fn content_length_on_head_response_then_not_compared() {
        let r = response(200, &[("Content-Length", "14")]);
        assert_eq!(check(Check::ContentLength, &r), Some(Ok(())));
    }

    #[test]
    fn content_length_with_transfer_encoding_or_any_on_204_then_broken() {
        let te = response(
            200,
            &[("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
        );
        assert!(matches!(check(Check::ContentLength, &te), Some(Err(_))));
        for headers in [
            &[("Content-Length", "0")][..],
            &[("Content-Length", "5")],
            &[("Transfer-Encoding", "chunked")],
        ] {
            assert!(matches!(
                check(Check::ContentLength, &response(204, headers)),
                Some(Err(_))
            ));
            assert!(matches!(
                check(Check::ContentLength, &response(100, headers)),
                Some(Err(_))
            ));
        }
        assert_eq!(
            check(Check::ContentLength, &response(204, &[])),
            Some(Ok(()))
        );
    }

    #[test]
    fn connect_2xx_with_framing_fields_then_content_length_broken() {
        let mut r = response(200, &[("Content-Length", "0")]);
        r.method = Some("CONNECT".into());
        assert!(matches!(check(Check::ContentLength, &r), Some(Err(_))));
        r.code = 405;
        assert_eq!(check(Check::ContentLength, &r), Some(Ok(())));
    }

    #[test]
    fn no_body_rules_then_body_or_trailing_bytes_break_it_where_content_is_not_allowed() {
        let mut head = response(200, &[("Content-Length", "14")]);
        head.method = Some("HEAD".into());
        head.after = after(0, AfterEnd::Closed);
        assert_eq!(check(Check::NoBody, &head), Some(Ok(())));
        head.after = after(14, AfterEnd::Closed);
        assert!(matches!(check(Check::NoBody, &head), Some(Err(_))));
        let not_modified = with_body(response(304, &[]), 14, 14, BodyEnd::Complete);
        assert_eq!(
            check(Check::NoBody, &not_modified),
            Some(Err("14 bytes followed the head".into()))
        );
        // A GET answered 200 has content: the check is not about it.
        let get = with_body(response(200, &[]), 14, 14, BodyEnd::Complete);
        assert_eq!(check(Check::NoBody, &get), None);
    }

    #[test]
    fn has_content_length_then_only_for_responses_with_content() {
        let mut r = response(200, &[]);
        assert_eq!(check(Check::HasContentLength, &r), None);
        r.framing = Framing::Chunked;
        assert!(matches!(check(Check::HasContentLength, &r), Some(Err(_))));
        r.headers.push(("Content-Length".into(), "3".into()));
        assert_eq!(check(Check::HasContentLength, &r), Some(Ok(())));
    }

    #[test]
    fn interim_before_final_then_no_interim_broken() {
        let mut r = response(200, &[]);
        assert_eq!(check(Check::NoInterim, &r), Some(Ok(())));
        r.interim.push(b"HTTP/1.1 100 Continue\r\n\r\n".to_vec());
        assert!(matches!(check(Check::NoInterim, &r), Some(Err(_))));
    }

    #[test]
    fn closed_rules_then_eof_or_reset_with_nothing_more() {
        let mut r = response(400, &[]);
        for (a, holds) in [
            (after(0, AfterEnd::Closed), true),
            (after(0, AfterEnd::Reset), true),
            (after(0, AfterEnd::Open), false),
            (after(7, AfterEnd::Closed), false),
            (None, false),
        ] {
            r.after = a;
            assert_eq!(check(Check::Closed, &r).unwrap().is_ok(), holds, "{a:?}");
        }
    }

    #[test]
    fn close_header_rules_then_token_in_list() {
        let yes = response(400, &[("Connection", "keep-alive, Close")]);
        assert_eq!(check(Check::CloseHeader, &yes), Some(Ok(())));
        let no = response(400, &[("Connection", "closed")]);
        assert!(matches!(check(Check::CloseHeader, &no), Some(Err(_))));
    }
}
