//! `--jobs` against the open-file limit: each case under way holds a
//! socket, so more jobs than the limit leaves room for would end cases in
//! "too many open files" errors instead of verdicts.

use super::exit::Failure;
use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Files a run holds besides one socket per job: what is open when it
/// looks (the standard streams among them), the control's two connections,
/// the probes of a target that may have gone, and the report it writes.
const SPARE: u64 = 8;

/// How many jobs the limit leaves room for.
#[derive(Debug, PartialEq, Eq)]
enum Fit {
    /// All of them.
    Fits,
    /// Fewer: this many.
    Clamped(u64),
    /// Not one.
    TooLow,
}

/// How many of `want` jobs fit under `limit` open files with `in_use`
/// open already.
fn fit(want: u64, in_use: u64, limit: u64) -> Fit {
    let room = limit.saturating_sub(in_use + SPARE);
    if room >= want {
        Fit::Fits
    } else if room == 0 {
        Fit::TooLow
    } else {
        Fit::Clamped(room)
    }
}

/// How many files this process has open now (on Linux; elsewhere a guess).
fn open_files() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(16, |dir| dir.count() as u64)
}

/// The jobs a run can have: `jobs` (of which at most `cases` run at once),
/// after raising the soft open-file limit toward the hard one if that
/// makes room; fewer, with a one-line note on stderr (unless `quiet`), if
/// the limit leaves room for fewer; a usage error if it leaves room for
/// none.
pub(crate) fn fit_jobs(
    jobs: usize,
    cases: usize,
    given: bool,
    quiet: bool,
) -> Result<usize, Failure> {
    let want = jobs.min(cases.max(1)) as u64;
    let in_use = open_files();
    let limits = getrlimit(Resource::Nofile);
    let Some(mut soft) = limits.current else {
        return Ok(jobs);
    };
    let need = in_use + SPARE + want;
    if soft < need {
        let raised = limits.maximum.map_or(need, |hard| hard.min(need));
        let new = Rlimit {
            current: Some(raised),
            maximum: limits.maximum,
        };
        if raised > soft && setrlimit(Resource::Nofile, new).is_ok() {
            soft = raised;
        }
    }
    match fit(want, in_use, soft) {
        Fit::Fits => Ok(jobs),
        Fit::TooLow => Err(Failure::Usage(format!(
            "the open-file limit (ulimit -n) is {soft}, too low to run a case: a run needs \
             {} files open for one case at a time; raise it with ulimit -n",
            in_use + SPARE + 1
        ))),
        Fit::Clamped(room) => {
            if !quiet {
                let asked = if given {
                    format!("--jobs {jobs}")
                } else {
                    format!("{want} cases at once")
                };
                eprintln!(
                    "{asked} is more than the open-file limit (ulimit -n {soft}) leaves room \
                     for: running {room} cases at once"
                );
            }
            Ok(room as usize)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_for_all_some_or_none_then_fits_clamped_or_too_low() {
        assert_eq!(fit(8, 5, 1024), Fit::Fits);
        assert_eq!(fit(8, 5, 21), Fit::Fits);
        assert_eq!(fit(8, 5, 20), Fit::Clamped(7));
        assert_eq!(fit(8, 5, 14), Fit::Clamped(1));
        assert_eq!(fit(8, 5, 13), Fit::TooLow);
        assert_eq!(fit(8, 5, 3), Fit::TooLow);
    }
}
