//! `report`: a matrix, a chain matrix, or one run's JSON report, rendered
//! as a page, as Markdown, or as its scores; a chain matrix also as a
//! section of a matrix's page.

use super::args::{ReportArgs, ReportFormatArg};
use super::catalogue::load;
use super::exit::{Failure, EXIT_CONFORMANT};
use super::output::write_atomically;
use conformance::chain::{self, builtin_chain_catalogue, matrix::ChainMatrix, ChainCase};
use conformance::matrix::{self, Matrix};
use conformance::page;
use conformance::saved::{self, Input, SavedRun};
use std::io::Write;
use std::path::Path;

/// Renders the input (`--input`: a matrix, a chain matrix or a run's JSON
/// report; the default matrix without it) in the chosen format, to
/// `--output` or to stdout. A run is rendered as a matrix of one server;
/// `--chain` adds a chain matrix to a matrix's page.
pub(crate) fn render(dir: Option<&Path>, args: ReportArgs) -> Result<u8, Failure> {
    let chain = match &args.chain {
        Some(_) if !matches!(args.format, ReportFormatArg::Html) => {
            return Err(Failure::Usage(
                "--chain adds the chain matrix to the HTML page; its Markdown and its scores \
                 are `report --input CHAIN-MATRIX --format markdown|scores`"
                    .into(),
            ))
        }
        Some(path) => Some(read_chain(path)?),
        None => None,
    };
    if let Some(chain) = args.input.as_deref().and_then(chain_input) {
        if args.chain.is_some() {
            return Err(Failure::Usage(
                "--chain adds a chain matrix to a matrix of servers; --input is a chain matrix \
                 already"
                    .into(),
            ));
        }
        let text = render_chain(&chain?, args.format)?;
        return write(&args, &text);
    }
    let input = match &args.input {
        Some(path) => saved::read_input(path).map_err(|e| Failure::Usage(e.to_string()))?,
        None => Input::Matrix(
            matrix::default_matrix()
                .1
                .map_err(|e| Failure::Usage(e.to_string()))?,
        ),
    };
    let text = match (input, chain) {
        (Input::Matrix(matrix), Some(chain)) => {
            let section = chain::page::render_section(&chain, &chain_catalogue(&chain)?);
            page::render_html_with(&matrix, &load(dir)?, std::slice::from_ref(&section))
        }
        (Input::Matrix(matrix), None) => render_matrix(dir, &matrix, args.format)?,
        (Input::Run(_), Some(_)) => {
            return Err(Failure::Usage(
                "--chain adds a chain matrix to a matrix of servers, not to one run".into(),
            ))
        }
        (Input::Run(run), None) => render_run(dir, &run, args.format)?,
    };
    write(&args, &text)
}

/// The chain matrix in `path`, when the file is one (`Some(Err)`: it is,
/// but cannot be read as one); `None` for any other input.
fn chain_input(path: &Path) -> Option<Result<ChainMatrix, Failure>> {
    let text = std::fs::read_to_string(path).ok()?;
    ChainMatrix::is_chain_matrix(&text).then(|| {
        ChainMatrix::parse(&text)
            .map_err(|e| Failure::Usage(format!("{} is not a chain matrix: {e}", path.display())))
    })
}

/// `--chain FILE`: a chain matrix, or a usage error.
fn read_chain(path: &Path) -> Result<ChainMatrix, Failure> {
    match chain_input(path) {
        Some(result) => result,
        None => ChainMatrix::read(path).map_err(|e| Failure::Usage(format!("--chain: {e}"))),
    }
}

/// The chain catalogue compiled in, with a note on stderr naming the
/// matrix's cases it lacks (they are left out).
fn chain_catalogue(matrix: &ChainMatrix) -> Result<Vec<ChainCase>, Failure> {
    let cases = builtin_chain_catalogue().map_err(|errors| {
        Failure::Usage(errors.first().map(ToString::to_string).unwrap_or_default())
    })?;
    let unknown = chain::matrix::unknown_ids(matrix, &cases);
    if !unknown.is_empty() {
        eprintln!(
            "note: {} of the chain matrix's cases are not in this chain catalogue and are left \
             out: {}",
            unknown.len(),
            conformance::escape::terminal(&unknown.join(", "))
        );
    }
    Ok(cases)
}

fn render_chain(matrix: &ChainMatrix, format: ReportFormatArg) -> Result<String, Failure> {
    Ok(match format {
        ReportFormatArg::Scores => chain::matrix::render_scores(matrix),
        ReportFormatArg::Markdown => {
            chain::matrix::render_markdown(matrix, &chain_catalogue(matrix)?)
        }
        ReportFormatArg::Html => chain::page::render_html(matrix, &chain_catalogue(matrix)?),
    })
}

/// Writes `text` to `--output`, or to stdout.
fn write(args: &ReportArgs, text: &str) -> Result<u8, Failure> {
    match &args.output {
        Some(output) => write_atomically(output, text)
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", output.display())))?,
        None => {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
    }
    Ok(EXIT_CONFORMANT)
}

fn render_matrix(
    dir: Option<&Path>,
    matrix: &Matrix,
    format: ReportFormatArg,
) -> Result<String, Failure> {
    Ok(match format {
        ReportFormatArg::Scores => matrix::render_scores(matrix),
        ReportFormatArg::Markdown => matrix::render_markdown(matrix, &load(dir)?),
        ReportFormatArg::Html => page::render_html(matrix, &load(dir)?),
    })
}

/// One run: the page of one server, with the cases of the catalogue that
/// ran (a note on stderr names the run's cases the catalogue lacks), or
/// its scores.
fn render_run(
    dir: Option<&Path>,
    run: &SavedRun,
    format: ReportFormatArg,
) -> Result<String, Failure> {
    match format {
        ReportFormatArg::Scores => return Ok(matrix::render_scores(&run.to_matrix())),
        ReportFormatArg::Markdown => {
            return Err(Failure::Usage(
                "a run's Markdown report is `conformance run --format markdown`; report renders \
                 a run as html or scores"
                    .to_string(),
            ))
        }
        ReportFormatArg::Html => {}
    }
    let cases = load(dir)?;
    let unknown: Vec<&str> = run
        .ids()
        .filter(|id| !cases.iter().any(|c| c.id == *id))
        .collect();
    if !unknown.is_empty() {
        eprintln!(
            "note: {} of the run's cases are not in this catalogue and are left out: {}",
            unknown.len(),
            conformance::escape::terminal(&unknown.join(", "))
        );
    }
    Ok(page::render_run_html(run, &cases))
}
