//! `conformance`: run the case catalogue against an HTTP/1.1 server, list
//! the cases, explain one, compare several servers, or render a matrix of
//! servers as a report.
//!
//! Exit codes: see [`EXIT_CODES_HELP`](cli::exit::EXIT_CODES_HELP), which
//! `--help` prints and docs/cli.md's table repeats (a test keeps the two
//! alike).
#![forbid(unsafe_code)]

mod cli;

use clap::Parser;
use cli::args::{Cli, Command};
use cli::exit::Failure;
use cli::usage::usage_block;
use cli::{chain, chain_catalogue, coverage, diff, explain, list, report, run};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap's own output, success.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail(&Failure::Usage(usage_block(&e))),
    };
    let dir = cli.cases.as_deref();
    let result = match cli.command {
        Command::Run(args) => run::run(dir, *args),
        Command::List(selection) => list::list(dir, &selection),
        Command::Explain {
            id,
            matrix,
            path,
            host,
        } => explain::explain(dir, &id, matrix, &path, &host),
        Command::Diff(args) => diff::compare(dir, args),
        Command::Chain(args) if args.catalogue => chain_catalogue::chain_catalogue(dir, *args),
        Command::Chain(args) => chain::chain(dir, *args),
        Command::Report(args) => report::render(dir, args),
        Command::Coverage { uncovered, update } => coverage::count(dir, uncovered, update),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => fail(&failure),
    }
}

fn fail(failure: &Failure) -> ExitCode {
    eprintln!("conformance: {failure}");
    ExitCode::from(failure.exit_code())
}
