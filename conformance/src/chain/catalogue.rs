//! The ordinary catalogue through a front (`chain --catalogue`): every case
//! that `run` grades against a server, sent to the front, with the origin
//! behind it serving the fixture docroot as the reference server does
//! ([`super::docroot`]). Each case is graded as `run` grades it; then each
//! answer the client read is attributed by the origin's mark on it — the
//! **front** answered itself, the **origin**'s answer was relayed, or the
//! answer belongs to another request (the **pair**: a desync) — and the
//! requests the origin received are set beside those the client sent.
//!
//! The origin conforms to every case by construction, so a failing answer
//! it wrote is the front's doing: it forwarded what it should have refused
//! or answered itself, or changed the request or the answer on the way.
//! A case whose failing step read no answer (a timeout, a close) cannot be
//! attributed: its hop is unknown.

use super::desync::{client_view, find_in_content, Sent};
use super::message::{read_request, read_response, Head, Read};
use super::model::{Evidence, Hop};
use super::origin::{mark_of, Origin, Taken, MARK_FIELD, PATH_PREFIX, UNTAGGED};
use super::run::{run_each, ChainOptions};
use crate::case::Case;
use crate::escape;
use crate::report::describe::describe_outcome;
use crate::report::describe_expect;
use crate::run::{grade_case, CaseResult, Environment, Watch};
use crate::verdict::Grade;
use crate::wire::{self, Outcome, Response, Transport};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// What the mark of an answer to bytes that were no request says.
const NO_REQUEST: &str = "none";

/// One thing wrong with an ordinary case through the front, at its hop:
/// `None` when no answer could be attributed (a timeout, a close).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The hop it is about, if known.
    pub hop: Option<Hop>,
    /// `fail` or `warn`.
    pub grade: Grade,
    /// What was wrong, in one sentence (bytes from a peer escaped).
    pub what: String,
    /// The bytes on each side.
    pub evidence: Vec<Evidence>,
}

/// Who answered one reading step, and what passed between the hops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepHop {
    /// The step's number, from 1.
    pub step: usize,
    /// Who wrote the answer the step read; `None`: it read no answer.
    pub hop: Option<Hop>,
    /// The request the answer is the origin's answer to: its place in the
    /// case's recording.
    pub arrival: Option<usize>,
    /// What passed between the hops, for people: what the origin received
    /// and answered, or that nothing reached it.
    pub story: String,
}

/// The result of one ordinary case through the front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributed<'c> {
    /// The case graded as `run` grades it; its `grade` is raised by a
    /// desync found at the pair.
    pub result: CaseResult<'c>,
    /// The token in the case's `{path}` and in the origin's marks.
    pub token: String,
    /// The case's hop: the pair's when a desync was found, else the hop of
    /// the step that decided its grade; `None` when that step read no
    /// answer.
    pub hop: Option<Hop>,
    /// Who answered each reading step, in step order.
    pub steps: Vec<StepHop>,
    /// What was wrong, each at its hop.
    pub findings: Vec<Found>,
    /// What the origin recorded for the case, and what it answered.
    pub taken: Taken,
}

/// The `{path}` of the case with `token`: the docroot's `/`, under the
/// token that tells the case's requests apart at the origin.
pub fn case_path(token: &str) -> String {
    format!("{PATH_PREFIX}{token}/")
}

/// Runs one ordinary case against `front`: plays its steps with `{path}`
/// under the case's token, grades them as `run` does in `base` (what the
/// control through the front learned), reads what the origin recorded,
/// and attributes every answer.
pub fn run_ordinary_case<'c>(
    front: SocketAddr,
    origin: &Origin,
    case: &'c Case,
    token: &str,
    base: &Environment,
    options: &ChainOptions,
) -> Attributed<'c> {
    let started = Instant::now();
    let mut environment = base.clone();
    environment.values.path = case_path(token);
    let sends = match environment
        .skip_reason(case)
        .map_or_else(|| environment.fill(case), Err)
    {
        Ok(sends) => sends,
        Err(reason) => {
            return Attributed {
                result: CaseResult {
                    case,
                    grade: Grade::Skip,
                    steps: Vec::new(),
                    skipped: Some(reason),
                    elapsed: started.elapsed(),
                },
                token: token.to_string(),
                hop: None,
                steps: Vec::new(),
                findings: Vec::new(),
                taken: Taken::default(),
            }
        }
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
    let exchanges = wire::play_over(&Transport::Tcp, front, &plans, timeout);
    origin.settle(token, options.settle, timeout);
    let sent: Vec<u8> = sends.iter().flatten().flatten().copied().collect();
    let received: Vec<u8> = exchanges
        .iter()
        .flat_map(|e| e.received.iter().copied())
        .collect();
    let view = client_view(&sent);
    let taken = origin.take_named(token, &named(&received), &|arrival| {
        find_in_content(&sent, &view, &arrival.head.target).is_some()
    });
    let result = grade_case(
        case,
        sends.into_iter().zip(exchanges).collect(),
        &environment,
    );
    let mut attributed = attribute(result, token, &sent, taken);
    attributed.result.elapsed = started.elapsed();
    attributed
}

/// The request numbers the marks `untagged N` in `received` name.
fn named(received: &[u8]) -> Vec<usize> {
    let mark = format!("{MARK_FIELD}: {UNTAGGED} ");
    let mut places = Vec::new();
    let mut at = 0;
    while let Some(found) = received[at..]
        .windows(mark.len())
        .position(|w| w.eq_ignore_ascii_case(mark.as_bytes()))
    {
        at += found + mark.len();
        let digits: String = received[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .map(|&b| char::from(b))
            .collect();
        if let Ok(place) = digits.parse() {
            places.push(place);
        }
    }
    places
}

/// The client's requests: each as [`client_view`] splits them, with its head.
fn client_heads(sent: &[u8], view: &[Sent]) -> Vec<Head> {
    let mut pos = 0;
    let mut heads = Vec::new();
    for s in view {
        if let Read::Head(head, _) = read_request(&sent[pos.min(sent.len())..]) {
            heads.push(head);
        }
        pos = s.content_end.max(pos + 1);
    }
    heads
}

/// A request-target in origin-form: an absolute-form's path and query.
fn origin_form(target: &str) -> &str {
    match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |at| &rest[at..]),
        None => target,
    }
}

/// How the origin's requests stand to the client's: for each arrival, the
/// client request it is (by target, else in order), or that the client
/// sent its bytes as content (`smuggled`), or that it came once too often.
struct Matching {
    /// For each arrival, the client request it is.
    request: Vec<Option<usize>>,
    /// For each arrival: the client sent it as content of this request.
    smuggled: Vec<Option<usize>>,
}

fn match_arrivals(sent: &[u8], view: &[Sent], taken: &Taken) -> Matching {
    let arrivals = &taken.recording.arrivals;
    let mut used = vec![false; view.len()];
    let mut request = vec![None; arrivals.len()];
    let mut smuggled = vec![None; arrivals.len()];
    for (i, arrival) in arrivals.iter().enumerate() {
        let target = origin_form(&arrival.head.target);
        if let Some(k) =
            (0..view.len()).find(|&k| !used[k] && origin_form(&view[k].target) == target)
        {
            used[k] = true;
            request[i] = Some(k);
        }
    }
    for (i, arrival) in arrivals.iter().enumerate() {
        if request[i].is_some() {
            continue;
        }
        if let Some(carrier) = find_in_content(sent, view, &arrival.head.target) {
            smuggled[i] = view.iter().position(|s| std::ptr::eq(s, carrier));
            continue;
        }
        // A target the front rewrote: the client's next request not matched.
        if let Some(k) = (0..view.len()).find(|&k| !used[k]) {
            used[k] = true;
            request[i] = Some(k);
        }
    }
    Matching { request, smuggled }
}

/// How `to` differs from `from`, two heads of one message, field by field:
/// the names added, removed and changed; empty when alike. The start line
/// is the caller's to compare.
pub fn changes(from: &Head, to: &Head) -> Vec<String> {
    if from.raw == to.raw {
        return Vec::new();
    }
    let mut names: Vec<String> = Vec::new();
    for (name, _) in from.fields.iter().chain(&to.fields) {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            names.push(name.clone());
        }
    }
    let (mut added, mut removed, mut changed) = (Vec::new(), Vec::new(), Vec::new());
    for name in &names {
        let before: Vec<&[u8]> = from.values(name).collect();
        let after: Vec<&[u8]> = to.values(name).collect();
        let shown = escape::encode(name.as_bytes());
        match (before.is_empty(), after.is_empty()) {
            (true, false) => added.push(shown),
            (false, true) => removed.push(shown),
            _ if before != after => changed.push(shown),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (list, what) in [(added, "added"), (removed, "removed"), (changed, "changed")] {
        if !list.is_empty() {
            out.push(format!("{} {what}", list.join(", ")));
        }
    }
    if out.is_empty() && from.start_line() == to.start_line() {
        out.push("the same fields, written otherwise".into());
    }
    out
}

/// How a message passed a hop: `unchanged`, or `as LINE` when its start
/// line changed, and `with X added; Y removed`.
fn passed(from: &Head, to: &Head) -> String {
    let mut out = Vec::new();
    if from.start_line() != to.start_line() {
        out.push(format!("as {}", escape::encode(to.start_line())));
    }
    let fields = changes(from, to);
    if !fields.is_empty() {
        out.push(format!("with {}", fields.join("; ")));
    }
    if out.is_empty() {
        "unchanged".into()
    } else {
        out.join(" ")
    }
}

/// Attributes every answer of a graded case and finds its desyncs.
fn attribute<'c>(
    mut result: CaseResult<'c>,
    token: &str,
    sent: &[u8],
    taken: Taken,
) -> Attributed<'c> {
    let view = client_view(sent);
    let heads = client_heads(sent, &view);
    let matching = match_arrivals(sent, &view, &taken);
    let arrivals = &taken.recording.arrivals;
    let line = |i: usize| escape::encode(arrivals[i].head.start_line());
    let evidence_sent = || Evidence {
        label: "client sent".into(),
        bytes: sent.to_vec(),
    };
    let origin_received = |i: usize| Evidence {
        label: format!("origin received (connection {})", arrivals[i].connection),
        bytes: arrivals[i].head.raw.clone(),
    };
    let mut findings = Vec::new();
    // The origin's arrivals the client did not send as requests.
    for (i, carrier) in matching.smuggled.iter().enumerate() {
        if let Some(k) = carrier {
            let carrier = &view[*k];
            let connection = arrivals[i].connection;
            findings.push(Found {
                hop: Some(Hop::Pair),
                grade: Grade::Fail,
                what: format!(
                    "bytes the client sent as the content of {} ({}) arrived at the origin as a \
                     request: {}",
                    escape::encode(&carrier.line),
                    carrier.framing,
                    line(i)
                ),
                evidence: vec![evidence_sent(), connection_bytes(&taken, connection)],
            });
        }
    }
    for (i, arrival) in arrivals.iter().enumerate() {
        let ours = arrival.token.as_deref() == Some(token);
        if ours && matching.request[i].is_none() && matching.smuggled[i].is_none() {
            findings.push(Found {
                hop: Some(Hop::Pair),
                grade: Grade::Fail,
                what: format!(
                    "the origin received {} once more than the client sent it: one request \
                     forwarded twice",
                    line(i)
                ),
                evidence: vec![
                    evidence_sent(),
                    connection_bytes(&taken, arrival.connection),
                ],
            });
        }
    }
    let mut steps = Vec::new();
    let mut finals = 0;
    for (number, step, step_result) in result.reading_steps() {
        let response = match &step_result.exchange.outcome {
            Some(Outcome::Response(r)) => Some(r),
            _ => None,
        };
        let asked = view.get(finals).map_or_else(
            || "no request the client sent".to_string(),
            |s| escape::encode(&s.line),
        );
        if response.is_some_and(|r| !(100..200).contains(&r.code) || r.code == 101) {
            finals += 1;
        }
        let (hop, arrival, mark) = match response {
            Some(r) => answered(r, token, &taken, &matching),
            None => match &step_result.exchange.outcome {
                Some(Outcome::Invalid { .. }) => {
                    let marked = !named(&step_result.exchange.received).is_empty()
                        || find(&step_result.exchange.received, MARK_FIELD.as_bytes());
                    (
                        Some(if marked { Hop::Origin } else { Hop::Front }),
                        None,
                        None,
                    )
                }
                _ => (None, None, None),
            },
        };
        let outcome = step_result
            .exchange
            .outcome
            .as_ref()
            .map_or_else(|| "-".to_string(), describe_outcome);
        let whose = match (hop, arrival, mark.as_deref()) {
            (Some(Hop::Pair), Some(i), _) => format!(
                "the origin's answer to {}, bytes the client sent as content",
                line(i)
            ),
            (Some(Hop::Pair), None, Some(mark)) => format!(
                "the origin's answer to a request this case did not send ({MARK_FIELD}: {})",
                escape::encode(mark.as_bytes())
            ),
            _ => String::new(),
        };
        let story = match hop {
            Some(Hop::Pair) => format!("pair: {outcome} ({whose})"),
            _ => story(hop, arrival, response, &heads, &matching, &taken, &outcome),
        };
        let failing = step_result
            .verdict
            .as_ref()
            .is_some_and(|v| matches!(v.grade, Grade::Fail | Grade::Warn));
        if hop == Some(Hop::Pair) && !failing {
            let mut evidence = vec![evidence_sent()];
            if let Some(r) = response {
                evidence.push(client_received(number, r));
            }
            findings.push(Found {
                hop: Some(Hop::Pair),
                grade: Grade::Fail,
                what: format!("step {number}: the answer read for {asked} is {whose}"),
                evidence,
            });
        }
        let verdict = step_result.verdict.as_ref();
        if let (Some(verdict), Some(expect)) = (verdict, &step.expect) {
            if matches!(verdict.grade, Grade::Fail | Grade::Warn) {
                let mut what = format!(
                    "step {number}: {outcome} (acceptable: {})",
                    describe_expect(expect)
                );
                for (check, problem) in verdict.broken_checks() {
                    what.push_str(&format!("; broken check {check}: {problem}"));
                }
                what.push_str(&format!("; {}", blame(hop, &story)));
                let mut evidence = vec![evidence_sent()];
                if let Some(i) = arrival {
                    evidence.push(origin_received(i));
                    if let Some(head) = &taken.answers[i] {
                        evidence.push(Evidence {
                            label: "origin answered".into(),
                            bytes: head.clone(),
                        });
                    }
                }
                match response {
                    Some(r) => evidence.push(client_received(number, r)),
                    None if !step_result.exchange.received.is_empty() => evidence.push(Evidence {
                        label: format!("client received (step {number})"),
                        bytes: step_result.exchange.received.clone(),
                    }),
                    None => {}
                }
                findings.push(Found {
                    hop,
                    grade: verdict.grade,
                    what,
                    evidence,
                });
            }
        }
        steps.push(StepHop {
            step: number,
            hop,
            arrival,
            story,
        });
    }
    let deciding = result
        .reading_steps()
        .zip(&steps)
        .find(|((_, _, s), _)| s.verdict.as_ref().map(|v| v.grade) == Some(result.grade))
        .and_then(|(_, s)| s.hop);
    let desync = findings.iter().any(|f| f.hop == Some(Hop::Pair));
    result.grade =
        Grade::worst(std::iter::once(result.grade).chain(findings.iter().map(|f| f.grade)));
    Attributed {
        result,
        token: token.to_string(),
        hop: if desync { Some(Hop::Pair) } else { deciding },
        steps,
        findings,
        taken,
    }
}

/// Who wrote `response`, by its mark: the request it answers (a place in
/// the recording) when the origin did, and the mark.
fn answered(
    response: &Response,
    token: &str,
    taken: &Taken,
    matching: &Matching,
) -> (Option<Hop>, Option<usize>, Option<String>) {
    let Some(mark) = mark_of(response) else {
        return (Some(Hop::Front), None, None);
    };
    let (who, n) = mark.split_once(' ').unwrap_or((mark.as_str(), ""));
    let arrivals = &taken.recording.arrivals;
    let place = if who == token {
        arrivals
            .iter()
            .position(|a| a.token.as_deref() == Some(token) && a.index.to_string() == n)
    } else if who == UNTAGGED {
        n.parse::<usize>()
            .ok()
            .and_then(|n| taken.places.iter().position(|&p| p == n))
    } else if who == NO_REQUEST {
        // The origin's answer to bytes that were no request.
        return (Some(Hop::Origin), None, Some(mark));
    } else {
        None
    };
    match place {
        Some(i) if matching.smuggled[i].is_some() => (Some(Hop::Pair), Some(i), Some(mark)),
        Some(i) => (Some(Hop::Origin), Some(i), Some(mark)),
        // Another case's answer, or one to a request the origin let go of.
        None => (Some(Hop::Pair), None, Some(mark)),
    }
}

/// What passed between the hops for one step, for people.
fn story(
    hop: Option<Hop>,
    arrival: Option<usize>,
    response: Option<&Response>,
    heads: &[Head],
    matching: &Matching,
    taken: &Taken,
    outcome: &str,
) -> String {
    let arrivals = &taken.recording.arrivals;
    let reached = || match arrivals.len() {
        0 => "nothing of the case reached the origin".to_string(),
        n => {
            let lines: Vec<String> = arrivals
                .iter()
                .take(2)
                .map(|a| escape::encode(a.head.start_line()))
                .collect();
            let more = if n > 2 {
                format!(" and {} more", n - 2)
            } else {
                String::new()
            };
            format!("the origin received {}{more}", lines.join(", "))
        }
    };
    match (hop, arrival) {
        (Some(Hop::Front), _) => format!("front: {outcome} ({})", reached()),
        (Some(Hop::Origin), Some(i)) => {
            let origin = &arrivals[i].head;
            let forwarded = match matching.request[i].and_then(|k| heads.get(k)) {
                Some(client) => format!(
                    "the front forwarded {} {}",
                    escape::encode(client.start_line()),
                    passed(client, origin)
                ),
                None => format!(
                    "the origin received {}",
                    escape::encode(origin.start_line())
                ),
            };
            let refused = match (&origin.strict_error, &arrivals[i].framing_error) {
                (Some(why), _) | (None, Some(why)) => format!("; the origin refused it: {why}"),
                (None, None) => String::new(),
            };
            // What the origin wrote is its final answer: a 1xx the client
            // read is set beside nothing.
            let written = taken.answers[i]
                .as_ref()
                .zip(response.filter(|r| r.code >= 200));
            let relayed = match written.map(|(head, r)| (read_response(head), r)) {
                Some((Read::Head(written, _), r)) => format!(
                    "; relayed {}",
                    passed(&written, &super::message::response_head(r))
                ),
                _ => String::new(),
            };
            format!("origin: {outcome} ({forwarded}{refused}{relayed})")
        }
        (Some(Hop::Origin), None) => {
            format!("origin: {outcome} (the origin's answer to bytes that were no request)")
        }
        (Some(Hop::Pair), _) => format!("pair: {outcome}"),
        (None, _) => format!("unknown: {outcome} ({})", reached()),
    }
}

/// Whose doing a failing step is, for people.
fn blame(hop: Option<Hop>, story: &str) -> String {
    let story = story
        .split_once(" (")
        .map_or("", |(_, s)| s.trim_end_matches(')'));
    match hop {
        Some(Hop::Front) => format!("the front answered itself; {story}"),
        Some(Hop::Origin) => format!(
            "the origin's answer, relayed; the origin conforms, so the fault is the front's: \
             it forwarded what it should have answered itself, or changed the request or the \
             answer ({story})"
        ),
        Some(Hop::Pair) => format!("the answer read is not this request's: {story}"),
        None => format!("no answer to attribute; {story}"),
    }
}

fn client_received(step: usize, response: &Response) -> Evidence {
    Evidence {
        label: format!("client received (step {step})"),
        bytes: response.head.clone(),
    }
}

fn connection_bytes(taken: &Taken, connection: usize) -> Evidence {
    Evidence {
        label: format!("origin received (connection {connection})"),
        bytes: taken
            .recording
            .connections
            .iter()
            .find(|(n, _)| *n == connection)
            .map(|(_, b)| b.clone())
            .unwrap_or_default(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The ordinary cases a run started, in catalogue order, and those it
/// never did.
#[derive(Debug, Clone)]
pub struct OrdinaryPartial<'c> {
    /// The results, in the order of the cases.
    pub results: Vec<Attributed<'c>>,
    /// The cases not started because the watch said stop.
    pub not_run: Vec<&'c Case>,
}

/// Runs ordinary `cases` through `front`, with `origin` serving the
/// docroot behind it, `options.jobs` at once, asking `watch` before each
/// case whether to go on. `base` is what the control through the front
/// learned ([`Environment::from_control`]).
pub fn run_ordinary_cases<'c>(
    front: SocketAddr,
    origin: &Origin,
    cases: &'c [Case],
    base: &Environment,
    options: &ChainOptions,
    watch: &dyn Watch,
) -> OrdinaryPartial<'c> {
    let (results, not_run) = run_each(cases, options, watch, |case, token| {
        let result = run_ordinary_case(front, origin, case, token, base, options);
        watch.finished(&result.result);
        result
    });
    OrdinaryPartial { results, not_run }
}

/// The control path through the front: the docroot's `/` under the run's
/// control token.
pub fn control_path(options: &ChainOptions) -> String {
    case_path(&format!("{}-control", options.run_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(bytes: &[u8]) -> Head {
        match read_request(bytes) {
            Read::Head(head, _) => head,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn passed_then_start_line_and_fields_by_name() {
        let client =
            head(b"GET http://h/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\nX: 1\r\n\r\n");
        let origin = head(b"GET /x HTTP/1.1\r\nHost: o\r\nX: 1\r\nVia: 1.1 p\r\n\r\n");
        assert_eq!(
            passed(&client, &origin),
            "as GET /x HTTP/1.1 with Via added; Connection removed; Host changed"
        );
        assert_eq!(passed(&client, &client), "unchanged");
        let folded = head(b"GET /x HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n");
        let unfolded = head(b"GET /x HTTP/1.1\r\nHost: h\r\nX: a b\r\n\r\n");
        assert_eq!(
            changes(&folded, &unfolded),
            ["the same fields, written otherwise"]
        );
    }

    #[test]
    fn untokened_then_the_path_the_docroot_is_asked_for() {
        assert_eq!(
            super::super::origin::untokened("/conformance-chain/ab-0001/"),
            "/"
        );
        assert_eq!(
            super::super::origin::untokened("http://localhost/conformance-chain/ab-0001/x?y"),
            "http://localhost/x?y"
        );
        assert_eq!(
            super::super::origin::untokened("/./conformance-chain/ab-0001/"),
            "/./"
        );
        assert_eq!(super::super::origin::untokened("/hello.txt"), "/hello.txt");
    }

    #[test]
    fn named_then_every_untagged_mark_in_the_bytes() {
        let bytes = b"HTTP/1.1 200 OK\r\nx-conformance-origin: untagged 12\r\n\r\n\
HTTP/1.1 200 OK\r\nX-Conformance-Origin: ab-0001 1\r\n\r\nHTTP/1.1 404 Not Found\r\n\
X-Conformance-Origin: untagged 3\r\n\r\n";
        assert_eq!(named(bytes), [12, 3]);
    }

    #[test]
    fn origin_form_then_the_path_of_an_absolute_form() {
        assert_eq!(origin_form("http://h:80/a?b"), "/a?b");
        assert_eq!(origin_form("http://h"), "/");
        assert_eq!(origin_form("/a"), "/a");
        assert_eq!(origin_form("*"), "*");
    }
}
