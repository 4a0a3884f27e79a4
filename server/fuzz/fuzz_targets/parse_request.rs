//! `parse_request` on arbitrary bytes, with the invariants every outcome
//! must keep, and what the server derives from a head it accepts.
#![no_main]

use std::time::UNIX_EPOCH;

use libfuzzer_sys::fuzz_target;
use server::parse::{parse_chunk_end, parse_chunk_size, parse_request, parse_trailer_section};
use server::parse::{Parsed, Status};
use server::{files, request};

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
            let _ = files::not_modified(&head, "\"1-1\"", UNIX_EPOCH);
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
