//! A `run`'s plan: its arguments checked and resolved before the first
//! connect, so that a typo costs no run.

use super::args::{ColorArg, FailOnArg, FormatArg, LevelArg, RunArgs};
use super::catalogue::{load, select};
use super::exit::Failure;
use super::output::check_writable_file;
use super::target::{host_name, parse_target, resolve, unix_path, TargetSpec};
use conformance::baseline::Baseline;
use conformance::case::{Case, Level};
use conformance::escape;
use conformance::report::{Format, Settings};
use conformance::run::RunOptions;
use conformance::wire::Endpoint;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A validated `run`: everything checked before the first connect.
pub(crate) struct RunPlan {
    /// Every address the target resolves to (or its Unix-domain socket);
    /// the first that accepts a connection is tested.
    pub(crate) addresses: Vec<Endpoint>,
    pub(crate) target_text: String,
    /// `--wait`: how long to wait for the target to accept a connection.
    pub(crate) wait: Option<Duration>,
    /// The resource and Host value the control and the cases use.
    pub(crate) path: String,
    pub(crate) host: String,
    pub(crate) fixture_root: bool,
    /// Whether `--jobs` was given: it wins over what the control finds.
    pub(crate) jobs_given: bool,
    pub(crate) name: String,
    pub(crate) cases: Vec<Case>,
    pub(crate) options: RunOptions,
    pub(crate) format: Format,
    pub(crate) output: Option<PathBuf>,
    pub(crate) baseline: Option<Baseline>,
    pub(crate) write_baseline: Option<PathBuf>,
    pub(crate) snapshots: Option<PathBuf>,
    pub(crate) redact: Vec<String>,
    pub(crate) unordered: Vec<String>,
    pub(crate) matrix: Option<PathBuf>,
    pub(crate) server_version: String,
    /// Every id in the catalogue: a snapshot of any other id is an orphan.
    pub(crate) catalogue_ids: BTreeSet<String>,
    pub(crate) fail_on: FailOnArg,
    pub(crate) deadline: Option<Duration>,
    pub(crate) color: ColorArg,
    /// Progress on stderr: forced on, forced off, or when it is a terminal.
    pub(crate) progress: bool,
    pub(crate) quiet: bool,
    /// The options as reports record them.
    pub(crate) settings: Settings,
}

/// Checks and resolves everything `run` was given before the first
/// connect: a bad argument, file or selection is exit 2 and a name that
/// does not resolve exit 3, at the cost of no run.
pub(crate) fn plan_run(dir: Option<&Path>, args: RunArgs) -> Result<RunPlan, Failure> {
    let mut options = args
        .pace
        .options(args.jobs.unwrap_or(conformance::limits::DEFAULT_JOBS));
    let unix = unix_path(&args.target).transpose()?;
    let spec = match &unix {
        Some(_) => TargetSpec {
            host_port: String::new(),
            path: None,
            https: false,
        },
        None => parse_target(&args.target)?,
    };
    if let (Some(from_url), Some(given)) = (&spec.path, &args.resource.path) {
        if from_url != given {
            return Err(Failure::Usage(format!(
                "--target gives the path {} and --path gives {}: give one",
                escape::readable(from_url.as_bytes()),
                escape::readable(given.as_bytes())
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
    if args.failures_only && matches!(args.format, FormatArg::Junit) {
        return Err(Failure::Usage(
            "--failures-only does not apply to --format junit: a CI page lists a JUnit file's \
             failures itself and counts its passing cases"
                .into(),
        ));
    }
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
    let addresses = match unix {
        Some(path) => vec![Endpoint::Unix(path)],
        None => resolve(&spec.host_port)?
            .into_iter()
            .map(Endpoint::Tcp)
            .collect(),
    };
    let settings = record_settings(dir, &args, &path, &host, options.jobs);
    let format = match args.format {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Junit => Format::Junit,
        FormatArg::Markdown => Format::Markdown,
    };
    Ok(RunPlan {
        addresses,
        wait: args.wait.map(Duration::from_secs),
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
        progress: args.stderr.show_progress(),
        quiet: args.stderr.quiet,
        settings,
    })
}

/// The options as reports record them (`jobs` as planned; the control may
/// lower it).
fn record_settings(
    dir: Option<&Path>,
    args: &RunArgs,
    path: &str,
    host: &str,
    jobs: usize,
) -> Settings {
    Settings {
        path: path.to_string(),
        host: host.to_string(),
        fixture_root: args.resource.fixture_root,
        jobs,
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
        failures_only: args.failures_only,
    }
}

/// The `--baseline` file, parsed and resolved against the catalogue: an
/// alias stands for its case, and an id naming no case or rule is stale.
fn read_baseline(path: &Path, catalogue: &[Case]) -> Result<Baseline, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read baseline {}: {e}", path.display())))?;
    let baseline = Baseline::parse(&text)
        .map_err(|e| Failure::Usage(format!("baseline {}: {e}", path.display())))?;
    Ok(baseline.resolve(catalogue))
}

/// The note a baseline with stale ids gets on stderr, before the first
/// connect: one line, the ids in file order.
pub(crate) fn stale_note(plan: &RunPlan) -> Option<String> {
    stale_note_of(
        plan.settings.baseline.as_deref().unwrap_or_default(),
        plan.baseline.as_ref()?,
    )
}

/// The note on the entries of the baseline file `path` that name nothing,
/// if any: for `run` and `chain` alike.
pub(crate) fn stale_note_of(path: &str, baseline: &Baseline) -> Option<String> {
    let stale = baseline.stale();
    if stale.is_empty() {
        return None;
    }
    let (entries, them) = match stale.len() {
        1 => ("1 stale entry".to_string(), "it"),
        n => (format!("{n} stale entries"), "them"),
    };
    Some(format!(
        "baseline {path}: {entries} naming no case, alias or response rule (renamed or removed; \
         delete {them}): {}",
        escape::readable(stale.join(", ").as_bytes())
    ))
}
