//! Turns on a shared core: a serving thread that has worked [`TURN`] without a pause offers its
//! core as its next request starts, so what waits beside it runs without waiting for the tick.
//!
//! A serving thread whose connections always have a request ready never blocks, so it keeps its
//! core until the kernel preempts it, and the kernel checks for that on its tick: every 4 ms at
//! 250 Hz, the kernel this was measured on. Whatever else is ready to run on that core waits as
//! long; when it is a client on the same machine whose responses are written and waiting, each
//! of those responses takes the wait as its latency. Offering the core (`sched_yield`) once the
//! thread has worked [`TURN`] lets the waiting thread run now; with nothing else ready, the call
//! returns at once.
//!
//! Only work counts: the serving threads' runtimes report when they go idle ([`idle`], tokio's
//! `on_thread_park`) and when they resume ([`busy`]), and the time between is left out. A thread
//! that wakes for a request after a pause has just taken its core from whatever ran there; it
//! serves the request rather than hand the core straight back. Measured in bench/analysis.md,
//! item 18.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// How long a serving thread works, leaving out its idle time, before it offers its core at the
/// next request's start. Turns of 0.25, 0.5 and 1 ms took the benchmark's p99 at 32 connections
/// equally well from about 4 ms to under 1.4 ms; the middle one was kept. It is well under the
/// 1.4 ms slice the kernel gives a thread on two CPUs, which its 4 ms tick cannot enforce.
pub const TURN: Duration = Duration::from_micros(500);

/// What one thread has worked since it last offered its core.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Work {
    /// Work done before the thread last went idle.
    before: Duration,
    /// When the thread last resumed (or offered its core) and has worked since; `None` while
    /// it is idle, and on threads that do not report their pauses.
    since: Option<Instant>,
}

impl Work {
    /// All the work done since the last offer, as of `now`.
    fn total(self, now: Instant) -> Duration {
        self.before
            + self
                .since
                .map_or(Duration::ZERO, |since| now.saturating_duration_since(since))
    }

    /// The record of a thread that goes idle at `now`: the work so far is kept.
    fn idle(self, now: Instant) -> Work {
        Work {
            before: self.total(now),
            since: None,
        }
    }

    /// The record of a thread that resumes at `now`.
    fn busy(self, now: Instant) -> Work {
        Work {
            since: Some(now),
            ..self
        }
    }

    /// Whether the thread should offer its core at `now`.
    fn due(self, now: Instant) -> bool {
        self.total(now) >= TURN
    }

    /// The record of a thread that has just offered its core, at `now`: a new turn starts.
    fn offered(now: Instant) -> Work {
        Work {
            before: Duration::ZERO,
            since: Some(now),
        }
    }
}

thread_local! {
    static WORK: Cell<Work> = const {
        Cell::new(Work { before: Duration::ZERO, since: None })
    };
}

/// Records that the calling thread goes idle: the work since it last resumed is kept, the pause
/// that follows is not counted. For tokio's `on_thread_park`.
pub fn idle() {
    WORK.with(|work| work.set(work.get().idle(Instant::now())));
}

/// Records that the calling thread resumes work. For tokio's `on_thread_unpark`.
pub fn busy() {
    WORK.with(|work| work.set(work.get().busy(Instant::now())));
}

/// Offers the calling thread's core to whatever else is ready to run on it, if the thread has
/// worked [`TURN`] since it last did so. Called as a request starts, between two requests'
/// work. On a thread that does not report its pauses, it counts no work and never offers.
pub fn offer_core_if_due() {
    WORK.with(|work| {
        if work.get().due(Instant::now()) {
            std::thread::yield_now();
            work.set(Work::offered(Instant::now()));
        }
    });
}

/// Whether the calling thread has reported resuming work since it started: true on a serving
/// thread once its runtime has parked and woken, false on a thread that reports nothing.
#[cfg(test)]
pub(crate) fn reports_pauses() -> bool {
    WORK.with(Cell::get).since.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn work_counts_from_resuming_and_adds_up_over_pauses() {
        let start = Instant::now();
        let work = Work::default().busy(start).idle(start + 2 * MS);
        assert_eq!(work.total(start + 10 * MS), 2 * MS);
        let work = work.busy(start + 10 * MS);
        assert_eq!(work.total(start + 13 * MS), 5 * MS);
    }

    #[test]
    fn idle_time_is_not_work() {
        let start = Instant::now();
        let work = Work::default()
            .busy(start)
            .idle(start + TURN / 2)
            .busy(start + 100 * TURN);
        assert!(!work.due(start + 100 * TURN + TURN / 4));
        assert!(work.due(start + 100 * TURN + TURN / 2));
    }

    #[test]
    fn a_turn_of_work_is_due_and_an_offer_starts_the_next() {
        let start = Instant::now();
        let work = Work::default().busy(start);
        assert!(!work.due(start + TURN - Duration::from_micros(1)));
        assert!(work.due(start + TURN));
        let next = Work::offered(start + TURN);
        assert!(!next.due(start + TURN + TURN / 2));
        assert!(next.due(start + 2 * TURN));
    }

    /// An `Instant` read on one CPU may trail one read on another: a clock that seems to go
    /// backwards counts no work, and does not panic.
    #[test]
    fn a_clock_going_backwards_counts_no_work() {
        let start = Instant::now() + MS;
        let work = Work::default().busy(start);
        assert_eq!(work.total(start - MS), Duration::ZERO);
    }

    /// The thread-local record, through the functions the runtime and `respond` call.
    #[test]
    fn only_a_thread_that_reports_its_pauses_offers_its_core() {
        std::thread::spawn(|| {
            let record = || WORK.with(Cell::get);
            // Never reported: nothing counts, nothing is offered.
            std::thread::sleep(TURN);
            offer_core_if_due();
            assert_eq!(record(), Work::default());
            // Resumed, then a turn of work (the sleep stands for it): offered, a new turn.
            busy();
            let resumed = record().since;
            std::thread::sleep(TURN);
            offer_core_if_due();
            let after = record();
            assert_eq!(after.before, Duration::ZERO);
            assert!(
                after.since > resumed,
                "{after:?} after resuming at {resumed:?}"
            );
        })
        .join()
        .unwrap();
    }
}
