//! What the origin records: every connection the front opens, byte for
//! byte and bounded, and every request read on it, told apart by its
//! case's token; and the recording of one case, taken out when the case is
//! done. The store is shared by the origin's threads ([`Shared`]); the
//! origin ([`super::origin`]) accepts and reads the connections, and
//! [`super::answer`] answers the requests.

use super::message::Head;
use super::model::Script;
use server::respond::Responder;
use std::collections::{BTreeMap, HashMap};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::AtomicBool;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The most bytes the origin records from one connection.
pub const RECORD_LIMIT: usize = 1024 * 1024;

/// Every case's requests start with this path, then the case's token.
pub const PATH_PREFIX: &str = "/conformance-chain/";

/// The field that names a request's case when its target cannot: a
/// request-target of `*` (RFC 9112 §3.2.4) has no path. Its value holds
/// the case's path (`{path}`).
pub const CASE_FIELD: &str = "X-Conformance-Case";

/// One request the origin read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// The connection it came on, counted from 1 in the order accepted.
    pub connection: usize,
    /// Its number among the requests of its case, from 1: what its answer's
    /// mark says.
    pub index: usize,
    /// The case token in its target, if any.
    pub token: Option<String>,
    /// Its head, as read.
    pub head: Head,
    /// Its body bytes as they arrived, once read to the end.
    pub body: Option<Vec<u8>>,
    /// Why its body could not be framed, if it could not.
    pub framing_error: Option<String>,
}

/// What the origin recorded for one case: its requests, and every byte of
/// each connection that carried one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recording {
    /// The case's requests, in the order they arrived.
    pub arrivals: Vec<Arrival>,
    /// (connection number, every byte it carried, up to [`RECORD_LIMIT`]).
    pub connections: Vec<(usize, Vec<u8>)>,
}

/// One connection the front opened.
#[derive(Default)]
pub(super) struct Connection {
    /// Every byte it carried, up to [`RECORD_LIMIT`].
    pub(super) bytes: Vec<u8>,
    /// The tokens of the cases whose requests it carried.
    pub(super) tokens: Vec<String>,
    /// When a byte last came or went on it, or it closed.
    pub(super) last: Option<Instant>,
    /// A handle to it while it is open, to shut it when the origin stops.
    pub(super) stream: Option<TcpStream>,
}

/// Everything the origin recorded, and the scripts it answers by.
#[derive(Default)]
pub(super) struct State {
    /// Each running case's script, by its token.
    pub(super) scripts: HashMap<String, Script>,
    /// The requests not yet taken, by a number that stays theirs.
    pub(super) arrivals: BTreeMap<usize, Arrival>,
    /// How many requests arrived in all: the next one's number.
    pub(super) arrived: usize,
    /// Every connection accepted, in order: connection N at N - 1.
    pub(super) connections: Vec<Connection>,
    /// The head of the answer each request got, by its number (an origin
    /// serving a docroot).
    pub(super) answers: HashMap<usize, Vec<u8>>,
}

/// The store as the origin's threads share it.
pub(super) struct Shared {
    pub(super) state: Mutex<State>,
    /// Notified when bytes come or go on a connection, or it closes.
    pub(super) changed: Condvar,
    /// Set when the origin is dropped: the accepting thread then ends.
    pub(super) stop: AtomicBool,
    /// The reference server's answers from a docroot, for every request
    /// (`chain --catalogue`), and the read timeout; `None`: each case's
    /// script answers.
    pub(super) root: Option<(Responder, Duration)>,
}

impl Shared {
    /// The state, locked.
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic on a connection thread leaves the state as it was: go on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// What was recorded for `token` ([`Origin::take`](super::origin::Origin::take));
    /// its script and its requests are dropped.
    pub(super) fn take(&mut self, token: &str) -> Recording {
        self.scripts.remove(token);
        let places: Vec<usize> = self
            .arrivals
            .iter()
            .filter(|(_, a)| a.token.as_deref() == Some(token))
            .map(|(place, _)| *place)
            .collect();
        let arrivals: Vec<Arrival> = places
            .iter()
            .filter_map(|place| self.arrivals.remove(place))
            .collect();
        let connections = self
            .connections
            .iter()
            .enumerate()
            .filter(|(_, c)| c.tokens.iter().any(|t| t == token))
            .map(|(i, c)| (i + 1, c.bytes.clone()))
            .collect();
        Recording {
            arrivals,
            connections,
        }
    }

    /// What was recorded for one case of an origin serving a docroot
    /// ([`Origin::take_named`](super::origin::Origin::take_named)).
    pub(super) fn take_named(
        &mut self,
        token: &str,
        named: &[usize],
        in_content: &dyn Fn(&Arrival) -> bool,
    ) -> Taken {
        let claimed = |place: &usize, a: &Arrival| {
            a.token.as_deref() == Some(token) || (a.token.is_none() && named.contains(place))
        };
        let lines: Vec<usize> = (self.arrivals.iter())
            .filter(|(place, a)| claimed(place, a))
            .map(|(_, a)| a.connection)
            .collect();
        let places: Vec<usize> = (self.arrivals.iter())
            .filter(|(place, a)| {
                claimed(place, a)
                    || (a.token.is_none() && lines.contains(&a.connection) && in_content(a))
            })
            .map(|(place, _)| *place)
            .collect();
        let mut arrivals = Vec::new();
        let mut answers = Vec::new();
        for place in &places {
            if let Some(arrival) = self.arrivals.remove(place) {
                arrivals.push(arrival);
                answers.push(self.answers.remove(place));
            }
        }
        let mut numbers: Vec<usize> = arrivals.iter().map(|a| a.connection).collect();
        numbers.extend(
            self.connections
                .iter()
                .enumerate()
                .filter(|(_, c)| c.tokens.iter().any(|t| t == token))
                .map(|(i, _)| i + 1),
        );
        numbers.sort_unstable();
        numbers.dedup();
        let connections = numbers
            .into_iter()
            .map(|n| (n, self.connections[n - 1].bytes.clone()))
            .collect();
        Taken {
            recording: Recording {
                arrivals,
                connections,
            },
            places,
            answers,
        }
    }
}

/// What an origin serving a docroot recorded for one case
/// ([`Origin::take_named`](super::origin::Origin::take_named)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Taken {
    /// The case's requests and the connections that carried them.
    pub recording: Recording,
    /// Each request's number among all the origin read (what `untagged N`
    /// names), in the order of `recording.arrivals`.
    pub places: Vec<usize>,
    /// The head of the origin's answer to each request, if it answered.
    pub answers: Vec<Option<Vec<u8>>>,
}

/// The token in a request-target: the path segment after [`PATH_PREFIX`],
/// in origin-form or absolute-form.
pub fn token_of(target: &str) -> Option<String> {
    let at = target.find(PATH_PREFIX)? + PATH_PREFIX.len();
    let token: String = target[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    (!token.is_empty()).then_some(token)
}

/// `target` with the case's token taken out (`/conformance-chain/TOKEN/x`
/// is `/x`): the path an origin serving a docroot answers.
pub fn untokened(target: &str) -> String {
    match token_of(target) {
        Some(token) => target.replace(&format!("{PATH_PREFIX}{token}"), ""),
        None => target.to_string(),
    }
}

/// Notes that connection `number` is done with, and closes it.
pub(super) fn closed(shared: &Shared, number: usize, stream: &TcpStream) {
    let mut state = shared.lock();
    let connection = &mut state.connections[number - 1];
    connection.stream = None;
    connection.last = Some(Instant::now());
    drop(state);
    shared.changed.notify_all();
    let _ = stream.shutdown(Shutdown::Both);
}

/// Records bytes that came on connection `number`; false once it has
/// carried [`RECORD_LIMIT`] bytes.
pub(super) fn record(shared: &Shared, number: usize, bytes: &[u8]) -> bool {
    let mut state = shared.lock();
    let connection = &mut state.connections[number - 1];
    connection.last = Some(Instant::now());
    let room = RECORD_LIMIT.saturating_sub(connection.bytes.len());
    connection
        .bytes
        .extend_from_slice(&bytes[..bytes.len().min(room)]);
    drop(state);
    shared.changed.notify_all();
    bytes.len() <= room
}

/// Records a request head; returns its place among all arrivals.
pub(super) fn arrive(
    shared: &Shared,
    number: usize,
    head: Head,
    framing: Option<&String>,
) -> usize {
    let token = token_of(&head.target).or_else(|| {
        head.values(CASE_FIELD)
            .find_map(|v| token_of(&String::from_utf8_lossy(v)))
    });
    let mut state = shared.lock();
    let index = 1 + state
        .arrivals
        .values()
        .filter(|a| a.token.is_some() && a.token == token)
        .count();
    if let Some(token) = &token {
        let tokens = &mut state.connections[number - 1].tokens;
        if !tokens.contains(token) {
            tokens.push(token.clone());
        }
    }
    let place = state.arrived;
    state.arrived += 1;
    state.arrivals.insert(
        place,
        Arrival {
            connection: number,
            index,
            token,
            head,
            body: None,
            framing_error: framing.cloned(),
        },
    );
    place
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_then_from_origin_and_absolute_form() {
        assert_eq!(
            token_of("/conformance-chain/ab12/x?y").as_deref(),
            Some("ab12")
        );
        assert_eq!(
            token_of("http://h/conformance-chain/ab12").as_deref(),
            Some("ab12")
        );
        assert_eq!(token_of("/other"), None);
    }
}
