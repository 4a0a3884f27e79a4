//! Properties of the parsers on generated input: no bytes panic them, a
//! valid request cut anywhere is `Partial`, a control byte put into a
//! valid request is never accepted, the parts a Range yields lie within the
//! file and cover exactly what was asked, and HTTP-dates read back what
//! was written.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use server::date::parse_http_date;
use server::limits::MAX_RANGES;
use server::parse::{
    parse_chunk_end, parse_chunk_size, parse_request, parse_trailer_section, Field, Parsed,
    Request, Status, Version,
};
use server::range::{parse_range, ByteRange, Ranges};

/// Enough cases to cover the grammar's branches, few enough to run in about
/// a second in a debug build. The fuzz target (`make fuzz`) goes deeper.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

/// `tchar` (RFC 9110 §5.6.2).
const TCHAR: &[u8] =
    b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// The characters `parse_request` admits in a request-target.
const URI_CHAR: &[u8] =
    b"-._~%!$&'()*+,;=:@/?[]0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Bytes a hostile peer is likely to send: the grammar's delimiters, its
/// controls, and a few letters.
const HTTPISH: &[u8] = b"\r\n\t \x00\x01\x7f\xff:;=\"\\/%?#*[]GETHOSTPP1.0";

fn token(max: usize) -> impl Strategy<Value = String> {
    vec(select(TCHAR), 1..=max).prop_map(|b| String::from_utf8(b).unwrap())
}

fn target() -> impl Strategy<Value = String> {
    let path = vec(select(URI_CHAR), 0..40).prop_map(|b| String::from_utf8(b).unwrap());
    prop_oneof![
        4 => path.clone().prop_map(|p| format!("/{p}")),
        1 => path.prop_map(|p| format!("http://localhost:8080/{p}")),
        1 => Just("*".to_owned()),
        1 => Just("example.com:443".to_owned()),
    ]
}

/// `OWS` (RFC 9110 §5.6.3).
fn ows() -> impl Strategy<Value = Vec<u8>> {
    vec(select(&b" \t"[..]), 0..3)
}

/// A field value as sent (`OWS field-value OWS`) and as it must be parsed.
fn field_value() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let content = vec(
        prop_oneof![8 => 0x21u8..=0x7e, 2 => 0x80u8..=0xff, 1 => Just(b' '), 1 => Just(b'\t')],
        0..30,
    );
    (ows(), content, ows()).prop_map(|(before, content, after)| {
        let sent = [&before[..], &content, &after].concat();
        (sent, content.trim_ascii().to_vec())
    })
}

/// A valid request head, the request it must parse to (as owned parts),
/// and bytes that follow it (a body, or the next request).
#[derive(Debug, Clone)]
struct Valid {
    head: Vec<u8>,
    method: String,
    target: String,
    version: Version,
    fields: Vec<(String, Vec<u8>)>,
    after: Vec<u8>,
}

impl Valid {
    fn matches(&self, request: &Request<'_>) -> bool {
        let fields: Vec<Field<'_>> = self
            .fields
            .iter()
            .map(|(name, value)| Field {
                name: name.as_str(),
                value: value.as_slice(),
            })
            .collect();
        request.method == self.method
            && request.target == self.target
            && request.version == self.version
            && request.fields == fields
    }
}

/// ```text
/// HTTP-message = start-line CRLF *( field-line CRLF ) CRLF
/// ```
/// (RFC 9112 §2.1), after the empty lines §2.2 lets a server skip.
fn valid_request() -> impl Strategy<Value = Valid> {
    let fields = vec((token(20), field_value()), 0..8);
    (
        0..3usize,
        token(12),
        target(),
        (0..10u8, 0..10u8),
        fields,
        vec(any::<u8>(), 0..20),
    )
        .prop_map(|(empty, method, target, (major, minor), fields, after)| {
            let mut head = b"\r\n".repeat(empty);
            head.extend_from_slice(
                format!("{method} {target} HTTP/{major}.{minor}\r\n").as_bytes(),
            );
            for (name, (sent, _)) in &fields {
                head.extend_from_slice(name.as_bytes());
                head.push(b':');
                head.extend_from_slice(sent);
                head.extend_from_slice(b"\r\n");
            }
            head.extend_from_slice(b"\r\n");
            Valid {
                head,
                method,
                target,
                version: Version { major, minor },
                fields: fields
                    .into_iter()
                    .map(|(name, (_, parsed))| (name, parsed))
                    .collect(),
                after,
            }
        })
}

/// Arbitrary bytes, bytes from the grammar's alphabet, and valid heads
/// with noise spliced in: each reaches deeper into the parser.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..300),
        vec(select(HTTPISH), 0..300),
        (
            valid_request(),
            vec(any::<u8>(), 0..8),
            any::<prop::sample::Index>()
        )
            .prop_map(|(valid, noise, at)| {
                let mut bytes = valid.head;
                let at = at.index(bytes.len() + 1);
                bytes.splice(at..at, noise);
                bytes
            }),
    ]
}

/// What follows hostile bytes in the checks that an error stays an error.
const CONTINUATION: &[u8] = b"\r\nHost: a\r\n\r\n";

/// The invariants of `parse_request` on any input: a complete head lies
/// within the input, parses alone to the same request, and is `Partial`
/// one byte short; an error stays an error whatever follows.
fn check_request(bytes: &[u8]) -> Result<(), TestCaseError> {
    match parse_request(bytes) {
        Ok(Status::Complete((request, len))) => {
            prop_assert!(len > 0 && len <= bytes.len());
            prop_assert_eq!(
                parse_request(&bytes[..len]),
                Ok(Status::Complete((request, len)))
            );
            prop_assert_eq!(parse_request(&bytes[..len - 1]), Ok(Status::Partial));
        }
        Ok(Status::Partial) => {}
        Err(e) => {
            let more = [bytes, CONTINUATION].concat();
            prop_assert!(parse_request(&more).is_err(), "{:?} became valid", e);
        }
    }
    Ok(())
}

/// The same invariants for the element parsers of a chunked body.
fn check_element<T: PartialEq + std::fmt::Debug>(
    bytes: &[u8],
    parse: fn(&[u8]) -> Parsed<T>,
) -> Result<(), TestCaseError> {
    match parse(bytes) {
        Ok(Status::Complete((value, len))) => {
            prop_assert!(len > 0 && len <= bytes.len());
            prop_assert_eq!(parse(&bytes[..len]), Ok(Status::Complete((value, len))));
            prop_assert_eq!(parse(&bytes[..len - 1]), Ok(Status::Partial));
        }
        Ok(Status::Partial) => {}
        Err(e) => {
            let more = [bytes, CONTINUATION].concat();
            prop_assert!(parse(&more).is_err(), "{:?} became valid", e);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic_the_parsers(bytes in hostile_bytes()) {
        check_request(&bytes)?;
        check_element(&bytes, parse_chunk_size)?;
        check_element(&bytes, parse_trailer_section)?;
        check_element(&bytes, parse_chunk_end)?;
    }

    #[test]
    fn every_prefix_of_a_valid_request_is_partial(valid in valid_request()) {
        for len in 0..valid.head.len() {
            let parsed = parse_request(&valid.head[..len]);
            prop_assert!(
                matches!(parsed, Ok(Status::Partial)),
                "prefix of {} bytes: {:?}", len, parsed
            );
        }
        let bytes = [&valid.head[..], &valid.after].concat();
        match parse_request(&bytes) {
            Ok(Status::Complete((request, len))) => {
                prop_assert_eq!(len, valid.head.len());
                prop_assert!(valid.matches(&request), "{:?}", request);
            }
            other => prop_assert!(false, "not complete: {:?}", other),
        }
    }

    #[test]
    fn a_control_byte_in_a_valid_request_is_rejected(
        valid in valid_request(),
        at in any::<prop::sample::Index>(),
        // Every CTL but HTAB, which field values may contain: NUL, bare
        // CR, bare LF and the rest (RFC 9112 §2.2, RFC 9110 §5.5).
        ctl in prop_oneof![0x00u8..=0x08, 0x0au8..=0x1f, Just(0x7fu8)],
    ) {
        let at = at.index(valid.head.len());
        prop_assume!(valid.head[at] != ctl);
        let mut bytes = valid.head.clone();
        bytes[at] = ctl;
        bytes.extend_from_slice(&valid.after);
        // Not merely "not accepted with different content": with one byte
        // of the head a control, no reading of it is valid.
        prop_assert!(
            parse_request(&bytes).is_err(),
            "{:?} at {} accepted as {:?}",
            ctl,
            at,
            parse_request(&bytes)
        );
    }

    #[test]
    fn every_prefix_of_a_valid_chunk_size_line_is_partial(
        size in 0u64..(1 << 60),
        upper in any::<bool>(),
        exts in vec((ows(), token(8), prop::option::of((ows(), prop_oneof![
            token(8),
            vec(prop_oneof![0x20u8..=0x7e, 0x80u8..=0xff], 0..8).prop_map(|b| {
                let mut q = String::from("\"");
                for c in String::from_utf8_lossy(&b).chars() {
                    if c == '"' || c == '\\' {
                        q.push('\\');
                    }
                    q.push(c);
                }
                q.push('"');
                q
            }),
        ]))), 0..3),
    ) {
        // chunk = chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1, §7.1.1).
        let mut line = if upper { format!("{size:X}") } else { format!("{size:x}") }.into_bytes();
        for (bws, name, value) in exts {
            line.extend_from_slice(&bws);
            line.push(b';');
            line.extend_from_slice(&bws);
            line.extend_from_slice(name.as_bytes());
            if let Some((bws, value)) = value {
                line.extend_from_slice(&bws);
                line.push(b'=');
                line.extend_from_slice(&bws);
                line.extend_from_slice(value.as_bytes());
            }
        }
        line.extend_from_slice(b"\r\n");
        for len in 0..line.len() {
            prop_assert_eq!(parse_chunk_size(&line[..len]), Ok(Status::Partial), "{}", len);
        }
        line.extend_from_slice(b"data");
        prop_assert_eq!(parse_chunk_size(&line), Ok(Status::Complete((size, line.len() - 4))));
    }

    #[test]
    fn every_prefix_of_a_valid_trailer_section_is_partial(
        fields in vec((token(20), field_value()), 0..5),
    ) {
        let mut section = Vec::new();
        for (name, (sent, _)) in &fields {
            section.extend_from_slice(name.as_bytes());
            section.push(b':');
            section.extend_from_slice(sent);
            section.extend_from_slice(b"\r\n");
        }
        section.extend_from_slice(b"\r\n");
        for len in 0..section.len() {
            prop_assert_eq!(parse_trailer_section(&section[..len]), Ok(Status::Partial));
        }
        prop_assert_eq!(parse_trailer_section(&section), Ok(Status::Complete(((), section.len()))));
    }
}

/// A decimal numeral: small, any u64, or longer than any u64.
fn numeral() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0u64..80).prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => vec(select(&b"0123456789"[..]), 19..40).prop_map(|d| String::from_utf8(d).unwrap()),
    ]
}

/// A range-spec as sent: `first-last`, `first-`, `-suffix`, or noise.
fn range_spec() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (numeral(), numeral()).prop_map(|(a, b)| format!("{a}-{b}")),
        1 => numeral().prop_map(|a| format!("{a}-")),
        2 => numeral().prop_map(|n| format!("-{n}")),
        1 => vec(select(&b"0123456789-=, \tabx"[..]), 0..6)
            .prop_map(|b| String::from_utf8(b).unwrap()),
    ]
}

/// A Range field value: a unit, `=`, and a list of specs with OWS.
fn range_value() -> impl Strategy<Value = String> {
    let unit = select(vec!["bytes", "Bytes", "pages", "", "bytes "]);
    (
        unit,
        vec(
            (range_spec(), select(vec![",", ", ", " ,", ",,"])),
            0..(MAX_RANGES + 4),
        ),
    )
        .prop_map(|(unit, specs)| {
            let set: String = specs
                .iter()
                .map(|(spec, sep)| format!("{spec}{sep}"))
                .collect();
            format!("{unit}={set}")
        })
}

/// The octets of a file of `length` that `value`, a list of valid specs,
/// names: what the parts of a 206 must cover exactly.
fn named_octets(specs: &[(u64, Option<u64>, bool)], length: u64) -> Vec<bool> {
    let mut named = vec![false; length as usize];
    for &(a, b, suffix) in specs {
        let (first, last) = if suffix {
            (
                length.saturating_sub(a),
                if a == 0 { None } else { Some(length - 1) },
            )
        } else {
            (a, Some(b.map_or(length - 1, |b| b.min(length - 1))))
        };
        if let Some(last) = last.filter(|_| first < length) {
            for octet in &mut named[first as usize..=last as usize] {
                *octet = true;
            }
        }
    }
    named
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_range_value_yields_parts_within_the_file(
        value in range_value(),
        length in prop_oneof![0u64..100, any::<u64>()],
    ) {
        if let Ranges::Satisfiable(parts) = parse_range(value.as_bytes(), length) {
            prop_assert!(!parts.is_empty() && parts.len() <= MAX_RANGES);
            for (i, part) in parts.iter().enumerate() {
                prop_assert!(part.first <= part.last && part.last < length, "{:?}", part);
                for other in &parts[i + 1..] {
                    // Disjoint and not adjacent: merged otherwise.
                    prop_assert!(
                        part.last.saturating_add(1) < other.first
                            || other.last.saturating_add(1) < part.first,
                        "{:?} and {:?}", part, other
                    );
                }
            }
        }
    }

    #[test]
    fn parts_cover_exactly_the_octets_asked_for(
        specs in vec((0u64..40, prop::option::of(0u64..40), any::<bool>()), 1..8),
        length in 1u64..40,
    ) {
        // Only valid specs: last-pos not below first-pos.
        let specs: Vec<_> = specs
            .into_iter()
            .map(|(a, b, suffix)| (a, b.map(|b| b.max(a)), suffix))
            .collect();
        let value = format!(
            "bytes={}",
            specs
                .iter()
                .map(|&(a, b, suffix)| if suffix {
                    format!("-{a}")
                } else {
                    format!("{a}-{}", b.map(|b| b.to_string()).unwrap_or_default())
                })
                .collect::<Vec<_>>()
                .join(",")
        );
        let named = named_octets(&specs, length);
        let mut covered = vec![false; length as usize];
        match parse_range(value.as_bytes(), length) {
            Ranges::Satisfiable(parts) => {
                for ByteRange { first, last } in parts {
                    for octet in &mut covered[first as usize..=last as usize] {
                        prop_assert!(!*octet, "an octet sent twice for {}", value);
                        *octet = true;
                    }
                }
                prop_assert_eq!(covered, named, "{}", value);
            }
            Ranges::Unsatisfiable => prop_assert!(named.iter().all(|n| !n), "{}", value),
            Ranges::Ignored => prop_assert!(false, "{} ignored", value),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_date_parser(
        bytes in prop_oneof![
            vec(any::<u8>(), 0..40),
            vec(select(&b"SunMonday, 0123456789-:NovJan GMT"[..]), 20..32),
        ],
        now in any::<u64>(),
    ) {
        let now = UNIX_EPOCH.checked_add(Duration::from_secs(now >> 8)).unwrap_or(UNIX_EPOCH);
        let _ = parse_http_date(&bytes, now);
    }

    #[test]
    fn imf_fixdate_reads_back_what_was_written(seconds in 0u64..253_402_300_799) {
        let time = UNIX_EPOCH + Duration::from_secs(seconds);
        let written = httpdate::fmt_http_date(time);
        prop_assert_eq!(parse_http_date(written.as_bytes(), SystemTime::now()), Some(time));
    }

    /// RFC 9110 §5.6.7: a two-digit year names the year with those digits
    /// that is no more than 50 years ahead of the clock, and less than 50
    /// behind it. (Further off, the day-name rarely fits the century chosen;
    /// the boundaries are unit tests of `server::date`.)
    #[test]
    fn rfc850_date_within_49_years_of_the_clock_reads_back(
        seconds in 31_536_000u64..253_402_300_799,
        offset in -(49 * 365 * 86_400i64)..(49 * 365 * 86_400),
    ) {
        let time = UNIX_EPOCH + Duration::from_secs(seconds);
        let shift = Duration::from_secs(offset.unsigned_abs());
        let now = if offset >= 0 { time + shift } else { time - shift };
        let imf = httpdate::fmt_http_date(time);
        // `Sun, 06 Nov 1994 08:49:37 GMT` as `Sunday, 06-Nov-94 08:49:37 GMT`.
        let day = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
            .into_iter()
            .find(|d| d.starts_with(&imf[..3]))
            .unwrap();
        let rfc850 = format!("{day}, {}-{}-{} {}", &imf[5..7], &imf[8..11], &imf[14..16], &imf[17..]);
        prop_assert_eq!(parse_http_date(rfc850.as_bytes(), now), Some(time), "{}", rfc850);
    }
}
