//! Conditional requests (RFC 9110 §13): the preconditions of a GET or HEAD,
//! evaluated in the order of §13.2.2, and the If-Range that decides whether
//! a Range is honoured.
//!
//! The caller evaluates them only for a resource it would otherwise answer
//! 2xx. §13.2.1: "A server MUST ignore all received preconditions if its
//! response to the same request without those conditions, prior to
//! processing the request content, would have been a status code other
//! than a 2xx (Successful) or 412 (Precondition Failed)": a 404, 403, 301 or
//! 405 stays what it is.

use std::time::{Duration, SystemTime};

use crate::date::parse_http_date;
use crate::parse::{class, trim_ows, Request};

/// The validators of the selected representation (RFC 9110 §8.8): a file
/// has both; a directory listing, generated anew for every request, has
/// neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validators<'v> {
    /// The `ETag` field value sent with it.
    pub etag: Option<&'v str>,
    /// Its `Last-Modified`, in whole seconds.
    pub modified: Option<SystemTime>,
}

/// What the preconditions of a GET or HEAD decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every precondition holds (or none was sent): answer as usual.
    Proceed,
    /// 304 (Not Modified).
    NotModified,
    /// 412 (Precondition Failed).
    Failed,
}

/// Evaluates If-Match, If-Unmodified-Since, If-None-Match and
/// If-Modified-Since of a GET or HEAD against `current`, in the order of
/// §13.2.2 (steps 1 to 4; If-Range, step 5, is [`if_range`]). `now` is the
/// server's clock, which reads the dates.
pub fn evaluate(request: &Request<'_>, current: &Validators<'_>, now: SystemTime) -> Outcome {
    // Step 1, and step 2 only without If-Match (§13.1.4: "A recipient MUST
    // ignore If-Unmodified-Since if the request contains an If-Match header
    // field").
    if has(request, "If-Match") {
        if !if_match(request, current) {
            return Outcome::Failed;
        }
    } else if let Some(since) = single_date(request, "If-Unmodified-Since", now) {
        // §13.1.4: "If the selected representation's last modification date
        // is earlier than or equal to the date provided in the field value,
        // the condition is true"; without a date the field is ignored.
        if current.modified.is_some_and(|modified| modified > since) {
            return Outcome::Failed;
        }
    }
    // Step 3, and step 4 only without If-None-Match (§13.1.3: "A recipient
    // MUST ignore If-Modified-Since if the request contains an
    // If-None-Match header field").
    if has(request, "If-None-Match") {
        // §13.1.2: "if false for GET/HEAD, respond 304 (Not Modified)".
        if !if_none_match(request, current) {
            return Outcome::NotModified;
        }
    } else if let Some(since) = single_date(request, "If-Modified-Since", now) {
        // §13.1.3: "If the selected representation's last modification
        // date is earlier or equal to the date provided in the field value,
        // the condition is false."
        if current.modified.is_some_and(|modified| modified <= since) {
            return Outcome::NotModified;
        }
    }
    Outcome::Proceed
}

/// Whether the Range of a GET is to be honoured (§13.2.2 step 5): yes
/// without If-Range, else the If-Range condition of §13.1.5.
///
/// ```text
/// If-Range = entity-tag / HTTP-date
/// ```
/// "A valid entity-tag can be distinguished from a valid HTTP-date by
/// examining the first three characters for a DQUOTE." An entity-tag holds
/// when it matches the current one by the strong comparison; a date, when
/// it is valid, exactly the `Last-Modified`, and a strong validator. A
/// value that is neither, or two field lines, is a false condition: the
/// whole file is sent, which is never wrong.
pub fn if_range(request: &Request<'_>, current: &Validators<'_>, now: SystemTime) -> bool {
    let mut values = request.values("If-Range");
    let value = match (values.next(), values.next()) {
        (None, _) => return true,
        (Some(value), None) => value,
        (Some(_), Some(_)) => return false,
    };
    if value.iter().take(3).any(|&b| b == b'"') {
        let current = current
            .etag
            .and_then(|etag| whole_entity_tag(etag.as_bytes()));
        return match (whole_entity_tag(value), current) {
            (Some(tag), Some(current)) => strong_match(tag, current),
            _ => false,
        };
    }
    let Some(date) = parse_http_date(value, now) else {
        return false;
    };
    current
        .modified
        .is_some_and(|modified| modified == date && is_strong_date(modified, now))
}

/// Whether a `Last-Modified` of `modified`, compared by this server with
/// the file's current one, is a strong validator (§8.8.2.2): the server
/// "reliably knows that the associated representation did not change twice
/// during the second covered by the presented validator". That holds once
/// the second is over: a file changed at 12:00:00.2 and again at 12:00:00.7
/// keeps one `Last-Modified` for both versions, so until 12:00:01 the date
/// cannot tell them apart. (§13.1.5 step 1: "If the HTTP-date validator
/// provided is not a strong validator ..., the condition is false.")
fn is_strong_date(modified: SystemTime, now: SystemTime) -> bool {
    modified
        .checked_add(Duration::from_secs(1))
        .is_some_and(|over| over <= now)
}

/// §13.1.1: "If the field value is "*", the condition is true if the
/// origin server has a current representation for the target resource. If
/// the field value is a list of entity tags, the condition is true if any
/// of the listed tags match the entity tag of the selected representation.
/// Otherwise, the condition is false." It "MUST use the strong comparison
/// function". A representation is being selected, so `*` holds.
fn if_match(request: &Request<'_>, current: &Validators<'_>) -> bool {
    let current = current
        .etag
        .and_then(|etag| whole_entity_tag(etag.as_bytes()));
    let matches = |tag: EntityTag<'_>| current.is_some_and(|current| strong_match(tag, current));
    match tag_list(request, "If-Match", matches) {
        TagList::Any => true,
        TagList::Listed { matched } => matched,
        TagList::Invalid => false,
    }
}

/// §13.1.2: "If the field value is "*", the condition is false if the
/// origin server has a current representation for the target resource. If
/// the field value is a list of entity tags, the condition is false if one
/// of the listed tags matches the entity tag of the selected
/// representation. Otherwise, the condition is true." A recipient "MUST use
/// the weak comparison function".
fn if_none_match(request: &Request<'_>, current: &Validators<'_>) -> bool {
    let current = current
        .etag
        .and_then(|etag| whole_entity_tag(etag.as_bytes()));
    let matches = |tag: EntityTag<'_>| current.is_some_and(|current| weak_match(tag, current));
    match tag_list(request, "If-None-Match", matches) {
        TagList::Any => false,
        TagList::Listed { matched } => !matched,
        TagList::Invalid => true,
    }
}

/// The value of If-Match or If-None-Match, read over all its field lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagList {
    /// `*`, alone.
    Any,
    /// A list of entity tags (possibly empty), and whether one matched.
    Listed { matched: bool },
    /// Neither: a member that is not an entity tag, or `*` among others
    /// (§13.1.1: "syntactically invalid").
    Invalid,
}

/// ```text
/// If-Match      = "*" / #entity-tag
/// If-None-Match = "*" / #entity-tag
/// ```
/// over every field line named `name` (several lines are one list, RFC
/// 9110 §5.3). An entity tag may contain a comma, so the list is read tag
/// by tag, not split on commas.
fn tag_list(request: &Request<'_>, name: &str, matches: impl Fn(EntityTag<'_>) -> bool) -> TagList {
    let (mut star, mut members, mut matched) = (false, 0usize, false);
    for value in request.values(name) {
        let mut rest = value;
        loop {
            rest = trim_ows(rest);
            rest = match rest {
                [] => break,
                // RFC 9110 §5.6.1.2: empty list elements are ignored.
                [b',', after @ ..] => {
                    rest = after;
                    continue;
                }
                [b'*', after @ ..] => {
                    star = true;
                    after
                }
                _ => match parse_entity_tag(rest) {
                    Some((tag, after)) => {
                        matched |= matches(tag);
                        after
                    }
                    None => return TagList::Invalid,
                },
            };
            members += 1;
            match trim_ows(rest) {
                [] => break,
                [b',', after @ ..] => rest = after,
                _ => return TagList::Invalid,
            }
        }
    }
    match (star, members) {
        (true, 1) => TagList::Any,
        (true, _) => TagList::Invalid,
        (false, _) => TagList::Listed { matched },
    }
}

/// An entity tag as received; `opaque` keeps its quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EntityTag<'t> {
    weak: bool,
    opaque: &'t [u8],
}

/// `etagc = %x21 / %x23-7E / obs-text` (RFC 9110 §8.8.3).
static ETAGC: [bool; 256] = class(b"\x21", &[(0x23, 0x7e), (0x80, 0xff)]);

/// ```text
/// entity-tag = [ weak ] opaque-tag
/// weak       = %s"W/"
/// opaque-tag = DQUOTE *etagc DQUOTE
/// ```
/// (RFC 9110 §8.8.3) at the start of `b`: the tag and what follows it.
fn parse_entity_tag(b: &[u8]) -> Option<(EntityTag<'_>, &[u8])> {
    let (weak, tag) = match b.strip_prefix(b"W/") {
        Some(tag) => (true, tag),
        None => (false, b),
    };
    let [b'"', inner @ ..] = tag else {
        return None;
    };
    let close = inner.iter().position(|&c| !ETAGC[c as usize])?;
    if inner[close] != b'"' {
        return None;
    }
    let (opaque, after) = tag.split_at(close + 2);
    Some((EntityTag { weak, opaque }, after))
}

/// `b` when it is exactly one entity tag.
fn whole_entity_tag(b: &[u8]) -> Option<EntityTag<'_>> {
    match parse_entity_tag(b)? {
        (tag, []) => Some(tag),
        _ => None,
    }
}

/// §8.8.3.2: "two entity tags are equivalent if both are not weak and
/// their opaque-tags match character-by-character."
fn strong_match(a: EntityTag<'_>, b: EntityTag<'_>) -> bool {
    !a.weak && !b.weak && a.opaque == b.opaque
}

/// §8.8.3.2: "two entity tags are equivalent if their opaque-tags match
/// character-by-character, regardless of either or both being tagged as
/// "weak"."
fn weak_match(a: EntityTag<'_>, b: EntityTag<'_>) -> bool {
    a.opaque == b.opaque
}

fn has(request: &Request<'_>, name: &str) -> bool {
    request.values(name).next().is_some()
}

/// The date of the only field line named `name`, when it is a valid
/// HTTP-date. §13.1.3 and §13.1.4: a recipient "MUST ignore" the field if
/// the value "is not a valid HTTP-date" or "has more than one member" (two
/// field lines are a list of two).
fn single_date(request: &Request<'_>, name: &str, now: SystemTime) -> Option<SystemTime> {
    let mut values = request.values(name);
    match (values.next(), values.next()) {
        (Some(value), None) => parse_http_date(value, now),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_request, Status};
    use std::time::UNIX_EPOCH;

    const ETAG: &str = "\"17-e\"";
    /// `Last-Modified` of the representation: Sun, 06 Nov 1994 08:49:37 GMT.
    const MODIFIED: u64 = 784_111_777;
    const LAST_MODIFIED: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    fn current() -> Validators<'static> {
        Validators {
            etag: Some(ETAG),
            modified: Some(UNIX_EPOCH + Duration::from_secs(MODIFIED)),
        }
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_796_158_800)
    }

    fn with<T>(fields: &str, f: impl FnOnce(&Request<'_>) -> T) -> T {
        let bytes = format!("GET / HTTP/1.1\r\nHost: a\r\n{fields}\r\n");
        match parse_request(bytes.as_bytes()) {
            Ok(Status::Complete((request, _))) => f(&request),
            other => panic!("does not parse: {other:?}"),
        }
    }

    fn outcome(fields: &str) -> Outcome {
        with(fields, |r| evaluate(r, &current(), now()))
    }

    fn listing_outcome(fields: &str) -> Outcome {
        let none = Validators {
            etag: None,
            modified: None,
        };
        with(fields, |r| evaluate(r, &none, now()))
    }

    fn range_holds(fields: &str) -> bool {
        with(fields, |r| if_range(r, &current(), now()))
    }

    #[test]
    fn no_precondition_proceeds() {
        assert_eq!(outcome(""), Outcome::Proceed);
    }

    #[test]
    fn if_match_uses_the_strong_comparison() {
        for (value, expected) in [
            ("*", Outcome::Proceed),
            (ETAG, Outcome::Proceed),
            ("\"x\", \"17-e\"", Outcome::Proceed),
            ("\"x\",\"17-e\"", Outcome::Proceed),
            ("\"x\", , \"17-e\",", Outcome::Proceed),
            ("W/\"17-e\"", Outcome::Failed),
            ("\"x\"", Outcome::Failed),
            ("\"17-E\"", Outcome::Failed),
            ("17-e", Outcome::Failed),
            ("\"17-e", Outcome::Failed),
            ("\"17-e\" \"x\"", Outcome::Failed),
            ("*, \"17-e\"", Outcome::Failed),
            ("*, *", Outcome::Failed),
            ("", Outcome::Failed),
            ("w/\"17-e\"", Outcome::Failed),
        ] {
            let fields = format!("If-Match: {value}\r\n");
            assert_eq!(outcome(&fields), expected, "If-Match: {value}");
        }
        assert_eq!(
            outcome("If-Match: \"x\"\r\nIf-Match: \"17-e\"\r\n"),
            Outcome::Proceed
        );
    }

    #[test]
    fn if_none_match_uses_the_weak_comparison() {
        for (value, expected) in [
            ("*", Outcome::NotModified),
            (ETAG, Outcome::NotModified),
            ("W/\"17-e\"", Outcome::NotModified),
            ("\"x\", W/\"17-e\"", Outcome::NotModified),
            ("\"x\"", Outcome::Proceed),
            ("\"17-e,x\"", Outcome::Proceed),
            ("17-e", Outcome::Proceed),
            ("*, \"17-e\"", Outcome::Proceed),
            ("", Outcome::Proceed),
        ] {
            let fields = format!("If-None-Match: {value}\r\n");
            assert_eq!(outcome(&fields), expected, "If-None-Match: {value}");
        }
    }

    #[test]
    fn entity_tags_may_hold_commas() {
        let current = Validators {
            etag: Some("\"a,b\""),
            modified: None,
        };
        let check = |fields: &str| with(fields, |r| evaluate(r, &current, now()));
        assert_eq!(check("If-Match: \"a,b\"\r\n"), Outcome::Proceed);
        assert_eq!(check("If-Match: \"a\", \"b\"\r\n"), Outcome::Failed);
        assert_eq!(
            check("If-None-Match: \"x\", \"a,b\"\r\n"),
            Outcome::NotModified
        );
    }

    #[test]
    fn if_unmodified_since_compares_with_last_modified() {
        for (value, expected) in [
            (LAST_MODIFIED, Outcome::Proceed),
            ("Sun, 06 Nov 1994 08:49:38 GMT", Outcome::Proceed),
            ("Sun, 06 Nov 1994 08:49:36 GMT", Outcome::Failed),
            ("Sunday, 06-Nov-94 08:49:36 GMT", Outcome::Failed),
            ("Sun Nov  6 08:49:36 1994", Outcome::Failed),
            ("Sun Nov  6 08:49:37 1994", Outcome::Proceed),
            // Not a valid date, or a list of them: ignored.
            ("yesterday", Outcome::Proceed),
            (
                "Sun, 06 Nov 1994 08:49:36 GMT, Sun, 06 Nov 1994 08:49:36 GMT",
                Outcome::Proceed,
            ),
        ] {
            let fields = format!("If-Unmodified-Since: {value}\r\n");
            assert_eq!(outcome(&fields), expected, "If-Unmodified-Since: {value}");
        }
        assert_eq!(
            outcome(
                "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:36 GMT\r\n\
If-Unmodified-Since: Sun, 06 Nov 1994 08:49:36 GMT\r\n"
            ),
            Outcome::Proceed
        );
    }

    #[test]
    fn if_modified_since_compares_with_last_modified() {
        for (value, expected) in [
            (LAST_MODIFIED, Outcome::NotModified),
            ("Fri, 01 Jan 2100 00:00:00 GMT", Outcome::NotModified),
            ("Sunday, 06-Nov-94 08:49:37 GMT", Outcome::NotModified),
            ("Sun Nov  6 08:49:37 1994", Outcome::NotModified),
            ("Sun, 06 Nov 1994 08:49:36 GMT", Outcome::Proceed),
            ("yesterday", Outcome::Proceed),
        ] {
            let fields = format!("If-Modified-Since: {value}\r\n");
            assert_eq!(outcome(&fields), expected, "If-Modified-Since: {value}");
        }
    }

    #[test]
    fn preconditions_come_in_the_order_of_13_2_2() {
        // If-Match decides; If-Unmodified-Since is ignored beside it.
        assert_eq!(
            outcome("If-Match: \"17-e\"\r\nIf-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n"),
            Outcome::Proceed
        );
        // A false If-Match wins over a matching If-None-Match.
        assert_eq!(
            outcome("If-Match: \"x\"\r\nIf-None-Match: *\r\n"),
            Outcome::Failed
        );
        assert_eq!(
            outcome("If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\nIf-None-Match: *\r\n"),
            Outcome::Failed
        );
        // If-None-Match decides; If-Modified-Since is ignored beside it.
        assert_eq!(
            outcome(&format!(
                "If-None-Match: \"x\"\r\nIf-Modified-Since: {LAST_MODIFIED}\r\n"
            )),
            Outcome::Proceed
        );
        assert_eq!(
            outcome(
                "If-None-Match: \"17-e\"\r\nIf-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
            ),
            Outcome::NotModified
        );
    }

    #[test]
    fn a_representation_without_validators_matches_only_star() {
        assert_eq!(listing_outcome("If-Match: *\r\n"), Outcome::Proceed);
        assert_eq!(listing_outcome("If-Match: \"x\"\r\n"), Outcome::Failed);
        assert_eq!(
            listing_outcome("If-None-Match: *\r\n"),
            Outcome::NotModified
        );
        assert_eq!(
            listing_outcome("If-None-Match: \"x\"\r\n"),
            Outcome::Proceed
        );
        // No modification date: both date conditions are ignored.
        assert_eq!(
            listing_outcome("If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n"),
            Outcome::Proceed
        );
        assert_eq!(
            listing_outcome("If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n"),
            Outcome::Proceed
        );
    }

    #[test]
    fn if_range_with_an_entity_tag_uses_the_strong_comparison() {
        assert!(range_holds(""));
        assert!(range_holds("If-Range: \"17-e\"\r\n"));
        assert!(!range_holds("If-Range: W/\"17-e\"\r\n"));
        assert!(!range_holds("If-Range: \"x\"\r\n"));
        assert!(!range_holds("If-Range: \"17-e\", \"x\"\r\n"));
        assert!(!range_holds("If-Range: \"17-e\r\n"));
        assert!(!range_holds("If-Range: \"17-e\"\r\nIf-Range: \"17-e\"\r\n"));
    }

    #[test]
    fn if_range_with_a_date_must_be_exactly_last_modified() {
        assert!(range_holds(&format!("If-Range: {LAST_MODIFIED}\r\n")));
        assert!(range_holds("If-Range: Sunday, 06-Nov-94 08:49:37 GMT\r\n"));
        assert!(!range_holds("If-Range: Sun, 06 Nov 1994 08:49:38 GMT\r\n"));
        assert!(!range_holds("If-Range: Sun, 06 Nov 1994 08:49:36 GMT\r\n"));
        assert!(!range_holds("If-Range: yesterday\r\n"));
        assert!(!range_holds("If-Range: \r\n"));
    }

    #[test]
    fn if_range_date_within_the_second_of_the_change_is_weak() {
        let modified = UNIX_EPOCH + Duration::from_secs(MODIFIED);
        let current = current();
        let at = |now| {
            with(&format!("If-Range: {LAST_MODIFIED}\r\n"), |r| {
                if_range(r, &current, now)
            })
        };
        assert!(!at(modified));
        assert!(!at(modified + Duration::from_millis(999)));
        assert!(at(modified + Duration::from_secs(1)));
    }
}
