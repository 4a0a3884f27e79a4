//! Baselines in CI: known failures counted apart from new ones, the text
//! report ending with the new failures, stale ids noted (never an error),
//! `--write-baseline` succeeding once written, `--failures-only`.

use crate::support::{
    answer_then_close, case_dir_of, conformance, redact_dates, rules_held, stdout_with_code,
    CaseFile, Responder, CONTROL_OF_ANSWER_THEN_CLOSE, CONTROL_PATH,
};
use assert_cmd::Command;
use std::path::Path;
use tempfile::TempDir;

/// Three cases a 400 fails (they want 200), in catalogue order: the
/// baseline lists the first and the last, so the middle one regressed.
const KNOWN_A: &str = "rfc9110-9.1-get-a";
const NEW: &str = "rfc9110-9.1-get-b";
const KNOWN_C: &str = "rfc9110-9.1-get-c";
/// A case a 400 passes.
const PASSES: &str = "rfc9112-3.2-missing-host";

/// The four cases, and `known.txt` listing [`KNOWN_A`] and [`KNOWN_C`].
fn case_dir() -> TempDir {
    let get = |id| {
        CaseFile::new(id)
            .group("method")
            .request(r"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["200"])
    };
    let dir = case_dir_of(&[
        get(KNOWN_A),
        get(NEW),
        get(KNOWN_C),
        CaseFile::new(PASSES)
            .group("host")
            .request(r"GET /hello.txt HTTP/1.1\r\n\r\n")
            .pass(&["400"]),
    ]);
    std::fs::write(
        dir.path().join("known.txt"),
        format!("# known\n{KNOWN_C}\n{KNOWN_A}  # tracked\n"),
    )
    .expect("baseline");
    dir
}

fn run(dir: &Path, responder: &Responder) -> Command {
    let mut cmd = conformance(dir);
    cmd.args(["run", "--target", &responder.target(), "--timeout", "300"]);
    cmd.args(["--path", CONTROL_PATH]);
    cmd
}

/// What the text report says of one of the GET cases against a 400, its
/// Date redacted, under "failures and errors:".
fn get_failure(id: &str) -> String {
    format!(
        "FAIL {id}: Test case {id}\n\
         \x20 more: conformance explain {id}\n\
         \x20 requirement: RFC 9110 §9.1 (must) https://www.rfc-editor.org/rfc/rfc9110#section-9.1\n\
         \x20   \"A test sentence.\"\n\
         \x20 step 1:\n\
         \x20   sent:\n\
         \x20     GET /hello.txt HTTP/1.1\\r\\n\n\
         \x20     Host: localhost\\r\\n\n\
         \x20     \\r\\n\n\
         \x20   acceptable: pass 200\n\
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

/// One regression among known failures: the summary counts it apart, the
/// known failures get a line each and no details, and the report ends
/// with the new failure and why; exit 1.
#[test]
fn one_regression_then_counted_apart_and_listed_last_and_exit_1() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(
        run(dir.path(), &responder)
            .arg("--baseline")
            .arg(dir.path().join("known.txt")),
        1,
    );
    assert_eq!(
        redact_dates(&out),
        format!(
            "conformance of {}, 4 cases\n\
             {CONTROL_OF_ANSWER_THEN_CLOSE}\n\
             FAIL  {KNOWN_A}         400 Bad Request  (known)\n\
             FAIL  {NEW}         400 Bad Request\n\
             FAIL  {KNOWN_C}         400 Bad Request  (known)\n\
             PASS  {PASSES}  400 Bad Request\n\
             \n\
             failures and errors:\n\
             \n\
             {}\
             \n\
             known failures (in the baseline): {KNOWN_A}, {KNOWN_C}\n\
             \n\
             {}\
             \n\
             group           pass  warn  fail  info  skip error\n\
             method             0     0     3     0     0     0\n\
             host               1     0     0     0     0     0\n\
             \n\
             root causes of the failures:\n\
             \x20 got 400 where the case wants 200: 3 cases: {KNOWN_A}, {NEW}, {KNOWN_C}\n\
             \n\
             1 passed, 0 warned, 3 failed (1 new, 2 in the baseline)\n\
             \n\
             new failures (not in the baseline): 1\n\
             \x20 {NEW}  got 400 where the case wants 200\n",
            responder.target(),
            get_failure(NEW),
            rules_held("4 responses")
        )
    );
}

/// With the report in a file, the terminal (a CI log) still gets the
/// summary and the new failures.
#[test]
fn one_regression_with_output_then_summary_and_new_failures_on_stdout() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let report = dir.path().join("report.json");
    let out = stdout_with_code(
        run(dir.path(), &responder)
            .arg("--baseline")
            .arg(dir.path().join("known.txt"))
            .args(["--format", "json", "--output"])
            .arg(&report),
        1,
    );
    assert_eq!(
        out,
        format!(
            "1 passed, 0 warned, 3 failed (1 new, 2 in the baseline)\n\
             \n\
             new failures (not in the baseline): 1\n\
             \x20 {NEW}  got 400 where the case wants 200\n"
        )
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("JSON");
    let summary = &json["summary"];
    assert_eq!(
        [
            &summary["failed"],
            &summary["failed_new"],
            &summary["failed_known"]
        ],
        [
            &serde_json::json!(3),
            &serde_json::json!(1),
            &serde_json::json!(2)
        ]
    );
    assert_eq!(summary["regressions"], serde_json::json!([NEW]));
    assert_eq!(summary["known"], serde_json::json!([KNOWN_A, KNOWN_C]));
    assert_eq!(summary["stale"], serde_json::json!([]));
}

/// `--failures-only`: the failures alone, the new one first, then the
/// known ones; the counts still cover the whole run.
#[test]
fn failures_only_then_new_failures_first_and_nothing_else() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(
        run(dir.path(), &responder)
            .arg("--baseline")
            .arg(dir.path().join("known.txt"))
            .arg("--failures-only"),
        1,
    );
    assert_eq!(
        redact_dates(&out),
        format!(
            "conformance of {}, 4 cases\n\
             {CONTROL_OF_ANSWER_THEN_CLOSE}\n\
             FAIL  {NEW}  400 Bad Request\n\
             FAIL  {KNOWN_A}  400 Bad Request  (known)\n\
             FAIL  {KNOWN_C}  400 Bad Request  (known)\n\
             \n\
             failures and errors:\n\
             \n\
             {}\
             \n\
             known failures (in the baseline): {KNOWN_A}, {KNOWN_C}\n\
             \n\
             1 passed, 0 warned, 3 failed (1 new, 2 in the baseline)\n\
             \n\
             new failures (not in the baseline): 1\n\
             \x20 {NEW}  got 400 where the case wants 200\n",
            responder.target(),
            get_failure(NEW)
        )
    );
    // JSON: the same cases in the same order, the summary of the whole run.
    let json = stdout_with_code(
        run(dir.path(), &responder)
            .arg("--baseline")
            .arg(dir.path().join("known.txt"))
            .args(["--failures-only", "--format", "json", "--quiet"]),
        1,
    );
    let json: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let ids: Vec<&str> = json["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, [NEW, KNOWN_A, KNOWN_C]);
    assert_eq!(json["summary"]["passed"], serde_json::json!(1));
    assert_eq!(json["options"]["failures_only"], serde_json::json!(true));
    assert_eq!(
        crate::reports::schema_errors(&crate::reports::report_schema(), &json),
        Vec::<String>::new()
    );
    // Markdown: the table's rows alike.
    let markdown = stdout_with_code(
        run(dir.path(), &responder)
            .arg("--baseline")
            .arg(dir.path().join("known.txt"))
            .args(["--failures-only", "--format", "markdown", "--quiet"]),
        1,
    );
    let rows: Vec<&str> = markdown
        .lines()
        .filter(|l| l.starts_with("| fail"))
        .collect();
    let row = |grade: &str, id: &str| {
        format!(
            "| {grade} | `{id}` | must | method | [RFC 9110 §9.1](https://www.rfc-editor.org/rfc/rfc9110#section-9.1) | 400 Bad Request |"
        )
    };
    assert_eq!(
        rows,
        [
            row("fail", NEW),
            row("fail (known)", KNOWN_A),
            row("fail (known)", KNOWN_C)
        ]
    );
    assert!(
        markdown.ends_with(&format!(
            "**1 passed, 0 warned, 3 failed (1 new, 2 in the baseline)**\n\
             \n\
             ## New failures (not in the baseline)\n\
             \n\
             - `{NEW}`: got 400 where the case wants 200\n"
        )),
        "{markdown}"
    );
}

/// A JUnit file is read by CI pages that list its failures themselves and
/// count its passing cases: `--failures-only` there is a usage error.
#[test]
fn failures_only_with_junit_then_exit_2() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    run(dir.path(), &responder)
        .args(["--failures-only", "--format", "junit"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            "conformance: --failures-only does not apply to --format junit: a CI page lists a \
             JUnit file's failures itself and counts its passing cases\n",
        );
}

/// JUnit: the known failures are skipped with a message of their own and
/// counted per suite, so a CI page shows them apart from the regression.
#[test]
fn junit_with_baseline_then_known_failures_skipped_and_counted() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let xml = stdout_with_code(
        run(dir.path(), &responder)
            .arg("--baseline")
            .arg(dir.path().join("known.txt"))
            .args(["--format", "junit", "--quiet"]),
        1,
    );
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let method = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite") && n.attribute("name") == Some("method"))
        .unwrap_or_else(|| panic!("{xml}"));
    assert_eq!(
        ["tests", "failures", "skipped"].map(|a| method.attribute(a)),
        [Some("3"), Some("1"), Some("2")]
    );
    let known = method
        .descendants()
        .find(|n| n.has_tag_name("property") && n.attribute("name") == Some("known-failures"))
        .and_then(|n| n.attribute("value"));
    assert_eq!(known, Some("2"));
    let results: Vec<(&str, &str, String)> = method
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|t| {
            let result = t.first_element_child().expect("a result");
            let message = result.attribute("message").unwrap_or_default();
            (
                t.attribute("name").unwrap_or_default(),
                result.tag_name().name(),
                message.split(':').next().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            (KNOWN_A, "skipped", "known failure (baseline)".to_string()),
            (NEW, "failure", "RFC 9110 §9.1 (must)".to_string()),
            (KNOWN_C, "skipped", "known failure (baseline)".to_string()),
        ]
    );
}

/// `--write-baseline` exits 0 once the file is written, though cases
/// failed, and says what it wrote; the baseline then passes the run.
#[test]
fn write_baseline_with_failures_then_exit_0_and_the_file() {
    let dir = case_dir();
    let responder = answer_then_close("400 Bad Request");
    let written = dir.path().join("written.txt");
    run(dir.path(), &responder)
        .arg("--write-baseline")
        .arg(&written)
        .arg("--quiet")
        .assert()
        .code(0)
        .stderr("");
    let target = responder.target();
    assert_eq!(
        std::fs::read_to_string(&written).expect("written"),
        format!(
            "# Known failures of {target} ({target}), written by `conformance run \
             --write-baseline`.\n{KNOWN_A}\n{NEW}\n{KNOWN_C}\n"
        )
    );
    let stderr = run(dir.path(), &responder)
        .arg("--write-baseline")
        .arg(&written)
        .args(["--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .stderr
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&stderr),
        format!(
            "{CONTROL_OF_ANSWER_THEN_CLOSE}\n\
             baseline written to {}: 3 known failures\n",
            written.display()
        )
    );
    let out = stdout_with_code(
        run(dir.path(), &responder).arg("--baseline").arg(&written),
        0,
    );
    assert!(
        out.ends_with(
            "1 passed, 0 warned, 3 failed (0 new, 3 in the baseline)\n\
             \n\
             new failures (not in the baseline): none\n"
        ),
        "{out}"
    );
}

/// A baseline id that names no case, alias or rule (a case renamed or
/// removed since it was written) is stale: one note on stderr, listed in
/// the JSON report, and the exit code is what the grades make. (Only
/// [`KNOWN_A`] and [`PASSES`] run.)
#[test]
fn baseline_with_stale_ids_then_a_note_and_the_exit_of_the_grades() {
    let dir = case_dir();
    let baseline = dir.path().join("baseline.txt");
    std::fs::write(&baseline, format!("rfc9999-1-nope\n{KNOWN_A}\nrule:nope\n")).unwrap();
    let responder = answer_then_close("400 Bad Request");
    let note = format!(
        "baseline {}: 2 stale entries naming no case, alias or response rule (renamed or \
         removed; delete them): rfc9999-1-nope, rule:nope\n",
        baseline.display()
    );
    let out = run(dir.path(), &responder)
        .arg("--baseline")
        .arg(&baseline)
        .args(["--id", KNOWN_A, "--id", PASSES, "--format", "json"])
        .assert()
        .code(0)
        .stderr(format!("{note}{CONTROL_OF_ANSWER_THEN_CLOSE}\n"))
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(
        report["summary"]["stale"],
        serde_json::json!(["rfc9999-1-nope", "rule:nope"])
    );
    assert_eq!(report["summary"]["known"], serde_json::json!([KNOWN_A]));
    // Stale ids tolerate nothing: the failure they do not name fails the run.
    std::fs::write(&baseline, "rfc9999-1-nope\n").unwrap();
    let out = run(dir.path(), &responder)
        .arg("--baseline")
        .arg(&baseline)
        .args(["--id", KNOWN_A, "--id", PASSES])
        .assert()
        .code(1)
        .stderr(format!(
            "baseline {}: 1 stale entry naming no case, alias or response rule (renamed or \
             removed; delete it): rfc9999-1-nope\n",
            baseline.display()
        ))
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.ends_with(&format!(
            "\n1 passed, 0 warned, 1 failed (1 new, 0 in the baseline)\n\
             \n\
             new failures (not in the baseline): 1\n\
             \x20 {KNOWN_A}  got 400 where the case wants 200\n"
        )),
        "{out}"
    );
    // --quiet keeps the note off stderr.
    run(dir.path(), &responder)
        .arg("--baseline")
        .arg(&baseline)
        .args(["--id", KNOWN_A, "--id", PASSES, "--quiet"])
        .assert()
        .code(1)
        .stderr("");
}
