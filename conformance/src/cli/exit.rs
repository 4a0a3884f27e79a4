//! The exit codes and the failures that map to them: [`EXIT_CODES_HELP`]
//! is what `--help` prints, and docs/cli.md's table repeats it (a test keeps
//! the two alike).

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Exit code: no case failed at the `--fail-on` level (outside the baseline).
pub(crate) const EXIT_CONFORMANT: u8 = 0;
/// Exit code: a case failed at the `--fail-on` level (and is not in the
/// baseline).
pub(crate) const EXIT_NONCONFORMANT: u8 = 1;
/// Exit code: bad arguments, a bad case or baseline file, an empty selection.
const EXIT_USAGE: u8 = 2;
/// Exit code: the target did not accept a connection, did not answer the
/// control request with HTTP/1.x, or failed its TLS handshake, before any
/// case ran; or it went away during the run.
pub(crate) const EXIT_UNREACHABLE: u8 = 3;
/// Exit code: every case ended as skip or error, so nothing was graded.
pub(crate) const EXIT_NOTHING_GRADED: u8 = 4;
/// Exit code: `--deadline` passed before every case had started, and none
/// of those that ran failed.
pub(crate) const EXIT_DEADLINE: u8 = 5;
/// Exit code: the cases ran, then a file the run writes (the report, the
/// baseline, the snapshots, the matrix) could not be written. Not a usage
/// error: the arguments were good and the paths were checked before the
/// first connect, so the file system changed or refused under the run.
const EXIT_WRITE: u8 = 6;
/// Exit code: the cases ran to the end but some ended in error (could not
/// be run or completed: a connection refused or reset, an I/O error), and
/// none failed, so the run cannot say the target conforms; for
/// `diff --exit-code`, none was answered differently but one could not be
/// run on a target.
pub(crate) const EXIT_CASE_ERRORS: u8 = 7;
/// Exit code: the target answered the control request with a 5xx: a
/// server failure, not a usage error.
const EXIT_SERVER_FAILURE: u8 = 8;
/// Exit code base for a run stopped by a signal: 128 + the signal number,
/// as shells report it (130 for SIGINT, 143 for SIGTERM).
pub(crate) const EXIT_SIGNAL_BASE: u8 = 128;

/// The exit codes, for `--help`; docs/cli.md's table says the same.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    conformant: no case failed at the --fail-on level (or none beyond the baseline); run --write-baseline wrote its file; diff --exit-code: every case answered alike
  1    a case failed at the --fail-on level (with --baseline: one not listed in it); diff --exit-code: a case answered differently
  2    usage error, an empty selection, or a control request answered other than 2xx or 5xx
  3    the target is unreachable, not HTTP/1.x or failed its TLS handshake before any case, or went away during the run
  4    nothing was graded: every case was skipped or could not be run
  5    the --deadline passed before every case had started, and no case failed
  6    after the cases ran, a file could not be written (--output, --write-baseline, --snapshots, --matrix)
  7    the run finished and no case failed, but some cases ended in error (could not be run or completed); diff --exit-code: no case answered differently, but one could not be run on a target
  8    the target answered the control request with a 5xx: a server failure
  130  interrupted by SIGINT: the report lists the cases not run
  143  terminated by SIGTERM: the report lists the cases not run";

/// Why the command could not do its job; each maps to one exit code.
pub(crate) enum Failure {
    /// Bad arguments or input files: exit 2.
    Usage(String),
    /// The target refused the first connect or did not answer the control
    /// with HTTP/1.x: exit 3.
    Unreachable(String),
    /// The target answered the control with a 5xx: exit 8.
    ServerError(String),
    /// A file (or the snapshots folder) the run writes after its cases
    /// could not be written: exit 6.
    Write {
        /// The file or folder, as given.
        path: PathBuf,
        /// What the file system said.
        error: io::Error,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(message)
            | Failure::Unreachable(message)
            | Failure::ServerError(message) => f.write_str(message),
            Failure::Write { path, error } => {
                write!(f, "cannot write {}: {error}", path.display())
            }
        }
    }
}

impl Failure {
    /// The exit code this failure ends the process with.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Unreachable(_) => EXIT_UNREACHABLE,
            Failure::ServerError(_) => EXIT_SERVER_FAILURE,
            Failure::Write { .. } => EXIT_WRITE,
        }
    }
}
