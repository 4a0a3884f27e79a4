//! `run`: the plan, the control, the cases, then the report and the files
//! it writes, and the exit code they make.

use super::args::{FailOnArg, RunArgs};
use super::colour::{colour_grades, colour_on};
use super::exit::{
    Failure, EXIT_CASE_ERRORS, EXIT_CONFORMANT, EXIT_DEADLINE, EXIT_NONCONFORMANT,
    EXIT_NOTHING_GRADED, EXIT_SIGNAL_BASE, EXIT_UNREACHABLE,
};
use super::nofile::fit_jobs;
use super::output::write_atomically;
use super::plan::{plan_run, stale_note, RunPlan};
use super::progress::Progress;
use super::signals::{watch_signals, Stop};
use super::target::{first_reachable_until, wait_until_listening};
use super::watch::RunWatch;
use conformance::baseline::Baseline;
use conformance::case::Case;
use conformance::case::Level;
use conformance::control::{self, Control};
use conformance::date;
use conformance::escape;
use conformance::matrix::{Matrix, MatrixError, ServerAnswers};
use conformance::report::{self, Format, NotRun, ReportContext, RunInfo, Settings, Summary};
use conformance::rules::{check_rules, RuleResult};
use conformance::run::{run_cases_watched, CaseResult, Environment};
use conformance::snapshot::{self, SnapshotOptions};
use conformance::wire::Endpoint;
use conformance::Grade;
use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Whether a result makes the run exit 1 under `--fail-on`: a failure,
/// or with `should` also a warned must or should case.
fn fails_run(result: &CaseResult<'_>, fail_on: FailOnArg) -> bool {
    match result.grade {
        Grade::Fail => true,
        Grade::Warn => fail_on == FailOnArg::Should && result.case.level.at_least(Level::Should),
        _ => false,
    }
}

/// Whether a response rule makes the run exit 1 under `--fail-on`: a
/// broken `must` rule, or with `should` any broken rule.
fn rule_fails_run(rule: &RuleResult, fail_on: FailOnArg) -> bool {
    match rule.grade {
        Grade::Fail => true,
        Grade::Warn => fail_on == FailOnArg::Should,
        _ => false,
    }
}

/// What ran: the results in catalogue order, the cases without a result
/// (of which those abandoned under way), the run's record for reports, and
/// why it stopped early if it did.
struct Ran<'c> {
    results: Vec<CaseResult<'c>>,
    not_run: Vec<&'c Case>,
    interrupted: Vec<&'c Case>,
    info: RunInfo,
    stop: Option<Stop>,
}

/// `run`: the plan, the control, the cases, the report; then, for a run
/// that was not stopped early, the files it writes and the exit code its
/// grades make.
pub(crate) fn run(dir: Option<&Path>, args: RunArgs) -> Result<u8, Failure> {
    let started = Instant::now();
    let mut plan = plan_run(dir, args)?;
    if let Some(note) = stale_note(&plan).filter(|_| !plan.quiet) {
        eprintln!("{note}");
    }
    let caught = watch_signals()?;
    plan.options.jobs = fit_jobs(
        plan.options.jobs,
        plan.cases.len(),
        plan.jobs_given,
        plan.quiet,
    )?;
    let Some((target, control)) = reach_target(&mut plan, &caught)? else {
        // A signal before the first case: the report lists every case.
        let ran = stopped_before_cases(&plan, &caught);
        write_report(&plan, None, &ran)?;
        let stop = ran.stop.expect("a run stopped before its cases has a stop");
        return Ok(announce_stop(&plan, stop, ran.not_run.len(), &[]));
    };
    let ran = execute(&plan, &target, &caught, started);
    let summary = write_report(&plan, Some(&control), &ran)?;
    let rules = check_rules(&ran.results);
    let failing: Vec<&str> = ran
        .results
        .iter()
        .filter(|r| fails_run(r, plan.fail_on))
        .map(|r| r.case.id.as_str())
        .chain(
            rules
                .iter()
                .filter(|r| rule_fails_run(r, plan.fail_on))
                .map(|r| r.rule.id),
        )
        .filter(|id| !plan.baseline.as_ref().is_some_and(|b| b.contains(id)))
        .collect();
    if let Some(stop) = ran.stop {
        if let Stop::Gone(after) = stop {
            return Ok(announce_gone(&plan, after, &ran));
        }
        return Ok(announce_stop(&plan, stop, ran.not_run.len(), &failing));
    }
    if let Some(why) = went_away(&ran.results, &target, &plan) {
        return Err(Failure::Unreachable(format!(
            "{} went away: it answered the control, then no case; asked the control again: \
             {why}",
            plan.target_text
        )));
    }
    if let Some(dir) = &plan.snapshots {
        write_snapshots(dir, &plan, &target, &ran.results)?;
    }
    if let Some(path) = &plan.matrix {
        record_matrix(path, &plan, &ran.results)?;
    }
    // A baseline is written to be used: the run that writes it succeeds
    // once it is written, whatever the grades; one written from a run that
    // graded nothing would list no failure, so none is.
    if let Some(path) = plan
        .write_baseline
        .as_ref()
        .filter(|_| summary.graded_any())
    {
        let written = write_baseline(path, &plan, &ran.results)?;
        if !plan.quiet {
            eprintln!("{written}");
        }
        return Ok(EXIT_CONFORMANT);
    }
    Ok(if !failing.is_empty() {
        EXIT_NONCONFORMANT
    } else if !summary.graded_any() {
        eprintln!(
            "conformance: no case could be graded ({} skipped, {} errors): not conformant",
            summary.skipped, summary.errors
        );
        EXIT_NOTHING_GRADED
    } else if summary.errors > 0 {
        eprintln!(
            "conformance: {} of {} cases ended in error (could not be run or completed): not \
             conformant",
            summary.errors,
            ran.results.len()
        );
        EXIT_CASE_ERRORS
    } else {
        EXIT_CONFORMANT
    })
}

/// The run of a plan stopped by a signal before its first case: every
/// case not run.
fn stopped_before_cases<'c>(plan: &'c RunPlan, caught: &Arc<AtomicUsize>) -> Ran<'c> {
    Ran {
        results: Vec::new(),
        not_run: plan.cases.iter().collect(),
        interrupted: Vec::new(),
        info: RunInfo {
            started: std::time::SystemTime::now(),
            wall: std::time::Duration::ZERO,
            settings: Settings {
                jobs: plan.options.jobs,
                ..plan.settings.clone()
            },
        },
        stop: Some(Stop::Signal(caught.load(Ordering::SeqCst))),
    }
}

/// The first address that answers the control, and what the control
/// learned, which sets the plan's jobs (unless `--jobs` was given) and the
/// cases' environment.
fn reach_target(
    plan: &mut RunPlan,
    caught: &Arc<AtomicUsize>,
) -> Result<Option<(Endpoint, Control)>, Failure> {
    let halted = || caught.load(Ordering::SeqCst) != 0;
    if let Some(wait) = plan.wait {
        if !wait_until_listening(
            &plan.addresses,
            &plan.target_text,
            wait,
            plan.quiet,
            &halted,
        )? {
            return Ok(None);
        }
    }
    let Some((target, control)) = first_reachable_until(
        &plan.options.transport,
        &plan.addresses,
        &plan.target_text,
        &plan.path,
        &plan.host,
        plan.options.timeout,
        &halted,
    )?
    else {
        return Ok(None);
    };
    // The text report carries the control line itself; other formats and a
    // report written to a file leave it for the terminal.
    if !plan.quiet && (plan.format != Format::Text || plan.output.is_some()) {
        eprintln!("{}", control.line());
    }
    if !control.concurrent && !plan.jobs_given {
        if !plan.quiet {
            eprintln!(
                "the target served no second connection while one was open: running one case \
                 at a time (--jobs overrides)"
            );
        }
        plan.options.jobs = 1;
    }
    plan.options.environment = Environment::from_control(&control, plan.fixture_root);
    Ok(Some((target, control)))
}

/// Runs the plan's cases against `target` until they are done, a signal is
/// caught or the deadline (counted from `started`) passes.
fn execute<'c>(
    plan: &'c RunPlan,
    target: &Endpoint,
    caught: &Arc<AtomicUsize>,
    started: Instant,
) -> Ran<'c> {
    let watch = RunWatch {
        caught: Arc::clone(caught),
        deadline: plan.deadline.map(|d| started + d),
        progress: plan.progress.then(|| {
            Mutex::new(Progress::new(
                plan.cases.len(),
                std::io::stderr().is_terminal(),
            ))
        }),
    };
    let first_case = std::time::SystemTime::now();
    let clock = Instant::now();
    let partial = run_cases_watched(target, &plan.cases, &plan.options, &watch);
    let info = RunInfo {
        started: first_case,
        wall: clock.elapsed(),
        settings: Settings {
            jobs: plan.options.jobs,
            ..plan.settings.clone()
        },
    };
    if let Some(Ok(mut progress)) = watch.progress.as_ref().map(Mutex::lock) {
        progress.finish();
    }
    let stop = match (caught.load(Ordering::SeqCst), partial.gone) {
        (_, Some(gone)) => Some(Stop::Gone(gone.after)),
        (0, None) if partial.not_run.is_empty() => None,
        (0, None) => plan.deadline.map(|d| Stop::Deadline(d.as_secs())),
        (signal, None) => Some(Stop::Signal(signal)),
    };
    Ran {
        results: partial.results,
        not_run: partial.not_run,
        interrupted: partial.interrupted,
        info,
        stop,
    }
}

/// Renders the report in the plan's format and writes it to `--output`
/// (then the summary line to stdout) or to stdout; returns the summary.
fn write_report(
    plan: &RunPlan,
    control: Option<&Control>,
    ran: &Ran<'_>,
) -> Result<Summary, Failure> {
    let reason = ran.stop.map(Stop::reason);
    let context = ReportContext {
        name: &plan.name,
        target: &plan.target_text,
        baseline: plan.baseline.as_ref(),
        control,
        run: &ran.info,
        not_run: reason.as_deref().map(|reason| NotRun {
            reason,
            cases: &ran.not_run,
            interrupted: &ran.interrupted,
        }),
    };
    let mut text = report::render(plan.format, &ran.results, &context);
    let terminal = plan.output.is_none() && std::io::stdout().is_terminal();
    if plan.format == Format::Text
        && colour_on(
            plan.color,
            terminal,
            std::env::var_os("NO_COLOR").as_deref(),
        )
    {
        text = colour_grades(&text);
    }
    let summary = Summary::of(&ran.results, plan.baseline.as_ref());
    match &plan.output {
        Some(path) => {
            write_atomically(path, &text).map_err(|error| Failure::Write {
                path: path.clone(),
                error,
            })?;
            // The summary, and with a baseline the new failures, for the
            // log of a CI job whose report went to a file.
            println!("{}", summary.line());
            let block = report::new_failures_block(&ran.results, plan.baseline.as_ref());
            if !block.is_empty() {
                println!("\n{}", block.trim_end());
            }
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not worth an error message.
            let _ = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush());
        }
    }
    Ok(summary)
}

/// Says why the run stopped before every case had started, and returns its
/// exit code. A baseline, snapshots or a matrix entry from part of a run
/// would take the cases not run for fixed or gone, so none is written.
fn announce_stop(plan: &RunPlan, stop: Stop, not_run: usize, failing: &[&str]) -> u8 {
    let left = [
        plan.write_baseline.as_ref().map(|_| "--write-baseline"),
        plan.snapshots.as_ref().map(|_| "--snapshots"),
        plan.matrix.as_ref().map(|_| "--matrix"),
    ];
    let left: Vec<&str> = left.into_iter().flatten().collect();
    let skipped = if left.is_empty() {
        String::new()
    } else {
        format!(" (nothing written for {})", left.join(", "))
    };
    eprintln!(
        "conformance: {}: {} of {} cases not run{skipped}",
        stop.reason(),
        not_run,
        plan.cases.len()
    );
    match stop {
        Stop::Signal(signal) => EXIT_SIGNAL_BASE.saturating_add(signal as u8),
        Stop::Gone(_) => EXIT_UNREACHABLE,
        Stop::Deadline(_) if !failing.is_empty() => EXIT_NONCONFORMANT,
        Stop::Deadline(_) => EXIT_DEADLINE,
    }
}

/// Says in one line that the target went away: when, how many cases were
/// graded and how many not run; returns exit 3. As for any stopped run, no
/// baseline, snapshots or matrix entry is written from part of a run.
fn announce_gone(plan: &RunPlan, after: std::time::Duration, ran: &Ran<'_>) -> u8 {
    eprintln!(
        "conformance: {} went away {:.1} s into the run (it no longer accepts connections): {} \
         of {} cases graded, {} not run",
        plan.target_text,
        after.as_secs_f64(),
        ran.results.len(),
        plan.cases.len(),
        ran.not_run.len()
    );
    EXIT_UNREACHABLE
}

/// `--write-baseline`: the ids of the cases and rules that failed, one a
/// line; returns the note that says what was written.
fn write_baseline(
    path: &Path,
    plan: &RunPlan,
    results: &[CaseResult<'_>],
) -> Result<String, Failure> {
    let rules = check_rules(results);
    let failed: Vec<String> = results
        .iter()
        .filter(|r| r.grade == Grade::Fail)
        .map(|r| r.case.id.clone())
        .chain(
            rules
                .iter()
                .filter(|r| r.grade == Grade::Fail)
                .map(|r| r.rule.id.to_string()),
        )
        .collect();
    let header = format!(
        "Known failures of {} ({}), written by `conformance run --write-baseline`.",
        plan.name, plan.target_text
    );
    let count = failed.len();
    write_atomically(path, &Baseline::from_ids(failed).render(&header)).map_err(|error| {
        Failure::Write {
            path: path.to_path_buf(),
            error,
        }
    })?;
    Ok(format!(
        "baseline written to {}: {}",
        path.display(),
        match count {
            1 => "1 known failure".to_string(),
            n => format!("{n} known failures"),
        }
    ))
}

/// `--snapshots`: each case's normalised heads in `dir`, with the target's
/// port redacted; snapshots of ids no longer in the catalogue go.
fn write_snapshots(
    dir: &Path,
    plan: &RunPlan,
    target: &Endpoint,
    results: &[CaseResult<'_>],
) -> Result<(), Failure> {
    let options = SnapshotOptions {
        redact: plan.redact.clone(),
        port: target.port(),
        unordered: plan.unordered.clone(),
    };
    let ids: BTreeSet<&str> = plan.catalogue_ids.iter().map(String::as_str).collect();
    let written = snapshot::write_dir(dir, results, &options, "conformance run --snapshots", &ids)
        .map_err(|error| Failure::Write {
            path: dir.to_path_buf(),
            error,
        })?;
    if !plan.quiet {
        eprintln!(
            "snapshots in {}: {} written, {} unchanged, {} removed",
            dir.display(),
            written.written,
            written.unchanged,
            written.removed
        );
    }
    Ok(())
}

/// `--matrix`: this run's answers recorded in the matrix file under the
/// run's name, replacing an earlier entry of that name.
fn record_matrix(path: &Path, plan: &RunPlan, results: &[CaseResult<'_>]) -> Result<(), Failure> {
    let mut matrix = match Matrix::read(path) {
        Ok(matrix) => matrix,
        Err(MatrixError::Missing(_)) => Matrix::default(),
        Err(e) => return Err(Failure::Usage(e.to_string())),
    };
    let answers = ServerAnswers::from_results(&plan.name, &plan.server_version, results);
    matrix.record(answers, date::format_iso_date(std::time::SystemTime::now()));
    write_atomically(path, &matrix.to_json()).map_err(|error| Failure::Write {
        path: path.to_path_buf(),
        error,
    })
}

/// Why the target seems gone, when no case got a response although cases
/// ran (each ended closed, reset, timed out or unrunnable) and the control
/// GET, sent once more, is not answered 2xx either: grades made of
/// refused or closed connections say nothing about the server, and
/// `close` or `reset` is a passing outcome of many cases.
fn went_away(results: &[CaseResult<'_>], target: &Endpoint, plan: &RunPlan) -> Option<String> {
    let outcomes = || {
        results
            .iter()
            .flat_map(|r| &r.steps)
            .filter_map(|s| s.exchange.outcome.as_ref())
    };
    let answered = outcomes().any(|o| matches!(o, conformance::wire::Outcome::Response(_)));
    if answered || outcomes().next().is_none() {
        return None;
    }
    match control::probe_over(
        &plan.options.transport,
        target.clone(),
        &plan.path,
        &plan.host,
        plan.options.timeout,
    ) {
        Ok(control) if control.is_success() => None,
        Ok(control) => Some(format!(
            "{} {}",
            control.status,
            escape::terminal(&control.reason)
        )),
        Err(e) => Some(e.to_string()),
    }
}
