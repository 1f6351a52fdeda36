//! A thread that runs guests back to back, so that their working set stays in one core's cache.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context as _, Result};
use tokio::runtime::{Handle, Runtime};

/// How many guests the worker takes at once before the next one runs on the runtime that
/// accepted its request. A guest waiting on its client (a slow upload) holds its place, so
/// this also bounds how much such guests can delay others. Side by side, 8 used 7% less CPU
/// per request than 2 (bench/analysis.md, item 8).
pub const CAPACITY: usize = 8;

/// One thread running guests, so that consecutive requests find the instance machinery, the
/// guest's code and its memory slot still in that core's cache, while the I/O runtime's
/// workers do hyper's and the kernel's part. When it already has [`CAPACITY`] guests, more
/// run on the caller's runtime, so a load whose guests outweigh its I/O still uses every core.
pub struct GuestWorker {
    /// `Some` until dropped: a runtime cannot be dropped inside another one's task, so drop
    /// hands it to `shutdown_background`.
    runtime: Option<Runtime>,
    handle: Handle,
    in_flight: Arc<AtomicUsize>,
    capacity: usize,
}

impl GuestWorker {
    /// Starts the worker's thread (`wasgi-guests`), taking up to `capacity` guests at once.
    pub fn start(capacity: usize) -> Result<GuestWorker> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("wasgi-guests")
            .enable_all()
            .build()
            .context("failed to start the guest worker")?;
        Ok(GuestWorker {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            in_flight: Arc::new(AtomicUsize::new(0)),
            capacity,
        })
    }

    /// Runs `guest` to completion on the worker, or on the current runtime when the worker
    /// is full. Must be called from within a tokio runtime.
    pub fn spawn(&self, guest: impl Future<Output = ()> + Send + 'static) {
        // A relaxed check may let a burst overshoot the capacity by a few: that costs only
        // locality, never correctness.
        if self.in_flight.load(Ordering::Relaxed) >= self.capacity {
            tokio::spawn(guest);
            return;
        }
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let in_flight = self.in_flight.clone();
        self.handle.spawn(async move {
            guest.await;
            in_flight.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

impl Drop for GuestWorker {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::{mpsc, oneshot};

    /// The first `capacity` guests run on the worker's thread; while they are there, the next
    /// ones run on the caller's runtime; once the worker has room again, it takes guests again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn guests_beyond_the_capacity_run_on_the_callers_runtime() {
        let worker = GuestWorker::start(2).unwrap();
        let (ran_on, mut threads) = mpsc::unbounded_channel();
        let mut releases = Vec::new();
        for _ in 0..4 {
            let (release, released) = oneshot::channel::<()>();
            releases.push(release);
            let ran_on = ran_on.clone();
            worker.spawn(async move {
                let name = std::thread::current().name().map(str::to_owned);
                ran_on.send(name).unwrap();
                let _ = released.await;
            });
        }
        let mut names = Vec::new();
        for _ in 0..4 {
            names.push(threads.recv().await.unwrap().unwrap_or_default());
        }
        let on_worker = names.iter().filter(|n| *n == "wasgi-guests").count();
        assert_eq!(on_worker, 2, "{names:?}");

        drop(releases);
        while worker.in_flight.load(Ordering::Relaxed) > 0 {
            tokio::task::yield_now().await;
        }
        worker.spawn(async move {
            let name = std::thread::current().name().map(str::to_owned);
            ran_on.send(name).unwrap();
        });
        let name = threads.recv().await.unwrap();
        assert_eq!(name.as_deref(), Some("wasgi-guests"));
    }
}
