//! Taking one connection from the listener: both variants' accept loops
//! take every connection through [`next_connection`].

use std::io;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};

/// What one attempt to accept gave.
pub(super) enum Accepted {
    Connection(TcpStream),
    /// Nothing is pending (or the attempt failed and paused).
    Nothing,
    /// The server is stopping.
    Stopping,
}

/// One attempt to accept: the connection, nothing pending (the listener is
/// non-blocking, or its timeout ran out), or a pause after a failure (out
/// of descriptors or memory: the cause persists for a while, and retrying
/// at once would spin). Both variants take every connection through this
/// function.
pub(super) fn next_connection(
    accept: impl FnOnce() -> io::Result<TcpStream>,
    stopping: &AtomicBool,
    pause: impl FnOnce(),
) -> Accepted {
    if stopping.load(Ordering::SeqCst) {
        return Accepted::Stopping;
    }
    let accepted = accept();
    if stopping.load(Ordering::SeqCst) {
        return Accepted::Stopping;
    }
    match accepted {
        Ok(stream) => Accepted::Connection(stream),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
            ) =>
        {
            Accepted::Nothing
        }
        Err(_) => {
            pause();
            Accepted::Nothing
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::net::TcpListener;

    /// Both variants take connections through `next_connection`: a failed
    /// accept pauses once and gives nothing; the next attempt is made.
    #[test]
    fn accept_errors_pause_once_each_then_the_connection_is_taken() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let mut results = vec![
            Ok(()),
            Err(io::ErrorKind::ConnectionAborted),
            Err(io::ErrorKind::OutOfMemory),
        ];
        let stopping = AtomicBool::new(false);
        let pauses = Cell::new(0);
        let mut attempts = 0;
        let stream = loop {
            attempts += 1;
            let accepted = next_connection(
                || match results.pop().unwrap() {
                    Ok(()) => listener.accept().map(|(stream, _)| stream),
                    Err(kind) => Err(io::Error::from(kind)),
                },
                &stopping,
                || pauses.set(pauses.get() + 1),
            );
            match accepted {
                Accepted::Connection(stream) => break stream,
                Accepted::Nothing => assert_eq!(pauses.get(), attempts),
                Accepted::Stopping => panic!("not stopping"),
            }
        };
        assert_eq!(stream.peer_addr().unwrap(), client.local_addr().unwrap());
        assert_eq!((attempts, pauses.get()), (3, 2));
        assert!(results.is_empty());
    }

    /// Nothing pending on a non-blocking listener (or a listener whose
    /// timeout ran out) is no failure: no pause.
    #[test]
    fn nothing_pending_is_no_failure() {
        let stopping = AtomicBool::new(false);
        for kind in [io::ErrorKind::WouldBlock, io::ErrorKind::TimedOut] {
            let accepted = next_connection(
                || Err(io::Error::from(kind)),
                &stopping,
                || panic!("paused after {kind:?}"),
            );
            assert!(matches!(accepted, Accepted::Nothing));
        }
    }

    #[test]
    fn stopping_takes_no_connection() {
        let stopping = AtomicBool::new(true);
        let taken = next_connection(|| panic!("accept was called"), &stopping, || {});
        assert!(matches!(taken, Accepted::Stopping));
    }

    /// A connection accepted while the server began stopping is not served.
    #[test]
    fn a_connection_accepted_during_shutdown_is_dropped() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let stopping = AtomicBool::new(false);
        let taken = next_connection(
            || {
                let accepted = listener.accept().map(|(stream, _)| stream);
                stopping.store(true, Ordering::SeqCst);
                accepted
            },
            &stopping,
            || {},
        );
        assert!(matches!(taken, Accepted::Stopping));
    }
}
