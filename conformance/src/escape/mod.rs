//! Escaping: turning bytes into text that is safe where it is written.
//!
//! Two kinds, one word. The case notation ([`decode`], [`encode`]) is how a
//! case file writes the exact bytes to send and how snapshots and reports
//! write the bytes received, every byte visible. And everything a server
//! sent is untrusted: a reason phrase or a field value can carry ANSI CSI
//! and OSC sequences, BEL, NUL, C1 controls, markup. Each output format
//! escapes it here before it is written, so no peer byte reaches a
//! terminal, a Markdown page, an XML or a JSON consumer with its meaning:
//!
//! - `terminal` (text reports, `explain`): C0 controls, DEL and C1
//!   (U+0080–U+009F) as `\xHH`; `terminal_bytes` also shows the bytes that
//!   are not UTF-8 (obs-text, raw 0x80–0x9F) as `\xHH`; `readable` shows
//!   bytes for people (prose, the byte blocks of reports): printable ASCII
//!   as itself, `\r \n \t`, every other byte as `\xHH`, never the case
//!   notation's `\x7b` or `\\`;
//! - `markdown_cell`: the terminal escapes, then HTML's (`<`, `>`, `&`,
//!   quotes), then `|`, backticks and line breaks, so a cell stays a cell;
//! - `xml`: XML 1.0 text and attribute values; the controls XML cannot
//!   carry (most of C0, even as character references) as visible `\xHH`;
//! - `html`: the page's text and attribute values;
//! - `json_text`: JSON from serde with DEL and C1 written `\u00HH`.
//!
//! Nothing here knows of cases, responses or reports: it takes text or
//! bytes and gives text.

mod json;
mod markup;
mod notation;
mod terminal;

pub(crate) use json::{json_in_script, json_text};
pub(crate) use markup::{html, markdown_cell, xml, xml_content};
pub use notation::{decode, encode, EscapeError, EscapeErrorKind};
pub(crate) use notation::{decode_template, encode_lines, encode_template_lines};
pub use terminal::{readable, terminal};
pub(crate) use terminal::{readable_lines, terminal_bytes, terminal_cut};
