//! The fields a proxy handles itself, in both directions: the hop-by-hop
//! ones it removes, the framing it replaces with its own, and `Via`.

use crate::parse::{trim_ows, Field, Version};

/// Fields that describe one connection, removed whether or not the
/// Connection field lists them.
///
/// RFC 9110 §7.6.1: "intermediaries SHOULD remove or replace fields that
/// are known to require removal before forwarding, whether or not they
/// appear as a connection-option, after applying those fields' semantics.
/// This includes but is not limited to: Proxy-Connection, Keep-Alive, TE,
/// Transfer-Encoding, Upgrade".
const HOP_BY_HOP: [&str; 6] = [
    "Connection",
    "Proxy-Connection",
    "Keep-Alive",
    "TE",
    "Transfer-Encoding",
    "Upgrade",
];

/// The fields a forwarded message keeps, in the order received.
///
/// RFC 9110 §7.6.1: "Intermediaries MUST parse a received Connection header
/// field before a message is forwarded and, for each connection-option in
/// this field, remove any header or trailer field(s) from the message with
/// the same name as the connection-option, and then remove the Connection
/// header field itself". The fields above go too, and `Content-Length`,
/// which the proxy writes for the framing it sends. `Host` is kept even
/// when listed ("A sender MUST NOT send a connection option corresponding
/// to a field that is intended for all recipients"): the next hop needs it.
/// Everything else is forwarded: "Intermediaries are expected to forward
/// messages even when protocol elements are not recognized (e.g., new
/// methods, status codes, or field names)" (§7.6), and §5.3 asks that the
/// order of field lines with the same name be kept.
pub(super) fn end_to_end<'f, 'b>(fields: &'f [Field<'b>]) -> impl Iterator<Item = &'f Field<'b>> {
    let options = connection_options(fields);
    fields.iter().filter(move |field| {
        let name = field.name;
        let listed = options
            .iter()
            .any(|o| o.eq_ignore_ascii_case(name.as_bytes()));
        !(HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name))
            || name.eq_ignore_ascii_case("Content-Length")
            || listed && !name.eq_ignore_ascii_case("Host"))
    })
}

/// `Connection = #connection-option` (RFC 9110 §7.6.1): every option of
/// every Connection line, empty list elements dropped.
fn connection_options<'b>(fields: &[Field<'b>]) -> Vec<&'b [u8]> {
    fields
        .iter()
        .filter(|f| f.name.eq_ignore_ascii_case("Connection"))
        .flat_map(|f| f.value.split(|&b| b == b','))
        .map(trim_ows)
        .filter(|o| !o.is_empty())
        .collect()
}

/// Whether the Connection fields carry the `close` option.
pub(super) fn asks_close(fields: &[Field<'_>]) -> bool {
    connection_options(fields)
        .iter()
        .any(|o| o.eq_ignore_ascii_case(b"close"))
}

/// The member this proxy appends to `Via` for a message received with
/// `version`: `received-protocol RWS received-by`, the protocol-name left
/// out since it is HTTP (RFC 9110 §7.6.3: "For brevity, the protocol-name
/// is omitted when the received protocol is HTTP").
pub(super) fn via(version: Version, received_by: &str) -> String {
    format!("{}.{} {received_by}", version.major, version.minor)
}

/// Whether a `Via` already names `received_by`: the message has passed
/// through this proxy before.
pub(super) fn has_passed(fields: &[Field<'_>], received_by: &str) -> bool {
    fields
        .iter()
        .filter(|f| f.name.eq_ignore_ascii_case("Via"))
        .flat_map(|f| f.value.split(|&b| b == b','))
        .filter_map(|member| {
            let mut words = trim_ows(member)
                .split(|&b| b == b' ' || b == b'\t')
                .filter(|w| !w.is_empty());
            words.nth(1)
        })
        .any(|by| by.eq_ignore_ascii_case(received_by.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'b>(name: &'b str, value: &'b str) -> Field<'b> {
        Field {
            name,
            value: value.as_bytes(),
        }
    }

    #[test]
    fn hop_by_hop_and_listed_fields_are_removed_the_rest_kept_in_order() {
        let fields = [
            field("Host", "a"),
            field("connection", "X-Hop, , host"),
            field("X-Hop", "1"),
            field("Keep-Alive", "timeout=5"),
            field("X-End", "1"),
            field("Content-Length", "3"),
            field("te", "trailers"),
            field("Upgrade", "h2c"),
            field("Proxy-Connection", "keep-alive"),
            field("Transfer-Encoding", "chunked"),
            field("X-End", "2"),
        ];
        let kept: Vec<&str> = end_to_end(&fields).map(|f| f.name).collect();
        assert_eq!(kept, vec!["Host", "X-End", "X-End"]);
    }

    #[test]
    fn close_is_an_option_among_others() {
        assert!(asks_close(&[field("Connection", "keep-alive, Close")]));
        assert!(!asks_close(&[field("Connection", "closed")]));
    }

    #[test]
    fn via_names_the_received_version_and_a_loop_is_seen() {
        assert_eq!(
            via(Version { major: 1, minor: 0 }, "http-server:80"),
            "1.0 http-server:80"
        );
        let fields = [
            field("Via", "1.0 fred, 1.1 p.example.net (comment)"),
            field("Via", "HTTP/1.1 http-server:8080"),
        ];
        assert!(has_passed(&fields, "p.example.net"));
        assert!(has_passed(&fields, "http-server:8080"));
        assert!(!has_passed(&fields, "http-server:8081"));
        assert!(!has_passed(&fields, "1.0"));
    }
}
