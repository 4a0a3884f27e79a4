//! What decides a run's exit code and what it selects: the documented exit
//! codes, a target that goes away after its control, `--group`, `--id`,
//! `--fail-on`, and `--color` with `NO_COLOR`.

use crate::support::{
    answer_then_close, case_dir_of, conformance, graded_lines, response, rules_held, rules_held_as,
    stdout_with_code, CaseFile, Requests, Responder, CONTROL_OF_ANSWER_THEN_CLOSE, CONTROL_PATH,
};
use std::io::Write;
use std::net::{Shutdown, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use tempfile::TempDir;

const MISSING_HOST: &str = "rfc9112-3.2-missing-host";
const GET_SUPPORTED: &str = "rfc9110-9.1-get-supported";
const CLOSE_HONOURED: &str = "rfc9112-9.6-close-honoured";

/// Three cases: against [`answer_then_close`] with 400, one passes (must),
/// one fails (must), one warns (should).
fn cases() -> TempDir {
    case_dir_of(&[
        CaseFile::new(MISSING_HOST)
            .group("host")
            .request(r"GET / HTTP/1.1\r\n\r\n")
            .pass(&["400"]),
        CaseFile::new(GET_SUPPORTED)
            .group("method")
            .request(r"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["200"]),
        CaseFile::new(CLOSE_HONOURED)
            .group("connection")
            .level("should")
            .request(r"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .pass(&["200"]),
    ])
}

fn run(dir: &TempDir, responder: &Responder) -> assert_cmd::Command {
    let mut cmd = conformance(dir.path());
    cmd.args([
        "run",
        "--target",
        &responder.target(),
        "--path",
        CONTROL_PATH,
    ]);
    cmd.args(["--timeout", "300"]);
    cmd
}

/// `(code, meaning)` rows of the "Exit codes:" block of `run --help`.
fn help_exit_codes() -> Vec<(String, String)> {
    let help = stdout_with_code(conformance(cases().path()).args(["run", "--help"]), 0);
    let block = help
        .split_once("Exit codes:\n")
        .map(|(_, rest)| rest)
        .expect("an Exit codes block");
    block
        .lines()
        .take_while(|line| line.starts_with("  "))
        .map(|line| {
            let (code, meaning) = line.trim().split_once(' ').expect("code and meaning");
            (code.to_string(), meaning.trim().to_string())
        })
        .collect()
}

/// `(code, meaning)` rows of the exit-code table in `docs/cli.md`, backticks
/// dropped.
fn manual_exit_codes() -> Vec<(String, String)> {
    let manual = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cli.md"))
        .expect("docs/cli.md");
    let table = manual
        .split_once("| exit | meaning |\n|---|---|\n")
        .map(|(_, rest)| rest)
        .expect("the exit-code table");
    table
        .lines()
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            (
                cells[0].trim().to_string(),
                cells[1].trim().replace('`', ""),
            )
        })
        .collect()
}

#[test]
fn help_and_cli_manual_then_the_same_exit_codes() {
    let help = help_exit_codes();
    let codes: Vec<&str> = help.iter().map(|(code, _)| code.as_str()).collect();
    assert_eq!(
        codes,
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "130", "143"]
    );
    assert_eq!(help, manual_exit_codes());
}

/// Answers the control requests, then closes every later connection
/// unanswered; with `refuse`, it also stops listening, so connections after
/// that are refused.
fn gone_after_control(refuse: bool) -> (std::net::SocketAddr, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let gone = Arc::new(AtomicBool::new(false));
    let accept = thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            if gone.load(Ordering::SeqCst) {
                let _ = stream.shutdown(Shutdown::Both);
                if refuse {
                    return;
                }
                continue;
            }
            let gone = Arc::clone(&gone);
            thread::spawn(move || {
                let mut requests = Requests::new(stream);
                while let Some(head) = requests.next_head() {
                    let control = [
                        format!("GET {CONTROL_PATH} "),
                        format!("HEAD {CONTROL_PATH} "),
                    ]
                    .iter()
                    .any(|start| head.starts_with(start.as_bytes()));
                    if !control || gone.load(Ordering::SeqCst) {
                        gone.store(true, Ordering::SeqCst);
                        return;
                    }
                    if requests
                        .stream()
                        .write_all(&response("200 OK", ""))
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (addr, accept)
}

/// Cases that a close or a reset passes: a dead server would pass them all.
fn close_passes() -> TempDir {
    let cases = ["a", "b", "c"].map(|letter| {
        CaseFile::new(&format!("rfc9112-6.3-close-{letter}"))
            .group("framing")
            .request(r"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n")
            .pass(&["400", "close", "reset"])
    });
    case_dir_of(&cases)
}

#[test]
fn target_closing_every_connection_after_its_control_then_exit_3() {
    for refuse in [false, true] {
        let dir = close_passes();
        let (addr, accept) = gone_after_control(refuse);
        let assert = conformance(dir.path())
            .args(["run", "--target", &addr.to_string(), "--path", CONTROL_PATH])
            .args(["--timeout", "300", "--jobs", "1"])
            .assert()
            .code(3);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        if refuse {
            // Refused connections: the target went away, found at the
            // first case, which is not run either.
            assert_eq!(
                crate::stop::mask_seconds(&stderr),
                format!(
                    "conformance: {addr} went away [s] s into the run (it no longer accepts \
                     connections): 0 of 3 cases graded, 3 not run\n"
                ),
                "refuse {refuse}"
            );
        } else {
            // Closed unanswered while still accepting: the control again.
            assert_eq!(
                stderr,
                format!(
                    "conformance: {addr} went away: it answered the control, then no case; asked \
                     the control again: the target closed the connection without answering the \
                     control GET\n"
                )
            );
        }
        if !refuse {
            // Nothing stops its accept loop but the end of the test process.
            drop(accept);
        } else {
            let _ = accept.join();
        }
    }
}

#[test]
fn target_answering_after_cases_that_closed_then_grades_stand() {
    // The same cases against a server that closes on them but still answers
    // the control: the closes are its answers, and they pass.
    let dir = close_passes();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(
        conformance(dir.path())
            .args([
                "run",
                "--target",
                &responder.target(),
                "--path",
                CONTROL_PATH,
            ])
            .args(["--timeout", "300"]),
        0,
    );
    assert_eq!(
        out,
        format!(
            "conformance of {}, 3 cases\n\
             {CONTROL_OF_ANSWER_THEN_CLOSE}\n\
             PASS  rfc9112-6.3-close-a  400 Bad Request\n\
             PASS  rfc9112-6.3-close-b  400 Bad Request\n\
             PASS  rfc9112-6.3-close-c  400 Bad Request\n\
             \n\
             {}\
             \n\
             group           pass  warn  fail  info  skip error\n\
             framing            3     0     0     0     0     0\n\
             \n\
             3 passed, 0 warned, 0 failed\n",
            responder.target(),
            rules_held("3 responses")
        )
    );
}

#[test]
fn group_then_only_its_cases() {
    let dir = cases();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(
        run(&dir, &responder).args(["--group", "host", "--group", "connection"]),
        0,
    );
    assert_eq!(
        out,
        format!(
            "conformance of {}, 2 cases\n\
             {CONTROL_OF_ANSWER_THEN_CLOSE}\n\
             PASS  {MISSING_HOST}    400 Bad Request\n\
             WARN  {CLOSE_HONOURED}  400 Bad Request\n\
             \n\
             why each case warned:\n\
             \x20 conformance explain {CLOSE_HONOURED}\n\
             \n\
             {}\
             \n\
             group           pass  warn  fail  info  skip error\n\
             host               1     0     0     0     0     0\n\
             connection         0     1     0     0     0     0\n\
             \n\
             1 passed, 1 warned, 0 failed\n",
            responder.target(),
            rules_held("2 responses")
        )
    );
}

#[test]
fn unknown_group_then_exit_2_with_the_groups_and_a_near_one() {
    let dir = cases();
    conformance(dir.path())
        .args(["run", "--target", "127.0.0.1:1", "--group", "hots"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            "conformance: invalid value 'hots' for '--group <GROUP>'\n\
             \x20 [possible values: request-line, target, version, method, host, fields, \
             line-endings, limits, framing, connection, path, response-head, expect, \
             conditional, range, upgrade]\n\
             \x20 tip: a similar value exists: 'host'\n\
             \x20 Usage: conformance run [OPTIONS] --target <HOST:PORT>\n",
        );
}

#[test]
fn id_then_exactly_that_case() {
    let dir = cases();
    let responder = answer_then_close("400 Bad Request");
    let out = stdout_with_code(run(&dir, &responder).args(["--id", GET_SUPPORTED]), 1);
    assert_eq!(
        graded_lines(&out),
        [
            &format!("FAIL  {GET_SUPPORTED}  400 Bad Request"),
            "0 passed, 0 warned, 1 failed"
        ],
        "{out}"
    );
    // An id is exact: a prefix of one names no case.
    conformance(dir.path())
        .args(["run", "--target", "127.0.0.1:1", "--id", "rfc9110-9.1-get"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(format!(
            "conformance: no case `rfc9110-9.1-get`; did you mean {GET_SUPPORTED}?\n"
        ));
}

#[test]
fn fail_on_should_then_a_warn_exits_1() {
    let dir = cases();
    let responder = answer_then_close("400 Bad Request");
    let selection = ["--group", "host", "--group", "connection"];
    stdout_with_code(run(&dir, &responder).args(selection), 0);
    stdout_with_code(
        run(&dir, &responder)
            .args(selection)
            .args(["--fail-on", "must"]),
        0,
    );
    stdout_with_code(
        run(&dir, &responder)
            .args(selection)
            .args(["--fail-on", "should"]),
        1,
    );
}

/// The text report of a run of `--group host` against `responder`, the
/// grade word written `pass` (the case's and each response rule's), the
/// outcome `outcome`.
fn host_report(responder: &Responder, pass: &str, outcome: &str) -> String {
    format!(
        "conformance of {}, 1 case\n\
         {CONTROL_OF_ANSWER_THEN_CLOSE}\n\
         {pass}  {MISSING_HOST}  {outcome}\n\
         \n\
         {}\
         \n\
         group           pass  warn  fail  info  skip error\n\
         host               1     0     0     0     0     0\n\
         \n\
         1 passed, 0 warned, 0 failed\n",
        responder.target(),
        rules_held_as(pass, "held on 1 response")
    )
}

#[test]
fn color_always_then_grade_words_coloured_and_server_bytes_not() {
    let dir = cases();
    // A reason phrase made of grade words. (Escaping the server's own
    // control bytes is the renderer's job, tested with the hostile responders.)
    let responder = answer_then_close("400 FAIL PASS");
    let out = stdout_with_code(
        run(&dir, &responder).args(["--group", "host", "--color", "always"]),
        0,
    );
    // Only the grade word is coloured.
    assert_eq!(
        out,
        host_report(&responder, "\x1b[32mPASS\x1b[0m", "400 FAIL PASS")
    );
}

#[test]
fn color_auto_or_never_off_a_terminal_then_no_colour() {
    let dir = cases();
    let responder = answer_then_close("400 Bad Request");
    for choice in ["auto", "never"] {
        let out = stdout_with_code(
            run(&dir, &responder).args(["--group", "host", "--color", choice]),
            0,
        );
        assert_eq!(
            out,
            host_report(&responder, "PASS", "400 Bad Request"),
            "{choice}"
        );
    }
    // NO_COLOR speaks for auto only; --color always is the user asking.
    let out = stdout_with_code(
        run(&dir, &responder)
            .args(["--group", "host", "--color", "always"])
            .env("NO_COLOR", "1"),
        0,
    );
    assert_eq!(
        out,
        host_report(&responder, "\x1b[32mPASS\x1b[0m", "400 Bad Request")
    );
}
