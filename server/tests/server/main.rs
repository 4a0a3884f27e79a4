//! Integration tests of the reference server, one binary split by topic.
//! Every test starts its own servers on 127.0.0.1:0 and stops them.

mod connections;
mod expect;
mod faults;
mod files;
mod lifecycle;
mod load;
mod preconditions;
mod properties;
mod ranges;
mod semantics;
mod support;
mod traversal;
