//! A conformance suite for HTTP/1.1 servers: cases that send raw bytes over
//! TCP and grade the answers against the RFC 9110 / RFC 9112 sentences they
//! quote.
//!
//! The pieces, in the order a run uses them:
//!
//! - [`case`] loads and validates the catalogue (`fixtures/cases/*.toml`,
//!   compiled into the crate; [`template`] holds the variables a case's
//!   bytes may use);
//! - [`control`] asks the target for one resource before any case, to learn
//!   what the cases are graded relative to;
//! - [`wire`] is the raw client, over TCP or TLS, that plays a plan of steps
//!   (a case's, or the control's) and records what came back;
//! - [`verdict`] grades each recorded outcome against the case;
//! - [`run`] runs many cases concurrently against one target;
//! - [`snapshot`] renders the heads for exact snapshot tests;
//! - [`report`] renders a run as text, JSON, JUnit or Markdown, with
//!   [`render`]'s escaping of the server's bytes for each format and its
//!   one way of writing an outcome;
//! - [`explain`] renders `list` and `explain`;
//! - [`matrix`] records how several servers answered, for `make matrix`,
//!   and renders it as Markdown; [`page`] renders it as a self-contained
//!   HTML report;
//! - [`diff`] compares the answers of several targets to the same cases;
//! - [`baseline`] reads the list of known failures a CI run tolerates;
//! - [`coverage`] counts the testable requirements the catalogue quotes;
//! - [`limits`] holds every bound the client puts on a peer and itself.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod baseline;
pub mod case;
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
pub mod run;
pub mod snapshot;
pub mod template;
pub mod verdict;
pub mod wire;

pub use case::{Case, Check, Expect, Group, Level, Need, Step, Token};
pub use control::Control;
pub use run::{run_cases, CaseResult, Environment, RunOptions, StepResult};
pub use verdict::Grade;
pub use wire::{Outcome, Response};
