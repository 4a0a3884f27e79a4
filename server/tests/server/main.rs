//! Integration tests of the reference server, one binary split by topic.
//! Every test starts its own servers on 127.0.0.1:0 and stops them.

use rstest_reuse::template;

/// Runs a test once on each variant: `#[apply(both_modes)]` on a test
/// that takes `mode: Mode` (and any `#[case]`s or `#[values]` of its own).
#[template]
#[rstest]
fn both_modes(#[values(Mode::Single, Mode::Threaded)] mode: Mode) {}

mod connections;
mod expect;
mod faults;
mod files;
mod lifecycle;
mod load;
mod preconditions;
mod properties;
mod ranges;
mod scale;
mod semantics;
mod support;
mod traversal;
