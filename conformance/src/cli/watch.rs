//! What a run watches while its cases go: a signal, the deadline, and the
//! progress line it keeps.

use super::progress::Progress;
use conformance::run::{CaseResult, Watch};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What `run` watches while cases go: signals, the deadline, progress.
pub(crate) struct RunWatch {
    pub(crate) caught: Arc<AtomicUsize>,
    pub(crate) deadline: Option<Instant>,
    pub(crate) progress: Option<Mutex<Progress>>,
}

impl Watch for RunWatch {
    fn go_on(&self) -> bool {
        self.caught.load(Ordering::SeqCst) == 0 && self.deadline.is_none_or(|d| Instant::now() < d)
    }

    /// A signal abandons the cases under way; a deadline lets them end.
    fn halt(&self) -> bool {
        self.caught.load(Ordering::SeqCst) != 0
    }

    fn finished(&self, result: &CaseResult<'_>) {
        if let Some(Ok(mut progress)) = self.progress.as_ref().map(Mutex::lock) {
            progress.count(result.grade);
        }
    }
}
