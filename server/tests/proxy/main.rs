//! The reference proxy (`http-server --mode proxy`) between a raw client and
//! a scripted origin that records every byte it receives: each test asserts
//! the exact bytes the origin received and the exact answer the client got
//! (the `Date`s the proxy makes masked), one RFC 9110 / 9112 intermediary
//! requirement at a time.

mod connections;
mod requests;
mod responses;
mod support;
