//! What can be wrong with a case file, named so that its author can fix it
//! without reading the loader: the file, the field, what was expected.

use super::model::{Check, Group, Need};
use crate::escape::EscapeError;
use std::fmt;
use std::path::PathBuf;

/// A file that is not a valid case: which file, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseError {
    /// The offending file.
    pub file: PathBuf,
    /// What is wrong with it.
    pub problem: Problem,
}

impl fmt::Display for CaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.problem)
    }
}

impl std::error::Error for CaseError {}

/// What can be wrong with a case file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The file could not be read.
    Read(String),
    /// The file is not TOML, or has a missing, unknown or mistyped field.
    Toml {
        /// 1-based line of the problem, when TOML knows it.
        line: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// The file stem is not a well-formed id.
    MalformedId(String),
    /// `id` differs from the file stem.
    IdMismatch {
        /// The `id` field.
        id: String,
        /// The file stem.
        stem: String,
    },
    /// `rfc` is not `RFC <number> §<section>`.
    MalformedRfc(String),
    /// The id's RFC number or section differs from the `rfc` field.
    IdRfcMismatch {
        /// The `id` field.
        id: String,
        /// The `rfc` field.
        rfc: String,
    },
    /// `url` is not an https link with an anchor.
    MalformedUrl(String),
    /// `group` is not one of the README's groups.
    UnknownGroup(String),
    /// `level` is not must/should/may/info.
    UnknownLevel(String),
    /// A required text field is empty.
    EmptyField(&'static str),
    /// Both `request` and `steps` are present.
    RequestAndSteps,
    /// Neither `request` nor `steps` is present.
    NoRequest,
    /// `request` without `[expect]`.
    RequestWithoutExpect,
    /// `[expect]` at the top level of a `steps` case.
    ExpectWithSteps,
    /// `steps = []`.
    NoSteps,
    /// A step with neither `send` nor `expect`.
    EmptyStep(usize),
    /// No step has an `expect`, so nothing can be graded.
    NothingToGrade,
    /// A request or send string that decodes to no bytes.
    EmptySend(String),
    /// A request or send string with a bad escape or a raw control byte.
    Escape {
        /// `request` or `steps[N].send`.
        field: String,
        /// The decoder's error.
        error: EscapeError,
    },
    /// `pass` is empty.
    EmptyPass(String),
    /// An outcome token that is not a code, a class, close, reset or timeout.
    UnknownToken {
        /// `expect` or `steps[N].expect`.
        field: String,
        /// The token as written.
        token: String,
    },
    /// The same outcome listed twice (in pass and warn, or twice in one).
    DuplicateToken {
        /// `expect` or `steps[N].expect`.
        field: String,
        /// The token as written.
        token: String,
    },
    /// An alias that is not a well-formed id, or is the case's own id.
    MalformedAlias(String),
    /// An alias that another case has as its id or one of its aliases.
    AliasTaken {
        /// The alias.
        alias: String,
        /// The other case.
        by: String,
    },
    /// An allowed outcome whose `because` does not cite an RFC section.
    AllowedWithoutSection {
        /// `expect` or `steps[N].expect`.
        field: String,
        /// The `because` as written.
        because: String,
    },
    /// A check name not in the README's table.
    UnknownCheck {
        /// `expect` or `steps[N].expect`.
        field: String,
        /// The name as written.
        check: String,
    },
    /// The same check listed twice.
    DuplicateCheck {
        /// `expect` or `steps[N].expect`.
        field: String,
        /// The name as written.
        check: String,
    },
    /// `timeout_ms = 0`.
    ZeroTimeout,
    /// A `needs` entry that is not one of the README's.
    UnknownNeed(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Read(e) => write!(f, "cannot read: {e}"),
            Problem::Toml {
                line: Some(line),
                message,
            } => write!(f, "line {line}: {message}"),
            Problem::Toml {
                line: None,
                message,
            } => f.write_str(message),
            Problem::MalformedId(stem) => write!(
                f,
                "file name `{stem}` is not an id of the form rfc<number>-<section>-<slug> \
                 (lowercase, [a-z0-9.-])"
            ),
            Problem::IdMismatch { id, stem } => {
                write!(f, "id `{id}` differs from the file name `{stem}`")
            }
            Problem::MalformedRfc(rfc) => {
                write!(
                    f,
                    "rfc `{rfc}` is not of the form `RFC <number> §<section>`"
                )
            }
            Problem::IdRfcMismatch { id, rfc } => {
                write!(
                    f,
                    "id `{id}` does not start with the document and section of `{rfc}`"
                )
            }
            Problem::MalformedUrl(url) => {
                write!(f, "url `{url}` is not an https:// link with a #anchor")
            }
            Problem::UnknownGroup(group) => write!(
                f,
                "unknown group `{group}` (expected one of: {})",
                join(Group::ALL.iter().map(|g| g.as_str()))
            ),
            Problem::UnknownLevel(level) => {
                write!(
                    f,
                    "unknown level `{level}` (expected must, should, may or info)"
                )
            }
            Problem::EmptyField(field) => write!(f, "`{field}` is empty"),
            Problem::RequestAndSteps => f.write_str("has both `request` and `steps`; use one"),
            Problem::NoRequest => f.write_str("has neither `request` nor `steps`"),
            Problem::RequestWithoutExpect => f.write_str("has `request` but no `[expect]`"),
            Problem::ExpectWithSteps => {
                f.write_str("has `steps` and a top-level `[expect]`; put expect in each step")
            }
            Problem::NoSteps => f.write_str("`steps` is empty"),
            Problem::EmptyStep(n) => write!(f, "steps[{n}] has neither `send` nor `expect`"),
            Problem::NothingToGrade => f.write_str("no step has an `expect`"),
            Problem::EmptySend(field) => write!(f, "{field} is empty"),
            Problem::Escape { field, error } => write!(f, "{field}: {error}"),
            Problem::EmptyPass(field) => write!(f, "{field}.pass is empty"),
            Problem::UnknownToken { field, token } => write!(
                f,
                "{field}: unknown outcome `{token}` (expected a status code like \"400\", \
                 a class like \"4xx\", \"close\", \"reset\" or \"timeout\")"
            ),
            Problem::DuplicateToken { field, token } => {
                write!(f, "{field}: outcome `{token}` is listed more than once")
            }
            Problem::AliasTaken { alias, by } => {
                write!(f, "aliases: `{alias}` already names the case {by}")
            }
            Problem::MalformedAlias(alias) => write!(
                f,
                "aliases: `{alias}` is not an id of the form rfc<number>-<section>-<slug>, or \
                 is the case's own id"
            ),
            Problem::AllowedWithoutSection { field, because } => write!(
                f,
                "{field}: allowed outcome's `because` must cite its permission as \
                 `RFC NNNN §N: …`, found \"{because}\""
            ),
            Problem::UnknownCheck { field, check } => write!(
                f,
                "{field}: unknown check `{check}` (expected one of: {})",
                join(Check::ALL.iter().map(|c| c.as_str()))
            ),
            Problem::DuplicateCheck { field, check } => {
                write!(f, "{field}: check `{check}` is listed more than once")
            }
            Problem::ZeroTimeout => f.write_str("timeout_ms must be more than 0"),
            Problem::UnknownNeed(need) => write!(
                f,
                "unknown need `{need}` (expected one of: {})",
                join(Need::ALL.iter().map(|n| n.as_str()))
            ),
        }
    }
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_error_display_then_file_then_problem() {
        let err = CaseError {
            file: PathBuf::from("fixtures/cases/x.toml"),
            problem: Problem::NoSteps,
        };
        assert_eq!(err.to_string(), "fixtures/cases/x.toml: `steps` is empty");
    }
}
