//! A baseline: the case ids a target is known to fail, one per line, so CI
//! can fail on regressions only.
//!
//! ```text
//! # known failures of example-server 2.1
//! rfc9112-5.1-space-before-colon
//! rfc9112-6.1-te-and-cl    # tracked in issue 42
//! ```
//!
//! An id that names no case of the catalogue (by id or alias) and no
//! response rule is *stale*: a case renamed without an alias, or removed,
//! since the baseline was written. It is set apart, reported, and never an
//! error, so that upgrading the catalogue does not break a CI job.

use crate::case::Case;
use crate::rules::Rule;
use std::fmt;

/// The ids of known failures, in file order without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    ids: Vec<String>,
    /// The ids [`resolve`](Self::resolve) found naming nothing, in file order.
    stale: Vec<String>,
}

/// What can be wrong with a baseline file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaselineError {
    /// A line holds more than one word before any `#`.
    Malformed {
        /// 1-based line number.
        line: usize,
        /// The line as written.
        text: String,
    },
}

impl fmt::Display for BaselineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaselineError::Malformed { line, text } => {
                write!(f, "line {line}: expected one case id, found \"{text}\"")
            }
        }
    }
}

impl std::error::Error for BaselineError {}

impl Baseline {
    /// Parses a baseline: one id per line; `#` starts a comment; blank
    /// lines are ignored.
    pub fn parse(text: &str) -> Result<Baseline, BaselineError> {
        let mut ids: Vec<String> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let content = line.split('#').next().unwrap_or_default().trim();
            if content.is_empty() {
                continue;
            }
            if content.split_whitespace().count() > 1 {
                return Err(BaselineError::Malformed {
                    line: index + 1,
                    text: line.to_string(),
                });
            }
            if !ids.iter().any(|id| id == content) {
                ids.push(content.to_string());
            }
        }
        Ok(Baseline {
            ids,
            stale: Vec::new(),
        })
    }

    /// A baseline of the given ids.
    pub fn from_ids(ids: impl IntoIterator<Item = String>) -> Baseline {
        let mut baseline = Baseline::default();
        for id in ids {
            if !baseline.contains(&id) {
                baseline.ids.push(id);
            }
        }
        baseline
    }

    /// The baseline with each alias replaced by the id of the case it
    /// names (a case renamed since the baseline was written), so that
    /// [`contains`](Self::contains) finds it under its id; the ids that
    /// name neither a case of `catalogue` nor a response rule (`rule:date`)
    /// are set apart as [`stale`](Self::stale).
    pub fn resolve(self, catalogue: &[Case]) -> Baseline {
        let mut resolved = Baseline::default();
        for id in self.ids {
            match catalogue.iter().find(|c| c.answers_to(&id)) {
                Some(case) if !resolved.contains(&case.id) => resolved.ids.push(case.id.clone()),
                Some(_) => {}
                None if Rule::find(&id).is_some() => resolved.ids.push(id),
                None => resolved.stale.push(id),
            }
        }
        resolved
    }

    /// The ids that named nothing when the baseline was
    /// [`resolve`](Self::resolve)d, in file order.
    pub fn stale(&self) -> &[String] {
        &self.stale
    }

    /// Whether `id` is a known failure.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.iter().any(|known| known == id)
    }

    /// The ids, in file order.
    #[cfg(test)]
    pub(crate) fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The file text for this baseline, ids sorted, with a header comment.
    pub fn render(&self, header: &str) -> String {
        let mut ids = self.ids.clone();
        ids.sort();
        let mut out = String::new();
        for line in header.lines() {
            out.push_str(&format!("# {line}\n"));
        }
        for id in ids {
            out.push_str(&id);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_comments_and_blanks_then_ids_only() {
        let baseline =
            Baseline::parse("# header\n\nrfc9112-5.1-a\n  rfc9112-5.1-b  # why\nrfc9112-5.1-a\n")
                .unwrap();
        assert_eq!(baseline.ids(), ["rfc9112-5.1-a", "rfc9112-5.1-b"]);
        assert!(baseline.contains("rfc9112-5.1-b"));
        assert!(!baseline.contains("rfc9112-5.1"));
    }

    #[test]
    fn two_words_on_a_line_then_malformed_with_line_number() {
        assert_eq!(
            Baseline::parse("a\nb c\n"),
            Err(BaselineError::Malformed {
                line: 2,
                text: "b c".into()
            })
        );
    }

    #[test]
    fn resolve_then_aliases_renamed_rules_kept_and_the_rest_stale() {
        let text = "id = \"rfc9112-3.2-new\"\naliases = [\"rfc9112-3.2-old\"]\n\
                    title = \"T\"\ngroup = \"host\"\nrfc = \"RFC 9112 §3.2\"\n\
                    url = \"https://www.rfc-editor.org/rfc/rfc9112#section-3.2\"\n\
                    quote = \"Q.\"\nlevel = \"must\"\nexplain = \"E.\"\n\
                    request = 'GET / HTTP/1.1\\r\\n\\r\\n'\n[expect]\npass = [\"400\"]\n";
        let catalogue = [crate::case::parse_case("rfc9112-3.2-new", text).unwrap()];
        let baseline = Baseline::parse(
            "rfc9112-3.2-gone\nrfc9112-3.2-old\nrule:date\nrule:nope\nrfc9112-3.2-new\n",
        )
        .unwrap()
        .resolve(&catalogue);
        assert_eq!(baseline.ids(), ["rfc9112-3.2-new", "rule:date"]);
        assert_eq!(baseline.stale(), ["rfc9112-3.2-gone", "rule:nope"]);
        assert!(!baseline.contains("rfc9112-3.2-gone"));
    }

    #[test]
    fn render_then_sorted_with_header_and_parses_back() {
        let baseline = Baseline::from_ids(["b".to_string(), "a".to_string()]);
        let text = baseline.render("known failures\nof x");
        assert_eq!(text, "# known failures\n# of x\na\nb\n");
        assert_eq!(Baseline::parse(&text).unwrap().ids(), ["a", "b"]);
    }
}
