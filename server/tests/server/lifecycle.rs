//! The `http-server` binary: its first line, its errors, its signals, and
//! what a large file costs it.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use assert_cmd::Command as TestCommand;
use predicates::prelude::*;

use crate::support::{fixtures_root, parse_head, read_head, read_reply};

fn http_server() -> TestCommand {
    TestCommand::cargo_bin("http-server").unwrap()
}

/// One line on stderr naming the problem, nothing on stdout, exit 2.
fn assert_usage_error(args: &[&str], line: &str) {
    http_server()
        .args(args)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::eq(format!("http-server: {line}\n")));
}

/// [`assert_usage_error`] for a line whose end is the operating system's
/// words: one line on stderr starting with `start`.
fn assert_usage_error_starting(args: &[&str], start: &str) {
    let start = format!("http-server: {start}");
    http_server()
        .args(args)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::function(move |s: &str| {
            s.starts_with(&start) && s.ends_with('\n') && s.lines().count() == 1
        }));
}

#[test]
fn unknown_flag_is_one_line_and_exit_2() {
    assert_usage_error(
        &["--bogus"],
        "unexpected argument '--bogus' found (see --help)",
    );
}

#[test]
fn bad_mode_is_one_line_and_exit_2() {
    assert_usage_error(
        &["--mode", "forked"],
        "invalid value 'forked' for '--mode <MODE>' (see --help)",
    );
}

#[test]
fn missing_root_is_one_line_and_exit_2() {
    // The line ends with the system's words for the missing directory.
    assert_usage_error_starting(
        &["--root", "/nonexistent/root", "--bind", "127.0.0.1:0"],
        "cannot serve /nonexistent/root: ",
    );
}

#[test]
fn busy_port_is_one_line_and_exit_2() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let root = fixtures_root();
    // The line ends with the system's words for the address in use.
    assert_usage_error_starting(
        &["--bind", &addr, "--root", root.to_str().unwrap()],
        &format!("cannot listen on {addr}: "),
    );
}

/// The binary on an ephemeral port, killed on drop if still running.
struct Running {
    child: Child,
    addr: SocketAddr,
}

impl Running {
    fn start(root: &PathBuf, extra: &[&str]) -> Running {
        let mut child = Command::cargo_bin("http-server")
            .unwrap()
            .args(["--bind", "127.0.0.1:0", "--quiet", "--root"])
            .arg(root)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.trim_end().parse().ok())
            .unwrap_or_else(|| panic!("first stdout line: {line:?}"));
        Running { child, addr }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Peak resident memory in KiB (Linux `VmHWM`).
    fn peak_rss_kib(&self) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary root holding one large sparse file, removed on drop.
struct LargeRoot {
    dir: PathBuf,
}

impl LargeRoot {
    fn new(tag: &str, len: u64) -> LargeRoot {
        let dir = std::env::temp_dir().join(format!("http-server-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::File::create(dir.join("large.bin"))
            .unwrap()
            .set_len(len)
            .unwrap();
        LargeRoot { dir }
    }
}

impl Drop for LargeRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Reads until the server closes and counts what came, a chunk at a time:
/// the test holds no more of a large response than the server should.
fn count_to_end(stream: &mut TcpStream) -> u64 {
    let mut received = 0u64;
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        match stream.read(&mut chunk).unwrap() {
            0 => return received,
            n => received += n as u64,
        }
    }
}

#[test]
fn first_line_names_the_real_port_and_sigint_exits_0() {
    let mut running = Running::start(&fixtures_root(), &[]);
    let mut stream = TcpStream::connect(running.addr).unwrap();
    stream
        .write_all(b"GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut stream, false).body, b"Hello, world!\n");
    running.signal("-INT");
    assert_eq!(running.child.wait().unwrap().code(), Some(0));
}

#[test]
fn sigterm_completes_the_response_in_flight_and_exits_0() {
    const LEN: u64 = 32 * 1024 * 1024;
    let root = LargeRoot::new("inflight", LEN);
    let mut running = Running::start(&root.dir, &["--mode", "single"]);
    let mut stream = TcpStream::connect(running.addr).unwrap();
    stream
        .write_all(b"GET /large.bin HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    // Read the head and a first slice of the body, so the response is in flight.
    let mut first = vec![0u8; 64 * 1024];
    stream.read_exact(&mut first).unwrap();
    running.signal("-TERM");
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    let all = [first, rest].concat();
    let head_end = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!((all.len() - head_end) as u64, LEN, "the whole body arrived");
    assert_eq!(running.child.wait().unwrap().code(), Some(0));
}

#[test]
fn serving_64_mib_does_not_grow_the_process_by_64_mib() {
    const LEN: u64 = 64 * 1024 * 1024;
    let root = LargeRoot::new("large", LEN);
    let running = Running::start(&root.dir, &[]);
    let before = running.peak_rss_kib();
    let mut stream = TcpStream::connect(running.addr).unwrap();
    stream
        .write_all(b"GET /large.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    let received = count_to_end(&mut stream);
    assert!(received > LEN, "head and body arrived: {received}");
    let grown_kib = running.peak_rss_kib().saturating_sub(before);
    assert!(grown_kib < 8 * 1024, "peak RSS grew by {grown_kib} KiB");
}

/// A range of a large file is streamed from its offset like the whole file:
/// one part, and several as multipart/byteranges, cost fixed chunks.
#[test]
fn serving_ranges_of_64_mib_does_not_grow_the_process_by_64_mib() {
    const LEN: u64 = 64 * 1024 * 1024;
    const HALF: u64 = LEN / 2;
    let root = LargeRoot::new("large-ranges", LEN);
    let running = Running::start(&root.dir, &[]);
    let before = running.peak_rss_kib();
    let one = "bytes=1-".to_owned();
    let two = format!("bytes=0-{},{}-", HALF - 1, HALF + 1);
    // Both name all but one octet of the file.
    for range in [one, two] {
        let mut stream = TcpStream::connect(running.addr).unwrap();
        let request = format!(
            "GET /large.bin HTTP/1.1\r\nHost: a\r\nRange: {range}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).unwrap();
        let head = read_head(&mut stream);
        assert_eq!(
            parse_head(&head).status_line,
            "HTTP/1.1 206 Partial Content",
            "{head}"
        );
        let length: u64 = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|n| n.parse().ok())
            .unwrap();
        let received = count_to_end(&mut stream);
        assert_eq!(received, length, "{range}: the whole content arrived");
        assert!(length >= LEN - 1, "{range}: {length} octets");
    }
    let grown_kib = running.peak_rss_kib().saturating_sub(before);
    assert!(grown_kib < 8 * 1024, "peak RSS grew by {grown_kib} KiB");
}
