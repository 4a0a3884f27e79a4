//! `https://` targets: the reference server behind an in-process rustls
//! server, with certificates made here by rcgen. Every handshake failure
//! is exit 3 and one line before any case; the plain-on-TLS and
//! TLS-on-plain mistakes are named; a close_notify is told from a bare close.

#[path = "../tls_proxy/mod.rs"]
pub(crate) mod tls_proxy;

use crate::support::{case_dir_of, conformance, CaseFile, Reference};
use assert_cmd::Command;
use conformance::wire::tls::{TlsClient, Trust, Versions};
use conformance::wire::{self, AfterEnd, Close, Outcome, ReadPlan, StepPlan, Transport};
use rustls::crypto::ring;
use rustls::pki_types::PrivateKeyDer;
use rustls::{ServerConfig, ServerConnection};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;
use tempfile::TempDir;
use tls_proxy::{Authority, Identity, ServerOptions, TlsProxy, TLS12_ONLY, TLS13_ONLY};

const SERVED: &str = "rfc9110-9.1-served";
const CLOSED: &str = "rfc9112-9.6-closed";
const TIMEOUT: Duration = Duration::from_millis(2000);

/// Two cases any working server passes: a request answered with the
/// control's status, and one with `Connection: close` after which the
/// server closes.
fn case_dir() -> TempDir {
    case_dir_of(&[
        CaseFile::new(SERVED)
            .group("method")
            .request(r"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n")
            .pass(&["control"]),
        CaseFile::new(CLOSED)
            .group("connection")
            .request(r"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
            .pass(&["control"])
            .checks(&["closed"]),
    ])
}

/// A test PKI: a CA, its PEM file, and the reference server behind TLS.
struct Setup {
    ca: Authority,
    ca_file: PathBuf,
    dir: TempDir,
    backend: Reference,
}

impl Setup {
    fn new() -> Setup {
        let ca = Authority::new("conformance test CA");
        let dir = case_dir();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).expect("write ca.pem");
        Setup {
            ca,
            ca_file,
            dir,
            backend: Reference::start(),
        }
    }

    /// A proxy presenting a certificate for `names`.
    fn proxy(&self, names: &[&str], expired: bool) -> TlsProxy {
        self.proxy_with(ServerOptions::new(self.ca.issue(names, expired)))
    }

    fn proxy_with(&self, options: ServerOptions) -> TlsProxy {
        TlsProxy::start(self.backend.addr, options)
    }

    /// `conformance run` against `target`, with `args`.
    fn run(&self, target: &str, args: &[&str]) -> Command {
        let mut cmd = conformance(self.dir.path());
        cmd.args(["run", "--target", target, "--timeout", "2000"]);
        cmd.args(args);
        cmd
    }

    fn ca_arg(&self) -> String {
        self.ca_file.display().to_string()
    }
}

/// Runs `cmd`, expects exit 3, and returns standard error.
fn exit_3(cmd: &mut Command) -> String {
    let output = cmd.assert().code(3).get_output().clone();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `cmd`, expects exit 0, and returns the control line of the text
/// report.
fn control_line(cmd: &mut Command) -> String {
    let output = cmd.assert().code(0).get_output().clone();
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find(|line| line.starts_with("control: "))
        .unwrap_or_else(|| panic!("no control line in {stdout}"))
        .to_string()
}

fn served_control_line(tls: &str) -> String {
    let length = std::fs::metadata(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/root/index.html"
    ))
    .expect("index.html")
    .len();
    format!(
        "control: GET / → 200 OK, HEAD → 200; ETag yes, Last-Modified yes, length {length}; \
         persistent yes; second connection served while one is open: yes; over {tls}"
    )
}

#[test]
fn certificate_of_an_unknown_ca_then_exit_3_unknown_issuer() {
    let setup = Setup::new();
    let proxy = setup.proxy(&["127.0.0.1"], false);
    assert_eq!(
        exit_3(&mut setup.run(&proxy.url(), &[])),
        format!(
            "conformance: {}: TLS handshake failed: unknown issuer: the certificate does not \
             chain to a trusted root (name its CA with --ca FILE, or skip verification with \
             --insecure)\n",
            proxy.url()
        )
    );
}

#[test]
fn certificate_of_the_ca_given_then_cases_run_and_the_control_line_says_verified() {
    let setup = Setup::new();
    let proxy = setup.proxy(&["127.0.0.1"], false);
    let line = control_line(&mut setup.run(&proxy.url(), &["--ca", &setup.ca_arg()]));
    assert_eq!(
        line,
        served_control_line(
            "TLS 1.3 TLS13_AES_256_GCM_SHA384, ALPN http/1.1, certificate verified"
        )
    );
}

#[test]
fn insecure_then_an_unknown_ca_is_accepted_and_the_control_line_says_so() {
    let setup = Setup::new();
    let proxy = setup.proxy(&["127.0.0.1"], false);
    let line = control_line(&mut setup.run(&proxy.url(), &["--insecure"]));
    assert_eq!(
        line,
        served_control_line(
            "TLS 1.3 TLS13_AES_256_GCM_SHA384, ALPN http/1.1, certificate NOT verified \
             (--insecure)"
        )
    );
}

#[test]
fn expired_certificate_then_exit_3_expired() {
    let setup = Setup::new();
    let proxy = setup.proxy(&["127.0.0.1"], true);
    assert_eq!(
        exit_3(&mut setup.run(&proxy.url(), &["--ca", &setup.ca_arg()])),
        format!(
            "conformance: {}: TLS handshake failed: expired: the certificate has expired\n",
            proxy.url()
        )
    );
}

#[test]
fn certificate_for_another_name_then_exit_3_name_mismatch() {
    let setup = Setup::new();
    let proxy = setup.proxy(&["example.com"], false);
    assert_eq!(
        exit_3(&mut setup.run(&proxy.url(), &["--ca", &setup.ca_arg()])),
        format!(
            "conformance: {}: TLS handshake failed: name mismatch: the certificate is not valid \
             for 127.0.0.1 (set the name with --host)\n",
            proxy.url()
        )
    );
}

#[test]
fn host_flag_then_its_name_is_the_tls_server_name() {
    let setup = Setup::new();
    let proxy = setup.proxy(&["example.com"], false);
    let line = control_line(&mut setup.run(
        &proxy.url(),
        &["--ca", &setup.ca_arg(), "--host", "example.com:443"],
    ));
    assert_eq!(
        line,
        served_control_line(
            "TLS 1.3 TLS13_AES_256_GCM_SHA384, ALPN http/1.1, certificate verified"
        )
    );
}

#[test]
fn tls12_only_server_and_a_client_limited_to_tls13_then_exit_3_no_common_version() {
    let setup = Setup::new();
    let mut options = ServerOptions::new(setup.ca.issue(&["127.0.0.1"], false));
    options.versions = TLS12_ONLY;
    let proxy = setup.proxy_with(options);
    assert_eq!(
        exit_3(&mut setup.run(
            &proxy.url(),
            &["--ca", &setup.ca_arg(), "--tls-version", "1.3"]
        )),
        format!(
            "conformance: {}: TLS handshake failed: no common protocol version (the client \
             offers only TLS 1.3)\n",
            proxy.url()
        )
    );
    // The same server with both versions offered: TLS 1.2.
    let line = control_line(&mut setup.run(&proxy.url(), &["--ca", &setup.ca_arg()]));
    assert_eq!(
        line,
        served_control_line(
            "TLS 1.2 TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, ALPN http/1.1, certificate verified"
        )
    );
}

#[test]
fn tls13_only_server_and_a_client_limited_to_tls12_then_exit_3_no_common_version() {
    let setup = Setup::new();
    let mut options = ServerOptions::new(setup.ca.issue(&["127.0.0.1"], false));
    options.versions = TLS13_ONLY;
    let proxy = setup.proxy_with(options);
    assert_eq!(
        exit_3(&mut setup.run(
            &proxy.url(),
            &["--ca", &setup.ca_arg(), "--tls-version", "1.2"]
        )),
        format!(
            "conformance: {}: TLS handshake failed: no common protocol version (the client \
             offers only TLS 1.2)\n",
            proxy.url()
        )
    );
}

#[test]
fn server_speaking_only_h2_by_alpn_then_exit_3_alpn() {
    let setup = Setup::new();
    let mut options = ServerOptions::new(setup.ca.issue(&["127.0.0.1"], false));
    options.alpn = vec![b"h2".to_vec()];
    let proxy = setup.proxy_with(options);
    assert_eq!(
        exit_3(&mut setup.run(&proxy.url(), &["--ca", &setup.ca_arg()])),
        format!(
            "conformance: {}: TLS handshake failed: ALPN: the server accepts no protocol the \
             client offers (http/1.1): no_application_protocol alert\n",
            proxy.url()
        )
    );
}

#[test]
fn server_selecting_no_protocol_by_alpn_then_served() {
    let setup = Setup::new();
    let mut options = ServerOptions::new(setup.ca.issue(&["127.0.0.1"], false));
    options.alpn = Vec::new();
    let proxy = setup.proxy_with(options);
    let line = control_line(&mut setup.run(&proxy.url(), &["--ca", &setup.ca_arg()]));
    assert_eq!(
        line,
        served_control_line("TLS 1.3 TLS13_AES_256_GCM_SHA384, ALPN none, certificate verified")
    );
}

#[test]
fn plain_target_on_a_tls_port_then_exit_3_use_https() {
    let setup = Setup::new();
    let proxy = setup.proxy(&["127.0.0.1"], false);
    let target = proxy.addr().to_string();
    assert_eq!(
        exit_3(&mut setup.run(&target, &[])),
        format!(
            "conformance: {target}: the target speaks TLS: use https://{target} (it answered a \
             plain-text request with a TLS record)\n"
        )
    );
}

#[test]
fn https_target_on_a_plain_http_server_then_exit_3_use_http() {
    let setup = Setup::new();
    let target = format!("https://{}", setup.backend.addr);
    assert_eq!(
        exit_3(&mut setup.run(&target, &[])),
        format!(
            "conformance: {target}: the target speaks plain HTTP: it answered a TLS ClientHello \
             with \"HTTP/1.1 400 Bad Request\": use http://{}\n",
            setup.backend.addr
        )
    );
}

/// A TLS server that answers one request with `200 OK` and `Connection:
/// close`, then ends the connection with a close_notify or without one.
fn one_response_then_close(identity: Identity, close_notify: bool) -> SocketAddr {
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(identity.chain, PrivateKeyDer::Pkcs8(identity.key))
        .expect("certificate");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        let Ok((mut sock, _)) = listener.accept() else {
            return;
        };
        let mut tls = ServerConnection::new(config).expect("connection");
        let mut request = Vec::new();
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            if tls.complete_io(&mut sock).is_err() {
                return;
            }
            let mut chunk = [0u8; 1024];
            while let Ok(n) = tls.reader().read(&mut chunk) {
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&chunk[..n]);
            }
        }
        let _ = tls
            .writer()
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
        if close_notify {
            tls.send_close_notify();
        }
        while tls.wants_write() {
            if tls.write_tls(&mut sock).is_err() {
                return;
            }
        }
        // Dropping the socket closes TCP: after a close_notify or without.
    });
    addr
}

/// What a client saw of [`one_response_then_close`]: the response's code
/// and body, how the read after it ended, and how the connection closed.
fn close_seen(close_notify: bool) -> (u16, Vec<u8>, Option<AfterEnd>, Option<Close>) {
    let ca = Authority::new("conformance test CA");
    let addr = one_response_then_close(ca.issue(&["localhost"], false), close_notify);
    let dir = TempDir::new().expect("temp dir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write ca.pem");
    let client =
        TlsClient::new("localhost", Trust::CaFile(ca_file), Versions::Both).expect("a TLS client");
    let steps = [StepPlan {
        send: Some(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec()),
        read: Some(ReadPlan {
            interim: false,
            after: true,
        }),
        ..StepPlan::default()
    }];
    let mut exchanges = wire::play_over(&Transport::Tls(client), addr, &steps, TIMEOUT);
    let exchange = exchanges.remove(0);
    match exchange.outcome {
        Some(Outcome::Response(r)) => (r.code, r.body, r.after.map(|a| a.end), exchange.close),
        other => panic!("{other:?}"),
    }
}

#[test]
fn close_notify_then_recorded_as_such_and_not_taken_for_a_response() {
    assert_eq!(
        close_seen(true),
        (
            200,
            b"hi".to_vec(),
            Some(AfterEnd::Closed),
            Some(Close::CloseNotify)
        )
    );
}

#[test]
fn bare_tcp_close_on_tls_then_recorded_without_close_notify() {
    assert_eq!(
        close_seen(false),
        (
            200,
            b"hi".to_vec(),
            Some(AfterEnd::Closed),
            Some(Close::NoCloseNotify)
        )
    );
}

/// A TLS server that decrypts the client's records one at a time and
/// sends back, once a request head is complete, what each record held.
fn record_by_record(identity: Identity) -> (SocketAddr, JoinHandle<Vec<Vec<u8>>>) {
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(identity.chain, PrivateKeyDer::Pkcs8(identity.key))
        .expect("certificate");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handle = thread::spawn(move || {
        let (mut sock, _) = listener.accept().expect("accept");
        let mut tls = ServerConnection::new(Arc::new(config)).expect("connection");
        let mut raw = Vec::new();
        let mut records: Vec<Vec<u8>> = Vec::new();
        while !records.concat().windows(4).any(|w| w == b"\r\n\r\n") {
            // RFC 8446 §5.1: type, version, 16-bit length, then the fragment.
            let whole =
                raw.len() >= 5 && raw.len() >= 5 + usize::from(raw[3]) * 256 + usize::from(raw[4]);
            if !whole {
                let mut chunk = [0u8; 4096];
                let n = sock.read(&mut chunk).expect("read");
                assert!(n > 0, "the client closed early");
                raw.extend_from_slice(&chunk[..n]);
                continue;
            }
            let len = 5 + usize::from(raw[3]) * 256 + usize::from(raw[4]);
            let record: Vec<u8> = raw.drain(..len).collect();
            tls.read_tls(&mut record.as_slice()).expect("read_tls");
            tls.process_new_packets().expect("a TLS record");
            while tls.wants_write() {
                tls.write_tls(&mut sock).expect("write_tls");
            }
            let mut plain = Vec::new();
            let _ = tls.reader().read_to_end(&mut plain);
            if !plain.is_empty() {
                records.push(plain);
            }
        }
        let _ = tls
            .writer()
            .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        tls.send_close_notify();
        while tls.wants_write() {
            if tls.write_tls(&mut sock).is_err() {
                break;
            }
        }
        records
    });
    (addr, handle)
}

#[test]
fn each_step_then_its_own_tls_records_flushed_before_the_next() {
    let ca = Authority::new("conformance test CA");
    let (addr, server) = record_by_record(ca.issue(&["localhost"], false));
    let dir = TempDir::new().expect("temp dir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write ca.pem");
    let client =
        TlsClient::new("localhost", Trust::CaFile(ca_file), Versions::Both).expect("a TLS client");
    let step = |bytes: &[u8], read: bool| StepPlan {
        send: Some(bytes.to_vec()),
        read: read.then(ReadPlan::default),
        ..StepPlan::default()
    };
    let steps = [
        step(b"GET / HT", false),
        step(b"TP/1.1\r\nHost: localhost\r\n", false),
        step(b"\r\n", true),
    ];
    let exchanges = wire::play_over(&Transport::Tls(client), addr, &steps, TIMEOUT);
    let records = server.join().expect("the server thread");
    assert_eq!(
        records,
        [
            b"GET / HT".to_vec(),
            b"TP/1.1\r\nHost: localhost\r\n".to_vec(),
            b"\r\n".to_vec()
        ]
    );
    assert!(
        matches!(&exchanges[2].outcome, Some(Outcome::Response(r)) if r.code == 204),
        "{:?}",
        exchanges[2].outcome
    );
}

#[test]
fn reset_after_the_handshake_then_reset_as_on_tcp() {
    let ca = Authority::new("conformance test CA");
    let identity = ca.issue(&["localhost"], false);
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(identity.chain, PrivateKeyDer::Pkcs8(identity.key))
        .expect("certificate");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = thread::spawn(move || {
        let (mut sock, _) = listener.accept().expect("accept");
        let mut tls = ServerConnection::new(Arc::new(config)).expect("connection");
        let mut plain = Vec::new();
        while !plain.windows(4).any(|w| w == b"\r\n\r\n") {
            tls.complete_io(&mut sock).expect("TLS");
            let _ = tls.reader().read_to_end(&mut plain);
        }
        // SO_LINGER 0: the close is a reset.
        socket2::SockRef::from(&sock)
            .set_linger(Some(Duration::ZERO))
            .expect("linger");
    });
    let dir = TempDir::new().expect("temp dir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write ca.pem");
    let client =
        TlsClient::new("localhost", Trust::CaFile(ca_file), Versions::Both).expect("a TLS client");
    let steps = [StepPlan {
        send: Some(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec()),
        read: Some(ReadPlan::default()),
        ..StepPlan::default()
    }];
    let exchanges = wire::play_over(&Transport::Tls(client), addr, &steps, TIMEOUT);
    server.join().expect("the server thread");
    assert_eq!(
        (&exchanges[0].outcome, &exchanges[0].close),
        (&Some(Outcome::Reset), &None)
    );
}

#[test]
fn json_report_over_tls_then_the_session_in_its_control_and_valid() {
    let setup = Setup::new();
    let proxy = setup.proxy(&["127.0.0.1"], false);
    let output = setup
        .run(&proxy.url(), &["--insecure", "--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    assert_eq!(
        report["control"]["tls"],
        serde_json::json!({
            "version": "TLS 1.3",
            "cipher": "TLS13_AES_256_GCM_SHA384",
            "alpn": "http/1.1",
            "verified": false
        })
    );
    // The server closed after Connection: close, and the proxy sent a
    // close_notify before its TCP close.
    let closed = report["cases"]
        .as_array()
        .and_then(|cases| cases.iter().find(|c| c["id"] == CLOSED))
        .expect("the closing case");
    assert_eq!(
        (&closed["grade"], &closed["steps"][0]["close"]),
        (
            &serde_json::json!("pass"),
            &serde_json::json!("close_notify")
        )
    );
    let validator = crate::reports::report_schema();
    assert_eq!(
        crate::reports::schema_errors(&validator, &report),
        Vec::<String>::new()
    );
}
