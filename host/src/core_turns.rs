//! Turns on a shared core: a busy serving thread offers its core between requests every
//! [`TURN`], so what waits beside it runs without waiting for the kernel's tick.
//!
//! A serving thread whose connections always have a request ready never blocks, so it keeps its
//! core until the kernel preempts it, and the kernel checks for that on its tick: every 4 ms at
//! 250 Hz, the kernel this was measured on. Whatever else is ready to run on that core waits as
//! long; when it is a client on the same machine whose responses are written and waiting, each
//! of those responses takes the wait as its latency. Offering the core (`sched_yield`) once the
//! thread has worked [`TURN`] lets the waiting thread run now; with nothing else ready, the call
//! returns at once. Measured in bench/analysis.md, item 18.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// How long a serving thread works, at most between two requests' starts, before it offers its
/// core. Turns of 0.25, 0.5 and 1 ms took the benchmark's p99 at 32 connections equally well
/// from about 4 ms to under 1.4 ms; the middle one was kept. It is well under the 1.4 ms slice
/// the kernel gives a thread on two CPUs, which its 4 ms tick cannot enforce.
pub const TURN: Duration = Duration::from_micros(500);

thread_local! {
    /// When this thread last offered its core; `None` if it never has.
    static LAST_OFFERED: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Offers the calling thread's core to whatever else is ready to run on it, if the thread last
/// did so [`TURN`] ago or more (or never). Called as a request starts, between two requests'
/// work.
pub fn offer_core_if_due() {
    LAST_OFFERED.with(|last| {
        if due(last.get(), Instant::now()) {
            std::thread::yield_now();
            last.set(Some(Instant::now()));
        }
    });
}

/// Whether a thread that last offered its core at `last` should offer it at `now`.
fn due(last: Option<Instant>, now: Instant) -> bool {
    last.is_none_or(|last| now.saturating_duration_since(last) >= TURN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_that_never_offered_its_core_offers_it() {
        assert!(due(None, Instant::now()));
    }

    #[test]
    fn the_core_is_offered_once_a_turn_has_passed_and_not_before() {
        let last = Instant::now();
        assert!(!due(Some(last), last));
        assert!(!due(Some(last), last + TURN - Duration::from_micros(1)));
        assert!(due(Some(last), last + TURN));
        assert!(due(Some(last), last + 10 * TURN));
    }

    /// An `Instant` read on one CPU may trail one read on another; a clock that seems to go
    /// backwards is no turn passed, not a panic.
    #[test]
    fn a_last_offer_in_the_future_is_not_a_turn_passed() {
        let now = Instant::now();
        assert!(!due(Some(now + TURN), now));
    }

    #[test]
    fn offering_records_when_and_waits_a_turn_for_the_next() {
        std::thread::spawn(|| {
            offer_core_if_due();
            let first = LAST_OFFERED.with(Cell::get).expect("the first call offers");
            offer_core_if_due();
            let second = LAST_OFFERED.with(Cell::get).expect("still recorded");
            // Both calls within one turn of each other (a preempted test thread aside): the
            // second does not offer again, so the record is unchanged.
            if second.duration_since(first) < TURN {
                assert_eq!(first, second);
            }
        })
        .join()
        .unwrap();
    }
}
