//! The whole chain catalogue (`fixtures/chain-cases`) against the binary,
//! `http-server --mode proxy` on an ephemeral port, with the conformance
//! suite's recording origin behind it: the reference proxy, taken for a
//! proxy and a gateway both, passes every case, as the reference server
//! passes every case of `run`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use conformance::chain::{load_chain_catalogue, run_chain_cases, ChainOptions, Origin, Role};
use conformance::run::Watch;
use conformance::Grade;

/// A run nobody watches.
struct All;
impl Watch for All {}

/// The proxy process, stopped by its process id when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_passes_every_chain_case() {
    let origin = Origin::bind("127.0.0.1:0").expect("bind the origin");
    let mut child = Running(
        Command::cargo_bin("http-server")
            .unwrap()
            .args([
                "--mode",
                "proxy",
                "--bind",
                "127.0.0.1:0",
                "--quiet",
                "--upstream",
            ])
            .arg(origin.local_addr().to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn http-server"),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let front = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .parse()
        .expect("an address");
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
