//! Every bound the client puts on a peer and on itself, in one place.
//!
//! A server under test is not trusted for sizes or timing: each read is
//! bounded in bytes and each step in time, so a hostile or broken server
//! ends as a recorded outcome, never as a hang or unbounded memory.

use std::time::Duration;

/// The per-step deadline when none is given (`--timeout`): long enough for a
/// loaded CI machine, short enough that a run of a few hundred cases that
/// time out stays in seconds when run concurrently.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(2000);
/// How many cases run at once when not told (`--jobs`).
pub const DEFAULT_JOBS: usize = 8;

/// The most bytes a response head (status line, fields, blank line) may
/// have; a longer head is recorded as an invalid response.
pub const HEAD_LIMIT: usize = 64 * 1024;
/// The most body bytes kept in a response; the rest is counted only.
pub const BODY_KEEP: usize = 1024 * 1024;
/// The most body bytes read before a body is cut off as truncated, so a
/// server streaming forever cannot keep a case busy.
pub const BODY_READ_LIMIT: u64 = 16 * 1024 * 1024;
/// The most received bytes kept per step for reports.
pub const RECORD_LIMIT: usize = 64 * 1024;
/// The most interim (1xx) responses skipped before the final one.
pub(crate) const MAX_INTERIM: usize = 8;
/// The longest chunk-size line (with extensions) accepted in a chunked body.
pub(crate) const CHUNK_LINE_LIMIT: usize = 4096;
/// The least time given to the after-response read of the `closed` and
/// `no-body` checks, so that a close already on its way is seen even when the
/// response used up the step's deadline.
pub(crate) const AFTER_GRACE: Duration = Duration::from_millis(100);

/// The most bytes one escaped request string may decode to: a typo in a
/// repeat count (`\{80000000000:a}`) must be an error, not an out-of-memory
/// abort.
pub(crate) const MAX_DECODED_BYTES: usize = 16 * 1024 * 1024;

/// How many bytes of each direction a text report shows per step.
pub(crate) const SHOWN_BYTES: usize = 2048;

/// How many received bytes per step a matrix keeps for its detail views:
/// enough for a head and the start of a body, small enough that a matrix of
/// a dozen servers stays a file people can commit and a page that loads fast.
pub(crate) const MATRIX_SHOWN_BYTES: usize = 1024;

/// The most characters of the one-line reason each new failure gets in the
/// list that ends a report run with a baseline: one line in a CI log.
pub(crate) const REASON_CHARS: usize = 160;
