//! The checks that compare a response with what else the run knows: the
//! control's answer to a GET of the same resource (RFC 9110 §8.6, §9.3.2,
//! §15.4.5) and the request the response answers (§7.8, §9.3.8).

use super::context::Context;
use crate::wire::Response;

/// Header fields whose presence legitimately differs between two answers
/// about the same resource: connection management and message framing.
const FRAMING_FIELDS: [&str; 4] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
];

/// The response's ETag is the control's (RFC 9110 §15.4.5 for a 304,
/// §15.3.7 for a 206, §9.3.2 for HEAD).
pub(super) fn check_control_etag(
    r: &Response,
    context: &Context<'_>,
) -> Option<Result<(), String>> {
    // A 412, 416 or 404 describes no representation: nothing to compare.
    if !((200..300).contains(&r.code) || r.code == 304) {
        return None;
    }
    let expected = context.etag?;
    Some(match r.header("etag") {
        Some(etag) if etag == expected => Ok(()),
        Some(etag) => Err(format!("ETag {etag}, the control got {expected}")),
        None => Err(format!("no ETag, the control got {expected}")),
    })
}

/// RFC 9110 §8.6: a server MUST NOT send Content-Length in a response to
/// HEAD, or in a 304, unless its field value equals the decimal number of
/// octets that would have been sent in the content of a 200 to GET.
pub(super) fn check_control_length(
    r: &Response,
    context: &Context<'_>,
) -> Option<Result<(), String>> {
    // A 2xx other than 206, and a 304, speak of the whole representation
    // (§8.6); a 206's, a 412's or a 416's Content-Length is its own
    // content's.
    if !(((200..300).contains(&r.code) && r.code != 206) || r.code == 304) {
        return None;
    }
    let expected = context.length?;
    let value = r.header("content-length")?;
    Some(if value == expected.to_string() {
        Ok(())
    } else {
        Err(format!(
            "Content-Length: {value}, where the control's representation is {expected} bytes"
        ))
    })
}

/// RFC 9110 §9.3.2: The server SHOULD send the same header fields in
/// response to a HEAD request as it would have sent if the request method
/// had been GET. Compared by name, framing and connection fields aside.
pub(super) fn check_control_fields(
    r: &Response,
    context: &Context<'_>,
) -> Option<Result<(), String>> {
    if context.fields.is_empty() {
        return None;
    }
    let names = |fields: &mut dyn Iterator<Item = String>| -> Vec<String> {
        let mut names: Vec<String> = fields
            .filter(|n| !FRAMING_FIELDS.contains(&n.as_str()))
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let got = names(&mut r.headers.iter().map(|(n, _)| n.to_ascii_lowercase()));
    let expected = names(&mut context.fields.iter().cloned());
    let missing: Vec<&String> = expected.iter().filter(|n| !got.contains(n)).collect();
    let extra: Vec<&String> = got.iter().filter(|n| !expected.contains(n)).collect();
    Some(match (missing.is_empty(), extra.is_empty()) {
        (true, true) => Ok(()),
        _ => Err(format!(
            "fields differ from the control GET's: missing {missing:?}, extra {extra:?}"
        )),
    })
}

/// The values of the header fields named `name` in a request's head.
fn request_fields<'a>(request: &'a [u8], name: &'a str) -> impl Iterator<Item = String> + 'a {
    let end = request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(request.len());
    request[..end]
        .split(|&b| b == b'\n')
        .skip(1)
        .filter_map(move |line| {
            let line = String::from_utf8_lossy(line);
            let (field, value) = line.split_once(':')?;
            field
                .trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
}

/// RFC 9110 §7.8: A server that sends a 101 (Switching Protocols) response
/// MUST send an Upgrade header field to indicate the new protocol(s) …; a
/// server MUST NOT switch to a protocol that was not indicated by the
/// client; a server that sends a 426 (Upgrade Required) response MUST send
/// an Upgrade header field.
pub(super) fn check_upgrade(r: &Response, context: &Context<'_>) -> Option<Result<(), String>> {
    if r.code != 101 && r.code != 426 {
        return None;
    }
    let Some(sent) = r.header("upgrade") else {
        return Some(Err(format!("a {} without an Upgrade header", r.code)));
    };
    if r.code == 426 {
        return Some(Ok(()));
    }
    let offered: Vec<String> = context
        .request
        .map(|request| {
            request_fields(request, "upgrade")
                .flat_map(|v| {
                    v.split(',')
                        .map(|p| p.trim().to_ascii_lowercase())
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .unwrap_or_default();
    let switched: Vec<String> = sent
        .split(',')
        .map(|p| p.trim().to_ascii_lowercase())
        .collect();
    Some(match switched.iter().find(|p| !offered.contains(p)) {
        None => Ok(()),
        Some(other) => Err(format!(
            "101 to \"{other}\", which the request did not offer"
        )),
    })
}

/// RFC 9110 §9.3.8: The final recipient of the request SHOULD exclude any
/// request fields that are likely to contain sensitive data when that
/// recipient generates the response content.
pub(super) fn check_no_credentials_echo(
    r: &Response,
    context: &Context<'_>,
) -> Option<Result<(), String>> {
    let request = context.request?;
    let secrets: Vec<String> = ["authorization", "cookie"]
        .into_iter()
        .flat_map(|name| request_fields(request, name))
        .filter(|v| !v.is_empty())
        .collect();
    if secrets.is_empty() {
        return None;
    }
    let echoed = secrets
        .iter()
        .find(|secret| r.body.windows(secret.len()).any(|w| w == secret.as_bytes()));
    Some(match echoed {
        None => Ok(()),
        Some(secret) => Err(format!("the content repeats \"{secret}\"")),
    })
}

/// RFC 9110 §9.3.8: the final recipient of a TRACE "SHOULD reflect the
/// message received, excluding some fields described below, back to the
/// client as the content of a 200 (OK) response". So a 2xx to TRACE starts
/// its content with the request-line sent; other statuses are not echoes.
pub(super) fn check_trace_echo(r: &Response, context: &Context<'_>) -> Option<Result<(), String>> {
    if !(200..300).contains(&r.code) || r.method.as_deref() != Some("TRACE") {
        return None;
    }
    let request = context.request?;
    let line_end = request.windows(2).position(|w| w == b"\r\n")?;
    let line = &request[..line_end];
    Some(if r.body.starts_with(line) {
        Ok(())
    } else {
        Err(format!(
            "a {} to TRACE whose content does not start with the request-line sent",
            r.code
        ))
    })
}

/// The fields a 304 (RFC 9110 §15.4.5) and a 206 (§15.3.7) MUST carry when
/// the 200 would have.
const CACHE_FIELDS: [&str; 6] = [
    "content-location",
    "date",
    "etag",
    "vary",
    "cache-control",
    "expires",
];

/// RFC 9110 §15.4.5: The server generating a 304 response MUST generate any
/// of the following header fields that would have been sent in a 200 (OK)
/// response to the same request: Content-Location, Date, ETag, and Vary;
/// Cache-Control and Expires (and §15.3.7 the same for a 206).
pub(super) fn check_cache_fields(
    r: &Response,
    context: &Context<'_>,
) -> Option<Result<(), String>> {
    if ![304, 206].contains(&r.code) || context.fields.is_empty() {
        return None;
    }
    let missing: Vec<&str> = CACHE_FIELDS
        .into_iter()
        .filter(|name| context.fields.iter().any(|f| f == name) && r.header(name).is_none())
        .collect();
    Some(if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the control's 200 had {}, this {} does not",
            missing.join(", "),
            r.code
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Check;
    use crate::verdict::check::run_check;
    use crate::verdict::test_support::{check, response, DATE};

    #[test]
    fn control_comparisons_then_against_the_control() {
        let fields = [
            "date".to_string(),
            "etag".to_string(),
            "content-length".to_string(),
        ];
        let context = Context {
            etag: Some("\"v1\""),
            length: Some(14),
            fields: &fields,
            ..Context::default()
        };
        let same = response(
            304,
            &[("Date", DATE), ("ETag", "\"v1\""), ("Content-Length", "14")],
        );
        for c in [
            Check::ControlEtag,
            Check::ControlLength,
            Check::ControlFields,
        ] {
            assert_eq!(run_check(c, &same, &context), Some(Ok(())), "{c}");
        }
        let other = response(
            304,
            &[("ETag", "W/\"v1\""), ("Content-Length", "0"), ("X", "1")],
        );
        for c in [
            Check::ControlEtag,
            Check::ControlLength,
            Check::ControlFields,
        ] {
            assert!(
                matches!(run_check(c, &other, &context), Some(Err(_))),
                "{c}"
            );
        }
        // Nothing known of the control: nothing to compare.
        assert_eq!(check(Check::ControlEtag, &other), None);
    }

    #[test]
    fn upgrade_then_101_names_an_offered_protocol_and_426_carries_one() {
        let request = b"GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c, x-other\r\n\r\n";
        let context = Context {
            request: Some(request),
            ..Context::default()
        };
        let switched = response(101, &[("Upgrade", "h2c")]);
        assert_eq!(run_check(Check::Upgrade, &switched, &context), Some(Ok(())));
        let elsewhere = response(101, &[("Upgrade", "websocket")]);
        assert!(matches!(
            run_check(Check::Upgrade, &elsewhere, &context),
            Some(Err(_))
        ));
        assert!(matches!(
            check(Check::Upgrade, &response(101, &[])),
            Some(Err(_))
        ));
        assert!(matches!(
            check(Check::Upgrade, &response(426, &[])),
            Some(Err(_))
        ));
        assert_eq!(check(Check::Upgrade, &response(200, &[])), None);
    }

    #[test]
    fn credentials_in_the_content_then_no_credentials_echo_broken() {
        let request = b"TRACE / HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n\r\n";
        let context = Context {
            request: Some(request),
            ..Context::default()
        };
        let mut echo = response(200, &[]);
        echo.body = b"TRACE / HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n".to_vec();
        assert!(matches!(
            run_check(Check::NoCredentialsEcho, &echo, &context),
            Some(Err(_))
        ));
        echo.body = b"TRACE / HTTP/1.1\r\n".to_vec();
        assert_eq!(
            run_check(Check::NoCredentialsEcho, &echo, &context),
            Some(Ok(()))
        );
    }

    #[test]
    fn cache_fields_and_304_metadata_then_against_the_control() {
        let fields = ["date".to_string(), "etag".to_string(), "vary".to_string()];
        let context = Context {
            fields: &fields,
            ..Context::default()
        };
        let full = response(
            304,
            &[("Date", DATE), ("ETag", "\"v\""), ("Vary", "Accept")],
        );
        assert_eq!(run_check(Check::CacheFields, &full, &context), Some(Ok(())));
        let bare = response(304, &[("Date", DATE)]);
        assert!(matches!(
            run_check(Check::CacheFields, &bare, &context),
            Some(Err(_))
        ));
        assert_eq!(
            run_check(Check::CacheFields, &response(200, &[]), &context),
            None
        );
        assert_eq!(check(Check::No304Metadata, &full), Some(Ok(())));
        let typed = response(304, &[("Content-Type", "text/plain")]);
        assert!(matches!(check(Check::No304Metadata, &typed), Some(Err(_))));
    }

    #[test]
    fn trace_2xx_then_content_must_start_with_the_request_line() {
        let request = b"TRACE /x HTTP/1.1\r\nHost: a\r\n\r\n";
        let context = Context {
            request: Some(request),
            ..Context::default()
        };
        let mut echo = response(200, &[]);
        echo.method = Some("TRACE".into());
        echo.body = request.to_vec();
        assert_eq!(check_trace_echo(&echo, &context), Some(Ok(())));
        let mut file = echo.clone();
        file.body = b"<html>".to_vec();
        assert_eq!(
            check_trace_echo(&file, &context),
            Some(Err(
                "a 200 to TRACE whose content does not start with the request-line sent".into()
            ))
        );
        let mut refused = file.clone();
        refused.code = 405;
        assert_eq!(check_trace_echo(&refused, &context), None);
    }

    #[test]
    fn error_or_partial_statuses_then_not_compared_with_the_control() {
        let context = Context {
            etag: Some("\"a\""),
            length: Some(447),
            ..Context::default()
        };
        let failed = response(412, &[("Content-Length", "173")]);
        assert_eq!(check_control_length(&failed, &context), None);
        assert_eq!(check_control_etag(&failed, &context), None);
        let partial = response(206, &[("Content-Length", "5"), ("ETag", "\"a\"")]);
        assert_eq!(check_control_length(&partial, &context), None);
        assert_eq!(check_control_etag(&partial, &context), Some(Ok(())));
        let whole = response(200, &[("Content-Length", "5")]);
        assert_eq!(
            check_control_length(&whole, &context),
            Some(Err(
                "Content-Length: 5, where the control's representation is 447 bytes".into()
            ))
        );
    }
}
