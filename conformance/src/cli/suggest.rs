//! Did you mean: the ids near one no case has.

use super::exit::Failure;
use conformance::case::Case;
use conformance::escape;

/// How many near ids an unknown id suggests.
const SUGGESTIONS: usize = 3;

/// No case has `id`: a usage error naming the nearest ids.
pub(crate) fn unknown_id(id: &str, catalogue: &[Case]) -> Failure {
    let near = suggest(id, catalogue);
    let hint = if near.is_empty() {
        "see `conformance list`".to_string()
    } else {
        format!("did you mean {}?", near.join(", "))
    };
    Failure::Usage(format!(
        "no case `{}`; {hint}",
        escape::readable(id.as_bytes())
    ))
}

/// Ids close to `id`: those containing it, then those within a small edit
/// distance, nearest first.
pub(crate) fn suggest(id: &str, catalogue: &[Case]) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = catalogue
        .iter()
        .filter_map(|c| {
            let distance = if c.id.contains(id) {
                0
            } else {
                edit_distance(id, &c.id)
            };
            (distance <= (id.len() / 3).max(2)).then_some((distance, c.id.as_str()))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(SUGGESTIONS)
        .map(|(_, id)| id.to_string())
        .collect()
}

/// Levenshtein distance over bytes (ids are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.as_bytes().iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_then_levenshtein() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
