//! `report`: a matrix, or one run's JSON report, rendered as a page, as
//! Markdown, or as its scores.

use super::args::{ReportArgs, ReportFormatArg};
use super::catalogue::load;
use super::exit::{Failure, EXIT_CONFORMANT};
use super::output::write_atomically;
use conformance::matrix::{self, Matrix};
use conformance::page;
use conformance::saved::{self, Input, SavedRun};
use std::io::Write;
use std::path::Path;

/// Renders the input (`--input`: a matrix or a run's JSON report; the
/// default matrix without it) in the chosen format, to `--output` or to
/// stdout. A run is rendered as a matrix of one server.
pub(crate) fn render(dir: Option<&Path>, args: ReportArgs) -> Result<u8, Failure> {
    let input = match &args.input {
        Some(path) => saved::read_input(path).map_err(|e| Failure::Usage(e.to_string()))?,
        None => Input::Matrix(
            matrix::default_matrix()
                .1
                .map_err(|e| Failure::Usage(e.to_string()))?,
        ),
    };
    let text = match input {
        Input::Matrix(matrix) => render_matrix(dir, &matrix, args.format)?,
        Input::Run(run) => render_run(dir, &run, args.format)?,
    };
    match &args.output {
        Some(output) => write_atomically(output, &text)
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
