//! `report`: a matrix rendered as a page, as Markdown, or as its scores.

use super::args::{ReportArgs, ReportFormatArg};
use super::catalogue::load;
use super::exit::{Failure, EXIT_CONFORMANT};
use super::output::write_atomically;
use conformance::matrix::{self, Matrix};
use conformance::page;
use std::io::Write;
use std::path::Path;

/// Renders the matrix (`--input`, or the default one) in the chosen format,
/// to `--output` or to stdout.
pub(crate) fn render(dir: Option<&Path>, args: ReportArgs) -> Result<u8, Failure> {
    let matrix = match args.input {
        Some(path) => Matrix::read(&path),
        None => matrix::default_matrix().1,
    }
    .map_err(|e| Failure::Usage(e.to_string()))?;
    let text = match args.format {
        ReportFormatArg::Scores => matrix::render_scores(&matrix),
        ReportFormatArg::Markdown => matrix::render_markdown(&matrix, &load(dir)?),
        ReportFormatArg::Html => page::render_html(&matrix, &load(dir)?),
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
