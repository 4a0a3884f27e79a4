//! The catalogue: every case file of a directory, or the ones compiled into
//! the crate, loaded and validated together, every invalid file reported;
//! and the fingerprint that names a catalogue in `--version`.

use super::model::Case;
use super::parse::parse_case;
use super::problem::{CaseError, Problem};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the catalogue lives inside the repository; the compiled-in
/// catalogue's cases name their files under it.
pub const CATALOGUE_DIR: &str = "fixtures/cases";

/// The catalogue (and the matrix) compiled into this crate by `build.rs`.
pub(crate) mod compiled {
    include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));
}

/// The catalogue could not be loaded.
#[derive(Debug)]
pub enum CatalogueError {
    /// The directory could not be listed.
    ReadDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        error: String,
    },
    /// The directory holds no `*.toml` file.
    Empty(PathBuf),
    /// Some case files are invalid; every one is listed.
    Invalid(Vec<CaseError>),
}

impl fmt::Display for CatalogueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogueError::ReadDir { dir, error } => {
                write!(
                    f,
                    "cannot read the case directory {}: {error}",
                    dir.display()
                )
            }
            CatalogueError::Empty(dir) => write!(f, "no *.toml case files in {}", dir.display()),
            CatalogueError::Invalid(errors) => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for CatalogueError {}

/// The catalogue compiled into this crate: every case file of
/// `fixtures/cases` as it was at build time, sorted by id. A binary needs no
/// checkout to find its cases; `--cases DIR` reads another catalogue
/// ([`load_catalogue`]).
pub fn builtin_catalogue() -> Result<Vec<Case>, CatalogueError> {
    parse_catalogue(
        compiled::FILES
            .iter()
            .map(|&(name, text)| (Path::new(CATALOGUE_DIR).join(name), text.to_string())),
    )
}

/// How many cases the compiled-in catalogue has, and its fingerprint (the
/// short content hash `--version` shows).
pub fn builtin_fingerprint() -> (usize, &'static str) {
    (compiled::FILES.len(), compiled::FINGERPRINT)
}

/// The fingerprint of a catalogue's files, as `--version` names the
/// compiled-in one: `(file name, text)` pairs in any order.
pub fn fingerprint(files: &[(String, String)]) -> String {
    let mut sorted: Vec<(&str, &str)> = files
        .iter()
        .map(|(name, text)| (name.as_str(), text.as_str()))
        .collect();
    sorted.sort();
    super::fingerprint::fingerprint(sorted)
}

/// Loads every `*.toml` file in `dir`, sorted by id. Every invalid file is
/// reported, not just the first.
pub fn load_catalogue(dir: &Path) -> Result<Vec<Case>, CatalogueError> {
    parse_catalogue(read_catalogue_files(dir)?)
}

/// Every `*.toml` file in `dir` with its text.
fn read_catalogue_files(dir: &Path) -> Result<Vec<(PathBuf, String)>, CatalogueError> {
    let read_dir_error = |e: std::io::Error| CatalogueError::ReadDir {
        dir: dir.to_path_buf(),
        error: e.to_string(),
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_dir_error)? {
        let path = entry.map_err(read_dir_error)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(CatalogueError::Empty(dir.to_path_buf()));
    }
    files.sort();
    let mut texts = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => texts.push((file, text)),
            Err(e) => errors.push(CaseError {
                file,
                problem: Problem::Read(e.to_string()),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(CatalogueError::Invalid(errors));
    }
    Ok(texts)
}

/// Parses and validates case files given as (path, text), sorted by id.
fn parse_catalogue(
    files: impl IntoIterator<Item = (PathBuf, String)>,
) -> Result<Vec<Case>, CatalogueError> {
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for (file, text) in files {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match parse_case(&stem, &text) {
            Ok(mut case) => {
                case.file = file;
                cases.push(case);
            }
            Err(problem) => errors.push(CaseError { file, problem }),
        }
    }
    // An alias names one case only: no other case's id or alias.
    for case in &cases {
        for alias in &case.aliases {
            if let Some(other) = cases
                .iter()
                .find(|c| c.id != case.id && c.answers_to(alias))
            {
                errors.push(CaseError {
                    file: case.file.clone(),
                    problem: Problem::AliasTaken {
                        alias: alias.clone(),
                        by: other.id.clone(),
                    },
                });
            }
        }
    }
    if !errors.is_empty() {
        errors.sort_by(|a, b| a.file.cmp(&b.file));
        return Err(CatalogueError::Invalid(errors));
    }
    cases.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::test_support::{case_text, SINGLE, STEM};

    #[test]
    fn builtin_catalogue_then_every_compiled_file_parses() {
        let cases = builtin_catalogue().unwrap();
        let (count, fingerprint) = builtin_fingerprint();
        assert_eq!(cases.len(), count);
        assert_eq!(fingerprint.len(), 12);
        assert!(cases[0].file.starts_with(CATALOGUE_DIR));
    }

    #[test]
    fn fingerprint_then_independent_of_order_and_sensitive_to_content() {
        let a = ("a.toml".to_string(), "x".to_string());
        let b = ("b.toml".to_string(), "y".to_string());
        let one = fingerprint(&[a.clone(), b.clone()]);
        assert_eq!(one, fingerprint(&[b.clone(), a.clone()]));
        assert_ne!(one, fingerprint(&[a, ("b.toml".into(), "z".into())]));
    }

    #[test]
    fn catalogue_dir_with_bad_files_then_every_file_named() {
        let dir =
            std::env::temp_dir().join(format!("conformance-case-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{STEM}.toml")), case_text(SINGLE)).unwrap();
        std::fs::write(dir.join("rfc9112-5.1-broken.toml"), "id = 1").unwrap();
        std::fs::write(dir.join("Bad Name.toml"), case_text(SINGLE)).unwrap();
        std::fs::write(dir.join("notes.md"), "ignored").unwrap();
        let result = load_catalogue(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        match result {
            Err(CatalogueError::Invalid(errors)) => {
                let names: Vec<_> = errors
                    .iter()
                    .map(|e| e.file.file_name().unwrap().to_string_lossy().into_owned())
                    .collect();
                assert_eq!(names, ["Bad Name.toml", "rfc9112-5.1-broken.toml"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
