//! Loading one case file: the TOML fields as written, then validated
//! against the rules of `fixtures/cases/README.md` into a [`Case`]. A case
//! with a single `request` and `[expect]` is normalised into one [`Step`],
//! so everything after loading deals only with steps.

use super::model::{
    parse_rfc_field, Allowed, Case, Check, Expect, Group, Level, Need, Step, Token,
};
use super::problem::Problem;
use crate::escape;
use crate::template::Template;
use serde::Deserialize;
use std::path::PathBuf;

/// The fields of a case file as TOML gives them, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    title: String,
    group: String,
    rfc: String,
    url: String,
    quote: String,
    level: String,
    explain: String,
    timeout_ms: Option<u64>,
    #[serde(default)]
    needs: Vec<String>,
    request: Option<String>,
    expect: Option<RawExpect>,
    steps: Option<Vec<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    pass: Vec<String>,
    #[serde(default)]
    warn: Vec<String>,
    #[serde(default)]
    allowed: Vec<RawAllowed>,
    #[serde(default)]
    checks: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllowed {
    outcome: String,
    because: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(default)]
    pause_ms: u64,
    send: Option<String>,
    expect: Option<RawExpect>,
}

/// Parses and validates the text of a case file whose stem is `stem`.
/// The returned case's `file` is empty; [`load_catalogue`](super::load_catalogue)
/// fills it in.
pub fn parse_case(stem: &str, text: &str) -> Result<Case, Problem> {
    let raw: RawCase = toml::from_str(text).map_err(|e| Problem::Toml {
        line: e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1),
        message: e.message().trim().to_string(),
    })?;
    validate(stem, raw)
}

/// Validates the fields a `run` case file has, given as a TOML table, as
/// the case `stem`: a chain case holds them beside its own.
pub(crate) fn parse_case_table(stem: &str, table: toml::Table) -> Result<Case, Problem> {
    let raw: RawCase = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| Problem::Toml {
            line: None,
            message: e.message().trim().to_string(),
        })?;
    validate(stem, raw)
}

/// Checks the fields of a case file against the README's rules.
fn validate(stem: &str, raw: RawCase) -> Result<Case, Problem> {
    if !is_well_formed_id(stem) {
        return Err(Problem::MalformedId(stem.to_string()));
    }
    if raw.id != stem {
        return Err(Problem::IdMismatch {
            id: raw.id,
            stem: stem.to_string(),
        });
    }
    if let Some(alias) = raw
        .aliases
        .iter()
        .find(|alias| !is_well_formed_id(alias) || **alias == raw.id)
    {
        return Err(Problem::MalformedAlias(alias.clone()));
    }
    let (number, section) =
        parse_rfc_field(&raw.rfc).ok_or_else(|| Problem::MalformedRfc(raw.rfc.clone()))?;
    let prefix = format!("rfc{number}-{}-", section.to_ascii_lowercase());
    if !raw.id.starts_with(&prefix) {
        return Err(Problem::IdRfcMismatch {
            id: raw.id,
            rfc: raw.rfc,
        });
    }
    if !(raw.url.starts_with("https://") && raw.url.contains('#')) {
        return Err(Problem::MalformedUrl(raw.url));
    }
    let group = Group::parse(&raw.group).ok_or(Problem::UnknownGroup(raw.group))?;
    let level = Level::parse(&raw.level).ok_or(Problem::UnknownLevel(raw.level))?;
    for (name, value) in [
        ("title", &raw.title),
        ("quote", &raw.quote),
        ("explain", &raw.explain),
    ] {
        if value.trim().is_empty() {
            return Err(Problem::EmptyField(name));
        }
    }
    if raw.timeout_ms == Some(0) {
        return Err(Problem::ZeroTimeout);
    }
    let steps = match (raw.request, raw.steps) {
        (Some(_), Some(_)) => return Err(Problem::RequestAndSteps),
        (None, None) => return Err(Problem::NoRequest),
        (Some(request), None) => {
            let expect = raw.expect.ok_or(Problem::RequestWithoutExpect)?;
            vec![Step {
                pause_ms: 0,
                send: Some(decode_send("request", &request)?),
                send_source: Some(request),
                expect: Some(validate_expect("expect", expect)?),
            }]
        }
        (None, Some(raw_steps)) => {
            if raw.expect.is_some() {
                return Err(Problem::ExpectWithSteps);
            }
            validate_steps(raw_steps)?
        }
    };
    let mut needs = Vec::new();
    for name in raw.needs {
        needs.push(Need::parse(&name).ok_or(Problem::UnknownNeed(name))?);
    }
    for step in &steps {
        let vars = step.send.as_ref().map(Template::vars).unwrap_or_default();
        needs.extend(vars.into_iter().filter_map(Need::of_var));
    }
    needs.sort();
    needs.dedup();
    Ok(Case {
        id: raw.id,
        aliases: raw.aliases,
        title: raw.title,
        group,
        rfc: raw.rfc,
        url: raw.url,
        quote: raw.quote,
        level,
        explain: raw.explain,
        timeout_ms: raw.timeout_ms,
        steps,
        needs,
        file: PathBuf::new(),
    })
}

fn validate_steps(raw_steps: Vec<RawStep>) -> Result<Vec<Step>, Problem> {
    if raw_steps.is_empty() {
        return Err(Problem::NoSteps);
    }
    let mut steps = Vec::with_capacity(raw_steps.len());
    for (n, raw) in raw_steps.into_iter().enumerate() {
        if raw.send.is_none() && raw.expect.is_none() {
            return Err(Problem::EmptyStep(n));
        }
        let send = match &raw.send {
            Some(text) => Some(decode_send(&format!("steps[{n}].send"), text)?),
            None => None,
        };
        let expect = match raw.expect {
            Some(e) => Some(validate_expect(&format!("steps[{n}].expect"), e)?),
            None => None,
        };
        steps.push(Step {
            pause_ms: raw.pause_ms,
            send,
            send_source: raw.send,
            expect,
        });
    }
    if steps.iter().all(|s| s.expect.is_none()) {
        return Err(Problem::NothingToGrade);
    }
    Ok(steps)
}

fn decode_send(field: &str, text: &str) -> Result<Template, Problem> {
    let template = escape::decode_template(text).map_err(|error| Problem::Escape {
        field: field.to_string(),
        error,
    })?;
    if template.is_empty() {
        return Err(Problem::EmptySend(field.to_string()));
    }
    Ok(template)
}

fn validate_expect(field: &str, raw: RawExpect) -> Result<Expect, Problem> {
    if raw.pass.is_empty() {
        return Err(Problem::EmptyPass(field.to_string()));
    }
    let mut seen = Vec::new();
    let mut parse_tokens = |texts: Vec<String>| -> Result<Vec<Token>, Problem> {
        let mut tokens = Vec::with_capacity(texts.len());
        for text in texts {
            let token = Token::parse(&text).ok_or_else(|| Problem::UnknownToken {
                field: field.to_string(),
                token: text.clone(),
            })?;
            if seen.contains(&token) {
                return Err(Problem::DuplicateToken {
                    field: field.to_string(),
                    token: text,
                });
            }
            seen.push(token);
            tokens.push(token);
        }
        Ok(tokens)
    };
    let pass = parse_tokens(raw.pass)?;
    let warn = parse_tokens(raw.warn)?;
    let allowed_tokens = parse_tokens(raw.allowed.iter().map(|a| a.outcome.clone()).collect())?;
    let mut allowed = Vec::with_capacity(raw.allowed.len());
    for (raw, outcome) in raw.allowed.into_iter().zip(allowed_tokens) {
        // A permission names where it is: `RFC 9112 §6.1: …`.
        if !(raw.because.starts_with("RFC ") && raw.because.contains('§')) {
            return Err(Problem::AllowedWithoutSection {
                field: field.to_string(),
                because: raw.because,
            });
        }
        allowed.push(Allowed {
            outcome,
            because: raw.because,
        });
    }
    let mut checks = Vec::with_capacity(raw.checks.len());
    for name in raw.checks {
        let check = Check::parse(&name).ok_or_else(|| Problem::UnknownCheck {
            field: field.to_string(),
            check: name.clone(),
        })?;
        if checks.contains(&check) {
            return Err(Problem::DuplicateCheck {
                field: field.to_string(),
                check: name,
            });
        }
        checks.push(check);
    }
    Ok(Expect {
        pass,
        warn,
        allowed,
        checks,
    })
}

/// `rfc<number>-<section>-<slug>`: lowercase `[a-z0-9.-]`, a section of
/// digits, letters and inner dots, a slug with no empty words.
fn is_well_formed_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("rfc") else {
        return false;
    };
    let mut parts = rest.splitn(3, '-');
    let (Some(number), Some(section), Some(slug)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let is_section_char = |c: char| c.is_ascii_digit() || c.is_ascii_lowercase() || c == '.';
    !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && !section.is_empty()
        && section.chars().all(is_section_char)
        && !section.starts_with('.')
        && !section.ends_with('.')
        && slug
            .split('-')
            .all(|word| !word.is_empty() && word.chars().all(is_section_char))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::test_support::{case_text, SINGLE, STEM};
    use crate::template::Var;

    fn problem(body: &str) -> Problem {
        match parse_case(STEM, &case_text(body)) {
            Err(p) => p,
            Ok(case) => panic!("parsed: {case:?}"),
        }
    }

    #[test]
    fn single_request_then_one_step() {
        let case = parse_case(STEM, &case_text(SINGLE)).unwrap();
        assert_eq!(case.group, Group::Fields);
        assert_eq!(case.level, Level::Must);
        assert_eq!(case.steps.len(), 1);
        let step = &case.steps[0];
        assert_eq!(step.pause_ms, 0);
        assert_eq!(
            step.send.as_ref().and_then(Template::as_literal),
            Some(&b"GET / HTTP/1.1\r\nHost : localhost\r\n\r\n"[..])
        );
        let expect = step.expect.as_ref().unwrap();
        assert_eq!(expect.pass, [Token::Status(400)]);
        assert_eq!(expect.warn, [Token::Close]);
        assert_eq!(expect.checks, [Check::Date, Check::ContentLength]);
    }

    #[test]
    fn steps_then_each_step_kept_in_order() {
        let case = parse_case(
            STEM,
            &case_text(
                r#"timeout_ms = 3000
[[steps]]
send = 'GET / HTTP/1.1\r\n'
[[steps]]
pause_ms = 100
send = 'Host: localhost\r\n\r\n'
expect = { pass = ["200"] }
[[steps]]
expect = { pass = ["close", "timeout"], checks = ["closed"] }
"#,
            ),
        )
        .unwrap();
        assert_eq!(case.timeout_ms, Some(3000));
        assert_eq!(case.steps.len(), 3);
        assert!(case.steps[0].expect.is_none());
        assert_eq!(case.steps[1].pause_ms, 100);
        assert!(case.steps[2].send.is_none());
    }

    #[test]
    fn well_formed_ids_then_accepted() {
        for id in [
            "rfc9112-5.1-space-before-colon",
            "rfc9110-9.1-lowercase-method-501",
            "rfc6585-5-too-many-fields",
            "rfc9112-3.2.2-absolute-form-1.0",
        ] {
            assert!(is_well_formed_id(id), "{id}");
        }
    }

    #[test]
    fn malformed_ids_then_rejected() {
        for id in [
            "RFC9112-5.1-x",
            "rfc-5.1-x",
            "rfc9112-5.1",
            "rfc9112-5.1-",
            "rfc9112-5.1-a--b",
            "rfc9112-5.1-Upper",
            "rfc9112-5.1-under_score",
            "rfc9112-.5-x",
            "rfc91x2-5.1-x",
        ] {
            assert!(!is_well_formed_id(id), "{id}");
        }
    }

    #[test]
    fn id_not_file_stem_then_mismatch() {
        let text = case_text(SINGLE).replace(STEM, "rfc9112-5.1-other");
        assert_eq!(
            parse_case(STEM, &text).unwrap_err(),
            Problem::IdMismatch {
                id: "rfc9112-5.1-other".into(),
                stem: STEM.into()
            }
        );
    }

    #[test]
    fn id_section_not_rfc_section_then_mismatch() {
        let text = case_text(SINGLE).replace("RFC 9112 §5.1", "RFC 9112 §5.2");
        assert!(matches!(
            parse_case(STEM, &text),
            Err(Problem::IdRfcMismatch { .. })
        ));
    }

    #[test]
    fn rfc_without_section_sign_then_malformed() {
        let text = case_text(SINGLE).replace("RFC 9112 §5.1", "RFC 9112 5.1");
        assert!(matches!(
            parse_case(STEM, &text),
            Err(Problem::MalformedRfc(_))
        ));
    }

    #[test]
    fn unknown_group_then_named() {
        let text = case_text(SINGLE).replace(r#"group = "fields""#, r#"group = "headers""#);
        assert_eq!(
            parse_case(STEM, &text).unwrap_err(),
            Problem::UnknownGroup("headers".into())
        );
    }

    #[test]
    fn unknown_level_then_named() {
        let text = case_text(SINGLE).replace(r#"level = "must""#, r#"level = "MUST""#);
        assert_eq!(
            parse_case(STEM, &text).unwrap_err(),
            Problem::UnknownLevel("MUST".into())
        );
    }

    #[test]
    fn missing_field_then_toml_problem_names_it() {
        let text = case_text(SINGLE).replace("explain = \"Why.\"\n", "");
        match parse_case(STEM, &text).unwrap_err() {
            Problem::Toml { message, .. } => assert!(message.contains("explain"), "{message}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_field_then_toml_problem_with_line() {
        let text = case_text(SINGLE).replace("checks =", "chekcs =");
        match parse_case(STEM, &text).unwrap_err() {
            Problem::Toml { line, message } => {
                assert!(message.contains("chekcs"), "{message}");
                assert_eq!(line, Some(14));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn request_and_steps_then_rejected() {
        let body = format!("{SINGLE}\n[[steps]]\nsend = 'x'\nexpect = {{ pass = [\"200\"] }}\n");
        assert_eq!(problem(&body), Problem::RequestAndSteps);
    }

    #[test]
    fn neither_request_nor_steps_then_rejected() {
        assert_eq!(problem("[expect]\npass = [\"400\"]\n"), Problem::NoRequest);
    }

    #[test]
    fn request_without_expect_then_rejected() {
        assert_eq!(
            problem("request = 'GET /'\n"),
            Problem::RequestWithoutExpect
        );
    }

    #[test]
    fn steps_with_top_level_expect_then_rejected() {
        let body = "[expect]\npass = [\"400\"]\n[[steps]]\nsend = 'x'\n";
        assert_eq!(problem(body), Problem::ExpectWithSteps);
    }

    #[test]
    fn step_with_nothing_then_rejected() {
        let body = "[[steps]]\npause_ms = 5\n[[steps]]\nexpect = { pass = [\"200\"] }\n";
        assert_eq!(problem(body), Problem::EmptyStep(0));
    }

    #[test]
    fn steps_without_any_expect_then_rejected() {
        assert_eq!(problem("[[steps]]\nsend = 'x'\n"), Problem::NothingToGrade);
    }

    #[test]
    fn bad_escape_then_field_and_column_named() {
        let body = SINGLE.replace(r"Host : localhost", r"Host:\q");
        match problem(&body) {
            Problem::Escape { field, error } => {
                assert_eq!(field, "request");
                assert_eq!(error.kind, escape::EscapeErrorKind::UnknownEscape);
                assert_eq!(error.column, 24);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn raw_tab_in_multiline_literal_then_rejected() {
        let body = SINGLE.replace(r"Host : localhost", "Host:\tlocalhost");
        assert!(matches!(problem(&body), Problem::Escape { .. }));
    }

    #[test]
    fn unknown_token_then_named() {
        let body = SINGLE.replace(r#"pass = ["400"]"#, r#"pass = ["400", "4XX"]"#);
        assert_eq!(
            problem(&body),
            Problem::UnknownToken {
                field: "expect".into(),
                token: "4XX".into()
            }
        );
    }

    #[test]
    fn allowed_outcome_with_its_permission_then_parsed() {
        let body = format!(
            "{SINGLE}\n[[expect.allowed]]\noutcome = \"control\"\n\
             because = \"RFC 9112 §6.1: a server MAY process it by Transfer-Encoding\"\n"
        );
        let case = parse_case(STEM, &case_text(&body)).unwrap();
        let expect = case.steps[0].expect.as_ref().unwrap();
        assert_eq!(
            expect.allowed,
            [Allowed {
                outcome: Token::Control,
                because: "RFC 9112 §6.1: a server MAY process it by Transfer-Encoding".into()
            }]
        );
        let uncited = body.replace("RFC 9112 §6.1: a", "a");
        assert_eq!(
            problem(&uncited),
            Problem::AllowedWithoutSection {
                field: "expect".into(),
                because: "a server MAY process it by Transfer-Encoding".into()
            }
        );
        let twice = body.replace("outcome = \"control\"", "outcome = \"close\"");
        assert!(matches!(problem(&twice), Problem::DuplicateToken { .. }));
    }

    #[test]
    fn token_in_pass_and_warn_then_duplicate() {
        let body = SINGLE.replace(r#"warn = ["close"]"#, r#"warn = ["400"]"#);
        assert!(matches!(problem(&body), Problem::DuplicateToken { .. }));
    }

    #[test]
    fn empty_pass_then_rejected() {
        let body = SINGLE.replace(r#"pass = ["400"]"#, "pass = []");
        assert_eq!(problem(&body), Problem::EmptyPass("expect".into()));
    }

    #[test]
    fn unknown_check_then_named() {
        let body = SINGLE.replace(r#""content-length""#, r#""content_length""#);
        assert_eq!(
            problem(&body),
            Problem::UnknownCheck {
                field: "expect".into(),
                check: "content_length".into()
            }
        );
    }

    #[test]
    fn zero_timeout_then_rejected() {
        assert_eq!(
            problem(&format!("timeout_ms = 0\n{SINGLE}")),
            Problem::ZeroTimeout
        );
    }

    #[test]
    fn empty_request_then_rejected() {
        let body = SINGLE.replace(r"'GET / HTTP/1.1\r\nHost : localhost\r\n\r\n'", "''");
        assert_eq!(problem(&body), Problem::EmptySend("request".into()));
    }

    #[test]
    fn needs_then_parsed_with_those_variables_imply() {
        let body = SINGLE.replace(
            r"'GET / HTTP/1.1\r\nHost : localhost\r\n\r\n'",
            r"'GET {path} HTTP/1.1\r\nHost: {host}\r\nIf-Match: {etag}\r\n\r\n'",
        );
        let text = case_text(&format!("needs = [\"fixture-root\"]\n{body}"));
        let case = parse_case(STEM, &text).unwrap();
        assert_eq!(case.needs, [Need::FixtureRoot, Need::Etag]);
        let send = case.steps[0].send.as_ref().unwrap();
        assert_eq!(send.vars(), [Var::Path, Var::Host, Var::Etag]);
    }

    #[test]
    fn no_needs_and_no_captured_variables_then_none() {
        let case = parse_case(STEM, &case_text(SINGLE)).unwrap();
        assert!(case.needs.is_empty());
    }

    #[test]
    fn unknown_need_then_named() {
        let text = case_text(&format!("needs = [\"docroot\"]\n{SINGLE}"));
        assert_eq!(
            parse_case(STEM, &text).unwrap_err(),
            Problem::UnknownNeed("docroot".into())
        );
    }

    #[test]
    fn unknown_variable_then_field_and_column_named() {
        let body = SINGLE.replace(r"Host : localhost", r"Host: {hots}");
        match problem(&body) {
            Problem::Escape { field, error } => {
                assert_eq!(field, "request");
                assert_eq!(error.kind, escape::EscapeErrorKind::UnknownVariable);
                assert_eq!(error.column, 25);
            }
            other => panic!("{other:?}"),
        }
    }
}
