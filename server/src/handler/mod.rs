//! The handler: what to answer a parsed request with — the status, the
//! header fields, and which bytes of which file — decided from the request
//! and the file system alone, with no socket in sight, so that every
//! decision can be tested on its own (`tests`). The connection reads the
//! request, asks the handler, and writes what it composed.
//!
//! Deciding happens while the request head is still borrowed from the
//! receive buffer ([`Handler::decide`] → [`Answer`]); composing the
//! [`Response`](crate::response::Response) from that answer ([`compose()`])
//! happens once the request's content has been read past.

use std::io;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::conditions::{self, Outcome, Validators};
use crate::files::{self, FileStat};
use crate::parse::Request;
use crate::problem::Problem;
use crate::range::{self, ByteRange, Ranges};
use crate::request::{self, Framing};
use crate::resolve::{resolve_path, Resource, Root};

mod compose;
#[cfg(test)]
mod tests;

pub(crate) use compose::compose;

/// What the handler knows of the server: where the files are.
#[derive(Debug)]
pub(crate) struct Handler {
    /// The document root.
    root: Root,
    /// A request-target whose handling panics (tests of the panic handling).
    panic_on_target: Option<String>,
}

/// What to send, decided while the request head is still borrowed.
pub(crate) enum Reply {
    /// A file, or parts of it.
    File(Box<FileReply>),
    /// A directory's listing.
    Listing {
        /// The directory listed.
        dir: PathBuf,
        /// The decoded path the listing is titled with.
        shown: String,
        /// `If-None-Match: *` (RFC 9110 §13.1.2): 304.
        not_modified: bool,
    },
    /// A 301 to a directory's URI with its trailing slash.
    Redirect {
        /// Where to.
        location: String,
    },
}

/// What the head decided: a reply, or the problem to answer instead.
pub(crate) type Answer = Result<Reply, Problem>;

/// Whether the request is refused or sent elsewhere: an answer decided by
/// the head alone, which no content could change.
pub(crate) fn refuses(answer: &Answer) -> bool {
    matches!(answer, Err(_) | Ok(Reply::Redirect { .. }))
}

/// A file and what of it to send, with the validators its preconditions
/// were evaluated against (so the head sends the same ones).
pub(crate) struct FileReply {
    path: PathBuf,
    meta: FileStat,
    etag: String,
    modified: SystemTime,
    answer: FileAnswer,
}

/// What a GET or HEAD of a file is answered with.
enum FileAnswer {
    /// 200: the whole file.
    Whole,
    /// 206: these parts of it, one, or several as `multipart/byteranges`.
    Parts(Vec<ByteRange>),
    /// 304: no content.
    NotModified,
}

impl Handler {
    /// Serves the canonical directory `root`, which it opens.
    pub(crate) fn new(root: PathBuf, panic_on_target: Option<String>) -> io::Result<Handler> {
        Ok(Handler {
            root: Root::open(root)?,
            panic_on_target,
        })
    }

    /// Decides the answer to `request`, whose content is framed as
    /// `framing`, at `now`: the request's checks, then its resource.
    pub(crate) fn decide(
        &self,
        request: &Request<'_>,
        framing: Result<Framing, Problem>,
        now: SystemTime,
    ) -> Answer {
        check(request, framing).and_then(|target| self.resolve(request, &target, now))
    }

    /// Decides the answer to a checked request for `target`, at `now`.
    fn resolve(&self, request: &Request<'_>, target: &request::Target, now: SystemTime) -> Answer {
        if self.panic_on_target.as_deref() == Some(request.target) {
            panic!("the handler was asked to panic on {}", request.target);
        }
        match resolve_path(&self.root, &target.path) {
            Resource::File(path, meta) => plan_file(request, path, meta, now),
            Resource::Listing(dir) => {
                // A listing is made anew for every request: it has no
                // validators, and only `*` matches it.
                let none = Validators {
                    etag: None,
                    modified: None,
                };
                let not_modified = match conditions::evaluate(request, &none, now) {
                    Outcome::Proceed => false,
                    Outcome::NotModified => true,
                    Outcome::Failed => return Err(Problem::PreconditionFailed),
                };
                let shown = String::from_utf8_lossy(&target.path).into_owned();
                Ok(Reply::Listing {
                    dir,
                    shown,
                    not_modified,
                })
            }
            Resource::Redirect => Ok(Reply::Redirect {
                location: format!("{}/{}", target.raw_path(), target.query()),
            }),
            Resource::NotFound => Err(Problem::NotFound),
            Resource::Forbidden => Err(Problem::Forbidden),
        }
    }
}

/// Decides the answer to a GET or HEAD of a file: its preconditions
/// (RFC 9110 §13.2.2, steps 1 to 4), then its Range (step 5).
fn plan_file(request: &Request<'_>, path: PathBuf, meta: FileStat, now: SystemTime) -> Answer {
    let etag = files::entity_tag(&meta);
    let modified = files::last_modified(&meta);
    let current = Validators {
        etag: Some(&etag),
        modified: Some(modified),
    };
    let answer = match conditions::evaluate(request, &current, now) {
        Outcome::Failed => return Err(Problem::PreconditionFailed),
        Outcome::NotModified => FileAnswer::NotModified,
        Outcome::Proceed => match requested_ranges(request, &current, meta.len(), now) {
            Ranges::Ignored => FileAnswer::Whole,
            Ranges::Unsatisfiable => return Err(Problem::RangeNotSatisfiable(meta.len())),
            Ranges::Satisfiable(parts) => FileAnswer::Parts(parts),
        },
    };
    Ok(Reply::File(Box::new(FileReply {
        path,
        meta,
        etag,
        modified,
        answer,
    })))
}

/// The ranges a request asks of `length` octets, where they apply.
///
/// RFC 9110 §14.2: "A server MUST ignore a Range header field received
/// with a request method that is unrecognized or for which range handling
/// is not defined. For this specification, GET is the only method for which
/// range handling is defined." §13.1.5: "A recipient of an If-Range header
/// field MUST ignore the Range header field if the If-Range condition
/// evaluates to false." Two Range lines are no ranges-specifier. A
/// Content-Range in a request is never read (§14.4: "A server MUST ignore a
/// Content-Range header field received in a request with a method for
/// which Content-Range support is not defined").
fn requested_ranges(
    request: &Request<'_>,
    current: &Validators<'_>,
    length: u64,
    now: SystemTime,
) -> Ranges {
    let mut values = request.values("Range");
    let value = match (values.next(), values.next()) {
        (Some(value), None) if request.method == "GET" => value,
        _ => return Ranges::Ignored,
    };
    if !conditions::if_range(request, current, now) {
        return Ranges::Ignored;
    }
    range::parse_range(value, length)
}

/// Checks a parsed request before its resource is looked up: the framing
/// first (after a framing error the server cannot know where the next
/// request starts, so it wins), then version, Host, method and target.
fn check(
    request: &Request<'_>,
    framing: Result<Framing, Problem>,
) -> Result<request::Target, Problem> {
    framing?;
    request::check(request)
}
