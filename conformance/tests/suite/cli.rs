//! The `conformance` binary: exit codes, output formats, baseline handling,
//! `list` and `explain`. Each test owns a small case directory, so the
//! catalogue growing never changes these answers.

use crate::support::{
    answer_then_close, case_dir_of, conformance, graded_lines, redact_dates, rules_held,
    stdout_with_code, unused_addr, CaseFile, Reference, Responder, Step,
    CONTROL_OF_ANSWER_THEN_CLOSE, CONTROL_PATH,
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
    case_dir_of(&[
        CaseFile::new(MISSING_HOST)
            .group("host")
            .request(r"GET /hello.txt HTTP/1.1\r\n\r\n")
            .pass(&["400"])
            .checks(&["date", "content-length"]),
        CaseFile::new(GET_SUPPORTED)
            .group("method")
            .request(r"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["200"])
            .checks(&["date", "content-length"]),
        CaseFile::new(CLOSE_HONOURED)
            .group("connection")
            .level("should")
            .step(Step::send(r"GET /hello.txt HTTP/1.1\r\n"))
            .step(
                Step::send(r"Host: localhost\r\nConnection: close\r\n\r\n")
                    .after_ms(20)
                    .pass(&["200"])
                    .checks(&["closed"]),
            ),
        CaseFile::new(VERSION_INFO)
            .group("version")
            .level("info")
            .request(r"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["200"]),
    ])
}

fn run(dir: &Path, responder: &Responder) -> Command {
    let mut cmd = conformance(dir);
    cmd.args(["run", "--target", &responder.target(), "--timeout", "300"]);
    cmd.args(["--path", CONTROL_PATH]);
    cmd
}

/// Exactly one line on stderr, starting `conformance: ` and then `start`:
/// for a message whose end is the operating system's words.
fn one_line_error_starting(start: &str) -> impl Predicate<str> {
    let start = format!("conformance: {start}");
    predicate::function(move |s: &str| {
        s.starts_with(&start) && s.ends_with('\n') && s.lines().count() == 1
    })
}

/// The first two lines of a text report against `responder`.
fn report_head(responder: &Responder, cases: &str) -> String {
    format!(
        "conformance of {}, {cases}\n{CONTROL_OF_ANSWER_THEN_CLOSE}\n",
        responder.target()
    )
}

/// What the text report says of [`GET_SUPPORTED`] against a 400 (its Date
/// redacted), under "failures and errors:"; `note` follows the id.
fn get_supported_failure(note: &str) -> String {
    format!(
        "FAIL {GET_SUPPORTED}{note}: Test case {GET_SUPPORTED}\n\
         \x20 more: conformance explain {GET_SUPPORTED}\n\
         \x20 requirement: RFC 9110 §9.1 (must) https://www.rfc-editor.org/rfc/rfc9110#section-9.1\n\
         \x20   \"A test sentence.\"\n\
         \x20 step 1:\n\
         \x20   sent:\n\
         \x20     GET /hello.txt HTTP/1.1\\r\\n\n\
         \x20     Host: localhost\\r\\n\n\
         \x20     \\r\\n\n\
         \x20   acceptable: pass 200; checks date (must), content-length (must)\n\
         \x20   actual: 400 Bad Request\n\
         \x20   grade: fail\n\
         \x20   received:\n\
         \x20     HTTP/1.1 400 Bad Request\\r\\n\n\
         \x20     Date: [date]\\r\\n\n\
         \x20     Content-Length: 0\\r\\n\n\
         \x20     Connection: close\\r\\n\n\
         \x20     \\r\\n\n"
    )
}

/// The group table, root causes and summary of a run of all four cases.
const ALL_FOUR_TAIL: &str = "group           pass  warn  fail  info  skip error\n\
                             version            0     0     0     1     0     0\n\
                             method             0     0     1     0     0     0\n\
                             host               1     0     0     0     0     0\n\
                             connection         0     1     0     0     0     0\n\
                             \n\
                             root causes of the failures:\n\
                             \x20 got 400 where the case wants 200: 1 case: rfc9110-9.1-get-supported\n\
                             \n\
                             1 passed, 1 warned, 1 failed, 1 info, 0 errors\n";

#[test]
fn run_with_passing_selection_then_exit_0_and_summary_last() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(
        run(dir.path(), &responder).args(["--filter", MISSING_HOST]),
        0,
    );
    assert_eq!(
        out,
        format!(
            "{}\
             PASS  {MISSING_HOST}  400 Bad Request\n\
             \n\
             {}\
             \n\
             group           pass  warn  fail  info  skip error\n\
             host               1     0     0     0     0     0\n\
             \n\
             1 passed, 0 warned, 0 failed\n",
            report_head(&responder, "1 case"),
            rules_held("1 response")
        )
    );
}

#[test]
fn run_with_must_failure_then_exit_1_and_failure_details() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(&mut run(dir.path(), &responder), 1);
    assert_eq!(
        redact_dates(&out),
        format!(
            "{}\
             INFO  {VERSION_INFO}    400 Bad Request\n\
             FAIL  {GET_SUPPORTED}   400 Bad Request\n\
             PASS  {MISSING_HOST}    400 Bad Request\n\
             WARN  {CLOSE_HONOURED}  400 Bad Request\n\
             \n\
             failures and errors:\n\
             \n\
             {}\
             \n\
             why each case warned:\n\
             \x20 conformance explain {CLOSE_HONOURED}\n\
             \n\
             {}\
             \n\
             {ALL_FOUR_TAIL}",
            report_head(&responder, "4 cases"),
            get_supported_failure(""),
            rules_held("4 responses")
        )
    );
}

#[test]
fn run_text_then_group_table_before_summary() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(&mut run(dir.path(), &responder), 1);
    let tail = out
        .split_once("\n\ngroup ")
        .map(|(_, tail)| format!("group {tail}"));
    assert_eq!(tail.as_deref(), Some(ALL_FOUR_TAIL), "{out}");
}

#[test]
fn level_must_then_only_must_cases_run() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(run(dir.path(), &responder).args(["--level", "must"]), 1);
    assert_eq!(
        graded_lines(&out),
        [
            format!("FAIL  {GET_SUPPORTED}  400 Bad Request"),
            format!("PASS  {MISSING_HOST}   400 Bad Request"),
            "1 passed, 0 warned, 1 failed".to_string(),
        ],
        "{out}"
    );
}

#[test]
fn exclude_then_case_left_out() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(
        run(dir.path(), &responder).args(["--exclude", "rfc9110-9.1", "--level", "must"]),
        0,
    );
    assert_eq!(
        graded_lines(&out),
        [
            format!("PASS  {MISSING_HOST}  400 Bad Request"),
            "1 passed, 0 warned, 0 failed".to_string(),
        ],
        "{out}"
    );
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
    assert_eq!(
        redact_dates(&out),
        format!(
            "{}\
             INFO  {VERSION_INFO}    400 Bad Request\n\
             FAIL  {GET_SUPPORTED}   400 Bad Request  (known)\n\
             PASS  {MISSING_HOST}    400 Bad Request\n\
             WARN  {CLOSE_HONOURED}  400 Bad Request\n\
             \n\
             why each case warned:\n\
             \x20 conformance explain {CLOSE_HONOURED}\n\
             \n\
             known failures (in the baseline): {GET_SUPPORTED}\n\
             \n\
             {}\
             \n\
             {}\
             \n\
             new failures (not in the baseline): none\n",
            report_head(&responder, "4 cases"),
            rules_held("4 responses"),
            ALL_FOUR_TAIL.replace("1 failed", "1 failed (0 new, 1 in the baseline)")
        )
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
    assert_eq!(
        out,
        format!(
            "{}\
             PASS  {MISSING_HOST}  400 Bad Request\n\
             fixed: remove from baseline: {MISSING_HOST}\n\
             \n\
             {}\
             \n\
             group           pass  warn  fail  info  skip error\n\
             host               1     0     0     0     0     0\n\
             \n\
             1 passed, 0 warned, 0 failed\n\
             \n\
             new failures (not in the baseline): none\n",
            report_head(&responder, "1 case"),
            rules_held("1 response")
        )
    );
}

/// A case renamed since a baseline was written keeps its old id as an
/// alias: the baseline, `--id` and `explain` still find it (issue 19).
#[test]
fn renamed_case_then_its_old_id_still_names_it() {
    const OLD: &str = "rfc9110-9.1-get-old-name";
    let dir = case_dir_of(&[CaseFile::new(GET_SUPPORTED)
        .group("method")
        .aliases(&[OLD])
        .request(r"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .pass(&["200"])]);
    let responder = answer_then_close("400 Bad Request");
    let baseline = dir.path().join("baseline.txt");
    std::fs::write(&baseline, format!("{OLD}\n")).unwrap();
    let out = stdout_with_code(
        run(dir.path(), &responder)
            .args(["--id", OLD, "--baseline"])
            .arg(&baseline),
        0,
    );
    assert_eq!(
        graded_lines(&out),
        [
            format!("FAIL  {GET_SUPPORTED}  400 Bad Request  (known)"),
            "0 passed, 0 warned, 1 failed (0 new, 1 in the baseline)".to_string()
        ]
    );
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("known failures"))
            .collect::<Vec<_>>(),
        [format!("known failures (in the baseline): {GET_SUPPORTED}")]
    );
    let explained = stdout_with_code(conformance(dir.path()).args(["explain", OLD]), 0);
    assert_eq!(
        explained.lines().next(),
        Some(format!("{GET_SUPPORTED}: Test case {GET_SUPPORTED}").as_str())
    );
}

#[test]
fn alias_that_names_another_case_then_the_catalogue_is_invalid() {
    let dir = case_dir_of(&[
        CaseFile::new(GET_SUPPORTED)
            .group("method")
            .aliases(&[MISSING_HOST])
            .request(r"GET / HTTP/1.1\r\n\r\n")
            .pass(&["200"]),
        CaseFile::new(MISSING_HOST)
            .group("host")
            .request(r"GET / HTTP/1.1\r\n\r\n")
            .pass(&["400"]),
    ]);
    conformance(dir.path())
        .arg("list")
        .assert()
        .code(2)
        .stdout("")
        .stderr(format!(
            "conformance: {}: aliases: `{MISSING_HOST}` already names the case {MISSING_HOST}\n",
            dir.path().join(format!("{GET_SUPPORTED}.toml")).display()
        ));
}

#[test]
fn empty_selection_then_exit_2() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    run(dir.path(), &responder)
        .args(["--filter", "rfc1-"])
        .assert()
        .code(2)
        .stdout("")
        .stderr("conformance: no cases match the selection\n");
}

#[test]
fn unreachable_target_then_exit_3_before_any_case() {
    let dir = case_dir();
    let target = unused_addr().to_string();
    // The line ends with the system's words for the refusal.
    conformance(dir.path())
        .args(["run", "--target", &target, "--timeout", "300"])
        .assert()
        .code(3)
        .stdout("")
        .stderr(one_line_error_starting(&format!(
            "cannot reach {target}: cannot connect to {target}: "
        )));
}

#[test]
fn invalid_case_file_then_exit_2_naming_it() {
    let dir = case_dir();
    // Not a case: a file the loader must refuse.
    let broken = dir.path().join("rfc9112-5-broken.toml");
    std::fs::write(&broken, "id = 'x'\n").unwrap();
    conformance(dir.path())
        .arg("list")
        .assert()
        .code(2)
        .stdout("")
        .stderr(format!(
            "conformance: {}: line 1: missing field `title`\n",
            broken.display()
        ));
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
    // Up to the matrix section, whose servers are the compiled-in matrix's.
    let (explained, _) = out
        .split_once("What servers answered")
        .expect("a matrix section");
    assert_eq!(
        explained,
        format!(
            "{CLOSE_HONOURED}: Test case {CLOSE_HONOURED}\n\
             level: should, group: connection\n\
             requirement: RFC 9112 §9.6 https://www.rfc-editor.org/rfc/rfc9112#section-9.6\n\
             \x20 \"A test sentence.\"\n\
             step 1:\n\
             \x20 request:\n\
             \x20   GET /hello.txt HTTP/1.1\\r\\n\n\
             step 2 (after 20 ms):\n\
             \x20 request:\n\
             \x20   Host: localhost\\r\\n\n\
             \x20   Connection: close\\r\\n\n\
             \x20   \\r\\n\n\
             \x20 acceptable: pass 200; checks closed (must)\n\
             explanation:\n\
             \x20 Why this matters.\n\
             \x20 Second line.\n"
        )
    );
}

#[test]
fn explain_unknown_id_then_exit_2_with_suggestion() {
    let dir = case_dir();
    conformance(dir.path())
        .args(["explain", "rfc9112-3.2-missing-hots"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(format!(
            "conformance: no case `rfc9112-3.2-missing-hots`; did you mean {MISSING_HOST}?\n"
        ));
}

#[test]
fn explain_rule_date_then_the_rule_exactly() {
    let dir = case_dir();
    let no_matrix = dir.path().join("no-matrix.json");
    let out = stdout_with_code(
        conformance(dir.path())
            .args(["explain", "rule:date", "--matrix"])
            .arg(&no_matrix),
        0,
    );
    assert_eq!(
        out,
        format!(
            "rule:date: a Date in IMF-fixdate form on every 2xx, 3xx and 4xx\n\
         level: must, a response rule: checked on every response a run reads, reported once\n\
         requirement: RFC 9110 §6.6.1\n\
         \x20 \"An origin server with a clock (as defined in Section 5.6.7) MUST generate a Date \
         header field in all 2xx (Successful), 3xx (Redirection), and 4xx (Client Error) \
         responses, and MAY generate a Date header field in 1xx (Informational) and 5xx (Server \
         Error) responses.\"\n\
         \n\
         Caches work out the age of a response from its Date; without one they fall back to \
         guesses. Error responses are often made on a code path of their own, and that is where \
         a missing Date hides. The check wants exactly one Date, in IMF-fixdate form (`Sun, 06 \
         Nov 1994 08:49:37 GMT`), on every 2xx, 3xx and 4xx; 1xx and 5xx may go without.\n\
         \n\
         What servers answered: no matrix at {} (`make matrix` writes one).\n",
            no_matrix.display()
        )
    );
}

#[test]
fn explain_unknown_rule_then_exit_2() {
    let dir = case_dir();
    let assert = conformance(dir.path())
        .args(["explain", "rule:nope"])
        .assert()
        .code(2)
        .stdout("");
    assert_eq!(
        String::from_utf8_lossy(&assert.get_output().stderr),
        "conformance: no rule `rule:nope`; the response rules: rule:date, rule:content-length, \
         rule:status-sp, rule:reason-phrase, rule:field-value\n"
    );
}

/// A count attribute of a JUnit element, as a number.
fn count(node: roxmltree::Node<'_, '_>, name: &str) -> Option<usize> {
    node.attribute(name).and_then(|value| value.parse().ok())
}

#[test]
fn junit_then_well_formed_with_a_name_on_every_testcase() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(
        run(dir.path(), &responder).args(["--format", "junit", "--name", "wrong 400"]),
        1,
    );
    let doc = roxmltree::Document::parse(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
    let root = doc.root_element();
    assert_eq!(
        (
            root.tag_name().name(),
            root.attribute("name"),
            count(root, "tests"),
            count(root, "failures"),
            count(root, "errors"),
        ),
        // Four cases and the five response rules.
        ("testsuites", Some("wrong 400"), Some(9), Some(1), Some(0)),
        "{out}"
    );
    // (name, tests, failures, errors, skipped) of each testsuite.
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .map(|s| {
            (
                s.attribute("name").unwrap_or_default(),
                count(s, "tests"),
                count(s, "failures"),
                count(s, "errors"),
                count(s, "skipped"),
            )
        })
        .collect();
    assert_eq!(
        suites,
        [
            ("version", Some(1), Some(0), Some(0), Some(1)),
            ("method", Some(1), Some(1), Some(0), Some(0)),
            ("host", Some(1), Some(0), Some(0), Some(0)),
            ("connection", Some(1), Some(0), Some(0), Some(0)),
            ("response-rules", Some(5), Some(0), Some(0), Some(0)),
        ],
        "{out}"
    );
    // (classname, name, what it holds) of each testcase.
    let testcases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|c| {
            (
                c.attribute("classname").unwrap_or_default(),
                c.attribute("name").unwrap_or_default(),
                c.first_element_child().map(|r| r.tag_name().name()),
            )
        })
        .collect();
    assert_eq!(
        testcases,
        [
            ("wrong_400.version", VERSION_INFO, Some("skipped")),
            ("wrong_400.method", GET_SUPPORTED, Some("failure")),
            ("wrong_400.host", MISSING_HOST, None),
            ("wrong_400.connection", CLOSE_HONOURED, Some("system-out")),
            ("wrong_400.response-rules", "rule:date", None),
            ("wrong_400.response-rules", "rule:content-length", None),
            ("wrong_400.response-rules", "rule:status-sp", None),
            ("wrong_400.response-rules", "rule:reason-phrase", None),
            ("wrong_400.response-rules", "rule:field-value", None),
        ],
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
    let target = responder.target();
    let mut paragraphs: Vec<&str> = out.split("\n\n").collect();
    // The second paragraph says when the run started and how long it took.
    let started = format!("Target {target}, 4 cases, started ");
    assert!(
        paragraphs
            .get(1)
            .is_some_and(|p| p.starts_with(&started) && p.ends_with(" s.")),
        "{out}"
    );
    paragraphs.remove(1);
    let link = |rfc: &str, section: &str| {
        format!("[RFC {rfc} §{section}](https://www.rfc-editor.org/rfc/rfc{rfc}#section-{section})")
    };
    assert_eq!(
        paragraphs,
        [
            format!("# Conformance: {target}"),
            CONTROL_OF_ANSWER_THEN_CLOSE.to_string(),
            format!(
                "| grade | case | level | group | requirement | outcome |\n\
                 |---|---|---|---|---|---|\n\
                 | info | `{VERSION_INFO}` | info | version | {} | 400 Bad Request |\n\
                 | fail | `{GET_SUPPORTED}` | must | method | {} | 400 Bad Request |\n\
                 | pass | `{MISSING_HOST}` | must | host | {} | 400 Bad Request |\n\
                 | warn | `{CLOSE_HONOURED}` | should | connection | {} | 400 Bad Request |",
                link("9110", "6.2"),
                link("9110", "9.1"),
                link("9112", "3.2"),
                link("9112", "9.6"),
            ),
            "| group | pass | warn | fail | info | skip | error |\n\
             |---|---|---|---|---|---|---|\n\
             | version | 0 | 0 | 0 | 1 | 0 | 0 |\n\
             | method | 0 | 0 | 1 | 0 | 0 | 0 |\n\
             | host | 1 | 0 | 0 | 0 | 0 | 0 |\n\
             | connection | 0 | 1 | 0 | 0 | 0 | 0 |"
                .to_string(),
            "## Response rules".to_string(),
            "Checked on every response the run read.".to_string(),
            "| grade | rule | requirement | responses |\n\
             |---|---|---|---|\n\
             | pass | `rule:date` | RFC 9110 §6.6.1: a Date in IMF-fixdate form on every 2xx, 3xx \
             and 4xx | held on 4 responses |\n\
             | pass | `rule:content-length` | RFC 9110 §8.6: Content-Length agrees with the \
             content sent, and is absent on 1xx and 204 | held on 4 responses |\n\
             | pass | `rule:status-sp` | RFC 9112 §4: a space after the status code, even with no \
             reason phrase | held on 4 responses |\n\
             | pass | `rule:reason-phrase` | RFC 9110 §2.2: the reason phrase matches RFC 9112 §4: 1*( \
             HTAB / SP / VCHAR / obs-text ) | held on 4 responses |\n\
             | pass | `rule:field-value` | RFC 9110 §2.2: every field value matches RFC 9110 §5.5: \
             no CR, LF, NUL or other CTL | held on 4 responses |"
                .to_string(),
            "## Root causes of the failures".to_string(),
            format!(
                "| cause | cases | ids |\n\
                 |---|---:|---|\n\
                 | got 400 where the case wants 200 | 1 | `{GET_SUPPORTED}` |"
            ),
            "**1 passed, 1 warned, 1 failed, 1 info, 0 errors**\n".to_string(),
        ]
    );
}

#[test]
fn output_and_write_baseline_then_files_written_whole() {
    let dir = case_dir();
    let out_dir = TempDir::new().unwrap();
    let report = out_dir.path().join("report.xml");
    let baseline = out_dir.path().join("baseline.txt");
    let responder = answer_then_close("400 Bad Request");
    // The run that writes a baseline succeeds once it is written, though
    // a case failed: it is how CI starts tolerating known failures.
    let assert = run(dir.path(), &responder)
        .args(["--format", "junit", "--output"])
        .arg(&report)
        .arg("--write-baseline")
        .arg(&baseline)
        .assert()
        .code(0)
        .stdout("1 passed, 1 warned, 1 failed, 1 info, 0 errors\n");
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert_eq!(
        stderr.lines().last(),
        Some(
            format!(
                "baseline written to {}: 1 known failure",
                baseline.display()
            )
            .as_str()
        ),
        "{stderr}"
    );
    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(xml.ends_with("</testsuites>\n"), "{xml}");
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(
        (
            count(root, "tests"),
            count(root, "failures"),
            count(root, "errors")
        ),
        (Some(9), Some(1), Some(0)),
        "{xml}"
    );
    let written = std::fs::read_to_string(&baseline).unwrap();
    let target = responder.target();
    assert_eq!(
        written,
        format!(
            "# Known failures of {target} ({target}), written by `conformance run \
             --write-baseline`.\n{GET_SUPPORTED}\n"
        )
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
    let report = dir.path().join("no/such/dir/report.txt");
    run(dir.path(), &responder)
        .arg("--output")
        .arg(&report)
        .assert()
        .code(2)
        .stdout("")
        .stderr(format!(
            "conformance: cannot write {}: no directory {}\n",
            report.display(),
            dir.path().join("no/such/dir").display()
        ));
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
