//! Wrong responders for request semantics: each answers every request the
//! way a plausible but broken static-file server would, and is wrong about
//! one thing only, so the cases about that thing are what catch it.

use crate::support::{ok_to_everything, Responder};

/// Wrong: ignores `Expect: 100-continue`, so a client that waits for the
/// 100 before sending the content waits until it gives up.
pub fn ignores_expect() -> Responder {
    ok_to_everything()
}

/// Wrong: ignores If-Match, If-Unmodified-Since, If-None-Match,
/// If-Modified-Since and If-Range, serving every GET in full.
pub fn ignores_preconditions() -> Responder {
    ok_to_everything()
}

/// Wrong: answers Range requests with a 206 whose Content-Range or bytes do
/// not match what was asked.
pub fn wrong_ranges() -> Responder {
    ok_to_everything()
}
