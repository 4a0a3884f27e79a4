//! The chunked transfer coding (RFC 9112 §7.1): the elements of a chunked
//! body, each parsed alone as the connection reads it, so the body itself
//! is never held.

use super::grammar::{FIELD_VALUE, TOKEN};
use super::head::{parse_field_section, parse_line_end};
use super::{Error, Parsed, Status};
use crate::limits::MAX_CHUNK_SIZE_DIGITS;

/// The trailer section that ends a chunked body (RFC 9112 §7.1.2); the
/// fields are read and dropped.
pub fn parse_trailer_section(buf: &[u8]) -> Parsed<()> {
    Ok(match parse_field_section(buf, 0)? {
        Status::Complete((_, end)) => Status::Complete(((), end)),
        Status::Partial => Status::Partial,
    })
}

/// ```text
/// chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
/// chunk-size     = 1*HEXDIG
/// chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
/// chunk-ext-name = token
/// chunk-ext-val  = token / quoted-string
/// ```
/// (RFC 9112 §7.1, §7.1.1): the line before a chunk's data. Returns the size.
/// Extensions are checked and ignored ("A recipient MUST ignore unrecognized
/// chunk extensions").
pub fn parse_chunk_size(buf: &[u8]) -> Parsed<u64> {
    let digits = buf.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return if buf.is_empty() {
            Ok(Status::Partial)
        } else {
            Err(Error::Chunk)
        };
    }
    if digits > MAX_CHUNK_SIZE_DIGITS {
        return Err(Error::Chunk);
    }
    let size = buf[..digits].iter().fold(0u64, |n, &d| {
        n << 4 | u64::from((d as char).to_digit(16).unwrap_or(0))
    });
    let mut pos = digits;
    loop {
        let before_space = pos;
        while matches!(buf.get(pos), Some(b' ') | Some(b'\t')) {
            pos += 1;
        }
        match buf.get(pos) {
            None => return Ok(Status::Partial),
            // BWS belongs before a ";" only: `5 \r\n` is no chunk line.
            Some(b'\r') | Some(b'\n') if pos > before_space => return Err(Error::Chunk),
            Some(b'\r') | Some(b'\n') => {
                return Ok(match parse_line_end(buf, pos)? {
                    Status::Complete(end) => Status::Complete((size, end)),
                    Status::Partial => Status::Partial,
                })
            }
            Some(b';') => pos += 1,
            Some(_) => return Err(Error::Chunk),
        }
        while matches!(buf.get(pos), Some(b' ') | Some(b'\t')) {
            pos += 1;
        }
        let name = buf[pos.min(buf.len())..]
            .iter()
            .take_while(|&&b| TOKEN[b as usize])
            .count();
        if pos + name >= buf.len() {
            return Ok(Status::Partial);
        }
        if name == 0 {
            return Err(Error::Chunk);
        }
        pos += name;
        let mut after = pos;
        while matches!(buf.get(after), Some(b' ') | Some(b'\t')) {
            after += 1;
        }
        if buf.get(after) != Some(&b'=') {
            continue;
        }
        pos = after + 1;
        while matches!(buf.get(pos), Some(b' ') | Some(b'\t')) {
            pos += 1;
        }
        match buf.get(pos) {
            None => return Ok(Status::Partial),
            Some(b'"') => match quoted_string_end(buf, pos)? {
                Status::Complete(end) => pos = end,
                Status::Partial => return Ok(Status::Partial),
            },
            Some(_) => {
                let value = buf[pos..]
                    .iter()
                    .take_while(|&&b| TOKEN[b as usize])
                    .count();
                if value == 0 {
                    return Err(Error::Chunk);
                }
                pos += value;
            }
        }
    }
}

/// ```text
/// quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
/// qdtext        = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
/// quoted-pair   = "\" ( HTAB / SP / VCHAR / obs-text )
/// ```
/// (RFC 9110 §5.6.4), starting at the opening quote. Returns the position
/// after the closing quote.
fn quoted_string_end(buf: &[u8], start: usize) -> Result<Status<usize>, Error> {
    let mut i = start + 1;
    while let Some(&b) = buf.get(i) {
        match b {
            b'"' => return Ok(Status::Complete(i + 1)),
            b'\\' => match buf.get(i + 1) {
                None => return Ok(Status::Partial),
                Some(&q) if FIELD_VALUE[q as usize] => i += 2,
                Some(_) => return Err(Error::Chunk),
            },
            _ if FIELD_VALUE[b as usize] => i += 1,
            _ => return Err(Error::Chunk),
        }
    }
    Ok(Status::Partial)
}

/// The CRLF after a chunk's data (RFC 9112 §7.1).
pub fn parse_chunk_end(buf: &[u8]) -> Parsed<()> {
    match (buf.first(), buf.get(1)) {
        (None, _) | (Some(b'\r'), None) => Ok(Status::Partial),
        (Some(b'\r'), Some(b'\n')) => Ok(Status::Complete(((), 2))),
        _ => Err(Error::Chunk),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes_and_extensions() {
        assert_eq!(parse_chunk_size(b"1a\r\n"), Ok(Status::Complete((26, 4))));
        assert_eq!(parse_chunk_size(b"0\r\n"), Ok(Status::Complete((0, 3))));
        assert_eq!(
            parse_chunk_size(b"5;a=b;c\r\n"),
            Ok(Status::Complete((5, 9)))
        );
        assert_eq!(
            parse_chunk_size(b"5 ; a = \"x\\\"y\"\r\n"),
            Ok(Status::Complete((5, 16)))
        );
        for partial in [
            &b""[..],
            b"5",
            b"5 ",
            b"5;",
            b"5;a",
            b"5;a=",
            b"5;a=\"x",
            b"5\r",
        ] {
            assert_eq!(
                parse_chunk_size(partial),
                Ok(Status::Partial),
                "{partial:?}"
            );
        }
        for (bad, expected) in [
            (&b"zz\r\n"[..], Error::Chunk),
            (b"-1\r\n", Error::Chunk),
            (b"5x\r\n", Error::Chunk),
            (b"5;\r\n", Error::Chunk),
            (b"5 \r\n", Error::Chunk),
            (b"5\t\r\n", Error::Chunk),
            (b"5;a=b \r\n", Error::Chunk),
            (b"10000000000000000\r\n", Error::Chunk),
            (b"5\n", Error::BareLf),
        ] {
            assert_eq!(parse_chunk_size(bad), Err(expected), "{bad:?}");
        }
    }

    #[test]
    fn chunk_end_and_trailers() {
        assert_eq!(parse_chunk_end(b"\r\nnext"), Ok(Status::Complete(((), 2))));
        assert_eq!(parse_chunk_end(b"xx"), Err(Error::Chunk));
        assert_eq!(
            parse_trailer_section(b"\r\n"),
            Ok(Status::Complete(((), 2)))
        );
        assert_eq!(
            parse_trailer_section(b"X: 1\r\n\r\n"),
            Ok(Status::Complete(((), 8)))
        );
        assert_eq!(parse_trailer_section(b"X: 1\r\n"), Ok(Status::Partial));
    }
}
