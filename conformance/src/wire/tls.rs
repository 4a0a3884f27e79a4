//! TLS for `https://` targets, with rustls: the client configuration (roots,
//! versions, ALPN `http/1.1`, verification on or off), the handshake, and
//! one line for each way a handshake fails.

use super::deadline::{is_retry, wait_slice};
use crate::escape;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct,
    Error as TlsError, PeerIncompatible, PeerMisbehaved, ProtocolVersion, RootCertStore,
    SignatureScheme,
};
use std::fmt;
use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// The one protocol offered by ALPN (RFC 7301; RFC 9112 is `http/1.1`).
pub(crate) const ALPN_HTTP11: &[u8] = b"http/1.1";
/// How many bytes of a non-TLS answer to a ClientHello are kept to say
/// what it was.
const ANSWER_KEPT: usize = 48;

/// The TLS versions the client offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Versions {
    /// TLS 1.2 and TLS 1.3.
    #[default]
    Both,
    /// TLS 1.2 only.
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

impl Versions {
    fn describe(self) -> &'static str {
        match self {
            Versions::Both => "TLS 1.2 and 1.3",
            Versions::Tls12 => "only TLS 1.2",
            Versions::Tls13 => "only TLS 1.3",
        }
    }
}

/// Which certificates the client accepts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Trust {
    /// Those that chain to webpki's roots (Mozilla's list).
    #[default]
    WebpkiRoots,
    /// Those that chain to a certificate in this PEM file (`--ca`).
    CaFile(PathBuf),
    /// Any certificate (`--insecure`): the handshake's signatures are still
    /// checked, the chain and the name are not.
    Insecure,
}

/// What a TLS client needs to connect: its configuration and the name it
/// sends (SNI) and verifies the certificate against.
#[derive(Clone)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
    trust: Trust,
    versions: Versions,
}

impl fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClient")
            .field("name", &self.name)
            .field("trust", &self.trust)
            .field("versions", &self.versions)
            .finish_non_exhaustive()
    }
}

impl PartialEq for TlsClient {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.config, &other.config) && self.name == other.name
    }
}

impl Eq for TlsClient {}

impl TlsClient {
    /// A client for `name` (a DNS name or an IP address) that trusts
    /// `trust` and offers `versions`. `Err` is one line for a usage error:
    /// a bad name or an unreadable or empty CA file.
    pub fn new(name: &str, trust: Trust, versions: Versions) -> Result<TlsClient, String> {
        let name = ServerName::try_from(name.to_string()).map_err(|_| {
            format!(
                "\"{}\" is not a DNS name or an IP address for TLS",
                escape::readable(name.as_bytes())
            )
        })?;
        let provider = Arc::new(ring::default_provider());
        let protocols: &[&'static rustls::SupportedProtocolVersion] = match versions {
            Versions::Both => &[&rustls::version::TLS13, &rustls::version::TLS12],
            Versions::Tls12 => &[&rustls::version::TLS12],
            Versions::Tls13 => &[&rustls::version::TLS13],
        };
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(protocols)
            .map_err(|e| format!("TLS configuration: {e}"))?;
        let mut config = match &trust {
            Trust::Insecure => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate { provider }))
                .with_no_client_auth(),
            Trust::WebpkiRoots => {
                let roots = RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            Trust::CaFile(path) => builder
                .with_root_certificates(read_ca_file(path)?)
                .with_no_client_auth(),
        };
        config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        Ok(TlsClient {
            config: Arc::new(config),
            name,
            trust,
            versions,
        })
    }

    /// Whether certificates are verified (not `--insecure`).
    pub(crate) fn verifies(&self) -> bool {
        self.trust != Trust::Insecure
    }

    /// A new client connection, before its handshake.
    pub(super) fn connection(&self) -> Result<ClientConnection, TlsError> {
        ClientConnection::new(Arc::clone(&self.config), self.name.clone())
    }
}

/// The CA certificates of a PEM file, as the only roots.
fn read_ca_file(path: &Path) -> Result<RootCertStore, String> {
    let shown = path.display();
    let text = std::fs::read(path).map_err(|e| format!("cannot read --ca {shown}: {e}"))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&text) {
        let cert = cert.map_err(|e| format!("--ca {shown}: not a PEM certificate: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("--ca {shown}: cannot use a certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("--ca {shown}: no PEM certificate in the file"));
    }
    Ok(roots)
}

/// The verifier of `--insecure`: any chain, any name, but the handshake's
/// signatures must still be the certificate key's.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// What a completed handshake agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `TLS 1.2` or `TLS 1.3`.
    pub version: String,
    /// The cipher suite's IANA name.
    pub cipher: String,
    /// The ALPN protocol the server selected, if it selected one.
    pub alpn: Option<String>,
    /// Whether the certificate was verified (not `--insecure`).
    pub verified: bool,
}

impl Session {
    fn of(tls: &ClientConnection, verified: bool) -> Session {
        let version = match tls.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => "TLS 1.3".to_string(),
            Some(ProtocolVersion::TLSv1_2) => "TLS 1.2".to_string(),
            Some(other) => format!("{other:?}"),
            None => "unknown".to_string(),
        };
        let cipher = tls.negotiated_cipher_suite().map_or_else(
            || "unknown".to_string(),
            |suite| {
                suite
                    .suite()
                    .as_str()
                    .map_or_else(|| format!("{:?}", suite.suite()), str::to_string)
            },
        );
        Session {
            version,
            cipher,
            alpn: tls
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            verified,
        }
    }

    /// How the control line describes the connection.
    pub(crate) fn describe(&self) -> String {
        let alpn = self
            .alpn
            .as_deref()
            .map_or_else(|| "none".to_string(), |p| escape::readable(p.as_bytes()));
        let verified = if self.verified {
            "certificate verified"
        } else {
            "certificate NOT verified (--insecure)"
        };
        format!("{} {}, ALPN {alpn}, {verified}", self.version, self.cipher)
    }
}

/// Why a handshake failed: [`fmt::Display`] is the one line a run ends with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// The certificate does not chain to a trusted root.
    UnknownIssuer,
    /// The certificate is not valid for the name the client asked for.
    NameMismatch(String),
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet.
    NotYetValid,
    /// The certificate is a CA's (basicConstraints CA:TRUE), as plain
    /// `openssl req -x509` makes one, and a CA cannot be the server's own.
    CaAsLeaf,
    /// Another certificate error.
    Certificate(String),
    /// No TLS version both sides support.
    NoCommonVersion(&'static str),
    /// The server wants another protocol than `http/1.1` by ALPN.
    Alpn(String),
    /// The target answered the ClientHello with plain HTTP.
    PlainHttp(String),
    /// The target answered with bytes that are not TLS.
    NotTls(String),
    /// The target closed or reset the connection during the handshake.
    Closed(&'static str),
    /// Nothing came back within the timeout.
    Timeout(u128),
    /// Any other TLS failure.
    Other(String),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::UnknownIssuer => f.write_str(
                "TLS handshake failed: unknown issuer: the certificate does not chain to a \
                 trusted root (name its CA with --ca FILE, or skip verification with --insecure)",
            ),
            HandshakeError::NameMismatch(name) => write!(
                f,
                "TLS handshake failed: name mismatch: the certificate is not valid for {name} \
                 (set the name with --host)"
            ),
            HandshakeError::Expired => {
                f.write_str("TLS handshake failed: expired: the certificate has expired")
            }
            HandshakeError::NotYetValid => {
                f.write_str("TLS handshake failed: the certificate is not valid yet")
            }
            HandshakeError::CaAsLeaf => f.write_str(
                "TLS handshake failed: the certificate is a CA certificate (basicConstraints \
                 CA:TRUE, as plain `openssl req -x509` makes), which cannot be a server's own: \
                 skip verification with --insecure, or make a leaf certificate and trust it \
                 with --ca cert.pem: openssl req -x509 -newkey ec -pkeyopt \
                 ec_paramgen_curve:prime256v1 -nodes -days 365 -subj /CN=localhost -addext \
                 subjectAltName=DNS:localhost,IP:127.0.0.1 -addext \
                 basicConstraints=critical,CA:FALSE -keyout key.pem -out cert.pem",
            ),
            HandshakeError::Certificate(why) => {
                write!(
                    f,
                    "TLS handshake failed: the certificate was rejected: {why}"
                )
            }
            HandshakeError::NoCommonVersion(offered) => write!(
                f,
                "TLS handshake failed: no common protocol version (the client offers {offered})"
            ),
            HandshakeError::Alpn(what) => write!(f, "TLS handshake failed: ALPN: {what}"),
            HandshakeError::PlainHttp(start) => write!(
                f,
                "the target speaks plain HTTP: it answered a TLS ClientHello with \"{start}\": \
                 use http://"
            ),
            HandshakeError::NotTls(start) => write!(
                f,
                "the target does not speak TLS: it answered a ClientHello with \"{start}\""
            ),
            HandshakeError::Closed(how) => write!(
                f,
                "TLS handshake failed: the target {how} the connection during the handshake"
            ),
            HandshakeError::Timeout(ms) => write!(
                f,
                "TLS handshake failed: nothing came back to the ClientHello within {ms} ms"
            ),
            HandshakeError::Other(why) => write!(f, "TLS handshake failed: {why}"),
        }
    }
}

impl std::error::Error for HandshakeError {}

/// The socket as rustls reads it, keeping the first bytes that came, to
/// say what answered when they were not TLS.
struct Recording<'a> {
    sock: &'a mut TcpStream,
    kept: &'a mut Vec<u8>,
}

impl Read for Recording<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.sock.read(buf)?;
        let room = ANSWER_KEPT.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&buf[..n.min(room)]);
        Ok(n)
    }
}

/// Runs the handshake on `sock` by `deadline`, then checks ALPN.
pub(super) fn handshake(
    client: &TlsClient,
    sock: &mut TcpStream,
    deadline: Instant,
    timeout_ms: u128,
    halted: &dyn Fn() -> bool,
) -> Result<(ClientConnection, Session), HandshakeError> {
    let mut tls = client
        .connection()
        .map_err(|e| HandshakeError::Other(e.to_string()))?;
    let mut kept = Vec::new();
    while tls.is_handshaking() {
        while tls.wants_write() {
            let Some(left) = wait_slice(deadline, halted) else {
                return Err(HandshakeError::Timeout(timeout_ms));
            };
            let _ = sock.set_write_timeout(Some(left));
            match tls.write_tls(sock) {
                Ok(_) => {}
                Err(e) if is_retry(e.kind()) => {}
                Err(e) => return Err(io_failure(&e, &kept)),
            }
        }
        if !tls.is_handshaking() {
            break;
        }
        let Some(left) = wait_slice(deadline, halted) else {
            return Err(HandshakeError::Timeout(timeout_ms));
        };
        let _ = sock.set_read_timeout(Some(left));
        let read = tls.read_tls(&mut Recording {
            sock,
            kept: &mut kept,
        });
        match read {
            Ok(0) => return Err(not_tls(&kept).unwrap_or(HandshakeError::Closed("closed"))),
            Ok(_) => {}
            Err(e) if is_retry(e.kind()) => continue,
            Err(e) => return Err(io_failure(&e, &kept)),
        }
        if let Err(e) = tls.process_new_packets() {
            // Send the alert rustls queued, as a polite client does.
            let _ = tls.write_tls(sock);
            return Err(not_tls(&kept).unwrap_or_else(|| classify(&e, client)));
        }
    }
    // The last flight (the client's Finished) goes out before any request.
    while tls.wants_write() {
        let Some(left) = wait_slice(deadline, halted) else {
            return Err(HandshakeError::Timeout(timeout_ms));
        };
        let _ = sock.set_write_timeout(Some(left));
        match tls.write_tls(sock) {
            Ok(_) => {}
            Err(e) if is_retry(e.kind()) => {}
            Err(e) => return Err(io_failure(&e, &kept)),
        }
    }
    let session = Session::of(&tls, client.verifies());
    // RFC 7301 §3.2: the server selects one of the client's protocols or
    // none; rustls refuses a protocol the client did not offer.
    if let Some(other) = tls.alpn_protocol().filter(|p| *p != ALPN_HTTP11) {
        return Err(HandshakeError::Alpn(format!(
            "the server selected \"{}\", not http/1.1",
            escape::readable(other)
        )));
    }
    Ok((tls, session))
}

/// A socket error during the handshake.
fn io_failure(e: &std::io::Error, kept: &[u8]) -> HandshakeError {
    if let Some(not_tls) = not_tls(kept) {
        return not_tls;
    }
    match e.kind() {
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            HandshakeError::Closed("reset")
        }
        ErrorKind::UnexpectedEof => HandshakeError::Closed("closed"),
        _ => HandshakeError::Other(e.to_string()),
    }
}

/// What answered, when its first bytes are not a TLS record (RFC 8446
/// §5.1: a content type, then major version 3).
fn not_tls(kept: &[u8]) -> Option<HandshakeError> {
    if kept.is_empty() || matches!(kept, [20..=24, 3, ..] | [20..=24]) {
        return None;
    }
    Some(if kept.starts_with(b"HTTP/") {
        // The status line says enough; the fields after it vary (Date).
        let line = kept
            .split(|&b| b == b'\r' || b == b'\n')
            .next()
            .unwrap_or(kept);
        HandshakeError::PlainHttp(escape::readable(line))
    } else {
        HandshakeError::NotTls(escape::readable(kept))
    })
}

/// One reason for a rustls error.
fn classify(e: &TlsError, client: &TlsClient) -> HandshakeError {
    match e {
        TlsError::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => HandshakeError::UnknownIssuer,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                HandshakeError::NameMismatch(name_of(&client.name))
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                HandshakeError::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                HandshakeError::NotYetValid
            }
            CertificateError::Other(other)
                if matches!(
                    other.0.downcast_ref::<webpki::Error>(),
                    Some(webpki::Error::CaUsedAsEndEntity)
                ) =>
            {
                HandshakeError::CaAsLeaf
            }
            other => HandshakeError::Certificate(format!("{other:?}")),
        },
        TlsError::AlertReceived(AlertDescription::ProtocolVersion)
        | TlsError::PeerIncompatible(
            PeerIncompatible::ServerDoesNotSupportTls12Or13
            | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
            | PeerIncompatible::SupportedVersionsExtensionRequired
            | PeerIncompatible::Tls12NotOffered
            | PeerIncompatible::Tls12NotOfferedOrEnabled,
        ) => HandshakeError::NoCommonVersion(client.versions.describe()),
        TlsError::AlertReceived(AlertDescription::NoApplicationProtocol) => HandshakeError::Alpn(
            "the server accepts no protocol the client offers (http/1.1): \
             no_application_protocol alert"
                .to_string(),
        ),
        TlsError::PeerMisbehaved(PeerMisbehaved::SelectedUnofferedApplicationProtocol) => {
            HandshakeError::Alpn(
                "the server selected a protocol other than http/1.1, the only one offered"
                    .to_string(),
            )
        }
        TlsError::AlertReceived(alert) => {
            HandshakeError::Other(format!("the server sent a {alert:?} alert"))
        }
        other => HandshakeError::Other(other.to_string()),
    }
}

fn name_of(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(dns) => dns.as_ref().to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_answer_to_client_hello_then_plain_http() {
        assert_eq!(
            not_tls(b"HTTP/1.1 400 Bad Request\r\nDate: x"),
            Some(HandshakeError::PlainHttp(
                "HTTP/1.1 400 Bad Request".to_string()
            ))
        );
        assert_eq!(not_tls(b"\x16\x03\x03\x00\x10"), None);
        assert_eq!(not_tls(b"\x15"), None);
        assert_eq!(
            not_tls(b"SSH-2.0-x"),
            Some(HandshakeError::NotTls("SSH-2.0-x".to_string()))
        );
    }

    #[test]
    fn bad_server_name_then_usage_line() {
        assert_eq!(
            TlsClient::new("a b", Trust::Insecure, Versions::Both).unwrap_err(),
            "\"a b\" is not a DNS name or an IP address for TLS"
        );
    }

    #[test]
    fn ca_file_without_certificates_then_said() {
        let dir = std::env::temp_dir().join(format!("conformance-ca-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate\n").unwrap();
        let err =
            TlsClient::new("localhost", Trust::CaFile(dir.clone()), Versions::Both).unwrap_err();
        let _ = std::fs::remove_file(&dir);
        assert_eq!(
            err,
            format!("--ca {}: no PEM certificate in the file", dir.display())
        );
    }
}
