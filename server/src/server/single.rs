//! The single variant's accept loop: one thread accepts a connection,
//! serves its one request, closes it, and only then accepts the next.
//! Pending connections wait in the listener's backlog meanwhile; there is
//! no connection cap, no poll set and no other thread.

use std::sync::Arc;

use super::accept::Accepted;
use super::Workers;
use crate::connection::serve;

impl Workers {
    /// The single variant: one connection at a time, to its close.
    pub(super) fn serve_one_at_a_time(&self) {
        loop {
            match self.accept() {
                Accepted::Connection(stream) => {
                    let stream = Arc::new(stream);
                    let id = self.shared.register(&stream);
                    self.guarded(|| serve(&stream, &self.ctx, &self.shared.stopping));
                    self.shared.unregister(id);
                }
                Accepted::Nothing => {}
                Accepted::Stopping => return,
            }
        }
    }
}
