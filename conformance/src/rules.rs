//! Response rules: what every response must satisfy, whatever it answers.
//!
//! A case grades the one requirement it quotes (`../shared/GRADING.md`,
//! "One requirement per case"). What holds for *every* response — a `Date`
//! on 2xx to 4xx, the status line's space, the reason phrase's and the
//! field values' grammar, a `Content-Length` that agrees with the bytes
//! sent — is checked here, on every response a run read, and reported once
//! per rule: how many responses broke it, out of how many it applied to,
//! and the first cases where it was seen. A server that leaves `Date` off
//! its 400s then breaks one rule, not forty cases about what it rejected.
//!
//! A rule is scored once, like a case, under its id (`rule:date`), which a
//! baseline may list. A case whose subject *is* a rule (the §6.6.1 cases
//! about `Date`) still names the rule's check in its own `checks`.

use crate::case::{Check, Level};
use crate::escape;
use crate::run::CaseResult;
use crate::verdict::{run_check, Context, Grade};
use crate::wire::{BodyEnd, Outcome, Response};

/// How many cases a broken rule names as where it was seen.
pub const FIRST_SEEN: usize = 5;

/// A requirement on every response, and the check that tests it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The rule's id in reports and baselines: `rule:` and its check.
    pub id: &'static str,
    /// The check run on each response.
    pub check: Check,
    /// The requirement's strength.
    pub level: Level,
    /// Where the requirement is, e.g. `RFC 9110 §6.6.1`.
    pub rfc: &'static str,
    /// What the rule asks, in a few words.
    pub title: &'static str,
    /// The sentence it rests on, verbatim.
    pub quote: &'static str,
    /// For learners: why it matters and what the check accepts.
    pub explain: &'static str,
}

/// Every response rule, in the order reports list them.
pub const RULES: [Rule; 5] = [
    Rule {
        id: "rule:date",
        check: Check::Date,
        level: Level::Must,
        rfc: "RFC 9110 §6.6.1",
        title: "a Date in IMF-fixdate form on every 2xx, 3xx and 4xx",
        quote: "An origin server with a clock (as defined in Section 5.6.7) MUST generate a \
                Date header field in all 2xx (Successful), 3xx (Redirection), and 4xx (Client \
                Error) responses, and MAY generate a Date header field in 1xx (Informational) \
                and 5xx (Server Error) responses.",
        explain: "Caches work out the age of a response from its Date; without one they fall back \
                  to guesses. Error responses are often made on a code path of their own, and \
                  that is where a missing Date hides. The check wants exactly one Date, in \
                  IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`), on every 2xx, 3xx and \
                  4xx; 1xx and 5xx may go without.",
    },
    Rule {
        id: "rule:content-length",
        check: Check::ContentLength,
        level: Level::Must,
        rfc: "RFC 9110 §8.6",
        title: "Content-Length agrees with the content sent, and is absent on 1xx and 204",
        quote: "A server MUST NOT send a Content-Length header field in any response with a \
                status code of 1xx (Informational) or 204 (No Content).",
        explain: "Content-Length is how the client knows where a response ends and the next \
                  begins on a persistent connection: a value that disagrees with the bytes \
                  sent desynchronises every response after it. The check wants the body to \
                  have exactly the declared length (a HEAD or 304 response sends none), no \
                  Content-Length beside Transfer-Encoding (RFC 9112 §6.2), and none at all on \
                  a 1xx or 204.",
    },
    Rule {
        id: "rule:status-sp",
        check: Check::StatusSp,
        level: Level::Must,
        rfc: "RFC 9112 §4",
        title: "a space after the status code, even with no reason phrase",
        quote: "A server MUST send the space that separates the status-code from the \
                reason-phrase even when the reason-phrase is absent (i.e., the status-line \
                would end with the space).",
        explain: "`HTTP/1.1 200` with nothing after the code is not a status line: the grammar \
                  asks for the space even when the reason phrase is empty, and strict clients \
                  reject the response without it.",
    },
    Rule {
        id: "rule:reason-phrase",
        check: Check::ReasonPhrase,
        level: Level::Must,
        rfc: "RFC 9110 §2.2",
        title: "the reason phrase matches RFC 9112 §4: 1*( HTAB / SP / VCHAR / obs-text )",
        quote: "A sender MUST NOT generate protocol elements that do not match the grammar \
                defined by the corresponding ABNF rules.",
        explain: "The reason phrase is free text for people, but only of tabs, spaces, visible \
                  characters and obs-text: a control character in it can end the line early \
                  in a lenient parser, or rewrite a terminal that prints it.",
    },
    Rule {
        id: "rule:field-value",
        check: Check::FieldValue,
        level: Level::Must,
        rfc: "RFC 9110 §2.2",
        title: "every field value matches RFC 9110 §5.5: no CR, LF, NUL or other CTL",
        quote: "A sender MUST NOT generate protocol elements that do not match the grammar \
                defined by the corresponding ABNF rules.",
        explain: "CR, LF and NUL inside a field value are how header injection and response \
                  splitting work; other control characters are invalid too. The check reads \
                  every field line of the raw head and wants only visible characters, \
                  obs-text, spaces and tabs in each value.",
    },
];

impl Rule {
    /// The rule with this id (`rule:date`), if there is one.
    pub fn find(id: &str) -> Option<&'static Rule> {
        RULES.iter().find(|rule| rule.id == id)
    }

    /// The rule a check is, if the check is one.
    pub fn of_check(check: Check) -> Option<&'static Rule> {
        RULES.iter().find(|rule| rule.check == check)
    }
}

/// Where a rule was seen broken: the case, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    /// The case whose response broke the rule.
    pub case: String,
    /// What the check found.
    pub problem: String,
}

/// One rule over a whole run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleResult {
    /// The rule.
    pub rule: &'static Rule,
    /// `pass` when no response broke it; `fail` (a `must` rule) or `warn`
    /// when one did; `info` when it applied to no response.
    pub grade: Grade,
    /// How many responses it applied to.
    pub checked: usize,
    /// How many of them broke it.
    pub broken: usize,
    /// The first [`FIRST_SEEN`] cases where it was broken, in catalogue
    /// order, once each.
    pub first: Vec<Breach>,
}

/// Checks every rule on every response of the run.
pub fn check_rules(results: &[CaseResult<'_>]) -> Vec<RuleResult> {
    let context = Context::default();
    RULES
        .iter()
        .map(|rule| {
            let mut checked = 0;
            let mut broken = 0;
            let mut first: Vec<Breach> = Vec::new();
            for result in results.iter().filter(|r| r.skipped.is_none()) {
                let responses =
                    result
                        .steps
                        .iter()
                        .filter_map(|step| match &step.exchange.outcome {
                            Some(Outcome::Response(response)) => Some(response),
                            _ => None,
                        });
                for response in responses {
                    let Some(verdict) = check_response(rule, response, &context) else {
                        continue;
                    };
                    checked += 1;
                    if let Err(problem) = verdict {
                        broken += 1;
                        let seen = first.iter().any(|b| b.case == result.case.id);
                        if !seen && first.len() < FIRST_SEEN {
                            first.push(Breach {
                                case: result.case.id.clone(),
                                problem,
                            });
                        }
                    }
                }
            }
            let grade = match (checked, broken, rule.level) {
                (0, _, _) => Grade::Info,
                (_, 0, _) => Grade::Pass,
                (_, _, Level::Must) => Grade::Fail,
                _ => Grade::Warn,
            };
            RuleResult {
                rule,
                grade,
                checked,
                broken,
                first,
            }
        })
        .collect()
}

/// One rule on one response: `None` where it does not apply or cannot be
/// told, else what the rule's check found, the status code first.
///
/// `content-length` as a rule judges the response's own framing only: what
/// followed the body on the connection (an answer to bytes the server took
/// for another request) is the business of the case that sent them, and a
/// body cut at this client's read limit cannot be measured.
fn check_response(
    rule: &Rule,
    response: &Response,
    context: &Context<'_>,
) -> Option<Result<(), String>> {
    let verdict = if rule.check == Check::ContentLength {
        if response.body_end == BodyEnd::Truncated {
            return None;
        }
        let mut own = response.clone();
        own.after = None;
        run_check(rule.check, &own, context)?
    } else {
        run_check(rule.check, response, context)?
    };
    Some(verdict.map_err(|problem| match response.reason_bytes() {
        [] => format!("{}: {problem}", response.code),
        reason => format!(
            "{} {}: {problem}",
            response.code,
            escape::terminal_bytes(reason)
        ),
    }))
}

impl RuleResult {
    /// `N of M responses broke it, first in: a, b` or `M responses`.
    pub fn counts(&self) -> String {
        let responses = |n: usize| match n {
            1 => "1 response".to_string(),
            n => format!("{n} responses"),
        };
        if self.checked == 0 {
            return "no response it applies to was read".to_string();
        }
        if self.broken == 0 {
            return format!("held on {}", responses(self.checked));
        }
        let cases: Vec<&str> = self.first.iter().map(|b| b.case.as_str()).collect();
        format!(
            "{} of {} broke it, first in: {}",
            self.broken,
            responses(self.checked),
            cases.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{parse_case, Case};
    use crate::run::StepResult;
    use crate::verdict::test_support::{ok, response, DATE};
    use crate::wire::Exchange;
    use std::time::Duration;

    fn case(id: &str) -> Case {
        let text = format!(
            "id = \"{id}\"\ntitle = \"T\"\ngroup = \"host\"\nrfc = \"RFC 9112 §3.2\"\n\
             url = \"https://www.rfc-editor.org/rfc/rfc9112#section-3.2\"\nquote = \"Q.\"\n\
             level = \"must\"\nexplain = \"E.\"\nrequest = 'GET / HTTP/1.1\\r\\n\\r\\n'\n\
             [expect]\npass = [\"400\"]\n"
        );
        parse_case(id, &text).unwrap()
    }

    fn result(case: &Case, outcome: Outcome) -> CaseResult<'_> {
        CaseResult {
            case,
            grade: Grade::Pass,
            steps: vec![StepResult {
                sent: None,
                exchange: Exchange {
                    outcome: Some(outcome),
                    ..Exchange::default()
                },
                verdict: None,
            }],
            skipped: None,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn every_rule_then_its_own_check_once() {
        for rule in &RULES {
            assert_eq!(Rule::of_check(rule.check), Some(rule));
            assert_eq!(Rule::find(rule.id), Some(rule));
            assert_eq!(rule.id, format!("rule:{}", rule.check));
        }
    }

    #[test]
    fn a_400_without_date_then_the_date_rule_fails_once_with_the_case() {
        let (a, b) = (case("rfc9112-3.2-a"), case("rfc9112-3.2-b"));
        let with_head = |code, fields: &[(&str, &str)]| {
            let mut r = response(code, fields);
            r.head = format!("HTTP/1.1 {code} {}\r\n\r\n", r.reason).into_bytes();
            ok(r)
        };
        let results = [
            result(&a, with_head(400, &[("Content-Length", "0")])),
            result(
                &b,
                with_head(200, &[("Date", DATE), ("Content-Length", "0")]),
            ),
        ];
        let rules = check_rules(&results);
        let date = &rules[0];
        assert_eq!(
            (date.rule.id, date.grade, date.checked, date.broken),
            ("rule:date", Grade::Fail, 2, 1)
        );
        assert_eq!(
            date.first,
            [Breach {
                case: "rfc9112-3.2-a".into(),
                problem: "400 Bad Request: no Date header".into()
            }]
        );
        assert_eq!(
            date.counts(),
            "1 of 2 responses broke it, first in: rfc9112-3.2-a"
        );
        let held: Vec<(&str, Grade, String)> = rules[1..]
            .iter()
            .map(|r| (r.rule.id, r.grade, r.counts()))
            .collect();
        assert_eq!(
            held,
            [
                (
                    "rule:content-length",
                    Grade::Pass,
                    "held on 2 responses".into()
                ),
                ("rule:status-sp", Grade::Pass, "held on 2 responses".into()),
                (
                    "rule:reason-phrase",
                    Grade::Pass,
                    "held on 2 responses".into()
                ),
                (
                    "rule:field-value",
                    Grade::Pass,
                    "held on 2 responses".into()
                ),
            ]
        );
    }

    #[test]
    fn bytes_after_the_body_or_a_cut_body_then_content_length_rule_not_broken() {
        use crate::verdict::test_support::{after, with_body};
        use crate::wire::AfterEnd;
        let a = case("rfc9112-3.2-a");
        let head = |mut r: Response| {
            r.head = format!("HTTP/1.1 {} {}\r\n\r\n", r.code, r.reason).into_bytes();
            r
        };
        let fields = [("Date", DATE), ("Content-Length", "6")];
        let mut followed = with_body(head(response(200, &fields)), 6, 6, BodyEnd::Complete);
        followed.after = after(47, AfterEnd::Closed);
        let cut = with_body(head(response(200, &fields)), 6, 3, BodyEnd::Truncated);
        let short = with_body(head(response(200, &fields)), 6, 3, BodyEnd::Closed);
        let results = [
            result(&a, ok(followed)),
            result(&a, ok(cut)),
            result(&a, ok(short)),
        ];
        let rule = &check_rules(&results)[1];
        assert_eq!(
            (
                rule.rule.id,
                rule.checked,
                rule.broken,
                rule.first[0].problem.as_str()
            ),
            (
                "rule:content-length",
                2,
                1,
                "200 OK: Content-Length: 6, but 3 bytes arrived before the server closed"
            )
        );
    }

    #[test]
    fn no_response_then_every_rule_info() {
        let a = case("rfc9112-3.2-a");
        let results = [result(&a, Outcome::Closed)];
        let grades: Vec<Grade> = check_rules(&results).iter().map(|r| r.grade).collect();
        assert_eq!(grades, [Grade::Info; 5]);
    }
}
