//! An in-process TLS server for the tests of `https://` targets: it
//! terminates TLS with rustls and passes the bytes on to a plain backend
//! (the reference server), with certificates made at test time by rcgen.
//!
//! The proxy keeps a case's timing: each read from either side is passed
//! on at once (one TLS record per backend read), a close passes on as a
//! close (close_notify first), a reset as a reset. It connects to the
//! backend once the handshake is done; a backend that serves one connection
//! at a time holds the next one in its listen queue, as over TCP.
#![allow(dead_code)]

use rcgen::{date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::crypto::ring;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, SupportedProtocolVersion};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A CA made for one test run, and the PEM file a client is given as `--ca`.
pub struct Authority {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// A certificate and its key, as a server presents them.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivatePkcs8KeyDer<'static>,
}

impl Authority {
    pub fn new(name: &str) -> Authority {
        let key = KeyPair::generate().expect("a CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).expect("a CA certificate");
        Authority { cert, key }
    }

    /// The CA certificate in PEM, for `--ca`.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A server certificate for `names` (DNS names or IP addresses), valid
    /// now unless `expired`.
    pub fn issue(&self, names: &[&str], expired: bool) -> Identity {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, "conformance test server");
        if expired {
            params.not_before = date_time_ymd(2020, 1, 1);
            params.not_after = date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().expect("a server key");
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("a server certificate");
        Identity {
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        }
    }
}

/// A server that speaks only TLS 1.2.
pub static TLS12_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
/// A server that speaks only TLS 1.3.
pub static TLS13_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// How the TLS server is configured.
pub struct ServerOptions {
    pub identity: Identity,
    /// The versions it accepts.
    pub versions: &'static [&'static SupportedProtocolVersion],
    /// The ALPN protocols it selects from (none: it ignores ALPN).
    pub alpn: Vec<Vec<u8>>,
}

impl ServerOptions {
    pub fn new(identity: Identity) -> ServerOptions {
        ServerOptions {
            identity,
            versions: rustls::ALL_VERSIONS,
            alpn: vec![b"http/1.1".to_vec()],
        }
    }

    fn config(self) -> Arc<ServerConfig> {
        let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_protocol_versions(self.versions)
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(self.identity.chain, PrivateKeyDer::Pkcs8(self.identity.key))
            .expect("the server certificate");
        config.alpn_protocols = self.alpn;
        Arc::new(config)
    }
}

/// A running TLS proxy on 127.0.0.1:0; dropping it stops the accept loop.
pub struct TlsProxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl TlsProxy {
    pub fn start(backend: SocketAddr, options: ServerOptions) -> TlsProxy {
        let config = options.config();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let stop = Arc::new(AtomicBool::new(false));
        let accept = thread::spawn({
            let stop = Arc::clone(&stop);
            move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let config = Arc::clone(&config);
                    thread::spawn(move || serve(client, backend, config));
                }
            }
        });
        TlsProxy {
            addr,
            stop,
            accept: Some(accept),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT` for `--target`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Ends `sock` with a reset (SO_LINGER 0), as the other side's was.
fn reset(sock: &TcpStream) {
    let _ = socket2::SockRef::from(sock).set_linger(Some(Duration::ZERO));
    let _ = sock.shutdown(Shutdown::Both);
}

fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
    )
}

/// The TLS state, and the client socket's writing half, which is taken
/// before the state is let go so records leave in the order made.
struct Shared {
    tls: Mutex<ServerConnection>,
    out: Mutex<TcpStream>,
}

impl Shared {
    /// Writes every record the TLS state has made; `out` is locked before
    /// `tls` is released.
    fn flush(&self, mut tls: std::sync::MutexGuard<'_, ServerConnection>) -> std::io::Result<()> {
        let mut records = Vec::new();
        while tls.wants_write() {
            tls.write_tls(&mut records)?;
        }
        let mut out = self.out.lock().expect("out lock");
        drop(tls);
        out.write_all(&records)
    }
}

fn serve(mut client: TcpStream, backend: SocketAddr, config: Arc<ServerConfig>) {
    let _ = client.set_nodelay(true);
    let Ok(mut tls) = ServerConnection::new(config) else {
        return;
    };
    while tls.is_handshaking() {
        if tls.complete_io(&mut client).is_err() {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
    }
    // The backend is reached once the session is up, so its read timeout
    // starts when the client can first send a request, as over TCP, and
    // not while a loaded machine is still computing the handshake.
    let Ok(upstream) = TcpStream::connect(backend) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let _ = upstream.set_nodelay(true);
    let (Ok(out), Ok(mut upstream_out)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let shared = Arc::new(Shared {
        tls: Mutex::new(tls),
        out: Mutex::new(out),
    });
    let down = thread::spawn({
        let shared = Arc::clone(&shared);
        move || backend_to_client(upstream, &shared)
    });
    let mut tls = shared.tls.lock().expect("tls lock");
    // The client's first bytes may have come with its Finished message.
    let (early, closed) = drain_plaintext(&mut tls);
    // The session tickets.
    if shared.flush(tls).is_ok() {
        if upstream_out.write_all(&early).is_err() || closed {
            let _ = upstream_out.shutdown(Shutdown::Write);
        } else {
            client_to_backend(client, upstream_out, &shared);
        }
    }
    let _ = down.join();
}

/// The plaintext the TLS state holds, and whether a close_notify came.
fn drain_plaintext(tls: &mut ServerConnection) -> (Vec<u8>, bool) {
    let mut plain = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match tls.reader().read(&mut chunk) {
            Ok(0) => return (plain, true),
            Ok(n) => plain.extend_from_slice(&chunk[..n]),
            Err(_) => return (plain, false),
        }
    }
}

/// Decrypts what the client sends and passes it on at once.
fn client_to_backend(mut client: TcpStream, mut upstream: TcpStream, shared: &Shared) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) => {
                let _ = upstream.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => n,
            Err(e) if is_reset(&e) => {
                reset(&upstream);
                return;
            }
            Err(_) => {
                let _ = upstream.shutdown(Shutdown::Write);
                return;
            }
        };
        let mut plain = Vec::new();
        let mut closed = false;
        let mut rd = &buf[..n];
        let mut tls = shared.tls.lock().expect("tls lock");
        while !rd.is_empty() {
            if tls.read_tls(&mut rd).is_err() || tls.process_new_packets().is_err() {
                let _ = shared.flush(tls);
                let _ = client.shutdown(Shutdown::Both);
                reset(&upstream);
                return;
            }
            let (more, ended) = drain_plaintext(&mut tls);
            plain.extend_from_slice(&more);
            closed |= ended;
        }
        if shared.flush(tls).is_err() {
            return;
        }
        if !plain.is_empty() && upstream.write_all(&plain).is_err() {
            return;
        }
        if closed {
            let _ = upstream.shutdown(Shutdown::Write);
            return;
        }
    }
}

/// Encrypts what the backend sends, one read at a time, and passes its
/// close on as close_notify and a close, its reset as a reset.
fn backend_to_client(mut upstream: TcpStream, shared: &Shared) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match upstream.read(&mut buf) {
            Ok(0) => {
                let mut tls = shared.tls.lock().expect("tls lock");
                tls.send_close_notify();
                let _ = shared.flush(tls);
                let out = shared.out.lock().expect("out lock");
                let _ = out.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => {
                let mut tls = shared.tls.lock().expect("tls lock");
                if tls.writer().write_all(&buf[..n]).is_err() || shared.flush(tls).is_err() {
                    return;
                }
            }
            Err(e) => {
                let out = shared.out.lock().expect("out lock");
                if is_reset(&e) {
                    reset(&out);
                } else {
                    let _ = out.shutdown(Shutdown::Both);
                }
                return;
            }
        }
    }
}
