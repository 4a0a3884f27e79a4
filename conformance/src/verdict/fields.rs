//! The checks on a response's header fields, each read on its own (RFC
//! 9110 §6.6.1, §8, §9.3.7, §15): the fields a response of its kind should
//! carry, and their values.

use crate::date::{imf_fixdate_seconds, is_imf_fixdate};
use crate::wire::Response;

/// How far `Date` may be from the client's clock for `date-now`: generous
/// for a loaded CI machine, tight enough to catch a stale cached Date.
const DATE_SLACK_SECONDS: u64 = 10;

/// The field is absent.
pub(super) fn absent(r: &Response, name: &str) -> Result<(), String> {
    match r.header(name) {
        None => Ok(()),
        Some(value) => Err(format!("{name}: {value}")),
    }
}

/// RFC 9110 §9.3.7: A server generating a successful response to OPTIONS
/// SHOULD send any header that might indicate optional features implemented
/// by the server and applicable to the target resource (e.g., Allow).
pub(super) fn check_options_allow(r: &Response) -> Option<Result<(), String>> {
    if r.method.as_deref() != Some("OPTIONS") || !(200..300).contains(&r.code) {
        return None;
    }
    Some(match r.header("allow") {
        Some(_) => Ok(()),
        None => Err(format!("{} to OPTIONS without an Allow header", r.code)),
    })
}

/// RFC 9110 §15.4.2 (and §15.4.3, §15.4.8, §15.4.9): the server SHOULD
/// generate a Location header field in the response.
pub(super) fn check_location(r: &Response) -> Option<Result<(), String>> {
    if ![301, 302, 303, 307, 308].contains(&r.code) {
        return None;
    }
    Some(match r.header("location") {
        Some(value) if !value.is_empty() => Ok(()),
        _ => Err(format!("{} without a Location", r.code)),
    })
}

/// RFC 9110 §8.8.2.1: An origin server with a clock … MUST NOT generate a
/// Last-Modified date that is later than the server's time of message
/// origination (Date).
pub(super) fn check_last_modified(r: &Response) -> Option<Result<(), String>> {
    let modified = r.header("last-modified")?;
    let date = imf_fixdate_seconds(r.header("date")?)?;
    Some(match imf_fixdate_seconds(modified) {
        Some(m) if m <= date => Ok(()),
        Some(_) => Err(format!("Last-Modified {modified} is later than Date")),
        None => Err(format!(
            "Last-Modified \"{modified}\" is not an IMF-fixdate"
        )),
    })
}

/// RFC 9110 §8.3: A sender that generates a message containing content
/// SHOULD generate a Content-Type header field in that message.
pub(super) fn check_content_type(r: &Response) -> Option<Result<(), String>> {
    if r.body_len == 0 {
        return None;
    }
    Some(match r.header("content-type") {
        Some(_) => Ok(()),
        None => Err(format!(
            "{} bytes of content without a Content-Type",
            r.body_len
        )),
    })
}

/// RFC 9110 §8.8.2.1 and §8.8.3.1: an origin server SHOULD send
/// Last-Modified and an ETag where they can be reasonably and consistently
/// determined, as for a static file.
pub(super) fn check_validators(r: &Response) -> Option<Result<(), String>> {
    if !(200..300).contains(&r.code) {
        return None;
    }
    let missing: Vec<&str> = ["ETag", "Last-Modified"]
        .into_iter()
        .filter(|name| r.header(name).is_none())
        .collect();
    Some(if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("no {}", missing.join(", no ")))
    })
}

/// RFC 9110 §15.5 and §15.6: Except when responding to a HEAD request, the
/// server SHOULD send a representation containing an explanation of the
/// error situation.
pub(super) fn check_error_body(r: &Response) -> Option<Result<(), String>> {
    if r.code < 400 || r.method.as_deref() == Some("HEAD") {
        return None;
    }
    Some(if r.body_len > 0 {
        Ok(())
    } else {
        Err(format!("a {} with no content to explain it", r.code))
    })
}

/// RFC 9110 §6.6.1: A sender that generates a Date header field SHOULD
/// generate its field value as the best available approximation of the date
/// and time of message generation.
pub(super) fn check_date_now(r: &Response) -> Option<Result<(), String>> {
    let date = imf_fixdate_seconds(r.header("date")?)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(if date.abs_diff(now) <= DATE_SLACK_SECONDS {
        Ok(())
    } else {
        Err(format!(
            "Date is {} s from this client's clock",
            date.abs_diff(now)
        ))
    })
}

/// RFC 9110 §15.4.5: a sender SHOULD NOT generate representation metadata
/// other than the above listed fields unless said metadata exists for the
/// purpose of guiding cache updates.
pub(super) fn check_no_304_metadata(r: &Response) -> Option<Result<(), String>> {
    if r.code != 304 {
        return None;
    }
    let present: Vec<&str> = ["Content-Type", "Content-Encoding", "Content-Language"]
        .into_iter()
        .filter(|name| r.header(name).is_some())
        .collect();
    Some(if present.is_empty() {
        Ok(())
    } else {
        Err(format!("a 304 with {}", present.join(", ")))
    })
}

/// RFC 9110 §6.6.1: an origin server with a clock MUST generate a Date
/// header field in all 2xx, 3xx and 4xx responses (it MAY in 1xx and 5xx,
/// so those are not checked); RFC 9110 §5.6.7: a sender MUST generate it in
/// IMF-fixdate. Date is a singleton field, so exactly one.
pub(super) fn check_date(r: &Response) -> Option<Result<(), String>> {
    if !(200..500).contains(&r.code) {
        return None;
    }
    let dates: Vec<&str> = r.header_values("date").collect();
    Some(match dates.as_slice() {
        [] => Err("no Date header".into()),
        [date] if is_imf_fixdate(date) => Ok(()),
        [date] => Err(format!("Date \"{date}\" is not an IMF-fixdate")),
        many => Err(format!("{} Date headers", many.len())),
    })
}

/// RFC 9110 §15.5.6: The origin server MUST generate an Allow header field
/// in a 405 response containing a list of the target resource's currently
/// supported methods. So the list is one of method tokens (§10.2.1:
/// `#method`, empty allowed), and the refused method is not on it.
pub(super) fn check_allow(r: &Response) -> Option<Result<(), String>> {
    if r.code != 405 {
        return None;
    }
    let values: Vec<&str> = r.header_values("allow").collect();
    if values.is_empty() {
        return Some(Err("405 without an Allow header".into()));
    }
    let methods: Vec<&str> = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect();
    if let Some(bad) = methods.iter().find(|m| !m.bytes().all(is_tchar)) {
        return Some(Err(format!("Allow lists \"{bad}\", which is not a method")));
    }
    Some(match &r.method {
        Some(refused) if methods.contains(&refused.as_str()) => {
            Err(format!("Allow lists {refused}, the method the 405 refused"))
        }
        _ => Ok(()),
    })
}

/// RFC 9110 §5.6.2: tchar, the characters of a token.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use crate::case::Check;
    use crate::verdict::test_support::{check, response, DATE};

    #[test]
    fn date_rules_then_by_status_class() {
        let run = |code, headers: &[(&str, &str)]| check(Check::Date, &response(code, headers));
        assert_eq!(run(200, &[("Date", DATE)]), Some(Ok(())));
        assert!(matches!(run(200, &[]), Some(Err(_))));
        assert!(matches!(run(304, &[]), Some(Err(_))));
        assert!(matches!(run(404, &[]), Some(Err(_))));
        assert_eq!(run(500, &[]), None);
        assert_eq!(run(100, &[]), None);
        assert_eq!(run(503, &[("Date", "yesterday")]), None);
        assert!(matches!(
            run(200, &[("date", "Sunday, 06-Nov-94 08:49:37 GMT")]),
            Some(Err(_))
        ));
        assert!(matches!(
            run(200, &[("Date", DATE), ("Date", DATE)]),
            Some(Err(_))
        ));
    }

    #[test]
    fn allow_rules_then_only_for_405() {
        assert_eq!(check(Check::Allow, &response(400, &[])), None);
        assert!(matches!(
            check(Check::Allow, &response(405, &[])),
            Some(Err(_))
        ));
        let mut r = response(405, &[("Allow", "GET, HEAD")]);
        r.method = Some("POST".into());
        assert_eq!(check(Check::Allow, &r), Some(Ok(())));
        r.headers[0].1 = "GET, HEAD, POST".into();
        assert!(matches!(check(Check::Allow, &r), Some(Err(_))));
        r.headers[0].1 = "GET HEAD".into();
        assert!(matches!(check(Check::Allow, &r), Some(Err(_))));
        r.headers[0].1 = String::new();
        assert_eq!(check(Check::Allow, &r), Some(Ok(())));
    }

    #[test]
    fn options_allow_and_location_then_only_where_they_apply() {
        let mut r = response(200, &[]);
        assert_eq!(check(Check::OptionsAllow, &r), None);
        r.method = Some("OPTIONS".into());
        assert!(matches!(check(Check::OptionsAllow, &r), Some(Err(_))));
        r.headers.push(("Allow".into(), "GET".into()));
        assert_eq!(check(Check::OptionsAllow, &r), Some(Ok(())));
        assert_eq!(check(Check::Location, &response(200, &[])), None);
        assert!(matches!(
            check(Check::Location, &response(301, &[])),
            Some(Err(_))
        ));
        let moved = response(308, &[("Location", "/docs/")]);
        assert_eq!(check(Check::Location, &moved), Some(Ok(())));
    }

    #[test]
    fn last_modified_after_date_then_broken() {
        let ok = response(
            200,
            &[
                ("Date", DATE),
                ("Last-Modified", "Sat, 05 Nov 1994 08:49:37 GMT"),
            ],
        );
        assert_eq!(check(Check::LastModified, &ok), Some(Ok(())));
        let later = response(
            200,
            &[
                ("Date", DATE),
                ("Last-Modified", "Mon, 07 Nov 1994 08:49:37 GMT"),
            ],
        );
        assert!(matches!(check(Check::LastModified, &later), Some(Err(_))));
        assert_eq!(check(Check::LastModified, &response(200, &[])), None);
    }

    #[test]
    fn content_type_validators_error_body_then_should_checks() {
        let mut r = response(200, &[]);
        assert_eq!(check(Check::ContentType, &r), None);
        r.body_len = 3;
        assert!(matches!(check(Check::ContentType, &r), Some(Err(_))));
        assert!(matches!(check(Check::Validators, &r), Some(Err(_))));
        let v = response(200, &[("ETag", "\"x\""), ("Last-Modified", DATE)]);
        assert_eq!(check(Check::Validators, &v), Some(Ok(())));
        assert!(matches!(
            check(Check::ErrorBody, &response(404, &[])),
            Some(Err(_))
        ));
        let mut head = response(404, &[]);
        head.method = Some("HEAD".into());
        assert_eq!(check(Check::ErrorBody, &head), None);
    }

    #[test]
    fn date_now_then_far_dates_broken() {
        let now = crate::date::format_imf_fixdate(std::time::SystemTime::now());
        assert_eq!(
            check(Check::DateNow, &response(200, &[("Date", &now)])),
            Some(Ok(()))
        );
        assert!(matches!(
            check(Check::DateNow, &response(200, &[("Date", DATE)])),
            Some(Err(_))
        ));
    }
}
