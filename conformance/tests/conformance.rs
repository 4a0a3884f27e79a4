//! `make conformance`: both variants of the reference server, started in
//! this process on ephemeral ports, answer every case of the catalogue.
//!
//! Each (variant, case) is one trial that checks two things: the RFC grade
//! (the reference server passes every `must` and `should` case, and no case
//! fails or errors), and an exact insta snapshot of the normalised heads in
//! `snapshots/<variant>/<case-id>.snap`. New or changed snapshots fail;
//! `make snapshots` accepts them.
//!
//! The cases run concurrently before the trials (the single variant serves
//! one connection at a time, so its cases run one at a time too), and a
//! per-group summary is printed first.
//!
//! Each variant also serves a docroot of one other file, run without
//! `--fixture-root` against that file: every case graded in both runs must
//! get the same grade (a verdict depends on the server, not on what it
//! serves), and the control must see what each variant is.
//!
//! And each variant is run once more behind an in-process TLS server (a
//! certificate made here): every case must get the grade it got over TCP.
//!
//! Every response rule holds on every response each variant sent; and the
//! same answers with `Date` taken off every 4xx and 5xx, graded again, make
//! exactly one finding: the Date rule, every case keeping its grade.

#[path = "tls_proxy/mod.rs"]
mod tls_proxy;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use conformance::case::{load_catalogue, CATALOGUE_DIR};
use conformance::control::{self, Control};
use conformance::report::Summary;
use conformance::rules::{check_rules, RULES};
use conformance::run::grade_case;
use conformance::snapshot::{self, SnapshotOptions};
use conformance::wire::tls::{TlsClient, Trust, Versions};
use conformance::wire::{Outcome, Response, Transport};
use conformance::{
    run_cases, Case, CaseResult, Check, Environment, Grade, Group, Level, RunOptions,
};
use libtest_mimic::{Arguments, Failed, Trial};
use server::{Config, Mode, Server};

/// The read timeout the reference servers run with here: short, so the
/// cases that wait for a 408 cost well under their own timeout.
const SERVER_READ_TIMEOUT: Duration = Duration::from_millis(500);

/// Cases at once against the threaded variant.
const THREADED_JOBS: usize = 32;

/// The one file of the other docroot: a name and content the catalogue
/// knows nothing about.
const OTHER_FILE: &str = "only-file.bin";
const OTHER_CONTENT: &[u8] = b"a docroot with one file in it\n";

fn workspace() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn snapshot_dir(mode: Mode) -> PathBuf {
    workspace().join("snapshots").join(mode.name())
}

/// Whether this run writes snapshots instead of checking them (`make snapshots`).
fn accepting() -> bool {
    std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always")
}

fn main() {
    let args = Arguments::from_args();
    let cases = match load_catalogue(&workspace().join(CATALOGUE_DIR)) {
        Ok(cases) => cases,
        Err(e) => {
            eprintln!("conformance: {e}");
            std::process::exit(2);
        }
    };
    let cases: &'static [Case] = Box::leak(cases.into_boxed_slice());
    let other_root = tempfile::tempdir().expect("a temporary docroot");
    fs::write(other_root.path().join(OTHER_FILE), OTHER_CONTENT).expect("write its file");
    let tls = TlsSetup::new(other_root.path());
    let mut trials = Vec::new();
    for mode in [Mode::Single, Mode::Threaded] {
        let fixture_root = workspace().join("fixtures/root");
        let started = Instant::now();
        let (control, results) = run_against(mode, cases, &fixture_root, "/", None);
        print_summary(mode, &results, started.elapsed());
        let other_path = format!("/{OTHER_FILE}");
        let (other_control, other) = run_against(mode, cases, other_root.path(), &other_path, None);
        let (tls_control, over_tls) = run_against(mode, cases, &fixture_root, "/", Some(&tls));
        let environment = Environment::from_control(&control, true);
        trials.push(control_trial(mode, control, other_control));
        trials.push(invariance_trial(mode, &results, &other));
        trials.push(rules_trial(mode, &results));
        trials.push(missing_date_trial(mode, &results, &environment));
        trials.push(tls_trial(mode, tls_control, &results, &over_tls));
        trials.push(orphan_trial(mode, cases));
        trials.extend(results.into_iter().map(|result| case_trial(mode, result)));
    }
    libtest_mimic::run(&args, trials).exit();
}

/// A CA made for this run, the server identity it signs, and a client
/// that trusts it.
struct TlsSetup {
    ca: tls_proxy::Authority,
    client: TlsClient,
}

impl TlsSetup {
    fn new(dir: &Path) -> TlsSetup {
        let ca = tls_proxy::Authority::new("conformance test CA");
        let ca_file = dir.join("ca.pem");
        fs::write(&ca_file, ca.pem()).expect("write ca.pem");
        let client = TlsClient::new("localhost", Trust::CaFile(ca_file), Versions::Both)
            .expect("a TLS client");
        TlsSetup { ca, client }
    }
}

/// Starts `mode` on 127.0.0.1:0 serving `root` (behind a TLS server when
/// `tls`), runs the control against `path` and then every case, as
/// `conformance run --path PATH` does (`--fixture-root` when `root` is
/// fixtures/root), and stops the server.
fn run_against(
    mode: Mode,
    cases: &'static [Case],
    root: &Path,
    path: &str,
    tls: Option<&TlsSetup>,
) -> (Control, Vec<CaseResult<'static>>) {
    let mut config = Config::new(root);
    config.quiet = true;
    config.read_timeout = SERVER_READ_TIMEOUT;
    let server = Server::bind("127.0.0.1:0", config).expect("bind 127.0.0.1:0");
    let addr = server.local_addr();
    let stop = server.shutdown_handle();
    let running = std::thread::spawn(move || server.run(mode));
    let proxy = tls.map(|tls| {
        let identity = tls.ca.issue(&["localhost"], false);
        tls_proxy::TlsProxy::start(addr, tls_proxy::ServerOptions::new(identity))
    });
    let (addr, transport) = match (&proxy, tls) {
        (Some(proxy), Some(tls)) => (proxy.addr(), Transport::Tls(tls.client.clone())),
        _ => (addr, Transport::Tcp),
    };
    let defaults = RunOptions {
        transport,
        ..RunOptions::default()
    };
    let control = control::probe_over(
        &defaults.transport,
        addr,
        path,
        "localhost",
        defaults.timeout,
    )
    .unwrap_or_else(|e| panic!("{} variant: the control failed: {e}", mode.name()));
    let fixture_root = root == workspace().join("fixtures/root");
    let options = RunOptions {
        // One connection at a time: a queued case would spend its timeout
        // waiting for the cases ahead of it.
        // Over TLS the proxy takes each connection at once, and whether
        // the single variant's close of an idle connection passes through
        // it before another connection's answer is a race: the variant
        // says how many cases it takes at once.
        jobs: match tls {
            None if control.concurrent => THREADED_JOBS,
            Some(_) if mode == Mode::Threaded => THREADED_JOBS,
            _ => 1,
        },
        environment: Environment::from_control(&control, fixture_root),
        ..defaults
    };
    let results = run_cases(addr, cases, &options);
    drop(proxy);
    stop.shutdown();
    running.join().expect("the server thread panicked");
    (control, results)
}

/// The control sees each variant for what it is, whatever it serves: a 2xx
/// with both validators; persistence and a second connection only for
/// `threaded`.
fn control_trial(mode: Mode, fixture: Control, other: Control) -> Trial {
    Trial::test(format!("{}::control", mode.name()), move || {
        let threaded = mode == Mode::Threaded;
        for control in [&fixture, &other] {
            let facts = (
                control.status,
                control.head_status,
                control.etag.is_some(),
                control.last_modified.is_some(),
                control.persistent,
                control.concurrent,
            );
            let expected = (200, Some(200), true, true, threaded, threaded);
            if facts != expected {
                return Err(format!("{}: {facts:?}, expected {expected:?}", control.line()).into());
            }
        }
        let lengths = (fixture.length, other.length);
        let index_len = fs::metadata(workspace().join("fixtures/root/index.html"))
            .map_err(|e| e.to_string())?
            .len();
        if lengths != (Some(index_len), Some(OTHER_CONTENT.len() as u64)) {
            return Err(format!("control lengths {lengths:?}").into());
        }
        Ok(())
    })
}

/// Every case graded in both runs (served fixtures/root with
/// `--fixture-root`, served one other file with `--path` to it) has the
/// same grade in both; and only cases that need the fixture docroot are
/// skipped in the second.
fn invariance_trial(
    mode: Mode,
    fixture: &[CaseResult<'static>],
    other: &[CaseResult<'static>],
) -> Trial {
    let mut differ = Vec::new();
    let mut wrongly_skipped = Vec::new();
    for (a, b) in fixture.iter().zip(other) {
        if b.grade == Grade::Skip {
            if !b.case.needs.contains(&conformance::Need::FixtureRoot) {
                wrongly_skipped.push(format!("{}: {:?}", b.case.id, b.skipped));
            }
        } else if a.grade != b.grade {
            differ.push(format!(
                "{}: {} with fixtures/root ({}), {} with one file ({})",
                a.case.id,
                a.grade,
                conformance::report::describe_outcomes(a),
                b.grade,
                conformance::report::describe_outcomes(b)
            ));
        }
    }
    Trial::test(
        format!("{}::same-grades-serving-one-file", mode.name()),
        move || {
            if differ.is_empty() && wrongly_skipped.is_empty() {
                return Ok(());
            }
            Err(format!(
                "grades that depend on what is served:\n{}\nskipped without needing the fixture \
             docroot:\n{}",
                differ.join("\n"),
                wrongly_skipped.join("\n")
            )
            .into())
        },
    )
}

/// Every response rule held on the responses the variant sent, and each
/// applied to some of them.
fn rules_trial(mode: Mode, results: &[CaseResult<'static>]) -> Trial {
    let rules: Vec<(String, Grade, bool)> = check_rules(results)
        .iter()
        .map(|r| (r.rule.id.to_string(), r.grade, r.checked > 0))
        .collect();
    Trial::test(format!("{}::response-rules-hold", mode.name()), move || {
        let expected: Vec<(String, Grade, bool)> = RULES
            .iter()
            .map(|r| (r.id.to_string(), Grade::Pass, true))
            .collect();
        if rules == expected {
            Ok(())
        } else {
            Err(format!("response rules: {rules:?}").into())
        }
    })
}

/// GRADING.md's example made a test: a server whose one defect is a
/// missing `Date` on its error responses. The variant's own answers, with
/// `Date` taken off every 4xx and 5xx head, graded again without a socket:
/// every case keeps its grade, and the one finding is `rule:date`.
fn missing_date_trial(
    mode: Mode,
    results: &[CaseResult<'static>],
    environment: &Environment,
) -> Trial {
    let mut changed = Vec::new();
    let mut altered = Vec::new();
    for result in results {
        // `date-now` compares a Date with the clock at grading time, which
        // a second grading seconds later cannot reproduce.
        let clocked = result.case.steps.iter().any(|step| {
            step.expect
                .as_ref()
                .is_some_and(|e| e.checks.contains(&Check::DateNow))
        });
        if result.grade == Grade::Skip || clocked {
            continue;
        }
        let recorded = result
            .steps
            .iter()
            .map(|step| {
                let mut exchange = step.exchange.clone();
                if let Some(Outcome::Response(response)) = &mut exchange.outcome {
                    if response.code >= 400 {
                        strip_date(response);
                    }
                }
                (step.sent.clone(), exchange)
            })
            .collect();
        let regraded = grade_case(result.case, recorded, environment);
        if regraded.grade != result.grade {
            changed.push(format!(
                "{}: {} → {}",
                result.case.id, result.grade, regraded.grade
            ));
        }
        altered.push(regraded);
    }
    let findings = Summary::of(&altered, None).regressions;
    let stripped = check_rules(&altered)[0].broken;
    Trial::test(
        format!("{}::missing-date-is-one-finding", mode.name()),
        move || {
            if changed.is_empty() && findings == ["rule:date"] && stripped > 0 {
                Ok(())
            } else {
                Err(format!(
                    "grades changed: {changed:?}; findings: {findings:?}; responses without Date: \
                 {stripped}"
                )
                .into())
            }
        },
    )
}

/// Takes the `Date` field off a response, from its fields and its head.
fn strip_date(response: &mut Response) {
    response
        .headers
        .retain(|(name, _)| !name.eq_ignore_ascii_case("date"));
    let head = String::from_utf8_lossy(&response.head).into_owned();
    let kept: String = head
        .split_inclusive("\r\n")
        .filter(|line| !line.to_ascii_lowercase().starts_with("date:"))
        .collect();
    response.head = kept.into_bytes();
}

/// Over TLS, the control sees the same target (and the TLS session), and
/// every case gets the grade it got over TCP.
fn tls_trial(
    mode: Mode,
    control: Control,
    tcp: &[CaseResult<'static>],
    tls: &[CaseResult<'static>],
) -> Trial {
    // RFC 9110 §7.4: an https request is to be rejected only when it came
    // unsecured, so the cases about that are skipped over TLS.
    let differ: Vec<String> = tcp
        .iter()
        .zip(tls)
        .filter(|(a, b)| {
            let skipped =
                b.grade == Grade::Skip && b.case.needs.contains(&conformance::Need::PlainTcp);
            a.grade != b.grade && !skipped
        })
        .map(|(a, b)| {
            format!(
                "{}: {} over TCP ({}), {} over TLS ({})",
                a.case.id,
                a.grade,
                conformance::report::describe_outcomes(a),
                b.grade,
                conformance::report::describe_outcomes(b)
            )
        })
        .collect();
    let plain_run: Vec<&str> = tls
        .iter()
        .filter(|b| b.case.needs.contains(&conformance::Need::PlainTcp) && b.grade != Grade::Skip)
        .map(|b| b.case.id.as_str())
        .collect();
    let plain_run = plain_run.join(", ");
    let count = (tcp.len(), tls.len());
    Trial::test(
        format!("{}::same-grades-over-tls", mode.name()),
        move || {
            // Not `concurrent`: see `run_against`.
            let facts = (
                control.status,
                control.persistent,
                control
                    .tls
                    .as_ref()
                    .map(|s| (s.alpn.as_deref(), s.verified)),
            );
            let expected = (200, mode == Mode::Threaded, Some((Some("http/1.1"), true)));
            if facts != expected {
                return Err(format!("{}: {facts:?}, expected {expected:?}", control.line()).into());
            }
            if count.0 != count.1 {
                return Err(format!("{} cases over TCP, {} over TLS", count.0, count.1).into());
            }
            if !plain_run.is_empty() {
                return Err(format!("cases about plain TCP run over TLS: {plain_run}").into());
            }
            if differ.is_empty() {
                return Ok(());
            }
            Err(format!("grades that differ over TLS:\n{}", differ.join("\n")).into())
        },
    )
}

fn print_summary(mode: Mode, results: &[CaseResult<'_>], elapsed: Duration) {
    println!(
        "\n{} variant: {} cases in {:.2} s",
        mode.name(),
        results.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "  {:<14} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5}",
        "group", "pass", "warn", "fail", "info", "skip", "error"
    );
    for group in Group::ALL {
        let count = |grade: Grade| {
            results
                .iter()
                .filter(|r| r.case.group == group && r.grade == grade)
                .count()
        };
        println!(
            "  {:<14} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5}",
            group.as_str(),
            count(Grade::Pass),
            count(Grade::Warn),
            count(Grade::Fail),
            count(Grade::Info),
            count(Grade::Skip),
            count(Grade::Error),
        );
    }
    println!("  {}", Summary::of(results, None).line());
}

/// One trial: the grade the reference server must earn, then the snapshot.
fn case_trial(mode: Mode, result: CaseResult<'static>) -> Trial {
    let name = format!("{}::{}", mode.name(), result.case.id);
    Trial::test(name, move || {
        check_grade(&result)?;
        check_snapshot(mode, &result)
    })
}

fn check_grade(result: &CaseResult<'_>) -> Result<(), Failed> {
    let case = result.case;
    let required = case.level.at_least(Level::Should);
    let acceptable = match result.grade {
        Grade::Pass => true,
        Grade::Warn => !required,
        Grade::Info => case.level == Level::Info,
        Grade::Fail | Grade::Error | Grade::Skip => false,
    };
    if acceptable {
        return Ok(());
    }
    let outcomes = conformance::report::describe_outcomes(result);
    Err(format!(
        "{} graded {:?} on a {} case ({}).\nexpected: {}\nactual: {outcomes}",
        case.id,
        result.grade,
        case.level.as_str(),
        case.rfc,
        case.steps
            .iter()
            .filter_map(|s| s.expect.as_ref())
            .map(conformance::report::describe_expect)
            .collect::<Vec<_>>()
            .join(" | "),
    )
    .into())
}

fn check_snapshot(mode: Mode, result: &CaseResult<'_>) -> Result<(), Failed> {
    let rendered = snapshot::render(result, &SnapshotOptions::default());
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(snapshot_dir(mode));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(&result.case.file);
    settings.set_description(format!("{} — {}", result.case.id, result.case.title));
    let id = result.case.id.clone();
    // insta reports a mismatch by panicking; turn it into this trial's failure.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(id, rendered));
    }))
    .map_err(|_| {
        Failed::from(format!(
            "the snapshot of {} changed (see the diff above; `make snapshots` accepts it)",
            result.case.id
        ))
    })
}

/// A trial that fails when `snapshots/<variant>/` holds a snapshot of a case
/// that no longer exists (and removes it under `make snapshots`).
fn orphan_trial(mode: Mode, cases: &'static [Case]) -> Trial {
    Trial::test(format!("{}::no-orphan-snapshots", mode.name()), move || {
        let ids: BTreeSet<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        let orphans = orphans(&snapshot_dir(mode), &ids);
        if orphans.is_empty() {
            return Ok(());
        }
        if accepting() {
            for orphan in &orphans {
                fs::remove_file(orphan).map_err(|e| format!("{}: {e}", orphan.display()))?;
            }
            return Ok(());
        }
        Err(
            format!("snapshots of removed cases (`make snapshots` deletes them): {orphans:?}")
                .into(),
        )
    })
}

fn orphans(dir: &Path, ids: &BTreeSet<&str>) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut orphans: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.strip_suffix(".snap")
                .is_some_and(|id| !ids.contains(id))
        })
        .collect();
    orphans.sort();
    orphans
}
