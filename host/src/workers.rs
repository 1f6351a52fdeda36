//! The threads that serve connections: each runs its connections' HTTP and their guests start
//! to finish, so a request never crosses a thread.

use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use anyhow::{Context as _, Result};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// A fixed set of serving threads, each with a single-threaded runtime of its own. A new
/// connection goes to the thread serving the fewest; it stays there, and so do the guests of
/// its requests (a guest's task is spawned on the runtime it was asked from), their background
/// work included. Nothing of a request moves between threads, so no request waits on a wake-up
/// from another thread.
pub struct Workers {
    workers: Vec<Worker>,
}

struct Worker {
    /// Spawns onto the worker's runtime from any thread.
    handle: Handle,
    /// The connections the worker serves now.
    open: Arc<AtomicUsize>,
    /// Dropping it stops the worker: its runtime ends, dropping what still runs on it.
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Workers {
    /// One per core the process may use ([`std::thread::available_parallelism`]). More
    /// workers than cores lengthen the tail: the kernel shares a service's CPU time among its
    /// threads, so each of many runnable workers waits longer for its turn, and with it every
    /// connection it holds (bench/analysis.md, item 15).
    pub fn default_count() -> NonZeroUsize {
        std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
    }

    /// Starts `count` serving threads, named `wasgi-worker-0`, `wasgi-worker-1`, ….
    pub fn start(count: NonZeroUsize) -> Result<Workers> {
        let workers = (0..count.get())
            .map(Worker::start)
            .collect::<Result<Vec<_>>>()?;
        Ok(Workers { workers })
    }

    /// Runs the connection that `serve` makes on the worker serving the fewest connections.
    /// `serve` is called on that worker's thread, so the socket it registers (with
    /// [`tokio::net::TcpStream::from_std`]) is polled by that worker, not the caller.
    pub fn spawn_connection<F, Fut>(&self, serve: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let worker = self
            .workers
            .iter()
            .min_by_key(|worker| worker.open.load(Ordering::Relaxed))
            .expect("there is at least one worker");
        let open = worker.open.clone();
        open.fetch_add(1, Ordering::Relaxed);
        worker.handle.spawn(async move {
            // Counted down however the connection ends, a panic in it included.
            let _open = OpenConnection(open);
            serve().await;
        });
    }

    /// How many connections each worker serves now, in the workers' order.
    #[cfg(test)]
    fn open_connections(&self) -> Vec<usize> {
        self.workers
            .iter()
            .map(|worker| worker.open.load(Ordering::Relaxed))
            .collect()
    }
}

impl Worker {
    fn start(index: usize) -> Result<Worker> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("failed to start a serving thread's runtime")?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("wasgi-worker-{index}"))
            .spawn(move || {
                // Either a stop or the `Workers` gone: both end the worker.
                let _ = runtime.block_on(stopped);
            })
            .context("failed to start a serving thread")?;
        Ok(Worker {
            handle,
            open: Arc::new(AtomicUsize::new(0)),
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // The runtime drops its remaining tasks as it ends; that takes no time worth
            // waiting for, and the host is shutting down.
            let _ = thread.join();
        }
    }
}

/// One of a worker's open connections, counted down when dropped.
struct OpenConnection(Arc<AtomicUsize>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::sync::mpsc;

    fn workers(count: usize) -> Workers {
        Workers::start(NonZeroUsize::new(count).unwrap()).unwrap()
    }

    /// Each connection goes to the worker with the fewest open, and runs there to its end,
    /// along with what it spawns.
    #[tokio::test]
    async fn connections_go_to_the_least_busy_worker_and_stay_there() {
        let workers = workers(2);
        let (ran_on, mut threads) = mpsc::unbounded_channel();
        let mut releases = Vec::new();
        for _ in 0..4 {
            let (release, released) = oneshot::channel::<()>();
            releases.push(release);
            let ran_on = ran_on.clone();
            workers.spawn_connection(move || async move {
                let name = || std::thread::current().name().map(str::to_owned);
                // What a connection spawns (a guest's task) runs on its worker too.
                let spawned = tokio::spawn(async move { name() }).await.unwrap();
                ran_on.send((name(), spawned)).unwrap();
                let _ = released.await;
            });
        }
        let mut names = Vec::new();
        for _ in 0..4 {
            let (connection, spawned) = threads.recv().await.unwrap();
            assert_eq!(connection, spawned);
            names.push(connection.unwrap());
        }
        names.sort();
        assert_eq!(
            names,
            [
                "wasgi-worker-0",
                "wasgi-worker-0",
                "wasgi-worker-1",
                "wasgi-worker-1"
            ]
        );
        assert_eq!(workers.open_connections(), [2, 2]);

        // Worker 0's two connections (the first and third) end: the next two go there.
        let _kept: Vec<_> = releases.into_iter().skip(1).step_by(2).collect();
        wait_for(|| workers.open_connections() == [0, 2]).await;
        for _ in 0..2 {
            let ran_on = ran_on.clone();
            workers.spawn_connection(move || async move {
                let name = std::thread::current().name().map(str::to_owned);
                ran_on.send((name.clone(), name)).unwrap();
                std::future::pending::<()>().await;
            });
            let (name, _) = threads.recv().await.unwrap();
            assert_eq!(name.as_deref(), Some("wasgi-worker-0"));
        }
        assert_eq!(workers.open_connections(), [2, 2]);
    }

    /// A connection that panics is counted as closed, and its worker keeps serving.
    #[tokio::test]
    async fn a_panicking_connection_is_counted_closed_and_the_worker_serves_on() {
        let workers = workers(1);
        workers.spawn_connection(|| async { panic!("a connection's bug") });
        wait_for(|| workers.open_connections() == [0]).await;
        let (answer, answered) = oneshot::channel();
        workers.spawn_connection(move || async move {
            answer.send(()).unwrap();
        });
        answered.await.unwrap();
    }

    /// Dropping the workers ends their threads, with the connections still on them.
    #[tokio::test]
    async fn dropping_the_workers_ends_their_connections() {
        let workers = workers(2);
        let (dropped, mut gone) = mpsc::unbounded_channel::<()>();
        for _ in 0..2 {
            let dropped = dropped.clone();
            workers.spawn_connection(move || async move {
                let _dropped = dropped;
                std::future::pending::<()>().await;
            });
        }
        drop(dropped);
        drop(workers);
        // Every sender went with its connection: the channel is closed.
        assert_eq!(gone.recv().await, None);
    }

    async fn wait_for(done: impl Fn() -> bool) {
        for _ in 0..500 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("not reached in 5 s");
    }
}
