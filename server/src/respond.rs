//! One exchange without a socket: what the server makes of a request head,
//! what it does with the content, and the bytes of its answer — the same
//! handler, refusals and head writer as a served connection, for a caller
//! that reads requests its own way (the conformance suite's chain origin,
//! which serves the catalogue's fixtures behind a front).
//!
//! A served connection ([`crate::connection`]) takes the two decisions that
//! are not the handler's from here too: what to do with a request's content
//! ([`content_plan`]) and whether the connection closes after the answer.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::files::SmallFiles;
use crate::handler::{compose, refuses, Answer, Handler};
use crate::limits::{MAX_DISCARDED_BODY, MAX_HEADER_BYTES};
use crate::parse::{
    self, parse_chunk_end, parse_chunk_size, parse_trailer_section, Request, Status,
};
use crate::problem::Problem;
use crate::request::{self, Framing};
use crate::response::{Body, Response, Segment};

/// Whether the server reads a body of this framing (to discard it), rather
/// than answer and close without reading it.
pub(crate) fn reads_body(framing: Framing) -> bool {
    !matches!(framing, Framing::Length(n) if n > MAX_DISCARDED_BODY)
}

/// What the server does with a request's content before it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Reads it (none, `Content-Length` octets, or chunked) and then answers.
    Read(Framing),
    /// Sends the interim `100 (Continue)` ([`Exchange::interim`]) first: the
    /// client waits for it before sending the content; then reads it.
    Continue(Framing),
    /// Leaves it unread: the answer goes at once, and the connection closes
    /// after it (the framing is broken, the content is too long to read, or
    /// the client waits for a 100 to a request refused by its head alone).
    Unread,
}

/// What to do with the content of a request that `continues` (sent
/// `Expect: 100-continue`), framed as `framing`, to which the head
/// decided `answer`.
///
/// RFC 9110 §10.1.1: an origin server "MUST send either: an immediate
/// response with a final status code, if that status can be determined by
/// examining just the method, target URI, and header fields, or an
/// immediate 100 (Continue) response"; "The origin server MUST NOT wait
/// for the content before sending the 100 (Continue) response". A server
/// that will not read the content sends no 100: its final answer closes.
pub(crate) fn content_plan(
    framing: Result<Framing, Problem>,
    continues: bool,
    answer: &Answer,
) -> Content {
    // A framing error is the answer: where the content ends is unknown.
    let Ok(framing) = framing else {
        return Content::Unread;
    };
    let waiting = continues && framing != Framing::Empty;
    if (waiting && refuses(answer)) || !reads_body(framing) {
        Content::Unread
    } else if waiting {
        Content::Continue(framing)
    } else {
        Content::Read(framing)
    }
}

/// Where a request's content ends in the bytes that follow its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentEnd {
    /// It takes this many bytes.
    At(usize),
    /// More bytes are needed.
    Partial,
    /// Its chunked framing is broken: the problem to answer.
    Broken(Problem),
    /// Its chunks add up to more than the server reads: it is left unread.
    TooLong,
}

/// Where content framed as `framing` ends in `buf`, read as a served
/// connection reads it: chunk sizes, chunk ends and the trailer section by
/// the server's own parsers, and no more than the server discards.
pub fn content_end(framing: Framing, buf: &[u8]) -> ContentEnd {
    let length = match framing {
        Framing::Empty => return ContentEnd::At(0),
        Framing::Length(n) if n > MAX_DISCARDED_BODY => return ContentEnd::TooLong,
        Framing::Length(n) => n as usize,
        Framing::Chunked => return chunked_end(buf),
    };
    if length <= buf.len() {
        ContentEnd::At(length)
    } else {
        ContentEnd::Partial
    }
}

fn chunked_end(buf: &[u8]) -> ContentEnd {
    let mut pos = 0;
    let mut total = 0u64;
    // One element of the chunked framing at `pos`: its value and length.
    fn element<T>(
        parse: fn(&[u8]) -> parse::Parsed<T>,
        rest: &[u8],
    ) -> Result<(T, usize), ContentEnd> {
        match parse(rest) {
            Ok(Status::Complete(done)) => Ok(done),
            Ok(Status::Partial) if rest.len() > MAX_HEADER_BYTES => {
                Err(ContentEnd::Broken(Problem::Parse(parse::Error::Chunk)))
            }
            Ok(Status::Partial) => Err(ContentEnd::Partial),
            Err(e) => Err(ContentEnd::Broken(Problem::Parse(e))),
        }
    }
    loop {
        let (size, used) = match element(parse_chunk_size, &buf[pos..]) {
            Ok(sized) => sized,
            Err(end) => return end,
        };
        pos += used;
        if size == 0 {
            return match element(parse_trailer_section, &buf[pos..]) {
                Ok(((), used)) => ContentEnd::At(pos + used),
                Err(end) => end,
            };
        }
        total = total.saturating_add(size);
        if total > MAX_DISCARDED_BODY {
            return ContentEnd::TooLong;
        }
        let data_end = pos + size as usize;
        if data_end > buf.len() {
            return ContentEnd::Partial;
        }
        pos = data_end;
        match element(parse_chunk_end, &buf[pos..]) {
            Ok(((), used)) => pos += used,
            Err(end) => return end,
        }
    }
}

/// The reference server's answers to requests read by someone else: the
/// handler over a document root, and the small-file cache it reads with.
#[derive(Debug)]
pub struct Responder {
    handler: Handler,
    small_files: SmallFiles,
}

impl Responder {
    /// Answers from `root`, a directory.
    pub fn new(root: impl AsRef<Path>) -> io::Result<Responder> {
        let root = canonical_root(root.as_ref())?;
        Ok(Responder {
            handler: Handler::new(root, None)?,
            small_files: SmallFiles::default(),
        })
    }

    /// What the server makes of `request`, a head that parsed, on a
    /// connection that may carry another request (`persistent`).
    pub fn exchange(&self, request: &Request<'_>, persistent: bool) -> Exchange {
        let framing = request::framing(request);
        Exchange {
            answer: self.handler.decide(request, framing, SystemTime::now()),
            head_only: request.method == "HEAD",
            framing,
            continues: request::expects_continue(request),
            persists: persistent && !request::wants_close(request),
            unread: false,
        }
    }

    /// The answer to bytes that are no request: a head that does not parse
    /// ([`Problem::Parse`]), or did not arrive in time ([`Problem::Timeout`]).
    pub fn refusal(problem: Problem) -> Exchange {
        Exchange {
            answer: Err(problem),
            head_only: false,
            framing: Ok(Framing::Empty),
            continues: false,
            persists: false,
            unread: true,
        }
    }
}

/// One request's exchange, decided by its head: the answer and how the
/// content is read before it.
pub struct Exchange {
    answer: Answer,
    head_only: bool,
    framing: Result<Framing, Problem>,
    continues: bool,
    persists: bool,
    unread: bool,
}

impl Exchange {
    /// What to do with the content before answering.
    pub fn content(&self) -> Content {
        if self.unread {
            return Content::Unread;
        }
        content_plan(self.framing, self.continues, &self.answer)
    }

    /// The bytes of the interim `100 (Continue)`, with `fields` in its head.
    pub fn interim(fields: &[(&str, &str)]) -> Vec<u8> {
        let mut response = Response::new(100);
        for (name, value) in fields {
            response.header(name, value);
        }
        response.to_bytes(false, false)
    }

    /// The content was not read to its end: `Some(problem)` is answered
    /// instead (a broken chunked framing, a timeout); either way the
    /// connection closes after the answer.
    pub fn content_unread(&mut self, problem: Option<Problem>) {
        self.unread = true;
        if let Some(problem) = problem {
            self.answer = Err(problem);
        }
    }

    /// The whole answer, with `fields` added to its head after the
    /// server's own, and whether the connection closes after it: when the
    /// request asked to, content was left unread, or the problem answered
    /// leaves the stream untrusted.
    pub fn respond(self, responder: &Responder, fields: &[(&str, &str)]) -> (Vec<u8>, bool) {
        let closes = !self.persists || matches!(self.content(), Content::Unread);
        let mut response = compose(self.answer);
        for (name, value) in fields {
            response.header(name, value);
        }
        let close = closes || response.closes();
        match bytes(&response, &responder.small_files, self.head_only, close) {
            Ok(bytes) => (bytes, close),
            Err(problem) => {
                let mut response = Response::problem(problem);
                for (name, value) in fields {
                    response.header(name, value);
                }
                (response.to_bytes(self.head_only, true), true)
            }
        }
    }
}

/// The bytes a served connection would write for `response`: its head,
/// then its content unless it has none to send, read from its file.
fn bytes(
    response: &Response,
    small_files: &SmallFiles,
    head_only: bool,
    close: bool,
) -> Result<Vec<u8>, Problem> {
    let Body::File {
        path,
        meta,
        segments,
    } = response.content()
    else {
        return Ok(response.to_bytes(head_only, close));
    };
    let mut bytes = response.head(close, 0);
    if !response.sends_content(head_only) {
        return Ok(bytes);
    }
    let content: std::sync::Arc<[u8]> = if meta.len() <= crate::limits::MAX_CACHED_FILE {
        small_files.content(path, meta)
    } else {
        std::fs::read(path).map(Into::into)
    }
    .map_err(|_| Problem::Internal)?;
    for segment in segments {
        match segment {
            Segment::Bytes(delimiter) => bytes.extend_from_slice(delimiter),
            Segment::File { offset, len } => {
                let start = usize::try_from(*offset).map_err(|_| Problem::Internal)?;
                let end = usize::try_from(*len)
                    .ok()
                    .and_then(|len| start.checked_add(len))
                    .ok_or(Problem::Internal)?;
                bytes.extend_from_slice(content.get(start..end).ok_or(Problem::Internal)?);
            }
        }
    }
    Ok(bytes)
}

/// `root` made absolute, if it is a directory.
pub(crate) fn canonical_root(root: &Path) -> io::Result<PathBuf> {
    let root = root.canonicalize()?;
    if root.is_dir() {
        Ok(root)
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            "not a directory",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_request;

    fn responder() -> Responder {
        Responder::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/root")).unwrap()
    }

    /// The exchange of `head`, a request head that parses.
    fn exchange(responder: &Responder, head: &[u8]) -> Exchange {
        let Ok(Status::Complete((request, _))) = parse_request(head) else {
            panic!("no head");
        };
        responder.exchange(&request, true)
    }

    /// The answer's head with its `Date` and validators' values blanked.
    fn shown(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes)
            .lines()
            .map(|line| match line.split_once(": ") {
                Some((name @ ("Date" | "Last-Modified" | "ETag"), _)) => format!("{name}: -"),
                _ => line.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn get_then_the_file_with_the_fields_added_after_the_servers() {
        let responder = responder();
        let get = exchange(&responder, b"GET /hello.txt HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(get.content(), Content::Read(Framing::Empty));
        let (bytes, close) = get.respond(&responder, &[("X-Mark", "t 1")]);
        assert_eq!(
            shown(&bytes),
            "HTTP/1.1 200 OK\nDate: -\nContent-Type: text/plain; charset=utf-8\nLast-Modified: -\n\
             ETag: -\nAccept-Ranges: bytes\nX-Mark: t 1\nContent-Length: 14\n\nHello, world!"
        );
        assert!(!close);
        let head = exchange(&responder, b"HEAD /hello.txt HTTP/1.0\r\nHost: h\r\n\r\n");
        let (bytes, close) = head.respond(&responder, &[]);
        assert!(bytes.ends_with(b"Content-Length: 14\r\nConnection: close\r\n\r\n"));
        assert!(close);
    }

    #[test]
    fn expect_100_continue_then_continue_or_the_refusal_at_once() {
        let responder = responder();
        let put = b"PUT /hello.txt HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
        assert_eq!(exchange(&responder, put).content(), Content::Unread);
        let (bytes, close) = exchange(&responder, put).respond(&responder, &[]);
        assert!(bytes.starts_with(b"HTTP/1.1 405 Method Not Allowed\r\n"));
        assert!(close);
        let get = b"GET /hello.txt HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
        assert_eq!(
            exchange(&responder, get).content(),
            Content::Continue(Framing::Length(3))
        );
        assert_eq!(Exchange::interim(&[]), b"HTTP/1.1 100 Continue\r\n\r\n");
        assert_eq!(
            Exchange::interim(&[("X-Mark", "t 1")]),
            b"HTTP/1.1 100 Continue\r\nX-Mark: t 1\r\n\r\n"
        );
    }

    #[test]
    fn content_end_then_as_a_served_connection_reads_it() {
        assert_eq!(
            content_end(Framing::Length(3), b"abcGET"),
            ContentEnd::At(3)
        );
        assert_eq!(content_end(Framing::Length(3), b"ab"), ContentEnd::Partial);
        assert_eq!(
            content_end(Framing::Length(MAX_DISCARDED_BODY + 1), b""),
            ContentEnd::TooLong
        );
        assert_eq!(
            content_end(Framing::Chunked, b"3\r\nabc\r\n0\r\n\r\nGET"),
            ContentEnd::At(13)
        );
        assert_eq!(
            content_end(Framing::Chunked, b"3\r\nabc"),
            ContentEnd::Partial
        );
        assert_eq!(
            content_end(Framing::Chunked, b"3\nabc\r\n"),
            ContentEnd::Broken(Problem::Parse(parse::Error::BareLf))
        );
    }

    #[test]
    fn refusal_then_the_problem_and_a_close() {
        let responder = responder();
        let refusal = Responder::refusal(Problem::Parse(parse::Error::ObsFold));
        assert_eq!(refusal.content(), Content::Unread);
        let (bytes, close) = refusal.respond(&responder, &[("X-Mark", "none")]);
        assert!(bytes.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
        assert!(close);
    }
}
