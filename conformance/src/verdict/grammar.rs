//! The checks on the octets and tokens of the status line and the field
//! values (RFC 9112 §4, RFC 9110 §5.5, §6.2, §15): what every response must
//! be made of, whatever it says.

use super::Context;
use crate::wire::Response;

/// The octets a reason phrase may hold (RFC 9112 §4), and a field value
/// between its first and last octet (RFC 9110 §5.5; the ends are never SP
/// or HTAB, since the value is what remains once its optional whitespace
/// is taken off): HTAB, SP, VCHAR (%x21-7E) and obs-text (%x80-FF).
///
/// ```text
/// reason-phrase  = 1*( HTAB / SP / VCHAR / obs-text )
/// field-value    = *field-content
/// field-content  = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
/// field-vchar    = VCHAR / obs-text
/// obs-text       = %x80-FF
/// ```
const TEXT_OCTETS: [bool; 256] = text_octets();

const fn text_octets() -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = matches!(i, 0x09 | 0x20..=0x7e | 0x80..=0xff);
        i += 1;
    }
    table
}

/// The first octet of `bytes` outside `table`, with its position.
fn first_outside(bytes: &[u8], table: &[bool; 256]) -> Option<(usize, u8)> {
    bytes
        .iter()
        .position(|&b| !table[usize::from(b)])
        .map(|i| (i, bytes[i]))
}

/// RFC 9112 §4 and RFC 9110 §2.2: the reason phrase, read from the raw
/// status line, holds only HTAB, SP, VCHAR and obs-text.
pub(super) fn check_reason_phrase(r: &Response) -> Result<(), String> {
    let reason = r.reason_bytes();
    match first_outside(reason, &TEXT_OCTETS) {
        None => Ok(()),
        Some((at, byte)) => Err(format!(
            "reason phrase has 0x{byte:02x} at octet {}, outside reason-phrase",
            at + 1
        )),
    }
}

/// RFC 9110 §5.5 and §2.2: every field line's value, read from the raw
/// head and trimmed of its optional whitespace, holds only field-vchar,
/// with SP and HTAB between them. A continuation line (obs-fold) is part
/// of the value before it.
pub(super) fn check_field_values(r: &Response) -> Result<(), String> {
    let lines = r
        .head
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .skip(1)
        .filter(|line| !line.is_empty());
    let mut name: &[u8] = b"";
    for line in lines {
        let value = if matches!(line[0], b' ' | b'\t') {
            line
        } else {
            match line.iter().position(|&b| b == b':') {
                Some(colon) => {
                    name = &line[..colon];
                    &line[colon + 1..]
                }
                None => continue,
            }
        };
        let value = crate::wire::trim_ows(value);
        if let Some((at, byte)) = first_outside(value, &TEXT_OCTETS) {
            return Err(format!(
                "{} value has 0x{byte:02x} at octet {}, outside field-value",
                crate::escape::readable(name),
                at + 1
            ));
        }
    }
    Ok(())
}

/// RFC 9112 §4: A server MUST send the space that separates the
/// status-code from the reason-phrase even when the reason-phrase is absent.
pub(super) fn check_status_sp(r: &Response) -> Result<(), String> {
    match r.head.get(12) {
        Some(b' ') => Ok(()),
        _ => Err("no space after the status code".into()),
    }
}

/// RFC 9110 §6.2: A server SHOULD send a response version equal to the
/// highest version to which the server is conformant. Which that is, the
/// server said in its answer to the control (an HTTP/1.1 request): a
/// server of HTTP/1.0 only answers `HTTP/1.0`, and must keep to it.
pub(super) fn check_version(r: &Response, context: &Context<'_>) -> Result<(), String> {
    let highest = context.version.unwrap_or("HTTP/1.1");
    if r.version == highest {
        Ok(())
    } else {
        Err(format!(
            "status line starts {}, where the control's started {highest}",
            r.version
        ))
    }
}

pub(super) fn check_reason(r: &Response) -> Option<Result<(), String>> {
    let registered = registered_reason(r.code)?;
    Some(if r.reason == registered {
        Ok(())
    } else {
        Err(format!(
            "reason \"{}\", registered \"{registered}\"",
            r.reason
        ))
    })
}

/// The reason phrase RFC 9110 §15 registers for a status code (and RFC 6585
/// for 428, 429, 431, 511).
pub(crate) fn registered_reason(code: u16) -> Option<&'static str> {
    Some(match code {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        511 => "Network Authentication Required",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use crate::case::Check;
    use crate::verdict::test_support::{check, response};

    #[test]
    fn status_sp_then_space_after_the_code_required() {
        let mut r = response(200, &[]);
        r.head = b"HTTP/1.1 200 \r\n\r\n".to_vec();
        assert_eq!(check(Check::StatusSp, &r), Some(Ok(())));
        r.head = b"HTTP/1.1 200\r\n\r\n".to_vec();
        assert!(matches!(check(Check::StatusSp, &r), Some(Err(_))));
    }

    #[test]
    fn reason_phrase_with_controls_then_broken_obs_text_and_tab_allowed() {
        let mut r = response(200, &[]);
        r.head = b"HTTP/1.1 200 OK\tfine \x80\xff\r\n\r\n".to_vec();
        assert_eq!(check(Check::ReasonPhrase, &r), Some(Ok(())));
        r.head = b"HTTP/1.1 200 \r\n\r\n".to_vec();
        assert_eq!(check(Check::ReasonPhrase, &r), Some(Ok(())));
        r.head = b"HTTP/1.1 200 O\x1b[31mK\r\n\r\n".to_vec();
        assert_eq!(
            check(Check::ReasonPhrase, &r),
            Some(Err(
                "reason phrase has 0x1b at octet 2, outside reason-phrase".into()
            ))
        );
        for bad in [&b"\x07"[..], b"\x00", b"\x7f", b"a\rb"] {
            let mut head = b"HTTP/1.1 200 ".to_vec();
            head.extend_from_slice(bad);
            head.extend_from_slice(b"\r\n\r\n");
            r.head = head;
            assert!(
                matches!(check(Check::ReasonPhrase, &r), Some(Err(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn field_value_with_controls_then_broken_ows_and_obs_text_allowed() {
        let mut r = response(200, &[]);
        r.head = b"HTTP/1.1 200 OK\r\nX-A:  a b\tc \xe9 \t\r\nX-Empty:\r\n\r\n".to_vec();
        assert_eq!(check(Check::FieldValue, &r), Some(Ok(())));
        r.head = b"HTTP/1.1 200 OK\r\nX-A: ok\r\nX-B: a\x1b]0;t\x07\r\n\r\n".to_vec();
        assert_eq!(
            check(Check::FieldValue, &r),
            Some(Err(
                "X-B value has 0x1b at octet 2, outside field-value".into()
            ))
        );
        r.head = b"HTTP/1.1 200 OK\r\nX-A: ok\r\n  more\x00\r\n\r\n".to_vec();
        assert!(matches!(check(Check::FieldValue, &r), Some(Err(_))));
    }

    #[test]
    fn version_rules_then_the_controls_version_exactly() {
        let mut r = response(200, &[]);
        assert_eq!(check(Check::Version, &r), Some(Ok(())));
        r.version = "HTTP/1.0".into();
        assert_eq!(
            check(Check::Version, &r),
            Some(Err(
                "status line starts HTTP/1.0, where the control's started HTTP/1.1".into()
            ))
        );
        let http10 = super::Context {
            version: Some("HTTP/1.0"),
            ..super::Context::default()
        };
        assert_eq!(
            super::super::check::run_check(Check::Version, &r, &http10),
            Some(Ok(()))
        );
        r.version = "HTTP/1.1".into();
        assert!(matches!(
            super::super::check::run_check(Check::Version, &r, &http10),
            Some(Err(_))
        ));
    }

    #[test]
    fn reason_rules_then_registered_phrase_or_not_applied() {
        let mut r = response(413, &[]);
        assert_eq!(check(Check::Reason, &r), Some(Ok(())));
        r.reason = "Payload Too Large".into();
        assert!(matches!(check(Check::Reason, &r), Some(Err(_))));
        assert_eq!(check(Check::Reason, &response(599, &[])), None);
    }
}
