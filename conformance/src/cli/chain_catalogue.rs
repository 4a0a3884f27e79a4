//! `chain --catalogue`: the ordinary catalogue through the front, with the
//! origin behind it serving the fixture docroot as the reference server
//! does; each case's result names the hop that answered it. The same
//! selection, formats, baselines, signals and exit codes as `chain`.

use super::args::{ChainArgs, FormatArg};
use super::catalogue::{load, select};
use super::chain::{
    cannot_listen, check_ends, conclude, emit, format_of, read_baseline, run_watch, stop_of,
    wait_for_front,
};
use super::exit::Failure;
use super::output::check_writable_file;
use super::signals::{watch_signals, Stop};
use super::target::resolve;
use conformance::case::Case;
use conformance::chain::catalogue::{control_path, run_ordinary_cases};
use conformance::chain::catalogue_report::{self, case_results};
use conformance::chain::docroot::FixtureRoot;
use conformance::chain::origin::MARK_FIELD;
use conformance::chain::{ChainContext, ChainOptions, Origin};
use conformance::control::{self, Control, ControlError};
use conformance::escape;
use conformance::run::Environment;
use conformance::wire::{Endpoint, Transport};
use server::respond::Responder;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

/// `chain --catalogue`: checks the arguments, writes the docroot, binds
/// the origin, runs the control and the cases through the front, writes
/// the report; returns the exit code.
pub(crate) fn chain_catalogue(dir: Option<&Path>, args: ChainArgs) -> Result<u8, Failure> {
    let started = Instant::now();
    let ends = check_ends(&args)?;
    let all = load(dir)?;
    let cases: Vec<Case> = select(&all, &args.selection)?
        .into_iter()
        .cloned()
        .collect();
    let baseline = match &args.baseline {
        Some(path) => Some(read_baseline(path, &all)?),
        None => None,
    };
    for file in [&args.output, &args.write_baseline].into_iter().flatten() {
        check_writable_file(file)?;
    }
    let fronts = resolve(&ends.host_port)?;
    let options = ChainOptions {
        timeout: args.pace.timeout(),
        jobs: args.jobs,
        host: ends.host,
        ..ChainOptions::default()
    };
    let temp = std::env::temp_dir();
    let unwritable = |error: std::io::Error| {
        Failure::Usage(format!(
            "cannot write the fixture docroot the origin serves under {}: {error} (set TMPDIR \
             to a writable directory)",
            temp.display()
        ))
    };
    let docroot = FixtureRoot::write(&temp).map_err(unwritable)?;
    let responder = Responder::new(docroot.path()).map_err(unwritable)?;
    let origin = Origin::bind_serving(
        ends.listen.as_slice(),
        responder,
        server::limits::READ_TIMEOUT,
    )
    .map_err(|e| cannot_listen(&args, &e))?;
    let origin_addr = origin.local_addr().to_string();
    if !args.stderr.quiet {
        eprintln!("origin listening on {origin_addr}: the front is to forward there");
    }
    let caught = watch_signals()?;
    if let Some(code) = wait_for_front(&args, &fronts, &caught)? {
        return Ok(code);
    }
    let (front, control) = reach_front(&fronts, &options, &args.front, &origin_addr, &caught)?;
    let control_line = format!(
        "{}; answered by the origin at {origin_addr} through the front",
        control.line()
    );
    if !args.stderr.quiet && (!matches!(args.format, FormatArg::Text) || args.output.is_some()) {
        eprintln!("{control_line}");
    }
    let environment = Environment::from_control(&control, true);
    let watch = run_watch(&args, &caught, started, cases.len());
    let first_case = SystemTime::now();
    let clock = Instant::now();
    let partial = run_ordinary_cases(front, &origin, &cases, &environment, &options, &watch);
    let wall = clock.elapsed();
    if let Some(Ok(mut progress)) = watch.progress.as_ref().map(Mutex::lock) {
        progress.finish();
    }
    let stop = stop_of(&args, &caught, partial.not_run.is_empty());
    let reason = stop.map(Stop::reason);
    let not_run: Vec<String> = partial.not_run.iter().map(|c| c.id.clone()).collect();
    let name = args.name.clone().unwrap_or_else(|| args.front.clone());
    let context = ChainContext {
        name: &name,
        front: &args.front,
        origin: &origin_addr,
        roles: &[],
        control: Some(&control_line),
        baseline: baseline.as_ref(),
        not_run: reason.as_deref().map(|r| (r, not_run.as_slice())),
        started: first_case,
        wall,
    };
    let results = &partial.results;
    let case_results = case_results(results);
    emit(
        &args,
        catalogue_report::render(format_of(&args), results, &context),
        &case_results,
        baseline.as_ref(),
    )?;
    conclude(
        &args,
        &name,
        &case_results,
        stop,
        (not_run.len(), cases.len()),
        baseline.as_ref(),
    )
}

/// The first of the front's addresses whose control reached the origin,
/// with what the control learned: a front that is down or answers the
/// control itself is exit 3, one that answers it 5xx exit 8.
fn reach_front(
    fronts: &[SocketAddr],
    options: &ChainOptions,
    front_text: &str,
    origin_addr: &str,
    caught: &Arc<AtomicUsize>,
) -> Result<(SocketAddr, Control), Failure> {
    let path = control_path(options);
    let halted = || caught.load(Ordering::SeqCst) != 0;
    let mut why = String::from("no address");
    for &front in fronts {
        let endpoint = Endpoint::from(front);
        match control::probe_until(
            &Transport::Tcp,
            &endpoint,
            &path,
            &options.host,
            options.timeout,
            &halted,
        ) {
            Ok(control) => {
                let relayed = control
                    .fields
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(MARK_FIELD));
                let answer = format!("{} {}", control.status, escape::terminal(&control.reason));
                return if relayed && control.is_success() {
                    Ok((front, control))
                } else if (500..600).contains(&control.status) {
                    Err(Failure::ServerError(format!(
                        "{front_text} failed: the control request GET {path} was answered \
                         {answer}, a server error, so no case can be graded through it"
                    )))
                } else if relayed {
                    Err(Failure::Unreachable(format!(
                        "{front_text}: the control request GET {path} reached the origin, but \
                         the front answered {answer}: the origin's answer is 200 OK"
                    )))
                } else {
                    Err(Failure::Unreachable(format!(
                        "{front_text}: the front answered the control request GET {path} with \
                         {answer} itself: configure it to forward to the origin at {origin_addr}"
                    )))
                };
            }
            Err(ControlError::Halted) => {
                return Err(Failure::Unreachable(
                    "stopped before the control was done".into(),
                ))
            }
            Err(e) => why = e.to_string(),
        }
    }
    Err(Failure::Unreachable(format!("{front_text}: {why}")))
}
