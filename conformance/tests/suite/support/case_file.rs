//! A case file written by a test: the fields `fixtures/cases/README.md`
//! describes, set by name, so a test reads as the case it needs instead of
//! as TOML escaped inside a Rust string.
//!
//! Request bytes are given in the case format's own notation (`\r`, `\n`,
//! `\xHH`, `\{N:TEXT}`, `{path}`…), best as a raw string literal, so what a
//! test shows is what the file holds: `r"GET {path} HTTP/1.1\r\n\r\n"`.

use conformance::case::{self, Case};
use std::path::Path;
use tempfile::TempDir;

/// One case file. The fields a test does not care about get fixed values
/// that the tests of reports assert on: the title `Test case <id>`, the
/// quote `A test sentence.`, a two-line explanation, and the RFC and URL
/// read from the id (`rfc9112-3.2-…` is RFC 9112 §3.2).
#[derive(Debug, Clone)]
pub struct CaseFile {
    id: String,
    group: Option<String>,
    level: String,
    aliases: Vec<String>,
    needs: Vec<String>,
    request: Option<String>,
    expect: Expect,
    steps: Vec<Step>,
}

/// What a step (or a one-request case) accepts: its `expect` table.
#[derive(Debug, Clone, Default)]
struct Expect {
    pass: Vec<String>,
    checks: Vec<String>,
}

/// One `[[steps]]` entry: an optional pause, optional bytes to send, and
/// an optional response to read and grade.
#[derive(Debug, Clone, Default)]
pub struct Step {
    pause_ms: Option<u64>,
    send: Option<String>,
    expect: Option<Expect>,
}

impl CaseFile {
    /// A `must` case with this id; set its group, then either one
    /// `request` with `pass` (and `checks`), or `step`s.
    pub fn new(id: &str) -> CaseFile {
        CaseFile {
            id: id.to_string(),
            group: None,
            level: "must".to_string(),
            aliases: Vec::new(),
            needs: Vec::new(),
            request: None,
            expect: Expect::default(),
            steps: Vec::new(),
        }
    }

    /// One of the README's groups (`host`, `framing`, …).
    pub fn group(mut self, group: &str) -> CaseFile {
        self.group = Some(group.to_string());
        self
    }

    /// `must` (the default), `should`, `may` or `info`.
    pub fn level(mut self, level: &str) -> CaseFile {
        self.level = level.to_string();
        self
    }

    /// The ids the case had before it was renamed.
    pub fn aliases(mut self, aliases: &[&str]) -> CaseFile {
        self.aliases = strings(aliases);
        self
    }

    /// What the case needs of the target (`fixture-root`, …).
    pub fn needs(mut self, needs: &[&str]) -> CaseFile {
        self.needs = strings(needs);
        self
    }

    /// The one request the case sends, in the case format's notation.
    pub fn request(mut self, request: &str) -> CaseFile {
        self.request = Some(literal(request));
        self
    }

    /// The outcomes graded pass for the one request.
    pub fn pass(mut self, outcomes: &[&str]) -> CaseFile {
        self.expect.pass = strings(outcomes);
        self
    }

    /// The checks on the response to the one request.
    pub fn checks(mut self, checks: &[&str]) -> CaseFile {
        self.expect.checks = strings(checks);
        self
    }

    /// Adds a step; a case with steps has no `request`.
    pub fn step(mut self, step: Step) -> CaseFile {
        self.steps.push(step);
        self
    }

    /// The file's text, as `fixtures/cases/README.md` describes it.
    pub fn text(&self) -> String {
        let id = &self.id;
        let group = self
            .group
            .as_deref()
            .unwrap_or_else(|| panic!("case file {id}: no group"));
        let mut parts = id.splitn(3, '-');
        let number = parts.next().unwrap_or_default().trim_start_matches("rfc");
        let section = parts.next().unwrap_or_default();
        let mut text = format!(
            "id = \"{id}\"\n\
             title = \"Test case {id}\"\n\
             group = \"{group}\"\n\
             rfc = \"RFC {number} §{section}\"\n\
             url = \"https://www.rfc-editor.org/rfc/rfc{number}#section-{section}\"\n\
             quote = \"A test sentence.\"\n\
             level = \"{}\"\n\
             explain = \"\"\"\nWhy this matters.\nSecond line.\n\"\"\"\n",
            self.level
        );
        if !self.aliases.is_empty() {
            text.push_str(&format!("aliases = {}\n", array(&self.aliases)));
        }
        if !self.needs.is_empty() {
            text.push_str(&format!("needs = {}\n", array(&self.needs)));
        }
        match (&self.request, self.steps.is_empty()) {
            (Some(request), true) => {
                text.push_str(&format!("request = {request}\n[expect]\n"));
                text.push_str(&format!("pass = {}\n", array(&self.expect.pass)));
                if !self.expect.checks.is_empty() {
                    text.push_str(&format!("checks = {}\n", array(&self.expect.checks)));
                }
            }
            (None, false) => {
                for step in &self.steps {
                    text.push_str(&step.text());
                }
            }
            (Some(_), false) => panic!("case file {id}: both a request and steps"),
            (None, true) => panic!("case file {id}: neither a request nor steps"),
        }
        text
    }

    /// Writes `<id>.toml` into `dir`.
    pub fn write_to(&self, dir: &Path) {
        std::fs::write(dir.join(format!("{}.toml", self.id)), self.text())
            .expect("write case file");
    }

    /// The case the suite loads from this file.
    pub fn case(&self) -> Case {
        match case::parse_case(&self.id, &self.text()) {
            Ok(case) => case,
            Err(problem) => panic!("case file {}: {problem}", self.id),
        }
    }
}

impl Step {
    /// A step that sends `bytes` (the case format's notation).
    pub fn send(bytes: &str) -> Step {
        Step {
            send: Some(literal(bytes)),
            ..Step::default()
        }
    }

    /// A step that sends nothing and reads the next response.
    pub fn read() -> Step {
        Step::default()
    }

    /// Waits `ms` milliseconds before the step.
    pub fn after_ms(mut self, ms: u64) -> Step {
        self.pause_ms = Some(ms);
        self
    }

    /// The outcomes graded pass for this step's response.
    pub fn pass(mut self, outcomes: &[&str]) -> Step {
        self.expect.get_or_insert_with(Expect::default).pass = strings(outcomes);
        self
    }

    /// The checks on this step's response.
    pub fn checks(mut self, checks: &[&str]) -> Step {
        self.expect.get_or_insert_with(Expect::default).checks = strings(checks);
        self
    }

    fn text(&self) -> String {
        let mut text = "[[steps]]\n".to_string();
        if let Some(ms) = self.pause_ms {
            text.push_str(&format!("pause_ms = {ms}\n"));
        }
        if let Some(send) = &self.send {
            text.push_str(&format!("send = {send}\n"));
        }
        if let Some(expect) = &self.expect {
            text.push_str(&format!("expect = {{ pass = {}", array(&expect.pass)));
            if !expect.checks.is_empty() {
                text.push_str(&format!(", checks = {}", array(&expect.checks)));
            }
            text.push_str(" }\n");
        }
        text
    }
}

/// A TOML literal string: the case format's escapes pass through untouched
/// (README, "Request bytes"). It cannot hold `'` (write `\x27`) or a line
/// break.
fn literal(bytes: &str) -> String {
    assert!(
        !bytes.contains(['\'', '\n', '\r']),
        "a case's bytes are one line without `'`: {bytes:?}"
    );
    format!("'{bytes}'")
}

/// `["a", "b"]`.
fn array(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("\"{item}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// A temporary directory holding `files`: a catalogue of its own for a run.
pub fn case_dir_of(files: &[CaseFile]) -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    for file in files {
        file.write_to(dir.path());
    }
    dir
}

#[test]
fn case_file_with_one_request_then_the_readme_format() {
    let text = CaseFile::new("rfc9112-3.2-missing-host")
        .group("host")
        .needs(&["fixture-root"])
        .request(r"GET {path} HTTP/1.1\r\n\r\n")
        .pass(&["400", "close"])
        .checks(&["date", "content-length"])
        .text();
    assert_eq!(
        text,
        r#"id = "rfc9112-3.2-missing-host"
title = "Test case rfc9112-3.2-missing-host"
group = "host"
rfc = "RFC 9112 §3.2"
url = "https://www.rfc-editor.org/rfc/rfc9112#section-3.2"
quote = "A test sentence."
level = "must"
explain = """
Why this matters.
Second line.
"""
needs = ["fixture-root"]
request = 'GET {path} HTTP/1.1\r\n\r\n'
[expect]
pass = ["400", "close"]
checks = ["date", "content-length"]
"#
    );
}

#[test]
fn case_file_with_steps_then_one_table_per_step_in_order() {
    let file = CaseFile::new("rfc9112-9.6-close-honoured")
        .group("connection")
        .level("should")
        .step(Step::send(r"GET /hello.txt HTTP/1.1\r\n"))
        .step(
            Step::send(r"Host: localhost\r\nConnection: close\r\n\r\n")
                .after_ms(20)
                .pass(&["200"])
                .checks(&["closed"]),
        )
        .step(Step::read().pass(&["close"]));
    let text = file.text();
    assert_eq!(
        text.split_once("Second line.\n\"\"\"\n")
            .map(|(_, steps)| steps),
        Some(
            r#"[[steps]]
send = 'GET /hello.txt HTTP/1.1\r\n'
[[steps]]
pause_ms = 20
send = 'Host: localhost\r\nConnection: close\r\n\r\n'
expect = { pass = ["200"], checks = ["closed"] }
[[steps]]
expect = { pass = ["close"] }
"#
        )
    );
    let case = file.case();
    assert_eq!(
        (case.id.as_str(), case.steps.len()),
        ("rfc9112-9.6-close-honoured", 3)
    );
}
