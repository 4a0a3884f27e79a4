//! Which of a case's acceptable outcomes an answer is: the tokens of
//! `expect.pass` and `expect.warn` (`400`, `4xx`, `control`, `close`,
//! `reset`, `timeout`).

use crate::case::Token;
use crate::wire::Outcome;
use serde::{Deserialize, Serialize};

/// Which list of the expectation an outcome matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Matched {
    /// One of `pass`.
    Pass,
    /// One of `warn`.
    Warn,
    /// Neither.
    None,
}

/// Whether an outcome is the one a token names; `control` is the status
/// code the control GET got.
pub(crate) fn token_matches(token: Token, outcome: &Outcome, control: u16) -> bool {
    match (token, outcome) {
        (Token::Control, Outcome::Response(r)) => r.code == control,
        (Token::Status(code), Outcome::Response(r)) => r.code == code,
        (Token::Class(class), Outcome::Response(r)) => r.code / 100 == u16::from(class),
        (Token::Close, Outcome::Closed) => true,
        (Token::Reset, Outcome::Reset) => true,
        (Token::Timeout, Outcome::Timeout) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Level;
    use crate::verdict::test_support::{expect, grade, ok, response};
    use crate::verdict::{grade_step, Context, Grade};

    #[test]
    fn control_token_then_matches_the_control_status_only() {
        let e = expect(&[Token::Control], &[], &[]);
        let outcome = ok(response(203, &[]));
        let control = |status| Context {
            control_status: status,
            ..Context::default()
        };
        assert_eq!(
            grade_step(Level::Must, &e, &outcome, &control(203)).grade,
            Grade::Pass
        );
        assert_eq!(
            grade_step(Level::Must, &e, &outcome, &control(200)).grade,
            Grade::Fail
        );
        assert_eq!(
            grade_step(Level::Must, &e, &Outcome::Closed, &control(200)).grade,
            Grade::Fail
        );
    }

    #[test]
    fn exact_code_in_pass_then_pass() {
        let e = expect(&[Token::Status(400)], &[], &[]);
        assert_eq!(grade(Level::Must, &e, ok(response(400, &[]))), Grade::Pass);
    }

    #[test]
    fn class_token_then_any_code_of_class() {
        let e = expect(&[Token::Class(4)], &[], &[]);
        assert_eq!(grade(Level::Must, &e, ok(response(431, &[]))), Grade::Pass);
        assert_eq!(grade(Level::Must, &e, ok(response(500, &[]))), Grade::Fail);
    }

    #[test]
    fn non_response_tokens_then_match_their_outcomes() {
        let e = expect(&[Token::Close, Token::Reset, Token::Timeout], &[], &[]);
        for outcome in [Outcome::Closed, Outcome::Reset, Outcome::Timeout] {
            assert_eq!(grade(Level::Must, &e, outcome), Grade::Pass);
        }
    }

    #[test]
    fn invalid_response_then_matches_nothing() {
        let e = expect(&[Token::Class(4), Token::Close], &[], &[]);
        let invalid = Outcome::Invalid {
            reason: "garbage".into(),
        };
        assert_eq!(grade(Level::Must, &e, invalid), Grade::Fail);
    }
}
