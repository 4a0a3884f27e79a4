//! `list`: the selected cases, one a line.

use super::args::Selection;
use super::catalogue::{load, select};
use super::exit::{Failure, EXIT_CONFORMANT};
use conformance::explain;
use std::io::Write;
use std::path::Path;

/// Prints the selected cases, one a line.
pub(crate) fn list(dir: Option<&Path>, selection: &Selection) -> Result<u8, Failure> {
    let catalogue = load(dir)?;
    let cases = select(&catalogue, selection)?;
    let out = explain::render_list(&cases);
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(EXIT_CONFORMANT)
}
