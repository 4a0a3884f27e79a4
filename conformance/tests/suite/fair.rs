//! Tests of the tests: the proof of FAIRNESS (`GRADING.md`, "Proofs"). No
//! case may fail or warn against a server that conforms: each responder of
//! `fair_responders.rs` is a correct static-file server that differs from
//! the reference in one way the RFC permits, and the whole catalogue runs
//! against each.
//!
//! The test is an exact ratchet: every (responder, case) pair graded
//! `fail` or `warn` would be listed in [`UNFAIR`] with why, and the test
//! fails on any difference, both ways. The list is empty: every case passes
//! or skips against every responder, and a new unfairness fails the test.
//! A response rule (`rule:…`) broken against a responder counts as a case.
//! Skips are fine (the responders do not serve `fixtures/root`); harness
//! errors are not, nor an environment the control would not find.

use crate::catalogue::real_catalogue;
use crate::fair_responders::{last_modified, Variant, PATH};
use conformance::control::probe_over;
use conformance::report::describe_outcomes;
use conformance::rules::check_rules;
use conformance::run::{run_cases, Environment, RunOptions};
use conformance::template::Values;
use conformance::wire::Transport;
use conformance::Grade;
use std::collections::BTreeSet;
use std::time::Duration;

/// Every step's deadline. The responders answer at once; the cases that
/// expect a server to keep waiting wait this long. It is well above
/// [`OWN_TIMEOUT`](crate::fair_responders::OWN_TIMEOUT), so the cases see
/// [`Variant::TimesOut`] close, as they would see a server's 10 s timeout
/// fire within a longer case timeout; every other responder waits for ever,
/// as a server whose timeout is longer than the case's does.
const TIMEOUT: Duration = Duration::from_millis(1500);

/// The Host the cases send.
const HOST: &str = "localhost";

/// Every (responder, case or rule) pair graded `fail` or `warn`, each with
/// why (the permission the case does not allow for): none.
#[rustfmt::skip]
const UNFAIR: &[(&str, &str)] = &[
];

/// What a run's control learns of `variant`: the one file at [`PATH`], its
/// validators and length, whether the connection persists. (The test checks
/// it against what the control does learn; a field added to `Environment`
/// takes its default until it is set here.)
#[allow(clippy::needless_update)]
fn environment(variant: Variant) -> Environment {
    Environment {
        values: Values {
            path: PATH.to_string(),
            host: HOST.to_string(),
            etag: Some(variant.etag()),
            last_modified: Some(last_modified()),
            length: Some(variant.content().len() as u64),
            ..Values::default()
        },
        control_status: 200,
        fixture_root: false,
        control_fields: variant.fields(),
        control_body: Some(variant.content().to_vec()),
        persistent: variant.persistent(),
        tls: false,
        if_modified_since: true,
        if_unmodified_since: true,
        // RFC 9110 §4.3.1: each origin owns its namespace; `every-path`
        // serves every path, so the cases that need a missing one skip.
        missing_status: Some(if variant == Variant::EveryPath {
            200
        } else {
            404
        }),
        // RFC 9110 §6.2: the version it answers is the highest it conforms to.
        control_version: Some(
            if variant == Variant::Http10Only {
                "HTTP/1.0"
            } else {
                "HTTP/1.1"
            }
            .to_string(),
        ),
    }
}

fn options(variant: Variant) -> RunOptions {
    RunOptions {
        timeout: TIMEOUT,
        jobs: 8,
        timeout_cap: Some(TIMEOUT),
        environment: environment(variant),
        ..RunOptions::default()
    }
}

/// What one responder made of the catalogue.
struct Run {
    variant: Variant,
    /// The cases and rules graded `fail` or `warn`, each with its grade and
    /// what was wrong, for the message.
    unfair: Vec<(String, String)>,
    /// Cases the harness could not run.
    errors: Vec<String>,
    /// What the control found, where it is not the environment the run
    /// assumed.
    control: Option<String>,
}

fn run(variant: Variant, cases: &[conformance::Case]) -> Run {
    let responder = variant.start();
    let assumed = environment(variant);
    let control = match probe_over(&Transport::Tcp, responder.addr(), PATH, HOST, TIMEOUT) {
        Ok(control) => {
            let found = Environment::from_control(&control, false);
            (found != assumed).then(|| format!("found {found:?}"))
        }
        Err(e) => Some(format!("the control failed: {e}")),
    };
    let results = run_cases(responder.addr(), cases, &options(variant));
    let mut unfair = Vec::new();
    let mut errors = Vec::new();
    for result in &results {
        match result.grade {
            Grade::Fail | Grade::Warn => {
                let broken: Vec<String> = result
                    .steps
                    .iter()
                    .filter_map(|step| step.verdict.as_ref())
                    .flat_map(|verdict| verdict.broken_checks())
                    .map(|(check, problem)| format!("{check}: {problem}"))
                    .collect();
                let grade = if result.grade == Grade::Fail {
                    "fail"
                } else {
                    "warn"
                };
                let mut got = format!("{grade}, got {}", describe_outcomes(result));
                if !broken.is_empty() {
                    got += &format!(" ({})", broken.join("; "));
                }
                unfair.push((result.case.id.clone(), got));
            }
            Grade::Error => errors.push(result.case.id.clone()),
            _ => {}
        }
    }
    for rule in check_rules(&results) {
        if matches!(rule.grade, Grade::Fail | Grade::Warn) {
            unfair.push((rule.rule.id.to_string(), rule.counts()));
        }
    }
    Run {
        variant,
        unfair,
        errors,
        control,
    }
}

#[test]
fn fair_responders_then_exactly_the_known_unfair_cases_fail_or_warn() {
    let cases = real_catalogue();
    // The responders are independent: run them side by side.
    let runs: Vec<Run> = std::thread::scope(|scope| {
        let handles: Vec<_> = Variant::ALL
            .iter()
            .map(|&variant| {
                let cases = &cases;
                scope.spawn(move || run(variant, cases))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("responder run"))
            .collect()
    });
    let mut problems = Vec::new();
    for run in &runs {
        if let Some(control) = &run.control {
            problems.push(format!(
                "{}: the control does not find the environment the run assumes: {control}",
                run.variant.name()
            ));
        }
        if !run.errors.is_empty() {
            problems.push(format!(
                "{}: harness errors in {:?}",
                run.variant.name(),
                run.errors
            ));
        }
    }
    let expected: BTreeSet<(&str, &str)> = UNFAIR.iter().copied().collect();
    assert_eq!(expected.len(), UNFAIR.len(), "UNFAIR lists a pair twice");
    let observed: BTreeSet<(&str, &str)> = runs
        .iter()
        .flat_map(|run| {
            run.unfair
                .iter()
                .map(move |(id, _)| (run.variant.name(), id.as_str()))
        })
        .collect();
    let new: Vec<String> = runs
        .iter()
        .flat_map(|run| {
            run.unfair
                .iter()
                .filter(|(id, _)| !expected.contains(&(run.variant.name(), id.as_str())))
                .map(move |(id, why)| {
                    format!("    (\"{}\", \"{id}\"), // {why}", run.variant.name())
                })
        })
        .collect();
    let fixed: Vec<String> = expected
        .difference(&observed)
        .map(|(name, id)| format!("    (\"{name}\", \"{id}\"),"))
        .collect();
    if !new.is_empty() {
        problems.push(format!(
            "graded fail or warn against a conforming responder, and not in UNFAIR (a case \
             that does not allow for the responder's permission, or a responder bug):\n{}",
            new.join("\n")
        ));
    }
    if !fixed.is_empty() {
        problems.push(format!(
            "in UNFAIR but no longer graded fail or warn: take them off the list:\n{}",
            fixed.join("\n")
        ));
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n\n"));
}
