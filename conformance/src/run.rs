//! Running cases against a target: each case on its own connection, many
//! cases at once, so one slow case costs one timeout, not the sum.

use crate::case::{Case, Need, Step};
use crate::control::Control;
use crate::limits::{DEFAULT_JOBS, DEFAULT_TIMEOUT};
use crate::template::{Values, Var, MISSING_PATH};
use crate::verdict::{grade_step, Context, Grade, StepVerdict};
use crate::wire::{self, Cut, Endpoint, Exchange, Outcome, Transport};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
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
    /// What the run knows about the target: the values its templates are
    /// filled with, what the `control` token stands for, what it serves.
    pub environment: Environment,
    /// Plain TCP, or TLS for an `https://` target.
    pub transport: Transport,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: DEFAULT_TIMEOUT,
            jobs: DEFAULT_JOBS,
            timeout_cap: None,
            environment: Environment::default(),
            transport: Transport::Tcp,
        }
    }
}

/// What a run knows about its target before the first case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// The values of the template variables.
    pub values: Values,
    /// The status code the control GET got: what the `control` token matches.
    pub control_status: u16,
    /// Whether the target serves `fixtures/root` (`--fixture-root`).
    pub fixture_root: bool,
    /// The control GET's header field names, lowercase.
    pub control_fields: Vec<String>,
    /// The control GET's content, when it was read to its end.
    pub control_body: Option<Vec<u8>>,
    /// Whether the control found the connection kept open.
    pub persistent: bool,
    /// Whether the target is reached over TLS (`https://`).
    pub tls: bool,
    /// Whether the target evaluates `If-Modified-Since` (the control's
    /// conditional GET was answered 304).
    pub if_modified_since: bool,
    /// Whether the target evaluates `If-Unmodified-Since` (the control's
    /// conditional GET was answered 412).
    pub if_unmodified_since: bool,
    /// The status the control's GET of `{missing}` got, if it got one.
    pub missing_status: Option<u16>,
    /// The HTTP version the control's response started with (`None`:
    /// HTTP/1.1), the highest the target conforms to.
    pub control_version: Option<String>,
}

impl Default for Environment {
    /// `/` on `localhost`, answered 200, no validators, not the fixture docroot.
    fn default() -> Self {
        Environment {
            values: Values::default(),
            control_status: 200,
            fixture_root: false,
            control_fields: Vec::new(),
            control_body: None,
            persistent: false,
            tls: false,
            if_modified_since: false,
            if_unmodified_since: false,
            missing_status: Some(404),
            control_version: None,
        }
    }
}

impl Environment {
    /// What `control` learned about the target, with the `--path` and
    /// `--host` it was asked with.
    pub fn from_control(control: &Control, fixture_root: bool) -> Environment {
        Environment {
            values: Values {
                path: control.path.clone(),
                host: control.host.clone(),
                etag: control.etag.clone(),
                last_modified: control.last_modified.clone(),
                length: control.length,
            },
            control_status: control.status,
            fixture_root,
            control_fields: control.fields.clone(),
            control_body: control
                .length
                .filter(|&n| n == control.body.len() as u64)
                .map(|_| control.body.clone()),
            persistent: control.persistent,
            tls: control.tls.is_some(),
            if_modified_since: control.if_modified_since == Some(true),
            if_unmodified_since: control.if_unmodified_since == Some(true),
            missing_status: control.missing_status,
            control_version: Some(control.version.clone()),
        }
    }

    /// What the checks of a step compare with: the control's answer, the
    /// outcome of the case's previous reading step, the bytes sent last.
    pub(crate) fn context<'a>(
        &'a self,
        previous: Option<&'a Outcome>,
        request: Option<&'a [u8]>,
    ) -> Context<'a> {
        Context {
            control_status: self.control_status,
            etag: self.values.etag.as_deref(),
            length: self.values.length,
            body: self.control_body.as_deref(),
            fields: &self.control_fields,
            previous,
            request,
            persistent: self.persistent,
            version: self.control_version.as_deref(),
        }
    }

    /// Why `case` does not apply to this target, if it does not.
    pub fn skip_reason(&self, case: &Case) -> Option<String> {
        case.needs.iter().find_map(|need| match need {
            Need::FixtureRoot if !self.fixture_root => Some(
                "needs the fixture docroot: run with --fixture-root against a server that \
                 serves fixtures/root"
                    .to_string(),
            ),
            Need::Etag if self.values.etag.is_none() => {
                Some("the control response has no ETag".to_string())
            }
            Need::LastModified if self.values.last_modified.is_none() => {
                Some("the control response has no Last-Modified".to_string())
            }
            Need::StrongEtag => match &self.values.etag {
                None => Some("the control response has no ETag".to_string()),
                Some(etag) if etag.starts_with("W/") => {
                    Some(format!("the control response's ETag {etag} is weak"))
                }
                Some(_) => None,
            },
            Need::IfModifiedSince if !self.if_modified_since => Some(
                "the control's If-Modified-Since of its own Last-Modified was not answered \
                 304: the target does not evaluate If-Modified-Since"
                    .to_string(),
            ),
            Need::IfUnmodifiedSince if !self.if_unmodified_since => Some(
                "the control's If-Unmodified-Since of 1994 was not answered 412: the target \
                 does not evaluate If-Unmodified-Since"
                    .to_string(),
            ),
            Need::MissingPath if !matches!(self.missing_status, Some(404 | 410)) => {
                Some(match self.missing_status {
                    Some(code) => format!(
                        "the control's GET of {MISSING_PATH} was answered {code}, not 404 or \
                         410: the target answers paths the catalogue takes for missing"
                    ),
                    None => format!("the control's GET of {MISSING_PATH} got no response"),
                })
            }
            Need::PlainTcp if self.tls => Some(
                "the target is reached over TLS: the case is about a request received over \
                 plain TCP"
                    .to_string(),
            ),
            _ => None,
        })
    }

    /// The bytes each step sends, filled in; a variable without a value is
    /// a reason to skip the case.
    pub(crate) fn fill(&self, case: &Case) -> Result<Vec<Option<Vec<u8>>>, String> {
        case.steps
            .iter()
            .map(|step| match &step.send {
                Some(template) => template.fill(&self.values).map(Some).map_err(missing_value),
                None => Ok(None),
            })
            .collect()
    }
}

fn missing_value(var: Var) -> String {
    match var {
        Var::Length => "the control response's length is not known".to_string(),
        other => format!("the control response gives no value for {other}"),
    }
}

impl RunOptions {
    /// The step deadline for `case`: the run's timeout, raised by the case's
    /// own `timeout_ms`, lowered to `timeout_cap`.
    pub(crate) fn timeout_for(&self, case: &Case) -> Duration {
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
    /// The bytes the step sent: its template filled in.
    pub sent: Option<Vec<u8>>,
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
    /// The worst of its steps' grades: `fail` over `error` over `warn`
    /// over `info` over `pass`.
    pub grade: Grade,
    /// One result per step of the case, in order; none for a skipped case.
    pub steps: Vec<StepResult>,
    /// Why the case was not run, for a case graded `skip`.
    pub skipped: Option<String>,
    /// Wall time of the whole case, pauses included.
    pub elapsed: Duration,
}

impl CaseResult<'_> {
    /// The steps that read a response, with their 1-based step numbers.
    pub(crate) fn reading_steps(&self) -> impl Iterator<Item = (usize, &Step, &StepResult)> {
        self.case
            .steps
            .iter()
            .zip(&self.steps)
            .enumerate()
            .filter(|(_, (step, _))| step.expect.is_some())
            .map(|(i, (step, result))| (i + 1, step, result))
    }
}

/// Runs one case on a new connection to `target`, or grades it `skip` when
/// it does not apply to the target ([`Environment::skip_reason`]).
pub fn run_case<'c>(
    target: impl Into<Endpoint>,
    case: &'c Case,
    options: &RunOptions,
) -> CaseResult<'c> {
    match play_case(&target.into(), case, options, &|| false) {
        Played::Done { result, .. } => result,
        Played::Halted => unreachable!("a case that is never stopped was halted"),
    }
}

/// How a case played under a run that can stop.
enum Played<'c> {
    /// The case ran to its end (or was skipped); `doubtful` when its
    /// connection was refused, or closed or reset with no answer: what a
    /// target that went away leaves.
    Done {
        result: CaseResult<'c>,
        doubtful: bool,
    },
    /// The run stopped while the case was under way.
    Halted,
}

/// [`run_case`] under a run that stops when `halted` says so.
fn play_case<'c>(
    target: &Endpoint,
    case: &'c Case,
    options: &RunOptions,
    halted: &dyn Fn() -> bool,
) -> Played<'c> {
    let started = Instant::now();
    let environment = &options.environment;
    let sends = match environment
        .skip_reason(case)
        .map_or_else(|| environment.fill(case), Err)
    {
        Ok(sends) => sends,
        Err(reason) => {
            let result = CaseResult {
                case,
                grade: Grade::Skip,
                steps: Vec::new(),
                skipped: Some(reason),
                elapsed: started.elapsed(),
            };
            return Played::Done {
                result,
                doubtful: false,
            };
        }
    };
    let plans: Vec<_> = case
        .steps
        .iter()
        .zip(&sends)
        .map(|(step, send)| step.plan(send.clone()))
        .collect();
    let played = wire::play_until(
        &options.transport,
        target,
        &plans,
        options.timeout_for(case),
        halted,
    );
    let (exchanges, refused) = match played {
        Ok(exchanges) => (exchanges, false),
        Err(Cut::Halted) => return Played::Halted,
        Err(Cut::NotConnected(e)) => (
            wire::not_connected(&plans, &e),
            matches!(e, wire::ConnectError::Refused(_)),
        ),
    };
    let unanswered = exchanges
        .iter()
        .any(|e| matches!(e.outcome, Some(Outcome::Closed | Outcome::Reset)));
    let recorded = sends.into_iter().zip(exchanges).collect();
    let mut result = grade_case(case, recorded, environment);
    result.elapsed = started.elapsed();
    Played::Done {
        result,
        doubtful: refused || unanswered,
    }
}

/// Grades a case from what its steps sent and got, without a socket: each
/// reading step against its `expect`, in the context of the control, the
/// step before and the last request sent. `run_case` plays the steps, then
/// calls this; a test can call it on recorded or altered exchanges.
pub fn grade_case<'c>(
    case: &'c Case,
    recorded: Vec<(Option<Vec<u8>>, Exchange)>,
    environment: &Environment,
) -> CaseResult<'c> {
    let mut steps: Vec<StepResult> = Vec::with_capacity(recorded.len());
    let mut previous: Option<usize> = None;
    let mut last_send: Option<usize> = None;
    for (step, (sent, exchange)) in case.steps.iter().zip(recorded) {
        if sent.is_some() {
            last_send = Some(steps.len());
        }
        let verdict = match (&step.expect, &exchange.outcome) {
            (Some(expect), Some(outcome)) => {
                let before = previous.and_then(|i| steps[i].exchange.outcome.as_ref());
                let request = match last_send {
                    Some(i) if i < steps.len() => steps[i].sent.as_deref(),
                    Some(_) => sent.as_deref(),
                    None => None,
                };
                Some(grade_step(
                    case.level,
                    expect,
                    outcome,
                    &environment.context(before, request),
                ))
            }
            _ => None,
        };
        if exchange.outcome.is_some() {
            previous = Some(steps.len());
        }
        steps.push(StepResult {
            sent,
            exchange,
            verdict,
        });
    }
    let grade = Grade::worst(
        steps
            .iter()
            .filter_map(|s| s.verdict.as_ref().map(|v| v.grade)),
    );
    CaseResult {
        case,
        grade,
        steps,
        skipped: None,
        elapsed: Duration::ZERO,
    }
}

/// What a run tells and asks while it goes: progress, a signal, a deadline.
pub trait Watch: Sync {
    /// Whether to start another case. Once it says no, the cases not yet
    /// started are left as not run; cases already started finish, each
    /// within its own step deadlines, unless [`Watch::halt`] says otherwise.
    fn go_on(&self) -> bool {
        true
    }
    /// Whether to abandon the cases under way: once it says yes, each ends
    /// within about 100 ms (every wait on a socket looks again that often),
    /// is never graded, and is listed as interrupted.
    fn halt(&self) -> bool {
        false
    }
    /// Called once for each finished case, from the worker that ran it.
    fn finished(&self, _result: &CaseResult<'_>) {}
}

/// A run nobody watches: it runs every case.
pub struct Unwatched;

impl Watch for Unwatched {}

/// A run that may have stopped early: the results of the cases that ran,
/// in the order of the cases, and the cases never started or abandoned.
#[derive(Debug, Clone)]
pub struct Partial<'c> {
    /// The cases that ran, in catalogue order.
    pub results: Vec<CaseResult<'c>>,
    /// The cases without a result, in catalogue order: not started because
    /// [`Watch::go_on`] said no or the target went away, or abandoned
    /// under way.
    pub not_run: Vec<&'c Case>,
    /// The cases of `not_run` that were under way when the run stopped
    /// ([`Watch::halt`], or the target went away), in catalogue order.
    pub interrupted: Vec<&'c Case>,
    /// When the target went away, if it did.
    pub gone: Option<Gone>,
}

/// The target stopped accepting connections during the run: a case's
/// connection was refused, or closed or reset without an answer, and two
/// fresh connects a moment apart were refused too ([`wire::refuses_twice`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone {
    /// How long after the first case started it was found gone.
    pub after: Duration,
}

/// Runs `cases` against `target` with `options.jobs` worker threads pulling
/// from a shared queue, and returns the results in the order of `cases`.
///
/// Each case gets its own connection; each step its own deadline
/// ([`RunOptions::timeout_for`]), so the whole run takes about the longest
/// case times `cases.len() / jobs`, not the sum of the timeouts.
pub fn run_cases<'c>(
    target: impl Into<Endpoint>,
    cases: &'c [Case],
    options: &RunOptions,
) -> Vec<CaseResult<'c>> {
    run_cases_watched(target, cases, options, &Unwatched).results
}

/// [`run_cases`], asking `watch` before each case whether to go on and
/// telling it of each finished case. A target that goes away ends the run
/// at once: the cases under way are abandoned, the rest not started.
pub fn run_cases_watched<'c>(
    target: impl Into<Endpoint>,
    cases: &'c [Case],
    options: &RunOptions,
    watch: &dyn Watch,
) -> Partial<'c> {
    let target = &target.into();
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let gone = AtomicBool::new(false);
    let gone_after: Mutex<Option<Duration>> = Mutex::new(None);
    let halted = || gone.load(Ordering::SeqCst) || watch.halt();
    let workers = options.jobs.clamp(1, cases.len().max(1));
    let mut results: Vec<Option<CaseResult<'c>>> = cases.iter().map(|_| None).collect();
    let mut abandoned = vec![false; cases.len()];
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    let mut cut = Vec::new();
                    while !gone.load(Ordering::SeqCst) && watch.go_on() {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(case) = cases.get(i) else {
                            break;
                        };
                        match play_case(target, case, options, &halted) {
                            Played::Halted => cut.push(i),
                            // The answer of a target going away is no verdict.
                            Played::Done { doubtful: true, .. }
                                if gone.load(Ordering::SeqCst)
                                    || wire::refuses_twice(target, options.timeout) =>
                            {
                                if !gone.swap(true, Ordering::SeqCst) {
                                    if let Ok(mut after) = gone_after.lock() {
                                        *after = Some(started.elapsed());
                                    }
                                }
                                cut.push(i);
                            }
                            Played::Done { result, .. } => {
                                watch.finished(&result);
                                done.push((i, result));
                            }
                        }
                    }
                    (done, cut)
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok((done, cut)) => {
                    for (i, result) in done {
                        results[i] = Some(result);
                    }
                    for i in cut {
                        abandoned[i] = true;
                    }
                }
                // A panic here is a bug in this crate; let it surface as one.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    let pick = |keep: &dyn Fn(usize) -> bool| -> Vec<&'c Case> {
        (0..cases.len())
            .filter(|&i| keep(i))
            .map(|i| &cases[i])
            .collect()
    };
    let not_run = pick(&|i| results[i].is_none());
    let interrupted = pick(&|i| abandoned[i]);
    Partial {
        results: results.into_iter().flatten().collect(),
        not_run,
        interrupted,
        gone: gone_after
            .into_inner()
            .ok()
            .flatten()
            .map(|after| Gone { after }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn case(timeout_ms: Option<u64>) -> Case {
        Case {
            id: "rfc9112-1-x".into(),
            aliases: Vec::new(),
            title: String::new(),
            group: crate::case::Group::Fields,
            rfc: "RFC 9112 §1".into(),
            url: String::new(),
            quote: String::new(),
            level: crate::case::Level::Must,
            explain: String::new(),
            timeout_ms,
            steps: Vec::new(),
            needs: Vec::new(),
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
    fn needs_the_target_lacks_then_skip_reason() {
        let mut needy = case(None);
        needy.needs = vec![Need::FixtureRoot];
        let environment = Environment::default();
        assert_eq!(
            environment.skip_reason(&needy).as_deref(),
            Some(
                "needs the fixture docroot: run with --fixture-root against a server that \
                 serves fixtures/root"
            )
        );
        let fixture = Environment {
            fixture_root: true,
            ..Environment::default()
        };
        assert_eq!(fixture.skip_reason(&needy), None);
        needy.needs = vec![Need::LastModified];
        assert_eq!(
            fixture.skip_reason(&needy).as_deref(),
            Some("the control response has no Last-Modified")
        );
        needy.needs = vec![Need::PlainTcp];
        assert_eq!(fixture.skip_reason(&needy), None);
        let over_tls = Environment {
            tls: true,
            ..Environment::default()
        };
        assert_eq!(
            over_tls.skip_reason(&needy).as_deref(),
            Some("the target is reached over TLS: the case is about a request received over plain TCP")
        );
    }

    #[test]
    fn strong_etag_need_then_weak_or_missing_etag_skips() {
        let mut needy = case(None);
        needy.needs = vec![Need::StrongEtag];
        let mut environment = Environment::default();
        assert!(environment.skip_reason(&needy).is_some());
        environment.values.etag = Some("W/\"x\"".into());
        assert_eq!(
            environment.skip_reason(&needy).as_deref(),
            Some("the control response's ETag W/\"x\" is weak")
        );
        environment.values.etag = Some("\"x\"".into());
        assert_eq!(environment.skip_reason(&needy), None);
    }

    #[test]
    fn fill_then_each_step_filled_and_a_missing_length_named() {
        let mut templated = case(None);
        let send = crate::escape::decode_template("GET {path} HTTP/1.1\\r\\nX: {length}").unwrap();
        templated.steps = vec![
            Step {
                pause_ms: 0,
                send: Some(send),
                send_source: None,
                expect: None,
            },
            Step {
                pause_ms: 0,
                send: None,
                send_source: None,
                expect: None,
            },
        ];
        let mut environment = Environment::default();
        assert_eq!(
            environment.fill(&templated),
            Err("the control response's length is not known".to_string())
        );
        environment.values.length = Some(7);
        assert_eq!(
            environment.fill(&templated),
            Ok(vec![Some(b"GET / HTTP/1.1\r\nX: 7".to_vec()), None])
        );
    }

    #[test]
    fn timeout_cap_then_lowers_case_timeout() {
        let options = RunOptions {
            timeout: Duration::from_millis(300),
            jobs: 1,
            timeout_cap: Some(Duration::from_millis(500)),
            ..RunOptions::default()
        };
        assert_eq!(
            options.timeout_for(&case(Some(3000))),
            Duration::from_millis(500)
        );
    }

    /// Stops after `after` finished cases.
    struct StopAfter {
        after: usize,
        finished: AtomicUsize,
    }

    impl Watch for StopAfter {
        fn go_on(&self) -> bool {
            self.finished.load(Ordering::SeqCst) < self.after
        }
        fn finished(&self, _result: &CaseResult<'_>) {
            self.finished.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn watch_says_stop_then_rest_not_run_in_order() {
        // Cases that need the fixture docroot are skipped without a connect.
        let cases: Vec<Case> = (0..5)
            .map(|i| {
                let mut c = case(None);
                c.id = format!("rfc9112-1-x{i}");
                c.needs = vec![Need::FixtureRoot];
                c
            })
            .collect();
        let options = RunOptions {
            jobs: 1,
            ..RunOptions::default()
        };
        let nowhere: std::net::SocketAddr = ([127, 0, 0, 1], 9).into();
        let watch = StopAfter {
            after: 2,
            finished: AtomicUsize::new(0),
        };
        let partial = run_cases_watched(nowhere, &cases, &options, &watch);
        let ran: Vec<&str> = partial.results.iter().map(|r| r.case.id.as_str()).collect();
        let not_run: Vec<&str> = partial.not_run.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ran, ["rfc9112-1-x0", "rfc9112-1-x1"]);
        assert_eq!(not_run, ["rfc9112-1-x2", "rfc9112-1-x3", "rfc9112-1-x4"]);
    }
}
