//! Running cases against a target: each case on its own connection, many
//! cases at once, so one slow case costs one timeout, not the sum.

use crate::case::{Case, Step};
use crate::limits::{DEFAULT_JOBS, DEFAULT_TIMEOUT};
use crate::verdict::{grade_step, Grade, StepVerdict};
use crate::wire::{self, Exchange};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How to run cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// The deadline for each step (write plus read), counted after its
    /// pause. A case's `timeout_ms` raises it for that case.
    pub timeout: Duration,
    /// How many cases run at once. A server that serves one connection at a
    /// time needs 1, or queued cases will time out waiting for it.
    pub jobs: usize,
    /// An upper bound on every step's deadline, case timeouts included: for
    /// fast runs against test responders that are known not to need them.
    pub timeout_cap: Option<Duration>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: DEFAULT_TIMEOUT,
            jobs: DEFAULT_JOBS,
            timeout_cap: None,
        }
    }
}

impl RunOptions {
    /// The step deadline for `case`: the run's timeout, raised by the case's
    /// own `timeout_ms`, lowered to `timeout_cap`.
    pub fn timeout_for(&self, case: &Case) -> Duration {
        let own = case
            .timeout_ms
            .map_or(Duration::ZERO, Duration::from_millis);
        let timeout = self.timeout.max(own);
        self.timeout_cap.map_or(timeout, |cap| timeout.min(cap))
    }
}

/// What one step of a case did and how it was graded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepResult {
    /// What was written and read.
    pub exchange: Exchange,
    /// The grade of the read; `None` for a step that only writes.
    pub verdict: Option<StepVerdict>,
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult<'c> {
    /// The case that ran.
    pub case: &'c Case,
    /// The worst of its steps' grades (see [`Grade::worst`]).
    pub grade: Grade,
    /// One result per step of the case, in order.
    pub steps: Vec<StepResult>,
    /// Wall time of the whole case, pauses included.
    pub elapsed: Duration,
}

impl CaseResult<'_> {
    /// The steps that read a response, with their 1-based step numbers.
    pub fn reading_steps(&self) -> impl Iterator<Item = (usize, &Step, &StepResult)> {
        self.case
            .steps
            .iter()
            .zip(&self.steps)
            .enumerate()
            .filter(|(_, (step, _))| step.expect.is_some())
            .map(|(i, (step, result))| (i + 1, step, result))
    }
}

/// Runs one case on a new connection to `target`.
pub fn run_case<'c>(target: SocketAddr, case: &'c Case, options: &RunOptions) -> CaseResult<'c> {
    let started = Instant::now();
    let exchanges = wire::play(target, &case.steps, options.timeout_for(case));
    let steps: Vec<StepResult> = case
        .steps
        .iter()
        .zip(exchanges)
        .map(|(step, exchange)| {
            let verdict = match (&step.expect, &exchange.outcome) {
                (Some(expect), Some(outcome)) => Some(grade_step(case.level, expect, outcome)),
                _ => None,
            };
            StepResult { exchange, verdict }
        })
        .collect();
    let grade = Grade::worst(
        steps
            .iter()
            .filter_map(|s| s.verdict.as_ref().map(|v| v.grade)),
    );
    CaseResult {
        case,
        grade,
        steps,
        elapsed: started.elapsed(),
    }
}

/// Runs `cases` against `target` with `options.jobs` worker threads pulling
/// from a shared queue, and returns the results in the order of `cases`.
///
/// Each case gets its own connection; each step its own deadline
/// ([`RunOptions::timeout_for`]), so the whole run takes about the longest
/// case times `cases.len() / jobs`, not the sum of the timeouts.
pub fn run_cases<'c>(
    target: SocketAddr,
    cases: &'c [Case],
    options: &RunOptions,
) -> Vec<CaseResult<'c>> {
    let next = AtomicUsize::new(0);
    let workers = options.jobs.clamp(1, cases.len().max(1));
    let mut results: Vec<Option<CaseResult<'c>>> = cases.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(case) = cases.get(i) else {
                            return done;
                        };
                        done.push((i, run_case(target, case, options)));
                    }
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(done) => {
                    for (i, result) in done {
                        results[i] = Some(result);
                    }
                }
                // A panic here is a bug in this crate; let it surface as one.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn case(timeout_ms: Option<u64>) -> Case {
        Case {
            id: "rfc9112-1-x".into(),
            title: String::new(),
            group: crate::case::Group::Fields,
            rfc: "RFC 9112 §1".into(),
            url: String::new(),
            quote: String::new(),
            level: crate::case::Level::Must,
            explain: String::new(),
            timeout_ms,
            steps: Vec::new(),
            file: PathBuf::new(),
        }
    }

    #[test]
    fn case_timeout_then_raises_run_timeout() {
        let options = RunOptions {
            timeout: Duration::from_millis(300),
            ..RunOptions::default()
        };
        assert_eq!(options.timeout_for(&case(None)), Duration::from_millis(300));
        assert_eq!(
            options.timeout_for(&case(Some(3000))),
            Duration::from_millis(3000)
        );
        assert_eq!(
            options.timeout_for(&case(Some(100))),
            Duration::from_millis(300)
        );
    }

    #[test]
    fn timeout_cap_then_lowers_case_timeout() {
        let options = RunOptions {
            timeout: Duration::from_millis(300),
            jobs: 1,
            timeout_cap: Some(Duration::from_millis(500)),
        };
        assert_eq!(
            options.timeout_for(&case(Some(3000))),
            Duration::from_millis(500)
        );
    }
}
