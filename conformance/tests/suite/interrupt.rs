//! A run that stops early and a run that shows how far it is: SIGINT and
//! SIGTERM write the report of what ran and list the rest as not run
//! (exit 130 and 143), `--deadline` does the same with exit 5, progress goes
//! to stderr only when asked or on a terminal (in plain lines off one), and
//! output paths are checked before the first connect.

use crate::support::{
    answer_then_close, case_dir_of, conformance, drain, response, rules_held_as, unused_addr,
    CaseFile, Requests, Responder, CONTROL_OF_ANSWER_THEN_CLOSE, CONTROL_PATH,
};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use tempfile::TempDir;

/// How many cases the slow runs have: far more than run before the signal.
const SLOW_CASES: usize = 20;

/// The ids of the slow cases, in catalogue order.
fn slow_ids() -> Vec<String> {
    (1..=SLOW_CASES)
        .map(|i| format!("rfc9112-9.3-slow-{i:02}"))
        .collect()
}

/// Cases that send a request the slow responder never answers and pass on
/// `timeout`: each costs one `--timeout`, and none fails.
fn slow_cases() -> TempDir {
    let cases: Vec<CaseFile> = slow_ids()
        .iter()
        .map(|id| {
            CaseFile::new(id)
                .group("connection")
                .request(r"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .pass(&["timeout"])
        })
        .collect();
    case_dir_of(&cases)
}

/// The control line a run prints for [`slow_responder`].
const SLOW_CONTROL: &str = "control: GET /control → 200 OK, HEAD → 200; ETag no, Last-Modified \
                            no, length 0; persistent yes; second connection served while one is \
                            open: yes";

/// Answers the control requests at once (the control's GET of a missing
/// path with 404) and holds every request for `/slow` unanswered until the
/// client gives up.
fn slow_responder() -> Responder {
    slow_responder_telling(mpsc::channel().0)
}

/// [`slow_responder`], sending on `held` each time it starts holding a
/// request for `/slow`: a case is then under way.
pub fn slow_responder_telling(held: mpsc::Sender<()>) -> Responder {
    let held = std::sync::Mutex::new(held);
    Responder::start(move |stream| {
        let mut requests = Requests::new(stream);
        while let Some(head) = requests.next_head() {
            let control = [
                format!("GET {CONTROL_PATH} "),
                format!("HEAD {CONTROL_PATH} "),
            ]
            .iter()
            .any(|start| head.starts_with(start.as_bytes()));
            if head.starts_with(b"GET /slow ") {
                if let Ok(held) = held.lock() {
                    let _ = held.send(());
                }
                drain(requests.stream());
                return;
            }
            let answer = if control {
                response("200 OK", "")
            } else {
                response("404 Not Found", "")
            };
            if requests.stream().write_all(&answer).is_err() {
                return;
            }
        }
    })
}

/// The hidden variable that sets how often progress lines are written off
/// a terminal, in milliseconds: 0 is a line per case, so that a test sees
/// each case end without waiting.
const PROGRESS_EVERY_MS: &str = "CONFORMANCE_PROGRESS_EVERY_MS";

/// Progress lines with their times (which vary) masked: each run of digits
/// after the `; ` written `N`, so `12s elapsed, about 1m05s left` reads
/// `Ns elapsed, about NmNs left`.
fn mask_progress_times(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| match line.split_once("; ") {
            Some((counts, times)) if line.starts_with("progress: ") => {
                let mut masked = String::new();
                for c in times.chars() {
                    match (c.is_ascii_digit(), masked.ends_with('N')) {
                        (true, true) => {}
                        (true, false) => masked.push('N'),
                        (false, _) => masked.push(c),
                    }
                }
                format!("{counts}; {masked}")
            }
            _ => line.to_string(),
        })
        .collect()
}

/// The binary, as a plain child process with piped output, so a test can
/// signal it while it runs.
fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--cases")
        .arg(dir)
        .args(args)
        .env(PROGRESS_EVERY_MS, "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn conformance")
}

/// Reads `pipe` to its end on a thread, sending each chunk as it comes.
fn chunks(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (send, receive) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 || send.send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    receive
}

/// The case ids a text report lists with a grade, in report order (not
/// the response rules, whose ids start `rule:`).
fn graded_ids(report: &str) -> Vec<String> {
    report
        .lines()
        .filter_map(|line| {
            let (grade, rest) = line.split_once(' ')?;
            let id = rest.split_whitespace().next().unwrap_or_default();
            (["PASS", "WARN", "FAIL", "INFO", "SKIP", "ERROR"].contains(&grade)
                && !id.starts_with("rule:"))
            .then(|| id.to_string())
        })
        .collect()
}

/// Sends `signal` to the run once its progress line says a case finished
/// and the next case's request has arrived (no fixed sleep), and checks
/// the report, with that case abandoned under way, and the exit code.
fn signal_after_first_result(signal: &str, name: &str, code: i32) {
    let dir = slow_cases();
    let (held, requests) = mpsc::channel();
    let responder = slow_responder_telling(held);
    let target = responder.target();
    let mut child = spawn(
        dir.path(),
        &[
            "run",
            "--target",
            &target,
            "--path",
            CONTROL_PATH,
            // Long enough that the second case is still under way when
            // the signal, sent once its request arrived, lands.
            "--timeout",
            "1500",
            "--jobs",
            "1",
            "--progress",
        ],
    );
    let stdout = chunks(child.stdout.take().expect("stdout"));
    let stderr = chunks(child.stderr.take().expect("stderr"));
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("progress: 1/") {
        match stderr.recv() {
            Ok(chunk) => seen.extend(chunk),
            Err(_) => panic!(
                "the run ended before a result: {}",
                String::from_utf8_lossy(&seen)
            ),
        }
    }
    // The first case's request and the second's: the second is under way.
    for _ in 0..2 {
        requests.recv().expect("a case's request");
    }
    let killed = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(code), "{status:?}");
    let report = String::from_utf8(stdout.iter().flatten().collect()).expect("UTF-8");
    seen.extend(stderr.iter().flatten());
    let errors = String::from_utf8(seen).expect("UTF-8");
    let ran = graded_ids(&report);
    let ids = slow_ids();
    assert_eq!(ran, ids[..1], "one job runs the cases in order");
    let (ran, not_run) = (ran.len(), SLOW_CASES - ran.len());
    let mut expected = format!(
        "conformance of {target}, {ran} case{}\n{SLOW_CONTROL}\n",
        if ran == 1 { "" } else { "s" }
    );
    for id in &ids[..ran] {
        expected.push_str(&format!("PASS  {id}  timeout\n"));
    }
    expected.push_str(&format!(
        "\nnot run (interrupted by {name}): {not_run} of {SLOW_CASES} cases\n"
    ));
    expected.push_str(&format!(
        "  {}  (under way: abandoned, not graded)\n",
        ids[ran]
    ));
    for id in &ids[ran + 1..] {
        expected.push_str(&format!("  {id}\n"));
    }
    // The cases that ran passed on a timeout: no response was read, so no
    // rule applied to one.
    expected.push_str(&format!(
        "\n{}\
         \n\
         group           pass  warn  fail  info  skip error\n\
         connection     {ran:>5}     0     0     0     0     0\n\
         \n\
         {ran} passed, 0 warned, 0 failed\n",
        rules_held_as("INFO", "no response it applies to was read")
    ));
    assert_eq!(report, expected);
    // Off a terminal, at an interval of 0: one plain line per case that
    // ran, then the last word.
    let mut expected_errors: String = (1..=ran)
        .map(|done| {
            format!(
                "progress: {done}/{SLOW_CASES} cases, 0 failed, 0 warned; Ns elapsed, about Ns \
                 left\n"
            )
        })
        .collect();
    expected_errors.push_str(&format!(
        "conformance: interrupted by {name}: {not_run} of {SLOW_CASES} cases not run\n"
    ));
    assert_eq!(mask_progress_times(&errors), expected_errors);
}

#[test]
fn sigint_during_a_run_then_report_of_what_ran_and_exit_130() {
    signal_after_first_result("INT", "SIGINT", 130);
}

#[test]
fn sigterm_during_a_run_then_report_of_what_ran_and_exit_143() {
    signal_after_first_result("TERM", "SIGTERM", 143);
}

#[test]
fn deadline_passed_then_rest_not_run_and_exit_5() {
    let dir = slow_cases();
    let responder = slow_responder();
    let assert = conformance(dir.path())
        .args([
            "run",
            "--target",
            &responder.target(),
            "--path",
            CONTROL_PATH,
        ])
        .args([
            "--timeout",
            "300",
            "--jobs",
            "1",
            "--deadline",
            "1",
            "--format",
            "json",
        ])
        .assert()
        .code(5);
    let output = assert.get_output();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let ran = json["cases"].as_array().expect("cases").len();
    let ids = slow_ids();
    assert!(ran < SLOW_CASES, "{json}");
    assert_eq!(json["not_run"]["reason"], "the --deadline of 1 s passed");
    assert_eq!(json["not_run"]["ids"], serde_json::json!(ids[ran..]));
    let schema = crate::reports::report_schema();
    assert_eq!(
        crate::reports::schema_errors(&schema, &json),
        Vec::<String>::new()
    );
    // The control line goes to stderr beside a JSON report.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr,
        format!(
            "{SLOW_CONTROL}\n\
             conformance: the --deadline of 1 s passed: {} of {SLOW_CASES} cases not run\n",
            SLOW_CASES - ran
        )
    );
}

/// Two cases that [`answer_then_close`] passes and fails.
fn two_cases() -> TempDir {
    case_dir_of(&[
        CaseFile::new("rfc9112-3.2-missing-host")
            .group("host")
            .request(r"GET / HTTP/1.1\r\n\r\n")
            .pass(&["400"]),
        CaseFile::new("rfc9110-9.1-get-supported")
            .group("method")
            .request(r"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["200"]),
    ])
}

/// The standard error of a run of [`two_cases`] with `--progress` off a
/// terminal, progress lines written at most every `every_ms` (the default
/// when `None`), their times masked.
fn progress_off_a_terminal(every_ms: Option<&str>) -> String {
    let dir = two_cases();
    let responder = answer_then_close("400 Bad Request");
    let mut cmd = conformance(dir.path());
    cmd.args([
        "run",
        "--target",
        &responder.target(),
        "--path",
        CONTROL_PATH,
    ])
    .args(["--jobs", "1", "--progress"]);
    if let Some(ms) = every_ms {
        cmd.env(PROGRESS_EVERY_MS, ms);
    }
    let assert = cmd.assert().code(1);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).expect("UTF-8");
    assert!(!stderr.contains(['\r', '\x1b']), "{stderr:?}");
    mask_progress_times(&stderr)
}

#[test]
fn progress_forced_off_a_terminal_then_plain_lines_at_the_interval_and_at_the_end() {
    // Every 5 s by default: two quick cases make the last line only.
    assert_eq!(
        progress_off_a_terminal(None),
        "progress: 2/2 cases, 1 failed, 0 warned; Ns elapsed, done\n"
    );
    // At an interval of 0, a line per case, each with the time left.
    assert_eq!(
        progress_off_a_terminal(Some("0")),
        "progress: 1/2 cases, 1 failed, 0 warned; Ns elapsed, about Ns left\n\
         progress: 2/2 cases, 1 failed, 0 warned; Ns elapsed, done\n"
    );
}

#[test]
fn stderr_not_a_terminal_then_no_progress() {
    let dir = two_cases();
    let responder = answer_then_close("400 Bad Request");
    conformance(dir.path())
        .args([
            "run",
            "--target",
            &responder.target(),
            "--path",
            CONTROL_PATH,
        ])
        .assert()
        .code(1)
        .stderr("");
}

#[test]
fn quiet_then_no_notes_on_stderr() {
    let dir = two_cases();
    let responder = answer_then_close("400 Bad Request");
    let noisy = conformance(dir.path())
        .args([
            "run",
            "--target",
            &responder.target(),
            "--path",
            CONTROL_PATH,
        ])
        .args(["--format", "json"])
        .assert()
        .code(1);
    // Without --quiet the control line goes to stderr beside a JSON report.
    assert_eq!(
        String::from_utf8_lossy(&noisy.get_output().stderr),
        format!("{CONTROL_OF_ANSWER_THEN_CLOSE}\n")
    );
    conformance(dir.path())
        .args([
            "run",
            "--target",
            &responder.target(),
            "--path",
            CONTROL_PATH,
        ])
        .args(["--format", "json", "--quiet"])
        .assert()
        .code(1)
        .stderr("");
}

#[test]
fn output_paths_that_cannot_be_written_then_exit_2_before_connecting() {
    let dir = two_cases();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    // Nothing listens at the target: a check after the connect would be exit 3.
    let target = unused_addr().to_string();
    for (flag, path, why) in [
        (
            "--output",
            dir.path().to_path_buf(),
            "it is a directory".to_string(),
        ),
        (
            "--write-baseline",
            dir.path().to_path_buf(),
            "it is a directory".to_string(),
        ),
        (
            "--output",
            dir.path().join("no/such/report.txt"),
            format!("no directory {}", dir.path().join("no/such").display()),
        ),
        (
            "--write-baseline",
            file.join("baseline.txt"),
            format!("no directory {}", file.display()),
        ),
    ] {
        conformance(dir.path())
            .args(["run", "--target", &target, flag])
            .arg(&path)
            .assert()
            .code(2)
            .stdout("")
            .stderr(format!(
                "conformance: cannot write {}: {why}\n",
                path.display()
            ));
    }
}

#[test]
fn deadline_passed_then_junit_has_the_rest_as_skipped_not_run() {
    let dir = slow_cases();
    let responder = slow_responder();
    let assert = conformance(dir.path())
        .args([
            "run",
            "--target",
            &responder.target(),
            "--path",
            CONTROL_PATH,
        ])
        .args(["--timeout", "300", "--jobs", "1", "--deadline", "1"])
        .args(["--format", "junit", "--name", "slow"])
        .assert()
        .code(5);
    let xml = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert_eq!(
        crate::junit::violations(&xml),
        Vec::<String>::new(),
        "{xml}"
    );
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let ran = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter(|n| n.attribute("classname") == Some("slow.connection"))
        .count();
    assert!(ran < SLOW_CASES, "{xml}");
    let not_run = SLOW_CASES - ran;
    // junit-10.xsd has no `skipped` on <testsuites>: the not-run suite counts
    // them. Every case and the five response rules are tests.
    let root = doc.root_element();
    assert_eq!(
        ["name", "tests", "failures", "errors"].map(|name| root.attribute(name)),
        [
            Some("slow"),
            Some((SLOW_CASES + 5).to_string().as_str()),
            Some("0"),
            Some("0")
        ],
        "{xml}"
    );
    // The cases that ran read no response (they pass on a timeout): each
    // rule is skipped, before the not-run suite.
    let mut rules = String::new();
    for id in [
        "rule:date",
        "rule:content-length",
        "rule:status-sp",
        "rule:reason-phrase",
        "rule:field-value",
    ] {
        rules.push_str(&format!(
            "    <testcase classname=\"slow.response-rules\" name=\"{id}\" time=\"0.000\">\n      \
             <skipped message=\"no response it applies to was read\"/>\n    </testcase>\n"
        ));
    }
    let opening = "  <testsuite name=\"response-rules\" tests=\"5\" failures=\"0\" errors=\"0\" \
                   skipped=\"5\" timestamp=\"";
    let at = xml
        .find(opening)
        .unwrap_or_else(|| panic!("{opening}\n{xml}"));
    let after_opening = &xml[at..];
    let suite_rest = &after_opening[after_opening.find('\n').map_or(0, |i| i + 1)..];
    let suite_end = suite_rest
        .find("  </testsuite>\n")
        .unwrap_or(suite_rest.len());
    assert_eq!(&suite_rest[..suite_end], rules, "{xml}");
    let opening = format!(
        "  <testsuite name=\"not-run\" tests=\"{not_run}\" failures=\"0\" errors=\"0\" \
         skipped=\"{not_run}\" timestamp=\""
    );
    let at = xml
        .find(&opening)
        .unwrap_or_else(|| panic!("{opening}\n{xml}"));
    let after_opening = &xml[at..];
    let rest = &after_opening[after_opening.find('\n').map_or(0, |i| i + 1)..];
    let mut suite = String::new();
    for id in &slow_ids()[ran..] {
        suite.push_str(&format!(
            "    <testcase classname=\"slow.not-run\" name=\"{id}\" time=\"0.000\">\n      \
             <skipped message=\"not run: the --deadline of 1 s passed\"/>\n    </testcase>\n"
        ));
    }
    suite.push_str("  </testsuite>\n</testsuites>\n");
    assert_eq!(rest, suite, "{xml}");
}

#[test]
fn deadline_passed_then_markdown_names_the_rest_not_run() {
    let dir = slow_cases();
    let responder = slow_responder();
    let assert = conformance(dir.path())
        .args([
            "run",
            "--target",
            &responder.target(),
            "--path",
            CONTROL_PATH,
        ])
        .args(["--timeout", "300", "--jobs", "1", "--deadline", "1"])
        .args(["--format", "markdown"])
        .assert()
        .code(5);
    let md = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let ran = md.lines().filter(|l| l.starts_with("| pass | `")).count();
    let rest: Vec<String> = slow_ids()[ran..]
        .iter()
        .map(|id| format!("`{id}`"))
        .collect();
    let line = format!(
        "\nnot run (the --deadline of 1 s passed): {} of {SLOW_CASES} cases: {}\n",
        SLOW_CASES - ran,
        rest.join(", ")
    );
    assert!(md.contains(&line), "missing {line:?} in\n{md}");
}

#[test]
fn output_in_a_directory_that_takes_no_file_then_exit_2_before_connecting() {
    // /sys takes no new file, even from root (for whom permission bits on
    // a temporary directory would not stop the write).
    let dir = two_cases();
    let target = unused_addr().to_string();
    let assert = conformance(dir.path())
        .args(["run", "--target", &target, "--output", "/sys/report.txt"])
        .assert()
        .code(2)
        .stdout("");
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.starts_with(
            "conformance: cannot write /sys/report.txt: cannot create a file in /sys: "
        ) && stderr.lines().count() == 1,
        "{stderr}"
    );
}
