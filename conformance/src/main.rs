//! `conformance`: run the case catalogue against an HTTP/1.1 server, list
//! the cases, explain one, compare several servers, or render a matrix of
//! servers as a report.
//!
//! Exit codes: see [`EXIT_CODES_HELP`], which `--help` prints and the
//! README's table repeats (a test keeps the two alike).
#![forbid(unsafe_code)]

use clap::builder::PossibleValuesParser;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use conformance::baseline::Baseline;
use conformance::case::{self, Case, Group, Level};
use conformance::control::{self, Control, ControlError};
use conformance::coverage;
use conformance::diff::{self, Target};
use conformance::matrix::{self, Matrix, MatrixError, ServerAnswers};
use conformance::report::{self, Format, NotRun, ReportContext, RunInfo, Settings, Summary};
use conformance::run::{self, CaseResult, Environment, RunOptions, Watch};
use conformance::snapshot::{self, SnapshotOptions};
use conformance::template::{Values, DEFAULT_HOST, DEFAULT_PATH};
use conformance::wire::tls::{TlsClient, Trust, Versions};
use conformance::wire::Transport;
use conformance::{date, escape, explain, page, Grade};
use std::collections::BTreeSet;
use std::fmt;
use std::io::{IsTerminal, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Exit code: no case failed at the `--fail-on` level (outside the baseline).
const EXIT_CONFORMANT: u8 = 0;
/// Exit code: a case failed at the `--fail-on` level (and is not in the
/// baseline).
const EXIT_NONCONFORMANT: u8 = 1;
/// Exit code: bad arguments, a bad case or baseline file, an empty selection.
const EXIT_USAGE: u8 = 2;
/// Exit code: the target did not accept a connection, did not answer the
/// control request with HTTP/1.x, or failed its TLS handshake, before any
/// case ran.
const EXIT_UNREACHABLE: u8 = 3;
/// Exit code: every case ended as skip or error, so nothing was graded.
const EXIT_NOTHING_GRADED: u8 = 4;
/// Exit code: `--deadline` passed before every case had started, and none
/// of those that ran failed.
const EXIT_DEADLINE: u8 = 5;
/// Exit code base for a run stopped by a signal: 128 + the signal number,
/// as shells report it (130 for SIGINT, 143 for SIGTERM).
const EXIT_SIGNAL_BASE: u8 = 128;

/// The exit codes, for `--help`; the README's table says the same.
const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    conformant: no case failed at the --fail-on level (or none beyond the baseline)
  1    a case failed at the --fail-on level (with --baseline: one not listed in it)
  2    usage error, an empty selection, or a control request not answered 2xx
  3    the target is unreachable, not HTTP/1.x or failed its TLS handshake before any case, or went away during the run
  4    nothing was graded: every case was skipped or could not be run
  5    the --deadline passed before every case had started, and no case failed
  130  interrupted by SIGINT: the report lists the cases not run
  143  terminated by SIGTERM: the report lists the cases not run";
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
    Run(Box<RunArgs>),
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

/// The longest `--timeout`: a step that waits longer than a minute is a
/// typo, not patience.
const MAX_TIMEOUT_MS: u64 = 60_000;

/// How patiently cases run, shared by `run` and `diff`.
#[derive(Args)]
struct Pace {
    /// Per-step timeout in milliseconds, 1 to 60000 (a case's own timeout_ms
    /// raises it)
    #[arg(long, value_name = "MS", value_parser = parse_timeout,
          default_value_t = conformance::limits::DEFAULT_TIMEOUT.as_millis() as u64)]
    timeout: u64,
}

impl Pace {
    /// The per-step timeout.
    fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout)
    }

    /// The run options with `jobs` cases at once.
    fn options(&self, jobs: usize) -> RunOptions {
        RunOptions {
            timeout: Duration::from_millis(self.timeout),
            jobs,
            ..RunOptions::default()
        }
    }
}

/// `--timeout`: a whole number of milliseconds from 1 to [`MAX_TIMEOUT_MS`].
fn parse_timeout(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(ms) if (1..=MAX_TIMEOUT_MS).contains(&ms) => Ok(ms),
        _ => Err(format!(
            "must be a whole number of milliseconds from 1 to {MAX_TIMEOUT_MS} (60 s)"
        )),
    }
}

/// `--jobs`: at least 1.
fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("must be a whole number, at least 1".into()),
    }
}

/// `--deadline`: a whole number of seconds, at least 1.
fn parse_deadline(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(secs) if secs >= 1 => Ok(secs),
        _ => Err("must be a whole number of seconds, at least 1".into()),
    }
}

/// The group names `--group` accepts, in catalogue order.
fn group_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(Group::ALL.map(Group::as_str))
}

/// What the target serves, shared by `run` and `diff`.
#[derive(Args)]
struct Resource {
    /// An existing resource on the target that answers GET with 2xx: the
    /// cases' requests are made against it
    #[arg(long, value_name = "PATH")]
    path: Option<String>,
    /// The Host value the cases send [default: localhost]; on an https://
    /// target also the TLS server name (SNI), which is otherwise the
    /// target's host
    #[arg(long, value_name = "VALUE")]
    host: Option<String>,
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
        let host = self.host.as_deref().unwrap_or(DEFAULT_HOST);
        if host.is_empty() || !host.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Failure::Usage(format!(
                "--host must be visible ASCII without spaces, got \"{}\"",
                escape::encode(host.as_bytes())
            )));
        }
        Ok(host.to_string())
    }
}

/// Which cases run: each kind of option given narrows the selection, and
/// a case matches a kind when it matches any of its values.
#[derive(Args)]
struct Selection {
    /// Only cases whose id starts with PREFIX (repeatable)
    #[arg(long, value_name = "PREFIX")]
    filter: Vec<String>,
    /// Only cases of this group (repeatable)
    #[arg(long, value_name = "GROUP", value_parser = group_parser())]
    group: Vec<String>,
    /// Only the case with exactly this id (repeatable)
    #[arg(long = "id", value_name = "ID")]
    ids: Vec<String>,
    /// Leave out cases whose id starts with PREFIX (repeatable)
    #[arg(long, value_name = "PREFIX")]
    exclude: Vec<String>,
    /// Only cases of at least this level
    #[arg(long, value_enum)]
    level: Option<LevelArg>,
}

#[derive(Args)]
struct RunArgs {
    /// The server to test: HOST:PORT, http://HOST[:PORT][/PATH], or
    /// https://HOST[:PORT][/PATH] for TLS (the path sets --path)
    #[arg(long, value_name = "HOST:PORT")]
    target: String,
    #[command(flatten)]
    resource: Resource,
    #[command(flatten)]
    tls: TlsArgs,
    /// A name for the target in reports [default: the target]
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    #[command(flatten)]
    selection: Selection,
    #[command(flatten)]
    pace: Pace,
    /// How many cases run at once [default: 8, or 1 when the control finds
    /// that the target serves one connection at a time]
    #[arg(long, value_name = "N", value_parser = parse_jobs)]
    jobs: Option<usize>,
    /// What makes the run exit 1: a failed must case, or also a warned must
    /// or should case (the baseline lists failures only)
    #[arg(long, value_enum, value_name = "LEVEL", default_value = "must")]
    fail_on: FailOnArg,
    /// Start no case later than SECS seconds after the run began: the rest
    /// are reported as not run, and the run exits 5 unless a case failed
    #[arg(long, value_name = "SECS", value_parser = parse_deadline)]
    deadline: Option<u64>,
    /// Report format
    #[arg(long, value_enum, default_value = "text")]
    format: FormatArg,
    /// Colour the grades of the text report: auto colours only a terminal,
    /// and not when NO_COLOR is set to a non-empty value
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    color: ColorArg,
    /// Show progress on stderr even when it is not a terminal
    #[arg(long, conflicts_with = "quiet")]
    progress: bool,
    /// No progress and no notes on stderr, only errors
    #[arg(long)]
    quiet: bool,
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

/// How an https:// target's certificate is checked.
#[derive(Args)]
struct TlsArgs {
    /// Trust only the CA certificates in this PEM file (https:// targets)
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Do not verify the certificate of an https:// target (the control
    /// line says so)
    #[arg(long, conflicts_with = "ca")]
    insecure: bool,
    /// Offer only this TLS version [default: 1.2 and 1.3]
    #[arg(long, value_name = "VERSION", value_parser = ["1.2", "1.3"])]
    tls_version: Option<String>,
}

impl TlsArgs {
    /// The transport of a target: TLS for https://, checked against
    /// `name`, else plain TCP (where a TLS flag is a usage error).
    fn transport(&self, https: bool, name: &str) -> Result<Transport, Failure> {
        if !https {
            if self.ca.is_some() || self.insecure || self.tls_version.is_some() {
                return Err(Failure::Usage(
                    "--ca, --insecure and --tls-version need an https:// target".into(),
                ));
            }
            return Ok(Transport::Tcp);
        }
        let trust = match (&self.ca, self.insecure) {
            (_, true) => Trust::Insecure,
            (Some(file), false) => Trust::CaFile(file.clone()),
            (None, false) => Trust::WebpkiRoots,
        };
        let versions = match self.tls_version.as_deref() {
            Some("1.2") => Versions::Tls12,
            Some("1.3") => Versions::Tls13,
            _ => Versions::Both,
        };
        TlsClient::new(name, trust, versions)
            .map(Transport::Tls)
            .map_err(Failure::Usage)
    }
}

/// The name in a Host value or `HOST:PORT`: without its port and an IPv6
/// literal's brackets.
fn host_name(host_port: &str) -> &str {
    if let Some(rest) = host_port.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host_port.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host_port,
    }
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
    /// How many cases run at once: N for every target, NAME=N for one
    /// (repeatable) [default: 8 for a target whose control served a second
    /// connection while one was open, else 1]
    #[arg(long, value_name = "[NAME=]N")]
    jobs: Vec<String>,
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

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOnArg {
    Must,
    Should,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorArg {
    Auto,
    Always,
    Never,
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
        Err(e) => return fail(&Failure::Usage(usage_block(&e))),
    };
    let dir = cli.cases.as_deref();
    let result = match cli.command {
        Command::Run(args) => run_command(dir, *args),
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

/// Clap's error as a short block: what is wrong, then its context lines
/// (the allowed values, the missing argument, "a similar value exists"),
/// then the usage line, indented; blank lines and the pointer to `--help`
/// dropped.
fn usage_block(e: &clap::Error) -> String {
    let mut command = Cli::command();
    command.build();
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|name| name != "help")
        .collect();
    // The subcommand typed: the first argument naming one, skipping the
    // value of the global --cases.
    let mut words = std::env::args().skip(1);
    let mut typed = None;
    while let Some(word) = words.next() {
        if word == "--cases" {
            words.next();
        } else if names.contains(&word) {
            typed = Some(word);
            break;
        }
    }
    let usage = match typed.and_then(|name| command.find_subcommand_mut(name)) {
        Some(sub) => sub.render_usage().to_string(),
        None => command.render_usage().to_string(),
    };
    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return format!(
            "a command is needed: one of {}\n  {}",
            names.join(", "),
            usage.trim()
        );
    }
    let text = e.render().to_string();
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("For more information"));
    let first = lines.next().unwrap_or("invalid arguments");
    let mut block = first.strip_prefix("error: ").unwrap_or(first).to_string();
    let mut has_usage = false;
    for line in lines {
        has_usage |= line.starts_with("Usage:");
        block.push_str("\n  ");
        block.push_str(line);
    }
    if !has_usage {
        block.push_str("\n  ");
        block.push_str(usage.trim());
    }
    block
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

/// The cases the selection names; an unknown `--id` or an empty selection
/// is a usage error (exit 2), since a run of nothing would report a
/// conformance it never tested.
fn select<'c>(cases: &'c [Case], selection: &Selection) -> Result<Vec<&'c Case>, Failure> {
    if let Some(id) = selection
        .ids
        .iter()
        .find(|id| !cases.iter().any(|c| &c.id == *id))
    {
        return Err(unknown_id(id, cases));
    }
    let floor = selection.level.map(LevelArg::level);
    let selected = cases
        .iter()
        .filter(|c| {
            selection.filter.is_empty() || selection.filter.iter().any(|p| c.id.starts_with(p))
        })
        .filter(|c| {
            selection.group.is_empty() || selection.group.iter().any(|g| g == c.group.as_str())
        })
        .filter(|c| selection.ids.is_empty() || selection.ids.contains(&c.id))
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
    fail_on: FailOnArg,
    deadline: Option<Duration>,
    color: ColorArg,
    /// Progress on stderr: forced on, forced off, or when it is a terminal.
    progress: bool,
    quiet: bool,
    /// The options as reports record them.
    settings: Settings,
}

fn plan_run(dir: Option<&Path>, args: RunArgs) -> Result<RunPlan, Failure> {
    let mut options = args
        .pace
        .options(args.jobs.unwrap_or(conformance::limits::DEFAULT_JOBS));
    let spec = parse_target(&args.target)?;
    if let (Some(from_url), Some(given)) = (&spec.path, &args.resource.path) {
        if from_url != given {
            return Err(Failure::Usage(format!(
                "--target gives the path {} and --path gives {}: give one",
                escape::encode(from_url.as_bytes()),
                escape::encode(given.as_bytes())
            )));
        }
    }
    let path = args.resource.path(spec.path.as_deref())?;
    let host = args.resource.host()?;
    let server_name = match &args.resource.host {
        Some(given) => host_name(given),
        None => host_name(&spec.host_port),
    };
    options.transport = args.tls.transport(spec.https, server_name)?;
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
        check_writable_file(file)?;
    }
    let addresses = resolve(&spec.host_port)?;
    let settings = Settings {
        path: path.clone(),
        host: host.clone(),
        fixture_root: args.resource.fixture_root,
        jobs: options.jobs,
        timeout_ms: args.pace.timeout,
        filter: args.selection.filter.clone(),
        group: args.selection.group.clone(),
        id: args.selection.ids.clone(),
        exclude: args.selection.exclude.clone(),
        level: args.selection.level.map(LevelArg::level),
        fail_on: match args.fail_on {
            FailOnArg::Must => Level::Must,
            FailOnArg::Should => Level::Should,
        },
        deadline_s: args.deadline,
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
        jobs_given: args.jobs.is_some(),
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
        fail_on: args.fail_on,
        deadline: args.deadline.map(Duration::from_secs),
        color: args.color,
        progress: args.progress || (!args.quiet && std::io::stderr().is_terminal()),
        quiet: args.quiet,
        settings,
    })
}

/// A `--target` as typed, split: the `HOST:PORT` to resolve, the path
/// a URL gave (none for `http://HOST:PORT` or `…/`), and whether it is an
/// `https://` URL.
#[derive(Debug, PartialEq, Eq)]
struct TargetSpec {
    host_port: String,
    path: Option<String>,
    https: bool,
}

/// `HOST:PORT`, or `http://HOST[:PORT][/PATH]` (port 80 when none is
/// given), or `https://HOST[:PORT][/PATH]` (port 443, RFC 9110 §4.2.2);
/// anything else, an empty host, a port outside 1..=65535, is a usage
/// error in one line.
fn parse_target(target: &str) -> Result<TargetSpec, Failure> {
    let bad = |why: &str| {
        Failure::Usage(format!(
            "--target \"{}\": {why}",
            escape::encode(target.as_bytes())
        ))
    };
    let url = match (
        target.strip_prefix("http://"),
        target.strip_prefix("https://"),
    ) {
        (Some(rest), _) => Some((rest, 80, false)),
        (_, Some(rest)) => Some((rest, 443, true)),
        _ => None,
    };
    let (authority, path, default_port, https) = match url {
        Some((rest, port, https)) => {
            let (authority, path) = match rest.find('/') {
                Some(slash) => (&rest[..slash], Some(&rest[slash..])),
                None => (rest, None),
            };
            (authority, path, Some(port), https)
        }
        None if target.contains("://") => {
            return Err(bad(
                "the URL schemes a target takes are http:// and https://",
            ))
        }
        None => (target, None, None, false),
    };
    if authority.contains('@') {
        return Err(bad("a target takes no user name or password"));
    }
    if path.is_some_and(|p| p.contains(['?', '#'])) {
        return Err(bad("give the path without a query or fragment"));
    }
    let (host, port) = split_host_port(authority);
    let port = match (port, default_port) {
        (Some(port), _) => port,
        (None, Some(default)) => return finish(host, default, path, https, &bad),
        _ => return Err(bad("expected HOST:PORT or http://HOST:PORT/PATH")),
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(&format!(
            "the port \"{}\" is not a number",
            escape::encode(port.as_bytes())
        )));
    }
    match port.parse::<u32>() {
        Ok(0) => Err(bad("port 0 is not a port a server listens on")),
        Ok(n @ 1..=65535) => finish(host, n as u16, path, https, &bad),
        _ => Err(bad("a port is at most 65535")),
    }
}

/// `HOST` and `PORT` of `HOST:PORT` or `[V6]:PORT`; no port without a colon.
fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if let Some(rest) = authority.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((v6, after)) => (v6, after.strip_prefix(':')),
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    }
}

/// The checked target: a host of name or address characters, the port.
fn finish(
    host: &str,
    port: u16,
    path: Option<&str>,
    https: bool,
    bad: &dyn Fn(&str) -> Failure,
) -> Result<TargetSpec, Failure> {
    if host.is_empty() {
        return Err(bad("the host is empty"));
    }
    let v6 = host.contains(':');
    let name_chars = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') || (v6 && b == b':'));
    if !name_chars {
        return Err(bad("the host is not a host name or an IP address"));
    }
    let host_port = if v6 {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    Ok(TargetSpec {
        host_port,
        path: path.filter(|p| *p != "/").map(str::to_string),
        https,
    })
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

/// Why a run stopped before every case had started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// A signal (its number) arrived.
    Signal(usize),
    /// `--deadline` (its seconds) passed.
    Deadline(u64),
}

impl Stop {
    /// What the report says after "not run".
    fn reason(self) -> String {
        match self {
            Stop::Signal(signal) => format!("interrupted by {}", signal_name(signal)),
            Stop::Deadline(secs) => format!("the --deadline of {secs} s passed"),
        }
    }
}

fn signal_name(signal: usize) -> &'static str {
    match signal as i32 {
        signal_hook::consts::SIGINT => "SIGINT",
        signal_hook::consts::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// SIGINT and SIGTERM from now on: the first is recorded (its number, in
/// the returned cell) so the run stops starting cases and writes what it
/// has; a second one exits at once with 128 + its number.
fn watch_signals() -> Result<Arc<AtomicUsize>, Failure> {
    let caught = Arc::new(AtomicUsize::new(0));
    let again = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let code = i32::from(EXIT_SIGNAL_BASE) + signal;
        signal_hook::flag::register_conditional_shutdown(signal, code, Arc::clone(&again))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&again)))
            .and_then(|_| {
                signal_hook::flag::register_usize(signal, Arc::clone(&caught), signal as usize)
            })
            .map_err(|e| Failure::Usage(format!("cannot watch for signals: {e}")))?;
    }
    Ok(caught)
}

/// What `run` watches while cases go: signals, the deadline, progress.
struct RunWatch {
    caught: Arc<AtomicUsize>,
    deadline: Option<Instant>,
    progress: Option<Mutex<Progress>>,
}

impl Watch for RunWatch {
    fn go_on(&self) -> bool {
        self.caught.load(Ordering::SeqCst) == 0 && self.deadline.is_none_or(|d| Instant::now() < d)
    }

    fn finished(&self, result: &CaseResult<'_>) {
        if let Some(Ok(mut progress)) = self.progress.as_ref().map(Mutex::lock) {
            progress.count(result.grade);
        }
    }
}

/// The progress line on stderr: rewritten in place after each case
/// (carriage return, text, erase to the end of the line), erased at the end.
struct Progress {
    total: usize,
    done: usize,
    failed: usize,
    warned: usize,
}

impl Progress {
    fn count(&mut self, grade: Grade) {
        self.done += 1;
        match grade {
            Grade::Fail => self.failed += 1,
            Grade::Warn => self.warned += 1,
            _ => {}
        }
        let line = format!(
            "\r[{}/{}] {} failed, {} warned\x1b[K",
            self.done, self.total, self.failed, self.warned
        );
        let mut stderr = std::io::stderr().lock();
        let _ = stderr
            .write_all(line.as_bytes())
            .and_then(|()| stderr.flush());
    }

    fn erase() {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(b"\r\x1b[K").and_then(|()| stderr.flush());
    }
}

/// Whether a result makes the run exit 1 under `--fail-on`: a failure,
/// or with `should` also a warned must or should case.
fn fails_run(result: &CaseResult<'_>, fail_on: FailOnArg) -> bool {
    match result.grade {
        Grade::Fail => true,
        Grade::Warn => fail_on == FailOnArg::Should && result.case.level.at_least(Level::Should),
        _ => false,
    }
}

/// Whether the text report gets colour: `always` and `never` say so; `auto`
/// colours a terminal unless `NO_COLOR` is set and not empty
/// (<https://no-color.org>).
fn colour_on(choice: ColorArg, terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    match choice {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => terminal && no_color.is_none_or(|v| v.is_empty()),
    }
}

/// The grade word that starts a line of the text report, in colour. Only
/// that word is touched: the renderer writes it itself, while every byte
/// from a server comes later on a line, or indented, and escaped.
fn colour_grades(text: &str) -> String {
    const COLOURS: [(&str, &str); 6] = [
        ("PASS", "32"),
        ("WARN", "33"),
        ("FAIL", "31"),
        ("INFO", "36"),
        ("SKIP", "2"),
        ("ERROR", "35"),
    ];
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        let coloured = COLOURS.iter().find_map(|(word, code)| {
            line.strip_prefix(word)
                .filter(|rest| rest.starts_with(' '))
                .map(|rest| format!("\x1b[{code}m{word}\x1b[0m{rest}"))
        });
        match coloured {
            Some(line) => out.push_str(&line),
            None => out.push_str(line),
        }
    }
    out
}

fn run_command(dir: Option<&Path>, args: RunArgs) -> Result<u8, Failure> {
    let started = Instant::now();
    let mut plan = plan_run(dir, args)?;
    let caught = watch_signals()?;
    let (target, control) = first_reachable(
        &plan.options.transport,
        &plan.addresses,
        &plan.target_text,
        &plan.path,
        &plan.host,
        plan.options.timeout,
    )?;
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
    let watch = RunWatch {
        caught: Arc::clone(&caught),
        deadline: plan.deadline.map(|d| started + d),
        progress: plan.progress.then(|| {
            Mutex::new(Progress {
                total: plan.cases.len(),
                done: 0,
                failed: 0,
                warned: 0,
            })
        }),
    };
    let first_case = std::time::SystemTime::now();
    let clock = Instant::now();
    let partial = run::run_cases_watched(target, &plan.cases, &plan.options, &watch);
    let run = RunInfo {
        started: first_case,
        wall: clock.elapsed(),
        settings: Settings {
            jobs: plan.options.jobs,
            ..plan.settings.clone()
        },
    };
    if watch.progress.is_some() {
        Progress::erase();
    }
    let results = partial.results;
    let stop = match caught.load(Ordering::SeqCst) {
        0 if partial.not_run.is_empty() => None,
        0 => plan.deadline.map(|d| Stop::Deadline(d.as_secs())),
        signal => Some(Stop::Signal(signal)),
    };
    let reason = stop.map(Stop::reason);
    let context = ReportContext {
        name: &plan.name,
        target: &plan.target_text,
        baseline: plan.baseline.as_ref(),
        control: Some(&control),
        run: &run,
        not_run: reason.as_deref().map(|reason| NotRun {
            reason,
            cases: &partial.not_run,
        }),
    };
    let mut text = report::render(plan.format, &results, &context);
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
    let failing: Vec<&str> = results
        .iter()
        .filter(|r| fails_run(r, plan.fail_on))
        .map(|r| r.case.id.as_str())
        .filter(|id| !plan.baseline.as_ref().is_some_and(|b| b.contains(id)))
        .collect();
    if let Some(stop) = stop {
        // A baseline, snapshots or a matrix entry from part of a run would
        // take the cases not run for fixed or gone.
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
            partial.not_run.len(),
            plan.cases.len()
        );
        return Ok(match stop {
            Stop::Signal(signal) => EXIT_SIGNAL_BASE.saturating_add(signal as u8),
            Stop::Deadline(_) if !failing.is_empty() => EXIT_NONCONFORMANT,
            Stop::Deadline(_) => EXIT_DEADLINE,
        });
    }
    if let Some(why) = went_away(&results, target, &plan) {
        return Err(Failure::Unreachable(format!(
            "{} went away: it answered the control, then no case; asked the control again: \
             {why}",
            plan.target_text
        )));
    }
    if let Some(path) = &plan.write_baseline {
        let failed = results
            .iter()
            .filter(|r| r.grade == Grade::Fail)
            .map(|r| r.case.id.clone());
        let header = format!(
            "Known failures of {} ({}), written by `conformance run --write-baseline`.",
            plan.name, plan.target_text
        );
        write_atomically(path, &Baseline::from_ids(failed).render(&header))
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
        if !plan.quiet {
            eprintln!(
                "snapshots in {}: {} written, {} unchanged, {} removed",
                dir.display(),
                written.written,
                written.unchanged,
                written.removed
            );
        }
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
    Ok(if !failing.is_empty() {
        EXIT_NONCONFORMANT
    } else if !summary.graded_any() {
        eprintln!(
            "conformance: no case could be graded ({} skipped, {} errors): not conformant",
            summary.skipped, summary.errors
        );
        EXIT_NOTHING_GRADED
    } else {
        EXIT_CONFORMANT
    })
}

/// Why the target seems gone, when no case got a response although cases
/// ran (each ended closed, reset, timed out or unrunnable) and the control
/// GET, sent once more, is not answered 2xx either: grades made of
/// refused or closed connections say nothing about the server, and
/// `close` or `reset` is a passing outcome of many cases.
fn went_away(results: &[CaseResult<'_>], target: SocketAddr, plan: &RunPlan) -> Option<String> {
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
        target,
        &plan.path,
        &plan.host,
        plan.options.timeout,
    ) {
        Ok(control) if control.is_success() => None,
        Ok(control) => Some(format!(
            "{} {}",
            control.status,
            escape::encode(control.reason.as_bytes())
        )),
        Err(e) => Some(e.to_string()),
    }
}

/// The first of the target's addresses that accepts a connection, with
/// what the control requests learned there: one GET and one HEAD before any
/// case, so an unreachable target or one that does not speak HTTP/1.x is
/// exit 3 and a path that is not served is exit 2, not a run of wrong
/// verdicts.
fn first_reachable(
    transport: &Transport,
    addresses: &[SocketAddr],
    target_text: &str,
    path: &str,
    host: &str,
    timeout: Duration,
) -> Result<(SocketAddr, Control), Failure> {
    let mut last_error = None;
    for &address in addresses {
        match control::probe_over(transport, address, path, host, timeout) {
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
            Err(ControlError::NotHttp(why) | ControlError::Handshake(why)) => {
                return Err(Failure::Unreachable(format!("{target_text}: {why}")))
            }
        }
    }
    let why = last_error.unwrap_or_else(|| "no address".to_string());
    Err(Failure::Unreachable(format!(
        "cannot reach {target_text}: {why}"
    )))
}

/// `path` can be written as a file: it is not a directory, and its folder
/// exists and takes a new file. Checked before the first connect, so a typo
/// costs no run.
fn check_writable_file(path: &Path) -> Result<(), Failure> {
    let cannot = |why: String| Failure::Usage(format!("cannot write {}: {why}", path.display()));
    if path.is_dir() {
        return Err(cannot("it is a directory".into()));
    }
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(cannot(format!("no directory {}", dir.display())));
    }
    // The write itself goes through a temporary file in the same folder
    // ([`write_atomically`]), so that is what must be possible.
    let probe = dir.join(format!(".conformance-check.{}.tmp", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(cannot(format!(
            "cannot create a file in {}: {e}",
            dir.display()
        ))),
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
        return Err(unknown_id(id, &catalogue));
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

/// `diff --jobs`: `N` for every target, `NAME=N` for one; a later value
/// for the same target wins. `None` for a target left to its control.
fn diff_jobs(specs: &[String], names: &[&str]) -> Result<Vec<Option<usize>>, Failure> {
    let mut jobs = vec![None; names.len()];
    for spec in specs {
        let (name, count) = match spec.rsplit_once('=') {
            Some((name, count)) => (Some(name), count),
            None => (None, spec.as_str()),
        };
        let count = parse_jobs(count).map_err(|why| {
            Failure::Usage(format!(
                "--jobs \"{}\": {why}",
                escape::encode(spec.as_bytes())
            ))
        })?;
        match name {
            None => jobs.iter_mut().for_each(|j| *j = Some(count)),
            Some(name) => match names.iter().position(|n| *n == name) {
                Some(i) => jobs[i] = Some(count),
                None => {
                    return Err(Failure::Usage(format!(
                        "--jobs \"{}\": no target is named \"{}\" (targets: {})",
                        escape::encode(spec.as_bytes()),
                        escape::encode(name.as_bytes()),
                        names.join(", ")
                    )))
                }
            },
        }
    }
    Ok(jobs)
}

fn diff_command(dir: Option<&Path>, args: DiffArgs) -> Result<u8, Failure> {
    if args.targets.len() < 2 {
        return Err(Failure::Usage(
            "diff needs at least two --target options".into(),
        ));
    }
    let path = args.resource.path(None)?;
    let host = args.resource.host()?;
    let mut named = Vec::new();
    for spec in &args.targets {
        let (name, text) = match spec.split_once('=') {
            Some((name, text)) if !name.is_empty() => (name.to_string(), text.to_string()),
            _ => (spec.clone(), spec.clone()),
        };
        let parsed = parse_target(&text)?;
        if parsed.https {
            return Err(Failure::Usage(format!(
                "--target \"{}\": diff compares plain HTTP targets; check a TLS server with run",
                escape::encode(text.as_bytes())
            )));
        }
        if parsed.path.is_some() {
            return Err(Failure::Usage(format!(
                "--target \"{}\": diff takes the path once, with --path, for every target",
                escape::encode(text.as_bytes())
            )));
        }
        if named
            .iter()
            .any(|(n, _, _): &(String, String, String)| *n == name)
        {
            return Err(Failure::Usage(format!("two targets are named \"{name}\"")));
        }
        named.push((name, text, parsed.host_port));
    }
    let names: Vec<&str> = named.iter().map(|(name, _, _)| name.as_str()).collect();
    let jobs = diff_jobs(&args.jobs, &names)?;
    let catalogue = load(dir)?;
    let cases: Vec<Case> = select(&catalogue, &args.selection)?
        .into_iter()
        .cloned()
        .collect();
    let mut resolved = Vec::new();
    for (name, text, host_port) in named {
        let addresses = resolve(&host_port)?;
        resolved.push(DiffTarget {
            name,
            text,
            addresses,
        });
    }
    // Every target is checked before any case runs: exit 3 costs no run.
    let mut reachable = Vec::new();
    for (target, jobs) in resolved.iter().zip(jobs) {
        let (address, control) = first_reachable(
            &Transport::Tcp,
            &target.addresses,
            &target.text,
            &path,
            &host,
            args.pace.timeout(),
        )?;
        // Each target its own pace: one that serves a connection at a time
        // gets one job without slowing the others.
        let jobs = jobs.unwrap_or(if control.concurrent {
            conformance::limits::DEFAULT_JOBS
        } else {
            1
        });
        eprintln!("{}: {}; {jobs} at a time", target.name, control.line());
        let mut target_options = args.pace.options(jobs);
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
    // The targets run at the same time, each with its own jobs.
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = reachable
            .iter()
            .map(|(address, options)| scope.spawn(|| run::run_cases(*address, &cases, options)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
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

/// No case has `id`: a usage error naming the nearest ids.
fn unknown_id(id: &str, catalogue: &[Case]) -> Failure {
    let near = suggest(id, catalogue);
    let hint = if near.is_empty() {
        "see `conformance list`".to_string()
    } else {
        format!("did you mean {}?", near.join(", "))
    };
    Failure::Usage(format!(
        "no case `{}`; {hint}",
        escape::encode(id.as_bytes())
    ))
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
    fn no_color_then_auto_off_even_on_a_terminal() {
        use std::ffi::OsStr;
        assert!(colour_on(ColorArg::Auto, true, None));
        assert!(colour_on(ColorArg::Auto, true, Some(OsStr::new(""))));
        assert!(!colour_on(ColorArg::Auto, true, Some(OsStr::new("1"))));
        assert!(!colour_on(ColorArg::Auto, false, None));
        assert!(colour_on(ColorArg::Always, false, Some(OsStr::new("1"))));
        assert!(!colour_on(ColorArg::Never, true, None));
    }

    #[test]
    fn colour_grades_then_only_a_leading_grade_word() {
        assert_eq!(
            colour_grades("FAIL  a  400 PASS\n  PASS indented\nPASSED x\nERROR b\n"),
            "\x1b[31mFAIL\x1b[0m  a  400 PASS\n  PASS indented\nPASSED x\n\x1b[35mERROR\x1b[0m b\n"
        );
    }

    #[test]
    fn host_values_then_the_name_for_tls() {
        assert_eq!(host_name("example.com:8443"), "example.com");
        assert_eq!(host_name("example.com"), "example.com");
        assert_eq!(host_name("[::1]:443"), "::1");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
    }

    #[test]
    fn targets_then_host_port_and_path() {
        let spec = |t: &str| parse_target(t).map_err(|f| f.to_string());
        let ok = |host_port: &str, path: Option<&str>| {
            Ok(TargetSpec {
                host_port: host_port.to_string(),
                path: path.map(str::to_string),
                https: false,
            })
        };
        let tls = |host_port: &str, path: Option<&str>| {
            Ok(TargetSpec {
                host_port: host_port.to_string(),
                path: path.map(str::to_string),
                https: true,
            })
        };
        assert_eq!(
            spec("https://example.com/a"),
            tls("example.com:443", Some("/a"))
        );
        assert_eq!(spec("https://[::1]"), tls("[::1]:443", None));
        assert_eq!(spec("https://127.0.0.1:8443/"), tls("127.0.0.1:8443", None));
        assert_eq!(spec("127.0.0.1:8000"), ok("127.0.0.1:8000", None));
        assert_eq!(spec("http://127.0.0.1:8000"), ok("127.0.0.1:8000", None));
        assert_eq!(spec("http://127.0.0.1:8000/"), ok("127.0.0.1:8000", None));
        assert_eq!(
            spec("http://example.com/a/b"),
            ok("example.com:80", Some("/a/b"))
        );
        assert_eq!(spec("[::1]:8080"), ok("[::1]:8080", None));
        assert_eq!(spec("http://[::1]:8080/x"), ok("[::1]:8080", Some("/x")));
        assert_eq!(
            spec("http://127.0.0.1:/"),
            Err("--target \"http://127.0.0.1:/\": the port \"\" is not a number".to_string())
        );
    }

    #[test]
    fn diff_jobs_then_all_then_one_target_wins() {
        let specs = ["2".to_string(), "b=5".to_string()];
        assert_eq!(
            diff_jobs(&specs, &["a", "b", "c"]).map_err(|f| f.to_string()),
            Ok(vec![Some(2), Some(5), Some(2)])
        );
        assert_eq!(
            diff_jobs(&[], &["a", "b"]).map_err(|f| f.to_string()),
            Ok(vec![None, None])
        );
        assert_eq!(
            diff_jobs(&["a=0".to_string()], &["a"]).map_err(|f| f.to_string()),
            Err("--jobs \"a=0\": must be a whole number, at least 1".to_string())
        );
    }

    #[test]
    fn edit_distance_then_levenshtein() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
