//! `explain`: one case, and what each server in the matrix answered.

use super::catalogue::load;
use super::exit::{Failure, EXIT_CONFORMANT};
use super::suggest::unknown_id;
use conformance::explain;
use conformance::matrix::{self, Matrix};
use conformance::rules::{Rule, RULES};
use conformance::template::Values;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Prints case `id` with the bytes a run with this `path` and `host` would
/// send, then what each server of `matrix` (or the default matrix) answered.
pub(crate) fn explain(
    dir: Option<&Path>,
    id: &str,
    matrix: Option<PathBuf>,
    path: &str,
    host: &str,
) -> Result<u8, Failure> {
    let values = Values {
        path: path.to_string(),
        host: host.to_string(),
        ..Values::default()
    };
    let catalogue = load(dir)?;
    let (source, matrix) = match matrix {
        Some(path) => (path.display().to_string(), Matrix::read(&path)),
        None => matrix::default_matrix(),
    };
    let text = if let Some(rule) = Rule::find(id) {
        explain::render_rule(rule) + "\n" + &explain::render_rule_answers(rule, &source, matrix)
    } else if let Some(case) = catalogue.iter().find(|c| c.answers_to(id)) {
        explain::render_case(case, &values) + &explain::render_answers(case, &source, matrix)
    } else if id.starts_with("rule:") {
        let rules: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        return Err(Failure::Usage(format!(
            "no rule `{id}`; the response rules: {}",
            rules.join(", ")
        )));
    } else {
        return Err(unknown_id(id, &catalogue));
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(EXIT_CONFORMANT)
}
