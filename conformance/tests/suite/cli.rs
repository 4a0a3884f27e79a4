//! The `conformance` binary: exit codes, output formats, baseline handling,
//! `list` and `explain`. Each test owns a small case directory, so the
//! catalogue growing never changes these answers.

use crate::support::{
    answer_then_close, case_text, conformance, stdout_with_code, unused_addr, write_cases,
    Reference, Responder, CONTROL_PATH,
};
use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;
use tempfile::TempDir;

const MISSING_HOST: &str = "rfc9112-3.2-missing-host";
const GET_SUPPORTED: &str = "rfc9110-9.1-get-supported";
const CLOSE_HONOURED: &str = "rfc9112-9.6-close-honoured";
const VERSION_INFO: &str = "rfc9110-6.2-version-info";

/// Four cases that a server answering `400` and closing grades as one
/// pass, one fail, one warn and one info.
fn case_dir() -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    write_cases(
        dir.path(),
        &[
            (
                MISSING_HOST,
                case_text(
                    MISSING_HOST,
                    "must",
                    "host",
                    "request = 'GET /hello.txt HTTP/1.1\\r\\n\\r\\n'\n\
                     [expect]\npass = [\"400\"]\nchecks = [\"date\", \"content-length\"]\n",
                ),
            ),
            (
                GET_SUPPORTED,
                case_text(
                    GET_SUPPORTED,
                    "must",
                    "method",
                    "request = 'GET /hello.txt HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n'\n\
                     [expect]\npass = [\"200\"]\nchecks = [\"date\", \"content-length\"]\n",
                ),
            ),
            (
                CLOSE_HONOURED,
                case_text(
                    CLOSE_HONOURED,
                    "should",
                    "connection",
                    "[[steps]]\nsend = 'GET /hello.txt HTTP/1.1\\r\\n'\n\
                     [[steps]]\npause_ms = 20\n\
                     send = 'Host: localhost\\r\\nConnection: close\\r\\n\\r\\n'\n\
                     expect = { pass = [\"200\"], checks = [\"closed\"] }\n",
                ),
            ),
            (
                VERSION_INFO,
                case_text(
                    VERSION_INFO,
                    "info",
                    "version",
                    "request = 'GET / HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n'\n\
                     [expect]\npass = [\"200\"]\n",
                ),
            ),
        ],
    );
    dir
}

fn run(dir: &Path, responder: &Responder) -> Command {
    let mut cmd = conformance(dir);
    cmd.args(["run", "--target", &responder.target(), "--timeout", "300"]);
    cmd.args(["--path", CONTROL_PATH]);
    cmd
}

/// Exactly one line on stderr, starting `conformance: ` and containing `text`.
fn one_line_error(text: &str) -> impl Predicate<str> {
    let text = text.to_string();
    predicate::function(move |s: &str| {
        s.starts_with("conformance: ")
            && s.ends_with('\n')
            && s.lines().count() == 1
            && s.contains(&text)
    })
}

#[test]
fn run_with_passing_selection_then_exit_0_and_summary_last() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(
        run(dir.path(), &responder).args(["--filter", MISSING_HOST]),
        0,
    );
    assert!(
        out.contains(&format!("PASS  {MISSING_HOST}  400 Bad Request\n")),
        "{out}"
    );
    assert!(out.ends_with("\n1 passed, 0 warned, 0 failed\n"), "{out}");
}

#[test]
fn run_with_must_failure_then_exit_1_and_failure_details() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(&mut run(dir.path(), &responder), 1);
    for line in [
        format!("FAIL  {GET_SUPPORTED}   400 Bad Request\n"),
        format!("WARN  {CLOSE_HONOURED}  400 Bad Request\n"),
        format!("INFO  {VERSION_INFO}    400 Bad Request\n"),
        format!("FAIL {GET_SUPPORTED}: Test case {GET_SUPPORTED}\n"),
        "  requirement: RFC 9110 §9.1 (must) https://www.rfc-editor.org/rfc/rfc9110#section-9.1\n"
            .to_string(),
        "    \"A test sentence.\"\n".to_string(),
        "      GET /hello.txt HTTP/1.1\\r\\n\n".to_string(),
        "    acceptable: pass 200; checks date (must), content-length (must)\n".to_string(),
        "    actual: 400 Bad Request\n".to_string(),
        "      HTTP/1.1 400 Bad Request\\r\\n\n".to_string(),
    ] {
        assert!(out.contains(&line), "missing {line:?} in\n{out}");
    }
    assert!(
        out.ends_with("\n1 passed, 1 warned, 1 failed, 1 info, 0 errors\n"),
        "{out}"
    );
}

#[test]
fn run_text_then_group_table_before_summary() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(&mut run(dir.path(), &responder), 1);
    let table = "group           pass  warn  fail  info  skip error\n\
                 version            0     0     0     1     0     0\n\
                 method             0     0     1     0     0     0\n\
                 host               1     0     0     0     0     0\n\
                 connection         0     1     0     0     0     0\n";
    assert!(out.contains(table), "{out}");
}

#[test]
fn level_must_then_only_must_cases_run() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(run(dir.path(), &responder).args(["--level", "must"]), 1);
    assert!(out.ends_with("\n1 passed, 0 warned, 1 failed\n"), "{out}");
}

#[test]
fn exclude_then_case_left_out() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(
        run(dir.path(), &responder).args(["--exclude", "rfc9110-9.1", "--level", "must"]),
        0,
    );
    assert!(!out.contains(GET_SUPPORTED), "{out}");
}

#[test]
fn baseline_listing_the_failure_then_exit_0_and_known() {
    let dir = case_dir();
    let baseline = dir.path().join("baseline.txt");
    std::fs::write(&baseline, format!("# known\n{GET_SUPPORTED}  # not yet\n")).unwrap();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(
        run(dir.path(), &responder).arg("--baseline").arg(&baseline),
        0,
    );
    assert!(
        out.contains(&format!(
            "FAIL  {GET_SUPPORTED}   400 Bad Request  (known)\n"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "known failures (in the baseline): {GET_SUPPORTED}\n"
        )),
        "{out}"
    );
}

#[test]
fn baseline_id_that_passes_then_reported_fixed() {
    let dir = case_dir();
    let baseline = dir.path().join("baseline.txt");
    std::fs::write(&baseline, format!("{MISSING_HOST}\n")).unwrap();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(
        run(dir.path(), &responder)
            .arg("--baseline")
            .arg(&baseline)
            .args(["--filter", MISSING_HOST]),
        0,
    );
    assert!(
        out.contains(&format!("fixed: remove from baseline: {MISSING_HOST}\n")),
        "{out}"
    );
}

#[test]
fn baseline_with_unknown_id_then_exit_2() {
    let dir = case_dir();
    let baseline = dir.path().join("baseline.txt");
    std::fs::write(&baseline, "rfc9999-1-nope\n").unwrap();
    let responder = answer_then_close("400 Bad Request");
    run(dir.path(), &responder)
        .arg("--baseline")
        .arg(&baseline)
        .assert()
        .code(2)
        .stdout("")
        .stderr(one_line_error("unknown case id(s): rfc9999-1-nope"));
}

#[test]
fn empty_selection_then_exit_2() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    run(dir.path(), &responder)
        .args(["--filter", "rfc1-"])
        .assert()
        .code(2)
        .stderr(one_line_error("no cases match the selection"));
}

#[test]
fn unreachable_target_then_exit_3_before_any_case() {
    let dir = case_dir();
    let target = unused_addr().to_string();
    conformance(dir.path())
        .args(["run", "--target", &target, "--timeout", "300"])
        .assert()
        .code(3)
        .stdout("")
        .stderr(one_line_error(&format!("cannot reach {target}")));
}

#[test]
fn invalid_case_file_then_exit_2_naming_it() {
    let dir = case_dir();
    std::fs::write(dir.path().join("rfc9112-5-broken.toml"), "id = 'x'\n").unwrap();
    conformance(dir.path())
        .arg("list")
        .assert()
        .code(2)
        .stderr(one_line_error("rfc9112-5-broken.toml"));
}

#[test]
fn list_then_one_line_per_case_id_first() {
    let dir = case_dir();
    let out = stdout_with_code(conformance(dir.path()).arg("list"), 0);
    assert_eq!(
        out,
        format!(
            "{VERSION_INFO}    info    version        Test case {VERSION_INFO}\n\
             {GET_SUPPORTED}   must    method         Test case {GET_SUPPORTED}\n\
             {MISSING_HOST}    must    host           Test case {MISSING_HOST}\n\
             {CLOSE_HONOURED}  should  connection     Test case {CLOSE_HONOURED}\n"
        )
    );
}

#[test]
fn explain_single_request_then_exact_lines() {
    let dir = case_dir();
    let no_matrix = dir.path().join("no-matrix.json");
    let out = stdout_with_code(
        conformance(dir.path())
            .args(["explain", MISSING_HOST, "--matrix"])
            .arg(&no_matrix),
        0,
    );
    assert_eq!(
        out,
        format!(
            "{MISSING_HOST}: Test case {MISSING_HOST}\n\
             level: must, group: host\n\
             requirement: RFC 9112 §3.2 https://www.rfc-editor.org/rfc/rfc9112#section-3.2\n\
             \x20 \"A test sentence.\"\n\
             request:\n\
             \x20 GET /hello.txt HTTP/1.1\\r\\n\n\
             \x20 \\r\\n\n\
             acceptable: pass 400; checks date (must), content-length (must)\n\
             explanation:\n\
             \x20 Why this matters.\n\
             \x20 Second line.\n\
             What servers answered: no matrix at {} (`make matrix` writes one).\n",
            no_matrix.display()
        )
    );
}

#[test]
fn explain_steps_then_each_step_with_pause() {
    let dir = case_dir();
    let out = stdout_with_code(conformance(dir.path()).args(["explain", CLOSE_HONOURED]), 0);
    let steps = "step 1:\n\
                 \x20 request:\n\
                 \x20   GET /hello.txt HTTP/1.1\\r\\n\n\
                 step 2 (after 20 ms):\n\
                 \x20 request:\n\
                 \x20   Host: localhost\\r\\n\n\
                 \x20   Connection: close\\r\\n\n\
                 \x20   \\r\\n\n\
                 \x20 acceptable: pass 200; checks closed (must)\n";
    assert!(out.contains(steps), "{out}");
}

#[test]
fn explain_unknown_id_then_exit_2_with_suggestion() {
    let dir = case_dir();
    conformance(dir.path())
        .args(["explain", "rfc9112-3.2-missing-hots"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(one_line_error(&format!("did you mean {MISSING_HOST}?")));
}

#[test]
fn junit_then_well_formed_with_a_name_on_every_testcase() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(
        run(dir.path(), &responder).args(["--format", "junit", "--name", "wrong 400"]),
        1,
    );
    if let Err(e) = roxmltree::Document::parse(&out) {
        panic!("{e}\n{out}");
    }
    let testcases = out.matches("<testcase ").count();
    assert_eq!(testcases, 4, "{out}");
    assert_eq!(out.matches("<testcase classname=\"").count(), 4);
    for id in [MISSING_HOST, GET_SUPPORTED, CLOSE_HONOURED, VERSION_INFO] {
        assert!(out.contains(&format!("name=\"{id}\"")), "{id}\n{out}");
    }
    assert_eq!(out.matches("<failure ").count(), 1, "{out}");
    assert_eq!(out.matches("<skipped ").count(), 1, "{out}");
    assert!(out.contains("classname=\"wrong_400.method\""), "{out}");
    assert!(
        out.contains(
            "<testsuites name=\"wrong 400\" tests=\"4\" failures=\"1\" errors=\"0\" time=\""
        ),
        "{out}"
    );
}

#[test]
fn json_then_parses_with_summary_and_steps() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(run(dir.path(), &responder).args(["--format", "json"]), 1);
    let json: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(json["summary"]["passed"], 1);
    assert_eq!(json["summary"]["failed"], 1);
    assert_eq!(json["summary"]["regressions"][0], GET_SUPPORTED);
    let cases = json["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 4);
    let close = cases
        .iter()
        .find(|c| c["id"] == CLOSE_HONOURED)
        .expect("case");
    assert_eq!(close["steps"].as_array().map(Vec::len), Some(2));
    assert_eq!(close["steps"][1]["outcome"]["kind"], "response");
    assert_eq!(close["steps"][1]["outcome"]["code"], 400);
}

#[test]
fn markdown_then_table_row_per_case() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(
        run(dir.path(), &responder).args(["--format", "markdown"]),
        1,
    );
    assert!(
        out.contains("| grade | case | level | group | requirement | outcome |\n"),
        "{out}"
    );
    assert!(out.contains(&format!("| fail | `{GET_SUPPORTED}` | must | method | [RFC 9110 §9.1](https://www.rfc-editor.org/rfc/rfc9110#section-9.1) | 400 Bad Request |\n")), "{out}");
    assert!(
        out.ends_with("**1 passed, 1 warned, 1 failed, 1 info, 0 errors**\n"),
        "{out}"
    );
}

#[test]
fn output_and_write_baseline_then_files_written_whole() {
    let dir = case_dir();
    let out_dir = TempDir::new().unwrap();
    let report = out_dir.path().join("report.xml");
    let baseline = out_dir.path().join("baseline.txt");
    let responder = answer_then_close("400 Bad Request");
    let stdout = stdout_with_code(
        run(dir.path(), &responder)
            .args(["--format", "junit", "--output"])
            .arg(&report)
            .arg("--write-baseline")
            .arg(&baseline),
        1,
    );
    assert_eq!(stdout, "1 passed, 1 warned, 1 failed, 1 info, 0 errors\n");
    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(xml.ends_with("</testsuites>\n"));
    let written = std::fs::read_to_string(&baseline).unwrap();
    assert!(
        written.ends_with(&format!("\n{GET_SUPPORTED}\n")),
        "{written}"
    );
    let names: Vec<_> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "no temporary files left: {names:?}");
    // The written baseline makes the same run pass.
    stdout_with_code(
        run(dir.path(), &responder).arg("--baseline").arg(&baseline),
        0,
    );
}

#[test]
fn output_into_missing_directory_then_exit_2() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    run(dir.path(), &responder)
        .arg("--output")
        .arg(dir.path().join("no/such/dir/report.txt"))
        .assert()
        .code(2)
        .stderr(one_line_error("cannot write"));
}

/// Issue 18: a file the run cannot write once its cases have run is exit 6,
/// not a usage error (2), and one line naming it and what the system said.
/// `--snapshots` is not checked before the connect (`--output` is, and stays
/// exit 2), so against the reference server every case runs, none failing,
/// before the write fails.
#[test]
fn snapshots_under_a_file_then_exit_6_after_the_run() {
    let dir = case_dir();
    let out_dir = TempDir::new().unwrap();
    let file = out_dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let snapshots = file.join("snapshots");
    // The system's own words for it, as the run gets them.
    let why = std::fs::create_dir_all(&snapshots).expect_err("no directory under a file");
    let reference = Reference::start();
    conformance(dir.path())
        .args(["run", "--target", &reference.addr.to_string()])
        .args(["--path", "/hello.txt", "--snapshots"])
        .arg(&snapshots)
        .assert()
        .code(6)
        .stdout(predicate::str::ends_with(
            "3 passed, 0 warned, 0 failed, 1 info, 0 errors\n",
        ))
        .stderr(format!(
            "conformance: cannot write {}: {why}\n",
            snapshots.display()
        ));
}
