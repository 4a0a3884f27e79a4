//! `diff`: the same cases against several targets at once, and the cases
//! they answer differently.

use super::args::{parse_jobs, DiffArgs};
use super::catalogue::{load, select};
use super::exit::{Failure, EXIT_CONFORMANT};
use super::target::{first_reachable, parse_target, resolve};
use conformance::case::Case;
use conformance::diff::{self, Target};
use conformance::escape;
use conformance::run::{self, Environment, RunOptions};
use conformance::snapshot::SnapshotOptions;
use conformance::wire::Transport;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

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

/// Each `--target` as `(name, text, HOST:PORT)`: `NAME=` gives the name,
/// else the text is the name; a TLS target, one with a path, or a name
/// given twice is a usage error.
fn name_targets(specs: &[String]) -> Result<Vec<(String, String, String)>, Failure> {
    let mut named = Vec::new();
    for spec in specs {
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
    Ok(named)
}

/// The address of each target that answered its control, with the run
/// options its control and `--jobs` make.
fn reach_targets(
    resolved: &[DiffTarget],
    jobs: Vec<Option<usize>>,
    args: &DiffArgs,
    path: &str,
    host: &str,
) -> Result<Vec<(SocketAddr, RunOptions)>, Failure> {
    let mut reachable = Vec::new();
    for (target, jobs) in resolved.iter().zip(jobs) {
        let (address, control) = first_reachable(
            &Transport::Tcp,
            &target.addresses,
            &target.text,
            path,
            host,
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
    Ok(reachable)
}

/// Runs the selected cases against every target at once and prints the
/// cases they answer differently.
pub(crate) fn compare(dir: Option<&Path>, args: DiffArgs) -> Result<u8, Failure> {
    if args.targets.len() < 2 {
        return Err(Failure::Usage(
            "diff needs at least two --target options".into(),
        ));
    }
    let path = args.resource.path(None)?;
    let host = args.resource.host()?;
    let named = name_targets(&args.targets)?;
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
    let reachable = reach_targets(&resolved, jobs, &args, &path, &host)?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
