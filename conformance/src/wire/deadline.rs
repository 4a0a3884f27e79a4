//! Reads and writes bounded by a deadline, as the plain connection and the
//! TLS handshake both do them: a socket timeout set to the time left before
//! each call, and the errors that only mean "not yet".

use std::io::ErrorKind;
use std::time::{Duration, Instant};

/// The time left before `deadline`, or `None` once it has passed (a zero
/// socket timeout would mean no timeout at all).
pub(super) fn time_left(deadline: Instant) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    (!left.is_zero()).then_some(left)
}

/// The longest one socket call waits before the caller looks at its stop
/// flag again: a run that is stopped abandons its cases within about this.
pub(super) const POLL: Duration = Duration::from_millis(100);

/// How long the next socket call may wait: the time left before
/// `deadline`, at most [`POLL`]; `None` once it has passed or `halted`
/// says the run stopped (the caller ends as at its deadline).
pub(super) fn wait_slice(deadline: Instant, halted: &dyn Fn() -> bool) -> Option<Duration> {
    if halted() {
        return None;
    }
    time_left(deadline).map(|left| left.min(POLL))
}

/// Whether a socket error only says the call should be made again (an
/// interrupted call, or a socket timeout the deadline has not reached).
pub(super) fn is_retry(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Interrupted | ErrorKind::WouldBlock | ErrorKind::TimedOut
    )
}
