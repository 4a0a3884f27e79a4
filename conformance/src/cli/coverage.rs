//! `coverage`: the testable requirements the catalogue covers, printed or
//! written into the coverage block of docs/cli.md.

use super::catalogue::load;
use super::exit::{Failure, EXIT_CONFORMANT};
use super::output::write_atomically;
use conformance::coverage;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Prints the coverage table as plain text, or the requirements no case
/// covers; with `update`, rewrites that file's coverage block (the table
/// in Markdown, between its markers) instead when it changed.
pub(crate) fn count(
    dir: Option<&Path>,
    uncovered: bool,
    update: Option<PathBuf>,
) -> Result<u8, Failure> {
    let cases = load(dir)?;
    let requirements = coverage::builtin_requirements().map_err(Failure::Usage)?;
    let Some(file) = update else {
        let text = if uncovered {
            coverage::render_uncovered(&requirements, &cases)
        } else {
            coverage::render_text(&requirements, &cases)
        };
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
        return Ok(EXIT_CONFORMANT);
    };
    let text = coverage::render_table(&requirements, &cases);
    let old = std::fs::read_to_string(&file)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", file.display())))?;
    let new = coverage::replace_table(&old, &text).ok_or_else(|| {
        Failure::Usage(format!(
            "{} has no coverage block ({} … {})",
            file.display(),
            coverage::TABLE_BEGIN,
            coverage::TABLE_END
        ))
    })?;
    if new != old {
        write_atomically(&file, &new)
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", file.display())))?;
    }
    Ok(EXIT_CONFORMANT)
}
