//! Request templates: case bytes with variables the run fills in, so one
//! case tests any server whatever it serves (`fixtures/cases/README.md`,
//! "Variables").
//!
//! `{path}` and `{host}` come from the command line (`--path`, `--host`);
//! `{etag}`, `{last-modified}` and `{length}` from the control response.

use crate::date::{to_asctime, to_rfc850};
use std::borrow::Cow;
use std::fmt;

/// A variable a request template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Var {
    /// `{path}`: the resource the run was given with `--path` (default `/`).
    Path,
    /// `{host}`: the `--host` value (default `localhost`).
    Host,
    /// `{etag}`: the control response's `ETag` value, as sent.
    Etag,
    /// `{last-modified}`: the control response's `Last-Modified` value.
    LastModified,
    /// `{length}`: how many body bytes the control GET received.
    Length,
    /// `{last-modified-rfc850}`: the control's `Last-Modified` in the
    /// obsolete RFC 850 form (RFC 9110 §5.6.7).
    LastModifiedRfc850,
    /// `{last-modified-asctime}`: the control's `Last-Modified` in C's
    /// `asctime()` form (RFC 9110 §5.6.7).
    LastModifiedAsctime,
    /// `{missing}`: [`MISSING_PATH`], a path the control found missing.
    Missing,
}

/// The path of `{missing}`: one no server is expected to have, which the
/// control asks for to learn whether the target answers a missing
/// resource with 404 or 410 (RFC 9110 §4.3.1: each origin controls its own
/// namespace, so some serve every path).
pub const MISSING_PATH: &str = "/conformance-no-such-resource.txt";

impl Var {
    /// Every variable, in the README's order.
    pub(crate) const ALL: [Var; 8] = [
        Var::Path,
        Var::Host,
        Var::Etag,
        Var::LastModified,
        Var::Length,
        Var::LastModifiedRfc850,
        Var::LastModifiedAsctime,
        Var::Missing,
    ];

    /// The name written between the braces.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Var::Path => "path",
            Var::Host => "host",
            Var::Etag => "etag",
            Var::LastModified => "last-modified",
            Var::Length => "length",
            Var::LastModifiedRfc850 => "last-modified-rfc850",
            Var::LastModifiedAsctime => "last-modified-asctime",
            Var::Missing => "missing",
        }
    }

    /// The variable called `name`, if there is one.
    pub(crate) fn parse(name: &str) -> Option<Var> {
        Var::ALL.into_iter().find(|v| v.name() == name)
    }
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", self.name())
    }
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Bytes sent as they are.
    Bytes(Vec<u8>),
    /// A variable, replaced by its value.
    Var(Var),
}

/// Request bytes with variables in them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// A template of these parts; adjacent byte parts are merged.
    pub(crate) fn from_parts(parts: impl IntoIterator<Item = Part>) -> Template {
        let mut merged: Vec<Part> = Vec::new();
        for part in parts {
            match (merged.last_mut(), part) {
                (_, Part::Bytes(bytes)) if bytes.is_empty() => {}
                (Some(Part::Bytes(last)), Part::Bytes(bytes)) => last.extend_from_slice(&bytes),
                (_, part) => merged.push(part),
            }
        }
        Template { parts: merged }
    }

    /// The parts, in order.
    pub(crate) fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The variables used, in order of first use.
    pub(crate) fn vars(&self) -> Vec<Var> {
        let mut vars = Vec::new();
        for part in &self.parts {
            if let Part::Var(var) = part {
                if !vars.contains(var) {
                    vars.push(*var);
                }
            }
        }
        vars
    }

    /// How many fixed bytes the template has (variables not counted).
    pub(crate) fn byte_len(&self) -> usize {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Bytes(bytes) => bytes.len(),
                Part::Var(_) => 0,
            })
            .sum()
    }

    /// Whether the template has no bytes and no variables.
    pub(crate) fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The fixed bytes, when the template uses no variable.
    pub(crate) fn as_literal(&self) -> Option<&[u8]> {
        match self.parts.as_slice() {
            [] => Some(&[]),
            [Part::Bytes(bytes)] => Some(bytes),
            _ => None,
        }
    }

    /// The bytes to send with `values`; the first variable without a value
    /// is the error.
    pub(crate) fn fill(&self, values: &Values) -> Result<Vec<u8>, Var> {
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                Part::Bytes(bytes) => out.extend_from_slice(bytes),
                Part::Var(var) => out.extend_from_slice(values.get(*var).ok_or(*var)?.as_bytes()),
            }
        }
        Ok(out)
    }

    /// The bytes with `values` where they are known and the variable's own
    /// `{name}` where not: what `explain` shows before any control ran.
    pub(crate) fn fill_known(&self, values: &Values) -> Vec<u8> {
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                Part::Bytes(bytes) => out.extend_from_slice(bytes),
                Part::Var(var) => match values.get(*var) {
                    Some(value) => out.extend_from_slice(value.as_bytes()),
                    None => out.extend_from_slice(var.to_string().as_bytes()),
                },
            }
        }
        out
    }
}

/// The values a run fills templates with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Values {
    /// `{path}`.
    pub path: String,
    /// `{host}`.
    pub host: String,
    /// `{etag}`, if the control response had one.
    pub etag: Option<String>,
    /// `{last-modified}`, if the control response had one.
    pub last_modified: Option<String>,
    /// `{length}`, if the control GET's body was read to its end.
    pub length: Option<u64>,
}

/// `--path` when not given.
pub const DEFAULT_PATH: &str = "/";
/// `--host` when not given.
pub const DEFAULT_HOST: &str = "localhost";

impl Default for Values {
    fn default() -> Self {
        Values {
            path: DEFAULT_PATH.to_string(),
            host: DEFAULT_HOST.to_string(),
            etag: None,
            last_modified: None,
            length: None,
        }
    }
}

impl Values {
    /// The value of `var`, if known.
    pub(crate) fn get(&self, var: Var) -> Option<Cow<'_, str>> {
        match var {
            Var::Path => Some(Cow::Borrowed(&self.path)),
            Var::Host => Some(Cow::Borrowed(&self.host)),
            Var::Etag => self.etag.as_deref().map(Cow::Borrowed),
            Var::LastModified => self.last_modified.as_deref().map(Cow::Borrowed),
            Var::Length => self.length.map(|n| Cow::Owned(n.to_string())),
            // A Last-Modified that is no IMF-fixdate has no other form.
            Var::LastModifiedRfc850 => self
                .last_modified
                .as_deref()
                .and_then(to_rfc850)
                .map(Cow::Owned),
            Var::LastModifiedAsctime => self
                .last_modified
                .as_deref()
                .and_then(to_asctime)
                .map(Cow::Owned),
            Var::Missing => Some(Cow::Borrowed(MISSING_PATH)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Template {
        Template::from_parts([
            Part::Bytes(b"GET ".to_vec()),
            Part::Var(Var::Path),
            Part::Bytes(b" HTTP/1.1\r\nIf-Match: ".to_vec()),
            Part::Var(Var::Etag),
            Part::Bytes(Vec::new()),
            Part::Bytes(b"\r\n\r\n".to_vec()),
        ])
    }

    #[test]
    fn names_then_round_trip() {
        for var in Var::ALL {
            assert_eq!(Var::parse(var.name()), Some(var));
        }
        assert_eq!(Var::parse("Path"), None);
        assert_eq!(Var::LastModified.to_string(), "{last-modified}");
    }

    #[test]
    fn from_parts_then_bytes_merged_and_empty_dropped() {
        assert_eq!(template().parts().len(), 5);
        assert_eq!(template().vars(), [Var::Path, Var::Etag]);
        assert_eq!(
            Template::from_parts([Part::Bytes(b"a".to_vec()), Part::Bytes(b"b".to_vec())])
                .as_literal(),
            Some(&b"ab"[..])
        );
    }

    #[test]
    fn fill_with_every_value_then_bytes() {
        let values = Values {
            path: "/x".into(),
            etag: Some("\"v1\"".into()),
            ..Values::default()
        };
        assert_eq!(
            template().fill(&values).unwrap(),
            b"GET /x HTTP/1.1\r\nIf-Match: \"v1\"\r\n\r\n"
        );
    }

    #[test]
    fn fill_without_a_value_then_that_variable() {
        assert_eq!(template().fill(&Values::default()), Err(Var::Etag));
    }

    #[test]
    fn fill_known_then_missing_variables_shown_by_name() {
        assert_eq!(
            template().fill_known(&Values::default()),
            b"GET / HTTP/1.1\r\nIf-Match: {etag}\r\n\r\n"
        );
    }

    #[test]
    fn length_then_decimal() {
        let values = Values {
            length: Some(14),
            ..Values::default()
        };
        assert_eq!(values.get(Var::Length).as_deref(), Some("14"));
    }
}
