//! Running cases: concurrency, order, connections with several steps, and
//! the snapshot rendering of what came back.

use crate::support::{drain, response, unused_addr, CaseFile, Requests, Responder, Step};
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
            CaseFile::new(&format!("rfc9112-9.{i}-slow"))
                .group("connection")
                .request(r"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .pass(&["timeout"])
                .case()
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
    let case = CaseFile::new("rfc9112-9.3.2-pipelined")
        .group("connection")
        .step(
            Step::send(
                r"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\nHEAD /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n",
            )
            .pass(&["200"])
            .checks(&["content-length"]),
        )
        .step(Step::read().pass(&["200"]).checks(&["content-length"]))
        .step(
            Step::send(r"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .pass(&["200"])
                .checks(&["content-length", "closed", "close-header", "date"]),
        )
        .case();
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
    let case = CaseFile::new("rfc9112-2.2-fragmented")
        .group("connection")
        .step(Step::send("GET /hello.txt HT"))
        .step(
            Step::send(r"TP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .after_ms(30)
                .pass(&["200"])
                .checks(&["closed"]),
        )
        .case();
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
    let case = CaseFile::new("rfc9110-9.3.2-head-no-body")
        .group("connection")
        .request(r"HEAD / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .pass(&["200"])
        .checks(&["no-body"])
        .case();
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
    let case = CaseFile::new("rfc9112-9-refused")
        .group("connection")
        .request(r"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .pass(&["200"])
        .case();
    let result = run_case(unused_addr(), &case, &options(1));
    assert_eq!(result.grade, Grade::Error);
}

#[test]
fn snapshot_of_steps_then_heads_escaped_and_redacted() {
    let responder = file_server();
    let case = CaseFile::new("rfc9112-9.3-two-requests")
        .group("connection")
        .step(Step::send(r"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n").pass(&["200"]))
        .step(
            Step::send(r"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .pass(&["200"]),
        )
        .step(Step::read().pass(&["close"]))
        .case();
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
