//! The cases: one TOML file per case, loaded and validated against the
//! rules in `fixtures/cases/README.md`.
//!
//! `model` holds what a valid case says ([`Case`], its [`Step`]s, their
//! [`Expect`]), `parse` reads and validates one file ([`parse_case`]),
//! `problem` says what is wrong with one that is not ([`CaseError`]),
//! `catalogue` loads a directory or the files compiled in
//! ([`load_catalogue`], [`builtin_catalogue`]), and `fingerprint` is the
//! short hash that names a catalogue.

mod catalogue;
mod fingerprint;
mod model;
mod parse;
mod problem;

pub(crate) use catalogue::compiled;
pub use catalogue::{
    builtin_catalogue, builtin_fingerprint, fingerprint, load_catalogue, CatalogueError,
    CATALOGUE_DIR,
};
pub use model::{Allowed, Case, Check, Expect, Group, Level, Need, Step, Token};
pub use parse::parse_case;
pub(crate) use parse::parse_case_table;
pub use problem::{CaseError, Problem};

/// What the unit tests of the case files share: a valid case file to
/// start from.
#[cfg(test)]
pub(crate) mod test_support {
    pub(crate) const STEM: &str = "rfc9112-5.1-space-before-colon";

    pub(crate) fn case_text(body: &str) -> String {
        format!(
            r#"id = "{STEM}"
title = "Whitespace between a field name and its colon is rejected"
group = "fields"
rfc = "RFC 9112 §5.1"
url = "https://www.rfc-editor.org/rfc/rfc9112#section-5.1"
quote = "A server MUST reject it."
level = "must"
explain = "Why."
{body}"#
        )
    }

    pub(crate) const SINGLE: &str = r#"request = 'GET / HTTP/1.1\r\nHost : localhost\r\n\r\n'

[expect]
pass = ["400"]
warn = ["close"]
checks = ["date", "content-length"]
"#;
}
