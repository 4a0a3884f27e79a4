//! One exchange: a request read, the handler's decision, the request's
//! content read past (or left unread), and the response written.

use std::time::{Instant, SystemTime};

use super::read::Fault;
use super::{Connection, Next, Stop};
use crate::handler::{compose, Answer};
use crate::parse::{self, parse_request, Status};
use crate::problem::Problem;
use crate::request::{self, Framing};
use crate::respond::{content_plan, Content};
use crate::response::Response;

/// Why a request head could not be read.
enum HeadFault {
    /// Answer this problem.
    Answer(Problem),
    /// End the connection without an answer.
    End,
    /// Nothing arrived yet: wait for it.
    Wait,
}

/// What a request's head said about its exchange, kept once the head's
/// bytes are gone.
struct Exchange {
    /// The request-line, for the access log (empty when none was parsed).
    line: String,
    /// A HEAD: the response has no content (RFC 9110 §9.3.2).
    head_only: bool,
    /// How the content is delimited, or the problem with its framing.
    framing: Result<Framing, Problem>,
    /// `Expect: 100-continue` (RFC 9110 §10.1.1).
    continues: bool,
    /// The variant and the request let the connection persist (RFC 9112 §9.3).
    persists: bool,
    /// The client may still be sending: content was left unread, so the
    /// connection closes after the response.
    unread: bool,
}

impl Exchange {
    /// An exchange whose head never parsed: nothing of it is known, and
    /// what the client sent is left unread.
    fn unparsed() -> Exchange {
        Exchange {
            line: String::new(),
            head_only: false,
            framing: Ok(Framing::Empty),
            continues: false,
            persists: false,
            unread: true,
        }
    }

    /// Whether the connection closes after `response`: the one place that
    /// decides it, from the request's persistence, content left unread, and
    /// the problem answered ([`Problem::closes`]).
    fn closes_after(&self, response: &Response) -> bool {
        !self.persists || self.unread || response.closes()
    }
}

impl Connection<'_> {
    /// Reads one request, from `since` on, and answers it: read → parse →
    /// check → resolve → respond. Returns what follows: another request,
    /// the close, or (nothing of a request having arrived) a wait for one.
    pub(super) fn exchange(&mut self, persistent: bool) -> Next {
        let deadline = self.since + self.ctx.read_timeout;
        let (head_len, mut exchange, answer) = match self.read_head(deadline, persistent) {
            Ok(read) => read,
            Err(HeadFault::Answer(problem)) => {
                return self.respond(Exchange::unparsed(), Err(problem))
            }
            Err(HeadFault::End) => return Next::Close,
            Err(HeadFault::Wait) => return Next::Wait,
        };
        self.buf.drain(..head_len);
        let answer = match self.read_content(&mut exchange, &answer, deadline) {
            Ok(()) => answer,
            Err(Some(problem)) => Err(problem),
            Err(None) => return Next::Close,
        };
        self.respond(exchange, answer)
    }

    /// Reads until the buffer starts with a complete request head, and
    /// decides its answer while the head is borrowed from the buffer (it is
    /// parsed once); returns the head's length, what it says about the
    /// exchange, and the answer; or the problem to answer instead.
    fn read_head(
        &mut self,
        deadline: Instant,
        persistent: bool,
    ) -> Result<(usize, Exchange, Answer), HeadFault> {
        loop {
            match parse_request(&self.buf) {
                Ok(Status::Complete((request, len))) => {
                    let exchange = self.parse(&request, persistent);
                    let answer =
                        self.ctx
                            .handler
                            .decide(&request, exchange.framing, SystemTime::now());
                    return Ok((len, exchange, answer));
                }
                Ok(Status::Partial) => {}
                Err(e) => return Err(HeadFault::Answer(Problem::Parse(e))),
            }
            let may_wait = self.buf.is_empty();
            match self.fill(deadline, may_wait) {
                Ok(()) => {}
                Err(Stop::Wait) => return Err(HeadFault::Wait),
                // RFC 9110 §15.5.9: 408 "indicates that the server did not
                // receive a complete request message within the time that it
                // was prepared to wait". An idle connection just closes.
                Err(Stop::Timeout) if !self.buf.is_empty() => {
                    return Err(HeadFault::Answer(Problem::Timeout))
                }
                Err(_) => return Err(HeadFault::End),
            }
        }
    }

    /// What the head says about the exchange besides its target.
    fn parse(&self, request: &parse::Request<'_>, persistent: bool) -> Exchange {
        let line = if self.ctx.quiet {
            String::new()
        } else {
            format!(
                "{} {} HTTP/{}.{}",
                request.method, request.target, request.version.major, request.version.minor
            )
        };
        Exchange {
            line,
            head_only: request.method == "HEAD",
            framing: request::framing(request),
            continues: request::expects_continue(request),
            persists: persistent && !request::wants_close(request),
            unread: false,
        }
    }

    /// Reads and drops the request's content, or leaves it unread and says
    /// so in `exchange`. `Err(Some)`: the problem to answer instead;
    /// `Err(None)`: the connection ends without an answer.
    fn read_content(
        &mut self,
        exchange: &mut Exchange,
        answer: &Answer,
        deadline: Instant,
    ) -> Result<(), Option<Problem>> {
        // RFC 9110 §10.1.1 (see `content_plan`): to a client waiting for a
        // 100 (Continue), the final status at once when the head alone
        // decides it, else the 100 and then the content. A final status
        // sent before the content: "A server that responds with a final
        // status code before reading the entire request content SHOULD
        // indicate whether it intends to close the connection (e.g., see
        // Section 9.6 of [HTTP/1.1]) or continue reading the request
        // content." This server closes, and says so with `Connection:
        // close`: the client may send the content or not, and waiting to find
        // out which would cost a read timeout. What it sends meanwhile is
        // drained on close.
        let framing = match content_plan(exchange.framing, exchange.continues, answer) {
            Content::Unread => {
                exchange.unread = true;
                return Ok(());
            }
            Content::Continue(framing) => {
                let interim = Response::new(100);
                if !matches!(self.write(&interim, false, false), Ok(true)) {
                    return Err(None);
                }
                framing
            }
            Content::Read(framing) => framing,
        };
        match self.discard_body(framing, deadline) {
            Ok(true) => Ok(()),
            Ok(false) => {
                exchange.unread = true;
                Ok(())
            }
            Err(fault) => {
                exchange.unread = true;
                match fault {
                    Fault::Bad(problem) => Err(Some(problem)),
                    Fault::Stop(Stop::Timeout) => Err(Some(Problem::Timeout)),
                    Fault::Stop(Stop::Closed | Stop::Wait) => Err(None),
                }
            }
        }
    }

    /// Composes the response, decides whether the connection closes after
    /// it, writes it and logs it. Returns whether the connection stays open
    /// for another request.
    fn respond(&mut self, exchange: Exchange, answer: Answer) -> Next {
        if exchange.unread {
            self.clean = false;
        }
        let mut response = compose(answer);
        loop {
            let close = exchange.closes_after(&response);
            match self.write(&response, exchange.head_only, close) {
                Ok(sent) => {
                    self.log(&exchange.line, response.code());
                    return if sent && !close {
                        Next::Again
                    } else {
                        Next::Close
                    };
                }
                // Nothing was written: the failure is answered instead.
                Err(problem) => response = Response::problem(problem),
            }
        }
    }

    fn log(&self, line: &str, code: u16) {
        if !self.ctx.quiet {
            let line = if line.is_empty() { "-" } else { line };
            match self.peer {
                Some(peer) => eprintln!("{peer} \"{line}\" {code}"),
                None => eprintln!("- \"{line}\" {code}"),
            }
        }
    }
}
