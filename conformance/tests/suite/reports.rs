//! Reports of a hostile server: its reason phrase and header carry ANSI
//! CSI and OSC sequences, BEL, NUL, C1 controls (raw and as UTF-8), markup,
//! `|`, `]]>` and quotes. Every format (text, JSON, JUnit, Markdown, the
//! HTML page, `explain`) keeps those bytes inert, and the case fails the
//! grammar checks. Then the root-cause summary, exactly.

use crate::support::{
    answer_heads, case_text, conformance, response, write_cases, After, Responder, CONTROL_PATH,
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
fn hostile() -> Responder {
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
fn case_dir() -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    let body =
        "request = 'GET {path} HTTP/1.1\\r\\nHost: {host}\\r\\nConnection: close\\r\\n\\r\\n'\n\
                [expect]\npass = [\"200\"]\nchecks = [\"date\"]\n";
    write_cases(
        dir.path(),
        &[
            (FIRST, case_text(FIRST, "must", "method", body)),
            (SECOND, case_text(SECOND, "must", "method", body)),
        ],
    );
    dir
}

fn run(dir: &Path, responder: &Responder) -> Command {
    let mut cmd = conformance(dir);
    cmd.args(["run", "--target", &responder.target(), "--timeout", "1000"]);
    cmd.args(["--path", CONTROL_PATH]);
    cmd
}

/// Runs the command, checks its exit code, returns its standard output as
/// UTF-8 (failing if it is not).
fn output(cmd: &mut Command, code: i32) -> String {
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
        "root causes of the failures:\n  \
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
    let html = output(
        conformance(dir.path())
            .args(["report", "--format", "html", "--input"])
            .arg(&matrix),
        0,
    );
    assert_no_controls("html", &html);
    assert_no_live_markup("html", &html);
    let markdown = output(
        conformance(dir.path())
            .args(["report", "--format", "markdown", "--input"])
            .arg(&matrix),
        0,
    );
    assert_no_controls("matrix markdown", &markdown);
    assert_no_live_markup("matrix markdown", &markdown);
    let explain = output(
        conformance(dir.path())
            .args(["explain", FIRST, "--matrix"])
            .arg(&matrix),
        0,
    );
    assert_no_controls("explain", &explain);
    assert!(
        explain.ends_with(&format!(
            "  hostile  fail  200 {REASON_SHOWN}\n             \
             why: broken check reason-phrase (must): reason phrase has 0x1b at octet 4, outside \
             reason-phrase\n             \
             why: broken check field-value (must): X-Hostile value has 0x1b at octet 1, outside \
             field-value\n"
        )),
        "{explain}"
    );
}
