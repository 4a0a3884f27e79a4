//! The cases a command works on: the catalogue, loaded, then narrowed by
//! the options of a [`Selection`].

use super::args::{LevelArg, Selection};
use super::exit::Failure;
use super::suggest::unknown_id;
use conformance::case::{self, Case};
use std::path::Path;

/// The catalogue: the one compiled in, or `--cases DIR`.
pub(crate) fn load(dir: Option<&Path>) -> Result<Vec<Case>, Failure> {
    let loaded = match dir {
        Some(dir) => case::load_catalogue(dir),
        None => case::builtin_catalogue(),
    };
    loaded.map_err(|e| match e {
        case::CatalogueError::Invalid(errors) if errors.len() > 1 => Failure::Usage(format!(
            "{} (and {} more invalid case files)",
            errors[0],
            errors.len() - 1
        )),
        other => Failure::Usage(other.to_string()),
    })
}

/// The cases the selection names; an unknown `--id` or an empty selection
/// is a usage error (exit 2), since a run of nothing would report a
/// conformance it never tested.
pub(crate) fn select<'c>(
    cases: &'c [Case],
    selection: &Selection,
) -> Result<Vec<&'c Case>, Failure> {
    if let Some(id) = selection
        .ids
        .iter()
        .find(|id| !cases.iter().any(|c| c.answers_to(id)))
    {
        return Err(unknown_id(id, cases));
    }
    let floor = selection.level.map(LevelArg::level);
    let selected = cases
        .iter()
        .filter(|c| {
            selection.filter.is_empty() || selection.filter.iter().any(|p| c.id.starts_with(p))
        })
        .filter(|c| {
            selection.group.is_empty() || selection.group.iter().any(|g| g == c.group.as_str())
        })
        .filter(|c| selection.ids.is_empty() || selection.ids.iter().any(|id| c.answers_to(id)))
        .filter(|c| !selection.exclude.iter().any(|p| c.id.starts_with(p)))
        .filter(|c| floor.is_none_or(|floor| c.level.at_least(floor)))
        .collect::<Vec<_>>();
    if selected.is_empty() {
        return Err(Failure::Usage("no cases match the selection".into()));
    }
    Ok(selected)
}
