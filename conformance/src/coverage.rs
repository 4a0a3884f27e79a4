//! Coverage: which of the testable requirements of RFC 9110 and RFC 9112
//! (`fixtures/requirements.toml`) the catalogue tests.
//!
//! A requirement is covered when a case of level `must`, `should` or `may`
//! quotes it: the requirement's quote and the case's quote, whitespace
//! folded, contain one another. `info` cases record behaviour; they test no
//! requirement.

use crate::case::{Case, Group, Level};
use crate::rules::RULES;
use serde::Deserialize;
use std::fmt::Write as _;

/// Where the registry lives inside the repository.
pub(crate) const REQUIREMENTS_FILE: &str = "fixtures/requirements.toml";
/// The markers around the coverage table in `docs/cli.md`.
pub const TABLE_BEGIN: &str =
    "<!-- coverage:begin (conformance coverage --update docs/cli.md writes this block) -->";
/// The end marker.
pub const TABLE_END: &str = "<!-- coverage:end -->";

/// One testable requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Document and section, e.g. `RFC 9110 §10.1.1`.
    pub rfc: String,
    /// The topic, named like the catalogue's groups.
    pub area: Group,
    /// The sentence that states it, verbatim.
    pub quote: String,
    /// Testable only where the server implements an optional feature.
    pub optional: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    requirement: Vec<RawRequirement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    rfc: String,
    area: String,
    quote: String,
    #[serde(default)]
    optional: bool,
}

/// Parses a registry file's text.
pub(crate) fn parse_registry(text: &str) -> Result<Vec<Requirement>, String> {
    let raw: RawRegistry = toml::from_str(text).map_err(|e| e.message().trim().to_string())?;
    raw.requirement
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let area = Group::parse(&r.area)
                .ok_or_else(|| format!("requirement {}: unknown area `{}`", i + 1, r.area))?;
            if r.quote.trim().is_empty() {
                return Err(format!("requirement {}: empty quote", i + 1));
            }
            Ok(Requirement {
                rfc: r.rfc,
                area,
                quote: r.quote,
                optional: r.optional,
            })
        })
        .collect()
}

/// The registry compiled into the binary.
pub fn builtin_requirements() -> Result<Vec<Requirement>, String> {
    match crate::case::compiled::REQUIREMENTS {
        Some(text) => parse_registry(text),
        None => Err(format!("no {REQUIREMENTS_FILE} at build time")),
    }
}

fn fold(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The ids of the scored cases and the response rules ([`RULES`]) that
/// quote `requirement`.
pub(crate) fn covering<'c>(requirement: &Requirement, cases: &'c [Case]) -> Vec<&'c str> {
    let quote = fold(&requirement.quote);
    let quotes = |theirs: &str| {
        let theirs = fold(theirs);
        theirs.contains(&quote) || quote.contains(&theirs)
    };
    cases
        .iter()
        .filter(|c| c.level != Level::Info && quotes(&c.quote))
        .map(|c| c.id.as_str())
        .chain(RULES.iter().filter(|r| quotes(r.quote)).map(|r| r.id))
        .collect()
}

/// Per area: testable requirements, how many are covered, how many of them
/// are optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AreaCount {
    /// Requirements in the area.
    pub testable: usize,
    /// Those a case quotes.
    pub covered: usize,
    /// Those testable only where an optional feature is implemented.
    pub optional: usize,
}

/// Counts per area, in the catalogue's group order (areas without a
/// requirement left out), and the totals.
pub(crate) fn count(
    requirements: &[Requirement],
    cases: &[Case],
) -> (Vec<(Group, AreaCount)>, AreaCount) {
    let mut total = AreaCount::default();
    let mut areas = Vec::new();
    for group in Group::ALL {
        let mut area = AreaCount::default();
        for r in requirements.iter().filter(|r| r.area == group) {
            area.testable += 1;
            area.optional += usize::from(r.optional);
            area.covered += usize::from(!covering(r, cases).is_empty());
        }
        if area.testable > 0 {
            total.testable += area.testable;
            total.covered += area.covered;
            total.optional += area.optional;
            areas.push((group, area));
        }
    }
    (areas, total)
}

fn percent(part: usize, whole: usize) -> usize {
    (part * 100 + whole / 2).checked_div(whole).unwrap_or(0)
}

/// The coverage table in Markdown, with the markers docs/cli.md keeps it
/// between.
pub fn render_table(requirements: &[Requirement], cases: &[Case]) -> String {
    let (areas, total) = count(requirements, cases);
    let mut out = format!("{TABLE_BEGIN}\n");
    out.push_str("| area | covered | testable | of which optional |\n|---|---:|---:|---:|\n");
    let rows = areas
        .iter()
        .map(|(group, c)| (group.as_str(), c, ""))
        .chain([("all", &total, "**")]);
    for (area, c, strong) in rows {
        let _ = writeln!(
            out,
            "| {strong}{area}{strong} | {strong}{} ({}%){strong} | {strong}{}{strong} | \
             {strong}{}{strong} |",
            c.covered,
            percent(c.covered, c.testable),
            c.testable,
            c.optional
        );
    }
    out.push_str(TABLE_END);
    out.push('\n');
    out
}

/// The coverage table as plain text, for a terminal: one row per area,
/// then the total.
pub fn render_text(requirements: &[Requirement], cases: &[Case]) -> String {
    let (areas, total) = count(requirements, cases);
    let mut out = format!(
        "{:<14} {:>10} {:>9} {:>9}\n",
        "area", "covered", "testable", "optional"
    );
    let rows = areas
        .iter()
        .map(|(group, c)| (group.as_str(), c))
        .chain([("all", &total)]);
    for (area, c) in rows {
        let covered = format!("{} ({}%)", c.covered, percent(c.covered, c.testable));
        let _ = writeln!(
            out,
            "{area:<14} {covered:>10} {:>9} {:>9}",
            c.testable, c.optional
        );
    }
    out
}

/// The requirements no case quotes, one line each.
pub fn render_uncovered(requirements: &[Requirement], cases: &[Case]) -> String {
    let mut out = String::new();
    for r in requirements
        .iter()
        .filter(|r| covering(r, cases).is_empty())
    {
        let optional = if r.optional {
            " (optional feature)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{} [{}]{optional}: \"{}\"",
            r.rfc,
            r.area,
            fold(&r.quote)
        );
    }
    out
}

/// Where the table stands in `text`, markers (and the line end after the
/// last) included.
fn table_span(text: &str) -> Option<std::ops::Range<usize>> {
    let begin = text.find(TABLE_BEGIN)?;
    let end = text[begin..].find(TABLE_END)? + begin + TABLE_END.len();
    let end = if text[end..].starts_with('\n') {
        end + 1
    } else {
        end
    };
    Some(begin..end)
}

/// `text` with the block between the markers replaced by `table` (which
/// carries the markers); `None` when the markers are missing.
pub fn replace_table(text: &str, table: &str) -> Option<String> {
    let span = table_span(text)?;
    Some(format!(
        "{}{table}{}",
        &text[..span.start],
        &text[span.end..]
    ))
}

/// The table as it stands in `text`, markers included.
pub fn table_in(text: &str) -> Option<&str> {
    table_span(text).map(|span| &text[span])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::parse_case;

    const REGISTRY: &str = r#"
[[requirement]]
rfc = "RFC 9112 §5.1"
area = "fields"
quote = "A server MUST reject it."

[[requirement]]
rfc = "RFC 9110 §14.2"
area = "range"
quote = """A server MUST ignore a Range header field received with a request method that is \
unrecognized or for which range handling is not defined."""
optional = true
"#;

    fn case(level: &str, quote: &str) -> Case {
        let text = format!(
            r#"id = "rfc9112-5.1-x"
title = "t"
group = "fields"
rfc = "RFC 9112 §5.1"
url = "https://www.rfc-editor.org/rfc/rfc9112#section-5.1"
quote = "{quote}"
level = "{level}"
explain = "e"
request = 'GET / HTTP/1.1\r\n\r\n'
[expect]
pass = ["400"]
"#
        );
        parse_case("rfc9112-5.1-x", &text).unwrap()
    }

    #[test]
    fn registry_then_parsed_with_areas() {
        let r = parse_registry(REGISTRY).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[1].area, r[1].optional), (Group::Range, true));
        assert!(parse_registry(&REGISTRY.replace("\"range\"", "\"ranges\"")).is_err());
    }

    #[test]
    fn quote_contained_either_way_then_covered_but_not_by_info() {
        let r = parse_registry(REGISTRY).unwrap();
        let longer = case("must", "Then: A server MUST reject   it. And more.");
        assert_eq!(
            covering(&r[0], std::slice::from_ref(&longer)),
            ["rfc9112-5.1-x"]
        );
        let shorter = case("should", "MUST reject it");
        assert_eq!(covering(&r[0], std::slice::from_ref(&shorter)).len(), 1);
        let info = case("info", "A server MUST reject it.");
        assert!(covering(&r[0], &[info]).is_empty());
    }

    #[test]
    fn table_then_per_area_and_total() {
        let r = parse_registry(REGISTRY).unwrap();
        let table = render_table(&r, &[case("must", "A server MUST reject it.")]);
        assert_eq!(
            table,
            format!(
                "{TABLE_BEGIN}\n| area | covered | testable | of which optional |\n|---|---:|---:|---:|\n\
                 | fields | 1 (100%) | 1 | 0 |\n| range | 0 (0%) | 1 | 1 |\n\
                 | **all** | **1 (50%)** | **2** | **1** |\n{TABLE_END}\n"
            )
        );
        assert_eq!(
            render_text(&r, &[case("must", "A server MUST reject it.")]),
            "area              covered  testable  optional\n\
             fields           1 (100%)         1         0\n\
             range              0 (0%)         1         1\n\
             all               1 (50%)         2         1\n"
        );
        let readme = format!("intro\n{table}outro\n");
        assert_eq!(table_in(&readme), Some(table.as_str()));
        let old = format!("intro\n{TABLE_BEGIN}\nold\n{TABLE_END}\noutro\n");
        assert_eq!(
            replace_table(&old, &table).as_deref(),
            Some(readme.as_str())
        );
        assert_eq!(replace_table("no markers", &table), None);
    }
}
