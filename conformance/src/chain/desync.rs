//! Desync without timing: what the client sent, split into the requests
//! it meant (a message ends after the longest body its own framing fields
//! give it), set beside the requests the origin read and the marks on the
//! answers the client got. Where they disagree — content arriving as a
//! request, one request forwarded twice, an answer that belongs to another
//! request or to none — the finding is the pair's, with the exact bytes on
//! both sides. An idempotent request that arrives again on a new connection
//! is a retry (RFC 9110 §9.2.2), not a desync.

use super::message::{body_end, content_length, read_request, BodyEnd, Framing, Read};
use super::model::{Evidence, Finding, Hop};
use super::origin::{mark_of, Recording, MARK_FIELD, UNSOLICITED};
use crate::escape;
use crate::verdict::Grade;
use crate::wire::Response;

/// One request as the client meant it: where it starts, where its head and
/// its content end in the client's bytes, and its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// Its request-line.
    pub line: Vec<u8>,
    /// Its request-target.
    pub target: String,
    /// Where its head ends in the client's bytes.
    pub head_end: usize,
    /// Where its content ends: after the longer of what its Content-Length
    /// and its chunked framing give it.
    pub content_end: usize,
    /// How its content was framed, for people: `Content-Length: 49`.
    pub framing: String,
}

impl Sent {
    /// Whether a request that arrived with `target` is this one: the same
    /// target, or, for an absolute-form target, the origin-form a proxy
    /// forwards it in (RFC 9112 §3.2.1, §3.2.4: an empty path becomes `/`,
    /// or `*` for OPTIONS).
    pub fn forwards_as(&self, target: &str) -> bool {
        self.target == target || origin_form(&self.line, &self.target).as_deref() == Some(target)
    }
}

/// The origin-form of an absolute-form `target` in a request whose line is
/// `line`; `None` for any other form.
fn origin_form(line: &[u8], target: &str) -> Option<String> {
    let scheme = ["http://", "https://"].into_iter().find(|s| {
        target
            .get(..s.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(s))
    })?;
    let rest = &target[scheme.len()..];
    let path = &rest[rest.find(['/', '?']).unwrap_or(rest.len())..];
    Some(match path {
        "" if line.starts_with(b"OPTIONS ") => "*".to_string(),
        "" => "/".to_string(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_string(),
    })
}

/// The client's bytes split into the requests it meant.
pub fn client_view(bytes: &[u8]) -> Vec<Sent> {
    let mut sent = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let Read::Head(head, len) = read_request(&bytes[pos..]) else {
            break;
        };
        let head_end = pos + len;
        let rest = &bytes[head_end..];
        let mut ends = vec![head_end];
        let mut framing = Vec::new();
        if let Ok(Some(n)) = content_length(&head) {
            ends.push(head_end.saturating_add(usize::try_from(n).unwrap_or(usize::MAX)));
            framing.push(format!("Content-Length: {n}"));
        }
        if head
            .members("transfer-encoding")
            .last()
            .is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"))
        {
            if let BodyEnd::At(n) = body_end(Framing::Chunked, rest) {
                ends.push(head_end + n);
            }
            framing.push("chunked".to_string());
        }
        let content_end = ends.into_iter().max().unwrap_or(head_end).min(bytes.len());
        sent.push(Sent {
            line: head.start_line().to_vec(),
            target: head.target,
            head_end,
            content_end,
            framing: framing.join(" and "),
        });
        pos = content_end.max(pos + 1);
    }
    sent
}

/// The pair findings of one case: `sent` is every byte the client wrote on
/// its connection, `responses` the final responses it read in order,
/// `recording` what the origin read for the case, `grade` what a finding
/// is graded.
pub fn find_desync(
    token: &str,
    sent: &[u8],
    responses: &[&Response],
    recording: &Recording,
    grade: Grade,
) -> Vec<Finding> {
    let view = client_view(sent);
    let mut findings = Vec::new();
    let evidence = |connection: usize| {
        let mut evidence = vec![Evidence {
            label: "client sent".into(),
            bytes: sent.to_vec(),
        }];
        if let Some((n, bytes)) = recording.connections.iter().find(|(n, _)| *n == connection) {
            evidence.push(Evidence {
                label: format!("origin received (connection {n})"),
                bytes: bytes.clone(),
            });
        }
        evidence
    };
    // Which request of the client each arrival is: its place in `view`.
    let mut matched: Vec<Option<usize>> = Vec::new();
    let mut used = vec![false; view.len()];
    for arrival in &recording.arrivals {
        let line = escape::encode(arrival.head.start_line());
        let target = arrival.head.target.as_str();
        let free = (0..view.len()).find(|&i| !used[i] && view[i].forwards_as(target));
        if let Some(i) = free {
            used[i] = true;
            matched.push(Some(i));
            continue;
        }
        if let Some(i) = retried(recording, &matched, arrival) {
            // The same request again on a new connection: a retry, which
            // RFC 9110 §9.2.2 allows for an idempotent method; its answer
            // is the answer to the client's request.
            matched.push(Some(i));
            continue;
        }
        matched.push(None);
        let what = if view.iter().any(|s| s.forwards_as(target)) {
            format!(
                "the origin received {line} once more than the client sent it: one request \
                 forwarded twice"
            )
        } else if let Some(carrier) = find_in_content(sent, &view, &arrival.head.target) {
            format!(
                "bytes the client sent as the content of {} ({}) arrived at the origin as a \
                 request: {line}",
                escape::encode(&carrier.line),
                carrier.framing
            )
        } else {
            continue;
        };
        findings.push(Finding {
            hop: Hop::Pair,
            grade,
            what,
            evidence: evidence(arrival.connection),
        });
    }
    for (k, response) in responses.iter().enumerate() {
        let Some(mark) = mark_of(response) else {
            continue;
        };
        let mark = mark.as_str();
        let asked = view
            .get(k)
            .map_or_else(|| "no request".to_string(), |s| escape::encode(&s.line));
        let (mark_token, index) = mark.split_once(' ').unwrap_or((mark, ""));
        let what = if mark_token != token {
            format!(
                "the answer read for {asked} is the origin's answer to another case's request \
                 ({MARK_FIELD}: {})",
                escape::encode(mark.as_bytes())
            )
        } else if index == UNSOLICITED {
            format!(
                "the answer read for {asked} is bytes the origin sent after its answer, which no \
                 request asked for"
            )
        } else {
            let place = recording
                .arrivals
                .iter()
                .position(|a| a.index.to_string() == index);
            match place.map(|p| (p, matched[p])) {
                Some((_, Some(i))) if i == k => continue,
                // The answer to a second copy of this very request: the
                // copy is the finding ("forwarded twice"), not the answer.
                Some((p, None))
                    if view
                        .get(k)
                        .is_some_and(|s| s.forwards_as(&recording.arrivals[p].head.target)) =>
                {
                    continue
                }
                Some((p, _)) => format!(
                    "the answer read for {asked} is the origin's answer to {}",
                    escape::encode(recording.arrivals[p].head.start_line())
                ),
                None => continue,
            }
        };
        let connection = recording.arrivals.first().map_or(0, |a| a.connection);
        let mut evidence = evidence(connection);
        evidence.push(Evidence {
            label: format!("client received (answer {})", k + 1),
            bytes: response.head.clone(),
        });
        findings.push(Finding {
            hop: Hop::Pair,
            grade,
            what,
            evidence,
        });
    }
    findings
}

/// The methods RFC 9110 §9.2.2 calls idempotent (PUT, DELETE and the safe
/// ones), which "can be repeated automatically if a communication failure
/// occurs before the client is able to read the server's response".
const IDEMPOTENT: [&[u8]; 6] = [b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"PUT", b"DELETE"];

/// The client request `arrival` repeats, when it is a retry: an idempotent
/// request that arrived before, matched, on other connections only.
fn retried(
    recording: &Recording,
    matched: &[Option<usize>],
    arrival: &super::origin::Arrival,
) -> Option<usize> {
    let method = arrival.head.start_line().split(|&b| b == b' ').next()?;
    if !IDEMPOTENT.contains(&method) {
        return None;
    }
    let earlier: Vec<(usize, Option<usize>)> = recording
        .arrivals
        .iter()
        .zip(matched)
        .filter(|(a, _)| a.head.target == arrival.head.target)
        .map(|(a, m)| (a.connection, *m))
        .collect();
    if earlier.iter().any(|(c, _)| *c == arrival.connection) {
        return None;
    }
    earlier.iter().find_map(|(_, m)| *m)
}

/// The client request whose content holds `target` in `sent`.
pub(crate) fn find_in_content<'v>(sent: &[u8], view: &'v [Sent], target: &str) -> Option<&'v Sent> {
    let needle = target.as_bytes();
    if needle.is_empty() {
        return None;
    }
    (0..sent.len().saturating_sub(needle.len() - 1))
        .filter(|&at| sent[at..].starts_with(needle))
        .find_map(|at| view.iter().find(|s| s.head_end <= at && at < s.content_end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::origin::Arrival;

    const SMUGGLE: &[u8] =
        b"POST /conformance-chain/t/ HTTP/1.1\r\nHost: h\r\nContent-Length: 51\r\n\
Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /conformance-chain/t/smuggled HTTP/1.1\r\n\r\n";

    fn arrival(connection: usize, index: usize, bytes: &[u8]) -> Arrival {
        let Read::Head(head, _) = read_request(bytes) else {
            panic!("no head")
        };
        Arrival {
            connection,
            index,
            token: Some("t".into()),
            head,
            body: Some(Vec::new()),
            framing_error: None,
        }
    }

    fn answer(mark: &str) -> Response {
        Response {
            method: Some("GET".into()),
            version: "HTTP/1.1".into(),
            code: 200,
            reason: "OK".into(),
            headers: vec![(MARK_FIELD.to_string(), mark.to_string())],
            head: format!("HTTP/1.1 200 OK\r\n{MARK_FIELD}: {mark}\r\n\r\n").into_bytes(),
            interim: Vec::new(),
            framing: crate::wire::Framing::Length(0),
            body: Vec::new(),
            body_len: 0,
            body_end: crate::wire::BodyEnd::Complete,
            after: None,
        }
    }

    const A: &[u8] = b"GET /conformance-chain/t/a HTTP/1.1\r\n\r\n";
    const B: &[u8] = b"GET /conformance-chain/t/b HTTP/1.1\r\n\r\n";

    fn whats(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.what.as_str()).collect()
    }

    #[test]
    fn one_request_arriving_twice_on_one_connection_then_forwarded_twice() {
        let twice = [A, A].concat();
        let recording = Recording {
            arrivals: vec![arrival(2, 1, A), arrival(2, 2, A)],
            connections: vec![(2, twice)],
        };
        let findings = find_desync("t", A, &[&answer("t 1")], &recording, Grade::Fail);
        assert_eq!(
            whats(&findings),
            ["the origin received GET /conformance-chain/t/a HTTP/1.1 once more than the client \
              sent it: one request forwarded twice"]
        );
        let labels: Vec<&str> = findings[0]
            .evidence
            .iter()
            .map(|e| e.label.as_str())
            .collect();
        assert_eq!(labels, ["client sent", "origin received (connection 2)"]);
    }

    #[test]
    fn idempotent_request_again_on_a_new_connection_then_a_retry_not_a_desync() {
        let recording = Recording {
            arrivals: vec![arrival(1, 1, A), arrival(2, 2, A), arrival(3, 3, A)],
            connections: vec![(1, A.to_vec()), (2, A.to_vec()), (3, A.to_vec())],
        };
        // The client reads the answer to the last retry.
        let findings = find_desync("t", A, &[&answer("t 3")], &recording, Grade::Fail);
        assert_eq!(findings, []);
        const POST: &[u8] = b"POST /conformance-chain/t/a HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
        let recording = Recording {
            arrivals: vec![arrival(1, 1, POST), arrival(2, 2, POST)],
            connections: vec![(1, POST.to_vec()), (2, POST.to_vec())],
        };
        let findings = find_desync("t", POST, &[&answer("t 1")], &recording, Grade::Fail);
        assert_eq!(
            whats(&findings),
            [
                "the origin received POST /conformance-chain/t/a HTTP/1.1 once more than the \
              client sent it: one request forwarded twice"
            ]
        );
    }

    #[test]
    fn answers_crossed_then_each_named_and_another_case_named() {
        let sent = [A, B].concat();
        let recording = Recording {
            arrivals: vec![arrival(1, 1, A), arrival(1, 2, B)],
            connections: vec![(1, sent.clone())],
        };
        let (first, second) = (answer("t 2"), answer("u 1"));
        let findings = find_desync("t", &sent, &[&first, &second], &recording, Grade::Warn);
        assert_eq!(
            whats(&findings),
            [
                "the answer read for GET /conformance-chain/t/a HTTP/1.1 is the origin's answer \
                 to GET /conformance-chain/t/b HTTP/1.1",
                "the answer read for GET /conformance-chain/t/b HTTP/1.1 is the origin's answer \
                 to another case's request (X-Conformance-Origin: u 1)",
            ]
        );
        assert!(findings
            .iter()
            .all(|f| f.hop == Hop::Pair && f.grade == Grade::Warn));
        let in_order = find_desync(
            "t",
            &sent,
            &[&answer("t 1"), &answer("t 2")],
            &recording,
            Grade::Fail,
        );
        assert_eq!(in_order, []);
    }

    #[test]
    fn absolute_form_then_matched_in_origin_form() {
        let view = client_view(
            b"OPTIONS http://h HTTP/1.1\r\n\r\nGET http://h?q HTTP/1.1\r\n\r\n\
GET HTTP://h/conformance-chain/t/a HTTP/1.1\r\n\r\n",
        );
        let matches = |i: usize, target: &str| view[i].forwards_as(target);
        assert!(matches(0, "*") && matches(0, "http://h") && !matches(0, "/"));
        assert!(matches(1, "/?q") && !matches(1, "*"));
        assert!(matches(2, "/conformance-chain/t/a"));
        let recording = Recording {
            arrivals: vec![arrival(1, 1, b"OPTIONS * HTTP/1.1\r\n\r\n")],
            connections: Vec::new(),
        };
        let sent = b"OPTIONS http://h HTTP/1.1\r\n\r\n";
        assert_eq!(
            find_desync("t", sent, &[&answer("t 1")], &recording, Grade::Fail),
            []
        );
    }

    #[test]
    fn client_view_then_content_ends_after_the_longer_framing() {
        let view = client_view(SMUGGLE);
        assert_eq!(view.len(), 1);
        assert_eq!(view[0].content_end, SMUGGLE.len());
        assert_eq!(view[0].framing, "Content-Length: 51 and chunked");
        let two = client_view(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
        let targets: Vec<&str> = two.iter().map(|s| s.target.as_str()).collect();
        assert_eq!(targets, ["/a", "/b"]);
    }
}
