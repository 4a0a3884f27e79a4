//! Every limit and timeout of the server, in one place, each with the status
//! code a request that crosses it receives.

use std::time::Duration;

/// Longest request-target accepted, in octets. Longer: 414 (URI Too Long).
///
/// RFC 9112 §3: "It is RECOMMENDED that all HTTP senders and recipients
/// support, at a minimum, request-line lengths of 8000 octets."
pub(crate) const MAX_TARGET_LEN: usize = 8000;

/// Longest method token accepted, in octets. Longer: 501 (Not Implemented),
/// since no method this server implements is that long (RFC 9112 §3).
pub(crate) const MAX_METHOD_LEN: usize = 32;

/// Largest header section (the field lines after the request-line, with
/// their line ends), in octets. Larger: 431 (Request Header Fields Too Large).
pub(crate) const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Most field lines accepted in one request. More: 431.
pub(crate) const MAX_FIELDS: usize = 100;

/// Most hex digits in a chunk size. More: 400, since no one sends a chunk
/// of a petabyte, and 16 digits could overflow the size.
pub(crate) const MAX_CHUNK_SIZE_DIGITS: usize = 15;

/// Largest request body the server reads and discards to keep a persistent
/// connection in sync. Larger: the response is sent with `Connection: close`
/// and the rest of the body is never read.
pub const MAX_DISCARDED_BODY: u64 = 1024 * 1024;

/// Most ranges one `Range` header may ask for. More: the header is ignored
/// and the whole file is sent (200), so a header of thousands of ranges
/// costs a scan, not thousands of parts.
///
/// RFC 9110 §14.2: "A server that supports range requests MAY ignore or
/// reject a Range header field that contains ... a set of many small ranges
/// that are not listed in ascending order, since these are indications of
/// either a broken client or a deliberate denial-of-service attack".
pub const MAX_RANGES: usize = 32;

/// The most request paths whose resolution is remembered between requests
/// (past it, new paths are resolved anew each time).
pub const MAX_REMEMBERED_PATHS: usize = 4096;

/// The most files and directories watched for changes so that remembered
/// resolutions can be trusted (past it, new paths are resolved anew each
/// time, as when the system refuses another watch).
pub const MAX_WATCHES: usize = 1024;

/// Time a client has to send a complete request head once the server waits
/// for one. Past it: 408 (Request Timeout) and close if some bytes arrived,
/// a silent close if none did.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How far past a read deadline a blocked read may go before the socket's
/// timeout is set again: the socket keeps one timeout across requests, and
/// setting it for every request would cost a system call each.
pub(crate) const READ_TIMEOUT_SLACK: Duration = Duration::from_millis(20);

/// Least progress a response must make, in octets per second, averaged over
/// each [`SEND_RATE_WINDOW`] while it is sent. Slower: the response is
/// abandoned and its connection reset, so a client that reads a large file
/// a few bytes at a time cannot hold a worker (or the single variant) for
/// as long as it likes. A response the socket buffers take at once is never
/// measured.
pub(crate) const MIN_SEND_RATE: u64 = 4 * 1024;

/// The window [`MIN_SEND_RATE`] is averaged over, sliding: a client that
/// stops reading is cut off once the octets the socket buffers took before
/// leave the window, about one window after it stopped.
pub(crate) const SEND_RATE_WINDOW: Duration = Duration::from_secs(10);

/// How many slots a send-rate window is counted in: a response is judged
/// once a slot (a blocked write returns after one) on the window that just
/// ended, so a stalled client is cut off within a slot of the window's end.
pub(crate) const SEND_RATE_SLOTS: usize = 10;

/// How long the threaded variant's leading worker waits for a connection
/// it just accepted to send its first bytes, before it puts the connection
/// in the poll set. A client usually sends its request right after the
/// handshake; waiting on that one socket, rather than on the poll set, lets
/// the next connections queue up on the listener meanwhile, to be accepted
/// together without a wake-up each.
pub(crate) const FIRST_BYTES_WAIT: Duration = Duration::from_micros(250);

/// Time the 503 to a connection past the cap may block: the accept loop
/// that writes it must not wait on a client that does not read.
pub(crate) const OVERLOAD_WRITE_TIMEOUT: Duration = Duration::from_millis(100);

/// Time spent draining a client's unread bytes after the server half-closes,
/// so the kernel sends FIN, not RST, and the client reads the response.
pub(crate) const LINGER_TIMEOUT: Duration = Duration::from_millis(500);

/// Most bytes drained during that linger.
pub(crate) const MAX_LINGER_BYTES: usize = 1024 * 1024;

/// Descriptors the default connection cap leaves free of the open-file
/// limit, at the least: standard streams, the listener, the poll set, the
/// signal handler's pipe, and the files being read (a small file on its
/// first request, a large one for as long as it is streamed, a listing).
pub const RESERVED_FDS: u64 = 64;

/// The share of the open-file limit the default cap leaves free, when it
/// is more than [`RESERVED_FDS`]: one descriptor in 16, for the files that
/// the connections' responses have open at once.
pub const RESERVED_FDS_SHARE: u64 = 16;

/// The default cap on concurrent client connections in proxy mode: each
/// holds a thread and, while a request is forwarded, a second descriptor
/// for the upstream connection. Past the cap: 503.
pub const PROXY_MAX_CONNECTIONS: usize = 256;

/// The largest connection cap, given or defaulted (`--max-connections`).
pub const MAX_CONNECTIONS_LIMIT: usize = 1_000_000;

/// The default cap on concurrent connections in threaded mode, for a soft
/// open-file limit (`RLIMIT_NOFILE`) of `nofile` descriptors (`None`: no
/// limit): each connection is one descriptor, and past the limit `accept`
/// would fail, so the cap is the limit less what the server needs besides
/// ([`RESERVED_FDS`], or one in [`RESERVED_FDS_SHARE`] when that is more);
/// at least 1, at most [`MAX_CONNECTIONS_LIMIT`]. Past the cap: 503.
///
/// With the common soft limit of 1024 that is 960 connections; with
/// 20 000, 18 750.
pub fn connection_cap(nofile: Option<u64>) -> usize {
    let Some(nofile) = nofile else {
        return MAX_CONNECTIONS_LIMIT;
    };
    let reserved = RESERVED_FDS.max(nofile / RESERVED_FDS_SHARE);
    let cap = usize::try_from(nofile.saturating_sub(reserved)).unwrap_or(usize::MAX);
    cap.clamp(1, MAX_CONNECTIONS_LIMIT)
}

/// The default connection cap of this process: [`connection_cap`] of its
/// soft open-file limit, as it is now.
pub fn default_max_connections() -> usize {
    connection_cap(rustix::process::getrlimit(rustix::process::Resource::Nofile).current)
}

/// Most requests one connection has answered in a turn of the threaded
/// variant's leader before the connections behind it are served: a client
/// that pipelines gets this many answers, then waits its turn again.
pub(crate) const REQUEST_BUDGET: usize = 16;

/// Connections the kernel holds for the server to accept (the `listen`
/// backlog; Linux clamps it to `net.core.somaxconn`, 4096 by default).
pub(crate) const LISTEN_BACKLOG: i32 = 4096;

/// Time the proxy gives its origin to accept a connection, and each read
/// from it or write to it. Past it, before anything was relayed: 504
/// (Gateway Timeout); after: the client connection closes.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// Most interim (1xx) responses the proxy relays before a final one. More:
/// 502, so an origin cannot hold a client with an endless stream of them.
pub(crate) const MAX_INTERIM_RESPONSES: usize = 16;

/// Pause after a failed `accept` (out of descriptors or memory), so the
/// accept loop backs off rather than spins while the cause persists.
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// Most connections the threaded variant accepts at once from one report
/// that the listener is ready, before it serves the others that are.
pub(crate) const ACCEPT_BATCH: usize = 64;

/// Time shutdown waits for the connection that wakes a blocked `accept`.
pub(crate) const WAKE_TIMEOUT: Duration = Duration::from_secs(1);

/// Size of the chunks a file is streamed in: the memory a large file costs.
pub(crate) const FILE_CHUNK: usize = 64 * 1024;

/// Largest file whose content is kept in memory between requests (it is
/// sent with its head in one write). Larger files are streamed.
pub(crate) const MAX_CACHED_FILE: u64 = FILE_CHUNK as u64;

/// Most bytes of file content kept in memory at once.
pub(crate) const MAX_CACHE_BYTES: usize = 8 * 1024 * 1024;

/// Initial capacity of a connection's read buffer.
pub(crate) const READ_CHUNK: usize = 8 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_is_the_open_file_limit_less_a_reserve() {
        for (nofile, cap) in [
            (Some(0), 1),
            (Some(64), 1),
            (Some(100), 36),
            (Some(1024), 960),
            (Some(4096), 3840),
            (Some(20_000), 18_750),
            (Some(1 << 21), MAX_CONNECTIONS_LIMIT),
            (None, MAX_CONNECTIONS_LIMIT),
        ] {
            assert_eq!(connection_cap(nofile), cap, "{nofile:?}");
        }
    }
}
