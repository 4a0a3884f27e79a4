//! Hostile servers: each case still ends within its timeout, keeps bounded
//! memory, and grades `fail` (or `error`), never hangs.

use crate::support::{drain, response, write_forever, CaseFile, Requests, Responder};
use conformance::limits;
use conformance::run::{run_case, CaseResult, RunOptions};
use conformance::wire::{BodyEnd, Outcome};
use conformance::{Case, Grade};
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_millis(300);
/// Room for scheduling on a loaded machine; a hang would take far longer.
const SLACK: Duration = Duration::from_millis(5000);

/// A `must` case that wants `400` with the usual checks.
fn missing_host_case() -> Case {
    CaseFile::new("rfc9112-3.2-missing-host")
        .group("host")
        .request(r"GET /hello.txt HTTP/1.1\r\n\r\n")
        .pass(&["400"])
        .checks(&["date", "content-length", "closed"])
        .case()
}

fn run_against<'c>(responder: &Responder, case: &'c Case) -> CaseResult<'c> {
    let options = RunOptions {
        timeout: TIMEOUT,
        jobs: 1,
        timeout_cap: None,
        ..RunOptions::default()
    };
    run_case(responder.addr(), case, &options)
}

fn assert_bounded_failure(result: &CaseResult<'_>) {
    assert!(
        matches!(result.grade, Grade::Fail | Grade::Error),
        "graded {:?}: {:?}",
        result.grade,
        result.steps[0].exchange.outcome
    );
    assert!(
        result.elapsed < TIMEOUT + SLACK,
        "took {:?}",
        result.elapsed
    );
    for step in &result.steps {
        assert!(step.exchange.received.len() <= limits::RECORD_LIMIT);
        if let Some(Outcome::Response(r)) = &step.exchange.outcome {
            assert!(r.body.len() <= limits::BODY_KEEP);
            assert!(r.head.len() <= limits::HEAD_LIMIT + 64 * 1024);
        }
    }
}

fn outcome<'r>(result: &'r CaseResult<'_>) -> &'r Outcome {
    result.steps[0]
        .exchange
        .outcome
        .as_ref()
        .expect("a reading step")
}

#[test]
fn headers_forever_then_invalid_head_too_long() {
    let responder = Responder::start(|mut stream| {
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n");
        write_forever(
            &mut stream,
            b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        );
    });
    let case = missing_host_case();
    let result = run_against(&responder, &case);
    assert_bounded_failure(&result);
    assert_eq!(
        outcome(&result),
        &Outcome::Invalid {
            reason: format!("response head longer than {} bytes", limits::HEAD_LIMIT)
        }
    );
}

#[test]
fn endless_content_length_body_then_truncated_and_fail() {
    let responder = Responder::start(|mut stream| {
        let _ =
            stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 999999999999\r\n\r\n");
        write_forever(&mut stream, &[b'x'; 65536]);
    });
    let case = missing_host_case();
    let result = run_against(&responder, &case);
    assert_bounded_failure(&result);
    match outcome(&result) {
        Outcome::Response(r) => {
            assert!(matches!(r.body_end, BodyEnd::Truncated | BodyEnd::Deadline));
            assert!(r.body_len <= limits::BODY_READ_LIMIT);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn endless_chunked_body_then_truncated_and_fail() {
    let responder = Responder::start(|mut stream| {
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n");
        let mut chunk = b"8000\r\n".to_vec();
        chunk.extend_from_slice(&[b'y'; 0x8000]);
        chunk.extend_from_slice(b"\r\n");
        write_forever(&mut stream, &chunk);
    });
    let case = missing_host_case();
    let result = run_against(&responder, &case);
    assert_bounded_failure(&result);
}

#[test]
fn endless_close_delimited_body_then_bounded() {
    let responder = Responder::start(|mut stream| {
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        write_forever(&mut stream, &[b'z'; 65536]);
    });
    let case = missing_host_case();
    let result = run_against(&responder, &case);
    assert_bounded_failure(&result);
}

#[test]
fn silent_server_that_never_closes_then_timeout() {
    let responder = Responder::start(|mut stream| drain(&mut stream));
    let case = missing_host_case();
    let result = run_against(&responder, &case);
    assert_bounded_failure(&result);
    assert_eq!(outcome(&result), &Outcome::Timeout);
    assert!(result.elapsed >= TIMEOUT);
}

#[test]
fn trickling_head_then_deadline_for_the_whole_step() {
    // One byte at a time, each well inside a per-read timeout: only a
    // deadline for the whole step ends this.
    let responder = Responder::start(|mut stream| {
        let mut requests = Requests::new(stream.try_clone().expect("clone"));
        let _ = requests.next_head();
        // The pace: between two bytes, wait up to 20 ms for the client to
        // give up (its close ends the wait, and the responder, at once).
        if stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .is_err()
        {
            return;
        }
        for byte in b"HTTP/1.1 400 Bad Request\r\nX: ".iter().cycle() {
            if stream.write_all(&[*byte]).is_err() {
                return;
            }
            match stream.read(&mut [0u8; 64]) {
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Ok(n) if n > 0 => {}
                _ => return,
            }
        }
    });
    let case = missing_host_case();
    let result = run_against(&responder, &case);
    assert_bounded_failure(&result);
    // How many bytes came before the deadline depends on the scheduler.
    let Outcome::Invalid { reason } = outcome(&result) else {
        panic!("{:?}", outcome(&result));
    };
    let bytes = reason
        .strip_prefix("deadline passed after ")
        .and_then(|rest| rest.strip_suffix(" bytes of a response head"))
        .and_then(|n| n.parse::<usize>().ok());
    assert!(bytes.is_some_and(|n| n > 0), "{reason}");
}

#[test]
fn garbage_then_invalid() {
    let responder = Responder::start(|mut stream| {
        let mut chunk = [0u8; 1024];
        let _ = stream.read(&mut chunk);
        write_forever(&mut stream, b"\x00\xff\xfe garbage \x1b[31m");
    });
    let case = missing_host_case();
    let result = run_against(&responder, &case);
    assert_bounded_failure(&result);
    // What the reason quotes of the bytes depends on how they were read.
    let Outcome::Invalid { reason } = outcome(&result) else {
        panic!("{:?}", outcome(&result));
    };
    assert!(
        reason.starts_with(r#"not an HTTP response: starts with "\x00\xff\xfe garbage \x1b[31m"#),
        "{reason}"
    );
}

#[test]
fn reset_without_response_then_reset_outcome() {
    let responder = Responder::start(|stream| {
        // Closing with the request unread makes the kernel send a reset.
        let mut peek = [0u8; 1];
        let _ = stream.peek(&mut peek);
        drop(stream);
    });
    let case = missing_host_case();
    let result = run_against(&responder, &case);
    assert_bounded_failure(&result);
    assert!(
        matches!(outcome(&result), Outcome::Reset | Outcome::Closed),
        "{:?}",
        outcome(&result)
    );
}

#[test]
fn endless_interim_responses_then_invalid() {
    let responder = Responder::start(|mut stream| {
        let mut chunk = [0u8; 1024];
        let _ = stream.read(&mut chunk);
        write_forever(&mut stream, b"HTTP/1.1 100 Continue\r\n\r\n");
    });
    let case = missing_host_case();
    let result = run_against(&responder, &case);
    assert_bounded_failure(&result);
    assert_eq!(
        outcome(&result),
        &Outcome::Invalid {
            reason: "more than 8 interim (1xx) responses".to_string()
        }
    );
}

#[test]
fn right_answer_then_endless_bytes_then_closed_check_fails() {
    let responder = Responder::start(|mut stream| {
        let mut chunk = [0u8; 1024];
        let _ = stream.read(&mut chunk);
        let _ = stream.write_all(&response("400 Bad Request", ""));
        write_forever(&mut stream, &[b'!'; 65536]);
    });
    let case = missing_host_case();
    let result = run_against(&responder, &case);
    assert_bounded_failure(&result);
    let verdict = result.steps[0].verdict.as_ref().expect("verdict");
    // How many bytes followed depends on how far the reader got.
    let broken: Vec<_> = verdict
        .broken_checks()
        .map(|(check, why)| {
            let shape = why
                .split(' ')
                .map(|word| {
                    if word.parse::<u64>().is_ok() {
                        "N"
                    } else {
                        word
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            (check, shape)
        })
        .collect();
    assert_eq!(
        broken,
        [
            (
                conformance::Check::ContentLength,
                "Content-Length: 0, but N more bytes followed the body".to_string()
            ),
            (
                conformance::Check::Closed,
                "N more bytes arrived instead of a close".to_string()
            ),
        ]
    );
}

#[test]
fn early_answer_to_huge_request_then_write_error_and_response_kept() {
    // The server answers after the first bytes and closes while the client is
    // still writing: the write fails, the answer must still be read.
    let responder = Responder::start(|mut stream| {
        let mut chunk = [0u8; 1024];
        if !matches!(stream.read(&mut chunk), Ok(n) if n > 0) {
            return;
        }
        let _ = stream.write_all(&response("400 Bad Request", "Connection: close\r\n"));
        let _ = stream.shutdown(Shutdown::Write);
        drop(stream);
    });
    let case = CaseFile::new("rfc9112-5-huge-header")
        .group("limits")
        .request(r"GET / HTTP/1.1\r\nHost: localhost\r\nX: \{8000000:a}\r\n\r\n")
        .pass(&["4xx"])
        .case();
    let result = run_against(&responder, &case);
    let exchange = &result.steps[0].exchange;
    assert!(
        exchange.write_error.is_some(),
        "the write should have failed"
    );
    assert!(
        matches!(&exchange.outcome, Some(Outcome::Response(r)) if r.code == 400),
        "{:?}",
        exchange.outcome
    );
    assert_eq!(result.grade, Grade::Pass);
}
