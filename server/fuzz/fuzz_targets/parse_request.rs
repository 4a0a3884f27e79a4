//! `parse_request` on arbitrary bytes, with the invariants every outcome
//! must keep, and what the server derives from a head it accepts.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use server::conditions::{self, Validators};
use server::parse::{parse_chunk_end, parse_chunk_size, parse_request, parse_trailer_section};
use server::parse::{Parsed, Status};
use server::range::{parse_range, Ranges};
use server::{date, request};

/// Heads at most this long have every prefix checked; longer ones a few.
const ALL_PREFIXES_UP_TO: usize = 256;

fuzz_target!(|data: &[u8]| {
    match parse_request(data) {
        Ok(Status::Complete((head, len))) => {
            assert!(
                len > 0 && len <= data.len(),
                "length {len} of {}",
                data.len()
            );
            // The head alone is the same head: nothing after it was read.
            assert_eq!(
                parse_request(&data[..len]),
                Ok(Status::Complete((head.clone(), len)))
            );
            // Incomplete is not invalid: a head cut short is Partial.
            let cuts: Vec<usize> = if len <= ALL_PREFIXES_UP_TO {
                (0..len).collect()
            } else {
                vec![0, len / 2, len - 1]
            };
            for cut in cuts {
                assert_eq!(
                    parse_request(&data[..cut]),
                    Ok(Status::Partial),
                    "cut at {cut}"
                );
            }
            // What the server derives from an accepted head never panics.
            let _ = request::framing(&head);
            let _ = request::wants_close(&head);
            let _ = request::check(&head);
            let _ = request::expects_continue(&head);
            let now = UNIX_EPOCH + Duration::from_secs(1_796_158_800);
            let current = Validators {
                etag: Some("\"1-1\""),
                modified: Some(UNIX_EPOCH),
            };
            let _ = conditions::evaluate(&head, &current, now);
            let _ = conditions::if_range(&head, &current, now);
            for value in head.values("Range") {
                // Every part lies within the file, whatever the header says.
                for length in [0, 1, 14, u64::MAX] {
                    if let Ranges::Satisfiable(parts) = parse_range(value, length) {
                        assert!(parts.iter().all(|p| p.first <= p.last && p.last < length));
                    }
                }
            }
            for name in ["If-Modified-Since", "If-Unmodified-Since", "If-Range"] {
                for value in head.values(name) {
                    let _ = date::parse_http_date(value, now);
                }
            }
        }
        Ok(Status::Partial) => {}
        Err(_) => {
            // An error is final: no continuation makes the bytes valid.
            let more = [data, b"\r\nHost: a\r\n\r\n"].concat();
            assert!(
                parse_request(&more).is_err(),
                "an error became {:?}",
                parse_request(&more)
            );
        }
    }
    check_element(data, parse_chunk_size);
    check_element(data, parse_trailer_section);
    check_element(data, parse_chunk_end);
});

/// The invariants of any element parser: a complete element lies within
/// the input and parses alone to the same value; an error stays an error.
fn check_element<T: PartialEq + std::fmt::Debug>(data: &[u8], parse: fn(&[u8]) -> Parsed<T>) {
    match parse(data) {
        Ok(Status::Complete((value, len))) => {
            assert!(
                len > 0 && len <= data.len(),
                "length {len} of {}",
                data.len()
            );
            assert_eq!(parse(&data[..len]), Ok(Status::Complete((value, len))));
            assert_eq!(parse(&data[..len - 1]), Ok(Status::Partial));
        }
        Ok(Status::Partial) => {}
        Err(_) => {
            let more = [data, b"\r\n\r\n"].concat();
            assert!(parse(&more).is_err());
        }
    }
}
