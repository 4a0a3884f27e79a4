//! `diff`: grades beside what each target answered, differences in the
//! `Connection` field alone kept apart from real ones, and a job count per
//! target (from its control, or `--jobs NAME=N`).

use crate::support::{case_dir_of, conformance, response, CaseFile, Requests, Responder};
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
    let (code, out, _) = diff(
        &dir,
        &[("plain", plain.target()), ("keep", keep.target())],
        &[],
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
