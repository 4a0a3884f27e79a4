//! Tests of the tests: every `must` case in the catalogue has to be able to
//! fail. Each is run against deliberately wrong responders and must grade
//! `fail` against at least one of them.

use crate::catalogue::real_catalogue;
use crate::support::{
    answer_then_close, close_without_answer, ignore_bodies, ok_to_everything, refuse_post_unread,
    Responder,
};
use crate::wrong_semantics;
use conformance::case::{Case, Level};
use conformance::run::{run_cases, run_cases_watched, Environment, RunOptions, Unwatched};
use conformance::template::Values;
use conformance::Grade;
use std::collections::BTreeSet;
use std::time::Duration;

/// Wrong responders answer at once; nothing needs a case's long timeout. A
/// second, not less: on a loaded machine a late answer to half a request
/// would look like the wait those cases pass.
const TIMEOUT: Duration = Duration::from_millis(1000);

/// Every case runs: the responders stand in for a server that serves the
/// fixture docroot, answered the control 200 and gave validators (which
/// they ignore, as a server that ignores preconditions would).
fn options() -> RunOptions {
    RunOptions {
        timeout: TIMEOUT,
        jobs: 32,
        timeout_cap: Some(TIMEOUT),
        environment: Environment {
            values: Values {
                etag: Some(wrong_semantics::ETAG.into()),
                last_modified: Some(wrong_semantics::LAST_MODIFIED.into()),
                length: Some(14),
                ..Values::default()
            },
            control_status: 200,
            fixture_root: true,
            control_fields: [
                "date",
                "content-type",
                "etag",
                "last-modified",
                "content-length",
            ]
            .map(String::from)
            .to_vec(),
            control_body: Some(wrong_semantics::HELLO.to_vec()),
            // As a server without persistent connections: every check at
            // its full strength.
            persistent: false,
            tls: false,
            // As a server that evaluates both date preconditions, so the
            // cases about how it reads dates run (and the responder that
            // ignores preconditions breaks them).
            if_modified_since: true,
            if_unmodified_since: true,
            // As a server with missing paths, so the cases about them run
            // (the responders serve every path, which breaks them).
            missing_status: Some(404),
            control_version: None,
        },
        ..RunOptions::default()
    }
}

/// The wrong servers, each a real kind of bug:
///
/// - `200 to everything`: accepts anything (the lenient parser); catches
///   every case that demands a rejection.
/// - `400 to everything`: rejects anything, then closes; catches every case
///   that demands a request be served.
/// - `200 before the request ends`: answers the first bytes of a request as
///   if it were whole; catches the cases that send half a request.
/// - `ignores request bodies`: parses heads but takes a body for the next
///   request (the smuggling desync); catches the body-framing cases that
///   pipeline a request behind a body.
/// - `refuses POST unread`: answers POST 405 from its head and reads its
///   content as the next request; catches the framing cases on POST, which
///   pass a 405 only from a server that went on to read the content.
/// - `breaks head rules`: serves everything, but with response heads that
///   break the rules on them (no space after the status code, Last-Modified
///   after Date, chunked with a Content-Length and even to HTTP/1.0,
///   framing fields on a 204);
///   catches the response-head cases.
/// - `closes without answering`: drops the connection instead of
///   answering, which the limit cases call out as not allowed. It is the
///   last resort: the cases only it can break are printed, because their
///   likelier failure modes are graded `warn`.
///
/// And one per optional feature or semantics a server can get wrong while
/// answering every request plausibly (`wrong_semantics.rs`): one that ignores
/// `Expect`, one that ignores preconditions, one that answers ranges wrongly,
/// one that mishandles Upgrade.
fn wrong_responders() -> Vec<(&'static str, Responder)> {
    vec![
        ("200 to everything", ok_to_everything()),
        ("400 to everything", answer_then_close("400 Bad Request")),
        ("200 before the request ends", answer_then_close("200 OK")),
        ("ignores request bodies", ignore_bodies()),
        ("refuses POST unread", refuse_post_unread()),
        ("ignores Expect", wrong_semantics::ignores_expect()),
        (
            "ignores preconditions",
            wrong_semantics::ignores_preconditions(),
        ),
        ("answers ranges wrongly", wrong_semantics::wrong_ranges()),
        ("upgrades wrongly", wrong_semantics::wrong_upgrades()),
        ("breaks head rules", crate::support::sloppy_heads()),
        ("closes without answering", close_without_answer()),
    ]
}

fn must_cases() -> Vec<Case> {
    real_catalogue()
        .into_iter()
        .filter(|c| c.level == Level::Must)
        .collect()
}

#[test]
fn every_must_case_then_fails_against_some_wrong_responder() {
    let cases = must_cases();
    let responders = wrong_responders();
    // The responders are independent: run them side by side.
    let runs: Vec<(&str, Vec<(String, Grade)>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = responders
            .iter()
            .map(|(name, responder)| {
                let cases = &cases;
                scope.spawn(move || {
                    let ran = run_cases_watched(responder.addr(), cases, &options(), &Unwatched);
                    let not_run: Vec<&str> = ran.not_run.iter().map(|c| c.id.as_str()).collect();
                    assert!(
                        not_run.is_empty() && ran.gone.is_none(),
                        "{name}: gone {:?}, not run {not_run:?}",
                        ran.gone.map(|g| g.after)
                    );
                    let grades = ran
                        .results
                        .into_iter()
                        .map(|r| (r.case.id.clone(), r.grade))
                        .collect();
                    (*name, grades)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("responder run"))
            .collect()
    });
    let mut caught_by: Vec<(&str, BTreeSet<String>)> = Vec::new();
    let mut errors = Vec::new();
    let mut graded: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (name, grades) in runs {
        let mut caught = BTreeSet::new();
        for (id, grade) in grades {
            graded
                .entry(id.clone())
                .or_default()
                .push(format!("{name}: {grade:?}"));
            match grade {
                Grade::Fail => {
                    caught.insert(id);
                }
                Grade::Error => errors.push(format!("{id} vs {name}")),
                _ => {}
            }
        }
        caught_by.push((name, caught));
    }
    assert!(errors.is_empty(), "harness errors: {errors:?}");
    let skipped: Vec<&String> = runs_skipped(&cases, &options());
    assert!(skipped.is_empty(), "must cases skipped: {skipped:?}");
    let (last_resort, rest) = caught_by.split_last().expect("responders");
    let only_last: Vec<&String> = last_resort
        .1
        .iter()
        .filter(|id| !rest.iter().any(|(_, caught)| caught.contains(*id)))
        .collect();
    if !only_last.is_empty() {
        eprintln!(
            "must cases only `{}` makes fail: {only_last:#?}",
            last_resort.0
        );
    }
    let caught: BTreeSet<&String> = caught_by.iter().flat_map(|(_, c)| c).collect();
    let uncaught: Vec<(&str, Option<&Vec<String>>)> = cases
        .iter()
        .map(|c| c.id.as_str())
        .filter(|id| !caught.iter().any(|c| c == id))
        .map(|id| (id, graded.get(id)))
        .collect();
    assert!(
        uncaught.is_empty(),
        "must cases that no wrong responder makes fail: {uncaught:#?}"
    );
}

/// The cases the environment would skip: none may, or a case could pass
/// this test without ever running.
fn runs_skipped<'c>(cases: &'c [Case], options: &RunOptions) -> Vec<&'c String> {
    cases
        .iter()
        .filter(|c| options.environment.skip_reason(c).is_some())
        .map(|c| &c.id)
        .collect()
}

#[test]
fn ok_responder_then_its_date_headers_pass_the_date_check() {
    // The 200 responder is wrong about status codes only: every response
    // it sends carries a valid IMF-fixdate, so the `date` check (a `must`)
    // holds on all of them and a case it fails fails on its outcome.
    let responder = ok_to_everything();
    let cases = must_cases();
    for result in run_cases(responder.addr(), &cases, &options()) {
        for step in result.steps.iter().filter_map(|s| s.verdict.as_ref()) {
            let broken: Vec<_> = step
                .broken_checks()
                .filter(|(check, _)| *check == conformance::Check::Date)
                .collect();
            assert!(broken.is_empty(), "{}: {broken:?}", result.case.id);
        }
    }
}
