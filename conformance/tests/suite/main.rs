//! The crate's integration tests, one binary split by topic.
//!
//! Every server here is an in-test responder bound to `127.0.0.1:0` first
//! and handed over by address; none sleeps to wait for another.

mod baseline;
mod browser;
mod catalogue;
mod chain;
mod chain_catalogue;
mod chain_matrix;
mod chain_proxies;
mod chain_reference;
mod cli;
mod control;
mod diff;
mod fair;
mod fair_responders;
mod hostile;
mod interrupt;
mod junit;
mod matrix;
mod policy;
mod readable;
mod reports;
mod run;
mod stop;
mod support;
mod targets;
mod tls;
mod usage;
mod wrong;
mod wrong_semantics;
