//! A small, strict HTTP/1.1 reference server for static files.
//!
//! Two variants share one request-handling core and differ only in how they
//! accept connections: [`Mode::Single`] serves one connection at a time with
//! one response each; [`Mode::Threaded`] serves persistent connections, with
//! pipelining and a connection cap, from a pool of worker threads that take
//! turns to lead: the leader waits on an epoll poll set holding the listener
//! and every connection waiting for its next request, and serves what is
//! ready (see [`Server::run`]).
//!
//! ```no_run
//! use server::{Config, Mode, Server};
//!
//! let server = Server::bind("127.0.0.1:0", Config::new("fixtures/root")).unwrap();
//! println!("listening on http://{}", server.local_addr());
//! let stop = server.shutdown_handle();
//! let running = std::thread::spawn(move || server.run(Mode::Threaded));
//! stop.shutdown();
//! running.join().unwrap();
//! ```
//!
//! The parsers and the request checks are public too, for the property
//! tests and the fuzz target that feed them arbitrary bytes.
//!
//! [`Proxy`] is the reference proxy: a gateway in front of one origin,
//! built on the same parser and head writer (`--mode proxy`).
//!
//! ## Layers
//!
//! Top layer first; a module uses only the modules listed after it.
//!
//! - [`proxy`] the reference gateway: a thread per client, a new upstream
//!   connection per request, both directions parsed strictly and re-framed
//! - [`server`] binds, runs the single or threaded accept loop, shuts down
//! - [`connection`] reads requests, writes responses, closes connections
//! - [`respond`] one exchange without a socket: the content's plan and the
//!   answer's bytes, for an origin that reads requests its own way
//! - [`handler`] decides the response to a parsed request, without a socket
//! - [`response`] a response's status, fields and content, and its head
//! - [`request`] what a parsed head means: framing, Host, method, target
//! - [`problem`] every reason to refuse a request, as a status and a close
//! - [`conditions`] the preconditions of RFC 9110 §13
//! - [`range`] Range requests and `multipart/byteranges` (RFC 9110 §14)
//! - [`resolve`] a decoded path to what lies under the root
//! - [`files`] content types, validators, listings, the small-file cache
//! - [`date`] HTTP-dates read in all three formats
//! - [`parse`] the request head and chunked body grammar
//! - [`limits`] every limit and timeout, as a named constant
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// The layer map names the private modules too.
#![allow(rustdoc::private_intra_doc_links)]

pub mod conditions;
mod connection;
pub mod date;
pub mod files;
mod handler;
pub mod limits;
pub mod parse;
pub mod problem;
mod proxy;
pub mod range;
pub mod request;
mod resolve;
pub mod respond;
pub mod response;
mod server;

pub use crate::proxy::{Proxy, ProxyConfig, ProxyShutdown, ProxyStartError};
pub use crate::server::{Config, Mode, Server, ShutdownHandle, StartError};
