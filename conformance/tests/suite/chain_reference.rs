//! The whole chain catalogue (`fixtures/chain-cases`) against the
//! reference proxy (the server crate's `Proxy`, what `http-server --mode
//! proxy` runs) on an ephemeral port, with the recording origin behind it:
//! taken for a proxy and a gateway both, it passes every case, as the
//! reference server passes every case of `run`.

use conformance::chain::{load_chain_catalogue, run_chain_cases, ChainOptions, Origin, Role};
use conformance::run::Watch;
use conformance::Grade;
use server::{Proxy, ProxyConfig, ProxyShutdown};
use std::net::SocketAddr;
use std::path::Path;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A run nobody watches.
struct All;
impl Watch for All {}

/// The reference proxy on 127.0.0.1:0, forwarding to `upstream` until
/// dropped.
struct ReferenceProxy {
    stop: ProxyShutdown,
    running: Option<JoinHandle<()>>,
}

impl ReferenceProxy {
    /// Binds the proxy on 127.0.0.1:0 in front of `origin` and runs it on a
    /// thread of its own; its address, and the handle that stops it.
    fn start(origin: &Origin) -> (SocketAddr, ReferenceProxy) {
        let mut config = ProxyConfig::new(origin.local_addr().to_string());
        config.quiet = true;
        let proxy = Proxy::bind("127.0.0.1:0", config).expect("bind the proxy");
        let front = proxy.local_addr();
        let running = ReferenceProxy {
            stop: proxy.shutdown_handle(),
            running: Some(thread::spawn(move || proxy.run())),
        };
        (front, running)
    }
}

impl Drop for ReferenceProxy {
    fn drop(&mut self) {
        self.stop.shutdown();
        if let Some(running) = self.running.take() {
            let _ = running.join();
        }
    }
}

#[test]
fn reference_proxy_then_every_chain_case_passes() {
    let origin = Origin::bind("127.0.0.1:0").expect("bind the origin");
    let (front, _running) = ReferenceProxy::start(&origin);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/chain-cases");
    let cases = load_chain_catalogue(&dir).expect("the chain catalogue loads");
    let options = ChainOptions {
        timeout: Duration::from_secs(2),
        roles: vec![Role::Proxy, Role::Gateway],
        ..ChainOptions::default()
    };
    let results = run_chain_cases(front, &origin, &cases, &options, &All).results;
    assert_eq!(results.len(), cases.len());
    let not_passed: Vec<String> = results
        .iter()
        .filter(|r| r.result.grade != Grade::Pass)
        .map(|r| format!("{} {}: {:#?}", r.result.grade, r.chain.case.id, r.findings))
        .collect();
    assert!(not_passed.is_empty(), "{}", not_passed.join("\n"));
}

#[test]
fn front_taken_for_a_cache_then_the_case_its_sentence_exempts_caches_from_skips() {
    let origin = Origin::bind("127.0.0.1:0").expect("bind the origin");
    let (front, _running) = ReferenceProxy::start(&origin);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/chain-cases");
    let cases: Vec<_> = load_chain_catalogue(&dir)
        .expect("the chain catalogue loads")
        .into_iter()
        .filter(|c| c.case.id == "chain-rfc9110-13.2.1-conditionals-forwarded-unevaluated")
        .collect();
    let options = ChainOptions {
        timeout: Duration::from_secs(2),
        roles: vec![Role::Gateway, Role::Cache],
        ..ChainOptions::default()
    };
    let results = run_chain_cases(front, &origin, &cases, &options, &All).results;
    let skipped: Vec<(Grade, Option<&str>)> = results
        .iter()
        .map(|r| (r.result.grade, r.result.skipped.as_deref()))
        .collect();
    assert_eq!(
        skipped,
        [(
            Grade::Skip,
            Some("the requirement exempts a cache, and the front is taken for one (--role)")
        )]
    );
}

#[test]
fn own_version_then_measured_against_the_version_the_control_was_forwarded_with() {
    let origin = Origin::bind("127.0.0.1:0").expect("bind the origin");
    let (front, _running) = ReferenceProxy::start(&origin);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/chain-cases");
    let cases: Vec<_> = load_chain_catalogue(&dir)
        .expect("the chain catalogue loads")
        .into_iter()
        .filter(|c| c.case.id == "chain-rfc9112-2.3-own-version-request")
        .collect();
    let grade_with = |forwarded: &str| {
        let options = ChainOptions {
            timeout: Duration::from_secs(2),
            forwarded_version: Some(forwarded.to_string()),
            ..ChainOptions::default()
        };
        let results = run_chain_cases(front, &origin, &cases, &options, &All).results;
        results.iter().map(|r| r.result.grade).collect::<Vec<_>>()
    };
    // The reference proxy forwards with HTTP/1.1, its own version: a front
    // that had forwarded the control as HTTP/1.0 would be copying here.
    assert_eq!(grade_with("HTTP/1.1"), [Grade::Pass]);
    assert_eq!(grade_with("HTTP/1.0"), [Grade::Fail]);
}
