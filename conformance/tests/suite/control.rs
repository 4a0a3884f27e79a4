//! Any server, any machine: the compiled-in catalogue, `--version`, the
//! control request before any case (exit 3 for what does not speak
//! HTTP/1.x, exit 2 for a path that is not served, one job for a target
//! that serves one connection at a time), templates filled from the
//! control, `skip`, and exit 4 for a run that graded nothing.

use crate::support::{
    case_dir_of, conformance, drain, response, rules_held, stdout_with_code, CaseFile, Requests,
    Responder,
};
use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;
use conformance::case::builtin_fingerprint;
use conformance::matrix::Matrix;
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use tempfile::TempDir;

const SERVED: &str = "rfc9110-9.1-served";
const TEMPLATED: &str = "rfc9110-13.1.1-templated";
const FIXTURE: &str = "rfc9110-15.4.2-fixture";

/// Three cases: one served normally (`control`), one whose bytes use every
/// variable (and so needs the control's validators), one that needs the
/// fixture docroot.
fn case_dir() -> TempDir {
    case_dir_of(&[
        CaseFile::new(SERVED)
            .group("method")
            .request(r"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n")
            .pass(&["control"]),
        CaseFile::new(TEMPLATED)
            .group("method")
            .request(
                r"GET {path} HTTP/1.1\r\nHost: {host}\r\nIf-Match: {etag}\r\nX-Date: {last-modified}\r\nX-Length: {length}\r\n\r\n",
            )
            .pass(&["control"]),
        CaseFile::new(FIXTURE)
            .group("path")
            .level("should")
            .needs(&["fixture-root"])
            .request(r"GET /docs HTTP/1.1\r\nHost: {host}\r\n\r\n")
            .pass(&["301"]),
    ])
}

/// Serves `/page` with `status` and the given extra fields, keeps the
/// connection open, and records every request head it reads.
fn page_server(status: &'static str, extra: &'static str) -> (Responder, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let responder = Responder::start(move |stream| {
        let mut requests = Requests::new(stream);
        while let Some(head) = requests.next_head() {
            let text = String::from_utf8_lossy(&head).into_owned();
            let served = text.starts_with("GET /page ") || text.starts_with("HEAD /page ");
            let status = if served { status } else { "404 Not Found" };
            record.lock().expect("lock").push(text);
            if requests
                .stream()
                .write_all(&response(status, extra))
                .is_err()
            {
                return;
            }
        }
    });
    (responder, seen)
}

const VALIDATORS: &str = "ETag: \"v1\"\r\nLast-Modified: Thu, 01 Jan 2026 00:00:00 GMT\r\n";

fn run(dir: &TempDir, target: &str) -> Command {
    let mut cmd = conformance(dir.path());
    cmd.args(["run", "--target", target, "--timeout", "300"]);
    cmd
}

fn stderr_of(cmd: &mut Command, code: i32) -> String {
    let assert = cmd.assert().code(code);
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// The control line for [`page_server`] serving `/page`, with or without
/// [`VALIDATORS`].
fn page_control(validators: bool) -> String {
    let has = if validators { "yes" } else { "no" };
    format!(
        "control: GET /page → 200 OK, HEAD → 200; ETag {has}, Last-Modified {has}, length 0; \
         persistent yes; second connection served while one is open: yes"
    )
}

/// The first lines of a text report of the three cases against
/// [`page_server`]: its head, then one line per case, in id order.
fn report_lines(target: &str, validators: bool, graded: [&str; 3]) -> String {
    format!(
        "conformance of {target}, 3 cases\n{}\n{}\n{}\n{}\n",
        page_control(validators),
        graded[0],
        graded[1],
        graded[2]
    )
}

/// How the fixture case is skipped where the run has no `--fixture-root`.
const NO_FIXTURE_ROOT: &str = "skipped: needs the fixture docroot: run with --fixture-root \
                               against a server that serves fixtures/root";

#[test]
fn version_then_names_the_compiled_in_catalogue() {
    let (count, fingerprint) = builtin_fingerprint();
    let out = stdout_with_code(Command::new(cargo_bin("conformance")).arg("--version"), 0);
    assert_eq!(
        out,
        format!(
            "conformance {} (catalogue: {count} cases, {fingerprint})\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn binary_copied_into_an_empty_directory_then_lists_the_whole_catalogue() {
    let bin_dir = TempDir::new().expect("temp dir");
    let copy = bin_dir.path().join("conformance");
    // Copied by a child process: a file this process had open for writing
    // could be inherited by a child another test forks meanwhile, and
    // running it would then fail with "text file busy".
    let copied = std::process::Command::new("cp")
        .arg(cargo_bin("conformance"))
        .arg(&copy)
        .status()
        .expect("cp");
    assert!(copied.success(), "cp the binary");
    let empty = TempDir::new().expect("temp dir");
    let out = stdout_with_code(Command::new(&copy).arg("list").current_dir(empty.path()), 0);
    let (count, _) = builtin_fingerprint();
    assert!(count >= 150, "{count}");
    // The same listing as the catalogue's files give.
    let files = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/cases");
    let listed = stdout_with_code(conformance(&files).arg("list"), 0);
    assert_eq!(out, listed);
    assert_eq!(out.lines().count(), count);
}

#[test]
fn binary_in_an_empty_directory_then_explain_shows_the_compiled_in_matrix() {
    let empty = TempDir::new().expect("temp dir");
    let out = stdout_with_code(
        Command::new(cargo_bin("conformance"))
            .args(["explain", "rfc9112-3.2-missing-host"])
            .current_dir(empty.path()),
        0,
    );
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../matrix/results.json");
    let matrix = Matrix::read(&committed).expect("the committed matrix reads");
    let heading = format!(
        "What servers answered (matrix of {}, the matrix compiled into this binary):\n",
        matrix.generated
    );
    let (_, answers) = out.split_once(&heading).unwrap_or_else(|| panic!("{out}"));
    // One line per server, in the matrix's order ("why" lines indented deeper).
    let names: Vec<&str> = answers
        .lines()
        .filter(|line| !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    let expected: Vec<&str> = matrix.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, expected, "{out}");
}

#[test]
fn templates_then_filled_from_path_host_and_the_control_response() {
    let dir = case_dir();
    let (server, seen) = page_server("200 OK", VALIDATORS);
    let out = stdout_with_code(
        run(&dir, &server.target()).args(["--path", "/page", "--host", "example.test"]),
        0,
    );
    assert!(
        out.starts_with(&report_lines(
            &server.target(),
            true,
            [
                &format!("PASS  {TEMPLATED}  200 OK"),
                &format!("SKIP  {FIXTURE}    {NO_FIXTURE_ROOT}"),
                &format!("PASS  {SERVED}        200 OK"),
            ]
        )),
        "{out}"
    );
    let seen = seen.lock().expect("lock");
    let templated: Vec<&String> = seen.iter().filter(|h| h.contains("If-Match")).collect();
    assert_eq!(
        templated,
        [
            "GET /page HTTP/1.1\r\nHost: example.test\r\nIf-Match: \"v1\"\r\n\
          X-Date: Thu, 01 Jan 2026 00:00:00 GMT\r\nX-Length: 0\r\n\r\n"
        ]
    );
}

#[test]
fn control_without_validators_then_case_using_them_skipped_with_reason() {
    let dir = case_dir();
    let (server, _) = page_server("200 OK", "");
    let out = stdout_with_code(run(&dir, &server.target()).args(["--path", "/page"]), 0);
    assert_eq!(
        out,
        format!(
            "{}\n\
             {}\
             \n\
             group           pass  warn  fail  info  skip error\n\
             method             1     0     0     0     1     0\n\
             path               0     0     0     0     1     0\n\
             \n\
             1 passed, 0 warned, 0 failed, 2 skipped\n",
            report_lines(
                &server.target(),
                false,
                [
                    &format!("SKIP  {TEMPLATED}  skipped: the control response has no ETag"),
                    &format!("SKIP  {FIXTURE}    {NO_FIXTURE_ROOT}"),
                    &format!("PASS  {SERVED}        200 OK"),
                ]
            ),
            // The skipped cases read no response: the rules hold on one.
            rules_held("1 response")
        )
    );
}

#[test]
fn fixture_root_flag_then_fixture_case_runs() {
    let dir = case_dir();
    let (server, _) = page_server("200 OK", VALIDATORS);
    let out = stdout_with_code(
        run(&dir, &server.target()).args(["--path", "/page", "--fixture-root"]),
        0,
    );
    // The responder answers /docs 404: run, and graded (a should: warn).
    assert!(
        out.starts_with(&report_lines(
            &server.target(),
            true,
            [
                &format!("PASS  {TEMPLATED}  200 OK"),
                &format!("WARN  {FIXTURE}    404 Not Found"),
                &format!("PASS  {SERVED}        200 OK"),
            ]
        )),
        "{out}"
    );
    assert!(out.ends_with("\n2 passed, 1 warned, 0 failed\n"), "{out}");
}

#[test]
fn skipped_case_then_junit_skipped_with_message_and_json_grade() {
    let dir = case_dir();
    let (server, _) = page_server("200 OK", "");
    let junit = stdout_with_code(
        run(&dir, &server.target()).args(["--path", "/page", "--format", "junit"]),
        0,
    );
    let doc = roxmltree::Document::parse(&junit).unwrap_or_else(|e| panic!("{e}\n{junit}"));
    // (name, what it holds, its message) of each testcase.
    let testcases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|c| {
            let result = c.first_element_child();
            (
                c.attribute("name").unwrap_or_default(),
                result.map(|r| r.tag_name().name()),
                result.and_then(|r| r.attribute("message")),
            )
        })
        .collect();
    assert_eq!(
        testcases,
        [
            (
                TEMPLATED,
                Some("skipped"),
                Some("the control response has no ETag")
            ),
            (SERVED, None, None),
            (
                FIXTURE,
                Some("skipped"),
                NO_FIXTURE_ROOT.strip_prefix("skipped: ")
            ),
            // The response rules held on the one response read.
            ("rule:date", None, None),
            ("rule:content-length", None, None),
            ("rule:status-sp", None, None),
            ("rule:reason-phrase", None, None),
            ("rule:field-value", None, None),
        ],
        "{junit}"
    );
    let root = doc.root_element();
    assert_eq!(
        ["tests", "failures", "errors"].map(|name| root.attribute(name)),
        [Some("8"), Some("0"), Some("0")],
        "{junit}"
    );
    let json = stdout_with_code(
        run(&dir, &server.target()).args(["--path", "/page", "--format", "json"]),
        0,
    );
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let grades: Vec<&str> = report["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c["grade"].as_str().unwrap_or_default())
        .collect();
    // Sorted by id: templated, fixture, served.
    assert_eq!(grades, ["skip", "skip", "pass"]);
    assert_eq!(report["summary"]["skipped"], 2);
    assert_eq!(
        (
            &report["control"]["path"],
            &report["control"]["status"],
            &report["control"]["etag"],
            &report["control"]["concurrent"]
        ),
        (
            &serde_json::json!("/page"),
            &serde_json::json!(200),
            &serde_json::Value::Null,
            &serde_json::json!(true)
        )
    );
}

#[test]
fn every_case_skipped_then_exit_4() {
    let dir = case_dir();
    let (server, _) = page_server("200 OK", "");
    let stderr = stderr_of(
        run(&dir, &server.target()).args([
            "--path", "/page", "--filter", TEMPLATED, "--filter", FIXTURE,
        ]),
        4,
    );
    assert_eq!(
        stderr,
        "conformance: no case could be graded (2 skipped, 0 errors): not conformant\n"
    );
}

#[test]
fn control_not_2xx_then_exit_2_naming_the_path() {
    let dir = case_dir();
    let (server, _) = page_server("200 OK", "");
    run(&dir, &server.target())
        .args(["--path", "/missing"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            "conformance: the control request GET /missing was answered 404 Not Found: pick an \
             existing resource that answers GET with 2xx with --path\n",
        );
}

#[test]
fn http_url_target_then_its_path_is_the_resource() {
    let dir = case_dir();
    let (server, seen) = page_server("200 OK", "");
    stdout_with_code(
        &mut run(&dir, &format!("http://{}/page", server.target())),
        0,
    );
    assert!(seen.lock().expect("lock")[0].starts_with("GET /page HTTP/1.1\r\n"));
}

#[test]
fn bad_path_host_or_scheme_then_exit_2_before_connecting() {
    let dir = case_dir();
    for (args, message) in [
        (
            &["--path", "page"][..],
            "--path must be an absolute path such as /index.html (visible ASCII, no #), got \
             \"page\"",
        ),
        (
            &["--path", "/a b"][..],
            "--path must be an absolute path such as /index.html (visible ASCII, no #), got \
             \"/a b\"",
        ),
        (
            &["--host", "a b"][..],
            "--host must be visible ASCII without spaces, got \"a b\"",
        ),
    ] {
        run(&dir, "127.0.0.1:1")
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(format!("conformance: {message}\n"));
    }
    run(&dir, "127.0.0.1:1")
        .arg("--insecure")
        .assert()
        .code(2)
        .stderr("conformance: --ca, --insecure and --tls-version need an https:// target\n");
    // The line ends with the system's words for the missing file.
    let stderr = stderr_of(
        run(&dir, "https://127.0.0.1:1/").args(["--ca", "/nonexistent/ca.pem"]),
        2,
    );
    assert!(
        stderr.starts_with("conformance: cannot read --ca /nonexistent/ca.pem: ")
            && stderr.lines().count() == 1
            && stderr.ends_with('\n'),
        "{stderr}"
    );
}

/// A listener that answers each connection with `reply` once something
/// arrives (or at once, for a banner), then closes.
fn not_http(reply: &'static [u8], wait_for_request: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            thread::spawn(move || {
                if wait_for_request {
                    let mut buf = [0u8; 1024];
                    let _ = std::io::Read::read(&mut stream, &mut buf);
                }
                let _ = stream.write_all(reply);
                let _ = stream.shutdown(Shutdown::Write);
                drain(&mut stream);
            });
        }
    });
    addr
}

#[test]
fn target_not_speaking_http_then_exit_3_with_one_line_before_any_case() {
    let dir = case_dir();
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let tls = not_http(b"\x15\x03\x01\x00\x02\x02\x46", true);
    let cases = [
        (
            tls,
            format!(
                "the target speaks TLS: use https://{tls} (it answered a plain-text request \
                 with a TLS record)"
            ),
        ),
        (
            not_http(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n", false),
            r#"the target does not speak HTTP/1.x: it sent "SSH-2.0-OpenSSH_9.2p1 Debian\r\n""#
                .to_string(),
        ),
        (
            not_http(b"", true),
            "the target closed the connection without answering the control GET".to_string(),
        ),
        (
            silent.local_addr().expect("addr"),
            "nothing came back to the control GET within 300 ms".to_string(),
        ),
    ];
    for (addr, why) in cases {
        let target = addr.to_string();
        run(&dir, &target)
            .assert()
            .code(3)
            .stdout("")
            .stderr(format!("conformance: {target}: {why}\n"));
    }
}

/// Serves one connection at a time, each to its end: the accept loop is the
/// only thread, as in a server with one synchronous worker.
fn one_at_a_time() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(400)));
            let mut requests = Requests::new(stream);
            if requests.next_head().is_some() {
                let _ = requests
                    .stream()
                    .write_all(&response("200 OK", "Connection: close\r\n"));
            }
        }
    });
    addr
}

#[test]
fn target_serving_one_connection_at_a_time_then_one_job_unless_jobs_given() {
    let dir = case_dir();
    let target = one_at_a_time().to_string();
    let control = "control: GET / → 200 OK, HEAD → 200; ETag no, Last-Modified no, length 0; \
                   persistent no; second connection served while one is open: no\n";
    let assert = run(&dir, &target)
        .args(["--filter", SERVED])
        .assert()
        .code(0);
    let output = assert.get_output();
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "the target served no second connection while one was open: running one case at a \
         time (--jobs overrides)\n"
    );
    // The text report carries the control line, under its first line.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.lines().nth(1).map(|l| format!("{l}\n")),
        Some(control.to_string())
    );
    // An explicit --jobs wins, and the JSON report leaves the line to stderr.
    let stderr = stderr_of(
        run(&dir, &target).args(["--filter", SERVED, "--jobs", "4", "--format", "json"]),
        0,
    );
    assert_eq!(stderr, control);
}

#[test]
fn unknown_variable_in_a_case_file_then_exit_2_naming_file_and_column() {
    let id = "rfc9110-9.1-typo";
    let dir = case_dir_of(&[CaseFile::new(id)
        .group("method")
        .request(r"GET {paht} HTTP/1.1\r\n\r\n")
        .pass(&["200"])]);
    let stderr = stderr_of(conformance(dir.path()).arg("list"), 2);
    assert_eq!(
        stderr,
        format!(
            "conformance: {}: request: column 5: unknown variable (expected {{path}}, {{host}}, \
             {{etag}}, {{last-modified}} or {{length}}; write a literal {{ as \\x7b)\n",
            dir.path().join(format!("{id}.toml")).display()
        )
    );
}

#[test]
fn explain_templated_case_then_template_and_bytes_sent() {
    let dir = case_dir();
    let out = stdout_with_code(
        conformance(dir.path()).args([
            "explain",
            TEMPLATED,
            "--path",
            "/page",
            "--matrix",
            "/nonexistent",
        ]),
        0,
    );
    // The variables that come from the control are shown as the template
    // has them: the bytes are shown for people, not in the case notation.
    assert_eq!(
        out,
        format!(
            "{TEMPLATED}: Test case {TEMPLATED}\n\
             level: must, group: method\n\
             requirement: RFC 9110 §13.1.1 https://www.rfc-editor.org/rfc/rfc9110#section-13.1.1\n\
             \x20 \"A test sentence.\"\n\
             needs: etag, last-modified (skipped where the target lacks it)\n\
             request (template):\n\
             \x20 GET {{path}} HTTP/1.1\\r\\n\n\
             \x20 Host: {{host}}\\r\\n\n\
             \x20 If-Match: {{etag}}\\r\\n\n\
             \x20 X-Date: {{last-modified}}\\r\\n\n\
             \x20 X-Length: {{length}}\\r\\n\n\
             \x20 \\r\\n\n\
             sent with --path /page --host localhost (the other variables come from the control \
             response):\n\
             \x20 GET /page HTTP/1.1\\r\\n\n\
             \x20 Host: localhost\\r\\n\n\
             \x20 If-Match: {{etag}}\\r\\n\n\
             \x20 X-Date: {{last-modified}}\\r\\n\n\
             \x20 X-Length: {{length}}\\r\\n\n\
             \x20 \\r\\n\n\
             acceptable: pass control\n\
             explanation:\n\
             \x20 Why this matters.\n\
             \x20 Second line.\n\
             What servers answered: no matrix at /nonexistent (`make matrix` writes one).\n"
        )
    );
}
