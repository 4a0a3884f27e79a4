//! Composing the response to what the handler decided: the status, the
//! header fields the answer carries, and the content as bytes made here or
//! as segments of a file that the connection reads while it writes.

use std::path::Path;

use super::{Answer, FileAnswer, FileReply, Reply};
use crate::date::imf_fixdate;
use crate::files;
use crate::problem::Problem;
use crate::range::{self, Multipart};
use crate::response::{Body, Response, Segment};

/// The response to what the head decided.
pub(crate) fn compose(answer: Answer) -> Response {
    let composed = match answer {
        Ok(Reply::File(file)) => Ok(compose_file(*file)),
        Ok(Reply::Listing {
            dir,
            shown,
            not_modified,
        }) => compose_listing(&dir, &shown, not_modified),
        Ok(Reply::Redirect { location }) => Ok(compose_redirect(&location)),
        Err(problem) => Err(problem),
    };
    composed.unwrap_or_else(Response::problem)
}

/// The response to a file: 200, 206 or 304.
fn compose_file(file: FileReply) -> Response {
    let length = file.meta.len();
    let content_type = files::content_type(&file.path);
    let whole = Segment::File {
        offset: 0,
        len: length,
    };
    let (mut response, segments) = match &file.answer {
        // The 200's content, never sent: its length is the 304's
        // Content-Length (RFC 9110 §8.6).
        FileAnswer::NotModified => (Response::new(304), vec![whole]),
        FileAnswer::Whole => {
            let mut response = Response::new(200);
            response.header("Content-Type", content_type);
            (response, vec![whole])
        }
        // RFC 9110 §15.3.7.1: a single part "MUST" have a Content-Range.
        // §15.3.7 would have a 206 to an If-Range request leave out the
        // representation fields the client already has ("SHOULD NOT");
        // Content-Type is kept on every 206 all the same, so the head of a
        // part does not depend on which validator the client sent.
        FileAnswer::Parts(parts) => {
            let mut response = Response::new(206);
            let mut segments = Vec::with_capacity(2 * parts.len() + 1);
            if let [part] = parts.as_slice() {
                response
                    .header("Content-Type", content_type)
                    .header("Content-Range", &range::content_range(*part, length));
                segments.push(Segment::part(*part));
            } else {
                let multipart = Multipart::new(parts, length, content_type);
                response.header("Content-Type", &multipart.content_type);
                for (part_head, part) in multipart.part_heads.into_iter().zip(parts) {
                    segments.push(Segment::Bytes(part_head));
                    segments.push(Segment::part(*part));
                }
                segments.push(Segment::Bytes(multipart.tail));
            }
            (response, segments)
        }
    };
    // RFC 9110 §15.3.7 and §15.4.5: a 206 and a 304 carry the ETag (and the
    // Date) a 200 would; Last-Modified and Accept-Ranges go with them. §14.3:
    // `Accept-Ranges: bytes` tells the client the file may be asked for in
    // parts.
    response
        .header_bytes("Last-Modified", imf_fixdate(file.modified).as_bytes())
        .header("ETag", &file.etag)
        .header("Accept-Ranges", "bytes")
        .body(Body::File {
            path: file.path,
            meta: file.meta,
            segments,
        });
    response
}

/// The response to a directory: its listing, or a 304 with the listing's
/// length.
fn compose_listing(dir: &Path, shown: &str, not_modified: bool) -> Result<Response, Problem> {
    let html = files::listing(dir, shown).map_err(|_| Problem::Internal)?;
    let mut response = Response::new(if not_modified { 304 } else { 200 });
    if !not_modified {
        response.header("Content-Type", "text/html; charset=utf-8");
    }
    response.body(Body::Bytes(html.into_bytes()));
    Ok(response)
}

/// The 301 to a directory's URI with its trailing slash.
fn compose_redirect(location: &str) -> Response {
    let mut response = Response::new(301);
    let body = format!("301 Moved Permanently: {location}\n");
    response
        .header("Location", location)
        .header("Content-Type", "text/plain; charset=utf-8")
        .body(Body::Bytes(body.into_bytes()));
    response
}
