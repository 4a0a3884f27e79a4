//! One client connection of the proxy, request after request: each read
//! and checked as the server checks it, answered by the proxy itself or
//! forwarded on a new upstream connection, and the origin's answer relayed
//! before the next request is read, so pipelined requests are answered in
//! order.

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use super::body::{transfer, Broken, Frame, Reframe};
use super::fields::{asks_close, has_passed};
use super::forward::{self, Forward, Target};
use super::relay::{self, Asked};
use super::wire::{Fill, Outbox, Wire};
use super::Settings;
use crate::limits::MAX_INTERIM_RESPONSES;
use crate::parse::{parse_request, parse_response, Request, Status};
use crate::problem::Problem;
use crate::request::{self, Framing};
use crate::response::{Body, Response};

/// What follows an exchange.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// The connection stays open for another request.
    Again,
    /// The connection closes; nothing is left unread.
    Close,
    /// The connection closes, and the client may still be sending:
    /// half-close and drain first.
    Linger,
}

/// Serves `stream` until it closes.
pub(super) fn serve(stream: &TcpStream, settings: &Settings, stopping: &AtomicBool) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(settings.read_timeout));
    let peer = if settings.quiet {
        None
    } else {
        stream.peer_addr().ok()
    };
    let mut conn = Conn {
        client: Wire::new(stream),
        settings,
        peer,
    };
    loop {
        match conn.exchange() {
            Next::Again if !stopping.load(Ordering::Relaxed) => {}
            // Requests read and not answered: the client may be sending.
            Next::Again | Next::Close if !conn.client.buf.is_empty() => {
                return conn.client.linger_close()
            }
            Next::Again | Next::Close => return,
            Next::Linger => return conn.client.linger_close(),
        }
    }
}

/// A client connection being served.
struct Conn<'c> {
    client: Wire<'c>,
    settings: &'c Settings,
    peer: Option<SocketAddr>,
}

/// What the exchange knows of the request once its head has parsed.
struct Exchange<'l> {
    line: &'l str,
    asked: Asked,
    /// The client and the proxy let the connection persist (RFC 9112 §9.3:
    /// "A proxy server MUST NOT maintain a persistent connection with an
    /// HTTP/1.0 client").
    persists: bool,
    /// The request has content the proxy has not read.
    unread: bool,
}

impl Exchange<'_> {
    /// Whether the connection closes after a response, and how.
    fn after(&self, closes: bool) -> Next {
        match (closes || !self.persists || self.unread, self.unread) {
            (false, _) => Next::Again,
            (true, false) => Next::Close,
            (true, true) => Next::Linger,
        }
    }
}

impl Conn<'_> {
    /// Reads one request and answers it.
    fn exchange(&mut self) -> Next {
        let deadline = Instant::now() + self.settings.read_timeout;
        let unparsed = Exchange {
            line: "",
            asked: Asked {
                head_only: false,
                client: crate::parse::Version { major: 1, minor: 0 },
            },
            persists: false,
            unread: true,
        };
        let head_len = loop {
            match parse_request(&self.client.buf) {
                Ok(Status::Complete((_, len))) => break len,
                Ok(Status::Partial) => {}
                Err(e) => return self.refuse(&unparsed, Problem::Parse(e)),
            }
            match self.client.fill_before(deadline) {
                Ok(()) => {}
                // RFC 9110 §15.5.9: 408 to a request that did not arrive in
                // time; a connection idle between requests just closes.
                Err(Fill::Timeout) if !self.client.buf.is_empty() => {
                    return self.refuse(&unparsed, Problem::Timeout)
                }
                Err(_) => return Next::Close,
            }
        };
        let head: Vec<u8> = self.client.buf.drain(..head_len).collect();
        let Ok(Status::Complete((request, _))) = parse_request(&head) else {
            return Next::Close;
        };
        let line = format!(
            "{} {} HTTP/{}.{}",
            request.method, request.target, request.version.major, request.version.minor
        );
        let asked = Asked {
            head_only: request.method == "HEAD",
            client: request.version,
        };
        let framing = request::framing(&request);
        let exchange = Exchange {
            line: &line,
            asked,
            persists: asked.modern() && !asks_close(&request.fields),
            unread: !matches!(framing, Ok(Framing::Empty)),
        };
        match self.check(&request, framing) {
            Ok(forwarding) => self.forward(&exchange, &request, forwarding),
            Err(Answer::Refuse(problem)) => self.refuse(&exchange, problem),
            Err(Answer::Itself(response)) => {
                let next = exchange.after(false);
                self.log(&line, response.code());
                let sent = self
                    .client
                    .send(&response.to_bytes(false, next != Next::Again));
                if sent {
                    next
                } else {
                    Next::Close
                }
            }
        }
    }

    /// The checks of a request before it is forwarded, in the server's
    /// order (the message, the version, Host, the target), then the proxy's
    /// own: a loop, and Max-Forwards.
    fn check<'r>(
        &self,
        request: &Request<'r>,
        framing: Result<Framing, Problem>,
    ) -> Result<Forwarding<'r>, Answer> {
        let framing = framing.map_err(Answer::Refuse)?;
        // RFC 9110 §15.6.6: 505 refuses the major version.
        if request.version.major != 1 {
            return Err(Answer::Refuse(Problem::Version));
        }
        request::check_host(request).map_err(Answer::Refuse)?;
        let target = forward::target(request).map_err(Answer::Refuse)?;
        // RFC 9110 §7.6: "An intermediary MUST NOT forward a message to
        // itself unless it is protected from an infinite request loop".
        if has_passed(&request.fields, &self.settings.received_by) {
            return Err(Answer::Refuse(Problem::Loop));
        }
        let max_forwards = forward::max_forwards(request).map_err(Answer::Refuse)?;
        // RFC 9110 §7.6.2: "If the received value is zero (0), the
        // intermediary MUST NOT forward the request; instead, the
        // intermediary MUST respond as the final recipient."
        if max_forwards == Some(0) {
            let mut response = Response::new(200);
            if request.method == "TRACE" {
                response
                    .header("Content-Type", "message/http")
                    .body(Body::Bytes(forward::trace_reflection(request)));
            }
            return Err(Answer::Itself(Box::new(response)));
        }
        Ok(Forwarding {
            target,
            max_forwards,
            framing,
        })
    }

    /// Forwards the request on a new upstream connection and relays the
    /// answer.
    fn forward(
        &mut self,
        exchange: &Exchange<'_>,
        request: &Request<'_>,
        f: Forwarding<'_>,
    ) -> Next {
        let settings = self.settings;
        let stream = match connect(settings) {
            Ok(stream) => stream,
            Err(problem) => return self.refuse(exchange, problem),
        };
        let mut upstream = Wire::new(&stream);
        let head = forward::request_head(
            request,
            &Forward {
                target: &f.target,
                max_forwards: f.max_forwards,
                framing: f.framing,
                upstream_name: &settings.upstream_name,
                received_by: &settings.received_by,
            },
        );
        let mut exchange = Exchange {
            unread: false,
            ..*exchange
        };
        let mut body = match f.framing {
            Framing::Empty => None,
            Framing::Length(n) => Some((Frame::Length(n), Reframe::Raw)),
            Framing::Chunked => Some((Frame::Chunked, Reframe::Chunked)),
        };
        // RFC 9110 §10.1.1: a proxy that receives a 100-continue
        // expectation MUST "forward the request toward the origin server by
        // sending a corresponding request-line and header section to the
        // next inbound server": the head goes at once, and the content
        // once the origin says 100 or the client sends it anyway.
        let waits =
            body.is_some() && request::expects_continue(request) && self.client.buf.is_empty();
        let mut to_origin = Outbox::new(&upstream);
        to_origin.push(&head);
        let pending = if waits { None } else { body.take() };
        let sent = self.send_body(&mut to_origin, pending);
        drop(to_origin);
        match sent {
            Ok(whole) => exchange.unread = !whole,
            Err(stop) => return self.stop(&exchange, stop),
        }
        let mut interims = 0;
        loop {
            if body.is_some() {
                match ready(&self.client, &upstream, settings.upstream_timeout) {
                    Ready::Client => {
                        let mut to_origin = Outbox::new(&upstream);
                        let sent = self.send_body(&mut to_origin, body.take());
                        drop(to_origin);
                        match sent {
                            Ok(whole) => exchange.unread = !whole,
                            Err(stop) => return self.stop(&exchange, stop),
                        }
                        continue;
                    }
                    Ready::Origin => {}
                    Ready::Neither => {
                        exchange.unread = true;
                        return self.refuse(&exchange, Problem::GatewayTimeout);
                    }
                }
            }
            // Content the client still holds back, waiting for a 100.
            exchange.unread |= body.is_some();
            let head = match read_response_head(&mut upstream, settings.upstream_timeout) {
                Ok(head) => head,
                Err(problem) => return self.refuse(&exchange, problem),
            };
            let Ok(Status::Complete((response, _))) = parse_response(&head) else {
                return Next::Close;
            };
            if (100..=199).contains(&response.code) {
                interims += 1;
                let relayed = match relay::interim(&response, &settings.received_by) {
                    Ok(_) if interims > MAX_INTERIM_RESPONSES => Err(Problem::BadGateway(
                        "the origin sent too many interim responses",
                    )),
                    relayed => relayed,
                };
                let relayed = match relayed {
                    Ok(relayed) => relayed,
                    Err(problem) => return self.refuse(&exchange, problem),
                };
                // RFC 9110 §15.2: "A server MUST NOT send a 1xx response to
                // an HTTP/1.0 client."
                if exchange.asked.modern() && !self.client.send(&relayed.head(false, 0)) {
                    return Next::Close;
                }
                if response.code == 100 && body.is_some() {
                    let mut to_origin = Outbox::new(&upstream);
                    let sent = self.send_body(&mut to_origin, body.take());
                    drop(to_origin);
                    match sent {
                        Ok(whole) => exchange.unread = !whole,
                        Err(stop) => return self.stop(&exchange, stop),
                    }
                }
                continue;
            }
            let relay =
                match relay::final_response(&response, exchange.asked, &settings.received_by) {
                    Ok(relay) => relay,
                    Err(problem) => return self.refuse(&exchange, problem),
                };
            let next = exchange.after(relay.closes);
            self.log(exchange.line, response.code);
            let mut to_client = Outbox::new(&self.client);
            to_client.push(&relay.response.head(next != Next::Again, 0));
            let sent = match relay.frame {
                // RFC 9112 §6.3: extra bytes after the response are never
                // forwarded; they go with the upstream connection.
                Some(frame) => transfer(
                    &mut upstream,
                    settings.upstream_timeout,
                    frame,
                    &mut to_client,
                    relay.out,
                ),
                None => match to_client.flush() {
                    true => Ok(()),
                    false => Err(Broken::Sink),
                },
            };
            return match sent {
                Ok(()) => next,
                // The origin's content broke off, or the client is gone:
                // the response cannot be completed, and closing is the
                // only way to tell the client (RFC 9112 §6.3 rule 6).
                Err(_) if exchange.unread => Next::Linger,
                Err(_) => Next::Close,
            };
        }
    }

    /// Sends what `to_origin` holds, then the client's content if `body`
    /// says there is some to send now. Returns whether the content went
    /// whole: an origin that stopped reading may have answered already,
    /// and its answer is read next, the client's unread rest closing the
    /// connection after it. On failure, how the exchange ends.
    fn send_body(
        &mut self,
        to_origin: &mut Outbox<'_, '_>,
        body: Option<(Frame, Reframe)>,
    ) -> Result<bool, Stop> {
        let Some((frame, out)) = body else {
            // A head the origin did not take shows when its answer is read.
            to_origin.flush();
            return Ok(true);
        };
        match transfer(
            &mut self.client,
            self.settings.read_timeout,
            frame,
            to_origin,
            out,
        ) {
            Ok(()) => Ok(true),
            Err(Broken::Sink) => Ok(false),
            // RFC 9112 §7.1: an invalid chunked body is a framing error:
            // 400, and the connection closes.
            Err(Broken::Bad) => Err(Stop::Refuse(Problem::Parse(crate::parse::Error::Chunk))),
            Err(Broken::Source(Fill::Timeout)) => Err(Stop::Refuse(Problem::Timeout)),
            Err(Broken::Source(_)) => Err(Stop::Gone),
        }
    }

    /// Ends an exchange whose request content could not be read whole.
    fn stop(&mut self, exchange: &Exchange<'_>, stop: Stop) -> Next {
        match stop {
            Stop::Refuse(problem) => {
                let exchange = Exchange {
                    unread: true,
                    ..*exchange
                };
                self.refuse(&exchange, problem)
            }
            Stop::Gone => Next::Close,
        }
    }

    /// Answers a problem with the server's own response for it, and says
    /// whether the connection closes after it.
    fn refuse(&mut self, exchange: &Exchange<'_>, problem: Problem) -> Next {
        let response = Response::problem(problem);
        let next = exchange.after(response.closes());
        self.log(exchange.line, response.code());
        if self
            .client
            .send(&response.to_bytes(exchange.asked.head_only, next != Next::Again))
        {
            next
        } else {
            Next::Close
        }
    }

    fn log(&self, line: &str, code: u16) {
        if !self.settings.quiet {
            let line = if line.is_empty() { "-" } else { line };
            match self.peer {
                Some(peer) => eprintln!("{peer} \"{line}\" {code} (proxy)"),
                None => eprintln!("- \"{line}\" {code} (proxy)"),
            }
        }
    }
}

/// What a checked request forwards.
struct Forwarding<'r> {
    target: Target<'r>,
    max_forwards: Option<u64>,
    framing: Framing,
}

/// Why the client's content stopped.
enum Stop {
    /// Answer this, then close.
    Refuse(Problem),
    /// The client is gone.
    Gone,
}

/// A request the proxy does not forward.
enum Answer {
    Refuse(Problem),
    /// The proxy is the final recipient (Max-Forwards 0).
    Itself(Box<Response>),
}

/// Opens a new connection to the origin, trying each of its addresses.
fn connect(settings: &Settings) -> Result<TcpStream, Problem> {
    let mut timed_out = false;
    for addr in &settings.upstream {
        match TcpStream::connect_timeout(addr, settings.upstream_timeout) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                let _ = stream.set_write_timeout(Some(settings.upstream_timeout));
                return Ok(stream);
            }
            Err(e) => timed_out |= e.kind() == std::io::ErrorKind::TimedOut,
        }
    }
    Err(if timed_out {
        Problem::GatewayTimeout
    } else {
        Problem::BadGateway("the origin could not be reached")
    })
}

/// Reads one response head from the origin; its bytes, removed from the
/// buffer.
fn read_response_head(upstream: &mut Wire<'_>, wait: Duration) -> Result<Vec<u8>, Problem> {
    loop {
        match parse_response(&upstream.buf) {
            Ok(Status::Complete((_, len))) => return Ok(upstream.buf.drain(..len).collect()),
            Ok(Status::Partial) => {}
            // RFC 9112 §5.2: obs-fold in a response: "discard the message
            // and replace it with a 502 (Bad Gateway) response"; §5.1:
            // whitespace before a colon, removed or, here, refused the same
            // way; RFC 9110 §5.5: CR, LF or NUL in a value, rejected.
            Err(_) => return Err(Problem::BadGateway("the origin's response head is invalid")),
        }
        match upstream.fill(wait) {
            Ok(()) => {}
            Err(Fill::Timeout) => return Err(Problem::GatewayTimeout),
            Err(_) => {
                return Err(Problem::BadGateway(
                    "the origin closed the connection without a complete response",
                ))
            }
        }
    }
}

/// Which side has something to read first.
enum Ready {
    Client,
    Origin,
    Neither,
}

/// Waits at most `wait` for the origin's answer or the client's content.
fn ready(client: &Wire<'_>, upstream: &Wire<'_>, wait: Duration) -> Ready {
    if !upstream.buf.is_empty() {
        return Ready::Origin;
    }
    if !client.buf.is_empty() {
        return Ready::Client;
    }
    let timeout = Timespec {
        tv_sec: i64::try_from(wait.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(wait.subsec_nanos()),
    };
    let mut fds = [
        PollFd::new(upstream.stream, PollFlags::IN),
        PollFd::new(client.stream, PollFlags::IN),
    ];
    match rustix::event::poll(&mut fds, Some(&timeout)) {
        Ok(0) => Ready::Neither,
        Ok(_) if !fds[0].revents().is_empty() => Ready::Origin,
        Ok(_) => Ready::Client,
        // Reading the origin finds out what went wrong, within its timeout.
        Err(_) => Ready::Origin,
    }
}
