//! Reports of a hostile server: its reason phrase and header carry ANSI
//! CSI and OSC sequences, BEL, NUL, C1 controls (raw and as UTF-8), markup,
//! `|`, `]]>` and quotes. Every format (text, JSON, JUnit, Markdown, the
//! HTML page, `explain`) keeps those bytes inert; the cases, which grade
//! only what they name, pass, and the response rules `rule:reason-phrase`
//! and `rule:field-value` fail once each (`../shared/GRADING.md`, "One
//! requirement per case"). Then a server whose error responses have no
//! Date: one failed rule, not failed cases; a baseline listing it; the
//! JSON report against its schema.

use crate::support::{
    answer_heads, case_dir_of, conformance, response, After, CaseFile, Responder,
    CONTROL_OF_ANSWER_THEN_CLOSE, CONTROL_PATH,
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

/// Two `must` cases that pass on any 200: the hostile reason phrase and
/// field break response rules, never these cases.
pub(crate) fn case_dir() -> TempDir {
    let get = |id| {
        CaseFile::new(id)
            .group("method")
            .request(r"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
            .pass(&["200"])
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

/// The text report after its first two lines (the target, which names a
/// port, and the control line), with each rule's `requirement:` line
/// written `requirement: …` and each breach [`masked`]. The quotes of the
/// two grammar rules are not asserted here (they attribute RFC 9110 §2.2's
/// sentence to RFC 9112 §4, and quote a recipient's requirement for a
/// sender's field values); the Date rule's is, in
/// [`no_date_on_error_responses_then_cases_pass_and_the_date_rule_fails_once`].
fn hostile_report_body(out: &str) -> String {
    let body = out
        .split_once('\n')
        .and_then(|(_, rest)| rest.split_once('\n'))
        .map_or("", |(_, body)| body);
    body.lines()
        .map(|line| {
            if line.starts_with("      requirement: ") {
                return "      requirement: …\n".to_string();
            }
            match line.strip_prefix("      ").and_then(|b| b.split_once(": ")) {
                Some((case, problem)) if case.starts_with("rfc") => {
                    format!("      {case}: {}\n", masked(problem))
                }
                _ => format!("{line}\n"),
            }
        })
        .collect()
}

/// A breach's problem, `200 <the reason phrase>: <what the check found>`,
/// with the reason phrase written `…`: the rules take it from the
/// response's lossily decoded reason, so the hostile raw bytes 0x85 0x9b
/// show as U+FFFD U+FFFD there (they are `\x85\x9b` on the case's own line).
fn masked(problem: &str) -> String {
    match (problem.split_once(' '), problem.rsplit_once(": ")) {
        (Some((code, _)), Some((_, found))) => format!("{code} …: {found}"),
        _ => problem.to_string(),
    }
}

/// What `rule:reason-phrase` found in each hostile response, [`masked`].
const REASON_BROKEN: &str = "200 …: reason phrase has 0x1b at octet 4, outside reason-phrase";
/// What `rule:field-value` found in each hostile response, [`masked`].
const FIELD_BROKEN: &str = "200 …: X-Hostile value has 0x1b at octet 1, outside field-value";

#[test]
fn hostile_reason_and_field_then_cases_pass_and_both_grammar_rules_fail_once_escaped() {
    let dir = case_dir();
    let responder = hostile();
    let out = output(&mut run(dir.path(), &responder), 1);
    assert_no_controls("text", &out);
    assert_eq!(
        hostile_report_body(&out),
        format!(
            "PASS  {FIRST:<31}  200 {REASON_SHOWN}\n\
             PASS  {SECOND}  200 {REASON_SHOWN}\n\
             \n\
             response rules, checked on every response read:\n\
             PASS  rule:date            held on 2 responses\n\
             PASS  rule:content-length  held on 2 responses\n\
             PASS  rule:status-sp       held on 2 responses\n\
             FAIL  rule:reason-phrase   2 of 2 responses broke it, first in: {FIRST}, {SECOND}\n\
             \x20     requirement: …\n\
             \x20     more: conformance explain rule:reason-phrase\n\
             \x20     {FIRST}: {REASON_BROKEN}\n\
             \x20     {SECOND}: {REASON_BROKEN}\n\
             FAIL  rule:field-value     2 of 2 responses broke it, first in: {FIRST}, {SECOND}\n\
             \x20     requirement: …\n\
             \x20     more: conformance explain rule:field-value\n\
             \x20     {FIRST}: {FIELD_BROKEN}\n\
             \x20     {SECOND}: {FIELD_BROKEN}\n\
             \n\
             group           pass  warn  fail  info  skip error\n\
             method             2     0     0     0     0     0\n\
             \n\
             root causes of the failures:\n\
             \x20 response rule rule:reason-phrase (must): 2 of 2 responses: 2 cases: {FIRST}, \
             {SECOND}\n\
             \x20 response rule rule:field-value (must): 2 of 2 responses: 2 cases: {FIRST}, \
             {SECOND}\n\
             \n\
             2 passed, 0 warned, 0 failed; response rules broken: rule:reason-phrase, \
             rule:field-value\n"
        ),
        "{out}"
    );
    // The first case's two breaches (one per rule) show the reason phrase
    // escaped as the case lines do, every byte of it.
    let breach = format!("      {FIRST}: 200 {REASON_SHOWN}: ");
    assert_eq!(
        out.lines().filter(|l| l.starts_with(&breach)).count(),
        2,
        "{out}"
    );
}

#[test]
fn hostile_server_then_root_causes_and_the_rules_name_both_grammar_rules() {
    let dir = case_dir();
    let responder = hostile();
    // Text: no case failed; the root causes are the two broken rules, each
    // one finding with the cases where it was seen.
    let out = output(&mut run(dir.path(), &responder), 1);
    assert!(
        out.ends_with(&format!(
            "\n\ngroup           pass  warn  fail  info  skip error\n\
             method             2     0     0     0     0     0\n\n\
             root causes of the failures:\n\
             \x20 response rule rule:reason-phrase (must): 2 of 2 responses: 2 cases: {FIRST}, \
             {SECOND}\n\
             \x20 response rule rule:field-value (must): 2 of 2 responses: 2 cases: {FIRST}, \
             {SECOND}\n\n\
             2 passed, 0 warned, 0 failed; response rules broken: rule:reason-phrase, \
             rule:field-value\n"
        )),
        "{out}"
    );
    // JSON: the same two root causes; each grammar rule broken on both
    // responses.
    let json = output(run(dir.path(), &responder).args(["--format", "json"]), 1);
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(
        report["root_causes"],
        serde_json::json!([
            {
                "cause": "response rule rule:reason-phrase (must): 2 of 2 responses",
                "check": "reason-phrase",
                "cases": [FIRST, SECOND]
            },
            {
                "cause": "response rule rule:field-value (must): 2 of 2 responses",
                "check": "field-value",
                "cases": [FIRST, SECOND]
            }
        ])
    );
    let rules: Vec<serde_json::Value> = report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            let first: Vec<serde_json::Value> = r["first"]
                .as_array()
                .expect("first")
                .iter()
                .map(|b| {
                    serde_json::json!([
                        b["case"],
                        masked(b["problem"].as_str().unwrap_or_default())
                    ])
                })
                .collect();
            serde_json::json!([
                r["id"],
                r["grade"],
                r["known_failure"],
                r["checked"],
                r["broken"],
                first
            ])
        })
        .collect();
    assert_eq!(
        rules,
        [
            serde_json::json!(["rule:date", "pass", false, 2, 0, []]),
            serde_json::json!(["rule:content-length", "pass", false, 2, 0, []]),
            serde_json::json!(["rule:status-sp", "pass", false, 2, 0, []]),
            serde_json::json!([
                "rule:reason-phrase",
                "fail",
                false,
                2,
                2,
                [[FIRST, REASON_BROKEN], [SECOND, REASON_BROKEN]]
            ]),
            serde_json::json!([
                "rule:field-value",
                "fail",
                false,
                2,
                2,
                [[FIRST, FIELD_BROKEN], [SECOND, FIELD_BROKEN]]
            ]),
        ]
    );
    let summary = &report["summary"];
    let broken = serde_json::json!(["rule:reason-phrase", "rule:field-value"]);
    assert_eq!(summary["rules_broken"], broken);
    assert_eq!(summary["regressions"], broken);
    assert_eq!(summary["failed"], 0);
}

#[test]
fn hostile_server_then_json_valid_without_controls_and_the_case_passes_unchecked() {
    let dir = case_dir();
    let responder = hostile();
    let out = output(run(dir.path(), &responder).args(["--format", "json"]), 1);
    assert_no_controls("json", &out);
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let case = &report["cases"][0];
    assert_eq!(case["id"], FIRST);
    assert_eq!(case["grade"], "pass");
    // The case names no check, and no rule is applied to it implicitly.
    assert_eq!(case["steps"][0]["checks"], serde_json::json!([]));
    let field = &case["steps"][0]["outcome"]["headers"][0];
    assert_eq!(field[0], "X-Hostile");
    assert_eq!(
        field[1],
        "\u{1b}[2J\u{7}<script>x</script><img src=x onerror=alert(2)>|]]>\"\u{9b}"
    );
}

#[test]
fn hostile_server_then_junit_parses_without_controls_or_live_markup() {
    let dir = case_dir();
    let responder = hostile();
    let out = output(run(dir.path(), &responder).args(["--format", "junit"]), 1);
    assert_no_controls("junit", &out);
    assert_no_live_markup("junit", &out);
    let doc = roxmltree::Document::parse(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
    let root = doc.root_element();
    // Two passing cases and five rules, two of them failed.
    assert_eq!(
        ["tests", "failures", "errors"].map(|name| root.attribute(name)),
        [Some("7"), Some("2"), Some("0")],
        "{out}"
    );
    // (testcase, its failure message after the rule's quote, masked).
    let failures: Vec<(&str, String)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .map(|n| {
            let testcase = n
                .parent()
                .and_then(|t| t.attribute("name"))
                .unwrap_or_default();
            let message = n.attribute("message").unwrap_or_default();
            let (_, after_quote) = message.split_once("\"; ").unwrap_or_default();
            let parts: Vec<String> = after_quote
                .split("; ")
                .map(|part| match part.split_once(": 200 ") {
                    Some((case, problem)) => {
                        format!("{case}: {}", masked(&format!("200 {problem}")))
                    }
                    None => part.to_string(),
                })
                .collect();
            (testcase, parts.join("; "))
        })
        .collect();
    assert_eq!(
        failures,
        [
            (
                "rule:reason-phrase",
                format!(
                    "2 of 2 responses broke it, first in: {FIRST}, {SECOND}; \
                     {FIRST}: {REASON_BROKEN}; {SECOND}: {REASON_BROKEN}"
                )
            ),
            (
                "rule:field-value",
                format!(
                    "2 of 2 responses broke it, first in: {FIRST}, {SECOND}; \
                     {FIRST}: {FIELD_BROKEN}; {SECOND}: {FIELD_BROKEN}"
                )
            ),
        ],
        "{out}"
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
        "| pass | `{FIRST}` | must | method | [RFC 9110 §9.3.1]\
         (https://www.rfc-editor.org/rfc/rfc9110#section-9.3.1) | 200 OK \\\\x1b[31mred\\\\x1b[0m \
         \\\\x1b]0;owned\\\\x07 \\\\x00\\\\x85\\\\x9b &lt;script&gt;alert(1)&lt;/script&gt; \
         &lt;img src=x onerror=alert(1)&gt; \\| ]]&gt; &quot;q&quot; &#96;c&#96; |"
    );
    assert!(out.lines().any(|l| l == row), "{row}\n{out}");
    // Every case row keeps its six cells: no `|` of the server's splits one.
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("| pass | `rfc"))
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    for line in rows {
        let cells = line.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 7, "{line}");
    }
    // The rules table: counts and case ids, no server bytes.
    let table = format!(
        "\n## Response rules\n\nChecked on every response the run read.\n\n\
         | grade | rule | requirement | responses |\n|---|---|---|---|\n\
         | pass | `rule:date` | RFC 9110 §6.6.1: a Date in IMF-fixdate form on every 2xx, 3xx and \
         4xx | held on 2 responses |\n\
         | pass | `rule:content-length` | RFC 9110 §8.6: Content-Length agrees with the content \
         sent, and is absent on 1xx and 204 | held on 2 responses |\n\
         | pass | `rule:status-sp` | RFC 9112 §4: a space after the status code, even with no \
         reason phrase | held on 2 responses |\n\
         | fail | `rule:reason-phrase` | RFC 9110 §2.2: the reason phrase matches RFC 9112 §4: 1*( \
         HTAB / SP / VCHAR / obs-text ) | 2 of 2 responses broke it, first in: {FIRST}, {SECOND} |\n\
         | fail | `rule:field-value` | RFC 9110 §2.2: every field value matches RFC 9110 §5.5: no CR, \
         LF, NUL or other CTL | 2 of 2 responses broke it, first in: {FIRST}, {SECOND} |\n\
         \n\
         ## Root causes of the failures\n\n\
         | cause | cases | ids |\n|---|---:|---|\n\
         | response rule rule:reason-phrase (must): 2 of 2 responses | 2 | `{FIRST}`, `{SECOND}` |\n\
         | response rule rule:field-value (must): 2 of 2 responses | 2 | `{FIRST}`, `{SECOND}` |\n\
         \n\
         **2 passed, 0 warned, 0 failed; response rules broken: rule:reason-phrase, \
         rule:field-value**\n"
    );
    assert!(out.ends_with(&table), "{table}\n{out}");
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
    // The case passed: the grammar is the rules', not its.
    assert!(
        explain.ends_with(&format!("\n  hostile  pass  200 {REASON_SHOWN}\n")),
        "{explain}"
    );
    let explain = output(
        conformance(dir.path())
            .args(["explain", "rule:reason-phrase", "--matrix"])
            .arg(&matrix),
        0,
    );
    assert_no_controls("explain of a rule", &explain);
    let (_, answers) = explain
        .split_once(" (matrix of ")
        .and_then(|(_, rest)| rest.split_once("):\n"))
        .unwrap_or_else(|| panic!("{explain}"));
    let answers: Vec<String> = answers
        .lines()
        .map(|line| {
            match line
                .strip_prefix("             in ")
                .and_then(|b| b.split_once(": "))
            {
                Some((case, problem)) => format!("             in {case}: {}", masked(problem)),
                None => line.to_string(),
            }
        })
        .collect();
    assert_eq!(
        answers,
        [
            "  hostile  fail  2 of 2 responses broke it".to_string(),
            // Under the server's name, past its grade's column.
            format!("             in {FIRST}: {REASON_BROKEN}"),
            format!("             in {SECOND}: {REASON_BROKEN}"),
        ],
        "{explain}"
    );
}

/// Six `must` cases that want a 400 (and name no check), then one that
/// wants a 200; ids in catalogue order.
fn error_case_dir() -> (TempDir, [&'static str; 7]) {
    let ids = [
        "rfc9110-9.3.1-get",
        "rfc9112-3.2-host-empty-port",
        "rfc9112-3.2-host-inner-space",
        "rfc9112-3.2-host-with-path",
        "rfc9112-3.2-no-host",
        "rfc9112-3.2-two-hosts",
        "rfc9112-5-space-before-colon",
    ];
    let error_case = |id| {
        CaseFile::new(id)
            .group("host")
            .request(r"GET {path} HTTP/1.0\r\n\r\n")
            .pass(&["400"])
    };
    let mut cases = vec![CaseFile::new(ids[0])
        .group("method")
        .request(r"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n")
        .pass(&["200"])];
    cases.extend(ids[1..].iter().map(|id| error_case(id)));
    (case_dir_of(&cases), ids)
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

/// RFC 9110 §6.6.1, as `rule:date` quotes it.
pub(crate) const DATE_QUOTE: &str =
    "An origin server with a clock (as defined in Section 5.6.7) MUST \
                          generate a Date header field in all 2xx (Successful), 3xx \
                          (Redirection), and 4xx (Client Error) responses, and MAY generate a \
                          Date header field in 1xx (Informational) and 5xx (Server Error) \
                          responses.";

/// The text report of [`no_date_on_errors`] on [`error_case_dir`]: every
/// case passes, and `rule:date` is broken by six responses of seven, the
/// first five cases named; `known` follows the rule's line.
fn no_date_report(responder: &Responder, ids: &[&str; 7], baseline: &str, known: &str) -> String {
    let [get, a, b, c, d, e, f] = ids;
    let mut out = format!(
        "conformance of {}, 7 cases\n{CONTROL_OF_ANSWER_THEN_CLOSE}\n\
         PASS  {get:<28}  200 OK\n",
        responder.target()
    );
    for id in [a, b, c, d, e, f] {
        out.push_str(&format!("PASS  {id:<28}  400 Bad Request\n"));
    }
    out.push_str(baseline);
    out.push_str(&format!(
        "\nresponse rules, checked on every response read:\n\
         FAIL  rule:date            6 of 7 responses broke it, first in: {a}, {b}, {c}, {d}, \
         {e}{known}\n\
         \x20     requirement: RFC 9110 §6.6.1 (must): \"{DATE_QUOTE}\"\n\
         \x20     more: conformance explain rule:date\n"
    ));
    for id in [a, b, c, d, e] {
        out.push_str(&format!("      {id}: 400 Bad Request: no Date header\n"));
    }
    out.push_str(
        "PASS  rule:content-length  held on 7 responses\n\
         PASS  rule:status-sp       held on 7 responses\n\
         PASS  rule:reason-phrase   held on 7 responses\n\
         PASS  rule:field-value     held on 7 responses\n\
         \n\
         group           pass  warn  fail  info  skip error\n\
         method             1     0     0     0     0     0\n\
         host               6     0     0     0     0     0\n",
    );
    // The root cause's line stops at 160 columns, the other cases counted.
    out.push_str(&format!(
        "\nroot causes of the failures:\n\
         \x20 response rule rule:date (must): 6 of 7 responses: 5 cases: {a}, {b}, {c}, … and 2 \
         more\n\
         \n\
         7 passed, 0 warned, 0 failed; response rules broken: rule:date\n"
    ));
    out
}

#[test]
fn no_date_on_error_responses_then_cases_pass_and_the_date_rule_fails_once() {
    let (dir, ids) = error_case_dir();
    let [_, a, b, c, d, e, _] = ids;
    let responder = no_date_on_errors();
    let text = output(&mut run(dir.path(), &responder), 1);
    assert_eq!(text, no_date_report(&responder, &ids, "", ""));
    let markdown = output(
        run(dir.path(), &responder).args(["--format", "markdown"]),
        1,
    );
    let row = format!(
        "| fail | `rule:date` | RFC 9110 §6.6.1: a Date in IMF-fixdate form on every 2xx, 3xx and \
         4xx | 6 of 7 responses broke it, first in: {a}, {b}, {c}, {d}, {e} |"
    );
    assert!(markdown.lines().any(|l| l == row), "{row}\n{markdown}");
    let cause = format!(
        "| response rule rule:date (must): 6 of 7 responses | 5 | `{a}`, `{b}`, `{c}`, `{d}`, \
         `{e}` |"
    );
    assert!(markdown.lines().any(|l| l == cause), "{cause}\n{markdown}");
    let json = output(run(dir.path(), &responder).args(["--format", "json"]), 1);
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(
        report["root_causes"],
        serde_json::json!([{
            "cause": "response rule rule:date (must): 6 of 7 responses",
            "check": "date",
            "cases": [a, b, c, d, e]
        }])
    );
    let first: Vec<serde_json::Value> = [a, b, c, d, e]
        .iter()
        .map(|id| serde_json::json!({ "case": id, "problem": "400 Bad Request: no Date header" }))
        .collect();
    assert_eq!(
        report["rules"][0],
        serde_json::json!({
            "id": "rule:date",
            "level": "must",
            "rfc": "RFC 9110 §6.6.1",
            "title": "a Date in IMF-fixdate form on every 2xx, 3xx and 4xx",
            "quote": DATE_QUOTE,
            "grade": "fail",
            "known_failure": false,
            "checked": 7,
            "broken": 6,
            "first": first,
        })
    );
    let summary = &report["summary"];
    assert_eq!(
        [&summary["passed"], &summary["failed"]],
        [&serde_json::json!(7), &serde_json::json!(0)]
    );
    assert_eq!(summary["regressions"], serde_json::json!(["rule:date"]));
    assert_eq!(summary["rules_broken"], serde_json::json!(["rule:date"]));
}

#[test]
fn date_rule_in_the_baseline_then_exit_0_known_in_text_and_skipped_in_junit() {
    let (dir, ids) = error_case_dir();
    let [_, a, b, c, d, e, _] = ids;
    let responder = no_date_on_errors();
    let baseline = dir.path().join("known.txt");
    std::fs::write(&baseline, "rule:date  # error pages have no Date\n").expect("baseline");
    let text = output(
        run(dir.path(), &responder).arg("--baseline").arg(&baseline),
        0,
    );
    assert_eq!(
        text,
        no_date_report(
            &responder,
            &ids,
            "\nknown failures (in the baseline): rule:date\n",
            "  (known)"
        )
        .replace(
            "; response rules broken: rule:date\n",
            "; response rules broken: rule:date (in the baseline)\n\
             \n\
             new failures (not in the baseline): none\n"
        )
    );
    let xml = output(
        run(dir.path(), &responder)
            .args(["--format", "junit", "--name", "no date", "--baseline"])
            .arg(&baseline),
        0,
    );
    assert_eq!(
        crate::junit::violations(&xml),
        Vec::<String>::new(),
        "{xml}"
    );
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(
        ["tests", "failures", "errors"].map(|name| root.attribute(name)),
        [Some("12"), Some("0"), Some("0")],
        "{xml}"
    );
    let suite = root
        .children()
        .find(|n| n.attribute("name") == Some("response-rules"))
        .unwrap_or_else(|| panic!("{xml}"));
    assert_eq!(
        ["tests", "failures", "errors", "skipped"].map(|name| suite.attribute(name)),
        [Some("5"), Some("0"), Some("0"), Some("1")],
        "{xml}"
    );
    // (testcase, what it holds, its message).
    let testcases: Vec<(&str, Option<&str>, Option<&str>)> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|t| {
            let result = t.first_element_child();
            (
                t.attribute("name").unwrap_or_default(),
                result.map(|r| r.tag_name().name()),
                result.and_then(|r| r.attribute("message")),
            )
        })
        .collect();
    let breaches: Vec<String> = [a, b, c, d, e]
        .iter()
        .map(|id| format!("{id}: 400 Bad Request: no Date header"))
        .collect();
    let known = format!(
        "known failure (baseline): RFC 9110 §6.6.1 (must): \"{DATE_QUOTE}\"; 6 of 7 responses \
         broke it, first in: {a}, {b}, {c}, {d}, {e}; {}",
        breaches.join("; ")
    );
    assert_eq!(
        testcases,
        [
            ("rule:date", Some("skipped"), Some(known.as_str())),
            ("rule:content-length", None, None),
            ("rule:status-sp", None, None),
            ("rule:reason-phrase", None, None),
            ("rule:field-value", None, None),
        ],
        "{xml}"
    );
}

#[test]
fn date_rule_broken_then_write_baseline_lists_it_and_that_baseline_passes_the_run() {
    let (dir, _) = error_case_dir();
    let responder = no_date_on_errors();
    let baseline = dir.path().join("written.txt");
    output(
        run(dir.path(), &responder)
            .arg("--write-baseline")
            .arg(&baseline),
        0,
    );
    let target = responder.target();
    assert_eq!(
        std::fs::read_to_string(&baseline).expect("baseline written"),
        format!(
            "# Known failures of {target} ({target}), written by `conformance run \
             --write-baseline`.\nrule:date\n"
        )
    );
    output(
        run(dir.path(), &responder).arg("--baseline").arg(&baseline),
        0,
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
    std::fs::write(&baseline, "rule:date\n").expect("baseline");
    // A broken rule known in the baseline: the run passes.
    let json = output(
        run(dir.path(), &responder)
            .args(["--format", "json", "--level", "should", "--baseline"])
            .arg(&baseline),
        0,
    );
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(schema_errors(&validator, &report), Vec::<String>::new());
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["tool"]["name"], "conformance");
    assert_eq!(report["options"]["level"], "should");
    assert_eq!(report["options"]["path"], CONTROL_PATH);
    assert_eq!(report["summary"]["known"], serde_json::json!(["rule:date"]));
    assert_eq!(report["summary"]["regressions"], serde_json::json!([]));
    let rules: Vec<(&str, &str, bool)> = report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or_default(),
                r["grade"].as_str().unwrap_or_default(),
                r["known_failure"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            ("rule:date", "fail", true),
            ("rule:content-length", "pass", false),
            ("rule:status-sp", "pass", false),
            ("rule:reason-phrase", "pass", false),
            ("rule:field-value", "pass", false),
        ]
    );
    // Broken rules whose breaches carry the hostile server's bytes.
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
    assert!(validator.is_valid(&report));
    let rejected = |what: &str, change: &dyn Fn(&mut serde_json::Value)| {
        let mut changed = report.clone();
        change(&mut changed);
        assert!(!validator.is_valid(&changed), "{what} accepted");
    };
    rejected("no format_version", &|r| {
        r.as_object_mut()
            .expect("an object")
            .remove("format_version");
    });
    rejected("a grade `passed`", &|r| {
        r["cases"][0]["grade"] = serde_json::json!("passed");
    });
    rejected("a local start time", &|r| {
        r["started"] = serde_json::json!("2026-12-01 22:00:00");
    });
    rejected("no rules", &|r| {
        r.as_object_mut().expect("an object").remove("rules");
    });
    rejected("no summary.rules_broken", &|r| {
        r["summary"]
            .as_object_mut()
            .expect("an object")
            .remove("rules_broken");
    });
    rejected("a rule id without `rule:`", &|r| {
        r["rules"][0]["id"] = serde_json::json!("date");
    });
    rejected("a rule graded skip", &|r| {
        r["rules"][0]["grade"] = serde_json::json!("skip");
    });
    rejected("a rule without its count of breaches", &|r| {
        r["rules"][0]
            .as_object_mut()
            .expect("an object")
            .remove("broken");
    });
    rejected("a breach without its problem", &|r| {
        r["rules"][0]["first"][0]
            .as_object_mut()
            .expect("an object")
            .remove("problem");
    });
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
                "    hostile  PASS  200 {REASON_SHOWN}; only here: x-hostile: \\x1b[2J\\x07\
                 <script>x</script><img src=x onerror=alert(2)>|]]>\"\\xc2\\x9b"
            )),
        "{out}"
    );
}
