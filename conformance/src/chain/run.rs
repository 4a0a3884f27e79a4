//! Running chain cases: the client's steps against the front, the
//! origin's recording of what the front forwarded, and the findings of
//! both ends and of the pair, many cases at once.

use super::desync::find_desync;
use super::model::{ChainCase, Evidence, Finding, Hop, Role, Rule};
use super::origin::{mark_of, Origin, Recording, MARK_FIELD, PATH_PREFIX, UNSOLICITED};
use super::rules::{check_content, check_rule};
use crate::case::Level;
use crate::report::describe_expect;
use crate::run::{grade_case, CaseResult, Environment, Watch};
use crate::template::Values;
use crate::verdict::Grade;
use crate::wire::{self, Outcome, Response, Transport};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long the origin must be silent after a case's last step before its
/// recording is read: the front forwards a case's bytes together, well
/// within this on any host.
pub const SETTLE: Duration = Duration::from_millis(50);

/// How chain cases run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainOptions {
    /// The deadline of each client step; a case's `timeout_ms` raises it.
    pub timeout: Duration,
    /// How many cases run at once.
    pub jobs: usize,
    /// The Host value the client sends (`{host}`).
    pub host: String,
    /// What the front is: cases binding another role are skipped
    /// (`intermediary` cases always run).
    pub roles: Vec<Role>,
    /// How long the origin must be silent before a case's recording is read.
    pub settle: Duration,
    /// Names the run's tokens apart from other runs' (for caches).
    pub run_id: String,
    /// The HTTP-version the front forwarded the control request with (an
    /// HTTP/1.1 GET): its own outbound version, what a `version =
    /// "forwarded"` rule wants; `None` before the control, taken as
    /// `HTTP/1.1`.
    pub forwarded_version: Option<String>,
}

impl Default for ChainOptions {
    fn default() -> Self {
        ChainOptions {
            timeout: crate::limits::DEFAULT_TIMEOUT,
            jobs: crate::limits::DEFAULT_JOBS,
            host: crate::template::DEFAULT_HOST.to_string(),
            roles: vec![Role::Gateway],
            settle: SETTLE,
            run_id: run_id(),
            forwarded_version: None,
        }
    }
}

/// A short id for this run: its tokens start with it.
pub fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{:08x}",
        (nanos as u32) ^ std::process::id().rotate_left(16)
    )
}

/// The result of one chain case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainResult<'c> {
    /// The case.
    pub chain: &'c ChainCase,
    /// The client's side graded as `run` grades a case; its `grade` is the
    /// case's, findings of every hop included.
    pub result: CaseResult<'c>,
    /// The token in the case's path and in the origin's marks.
    pub token: String,
    /// Who answered each reading step, in step order (`None`: no response).
    pub answered_by: Vec<Option<Hop>>,
    /// What was wrong, each at its hop.
    pub findings: Vec<Finding>,
    /// What the origin recorded for the case.
    pub recording: Recording,
}

/// The grade a broken requirement of `level` makes.
pub(crate) fn failing(level: Level) -> Grade {
    match level {
        Level::Must => Grade::Fail,
        Level::Should | Level::May => Grade::Warn,
        Level::Info => Grade::Info,
    }
}

/// Who wrote `response`: the origin (its mark with this case's token and
/// an answer number), the front (no mark), or neither alone (another
/// case's mark, or the bytes after an answer).
pub fn answered_by(response: &Response, token: &str) -> Hop {
    match mark_of(response) {
        None => Hop::Front,
        Some(mark) => match mark.split_once(' ') {
            Some((t, n)) if t == token && n != UNSOLICITED => Hop::Origin,
            _ => Hop::Pair,
        },
    }
}

/// The environment a case's templates are filled from: its own path, the
/// Host value, and the origin's default answer as the control.
fn environment(token: &str, host: &str) -> Environment {
    Environment {
        values: Values {
            path: format!("{PATH_PREFIX}{token}"),
            host: host.to_string(),
            ..Values::default()
        },
        control_status: 200,
        persistent: true,
        control_version: Some("HTTP/1.1".into()),
        ..Environment::default()
    }
}

/// The `version` a rule on the origin's side names to want the version
/// the front forwarded the control with.
pub const FORWARDED_VERSION: &str = "forwarded";

/// Runs one chain case: registers its answer with the origin, plays the
/// client's steps against `front`, reads what the origin recorded, and
/// grades both ends and the pair.
pub fn run_chain_case<'c>(
    front: SocketAddr,
    origin: &Origin,
    chain: &'c ChainCase,
    token: &str,
    options: &ChainOptions,
) -> ChainResult<'c> {
    let started = Instant::now();
    let case = &chain.case;
    let environment = environment(token, &options.host);
    let skip = |reason: String| ChainResult {
        chain,
        result: CaseResult {
            case,
            grade: Grade::Skip,
            steps: Vec::new(),
            skipped: Some(reason),
            elapsed: started.elapsed(),
        },
        token: token.to_string(),
        answered_by: Vec::new(),
        findings: Vec::new(),
        recording: Recording::default(),
    };
    if chain.role != Role::Intermediary && !options.roles.contains(&chain.role) {
        let given: Vec<&str> = options.roles.iter().map(|r| r.as_str()).collect();
        return skip(format!(
            "binds a {}; the front is taken for a {} (--role)",
            chain.role,
            given.join(" and ")
        ));
    }
    if let Some(role) = chain.exempt.iter().find(|r| options.roles.contains(r)) {
        return skip(format!(
            "the requirement exempts a {role}, and the front is taken for one (--role)"
        ));
    }
    let sends = match environment
        .skip_reason(case)
        .map_or_else(|| environment.fill(case), Err)
    {
        Ok(sends) => sends,
        Err(reason) => return skip(reason),
    };
    let plans: Vec<_> = case
        .steps
        .iter()
        .zip(&sends)
        .map(|(step, send)| step.plan(send.clone()))
        .collect();
    let timeout = options.timeout.max(
        case.timeout_ms
            .map_or(Duration::ZERO, Duration::from_millis),
    );
    origin.register(token, chain.origin.script.clone());
    let exchanges = wire::play_over(&Transport::Tcp, front, &plans, timeout);
    origin.settle(token, options.settle, timeout);
    let recording = origin.take(token);
    let sent: Vec<u8> = sends.iter().flatten().flatten().copied().collect();
    let mut result = grade_case(
        case,
        sends.into_iter().zip(exchanges).collect(),
        &environment,
    );
    let grade = failing(case.level);
    let mut findings = Vec::new();
    let mut answered = Vec::new();
    let mut finals: Vec<&Response> = Vec::new();
    // Whether the front answered a request with a final response of its own.
    let mut front_final = false;
    for (number, step, step_result) in result.reading_steps() {
        let response = match &step_result.exchange.outcome {
            Some(Outcome::Response(r)) => Some(r),
            _ => None,
        };
        let hop = match response {
            Some(r) => Some(answered_by(r, token)),
            None => raw_hop(&step_result.exchange.received, token),
        };
        answered.push(hop);
        if let Some(r) = response.filter(|_| hop == Some(Hop::Front)) {
            // What the front must not answer itself.
            for rule in &chain.front_answers {
                if let Err(problem) =
                    check_rule(rule, &super::message::response_head(r), &environment.values)
                {
                    findings.push(Finding {
                        hop: Hop::Front,
                        grade,
                        what: format!("step {number}: the front's own answer: {problem}"),
                        evidence: vec![received(number, r)],
                    });
                }
            }
        }
        if let Some(r) = response.filter(|r| !(100..200).contains(&r.code) || r.code == 101) {
            finals.push(r);
            front_final |= hop == Some(Hop::Front);
            // What the client must read binds what the front relays; its
            // own answers are the client's expectations' to judge.
            let rules = if hop == Some(Hop::Origin) {
                chain.client_receives.as_slice()
            } else {
                &[]
            };
            for rule in rules {
                let checked =
                    check_rule(rule, &super::message::response_head(r), &environment.values)
                        .and_then(|()| {
                            let whole = r.body_end == wire::BodyEnd::Complete;
                            check_content(rule, whole.then_some(r.body.as_slice()))
                        });
                if let Err(problem) = checked {
                    findings.push(Finding {
                        hop: hop.unwrap_or(Hop::Front),
                        grade,
                        what: format!("step {number}: the response the client read: {problem}"),
                        evidence: vec![received(number, r)],
                    });
                }
            }
        }
        let (Some(verdict), Some(expect)) = (&step_result.verdict, &step.expect) else {
            continue;
        };
        if matches!(verdict.grade, Grade::Fail | Grade::Warn) {
            let outcome = step_result
                .exchange
                .outcome
                .as_ref()
                .map_or_else(String::new, |o| {
                    crate::report::describe::describe_outcome(o)
                });
            let mut what = format!(
                "step {number}: {outcome} (acceptable: {})",
                describe_expect(expect)
            );
            for (check, problem) in verdict.broken_checks() {
                what.push_str(&format!("; broken check {check}: {problem}"));
            }
            findings.push(Finding {
                hop: hop.unwrap_or(Hop::Front),
                grade: verdict.grade,
                what,
                evidence: match response {
                    Some(r) => vec![received(number, r)],
                    None if !step_result.exchange.received.is_empty() => vec![Evidence {
                        label: format!("client received (step {number})"),
                        bytes: step_result.exchange.received.clone(),
                    }],
                    None => Vec::new(),
                },
            });
        }
    }
    findings.extend(origin_findings(
        chain,
        &recording,
        &environment.values,
        options.forwarded_version.as_deref().unwrap_or("HTTP/1.1"),
        grade,
        front_final,
    ));
    findings.extend(find_desync(token, &sent, &finals, &recording, grade));
    result.grade =
        Grade::worst(std::iter::once(result.grade).chain(findings.iter().map(|f| f.grade)));
    result.elapsed = started.elapsed();
    ChainResult {
        chain,
        result,
        token: token.to_string(),
        answered_by: answered,
        findings,
        recording,
    }
}

/// Who sent bytes the client could not read as a response: the origin
/// when they carry its mark for this case, else the front.
fn raw_hop(received: &[u8], token: &str) -> Option<Hop> {
    if received.is_empty() {
        return None;
    }
    let mark = format!("{MARK_FIELD}: {token} ");
    let marked = received
        .windows(mark.len())
        .any(|w| w.eq_ignore_ascii_case(mark.as_bytes()));
    Some(if marked { Hop::Origin } else { Hop::Front })
}

fn received(step: usize, response: &Response) -> Evidence {
    Evidence {
        label: format!("client received (step {step})"),
        bytes: response.head.clone(),
    }
}

/// What the origin's side of the case says of what arrived: whether the
/// request was to arrive at all (`front_final`: the front answered a
/// request itself), and the rules on each request that did.
fn origin_findings(
    chain: &ChainCase,
    recording: &Recording,
    values: &Values,
    forwarded_version: &str,
    grade: Grade,
    front_final: bool,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let arrived = |a: &super::origin::Arrival| Evidence {
        label: format!("origin received (connection {})", a.connection),
        bytes: a.head.raw.clone(),
    };
    match (chain.origin.forwarded, recording.arrivals.first()) {
        (Some(true), None) if chain.origin.unless_answered && front_final => {}
        (Some(true), None) => findings.push(Finding {
            hop: Hop::Front,
            grade,
            what: "nothing reached the origin: the front did not forward the request".into(),
            evidence: Vec::new(),
        }),
        (Some(false), Some(first)) => findings.push(Finding {
            hop: Hop::Front,
            grade,
            what: format!(
                "the front forwarded {} to the origin",
                crate::escape::encode(first.head.start_line())
            ),
            evidence: vec![arrived(first)],
        }),
        _ => {}
    }
    for arrival in &recording.arrivals {
        let content = arrival
            .body
            .as_deref()
            .and_then(|body| super::message::request_content(&arrival.head, body));
        for rule in &chain.origin.receives {
            // `version = "forwarded"`: the version the front forwards with
            // when the client speaks HTTP/1.1, its own.
            let own;
            let rule = match rule {
                Rule::Version(want) if want == FORWARDED_VERSION => {
                    own = Rule::Version(forwarded_version.to_string());
                    &own
                }
                rule => rule,
            };
            let checked = check_rule(rule, &arrival.head, values)
                .and_then(|()| check_content(rule, content.as_deref()));
            if let Err(problem) = checked {
                findings.push(Finding {
                    hop: Hop::Front,
                    grade,
                    what: format!(
                        "the origin received {}: {problem}",
                        crate::escape::encode(arrival.head.start_line())
                    ),
                    evidence: vec![arrived(arrival)],
                });
            }
        }
    }
    findings
}

/// The cases a run started, in catalogue order, and those it never did.
#[derive(Debug, Clone)]
pub struct ChainPartial<'c> {
    /// The results, in the order of the cases.
    pub results: Vec<ChainResult<'c>>,
    /// The cases not started because the watch said stop.
    pub not_run: Vec<&'c ChainCase>,
}

/// Runs `cases` against `front` with `origin` behind it, `options.jobs` at
/// once, asking `watch` before each case whether to go on.
pub fn run_chain_cases<'c>(
    front: SocketAddr,
    origin: &Origin,
    cases: &'c [ChainCase],
    options: &ChainOptions,
    watch: &dyn Watch,
) -> ChainPartial<'c> {
    let (results, not_run) = run_each(cases, options, watch, |case, token| {
        let result = run_chain_case(front, origin, case, token, options);
        watch.finished(&result.result);
        result
    });
    ChainPartial { results, not_run }
}

/// Runs `run` on each of `cases` with its token, `options.jobs` at once,
/// asking `watch` before each case whether to go on: the results of the
/// cases started, in the order of the cases, and the cases never started.
pub(crate) fn run_each<'c, C: Sync, R: Send>(
    cases: &'c [C],
    options: &ChainOptions,
    watch: &dyn Watch,
    run: impl Fn(&'c C, &str) -> R + Sync,
) -> (Vec<R>, Vec<&'c C>) {
    let next = AtomicUsize::new(0);
    let workers = options.jobs.clamp(1, cases.len().max(1));
    let mut results: Vec<Option<R>> = cases.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while watch.go_on() {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(case) = cases.get(i) else { break };
                        // Tokens have one length, so `{path}` has one too (32
                        // characters): a case's Content-Length can count it.
                        let token = format!("{}-{:04}", options.run_id, (i + 1) % 10_000);
                        done.push((i, run(case, &token)));
                    }
                    done
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
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    let not_run = cases
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_none())
        .map(|(c, _)| c)
        .collect();
    (results.into_iter().flatten().collect(), not_run)
}

/// What the control through the front found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrontControl {
    /// The request reached the origin and its answer came back through the
    /// front: the line to show, and the HTTP-version the request arrived
    /// with (the front's own outbound version).
    Relayed(String, Option<String>),
    /// The front could not be reached, or answered nothing HTTP: why.
    Unreachable(String),
    /// The front answered, but not with the origin's answer: why.
    NotForwarding(String),
}

/// One GET through the front to the origin before any case, so that a
/// front that is down or not forwarding to the origin ends the run in one
/// line instead of a catalogue of wrong verdicts.
pub fn control_front(front: SocketAddr, origin: &Origin, options: &ChainOptions) -> FrontControl {
    let token = format!("{}-control", options.run_id);
    let request = format!(
        "GET {PATH_PREFIX}{token} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        options.host
    );
    let script = super::model::Script {
        response: super::parse::decode_pieces(super::model::DEFAULT_RESPONSE).unwrap_or_default(),
        ..super::model::Script::default()
    };
    origin.register(&token, script);
    let plan = wire::StepPlan {
        send: Some(request.into_bytes()),
        read: Some(wire::ReadPlan::default()),
        ..wire::StepPlan::default()
    };
    let exchange = wire::play_over(&Transport::Tcp, front, &[plan], options.timeout).remove(0);
    origin.settle(&token, options.settle, options.timeout);
    let recording = origin.take(&token);
    let origin_addr = origin.local_addr();
    match exchange.outcome {
        Some(Outcome::Response(r)) if answered_by(&r, &token) == Hop::Origin => {
            FrontControl::Relayed(
                format!(
                    "control: GET {PATH_PREFIX}{token} reached the origin at {origin_addr}; the \
                     front relayed its answer: {}",
                    crate::report::describe::describe_outcome(&Outcome::Response(r))
                ),
                recording.arrivals.first().map(|a| a.head.version.clone()),
            )
        }
        Some(Outcome::Response(r)) => FrontControl::NotForwarding(format!(
            "the front answered the control GET {PATH_PREFIX}{token} with {} itself{}: configure \
             it to forward to the origin at {origin_addr}",
            crate::report::describe::describe_outcome(&Outcome::Response(r)),
            if recording.arrivals.is_empty() {
                " and nothing reached the origin"
            } else {
                ", not with the origin's answer"
            }
        )),
        Some(Outcome::Error(why)) => {
            FrontControl::Unreachable(format!("cannot reach the front: {why}"))
        }
        Some(other) => FrontControl::Unreachable(format!(
            "the front answered the control GET with no HTTP response: {}",
            crate::report::describe::describe_outcome(&other)
        )),
        None => FrontControl::Unreachable("the control read nothing".into()),
    }
}
