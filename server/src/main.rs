//! `http-server`: serves a directory over HTTP/1.1 until SIGINT or SIGTERM.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use server::{Config, Mode, Server};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Exit code for bad flags, a missing root or an address that cannot be bound.
const EXIT_USAGE: u8 = 2;

/// A small, strict HTTP/1.1 server for static files.
#[derive(Parser, Debug)]
#[command(name = "http-server", version)]
struct Args {
    /// single: one connection at a time, one response each; threaded:
    /// persistent connections, served by a pool of worker threads that take
    /// turns waiting on an epoll set of the listener and the idle
    /// connections.
    #[arg(long, value_enum, default_value = "threaded")]
    mode: ModeArg,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: String,
    /// Directory to serve.
    #[arg(long, default_value = "fixtures/root")]
    root: PathBuf,
    /// Seconds a client has to send a complete request head (then 408).
    #[arg(long, default_value_t = server::limits::READ_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    read_timeout: u64,
    /// Most concurrent connections in threaded mode (then 503) [default:
    /// the open-file limit (ulimit -n) less a reserve for files]
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
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
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
    let mode = match args.mode {
        ModeArg::Single => Mode::Single,
        ModeArg::Threaded => Mode::Threaded,
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
    let mut signals = match Signals::new([SIGINT, SIGTERM]) {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("http-server: cannot handle signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stop = server.shutdown_handle();
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            stop.shutdown();
        }
    });
    println!("listening on http://{}", server.local_addr());
    server.run(mode);
    ExitCode::SUCCESS
}
