//! The character classes of the HTTP grammar as 256-entry tables, and the
//! rules on whitespace and ASCII that the parsers of the whole crate share.

/// Builds a 256-entry class table from the bytes of `set` and the ranges in `ranges`.
pub(crate) const fn class(set: &[u8], ranges: &[(u8, u8)]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < set.len() {
        table[set[i] as usize] = true;
        i += 1;
    }
    let mut r = 0;
    while r < ranges.len() {
        let mut b = ranges[r].0 as usize;
        while b <= ranges[r].1 as usize {
            table[b] = true;
            b += 1;
        }
        r += 1;
    }
    table
}

/// `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
///  "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA` (RFC 9110 §5.6.2)
pub(super) static TOKEN: [bool; 256] = class(
    b"!#$%&'*+-.^_`|~",
    &[(b'0', b'9'), (b'a', b'z'), (b'A', b'Z')],
);

/// The characters of a request-target (RFC 9112 §3.2 by way of RFC 3986):
/// `unreserved / pct-encoded / sub-delims / ":" / "@" / "/" / "?"`, plus
/// `[` `]` for IP literals in absolute-form. No fragment (`#`), no space,
/// no CTL, no non-ASCII.
pub(super) static URI: [bool; 256] = class(
    b"-._~%!$&'()*+,;=:@/?[]",
    &[(b'0', b'9'), (b'a', b'z'), (b'A', b'Z')],
);

/// `field-vchar = VCHAR / obs-text`, plus SP and HTAB inside a value
/// (RFC 9110 §5.5).
pub(super) static FIELD_VALUE: [bool; 256] = class(b" \t", &[(0x21, 0x7e), (0x80, 0xff)]);

/// Strips `OWS = *( SP / HTAB )` (RFC 9110 §5.6.3) from both ends.
pub(crate) fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// The bytes of a token or target, which the class tables keep ASCII.
pub(super) fn ascii(bytes: &[u8]) -> &str {
    // The tables admit only ASCII bytes, so this never falls back.
    std::str::from_utf8(bytes).unwrap_or_default()
}
