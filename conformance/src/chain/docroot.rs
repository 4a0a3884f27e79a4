//! The origin as the reference server, for the ordinary catalogue run
//! through a front (`chain --catalogue`): each connection's requests read
//! as a served connection of the reference server reads them, and answered
//! from the fixture docroot by the server's own handler and head writer
//! (`server::respond`), each answer marked. The origin by construction
//! conforms to every case of the catalogue: a failure the client reads is
//! the front's doing.
//!
//! [`FixtureRoot`] is the docroot itself: the files of `fixtures/root`
//! compiled into the binary, written to a directory of their own for the
//! run.

use super::message::{read_request, Head, Read};
use server::parse::{parse_request, Request, Status};
use server::problem::Problem;
use server::request::Framing;
use server::respond::{content_end, Content, ContentEnd, Exchange, Responder};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What a connection's reader tells the origin, and asks of it.
pub(crate) trait Hooks {
    /// A request head arrived: the origin records it, with why its framing
    /// is broken if it is. Returns its number among all requests and the
    /// mark its answer carries (`TOKEN N`, or `untagged N`).
    fn arrive(&mut self, head: Head, framing_error: Option<String>) -> (usize, String);
    /// The request-target the docroot is asked for, for one received.
    fn asked(&self, target: &str) -> String;
    /// The name of the field that carries the mark.
    fn mark_field(&self) -> &'static str;
    /// The request's content, once read to its end (`None`: left unread),
    /// and why its framing broke if it did.
    fn content(&mut self, place: usize, body: Option<Vec<u8>>, error: Option<String>);
    /// Writes `bytes` to the front, for the request at `place` if any;
    /// `head` is the answer's head, to record. False if the write failed.
    fn write(&mut self, place: Option<usize>, bytes: &[u8], head: Option<Vec<u8>>) -> bool;
}

/// A request whose content is still arriving.
struct Pending {
    exchange: Exchange,
    framing: Framing,
    place: usize,
    mark: String,
}

/// The requests of one connection, read as the reference server reads them.
#[derive(Default)]
pub(crate) struct RootReader {
    buf: Vec<u8>,
    pending: Option<Pending>,
}

impl RootReader {
    /// Takes `bytes`, and reads and answers every request complete in what
    /// came; false once the connection is to close.
    pub(crate) fn read(&mut self, bytes: &[u8], root: &Responder, hooks: &mut dyn Hooks) -> bool {
        self.buf.extend_from_slice(bytes);
        loop {
            let pending = match self.pending.take() {
                Some(pending) => pending,
                None => match self.head(root, hooks) {
                    Some(Ok(pending)) => pending,
                    Some(Err(keep_open)) => return keep_open,
                    None => return true,
                },
            };
            let Pending {
                mut exchange,
                framing,
                place,
                mark,
            } = pending;
            match content_end(framing, &self.buf) {
                ContentEnd::Partial => {
                    self.pending = Some(Pending {
                        exchange,
                        framing,
                        place,
                        mark,
                    });
                    return true;
                }
                ContentEnd::At(n) => {
                    hooks.content(place, Some(self.buf.drain(..n).collect()), None);
                    if !answer(exchange, root, hooks, Some(place), &mark) {
                        return false;
                    }
                }
                ContentEnd::Broken(problem) => {
                    hooks.content(place, None, Some(problem.to_string()));
                    exchange.content_unread(Some(problem));
                    answer(exchange, root, hooks, Some(place), &mark);
                    return false;
                }
                ContentEnd::TooLong => {
                    exchange.content_unread(None);
                    answer(exchange, root, hooks, Some(place), &mark);
                    return false;
                }
            }
        }
    }

    /// Reads the head at the front of the buffer: `None` while it is
    /// incomplete; `Some(Ok)` a request whose content is to be read;
    /// `Some(Err(open))` a request answered at once, and whether the
    /// connection stays open after it.
    fn head(&mut self, root: &Responder, hooks: &mut dyn Hooks) -> Option<Result<Pending, bool>> {
        let (request, len) = match parse_request(&self.buf) {
            Ok(Status::Partial) => return None,
            Ok(Status::Complete(parsed)) => parsed,
            Err(error) => {
                // Recorded as a lenient recipient reads it, if it can be.
                let place = match read_request(&self.buf) {
                    Read::Head(head, _) => Some(hooks.arrive(head, None)),
                    _ => None,
                };
                let (place, mark) = place.map_or((None, "none".to_string()), |(p, m)| (Some(p), m));
                answer(
                    Responder::refusal(Problem::Parse(error)),
                    root,
                    hooks,
                    place,
                    &mark,
                );
                return Some(Err(false));
            }
        };
        let target = hooks.asked(request.target);
        let asked = Request {
            target: &target,
            ..request.clone()
        };
        let exchange = root.exchange(&asked, true);
        let framing_error = match server::request::framing(&request) {
            Err(problem) => Some(problem.to_string()),
            Ok(_) => None,
        };
        let Read::Head(head, _) = read_request(&self.buf[..len]) else {
            return Some(Err(false));
        };
        self.buf.drain(..len);
        let (place, mark) = hooks.arrive(head, framing_error);
        let framing = match exchange.content() {
            Content::Unread => {
                hooks.content(place, None, None);
                answer(exchange, root, hooks, Some(place), &mark);
                return Some(Err(false));
            }
            Content::Continue(framing) => {
                // Marked too: a front that sends a 100 of its own is told
                // from one that relays the origin's.
                let interim = Exchange::interim(&[(hooks.mark_field(), &mark)]);
                if !hooks.write(Some(place), &interim, None) {
                    return Some(Err(false));
                }
                framing
            }
            Content::Read(framing) => framing,
        };
        Some(Ok(Pending {
            exchange,
            framing,
            place,
            mark,
        }))
    }

    /// The read timed out: part of a request arrived, and is answered 408
    /// as the reference server answers it; nothing did, and the connection
    /// just closes.
    pub(crate) fn timed_out(&mut self, root: &Responder, hooks: &mut dyn Hooks) {
        let (exchange, place, mark) = match self.pending.take() {
            Some(mut pending) => {
                pending.exchange.content_unread(Some(Problem::Timeout));
                (pending.exchange, Some(pending.place), pending.mark)
            }
            None if self.buf.iter().any(|b| !matches!(b, b'\r' | b'\n')) => {
                (Responder::refusal(Problem::Timeout), None, "none".into())
            }
            None => return,
        };
        answer(exchange, root, hooks, place, &mark);
    }
}

/// Writes the answer of `exchange`, marked `mark` and `no-store`; false
/// once the connection is to close.
fn answer(
    exchange: Exchange,
    root: &Responder,
    hooks: &mut dyn Hooks,
    place: Option<usize>,
    mark: &str,
) -> bool {
    let (bytes, close) = exchange.respond(
        root,
        &[(hooks.mark_field(), mark), ("Cache-Control", "no-store")],
    );
    let head_end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(bytes.len(), |at| at + 4);
    let head = bytes[..head_end].to_vec();
    hooks.write(place, &bytes, Some(head)) && !close
}

/// The fixture docroot (`fixtures/root`) as compiled into the binary,
/// written to a directory of its own; dropping it removes the directory.
#[derive(Debug)]
pub struct FixtureRoot {
    dir: PathBuf,
}

/// When every file of a written [`FixtureRoot`] was last modified: a fixed
/// moment long past, so that its `Last-Modified` is a strong validator
/// (RFC 9110 §8.8.2.2) and its `ETag` the same from one run to the next.
pub const FIXTURE_MTIME: Duration = Duration::from_secs(1_704_067_200);

impl FixtureRoot {
    /// Writes the docroot into a new directory under `parent`.
    pub fn write(parent: &Path) -> std::io::Result<FixtureRoot> {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = parent.join(format!(
            "conformance-root-{}-{nanos:08x}",
            std::process::id()
        ));
        std::fs::create_dir(&dir)?;
        let root = FixtureRoot { dir };
        let mtime = SystemTime::UNIX_EPOCH + FIXTURE_MTIME;
        for (name, content) in crate::case::compiled::FIXTURE_ROOT {
            let path = root.dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, content)?;
            std::fs::File::options()
                .write(true)
                .open(&path)?
                .set_modified(mtime)?;
        }
        Ok(root)
    }

    /// The directory it was written to.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for FixtureRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_root_then_every_file_written_and_removed_on_drop() {
        let parent = std::env::temp_dir();
        let root = FixtureRoot::write(&parent).unwrap();
        let dir = root.path().to_path_buf();
        assert_eq!(
            std::fs::read(dir.join("hello.txt")).unwrap(),
            b"Hello, world!\n"
        );
        assert!(dir.join("listing/sub/file.txt").is_file());
        let modified = std::fs::metadata(dir.join("index.html"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(modified, SystemTime::UNIX_EPOCH + FIXTURE_MTIME);
        drop(root);
        assert!(!dir.exists());
    }
}
