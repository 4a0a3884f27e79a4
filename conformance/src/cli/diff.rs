//! `diff`: the same cases against several targets at once, and the cases
//! they answer differently.

use super::args::{check_path, parse_jobs, DiffArgs, DiffFormatArg};
use super::catalogue::{load, select};
use super::exit::{Failure, EXIT_CASE_ERRORS, EXIT_CONFORMANT, EXIT_NONCONFORMANT};
use super::output::{check_writable_file, write_atomically};
use super::target::{first_reachable, parse_target, resolve};
use conformance::case::Case;
use conformance::diff::{self, Difference, Target};
use conformance::escape;
use conformance::run::{self, Environment, RunOptions};
use conformance::snapshot::SnapshotOptions;
use conformance::wire::Transport;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

/// The header fields that describe the resource asked for, not how the
/// server answers: compared by presence alone when the targets' paths
/// differ (RFC 9110 §8.3, §8.6, §14.4).
const RESOURCE_FIELDS: [&str; 3] = ["Content-Type", "Content-Length", "Content-Range"];

/// A validated `diff` target: its name, its text, the path its cases ask
/// for, its addresses.
struct DiffTarget {
    name: String,
    text: String,
    path: String,
    addresses: Vec<SocketAddr>,
}

/// A `--target` as typed, before it is resolved.
struct NamedTarget {
    name: String,
    text: String,
    host_port: String,
    /// The path its URL gave, if it gave one.
    path: Option<String>,
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

/// `NAME` and the target of `NAME=TARGET`, or `None` when `spec` is a
/// target alone: a name holds no `:` or `/`, so the `=` of a URL's path
/// (`http://HOST/a=b`) is not taken for one.
fn split_name(spec: &str) -> Option<(&str, &str)> {
    spec.split_once('=')
        .filter(|(name, _)| !name.is_empty() && !name.contains([':', '/']))
}

/// Each `--target` with its name: `NAME=` gives it, else the text is the
/// name; a TLS target or a name given twice is a usage error.
fn name_targets(specs: &[String]) -> Result<Vec<NamedTarget>, Failure> {
    let mut named: Vec<NamedTarget> = Vec::new();
    for spec in specs {
        let (name, text) = match split_name(spec) {
            Some((name, text)) => (name.to_string(), text.to_string()),
            None => (spec.clone(), spec.clone()),
        };
        let parsed = parse_target(&text)?;
        if parsed.https {
            return Err(Failure::Usage(format!(
                "--target \"{}\": diff compares plain HTTP targets; check a TLS server with run",
                escape::encode(text.as_bytes())
            )));
        }
        if named.iter().any(|n| n.name == name) {
            return Err(Failure::Usage(format!(
                "two targets are named \"{}\"",
                escape::encode(name.as_bytes())
            )));
        }
        named.push(NamedTarget {
            name,
            text,
            host_port: parsed.host_port,
            path: parsed.path,
        });
    }
    Ok(named)
}

/// The address of each target that answered its control, with the run
/// options its control and `--jobs` make.
fn reach_targets(
    resolved: &[DiffTarget],
    jobs: Vec<Option<usize>>,
    args: &DiffArgs,
    host: &str,
) -> Result<Vec<(SocketAddr, RunOptions)>, Failure> {
    let mut reachable = Vec::new();
    for (target, jobs) in resolved.iter().zip(jobs) {
        let (address, control) = first_reachable(
            &Transport::Tcp,
            &target.addresses,
            &target.text,
            &target.path,
            host,
            args.pace.timeout(),
        )
        .map_err(|failure| match failure {
            // Which target's path is not served.
            Failure::Usage(why) => Failure::Usage(format!("{}: {why}", target.name)),
            other => other,
        })?;
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

/// Runs the selected cases against every target at once and writes the
/// cases they answer differently; with `--exit-code`, exits 1 when one is
/// answered differently, else 7 when a case could not be run on a target.
pub(crate) fn compare(dir: Option<&Path>, args: DiffArgs) -> Result<u8, Failure> {
    if args.targets.len() < 2 {
        return Err(Failure::Usage(
            "diff needs at least two --target options".into(),
        ));
    }
    let default_path = args.resource.path(None)?;
    let host = args.resource.host()?;
    let named = name_targets(&args.targets)?;
    let names: Vec<&str> = named.iter().map(|n| n.name.as_str()).collect();
    let jobs = diff_jobs(&args.jobs, &names)?;
    let catalogue = load(dir)?;
    let cases: Vec<Case> = select(&catalogue, &args.selection)?
        .into_iter()
        .cloned()
        .collect();
    if let Some(file) = &args.output {
        check_writable_file(file)?;
    }
    let mut resolved = Vec::new();
    for target in named {
        let path = match &target.path {
            Some(path) => check_path(path)?,
            None => default_path.clone(),
        };
        let addresses = resolve(&target.host_port)?;
        resolved.push(DiffTarget {
            name: target.name,
            text: target.text,
            path,
            addresses,
        });
    }
    // Every target is checked before any case runs: exit 3 costs no run.
    let reachable = reach_targets(&resolved, jobs, &args, &host)?;
    // Different resources have their own length, type and ranges: when the
    // paths differ, those fields are compared by presence, not value.
    let mut redact = args.redact.clone();
    if resolved.windows(2).any(|pair| pair[0].path != pair[1].path) {
        redact.extend(RESOURCE_FIELDS.iter().map(|f| f.to_string()));
    }
    let targets: Vec<Target> = resolved
        .iter()
        .zip(&reachable)
        .map(|(t, (address, _))| Target {
            name: t.name.clone(),
            address: t.text.clone(),
            path: t.path.clone(),
            options: SnapshotOptions {
                redact: redact.clone(),
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
    let text = match args.format {
        DiffFormatArg::Text => diff::render_text(&targets, cases.len(), &entries),
        DiffFormatArg::Json => diff::render_json(&targets, &host, cases.len(), &entries),
    };
    match &args.output {
        Some(path) => {
            write_atomically(path, &text).map_err(|error| Failure::Write {
                path: path.clone(),
                error,
            })?;
            print!("{}", diff::summary_lines(&entries));
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not worth an error message.
            let _ = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush());
        }
    }
    Ok(exit_code(args.exit_code, &entries))
}

/// The exit code of a diff: 0 without `--exit-code`; with it, 1 when a case
/// is answered differently, else 7 when a case could not be run on a
/// target (its answer is not known), else 0.
fn exit_code(asked: bool, entries: &[diff::Entry<'_>]) -> u8 {
    if !asked {
        EXIT_CONFORMANT
    } else if entries.iter().any(|e| e.kind.answered_differently()) {
        EXIT_NONCONFORMANT
    } else if entries.iter().any(|e| e.kind == Difference::Unrunnable) {
        EXIT_CASE_ERRORS
    } else {
        EXIT_CONFORMANT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A diff of one case that differs in `kind`.
    fn entries_of(case: &Case, kind: Difference) -> Vec<diff::Entry<'_>> {
        vec![diff::Entry {
            case,
            kind,
            answers: Vec::new(),
        }]
    }

    #[test]
    fn exit_code_then_1_on_a_difference_7_on_a_harness_error_else_0() {
        let text = "id = \"rfc9112-3.2-a\"\ntitle = \"T\"\ngroup = \"host\"\n\
                    rfc = \"RFC 9112 §3.2\"\n\
                    url = \"https://www.rfc-editor.org/rfc/rfc9112#section-3.2\"\n\
                    quote = \"Q.\"\nlevel = \"must\"\nexplain = \"E.\"\n\
                    request = 'GET / HTTP/1.1\\r\\n\\r\\n'\n[expect]\npass = [\"400\"]\n";
        let case = conformance::case::parse_case("rfc9112-3.2-a", text).expect("a case");
        let code = |kind| exit_code(true, &entries_of(&case, kind));
        assert_eq!(code(Difference::AcceptReject), EXIT_NONCONFORMANT);
        assert_eq!(code(Difference::RejectCodes), EXIT_NONCONFORMANT);
        assert_eq!(code(Difference::Heads), EXIT_NONCONFORMANT);
        assert_eq!(code(Difference::Unrunnable), EXIT_CASE_ERRORS);
        assert_eq!(code(Difference::Skipped), EXIT_CONFORMANT);
        assert_eq!(code(Difference::ConnectionOnly), EXIT_CONFORMANT);
        assert_eq!(exit_code(true, &[]), EXIT_CONFORMANT);
        // Without --exit-code a diff is a report: 0 whatever it found.
        let heads = entries_of(&case, Difference::Heads);
        assert_eq!(exit_code(false, &heads), EXIT_CONFORMANT);
    }

    #[test]
    fn split_name_then_a_name_has_no_colon_or_slash() {
        assert_eq!(split_name("a=127.0.0.1:80"), Some(("a", "127.0.0.1:80")));
        assert_eq!(
            split_name("app=http://127.0.0.1:80/api/health"),
            Some(("app", "http://127.0.0.1:80/api/health"))
        );
        assert_eq!(split_name("http://127.0.0.1:80/a=b"), None);
        assert_eq!(split_name("127.0.0.1:80"), None);
        assert_eq!(split_name("=127.0.0.1:80"), None);
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
}
