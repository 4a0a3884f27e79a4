//! A conformance suite for HTTP/1.1 servers: cases that send raw bytes over
//! TCP and grade the answers against the RFC 9110 / RFC 9112 sentences they
//! quote.
//!
//! A run loads the catalogue ([`case`]), asks the target for one resource
//! first ([`control`]), plays each case's steps over the raw client
//! ([`wire`]), grades what came back ([`verdict`]), many cases at once
//! ([`run`]), and writes the results as a report, a snapshot or a matrix.
//!
//! Three words keep three jobs apart. To *escape* is to turn bytes into
//! text that is safe where it is written: the case notation, and each
//! output format's escaping of what a server sent ([`escape`], a leaf that
//! knows nothing of cases or reports). To *describe* is to word a result
//! for people: what a step got, what a case wants ([`report`]'s
//! `describe`, the one way every output says it). To *render* is to write
//! a whole document in one format: a report, a snapshot, a matrix page,
//! `list` and `explain`.
//!
//! ## Layers
//!
//! Top layer first; a module uses only the modules listed after it.
//!
//! - [`explain`] what `list` and `explain` print: a case, and what servers answered it
//! - [`chain`] chain mode: a front (reverse proxy) checked from the client and from the origin behind it
//! - [`page`] a matrix, or one run, as one self-contained HTML page
//! - [`saved`] a run's JSON report read back, as a matrix of one server
//! - [`matrix`] how several servers answered the catalogue, for `make matrix`
//! - [`diff`] the cases where several targets answer differently, by kind
//! - [`report`] a run as text, JSON, JUnit or Markdown, and describing results for people
//! - [`snapshot`] a case result's heads, normalised, for exact snapshot tests
//! - [`coverage`] which testable requirements of RFC 9110 and RFC 9112 the cases test
//! - [`baseline`] the known failures a CI run tolerates
//! - [`rules`] what every response must satisfy, checked on all a run read, once per rule
//! - [`run`] many cases against one target at once, each on its own connection
//! - [`control`] the target's answer to one clean request, before any case
//! - [`verdict`] grading a recorded outcome against its case: matching, checks
//! - [`case`] the case model, loading and validating case files, the catalogue
//! - [`wire`] the raw client over TCP or TLS: plays steps, records what came back
//! - [`escape`] bytes as safe text: the case notation, and each output format's escaping
//! - [`template`] a case's bytes with the variables a run fills in
//! - [`date`] IMF-fixdate, checked and written
//! - [`limits`] every bound the client puts on a peer and on itself
// The layer map names the crate's own modules too (`verdict`).
#![allow(rustdoc::private_intra_doc_links)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod baseline;
pub mod case;
pub mod chain;
pub mod control;
pub mod coverage;
pub mod date;
pub mod diff;
pub mod escape;
pub mod explain;
pub mod limits;
pub mod matrix;
pub mod page;
pub mod report;
pub mod rules;
pub mod run;
pub mod saved;
pub mod snapshot;
pub mod template;
pub(crate) mod verdict;
pub mod wire;

pub use case::{Case, Check, Expect, Group, Level, Need, Step, Token};
pub use control::Control;
pub use run::{run_cases, CaseResult, Environment, RunOptions, StepResult};
pub use verdict::{CheckResult, Grade, Matched, StepVerdict};
pub use wire::{Outcome, Response};
