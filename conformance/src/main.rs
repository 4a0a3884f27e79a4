//! `conformance`: run the case catalogue against an HTTP/1.1 server, list
//! the cases, explain one, compare several servers, or render a matrix of
//! servers as a report.
//!
//! Exit codes: 0 conformant, 1 a `must` failed (outside the baseline),
//! 2 usage error or empty selection, 3 target unreachable or not speaking
//! HTTP/1.x, 4 no case could be graded (every case skipped or errored).
#![forbid(unsafe_code)]

use clap::{Args, Parser, Subcommand, ValueEnum};
use conformance::baseline::Baseline;
use conformance::case::{self, Case, Level};
use conformance::control::{self, Control, ControlError};
use conformance::coverage;
use conformance::diff::{self, Target};
use conformance::matrix::{self, Matrix, MatrixError, ServerAnswers};
use conformance::report::{self, Format, ReportContext, RunInfo, Settings, Summary};
use conformance::run::{self, Environment, RunOptions};
use conformance::snapshot::{self, SnapshotOptions};
use conformance::template::{Values, DEFAULT_HOST, DEFAULT_PATH};
use conformance::{date, escape, explain, page};
use std::collections::BTreeSet;
use std::fmt;
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Exit code: no `must` failed (outside the baseline).
const EXIT_CONFORMANT: u8 = 0;
/// Exit code: a `must` case failed (and is not in the baseline).
const EXIT_NONCONFORMANT: u8 = 1;
/// Exit code: bad arguments, a bad case or baseline file, an empty selection.
const EXIT_USAGE: u8 = 2;
/// Exit code: the target did not accept a connection, or did not answer the
/// control request with HTTP/1.x, before any case ran.
const EXIT_UNREACHABLE: u8 = 3;
/// Exit code: every case ended as skip or error, so nothing was graded.
const EXIT_NOTHING_GRADED: u8 = 4;

/// The exit codes, for `--help`.
const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  conformant: no must case failed (or none beyond the baseline)
  1  a must case failed (with --baseline: one not listed in it)
  2  usage error, an empty selection, or a control request not answered 2xx
  3  the target is unreachable or does not speak HTTP/1.x (checked before any case)
  4  nothing was graded: every case was skipped or could not be run";
/// How many near ids an unknown id suggests.
const SUGGESTIONS: usize = 3;

/// What the user typed.
#[derive(Parser)]
#[command(
    name = "conformance",
    version = env!("CONFORMANCE_VERSION"),
    about = "Raw-socket HTTP/1.1 conformance cases with RFC verdicts",
    after_help = EXIT_CODES_HELP
)]
struct Cli {
    /// Read the cases from DIR instead of the catalogue compiled into this binary
    #[arg(long, global = true, value_name = "DIR")]
    cases: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run cases against a server and grade its answers
    #[command(after_help = EXIT_CODES_HELP)]
    Run(RunArgs),
    /// List the cases: id, level, group, title
    List(Selection),
    /// Show a case's request, requirement, acceptable outcomes and explanation,
    /// and what each server in the matrix answered
    Explain {
        /// The case id
        id: String,
        /// The matrix to show answers from [default: matrix/results.json if
        /// present, else the one compiled into this binary]
        #[arg(long, value_name = "FILE")]
        matrix: Option<PathBuf>,
        /// Show the bytes as a run with this --path would send them
        #[arg(long, value_name = "PATH", default_value = DEFAULT_PATH)]
        path: String,
        /// Show the bytes as a run with this --host would send them
        #[arg(long, value_name = "VALUE", default_value = DEFAULT_HOST)]
        host: String,
    },
    /// Run the cases against two or more targets and list only the cases
    /// they answer differently, grouped by kind of difference
    Diff(DiffArgs),
    /// Render a matrix (written by `run --matrix`) as a self-contained HTML
    /// page or as Markdown
    Report(ReportArgs),
    /// How many of the testable requirements of RFC 9110 and RFC 9112 the
    /// catalogue covers, by area
    Coverage {
        /// List the requirements no case covers instead
        #[arg(long)]
        uncovered: bool,
        /// Rewrite the coverage block of FILE (the README) instead of printing
        #[arg(long, value_name = "FILE", conflicts_with = "uncovered")]
        update: Option<PathBuf>,
    },
}

/// How fast and how patiently cases run, shared by `run` and `diff`.
#[derive(Args)]
struct Pace {
    /// Per-step timeout in milliseconds (a case's own timeout_ms raises it)
    #[arg(long, value_name = "MS", default_value_t = conformance::limits::DEFAULT_TIMEOUT.as_millis() as u64)]
    timeout: u64,
    /// How many cases run at once against each target [default: 8, or 1 when
    /// the control finds that the target serves one connection at a time]
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
}

impl Pace {
    /// The run options, once both values are known to be usable.
    fn options(&self) -> Result<RunOptions, Failure> {
        if self.timeout == 0 {
            return Err(Failure::Usage("--timeout must be at least 1 ms".into()));
        }
        if self.jobs == Some(0) {
            return Err(Failure::Usage("--jobs must be at least 1".into()));
        }
        Ok(RunOptions {
            timeout: Duration::from_millis(self.timeout),
            jobs: self.jobs.unwrap_or(conformance::limits::DEFAULT_JOBS),
            ..RunOptions::default()
        })
    }
}

/// What the target serves, shared by `run` and `diff`.
#[derive(Args)]
struct Resource {
    /// An existing resource on the target that answers GET with 2xx: the
    /// cases' requests are made against it
    #[arg(long, value_name = "PATH")]
    path: Option<String>,
    /// The Host value the cases send
    #[arg(long, value_name = "VALUE", default_value = DEFAULT_HOST)]
    host: String,
    /// The target serves this repository's fixtures/root: also run the
    /// cases that need its files and directories
    #[arg(long)]
    fixture_root: bool,
}

impl Resource {
    /// The path to test against: `--path`, else the target URL's path, else `/`.
    fn path(&self, from_target: Option<&str>) -> Result<String, Failure> {
        let path = self.path.as_deref().or(from_target).unwrap_or(DEFAULT_PATH);
        let origin_form =
            path.starts_with('/') && path.bytes().all(|b| b.is_ascii_graphic() && b != b'#');
        if !origin_form {
            return Err(Failure::Usage(format!(
                "--path must be an absolute path such as /index.html (visible ASCII, no #), \
                 got \"{}\"",
                escape::encode(path.as_bytes())
            )));
        }
        Ok(path.to_string())
    }

    /// The Host value, once known to be one field value of visible ASCII.
    fn host(&self) -> Result<String, Failure> {
        if self.host.is_empty() || !self.host.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Failure::Usage(format!(
                "--host must be visible ASCII without spaces, got \"{}\"",
                escape::encode(self.host.as_bytes())
            )));
        }
        Ok(self.host.clone())
    }
}

#[derive(Args)]
struct Selection {
    /// Only cases whose id starts with PREFIX (repeatable)
    #[arg(long, value_name = "PREFIX")]
    filter: Vec<String>,
    /// Leave out cases whose id starts with PREFIX (repeatable)
    #[arg(long, value_name = "PREFIX")]
    exclude: Vec<String>,
    /// Only cases of at least this level
    #[arg(long, value_enum)]
    level: Option<LevelArg>,
}

#[derive(Args)]
struct RunArgs {
    /// The server to test: HOST:PORT, or http://HOST:PORT/PATH
    #[arg(long, value_name = "HOST:PORT")]
    target: String,
    #[command(flatten)]
    resource: Resource,
    /// A name for the target in reports [default: the target]
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    #[command(flatten)]
    selection: Selection,
    #[command(flatten)]
    pace: Pace,
    /// Report format
    #[arg(long, value_enum, default_value = "text")]
    format: FormatArg,
    /// Write the report to FILE instead of standard output
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Known failures, one case id per line: they do not fail the run
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write the ids of this run's failures to FILE as a baseline
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// Write each case's normalised heads to DIR/<case-id>.snap (only files
    /// whose text changed; snapshots of cases no longer in the catalogue go)
    #[arg(long, value_name = "DIR")]
    snapshots: Option<PathBuf>,
    /// Also redact this header field's value in snapshots (repeatable), e.g.
    /// Server for a server whose version moves
    #[arg(long, value_name = "FIELD")]
    redact: Vec<String>,
    /// Sort the comma-separated members of this header field in snapshots
    /// (repeatable), for a set a server lists in an order that changes from
    /// run to run (Apache's Allow)
    #[arg(long, value_name = "FIELD")]
    unordered: Vec<String>,
    /// Record this run's answers in the matrix FILE (created if missing;
    /// an earlier entry of the same --name is replaced)
    #[arg(long, value_name = "FILE")]
    matrix: Option<PathBuf>,
    /// The server's exact version, for the matrix
    #[arg(long, value_name = "TEXT", default_value = "")]
    server_version: String,
}

#[derive(Args)]
struct DiffArgs {
    /// A server to compare, as NAME=HOST:PORT or HOST:PORT (at least two)
    #[arg(long = "target", value_name = "[NAME=]HOST:PORT", required = true)]
    targets: Vec<String>,
    #[command(flatten)]
    resource: Resource,
    #[command(flatten)]
    selection: Selection,
    #[command(flatten)]
    pace: Pace,
    /// Also ignore this header field's value when comparing heads (repeatable)
    #[arg(long, value_name = "FIELD")]
    redact: Vec<String>,
}

#[derive(Args)]
struct ReportArgs {
    /// The matrix to render [default: matrix/results.json if present, else
    /// the one compiled into this binary]
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// html: the self-contained page; markdown: the scores and one table per
    /// group; scores: the scores table alone
    #[arg(long, value_enum, default_value = "html")]
    format: ReportFormatArg,
    /// Write the report to FILE instead of standard output
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormatArg {
    Html,
    Markdown,
    Scores,
}

#[derive(Clone, Copy, ValueEnum)]
enum LevelArg {
    Must,
    Should,
    May,
    Info,
}

impl LevelArg {
    fn level(self) -> Level {
        match self {
            LevelArg::Must => Level::Must,
            LevelArg::Should => Level::Should,
            LevelArg::May => Level::May,
            LevelArg::Info => Level::Info,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Text,
    Json,
    Junit,
    Markdown,
}

/// Why the command could not do its job; each maps to one exit code.
enum Failure {
    /// Bad arguments or input files: exit 2.
    Usage(String),
    /// The target refused the first connect or did not answer the control
    /// with HTTP/1.x: exit 3.
    Unreachable(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(message) | Failure::Unreachable(message) => f.write_str(message),
        }
    }
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Unreachable(_) => EXIT_UNREACHABLE,
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap's own output, success.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail(&Failure::Usage(first_line_of_clap_error(&e))),
    };
    let dir = cli.cases.as_deref();
    let result = match cli.command {
        Command::Run(args) => run_command(dir, args),
        Command::List(selection) => list_command(dir, &selection),
        Command::Explain {
            id,
            matrix,
            path,
            host,
        } => explain_command(dir, &id, matrix, &path, &host),
        Command::Diff(args) => diff_command(dir, args),
        Command::Report(args) => report_command(dir, args),
        Command::Coverage { uncovered, update } => coverage_command(dir, uncovered, update),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => fail(&failure),
    }
}

fn fail(failure: &Failure) -> ExitCode {
    eprintln!("conformance: {failure}");
    ExitCode::from(failure.exit_code())
}

fn first_line_of_clap_error(e: &clap::Error) -> String {
    let text = e.to_string();
    let line = text.lines().next().unwrap_or("invalid arguments");
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// The catalogue: the one compiled in, or `--cases DIR`.
fn load(dir: Option<&Path>) -> Result<Vec<Case>, Failure> {
    let loaded = match dir {
        Some(dir) => case::load_catalogue(dir),
        None => case::builtin_catalogue(),
    };
    loaded.map_err(|e| match e {
        case::CatalogueError::Invalid(errors) if errors.len() > 1 => Failure::Usage(format!(
            "{} (and {} more invalid case files)",
            errors[0],
            errors.len() - 1
        )),
        other => Failure::Usage(other.to_string()),
    })
}

/// The cases the selection names; an empty selection is a usage error
/// (exit 2), since a run of nothing would report a conformance it never tested.
fn select<'c>(cases: &'c [Case], selection: &Selection) -> Result<Vec<&'c Case>, Failure> {
    let floor = selection.level.map(LevelArg::level);
    let selected = cases
        .iter()
        .filter(|c| {
            selection.filter.is_empty() || selection.filter.iter().any(|p| c.id.starts_with(p))
        })
        .filter(|c| !selection.exclude.iter().any(|p| c.id.starts_with(p)))
        .filter(|c| floor.is_none_or(|floor| c.level.at_least(floor)))
        .collect::<Vec<_>>();
    if selected.is_empty() {
        return Err(Failure::Usage("no cases match the selection".into()));
    }
    Ok(selected)
}

/// A validated `run`: everything checked before the first connect.
struct RunPlan {
    /// Every address the target resolves to; the first that accepts a
    /// connection is tested.
    addresses: Vec<SocketAddr>,
    target_text: String,
    /// The resource and Host value the control and the cases use.
    path: String,
    host: String,
    fixture_root: bool,
    /// Whether `--jobs` was given: it wins over what the control finds.
    jobs_given: bool,
    name: String,
    cases: Vec<Case>,
    options: RunOptions,
    format: Format,
    output: Option<PathBuf>,
    baseline: Option<Baseline>,
    write_baseline: Option<PathBuf>,
    snapshots: Option<PathBuf>,
    redact: Vec<String>,
    unordered: Vec<String>,
    matrix: Option<PathBuf>,
    server_version: String,
    /// Every id in the catalogue: a snapshot of any other id is an orphan.
    catalogue_ids: BTreeSet<String>,
    /// The options as reports record them.
    settings: Settings,
}

fn plan_run(dir: Option<&Path>, args: RunArgs) -> Result<RunPlan, Failure> {
    let options = args.pace.options()?;
    let (host_port, target_path) = split_target(&args.target)?;
    let path = args.resource.path(target_path)?;
    let host = args.resource.host()?;
    let catalogue = load(dir)?;
    let baseline = match &args.baseline {
        Some(path) => Some(read_baseline(path, &catalogue)?),
        None => None,
    };
    let cases: Vec<Case> = select(&catalogue, &args.selection)?
        .into_iter()
        .cloned()
        .collect();
    for file in [&args.output, &args.write_baseline, &args.matrix]
        .into_iter()
        .flatten()
    {
        check_writable_dir(file)?;
    }
    let addresses = resolve(host_port)?;
    let settings = Settings {
        path: path.clone(),
        host: host.clone(),
        fixture_root: args.resource.fixture_root,
        jobs: options.jobs,
        timeout_ms: args.pace.timeout,
        filter: args.selection.filter.clone(),
        exclude: args.selection.exclude.clone(),
        level: args.selection.level.map(LevelArg::level),
        baseline: args.baseline.as_ref().map(|p| p.display().to_string()),
        cases_dir: dir.map(|d| d.display().to_string()),
    };
    let format = match args.format {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Junit => Format::Junit,
        FormatArg::Markdown => Format::Markdown,
    };
    Ok(RunPlan {
        addresses,
        name: args.name.unwrap_or_else(|| args.target.clone()),
        path,
        host,
        fixture_root: args.resource.fixture_root,
        jobs_given: args.pace.jobs.is_some(),
        target_text: args.target,
        cases,
        options,
        format,
        output: args.output,
        baseline,
        write_baseline: args.write_baseline,
        snapshots: args.snapshots,
        redact: args.redact,
        unordered: args.unordered,
        matrix: args.matrix,
        server_version: args.server_version,
        catalogue_ids: catalogue.iter().map(|c| c.id.clone()).collect(),
        settings,
    })
}

/// `HOST:PORT`, or `http://HOST:PORT/PATH` split into `HOST:PORT` and the
/// path (none for `http://HOST:PORT` or `http://HOST:PORT/`).
fn split_target(target: &str) -> Result<(&str, Option<&str>), Failure> {
    if target.starts_with("https://") {
        return Err(Failure::Usage(
            "https:// targets are not supported: the suite speaks HTTP/1.1 over plain TCP".into(),
        ));
    }
    let Some(rest) = target.strip_prefix("http://") else {
        check_host_port(target)?;
        return Ok((target, None));
    };
    let (host_port, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], Some(&rest[slash..])),
        None => (rest, None),
    };
    check_host_port(host_port)?;
    Ok((host_port, path.filter(|p| *p != "/")))
}

/// `HOST:PORT` with a host and a numeric port, else a usage error.
fn check_host_port(target: &str) -> Result<(), Failure> {
    let ok = target
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if ok {
        Ok(())
    } else {
        Err(Failure::Usage(format!(
            "--target must be HOST:PORT or http://HOST:PORT/PATH, got \"{}\"",
            escape::encode(target.as_bytes())
        )))
    }
}

/// Every address `target` resolves to.
fn resolve(target: &str) -> Result<Vec<SocketAddr>, Failure> {
    let addresses: Vec<SocketAddr> = target
        .to_socket_addrs()
        .map_err(|e| Failure::Unreachable(format!("cannot resolve {target}: {e}")))?
        .collect();
    if addresses.is_empty() {
        return Err(Failure::Unreachable(format!("{target} has no address")));
    }
    Ok(addresses)
}

fn read_baseline(path: &Path, catalogue: &[Case]) -> Result<Baseline, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read baseline {}: {e}", path.display())))?;
    let baseline = Baseline::parse(&text)
        .and_then(|b| b.check_known(catalogue).map(|()| b))
        .map_err(|e| Failure::Usage(format!("baseline {}: {e}", path.display())))?;
    Ok(baseline)
}

fn run_command(dir: Option<&Path>, args: RunArgs) -> Result<u8, Failure> {
    let mut plan = plan_run(dir, args)?;
    let (target, control) = first_reachable(
        &plan.addresses,
        &plan.target_text,
        &plan.path,
        &plan.host,
        plan.options.timeout,
    )?;
    // The text report carries the control line itself; other formats and a
    // report written to a file leave it for the terminal.
    if plan.format != Format::Text || plan.output.is_some() {
        eprintln!("{}", control.line());
    }
    if !control.concurrent && !plan.jobs_given {
        eprintln!(
            "the target served no second connection while one was open: running one case \
             at a time (--jobs overrides)"
        );
        plan.options.jobs = 1;
    }
    plan.options.environment = Environment::from_control(&control, plan.fixture_root);
    let started = std::time::SystemTime::now();
    let clock = std::time::Instant::now();
    let results = run::run_cases(target, &plan.cases, &plan.options);
    let run = RunInfo {
        started,
        wall: clock.elapsed(),
        settings: Settings {
            jobs: plan.options.jobs,
            ..plan.settings.clone()
        },
    };
    let context = ReportContext {
        name: &plan.name,
        target: &plan.target_text,
        baseline: plan.baseline.as_ref(),
        control: Some(&control),
        run: &run,
    };
    let text = report::render(plan.format, &results, &context);
    let summary = Summary::of(&results, plan.baseline.as_ref());
    match &plan.output {
        Some(path) => {
            write_atomically(path, &text)
                .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
            println!("{}", summary.line());
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not worth an error message.
            let _ = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush());
        }
    }
    if let Some(path) = &plan.write_baseline {
        let failing = results
            .iter()
            .filter(|r| r.grade == conformance::Grade::Fail)
            .map(|r| r.case.id.clone());
        let header = format!(
            "Known failures of {} ({}), written by `conformance run --write-baseline`.",
            plan.name, plan.target_text
        );
        write_atomically(path, &Baseline::from_ids(failing).render(&header))
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    if let Some(dir) = &plan.snapshots {
        let options = SnapshotOptions {
            redact: plan.redact.clone(),
            port: Some(target.port()),
            unordered: plan.unordered.clone(),
        };
        let ids: BTreeSet<&str> = plan.catalogue_ids.iter().map(String::as_str).collect();
        let written =
            snapshot::write_dir(dir, &results, &options, "conformance run --snapshots", &ids)
                .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", dir.display())))?;
        eprintln!(
            "snapshots in {}: {} written, {} unchanged, {} removed",
            dir.display(),
            written.written,
            written.unchanged,
            written.removed
        );
    }
    if let Some(path) = &plan.matrix {
        let mut matrix = match Matrix::read(path) {
            Ok(matrix) => matrix,
            Err(MatrixError::Missing(_)) => Matrix::default(),
            Err(e) => return Err(Failure::Usage(e.to_string())),
        };
        let answers = ServerAnswers::from_results(&plan.name, &plan.server_version, &results);
        matrix.record(answers, date::format_iso_date(std::time::SystemTime::now()));
        write_atomically(path, &matrix.to_json())
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(if !summary.graded_any() {
        eprintln!(
            "conformance: no case could be graded ({} skipped, {} errors): not conformant",
            summary.skipped, summary.errors
        );
        EXIT_NOTHING_GRADED
    } else if summary.is_conformant() {
        EXIT_CONFORMANT
    } else {
        EXIT_NONCONFORMANT
    })
}

/// The first of the target's addresses that accepts a connection, with
/// what the control requests learned there: one GET and one HEAD before any
/// case, so an unreachable target or one that does not speak HTTP/1.x is
/// exit 3 and a path that is not served is exit 2, not a run of wrong
/// verdicts.
fn first_reachable(
    addresses: &[SocketAddr],
    target_text: &str,
    path: &str,
    host: &str,
    timeout: Duration,
) -> Result<(SocketAddr, Control), Failure> {
    let mut last_error = None;
    for &address in addresses {
        match control::probe(address, path, host, timeout) {
            Ok(control) if control.is_success() => return Ok((address, control)),
            Ok(control) => {
                return Err(Failure::Usage(format!(
                    "the control request GET {} was answered {} {}: pick an existing resource \
                     that answers GET with 2xx with --path",
                    escape::encode(path.as_bytes()),
                    control.status,
                    escape::encode(control.reason.as_bytes())
                )))
            }
            Err(ControlError::Unreachable(why)) => last_error = Some(why),
            Err(ControlError::NotHttp(why)) => {
                return Err(Failure::Unreachable(format!("{target_text}: {why}")))
            }
        }
    }
    let why = last_error.unwrap_or_else(|| "no address".to_string());
    Err(Failure::Unreachable(format!(
        "cannot reach {target_text}: {why}"
    )))
}

/// The folder `path` would be written into exists: checked before the run,
/// so a typo costs no run.
fn check_writable_dir(path: &Path) -> Result<(), Failure> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if dir.is_dir() {
        Ok(())
    } else {
        Err(Failure::Usage(format!(
            "cannot write {}: no directory {}",
            path.display(),
            dir.display()
        )))
    }
}

/// Writes `text` to a temporary file beside `path` and renames it over
/// `path`, so a reader never sees a half-written report.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = std::fs::File::create(&temp).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    match written.and_then(|()| std::fs::rename(&temp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}

fn list_command(dir: Option<&Path>, selection: &Selection) -> Result<u8, Failure> {
    let catalogue = load(dir)?;
    let cases = select(&catalogue, selection)?;
    let out = explain::render_list(&cases);
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(EXIT_CONFORMANT)
}

fn explain_command(
    dir: Option<&Path>,
    id: &str,
    matrix: Option<PathBuf>,
    path: &str,
    host: &str,
) -> Result<u8, Failure> {
    let values = Values {
        path: path.to_string(),
        host: host.to_string(),
        ..Values::default()
    };
    let catalogue = load(dir)?;
    let Some(case) = catalogue.iter().find(|c| c.id == id) else {
        let near = suggest(id, &catalogue);
        let hint = if near.is_empty() {
            "see `conformance list`".to_string()
        } else {
            format!("did you mean {}?", near.join(", "))
        };
        return Err(Failure::Usage(format!("no case `{id}`; {hint}")));
    };
    let (source, matrix) = match matrix {
        Some(path) => (path.display().to_string(), Matrix::read(&path)),
        None => matrix::default_matrix(),
    };
    let mut text = explain::render_case(case, &values);
    text.push_str(&explain::render_answers(case, &source, matrix));
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(EXIT_CONFORMANT)
}

/// A validated `diff` target: its name, its text, its addresses.
struct DiffTarget {
    name: String,
    text: String,
    addresses: Vec<SocketAddr>,
}

fn diff_command(dir: Option<&Path>, args: DiffArgs) -> Result<u8, Failure> {
    if args.targets.len() < 2 {
        return Err(Failure::Usage(
            "diff needs at least two --target options".into(),
        ));
    }
    let options = args.pace.options()?;
    let path = args.resource.path(None)?;
    let host = args.resource.host()?;
    let mut named = Vec::new();
    for spec in &args.targets {
        let (name, text) = match spec.split_once('=') {
            Some((name, text)) if !name.is_empty() => (name.to_string(), text.to_string()),
            _ => (spec.clone(), spec.clone()),
        };
        check_host_port(&text)?;
        if named.iter().any(|(n, _): &(String, String)| *n == name) {
            return Err(Failure::Usage(format!("two targets are named \"{name}\"")));
        }
        named.push((name, text));
    }
    let catalogue = load(dir)?;
    let cases: Vec<Case> = select(&catalogue, &args.selection)?
        .into_iter()
        .cloned()
        .collect();
    let mut resolved = Vec::new();
    for (name, text) in named {
        let addresses = resolve(&text)?;
        resolved.push(DiffTarget {
            name,
            text,
            addresses,
        });
    }
    // Every target is checked before any case runs: exit 3 costs no run.
    let mut reachable = Vec::new();
    for target in &resolved {
        let (address, control) = first_reachable(
            &target.addresses,
            &target.text,
            &path,
            &host,
            options.timeout,
        )?;
        eprintln!("{}: {}", target.name, control.line());
        let mut target_options = options.clone();
        if !control.concurrent && args.pace.jobs.is_none() {
            target_options.jobs = 1;
        }
        target_options.environment =
            Environment::from_control(&control, args.resource.fixture_root);
        reachable.push((address, target_options));
    }
    let targets: Vec<Target> = resolved
        .iter()
        .zip(&reachable)
        .map(|(t, (address, _))| Target {
            name: t.name.clone(),
            address: t.text.clone(),
            options: SnapshotOptions {
                redact: args.redact.clone(),
                port: Some(address.port()),
                unordered: Vec::new(),
            },
        })
        .collect();
    let results: Vec<_> = reachable
        .iter()
        .map(|(address, options)| run::run_cases(*address, &cases, options))
        .collect();
    let entries = diff::compare(&targets, &results);
    let text = diff::render_text(&targets, cases.len(), &entries);
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(EXIT_CONFORMANT)
}

fn report_command(dir: Option<&Path>, args: ReportArgs) -> Result<u8, Failure> {
    let matrix = match args.input {
        Some(path) => Matrix::read(&path),
        None => matrix::default_matrix().1,
    }
    .map_err(|e| Failure::Usage(e.to_string()))?;
    let text = match args.format {
        ReportFormatArg::Scores => matrix::render_scores(&matrix),
        ReportFormatArg::Markdown => matrix::render_markdown(&matrix, &load(dir)?),
        ReportFormatArg::Html => page::render_html(&matrix, &load(dir)?),
    };
    match &args.output {
        Some(output) => write_atomically(output, &text)
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", output.display())))?,
        None => {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
    }
    Ok(EXIT_CONFORMANT)
}

fn coverage_command(
    dir: Option<&Path>,
    uncovered: bool,
    update: Option<PathBuf>,
) -> Result<u8, Failure> {
    let cases = load(dir)?;
    let requirements = coverage::builtin_requirements().map_err(Failure::Usage)?;
    let text = if uncovered {
        coverage::render_uncovered(&requirements, &cases)
    } else {
        coverage::render_table(&requirements, &cases)
    };
    let Some(file) = update else {
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
        return Ok(EXIT_CONFORMANT);
    };
    let old = std::fs::read_to_string(&file)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", file.display())))?;
    let new = coverage::replace_table(&old, &text).ok_or_else(|| {
        Failure::Usage(format!(
            "{} has no coverage block ({} … {})",
            file.display(),
            coverage::TABLE_BEGIN,
            coverage::TABLE_END
        ))
    })?;
    if new != old {
        write_atomically(&file, &new)
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", file.display())))?;
    }
    Ok(EXIT_CONFORMANT)
}

/// Ids close to `id`: those containing it, then those within a small edit
/// distance, nearest first.
fn suggest(id: &str, catalogue: &[Case]) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = catalogue
        .iter()
        .filter_map(|c| {
            let distance = if c.id.contains(id) {
                0
            } else {
                edit_distance(id, &c.id)
            };
            (distance <= (id.len() / 3).max(2)).then_some((distance, c.id.as_str()))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(SUGGESTIONS)
        .map(|(_, id)| id.to_string())
        .collect()
}

/// Levenshtein distance over bytes (ids are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.as_bytes().iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_then_levenshtein() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
