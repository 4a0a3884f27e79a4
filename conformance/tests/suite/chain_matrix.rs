//! The chain matrix: `conformance chain --matrix` records a front's results
//! (tokens, addresses and dates replaced, so reruns compare), `report`
//! renders it as scores, Markdown and a section of the HTML report whose
//! cells name the hop; `chain --wait`; and the selection of `make matrix`'s
//! harness (matrix/run.py), whose bad input is a harness error.

use crate::chain::{chain_through, Front, CL_TE};
use crate::chain_proxies::Flaw;
use crate::support::unused_addr;
use std::path::{Path, PathBuf};
use std::process::Command;

fn conformance(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        .output()
        .expect("run conformance");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The relay on the CL+TE case, then the conforming proxy on every case,
/// recorded in one chain matrix.
fn recorded(dir: &Path) -> (PathBuf, usize) {
    let file = dir.join("chain-results.json");
    let path = file.to_str().unwrap();
    let (code, _, stderr, _) = chain_through(
        Front::Relay,
        &[
            "--id",
            CL_TE,
            "--name",
            "relay",
            "--server-version",
            "relay 1.0",
            "--matrix",
            path,
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    let (code, _, stderr, _) = chain_through(
        Front::Proxy(Flaw::None),
        &[
            "--name",
            "proxy",
            "--server-version",
            "proxy 1.0",
            "--role",
            "gateway",
            "--role",
            "proxy",
            "--matrix",
            path,
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let cases = conformance::chain::builtin_chain_catalogue()
        .expect("compiled in")
        .len();
    (file, cases)
}

#[test]
fn chain_matrix_then_each_front_recorded_with_its_hops_and_bytes_normalised() {
    let dir = tempfile::tempdir().unwrap();
    let (file, cases) = recorded(dir.path());
    let matrix: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let names: Vec<&str> = matrix["fronts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["relay", "proxy"]);
    let relay = &matrix["fronts"][0];
    assert_eq!(relay["version"], "relay 1.0");
    assert_eq!(relay["roles"], serde_json::json!(["gateway"]));
    assert_eq!(
        relay["hops"],
        serde_json::json!({"front": 0, "origin": 1, "pair": 1})
    );
    let answer = &relay["answers"][0];
    assert_eq!(answer["id"], CL_TE);
    assert_eq!(answer["grade"], "fail");
    assert_eq!(answer["hop"], "pair");
    assert_eq!(answer["answered_by"], serde_json::json!(["origin"]));
    assert_eq!(
        answer["outcome"],
        "pair: bytes the client sent as the content of POST /conformance-chain/<token> HTTP/1.1 \
         (Content-Length: 82 and chunked) arrived at the origin as a request: GET \
         /conformance-chain/<token>/smuggled HTTP/1.1 (+1 more)"
    );
    let pair = &answer["findings"][1];
    assert_eq!(pair["hop"], "pair");
    let sent = "POST /conformance-chain/<token> HTTP/1.1\\r\\n\nHost: localhost\\r\\n\n\
        Content-Type: text/plain\\r\\n\nContent-Length: 82\\r\\n\nTransfer-Encoding: chunked\\r\\n\n\
        \\r\\n\n0\\r\\n\n\\r\\n\nGET /conformance-chain/<token>/smuggled HTTP/1.1\\r\\n\n\
        X-Chain: smuggled\\r\\n\n\\r\\n";
    assert_eq!(
        pair["evidence"],
        serde_json::json!([
            {"label": "client sent", "bytes": sent, "total": 211},
            {"label": "origin received (connection 1)", "bytes": sent, "total": 211},
        ])
    );
    let received = &answer["findings"][0]["evidence"][0];
    assert_eq!(received["label"], "client received (step 1)");
    assert_eq!(
        received["bytes"],
        "HTTP/1.1 200 OK\\r\\n\nX-Conformance-Origin: <token> 1\\r\\n\nCache-Control: no-store\\r\\n\n\
         Date: <date>\\r\\n\nContent-Type: text/plain\\r\\n\nContent-Length: 23\\r\\n\n\\r\\n"
    );
    let proxy = &matrix["fronts"][1];
    assert_eq!(proxy["roles"], serde_json::json!(["proxy", "gateway"]));
    assert_eq!(proxy["counts"]["passed"], cases);
    assert_eq!(proxy["answers"].as_array().unwrap().len(), cases);

    // The same name again: replaced in place.
    let (code, _, _, _) = chain_through(
        Front::Relay,
        &[
            "--id",
            CL_TE,
            "--name",
            "relay",
            "--server-version",
            "relay 2.0",
            "--matrix",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(again["fronts"].as_array().unwrap().len(), 2);
    assert_eq!(again["fronts"][0]["version"], "relay 2.0");
    assert_eq!(
        again["fronts"][0]["answers"],
        matrix["fronts"][0]["answers"]
    );
}

#[test]
fn chain_matrix_report_then_scores_markdown_and_a_section_of_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let (file, cases) = recorded(dir.path());
    let input = file.to_str().unwrap();
    let (code, scores, _) = conformance(&["report", "--input", input, "--format", "scores"]);
    assert_eq!(code, 0);
    assert_eq!(
        scores,
        format!(
            "| proxy | version | score | pass | warn | fail | skip | error | front | origin | pair |\n\
             |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n\
             | relay | relay 1.0 | 0/1 (0%) | 0 | 0 | 1 | 0 | 0 | 0 | 1 | 1 |\n\
             | proxy | proxy 1.0 | {cases}/{cases} (100%) | {cases} | 0 | 0 | 0 | 0 | 0 | 0 | 0 |\n"
        )
    );
    let (code, markdown, _) = conformance(&["report", "--input", input, "--format", "markdown"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = markdown.lines().collect();
    for line in [
        "| relay | 1 | 0 | RFC 9112 §6.1 (must): `rfc9112-6.1-cl-te-request-closed`: pair |",
        "| proxy | 0 | 0 | none |",
        "### relay — `chain-rfc9112-6.1-cl-te-request-closed`",
        "origin received (connection 1):",
        "| [`chain-rfc9112-6.1-cl-te-request-closed`](https://www.rfc-editor.org/rfc/rfc9112#section-6.1) \
         | must | intermediary | **fail pair** | pass |",
        "| [`chain-rfc9110-5.1-unknown-field-forwarded`](https://www.rfc-editor.org/rfc/rfc9110#section-5.1) \
         | must | proxy | — | pass |",
        "| `rule:date` | must | pass | pass |",
    ] {
        assert!(lines.contains(&line), "no line {line:?} in:\n{markdown}");
    }

    // The page of a matrix of servers, with the chain matrix after it:
    // the servers' part is the page without --chain, byte for byte.
    let servers = dir.path().join("results.json");
    std::fs::write(&servers, "{\"generated\": \"2026-01-01\", \"servers\": []}").unwrap();
    let servers = servers.to_str().unwrap();
    let (code, alone, _) = conformance(&["report", "--input", servers]);
    assert_eq!(code, 0);
    let (code, page, _) = conformance(&["report", "--input", servers, "--chain", input]);
    assert_eq!(code, 0);
    let nav = format!(
        "<p>Chain matrix: {cases} chain cases through 2 reverse proxies in front of a recording \
         origin, each finding naming its hop — <a href=\"#chain\">below</a>.</p>\n"
    );
    let (head, tail) = alone.split_at(alone.find("</header>").unwrap());
    let section =
        &page[page.find("<section id=\"chain\">").unwrap()..page.find("</body>").unwrap()];
    assert_eq!(
        page,
        format!(
            "{head}{nav}{}",
            tail.replace("</body>", &format!("{section}</body>"))
        )
    );
    assert!(section.ends_with("</section>\n"));
    let cell =
        "<td class=\"chain-cell fail\" data-front=\"0\" tabindex=\"0\" title=\"relay: pair: \
        bytes the client sent as the content of POST /conformance-chain/&lt;token&gt; HTTP/1.1 \
        (Content-Length: 82 and chunked) arrived at the origin as a request: GET \
        /conformance-chain/&lt;token&gt;/smuggled HTTP/1.1 (+1 more)\">fail pair</td>";
    assert!(section.contains(cell), "{section}");

    // The chain matrix alone, as a page of its own.
    let (code, own, _) = conformance(&["report", "--input", input, "--format", "html"]);
    assert_eq!(code, 0);
    assert!(own.contains(section));
}

#[test]
fn chain_matrix_bad_input_then_exit_2_before_any_case() {
    let dir = tempfile::tempdir().unwrap();
    let servers = dir.path().join("results.json");
    std::fs::write(&servers, "{\"generated\": \"2026-01-01\", \"servers\": []}").unwrap();
    let servers = servers.to_str().unwrap();
    // Not a chain matrix: refused before the origin binds or the front is asked.
    let front = unused_addr().to_string();
    let (code, _, stderr) = conformance(&[
        "chain",
        "--front",
        &front,
        "--origin-listen",
        "127.0.0.1:0",
        "--matrix",
        servers,
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with(&format!("conformance: {servers} is not a matrix: ")),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(" (--matrix takes a chain matrix)\n"),
        "{stderr}"
    );
    let chain = dir.path().join("chain.json");
    std::fs::write(&chain, "{\"generated\": \"2026-01-01\", \"fronts\": []}").unwrap();
    let chain = chain.to_str().unwrap();
    let (code, _, stderr) = conformance(&[
        "report", "--input", servers, "--chain", chain, "--format", "markdown",
    ]);
    assert_eq!(
        (code, stderr.as_str()),
        (
            2,
            "conformance: --chain adds the chain matrix to the HTML page; its Markdown and its \
             scores are `report --input CHAIN-MATRIX --format markdown|scores`\n"
        )
    );
    let (code, _, stderr) = conformance(&["report", "--input", chain, "--chain", chain]);
    assert_eq!(
        (code, stderr.as_str()),
        (
            2,
            "conformance: --chain adds a chain matrix to a matrix of servers; --input is a chain \
             matrix already\n"
        )
    );
    let (code, _, stderr) = conformance(&["report", "--input", servers, "--chain", servers]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with(&format!(
            "conformance: --chain: {servers} is not a matrix: "
        )),
        "{stderr}"
    );
}

#[test]
fn chain_wait_then_a_front_that_never_listens_is_exit_3_after_the_wait() {
    let front = unused_addr().to_string();
    let (code, stdout, stderr) = conformance(&[
        "chain",
        "--front",
        &front,
        "--origin-listen",
        "127.0.0.1:0",
        "--wait",
        "1",
    ]);
    assert_eq!((code, stdout.as_str()), (3, ""));
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(lines[0].starts_with("origin listening on 127.0.0.1:"));
    assert!(
        lines[1].starts_with(&format!(
            "waiting up to 1 s for {front} to accept a connection ("
        )),
        "{stderr}"
    );
    assert!(
        lines[2].starts_with(&format!(
            "conformance: {front} did not accept a connection within --wait 1 s: "
        )),
        "{stderr}"
    );
}

/// What matrix/run.py selects for each `--only` list: the servers, then
/// the proxies.
fn selected(words: &[&str]) -> (i32, String, String) {
    let script = format!(
        "import sys\nsys.path.insert(0, 'matrix')\nimport run\n\
         try:\n    servers, proxies = run.selection({words:?})\n\
         except run.HarnessError as e:\n    sys.exit(f'harness error: {{e}}')\n\
         print(' '.join(s.name for s in servers) + ' | ' + ' '.join(proxies))"
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .current_dir(repo())
        .output()
        .expect("python3");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn matrix_harness_only_then_names_select_both_tiers_and_unknown_words_are_errors() {
    assert_eq!(
        selected(&["nginx"]),
        (0, "nginx | nginx\n".into(), String::new())
    );
    assert_eq!(
        selected(&["proxy:nginx", "server:h2o", "squid"]),
        (0, "h2o | nginx squid\n".into(), String::new())
    );
    assert_eq!(
        selected(&["proxies"]),
        (
            0,
            " | nginx haproxy apache caddy varnish squid h2o nghttpx tinyproxy trafficserver \
             mitmproxy http-proxy\n"
                .into(),
            String::new()
        )
    );
    let (code, servers, _) = selected(&["servers"]);
    assert_eq!(code, 0);
    assert!(
        servers.starts_with("single threaded nginx nginx-tls "),
        "{servers}"
    );
    assert!(servers.ends_with(" node | \n"), "{servers}");
    let (code, _, stderr) = selected(&["nosuch"]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("harness error: --only nosuch: not a server (single, threaded, "),
        "{stderr}"
    );
    // The harness itself: bad input is a harness error, exit 1, before any
    // server or proxy is started.
    let out = Command::new("python3")
        .args(["matrix/run.py", "--only", "proxy:nosuch"])
        .current_dir(repo())
        .output()
        .expect("python3");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("matrix: harness error: --only proxy:nosuch: not a server ("),
        "{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
}
