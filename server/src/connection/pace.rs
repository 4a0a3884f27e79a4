//! A response's progress against the minimum send rate, so that a client
//! that reads too slowly cannot hold a worker for ever.

use std::time::{Duration, Instant};

use crate::limits::SEND_RATE_SLOTS;

/// A response's progress against the minimum send rate: octets written
/// per slot, over the last window's slots. Once a whole window has passed,
/// the last window must hold the rate's worth of octets; what the socket
/// buffers took at the start counts only while it lies within the window.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pace {
    start: Instant,
    slot: Duration,
    /// Octets due in each window.
    quota: u64,
    /// Octets written in each slot, by slot number modulo the length: the
    /// window's slots and the current one.
    sent: [u64; SEND_RATE_SLOTS + 1],
    /// The number of the current slot since `start`.
    current: u64,
}

impl Pace {
    /// The pace of a response whose first write is at `now`, due `rate`
    /// octets per second over each `window`.
    pub(super) fn new(now: Instant, rate: u64, window: Duration) -> Pace {
        let quota = u128::from(rate) * window.as_millis() / 1000;
        Pace {
            start: now,
            slot: Pace::slot(window),
            quota: u64::try_from(quota).unwrap_or(u64::MAX),
            sent: [0; SEND_RATE_SLOTS + 1],
            current: 0,
        }
    }

    /// The length of one slot of `window`: also the socket's write timeout,
    /// so a blocked write returns once a slot to be judged.
    pub(super) fn slot(window: Duration) -> Duration {
        (window / SEND_RATE_SLOTS as u32).max(Duration::from_millis(1))
    }

    /// Counts `n` octets written at `now`.
    pub(super) fn sent(&mut self, now: Instant, n: usize) {
        self.advance(now);
        let slot = (self.current % self.sent.len() as u64) as usize;
        self.sent[slot] = self.sent[slot].saturating_add(n as u64);
    }

    /// Whether the response keeps pace at `now`: false once a whole window
    /// has passed and the last one carried less than the quota.
    pub(super) fn keeps_pace(&mut self, now: Instant) -> bool {
        self.advance(now);
        if self.current < SEND_RATE_SLOTS as u64 {
            return true;
        }
        let slot = (self.current % self.sent.len() as u64) as usize;
        let window: u64 = self.sent.iter().sum::<u64>() - self.sent[slot];
        window >= self.quota
    }

    /// Moves to the slot `now` falls in, emptying the slots passed.
    fn advance(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.start).as_nanos();
        let slot = u64::try_from(elapsed / self.slot.as_nanos()).unwrap_or(u64::MAX);
        let len = self.sent.len() as u64;
        if slot.saturating_sub(self.current) >= len {
            self.sent = [0; SEND_RATE_SLOTS + 1];
        } else {
            for passed in self.current + 1..=slot {
                self.sent[(passed % len) as usize] = 0;
            }
        }
        self.current = self.current.max(slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    /// 4 KiB/s over 10 s, as `limits.rs` has it, and a start.
    fn pace() -> (Pace, Instant) {
        let start = Instant::now();
        (Pace::new(start, 4096, 10 * SECOND), start)
    }

    #[test]
    fn a_steady_rate_keeps_pace() {
        let (mut pace, start) = pace();
        for second in 0..30 {
            pace.sent(start + second * SECOND, 4096);
            assert!(pace.keeps_pace(start + second * SECOND + SECOND / 2));
        }
    }

    #[test]
    fn nothing_sent_falls_behind_after_one_window() {
        let (mut pace, start) = pace();
        assert!(pace.keeps_pace(start + 9 * SECOND));
        assert!(!pace.keeps_pace(start + 10 * SECOND));
    }

    /// The socket buffers take 45 KiB at once, then the client reads 512
    /// octets a second: behind as soon as the burst leaves the window.
    #[test]
    fn a_burst_then_512_octets_a_second_falls_behind_when_the_burst_leaves_the_window() {
        let (mut pace, start) = pace();
        pace.sent(start, 45 * 1024);
        for second in 1..=10 {
            assert!(pace.keeps_pace(start + second * SECOND), "{second} s");
            pace.sent(start + second * SECOND, 512);
        }
        assert!(!pace.keeps_pace(start + 11 * SECOND));
    }

    #[test]
    fn a_long_stall_forgets_what_came_before() {
        let (mut pace, start) = pace();
        pace.sent(start, 1 << 30);
        assert!(pace.keeps_pace(start + 10 * SECOND));
        assert!(!pace.keeps_pace(start + 60 * SECOND));
    }
}
