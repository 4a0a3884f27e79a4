//! What the user typed: the clap definitions of every command and option,
//! and the checks that turn an option into what a run uses (a path, a Host
//! value, a transport).

use super::exit::{Failure, EXIT_CODES_HELP};
use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use conformance::case::{Group, Level};
use conformance::escape;
use conformance::run::RunOptions;
use conformance::template::{DEFAULT_HOST, DEFAULT_PATH};
use conformance::wire::tls::{TlsClient, Trust, Versions};
use conformance::wire::Transport;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

/// What the user typed.
#[derive(Parser)]
#[command(
    name = "conformance",
    version = env!("CONFORMANCE_VERSION"),
    about = "Raw-socket HTTP/1.1 conformance cases with RFC verdicts",
    after_help = EXIT_CODES_HELP
)]
pub(crate) struct Cli {
    /// Read the cases from DIR instead of the catalogue compiled into this binary
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) cases: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
    /// Render a matrix (written by `run --matrix`), or one run's JSON report
    /// (`run --format json`), as a self-contained HTML page or as Markdown
    Report(ReportArgs),
    /// How many of the testable requirements of RFC 9110 and RFC 9112 the
    /// catalogue covers, by area
    Coverage {
        /// List the requirements no case covers instead
        #[arg(long)]
        uncovered: bool,
        /// Rewrite the coverage block of FILE (docs/cli.md) instead of printing
        #[arg(long, value_name = "FILE", conflicts_with = "uncovered")]
        update: Option<PathBuf>,
    },
    /// Check a reverse proxy (the front) from both ends: the client in front
    /// of it and the origin behind it, every finding naming its hop
    #[command(after_help = EXIT_CODES_HELP)]
    Chain(Box<ChainArgs>),
}

/// The longest `--timeout`: a step that waits longer than a minute is a
/// typo, not patience.
const MAX_TIMEOUT_MS: u64 = 60_000;

/// How patiently cases run, shared by `run` and `diff`.
#[derive(Args)]
pub(crate) struct Pace {
    /// Per-step timeout in milliseconds, 1 to 60000 (a case's own timeout_ms
    /// raises it)
    #[arg(long, value_name = "MS", value_parser = parse_timeout,
          default_value_t = conformance::limits::DEFAULT_TIMEOUT.as_millis() as u64)]
    pub(crate) timeout: u64,
}

impl Pace {
    /// The per-step timeout.
    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout)
    }

    /// The run options with `jobs` cases at once.
    pub(crate) fn options(&self, jobs: usize) -> RunOptions {
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
pub(crate) fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("must be a whole number, at least 1".into()),
    }
}

/// `--wait`: a whole number of seconds from 1 to an hour.
fn parse_wait(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(secs) if (1..=3600).contains(&secs) => Ok(secs),
        _ => Err("must be a whole number of seconds from 1 to 3600".into()),
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
pub(crate) struct Resource {
    /// An existing resource on the target that answers GET with 2xx: the
    /// cases' requests are made against it
    #[arg(long, value_name = "PATH")]
    pub(crate) path: Option<String>,
    /// The Host value the cases send [default: localhost]; on an https://
    /// target also the TLS server name (SNI), which is otherwise the
    /// target's host
    #[arg(long, value_name = "VALUE")]
    pub(crate) host: Option<String>,
    /// The target serves this repository's fixtures/root: also run the
    /// cases that need its files and directories
    #[arg(long)]
    pub(crate) fixture_root: bool,
}

impl Resource {
    /// The path to test against: `--path`, else the target URL's path, else `/`.
    pub(crate) fn path(&self, from_target: Option<&str>) -> Result<String, Failure> {
        check_path(self.path.as_deref().or(from_target).unwrap_or(DEFAULT_PATH))
    }

    /// The Host value, once known to be one field value of visible ASCII.
    pub(crate) fn host(&self) -> Result<String, Failure> {
        let host = self.host.as_deref().unwrap_or(DEFAULT_HOST);
        if host.is_empty() || !host.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Failure::Usage(format!(
                "--host must be visible ASCII without spaces, got \"{}\"",
                escape::readable(host.as_bytes())
            )));
        }
        Ok(host.to_string())
    }
}

/// A path the cases can ask for: absolute, visible ASCII, no `#`.
pub(crate) fn check_path(path: &str) -> Result<String, Failure> {
    let origin_form =
        path.starts_with('/') && path.bytes().all(|b| b.is_ascii_graphic() && b != b'#');
    if !origin_form {
        return Err(Failure::Usage(format!(
            "--path must be an absolute path such as /index.html (visible ASCII, no #), \
             got \"{}\"",
            escape::readable(path.as_bytes())
        )));
    }
    Ok(path.to_string())
}

/// Which cases run: each kind of option given narrows the selection, and
/// a case matches a kind when it matches any of its values.
#[derive(Args)]
pub(crate) struct Selection {
    /// Only cases whose id starts with PREFIX (repeatable)
    #[arg(long, value_name = "PREFIX")]
    pub(crate) filter: Vec<String>,
    /// Only cases of this group (repeatable)
    #[arg(long, value_name = "GROUP", value_parser = group_parser())]
    pub(crate) group: Vec<String>,
    /// Only the case with exactly this id (repeatable)
    #[arg(long = "id", value_name = "ID")]
    pub(crate) ids: Vec<String>,
    /// Leave out cases whose id starts with PREFIX (repeatable)
    #[arg(long, value_name = "PREFIX")]
    pub(crate) exclude: Vec<String>,
    /// Only cases of at least this level
    #[arg(long, value_enum)]
    pub(crate) level: Option<LevelArg>,
}

/// What `run` and `chain` write on stderr besides errors.
#[derive(Args)]
pub(crate) struct StderrArgs {
    /// Show progress on stderr even when it is not a terminal
    #[arg(long, conflicts_with = "quiet")]
    pub(crate) progress: bool,
    /// No progress and no notes on stderr, only errors
    #[arg(long)]
    pub(crate) quiet: bool,
}

impl StderrArgs {
    /// Whether progress shows: asked for, or stderr is a terminal and
    /// `--quiet` was not given.
    pub(crate) fn show_progress(&self) -> bool {
        self.progress || (!self.quiet && std::io::stderr().is_terminal())
    }
}

#[derive(Args)]
pub(crate) struct RunArgs {
    /// The server to test: HOST:PORT, http://HOST[:PORT][/PATH],
    /// https://HOST[:PORT][/PATH] for TLS (the path sets --path), or
    /// unix:/PATH/TO.sock for a Unix-domain socket (--host sets the Host)
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) target: String,
    /// Wait up to SECS seconds for the target to accept a connection
    /// (trying every 100 ms) before the control request: for a server
    /// started in the same CI step
    #[arg(long, value_name = "SECS", value_parser = parse_wait)]
    pub(crate) wait: Option<u64>,
    #[command(flatten)]
    pub(crate) resource: Resource,
    #[command(flatten)]
    pub(crate) tls: TlsArgs,
    /// A name for the target in reports [default: the target]
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    #[command(flatten)]
    pub(crate) selection: Selection,
    #[command(flatten)]
    pub(crate) pace: Pace,
    /// How many cases run at once [default: 8, or 1 when the control finds
    /// that the target serves one connection at a time]
    #[arg(long, value_name = "N", value_parser = parse_jobs)]
    pub(crate) jobs: Option<usize>,
    /// What makes the run exit 1: a failed must case, or also a warned must
    /// or should case (the baseline lists failures only)
    #[arg(long, value_enum, value_name = "LEVEL", default_value = "must")]
    pub(crate) fail_on: FailOnArg,
    /// Start no case later than SECS seconds after the run began: the rest
    /// are reported as not run, and the run exits 5 unless a case failed
    #[arg(long, value_name = "SECS", value_parser = parse_deadline)]
    pub(crate) deadline: Option<u64>,
    /// Report format
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: FormatArg,
    /// Colour the grades of the text report: auto colours only a terminal,
    /// and not when NO_COLOR is set to a non-empty value
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub(crate) color: ColorArg,
    #[command(flatten)]
    pub(crate) stderr: StderrArgs,
    /// List only the failed and errored cases, new failures first, then
    /// errors, then known failures (text, json, markdown; the counts still
    /// cover the whole run)
    #[arg(long)]
    pub(crate) failures_only: bool,
    /// Write the report to FILE instead of standard output
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Known failures, one case id or rule id per line: they do not fail
    /// the run; the report counts them apart and ends with the new failures.
    /// An id that names no case, alias or rule is noted as stale
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Option<PathBuf>,
    /// Write the ids of this run's failures to FILE as a baseline, and exit
    /// 0 once it is written, whatever the grades
    #[arg(long, value_name = "FILE")]
    pub(crate) write_baseline: Option<PathBuf>,
    /// Write each case's normalised heads to DIR/<case-id>.snap (only files
    /// whose text changed; snapshots of cases no longer in the catalogue go)
    #[arg(long, value_name = "DIR")]
    pub(crate) snapshots: Option<PathBuf>,
    /// Also redact this header field's value in snapshots (repeatable), e.g.
    /// Server for a server whose version moves
    #[arg(long, value_name = "FIELD")]
    pub(crate) redact: Vec<String>,
    /// Sort the comma-separated members of this header field in snapshots
    /// (repeatable), for a set a server lists in an order that changes from
    /// run to run (Apache's Allow)
    #[arg(long, value_name = "FIELD")]
    pub(crate) unordered: Vec<String>,
    /// Record this run's answers in the matrix FILE (created if missing;
    /// an earlier entry of the same --name is replaced)
    #[arg(long, value_name = "FILE")]
    pub(crate) matrix: Option<PathBuf>,
    /// The server's exact version, for the matrix
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub(crate) server_version: String,
}

/// How an https:// target's certificate is checked.
#[derive(Args)]
pub(crate) struct TlsArgs {
    /// Trust only the CA certificates in this PEM file (https:// targets)
    #[arg(long, value_name = "FILE")]
    pub(crate) ca: Option<PathBuf>,
    /// Do not verify the certificate of an https:// target (the control
    /// line says so)
    #[arg(long, conflicts_with = "ca")]
    pub(crate) insecure: bool,
    /// Offer only this TLS version [default: 1.2 and 1.3]
    #[arg(long, value_name = "VERSION", value_parser = ["1.2", "1.3"])]
    pub(crate) tls_version: Option<String>,
}

impl TlsArgs {
    /// The transport of a target: TLS for https://, checked against
    /// `name`, else plain TCP (where a TLS flag is a usage error).
    pub(crate) fn transport(&self, https: bool, name: &str) -> Result<Transport, Failure> {
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

#[derive(Args)]
pub(crate) struct DiffArgs {
    /// A server to compare (at least two): HOST:PORT or
    /// http://HOST[:PORT][/PATH], with NAME= before it to name it; a URL's
    /// path is the resource its cases ask for, else --path
    #[arg(
        long = "target",
        value_name = "[NAME=]HOST:PORT|http://HOST:PORT/PATH",
        required = true
    )]
    pub(crate) targets: Vec<String>,
    #[command(flatten)]
    pub(crate) resource: Resource,
    #[command(flatten)]
    pub(crate) selection: Selection,
    #[command(flatten)]
    pub(crate) pace: Pace,
    /// How many cases run at once: N for every target, NAME=N for one
    /// (repeatable) [default: 8 for a target whose control served a second
    /// connection while one was open, else 1]
    #[arg(long, value_name = "[NAME=]N")]
    pub(crate) jobs: Vec<String>,
    /// Also ignore this header field's value when comparing heads (repeatable)
    #[arg(long, value_name = "FIELD")]
    pub(crate) redact: Vec<String>,
    /// Exit 1 when any case is answered differently (a difference of
    /// acceptance, status code or heads; not Connection alone), else 7 when
    /// a case could not be run on a target, else 0
    #[arg(long)]
    pub(crate) exit_code: bool,
    /// Diff format: text for people, json for tools (docs/diff.schema.json)
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: DiffFormatArg,
    /// Write the diff to FILE instead of standard output (the counts still
    /// go to standard output)
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DiffFormatArg {
    Text,
    Json,
}

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// The matrix, or the run's JSON report, to render [default:
    /// matrix/results.json if present, else the one compiled into this
    /// binary]
    #[arg(long, value_name = "FILE")]
    pub(crate) input: Option<PathBuf>,
    /// html: the self-contained page; markdown: the scores and one table per
    /// group; scores: the scores table alone
    #[arg(long, value_enum, default_value = "html")]
    pub(crate) format: ReportFormatArg,
    /// Add the chain matrix in FILE (written by `chain --matrix`) to the
    /// HTML page of a matrix, as a section after it
    #[arg(long, value_name = "FILE")]
    pub(crate) chain: Option<PathBuf>,
    /// Write the report to FILE instead of standard output
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ReportFormatArg {
    Html,
    Markdown,
    Scores,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum LevelArg {
    Must,
    Should,
    May,
    Info,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOnArg {
    Must,
    Should,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorArg {
    Auto,
    Always,
    Never,
}

impl LevelArg {
    pub(crate) fn level(self) -> Level {
        match self {
            LevelArg::Must => Level::Must,
            LevelArg::Should => Level::Should,
            LevelArg::May => Level::May,
            LevelArg::Info => Level::Info,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum FormatArg {
    Text,
    Json,
    Junit,
    Markdown,
}

/// `chain`: the front to test, where the embedded origin listens, and the
/// options a `run` has that apply to it.
#[derive(Args)]
pub(crate) struct ChainArgs {
    /// The front to test, a reverse proxy: HOST:PORT or http://HOST[:PORT]
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) front: String,
    /// Where the embedded origin listens: the address the front forwards to
    /// (port 0: any free port, printed on stderr)
    #[arg(long, value_name = "ADDR")]
    pub(crate) origin_listen: String,
    /// Once the origin listens, wait up to SECS seconds for the front to
    /// accept a connection (trying every 100 ms) before the control request:
    /// for a front started after the origin, from its printed address
    #[arg(long, value_name = "SECS", value_parser = parse_wait)]
    pub(crate) wait: Option<u64>,
    /// What the front is (repeatable): cases binding another role are
    /// skipped [default: gateway, a reverse proxy]
    #[arg(long, value_name = "ROLE", value_parser = ["gateway", "proxy", "cache"])]
    pub(crate) role: Vec<String>,
    /// Run the catalogue of `run` through the front instead of the chain
    /// cases: the origin serves the fixture docroot as the reference server
    /// does, and each case names the hop that answered it
    #[arg(long, conflicts_with_all = ["role", "matrix"])]
    pub(crate) catalogue: bool,
    /// The Host value the client sends [default: localhost]
    #[arg(long, value_name = "VALUE")]
    pub(crate) host: Option<String>,
    /// A name for the front in reports [default: the front]
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    #[command(flatten)]
    pub(crate) selection: Selection,
    #[command(flatten)]
    pub(crate) pace: Pace,
    /// How many cases run at once
    #[arg(long, value_name = "N", value_parser = parse_jobs,
          default_value_t = conformance::limits::DEFAULT_JOBS)]
    pub(crate) jobs: usize,
    /// What makes the run exit 1: a failed must case, or also a warned must
    /// or should case
    #[arg(long, value_enum, value_name = "LEVEL", default_value = "must")]
    pub(crate) fail_on: FailOnArg,
    /// Start no case later than SECS seconds after the run began
    #[arg(long, value_name = "SECS", value_parser = parse_deadline)]
    pub(crate) deadline: Option<u64>,
    /// Report format
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: FormatArg,
    /// Colour the grades of the text report
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub(crate) color: ColorArg,
    #[command(flatten)]
    pub(crate) stderr: StderrArgs,
    /// Write the report to FILE instead of standard output
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Known failures, one chain case id per line: they do not fail the run
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Option<PathBuf>,
    /// Write the ids of this run's failures to FILE as a baseline
    #[arg(long, value_name = "FILE")]
    pub(crate) write_baseline: Option<PathBuf>,
    /// Record this run's results in the chain matrix FILE (created if
    /// missing; an earlier entry of the same --name is replaced)
    #[arg(long, value_name = "FILE")]
    pub(crate) matrix: Option<PathBuf>,
    /// The front's exact version, for the chain matrix
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub(crate) server_version: String,
}
