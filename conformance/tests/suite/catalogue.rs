//! The real catalogue in `fixtures/cases` follows the README's format, and
//! every quote is verbatim RFC text.

use conformance::case::{builtin_catalogue, load_catalogue, Case, Group};
use conformance::coverage::{self, builtin_requirements};
use std::path::{Path, PathBuf};

/// The catalogue must not shrink below this (it grows as cases are added).
const MIN_CASES: usize = 150;

pub fn catalogue_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/cases")
}

pub fn real_catalogue() -> Vec<Case> {
    match load_catalogue(&catalogue_dir()) {
        Ok(cases) => cases,
        Err(e) => panic!("the catalogue does not load:\n{e}"),
    }
}

/// The vendored RFC text with all whitespace removed.
fn rfc_text(number: u32) -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("rfc/rfc{number}.txt"));
    let text = std::fs::read_to_string(path).ok()?;
    Some(text.split_whitespace().collect())
}

#[test]
fn real_catalogue_then_loads_and_is_sorted_by_id() {
    let cases = real_catalogue();
    assert!(cases.windows(2).all(|w| w[0].id < w[1].id));
}

#[test]
fn compiled_in_catalogue_then_same_cases_as_the_files() {
    let on_disk = real_catalogue();
    let compiled = builtin_catalogue().expect("the compiled-in catalogue loads");
    assert_eq!(compiled.len(), on_disk.len());
    for (a, b) in compiled.iter().zip(&on_disk) {
        assert_eq!((&a.id, &a.steps, &a.needs), (&b.id, &b.steps, &b.needs));
    }
}

#[test]
fn real_catalogue_then_at_least_min_cases() {
    let count = real_catalogue().len();
    assert!(
        count >= MIN_CASES,
        "{count} cases, expected at least {MIN_CASES}"
    );
}

#[test]
fn real_catalogue_then_every_group_represented() {
    let cases = real_catalogue();
    let missing: Vec<Group> = Group::ALL
        .into_iter()
        .filter(|g| !cases.iter().any(|c| c.group == *g))
        .collect();
    assert!(missing.is_empty(), "groups without a case: {missing:?}");
}

/// The registry must keep the count COVERAGE.md's reading found (it grows
/// only with a new reading).
const MIN_REQUIREMENTS: usize = 120;

#[test]
fn requirement_quotes_then_verbatim_in_rfc_text() {
    let requirements = builtin_requirements().expect("the registry loads");
    assert!(
        requirements.len() >= MIN_REQUIREMENTS,
        "{} requirements",
        requirements.len()
    );
    let texts = [(9110, rfc_text(9110)), (9112, rfc_text(9112))];
    let mut wrong = Vec::new();
    for r in &requirements {
        let text = texts
            .iter()
            .find(|(n, _)| r.rfc.starts_with(&format!("RFC {n} ")))
            .and_then(|(_, t)| t.as_deref());
        let quote: String = r.quote.split_whitespace().collect();
        if !text.is_some_and(|t| t.contains(&quote)) {
            wrong.push(format!("{}: {:?}", r.rfc, r.quote));
        }
    }
    assert!(wrong.is_empty(), "not verbatim:\n{}", wrong.join("\n"));
}

#[test]
fn cli_manual_coverage_table_then_as_the_catalogue_gives_it() {
    let requirements = builtin_requirements().expect("the registry loads");
    let expected = coverage::render_table(&requirements, &real_catalogue());
    let manual =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cli.md"))
            .expect("docs/cli.md");
    assert_eq!(
        coverage::table_in(&manual),
        Some(expected.as_str()),
        "the coverage table in docs/cli.md is stale: `cargo run -q -p conformance -- coverage \
         --update docs/cli.md` rewrites it"
    );
}

#[test]
fn real_catalogue_quotes_then_verbatim_in_rfc_text() {
    let texts = [(9110, rfc_text(9110)), (9112, rfc_text(9112))];
    let mut wrong = Vec::new();
    for case in real_catalogue() {
        // RFC 6585 (431) is not vendored; its quotes are not checked.
        if case.rfc.starts_with("RFC 6585 ") {
            continue;
        }
        let text = case
            .rfc_number()
            .and_then(|n| texts.iter().find(|(number, _)| *number == n))
            .and_then(|(_, text)| text.as_deref());
        let Some(text) = text else {
            wrong.push(format!("{}: no local text for {}", case.id, case.rfc));
            continue;
        };
        let quote: String = case.quote.split_whitespace().collect();
        if !text.contains(&quote) {
            wrong.push(format!("{}: quote not found in {}", case.id, case.rfc));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
