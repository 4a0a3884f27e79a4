//! Running cases: concurrency, order, connections with several steps, and
//! the snapshot rendering of what came back.

use crate::support::{case_from, case_text, drain, response, unused_addr, Requests, Responder};
use conformance::run::{run_case, run_cases, RunOptions};
use conformance::snapshot::{self, SnapshotOptions};
use conformance::wire::Outcome;
use conformance::{Case, Grade};
use std::io::Write;
use std::net::Shutdown;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_millis(300);

fn options(jobs: usize) -> RunOptions {
    RunOptions {
        timeout: TIMEOUT,
        jobs,
        timeout_cap: None,
        ..RunOptions::default()
    }
}

fn get_case(id: &str, level: &str, body: &str) -> Case {
    case_from(id, &case_text(id, level, "connection", body))
}

/// Serves `/hello.txt`-like answers: every head gets `200` with a 14-byte
/// body (none for HEAD); a head with `Connection: close` is answered with
/// `Connection: close` and the connection is closed after it.
fn file_server() -> Responder {
    Responder::start(|stream| {
        let mut requests = Requests::new(stream);
        while let Some(head) = requests.next_head() {
            let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
            let close = text.contains("connection: close");
            let mut answer = format!(
                "HTTP/1.1 200 OK\r\nDate: {}\r\nETag: \"abc\"\r\nContent-Length: 14\r\n{}\r\n",
                conformance::date::format_imf_fixdate(std::time::SystemTime::now()),
                if close { "Connection: close\r\n" } else { "" }
            )
            .into_bytes();
            if !text.starts_with("head ") {
                answer.extend_from_slice(b"Hello, world!\n");
            }
            if requests.stream().write_all(&answer).is_err() {
                return;
            }
            if close {
                let _ = requests.stream().shutdown(Shutdown::Write);
                drain(requests.stream());
                return;
            }
        }
    })
}

#[test]
fn slow_cases_then_cost_one_timeout_not_the_sum_and_keep_order() {
    let responder = Responder::start(|mut stream| drain(&mut stream));
    let cases: Vec<Case> = (0..8)
        .map(|i| {
            get_case(
                &format!("rfc9112-9.{i}-slow"),
                "must",
                "request = 'GET / HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n'\n[expect]\npass = [\"timeout\"]\n",
            )
        })
        .collect();
    let started = Instant::now();
    let results = run_cases(responder.addr(), &cases, &options(8));
    let elapsed = started.elapsed();
    assert!(elapsed < TIMEOUT * 3, "took {elapsed:?}");
    let ids: Vec<&str> = results.iter().map(|r| r.case.id.as_str()).collect();
    let expected: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, expected);
    assert!(results.iter().all(|r| r.grade == Grade::Pass));
}

#[test]
fn pipelined_requests_then_each_response_read_in_turn() {
    let responder = file_server();
    let case = get_case(
        "rfc9112-9.3.2-pipelined",
        "must",
        r#"[[steps]]
send = 'GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\nHEAD /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n'
expect = { pass = ["200"], checks = ["content-length"] }
[[steps]]
expect = { pass = ["200"], checks = ["content-length"] }
[[steps]]
send = 'GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
expect = { pass = ["200"], checks = ["content-length", "closed", "close-header", "date"] }
"#,
    );
    let result = run_case(responder.addr(), &case, &options(1));
    assert_eq!(result.grade, Grade::Pass, "{result:#?}");
    let bodies: Vec<u64> = result
        .steps
        .iter()
        .map(|s| match &s.exchange.outcome {
            Some(Outcome::Response(r)) => r.body_len,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(bodies, [14, 0, 14], "the HEAD response has no body");
}

#[test]
fn fragmented_request_then_written_in_steps() {
    let responder = file_server();
    let case = get_case(
        "rfc9112-2.2-fragmented",
        "must",
        r#"[[steps]]
send = 'GET /hello.txt HT'
[[steps]]
pause_ms = 30
send = 'TP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
expect = { pass = ["200"], checks = ["closed"] }
"#,
    );
    let result = run_case(responder.addr(), &case, &options(1));
    assert_eq!(result.grade, Grade::Pass, "{result:#?}");
    assert!(
        result.steps[0].verdict.is_none(),
        "a write-only step is not graded"
    );
    assert!(result.elapsed >= Duration::from_millis(30));
}

#[test]
fn head_with_no_body_check_then_extra_bytes_fail_it() {
    // A server that sends a body in reply to HEAD.
    let responder = Responder::start(|stream| {
        let mut requests = Requests::new(stream);
        if requests.next_head().is_some() {
            let mut answer = response("200 OK", "Connection: close\r\n");
            answer.extend_from_slice(b"a body that must not be here");
            let _ = requests.stream().write_all(&answer);
        }
    });
    let case = get_case(
        "rfc9110-9.3.2-head-no-body",
        "must",
        "request = 'HEAD / HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n'\n\
         [expect]\npass = [\"200\"]\nchecks = [\"no-body\"]\n",
    );
    let result = run_case(responder.addr(), &case, &options(1));
    assert_eq!(result.grade, Grade::Fail);
    let verdict = result.steps[0].verdict.as_ref().expect("verdict");
    let broken: Vec<_> = verdict.broken_checks().collect();
    assert_eq!(
        broken,
        [(conformance::Check::NoBody, "28 bytes followed the head")]
    );
}

#[test]
fn unreachable_target_then_error_never_fail() {
    let case = get_case(
        "rfc9112-9-refused",
        "must",
        "request = 'GET / HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n'\n[expect]\npass = [\"200\"]\n",
    );
    let result = run_case(unused_addr(), &case, &options(1));
    assert_eq!(result.grade, Grade::Error);
}

#[test]
fn snapshot_of_steps_then_heads_escaped_and_redacted() {
    let responder = file_server();
    let case = get_case(
        "rfc9112-9.3-two-requests",
        "must",
        r#"[[steps]]
send = 'GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n'
expect = { pass = ["200"] }
[[steps]]
send = 'GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
expect = { pass = ["200"] }
[[steps]]
expect = { pass = ["close"] }
"#,
    );
    let result = run_case(responder.addr(), &case, &options(1));
    let rendered = snapshot::render(&result, &SnapshotOptions::default());
    assert_eq!(
        rendered,
        "--- step 1 ---\n\
         HTTP/1.1 200 OK\\r\\n\n\
         Date: [redacted]\\r\\n\n\
         ETag: [redacted]\\r\\n\n\
         Content-Length: 14\\r\\n\n\
         \\r\\n\n\
         [body: 14 bytes]\n\
         --- step 2 ---\n\
         HTTP/1.1 200 OK\\r\\n\n\
         Date: [redacted]\\r\\n\n\
         ETag: [redacted]\\r\\n\n\
         Content-Length: 14\\r\\n\n\
         Connection: close\\r\\n\n\
         \\r\\n\n\
         [body: 14 bytes]\n\
         --- step 3 ---\n\
         [closed]\n"
    );
}
