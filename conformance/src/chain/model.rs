//! What a chain case says (`fixtures/chain-cases/README.md`): the client's
//! side as a `run` case says it, the role of the front it binds, what the
//! origin answers, and what the origin must receive and the client must
//! read; and what a chain run finds, each finding naming its hop.

use crate::case::Case;
use crate::template::Template;
use crate::verdict::Grade;
use std::fmt;

/// The kind of intermediary a requirement binds (RFC 9110 §3.7).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Any intermediary: "intermediaries", "a recipient", "a proxy or
    /// gateway", or the front as the server its client talks to.
    Intermediary,
    /// "A proxy": a forwarding agent the client chose.
    Proxy,
    /// "A gateway" (reverse proxy): an origin server to its clients.
    Gateway,
    /// "A cache".
    Cache,
}

impl Role {
    /// Every role, in the README's order.
    pub const ALL: [Role; 4] = [Role::Intermediary, Role::Proxy, Role::Gateway, Role::Cache];

    /// The name used in case files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Intermediary => "intermediary",
            Role::Proxy => "proxy",
            Role::Gateway => "gateway",
            Role::Cache => "cache",
        }
    }

    /// The role called `name`.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One expectation on a message head: what the origin receives
/// (`[[origin.receives]]`) or what the client reads (`[[client.receives]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// `present = "Via"`: at least one field line of that name.
    Present(String),
    /// `absent = "Keep-Alive"`: no field line of that name.
    Absent(String),
    /// `count = { field = "Host", is = 1 }`: exactly that many lines.
    Count(String, usize),
    /// `value = { field = "X", is = "1" }`: the lines' values, combined
    /// with `, ` in order, are exactly this.
    Value(String, String),
    /// `value_not = { field = "X", is = "1" }`: no line has exactly this value.
    ValueNot(String, String),
    /// `members = { field = "X", are = ["1", "2"] }`: the comma-separated
    /// members of the lines, in order, are exactly these (field order).
    Members(String, Vec<String>),
    /// `at_most = { field = "Max-Forwards", is = 4 }`: one decimal value,
    /// no greater than this.
    AtMost(String, u64),
    /// `lacks_option = { field = "Connection", option = "x" }`: no member
    /// of the field is this option (case-insensitive).
    LacksOption(String, String),
    /// `version = "HTTP/1.1"`: the start line's version.
    Version(String),
    /// `target = '{path}/a?b'`: the request-target, exactly (origin only).
    Target(Template),
    /// `framing = "unambiguous"`: not both Content-Length and
    /// Transfer-Encoding, and every Content-Length value the same.
    Unambiguous,
    /// `strict = true`: the reference server's strict parser takes the head
    /// (no obs-fold, bare CR, whitespace before a colon, CTL in a value).
    Strict,
    /// `framing = "valid"`: no Content-Length beside Transfer-Encoding, and
    /// at most one Content-Length line, its value `1*DIGIT` (RFC 9110 §8.6).
    Valid,
    /// `connection_option = "TE"`: if a field of this name is there, the
    /// Connection field lists it as an option (case-insensitive).
    ConnectionOption(String),
    /// `content = 'bytes'`: the message's content (chunked decoded) is
    /// exactly these bytes.
    Content(Vec<u8>),
    /// `content_not = 'bytes'`: the message's content is not these bytes.
    ContentNot(Vec<u8>),
    /// `status_not = 421`: the response's status code is not this one
    /// (responses only).
    StatusNot(u16),
}

/// What the origin answers each request of the case, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    /// The bytes of the answer (a 1xx first if the case wants one), with
    /// `{mark}`, `{body}`, `{body-length}` and `{date}` filled in per answer.
    pub response: Vec<Piece>,
    /// Bytes written right after the answer, in the same write: an extra
    /// response no request asked for; `{mark}` there says `unsolicited`.
    pub after: Vec<Piece>,
    /// Close the connection after answering.
    pub close: bool,
    /// Answer nothing: keep reading until the front closes.
    pub hold: bool,
    /// The numbers of the case's requests (from 1, in the order they
    /// arrive) that the origin does not answer: it closes the connection
    /// instead.
    pub drop: Vec<usize>,
    /// Bytes written as soon as the head of a request with
    /// `Expect: 100-continue` and content arrives, before its content (a
    /// `100 Continue`); empty: nothing.
    pub continue_with: Vec<Piece>,
    /// The answer to a request that carries an `Upgrade` field, instead of
    /// `response`, the connection closed after it; empty: `response`.
    pub upgrade: Vec<Piece>,
}

/// One piece of an origin template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Bytes written as they are.
    Bytes(Vec<u8>),
    /// `{mark}`: the attribution fields, `X-Conformance-Origin: TOKEN N`
    /// and `Cache-Control: no-store`, each ending in CRLF.
    Mark,
    /// `{body}`: `origin TOKEN N` and LF, the answer's marked content.
    Body,
    /// `{body-length}`: the length of `{body}`.
    BodyLength,
    /// `{date}`: the current time as an IMF-fixdate.
    Date,
}

/// The origin's answer when a case scripts none.
pub const DEFAULT_RESPONSE: &str = "HTTP/1.1 200 OK\\r\\n{mark}Date: {date}\\r\\n\
Content-Type: text/plain\\r\\nContent-Length: {body-length}\\r\\n\\r\\n{body}";

/// The origin's side of a case: its answer, whether the request must reach
/// it, and what it must receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginSide {
    /// The scripted answer.
    pub script: Script,
    /// `Some(true)`: the request must reach the origin; `Some(false)`: it
    /// must not (the front answers itself); `None`: either.
    pub forwarded: Option<bool>,
    /// With `forwarded = Some(true)`: a final answer the front wrote itself
    /// stands in for the request reaching the origin (`forwarded =
    /// "unless-answered"`).
    pub unless_answered: bool,
    /// Rules on every request the origin receives for the case.
    pub receives: Vec<Rule>,
}

/// One chain case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCase {
    /// The client's side, as a `run` case: its id (`chain-rfc…`), the
    /// requirement, the steps and what each step must read.
    pub case: Case,
    /// The kind of intermediary the requirement binds.
    pub role: Role,
    /// Roles the requirement's sentence exempts (`exempt = ["cache"]`): a
    /// front taken for one of them (`--role`) skips the case.
    pub exempt: Vec<Role>,
    /// The origin's side.
    pub origin: OriginSide,
    /// Rules on every final response of the origin the client reads.
    pub client_receives: Vec<Rule>,
    /// Rules on every response the front wrote itself (`[[front.answers]]`).
    pub front_answers: Vec<Rule>,
}

/// Which hop a finding is about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Hop {
    /// The front answered, or changed what it forwarded, itself.
    Front,
    /// The front relayed the origin's answer.
    Origin,
    /// The front and the origin disagree on the messages: a desync.
    Pair,
}

impl Hop {
    /// The name reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            Hop::Front => "front",
            Hop::Origin => "origin",
            Hop::Pair => "pair",
        }
    }
}

impl fmt::Display for Hop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bytes shown with a finding, and whose they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// `client sent`, `origin received (connection 2)`, `client received`.
    pub label: String,
    /// The bytes, exactly.
    pub bytes: Vec<u8>,
}

/// One thing a chain case found wrong, at one hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The hop it is about.
    pub hop: Hop,
    /// Its grade: `fail` or `warn` by the case's level.
    pub grade: Grade,
    /// What was wrong, in one sentence (bytes from a peer escaped).
    pub what: String,
    /// The bytes on each side.
    pub evidence: Vec<Evidence>,
}
