//! SIGINT and SIGTERM during a run, and why a run stopped early.

use super::exit::{Failure, EXIT_SIGNAL_BASE};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;
use std::time::Duration;

/// Why a run stopped before every case had started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// A signal (its number) arrived.
    Signal(usize),
    /// `--deadline` (its seconds) passed.
    Deadline(u64),
    /// The target went away this long after the first case started.
    Gone(Duration),
}

impl Stop {
    /// What the report says after "not run".
    pub(crate) fn reason(self) -> String {
        match self {
            Stop::Signal(signal) => format!("interrupted by {}", signal_name(signal)),
            Stop::Deadline(secs) => format!("the --deadline of {secs} s passed"),
            Stop::Gone(after) => format!(
                "the target went away {:.1} s into the run",
                after.as_secs_f64()
            ),
        }
    }
}

fn signal_name(signal: usize) -> &'static str {
    match signal as i32 {
        signal_hook::consts::SIGINT => "SIGINT",
        signal_hook::consts::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// SIGINT and SIGTERM from now on: the first is recorded (its number, in
/// the returned cell) so the run abandons the cases under way, starts no
/// other and writes what it has; a second one exits at once with 128 + its
/// number.
pub(crate) fn watch_signals() -> Result<Arc<AtomicUsize>, Failure> {
    let caught = Arc::new(AtomicUsize::new(0));
    let again = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let code = i32::from(EXIT_SIGNAL_BASE) + signal;
        signal_hook::flag::register_conditional_shutdown(signal, code, Arc::clone(&again))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&again)))
            .and_then(|_| {
                signal_hook::flag::register_usize(signal, Arc::clone(&caught), signal as usize)
            })
            .map_err(|e| Failure::Usage(format!("cannot watch for signals: {e}")))?;
    }
    Ok(caught)
}
