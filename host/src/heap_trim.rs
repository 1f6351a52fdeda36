//! Gives the heap that closed connections freed back to the kernel, which glibc's malloc keeps.
//!
//! Each open connection holds hyper's buffers and tokio's state, tens of kilobytes. When a
//! burst of connections closes, glibc frees that memory into its arenas but returns it to the
//! kernel only from the top of a heap, so a host that once held 10,000 connections stayed at
//! the same resident size after they closed (247 MiB against 17 MiB before them, measured by
//! `bench/run`'s density test). `malloc_trim(0)` returns every free page. It is called off the
//! async workers, only after the open connections fell at least [`CLOSED_BEFORE_TRIM`] below
//! their peak since the last trim, and at most once per [`CHECK_EVERY`]: a steady number of
//! open connections, however many requests they carry, never triggers it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use prometheus_client::metrics::gauge::Gauge;

/// How often the open connections are compared with their peak.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);

/// How far the open connections must fall below their peak for a trim.
pub const CLOSED_BEFORE_TRIM: i64 = 256;

/// The peak of open connections since the last trim. While it lives, a task compares it with
/// the connections gauge every [`CHECK_EVERY`] and trims the heap when enough have closed.
pub struct HeapTrim {
    peak: Arc<AtomicI64>,
}

impl HeapTrim {
    /// Starts watching `connections` (the gauge of open connections); must be called inside
    /// the async runtime. The watch ends when the returned value is dropped.
    pub fn start(connections: Gauge) -> HeapTrim {
        let peak = Arc::new(AtomicI64::new(connections.get()));
        tokio::spawn(watch(Arc::downgrade(&peak), connections));
        HeapTrim { peak }
    }

    /// Records that a connection opened, leaving `open` connections open.
    pub fn opened(&self, open: i64) {
        self.peak.fetch_max(open, Ordering::Relaxed);
    }
}

async fn watch(peak: Weak<AtomicI64>, connections: Gauge) {
    let mut ticks = tokio::time::interval(CHECK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(peak) = peak.upgrade() else {
            return;
        };
        let open = connections.get();
        let closed = peak.load(Ordering::Relaxed) - open;
        if closed >= CLOSED_BEFORE_TRIM {
            peak.store(open, Ordering::Relaxed);
            // Trimming walks the whole heap: not on an async worker.
            let _ = tokio::task::spawn_blocking(release_free_memory).await;
            tracing::debug!("{closed} connections closed: freed heap returned to the kernel");
        }
    }
}

/// Returns glibc's free heap pages to the kernel.
///
/// The one `unsafe` of the host: glibc has no safe binding for `malloc_trim` (the `libc`
/// crate declares it), and the call has no preconditions.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn release_free_memory() {
    // SAFETY: `malloc_trim` only inspects and releases the allocator's own free memory; it
    // may be called from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators return memory on their own.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}
