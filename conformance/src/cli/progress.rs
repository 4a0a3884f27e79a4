//! The progress a run keeps on stderr: on a terminal one line rewritten in
//! place; elsewhere (a CI log, a file) a plain line every few seconds.

use conformance::Grade;
use std::io::Write;
use std::time::{Duration, Instant};

/// How often a plain progress line is written when stderr is not a
/// terminal, unless [`EVERY_MS_VAR`] says otherwise.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// The environment variable that sets the plain lines' interval in
/// milliseconds (0: a line per case), for tests that cannot wait.
const EVERY_MS_VAR: &str = "CONFORMANCE_PROGRESS_EVERY_MS";

/// How the progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One line, rewritten after each case (carriage return, text, erase to
    /// the end of the line), erased at the end.
    Terminal,
    /// A plain line at most every `every` (when a case ends), and one at
    /// the end; no carriage return, no escape sequence.
    Lines { every: Duration },
}

/// The progress of a run: cases done, failed and warned.
pub(crate) struct Progress {
    total: usize,
    done: usize,
    failed: usize,
    warned: usize,
    mode: Mode,
    started: Instant,
    /// When the last plain line was written, and how many cases were done.
    last: Option<(Instant, usize)>,
}

impl Progress {
    /// The progress of `total` cases, rewritten in place on a terminal,
    /// in plain lines elsewhere.
    pub(crate) fn new(total: usize, terminal: bool) -> Progress {
        let mode = if terminal {
            Mode::Terminal
        } else {
            let every = std::env::var(EVERY_MS_VAR)
                .ok()
                .and_then(|ms| ms.parse().ok())
                .map_or(PLAIN_EVERY, Duration::from_millis);
            Mode::Lines { every }
        };
        Progress {
            total,
            done: 0,
            failed: 0,
            warned: 0,
            mode,
            started: Instant::now(),
            last: None,
        }
    }

    /// Counts one case's grade and shows the progress as the mode says.
    pub(crate) fn count(&mut self, grade: Grade) {
        self.done += 1;
        match grade {
            Grade::Fail => self.failed += 1,
            Grade::Warn => self.warned += 1,
            _ => {}
        }
        match self.mode {
            Mode::Terminal => write_stderr(&terminal_line(
                self.total,
                self.done,
                self.failed,
                self.warned,
            )),
            Mode::Lines { every } => {
                let now = Instant::now();
                let since = self.last.map_or(self.started, |(at, _)| at);
                if now.duration_since(since) >= every || self.done == self.total {
                    self.write_line(now);
                }
            }
        }
    }

    /// Ends the progress: erases the terminal line, or writes the last
    /// plain line unless it was just written.
    pub(crate) fn finish(&mut self) {
        match self.mode {
            Mode::Terminal => write_stderr("\r\x1b[K"),
            Mode::Lines { .. } => {
                if self.last.map(|(_, done)| done) != Some(self.done) {
                    self.write_line(Instant::now());
                }
            }
        }
    }

    fn write_line(&mut self, now: Instant) {
        let line = plain_line(
            self.total,
            self.done,
            self.failed,
            self.warned,
            now.duration_since(self.started),
        );
        write_stderr(&format!("{line}\n"));
        self.last = Some((now, self.done));
    }
}

fn write_stderr(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr
        .write_all(text.as_bytes())
        .and_then(|()| stderr.flush());
}

/// The terminal's progress line, rewritten in place: `\r[120/395] 3
/// failed, 1 warned` and erase to the end of the line.
fn terminal_line(total: usize, done: usize, failed: usize, warned: usize) -> String {
    format!("\r[{done}/{total}] {failed} failed, {warned} warned\x1b[K")
}

/// One plain progress line: `progress: 120/395 cases, 3 failed, 1 warned;
/// 12s elapsed, about 28s left`; the time left is the time per case so
/// far times the cases left; `done` once all are, `time left unknown`
/// before the first.
pub(crate) fn plain_line(
    total: usize,
    done: usize,
    failed: usize,
    warned: usize,
    elapsed: Duration,
) -> String {
    let left = match done {
        0 => "time left unknown".to_string(),
        done if done >= total => "done".to_string(),
        done => {
            let per_case = elapsed.as_secs_f64() / done as f64;
            let left = Duration::from_secs_f64(per_case * (total - done) as f64);
            format!("about {} left", clock(left))
        }
    };
    format!(
        "progress: {done}/{total} cases, {failed} failed, {warned} warned; {} elapsed, {left}",
        clock(elapsed)
    )
}

/// A duration as a person reads it in a log: `7s`, `2m05s`, `1h04m`,
/// rounded to the second.
fn clock(duration: Duration) -> String {
    let seconds = (duration.as_millis() + 500) / 1000;
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_line_then_counts_elapsed_and_time_left() {
        assert_eq!(
            plain_line(395, 120, 3, 1, Duration::from_millis(12_400)),
            "progress: 120/395 cases, 3 failed, 1 warned; 12s elapsed, about 28s left"
        );
        assert_eq!(
            plain_line(395, 0, 0, 0, Duration::from_millis(300)),
            "progress: 0/395 cases, 0 failed, 0 warned; 0s elapsed, time left unknown"
        );
        assert_eq!(
            plain_line(395, 395, 2, 0, Duration::from_secs(41)),
            "progress: 395/395 cases, 2 failed, 0 warned; 41s elapsed, done"
        );
    }

    #[test]
    fn terminal_line_then_rewritten_in_place() {
        assert_eq!(
            terminal_line(395, 120, 3, 1),
            "\r[120/395] 3 failed, 1 warned\x1b[K"
        );
    }

    #[test]
    fn clock_then_seconds_minutes_hours() {
        assert_eq!(clock(Duration::from_millis(59_400)), "59s");
        assert_eq!(clock(Duration::from_secs(125)), "2m05s");
        assert_eq!(clock(Duration::from_secs(3840)), "1h04m");
    }
}
