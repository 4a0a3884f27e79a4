//! Reports people read: one run's JSON report rendered as the HTML page a
//! matrix renders to (each case with the bytes it sent and a link of its
//! own), a report given a JSON that is neither refused, the bytes of a
//! server's JSON answer shown as they read (`{"ok":true}`, never the case
//! notation's `\x7b`), the `Server` field on the control line, and
//! `coverage` as plain text.

use crate::catalogue::real_catalogue;
use crate::support::{
    answer_heads, case_dir_of, conformance, redact_dates, response, response_with,
    stdout_with_code, After, CaseFile, Responder, CONTROL_OF_ANSWER_THEN_CLOSE, CONTROL_PATH,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// Answered 404 with a JSON body.
const JSON_BODY: &str = "rfc9110-9.3.1-json-body";
/// Answered with JSON and no status line: not an HTTP response.
const NO_STATUS: &str = "rfc9110-9.3.1-no-status-line";
/// Answered 200.
const SERVED: &str = "rfc9112-3.2-served";

/// The `Server` value of [`app`]: a version with an SGR sequence in it.
const SERVER: &str = "App/1.0 \x1b[31mred";
/// [`SERVER`] as a terminal is shown it.
const SERVER_SHOWN: &str = r"App/1.0 \x1b[31mred";

/// An application as a user has one: a JSON API that answers `/json` with
/// 404 and a JSON body, `/raw` with a JSON body and no status line, and
/// anything else (the control among it) 200 with a `Server` field; it
/// closes after each answer.
fn app() -> Responder {
    answer_heads(|head, _| {
        let bytes = match head.target() {
            Some("/json") => response_with(
                "404 Not Found",
                "Content-Type: application/json\r\n",
                br#"{"ok":true}"#,
                head.is_head(),
                "Connection: close\r\n",
            ),
            Some("/raw") => br#"{"ok":true}"#.to_vec(),
            _ => response(
                "200 OK",
                &format!("Server: {SERVER}\r\nConnection: close\r\n"),
            ),
        };
        Some((bytes, After::Close))
    })
}

fn cases() -> TempDir {
    let get = |id: &str, group: &str, path: &str, pass: &str| {
        CaseFile::new(id)
            .group(group)
            .request(&format!(
                r"GET {path} HTTP/1.1\r\nHost: {{host}}\r\nConnection: close\r\n\r\n"
            ))
            .pass(&[pass])
    };
    case_dir_of(&[
        get(JSON_BODY, "method", "/json", "200"),
        get(NO_STATUS, "method", "/raw", "200"),
        get(SERVED, "host", "/served", "200"),
    ])
}

fn run(dir: &Path, app: &Responder) -> assert_cmd::Command {
    let mut cmd = conformance(dir);
    cmd.args(["run", "--target", &app.target(), "--path", CONTROL_PATH]);
    cmd.args(["--timeout", "1000", "--name", "app"]);
    cmd
}

/// The run's JSON report, written to `<dir>/run.json`.
fn run_json(dir: &Path, app: &Responder) -> PathBuf {
    let path = dir.join("run.json");
    run(dir, app)
        .args(["--format", "json", "--quiet", "--output"])
        .arg(&path)
        .assert()
        .code(1);
    path
}

/// The page's data: the JSON its script reads.
fn page_data(html: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"matrix-data\">";
    let start = html.find(open).expect("the page's data") + open.len();
    let end = start + html[start..].find("</script>").expect("its end");
    serde_json::from_str(&html[start..end]).expect("JSON data")
}

#[test]
fn run_json_then_report_renders_one_server_with_bytes_sent_and_a_link_per_case() {
    let dir = cases();
    let app = app();
    let json = run_json(dir.path(), &app);
    let page = dir.path().join("run.html");
    conformance(dir.path())
        .args(["report", "--input"])
        .arg(&json)
        .arg("--output")
        .arg(&page)
        .assert()
        .code(0)
        .stdout("")
        .stderr("");
    let html = std::fs::read_to_string(&page).expect("the page");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>HTTP/1.1 conformance of app</title>"));
    let start = html.find("<table id=\"matrix\">").expect("the table");
    let end = start + html[start..].find("</table>").expect("its end") + "</table>".len();
    let table = roxmltree::Document::parse(&html[start..end])
        .unwrap_or_else(|e| panic!("{e}\n{}", &html[start..end]));
    let text = |node: roxmltree::Node<'_, '_>| -> String {
        node.descendants()
            .filter_map(|n| n.text().filter(|_| n.is_text()))
            .collect()
    };
    // (row id, the id's link and its text, the one server's cell) per case.
    let rows: Vec<(String, String, String, String)> = table
        .descendants()
        .filter(|n| n.attribute("class") == Some("case"))
        .map(|tr| {
            let link = tr
                .descendants()
                .find(|n| n.attribute("class") == Some("case-link"))
                .expect("a link to the case");
            let cell = tr
                .children()
                .find(|n| n.attribute("data-server") == Some("0"))
                .expect("the server's cell");
            (
                tr.attribute("id").unwrap_or_default().to_string(),
                link.attribute("href").unwrap_or_default().to_string(),
                text(link),
                format!(
                    "{}: {}",
                    cell.attribute("class").unwrap_or_default(),
                    text(cell)
                ),
            )
        })
        .collect();
    let row = |id: &str, cell: &str| {
        (
            format!("case-{id}"),
            format!("#case-{id}"),
            id.to_string(),
            cell.to_string(),
        )
    };
    assert_eq!(
        rows,
        [
            row(JSON_BODY, "cell fail: fail 404"),
            row(NO_STATUS, "cell fail: fail invalid"),
            row(SERVED, "cell pass: pass 200"),
        ]
    );
    let columns: Vec<String> = table
        .descendants()
        .filter(|n| n.attribute("class") == Some("server"))
        .map(|th| {
            format!(
                "{} ({})",
                text(th),
                th.attribute("title").unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(columns, [format!("app1/3 (33%) ({SERVER_SHOWN})")]);
    assert!(
        !html.contains("id=\"filter-differ\""),
        "one server: nothing differs"
    );

    // Each answer carries what its step sent and received, escaped for
    // people: `{` as itself.
    let data = page_data(&html);
    assert_eq!(
        data["servers"],
        json!([{ "name": "app", "version": SERVER, "score": "1/3 (33%)" }])
    );
    let json_body = &data["cells"][0][0];
    assert_eq!(
        json_body["sent"],
        json!([{
            "step": 1,
            "sent": "GET /json HTTP/1.1\\r\\n\nHost: localhost\\r\\n\nConnection: close\\r\\n\n\\r\\n",
            "more": 0
        }])
    );
    let step = &json_body["steps"][0];
    assert_eq!(step["outcome"], "404 Not Found");
    assert_eq!(step["more"], 0);
    let received = redact_dates(step["received"].as_str().expect("received"));
    assert_eq!(
        received,
        "HTTP/1.1 404 Not Found\\r\\n\nDate: [date]\\r\\n\nContent-Type: application/json\\r\\n\n\
         Content-Length: 11\\r\\n\nConnection: close\\r\\n\n\\r\\n\n{\"ok\":true}"
    );
    assert!(
        !html.contains("\\\\x7b"),
        "the case notation's escape of {{"
    );
}

#[test]
fn report_of_a_json_that_is_neither_a_matrix_nor_a_run_then_exit_2() {
    let dir = cases();
    let input = dir.path().join("other.json");
    std::fs::write(&input, r#"{"name": "not a report"}"#).expect("write");
    conformance(dir.path())
        .args(["report", "--input"])
        .arg(&input)
        .assert()
        .code(2)
        .stdout("")
        .stderr(format!(
            "conformance: {} is neither a matrix (run --matrix FILE) nor a run's JSON report \
             (run --format json): it has neither `servers` nor `format_version` and `cases`\n",
            input.display()
        ));
    std::fs::write(&input, "GET / HTTP/1.1\r\n").expect("write");
    conformance(dir.path())
        .args(["report", "--input"])
        .arg(&input)
        .assert()
        .code(2)
        .stdout("")
        .stderr(format!(
            "conformance: {} is neither a matrix (run --matrix FILE) nor a run's JSON report \
             (run --format json): not JSON (expected value at line 1 column 1)\n",
            input.display()
        ));
}

#[test]
fn run_json_then_scores_of_one_server_and_no_markdown() {
    let dir = cases();
    let app = app();
    let json = run_json(dir.path(), &app);
    let scores = stdout_with_code(
        conformance(dir.path())
            .args(["report", "--format", "scores", "--input"])
            .arg(&json),
        0,
    );
    assert_eq!(
        scores,
        format!(
            "| server | version | score | pass | warn | fail | info | skip | error |\n\
             |---|---|---|---:|---:|---:|---:|---:|---:|\n\
             | app | {SERVER_SHOWN} | 1/3 (33%) | 1 | 0 | 2 | 0 | 0 | 0 |\n"
        )
    );
    conformance(dir.path())
        .args(["report", "--format", "markdown", "--input"])
        .arg(&json)
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            "conformance: a run's Markdown report is `conformance run --format markdown`; report \
             renders a run as html or scores\n",
        );
}

#[test]
fn json_answers_then_prose_and_bytes_readable_not_in_the_case_notation() {
    let dir = cases();
    let app = app();
    let out = redact_dates(&stdout_with_code(&mut run(dir.path(), &app), 1));
    assert!(!out.contains("x7b"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    // The answer without a status line, quoted as it reads.
    assert!(
        lines.contains(
            &format!(
                "FAIL  {NO_STATUS}  invalid: not an HTTP response: starts with \"{{\"ok\":true}}\""
            )
            .as_str()
        ),
        "{out}"
    );
    // The JSON body in the failure's received bytes.
    let received = out
        .split_once(&format!("FAIL {JSON_BODY}: "))
        .and_then(|(_, rest)| rest.split_once("    received:\n"))
        .map(|(_, rest)| rest.split("\n\n").next().unwrap_or_default())
        .expect("the failure's received bytes");
    assert_eq!(
        received,
        "      HTTP/1.1 404 Not Found\\r\\n\n\
         \x20     Date: [date]\\r\\n\n\
         \x20     Content-Type: application/json\\r\\n\n\
         \x20     Content-Length: 11\\r\\n\n\
         \x20     Connection: close\\r\\n\n\
         \x20     \\r\\n\n\
         \x20     {\"ok\":true}"
    );
}

#[test]
fn server_field_then_on_the_control_line_escaped_and_in_the_json() {
    let dir = cases();
    let app = app();
    let out = stdout_with_code(&mut run(dir.path(), &app), 1);
    let control = CONTROL_OF_ANSWER_THEN_CLOSE.replace(
        "200 OK, HEAD",
        &format!("200 OK (Server: {SERVER_SHOWN}), HEAD"),
    );
    assert_eq!(out.lines().nth(1), Some(control.as_str()), "{out}");
    let json = stdout_with_code(
        run(dir.path(), &app).args(["--format", "json", "--quiet"]),
        1,
    );
    let report: Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(report["control"]["server"], SERVER);
}

#[test]
fn coverage_then_a_plain_text_table_without_the_docs_markers() {
    let out = stdout_with_code(
        assert_cmd::cargo::cargo_bin_cmd!("conformance").arg("coverage"),
        0,
    );
    let requirements = conformance::coverage::builtin_requirements().expect("the registry");
    assert_eq!(
        out,
        conformance::coverage::render_text(&requirements, &real_catalogue())
    );
    assert!(
        out.starts_with("area              covered  testable  optional\n"),
        "{out}"
    );
    assert!(!out.contains("<!--") && !out.contains('|'), "{out}");
}
