//! Chain mode: the suite as the client in front of a reverse proxy (the
//! *front*) and as the origin behind it, so that each finding can name its
//! hop — **front** (it answered or changed something itself), **origin**
//! (it relayed the origin's answer) or **pair** (the two disagree on the
//! messages: a desync).
//!
//! A chain case ([`model`], [`parse`]) is a `run` case for the client's
//! side plus the origin's: what it answers, and what it must receive. The
//! [`origin`] records every connection the front opens, byte for byte
//! ([`recording`]), reads the requests in it with the reference server's
//! strict parser ([`message`]), and answers each as its case scripts,
//! marked with the case's token ([`answer`]). A run ([`run`]) plays each
//! case's client steps against the front, then grades the client's side as
//! `run` does, the origin's arrivals by the case's [`rules`], and the two
//! ends against each other ([`desync`]). [`report`] writes the result for
//! people (text, Markdown), [`machine`] for tools (JSON, JUnit).
//! [`matrix`] records several fronts' results in one file (`make matrix`
//! runs real proxies), which [`page`] renders as a section of the HTML
//! report.
//!
//! `chain --catalogue` runs the ordinary catalogue through the front
//! instead ([`catalogue`]): the origin serves the fixture docroot as the
//! reference server does ([`docroot`]), each answer marked, and each case
//! names the hop that answered it; [`catalogue_report`] writes it in the
//! four formats.
//!
//! Within this folder, a file uses only the files listed after it:
//! `page`, `matrix`, `machine`, `catalogue_report`, `report`, `catalogue`,
//! `run`, `desync`, `rules`, `origin`, `answer`, `recording`, `docroot`,
//! `parse`, `message`, `model`.

mod answer;
pub mod catalogue;
pub mod catalogue_report;
pub mod desync;
pub mod docroot;
pub mod machine;
pub mod matrix;
pub mod message;
pub mod model;
pub mod origin;
pub mod page;
pub mod parse;
mod recording;
pub mod report;
pub mod rules;
pub mod run;

use crate::report::Format;
pub use model::{ChainCase, Evidence, Finding, Hop, Role, Rule};
pub use origin::Origin;
pub use parse::{builtin_chain_catalogue, load_chain_catalogue, CHAIN_CASES_DIR};
pub use report::ChainContext;
pub use run::{control_front, run_chain_cases, ChainOptions, ChainResult, FrontControl};

/// Renders a chain run in `format`.
pub fn render(format: Format, results: &[ChainResult<'_>], context: &ChainContext<'_>) -> String {
    match format {
        Format::Text => report::render_text(results, context),
        Format::Markdown => report::render_markdown(results, context),
        Format::Json => machine::render_json(results, context),
        Format::Junit => machine::render_junit(results, context),
    }
}
