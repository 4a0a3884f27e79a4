//! `chain`: the origin bound, the control sent through the front, the chain
//! cases run, then the report and the exit code, as `run` does for a
//! server: the same selection, formats, baselines, signals and codes.

use super::args::{ChainArgs, FailOnArg, FormatArg};
use super::catalogue::select;
use super::colour::{colour_grades, colour_on};
use super::exit::{
    Failure, EXIT_CASE_ERRORS, EXIT_CONFORMANT, EXIT_DEADLINE, EXIT_NONCONFORMANT,
    EXIT_NOTHING_GRADED, EXIT_SIGNAL_BASE, EXIT_UNREACHABLE,
};
use super::output::{check_writable_file, write_atomically};
use super::plan::stale_note_of;
use super::progress::Progress;
use super::signals::{watch_signals, Stop};
use super::target::{parse_target, resolve, wait_until_listening};
use super::watch::RunWatch;
use conformance::baseline::Baseline;
use conformance::case::{Case, Level};
use conformance::chain::matrix::{ChainMatrix, FrontAnswers, Normalise};
use conformance::chain::{
    self, builtin_chain_catalogue, control_front, load_chain_catalogue, run_chain_cases, ChainCase,
    ChainContext, ChainOptions, ChainResult, FrontControl, Origin, Role,
};
use conformance::date;
use conformance::escape;
use conformance::matrix::MatrixError;
use conformance::report::{Format, Summary};
use conformance::rules::check_rules;
use conformance::template::DEFAULT_HOST;
use conformance::wire::Endpoint;
use conformance::Grade;
use std::io::{IsTerminal, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// The chain catalogue: the one compiled in, or `--cases DIR`.
fn load(dir: Option<&Path>) -> Result<Vec<ChainCase>, Failure> {
    let loaded = match dir {
        Some(dir) => load_chain_catalogue(dir),
        None => builtin_chain_catalogue(),
    };
    loaded.map_err(|errors| {
        let more = match errors.len() {
            0 | 1 => String::new(),
            n => format!(" (and {} more invalid chain case files)", n - 1),
        };
        let first = errors.first().map(ToString::to_string).unwrap_or_default();
        Failure::Usage(format!("{first}{more}"))
    })
}

/// Whether a result makes the run exit 1 under `--fail-on`.
fn fails_run(result: &ChainResult<'_>, fail_on: FailOnArg) -> bool {
    match result.result.grade {
        Grade::Fail => true,
        Grade::Warn => {
            fail_on == FailOnArg::Should && result.chain.case.level.at_least(Level::Should)
        }
        _ => false,
    }
}

/// `chain`: checks the arguments, binds the origin, runs the control and
/// the cases, writes the report; returns the exit code.
pub(crate) fn chain(dir: Option<&Path>, args: ChainArgs) -> Result<u8, Failure> {
    let started = Instant::now();
    let spec = parse_target(&args.front).map_err(|e| match e {
        Failure::Usage(m) => Failure::Usage(m.replacen("--target", "--front", 1)),
        other => other,
    })?;
    if spec.https || spec.path.is_some() {
        return Err(Failure::Usage(
            "--front takes HOST:PORT or http://HOST[:PORT]: chain mode speaks plain TCP to the \
             front, and the cases choose the paths"
                .into(),
        ));
    }
    let listen: Vec<SocketAddr> = args
        .origin_listen
        .to_socket_addrs()
        .map_err(|e| {
            Failure::Usage(format!(
                "--origin-listen \"{}\": {e} (give an address such as 127.0.0.1:9000)",
                escape::encode(args.origin_listen.as_bytes())
            ))
        })?
        .collect();
    let host = args
        .host
        .clone()
        .unwrap_or_else(|| DEFAULT_HOST.to_string());
    if !host.bytes().all(|b| b.is_ascii_graphic()) || host.is_empty() {
        return Err(Failure::Usage(format!(
            "--host must be visible ASCII without spaces, got \"{}\"",
            escape::encode(host.as_bytes())
        )));
    }
    let catalogue = load(dir)?;
    let bases: Vec<Case> = catalogue.iter().map(|c| c.case.clone()).collect();
    let ids: Vec<String> = select(&bases, &args.selection)?
        .into_iter()
        .map(|c| c.id.clone())
        .collect();
    let cases: Vec<ChainCase> = catalogue
        .into_iter()
        .filter(|c| ids.contains(&c.case.id))
        .collect();
    let baseline = match &args.baseline {
        Some(path) => Some(read_baseline(path, &bases)?),
        None => None,
    };
    for file in [&args.output, &args.write_baseline, &args.matrix]
        .into_iter()
        .flatten()
    {
        check_writable_file(file)?;
    }
    let chain_matrix = match &args.matrix {
        Some(path) => Some(read_chain_matrix(path)?),
        None => None,
    };
    let fronts = resolve(&spec.host_port)?;
    let mut roles: Vec<Role> = args.role.iter().filter_map(|r| Role::parse(r)).collect();
    if roles.is_empty() {
        roles.push(Role::Gateway);
    }
    roles.sort();
    roles.dedup();
    let options = ChainOptions {
        timeout: args.pace.timeout(),
        jobs: args.jobs,
        host,
        roles,
        ..ChainOptions::default()
    };
    let origin = Origin::bind(listen.as_slice()).map_err(|e| {
        Failure::Usage(format!(
            "cannot listen on --origin-listen {}: {e}",
            escape::encode(args.origin_listen.as_bytes())
        ))
    })?;
    let origin_addr = origin.local_addr().to_string();
    if !args.quiet {
        eprintln!("origin listening on {origin_addr}: the front is to forward there");
    }
    let caught = watch_signals()?;
    if let Some(wait) = args.wait {
        let endpoints: Vec<Endpoint> = fronts.iter().map(|&a| a.into()).collect();
        let halted = || caught.load(Ordering::SeqCst) != 0;
        let wait = Duration::from_secs(wait);
        if !wait_until_listening(&endpoints, &args.front, wait, args.quiet, &halted)? {
            eprintln!("conformance: interrupted while waiting for the front: no case run");
            let signal = caught.load(Ordering::SeqCst);
            return Ok(EXIT_SIGNAL_BASE.saturating_add(signal as u8));
        }
    }
    let (front, control) = reach_front(&fronts, &origin, &options, &args.front)?;
    if !args.quiet && (!matches!(args.format, FormatArg::Text) || args.output.is_some()) {
        eprintln!("{control}");
    }
    let progress = args.progress || (!args.quiet && std::io::stderr().is_terminal());
    let watch = RunWatch {
        caught: Arc::clone(&caught),
        deadline: args.deadline.map(|d| started + Duration::from_secs(d)),
        progress: progress
            .then(|| Mutex::new(Progress::new(cases.len(), std::io::stderr().is_terminal()))),
    };
    let first_case = SystemTime::now();
    let clock = Instant::now();
    let partial = run_chain_cases(front, &origin, &cases, &options, &watch);
    let wall = clock.elapsed();
    if let Some(Ok(mut progress)) = watch.progress.as_ref().map(Mutex::lock) {
        progress.finish();
    }
    let stop = match caught.load(Ordering::SeqCst) {
        0 if partial.not_run.is_empty() => None,
        0 => args.deadline.map(Stop::Deadline),
        signal => Some(Stop::Signal(signal)),
    };
    let reason = stop.map(Stop::reason);
    let not_run: Vec<String> = partial.not_run.iter().map(|c| c.case.id.clone()).collect();
    let name = args.name.clone().unwrap_or_else(|| args.front.clone());
    let context = ChainContext {
        name: &name,
        front: &args.front,
        origin: &origin_addr,
        roles: &options.roles,
        control: Some(&control),
        baseline: baseline.as_ref(),
        not_run: reason.as_deref().map(|r| (r, not_run.as_slice())),
        started: first_case,
        wall,
    };
    let results = &partial.results;
    write_report(&args, results, &context)?;
    let case_results = chain::report::case_results(results);
    let rules = check_rules(&case_results);
    let failing: Vec<&str> = results
        .iter()
        .filter(|r| fails_run(r, args.fail_on))
        .map(|r| r.chain.case.id.as_str())
        .chain(
            rules
                .iter()
                .filter(|r| {
                    r.grade == Grade::Fail
                        || (r.grade == Grade::Warn && args.fail_on == FailOnArg::Should)
                })
                .map(|r| r.rule.id),
        )
        .filter(|id| !baseline.as_ref().is_some_and(|b| b.contains(id)))
        .collect();
    if let Some(stop) = stop {
        let skipped = if args.write_baseline.is_some() {
            " (nothing written for --write-baseline)"
        } else {
            ""
        };
        eprintln!(
            "conformance: {}: {} of {} cases not run{skipped}",
            stop.reason(),
            not_run.len(),
            cases.len()
        );
        return Ok(match stop {
            Stop::Signal(signal) => EXIT_SIGNAL_BASE.saturating_add(signal as u8),
            Stop::Gone(_) => EXIT_UNREACHABLE,
            Stop::Deadline(_) if !failing.is_empty() => EXIT_NONCONFORMANT,
            Stop::Deadline(_) => EXIT_DEADLINE,
        });
    }
    if let (Some(path), Some(mut chain_matrix)) = (&args.matrix, chain_matrix) {
        let normalise = Normalise {
            run_id: options.run_id.clone(),
            origin: origin_addr.clone(),
            front: front.to_string(),
        };
        let answers = FrontAnswers::from_results(
            &name,
            &args.server_version,
            &options.roles,
            results,
            &normalise,
        );
        chain_matrix.record(answers, date::format_iso_date(SystemTime::now()));
        write_atomically(path, &chain_matrix.to_json()).map_err(|error| Failure::Write {
            path: path.clone(),
            error,
        })?;
    }
    if let Some(path) = &args.write_baseline {
        let failed: Vec<String> = results
            .iter()
            .filter(|r| r.result.grade == Grade::Fail)
            .map(|r| r.chain.case.id.clone())
            .chain(
                rules
                    .iter()
                    .filter(|r| r.grade == Grade::Fail)
                    .map(|r| r.rule.id.to_string()),
            )
            .collect();
        let count = failed.len();
        let header = format!(
            "Known failures of {name} ({}), written by `conformance chain --write-baseline`.",
            args.front
        );
        let baseline = Baseline::from_ids(failed);
        write_atomically(path, &baseline.render(&header)).map_err(|error| Failure::Write {
            path: path.clone(),
            error,
        })?;
        // As for `run`: the run that writes a baseline succeeds once it is
        // written, whatever the grades.
        if !args.quiet {
            eprintln!(
                "baseline written to {}: {} known failures",
                path.display(),
                count
            );
        }
        return Ok(EXIT_CONFORMANT);
    }
    let summary = Summary::of(&case_results, baseline.as_ref());
    Ok(if !failing.is_empty() {
        EXIT_NONCONFORMANT
    } else if !summary.graded_any() {
        eprintln!(
            "conformance: no chain case could be graded ({} skipped, {} errors): not conformant",
            summary.skipped, summary.errors
        );
        EXIT_NOTHING_GRADED
    } else if summary.errors > 0 {
        eprintln!(
            "conformance: {} of {} chain cases ended in error (could not be run or completed): \
             not conformant",
            summary.errors,
            case_results.len()
        );
        EXIT_CASE_ERRORS
    } else {
        EXIT_CONFORMANT
    })
}

/// The first of the front's addresses through which the control reached
/// the origin, with the control's line; a front that is down, or answers
/// without forwarding to the origin, is exit 3 in one line.
fn reach_front(
    fronts: &[SocketAddr],
    origin: &Origin,
    options: &ChainOptions,
    front_text: &str,
) -> Result<(SocketAddr, String), Failure> {
    let mut why = String::from("no address");
    for &front in fronts {
        match control_front(front, origin, options) {
            FrontControl::Relayed(line) => return Ok((front, line)),
            FrontControl::NotForwarding(line) => {
                return Err(Failure::Unreachable(format!("{front_text}: {line}")))
            }
            FrontControl::Unreachable(line) => why = line,
        }
    }
    Err(Failure::Unreachable(format!("{front_text}: {why}")))
}

/// The `--matrix` file as it is, or an empty chain matrix when there is
/// none yet; a file that is not a chain matrix is a usage error, before
/// any case runs.
fn read_chain_matrix(path: &Path) -> Result<ChainMatrix, Failure> {
    match ChainMatrix::read(path) {
        Ok(matrix) => Ok(matrix),
        Err(MatrixError::Missing(_)) => Ok(ChainMatrix::default()),
        Err(e) => Err(Failure::Usage(format!(
            "{e} (--matrix takes a chain matrix)"
        ))),
    }
}

/// The `--baseline` file, every id in it a chain case.
fn read_baseline(path: &Path, bases: &[Case]) -> Result<Baseline, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read baseline {}: {e}", path.display())))?;
    let baseline = Baseline::parse(&text)
        .map(|b| b.resolve(bases))
        .map_err(|e| Failure::Usage(format!("baseline {}: {e}", path.display())))?;
    if let Some(note) = stale_note_of(&path.display().to_string(), &baseline) {
        eprintln!("{note}");
    }
    Ok(baseline)
}

/// Renders the report and writes it to `--output` (then the summary line
/// to stdout) or to stdout.
fn write_report(
    args: &ChainArgs,
    results: &[ChainResult<'_>],
    context: &ChainContext<'_>,
) -> Result<(), Failure> {
    let format = match args.format {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Junit => Format::Junit,
        FormatArg::Markdown => Format::Markdown,
    };
    let mut text = chain::render(format, results, context);
    let terminal = args.output.is_none() && std::io::stdout().is_terminal();
    if format == Format::Text
        && colour_on(
            args.color,
            terminal,
            std::env::var_os("NO_COLOR").as_deref(),
        )
    {
        text = colour_grades(&text);
    }
    match &args.output {
        Some(path) => {
            write_atomically(path, &text).map_err(|error| Failure::Write {
                path: path.clone(),
                error,
            })?;
            let cases = chain::report::case_results(results);
            println!("{}", Summary::of(&cases, context.baseline).line());
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush());
        }
    }
    Ok(())
}
