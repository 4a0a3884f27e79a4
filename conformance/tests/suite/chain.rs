//! `conformance chain`: the chain cases against fronts started here — a
//! conforming proxy passes every case; a naive relay and proxies with one
//! flaw each fail every `must` case and warn every `should` case between
//! them; the relay that forwards CL+TE unchanged gets a pair finding with
//! the client's bytes and the origin's; and the command reports, exits and
//! refuses bad input as `run` does.

use crate::chain_proxies::{naive_relay, proxy, Flaw, Upstream};
use crate::support::{unused_addr, Responder};
use conformance::chain::{
    load_chain_catalogue, run_chain_cases, ChainCase, ChainOptions, ChainResult, Hop, Origin, Role,
};
use conformance::run::Watch;
use conformance::{Grade, Level};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

pub(crate) const CL_TE: &str = "chain-rfc9112-6.1-cl-te-request-closed";

/// A run nobody watches.
struct All;
impl Watch for All {}

pub(crate) fn chain_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/chain-cases")
}

fn catalogue() -> &'static [ChainCase] {
    let cases = load_chain_catalogue(&chain_dir()).expect("the chain catalogue loads");
    Box::leak(cases.into_boxed_slice())
}

/// The fronts of these tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Front {
    Relay,
    Proxy(Flaw),
}

fn start(front: Front, upstream: Arc<Upstream>) -> Responder {
    match front {
        Front::Relay => naive_relay(upstream),
        Front::Proxy(flaw) => proxy(upstream, flaw),
    }
}

/// Runs `cases` through `front` with the origin in this process, the
/// front taken for both a gateway and a proxy.
fn run(front: Front, cases: &'static [ChainCase]) -> Vec<ChainResult<'static>> {
    let origin = Origin::bind("127.0.0.1:0").expect("bind the origin");
    let responder = start(front, Upstream::new(Some(origin.local_addr())));
    let options = ChainOptions {
        timeout: Duration::from_millis(1000),
        roles: vec![Role::Proxy, Role::Gateway],
        ..ChainOptions::default()
    };
    run_chain_cases(responder.addr(), &origin, cases, &options, &All).results
}

fn ids_graded(results: &[ChainResult<'_>], grade: Grade) -> BTreeSet<String> {
    results
        .iter()
        .filter(|r| r.result.grade == grade)
        .map(|r| r.chain.case.id.trim_start_matches("chain-").to_string())
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn conforming_proxy_then_every_chain_case_passes() {
    let cases = catalogue();
    let results = run(Front::Proxy(Flaw::None), cases);
    let not_passed: Vec<String> = results
        .iter()
        .filter(|r| r.result.grade != Grade::Pass)
        .map(|r| format!("{} {}: {:?}", r.result.grade, r.chain.case.id, r.findings))
        .collect();
    assert!(not_passed.is_empty(), "{}", not_passed.join("\n"));
    assert_eq!(results.len(), cases.len());
}

#[test]
fn naive_relay_then_cl_te_is_a_pair_finding_with_the_bytes_of_both_sides() {
    let cases: &'static [ChainCase] = Box::leak(
        catalogue()
            .iter()
            .filter(|c| c.case.id == CL_TE)
            .cloned()
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let results = run(Front::Relay, cases);
    let result = &results[0];
    let token = &result.token;
    let path = format!("/conformance-chain/{token}");
    assert_eq!(path.len(), 32);
    let sent = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 82\r\n\
         Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET {path}/smuggled HTTP/1.1\r\nX-Chain: smuggled\r\n\r\n"
    );
    assert_eq!(result.result.grade, Grade::Fail);
    let summary: Vec<(Hop, Grade, &str)> = result
        .findings
        .iter()
        .map(|f| (f.hop, f.grade, f.what.as_str()))
        .collect();
    let step_what = "step 1: 200 OK (acceptable: pass 400; allowed control (RFC 9112 §6.1: A \
        server MAY reject a request that contains both Content-Length and Transfer-Encoding or \
        process such a request in accordance with the Transfer-Encoding alone.); checks closed \
        (must)); broken check closed: 189 more bytes arrived instead of a close";
    let pair_what = format!(
        "bytes the client sent as the content of POST {path} HTTP/1.1 (Content-Length: 82 and \
         chunked) arrived at the origin as a request: GET {path}/smuggled HTTP/1.1"
    );
    // The relay forwarded the answer to the POST (the origin's), then the
    // origin's answer to the smuggled request: where the client looked for
    // the close.
    assert_eq!(
        summary,
        [
            (Hop::Origin, Grade::Fail, step_what),
            (Hop::Pair, Grade::Fail, pair_what.as_str()),
        ]
    );
    let pair = &result.findings[1];
    let labels: Vec<&str> = pair.evidence.iter().map(|e| e.label.as_str()).collect();
    let connection = result.recording.arrivals[0].connection;
    assert_eq!(
        labels,
        [
            "client sent".to_string(),
            format!("origin received (connection {connection})")
        ]
    );
    // The relay changes nothing: the origin received exactly the client's bytes.
    assert_eq!(pair.evidence[0].bytes, sent.as_bytes());
    assert_eq!(pair.evidence[1].bytes, sent.as_bytes());
    let arrivals: Vec<(usize, &str)> = result
        .recording
        .arrivals
        .iter()
        .map(|a| (a.index, a.head.target.as_str()))
        .collect();
    let smuggled = format!("{path}/smuggled");
    assert_eq!(arrivals, [(1, path.as_str()), (2, smuggled.as_str())]);
    // The client read the origin's answer to the POST: attributed to it.
    assert_eq!(result.answered_by, [Some(Hop::Origin)]);
}

/// What each wrong front fails (must cases) and warns (should cases),
/// exactly, and that between them every `must` case fails and every
/// `should` case warns.
#[test]
fn wrong_fronts_then_every_must_case_fails_and_every_should_case_warns() {
    let cases = catalogue();
    let fronts = [
        Front::Relay,
        Front::Proxy(Flaw::HopByHop),
        Front::Proxy(Flaw::ObsFold),
        Front::Proxy(Flaw::ExtraBytes),
        Front::Proxy(Flaw::Rewrites),
        Front::Proxy(Flaw::NoDate),
        Front::Proxy(Flaw::Chunked),
        Front::Proxy(Flaw::Retries),
        Front::Proxy(Flaw::OwnContinue),
        Front::Proxy(Flaw::Misdirects),
    ];
    let mut failed = BTreeSet::new();
    let mut warned = BTreeSet::new();
    let mut seen = Vec::new();
    for front in fronts {
        let results = run(front, cases);
        let fails = ids_graded(&results, Grade::Fail);
        let warns = ids_graded(&results, Grade::Warn);
        failed.extend(fails.iter().cloned());
        warned.extend(warns.iter().cloned());
        seen.push((front, fails, warns));
    }
    // What a byte relay cannot break: it changes nothing, adds nothing,
    // never retries, and forwards a head as soon as it arrives.
    let relay_passes = set(&[
        "rfc9110-10.1.1-expect-head-forwarded",
        "rfc9110-10.2.1-allow-unmodified",
        "rfc9110-11.6.1-www-authenticate-unmodified",
        "rfc9110-11.6.2-authorization-unmodified",
        "rfc9110-12.5.5-no-vary-star",
        "rfc9110-13.2.1-conditionals-forwarded-unevaluated",
        "rfc9110-15.2-1xx-forwarded",
        "rfc9110-15.5.20-no-421-from-proxy",
        "rfc9110-5.1-unknown-field-forwarded",
        "rfc9110-5.3-field-order-kept",
        "rfc9110-7.7-fqdn-host-unchanged",
        "rfc9110-7.7-no-transform",
        "rfc9110-7.7-path-and-query-unmodified",
        "rfc9110-9.2.2-post-not-retried",
        "rfc9110-9.3.7-max-forwards-not-generated",
        "rfc9112-6.2-no-content-length-with-chunked-request",
        "rfc9112-6.2-no-content-length-with-chunked-response",
        "rfc9112-7.1-chunk-size-overflow-not-wrapped",
        "rfc9112-7.1.2-trailer-not-merged-request",
        "rfc9112-7.1.2-trailer-not-merged-response",
    ]);
    let hop_by_hop_should = set(&[
        "rfc9110-7.6.1-keep-alive-not-forwarded",
        "rfc9110-7.6.1-proxy-connection-not-forwarded",
        "rfc9110-7.6.1-upgrade-not-forwarded",
    ]);
    let all_must: BTreeSet<String> = cases
        .iter()
        .filter(|c| c.case.level == Level::Must)
        .map(|c| c.case.id.trim_start_matches("chain-").to_string())
        .collect();
    let all_should: BTreeSet<String> = cases
        .iter()
        .filter(|c| c.case.level == Level::Should)
        .map(|c| c.case.id.trim_start_matches("chain-").to_string())
        .collect();
    let expected = [
        (
            Front::Relay,
            all_must.difference(&relay_passes).cloned().collect(),
            hop_by_hop_should.clone(),
        ),
        (
            Front::Proxy(Flaw::HopByHop),
            set(&[
                "rfc9110-7.6.1-connection-option-removed-request",
                "rfc9110-7.6.1-connection-option-removed-response",
                "rfc9110-7.8-upgrade-connection-option",
                "rfc9110-7.8-upgrade-in-http10-ignored",
                "rfc9112-7.4-te-connection-option",
            ]),
            hop_by_hop_should,
        ),
        (
            Front::Proxy(Flaw::ObsFold),
            set(&[
                "rfc9112-5.2-obs-fold-request",
                "rfc9112-5.2-obs-fold-response",
            ]),
            BTreeSet::new(),
        ),
        (
            Front::Proxy(Flaw::ExtraBytes),
            set(&["rfc9112-6.3-extra-response-not-relayed"]),
            BTreeSet::new(),
        ),
        (
            Front::Proxy(Flaw::Rewrites),
            set(&[
                "rfc9110-10.2.1-allow-unmodified",
                "rfc9110-11.6.1-www-authenticate-unmodified",
                "rfc9110-11.6.2-authorization-unmodified",
                "rfc9110-12.5.5-no-vary-star",
                "rfc9110-13.2.1-conditionals-forwarded-unevaluated",
                "rfc9110-15.2-1xx-forwarded",
                "rfc9110-5.1-unknown-field-forwarded",
                "rfc9110-5.3-field-order-kept",
                "rfc9110-7.7-fqdn-host-unchanged",
                "rfc9110-7.7-no-transform",
                "rfc9110-7.7-path-and-query-unmodified",
                "rfc9110-9.3.7-max-forwards-not-generated",
                "rfc9112-3.2.2-absolute-form-host-from-target",
            ]),
            set(&[
                "rfc9110-14.4-unknown-range-unit-forwarded",
                "rfc9110-15.4.5-304-forwarded",
                "rfc9110-7.7-representation-fields-unmodified",
            ]),
        ),
        (
            Front::Proxy(Flaw::NoDate),
            set(&["rfc9110-6.6.1-date-added"]),
            BTreeSet::new(),
        ),
        (
            Front::Proxy(Flaw::Chunked),
            set(&[
                "rfc9112-6.2-no-content-length-with-chunked-request",
                "rfc9112-6.2-no-content-length-with-chunked-response",
                "rfc9112-6.3-cl-te-response-forwarded-without-content-length",
                "rfc9112-7.1-chunk-size-overflow-not-wrapped",
                "rfc9112-7.1.2-trailer-not-merged-request",
                "rfc9112-7.1.2-trailer-not-merged-response",
            ]),
            BTreeSet::new(),
        ),
        (
            Front::Proxy(Flaw::Retries),
            set(&["rfc9110-9.2.2-post-not-retried"]),
            set(&["rfc9112-9.3.2-pipelined-answers-relayed-then-closed"]),
        ),
        (
            Front::Proxy(Flaw::OwnContinue),
            set(&["rfc9110-10.1.1-expect-head-forwarded"]),
            BTreeSet::new(),
        ),
        (
            Front::Proxy(Flaw::Misdirects),
            set(&[
                "rfc9110-15.5.20-no-421-from-proxy",
                "rfc9110-7.7-fqdn-host-unchanged",
                "rfc9112-3.2.2-absolute-form-host-from-target",
            ]),
            BTreeSet::new(),
        ),
    ];
    for ((front, fails, warns), (want_front, want_fails, want_warns)) in seen.iter().zip(expected) {
        assert_eq!(*front, want_front);
        assert_eq!(*fails, want_fails, "{front:?} fails");
        assert_eq!(*warns, want_warns, "{front:?} warns");
    }
    assert_eq!(failed, all_must);
    assert_eq!(warned, all_should);
}

/// The binary as a child, its stdout read on a thread.
struct Child {
    child: std::process::Child,
    stdout: std::thread::JoinHandle<String>,
    stderr: BufReader<std::process::ChildStderr>,
}

fn spawn(args: &[&str]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        // Off a terminal, a progress line for every case (not every 5 s).
        .env("CONFORMANCE_PROGRESS_EVERY_MS", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn conformance");
    let mut out = child.stdout.take().expect("stdout");
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    Child {
        child,
        stdout,
        stderr,
    }
}

impl Child {
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stderr.read_line(&mut line).expect("read stderr");
        line
    }

    /// Waits for the exit: (code, stdout, the rest of stderr).
    fn finish(mut self) -> (i32, String, String) {
        let mut rest = String::new();
        let _ = self.stderr.read_to_string(&mut rest);
        let status = self.child.wait().expect("wait");
        (
            status.code().unwrap_or(-1),
            self.stdout.join().unwrap(),
            rest,
        )
    }
}

/// `chain` against a front that learns the origin's address from the
/// first stderr line: the address port 0 picked.
pub(crate) fn chain_through(front: Front, extra: &[&str]) -> (i32, String, String, String) {
    let upstream = Upstream::new(None);
    let responder = start(front, Arc::clone(&upstream));
    let target = responder.target();
    let dir = chain_dir();
    let mut args = vec![
        "--cases",
        dir.to_str().unwrap(),
        "chain",
        "--front",
        &target,
        "--origin-listen",
        "127.0.0.1:0",
        "--timeout",
        "1000",
    ];
    args.extend_from_slice(extra);
    let mut child = spawn(&args);
    let first = child.line();
    let addr = first
        .strip_prefix("origin listening on ")
        .and_then(|rest| rest.split(": ").next())
        .unwrap_or_else(|| panic!("first stderr line: {first:?}"))
        .to_string();
    upstream.set(addr.parse().expect("an address"));
    let (code, stdout, stderr) = child.finish();
    (
        code,
        stdout,
        format!("{first}{stderr}"),
        format!("{target}|{addr}"),
    )
}

/// `FRONT` and `ORIGIN` for the two ephemeral addresses (`addrs` is
/// `FRONT|ORIGIN`), `TOKEN` for the run's tokens.
fn normalise(text: &str, addrs: &str) -> String {
    let (front, origin) = addrs.split_once('|').unwrap();
    let mut text = text.replace(front, "FRONT");
    if !origin.is_empty() {
        text = text.replace(origin, "ORIGIN");
    }
    // The run id, from the control's path: tokens are RUN-NNNN.
    if let Some(at) = text.find("conformance-chain/") {
        let run: String = text[at + 18..].chars().take(8).collect();
        text = text.replace(&run, "RUN");
    }
    while let Some(at) = text
        .find("Date: ")
        .filter(|&at| !text[at..].starts_with("Date: DATE"))
    {
        let end = text[at..].find(" GMT").map_or(text.len(), |e| at + e + 4);
        text.replace_range(at..end, "Date: DATE");
    }
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("conformance-chain/") {
        let (before, after) = rest.split_at(at + "conformance-chain/".len());
        out.push_str(before);
        out.push_str("TOKEN");
        let skip = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(after.len());
        rest = &after[skip..];
    }
    out.push_str(rest);
    out
}

#[test]
fn chain_command_against_naive_relay_then_text_report_shows_the_pair_finding() {
    let (code, stdout, stderr, addrs) =
        chain_through(Front::Relay, &["--id", CL_TE, "--color", "never"]);
    assert_eq!(code, 1, "stderr: {stderr}");
    assert_eq!(
        normalise(&stderr, &addrs),
        "origin listening on ORIGIN: the front is to forward there\n"
    );
    let expected = "\
conformance chain of front FRONT (taken for a gateway), origin ORIGIN, 1 case
control: GET /conformance-chain/TOKEN reached the origin at ORIGIN; the front relayed its answer: 200 OK
FAIL  chain-rfc9112-6.1-cl-te-request-closed  pair: bytes the client sent as the content of POST /conformance-chain/TOKEN HTTP/1.1 (Content-Length: 82 and chunked) arrived at the origin as a request: GET /conformance-chain/TOKEN/smuggled HTTP/1.1 (+1 more)

findings:

FAIL chain-rfc9112-6.1-cl-te-request-closed: After answering a request with Content-Length and Transfer-Encoding, the front closes the connection
  requirement: RFC 9112 §6.1 (must, binds any intermediary) https://www.rfc-editor.org/rfc/rfc9112#section-6.1
    \"Regardless, the server MUST close the connection after responding to such a request to avoid the potential attacks.\"
  origin (fail): step 1: 200 OK (acceptable: pass 400; allowed control (RFC 9112 §6.1: A server MAY reject a request that contains both Content-Length and Transfer-Encoding or process such a request in accordance with the Transfer-Encoding alone.); checks closed (must)); broken check closed: 189 more bytes arrived instead of a close
    client received (step 1):
      HTTP/1.1 200 OK\\r\\n
      X-Conformance-Origin: RUN-0001 1\\r\\n
      Cache-Control: no-store\\r\\n
      Date: DATE\\r\\n
      Content-Type: text/plain\\r\\n
      Content-Length: 23\\r\\n
      \\r\\n
  pair (fail): bytes the client sent as the content of POST /conformance-chain/TOKEN HTTP/1.1 (Content-Length: 82 and chunked) arrived at the origin as a request: GET /conformance-chain/TOKEN/smuggled HTTP/1.1
    client sent:
      POST /conformance-chain/TOKEN HTTP/1.1\\r\\n
      Host: localhost\\r\\n
      Content-Type: text/plain\\r\\n
      Content-Length: 82\\r\\n
      Transfer-Encoding: chunked\\r\\n
      \\r\\n
      0\\r\\n
      \\r\\n
      GET /conformance-chain/TOKEN/smuggled HTTP/1.1\\r\\n
      X-Chain: smuggled\\r\\n
      \\r\\n
    origin received (connection 2):
      POST /conformance-chain/TOKEN HTTP/1.1\\r\\n
      Host: localhost\\r\\n
      Content-Type: text/plain\\r\\n
      Content-Length: 82\\r\\n
      Transfer-Encoding: chunked\\r\\n
      \\r\\n
      0\\r\\n
      \\r\\n
      GET /conformance-chain/TOKEN/smuggled HTTP/1.1\\r\\n
      X-Chain: smuggled\\r\\n
      \\r\\n

response rules, checked on every response the client read:
PASS  rule:date            held on 1 response
PASS  rule:content-length  held on 1 response
PASS  rule:status-sp       held on 1 response
PASS  rule:reason-phrase   held on 1 response
PASS  rule:field-value     held on 1 response

by hop: front 0, origin 1, pair 1
0 passed, 0 warned, 1 failed
";
    assert_eq!(normalise(&stdout, &addrs), expected);
}

#[test]
fn chain_command_formats_then_each_names_the_hops() {
    let (code, json, _, _) = chain_through(Front::Relay, &["--id", CL_TE, "--format", "json"]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(report["mode"], "chain");
    let case = &report["cases"][0];
    assert_eq!(case["id"], CL_TE);
    assert_eq!(case["grade"], "fail");
    assert_eq!(case["answered_by"], serde_json::json!(["origin"]));
    let hops: Vec<&str> = case["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["hop"].as_str().unwrap())
        .collect();
    assert_eq!(hops, ["origin", "pair"]);
    assert_eq!(case["findings"][1]["evidence"][0]["label"], "client sent");
    assert_eq!(report["summary"]["by_hop"], "front 0, origin 1, pair 1");

    let (code, junit, _, _) = chain_through(Front::Relay, &["--id", CL_TE, "--format", "junit"]);
    assert_eq!(code, 1);
    let doc = roxmltree::Document::parse(&junit).expect("JUnit XML");
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .expect("a failure");
    assert!(failure
        .text()
        .unwrap()
        .contains("\n  pair (fail): bytes the client sent"));

    let (code, markdown, _, addrs) =
        chain_through(Front::Relay, &["--id", CL_TE, "--format", "markdown"]);
    assert_eq!(code, 1);
    let row = normalise(&markdown, &addrs)
        .lines()
        .find(|l| l.starts_with("| FAIL"))
        .unwrap()
        .to_string();
    assert_eq!(
        row,
        format!(
            "| FAIL | `{CL_TE}` | intermediary | pair | pair: bytes the client sent as the \
             content of POST /conformance-chain/TOKEN HTTP/1.1 (Content-Length: 82 and chunked) \
             arrived at the origin as a request: GET /conformance-chain/TOKEN/smuggled HTTP/1.1 \
             (+1 more) |"
        )
    );
}

#[test]
fn chain_command_against_conforming_proxy_then_exit_0_and_baseline_known() {
    let (code, stdout, _, _) = chain_through(
        Front::Proxy(Flaw::None),
        &["--role", "proxy", "--role", "gateway", "--color", "never"],
    );
    assert_eq!(code, 0, "{stdout}");
    let last = stdout.lines().last().unwrap();
    assert_eq!(
        last,
        format!("{} passed, 0 warned, 0 failed", catalogue().len())
    );
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.txt");
    std::fs::write(&baseline, format!("{CL_TE}\n")).unwrap();
    let (code, stdout, _, _) = chain_through(
        Front::Relay,
        &[
            "--id",
            CL_TE,
            "--baseline",
            baseline.to_str().unwrap(),
            "--color",
            "never",
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains(&format!("\nFAIL  {CL_TE}  pair: ")));
    assert!(stdout.contains("(+1 more)  (known)\n"));
    assert!(stdout.contains(&format!("\nknown failures (in the baseline): {CL_TE}\n")));
}

#[test]
fn chain_command_gateway_only_then_proxy_cases_skipped_with_the_reason() {
    let (code, stdout, _, _) = chain_through(
        Front::Proxy(Flaw::None),
        &[
            "--id",
            "chain-rfc9110-5.1-unknown-field-forwarded",
            "--id",
            "chain-rfc9110-7.6.3-via-request",
            "--color",
            "never",
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("SKIP") || l.starts_with("PASS  chain"))
        .collect();
    assert_eq!(
        lines,
        [
            "SKIP  chain-rfc9110-5.1-unknown-field-forwarded  skipped: binds a proxy; the front is taken for a gateway (--role)",
            "PASS  chain-rfc9110-7.6.3-via-request            origin: 200 OK",
        ]
    );
}

fn chain_exit(args: &[&str]) -> (i32, String) {
    let dir = chain_dir();
    let mut all = vec!["--cases", dir.to_str().unwrap(), "chain"];
    all.extend_from_slice(args);
    let (code, _, stderr) = spawn(&all).finish();
    (code, stderr)
}

#[test]
fn chain_command_bad_input_then_exit_2_and_unreachable_front_exit_3() {
    let free = unused_addr().to_string();
    let (code, stderr) = chain_exit(&[
        "--front",
        "https://example.com",
        "--origin-listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(
        (code, stderr.as_str()),
        (2, "conformance: --front takes HOST:PORT or http://HOST[:PORT]: chain mode speaks plain TCP to the front, and the cases choose the paths\n")
    );
    let (code, stderr) = chain_exit(&["--front", &free, "--origin-listen", "nowhere"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with("conformance: --origin-listen \"nowhere\": "),
        "{stderr}"
    );
    let (code, stderr) = chain_exit(&[
        "--front",
        &free,
        "--origin-listen",
        "127.0.0.1:0",
        "--quiet",
    ]);
    assert_eq!(code, 3);
    assert!(
        stderr.starts_with(&format!("conformance: {free}: cannot reach the front: ")),
        "{stderr}"
    );
    // A front that answers itself and forwards nothing.
    let lonely = Responder::start(|mut stream| {
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf);
        let _ = stream.write_all(
            b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    });
    let front = lonely.target();
    let (code, stderr) = chain_exit(&[
        "--front",
        &front,
        "--origin-listen",
        "127.0.0.1:0",
        "--quiet",
    ]);
    assert_eq!(code, 3);
    let stderr = normalise(&stderr, &format!("{front}|"));
    assert!(
        stderr.starts_with(
            "conformance: FRONT: the front answered the control GET /conformance-chain/TOKEN \
             with 502 Bad Gateway itself and nothing reached the origin: configure it to forward \
             to the origin at 127.0.0.1:"
        ),
        "{stderr}"
    );
}

#[test]
fn chain_catalogue_then_valid_compiled_in_and_quoted_verbatim() {
    let cases = catalogue();
    assert!(cases.len() >= 20, "{} chain cases", cases.len());
    let compiled = conformance::chain::builtin_chain_catalogue().expect("compiled in");
    assert_eq!(
        compiled,
        cases
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c.case.file =
                    Path::new("fixtures/chain-cases").join(c.case.file.file_name().unwrap());
                c
            })
            .collect::<Vec<_>>()
    );
    let rfc = |n: u32| -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("rfc/rfc{n}.txt"));
        std::fs::read_to_string(path)
            .unwrap()
            .split_whitespace()
            .collect()
    };
    let texts = [(9110, rfc(9110)), (9112, rfc(9112))];
    for case in cases {
        let number = case.case.rfc_number().unwrap();
        let text = &texts.iter().find(|(n, _)| *n == number).unwrap().1;
        let quote: String = case.case.quote.split_whitespace().collect();
        assert!(
            text.contains(&quote),
            "{}: quote not in RFC {number}",
            case.case.id
        );
        assert!(case.case.id.starts_with("chain-rfc"), "{}", case.case.id);
    }
}

/// A chain case whose origin holds its answer: the client's step ends in a
/// timeout, which passes.
fn holding_case(dir: &Path, slug: &str) {
    let text = format!(
        "id = \"chain-rfc9110-7.6.1-{slug}\"\ntitle = \"T\"\ngroup = \"connection\"\n\
         role = \"intermediary\"\nrfc = \"RFC 9110 §7.6.1\"\n\
         url = \"https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1\"\nquote = \"Q.\"\n\
         level = \"must\"\nexplain = \"E.\"\n\
         request = 'GET {{path}} HTTP/1.1\\r\\nHost: {{host}}\\r\\n\\r\\n'\n\
         [expect]\npass = [\"timeout\"]\n[origin]\nhold = true\n"
    );
    std::fs::write(dir.join(format!("chain-rfc9110-7.6.1-{slug}.toml")), text).unwrap();
}

#[test]
fn chain_command_sigint_then_report_of_what_ran_and_exit_130() {
    let dir = tempfile::tempdir().unwrap();
    for slug in ["hold-a", "hold-b", "hold-c", "hold-d"] {
        holding_case(dir.path(), slug);
    }
    let upstream = Upstream::new(None);
    let responder = naive_relay(Arc::clone(&upstream));
    let target = responder.target();
    let mut child = spawn(&[
        "--cases",
        dir.path().to_str().unwrap(),
        "chain",
        "--front",
        &target,
        "--origin-listen",
        "127.0.0.1:0",
        "--timeout",
        "500",
        "--jobs",
        "1",
        "--progress",
        "--color",
        "never",
    ]);
    let first = child.line();
    let addr = first
        .strip_prefix("origin listening on ")
        .and_then(|rest| rest.split(": ").next())
        .unwrap()
        .to_string();
    upstream.set(addr.parse().unwrap());
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("progress: 1/4 cases") {
        let mut chunk = [0u8; 256];
        let n = child.stderr.read(&mut chunk).expect("stderr");
        assert!(
            n > 0,
            "ended before a result: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&chunk[..n]);
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let (code, stdout, rest) = child.finish();
    assert_eq!(code, 130, "{stdout}");
    let graded: Vec<&str> = stdout.lines().filter(|l| l.starts_with("PASS")).collect();
    let ran = graded.len();
    assert!((1..4).contains(&ran), "{stdout}");
    let ids = ["hold-a", "hold-b", "hold-c", "hold-d"].map(|s| format!("chain-rfc9110-7.6.1-{s}"));
    let not_run: Vec<String> = ids[ran..].iter().map(|id| format!("  {id}")).collect();
    let block = format!(
        "\nnot run (interrupted by SIGINT): {} of 4 cases\n{}\n",
        4 - ran,
        not_run.join("\n")
    );
    assert!(stdout.contains(&block), "{stdout}");
    assert!(
        rest.ends_with(&format!(
            "\nconformance: interrupted by SIGINT: {} of 4 cases not run\n",
            4 - ran
        )),
        "{rest:?}"
    );
}

#[test]
fn chain_command_nothing_graded_then_exit_4_and_write_baseline_lists_failures() {
    let (code, stdout, stderr, _) = chain_through(
        Front::Proxy(Flaw::None),
        &[
            "--id",
            "chain-rfc9110-5.1-unknown-field-forwarded",
            "--color",
            "never",
        ],
    );
    assert_eq!(code, 4, "{stdout}");
    assert!(stderr.ends_with(
        "conformance: no chain case could be graded (1 skipped, 0 errors): not conformant\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("known.txt");
    let (code, _, _, addrs) = chain_through(
        Front::Relay,
        &["--id", CL_TE, "--write-baseline", written.to_str().unwrap()],
    );
    // The run that writes a baseline succeeds once it is written.
    assert_eq!(code, 0);
    let (front, _) = addrs.split_once('|').unwrap();
    assert_eq!(
        std::fs::read_to_string(&written).unwrap(),
        format!(
            "# Known failures of {front} ({front}), written by `conformance chain --write-baseline`.\n{CL_TE}\n"
        )
    );
}
