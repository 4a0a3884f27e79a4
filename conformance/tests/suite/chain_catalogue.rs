//! `conformance chain --catalogue`: the ordinary catalogue through fronts
//! started here, with the origin behind them serving the fixture docroot
//! as the reference server does. Through the reference proxy every case
//! gets the grade the reference server gets, each attributed to the hop
//! that answered it; through the in-test proxy of the chain tests its
//! faults are named by hop; through a naive relay every answer is the
//! origin's; through a front that drops Transfer-Encoding the request the
//! client hid in chunk data is a pair finding with the bytes of both sides.

use crate::chain_proxies::{naive_relay, proxy, Flaw, Upstream};
use crate::support::{unused_addr, Responder};
use conformance::case::{load_catalogue, Case, CATALOGUE_DIR};
use conformance::chain::catalogue::{control_path, run_ordinary_cases, Attributed, Found};
use conformance::chain::catalogue_report::{case_hops, case_results, finding_hops};
use conformance::chain::message::{body_end, BodyEnd, Framing};
use conformance::chain::{ChainOptions, Hop, Origin};
use conformance::control;
use conformance::report::Summary;
use conformance::run::{Environment, Watch};
use conformance::wire::Transport;
use conformance::Grade;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

struct All;
impl Watch for All {}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn catalogue() -> &'static [Case] {
    let cases = load_catalogue(&workspace().join(CATALOGUE_DIR)).expect("the catalogue loads");
    Box::leak(cases.into_boxed_slice())
}

fn only(ids: &[&str]) -> &'static [Case] {
    let cases: Vec<Case> = catalogue()
        .iter()
        .filter(|c| ids.contains(&c.id.as_str()))
        .cloned()
        .collect();
    assert_eq!(cases.len(), ids.len());
    Box::leak(cases.into_boxed_slice())
}

/// The origin of `chain --catalogue`, on `127.0.0.1:0`, with a short read
/// timeout as the reference server has in the conformance run.
fn origin() -> Origin {
    let root = server::respond::Responder::new(workspace().join("fixtures/root")).unwrap();
    Origin::bind_serving("127.0.0.1:0", root, Duration::from_millis(500)).unwrap()
}

/// The reference proxy (what `http-server --mode proxy` runs), in this
/// process, forwarding to `upstream`.
struct Reference {
    addr: SocketAddr,
    stop: server::ProxyShutdown,
    running: Option<thread::JoinHandle<()>>,
}

impl Reference {
    fn start(upstream: SocketAddr) -> Reference {
        let mut config = server::ProxyConfig::new(upstream.to_string());
        config.quiet = true;
        let proxy = server::Proxy::bind("127.0.0.1:0", config).expect("bind the proxy");
        let addr = proxy.local_addr();
        let stop = proxy.shutdown_handle();
        let running = Some(thread::spawn(move || proxy.run()));
        Reference {
            addr,
            stop,
            running,
        }
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        self.stop.shutdown();
        if let Some(running) = self.running.take() {
            let _ = running.join();
        }
    }
}

/// Runs `cases` through the front at `front`, after the control through it.
fn run(front: SocketAddr, origin: &Origin, cases: &'static [Case]) -> Vec<Attributed<'static>> {
    let options = ChainOptions {
        timeout: Duration::from_millis(2000),
        jobs: 16,
        ..ChainOptions::default()
    };
    let control = control::probe_over(
        &Transport::Tcp,
        front,
        &control_path(&options),
        "localhost",
        options.timeout,
    )
    .expect("the control through the front");
    assert!(control.fields.iter().any(|f| f == "x-conformance-origin"));
    let environment = Environment::from_control(&control, true);
    run_ordinary_cases(front, origin, cases, &environment, &options, &All).results
}

/// The summary line, the cases by hop and the findings by hop.
fn counts(results: &[Attributed<'_>]) -> [String; 3] {
    [
        Summary::of(&case_results(results), None).line(),
        case_hops(results),
        finding_hops(results),
    ]
}

fn by_id<'r>(
    results: &'r [Attributed<'static>],
) -> BTreeMap<&'static str, &'r Attributed<'static>> {
    results
        .iter()
        .map(|r| (r.result.case.id.as_str(), r))
        .collect()
}

/// Each reading step's hop and what passed between the hops, the case's
/// token as `T`.
fn steps(result: &Attributed<'_>) -> Vec<(Option<Hop>, String)> {
    result
        .steps
        .iter()
        .map(|s| (s.hop, s.story.replace(&result.token, "T")))
        .collect()
}

fn findings(result: &Attributed<'_>) -> Vec<(Option<Hop>, Grade, String)> {
    result
        .findings
        .iter()
        .map(|f: &Found| (f.hop, f.grade, f.what.replace(&result.token, "T")))
        .collect()
}

/// The ids of the cases at each hop, for the cases graded `grade`.
fn ids_at(results: &[Attributed<'_>], hop: Option<Hop>, grade: Grade) -> Vec<String> {
    results
        .iter()
        .filter(|r| r.hop == hop && r.result.grade == grade)
        .map(|r| r.result.case.id.clone())
        .collect()
}

#[test]
fn reference_proxy_then_every_case_graded_as_the_reference_server_and_attributed() {
    let origin = origin();
    let front = Reference::start(origin.local_addr());
    let cases = catalogue();
    let results = run(front.addr, &origin, cases);
    assert_eq!(results.len(), cases.len());
    // The grades `run` gives the reference server itself; the front
    // answers what it refuses to forward (a malformed or ambiguous head, a
    // framing it cannot read, a version or method it does not serve), the
    // origin's answer is relayed for the rest, and a step that waited for
    // a request the client never finished read no answer.
    assert_eq!(
        counts(&results),
        [
            "354 passed, 0 warned, 0 failed, 41 info, 0 errors".to_string(),
            "front 164, origin 225, pair 0, unknown 6".to_string(),
            "front 0, origin 0, pair 0, unknown 0".to_string(),
        ]
    );
    assert_eq!(
        ids_at(&results, None, Grade::Pass),
        [
            "rfc9110-5.3-partial-header-section-not-answered",
            "rfc9110-5.3-partial-request-line-not-answered",
            "rfc9112-6.3-content-length-body-incomplete",
            "rfc9112-8-incomplete-chunked-body",
        ]
    );
    let cases = by_id(&results);
    let via = "with Via, Connection added; relayed with Via added; Connection removed";
    assert_eq!(
        steps(cases["rfc9112-5.2-obs-fold-in-host-value"]),
        [(
            Some(Hop::Front),
            "front: 400 Bad Request (nothing of the case reached the origin)".to_string()
        )]
    );
    assert_eq!(
        steps(cases["rfc9112-3-very-long-method-501"]),
        [(
            Some(Hop::Front),
            "front: 501 Not Implemented (nothing of the case reached the origin)".to_string()
        )]
    );
    assert_eq!(
        steps(cases["rfc9112-3.2.2-absolute-form-accepted"]),
        [(
            Some(Hop::Origin),
            format!(
                "origin: 200 OK (the front forwarded GET http://localhost/conformance-chain/T/ \
                 HTTP/1.1 as GET /conformance-chain/T/ HTTP/1.1 {via})"
            )
        )]
    );
    // The origin's 100 (Continue), relayed, then its answer.
    assert_eq!(
        steps(cases["rfc9110-10.1.1-expect-token-case-insensitive"]),
        [(
            Some(Hop::Origin),
            "origin: 100 Continue (the front forwarded GET /conformance-chain/T/ HTTP/1.1 with \
             Via, Connection added)"
                .to_string()
        )]
    );
    // A path of the docroot, not the case's own: its answer's mark names it.
    assert_eq!(
        steps(cases["rfc9112-9.3.2-pipelined-responses-in-order"]),
        [
            (
                Some(Hop::Origin),
                format!(
                    "origin: 200 OK (the front forwarded GET /conformance-chain/T/ HTTP/1.1 {via})"
                )
            ),
            (
                Some(Hop::Origin),
                format!(
                    "origin: 404 Not Found (the front forwarded GET \
                     /conformance-no-such-resource.txt HTTP/1.1 {via})"
                )
            ),
        ]
    );
    assert_eq!(
        steps(cases["rfc9112-6.3-content-length-body-incomplete"]),
        [(
            None,
            "unknown: timeout (nothing of the case reached the origin)".to_string()
        )]
    );
}

#[test]
fn in_test_proxy_then_its_faults_named_by_hop() {
    let origin = origin();
    let front = proxy(Upstream::new(Some(origin.local_addr())), Flaw::None);
    let results = run(front.addr(), &origin, catalogue());
    // The chain tests' proxy conforms to the chain cases, not to the whole
    // catalogue: it forwards the head of a request that waits for a 100
    // (Continue) at once and sends the content on after the origin's early
    // final answer, where the origin reads it as a request of its own (a
    // pair finding); it forwards an `http` URI with an empty host as a
    // valid origin-form request; and it turns away long targets with 400.
    assert_eq!(
        counts(&results),
        [
            "341 passed, 8 warned, 5 failed, 41 info, 0 errors".to_string(),
            "front 132, origin 255, pair 2, unknown 6".to_string(),
            "front 5, origin 6, pair 4, unknown 0".to_string(),
        ]
    );
    assert_eq!(
        ids_at(&results, Some(Hop::Origin), Grade::Fail),
        ["rfc9110-4.2.1-absolute-form-empty-host"]
    );
    assert_eq!(
        ids_at(&results, Some(Hop::Pair), Grade::Fail),
        [
            "rfc9110-10.1.1-early-final-status-then-content",
            "rfc9112-9.3-expect-early-answer-content-not-a-request",
        ]
    );
    let cases = by_id(&results);
    let empty_host = cases["rfc9110-4.2.1-absolute-form-empty-host"];
    let found = findings(empty_host);
    assert_eq!(found.len(), 1);
    let (hop, grade, what) = &found[0];
    assert_eq!((*hop, *grade), (Some(Hop::Origin), Grade::Fail));
    assert_eq!(
        what,
        "step 1: 200 OK (acceptable: pass 400; warn 4xx); the origin's answer, relayed; the \
         origin conforms, so the fault is the front's: it forwarded what it should have \
         answered itself, or changed the request or the answer (the front forwarded GET \
         http:///conformance-chain/T/ HTTP/1.1 as GET /conformance-chain/T/ HTTP/1.1 with Via, \
         Connection added; Host changed; relayed with Via added; Connection removed)"
    );
    let labels: Vec<&str> = empty_host.findings[0]
        .evidence
        .iter()
        .map(|e| e.label.as_str())
        .collect();
    let connection = empty_host.taken.recording.arrivals[0].connection;
    assert_eq!(
        labels,
        [
            "client sent".to_string(),
            format!("origin received (connection {connection})"),
            "origin answered".to_string(),
            "client received (step 1)".to_string(),
        ]
    );
    let smuggled = findings(cases["rfc9112-9.3-expect-early-answer-content-not-a-request"]);
    assert_eq!(
        smuggled[0],
        (
            Some(Hop::Pair),
            Grade::Fail,
            "bytes the client sent as the content of POST /conformance-chain/T/ HTTP/1.1 \
             (Content-Length: 46) arrived at the origin as a request: GET \
             /no-such-file-sent-as-content HTTP/1.1"
                .to_string()
        )
    );
    assert_eq!(
        findings(cases["rfc9112-3-target-9000-octets"])[0].0,
        Some(Hop::Front)
    );
}

#[test]
fn naive_relay_then_every_answer_is_the_origins_and_the_refusals_its_own() {
    let origin = origin();
    let front = naive_relay(Upstream::new(Some(origin.local_addr())));
    let results = run(front.addr(), &origin, catalogue());
    // The relay changes nothing: every case gets the reference server's
    // grade, and every answer the client read is the origin's. The strict
    // origin refuses every ambiguous framing and closes, so bytes relayed
    // unchanged never desync it: no pair finding.
    assert_eq!(
        counts(&results),
        [
            "354 passed, 0 warned, 0 failed, 41 info, 0 errors".to_string(),
            "front 0, origin 393, pair 0, unknown 2".to_string(),
            "front 0, origin 0, pair 0, unknown 0".to_string(),
        ]
    );
    assert!(results
        .iter()
        .flat_map(|r| &r.steps)
        .all(|s| s.hop != Some(Hop::Front)));
    let cases = by_id(&results);
    assert_eq!(
        steps(cases["rfc9112-5.2-obs-fold-in-host-value"]),
        [(
            Some(Hop::Origin),
            "origin: 400 Bad Request (the front forwarded GET /conformance-chain/T/ HTTP/1.1 \
             unchanged; the origin refused it: a field line starts with whitespace (obsolete \
             line folding); relayed unchanged)"
                .to_string()
        )]
    );
    assert_eq!(
        steps(cases["rfc9112-6.1-cl-te-hidden-request-not-answered"]),
        [
            (
                Some(Hop::Origin),
                "origin: 400 Bad Request (the front forwarded GET /conformance-chain/T/ \
                 HTTP/1.1 unchanged; the origin refused it: Transfer-Encoding and \
                 Content-Length in one request; relayed unchanged)"
                    .to_string()
            ),
            (
                None,
                "unknown: closed (the origin received GET /conformance-chain/T/ HTTP/1.1)"
                    .to_string()
            ),
        ]
    );
}

/// A front that reads each request by its Transfer-Encoding and forwards it
/// without that field, the Content-Length it came with kept and the chunked
/// bytes as they came: the origin reads the content by Content-Length, and
/// what follows it as the next request (a TE.CL desync). Answers are
/// copied back unchanged.
fn te_dropping_relay(upstream: SocketAddr) -> Responder {
    Responder::start(move |client| {
        let Ok(server) = TcpStream::connect(upstream) else {
            return;
        };
        let _ = client.set_read_timeout(Some(Duration::from_secs(5)));
        let back = thread::spawn({
            let (mut from, mut to) = (server.try_clone().unwrap(), client.try_clone().unwrap());
            move || {
                let _ = std::io::copy(&mut from, &mut to);
                let _ = to.shutdown(Shutdown::Write);
            }
        });
        let (mut client, mut server) = (client, server);
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let mut fill = |buf: &mut Vec<u8>| match client.read(&mut chunk) {
            Ok(n) if n > 0 => {
                buf.extend_from_slice(&chunk[..n]);
                true
            }
            _ => false,
        };
        'requests: loop {
            let end = loop {
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at + 4;
                }
                if !fill(&mut buf) {
                    break 'requests;
                }
            };
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let lines: Vec<&str> = head.split("\r\n").collect();
            let field = |name: &str| {
                lines.iter().find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.trim()
                        .eq_ignore_ascii_case(name)
                        .then(|| v.trim().to_string())
                })
            };
            let chunked = field("transfer-encoding").is_some_and(|v| v.contains("chunked"));
            let length = field("content-length").and_then(|v| v.parse::<usize>().ok());
            let body_len = loop {
                let end_of_body = if chunked {
                    body_end(Framing::Chunked, &buf[end..])
                } else {
                    body_end(Framing::Length(length.unwrap_or(0) as u64), &buf[end..])
                };
                match end_of_body {
                    BodyEnd::At(n) => break n,
                    BodyEnd::Partial if fill(&mut buf) => {}
                    _ => break 'requests,
                }
            };
            let mut out: Vec<u8> = lines
                .iter()
                .filter(|l| !l.to_ascii_lowercase().starts_with("transfer-encoding"))
                .copied()
                .collect::<Vec<_>>()
                .join("\r\n")
                .into_bytes();
            out.extend_from_slice(&buf[end..end + body_len]);
            buf.drain(..end + body_len);
            if server.write_all(&out).is_err() {
                break;
            }
        }
        let _ = server.shutdown(Shutdown::Write);
        let _ = back.join();
    })
}

#[test]
fn te_dropping_front_then_the_request_hidden_in_chunk_data_is_a_pair_finding() {
    let origin = origin();
    let front = te_dropping_relay(origin.local_addr());
    let results = run(
        front.addr(),
        &origin,
        only(&["rfc9112-6.1-te-cl-hidden-request-not-answered"]),
    );
    let result = &results[0];
    assert_eq!(result.result.grade, Grade::Fail);
    assert_eq!(result.hop, Some(Hop::Pair));
    let path = format!("/conformance-chain/{}/", result.token);
    let sent = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: \
         4\r\n\r\n2c\r\nGET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n\r\n0\r\n\r\n"
    );
    let forwarded = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\n2c\r\nGET \
         /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n\r\n0\r\n\r\n"
    );
    assert_eq!(
        findings(result),
        [
            (
                Some(Hop::Pair),
                Grade::Fail,
                "bytes the client sent as the content of GET /conformance-chain/T/ HTTP/1.1 \
                 (Content-Length: 4 and chunked) arrived at the origin as a request: GET \
                 /hello.txt HTTP/1.1"
                    .to_string()
            ),
            (
                Some(Hop::Pair),
                Grade::Fail,
                "step 2: 200 OK (acceptable: pass close, reset); the answer read is not this \
                 request's: the origin's answer to GET /hello.txt HTTP/1.1, bytes the client \
                 sent as content"
                    .to_string()
            ),
        ]
    );
    let pair = &result.findings[0];
    let connection = result.taken.recording.arrivals[0].connection;
    let evidence: Vec<(&str, &[u8])> = pair
        .evidence
        .iter()
        .map(|e| (e.label.as_str(), e.bytes.as_slice()))
        .collect();
    let label = format!("origin received (connection {connection})");
    assert_eq!(
        evidence,
        [
            ("client sent", sent.as_bytes()),
            (label.as_str(), forwarded.as_bytes()),
        ]
    );
    // The origin's answer to the request it read first, and then the one
    // to the hidden request, which the client read where it looked for a
    // close.
    assert_eq!(
        steps(result)
            .into_iter()
            .map(|(hop, _)| hop)
            .collect::<Vec<_>>(),
        [Some(Hop::Origin), Some(Hop::Pair)]
    );
}

/// `chain --catalogue` as a user runs it: the reference proxy forwards to
/// the address the origin is then told to listen on.
fn chain_catalogue(extra: &[&str]) -> (i32, String, String, String, String) {
    let origin_addr = unused_addr();
    let front = Reference::start(origin_addr);
    let (front_text, origin_text) = (front.addr.to_string(), origin_addr.to_string());
    let mut args = vec![
        "chain",
        "--catalogue",
        "--front",
        &front_text,
        "--origin-listen",
        &origin_text,
        "--timeout",
        "2000",
        "--color",
        "never",
    ];
    args.extend_from_slice(extra);
    let output = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(&args)
        .output()
        .expect("run conformance");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        front_text,
        origin_text,
    )
}

/// The run's tokens as `RUN-NNNN`, the addresses as FRONT and ORIGIN, the
/// dates as DATE.
fn normalise(text: &str, front: &str, origin: &str) -> String {
    let mut text = text.replace(front, "FRONT").replace(origin, "ORIGIN");
    if let Some(at) = text.find("conformance-chain/") {
        let run: String = text[at + 18..].chars().take(8).collect();
        text = text.replace(&run, "RUN");
    }
    let mut out = String::new();
    for line in text.lines() {
        let line = match line.find("Date: ") {
            Some(at) => format!("{}Date: DATE\\r\\n", &line[..at]),
            None => line.to_string(),
        };
        let line = match line.find("Last-Modified: ") {
            Some(at) => format!("{}Last-Modified: LM\\r\\n", &line[..at]),
            None => line,
        };
        let line = match line.find("Via: 1.1 http-server:") {
            Some(at) => format!("{}Via: 1.1 http-server:PORT\\r\\n", &line[..at]),
            None => line,
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn chain_catalogue_command_then_each_case_names_its_hop() {
    let (code, stdout, stderr, front, origin) = chain_catalogue(&[
        "--id",
        "rfc9112-5.2-obs-fold-in-host-value",
        "--id",
        "rfc9112-3.2.2-absolute-form-accepted",
        "--id",
        "rfc9112-9.3.2-pipelined-responses-in-order",
    ]);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(
        normalise(&stderr, &front, &origin),
        "origin listening on ORIGIN: the front is to forward there\n"
    );
    let via = "with Via, Connection added; relayed with Via added; Connection removed";
    assert_eq!(
        normalise(&stdout, &front, &origin),
        format!(
            "\
conformance chain --catalogue of front FRONT, origin ORIGIN serving the fixture docroot, 3 cases
control: GET /conformance-chain/RUN-control/ → 200 OK, HEAD → 200; ETag yes, Last-Modified yes, length 447; persistent yes; second connection served while one is open: yes; answered by the origin at ORIGIN through the front
PASS  rfc9112-3.2.2-absolute-form-accepted        origin: 200 OK (the front forwarded GET http://localhost/conformance-chain/RUN-0001/ HTTP/1.1 as GET /conformance-chain/RUN-0001/ HTTP/1.1 {via})
PASS  rfc9112-5.2-obs-fold-in-host-value          front: 400 Bad Request (nothing of the case reached the origin)
PASS  rfc9112-9.3.2-pipelined-responses-in-order  origin: 200 OK (the front forwarded GET /conformance-chain/RUN-0003/ HTTP/1.1 {via}) | origin: 404 Not Found (the front forwarded GET /conformance-no-such-resource.txt HTTP/1.1 {via})

response rules, checked on every response the client read:
PASS  rule:date            held on 4 responses
PASS  rule:content-length  held on 4 responses
PASS  rule:status-sp       held on 4 responses
PASS  rule:reason-phrase   held on 4 responses
PASS  rule:field-value     held on 4 responses

cases by hop: front 1, origin 2, pair 0, unknown 0
findings by hop: front 0, origin 0, pair 0, unknown 0
3 passed, 0 warned, 0 failed
"
        )
    );
}

#[test]
fn chain_catalogue_command_then_json_and_junit_carry_the_hops() {
    let ids = [
        "--id",
        "rfc9112-5.2-obs-fold-in-host-value",
        "--id",
        "rfc9112-9.3.2-pipelined-responses-in-order",
    ];
    let mut args = ids.to_vec();
    args.extend(["--format", "json"]);
    let (code, stdout, _, _, _) = chain_catalogue(&args);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(json["mode"], "chain-catalogue");
    let hops: Vec<(&str, &str, Vec<&str>)> = json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap(),
                c["hop"].as_str().unwrap(),
                c["steps"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["hop"].as_str().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        hops,
        [
            ("rfc9112-5.2-obs-fold-in-host-value", "front", vec!["front"]),
            (
                "rfc9112-9.3.2-pipelined-responses-in-order",
                "origin",
                vec!["origin", "origin"]
            ),
        ]
    );
    let step = &json["cases"][1]["steps"][1];
    assert!(step["origin_received"]
        .as_str()
        .unwrap()
        .starts_with("GET /conformance-no-such-resource.txt HTTP/1.1\\r\\n"));
    assert!(step["origin_answered"]
        .as_str()
        .unwrap()
        .starts_with("HTTP/1.1 404 Not Found\\r\\n"));
    assert_eq!(
        json["summary"]["cases_by_hop"],
        "front 1, origin 1, pair 0, unknown 0"
    );
    let mut args = ids.to_vec();
    args.extend(["--format", "junit"]);
    let (code, stdout, _, _, _) = chain_catalogue(&args);
    assert_eq!(code, 0);
    let doc = roxmltree::Document::parse(&stdout).expect("XML");
    let outs: Vec<(&str, &str)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            let out = n
                .children()
                .find(|c| c.has_tag_name("system-out"))
                .and_then(|c| c.text())
                .unwrap_or_default();
            (n.attribute("name").unwrap(), out.split(' ').next().unwrap())
        })
        .collect();
    assert_eq!(
        outs,
        [
            ("rfc9112-5.2-obs-fold-in-host-value", "front:"),
            ("rfc9112-9.3.2-pipelined-responses-in-order", "origin:"),
        ]
    );
}

#[test]
fn chain_catalogue_with_role_then_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args([
            "chain",
            "--catalogue",
            "--role",
            "proxy",
            "--front",
            "127.0.0.1:1",
            "--origin-listen",
            "127.0.0.1:0",
        ])
        .output()
        .expect("run conformance");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn chain_catalogue_front_answering_itself_then_exit_3_in_one_line() {
    let front = Responder::start(|mut stream| {
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf);
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    });
    let output = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args([
            "chain",
            "--catalogue",
            "--front",
            &front.target(),
            "--origin-listen",
            "127.0.0.1:0",
            "--quiet",
        ])
        .output()
        .expect("run conformance");
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let origin = stderr
        .split("the origin at ")
        .nth(1)
        .unwrap_or_default()
        .trim_end()
        .to_string();
    let run_id = stderr
        .split("/conformance-chain/")
        .nth(1)
        .map(|s| s[..8].to_string())
        .unwrap_or_default();
    assert_eq!(
        stderr.replace(&origin, "ORIGIN").replace(&run_id, "RUN"),
        format!(
            "conformance: {}: the front answered the control request GET \
             /conformance-chain/RUN-control/ with 200 OK itself: configure it to forward to the \
             origin at ORIGIN\n",
            front.target()
        )
    );
}
