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
    ChainContext, ChainOptions, FrontControl, Origin, Role,
};
use conformance::date;
use conformance::escape;
use conformance::matrix::MatrixError;
use conformance::report::{Format, Summary};
use conformance::rules::check_rules;
use conformance::run::CaseResult;
use conformance::template::DEFAULT_HOST;
use conformance::wire::Endpoint;
use conformance::Grade;
use std::io::{IsTerminal, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
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
fn fails_run(result: &CaseResult<'_>, fail_on: FailOnArg) -> bool {
    match result.grade {
        Grade::Fail => true,
        Grade::Warn => fail_on == FailOnArg::Should && result.case.level.at_least(Level::Should),
        _ => false,
    }
}

/// `chain`: checks the arguments, binds the origin, runs the control and
/// the cases, writes the report; returns the exit code.
pub(crate) fn chain(dir: Option<&Path>, args: ChainArgs) -> Result<u8, Failure> {
    let started = Instant::now();
    let ends = check_ends(&args)?;
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
    let fronts = resolve(&ends.host_port)?;
    let mut roles: Vec<Role> = args.role.iter().filter_map(|r| Role::parse(r)).collect();
    if roles.is_empty() {
        roles.push(Role::Gateway);
    }
    roles.sort();
    roles.dedup();
    let mut options = ChainOptions {
        timeout: args.pace.timeout(),
        jobs: args.jobs,
        host: ends.host,
        roles,
        ..ChainOptions::default()
    };
    let origin = Origin::bind(ends.listen.as_slice()).map_err(|e| cannot_listen(&args, &e))?;
    let origin_addr = origin.local_addr().to_string();
    if !args.stderr.quiet {
        eprintln!("origin listening on {origin_addr}: the front is to forward there");
    }
    let caught = watch_signals()?;
    if let Some(code) = wait_for_front(&args, &fronts, &caught)? {
        return Ok(code);
    }
    let (front, control) = reach_front(&fronts, &origin, &mut options, &args.front)?;
    if !args.stderr.quiet && (!matches!(args.format, FormatArg::Text) || args.output.is_some()) {
        eprintln!("{control}");
    }
    let watch = run_watch(&args, &caught, started, cases.len());
    let first_case = SystemTime::now();
    let clock = Instant::now();
    let partial = run_chain_cases(front, &origin, &cases, &options, &watch);
    let wall = clock.elapsed();
    if let Some(Ok(mut progress)) = watch.progress.as_ref().map(Mutex::lock) {
        progress.finish();
    }
    let stop = stop_of(&args, &caught, partial.not_run.is_empty());
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
    let case_results = chain::report::case_results(results);
    emit(
        &args,
        chain::render(format_of(&args), results, &context),
        &case_results,
        baseline.as_ref(),
    )?;
    // A matrix records whole runs only.
    if let (Some(path), Some(mut chain_matrix), None) = (&args.matrix, chain_matrix, stop) {
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
    conclude(
        &args,
        &name,
        &case_results,
        stop,
        (not_run.len(), cases.len()),
        baseline.as_ref(),
    )
}

/// What `--front`, `--origin-listen` and `--host` say, checked.
pub(crate) struct Ends {
    /// The front's `HOST:PORT`, to resolve.
    pub(crate) host_port: String,
    /// The addresses the origin is to listen on.
    pub(crate) listen: Vec<SocketAddr>,
    /// The Host value the client sends.
    pub(crate) host: String,
}

/// Checks `--front`, `--origin-listen` and `--host`: exit 2 on a bad one.
pub(crate) fn check_ends(args: &ChainArgs) -> Result<Ends, Failure> {
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
    Ok(Ends {
        host_port: spec.host_port,
        listen,
        host,
    })
}

/// The error of an origin that cannot listen on `--origin-listen`.
pub(crate) fn cannot_listen(args: &ChainArgs, error: &std::io::Error) -> Failure {
    Failure::Usage(format!(
        "cannot listen on --origin-listen {}: {error}",
        escape::encode(args.origin_listen.as_bytes())
    ))
}

/// The report's format.
pub(crate) fn format_of(args: &ChainArgs) -> Format {
    match args.format {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Junit => Format::Junit,
        FormatArg::Markdown => Format::Markdown,
    }
}

/// What watches a chain run of `cases` cases: signals, `--deadline`
/// (counted from `started`), progress.
pub(crate) fn run_watch(
    args: &ChainArgs,
    caught: &Arc<AtomicUsize>,
    started: Instant,
    cases: usize,
) -> RunWatch {
    let progress = args.stderr.show_progress();
    RunWatch {
        caught: Arc::clone(caught),
        deadline: args.deadline.map(|d| started + Duration::from_secs(d)),
        progress: progress
            .then(|| Mutex::new(Progress::new(cases, std::io::stderr().is_terminal()))),
    }
}

/// Why a run stopped early, if it did.
pub(crate) fn stop_of(args: &ChainArgs, caught: &Arc<AtomicUsize>, all_ran: bool) -> Option<Stop> {
    match caught.load(Ordering::SeqCst) {
        0 if all_ran => None,
        0 => args.deadline.map(Stop::Deadline),
        signal => Some(Stop::Signal(signal)),
    }
}

/// The exit code of a finished chain run, after its report: a stop names
/// why and how many cases of `(not run, all)` did not run; a
/// `--write-baseline` run writes its failures; else the grades decide.
pub(crate) fn conclude(
    args: &ChainArgs,
    name: &str,
    cases: &[CaseResult<'_>],
    stop: Option<Stop>,
    (not_run, all): (usize, usize),
    baseline: Option<&Baseline>,
) -> Result<u8, Failure> {
    let rules = check_rules(cases);
    let failing: Vec<&str> = cases
        .iter()
        .filter(|r| fails_run(r, args.fail_on))
        .map(|r| r.case.id.as_str())
        .chain(
            rules
                .iter()
                .filter(|r| {
                    r.grade == Grade::Fail
                        || (r.grade == Grade::Warn && args.fail_on == FailOnArg::Should)
                })
                .map(|r| r.rule.id),
        )
        .filter(|id| !baseline.is_some_and(|b| b.contains(id)))
        .collect();
    if let Some(stop) = stop {
        let skipped = if args.write_baseline.is_some() {
            " (nothing written for --write-baseline)"
        } else {
            ""
        };
        eprintln!(
            "conformance: {}: {not_run} of {all} cases not run{skipped}",
            stop.reason(),
        );
        return Ok(match stop {
            Stop::Signal(signal) => EXIT_SIGNAL_BASE.saturating_add(signal as u8),
            Stop::Gone(_) => EXIT_UNREACHABLE,
            Stop::Deadline(_) if !failing.is_empty() => EXIT_NONCONFORMANT,
            Stop::Deadline(_) => EXIT_DEADLINE,
        });
    }
    if let Some(path) = &args.write_baseline {
        let failed: Vec<String> = cases
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
        if !args.stderr.quiet {
            eprintln!(
                "baseline written to {}: {} known failures",
                path.display(),
                count
            );
        }
        return Ok(EXIT_CONFORMANT);
    }
    let summary = Summary::of(cases, baseline);
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
            cases.len()
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
    options: &mut ChainOptions,
    front_text: &str,
) -> Result<(SocketAddr, String), Failure> {
    let mut why = String::from("no address");
    for &front in fronts {
        match control_front(front, origin, options) {
            FrontControl::Relayed(line, version) => {
                options.forwarded_version = version;
                return Ok((front, line));
            }
            FrontControl::NotForwarding(line) => {
                return Err(Failure::Unreachable(format!("{front_text}: {line}")))
            }
            FrontControl::Unreachable(line) => why = line,
        }
    }
    Err(Failure::Unreachable(format!("{front_text}: {why}")))
}

/// `--wait SECS`: retries the first connect to the front until it
/// listens; the exit code when a signal ended the wait, none to go on.
pub(crate) fn wait_for_front(
    args: &ChainArgs,
    fronts: &[SocketAddr],
    caught: &Arc<AtomicUsize>,
) -> Result<Option<u8>, Failure> {
    let Some(wait) = args.wait else {
        return Ok(None);
    };
    let endpoints: Vec<Endpoint> = fronts.iter().map(|&a| a.into()).collect();
    let halted = || caught.load(Ordering::SeqCst) != 0;
    let wait = Duration::from_secs(wait);
    if wait_until_listening(&endpoints, &args.front, wait, args.stderr.quiet, &halted)? {
        return Ok(None);
    }
    eprintln!("conformance: interrupted while waiting for the front: no case run");
    let signal = caught.load(Ordering::SeqCst);
    Ok(Some(EXIT_SIGNAL_BASE.saturating_add(signal as u8)))
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
pub(crate) fn read_baseline(path: &Path, bases: &[Case]) -> Result<Baseline, Failure> {
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

/// Writes the rendered report to `--output` (then the summary line to
/// stdout) or to stdout, the text report coloured on a terminal.
pub(crate) fn emit(
    args: &ChainArgs,
    mut text: String,
    cases: &[CaseResult<'_>],
    baseline: Option<&Baseline>,
) -> Result<(), Failure> {
    let terminal = args.output.is_none() && std::io::stdout().is_terminal();
    if format_of(args) == Format::Text
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
            println!("{}", Summary::of(cases, baseline).line());
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
