//! The JUnit report against the rules of the Jenkins xunit plugin's
//! `junit-10.xsd` (the schema CI report tools read), checked element by
//! element on real output; then read by a real consumer, `junitparser`
//! from PyPI, whose counts must be the text summary's (cases and response
//! rules).

use crate::reports::{no_date_on_errors, output, run, DATE_QUOTE};
use crate::support::{case_dir_of, CaseFile};
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use tempfile::TempDir;

const PASS: &str = "rfc9110-9.3.1-get";
const FAIL: &str = "rfc9112-3.2-no-host";
const KNOWN: &str = "rfc9112-3.2-two-hosts";
const WARN: &str = "rfc9110-15.5-error-date";
const INFO: &str = "rfc9110-6.2-version-info";
const SKIP: &str = "rfc9110-15.5.5-missing-file";

/// One case per JUnit outcome against [`no_date_on_errors`]: a pass, a
/// fail, a fail in the baseline, a warn (a `should` case), an info, and a
/// skip (it needs the fixture docroot). The fail, known and warn cases
/// name the `date` check; the 400s without Date also break `rule:date`,
/// which the baseline does not list: a failed rule.
fn case_dir() -> TempDir {
    let with_host = |id| {
        CaseFile::new(id)
            .request(r"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n")
            .pass(&["200"])
            .checks(&["date"])
    };
    let without_host = |id| {
        CaseFile::new(id)
            .request(r"GET {path} HTTP/1.0\r\n\r\n")
            .pass(&["400"])
            .checks(&["date"])
    };
    let dir = case_dir_of(&[
        with_host(PASS).group("method"),
        without_host(FAIL).group("host"),
        without_host(KNOWN).group("host"),
        without_host(WARN).group("response-head").level("should"),
        with_host(INFO).group("version").level("info"),
        CaseFile::new(SKIP)
            .group("path")
            .needs(&["fixture-root"])
            .request(r"GET /missing HTTP/1.1\r\nHost: {host}\r\n\r\n")
            .pass(&["404"]),
    ]);
    std::fs::write(dir.path().join("known.txt"), format!("{KNOWN}\n")).expect("baseline");
    dir
}

/// The run's JUnit report written to a file, and the summary line the run
/// printed.
fn junit_run(dir: &Path) -> (String, String, PathBuf) {
    let responder = no_date_on_errors();
    let file = dir.join("report.xml");
    let summary = output(
        run(dir, &responder)
            .args(["--format", "junit", "--name", "wrong server", "--baseline"])
            .arg(dir.join("known.txt"))
            .arg("--output")
            .arg(&file),
        1,
    );
    let xml = std::fs::read_to_string(&file).expect("report written");
    (xml, summary, file)
}

/// What junit-10.xsd allows an element: its attributes (required ones
/// first, `required` of them), its child elements, whether it may hold
/// text.
struct Rule {
    element: &'static str,
    attributes: &'static [&'static str],
    required: usize,
    children: &'static [&'static str],
    text: bool,
}

const RESULT_ATTRIBUTES: &[&str] = &["type", "message"];

const RULES: &[Rule] = &[
    Rule {
        element: "testsuites",
        attributes: &["name", "time", "tests", "failures", "errors"],
        required: 0,
        children: &["testsuite"],
        text: false,
    },
    Rule {
        element: "testsuite",
        attributes: &[
            "name",
            "tests",
            "failures",
            "errors",
            "group",
            "time",
            "skipped",
            "timestamp",
            "hostname",
            "id",
            "package",
            "file",
            "log",
            "url",
        ],
        required: 4,
        children: &[
            "testsuite",
            "properties",
            "testcase",
            "system-out",
            "system-err",
        ],
        text: false,
    },
    Rule {
        element: "properties",
        attributes: &[],
        required: 0,
        children: &["property"],
        text: false,
    },
    Rule {
        element: "property",
        attributes: &["name", "value"],
        required: 2,
        children: &[],
        text: false,
    },
    Rule {
        element: "testcase",
        attributes: &["name", "time", "classname", "group"],
        required: 1,
        children: &[
            "skipped",
            "error",
            "failure",
            "rerunFailure",
            "rerunError",
            "flakyFailure",
            "flakyError",
            "system-out",
            "system-err",
        ],
        text: false,
    },
    Rule {
        element: "failure",
        attributes: RESULT_ATTRIBUTES,
        required: 0,
        children: &[],
        text: true,
    },
    Rule {
        element: "error",
        attributes: RESULT_ATTRIBUTES,
        required: 0,
        children: &[],
        text: true,
    },
    Rule {
        element: "skipped",
        attributes: RESULT_ATTRIBUTES,
        required: 0,
        children: &[],
        text: true,
    },
    Rule {
        element: "system-out",
        attributes: &[],
        required: 0,
        children: &[],
        text: true,
    },
    Rule {
        element: "system-err",
        attributes: &[],
        required: 0,
        children: &[],
        text: true,
    },
];

/// The schema's `SUREFIRE_TIME`, for the values written here: digits, an
/// optional fraction.
fn is_surefire_time(value: &str) -> bool {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// Every violation of the rules in `xml`.
pub(crate) fn violations(xml: &str) -> Vec<String> {
    let doc = match roxmltree::Document::parse(xml) {
        Ok(doc) => doc,
        Err(e) => return vec![format!("not XML: {e}")],
    };
    let mut problems = Vec::new();
    if doc.root_element().tag_name().name() != "testsuites" {
        problems.push("the root is not testsuites".to_string());
    }
    for node in doc.descendants().filter(roxmltree::Node::is_element) {
        let name = node.tag_name().name();
        let Some(rule) = RULES.iter().find(|r| r.element == name) else {
            problems.push(format!("<{name}> is not in the schema"));
            continue;
        };
        for attribute in node.attributes() {
            if !rule.attributes.contains(&attribute.name()) {
                problems.push(format!("<{name}> has {}", attribute.name()));
            }
        }
        for required in &rule.attributes[..rule.required] {
            if node.attribute(*required).is_none() {
                problems.push(format!("<{name}> lacks {required}"));
            }
        }
        if let Some(time) = node.attribute("time") {
            if !is_surefire_time(time) {
                problems.push(format!("<{name}> time {time:?}"));
            }
        }
        for child in node.children() {
            if child.is_element() && !rule.children.contains(&child.tag_name().name()) {
                problems.push(format!("<{name}> holds <{}>", child.tag_name().name()));
            }
            let text = child.text().unwrap_or_default();
            if child.is_text() && !rule.text && !text.trim().is_empty() {
                problems.push(format!("<{name}> holds text {text:?}"));
            }
        }
    }
    problems
}

fn count_attribute(node: roxmltree::Node<'_, '_>, name: &str) -> usize {
    node.attribute(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX)
}

#[test]
fn junit_report_then_follows_junit_10_xsd() {
    let dir = case_dir();
    let (xml, _, _) = junit_run(dir.path());
    assert_eq!(violations(&xml), Vec::<String>::new(), "{xml}");
}

#[test]
fn junit_counts_then_match_the_cases_and_results_they_hold() {
    let dir = case_dir();
    let (xml, _, _) = junit_run(dir.path());
    let doc = roxmltree::Document::parse(&xml).expect("XML");
    let root = doc.root_element();
    let within = |node: roxmltree::Node<'_, '_>, tag: &str| {
        node.descendants().filter(|n| n.has_tag_name(tag)).count()
    };
    // Six cases and five rules; the failed case and the failed rule.
    assert_eq!(count_attribute(root, "tests"), 11);
    assert_eq!(count_attribute(root, "failures"), 2);
    assert_eq!(count_attribute(root, "errors"), 0);
    let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    let names: Vec<&str> = suites.iter().filter_map(|s| s.attribute("name")).collect();
    assert_eq!(
        names,
        [
            "version",
            "method",
            "host",
            "path",
            "response-head",
            "response-rules"
        ],
        "one testsuite per group, in the catalogue's group order, then the rules"
    );
    for suite in &suites {
        assert_eq!(count_attribute(*suite, "tests"), within(*suite, "testcase"));
        assert_eq!(
            count_attribute(*suite, "failures"),
            within(*suite, "failure")
        );
        assert_eq!(count_attribute(*suite, "errors"), within(*suite, "error"));
        assert_eq!(
            count_attribute(*suite, "skipped"),
            within(*suite, "skipped")
        );
    }
    let case = |id: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(id))
            .unwrap_or_else(|| panic!("no testcase {id}"))
    };
    let result = |id: &str| {
        case(id)
            .children()
            .find(roxmltree::Node::is_element)
            .map(|n| {
                (
                    n.tag_name().name(),
                    n.attribute("message").unwrap_or_default(),
                )
            })
    };
    assert_eq!(result(PASS), None);
    assert_eq!(
        result(FAIL),
        Some((
            "failure",
            "RFC 9112 §3.2 (must): \"A test sentence.\"; actual: 400 Bad Request; broken check \
             date (must): no Date header"
        ))
    );
    assert_eq!(
        result(KNOWN),
        Some((
            "skipped",
            "known failure (baseline): RFC 9112 §3.2 (must): \"A test sentence.\"; actual: 400 \
             Bad Request; broken check date (must): no Date header"
        ))
    );
    assert_eq!(
        result(SKIP),
        Some((
            "skipped",
            "needs the fixture docroot: run with --fixture-root against a server that serves \
             fixtures/root"
        ))
    );
    assert_eq!(
        result(INFO),
        Some((
            "skipped",
            "info, never scored: RFC 9110 §6.2 (info): \"A test sentence.\"; actual: 200 OK"
        ))
    );
    let warn = case(WARN)
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        warn,
        format!(
            "WARN {WARN}: RFC 9110 §15.5 (should): \"A test sentence.\"; actual: 400 Bad \
             Request; broken check date (must): no Date header"
        )
    );
    assert_eq!(
        result("rule:date"),
        Some((
            "failure",
            format!(
                "RFC 9110 §6.6.1 (must): \"{DATE_QUOTE}\"; 3 of 5 responses broke it, first in: \
                 {WARN}, {FAIL}, {KNOWN}; {WARN}: 400 Bad Request: no Date header; {FAIL}: 400 Bad \
                 Request: no Date header; {KNOWN}: 400 Bad Request: no Date header"
            )
            .as_str()
        ))
    );
    for held in [
        "rule:content-length",
        "rule:status-sp",
        "rule:reason-phrase",
        "rule:field-value",
    ] {
        assert_eq!(result(held), None, "{held}");
    }
    let warned = doc
        .descendants()
        .filter(|n| n.has_tag_name("property") && n.attribute("name") == Some("warned"))
        .filter_map(|n| n.attribute("value"))
        .map(|v| v.parse::<usize>().unwrap_or(usize::MAX))
        .sum::<usize>();
    assert_eq!(warned, 1);
}

#[test]
fn junit_with_attribute_the_schema_lacks_then_a_violation() {
    let xml = "<?xml version=\"1.0\"?>\n<testsuites skipped=\"1\" time=\"1,5\">\
               <testsuite name=\"a\" tests=\"1\" failures=\"0\"><testcase/></testsuite>\
               </testsuites>";
    assert_eq!(
        violations(xml),
        [
            "<testsuites> has skipped",
            "<testsuites> time \"1,5\"",
            "<testsuite> lacks errors",
            "<testcase> lacks name"
        ]
    );
}

/// A virtualenv under `target/` with `junitparser` installed, made once;
/// `None` (and a message) when python3 is missing.
fn junitparser_python() -> Option<PathBuf> {
    if Process::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIPPED: python3 is missing; the junitparser check needs it");
        return None;
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/junit-venv");
    let python = venv.join("bin/python");
    let marker = venv.join("installed-junitparser-5.0.3");
    if !marker.is_file() {
        let made = Process::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()
            .expect("python3 -m venv");
        assert!(made.success(), "python3 -m venv {}", venv.display());
        let installed = Process::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--require-virtualenv",
                "junitparser==5.0.3",
            ])
            .status()
            .expect("pip install junitparser");
        assert!(installed.success(), "pip install junitparser==5.0.3");
        std::fs::write(&marker, "").expect("marker");
    }
    Some(python)
}

/// `N passed, N warned, N failed[ (N new, N in the baseline)][, N info,
/// N errors][, N skipped][; response rules broken: rule:a, rule:b]` as the
/// case counts by name (the failed ones once) and the rules broken.
fn summary_counts(line: &str) -> (std::collections::BTreeMap<String, usize>, Vec<String>) {
    let line = match (line.find(" ("), line.find(" in the baseline)")) {
        (Some(open), Some(close)) => {
            format!(
                "{}{}",
                &line[..open],
                &line[close + " in the baseline)".len()..]
            )
        }
        _ => line.to_string(),
    };
    let (counts, rules) = match line.split_once("; response rules broken: ") {
        Some((counts, rules)) => (counts, rules.split(", ").map(String::from).collect()),
        None => (line.as_str(), Vec::new()),
    };
    let counts = counts
        .split(", ")
        .filter_map(|part| part.split_once(' '))
        .map(|(n, what)| (what.to_string(), n.parse().unwrap_or(usize::MAX)))
        .collect();
    (counts, rules)
}

#[test]
fn junit_read_by_junitparser_then_counts_are_the_text_summary() {
    let Some(python) = junitparser_python() else {
        return;
    };
    let dir = case_dir();
    let (_, summary, file) = junit_run(dir.path());
    let script = "import sys\n\
                  from junitparser import JUnitXml, Failure, Error, Skipped\n\
                  xml = JUnitXml.fromfile(sys.argv[1])\n\
                  counts = {'tests': 0, 'failure': 0, 'error': 0, 'skipped': 0, 'passed': 0}\n\
                  for suite in xml:\n\
                  \x20   for case in suite:\n\
                  \x20       counts['tests'] += 1\n\
                  \x20       kinds = [type(r).__name__.lower() for r in case.result]\n\
                  \x20       if not kinds:\n\
                  \x20           counts['passed'] += 1\n\
                  \x20       for kind in kinds:\n\
                  \x20           counts[kind] += 1\n\
                  print(' '.join(f'{k}={v}' for k, v in counts.items()))\n";
    let out = Process::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .expect("run junitparser");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let first_line = summary.lines().next().unwrap_or_default();
    let (text, rules_broken) = summary_counts(first_line);
    // One case is known (the baseline lists no rule); every rule applied
    // to some response, so a rule is a failure when broken, else a pass.
    let (known, rules) = (1, 5);
    let expected = format!(
        "tests={} failure={} error={} skipped={} passed={}",
        text.values().sum::<usize>() + rules,
        text["failed"] - known + rules_broken.len(),
        text["errors"],
        text["info"] + text["skipped"] + known,
        text["passed"] + text["warned"] + rules - rules_broken.len(),
    );
    assert_eq!(
        summary,
        format!(
            "1 passed, 1 warned, 2 failed (1 new, 1 in the baseline), 1 info, 0 errors, \
             1 skipped; response rules broken: rule:date\n\
             \n\
             new failures (not in the baseline): 2\n\
             \x20 {FAIL}  check date (must): no Date header\n\
             \x20 rule:date{}  3 of 5 responses broke it, first in: {WARN}, {FAIL}, {KNOWN}\n",
            " ".repeat(FAIL.len() - "rule:date".len())
        )
    );
    assert_eq!(parsed, expected);
}
