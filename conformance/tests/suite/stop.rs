//! Honest ends: a target that goes away during the run is exit 3 with one
//! line and a report listing the rest as not run; a case reset once is not
//! taken for a target gone; `--jobs` fits the open-file limit; a signal
//! abandons the cases under way at once, whatever `--timeout` is, and a
//! second signal exits at once.

use crate::interrupt::slow_responder_telling;
use crate::support::{answer_then_close, CONTROL_PATH};
use crate::support::{
    case_dir_of, conformance, drain, response, response_with, CaseFile, Head, Requests,
};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// `text` with the seconds of "went away N.N s into the run" as `[s]`.
pub fn mask_seconds(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("went away ") {
        let start = at + "went away ".len();
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits > 0 {
            out.push_str("[s]");
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// `count` cases `rfc9110-9.3-gone-NN` that ask for `/case` and pass on 200.
fn ok_cases(count: usize) -> (TempDir, Vec<String>) {
    let ids: Vec<String> = (1..=count)
        .map(|i| format!("rfc9110-9.3-gone-{i:02}"))
        .collect();
    let files: Vec<CaseFile> = ids
        .iter()
        .map(|id| {
            CaseFile::new(id)
                .group("method")
                .request(r"GET /case HTTP/1.1\r\nHost: {host}\r\n\r\n")
                .pass(&["200"])
        })
        .collect();
    (case_dir_of(&files), ids)
}

/// Answers one request on `stream` with 200 and `Connection: close`,
/// then closes (half-close first, so the answer is not lost to a reset).
/// `before_answer` runs once the request is read and before it is
/// answered, told whether it was a case's request (for `/case`).
fn answer_one(stream: TcpStream, before_answer: impl FnOnce(bool)) {
    let mut requests = Requests::new(stream);
    let Some(head) = requests.next_head() else {
        return;
    };
    let head = Head::parse(&head);
    before_answer(head.target() == Some("/case"));
    let status = match head.target() {
        Some(CONTROL_PATH) | Some("/case") => "200 OK",
        _ => "404 Not Found",
    };
    let _ = requests
        .stream()
        .write_all(&response(status, "Connection: close\r\n"));
    let _ = requests.stream().shutdown(Shutdown::Write);
    drain(requests.stream());
}

/// Answers the control and `cases` case requests, then stops listening
/// for good (the listening socket shut, as when its process dies): later
/// connects are refused. The listener is shut before the last case's
/// answer is written, so no later connect can slip in ahead of it.
fn dies_after(cases: usize) -> SocketAddr {
    let listener = Arc::new(TcpListener::bind("127.0.0.1:0").expect("bind"));
    let addr = listener.local_addr().expect("addr");
    let answered = Arc::new(AtomicUsize::new(0));
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let listener = Arc::clone(&listener);
            let answered = Arc::clone(&answered);
            thread::spawn(move || {
                answer_one(stream, |case| {
                    if case && answered.fetch_add(1, Ordering::SeqCst) + 1 == cases {
                        // Shutting a listening socket ends its accept and
                        // makes it refuse new connections (Linux).
                        let _ = socket2::SockRef::from(&*listener).shutdown(Shutdown::Read);
                    }
                });
            });
        }
    });
    addr
}

#[test]
fn target_gone_part_way_then_exit_3_one_line_and_the_rest_not_run() {
    let (dir, ids) = ok_cases(6);
    let addr = dies_after(3);
    let assert = conformance(dir.path())
        .args(["run", "--target", &addr.to_string(), "--path", CONTROL_PATH])
        .args([
            "--jobs",
            "1",
            "--timeout",
            "2000",
            "--format",
            "json",
            "--quiet",
        ])
        .assert()
        .code(3);
    let output = assert.get_output();
    assert_eq!(
        mask_seconds(&String::from_utf8_lossy(&output.stderr)),
        format!(
            "conformance: {addr} went away [s] s into the run (it no longer accepts \
             connections): 3 of 6 cases graded, 3 not run\n"
        )
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let graded: Vec<(&str, &str)> = json["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["grade"].as_str().unwrap()))
        .collect();
    assert_eq!(
        graded,
        ids[..3]
            .iter()
            .map(|id| (id.as_str(), "pass"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        mask_seconds(json["not_run"]["reason"].as_str().unwrap()),
        "the target went away [s] s into the run"
    );
    assert_eq!(json["not_run"]["ids"], serde_json::json!(ids[3..]));
    // The fourth case found the target gone: abandoned, not graded.
    assert_eq!(json["not_run"]["interrupted"], serde_json::json!(ids[3..4]));
    let schema = crate::reports::report_schema();
    assert_eq!(
        crate::reports::schema_errors(&schema, &json),
        Vec::<String>::new()
    );
}

#[test]
fn target_gone_part_way_then_the_text_report_lists_the_rest_not_run() {
    let (dir, ids) = ok_cases(4);
    let addr = dies_after(2);
    let assert = conformance(dir.path())
        .args(["run", "--target", &addr.to_string(), "--path", CONTROL_PATH])
        .args(["--jobs", "1", "--quiet"])
        .assert()
        .code(3);
    let report = mask_seconds(&String::from_utf8_lossy(&assert.get_output().stdout));
    let not_run = format!(
        "\nnot run (the target went away [s] s into the run): 2 of 4 cases\n  {}  (under way: \
         abandoned, not graded)\n  {}\n",
        ids[2], ids[3]
    );
    assert!(report.contains(&not_run), "{not_run}\nnot in\n{report}");
}

#[test]
fn one_case_reset_then_graded_and_the_run_goes_on_not_exit_3() {
    // The second case's connection is reset; the target still listens, so
    // the reset is that case's answer (it fails), not a target gone.
    let (dir, ids) = ok_cases(3);
    let seen = Arc::new(AtomicUsize::new(0));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let seen = Arc::clone(&seen);
            thread::spawn(move || {
                let mut requests = Requests::new(stream);
                let Some(head) = requests.next_head() else {
                    return;
                };
                let head = Head::parse(&head);
                let status = match head.target() {
                    Some("/case") if seen.fetch_add(1, Ordering::SeqCst) == 1 => {
                        let sock = socket2::SockRef::from(&*requests.stream());
                        let _ = sock.set_linger(Some(Duration::ZERO));
                        return;
                    }
                    Some(CONTROL_PATH) | Some("/case") => "200 OK",
                    _ => "404 Not Found",
                };
                let _ = requests
                    .stream()
                    .write_all(&response(status, "Connection: close\r\n"));
                let _ = requests.stream().shutdown(Shutdown::Write);
                drain(requests.stream());
            });
        }
    });
    let assert = conformance(dir.path())
        .args(["run", "--target", &addr.to_string(), "--path", CONTROL_PATH])
        .args(["--jobs", "1", "--format", "json", "--quiet"])
        .assert()
        .code(1)
        .stderr("");
    let json: serde_json::Value =
        serde_json::from_slice(&assert.get_output().stdout).expect("JSON");
    let graded: Vec<(&str, &str)> = json["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["grade"].as_str().unwrap()))
        .collect();
    assert_eq!(
        graded,
        [
            (ids[0].as_str(), "pass"),
            (ids[1].as_str(), "fail"),
            (ids[2].as_str(), "pass")
        ]
    );
    assert_eq!(json["not_run"], serde_json::Value::Null);
}

#[test]
fn jobs_over_the_open_file_limit_then_clamped_with_a_note() {
    let (dir, _) = ok_cases(40);
    let responder = answer_then_close("200 OK");
    // `ulimit -n` sets the soft and the hard limit: nothing to raise.
    let run = format!(
        "ulimit -n 40 && exec '{}' --cases '{}' run --target {} --path {CONTROL_PATH} --jobs \
         100 --format json --output '{}'",
        env!("CARGO_BIN_EXE_conformance"),
        dir.path().display(),
        responder.target(),
        dir.path().join("report.json").display()
    );
    let output = Command::new("sh").args(["-c", &run]).output().expect("sh");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let note = stderr.lines().next().unwrap_or_default();
    // Room: 40 files less those open at the start and a spare 8.
    let room: usize = note
        .strip_prefix(
            "--jobs 100 is more than the open-file limit (ulimit -n 40) leaves room for: \
             running ",
        )
        .and_then(|rest| rest.strip_suffix(" cases at once"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no clamp note in {stderr}"));
    assert!((1..=32).contains(&room), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

#[test]
fn open_file_limit_too_low_for_one_case_then_exit_2() {
    let (dir, _) = ok_cases(2);
    let run = format!(
        "ulimit -n 10 && exec '{}' --cases '{}' run --target 127.0.0.1:9",
        env!("CARGO_BIN_EXE_conformance"),
        dir.path().display()
    );
    let output = Command::new("sh").args(["-c", &run]).output().expect("sh");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("conformance: the open-file limit (ulimit -n) is 10, too low to run a case: a run needs ")
            && stderr.ends_with(" files open for one case at a time; raise it with ulimit -n\n"),
        "{stderr}"
    );
}

/// Cases whose requests the slow responder holds: each would wait out
/// `--timeout`.
fn held_cases(count: usize) -> (TempDir, Vec<String>) {
    let ids: Vec<String> = (1..=count)
        .map(|i| format!("rfc9112-9.3-held-{i:02}"))
        .collect();
    let files: Vec<CaseFile> = ids
        .iter()
        .map(|id| {
            CaseFile::new(id)
                .group("connection")
                .request(r"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .pass(&["timeout"])
        })
        .collect();
    (case_dir_of(&files), ids)
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--cases")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn conformance")
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
}

#[test]
fn sigterm_with_a_long_timeout_then_cases_under_way_abandoned_at_once() {
    let (dir, ids) = held_cases(6);
    let (held, requests) = mpsc::channel();
    let responder = slow_responder_telling(held);
    let target = responder.target();
    let mut child = spawn(
        dir.path(),
        &[
            "run",
            "--target",
            &target,
            "--path",
            CONTROL_PATH,
            "--timeout",
            "20000",
            "--jobs",
            "2",
            "--format",
            "json",
            "--quiet",
        ],
    );
    // Both jobs' requests have arrived: two cases are under way, each
    // waiting up to 20 s for an answer that never comes.
    for _ in 0..2 {
        requests.recv().expect("a case's request");
    }
    let sent = Instant::now();
    signal(&child, "TERM");
    let status = child.wait().expect("wait");
    let took = sent.elapsed();
    eprintln!("SIGTERM to exit: {took:?}");
    // 2 s is the promise; the bound is loose for a loaded machine, and
    // still far below the 20 s the cases would have waited.
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(status.code(), Some(143));
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut stdout)
        .expect("read");
    let json: serde_json::Value = serde_json::from_slice(&stdout).expect("JSON");
    assert_eq!(json["cases"], serde_json::json!([]));
    assert_eq!(json["not_run"]["reason"], "interrupted by SIGTERM");
    assert_eq!(json["not_run"]["ids"], serde_json::json!(ids));
    assert_eq!(json["not_run"]["interrupted"], serde_json::json!(ids[..2]));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    assert_eq!(
        stderr,
        "conformance: interrupted by SIGTERM: 6 of 6 cases not run\n"
    );
}

#[test]
fn second_signal_then_exit_at_once_even_while_the_report_is_written() {
    // The first case is answered with a body bigger than a pipe holds, so
    // its JSON report blocks on a standard output nobody reads; only the
    // second signal can end the run then.
    let big = "x".repeat(200 * 1024);
    let mut files: Vec<CaseFile> = (1..=3)
        .map(|i| {
            CaseFile::new(&format!("rfc9110-9.3-big-{i}"))
                .group("method")
                .request(r"GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .pass(&["200"])
        })
        .collect();
    files.push(
        CaseFile::new("rfc9112-9.3-held")
            .group("connection")
            .request(r"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["timeout"]),
    );
    let dir = case_dir_of(&files);
    let (held, requests) = mpsc::channel();
    let held = std::sync::Mutex::new(held);
    let responder = crate::support::Responder::start(move |stream| {
        let mut requests = Requests::new(stream);
        while let Some(head) = requests.next_head() {
            let answer = match Head::parse(&head).target() {
                Some("/big") => response_with("200 OK", "", big.as_bytes(), false, ""),
                Some("/slow") => {
                    let _ = held.lock().map(|held| held.send(()));
                    drain(requests.stream());
                    return;
                }
                _ => response("200 OK", ""),
            };
            if requests.stream().write_all(&answer).is_err() {
                return;
            }
        }
    });
    let target = responder.target();
    let mut child = spawn(
        dir.path(),
        &[
            "run",
            "--target",
            &target,
            "--path",
            CONTROL_PATH,
            "--timeout",
            "20000",
            "--jobs",
            "1",
            "--format",
            "json",
            "--quiet",
        ],
    );
    requests.recv().expect("the held case's request");
    signal(&child, "TERM");
    signal(&child, "TERM");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(143));
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut stdout)
        .expect("read");
    // What reached the pipe before the exit is not a whole report.
    assert!(serde_json::from_slice::<serde_json::Value>(&stdout).is_err());
}
