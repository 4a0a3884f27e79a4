//! Reports of a hostile server: its reason phrase and header carry ANSI
//! CSI and OSC sequences, BEL, NUL, C1 controls (raw and as UTF-8), markup,
//! `|`, `]]>` and quotes. Every format (text, JSON, JUnit, Markdown, the
//! HTML page, `explain`) keeps those bytes inert, and the case fails the
//! grammar checks. Then the root-cause summary, exactly.

use crate::support::{
    answer_heads, case_dir_of, conformance, response, After, CaseFile, Responder, CONTROL_PATH,
};
use assert_cmd::Command;
use std::path::Path;
use tempfile::TempDir;

const FIRST: &str = "rfc9110-9.3.1-hostile-get";
const SECOND: &str = "rfc9110-9.3.1-hostile-get-again";

/// The reason phrase: CSI colours, an OSC title ended by BEL, NUL, raw C1
/// bytes (not UTF-8), tags, a pipe, a CDATA end, quotes, backticks.
const REASON: &[u8] = b"OK \x1b[31mred\x1b[0m \x1b]0;owned\x07 \x00\x85\x9b \
    <script>alert(1)</script> <img src=x onerror=alert(1)> | ]]> \"q\" `c`";

/// A header line: clear-screen, BEL, tags, a pipe, a CDATA end, a quote
/// and U+009B (CSI as a C1 character in UTF-8).
const FIELD: &[u8] =
    b"X-Hostile: \x1b[2J\x07<script>x</script><img src=x onerror=alert(2)>|]]>\"\xc2\x9b\r\n";

/// The reason phrase as a terminal shows it: every control as `\xHH`.
const REASON_SHOWN: &str = r#"OK \x1b[31mred\x1b[0m \x1b]0;owned\x07 \x00\x85\x9b <script>alert(1)</script> <img src=x onerror=alert(1)> | ]]> "q" `c`"#;

/// Answers every request `200` with the hostile reason phrase and field,
/// a valid Date and no content, then closes.
pub(crate) fn hostile() -> Responder {
    answer_heads(|_, _| {
        let mut bytes = b"HTTP/1.1 200 ".to_vec();
        bytes.extend_from_slice(REASON);
        let rest = response("200 OK", "Connection: close\r\n");
        let after_status = rest.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(FIELD);
        bytes.extend_from_slice(&rest[after_status..]);
        Some((bytes, After::Close))
    })
}

/// Two `must` cases that pass on any 200 with a Date: only the grammar
/// checks can fail them.
pub(crate) fn case_dir() -> TempDir {
    let get = |id| {
        CaseFile::new(id)
            .group("method")
            .request(r"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
            .pass(&["200"])
            .checks(&["date"])
    };
    case_dir_of(&[get(FIRST), get(SECOND)])
}

pub(crate) fn run(dir: &Path, responder: &Responder) -> Command {
    let mut cmd = conformance(dir);
    cmd.args(["run", "--target", &responder.target(), "--timeout", "1000"]);
    cmd.args(["--path", CONTROL_PATH]);
    cmd
}

/// Runs the command, checks its exit code, returns its standard output as
/// UTF-8 (failing if it is not).
pub(crate) fn output(cmd: &mut Command, code: i32) -> String {
    let assert = cmd.assert().code(code);
    let bytes = assert.get_output().stdout.clone();
    String::from_utf8(bytes).expect("the report is UTF-8")
}

/// No ESC, BEL, NUL or other C0 control but LF, no DEL, no C1 character:
/// nothing a terminal or a parser would act on.
fn assert_no_controls(what: &str, text: &str) {
    if let Some(c) = text.chars().find(|&c| c.is_control() && c != '\n') {
        panic!("{what}: U+{:04X} in the output:\n{text}", c as u32);
    }
}

/// No markup from the server is live: no tag it sent, no CDATA end.
fn assert_no_live_markup(what: &str, text: &str) {
    for live in ["<script>alert", "<script>x", "<img", "]]>"] {
        assert!(
            !text.contains(live),
            "{what}: {live} in the output:\n{text}"
        );
    }
}

#[test]
fn hostile_reason_and_field_then_text_escaped_and_grammar_checks_fail() {
    let dir = case_dir();
    let responder = hostile();
    let out = output(&mut run(dir.path(), &responder), 1);
    assert_no_controls("text", &out);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.contains(&format!("FAIL  {FIRST:<31}  200 {REASON_SHOWN}").as_str()),
        "{out}"
    );
    assert!(
        lines.contains(
            &"    broken check reason-phrase (must): reason phrase has 0x1b at octet 4, outside \
              reason-phrase"
        ),
        "{out}"
    );
    assert!(
        lines.contains(
            &"    broken check field-value (must): X-Hostile value has 0x1b at octet 1, outside \
              field-value"
        ),
        "{out}"
    );
    assert!(
        lines.contains(
            &"      RFC 9112 §4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ); RFC 9110 \
              §2.2: \"A sender MUST NOT generate protocol elements that do not match the \
              grammar defined by the corresponding ABNF rules.\""
        ),
        "{out}"
    );
    assert_eq!(lines.last(), Some(&"0 passed, 0 warned, 2 failed"), "{out}");
}

#[test]
fn hostile_server_then_root_causes_name_both_grammar_checks() {
    let dir = case_dir();
    let responder = hostile();
    let out = output(&mut run(dir.path(), &responder), 1);
    let expected = format!(
        "\n\nroot causes of the failures:\n  \
         check reason-phrase (must): reason phrase has 0x1b at octet 4, outside reason-phrase: \
         2 cases: {FIRST}, {SECOND}\n  \
         check field-value (must): X-Hostile value has 0x1b at octet 1, outside field-value: \
         2 cases: {FIRST}, {SECOND}\n\n0 passed, 0 warned, 2 failed\n"
    );
    assert!(out.ends_with(&expected), "{out}");
}

#[test]
fn hostile_server_then_json_valid_without_controls_and_checks_failed() {
    let dir = case_dir();
    let responder = hostile();
    let out = output(run(dir.path(), &responder).args(["--format", "json"]), 1);
    assert_no_controls("json", &out);
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let case = &report["cases"][0];
    assert_eq!(case["id"], FIRST);
    assert_eq!(case["grade"], "fail");
    let checks = case["steps"][0]["checks"].as_array().expect("checks");
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c["ok"] == false)
        .filter_map(|c| c["check"].as_str())
        .collect();
    assert_eq!(failed, ["reason-phrase", "field-value"]);
    let field = &case["steps"][0]["outcome"]["headers"][0];
    assert_eq!(field[0], "X-Hostile");
    assert_eq!(
        field[1],
        "\u{1b}[2J\u{7}<script>x</script><img src=x onerror=alert(2)>|]]>\"\u{9b}"
    );
    let causes: Vec<&str> = report["root_causes"]
        .as_array()
        .expect("root_causes")
        .iter()
        .filter_map(|c| c["check"].as_str())
        .collect();
    assert_eq!(causes, ["reason-phrase", "field-value"]);
}

#[test]
fn hostile_server_then_junit_parses_without_controls_or_live_markup() {
    let dir = case_dir();
    let responder = hostile();
    let out = output(run(dir.path(), &responder).args(["--format", "junit"]), 1);
    assert_no_controls("junit", &out);
    assert_no_live_markup("junit", &out);
    let doc = roxmltree::Document::parse(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
    let failures: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .filter_map(|n| n.attribute("message"))
        .collect();
    assert_eq!(failures.len(), 2, "{out}");
    assert_eq!(
        failures[0],
        format!(
            "RFC 9110 §9.3.1 (must): \"A test sentence.\"; actual: 200 {REASON_SHOWN}; broken \
             check reason-phrase (must): reason phrase has 0x1b at octet 4, outside \
             reason-phrase; broken check field-value (must): X-Hostile value has 0x1b at octet \
             1, outside field-value"
        )
    );
}

#[test]
fn hostile_server_then_markdown_cells_hold_no_markup() {
    let dir = case_dir();
    let responder = hostile();
    let out = output(
        run(dir.path(), &responder).args(["--format", "markdown"]),
        1,
    );
    assert_no_controls("markdown", &out);
    assert_no_live_markup("markdown", &out);
    let row = format!(
        "| fail | `{FIRST}` | must | method | [RFC 9110 §9.3.1]\
         (https://www.rfc-editor.org/rfc/rfc9110#section-9.3.1) | 200 OK \\\\x1b[31mred\\\\x1b[0m \
         \\\\x1b]0;owned\\\\x07 \\\\x00\\\\x85\\\\x9b &lt;script&gt;alert(1)&lt;/script&gt; \
         &lt;img src=x onerror=alert(1)&gt; \\| ]]&gt; &quot;q&quot; &#96;c&#96; |"
    );
    assert!(out.lines().any(|l| l == row), "{row}\n{out}");
    // Every table row keeps its six cells: no `|` of the server's splits one.
    for line in out.lines().filter(|l| l.starts_with("| fail ")) {
        let cells = line.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 7, "{line}");
    }
}

#[test]
fn hostile_server_then_matrix_html_markdown_and_explain_inert() {
    let dir = case_dir();
    let responder = hostile();
    let matrix = dir.path().join("results.json");
    run(dir.path(), &responder)
        .args(["--name", "hostile", "--matrix"])
        .arg(&matrix)
        .assert()
        .code(1);
    let stored = std::fs::read_to_string(&matrix).expect("matrix written");
    assert_no_controls("matrix file", &stored);
    for format in ["html", "markdown"] {
        let page = output(
            conformance(dir.path())
                .args(["report", "--format", format, "--input"])
                .arg(&matrix),
            0,
        );
        assert_no_controls(format, &page);
        assert_no_live_markup(format, &page);
    }
    let explain = output(
        conformance(dir.path())
            .args(["explain", FIRST, "--matrix"])
            .arg(&matrix),
        0,
    );
    assert_no_controls("explain", &explain);
    assert!(
        explain.ends_with(&format!(
            "\n  hostile  fail  200 {REASON_SHOWN}\n             \
             why: broken check reason-phrase (must): reason phrase has 0x1b at octet 4, outside \
             reason-phrase\n             \
             why: broken check field-value (must): X-Hostile value has 0x1b at octet 1, outside \
             field-value\n"
        )),
        "{explain}"
    );
}

/// Three `must` cases that want a 400 with a Date, and one that wants a
/// 200 with a Date.
fn error_case_dir() -> (TempDir, [&'static str; 3]) {
    let ids = [
        "rfc9112-3.2-no-host",
        "rfc9112-3.2-two-hosts",
        "rfc9112-5-space-before-colon",
    ];
    let error_case = |id| {
        CaseFile::new(id)
            .group("host")
            .request(r"GET {path} HTTP/1.0\r\n\r\n")
            .pass(&["400"])
            .checks(&["date"])
    };
    let dir = case_dir_of(&[
        error_case(ids[0]),
        error_case(ids[1]),
        error_case(ids[2]),
        CaseFile::new("rfc9110-9.3.1-get")
            .group("method")
            .request(r"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n")
            .pass(&["200"])
            .checks(&["date"]),
    ]);
    (dir, ids)
}

/// Wrong: a valid 200 (with Date) to a request with a Host, and a 400
/// without Date to any other: the bug of a server whose error path skips
/// the Date field.
pub(crate) fn no_date_on_errors() -> Responder {
    answer_heads(|head, _| {
        let bytes = if head.field("host").is_some() {
            response("200 OK", "Connection: close\r\n")
        } else {
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        };
        Some((bytes, After::Close))
    })
}

#[test]
fn no_date_on_error_responses_then_one_root_cause_with_every_case() {
    let (dir, [a, b, c]) = error_case_dir();
    let responder = no_date_on_errors();
    let text = output(&mut run(dir.path(), &responder), 1);
    let expected = format!(
        "\n\nroot causes of the failures:\n  \
         check date (must): no Date header: 3 cases: {a}, {b}, {c}\n\n\
         1 passed, 0 warned, 3 failed\n"
    );
    assert!(text.ends_with(&expected), "{text}");
    let markdown = output(
        run(dir.path(), &responder).args(["--format", "markdown"]),
        1,
    );
    let row = format!("| check date (must): no Date header | 3 | `{a}`, `{b}`, `{c}` |");
    assert!(markdown.lines().any(|l| l == row), "{row}\n{markdown}");
    let json = output(run(dir.path(), &responder).args(["--format", "json"]), 1);
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(
        report["root_causes"],
        serde_json::json!([{
            "cause": "check date (must): no Date header",
            "check": "date",
            "cases": [a, b, c],
        }])
    );
}

/// `docs/report.schema.json`, compiled.
pub(crate) fn report_schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/report.schema.json");
    let text = std::fs::read_to_string(&path).expect("docs/report.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("invalid schema: {e}"))
}

pub(crate) fn schema_errors(
    validator: &jsonschema::Validator,
    report: &serde_json::Value,
) -> Vec<String> {
    validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn json_reports_then_valid_against_the_documented_schema() {
    let validator = report_schema();
    let (dir, _) = error_case_dir();
    let responder = no_date_on_errors();
    let baseline = dir.path().join("known.txt");
    std::fs::write(&baseline, "rfc9112-3.2-no-host\n").expect("baseline");
    let json = output(
        run(dir.path(), &responder)
            .args(["--format", "json", "--level", "should", "--baseline"])
            .arg(&baseline),
        1,
    );
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(schema_errors(&validator, &report), Vec::<String>::new());
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["tool"]["name"], "conformance");
    assert_eq!(report["options"]["level"], "should");
    assert_eq!(report["options"]["path"], CONTROL_PATH);
    assert_eq!(
        report["summary"]["known"],
        serde_json::json!(["rfc9112-3.2-no-host"])
    );
    let hostile_dir = case_dir();
    let hostile = hostile();
    let json = output(
        run(hostile_dir.path(), &hostile).args(["--format", "json"]),
        1,
    );
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(schema_errors(&validator, &report), Vec::<String>::new());
}

#[test]
fn json_report_missing_or_mistyped_field_then_schema_rejects_it() {
    let validator = report_schema();
    let (dir, _) = error_case_dir();
    let responder = no_date_on_errors();
    let json = output(run(dir.path(), &responder).args(["--format", "json"]), 1);
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let mut missing = report.clone();
    missing
        .as_object_mut()
        .expect("an object")
        .remove("format_version");
    assert!(!validator.is_valid(&missing));
    let mut mistyped = report.clone();
    mistyped["cases"][0]["grade"] = serde_json::json!("passed");
    assert!(!validator.is_valid(&mistyped));
    let mut late = report;
    late["started"] = serde_json::json!("2026-12-01 22:00:00");
    assert!(!validator.is_valid(&late));
}

#[test]
fn hostile_server_in_a_diff_then_its_bytes_escaped() {
    let dir = case_dir();
    let (hostile, plain) = (hostile(), no_date_on_errors());
    let assert = conformance(dir.path())
        .args(["diff", "--path", CONTROL_PATH, "--timeout", "1000"])
        .arg("--target")
        .arg(format!("hostile={}", hostile.target()))
        .arg("--target")
        .arg(format!("plain={}", plain.target()))
        .assert()
        .code(0);
    let out = String::from_utf8(assert.get_output().stdout.clone()).expect("UTF-8");
    assert_no_controls("diff", &out);
    assert!(
        out.lines().any(|l| l
            == format!(
                "    hostile  FAIL  200 {REASON_SHOWN}; only here: x-hostile: \\x1b[2J\\x07\
                 <script>x</script><img src=x onerror=alert(2)>|]]>\"\\xc2\\x9b"
            )),
        "{out}"
    );
}
