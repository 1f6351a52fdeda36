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
/// from another thread. A thread that has worked half a millisecond without a pause offers its
/// core as its next request starts, so that a thread sharing the core does not wait for the
/// kernel's tick (the host's `core_turns` module).
pub struct Workers {
    workers: Vec<Worker>,
}

struct Worker {
    /// Spawns onto the worker's runtime from any thread.
    handle: Handle,
    /// The CPU the worker's thread is pinned to, if it is.
    cpu: Option<usize>,
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

    /// Starts `count` serving threads, named `wasgi-worker-0`, `wasgi-worker-1`, …. With
    /// `pin`, each is pinned to one of the CPUs the process may run on, in turn (one each when
    /// there are as many workers as CPUs, the default).
    pub fn start(count: NonZeroUsize, pin: bool) -> Result<Workers> {
        let cpus = if pin { allowed_cpus()? } else { Vec::new() };
        let workers = (0..count.get())
            .map(|index| {
                let cpu = (!cpus.is_empty()).then(|| cpus[index % cpus.len()]);
                Worker::start(index, cpu)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Workers { workers })
    }

    /// Whether the workers are pinned to CPUs, so that a connection's CPU can choose one.
    pub fn pinned(&self) -> bool {
        self.workers.iter().any(|worker| worker.cpu.is_some())
    }

    /// Runs the connection that `serve` makes on a worker: with `cpu`, the CPU where the
    /// kernel processes the connection's packets, on a worker pinned there (see [`choose`]);
    /// otherwise on the worker serving the fewest connections. `serve` is called on that
    /// worker's thread, so the socket it registers (with [`tokio::net::TcpStream::from_std`])
    /// is polled by that worker, not the caller.
    pub fn spawn_connection<F, Fut>(&self, cpu: Option<usize>, serve: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let load: Vec<(Option<usize>, usize)> = self
            .workers
            .iter()
            .map(|worker| (worker.cpu, worker.open.load(Ordering::Relaxed)))
            .collect();
        let worker = &self.workers[choose(&load, cpu)];
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

/// How many connections more than the least busy worker a worker on a connection's own CPU
/// may serve before the connection goes to the least busy one instead: a CPU that receives
/// most connections (one client's, on a loopback) does not get most of the work.
const STEERING_SLACK: usize = 2;

/// Which worker, of those whose pinned CPU and open connections `load` lists, gets a new
/// connection whose packets the kernel processes on `cpu`: the least busy worker pinned to
/// `cpu`, so that the connection's packets and its requests are handled on one core, unless
/// it serves more than [`STEERING_SLACK`] connections over the least busy worker of all, which
/// gets it then, as it does a connection without a CPU or whose CPU has no worker. Ties go to
/// the first.
fn choose(load: &[(Option<usize>, usize)], cpu: Option<usize>) -> usize {
    let open = |index: &usize| load[*index].1;
    let least = (0..load.len())
        .min_by_key(open)
        .expect("there is at least one worker");
    let local = (0..load.len())
        .filter(|&index| cpu.is_some() && load[index].0 == cpu)
        .min_by_key(open);
    match local {
        Some(local) if open(&local) <= open(&least) + STEERING_SLACK => local,
        _ => least,
    }
}

/// The CPUs this process may run on (its affinity mask, which a container's cpuset narrows).
fn allowed_cpus() -> Result<Vec<usize>> {
    let allowed = rustix::thread::sched_getaffinity(None)
        .context("failed to read the CPUs this process may run on")?;
    Ok((0..rustix::thread::CpuSet::MAX_CPU)
        .filter(|&cpu| allowed.is_set(cpu))
        .collect())
}

impl Worker {
    /// Starts worker `index`, pinned to `cpu` if given. Where the pinning fails, the worker
    /// runs unpinned and says so, and it records no CPU, so that no connection is steered to
    /// it for a CPU it does not run on.
    fn start(index: usize, cpu: Option<usize>) -> Result<Worker> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            // The thread's pauses, so that only its work counts towards offering its core.
            .on_thread_park(crate::core_turns::idle)
            .on_thread_unpark(crate::core_turns::busy)
            .build()
            .context("failed to start a serving thread's runtime")?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let (pinned, was_pinned) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name(format!("wasgi-worker-{index}"))
            .spawn(move || {
                let cpu = cpu.filter(|&cpu| match pin_this_thread(cpu) {
                    Ok(()) => true,
                    Err(error) => {
                        tracing::warn!("serving thread {index} runs unpinned: {error}");
                        false
                    }
                });
                // `start` waits for this answer, so the receiver is there.
                let _ = pinned.send(cpu);
                // Either a stop or the `Workers` gone: both end the worker.
                let _ = runtime.block_on(stopped);
            })
            .context("failed to start a serving thread")?;
        let cpu = was_pinned
            .recv()
            .context("a serving thread ended as it started")?;
        Ok(Worker {
            handle,
            cpu,
            open: Arc::new(AtomicUsize::new(0)),
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// Pins the calling thread to `cpu`. It fails only where the process may no longer run there
/// (its CPUs changed since [`allowed_cpus`] read them) or the CPU is beyond the kernel's.
fn pin_this_thread(cpu: usize) -> rustix::io::Result<()> {
    let mut only = rustix::thread::CpuSet::new();
    only.set(cpu);
    rustix::thread::sched_setaffinity(None, &only)
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
        Workers::start(NonZeroUsize::new(count).unwrap(), false).unwrap()
    }

    /// A serving thread's runtime reports its pauses, so that only its work counts towards
    /// offering its core ([`crate::core_turns`]); a thread that reports none would never offer.
    #[tokio::test]
    async fn serving_threads_report_their_pauses() {
        let workers = workers(1);
        let (reported, report) = oneshot::channel();
        workers.spawn_connection(None, move || async move {
            // A pause: the runtime parks until the timer fires, then resumes.
            tokio::time::sleep(Duration::from_millis(1)).await;
            let _ = reported.send(crate::core_turns::reports_pauses());
        });
        assert!(
            report.await.unwrap(),
            "the worker's runtime reported no pause"
        );
        assert!(
            !crate::core_turns::reports_pauses(),
            "the test's own thread reports none"
        );
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
            workers.spawn_connection(None, move || async move {
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
            workers.spawn_connection(None, move || async move {
                let name = std::thread::current().name().map(str::to_owned);
                ran_on.send((name.clone(), name)).unwrap();
                std::future::pending::<()>().await;
            });
            let (name, _) = threads.recv().await.unwrap();
            assert_eq!(name.as_deref(), Some("wasgi-worker-0"));
        }
        assert_eq!(workers.open_connections(), [2, 2]);
    }

    /// A connection goes to the least busy worker on its own CPU, unless that one serves more
    /// than the slack over the least busy of all; without a CPU of a worker, to the least busy.
    #[test]
    fn a_connection_goes_to_a_worker_on_its_cpu_unless_that_one_is_much_busier() {
        let load = [(Some(0), 3), (Some(1), 1), (Some(0), 2)];
        assert_eq!(choose(&load, Some(0)), 2);
        assert_eq!(choose(&load, Some(1)), 1);
        assert_eq!(choose(&load, None), 1);
        assert_eq!(choose(&load, Some(7)), 1);
        // At the slack, and past it.
        assert_eq!(choose(&[(Some(0), 3), (Some(1), 1)], Some(0)), 0);
        assert_eq!(choose(&[(Some(0), 4), (Some(1), 1)], Some(0)), 1);
        // Unpinned workers: the least busy, the first of equals.
        assert_eq!(choose(&[(None, 1), (None, 0), (None, 0)], Some(0)), 1);
    }

    /// Pinned workers run on the process's CPUs in turn, one CPU each.
    #[tokio::test]
    async fn pinned_workers_each_run_on_one_cpu_in_turn() {
        let cpus = allowed_cpus().unwrap();
        let workers = Workers::start(NonZeroUsize::new(cpus.len() + 1).unwrap(), true).unwrap();
        assert!(workers.pinned());
        for (index, worker) in workers.workers.iter().enumerate() {
            let (send, on) = oneshot::channel();
            worker
                .handle
                .spawn(async move { send.send(allowed_cpus().unwrap()).unwrap() });
            assert_eq!(
                on.await.unwrap(),
                [cpus[index % cpus.len()]],
                "worker {index}"
            );
        }
        assert!(!self::workers(2).pinned());
    }

    /// A worker that cannot be pinned (here to a CPU the process may not use) runs unpinned
    /// and records no CPU, so no connection is steered to it for that CPU; it still serves.
    #[tokio::test]
    async fn a_worker_that_cannot_be_pinned_records_no_cpu_and_serves() {
        let allowed = allowed_cpus().unwrap();
        let elsewhere = (0..rustix::thread::CpuSet::MAX_CPU)
            .find(|cpu| !allowed.contains(cpu))
            .unwrap();
        let worker = Worker::start(0, Some(elsewhere)).unwrap();
        assert_eq!(worker.cpu, None);
        let (send, on) = oneshot::channel();
        worker
            .handle
            .spawn(async move { send.send(allowed_cpus().unwrap()).unwrap() });
        assert_eq!(on.await.unwrap(), allowed);
    }

    /// A connection that panics is counted as closed, and its worker keeps serving.
    #[tokio::test]
    async fn a_panicking_connection_is_counted_closed_and_the_worker_serves_on() {
        let workers = workers(1);
        workers.spawn_connection(None, || async { panic!("a connection's bug") });
        wait_for(|| workers.open_connections() == [0]).await;
        let (answer, answered) = oneshot::channel();
        workers.spawn_connection(None, move || async move {
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
            workers.spawn_connection(None, move || async move {
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
