//! The threaded variant at scale, as a process of its own: the default
//! connection cap follows the open-file limit, and an idle keep-alive
//! connection costs a bounded few hundred bytes of the server's memory.

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
use socket2::{Domain, Socket, Type};

use crate::support::{
    assert_hello_200_closing, assert_refused, fixtures_root, read_head, read_reply, TempRoot,
};

const GET_HELLO: &[u8] = b"GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n";

/// The binary, threaded, on an ephemeral port, started by `sh` with its
/// soft open-file limit set to `nofile` when given; killed on drop.
struct Spawned {
    child: Child,
    addr: SocketAddr,
}

impl Spawned {
    fn start(nofile: Option<u64>, extra: &[&str]) -> Spawned {
        Spawned::start_in(&fixtures_root(), nofile, extra)
    }

    fn start_in(root: &Path, nofile: Option<u64>, extra: &[&str]) -> Spawned {
        let binary = env!("CARGO_BIN_EXE_http-server");
        let limit = nofile.map_or(String::new(), |n| format!("ulimit -Sn {n} && "));
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("{limit}exec \"$0\" \"$@\""))
            .arg(binary)
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
        Spawned { child, addr }
    }

    /// A fresh connection that has been answered `GET /hello.txt` with a
    /// 200 and stays open: the server certainly holds it.
    fn held_connection(&self) -> TcpStream {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.write_all(GET_HELLO).unwrap();
        assert_hello_200_closing(&read_reply(&mut stream, false), false, false);
        stream
    }

    /// A field of `/proc/PID/status`, as a number (`VmRSS` in KiB).
    fn status(&self, field: &str) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .unwrap_or_else(|| panic!("no {field} in /proc/PID/status"));
        line.split_whitespace().next().unwrap().parse().unwrap()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Under a soft limit of 100 descriptors the default cap is 100 less the
/// 64 kept for files and the listener: the 36 connections held are served,
/// the 37th is answered 503 and closed.
#[test]
fn the_default_cap_is_the_open_file_limit_less_a_reserve() {
    let cap = server::limits::connection_cap(Some(100));
    assert_eq!(cap, 36);
    let server = Spawned::start(Some(100), &[]);
    let held: Vec<TcpStream> = (0..cap).map(|_| server.held_connection()).collect();
    let mut refused = TcpStream::connect(server.addr).unwrap();
    refused.write_all(GET_HELLO).unwrap();
    let reply = read_reply(&mut refused, false);
    assert_refused(&reply, 503, "too many connections; try again", true);
    assert_eq!(held.len(), cap);
}

/// `--max-connections` overrides the limit's cap, lower or higher.
#[test]
fn max_connections_overrides_the_default_cap() {
    let server = Spawned::start(Some(100), &["--max-connections", "3"]);
    let _held: Vec<TcpStream> = (0..3).map(|_| server.held_connection()).collect();
    let mut refused = TcpStream::connect(server.addr).unwrap();
    refused.write_all(GET_HELLO).unwrap();
    assert_refused(
        &read_reply(&mut refused, false),
        503,
        "too many connections; try again",
        true,
    );
    let server = Spawned::start(Some(100), &["--max-connections", "50"]);
    let _held: Vec<TcpStream> = (0..40).map(|_| server.held_connection()).collect();
}

/// Connections held idle after one exchange each, and the most memory the
/// server may spend on each: its entry in the poll set and the registry,
/// and no read buffer and no thread.
const IDLE_CONNECTIONS: usize = 5_000;
const MAX_BYTES_PER_IDLE_CONNECTION: u64 = 1024;

/// The soft open-file limit this test needs: the clients' descriptors in
/// this process, the server's (which inherits the limit) under its cap,
/// and room for the tests running beside it.
const NOFILE_NEEDED: u64 = 8_192;

#[test]
fn five_thousand_idle_keep_alive_connections_cost_under_1_kib_each() {
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    let below = |limit: Option<u64>| limit.is_some_and(|n| n < NOFILE_NEEDED);
    if below(maximum) {
        eprintln!(
            "skipped: holding {IDLE_CONNECTIONS} connections needs an open-file limit of \
{NOFILE_NEEDED}, and the hard limit is {maximum:?} (raise it with ulimit -Hn as root)"
        );
        return;
    }
    if below(current) {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(maximum.map_or(NOFILE_NEEDED, |max| max.min(4 * NOFILE_NEEDED))),
                maximum,
            },
        )
        .expect("raise the soft open-file limit to the hard limit");
    }
    let server = Spawned::start(None, &["--read-timeout", "300"]);
    // Warm: the first requests allocate the file cache and the buffers.
    let warm: Vec<TcpStream> = (0..8).map(|_| server.held_connection()).collect();
    let before = server.status("VmRSS");
    let mut held: Vec<TcpStream> = (0..IDLE_CONNECTIONS)
        .map(|_| server.held_connection())
        .collect();
    let after = server.status("VmRSS");
    let threads = server.status("Threads");
    let per_connection = after.saturating_sub(before) * 1024 / IDLE_CONNECTIONS as u64;
    eprintln!(
        "{IDLE_CONNECTIONS} idle keep-alive connections: server VmRSS {before} KiB before, \
{after} KiB after, {per_connection} bytes each; {threads} threads"
    );
    // Still open, and still served.
    for index in [0, IDLE_CONNECTIONS - 1] {
        let stream = &mut held[index];
        stream.write_all(GET_HELLO).unwrap();
        assert_hello_200_closing(&read_reply(stream, false), false, false);
    }
    assert!(
        per_connection < MAX_BYTES_PER_IDLE_CONNECTION,
        "{per_connection} bytes per idle connection"
    );
    // The main thread and the signal handler's: an idle connection holds none.
    assert_eq!(
        threads, 2,
        "threads while {IDLE_CONNECTIONS} connections idle"
    );
    drop(warm);
}

/// A connection whose response does not fit the socket buffers is handed
/// to a worker of its own while the response is sent, then given back to
/// the poll set: connections idle after a large download hold no thread.
#[test]
fn connections_idle_after_a_large_download_hold_no_thread() {
    const CLIENTS: usize = 24;
    /// Twice what the kernel's send buffer may grow to (tcp_wmem's 4 MiB).
    const LARGE: u64 = 8 << 20;
    let root = TempRoot::new("given-back");
    root.file("hello.txt", b"Hello, world!\n")
        .large_file("large.bin", LARGE);
    let server = Spawned::start_in(&root.root(), None, &["--read-timeout", "300"]);
    let mut held: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| {
            // A small receive buffer: the file cannot go out at once.
            let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            socket.connect(&server.addr.into()).unwrap();
            let mut stream = TcpStream::from(socket);
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            stream
                .write_all(b"GET /large.bin HTTP/1.1\r\nHost: a\r\n\r\n")
                .unwrap();
            let head = read_head(&mut stream);
            assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
            let read = io::copy(&mut (&stream).take(LARGE), &mut io::sink()).unwrap();
            assert_eq!(read, LARGE);
            stream
        })
        .collect();
    // Each is still open, and served again from the poll set.
    for index in [0, CLIENTS - 1] {
        let stream = &mut held[index];
        stream
            .write_all(b"GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap();
        assert_eq!(read_reply(stream, false).status_line, "HTTP/1.1 200 OK");
    }
    let threads = server.status("Threads");
    eprintln!("{CLIENTS} connections idle after a {LARGE}-octet download: {threads} threads");
    // The main thread and the signal handler's, and the workers, kept for
    // reuse: at least one was started to lead while a download was sent
    // (it was handed over), and a few, not one per connection, as each
    // was free again once its download was sent.
    assert!(threads > 2, "no download was handed to a worker");
    assert!(
        threads <= 2 + CLIENTS as u64 / 4,
        "{threads} threads for {CLIENTS} idle connections"
    );
}
