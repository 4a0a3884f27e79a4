//! The progress line a run keeps on stderr.

use conformance::Grade;
use std::io::Write;

/// The progress line on stderr: rewritten in place after each case
/// (carriage return, text, erase to the end of the line), erased at the end.
pub(crate) struct Progress {
    pub(crate) total: usize,
    pub(crate) done: usize,
    pub(crate) failed: usize,
    pub(crate) warned: usize,
}

impl Progress {
    pub(crate) fn count(&mut self, grade: Grade) {
        self.done += 1;
        match grade {
            Grade::Fail => self.failed += 1,
            Grade::Warn => self.warned += 1,
            _ => {}
        }
        let line = format!(
            "\r[{}/{}] {} failed, {} warned\x1b[K",
            self.done, self.total, self.failed, self.warned
        );
        let mut stderr = std::io::stderr().lock();
        let _ = stderr
            .write_all(line.as_bytes())
            .and_then(|()| stderr.flush());
    }

    pub(crate) fn erase() {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(b"\r\x1b[K").and_then(|()| stderr.flush());
    }
}
