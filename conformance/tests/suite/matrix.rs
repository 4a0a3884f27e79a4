//! `run --matrix` and `--snapshots`, `report`, `diff` and the matrix section
//! of `explain`, against two in-test responders that answer the same four
//! cases in the ways a diff tells apart.

use crate::support::{
    case_dir_of, conformance, redact_dates, response, stdout_with_code, CaseFile, Requests,
    Responder,
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

/// `YYYY-MM-DD`.
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// The control line of a run against [`responder`] at `/`.
const RESPONDER_CONTROL: &str = "control: GET / → 200 OK, HEAD → 200; ETag no, Last-Modified no, \
                                 length 0; persistent yes; second connection served while one is \
                                 open: yes";

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
    assert_eq!(
        redact_dates(received),
        "HTTP/1.1 400 Bad Request\\r\\n\nDate: [date]\\r\\n\nContent-Length: 0\\r\\n\n\\r\\n"
    );
    let generated = json["generated"].as_str().unwrap();
    assert!(is_date(generated), "{generated}");
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
        .stderr(format!(
            "{RESPONDER_CONTROL}\nconformance: {} is not a matrix: expected ident at line 1 \
             column 2\n",
            matrix.display()
        ));
    assert_eq!(std::fs::read_to_string(&matrix).unwrap(), "not json");
}

#[test]
fn snapshots_then_one_file_per_case_redacted_and_stable() {
    let dir = case_dir();
    let snapshots = dir.path().join("snapshots");
    std::fs::create_dir_all(&snapshots).unwrap();
    std::fs::write(snapshots.join("rfc9999-1-removed.snap"), "old").unwrap();
    let server = responder(true);
    let run = |counts: &str| {
        conformance(dir.path())
            .args(["run", "--target", &server.target(), "--redact", "X-Strict"])
            .arg("--output")
            .arg(dir.path().join("out.txt"))
            .arg("--snapshots")
            .arg(&snapshots)
            .assert()
            .code(0)
            .stdout("3 passed, 1 warned, 0 failed\n")
            .stderr(format!(
                "{RESPONDER_CONTROL}\nsnapshots in {}: {counts}\n",
                snapshots.display()
            ));
    };
    run("4 written, 0 unchanged, 1 removed");
    run("0 written, 4 unchanged, 0 removed");
    let text = std::fs::read_to_string(snapshots.join(format!("{HEADS}.snap"))).unwrap();
    assert_eq!(
        text,
        format!(
            "---\n\
             source: conformance run --snapshots\n\
             description: {HEADS} — Test case {HEADS}\n\
             input_file: {}\n\
             ---\n\
             HTTP/1.1 200 OK\\r\\n\n\
             Date: [redacted]\\r\\n\n\
             Content-Length: 0\\r\\n\n\
             X-Strict: [redacted]\\r\\n\n\
             \\r\\n\n\
             [body: 0 bytes]\n",
            dir.path().join(format!("{HEADS}.toml")).display()
        )
    );
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
    // No case is named twice anywhere on the page.
    for id in [SAME, HEADS, CODES, ACCEPTS] {
        assert_eq!(
            html.matches(&format!("<code>{id}</code>")).count(),
            1,
            "{id}"
        );
    }
    // The matrix table is well-formed XML: read it as a tree.
    let start = html
        .find("<table id=\"matrix\">")
        .expect("the matrix table");
    let end = start + html[start..].find("</table>").expect("its end") + "</table>".len();
    let table = roxmltree::Document::parse(&html[start..end])
        .unwrap_or_else(|e| panic!("{e}\n{}", &html[start..end]));
    let text = |node: roxmltree::Node<'_, '_>| -> String {
        node.descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect()
    };
    // (title, text) of each server column.
    let servers: Vec<(&str, String)> = table
        .descendants()
        .filter(|n| n.has_tag_name("th") && n.attribute("class") == Some("server"))
        .map(|th| (th.attribute("title").unwrap_or_default(), text(th)))
        .collect();
    assert_eq!(
        servers,
        [
            ("lenient/1.0", "lenient1/4 (25%)".to_string()),
            ("strict/1.0", "strict3/4 (75%)".to_string())
        ]
    );
    // (group, case, level, each server's cell as `class: text (title)`) of
    // each case row, in the page's order.
    let rows: Vec<(&str, String, String, Vec<String>)> = table
        .descendants()
        .filter(|n| n.has_tag_name("tr") && n.attribute("class") == Some("case"))
        .map(|tr| {
            let cells: Vec<_> = tr.children().filter(|n| n.has_tag_name("td")).collect();
            let code = tr.descendants().find(|n| n.has_tag_name("code"));
            (
                tr.attribute("data-group").unwrap_or_default(),
                code.map(text).unwrap_or_default(),
                cells.first().map(|td| text(*td)).unwrap_or_default(),
                cells[1..]
                    .iter()
                    .map(|td| {
                        format!(
                            "{} {}: {} ({})",
                            td.attribute("class").unwrap_or_default(),
                            td.attribute("data-server").unwrap_or_default(),
                            text(*td),
                            td.attribute("title").unwrap_or_default()
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    let row = |group, id: &str, level: &str, cells: [&str; 2]| {
        (
            group,
            id.to_string(),
            level.to_string(),
            cells.map(String::from).to_vec(),
        )
    };
    assert_eq!(
        rows,
        [
            row(
                "method",
                SAME,
                "must",
                [
                    "cell pass 0: pass 200 (lenient: 200 OK)",
                    "cell pass 1: pass 200 (strict: 200 OK)"
                ]
            ),
            row(
                "host",
                CODES,
                "must",
                [
                    "cell fail 0: fail 404 (lenient: 404 Not Found)",
                    "cell pass 1: pass 400 (strict: 400 Bad Request)"
                ]
            ),
            row(
                "path",
                ACCEPTS,
                "must",
                [
                    "cell fail 0: fail 200 (lenient: 200 OK)",
                    "cell pass 1: pass 403 (strict: 403 Forbidden)"
                ]
            ),
            row(
                "response-head",
                HEADS,
                "should",
                [
                    "cell warn 0: warn 200 (lenient: 200 OK)",
                    "cell warn 1: warn 200 (strict: 200 OK)"
                ]
            ),
        ]
    );
    // Self-contained: nothing is loaded from anywhere.
    for external in ["<link", "src=", "@import", "url("] {
        assert!(!html.contains(external), "{external}");
    }
}

/// The scores of the two responders in [`record_matrix`].
const SCORES: &str = "| server | version | score | pass | warn | fail | info | skip | error |\n\
                      |---|---|---|---:|---:|---:|---:|---:|---:|\n\
                      | lenient | lenient/1.0 | 1/4 (25%) | 1 | 1 | 2 | 0 | 0 | 0 |\n\
                      | strict | strict/1.0 | 3/4 (75%) | 3 | 1 | 0 | 0 | 0 | 0 |\n";

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
    // Every table of the page, with the heading above it; the prose between
    // them aside.
    let paragraphs: Vec<&str> = out.split("\n\n").collect();
    let tables: Vec<(String, String)> = paragraphs
        .windows(2)
        .filter(|pair| pair[0].starts_with("## ") && pair[1].starts_with('|'))
        .map(|pair| (pair[0].to_string(), pair[1].trim_end().to_string()))
        .collect();
    let group = |heading: &str, id: &str, section: &str, level: &str, answers: &str| {
        (
            heading.to_string(),
            format!(
                "| case | level | lenient | strict |\n\
                 |---|---|---|---|\n\
                 | [`{id}`](https://www.rfc-editor.org/rfc/{section}) | {level} | {answers} |"
            ),
        )
    };
    let expected = [
        ("## Scores".to_string(), SCORES.trim_end().to_string()),
        group(
            "## method",
            SAME,
            "rfc9110#section-9.3.1",
            "must",
            "pass 200 | pass 200",
        ),
        group(
            "## host",
            CODES,
            "rfc9112#section-3.2",
            "must",
            "**fail** 404 | pass 400",
        ),
        group(
            "## path",
            ACCEPTS,
            "rfc9110#section-15.5.4",
            "must",
            "**fail** 200 | pass 403",
        ),
        group(
            "## response-head",
            HEADS,
            "rfc9110#section-9.3.1",
            "should",
            "warn 200 | warn 200",
        ),
    ];
    assert_eq!(tables, expected, "{out}");
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
    assert_eq!(out, SCORES);
}

#[test]
fn report_without_matrix_then_exit_2() {
    let dir = case_dir();
    let none = dir.path().join("none.json");
    conformance(dir.path())
        .args(["report", "--input"])
        .arg(&none)
        .assert()
        .code(2)
        .stdout("")
        .stderr(format!(
            "conformance: no matrix or run report at {}\n",
            none.display()
        ));
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
    assert_eq!(
        out,
        format!(
            "diff of 4 cases: {target}, again ({target})\n\
             \n\
             no differences: every case was answered alike\n",
            target = server.target()
        )
    );
}

#[test]
fn diff_with_one_target_then_exit_2() {
    let dir = case_dir();
    conformance(dir.path())
        .args(["diff", "--target", "127.0.0.1:1"])
        .assert()
        .code(2)
        .stdout("")
        .stderr("conformance: diff needs at least two --target options\n");
}

#[test]
fn diff_with_unreachable_target_then_exit_3() {
    let dir = case_dir();
    let server = responder(true);
    let unused = crate::support::unused_addr();
    let assert = conformance(dir.path())
        .args(["diff", "--target", &server.target(), "--target"])
        .arg(unused.to_string())
        .assert()
        .code(3)
        .stdout("");
    // The reachable target's control line, then one line that ends with
    // the system's words for the refusal.
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    let (control, error) = stderr.split_once('\n').unwrap_or_default();
    assert_eq!(
        control,
        format!("{}: {RESPONDER_CONTROL}; 8 at a time", server.target())
    );
    assert!(
        error.starts_with(&format!(
            "conformance: cannot reach {unused}: cannot connect to {unused}: "
        )) && error.lines().count() == 1
            && error.ends_with('\n'),
        "{stderr}"
    );
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

/// What `explain` says of one of the four cases before its matrix section.
fn explained(id: &str, group: &str, rfc: &str, section: &str, path: &str, pass: &str) -> String {
    format!(
        "{id}: Test case {id}\n\
         level: must, group: {group}\n\
         requirement: RFC {rfc} §{section} https://www.rfc-editor.org/rfc/rfc{rfc}#section-{section}\n\
         \x20 \"A test sentence.\"\n\
         request:\n\
         \x20 GET {path} HTTP/1.1\\r\\n\n\
         \x20 Host: localhost\\r\\n\n\
         \x20 \\r\\n\n\
         acceptable: pass {pass}\n\
         explanation:\n\
         \x20 Why this matters.\n\
         \x20 Second line.\n"
    )
}

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
    assert_eq!(
        out,
        format!(
            "{}\
             What servers answered (matrix of 2026-01-02, {}):\n  \
             nginx     pass  400 Bad Request\n  \
             lighttpd  fail  200 OK\n              \
             why: 200 OK is not an answer the case passes (pass 400)\n",
            explained(CODES, "host", "9112", "3.2", "/codes", "400"),
            matrix.display()
        )
    );
    let out = stdout_with_code(
        conformance(dir.path())
            .args(["explain", SAME, "--matrix"])
            .arg(&matrix),
        0,
    );
    assert_eq!(
        out,
        format!(
            "{}\
             What servers answered (matrix of 2026-01-02, {}):\n  \
             nginx     (not run)\n  \
             lighttpd  (not run)\n",
            explained(SAME, "method", "9110", "9.3.1", "/same", "200"),
            matrix.display()
        )
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
    assert_eq!(
        out,
        format!(
            "{}What servers answered: no matrix at {} (`make matrix` writes one).\n",
            explained(CODES, "host", "9112", "3.2", "/codes", "400"),
            missing.display()
        )
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
