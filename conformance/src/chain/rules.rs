//! Checking one [`Rule`] on one message head: a request the origin
//! received, or a response the client read.

use super::message::{content_length, text, Head};
use super::model::Rule;
use crate::escape;
use crate::template::Values;

/// `Ok` when `head` satisfies `rule`, else what was wrong; `values` fill a
/// `target` rule's template. A peer's bytes in the message are escaped.
pub fn check_rule(rule: &Rule, head: &Head, values: &Values) -> Result<(), String> {
    let shown = |bytes: &[u8]| escape::encode(bytes);
    let joined = |name: &str| {
        let values: Vec<String> = head.values(name).map(shown).collect();
        values.join(", ")
    };
    let count = |name: &str| head.values(name).count();
    match rule {
        Rule::Present(name) if count(name) == 0 => Err(format!("no {name} field")),
        Rule::Absent(name) if count(name) > 0 => Err(format!("{name}: {} arrived", joined(name))),
        Rule::Count(name, want) if count(name) != *want => {
            Err(format!("{} {name} field lines, not {want}", count(name)))
        }
        Rule::Value(name, want) if count(name) == 0 => {
            Err(format!("no {name} field (wanted {want})"))
        }
        Rule::Value(name, want) if joined(name) != *want => {
            Err(format!("{name}: {} (wanted {want})", joined(name)))
        }
        Rule::ValueNot(name, value) if head.values(name).any(|v| v == value.as_bytes()) => {
            Err(format!("{name}: {value} arrived unchanged"))
        }
        Rule::Members(name, want) => {
            let got: Vec<String> = head.members(name).iter().map(|m| shown(m)).collect();
            if got == *want {
                Ok(())
            } else {
                Err(format!(
                    "{name} members in the order {} (sent in the order {})",
                    list(&got),
                    list(want)
                ))
            }
        }
        Rule::AtMost(name, most) => {
            let values: Vec<&[u8]> = head.values(name).collect();
            match values.as_slice() {
                [] => Err(format!("no {name} field (wanted at most {most})")),
                [value] if text(value).parse::<u64>().is_ok_and(|n| n <= *most) => Ok(()),
                _ => Err(format!("{name}: {} (wanted at most {most})", joined(name))),
            }
        }
        Rule::LacksOption(name, option) => {
            if head
                .members(name)
                .iter()
                .any(|m| m.eq_ignore_ascii_case(option.as_bytes()))
            {
                Err(format!("{name}: {} lists {option}", joined(name)))
            } else {
                Ok(())
            }
        }
        Rule::Version(want) if head.version != *want => Err(format!(
            "the start line says {}, not {want}",
            escape::encode(head.version.as_bytes())
        )),
        Rule::Target(template) => {
            let want = template.fill_known(values);
            if head.target.as_bytes() == want.as_slice() {
                Ok(())
            } else {
                Err(format!(
                    "the request-target {} arrived for {}",
                    escape::encode(head.target.as_bytes()),
                    escape::encode(&want)
                ))
            }
        }
        Rule::Unambiguous => {
            if count("content-length") > 0 && count("transfer-encoding") > 0 {
                Err(format!(
                    "both Content-Length: {} and Transfer-Encoding: {}",
                    joined("content-length"),
                    joined("transfer-encoding")
                ))
            } else {
                content_length(head)
                    .map(|_| ())
                    .map_err(|why| format!("{why}: Content-Length: {}", joined("content-length")))
            }
        }
        Rule::Strict => match &head.strict_error {
            Some(why) => Err(format!("the strict parser refuses it: {why}")),
            None => Ok(()),
        },
        Rule::Valid => {
            let lengths: Vec<&[u8]> = head.values("content-length").collect();
            if !lengths.is_empty() && count("transfer-encoding") > 0 {
                Err(format!(
                    "both Content-Length: {} and Transfer-Encoding: {}",
                    joined("content-length"),
                    joined("transfer-encoding")
                ))
            } else if lengths.len() > 1
                || lengths
                    .iter()
                    .any(|v| v.is_empty() || !v.iter().all(u8::is_ascii_digit))
            {
                Err(format!(
                    "Content-Length: {} is not one decimal value (1*DIGIT)",
                    joined("content-length")
                ))
            } else {
                Ok(())
            }
        }
        Rule::ConnectionOption(name) if count(name) > 0 => {
            if head
                .members("connection")
                .iter()
                .any(|m| m.eq_ignore_ascii_case(name.as_bytes()))
            {
                Ok(())
            } else {
                Err(match count("connection") {
                    0 => format!(
                        "{name}: {} arrived without a Connection field listing {name}",
                        joined(name)
                    ),
                    _ => format!(
                        "{name}: {} arrived, and Connection: {} does not list {name}",
                        joined(name),
                        joined("connection")
                    ),
                })
            }
        }
        Rule::StatusNot(code) if head.target == code.to_string() => Err(format!(
            "the status line says {}",
            escape::encode(head.start_line())
        )),
        _ => Ok(()),
    }
}

/// `Ok` when `content` (the message's content, chunked decoded; `None`
/// when it could not be read whole) satisfies a `content` or `content_not`
/// rule, else what was wrong; every other rule holds here.
pub fn check_content(rule: &Rule, content: Option<&[u8]>) -> Result<(), String> {
    match (rule, content) {
        (Rule::Content(want), Some(got)) if got != want.as_slice() => Err(format!(
            "the content is {} (wanted {})",
            escape::encode(got),
            escape::encode(want)
        )),
        (Rule::Content(want), None) => Err(format!(
            "the content did not arrive whole (wanted {})",
            escape::encode(want)
        )),
        (Rule::ContentNot(bytes), Some(got)) if got == bytes.as_slice() => {
            Err(format!("the content is {}", escape::encode(got)))
        }
        _ => Ok(()),
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::message::{read_request, Read};

    fn head(bytes: &[u8]) -> Head {
        match read_request(bytes) {
            Read::Head(head, _) => head,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rules_then_exact_problems() {
        let h = head(
            b"OPTIONS /p HTTP/1.1\r\nHost: h\r\nMax-Forwards: 5\r\nX-O: 2\r\nX-O: 1, 3\r\n\
              Connection: x-hop\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        let values = Values {
            path: "/p".into(),
            ..Values::default()
        };
        let check = |rule: Rule| check_rule(&rule, &h, &values);
        assert_eq!(
            check(Rule::Present("Via".into())),
            Err("no Via field".into())
        );
        assert_eq!(
            check(Rule::Absent("x-o".into())),
            Err("x-o: 2, 1, 3 arrived".into())
        );
        assert_eq!(
            check(Rule::Members(
                "X-O".into(),
                vec!["1".into(), "2".into(), "3".into()]
            )),
            Err("X-O members in the order 2, 1, 3 (sent in the order 1, 2, 3)".into())
        );
        assert_eq!(
            check(Rule::AtMost("Max-Forwards".into(), 4)),
            Err("Max-Forwards: 5 (wanted at most 4)".into())
        );
        assert_eq!(check(Rule::AtMost("Max-Forwards".into(), 5)), Ok(()));
        assert_eq!(
            check(Rule::LacksOption("Connection".into(), "X-Hop".into())),
            Err("Connection: x-hop lists X-Hop".into())
        );
        assert_eq!(
            check(Rule::Unambiguous),
            Err("both Content-Length: 0 and Transfer-Encoding: chunked".into())
        );
        let target = crate::escape::decode_template("{path}").unwrap();
        assert_eq!(check(Rule::Target(target)), Ok(()));
        assert_eq!(check(Rule::Strict), Ok(()));
        assert_eq!(check(Rule::Count("Host".into(), 1)), Ok(()));
        assert_eq!(
            check(Rule::Valid),
            Err("both Content-Length: 0 and Transfer-Encoding: chunked".into())
        );
        assert_eq!(check(Rule::ConnectionOption("TE".into())), Ok(()));
        assert_eq!(
            check(Rule::ConnectionOption("X-O".into())),
            Err("X-O: 2, 1, 3 arrived, and Connection: x-hop does not list X-O".into())
        );
        assert_eq!(check(Rule::StatusNot(421)), Ok(()));
    }

    #[test]
    fn framing_valid_status_and_content_then_exact_problems() {
        let lengths = head(b"POST /p HTTP/1.1\r\nContent-Length: 5, 5\r\nTE: trailers\r\n\r\n");
        let values = Values::default();
        assert_eq!(
            check_rule(&Rule::Valid, &lengths, &values),
            Err("Content-Length: 5, 5 is not one decimal value (1*DIGIT)".into())
        );
        assert_eq!(
            check_rule(&Rule::ConnectionOption("TE".into()), &lengths, &values),
            Err("TE: trailers arrived without a Connection field listing TE".into())
        );
        let response = match crate::chain::message::read_response(
            b"HTTP/1.1 421 Misdirected Request\r\nContent-Length: 0\r\n\r\n",
        ) {
            Read::Head(head, _) => head,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            check_rule(&Rule::StatusNot(421), &response, &values),
            Err("the status line says HTTP/1.1 421 Misdirected Request".into())
        );
        assert_eq!(check_rule(&Rule::Valid, &response, &values), Ok(()));
        let content = Rule::Content(b"a b".to_vec());
        assert_eq!(check_content(&content, Some(b"a b")), Ok(()));
        assert_eq!(
            check_content(&content, Some(b"ab")),
            Err("the content is ab (wanted a b)".into())
        );
        assert_eq!(
            check_content(&content, None),
            Err("the content did not arrive whole (wanted a b)".into())
        );
        let not = Rule::ContentNot(b"hello".to_vec());
        assert_eq!(
            check_content(&not, Some(b"hello")),
            Err("the content is hello".into())
        );
        assert_eq!(check_content(&not, None), Ok(()));
        assert_eq!(check_content(&Rule::Strict, None), Ok(()));
    }
}
