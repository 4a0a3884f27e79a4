//! Loading chain case files: the fields a `run` case has, validated as
//! `run` validates them, then the chain's own (`role`, `[origin]`,
//! `[client]`), and the chain catalogue, compiled in or from a directory.

use super::model::{ChainCase, OriginSide, Piece, Role, Rule, Script, DEFAULT_RESPONSE};
use crate::case::{compiled, parse_case_table, Problem};
use crate::escape::{self, decode_template};
use std::fmt;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// Where the chain catalogue lives inside the repository.
pub const CHAIN_CASES_DIR: &str = "fixtures/chain-cases";

/// Every chain id starts with this, then a `run` id's form.
pub const CHAIN_PREFIX: &str = "chain-";

/// What is wrong with a chain case file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainProblem {
    /// A field a `run` case also has is wrong.
    Case(Problem),
    /// A chain field is wrong: which, and how.
    Chain(String),
}

impl fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainProblem::Case(problem) => write!(f, "{problem}"),
            ChainProblem::Chain(message) => f.write_str(message),
        }
    }
}

/// A chain case file that is not valid, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCaseError {
    /// The file.
    pub file: PathBuf,
    /// What is wrong.
    pub problem: ChainProblem,
}

impl fmt::Display for ChainCaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.problem)
    }
}

fn wrong(message: impl Into<String>) -> ChainProblem {
    ChainProblem::Chain(message.into())
}

/// Parses and validates the text of the chain case file whose stem is
/// `stem`.
pub fn parse_chain_case(stem: &str, text: &str) -> Result<ChainCase, ChainProblem> {
    let mut table: Table = toml::from_str(text).map_err(|e| {
        ChainProblem::Case(Problem::Toml {
            line: e
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1),
            message: e.message().trim().to_string(),
        })
    })?;
    let Some(base_stem) = stem.strip_prefix(CHAIN_PREFIX) else {
        return Err(wrong(format!(
            "a chain case id starts with {CHAIN_PREFIX}: {stem}"
        )));
    };
    let role = match table.remove("role") {
        Some(Value::String(name)) => Role::parse(&name).ok_or_else(|| {
            wrong(format!(
                "role {name:?} is none of intermediary, proxy, gateway, cache"
            ))
        })?,
        Some(_) => return Err(wrong("role is a string")),
        None => return Err(wrong("no role: intermediary, proxy, gateway or cache")),
    };
    let exempt = match table.remove("exempt") {
        Some(Value::Array(names)) => names
            .iter()
            .map(|name| {
                name.as_str().and_then(Role::parse).ok_or_else(|| {
                    wrong(format!(
                        "exempt {:?} is none of intermediary, proxy, gateway, cache",
                        name.as_str().unwrap_or("(not a string)")
                    ))
                })
            })
            .collect::<Result<Vec<Role>, _>>()?,
        Some(_) => return Err(wrong("exempt is an array of roles")),
        None => Vec::new(),
    };
    let origin = match table.remove("origin") {
        Some(Value::Table(origin)) => parse_origin(origin)?,
        Some(_) => return Err(wrong("[origin] is a table")),
        None => parse_origin(Table::new())?,
    };
    let client_receives = match table.remove("client") {
        Some(Value::Table(mut client)) => {
            let rules = take_rules(&mut client, "receives", "client.receives", false)?;
            if let Some(key) = client.keys().next() {
                return Err(wrong(format!("unknown field client.{key}")));
            }
            rules
        }
        Some(_) => return Err(wrong("[client] is a table")),
        None => Vec::new(),
    };
    let front_answers = match table.remove("front") {
        Some(Value::Table(mut front)) => {
            let rules = take_rules(&mut front, "answers", "front.answers", false)?;
            if let Some(key) = front.keys().next() {
                return Err(wrong(format!("unknown field front.{key}")));
            }
            rules
        }
        Some(_) => return Err(wrong("[front] is a table")),
        None => Vec::new(),
    };
    strip_prefix(&mut table, "id")?;
    if let Some(Value::Array(aliases)) = table.get_mut("aliases") {
        for alias in aliases {
            if let Value::String(text) = alias {
                *text = text
                    .strip_prefix(CHAIN_PREFIX)
                    .ok_or_else(|| {
                        wrong(format!("alias {text} does not start with {CHAIN_PREFIX}"))
                    })?
                    .to_string();
            }
        }
    }
    let mut case = parse_case_table(base_stem, table).map_err(ChainProblem::Case)?;
    case.id = format!("{CHAIN_PREFIX}{}", case.id);
    for alias in &mut case.aliases {
        *alias = format!("{CHAIN_PREFIX}{alias}");
    }
    Ok(ChainCase {
        case,
        role,
        exempt,
        origin,
        client_receives,
        front_answers,
    })
}

/// `id` without the chain prefix, so that the `run` validation checks the rest.
fn strip_prefix(table: &mut Table, key: &str) -> Result<(), ChainProblem> {
    if let Some(Value::String(id)) = table.get_mut(key) {
        *id = id
            .strip_prefix(CHAIN_PREFIX)
            .ok_or_else(|| wrong(format!("{key} {id} does not start with {CHAIN_PREFIX}")))?
            .to_string();
    }
    Ok(())
}

fn parse_origin(mut origin: Table) -> Result<OriginSide, ChainProblem> {
    let flag = |origin: &mut Table, key: &str| match origin.remove(key) {
        None => Ok(None),
        Some(Value::Boolean(b)) => Ok(Some(b)),
        Some(_) => Err(wrong(format!("origin.{key} is true or false"))),
    };
    let close = flag(&mut origin, "close")?.unwrap_or(false);
    let hold = flag(&mut origin, "hold")?.unwrap_or(false);
    let (forwarded, unless_answered) = match origin.remove("forwarded") {
        None => (None, false),
        Some(Value::Boolean(b)) => (Some(b), false),
        Some(Value::String(s)) if s == "unless-answered" => (Some(true), true),
        Some(_) => {
            return Err(wrong(
                "origin.forwarded is true, false or \"unless-answered\"",
            ))
        }
    };
    let drop = match origin.remove("drop") {
        None => Vec::new(),
        Some(Value::Array(numbers)) => numbers
            .iter()
            .map(|n| {
                n.as_integer()
                    .filter(|&n| n >= 1)
                    .and_then(|n| usize::try_from(n).ok())
            })
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| wrong("origin.drop is a list of request numbers, from 1"))?,
        Some(_) => return Err(wrong("origin.drop is a list of request numbers, from 1")),
    };
    let template = |origin: &mut Table, key: &str| match origin.remove(key) {
        None => Ok(None),
        Some(Value::String(text)) => decode_pieces(&text)
            .map(Some)
            .map_err(|why| wrong(format!("origin.{key}: {why}"))),
        Some(_) => Err(wrong(format!("origin.{key} is a string"))),
    };
    let response = match template(&mut origin, "response")? {
        Some(pieces) => pieces,
        None => decode_pieces(DEFAULT_RESPONSE).map_err(wrong)?,
    };
    if !hold && !response.contains(&Piece::Mark) {
        return Err(wrong(
            "origin.response has no {mark}: the client could not tell the origin's answer from \
             the front's",
        ));
    }
    let after = template(&mut origin, "after")?.unwrap_or_default();
    let continue_with = template(&mut origin, "continue")?.unwrap_or_default();
    let upgrade = template(&mut origin, "upgrade")?.unwrap_or_default();
    if !upgrade.is_empty() && !upgrade.contains(&Piece::Mark) {
        return Err(wrong(
            "origin.upgrade has no {mark}: the client could not tell the origin's answer from \
             the front's",
        ));
    }
    let receives = take_rules(&mut origin, "receives", "origin.receives", true)?;
    if let Some(key) = origin.keys().next() {
        return Err(wrong(format!("unknown field origin.{key}")));
    }
    if forwarded == Some(false) && !receives.is_empty() {
        return Err(wrong(
            "origin.forwarded = false with origin.receives: nothing is to arrive",
        ));
    }
    Ok(OriginSide {
        script: Script {
            response,
            after,
            close,
            hold,
            drop,
            continue_with,
            upgrade,
        },
        forwarded,
        unless_answered,
        receives,
    })
}

/// Decodes an origin template: the case notation, with `{mark}`, `{body}`,
/// `{body-length}` and `{date}`.
pub(crate) fn decode_pieces(text: &str) -> Result<Vec<Piece>, String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut pieces = Vec::new();
    let mut segment_start = 0;
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if c == '\\' {
            i += 2;
            continue;
        }
        if c == '{' {
            let rest = &text[at + 1..];
            let name = rest.split('}').next().unwrap_or_default();
            let piece = match name {
                "mark" => Piece::Mark,
                "body" => Piece::Body,
                "body-length" => Piece::BodyLength,
                "date" => Piece::Date,
                _ => {
                    return Err(format!(
                        "column {}: unknown variable (an origin template has {{mark}}, {{body}}, \
                         {{body-length}} and {{date}})",
                        i + 1
                    ))
                }
            };
            push_bytes(&mut pieces, &text[segment_start..at], segment_start)?;
            pieces.push(piece);
            segment_start = at + name.len() + 2;
            i += name.chars().count() + 2;
            continue;
        }
        i += 1;
    }
    push_bytes(&mut pieces, &text[segment_start..], segment_start)?;
    if pieces.is_empty() {
        return Err("no bytes".into());
    }
    Ok(pieces)
}

fn push_bytes(pieces: &mut Vec<Piece>, segment: &str, offset: usize) -> Result<(), String> {
    let bytes = escape::decode(segment).map_err(|mut e| {
        e.column += offset;
        e.to_string()
    })?;
    if !bytes.is_empty() {
        pieces.push(Piece::Bytes(bytes));
    }
    Ok(())
}

fn take_rules(
    table: &mut Table,
    key: &str,
    name: &str,
    origin: bool,
) -> Result<Vec<Rule>, ChainProblem> {
    let Some(value) = table.remove(key) else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = value else {
        return Err(wrong(format!("{name} is an array of tables ([[{name}]])")));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(n, item)| {
            parse_rule(item, origin).map_err(|why| wrong(format!("{name}[{n}]: {why}")))
        })
        .collect()
}

fn parse_rule(item: Value, origin: bool) -> Result<Rule, String> {
    let Value::Table(table) = item else {
        return Err("a rule is a table".into());
    };
    let mut entries = table.into_iter();
    let (Some((kind, value)), None) = (entries.next(), entries.next()) else {
        return Err("a rule has exactly one key".into());
    };
    let string = |value: &Value| -> Result<String, String> {
        value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("{kind} takes a string"))
    };
    let field = |value: &Value, key: &str| -> Result<(String, Value), String> {
        let table = value
            .as_table()
            .ok_or_else(|| format!("{kind} takes {{ field = …, {key} = … }}"))?;
        let name = table
            .get("field")
            .and_then(Value::as_str)
            .filter(|n| is_token(n))
            .ok_or_else(|| format!("{kind}.field is a field name"))?;
        let other = table
            .get(key)
            .cloned()
            .ok_or_else(|| format!("{kind}.{key} is missing"))?;
        if table.len() != 2 {
            return Err(format!("{kind} takes field and {key} only"));
        }
        Ok((name.to_string(), other))
    };
    let name = |value: &Value| -> Result<String, String> {
        string(value).and_then(|n| {
            if is_token(&n) {
                Ok(n)
            } else {
                Err(format!("{kind} takes a field name"))
            }
        })
    };
    let number = |value: Value| -> Result<u64, String> {
        value
            .as_integer()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| format!("{kind} counts in whole numbers"))
    };
    let text = |value: Value| -> Result<String, String> {
        value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("{kind} compares with a string"))
    };
    Ok(match kind.as_str() {
        "present" => Rule::Present(name(&value)?),
        "absent" => Rule::Absent(name(&value)?),
        "count" => {
            let (f, n) = field(&value, "is")?;
            Rule::Count(f, number(n)? as usize)
        }
        "value" => {
            let (f, v) = field(&value, "is")?;
            Rule::Value(f, text(v)?)
        }
        "value_not" => {
            let (f, v) = field(&value, "is")?;
            Rule::ValueNot(f, text(v)?)
        }
        "members" => {
            let (f, v) = field(&value, "are")?;
            let members = v
                .as_array()
                .and_then(|a| a.iter().map(|m| m.as_str().map(str::to_string)).collect())
                .ok_or("members.are is a list of strings")?;
            Rule::Members(f, members)
        }
        "at_most" => {
            let (f, n) = field(&value, "is")?;
            Rule::AtMost(f, number(n)?)
        }
        "lacks_option" => {
            let (f, o) = field(&value, "option")?;
            Rule::LacksOption(f, text(o)?)
        }
        "version" => Rule::Version(string(&value)?),
        "target" if origin => {
            Rule::Target(decode_template(&string(&value)?).map_err(|e| format!("target: {e}"))?)
        }
        "framing" if value.as_str() == Some("unambiguous") => Rule::Unambiguous,
        "framing" if value.as_str() == Some("valid") => Rule::Valid,
        "framing" => return Err("framing takes \"unambiguous\" or \"valid\"".into()),
        "connection_option" => Rule::ConnectionOption(name(&value)?),
        "content" | "content_not" => {
            let bytes = escape::decode(&string(&value)?).map_err(|e| format!("{kind}: {e}"))?;
            if kind == "content" {
                Rule::Content(bytes)
            } else {
                Rule::ContentNot(bytes)
            }
        }
        "status_not" if !origin => Rule::StatusNot(
            value
                .as_integer()
                .and_then(|n| u16::try_from(n).ok())
                .filter(|n| (100..=999).contains(n))
                .ok_or("status_not takes a status code")?,
        ),
        "strict" if value.as_bool() == Some(true) => Rule::Strict,
        "strict" => return Err("strict takes true".into()),
        other => return Err(format!("unknown rule {other}")),
    })
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The chain catalogue compiled into this crate, sorted by id.
pub fn builtin_chain_catalogue() -> Result<Vec<ChainCase>, Vec<ChainCaseError>> {
    parse_all(
        compiled::CHAIN_FILES
            .iter()
            .map(|&(name, text)| (Path::new(CHAIN_CASES_DIR).join(name), text.to_string())),
    )
}

/// Every `*.toml` chain case in `dir`, sorted by id; every invalid file named.
pub fn load_chain_catalogue(dir: &Path) -> Result<Vec<ChainCase>, Vec<ChainCaseError>> {
    let unreadable = |why: String| {
        vec![ChainCaseError {
            file: dir.to_path_buf(),
            problem: ChainProblem::Case(Problem::Read(why)),
        }]
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| unreadable(e.to_string()))? {
        let path = entry.map_err(|e| unreadable(e.to_string()))?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|e| unreadable(e.to_string()))?;
            files.push((path, text));
        }
    }
    if files.is_empty() {
        return Err(unreadable("no *.toml chain case files".into()));
    }
    parse_all(files)
}

fn parse_all(
    files: impl IntoIterator<Item = (PathBuf, String)>,
) -> Result<Vec<ChainCase>, Vec<ChainCaseError>> {
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for (file, text) in files {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match parse_chain_case(&stem, &text) {
            Ok(mut case) => {
                case.case.file = file;
                cases.push(case);
            }
            Err(problem) => errors.push(ChainCaseError { file, problem }),
        }
    }
    if !errors.is_empty() {
        errors.sort_by(|a, b| a.file.cmp(&b.file));
        return Err(errors);
    }
    cases.sort_by(|a, b| a.case.id.cmp(&b.case.id));
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"id = "chain-rfc9110-7.6.1-x"
title = "T"
group = "connection"
rfc = "RFC 9110 §7.6.1"
url = "https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1"
quote = "Q."
level = "must"
explain = "E."
request = 'GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n'
[expect]
pass = ["control"]
"#;

    #[test]
    fn chain_case_then_base_id_prefixed_and_default_answer() {
        let text = format!("role = \"intermediary\"\n{BASE}[[origin.receives]]\nabsent = \"X\"\n");
        let case = parse_chain_case("chain-rfc9110-7.6.1-x", &text).unwrap();
        assert_eq!(case.case.id, "chain-rfc9110-7.6.1-x");
        assert_eq!(case.role, Role::Intermediary);
        assert_eq!(case.origin.receives, [Rule::Absent("X".into())]);
        assert_eq!(case.origin.script.response[1], Piece::Mark);
    }

    #[test]
    fn chain_case_faults_then_named() {
        let problem = |text: &str| parse_chain_case("chain-rfc9110-7.6.1-x", text).unwrap_err();
        assert_eq!(
            problem(BASE).to_string(),
            "no role: intermediary, proxy, gateway or cache"
        );
        let no_mark =
            format!("role = \"proxy\"\n{BASE}[origin]\nresponse = 'HTTP/1.1 200 OK\\r\\n\\r\\n'\n");
        assert!(problem(&no_mark)
            .to_string()
            .starts_with("origin.response has no {mark}"));
        let bad_rule = format!(
            "role = \"proxy\"\n{BASE}[[origin.receives]]\nabsent = \"X\"\npresent = \"Y\"\n"
        );
        assert_eq!(
            problem(&bad_rule).to_string(),
            "origin.receives[0]: a rule has exactly one key"
        );
        assert_eq!(
            parse_chain_case("rfc9110-7.6.1-x", BASE)
                .unwrap_err()
                .to_string(),
            "a chain case id starts with chain-: rfc9110-7.6.1-x"
        );
    }

    #[test]
    fn origin_script_and_front_rules_then_parsed() {
        let text = format!(
            "role = \"proxy\"\n{BASE}[origin]\nforwarded = \"unless-answered\"\ndrop = [2, 3]\n\
             continue = 'HTTP/1.1 100 Continue\\r\\n\\r\\n'\n\
             upgrade = 'HTTP/1.1 101 Switching Protocols\\r\\n{{mark}}\\r\\n'\n\
             [[origin.receives]]\ncontent_not = 'a\\0b'\n[[origin.receives]]\nframing = \"valid\"\n\
             [[origin.receives]]\nconnection_option = \"TE\"\n\
             [[client.receives]]\ncontent = 'x'\n[[front.answers]]\nstatus_not = 421\n"
        );
        let case = parse_chain_case("chain-rfc9110-7.6.1-x", &text).unwrap();
        assert_eq!(
            (case.origin.forwarded, case.origin.unless_answered),
            (Some(true), true)
        );
        assert_eq!(case.origin.script.drop, [2, 3]);
        assert_eq!(
            case.origin.script.continue_with,
            [Piece::Bytes(b"HTTP/1.1 100 Continue\r\n\r\n".to_vec())]
        );
        assert_eq!(case.origin.script.upgrade[1], Piece::Mark);
        assert_eq!(
            case.origin.receives,
            [
                Rule::ContentNot(b"a\0b".to_vec()),
                Rule::Valid,
                Rule::ConnectionOption("TE".into())
            ]
        );
        assert_eq!(case.client_receives, [Rule::Content(b"x".to_vec())]);
        assert_eq!(case.front_answers, [Rule::StatusNot(421)]);
    }

    #[test]
    fn origin_script_faults_then_named() {
        let problem = |extra: &str| {
            parse_chain_case(
                "chain-rfc9110-7.6.1-x",
                &format!("role = \"proxy\"\n{BASE}{extra}"),
            )
            .unwrap_err()
            .to_string()
        };
        assert_eq!(
            problem("[origin]\ndrop = [0]\n"),
            "origin.drop is a list of request numbers, from 1"
        );
        assert_eq!(
            problem("[origin]\nforwarded = \"maybe\"\n"),
            "origin.forwarded is true, false or \"unless-answered\""
        );
        assert!(
            problem("[origin]\nupgrade = 'HTTP/1.1 101 X\\r\\n\\r\\n'\n")
                .starts_with("origin.upgrade has no {mark}")
        );
        assert_eq!(
            problem("[[origin.receives]]\nstatus_not = 421\n"),
            "origin.receives[0]: unknown rule status_not"
        );
        assert_eq!(
            problem("[front]\nanswer = []\n"),
            "unknown field front.answer"
        );
    }

    #[test]
    fn origin_template_then_pieces_and_unknown_variable_named() {
        assert_eq!(
            decode_pieces("A\\r\\n{mark}\\{2:x}{body-length}").unwrap(),
            [
                Piece::Bytes(b"A\r\n".to_vec()),
                Piece::Mark,
                Piece::Bytes(b"xx".to_vec()),
                Piece::BodyLength
            ]
        );
        assert!(decode_pieces("{path}")
            .unwrap_err()
            .starts_with("column 1: unknown variable"));
    }
    #[test]
    fn exempt_roles_then_parsed_and_a_wrong_one_named() {
        let text = format!("role = \"intermediary\"\nexempt = [\"cache\"]\n{BASE}");
        let case = parse_chain_case("chain-rfc9110-7.6.1-x", &text).unwrap();
        assert_eq!(case.exempt, vec![Role::Cache]);
        let text = format!("role = \"intermediary\"\nexempt = [\"cdn\"]\n{BASE}");
        let error = parse_chain_case("chain-rfc9110-7.6.1-x", &text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "exempt \"cdn\" is none of intermediary, proxy, gateway, cache"
        );
    }
}
