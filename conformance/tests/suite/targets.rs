//! Targets as users have them: a server on a Unix-domain socket, a server
//! started in the same CI step (`--wait`), a server failing its control
//! with a 5xx (exit 8), a self-signed CA certificate (what to do), and a
//! case in error on a target still there (exit 7).

use crate::support::{
    answer_then_close, case_dir_of, conformance, drain, response, unused_addr, CaseFile, Head,
    Reference, CONTROL_OF_ANSWER_THEN_CLOSE, CONTROL_PATH,
};
use crate::tls::tls_proxy::{Authority, Identity, ServerOptions, TlsProxy};
use assert_cmd::cargo::cargo_bin_cmd;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::crypto::ring;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;
use tempfile::TempDir;

/// Copies `from` to `to` until `from` ends, then half-closes `to`.
fn pass_on(mut from: impl Read, mut to: impl Write, close: impl FnOnce()) {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match from.read(&mut chunk) {
            Ok(n) if n > 0 => {
                if to.write_all(&chunk[..n]).is_err() {
                    break;
                }
            }
            _ => break,
        }
    }
    close();
}

/// A Unix-domain socket at `path` in front of the TCP server at `backend`:
/// each connection is passed on byte for byte, closes as closes.
fn unix_front(path: &Path, backend: SocketAddr) {
    let listener = UnixListener::bind(path).expect("bind the Unix socket");
    thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(upstream) = TcpStream::connect(backend) else {
                continue;
            };
            let _ = upstream.set_nodelay(true);
            let (Ok(client_in), Ok(upstream_in)) = (client.try_clone(), upstream.try_clone())
            else {
                continue;
            };
            thread::spawn(move || {
                pass_on(client_in, &upstream, || {
                    let _ = upstream.shutdown(Shutdown::Write);
                })
            });
            thread::spawn(move || {
                pass_on(upstream_in, &client, || {
                    let _ = client.shutdown(Shutdown::Write);
                })
            });
        }
    });
}

/// Each case's grade in a JSON report.
fn grades(json: &[u8]) -> BTreeMap<String, String> {
    let json: serde_json::Value = serde_json::from_slice(json).expect("JSON");
    json["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["grade"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn unix_socket_target_then_the_same_grades_as_over_tcp() {
    let reference = Reference::start();
    let dir = TempDir::new().expect("temp dir");
    let socket = dir.path().join("server.sock");
    unix_front(&socket, reference.addr);
    let run = |target: &str| {
        let assert = cargo_bin_cmd!("conformance")
            .args([
                "run",
                "--target",
                target,
                "--fixture-root",
                "--format",
                "json",
            ])
            .args([
                "--group",
                "host",
                "--group",
                "method",
                "--group",
                "conditional",
            ])
            .args(["--host", "localhost", "--quiet"])
            .assert()
            .code(0);
        grades(&assert.get_output().stdout)
    };
    let over_tcp = run(&reference.addr.to_string());
    let over_unix = run(&format!("unix:{}", socket.display()));
    assert!(over_tcp.len() > 50, "{over_tcp:?}");
    assert_eq!(over_unix, over_tcp);
}

#[test]
fn unix_target_with_no_socket_then_exit_3_and_with_no_path_exit_2() {
    let dir = TempDir::new().expect("temp dir");
    let socket = dir.path().join("none.sock");
    let target = format!("unix:{}", socket.display());
    cargo_bin_cmd!("conformance")
        .args(["run", "--target", &target])
        .assert()
        .code(3)
        .stdout("")
        .stderr(format!(
            "conformance: cannot reach {target}: cannot connect to {target}: No such file or \
             directory (os error 2)\n"
        ));
    cargo_bin_cmd!("conformance")
        .args(["run", "--target", "unix:"])
        .assert()
        .code(2)
        .stderr(
            "conformance: --target \"unix:\": give the socket's path after unix:, as in \
             unix:/run/app.sock\n",
        );
}

/// Two cases [`answer_then_close`] answering 200 passes.
fn two_ok_cases() -> TempDir {
    case_dir_of(&[
        CaseFile::new("rfc9110-9.3.1-get-a")
            .group("method")
            .request(r"GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["200"]),
        CaseFile::new("rfc9110-9.3.1-get-b")
            .group("method")
            .request(r"GET /b HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["200"]),
    ])
}

#[test]
fn wait_then_a_target_that_listens_later_is_tested() {
    let dir = two_ok_cases();
    let addr = unused_addr();
    let target = addr.to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--cases")
        .arg(dir.path())
        .args([
            "run",
            "--target",
            &target,
            "--path",
            CONTROL_PATH,
            "--wait",
            "60",
        ])
        .args(["--format", "json", "--output"])
        .arg(dir.path().join("report.json"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("read");
    assert_eq!(
        line,
        format!(
            "waiting up to 60 s for {target} to accept a connection (Connection refused (os \
             error 111))\n"
        )
    );
    // Only now does the server listen, on the port the run waits for.
    let listener = TcpListener::bind(addr).expect("bind the waited-for port");
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                if matches!(stream.read(&mut chunk), Ok(n) if n > 0) {
                    let _ = stream.write_all(&response("200 OK", "Connection: close\r\n"));
                    let _ = stream.shutdown(Shutdown::Write);
                    drain(&mut stream);
                }
            });
        }
    });
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).expect("read");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{rest}");
    assert_eq!(rest, format!("{CONTROL_OF_ANSWER_THEN_CLOSE}\n"));
    let report = std::fs::read(dir.path().join("report.json")).expect("report");
    assert_eq!(
        grades(&report).into_values().collect::<Vec<_>>(),
        ["pass", "pass"]
    );
}

#[test]
fn wait_then_a_target_that_never_listens_is_exit_3_after_the_wait() {
    let dir = two_ok_cases();
    let target = unused_addr().to_string();
    conformance(dir.path())
        .args(["run", "--target", &target, "--wait", "1"])
        .assert()
        .code(3)
        .stdout("")
        .stderr(format!(
            "waiting up to 1 s for {target} to accept a connection (Connection refused (os error \
             111))\nconformance: {target} did not accept a connection within --wait 1 s: \
             Connection refused (os error 111)\n"
        ));
}

#[test]
fn wait_then_a_target_already_listening_is_tested_without_a_word() {
    let dir = two_ok_cases();
    let responder = answer_then_close("200 OK");
    conformance(dir.path())
        .args([
            "run",
            "--target",
            &responder.target(),
            "--path",
            CONTROL_PATH,
        ])
        .args(["--wait", "5", "--format", "json", "--output"])
        .arg(dir.path().join("report.json"))
        .assert()
        .code(0)
        .stderr(format!("{CONTROL_OF_ANSWER_THEN_CLOSE}\n"));
}

#[test]
fn control_answered_5xx_then_exit_8_a_server_failure() {
    let dir = two_ok_cases();
    let responder = answer_then_close("503 Service Unavailable");
    let target = responder.target();
    conformance(dir.path())
        .args(["run", "--target", &target, "--path", "/index.html"])
        .assert()
        .code(8)
        .stdout("")
        .stderr(format!(
            "conformance: {target} failed: the control request GET /index.html was answered 503 \
             Service Unavailable, a server error, so no case can be graded against it\n"
        ));
}

#[test]
fn self_signed_ca_certificate_then_exit_3_saying_what_to_do() {
    // What plain `openssl req -x509` makes: a self-signed certificate with
    // basicConstraints CA:TRUE, presented as the server's own.
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("certificate");
    let dir = two_ok_cases();
    let ca_file = dir.path().join("cert.pem");
    std::fs::write(&ca_file, cert.pem()).expect("write cert.pem");
    let identity = Identity {
        chain: vec![cert.der().clone()],
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
    };
    let backend = Reference::start();
    let proxy = TlsProxy::start(backend.addr, ServerOptions::new(identity));
    let url = proxy.url();
    conformance(dir.path())
        .args(["run", "--target", &url, "--ca"])
        .arg(&ca_file)
        .assert()
        .code(3)
        .stdout("")
        .stderr(format!(
            "conformance: {url}: TLS handshake failed: the certificate is a CA certificate \
             (basicConstraints CA:TRUE, as plain `openssl req -x509` makes), which cannot be a \
             server's own: skip verification with --insecure, or make a leaf certificate and \
             trust it with --ca cert.pem: openssl req -x509 -newkey ec -pkeyopt \
             ec_paramgen_curve:prime256v1 -nodes -days 365 -subj /CN=localhost -addext \
             subjectAltName=DNS:localhost,IP:127.0.0.1 -addext \
             basicConstraints=critical,CA:FALSE -keyout key.pem -out cert.pem\n"
        ));
}

/// A TLS server that answers each request on a connection of its own with
/// 200 (404 off `/control` and `/a`, `/b`), except `/broken`, answered
/// with bytes that are no TLS record: the client cannot read that case's
/// answer, while the server goes on serving.
fn tls_breaking_one_case(identity: Identity) -> SocketAddr {
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
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { return };
            let config = Arc::clone(&config);
            thread::spawn(move || {
                let mut tls = ServerConnection::new(config).expect("connection");
                let mut request = Vec::new();
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    // Nothing read and nothing written: the client closed.
                    if matches!(tls.complete_io(&mut sock), Err(_) | Ok((0, 0))) {
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
                let head = Head::parse(&request);
                if head.target() == Some("/broken") {
                    let _ = sock.write_all(b"\x17\x03\x03\x00\x08not tls!");
                    drain_tcp(&mut sock);
                    return;
                }
                let status = match head.target() {
                    Some(CONTROL_PATH | "/a" | "/b") => "200 OK",
                    _ => "404 Not Found",
                };
                let _ = tls
                    .writer()
                    .write_all(&response(status, "Connection: close\r\n"));
                tls.send_close_notify();
                while tls.wants_write() {
                    if tls.write_tls(&mut sock).is_err() {
                        return;
                    }
                }
                let _ = sock.shutdown(Shutdown::Write);
                drain_tcp(&mut sock);
            });
        }
    });
    addr
}

fn drain_tcp(sock: &mut TcpStream) {
    let mut chunk = [0u8; 4096];
    while matches!(sock.read(&mut chunk), Ok(n) if n > 0) {}
}

#[test]
fn a_case_in_error_on_a_target_still_there_then_exit_7_not_0() {
    let ca = Authority::new("conformance test CA");
    let addr = tls_breaking_one_case(ca.issue(&["127.0.0.1"], false));
    let dir = case_dir_of(&[
        CaseFile::new("rfc9110-9.3.1-get-a")
            .group("method")
            .request(r"GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["200"]),
        CaseFile::new("rfc9110-9.3.1-get-broken")
            .group("method")
            .request(r"GET /broken HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["200"]),
        CaseFile::new("rfc9110-9.3.1-get-b")
            .group("method")
            .request(r"GET /b HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .pass(&["200"]),
    ]);
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write ca.pem");
    let assert = conformance(dir.path())
        .args([
            "run",
            "--target",
            &format!("https://{addr}"),
            "--path",
            CONTROL_PATH,
        ])
        .args(["--jobs", "1", "--format", "json", "--quiet", "--ca"])
        .arg(&ca_file)
        .assert()
        .code(7)
        .stderr(
            "conformance: 1 of 3 cases ended in error (could not be run or completed): not \
             conformant\n",
        );
    let grades: Vec<(String, String)> = grades(&assert.get_output().stdout).into_iter().collect();
    assert_eq!(
        grades,
        [
            ("rfc9110-9.3.1-get-a", "pass"),
            ("rfc9110-9.3.1-get-b", "pass"),
            ("rfc9110-9.3.1-get-broken", "error"),
        ]
        .map(|(id, grade)| (id.to_string(), grade.to_string()))
    );
}
