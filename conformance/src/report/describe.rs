//! Describing for people: the one way each report, `diff`, `explain` and
//! the matrix write what a step got (`400 Bad Request`, `closed`) and what
//! a case wants (`pass 400; warn close`). The server's bytes in them are
//! escaped for a terminal ([`crate::escape::terminal`]); a format that is
//! not a terminal escapes the description again for itself.

use crate::case::{Expect, Token};
use crate::escape::{terminal, terminal_bytes};
use crate::run::CaseResult;
use crate::wire::{Outcome, Response};
use std::fmt::Write as _;

/// What a step got, as every report writes it: `400 Bad Request`,
/// `closed`, `invalid: …`, with the server's bytes escaped for a terminal.
pub(crate) fn describe_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Response(r) => status(r),
        Outcome::Closed => "closed".into(),
        Outcome::Reset => "reset".into(),
        Outcome::Timeout => "timeout".into(),
        Outcome::Invalid { reason } => format!("invalid: {}", terminal(reason)),
        Outcome::Error(e) => format!("error: {}", terminal(e)),
    }
}

/// A step's outcome, or `-` when it read nothing.
pub(crate) fn maybe_outcome(step: Option<&Outcome>) -> String {
    step.map_or_else(|| "-".to_string(), describe_outcome)
}

/// An outcome in one word: the status code, or what happened instead.
pub(crate) fn short_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Response(response) => response.code.to_string(),
        Outcome::Closed => "closed".into(),
        Outcome::Reset => "reset".into(),
        Outcome::Timeout => "timeout".into(),
        Outcome::Invalid { .. } => "invalid".into(),
        Outcome::Error(_) => "error".into(),
    }
}

/// `400 Bad Request`: the code and the reason phrase as received, escaped.
fn status(r: &Response) -> String {
    let reason = r.reason_bytes();
    if reason.is_empty() {
        r.code.to_string()
    } else {
        format!("{} {}", r.code, terminal_bytes(reason))
    }
}

/// What a case got, one phrase per reading step: `400 Bad Request | closed`;
/// for a skipped case, `skipped: ` and the reason.
pub fn describe_outcomes(result: &CaseResult<'_>) -> String {
    if let Some(reason) = &result.skipped {
        return format!("skipped: {reason}");
    }
    let outcomes: Vec<String> = result
        .reading_steps()
        .map(|(_, _, step)| maybe_outcome(step.exchange.outcome.as_ref()))
        .collect();
    join_outcomes(&outcomes)
}

/// Each step's outcome joined as [`describe_outcomes`] joins them.
pub(crate) fn join_outcomes<S: AsRef<str>>(outcomes: &[S]) -> String {
    let parts: Vec<&str> = outcomes.iter().map(AsRef::as_ref).collect();
    parts.join(" | ")
}

/// Outcome tokens as a case file lists them: `400, close`.
pub(crate) fn join_tokens(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The acceptable outcomes and checks of a step: `pass 400; warn close;
/// checks date (must), closed (must)`.
pub fn describe_expect(expect: &Expect) -> String {
    let mut text = format!("pass {}", join_tokens(&expect.pass));
    for allowed in &expect.allowed {
        let _ = write!(text, "; allowed {} ({})", allowed.outcome, allowed.because);
    }
    if !expect.warn.is_empty() {
        let _ = write!(text, "; warn {}", join_tokens(&expect.warn));
    }
    if !expect.checks.is_empty() {
        let checks: Vec<String> = expect
            .checks
            .iter()
            .map(|c| format!("{c} ({})", c.level()))
            .collect();
        let _ = write!(text, "; checks {}", checks.join(", "));
    }
    text
}

/// Runs of whitespace (line breaks included) folded to one space.
pub(crate) fn fold_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
