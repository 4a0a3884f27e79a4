//! `diff`: grades beside what each target answered, differences in the
//! `Connection` field alone kept apart from real ones, a job count per
//! target (from its control, or `--jobs NAME=N`), a path per target, skips
//! labelled as skips, `--exit-code`, `--format json` and `--output`.

use crate::support::{
    case_dir_of, conformance, response, response_with, CaseFile, Reference, Requests, Responder,
};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::thread;
use tempfile::TempDir;

const PLAIN: &str = "rfc9110-9.3.1-plain";
const REJECTED: &str = "rfc9110-15.5.4-rejected";

/// Two GET cases that pass on 200: `/plain` and `/rejected`.
fn cases() -> TempDir {
    case_dir_of(&[
        CaseFile::new(PLAIN)
            .group("method")
            .request(r"GET /plain HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["200"]),
        CaseFile::new(REJECTED)
            .group("path")
            .request(r"GET /rejected HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["200"]),
    ])
}

/// Answers every request 200 and keeps the connection open; `keep_alive`
/// adds `Connection: keep-alive`, `reject` answers `/rejected` 403.
fn responder(keep_alive: bool, reject: bool) -> Responder {
    Responder::start(move |stream| {
        let mut requests = Requests::new(stream);
        while let Some(head) = requests.next_head() {
            let extra = if keep_alive {
                "Connection: keep-alive\r\n"
            } else {
                ""
            };
            let answer = if reject && head.starts_with(b"GET /rejected ") {
                response("403 Forbidden", extra)
            } else {
                response("200 OK", extra)
            };
            if requests.stream().write_all(&answer).is_err() {
                return;
            }
        }
    })
}

fn diff(dir: &TempDir, targets: &[(&str, String)], more: &[&str]) -> (i32, String, String) {
    let mut cmd = conformance(dir.path());
    cmd.args(["diff", "--timeout", "500"]);
    for (name, target) in targets {
        cmd.arg("--target").arg(format!("{name}={target}"));
    }
    let output = cmd.args(more).output().expect("run diff");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn targets_differing_only_in_connection_then_no_real_difference() {
    let dir = cases();
    let plain = responder(false, false);
    let keep = responder(true, false);
    // Not answered differently: --exit-code is 0.
    let (code, out, _) = diff(
        &dir,
        &[("plain", plain.target()), ("keep", keep.target())],
        &["--exit-code"],
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!(
            "diff of 2 cases: plain ({}), keep ({})\n\
             no real differences\n\
             2 cases differ only in the Connection header (listed apart, last)\n\
             \n\
             differ only in the Connection header (2):\n\
             \n  {REJECTED} (must): Test case {REJECTED}\n\
             \x20   plain  PASS  200 OK\n\
             \x20   keep   PASS  200 OK; only here: connection: keep-alive\n\
             \n  {PLAIN} (must): Test case {PLAIN}\n\
             \x20   plain  PASS  200 OK\n\
             \x20   keep   PASS  200 OK; only here: connection: keep-alive\n",
            plain.target(),
            keep.target()
        )
    );
}

#[test]
fn a_real_difference_then_listed_before_the_connection_one() {
    let dir = cases();
    let plain = responder(false, false);
    let strict = responder(true, true);
    let (code, out, _) = diff(
        &dir,
        &[("plain", plain.target()), ("strict", strict.target())],
        &[],
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!(
            "diff of 2 cases: plain ({}), strict ({})\n\
             1 case answered differently: 1 one accepts where another rejects\n\
             1 case differs only in the Connection header (listed apart, last)\n\
             \n\
             one accepts where another rejects (1):\n\
             \n  {REJECTED} (must): Test case {REJECTED}\n\
             \x20   plain   PASS  200 OK\n\
             \x20   strict  FAIL  403 Forbidden\n\
             \n\
             differ only in the Connection header (1):\n\
             \n  {PLAIN} (must): Test case {PLAIN}\n\
             \x20   plain   PASS  200 OK\n\
             \x20   strict  PASS  200 OK; only here: connection: keep-alive\n",
            plain.target(),
            strict.target()
        )
    );
}

/// Serves one connection at a time, answering 200 to every request on it:
/// its control finds no second connection served while one is open.
fn one_at_a_time() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut requests = Requests::new(stream);
            while requests.next_head().is_some() {
                if requests
                    .stream()
                    .write_all(&response("200 OK", ""))
                    .is_err()
                {
                    break;
                }
            }
        }
    });
    addr
}

/// The `; N at a time` that ends each target's control line on stderr.
fn paces(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .map(|line| {
            let (name, _) = line.split_once(": control: ").expect("a control line");
            let (_, pace) = line.rsplit_once("; ").expect("a pace");
            format!("{name}: {pace}")
        })
        .collect()
}

#[test]
fn each_target_then_its_own_job_count() {
    let dir = cases();
    let many = responder(false, false);
    let single = one_at_a_time().to_string();
    let targets = [("many", many.target()), ("single", single)];
    let (code, _, stderr) = diff(&dir, &targets, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(paces(&stderr), ["many: 8 at a time", "single: 1 at a time"]);
    let (code, _, stderr) = diff(&dir, &targets, &["--jobs", "3", "--jobs", "single=2"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(paces(&stderr), ["many: 3 at a time", "single: 2 at a time"]);
}

#[test]
fn jobs_for_an_unknown_target_then_exit_2() {
    let dir = cases();
    let (code, out, stderr) = diff(
        &dir,
        &[("a", "127.0.0.1:1".into()), ("b", "127.0.0.1:2".into())],
        &["--jobs", "c=2"],
    );
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        stderr,
        "conformance: --jobs \"c=2\": no target is named \"c\" (targets: a, b)\n"
    );
}

const GET_PATH: &str = "rfc9110-9.3.1-get-path";
const NO_HOST: &str = "rfc9112-3.2-no-host";
const IF_MATCH: &str = "rfc9110-13.1.1-if-match-current";

/// Three cases that ask for the target's own path: a plain GET, a GET
/// without Host, and an If-Match of the control's ETag (which needs one).
fn path_cases() -> TempDir {
    case_dir_of(&[
        CaseFile::new(GET_PATH)
            .group("method")
            .request(r"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n")
            .pass(&["200"]),
        CaseFile::new(NO_HOST)
            .group("host")
            .request(r"GET {path} HTTP/1.1\r\n\r\n")
            .pass(&["400"]),
        CaseFile::new(IF_MATCH)
            .group("conditional")
            .needs(&["etag"])
            .request(r"GET {path} HTTP/1.1\r\nHost: {host}\r\nIf-Match: {etag}\r\n\r\n")
            .pass(&["200"]),
    ])
}

/// An application's health check: `/api/health` answers 200 with a JSON
/// body (no ETag), anything else 404; Host is never checked.
fn health_app() -> Responder {
    Responder::start(|stream| {
        let mut requests = Requests::new(stream);
        while let Some(head) = requests.next_head() {
            let head_only = head.starts_with(b"HEAD ");
            let health = [&b"GET /api/health "[..], b"HEAD /api/health "]
                .iter()
                .any(|start| head.starts_with(start));
            let answer = if health {
                response_with(
                    "200 OK",
                    "Content-Type: application/json\r\n",
                    b"{\"ok\":true}",
                    head_only,
                    "",
                )
            } else {
                response_with("404 Not Found", "", b"", head_only, "")
            };
            if requests.stream().write_all(&answer).is_err() {
                return;
            }
        }
    })
}

/// The reference server at `/index.html` and an application at
/// `/api/health`, each its own path: a missing Host accepted by one and
/// rejected by the other is answered differently (exit 1 with
/// `--exit-code`); the case the application skips (no ETag) is labelled a
/// skip, not an error.
#[test]
fn targets_with_their_own_paths_then_compared_and_skips_labelled() {
    let dir = path_cases();
    let reference = Reference::start();
    let app = health_app();
    let ref_url = format!("http://{}/index.html", reference.addr);
    let app_url = format!("http://{}/api/health", app.addr());
    let targets = [("ref", ref_url.clone()), ("app", app_url.clone())];
    let (code, out, stderr) = diff(&dir, &targets, &["--exit-code"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        out,
        format!(
            "diff of 3 cases: ref ({ref_url}), app ({app_url})\n\
             2 cases answered differently: 1 one accepts where another rejects; 1 both accept \
             with different heads\n\
             1 case not compared: 1 skipped by a target\n\
             \n\
             one accepts where another rejects (1):\n\
             \n  {NO_HOST} (must): Test case {NO_HOST}\n\
             \x20   ref  PASS  400 Bad Request\n\
             \x20   app  FAIL  200 OK\n\
             \n\
             both accept with different heads (1):\n\
             \n  {GET_PATH} (must): Test case {GET_PATH}\n\
             \x20   ref  PASS  200 OK; only here: accept-ranges: bytes, etag: [redacted], \
             last-modified: [redacted]\n\
             \x20   app  PASS  200 OK\n\
             \n\
             not compared: a target skipped it (1):\n\
             \n  {IF_MATCH} (must): Test case {IF_MATCH}\n\
             \x20   ref  PASS  200 OK\n\
             \x20   app  SKIP  the control response has no ETag\n"
        )
    );
    // Each target's control asked for its own path.
    let controls: Vec<&str> = stderr
        .lines()
        .map(|l| l.split_once(" → ").map_or(l, |(start, _)| start))
        .collect();
    assert_eq!(
        controls,
        [
            "ref: control: GET /index.html",
            "app: control: GET /api/health"
        ]
    );
}

/// `--format json --output FILE`: the documented shape in the file, the
/// counts on standard output.
#[test]
fn json_to_a_file_then_the_documented_shape_and_counts_on_stdout() {
    let dir = path_cases();
    let reference = Reference::start();
    let app = health_app();
    let ref_url = format!("http://{}/index.html", reference.addr);
    let app_url = format!("http://{}/api/health", app.addr());
    let file = dir.path().join("diff.json");
    let targets = [("ref", ref_url.clone()), ("app", app_url.clone())];
    let (code, out, _) = diff(
        &dir,
        &targets,
        &[
            "--exit-code",
            "--format",
            "json",
            "--output",
            file.to_str().expect("a UTF-8 path"),
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "2 cases answered differently: 1 one accepts where another rejects; 1 both accept with \
         different heads\n\
         1 case not compared: 1 skipped by a target\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("written")).expect("JSON");
    assert_eq!(schema_errors(&json), Vec::<String>::new());
    let answer = |target: &str, grade: &str, outcome: &str, only_here: &[&str]| {
        serde_json::json!({
            "target": target, "grade": grade, "outcome": outcome, "only_here": only_here
        })
    };
    let mut expected = serde_json::json!({
        "format_version": 1,
        "tool": { "name": "conformance", "version": env!("CARGO_PKG_VERSION") },
        "host": "localhost",
        "cases": 3,
        "targets": [
            { "name": "ref", "target": ref_url, "path": "/index.html" },
            { "name": "app", "target": app_url, "path": "/api/health" }
        ],
        "answered_differently": 2,
        "not_compared": 1,
        "counts": {
            "accept_reject": 1, "reject_codes": 0, "heads": 1,
            "connection_only": 0, "harness_error": 0, "skipped": 1
        },
        "differences": [
            {
                "id": NO_HOST, "title": format!("Test case {NO_HOST}"), "level": "must",
                "group": "host", "kind": "accept_reject",
                "answers": [
                    answer("ref", "pass", "400 Bad Request", &[]),
                    answer("app", "fail", "200 OK", &[])
                ]
            },
            {
                "id": GET_PATH, "title": format!("Test case {GET_PATH}"), "level": "must",
                "group": "method", "kind": "heads",
                "answers": [
                    answer("ref", "pass", "200 OK",
                           &["accept-ranges: bytes", "etag: [redacted]", "last-modified: [redacted]"]),
                    answer("app", "pass", "200 OK", &[])
                ]
            },
            {
                "id": IF_MATCH, "title": format!("Test case {IF_MATCH}"), "level": "must",
                "group": "conditional", "kind": "skipped",
                "answers": [
                    answer("ref", "pass", "200 OK", &[]),
                    answer("app", "skip", "the control response has no ETag", &[])
                ]
            }
        ]
    });
    assert_eq!(json, expected);
    // The schema holds the shape: a field gone or renamed is rejected.
    expected["counts"]
        .as_object_mut()
        .expect("counts")
        .remove("skipped");
    assert!(!schema_errors(&expected).is_empty());
}

/// `docs/diff.schema.json`'s complaints about `diff`.
fn schema_errors(diff: &serde_json::Value) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/diff.schema.json");
    let text = std::fs::read_to_string(&path).expect("docs/diff.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    let validator =
        jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("invalid schema: {e}"));
    validator
        .iter_errors(diff)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// `NAME=HOST:PORT` and `NAME=http://…/PATH` mix; `--path` is the path of
/// a target whose URL gives none. A target's path that is not served is
/// exit 2, naming the target.
#[test]
fn path_from_the_url_or_from_path_then_each_target_its_own() {
    let dir = path_cases();
    let reference = Reference::start();
    let app = health_app();
    let app_url = format!("http://{}/api/health", app.addr());
    let targets = [("ref", reference.addr.to_string()), ("app", app_url)];
    let (code, _, stderr) = diff(&dir, &targets, &["--path", "/index.html", "--id", GET_PATH]);
    assert_eq!(code, 0, "{stderr}");
    let controls: Vec<&str> = stderr
        .lines()
        .map(|l| l.split_once(" → ").map_or(l, |(start, _)| start))
        .collect();
    assert_eq!(
        controls,
        [
            "ref: control: GET /index.html",
            "app: control: GET /api/health"
        ]
    );
    // The application serves no /index.html.
    let (code, out, stderr) = diff(
        &dir,
        &[
            ("ref", reference.addr.to_string()),
            ("app", app.addr().to_string()),
        ],
        &["--path", "/index.html"],
    );
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        stderr.lines().last(),
        Some(
            "conformance: app: the control request GET /index.html was answered 404 Not Found: \
             pick an existing resource that answers GET with 2xx with --path"
        ),
        "{stderr}"
    );
}
