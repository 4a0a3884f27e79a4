//! `run --matrix` and `--snapshots`, `report`, `diff` and the matrix section
//! of `explain`, against two in-test responders that answer the same four
//! cases in the ways a diff tells apart.

use crate::support::{
    case_dir_of, conformance, response, stdout_with_code, CaseFile, Requests, Responder,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// Both answer 200 with the same fields (Date aside): no difference.
pub const SAME: &str = "rfc9110-9.3.1-same";
/// Both 200, with different fields: a difference of heads (and a warn for
/// both: the case asks for 204).
pub const HEADS: &str = "rfc9110-9.3.1-heads";
/// 404 against 400: both reject, with different codes.
pub const CODES: &str = "rfc9112-3.2-codes";
/// 200 against 403: one accepts where the other rejects.
pub const ACCEPTS: &str = "rfc9110-15.5.4-accepts";

/// Four cases, one per way two servers can answer (see the constants).
pub fn case_dir() -> TempDir {
    case_dir_of(&[
        CaseFile::new(SAME)
            .group("method")
            .request(r"GET /same HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["200"]),
        CaseFile::new(HEADS)
            .group("response-head")
            .level("should")
            .request(r"GET /heads HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["204"]),
        CaseFile::new(CODES)
            .group("host")
            .request(r"GET /codes HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["400"]),
        CaseFile::new(ACCEPTS)
            .group("path")
            .request(r"GET /accepts HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["403"]),
    ])
}

/// A responder that answers each request by its target, keeping the
/// connection open: `strict` is the one that rejects more.
pub fn responder(strict: bool) -> Responder {
    Responder::start(move |stream| {
        let mut requests = Requests::new(stream);
        while let Some(head) = requests.next_head() {
            let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
            let target = line.split(|&b| b == b' ').nth(1).unwrap_or_default();
            let answer = match (target, strict) {
                (b"/heads", false) => response("200 OK", "X-Lenient: 1\r\n"),
                (b"/heads", true) => response("200 OK", "X-Strict: 1\r\n"),
                (b"/codes", false) => response("404 Not Found", ""),
                (b"/codes", true) => response("400 Bad Request", ""),
                (b"/accepts", false) => response("200 OK", ""),
                (b"/accepts", true) => response("403 Forbidden", ""),
                _ => response("200 OK", ""),
            };
            if requests.stream().write_all(&answer).is_err() {
                return;
            }
        }
    })
}

/// Records both responders into `<dir>/matrix.json` as `lenient` and
/// `strict`, and returns its path.
pub fn record_matrix(dir: &Path) -> PathBuf {
    let matrix = dir.join("matrix.json");
    // lenient fails two `must` cases (exit 1), strict none (exit 0).
    for (name, strict, code) in [("lenient", false, 1), ("strict", true, 0)] {
        let server = responder(strict);
        conformance(dir)
            .args(["run", "--target", &server.target(), "--name", name])
            .args([
                "--server-version",
                &format!("{name}/1.0"),
                "--timeout",
                "500",
            ])
            .arg("--matrix")
            .arg(&matrix)
            .arg("--output")
            .arg(dir.join(format!("{name}.txt")))
            .assert()
            .code(code);
    }
    matrix
}

#[test]
fn run_with_matrix_then_both_servers_recorded_with_versions() {
    let dir = case_dir();
    let matrix = record_matrix(dir.path());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&matrix).unwrap()).unwrap();
    let servers = json["servers"].as_array().unwrap();
    let names: Vec<&str> = servers
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lenient", "strict"]);
    assert_eq!(servers[1]["version"], "strict/1.0");
    assert_eq!(servers[0]["counts"]["failed"], 2, "{json}");
    assert_eq!(servers[1]["counts"]["failed"], 0, "{json}");
    let answers = servers[1]["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 4);
    let codes = answers.iter().find(|a| a["id"] == CODES).unwrap();
    assert_eq!(codes["grade"], "pass");
    assert_eq!(codes["steps"][0]["short"], "400");
    let received = codes["steps"][0]["received"].as_str().unwrap();
    assert!(
        received.starts_with("HTTP/1.1 400 Bad Request\\r\\n\n"),
        "{received}"
    );
    assert!(json["generated"].as_str().unwrap().len() == "2026-01-01".len());
}

#[test]
fn run_again_with_same_name_then_entry_replaced_not_added() {
    let dir = case_dir();
    let matrix = record_matrix(dir.path());
    let server = responder(true);
    conformance(dir.path())
        .args(["run", "--target", &server.target(), "--name", "lenient"])
        .args([
            "--server-version",
            "lenient/2.0",
            "--timeout",
            "500",
            "--output",
        ])
        .arg(dir.path().join("again.txt"))
        .arg("--matrix")
        .arg(&matrix)
        .assert()
        .code(0);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&matrix).unwrap()).unwrap();
    let servers = json["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2);
    assert_eq!(servers[0]["name"], "lenient");
    assert_eq!(servers[0]["version"], "lenient/2.0");
}

#[test]
fn run_with_invalid_matrix_file_then_exit_2_and_file_kept() {
    let dir = case_dir();
    let matrix = dir.path().join("matrix.json");
    std::fs::write(&matrix, "not json").unwrap();
    let server = responder(true);
    conformance(dir.path())
        .args(["run", "--target", &server.target(), "--output"])
        .arg(dir.path().join("out.txt"))
        .arg("--matrix")
        .arg(&matrix)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is not a matrix"));
    assert_eq!(std::fs::read_to_string(&matrix).unwrap(), "not json");
}

#[test]
fn snapshots_then_one_file_per_case_redacted_and_stable() {
    let dir = case_dir();
    let snapshots = dir.path().join("snapshots");
    std::fs::create_dir_all(&snapshots).unwrap();
    std::fs::write(snapshots.join("rfc9999-1-removed.snap"), "old").unwrap();
    let server = responder(true);
    let run = |expect: &str| {
        conformance(dir.path())
            .args(["run", "--target", &server.target(), "--redact", "X-Strict"])
            .arg("--output")
            .arg(dir.path().join("out.txt"))
            .arg("--snapshots")
            .arg(&snapshots)
            .assert()
            .code(0)
            .stderr(predicates::str::contains(expect.to_string()));
    };
    run("4 written, 0 unchanged, 1 removed");
    run("0 written, 4 unchanged, 0 removed");
    let text = std::fs::read_to_string(snapshots.join(format!("{HEADS}.snap"))).unwrap();
    assert!(
        text.starts_with("---\nsource: conformance run --snapshots\n"),
        "{text}"
    );
    assert!(text.contains(&format!("description: {HEADS} — Test case {HEADS}\n")));
    assert!(text.ends_with(
        "---\nHTTP/1.1 200 OK\\r\\n\nDate: [redacted]\\r\\n\nContent-Length: 0\\r\\n\n\
         X-Strict: [redacted]\\r\\n\n\\r\\n\n[body: 0 bytes]\n"
    ));
    assert!(!snapshots.join("rfc9999-1-removed.snap").exists());
}

#[test]
fn report_html_then_one_row_per_case_and_one_column_per_server() {
    let dir = case_dir();
    let matrix = record_matrix(dir.path());
    let page = dir.path().join("report.html");
    conformance(dir.path())
        .arg("report")
        .arg("--input")
        .arg(&matrix)
        .arg("--output")
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<tr class=\"case\"").count(), 4);
    assert_eq!(html.matches("<th class=\"server\"").count(), 2);
    for id in [SAME, HEADS, CODES, ACCEPTS] {
        assert_eq!(
            html.matches(&format!("<code>{id}</code>")).count(),
            1,
            "{id}"
        );
    }
    assert!(html.contains("title=\"strict/1.0\">strict<small>"));
    assert!(html.contains("<td class=\"cell fail\" data-server=\"0\""));
    // Self-contained: nothing is loaded from anywhere.
    for external in ["<link", "src=", "@import", "url("] {
        assert!(!html.contains(external), "{external}");
    }
}

#[test]
fn report_markdown_then_scores_and_one_row_per_case() {
    let dir = case_dir();
    let matrix = record_matrix(dir.path());
    let out = stdout_with_code(
        conformance(dir.path())
            .args(["report", "--format", "markdown", "--input"])
            .arg(&matrix),
        0,
    );
    assert!(
        out.contains("| lenient | lenient/1.0 | 1/4 (25%) | 1 | 1 | 2 | 0 | 0 | 0 |\n"),
        "{out}"
    );
    assert!(
        out.contains("| strict | strict/1.0 | 3/4 (75%) | 3 | 1 | 0 | 0 | 0 | 0 |\n"),
        "{out}"
    );
    assert_eq!(out.lines().filter(|l| l.starts_with("| [`rfc")).count(), 4);
    assert!(out.contains(&format!(
        "| [`{ACCEPTS}`](https://www.rfc-editor.org/rfc/rfc9110#section-15.5.4) | must | **fail** 200 | pass 403 |\n"
    )), "{out}");
}

#[test]
fn report_scores_then_table_alone() {
    let dir = case_dir();
    let matrix = record_matrix(dir.path());
    let out = stdout_with_code(
        conformance(dir.path())
            .args(["report", "--format", "scores", "--input"])
            .arg(&matrix),
        0,
    );
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(out.starts_with("| server | version | score |"));
}

#[test]
fn report_without_matrix_then_exit_2() {
    let dir = case_dir();
    conformance(dir.path())
        .args(["report", "--input"])
        .arg(dir.path().join("none.json"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no matrix at"));
}

#[test]
fn diff_of_two_responders_then_grouped_by_kind() {
    let dir = case_dir();
    let lenient = responder(false);
    let strict = responder(true);
    let out = stdout_with_code(
        conformance(dir.path()).args([
            "diff",
            "--timeout",
            "500",
            "--target",
            &format!("lenient={}", lenient.target()),
            "--target",
            &format!("strict={}", strict.target()),
        ]),
        0,
    );
    let expected = format!(
        "diff of 4 cases: lenient ({}), strict ({})\n\
         3 cases answered differently: 1 one accepts where another rejects; \
         1 both reject with different codes; 1 both accept with different heads\n\
         \n\
         one accepts where another rejects (1):\n\
         \n  {ACCEPTS} (must): Test case {ACCEPTS}\n    lenient  FAIL  200 OK\n    strict   PASS  403 Forbidden\n\
         \n\
         both reject with different codes (1):\n\
         \n  {CODES} (must): Test case {CODES}\n    lenient  FAIL  404 Not Found\n    strict   PASS  400 Bad Request\n\
         \n\
         both accept with different heads (1):\n\
         \n  {HEADS} (should): Test case {HEADS}\n    lenient  WARN  200 OK; only here: x-lenient: 1\n    \
         strict   WARN  200 OK; only here: x-strict: 1\n",
        lenient.target(),
        strict.target()
    );
    assert_eq!(out, expected);
}

#[test]
fn diff_of_a_server_with_itself_then_no_differences() {
    let dir = case_dir();
    let server = responder(true);
    let out = stdout_with_code(
        conformance(dir.path()).args([
            "diff",
            "--target",
            &server.target(),
            "--target",
            &format!("again={}", server.target()),
        ]),
        0,
    );
    assert!(
        out.ends_with("\nno differences: every case was answered alike\n"),
        "{out}"
    );
}

#[test]
fn diff_with_one_target_then_exit_2() {
    let dir = case_dir();
    conformance(dir.path())
        .args(["diff", "--target", "127.0.0.1:1"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("at least two --target"));
}

#[test]
fn diff_with_unreachable_target_then_exit_3() {
    let dir = case_dir();
    let server = responder(true);
    let unused = crate::support::unused_addr();
    conformance(dir.path())
        .args(["diff", "--target", &server.target(), "--target"])
        .arg(unused.to_string())
        .assert()
        .code(3)
        .stdout("");
}

/// A matrix file as `make matrix` writes it, by hand: its format is what
/// `explain` and `report` read from the committed file.
const FIXTURE_MATRIX: &str = r#"{
  "generated": "2026-01-02",
  "servers": [
    {
      "name": "nginx",
      "version": "nginx/1.22.1",
      "counts": { "passed": 1, "warned": 0, "failed": 0, "info": 0, "errors": 0 },
      "answers": [
        {
          "id": "rfc9112-3.2-codes",
          "grade": "pass",
          "steps": [
            {
              "step": 1,
              "outcome": "400 Bad Request",
              "short": "400",
              "grade": "pass",
              "problems": [],
              "received": "HTTP/1.1 400 Bad Request\\r\\n\n\\r\\n",
              "received_total": 28
            }
          ]
        }
      ]
    },
    {
      "name": "lighttpd",
      "version": "lighttpd/1.4.69",
      "counts": { "passed": 0, "warned": 0, "failed": 1, "info": 0, "errors": 0 },
      "answers": [
        {
          "id": "rfc9112-3.2-codes",
          "grade": "fail",
          "steps": [
            {
              "step": 1,
              "outcome": "200 OK",
              "short": "200",
              "grade": "fail",
              "problems": [],
              "received": "HTTP/1.1 200 OK\\r\\n\n\\r\\n",
              "received_total": 19
            }
          ]
        }
      ]
    }
  ]
}
"#;

#[test]
fn explain_with_matrix_then_each_server_answer_listed() {
    let dir = case_dir();
    let matrix = dir.path().join("results.json");
    std::fs::write(&matrix, FIXTURE_MATRIX).unwrap();
    let out = stdout_with_code(
        conformance(dir.path())
            .args(["explain", CODES, "--matrix"])
            .arg(&matrix),
        0,
    );
    assert!(
        out.ends_with(&format!(
            "What servers answered (matrix of 2026-01-02, {}):\n  \
             nginx     pass  400 Bad Request\n  \
             lighttpd  fail  200 OK\n              \
             why: 200 OK is not an answer the case passes (pass 400)\n",
            matrix.display()
        )),
        "{out}"
    );
    let out = stdout_with_code(
        conformance(dir.path())
            .args(["explain", SAME, "--matrix"])
            .arg(&matrix),
        0,
    );
    assert!(
        out.ends_with("  nginx     (not run)\n  lighttpd  (not run)\n"),
        "{out}"
    );
}

#[test]
fn explain_without_matrix_then_says_so_and_exit_0() {
    let dir = case_dir();
    let missing = dir.path().join("none.json");
    let out = stdout_with_code(
        conformance(dir.path())
            .args(["explain", CODES, "--matrix"])
            .arg(&missing),
        0,
    );
    assert!(
        out.ends_with(&format!(
            "What servers answered: no matrix at {} (`make matrix` writes one).\n",
            missing.display()
        )),
        "{out}"
    );
}

#[test]
fn committed_matrix_then_reads_with_a_version_per_server() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../matrix/results.json");
    let matrix = conformance::matrix::Matrix::read(&path).expect("the committed matrix reads");
    assert!(
        matrix.servers.len() >= 7,
        "{} servers",
        matrix.servers.len()
    );
    for server in &matrix.servers {
        assert!(!server.version.is_empty(), "{} has no version", server.name);
    }
}
