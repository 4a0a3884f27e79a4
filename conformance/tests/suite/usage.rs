//! Usage errors: clap's key lines kept as one short block, and `--target`
//! checked before any connect. Each error is exit 2 with nothing on stdout,
//! except a name that does not resolve, which is the target's fault: exit 3.

use crate::support::{
    case_dir_of, conformance, rules_held, unused_addr, CaseFile, CONTROL_OF_ANSWER_THEN_CLOSE,
};
use tempfile::TempDir;

/// A directory with one case, so nothing here depends on the catalogue.
fn one_case() -> TempDir {
    case_dir_of(&[CaseFile::new("rfc9112-3.2-missing-host")
        .group("host")
        .request(r"GET / HTTP/1.1\r\n\r\n")
        .pass(&["400"])])
}

/// Runs `conformance --cases DIR ARGS…` and checks exit `code`, an empty
/// stdout and exactly `stderr`.
fn fails_with(args: &[&str], code: i32, stderr: &str) {
    let dir = one_case();
    conformance(dir.path())
        .args(args)
        .assert()
        .code(code)
        .stdout("")
        .stderr(stderr.to_string());
}

#[test]
fn bad_level_then_allowed_values_and_usage() {
    fails_with(
        &["run", "--target", "127.0.0.1:1", "--level", "sometimes"],
        2,
        "conformance: invalid value 'sometimes' for '--level <LEVEL>'\n\
         \x20 [possible values: must, should, may, info]\n\
         \x20 Usage: conformance run [OPTIONS] --target <HOST:PORT>\n",
    );
}

#[test]
fn near_miss_value_then_did_you_mean() {
    fails_with(
        &["run", "--target", "127.0.0.1:1", "--format", "jsn"],
        2,
        "conformance: invalid value 'jsn' for '--format <FORMAT>'\n\
         \x20 [possible values: text, json, junit, markdown]\n\
         \x20 tip: a similar value exists: 'json'\n\
         \x20 Usage: conformance run [OPTIONS] --target <HOST:PORT>\n",
    );
}

#[test]
fn misspelt_flag_then_similar_argument_and_usage() {
    fails_with(
        &["run", "--target", "127.0.0.1:1", "--fial-on", "must"],
        2,
        "conformance: unexpected argument '--fial-on' found\n\
         \x20 tip: a similar argument exists: '--fail-on'\n\
         \x20 Usage: conformance run --target <HOST:PORT> --fail-on <LEVEL>\n",
    );
}

#[test]
fn missing_target_then_the_argument_named() {
    fails_with(
        &["run"],
        2,
        "conformance: the following required arguments were not provided:\n\
         \x20 --target <HOST:PORT>\n\
         \x20 Usage: conformance run --target <HOST:PORT>\n",
    );
}

#[test]
fn no_command_then_the_commands_listed() {
    fails_with(
        &[],
        2,
        "conformance: 'conformance' requires a subcommand but one was not provided\n\
         \x20 [subcommands: run, list, explain, diff, report, coverage, chain, help]\n\
         \x20 Usage: conformance [OPTIONS] <COMMAND>\n",
    );
}

#[test]
fn no_arguments_at_all_then_the_commands_listed_not_the_help() {
    assert_cmd::cargo::cargo_bin_cmd!("conformance")
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            "conformance: a command is needed: one of run, list, explain, diff, report, \
             coverage, chain\n\
             \x20 Usage: conformance [OPTIONS] <COMMAND>\n",
        );
}

#[test]
fn timeout_zero_or_above_a_minute_then_exit_2() {
    for value in ["0", "60001", "99999999999"] {
        fails_with(
            &["run", "--target", "127.0.0.1:1", "--timeout", value],
            2,
            &format!(
                "conformance: invalid value '{value}' for '--timeout <MS>': must be a whole \
                 number of milliseconds from 1 to 60000 (60 s)\n\
                 \x20 Usage: conformance run [OPTIONS] --target <HOST:PORT>\n"
            ),
        );
    }
}

#[test]
fn jobs_zero_then_exit_2() {
    fails_with(
        &["run", "--target", "127.0.0.1:1", "--jobs", "0"],
        2,
        "conformance: invalid value '0' for '--jobs <N>': must be a whole number, at least 1\n\
         \x20 Usage: conformance run [OPTIONS] --target <HOST:PORT>\n",
    );
}

#[test]
fn impossible_targets_then_exit_2_with_one_line() {
    for (target, why) in [
        ("127.0.0.1:0", "port 0 is not a port a server listens on"),
        (
            "http://127.0.0.1:0/",
            "port 0 is not a port a server listens on",
        ),
        ("127.0.0.1:65536", "a port is at most 65535"),
        ("127.0.0.1:http", "the port \"http\" is not a number"),
        (":8080", "the host is empty"),
        ("http:///x", "the host is empty"),
        ("localhost", "expected HOST:PORT or http://HOST:PORT/PATH"),
        (
            "exa mple:80",
            "the host is not a host name or an IP address",
        ),
        (
            "ftp://127.0.0.1:21/",
            "the URL schemes a target takes are http:// and https://",
        ),
        (
            "http://u@127.0.0.1:80/",
            "a target takes no user name or password",
        ),
        (
            "http://127.0.0.1:80/?q",
            "give the path without a query or fragment",
        ),
        (
            "https://127.0.0.1:0/",
            "port 0 is not a port a server listens on",
        ),
    ] {
        fails_with(
            &["run", "--target", target],
            2,
            &format!("conformance: --target \"{target}\": {why}\n"),
        );
    }
}

#[test]
fn url_path_and_other_path_then_exit_2() {
    fails_with(
        &["run", "--target", "http://127.0.0.1:1/a", "--path", "/b"],
        2,
        "conformance: --target gives the path /a and --path gives /b: give one\n",
    );
}

#[test]
fn unresolvable_name_then_exit_3() {
    let dir = one_case();
    let assert = conformance(dir.path())
        .args(["run", "--target", "no-such-host.invalid:80"])
        .assert()
        .code(3)
        .stdout("");
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    // The resolver's own words vary by system; the line starts the same.
    assert!(
        stderr.starts_with("conformance: cannot resolve no-such-host.invalid:80: ")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
}

#[test]
fn http_url_target_then_control_reached_at_its_port() {
    // Nothing listens there: reaching the connect (exit 3, not 2) shows the
    // URL was taken apart into the address.
    let addr = unused_addr();
    let dir = one_case();
    let assert = conformance(dir.path())
        .args([
            "run",
            "--target",
            &format!("http://{addr}"),
            "--timeout",
            "300",
        ])
        .assert()
        .code(3)
        .stdout("");
    // The line ends with the system's words for the refusal.
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.starts_with(&format!(
            "conformance: cannot reach http://{addr}: cannot connect to {addr}: "
        )) && stderr.lines().count() == 1
            && stderr.ends_with('\n'),
        "{stderr}"
    );
}

#[test]
fn http_url_with_path_then_the_run_uses_it_as_path() {
    let dir = one_case();
    let responder = crate::support::answer_then_close("400 Bad Request");
    let target = format!(
        "http://{}{}",
        responder.target(),
        crate::support::CONTROL_PATH
    );
    let assert = conformance(dir.path())
        .args(["run", "--target", &target, "--timeout", "300"])
        .assert()
        .code(0);
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    // The control went to the URL's path: the responder answers 200 only there.
    assert_eq!(
        out,
        format!(
            "conformance of {target}, 1 case\n\
             {CONTROL_OF_ANSWER_THEN_CLOSE}\n\
             PASS  rfc9112-3.2-missing-host  400 Bad Request\n\
             \n\
             {}\
             \n\
             group           pass  warn  fail  info  skip error\n\
             host               1     0     0     0     0     0\n\
             \n\
             1 passed, 0 warned, 0 failed\n",
            rules_held("1 response")
        )
    );
}
