//! The threaded variant's accept loop. It is not a thread per connection:
//! a pool of workers takes turns to lead.
//!
//! One worker at a time has the turn (leads): it waits on an epoll poll set
//! holding the listener and every connection waiting for its next request,
//! queues what is ready (and what it accepts, at most [`ACCEPT_BATCH`] per
//! wake-up), and serves the queue on its own thread, each connection for at
//! most a turn's budget of requests, so one wake-up serves every connection
//! ready at once and no connection waits behind another for more than a
//! pass. A connection whose requests arrived and whose responses fitted the
//! socket buffer goes back to the poll set until its next request (or its
//! read timeout, when it closes silently), or to the back of the queue if
//! it pipelined more; the last one just accepted goes there if it sends
//! nothing within [`FIRST_BYTES_WAIT`](crate::limits::FIRST_BYTES_WAIT).
//!
//! Before its first read or write that would block, the leader passes the
//! turn on, with the queue and the waiting connections: to a worker waiting
//! for it, or to a new one (at most one per connection under the cap, and
//! one more to answer 503 past it). It then serves that one connection on
//! its own thread, with blocking reads and writes, until it has answered
//! every request read, gives it back to the poll set ([`PollSet`]) and
//! waits for the turn again. Workers are kept and reused. Connections still
//! pending when the turn passes wait in the listener's backlog for the next
//! leader.
//!
//! Past the connection cap, the leader answers a new connection 503 and
//! closes it at once.

use std::collections::VecDeque;
use std::io;
use std::mem::MaybeUninit;
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use rustix::event::{epoll, eventfd, EventfdFlags, Timespec};
use rustix::io::Errno;

use super::accept::Accepted;
use super::{Shared, Workers};
use crate::connection::{self, refuse_overloaded, resume, Idle};
use crate::files::OwnKeyMap;
use crate::limits::{ACCEPT_BACKOFF, ACCEPT_BATCH};

/// The poll set's id for the listener; a connection's is its registry id.
const LISTENER: u64 = u64::MAX;

/// The poll set's id for the wake-up of a connection given back.
const WAKE: u64 = u64::MAX - 1;

/// Most readiness reports taken from the poll set at once.
const POLL_EVENTS: usize = 256;

/// The threaded variant's poll set, with the listener in it, made
/// non-blocking so that the worker with the turn accepts what is pending
/// and goes back to its other connections.
pub(super) fn poll_set(listener: &TcpListener) -> io::Result<PollSet> {
    listener.set_nonblocking(true)?;
    let poll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
    epoll::add(
        &poll,
        listener,
        epoll::EventData::new_u64(LISTENER),
        epoll::EventFlags::IN,
    )?;
    let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
    epoll::add(
        &poll,
        &wake,
        epoll::EventData::new_u64(WAKE),
        epoll::EventFlags::IN,
    )?;
    Ok(PollSet {
        poll,
        wake,
        returned: Mutex::new(Vec::new()),
    })
}

/// The threaded variant's poll set, and the way back into it for the
/// connections handed over to a worker of their own: once such a
/// connection has answered what it was sent, its worker gives it back
/// here and wakes the leader, which puts it in the poll set.
pub(super) struct PollSet {
    poll: OwnedFd,
    /// Readable while connections wait in `returned`.
    wake: OwnedFd,
    returned: Mutex<Vec<(u64, Arc<TcpStream>, Idle)>>,
}

/// Who may lead next, and the connections the leader watches.
#[derive(Default)]
pub(super) struct Turn {
    /// The connections between turns, held here while no worker has the
    /// turn; the worker that takes the turn takes them.
    pub(super) set: Option<Box<Waiting>>,
    /// Workers waiting for the turn.
    workers_waiting: usize,
}

/// The connections between turns: waiting in the poll set for their next
/// request, or ready to be served, in the order they became ready; and when
/// each one's read timeout runs out. It travels with the turn, so a
/// connection found ready is served by the next leader if not by this one.
#[derive(Default)]
pub(super) struct Waiting {
    connections: OwnKeyMap<u64, Entry>,
    /// When each connection's read timeout runs out, in the order they
    /// run out: a connection's deadline is its last exchange's end (or its
    /// accept) plus the one read timeout, so a later one goes to the back.
    /// An entry whose connection has a later deadline since, or is gone,
    /// is stale: skipped when it comes to the front, and swept out once
    /// the stale ones outnumber the connections.
    deadlines: VecDeque<(Instant, u64)>,
    /// The connections ready to be served, first come first served: each
    /// is in the queue at most once (its entry says whether it is), and one
    /// that is served and still has requests read goes to the back, behind
    /// every connection that became ready meanwhile. So a connection with a
    /// request ready is served within one pass over the queue, whatever
    /// the others send.
    ready: VecDeque<u64>,
}

/// A connection between turns.
struct Entry {
    stream: Arc<TcpStream>,
    idle: Idle,
    deadline: Instant,
    /// In the poll set (a connection just accepted is not yet).
    polled: bool,
    /// In the ready queue.
    queued: bool,
}

impl Waiting {
    /// Queues connection `id` to be served, unless it is queued already or
    /// no longer between turns.
    fn make_ready(&mut self, id: u64) {
        if let Some(entry) = self.connections.get_mut(&id) {
            if !entry.queued {
                entry.queued = true;
                self.ready.push_back(id);
            }
        }
    }

    /// The next connection to serve, taken out of the set.
    fn next_ready(&mut self) -> Option<(u64, Entry)> {
        while let Some(id) = self.ready.pop_front() {
            // Gone if its read timeout closed it meanwhile.
            if let Some(entry) = self.connections.remove(&id) {
                return Some((id, entry));
            }
        }
        None
    }

    /// Takes out the connections whose read timeout has run out by `now`,
    /// each passed to `close`, and drops the stale deadlines before the
    /// first that stands, which the leader's next wait is then for.
    fn expire(&mut self, now: Instant, mut close: impl FnMut(u64)) {
        while let Some(&(deadline, id)) = self.deadlines.front() {
            let stands = self
                .connections
                .get(&id)
                .is_some_and(|e| e.deadline == deadline);
            if stands && deadline > now {
                break;
            }
            self.deadlines.pop_front();
            if stands {
                self.connections.remove(&id);
                close(id);
            }
        }
    }

    /// Puts connection `id` between turns, at the back of the ready queue
    /// if it has requests read already. `known`: the deadline it had
    /// before it was served, whose entry in `deadlines` still stands.
    fn insert(&mut self, id: u64, mut entry: Entry, known: Option<Instant>) {
        entry.queued = false;
        let ready = entry.idle.has_requests();
        if known != Some(entry.deadline) {
            self.deadlines.push_back((entry.deadline, id));
        }
        self.connections.insert(id, entry);
        if self.deadlines.len() > 2 * self.connections.len() + 64 {
            let connections = &self.connections;
            self.deadlines.retain(|(deadline, id)| {
                connections.get(id).is_some_and(|e| e.deadline == *deadline)
            });
        }
        if ready {
            self.make_ready(id);
        }
    }
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
    ///
    /// Each pass adds what the poll set reports (and what the listener has
    /// pending) to the back of the ready queue, then serves the connections
    /// in the queue at that moment, each for at most
    /// [`REQUEST_BUDGET`](crate::limits::REQUEST_BUDGET) requests. While
    /// the queue is not empty the poll set is asked without waiting.
    fn lead(self: &Arc<Self>, set: Box<Waiting>) -> bool {
        let poll = &self.poll().poll;
        let mut turn = Some(set);
        let mut events = [MaybeUninit::<epoll::Event>::uninit(); POLL_EVENTS];
        let mut reported = Vec::with_capacity(events.len());
        loop {
            let Some(set) = turn.as_mut() else {
                return true;
            };
            if self.shared.stopping.load(Ordering::SeqCst) {
                let set = turn.take().expect("the turn is held");
                self.close_all(*set);
                return false;
            }
            let wait = if set.ready.is_empty() {
                set.deadlines.front().map(|&(deadline, _)| {
                    // Rounded up, so the wait does not end just before it.
                    let left = deadline.saturating_duration_since(Instant::now());
                    Timespec::try_from(left + Duration::from_micros(999)).unwrap_or(Timespec {
                        tv_sec: 1,
                        tv_nsec: 0,
                    })
                })
            } else {
                Some(Timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                })
            };
            reported.clear();
            match epoll::wait(poll, &mut events, wait.as_ref()) {
                Ok((events, _)) => reported.extend(events.iter().map(|e| e.data.u64())),
                Err(Errno::INTR) => {}
                Err(_) => thread::sleep(ACCEPT_BACKOFF),
            }
            for &id in &reported {
                if id == LISTENER {
                    self.accept_pending(set);
                } else if id == WAKE {
                    self.take_back(set);
                } else {
                    set.make_ready(id);
                }
            }
            for _ in 0..set.ready.len() {
                let Some((id, entry)) = turn.as_mut().and_then(|set| set.next_ready()) else {
                    break;
                };
                self.serve_ready(id, entry, &mut turn);
                if turn.is_none() {
                    return true;
                }
            }
            if let Some(set) = turn.as_mut() {
                self.expire(set, Instant::now());
            }
        }
    }

    /// Accepts the connections pending on the listener, at most
    /// [`ACCEPT_BATCH`], and queues them to be served. The last one may
    /// wait a moment for its first bytes if the backlog is then empty (the
    /// connections that arrive meanwhile are accepted together); with more
    /// pending, none waits.
    fn accept_pending(&self, set: &mut Waiting) {
        let mut last = None;
        let mut emptied = false;
        for _ in 0..ACCEPT_BATCH {
            let stream = match self.accept() {
                Accepted::Connection(stream) => stream,
                Accepted::Nothing => {
                    emptied = true;
                    break;
                }
                Accepted::Stopping => break,
            };
            if self.shared.open_count() >= self.max_connections {
                refuse_overloaded(stream, &self.ctx);
                continue;
            }
            let stream = Arc::new(stream);
            let id = self.shared.register(&stream);
            let Some(idle) = Idle::accepted(&stream, &self.ctx) else {
                self.shared.unregister(id);
                continue;
            };
            let deadline = idle.deadline(&self.ctx);
            let entry = Entry {
                stream,
                idle,
                deadline,
                polled: false,
                queued: false,
            };
            set.insert(id, entry, None);
            set.make_ready(id);
            last = Some(id);
        }
        if let (true, Some(id)) = (emptied, last) {
            if let Some(entry) = set.connections.get_mut(&id) {
                entry.idle.let_first_bytes_wait();
            }
        }
    }

    /// Serves connection `id` as far as it can without waiting, for at most
    /// a turn's budget of requests; puts it back between turns if it waits
    /// for a request or has more requests read. If it must wait on the
    /// client otherwise, passes the turn on, serves it on this thread until
    /// it has answered what it was sent, and gives it back.
    fn serve_ready(self: &Arc<Self>, id: u64, entry: Entry, turn: &mut Option<Box<Waiting>>) {
        let poll = &self.poll().poll;
        let Entry {
            stream,
            idle,
            polled,
            deadline: known,
            ..
        } = entry;
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
            (Some(connection::Turn::Idle(idle)), Some(set)) => {
                self.wait_for_request(id, stream, idle, (polled, Some(known)), set)
            }
            // Handed over, served, and idle again: back to the leader.
            (Some(connection::Turn::Idle(idle)), None) => self.give_back(id, stream, idle),
            _ => self.shared.unregister(id),
        }
    }

    /// Gives a connection this worker was handed back to the leader (or
    /// closes it if the server is stopping).
    fn give_back(&self, id: u64, stream: Arc<TcpStream>, idle: Idle) {
        let poll = self.poll();
        let mut returned = poll.returned.lock().unwrap_or_else(PoisonError::into_inner);
        // Under the lock the leader closes what is given back once it
        // stops: nothing given back later is left behind.
        if self.shared.stopping.load(Ordering::SeqCst) {
            drop(returned);
            self.shared.unregister(id);
            return;
        }
        returned.push((id, stream, idle));
        drop(returned);
        let _ = rustix::io::write(&poll.wake, &1u64.to_ne_bytes());
    }

    /// Puts the connections given back in the poll set.
    fn take_back(&self, set: &mut Waiting) {
        let poll = self.poll();
        let mut count = [0u8; 8];
        let _ = rustix::io::read(&poll.wake, &mut count);
        let returned =
            std::mem::take(&mut *poll.returned.lock().unwrap_or_else(PoisonError::into_inner));
        for (id, stream, idle) in returned {
            self.wait_for_request(id, stream, idle, (false, None), set);
        }
    }

    /// Puts connection `id` in the poll set (unless `polled`, it is there)
    /// to wait for its next request until its read timeout, and at the back
    /// of the ready queue if it has requests read already. `known`: its
    /// deadline before this turn, if it was between turns then.
    fn wait_for_request(
        &self,
        id: u64,
        stream: Arc<TcpStream>,
        idle: Idle,
        (polled, known): (bool, Option<Instant>),
        set: &mut Waiting,
    ) {
        if !polled {
            let added = epoll::add(
                &self.poll().poll,
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
        let entry = Entry {
            stream,
            idle,
            deadline,
            polled: true,
            queued: false,
        };
        set.insert(id, entry, known);
    }

    /// Closes the connections whose read timeout has run out: an idle
    /// connection closes silently.
    fn expire(&self, set: &mut Waiting, now: Instant) {
        set.expire(now, |id| self.shared.unregister(id));
    }

    /// Closes every connection between turns, and those given back (the
    /// server is stopping).
    fn close_all(&self, set: Waiting) {
        for (id, _) in set.connections {
            self.shared.unregister(id);
        }
        let poll = self.poll();
        let mut returned = poll.returned.lock().unwrap_or_else(PoisonError::into_inner);
        for (id, _, _) in returned.drain(..) {
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
    fn poll(&self) -> &PollSet {
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

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;
    use crate::connection::Context;
    use crate::handler::Handler;

    /// Entries for `n` connections to a listener of this test, all with
    /// the deadline `at`, none polled.
    fn entries(n: usize, at: Instant) -> (TcpListener, Vec<Entry>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ctx = Context {
            handler: Handler::new(std::env::temp_dir(), None).unwrap(),
            read_timeout: Duration::from_secs(10),
            min_send_rate: 1,
            send_rate_window: Duration::from_secs(1),
            quiet: true,
            small_files: Default::default(),
        };
        let entries = (0..n)
            .map(|_| {
                let stream = Arc::new(TcpStream::connect(listener.local_addr().unwrap()).unwrap());
                Entry {
                    idle: Idle::accepted(&stream, &ctx).unwrap(),
                    stream,
                    deadline: at,
                    polled: false,
                    queued: false,
                }
            })
            .collect();
        (listener, entries)
    }

    /// Each connection is queued once however often it is reported, and
    /// served in the order it became ready; served and ready again, it
    /// goes behind the others.
    #[test]
    fn the_ready_queue_serves_each_connection_once_a_pass_in_order() {
        let now = Instant::now();
        let (_listener, entries) = entries(3, now);
        let mut set = Waiting::default();
        for (id, entry) in (1..).zip(entries) {
            set.insert(id, entry, None);
        }
        for id in [2, 1, 2, 3, 1, 9] {
            set.make_ready(id);
        }
        let (first, entry) = set.next_ready().unwrap();
        assert_eq!(first, 2);
        set.insert(2, entry, Some(now));
        set.make_ready(2);
        let order: Vec<u64> = std::iter::from_fn(|| set.next_ready().map(|(id, _)| id)).collect();
        assert_eq!(order, [1, 3, 2]);
    }

    /// A connection served again has a later deadline: its earlier one is
    /// stale and expires nothing; stale deadlines are swept out once they
    /// outnumber the connections.
    #[test]
    fn deadlines_expire_in_order_and_stale_ones_are_skipped_and_swept() {
        let t0 = Instant::now();
        let second = Duration::from_secs(1);
        let (_listener, mut two) = entries(2, t0 + second);
        let mut set = Waiting::default();
        let later = two.pop().unwrap();
        set.insert(1, two.pop().unwrap(), None);
        set.insert(
            2,
            Entry {
                deadline: t0 + 2 * second,
                ..later
            },
            None,
        );
        set.make_ready(1);
        let (id, mut entry) = set.next_ready().unwrap();
        assert_eq!(id, 1);
        entry.deadline = t0 + 3 * second;
        set.insert(1, entry, Some(t0 + second));
        let expired = |set: &mut Waiting, at: Instant| {
            let mut closed = Vec::new();
            set.expire(at, |id| closed.push(id));
            closed
        };
        assert_eq!(expired(&mut set, t0 + second), Vec::<u64>::new());
        assert_eq!(expired(&mut set, t0 + 2 * second), [2]);
        assert_eq!(expired(&mut set, t0 + 3 * second), [1]);
        assert!(set.connections.is_empty() && set.deadlines.is_empty());
        // A thousand turns of one connection leave a bounded queue.
        let (_other, mut one) = entries(1, t0);
        set.insert(7, one.pop().unwrap(), None);
        for turn in 1..1000 {
            set.make_ready(7);
            let (_, mut entry) = set.next_ready().unwrap();
            let known = entry.deadline;
            entry.deadline = t0 + turn * Duration::from_millis(1);
            set.insert(7, entry, Some(known));
            assert!(set.deadlines.len() <= 2 + 64, "{}", set.deadlines.len());
        }
        assert_eq!(expired(&mut set, t0 + second), [7]);
    }
}
