//! The request scanner: which method each request sent on a connection
//! has, so its response is delimited right.

/// How many request methods are remembered per connection.
const MAX_TRACKED_REQUESTS: usize = 1024;

/// Finds the method of each request in the bytes sent on a connection, so
/// that a response to HEAD is read without a body (RFC 9112 §6.3 rule 1)
/// even when requests are pipelined or fragmented across steps.
///
/// A request is taken to start at the first byte and after each blank line;
/// its method is its first token. Request bodies are not understood, which
/// only matters for a case that pipelines a HEAD behind a body.
#[derive(Default)]
pub(super) struct MethodScanner {
    state: ScanState,
    token: Vec<u8>,
    methods: Vec<String>,
}

#[derive(Default, Clone, Copy)]
enum ScanState {
    /// Before a request: skipping empty lines (RFC 9112 §2.2).
    #[default]
    Start,
    /// Reading the method token.
    Method,
    /// Inside the head; `true` when the current line has content.
    Head(bool),
}

/// Methods longer than this are not methods we need to recognise.
const MAX_METHOD_LEN: usize = 16;

impl MethodScanner {
    pub(super) fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.state = match (self.state, b) {
                (ScanState::Start, b'\r' | b'\n') => ScanState::Start,
                (ScanState::Start, _) => {
                    self.token.clear();
                    self.token.push(b);
                    ScanState::Method
                }
                (ScanState::Method, b' ' | b'\t' | b'\r' | b'\n') => {
                    if self.methods.len() < MAX_TRACKED_REQUESTS {
                        self.methods
                            .push(String::from_utf8_lossy(&self.token).into_owned());
                    }
                    ScanState::Head(b != b'\n')
                }
                (ScanState::Method, _) => {
                    if self.token.len() < MAX_METHOD_LEN {
                        self.token.push(b);
                    }
                    ScanState::Method
                }
                (ScanState::Head(false), b'\n') => ScanState::Start,
                (ScanState::Head(true), b'\n') => ScanState::Head(false),
                (ScanState::Head(has), b'\r') => ScanState::Head(has),
                (ScanState::Head(_), _) => ScanState::Head(true),
            };
        }
    }

    /// The method of the `index`-th request (0-based), or of the last one
    /// seen if fewer were sent (or of the one still being sent).
    pub(super) fn method(&self, index: usize) -> Option<&str> {
        if let Some(m) = self.methods.get(index) {
            return Some(m);
        }
        if let ScanState::Method = self.state {
            return std::str::from_utf8(&self.token).ok();
        }
        self.methods.last().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelined_methods_then_each_found() {
        let mut scanner = MethodScanner::default();
        scanner.feed(b"\r\nHEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n");
        scanner.feed(b"Host: a\r\n\r\n");
        assert_eq!(scanner.method(0), Some("HEAD"));
        assert_eq!(scanner.method(1), Some("GET"));
        assert_eq!(scanner.method(2), Some("GET"));
    }

    #[test]
    fn method_split_across_sends_then_joined() {
        let mut scanner = MethodScanner::default();
        scanner.feed(b"HE");
        assert_eq!(scanner.method(0), Some("HE"));
        scanner.feed(b"AD / HTTP/1.1\r\n");
        assert_eq!(scanner.method(0), Some("HEAD"));
    }
}
