//! Byte ranges (RFC 9110 §14): the `Range` of a GET read as the parts of a
//! file of known length, and the `multipart/byteranges` layout of a 206
//! with several parts (§14.6, §15.3.7.2).
//!
//! Several ranges are sent as several parts, in the order they were asked
//! for; ranges that overlap or touch are first merged into one (§15.3.7.2:
//! "a server MAY coalesce any of the ranges that overlap"), so no octet is
//! sent twice and a response is never larger than the file plus the part
//! heads. When one range remains, the 206 is a single part.

use std::cmp::Ordering;

use crate::limits::MAX_RANGES;
use crate::parse::trim_ows;

/// Octets `first` to `last` of a representation, both inclusive; `last` is
/// below the representation's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// The offset of the first octet.
    pub first: u64,
    /// The offset of the last octet, below the representation's length.
    pub last: u64,
}

impl ByteRange {
    /// How many octets the range holds (at least one).
    pub fn size(self) -> u64 {
        self.last - self.first + 1
    }
}

/// What a `Range` header asks of a representation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ranges {
    /// Not a valid `bytes` ranges-specifier, more than `MAX_RANGES` ranges,
    /// or an empty representation: the header is ignored (200).
    Ignored,
    /// Valid, but no range is satisfiable (416).
    Unsatisfiable,
    /// The parts to send (206): disjoint, not adjacent, in the order they
    /// were first asked for.
    Satisfiable(Vec<ByteRange>),
}

/// One range-spec of the `bytes` unit, its numbers as the digits sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeSpec<'s> {
    /// `first-pos "-" [ last-pos ]`
    Int {
        first: &'s [u8],
        last: Option<&'s [u8]>,
    },
    /// `"-" suffix-length`
    Suffix(&'s [u8]),
}

/// ```text
/// Range            = ranges-specifier
/// ranges-specifier = range-unit "=" range-set
/// range-unit       = token
/// range-set        = 1#range-spec
/// ```
/// (RFC 9110 §14.1.1, §14.2), read against a representation of `length`
/// octets.
pub fn parse_range(value: &[u8], length: u64) -> Ranges {
    let Some(eq) = value.iter().position(|&b| b == b'=') else {
        return Ranges::Ignored;
    };
    // §14.2: "An origin server MUST ignore a Range header field that
    // contains a range unit it does not understand." §14.1: "All range unit
    // names are case-insensitive".
    if !value[..eq].eq_ignore_ascii_case(b"bytes") {
        return Ranges::Ignored;
    }
    // §14.2: "A server that supports range requests MAY ignore a Range
    // header field when the selected representation has no content"; no
    // byte of it could be named in a Content-Range.
    if length == 0 {
        return Ranges::Ignored;
    }
    let mut specs = 0;
    let mut satisfiable = Vec::new();
    for element in value[eq + 1..].split(|&b| b == b',') {
        let element = trim_ows(element);
        // RFC 9110 §5.6.1.2: "a recipient MUST parse and ignore a
        // reasonable number of empty list elements".
        if element.is_empty() {
            continue;
        }
        specs += 1;
        if specs > MAX_RANGES {
            return Ranges::Ignored;
        }
        // §14.1.1: "A ranges-specifier is invalid if it contains any
        // range-spec that is invalid or undefined for the indicated
        // range-unit."
        let Some(spec) = parse_range_spec(element) else {
            return Ranges::Ignored;
        };
        if let Some(range) = resolve(spec, length) {
            satisfiable.push(range);
        }
    }
    match (specs, satisfiable.is_empty()) {
        // `1#range-spec`: at least one.
        (0, _) => Ranges::Ignored,
        (_, true) => Ranges::Unsatisfiable,
        (_, false) => Ranges::Satisfiable(coalesce(satisfiable)),
    }
}

/// ```text
/// range-spec    = int-range / suffix-range / other-range
/// int-range     = first-pos "-" [ last-pos ]
/// first-pos     = 1*DIGIT
/// last-pos      = 1*DIGIT
/// suffix-range  = "-" suffix-length
/// suffix-length = 1*DIGIT
/// ```
/// (§14.1.1). "Byte ranges do not use the other-range specifier"
/// (§14.1.2), so anything else is invalid, and "An int-range is invalid if
/// the last-pos value is present and less than the first-pos" — compared
/// as the digits were sent, whatever their size.
fn parse_range_spec(spec: &[u8]) -> Option<RangeSpec<'_>> {
    let dash = spec.iter().position(|&b| b == b'-')?;
    let (first, last) = (&spec[..dash], &spec[dash + 1..]);
    if first.is_empty() {
        return is_digits(last).then_some(RangeSpec::Suffix(last));
    }
    if !is_digits(first) {
        return None;
    }
    match last {
        [] => Some(RangeSpec::Int { first, last: None }),
        last if is_digits(last) && compare_decimals(first, last) != Ordering::Greater => {
            Some(RangeSpec::Int {
                first,
                last: Some(last),
            })
        }
        _ => None,
    }
}

/// The octets `spec` names in a representation of `length` (> 0) octets,
/// or `None` when it is not satisfiable.
///
/// §14.1.2: a range-spec is satisfiable if it is "an int-range with a
/// first-pos that is less than the current length of the selected
/// representation or a suffix-range with a non-zero suffix-length", and
/// recipients "MUST anticipate potentially large decimal numerals and
/// prevent parsing errors due to integer conversion overflows". Numbers
/// saturate at `u64::MAX`, past the end of any file: a first-pos that
/// large is unsatisfiable, a last-pos or suffix-length that large reaches
/// the end or the start.
fn resolve(spec: RangeSpec<'_>, length: u64) -> Option<ByteRange> {
    let end = length - 1;
    match spec {
        RangeSpec::Int { first, last } => {
            let first = decimal(first);
            // "If the last-pos value is absent, or if the value is greater
            // than or equal to the current length of the representation
            // data, the byte range is interpreted as the remainder".
            let last = last.map_or(end, |last| decimal(last).min(end));
            (first < length).then_some(ByteRange { first, last })
        }
        RangeSpec::Suffix(suffix) => match decimal(suffix) {
            0 => None,
            // "If the selected representation is shorter than the
            // specified suffix-length, the entire representation is used."
            n => Some(ByteRange {
                first: length - n.min(length),
                last: end,
            }),
        },
    }
}

/// Merges the ranges that overlap or touch, keeping the order in which
/// each merged range was first asked for (§15.3.7.2: parts "SHOULD" come
/// "in the same order that the corresponding range-spec appeared ...
/// excluding those ranges that ... were coalesced into other ranges").
///
/// The kept ranges never touch one another, so a new range that touches
/// several joins them all into the first, and nothing else can touch the
/// result: one pass suffices.
fn coalesce(ranges: Vec<ByteRange>) -> Vec<ByteRange> {
    let mut kept: Vec<ByteRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        let touching: Vec<usize> = (0..kept.len())
            .filter(|&i| touches(kept[i], range))
            .collect();
        let Some((&at, rest)) = touching.split_first() else {
            kept.push(range);
            continue;
        };
        kept[at] = touching.iter().fold(range, |hull, &i| ByteRange {
            first: hull.first.min(kept[i].first),
            last: hull.last.max(kept[i].last),
        });
        for &i in rest.iter().rev() {
            kept.remove(i);
        }
    }
    kept
}

/// Whether `a` and `b` overlap or are adjacent.
fn touches(a: ByteRange, b: ByteRange) -> bool {
    a.first <= b.last.saturating_add(1) && b.first <= a.last.saturating_add(1)
}

/// `1*DIGIT` (already checked) as a u64, saturating at `u64::MAX`.
fn decimal(digits: &[u8]) -> u64 {
    digits.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    })
}

fn is_digits(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit)
}

/// Compares two runs of decimal digits as the numbers they write.
fn compare_decimals(a: &[u8], b: &[u8]) -> Ordering {
    let significant = |d: &[u8]| {
        let zeros = d.iter().take_while(|&&c| c == b'0').count();
        d[zeros..].to_vec()
    };
    let (a, b) = (significant(a), significant(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(&b))
}

/// `Content-Range: bytes first-last/length` of one part (§14.4).
pub(crate) fn content_range(range: ByteRange, length: u64) -> String {
    format!("bytes {}-{}/{length}", range.first, range.last)
}

/// `Content-Range: bytes */length` of a 416 (§14.4: "A server generating a
/// 416 (Range Not Satisfiable) response to a byte-range request SHOULD send
/// a Content-Range header field with an unsatisfied-range value").
pub(crate) fn unsatisfied_range(length: u64) -> String {
    format!("bytes */{length}")
}

/// The `multipart/byteranges` content of a 206 with several parts
/// (§14.6, RFC 2046 §5.1.1), around the octets of each part:
///
/// ```text
/// --BOUNDARY CRLF Content-Type: … CRLF Content-Range: … CRLF CRLF <part 1>
/// CRLF --BOUNDARY CRLF … CRLF CRLF <part 2>
/// CRLF --BOUNDARY-- CRLF
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Multipart {
    /// The response's `Content-Type`, with the boundary.
    pub content_type: String,
    /// What precedes each part: its delimiter and its head.
    pub part_heads: Vec<Vec<u8>>,
    /// What follows the last part: the close delimiter.
    pub tail: Vec<u8>,
}

impl Multipart {
    /// The layout of `parts` of a representation of `length` octets whose
    /// own type is `content_type`.
    ///
    /// §15.3.7.2: each part "MUST" have a Content-Range, and "SHOULD" have
    /// the Content-Type a 200 would have had; the response itself "MUST
    /// NOT" have a Content-Range.
    pub fn new(parts: &[ByteRange], length: u64, content_type: &str) -> Multipart {
        let boundary = boundary(parts, length);
        let part_heads = parts
            .iter()
            .enumerate()
            .map(|(i, &part)| {
                let before = if i == 0 { "" } else { "\r\n" };
                format!(
                    "{before}--{boundary}\r\nContent-Type: {content_type}\r\n\
Content-Range: {}\r\n\r\n",
                    content_range(part, length)
                )
                .into_bytes()
            })
            .collect();
        Multipart {
            content_type: format!("multipart/byteranges; boundary={boundary}"),
            part_heads,
            tail: format!("\r\n--{boundary}--\r\n").into_bytes(),
        }
    }
}

/// A boundary for these parts: a hash of the ranges and the length, so the
/// same request gets the same response. RFC 2046 §5.1.1 has the boundary
/// not occur in the parts; like any fixed choice, one could be contrived
/// that does, but 64 bits that depend on the request make that a file
/// written against this server, not an accident.
fn boundary(parts: &[ByteRange], length: u64) -> String {
    /// FNV-1a, 64 bits.
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let numbers = std::iter::once(length).chain(parts.iter().flat_map(|p| [p.first, p.last]));
    let hash = numbers
        .flat_map(u64::to_be_bytes)
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    format!("byteranges-{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(first: u64, last: u64) -> ByteRange {
        ByteRange { first, last }
    }

    fn parts(value: &str, length: u64) -> Vec<(u64, u64)> {
        match parse_range(value.as_bytes(), length) {
            Ranges::Satisfiable(parts) => parts.iter().map(|r| (r.first, r.last)).collect(),
            other => panic!("{value:?} of {length}: {other:?}"),
        }
    }

    #[test]
    fn one_range_of_each_form() {
        for (value, expected) in [
            ("bytes=0-4", (0, 4)),
            ("bytes=7-", (7, 13)),
            ("bytes=-7", (7, 13)),
            ("bytes=-100", (0, 13)),
            ("bytes=7-1000", (7, 13)),
            ("bytes=13-13", (13, 13)),
            ("bytes=0-0", (0, 0)),
            ("bytes=00-0004", (0, 4)),
            ("Bytes=0-4", (0, 4)),
            ("BYTES=0-4", (0, 4)),
            ("bytes= 0-4 ", (0, 4)),
            ("bytes=0-4,", (0, 4)),
            ("bytes=,0-4", (0, 4)),
        ] {
            assert_eq!(parts(value, 14), vec![expected], "{value:?}");
        }
    }

    #[test]
    fn numbers_too_large_for_u64_saturate() {
        assert_eq!(parts("bytes=0-99999999999999999999999", 14), vec![(0, 13)]);
        assert_eq!(parts("bytes=-99999999999999999999999", 14), vec![(0, 13)]);
        assert_eq!(
            parse_range(b"bytes=99999999999999999999-", 14),
            Ranges::Unsatisfiable
        );
        assert_eq!(
            parse_range(b"bytes=18446744073709551615-18446744073709551616", 14),
            Ranges::Unsatisfiable
        );
        // Still compared exactly: a last-pos below a huge first-pos is invalid.
        assert_eq!(
            parse_range(b"bytes=99999999999999999999-99999999999999999998", 14),
            Ranges::Ignored
        );
    }

    #[test]
    fn unsatisfiable_ranges_are_416() {
        for value in ["bytes=14-", "bytes=14-20", "bytes=-0", "bytes=100-200,-0"] {
            assert_eq!(
                parse_range(value.as_bytes(), 14),
                Ranges::Unsatisfiable,
                "{value:?}"
            );
        }
    }

    #[test]
    fn unsatisfiable_ranges_among_satisfiable_ones_are_left_out() {
        assert_eq!(parts("bytes=20-30,0-1,-0", 14), vec![(0, 1)]);
    }

    #[test]
    fn invalid_or_unknown_ranges_are_ignored() {
        for value in [
            "",
            "bytes",
            "bytes=",
            "bytes=,",
            "bytes=5-2",
            "bytes=abc",
            "bytes=0-4,abc",
            "bytes=-",
            "bytes=1-2-3",
            "bytes=--1",
            "bytes=+1-2",
            "bytes=1-+2",
            "bytes=0 -4",
            "bytes=0- 4",
            "bytes =0-4",
            "bytes 0-4",
            "pages=1-2",
            "none=0-1",
            "bytes=0x1-2",
            "bytes=1.5-2",
            "bytes=0-4;x",
        ] {
            assert_eq!(
                parse_range(value.as_bytes(), 14),
                Ranges::Ignored,
                "{value:?}"
            );
        }
    }

    #[test]
    fn any_range_of_empty_content_is_ignored() {
        for value in ["bytes=0-", "bytes=-1", "bytes=0-0"] {
            assert_eq!(parse_range(value.as_bytes(), 0), Ranges::Ignored);
        }
    }

    #[test]
    fn more_ranges_than_the_limit_are_ignored() {
        let at_limit = format!("bytes={}", vec!["0-0"; MAX_RANGES].join(","));
        assert_eq!(parts(&at_limit, 14), vec![(0, 0)]);
        let over = format!("bytes={}", vec!["0-0"; MAX_RANGES + 1].join(","));
        assert_eq!(parse_range(over.as_bytes(), 14), Ranges::Ignored);
        // Empty elements do not count.
        let padded = format!("bytes={}0-0", ",".repeat(1000));
        assert_eq!(parts(&padded, 14), vec![(0, 0)]);
    }

    #[test]
    fn several_ranges_keep_their_order() {
        assert_eq!(parts("bytes=0-0,-1", 14), vec![(0, 0), (13, 13)]);
        assert_eq!(parts("bytes=7-,0-4", 14), vec![(7, 13), (0, 4)]);
        assert_eq!(
            parts("bytes= 0-1, 4-5, -2", 14),
            vec![(0, 1), (4, 5), (12, 13)]
        );
    }

    #[test]
    fn overlapping_and_adjacent_ranges_are_merged() {
        assert_eq!(parts("bytes=0-4,2-6", 14), vec![(0, 6)]);
        assert_eq!(parts("bytes=0-4,5-9", 14), vec![(0, 9)]);
        assert_eq!(parts("bytes=500-600,601-999", 10_000), vec![(500, 999)]);
        assert_eq!(parts("bytes=500-700,601-999", 10_000), vec![(500, 999)]);
        assert_eq!(parts("bytes=0-,0-,0-", 14), vec![(0, 13)]);
        // A range that bridges two earlier ones joins them, in the place of the first.
        assert_eq!(parts("bytes=8-9,0-1,12-13,2-7", 14), vec![(0, 9), (12, 13)]);
        assert_eq!(parts("bytes=10-11,0-1,1-10", 14), vec![(0, 11)]);
    }

    #[test]
    fn coalesce_leaves_disjoint_ranges_alone() {
        let disjoint = vec![range(5, 6), range(0, 3), range(8, 9)];
        assert_eq!(coalesce(disjoint.clone()), disjoint);
    }

    #[test]
    fn content_range_values() {
        assert_eq!(content_range(range(0, 4), 14), "bytes 0-4/14");
        assert_eq!(unsatisfied_range(14), "bytes */14");
    }

    #[test]
    fn multipart_layout() {
        let parts = [range(0, 0), range(13, 13)];
        let multipart = Multipart::new(&parts, 14, "text/plain; charset=utf-8");
        let boundary = multipart
            .content_type
            .strip_prefix("multipart/byteranges; boundary=")
            .unwrap()
            .to_owned();
        assert_eq!(boundary.len(), "byteranges-".len() + 16);
        let content = [
            &multipart.part_heads[0][..],
            b"H",
            &multipart.part_heads[1],
            b"\n",
            &multipart.tail,
        ]
        .concat();
        assert_eq!(
            String::from_utf8(content).unwrap(),
            format!(
                "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Range: bytes 0-0/14\r\n\r\nH\r\n--{boundary}\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 13-13/14\r\n\r\n\n\
\r\n--{boundary}--\r\n"
            )
        );
        // The same parts get the same boundary; others another.
        assert_eq!(
            Multipart::new(&parts, 14, "image/png").content_type,
            multipart.content_type
        );
        assert_ne!(
            Multipart::new(&parts, 15, "image/png").content_type,
            multipart.content_type
        );
    }
}
