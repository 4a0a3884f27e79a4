//! The request parser: the request head (RFC 9112 §2–§5) and the chunked
//! body (§7.1), strict, by hand, one element at a time.
//!
//! [`parse_request`] takes the bytes received so far and answers `Partial`
//! when they are a prefix of a valid head (more bytes may complete it), the
//! parsed head and its length when complete, or an [`Error`] as soon as no
//! continuation could make the bytes valid. The elements of a chunked body
//! ([`parse_chunk_size`], [`parse_chunk_end`], [`parse_trailer_section`])
//! answer the same way. [`parse_response`] reads a response head the same
//! way, for the reference proxy.
//!
//! - `head`: the request-line and the field lines.
//! - `status`: the status-line of a response, then the same field lines.
//! - `chunked`: the chunk-size line, the CRLF after a chunk, the trailer section.
//! - `grammar`: the character classes and the whitespace rule they share.

use std::fmt;

use crate::limits::{MAX_FIELDS, MAX_HEADER_BYTES, MAX_TARGET_LEN};

mod chunked;
mod grammar;
mod head;
mod status;

pub use chunked::{parse_chunk_end, parse_chunk_size, parse_trailer_section};
pub(crate) use grammar::{class, trim_ows};
pub use head::{parse_request, Field, Request, Version};
pub use status::{parse_response, ResponseHead};

/// The outcome of parsing bytes that may not all have arrived yet.
#[derive(Debug, PartialEq, Eq)]
pub enum Status<T> {
    /// A complete value.
    Complete(T),
    /// The bytes so far are a valid prefix: read more.
    Partial,
}

/// A parser of one element: its value and the bytes it used, once complete.
pub type Parsed<T> = Result<Status<(T, usize)>, Error>;

/// Why a request head is invalid. Each maps to one status code in
/// `problem::Problem::status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The request-line is not `method SP request-target SP HTTP-version`.
    RequestLine,
    /// The method contains a character that is not a `tchar`.
    Method,
    /// The method is longer than any this server implements.
    MethodTooLong,
    /// The request-target contains a character a URI cannot contain.
    Target,
    /// The request-target is longer than `MAX_TARGET_LEN`.
    TargetTooLong,
    /// The HTTP-version is not `HTTP/` DIGIT `.` DIGIT.
    Version,
    /// A CR not followed by LF.
    BareCr,
    /// An LF not preceded by CR.
    BareLf,
    /// A field-name is empty or contains a character that is not a `tchar`.
    FieldName,
    /// Whitespace between a field-name and its colon.
    SpaceBeforeColon,
    /// A field line with no colon.
    NoColon,
    /// A field line starting with whitespace (obs-fold, or whitespace after the request-line).
    ObsFold,
    /// A field value containing NUL or another control character.
    FieldValue,
    /// More field lines than `MAX_FIELDS`.
    TooManyFields,
    /// A header section larger than `MAX_HEADER_BYTES`.
    HeaderTooLarge,
    /// A chunked body whose framing is invalid.
    Chunk,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Error::RequestLine => {
                "the request-line is not method SP request-target SP HTTP-version"
            }
            Error::Method => "the method is not a token",
            Error::MethodTooLong => "the method is longer than any this server implements",
            Error::Target => "the request-target contains a character a URI cannot contain",
            Error::TargetTooLong => {
                return write!(
                    f,
                    "the request-target is longer than {MAX_TARGET_LEN} octets"
                )
            }
            Error::Version => "the HTTP-version is not HTTP/DIGIT.DIGIT",
            Error::BareCr => "a CR is not followed by LF",
            Error::BareLf => "a line ends in LF without CR",
            Error::FieldName => "a field-name is empty or not a token",
            Error::SpaceBeforeColon => "whitespace between a field-name and its colon",
            Error::NoColon => "a field line has no colon",
            Error::ObsFold => "a field line starts with whitespace (obsolete line folding)",
            Error::FieldValue => "a field value contains a control character",
            Error::TooManyFields => return write!(f, "more than {MAX_FIELDS} header fields"),
            Error::HeaderTooLarge => {
                let kib = MAX_HEADER_BYTES / 1024;
                return write!(f, "the header section is larger than {kib} KiB");
            }
            Error::Chunk => "the chunked body is malformed",
        };
        f.write_str(text)
    }
}
