//! A `--target`: parsed from what was typed, resolved to addresses, and
//! reached with the control requests before any case.

use super::exit::Failure;
use conformance::control::{self, Control, ControlError};
use conformance::escape;
use conformance::wire::{self, Endpoint, Transport};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The name in a Host value or `HOST:PORT`: without its port and an IPv6
/// literal's brackets.
pub(crate) fn host_name(host_port: &str) -> &str {
    if let Some(rest) = host_port.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host_port.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host_port,
    }
}

/// A `--target` as typed, split: the `HOST:PORT` to resolve, the path
/// a URL gave (none for `http://HOST:PORT` or `…/`), and whether it is an
/// `https://` URL.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TargetSpec {
    pub(crate) host_port: String,
    pub(crate) path: Option<String>,
    pub(crate) https: bool,
}

/// `HOST:PORT`, or `http://HOST[:PORT][/PATH]` (port 80 when none is
/// given), or `https://HOST[:PORT][/PATH]` (port 443, RFC 9110 §4.2.2);
/// anything else, an empty host, a port outside 1..=65535, is a usage
/// error in one line.
pub(crate) fn parse_target(target: &str) -> Result<TargetSpec, Failure> {
    let bad = |why: &str| {
        Failure::Usage(format!(
            "--target \"{}\": {why}",
            escape::encode(target.as_bytes())
        ))
    };
    if target.starts_with("unix:") {
        return Err(bad(
            "a unix: socket target is taken by `conformance run` only",
        ));
    }
    let url = match (
        target.strip_prefix("http://"),
        target.strip_prefix("https://"),
    ) {
        (Some(rest), _) => Some((rest, 80, false)),
        (_, Some(rest)) => Some((rest, 443, true)),
        _ => None,
    };
    let (authority, path, default_port, https) = match url {
        Some((rest, port, https)) => {
            let (authority, path) = match rest.find('/') {
                Some(slash) => (&rest[..slash], Some(&rest[slash..])),
                None => (rest, None),
            };
            (authority, path, Some(port), https)
        }
        None if target.contains("://") => {
            return Err(bad(
                "the URL schemes a target takes are http:// and https://",
            ))
        }
        None => (target, None, None, false),
    };
    if authority.contains('@') {
        return Err(bad("a target takes no user name or password"));
    }
    if path.is_some_and(|p| p.contains(['?', '#'])) {
        return Err(bad("give the path without a query or fragment"));
    }
    let (host, port) = split_host_port(authority);
    let port = match (port, default_port) {
        (Some(port), _) => port,
        (None, Some(default)) => return finish(host, default, path, https, &bad),
        _ => return Err(bad("expected HOST:PORT or http://HOST:PORT/PATH")),
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(&format!(
            "the port \"{}\" is not a number",
            escape::encode(port.as_bytes())
        )));
    }
    match port.parse::<u32>() {
        Ok(0) => Err(bad("port 0 is not a port a server listens on")),
        Ok(n @ 1..=65535) => finish(host, n as u16, path, https, &bad),
        _ => Err(bad("a port is at most 65535")),
    }
}

/// `HOST` and `PORT` of `HOST:PORT` or `[V6]:PORT`; no port without a colon.
fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if let Some(rest) = authority.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((v6, after)) => (v6, after.strip_prefix(':')),
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    }
}

/// The checked target: a host of name or address characters, the port.
fn finish(
    host: &str,
    port: u16,
    path: Option<&str>,
    https: bool,
    bad: &dyn Fn(&str) -> Failure,
) -> Result<TargetSpec, Failure> {
    if host.is_empty() {
        return Err(bad("the host is empty"));
    }
    let v6 = host.contains(':');
    let name_chars = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') || (v6 && b == b':'));
    if !name_chars {
        return Err(bad("the host is not a host name or an IP address"));
    }
    let host_port = if v6 {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    Ok(TargetSpec {
        host_port,
        path: path.filter(|p| *p != "/").map(str::to_string),
        https,
    })
}

/// The socket path of a `unix:PATH` target, `None` for any other target;
/// an empty path is a usage error.
pub(crate) fn unix_path(target: &str) -> Option<Result<PathBuf, Failure>> {
    let path = target.strip_prefix("unix:")?;
    Some(if path.is_empty() || path.starts_with("//") {
        Err(Failure::Usage(format!(
            "--target \"{}\": give the socket's path after unix:, as in \
             unix:/run/app.sock",
            escape::encode(target.as_bytes())
        )))
    } else {
        Ok(PathBuf::from(path))
    })
}

/// Every address `target` resolves to.
pub(crate) fn resolve(target: &str) -> Result<Vec<SocketAddr>, Failure> {
    let addresses: Vec<SocketAddr> = target
        .to_socket_addrs()
        .map_err(|e| Failure::Unreachable(format!("cannot resolve {target}: {e}")))?
        .collect();
    if addresses.is_empty() {
        return Err(Failure::Unreachable(format!("{target} has no address")));
    }
    Ok(addresses)
}

/// The first of the target's addresses that accepts a connection, with
/// what the control requests learned there: one GET and one HEAD before any
/// case, so an unreachable target or one that does not speak HTTP/1.x is
/// exit 3, a control answered 5xx exit 8 and a path that is not served
/// exit 2, not a run of wrong verdicts.
pub(crate) fn first_reachable<A: Clone + Into<Endpoint>>(
    transport: &Transport,
    addresses: &[A],
    target_text: &str,
    path: &str,
    host: &str,
    timeout: Duration,
) -> Result<(A, Control), Failure> {
    let reached = first_reachable_until(
        transport,
        addresses,
        target_text,
        path,
        host,
        timeout,
        &|| false,
    )?;
    Ok(reached.expect("a control that is never stopped ends"))
}

/// [`first_reachable`] for a run that can be stopped: `None` when `halted`
/// said the run stopped first.
pub(crate) fn first_reachable_until<A: Clone + Into<Endpoint>>(
    transport: &Transport,
    addresses: &[A],
    target_text: &str,
    path: &str,
    host: &str,
    timeout: Duration,
    halted: &dyn Fn() -> bool,
) -> Result<Option<(A, Control)>, Failure> {
    let mut last_error = None;
    for address in addresses {
        let endpoint = address.clone().into();
        match control::probe_until(transport, &endpoint, path, host, timeout, halted) {
            Ok(control) if control.is_success() => return Ok(Some((address.clone(), control))),
            Ok(control) if (500..600).contains(&control.status) => {
                return Err(Failure::ServerError(format!(
                    "{target_text} failed: the control request GET {} was answered {} {}, a \
                     server error, so no case can be graded against it",
                    escape::encode(path.as_bytes()),
                    control.status,
                    escape::encode(control.reason.as_bytes())
                )))
            }
            Ok(control) => {
                return Err(Failure::Usage(format!(
                    "the control request GET {} was answered {} {}: pick an existing resource \
                     that answers GET with 2xx with --path",
                    escape::readable(path.as_bytes()),
                    control.status,
                    escape::terminal(&control.reason)
                )))
            }
            Err(ControlError::Halted) => return Ok(None),
            Err(ControlError::Unreachable(why)) => last_error = Some(why),
            Err(ControlError::NotHttp(why) | ControlError::Handshake(why)) => {
                return Err(Failure::Unreachable(format!("{target_text}: {why}")))
            }
        }
    }
    let why = last_error.unwrap_or_else(|| "no address".to_string());
    Err(Failure::Unreachable(format!(
        "cannot reach {target_text}: {why}"
    )))
}

/// How often `--wait` tries to connect again.
const WAIT_EVERY: Duration = Duration::from_millis(100);

/// `--wait`: connects to the target's addresses every 100 ms until one
/// accepts a connection, for at most `wait`; says once on stderr that it
/// waits (unless `quiet`). `Ok(false)` when `halted` said the run stopped
/// first; exit 3 when the time ran out.
pub(crate) fn wait_until_listening(
    addresses: &[Endpoint],
    target_text: &str,
    wait: Duration,
    quiet: bool,
    halted: &dyn Fn() -> bool,
) -> Result<bool, Failure> {
    let started = Instant::now();
    let mut said = false;
    loop {
        let mut last_error = None;
        for endpoint in addresses {
            match wire::listens(endpoint, WAIT_EVERY) {
                Ok(()) => return Ok(true),
                Err(e) => last_error = Some(e),
            }
        }
        let why = last_error.map_or_else(|| "no address".to_string(), |e| e.to_string());
        if started.elapsed() >= wait {
            return Err(Failure::Unreachable(format!(
                "{target_text} did not accept a connection within --wait {} s: {why}",
                wait.as_secs()
            )));
        }
        if !said && !quiet {
            eprintln!(
                "waiting up to {} s for {target_text} to accept a connection ({why})",
                wait.as_secs()
            );
            said = true;
        }
        let pause = Instant::now() + WAIT_EVERY;
        while Instant::now() < pause {
            if halted() {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_values_then_the_name_for_tls() {
        assert_eq!(host_name("example.com:8443"), "example.com");
        assert_eq!(host_name("example.com"), "example.com");
        assert_eq!(host_name("[::1]:443"), "::1");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
    }

    #[test]
    fn targets_then_host_port_and_path() {
        let spec = |t: &str| parse_target(t).map_err(|f| f.to_string());
        let ok = |host_port: &str, path: Option<&str>| {
            Ok(TargetSpec {
                host_port: host_port.to_string(),
                path: path.map(str::to_string),
                https: false,
            })
        };
        let tls = |host_port: &str, path: Option<&str>| {
            Ok(TargetSpec {
                host_port: host_port.to_string(),
                path: path.map(str::to_string),
                https: true,
            })
        };
        assert_eq!(
            spec("https://example.com/a"),
            tls("example.com:443", Some("/a"))
        );
        assert_eq!(spec("https://[::1]"), tls("[::1]:443", None));
        assert_eq!(spec("https://127.0.0.1:8443/"), tls("127.0.0.1:8443", None));
        assert_eq!(spec("127.0.0.1:8000"), ok("127.0.0.1:8000", None));
        assert_eq!(spec("http://127.0.0.1:8000"), ok("127.0.0.1:8000", None));
        assert_eq!(spec("http://127.0.0.1:8000/"), ok("127.0.0.1:8000", None));
        assert_eq!(
            spec("http://example.com/a/b"),
            ok("example.com:80", Some("/a/b"))
        );
        assert_eq!(spec("[::1]:8080"), ok("[::1]:8080", None));
        assert_eq!(spec("http://[::1]:8080/x"), ok("[::1]:8080", Some("/x")));
        assert_eq!(
            spec("http://127.0.0.1:/"),
            Err("--target \"http://127.0.0.1:/\": the port \"\" is not a number".to_string())
        );
    }
}
