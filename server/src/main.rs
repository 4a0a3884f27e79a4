//! `http-server`: serves a directory over HTTP/1.1, or forwards to an origin
//! as the reference proxy (`--mode proxy`), until SIGINT or SIGTERM.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use server::{Config, Mode, Proxy, ProxyConfig, Server};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Exit code for bad flags, a missing root or an address that cannot be bound.
const EXIT_USAGE: u8 = 2;

/// A small, strict HTTP/1.1 server for static files, and a reference proxy.
#[derive(Parser, Debug)]
#[command(name = "http-server", version)]
struct Args {
    /// single: one connection at a time, one response each; threaded:
    /// persistent connections, served by a pool of worker threads that take
    /// turns waiting on an epoll set of the listener and the idle
    /// connections; proxy: a gateway that forwards every request to
    /// --upstream (a thread per client, a new upstream connection per
    /// request).
    #[arg(long, value_enum, default_value = "threaded")]
    mode: ModeArg,
    /// The origin the proxy forwards to, HOST:PORT (--mode proxy only).
    #[arg(long, value_name = "HOST:PORT")]
    upstream: Option<String>,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: String,
    /// Directory to serve.
    #[arg(long, default_value = "fixtures/root")]
    root: PathBuf,
    /// Seconds a client has to send a complete request head (then 408).
    #[arg(long, default_value_t = server::limits::READ_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    read_timeout: u64,
    /// Most concurrent connections (then 503) [default: the open-file
    /// limit (ulimit -n) less a reserve for files in threaded mode; 256 in
    /// proxy mode]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=server::limits::MAX_CONNECTIONS_LIMIT as u64))]
    max_connections: Option<u64>,
    /// No access log on stderr.
    #[arg(long)]
    quiet: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ModeArg {
    Single,
    Threaded,
    Proxy,
}

/// A stop handle of either kind, for the signal thread.
type Stop = Box<dyn FnOnce() + Send>;

fn main() -> ExitCode {
    let mut args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => {
            // --help and --version: their text, exit 0.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line, not clap's usage block: the first line names the problem.
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            eprintln!(
                "http-server: {} (see --help)",
                first.trim_start_matches("error: ")
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mode = match (args.mode, args.upstream.take()) {
        (ModeArg::Proxy, Some(upstream)) => return proxy(upstream, &args),
        (ModeArg::Proxy, None) => return usage("--mode proxy needs --upstream HOST:PORT"),
        (_, Some(_)) => return usage("--upstream needs --mode proxy"),
        (ModeArg::Single, None) => Mode::Single,
        (ModeArg::Threaded, None) => Mode::Threaded,
    };
    let mut config = Config {
        read_timeout: Duration::from_secs(args.read_timeout),
        quiet: args.quiet,
        ..Config::new(args.root)
    };
    if let Some(max) = args.max_connections {
        config.max_connections = max as usize;
    }
    let server = match Server::bind(args.bind.as_str(), config) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("http-server: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let stop = server.shutdown_handle();
    if let Err(code) = on_signal(Box::new(move || stop.shutdown())) {
        return code;
    }
    println!("listening on http://{}", server.local_addr());
    server.run(mode);
    ExitCode::SUCCESS
}

/// `--mode proxy`: forwards to `upstream` until a signal.
fn proxy(upstream: String, args: &Args) -> ExitCode {
    let mut config = ProxyConfig {
        read_timeout: Duration::from_secs(args.read_timeout),
        quiet: args.quiet,
        ..ProxyConfig::new(upstream)
    };
    if let Some(max) = args.max_connections {
        config.max_connections = max as usize;
    }
    let proxy = match Proxy::bind(args.bind.as_str(), config) {
        Ok(proxy) => proxy,
        Err(e) => {
            eprintln!("http-server: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let stop = proxy.shutdown_handle();
    if let Err(code) = on_signal(Box::new(move || stop.shutdown())) {
        return code;
    }
    println!("listening on http://{}", proxy.local_addr());
    proxy.run();
    ExitCode::SUCCESS
}

/// Calls `stop` on the first SIGINT or SIGTERM.
fn on_signal(stop: Stop) -> Result<(), ExitCode> {
    let mut signals = match Signals::new([SIGINT, SIGTERM]) {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("http-server: cannot handle signals: {e}");
            return Err(ExitCode::FAILURE);
        }
    };
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            stop();
        }
    });
    Ok(())
}

/// A flag combination clap cannot check: one line, exit 2.
fn usage(problem: &str) -> ExitCode {
    eprintln!("http-server: {problem} (see --help)");
    ExitCode::from(EXIT_USAGE)
}
