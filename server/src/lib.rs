//! A small, strict HTTP/1.1 reference server for static files.
//!
//! Two variants share one request-handling core and differ only in how they
//! accept connections: [`Mode::Single`] serves one connection at a time with
//! one response each; [`Mode::Threaded`] runs a thread per connection with
//! persistent connections, pipelining and a connection cap.
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
#![forbid(unsafe_code)]

pub mod conditions;
mod connection;
pub mod date;
pub mod files;
pub mod limits;
pub mod parse;
pub mod range;
pub mod request;
pub mod resolve;
pub mod response;
mod server;

pub use crate::server::{Config, Mode, Server, ShutdownHandle, StartError};
