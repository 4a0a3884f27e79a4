//! The threaded variant's accept loop. It is not a thread per connection:
//! a pool of workers takes turns to lead.
//!
//! One worker at a time has the turn (leads): it waits on an epoll poll set
//! holding the listener and every connection waiting for its next request,
//! accepts what is pending (at most [`ACCEPT_BATCH`] per wake-up) and
//! serves each connection that is ready on its own thread, so no
//! connection is handed from thread to thread and one wake-up serves every
//! connection ready at once. A connection whose request arrived and whose
//! response fitted the socket buffer goes back to the poll set until its
//! next request (or its read timeout, when it closes silently); one just
//! accepted goes there if it sends nothing within
//! [`FIRST_BYTES_WAIT`](crate::limits::FIRST_BYTES_WAIT).
//!
//! Before its first read or write that would block, or when a client has
//! more requests buffered (pipelining), the leader passes the turn on, with
//! the waiting connections: to a worker waiting for it, or to a new one (at
//! most one per connection under the cap, and one more to answer 503 past
//! it). It then serves that one connection on its own thread, with
//! blocking reads and writes, until it closes, and waits for the turn
//! again. Workers are kept and reused. Connections still pending when the
//! turn passes wait in the listener's backlog for the next leader.
//!
//! Past the connection cap, the leader answers a new connection 503 and
//! closes it at once.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::mem::MaybeUninit;
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use rustix::event::{epoll, Timespec};
use rustix::io::Errno;

use super::accept::Accepted;
use super::{Shared, Workers};
use crate::connection::{refuse_overloaded, resume, Idle};
use crate::limits::{ACCEPT_BACKOFF, ACCEPT_BATCH};

/// The poll set's id for the listener; a connection's is its registry id.
const LISTENER: u64 = u64::MAX;

/// The threaded variant's poll set, with the listener in it, made
/// non-blocking so that the worker with the turn accepts what is pending
/// and goes back to its other connections.
pub(super) fn poll_set(listener: &TcpListener) -> io::Result<OwnedFd> {
    listener.set_nonblocking(true)?;
    let poll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
    epoll::add(
        &poll,
        listener,
        epoll::EventData::new_u64(LISTENER),
        epoll::EventFlags::IN,
    )?;
    Ok(poll)
}

/// Who may lead next, and the connections the leader watches.
#[derive(Default)]
pub(super) struct Turn {
    /// The connections waiting for a request, held here while no worker
    /// has the turn; the worker that takes the turn takes them.
    pub(super) set: Option<Box<Waiting>>,
    /// Workers waiting for the turn.
    workers_waiting: usize,
}

/// The connections waiting in the poll set for their next request, and
/// when each one's read timeout runs out.
#[derive(Default)]
pub(super) struct Waiting {
    connections: HashMap<u64, (Arc<TcpStream>, Idle, Instant)>,
    deadlines: BTreeSet<(Instant, u64)>,
}

impl Workers {
    /// A threaded worker: leads while it has the turn, serves the
    /// connection it then keeps, and waits for the turn again, until the
    /// server stops.
    pub(super) fn work(self: Arc<Self>) {
        while let Some(set) = self.shared.take_turn() {
            if self.shared.stopping.load(Ordering::SeqCst) {
                self.close_all(*set);
                break;
            }
            if !self.lead(set) {
                break;
            }
        }
        self.alive.fetch_sub(1, Ordering::SeqCst);
    }

    /// Waits on the poll set and serves what is ready, until this worker
    /// passes the turn (then `true`, once the connection it kept has
    /// closed) or the server stops (`false`).
    fn lead(self: &Arc<Self>, set: Box<Waiting>) -> bool {
        let poll = self.poll();
        let mut turn = Some(set);
        let mut events = [MaybeUninit::<epoll::Event>::uninit(); 64];
        let mut ready = Vec::with_capacity(events.len());
        loop {
            let Some(set) = turn.as_mut() else {
                return true;
            };
            if self.shared.stopping.load(Ordering::SeqCst) {
                let set = turn.take().expect("the turn is held");
                self.close_all(*set);
                return false;
            }
            let wait = set.deadlines.first().map(|&(deadline, _)| {
                // Rounded up, so the wait does not end just before it.
                let left = deadline.saturating_duration_since(Instant::now());
                Timespec::try_from(left + Duration::from_micros(999)).unwrap_or(Timespec {
                    tv_sec: 1,
                    tv_nsec: 0,
                })
            });
            ready.clear();
            match epoll::wait(poll, &mut events, wait.as_ref()) {
                Ok((events, _)) => ready.extend(events.iter().map(|e| e.data.u64())),
                Err(Errno::INTR) => {}
                Err(_) => thread::sleep(ACCEPT_BACKOFF),
            }
            for &id in &ready {
                if id == LISTENER {
                    self.accept_pending(&mut turn);
                } else {
                    self.resume_waiting(id, &mut turn);
                }
                if turn.is_none() {
                    return true;
                }
            }
            if let Some(set) = turn.as_mut() {
                self.expire(set, Instant::now());
            }
        }
    }

    /// Accepts the connections pending on the listener and serves each as
    /// far as it can without waiting. If the turn is passed on meanwhile,
    /// the rest stay pending for the next leader.
    fn accept_pending(self: &Arc<Self>, turn: &mut Option<Box<Waiting>>) {
        for _ in 0..ACCEPT_BATCH {
            let stream = match self.accept() {
                Accepted::Connection(stream) => stream,
                Accepted::Nothing | Accepted::Stopping => return,
            };
            if self.shared.open_count() >= self.max_connections {
                refuse_overloaded(stream, &self.ctx);
                continue;
            }
            let stream = Arc::new(stream);
            let id = self.shared.register(&stream);
            match Idle::accepted(&stream, &self.ctx) {
                Some(idle) => self.serve_ready(id, stream, idle, false, turn),
                None => self.shared.unregister(id),
            }
            if turn.is_none() {
                return;
            }
        }
    }

    /// Serves a waiting connection the poll set reported ready.
    fn resume_waiting(self: &Arc<Self>, id: u64, turn: &mut Option<Box<Waiting>>) {
        let Some(set) = turn.as_mut() else {
            return;
        };
        let Some((stream, idle, deadline)) = set.connections.remove(&id) else {
            return;
        };
        set.deadlines.remove(&(deadline, id));
        self.serve_ready(id, stream, idle, true, turn);
    }

    /// Serves connection `id` as far as it can without waiting; puts it in
    /// the poll set if it waits for a request, or passes the turn on (and
    /// serves it to its close) if it must wait on the client otherwise.
    fn serve_ready(
        self: &Arc<Self>,
        id: u64,
        stream: Arc<TcpStream>,
        idle: Idle,
        polled: bool,
        turn: &mut Option<Box<Waiting>>,
    ) {
        let poll = self.poll();
        let served = self.guarded(|| {
            let mut pass = || {
                if polled {
                    let _ = epoll::delete(poll, &*stream);
                }
                if let Some(set) = turn.take() {
                    self.pass_turn(set);
                }
            };
            resume(&stream, &self.ctx, idle, &self.shared.stopping, &mut pass)
        });
        match (served, turn.as_mut()) {
            (Some(Some(idle)), Some(set)) => self.wait_for_request(id, stream, idle, polled, set),
            _ => self.shared.unregister(id),
        }
    }

    /// Puts connection `id` in the poll set (unless `polled`, it is there)
    /// to wait for its next request until its read timeout.
    fn wait_for_request(
        &self,
        id: u64,
        stream: Arc<TcpStream>,
        idle: Idle,
        polled: bool,
        set: &mut Waiting,
    ) {
        let poll = self.poll();
        if !polled {
            let added = epoll::add(
                poll,
                &*stream,
                epoll::EventData::new_u64(id),
                epoll::EventFlags::IN,
            );
            if added.is_err() {
                self.shared.unregister(id);
                return;
            }
        }
        let deadline = idle.deadline(&self.ctx);
        set.deadlines.insert((deadline, id));
        set.connections.insert(id, (stream, idle, deadline));
    }

    /// Closes the waiting connections whose read timeout has run out: an
    /// idle connection closes silently.
    fn expire(&self, set: &mut Waiting, now: Instant) {
        while let Some(&(deadline, id)) = set.deadlines.first() {
            if deadline > now {
                break;
            }
            set.deadlines.pop_first();
            if set.connections.remove(&id).is_some() {
                self.shared.unregister(id);
            }
        }
    }

    /// Closes every waiting connection (the server is stopping).
    fn close_all(&self, set: Waiting) {
        for (id, _) in set.connections {
            self.shared.unregister(id);
        }
    }

    /// Gives the turn (and the waiting connections) up: to a waiting
    /// worker, else to a new one. Past the cap's workers and the one more
    /// that refuses, none is spawned: the next worker to finish its
    /// connection takes the turn.
    fn pass_turn(self: &Arc<Self>, set: Box<Waiting>) {
        let mut turn = self.shared.turn_lock();
        turn.set = Some(set);
        if turn.workers_waiting > 0 {
            self.shared.turn_passed.notify_one();
            return;
        }
        drop(turn);
        let most = self.max_connections.saturating_add(1);
        let counted = self
            .alive
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < most).then_some(n + 1)
            });
        if counted.is_err() {
            return;
        }
        let worker = Arc::clone(self);
        match thread::Builder::new()
            .name("http-conn".into())
            .spawn(move || worker.work())
        {
            Ok(handle) => self.spawned_lock().push(handle),
            Err(_) => {
                self.alive.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// The threaded variant's poll set.
    fn poll(&self) -> &OwnedFd {
        self.poll
            .as_ref()
            .expect("the threaded variant has a poll set")
    }
}

impl Shared {
    pub(super) fn turn_lock(&self) -> MutexGuard<'_, Turn> {
        self.turn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for the turn and takes it, with the waiting connections;
    /// `None` once the server is stopping and another worker has them.
    fn take_turn(&self) -> Option<Box<Waiting>> {
        let mut turn = self.turn_lock();
        loop {
            if let Some(set) = turn.set.take() {
                return Some(set);
            }
            if self.stopping.load(Ordering::SeqCst) {
                return None;
            }
            turn.workers_waiting += 1;
            turn = self
                .turn_passed
                .wait(turn)
                .unwrap_or_else(PoisonError::into_inner);
            turn.workers_waiting -= 1;
        }
    }
}
