//! The HTML report in a real browser: headless Chromium (Debian's
//! `chromium`), driven over the DevTools protocol on a WebSocket.
//!
//! The page is generated from two in-test responders (see `matrix.rs`),
//! loaded from a file, and checked the way a person would use it: it loads
//! with no console error, has one row per case and one column per server,
//! the group filter hides rows, and a click on a cell opens the detail view
//! with the raw request and response; the chain matrix's section opens a
//! cell's findings, each with its hop and bytes. A screenshot of the open
//! detail view is kept as a test artifact in `target/report-screenshot.png`.
//!
//! Chromium is required: without it the test fails, unless
//! `SKIP_BROWSER_TEST=1` says to skip it (`.ci/run` installs Chromium).

use crate::matrix::{case_dir, record_matrix, responder, ACCEPTS, CODES, HEADS, SAME};
use crate::support::conformance;
use base64::Engine as _;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// The flags the issue asks for, plus those that keep Chromium off the
/// network on a machine whose network is closed (component updates, sync,
/// QUIC probes).
const FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
];
/// How long Chromium gets to print its DevTools address, and each protocol
/// call to answer.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(30);

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// A running Chromium, closed over DevTools and then ended by its process
/// id when dropped (its renderers exit when their browser goes).
struct Browser {
    child: Child,
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Events received while waiting for answers, in order.
    events: Vec<Value>,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start(binary: &Path) -> Browser {
        let profile = tempfile::TempDir::new().expect("profile dir");
        let mut child = Command::new(binary)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--remote-debugging-port=0", "--window-size=1400,1000"])
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        // Chromium prints its DevTools address on stderr once it listens;
        // a thread keeps draining stderr so Chromium never blocks on it.
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let url = match rx.recv_timeout(BROWSER_TIMEOUT) {
            Ok(url) => url,
            Err(e) => {
                let _ = child.kill();
                panic!("chromium printed no DevTools address: {e}");
            }
        };
        let (socket, _) = tungstenite::connect(url.as_str()).expect("connect to DevTools");
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream
                .set_read_timeout(Some(BROWSER_TIMEOUT))
                .expect("read timeout");
        }
        Browser {
            child,
            socket,
            next_id: 0,
            events: Vec::new(),
            _profile: profile,
        }
    }

    fn read(&mut self) -> Value {
        loop {
            match self.socket.read().expect("DevTools message") {
                Message::Text(text) => return serde_json::from_str(&text).expect("DevTools JSON"),
                Message::Close(_) => panic!("DevTools closed the connection"),
                _ => continue,
            }
        }
    }

    /// Sends a command (to a page session when `session` is given) and
    /// returns its result; events that arrive meanwhile are kept.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .expect("send to DevTools");
        let deadline = Instant::now() + BROWSER_TIMEOUT;
        while Instant::now() < deadline {
            let reply = self.read();
            if reply["id"] == json!(id) {
                if let Some(error) = reply.get("error") {
                    panic!("{method} failed: {error}");
                }
                return reply["result"].clone();
            }
            self.events.push(reply);
        }
        panic!("{method} got no answer");
    }

    /// Waits for an event named `method`, returning it.
    fn wait_for(&mut self, method: &str) -> Value {
        let deadline = Instant::now() + BROWSER_TIMEOUT;
        loop {
            if let Some(i) = self.events.iter().position(|e| e["method"] == method) {
                return self.events.remove(i);
            }
            assert!(Instant::now() < deadline, "no {method} event");
            let event = self.read();
            self.events.push(event);
        }
    }

    /// Evaluates `expression` in the page and returns its value.
    fn eval(&mut self, session: &str, expression: &str) -> Value {
        let result = self.call(
            Some(session),
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("{expression} threw: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Console errors, uncaught exceptions and failed loads seen so far.
    fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str()? {
                "Runtime.exceptionThrown" => Some(e["params"]["exceptionDetails"].to_string()),
                "Runtime.consoleAPICalled"
                    if matches!(e["params"]["type"].as_str(), Some("error" | "assert")) =>
                {
                    Some(e["params"]["args"].to_string())
                }
                "Log.entryAdded" if e["params"]["entry"]["level"] == "error" => {
                    Some(e["params"]["entry"].to_string())
                }
                _ => None,
            })
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ask Chromium to close, and read until it drops the connection (or
        // the read timeout passes); then end it by its id in case it did not.
        // Never a signal to a process group: only the process started here.
        let closing = self
            .socket
            .send(Message::text(r#"{"id":0,"method":"Browser.close"}"#));
        if closing.is_ok() {
            while self.socket.read().is_ok() {}
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screenshot_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("report-screenshot.png")
}

/// Chromium, or `None` when it is missing and `SKIP_BROWSER_TEST=1` says to
/// skip; a missing Chromium otherwise fails the test.
fn chromium_or_skip() -> Option<PathBuf> {
    let binary = chromium();
    if binary.is_none() {
        if std::env::var_os("SKIP_BROWSER_TEST").is_some_and(|v| v == "1") {
            eprintln!("skipped: no chromium (SKIP_BROWSER_TEST=1)");
            return None;
        }
        panic!(
            "the report's browser test needs Chromium: `apt-get install chromium` \
             (or set CHROMIUM=/path, or SKIP_BROWSER_TEST=1 to skip it)"
        );
    }
    binary
}

/// A browser showing `url`, loaded, and its page session's id.
fn open(binary: &Path, url: &str) -> (Browser, String) {
    let mut browser = Browser::start(binary);
    let target = browser.call(None, "Target.createTarget", json!({ "url": "about:blank" }));
    let attached = browser.call(
        None,
        "Target.attachToTarget",
        json!({ "targetId": target["targetId"], "flatten": true }),
    );
    let session = attached["sessionId"]
        .as_str()
        .expect("session id")
        .to_string();
    for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
        browser.call(Some(&session), domain, json!({}));
    }
    browser.call(Some(&session), "Page.navigate", json!({ "url": url }));
    browser.wait_for("Page.loadEventFired");
    (browser, session)
}

/// A real click (mouse events at its centre) on the element `selector`
/// finds, scrolled into view first.
fn click(browser: &mut Browser, s: &str, selector: &str) {
    let rect = browser.eval(
        s,
        &format!(
            "(() => {{ const c = document.querySelector('{selector}'); \
             c.scrollIntoView({{block: 'center'}}); const r = c.getBoundingClientRect(); \
             return {{x: r.x + r.width / 2, y: r.y + r.height / 2}}; }})()"
        ),
    );
    for kind in ["mousePressed", "mouseReleased"] {
        browser.call(
            Some(s),
            "Input.dispatchMouseEvent",
            json!({ "type": kind, "x": rect["x"], "y": rect["y"], "button": "left", "clickCount": 1 }),
        );
    }
}

#[test]
fn report_in_headless_chromium_then_loads_clean_and_detail_opens_on_click() {
    let Some(binary) = chromium_or_skip() else {
        return;
    };
    let dir = case_dir();
    let matrix = record_matrix(dir.path());
    let page = dir.path().join("report.html");
    conformance(dir.path())
        .args(["report", "--input"])
        .arg(&matrix)
        .arg("--output")
        .arg(&page)
        .assert()
        .success();

    let (mut browser, session) = open(&binary, &format!("file://{}", page.display()));
    let s = session.as_str();

    let rows = browser.eval(
        s,
        "document.querySelectorAll('#matrix tbody tr.case').length",
    );
    assert_eq!(rows, json!(4), "one row per case");
    let columns = browser.eval(
        s,
        "document.querySelectorAll('#matrix thead th.server').length",
    );
    assert_eq!(columns, json!(2), "one column per server");
    let cells = browser.eval(
        s,
        "document.querySelectorAll('#matrix tbody tr.case td.cell').length",
    );
    assert_eq!(cells, json!(8), "a cell per case and server");
    let ids = browser.eval(
        s,
        "Array.from(document.querySelectorAll('#matrix tbody tr.case code')).map(c => c.textContent).sort()",
    );
    let mut expected = vec![SAME, HEADS, CODES, ACCEPTS];
    expected.sort_unstable();
    assert_eq!(ids, json!(expected));

    // The group filter: only the `host` case stays visible.
    let visible = browser.eval(
        s,
        "(() => { const g = document.getElementById('filter-group'); g.value = 'host'; \
         g.dispatchEvent(new Event('change')); \
         return Array.from(document.querySelectorAll('#matrix tbody tr.case')).filter(r => !r.hidden).length; })()",
    );
    assert_eq!(visible, json!(1));
    assert_eq!(
        browser.eval(s, "document.getElementById('shown').textContent"),
        json!("1 of 4 cases")
    );

    // A real click on the strict server's answer to the host case opens
    // the detail view.
    click(
        &mut browser,
        s,
        "#matrix tbody tr.case:not([hidden]) td.cell[data-server=\\\"1\\\"]",
    );
    assert_eq!(
        browser.eval(s, "document.getElementById('detail').open"),
        json!(true)
    );
    let detail = browser.eval(s, "document.getElementById('detail').innerText");
    let detail = detail.as_str().expect("detail text");
    for text in [
        CODES,
        "strict (strict/1.0)",
        "Request (template)",
        "GET /codes HTTP/1.1\\r\\n",
        "Response from strict: 400 Bad Request",
        "HTTP/1.1 400 Bad Request\\r\\n",
        "RFC 9112 §3.2",
        "A test sentence.",
        "Why this matters.",
    ] {
        assert!(
            detail.contains(text),
            "{text:?} missing from the detail view:\n{detail}"
        );
    }
    // A matrix records no bytes sent: the template alone.
    assert!(!detail.contains("Request (as sent)"), "{detail}");
    let links = browser.eval(
        s,
        "Array.from(document.querySelectorAll('#detail-body a')).map(a => a.href)",
    );
    assert_eq!(
        links,
        json!([
            format!("file://{}#case-{CODES}", page.display()),
            "https://www.rfc-editor.org/rfc/rfc9112#section-3.2"
        ])
    );

    let shot = browser.call(
        Some(s),
        "Page.captureScreenshot",
        json!({ "format": "png" }),
    );
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("screenshot data"))
        .expect("base64 screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    let path = screenshot_path();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("target dir");
    }
    std::fs::write(&path, png).expect("write screenshot");

    let errors = browser.errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
}

#[test]
fn run_page_in_headless_chromium_then_a_case_link_opens_its_detail_with_the_bytes_sent() {
    let Some(binary) = chromium_or_skip() else {
        return;
    };
    let dir = case_dir();
    let strict = responder(true);
    let json = dir.path().join("run.json");
    conformance(dir.path())
        .args(["run", "--target", &strict.target(), "--name", "strict"])
        .args([
            "--timeout",
            "500",
            "--format",
            "json",
            "--quiet",
            "--output",
        ])
        .arg(&json)
        .assert()
        .code(0);
    let page = dir.path().join("run.html");
    conformance(dir.path())
        .args(["report", "--input"])
        .arg(&json)
        .arg("--output")
        .arg(&page)
        .assert()
        .success();

    // Opened at a case's anchor: a page of one server shows its detail.
    let url = format!("file://{}#case-{CODES}", page.display());
    let (mut browser, session) = open(&binary, &url);
    let s = session.as_str();
    assert_eq!(
        browser.eval(s, "document.getElementById('detail').open"),
        json!(true)
    );
    let detail = browser.eval(s, "document.getElementById('detail').innerText");
    let detail = detail.as_str().expect("detail text");
    let sent = "Request (as sent)\nGET /codes HTTP/1.1\\r\\n\nHost: localhost\\r\\n\n\\r\\n\n";
    for text in [
        CODES,
        "strict: pass",
        "link to this case",
        "Request (template)",
        sent,
        "Response from strict: 400 Bad Request",
        "HTTP/1.1 400 Bad Request\\r\\n",
    ] {
        assert!(
            detail.contains(text),
            "{text:?} missing from the detail view:\n{detail}"
        );
    }

    // Closed, then a real click on another case's id: its detail, and the
    // address names it.
    browser.eval(s, "document.getElementById('detail-close').click()");
    click(
        &mut browser,
        s,
        &format!("#case-{} a.case-link", SAME.replace('.', "\\\\.")),
    );
    // The address changes at once; its `hashchange` event comes as a task
    // of its own: wait for the page's event loop to run it.
    let opened = browser.eval(
        s,
        "new Promise(resolve => { let tries = 0; const check = () => \
         document.getElementById('detail').open || ++tries > 100 \
         ? resolve(document.getElementById('detail').open) : setTimeout(check, 10); check(); })",
    );
    assert_eq!(
        opened,
        json!(true),
        "{}",
        browser.eval(s, "window.location.href")
    );
    assert_eq!(
        browser.eval(s, "document.getElementById('detail-title').textContent"),
        json!(format!("Test case {SAME}"))
    );
    assert_eq!(
        browser.eval(s, "window.location.hash"),
        json!(format!("#case-{SAME}"))
    );
    let errors = browser.errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
}

#[test]
fn chain_section_in_headless_chromium_then_a_cell_opens_its_findings_with_each_hop() {
    let Some(binary) = chromium_or_skip() else {
        return;
    };
    let dir = case_dir();
    let matrix = record_matrix(dir.path());
    let chain = dir.path().join("chain-results.json");
    let (code, _, stderr, _) = crate::chain::chain_through(
        crate::chain::Front::Relay,
        &[
            "--id",
            crate::chain::CL_TE,
            "--name",
            "relay",
            "--server-version",
            "relay 1.0",
            "--matrix",
            chain.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    let page = dir.path().join("report.html");
    conformance(dir.path())
        .args(["report", "--input"])
        .arg(&matrix)
        .arg("--chain")
        .arg(&chain)
        .arg("--output")
        .arg(&page)
        .assert()
        .success();

    let (mut browser, session) = open(&binary, &format!("file://{}#chain", page.display()));
    let s = session.as_str();
    assert_eq!(
        browser.eval(
            s,
            "document.querySelectorAll('#matrix tbody tr.case').length"
        ),
        json!(4),
        "the servers' matrix is there too"
    );
    assert_eq!(
        browser.eval(
            s,
            "Array.from(document.querySelectorAll('#chain-matrix td.chain-cell')).map(c => c.textContent)"
        ),
        json!(["fail pair"])
    );
    click(&mut browser, s, "#chain-matrix td.chain-cell");
    assert_eq!(
        browser.eval(s, "document.getElementById('chain-detail').open"),
        json!(true)
    );
    assert_eq!(
        browser.eval(s, "document.getElementById('detail').open"),
        json!(false),
        "the servers' detail view stays closed"
    );
    let detail = browser.eval(s, "document.getElementById('chain-detail').innerText");
    let detail = detail.as_str().expect("detail text");
    for text in [
        crate::chain::CL_TE,
        "relay (relay 1.0): fail pair",
        "step 1: origin",
        "origin (fail) step 1: 200 OK",
        "pair (fail) bytes the client sent as the content of POST /conformance-chain/<token>",
        "client sent\nPOST /conformance-chain/<token> HTTP/1.1\\r\\n\n",
        "origin received (connection 1)\nPOST /conformance-chain/<token> HTTP/1.1\\r\\n\n",
        "Regardless, the server MUST close the connection",
        "Why it matters",
    ] {
        assert!(
            detail.contains(text),
            "{text:?} missing from the chain detail view:\n{detail}"
        );
    }
    browser.eval(s, "document.getElementById('chain-detail-close').click()");
    assert_eq!(
        browser.eval(s, "document.getElementById('chain-detail').open"),
        json!(false)
    );
    let errors = browser.errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
}
