//! The binary's parts, one concept a file; `main` only parses, dispatches
//! and exits.
//!
//! From the options up: [`args`] is what the user typed and [`usage`] how a
//! bad argument is told; [`exit`] holds the exit codes and the failures that
//! map to them. [`catalogue`] loads and selects the cases ([`suggest`] names
//! near ids), [`target`] parses and reaches a `--target`. `run` is
//! [`plan`] (checked before the first connect), [`nofile`] (`--jobs`
//! against the open-file limit), then [`run`] itself, which uses
//! [`signals`], [`watch`], [`progress`] and [`colour`] while the cases go
//! and [`output`] to write its files. The other commands have a file
//! each: [`list`], [`explain`], [`diff`], [`report`], [`coverage`], and
//! [`chain`], which runs the chain cases as `run` runs the catalogue, and
//! [`chain_catalogue`], which runs the catalogue itself through a front.

pub(crate) mod args;
pub(crate) mod catalogue;
pub(crate) mod chain;
pub(crate) mod chain_catalogue;
pub(crate) mod colour;
pub(crate) mod coverage;
pub(crate) mod diff;
pub(crate) mod exit;
pub(crate) mod explain;
pub(crate) mod list;
pub(crate) mod nofile;
pub(crate) mod output;
pub(crate) mod plan;
pub(crate) mod progress;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod signals;
pub(crate) mod suggest;
pub(crate) mod target;
pub(crate) mod usage;
pub(crate) mod watch;
