//! A loaded guest app: its component, checked and pre-linked once, instantiated per request.

use std::cell::Cell;
use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use http_body_util::BodyExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{Component, Linker};
use wasmtime::{Store, UpdateDeadline};

use crate::bindings::AppPre;
use crate::exchange::{Exchange, Failure, Outcome};
use crate::limits::Limits;
use crate::metrics::{AppMetrics, Limit, Metrics};
use crate::preinit;
use crate::scope::{Connection, RequestHead};
use crate::state::InstanceState;

/// The connection an in-process request ([`App::get`]) comes on: from and to the loopback.
static IN_PROCESS: LazyLock<Arc<Connection>> = LazyLock::new(|| {
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    Arc::new(Connection::new(local, local))
});

thread_local! {
    /// The guests served ([`App::serve`]) on this thread that have not finished.
    static GUESTS_ON_THREAD: Cell<usize> = const { Cell::new(0) };
}

/// One served guest counted on its thread while it runs. A serving thread's runtime never
/// moves a task to another thread, so the count goes down where it went up.
struct GuestsOnThread;

impl GuestsOnThread {
    fn enter() -> GuestsOnThread {
        GUESTS_ON_THREAD.set(GUESTS_ON_THREAD.get() + 1);
        GuestsOnThread
    }

    /// Whether this is the only guest on the thread.
    fn alone(&self) -> bool {
        GUESTS_ON_THREAD.get() == 1
    }
}

impl Drop for GuestsOnThread {
    fn drop(&mut self) {
        GUESTS_ON_THREAD.set(GUESTS_ON_THREAD.get().saturating_sub(1));
    }
}

/// A guest app ready to serve: everything that can be done once per deploy is done.
pub struct App {
    name: String,
    /// The name as the guest's log lines carry it.
    log_name: Arc<str>,
    pre: AppPre<InstanceState>,
    env: Arc<[(String, String)]>,
    limits: Limits,
    access_log: bool,
    /// One permit per request in flight, held until its guest finishes (background work too).
    in_flight: Arc<Semaphore>,
    metrics: AppMetrics,
}

impl App {
    /// Loads the component at `path`, compiles it and links it against `linker`, with errors
    /// that say what is wrong with the file rather than how wasmtime noticed.
    pub fn load(name: &str, path: &Path, linker: &Linker<InstanceState>) -> Result<App> {
        let bytes =
            std::fs::read(path).with_context(|| format!("failed to read `{}`", path.display()))?;
        Self::from_bytes(name, &bytes, &path.display().to_string(), linker)
    }

    /// Compiles and links the component `bytes`, pre-initialised if it exports `init` (see
    /// [`preinit`]); `shown` names it in errors (a path, or "the uploaded module").
    pub fn from_bytes(
        name: &str,
        bytes: &[u8],
        shown: &str,
        linker: &Linker<InstanceState>,
    ) -> Result<App> {
        Self::compile(name, bytes, shown, linker, true)
    }

    /// [`from_bytes`](Self::from_bytes) without pre-initialisation: every request runs the
    /// guest from its initial state. For measuring what pre-initialisation saves.
    pub fn from_bytes_as_is(
        name: &str,
        bytes: &[u8],
        shown: &str,
        linker: &Linker<InstanceState>,
    ) -> Result<App> {
        Self::compile(name, bytes, shown, linker, false)
    }

    fn compile(
        name: &str,
        bytes: &[u8],
        shown: &str,
        linker: &Linker<InstanceState>,
        preinitialize: bool,
    ) -> Result<App> {
        if wasmparser::Parser::is_core_wasm(bytes) {
            bail!(
                "`{shown}` is a core WebAssembly module, not a component: \
                 build guests for the `wasm32-wasip2` target"
            );
        }
        if !wasmparser::Parser::is_component(bytes) {
            bail!("`{shown}` is not a WebAssembly component");
        }
        let snapshot = match preinitialize {
            false => None,
            true => preinit::preinitialize(linker.engine(), bytes).unwrap_or_else(|error| {
                tracing::warn!(
                    app = name,
                    "`{shown}` is served without pre-initialisation, building its state per \
                     request: {error:#}"
                );
                None
            }),
        };
        if let Some(snapshot) = &snapshot {
            tracing::debug!(
                app = name,
                bytes = snapshot.len(),
                "pre-initialised `{shown}`"
            );
        }
        let bytes = snapshot.as_deref().unwrap_or(bytes);
        // wasmtime has its own error type; it converts into anyhow's to take our context.
        let component = Component::new(linker.engine(), bytes)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("failed to compile `{shown}`"))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("`{shown}` needs an import that wasgi does not provide"))?;
        let pre = AppPre::new(pre)
            .map_err(anyhow::Error::from)
            .with_context(|| {
                format!(
                    "`{shown}` is not a wasgi app: it does not export `wasgi:asgi/handler@0.1.0`"
                )
            })?;
        let limits = Limits::default();
        let in_flight = Arc::new(Semaphore::new(limits.max_concurrency));
        Ok(App {
            name: name.to_owned(),
            log_name: Arc::from(name),
            pre,
            env: Arc::new([]),
            limits,
            access_log: true,
            in_flight,
            metrics: Metrics::new().app(name),
        })
    }

    /// Sets the limits the app's requests run under.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.in_flight = Arc::new(Semaphore::new(limits.max_concurrency));
        self.limits = limits;
        self
    }

    /// Counts the app's requests in `metrics`, under its name.
    pub fn with_metrics(mut self, metrics: &Arc<Metrics>) -> Self {
        self.metrics = metrics.app(&self.name);
        self
    }

    /// The app's metric handles.
    pub fn metrics(&self) -> &AppMetrics {
        &self.metrics
    }

    /// Whether each request is logged (on by default).
    pub fn with_access_log(mut self, on: bool) -> Self {
        self.access_log = on;
        self
    }

    /// Whether each request is logged.
    pub fn access_log(&self) -> bool {
        self.access_log
    }

    /// The limits the app's requests run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A place for one more request, unless `max_concurrency` are in flight.
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        self.in_flight.clone().try_acquire_owned().ok()
    }

    /// Waits until every request in flight has finished, background work included.
    pub async fn drain(&self) {
        let all = u32::try_from(self.limits.max_concurrency).unwrap_or(u32::MAX);
        drop(self.in_flight.acquire_many(all).await);
    }

    /// Sets the environment variables every instance of the app sees.
    pub fn with_env(mut self, env: Vec<(String, String)>) -> Self {
        self.env = env.into();
        self
    }

    /// Answers `GET path` in-process, without a network: status and whole body. This is how
    /// `wasgi openapi` reads an app's document.
    pub async fn get(self: Arc<Self>, path: &str) -> Result<(http::StatusCode, bytes::Bytes)> {
        self.get_under("", path).await
    }

    /// Checks that a new version can serve before it takes traffic: `GET path` in-process,
    /// mounted at `root_path`, must be answered without a trap and with a status under 500.
    pub async fn smoke_check(self: Arc<Self>, root_path: &str, path: &str) -> Result<()> {
        let (status, body) = self
            .get_under(root_path, path)
            .await
            .with_context(|| format!("the smoke check `GET {path}` failed"))?;
        if status.is_server_error() {
            let body = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            bail!("the smoke check `GET {path}` was answered {status}: {body}");
        }
        Ok(())
    }

    /// `GET path` in-process with the app mounted at `root_path`.
    async fn get_under(
        self: Arc<Self>,
        root_path: &str,
        path: &str,
    ) -> Result<(http::StatusCode, bytes::Bytes)> {
        // The request arrives with its mount prefix, as it would over the network.
        let request = http::Request::get(format!("{root_path}{path}"))
            .header(http::header::HOST, "localhost")
            .body(())
            .with_context(|| format!("`{path}` is not a request path"))?;
        let (parts, ()) = request.into_parts();
        let head = RequestHead {
            parts,
            connection: IN_PROCESS.clone(),
            root_path: root_path.to_owned(),
        };
        let (exchange, response) = Exchange::without_body();
        let outcome = self.handle(head, exchange).await;
        let response = response.await.context("the guest gave no response")?;
        if matches!(outcome, Outcome::NoResponse | Outcome::Truncated) {
            bail!("the guest failed while answering (see the log for why)");
        }
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .context("the guest's response broke off")?;
        Ok((status, body.to_bytes()))
    }

    /// The app's name, as logs show it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A fresh store for one instance serving `exchange`, under the app's memory limit and
    /// deadline.
    fn store(&self, exchange: Exchange) -> Store<InstanceState> {
        let deadline = Instant::now().checked_add(self.limits.timeout);
        let state = InstanceState::new(
            exchange,
            &self.env,
            self.limits.memory,
            deadline,
            &self.log_name,
        );
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|state| &mut state.memory);
        // Compute is interrupted at the deadline by epochs; waiting (on the client, in
        // `receive`) by the timer in `handle`. Until the deadline, a guest that computes
        // yields at every epoch tick, so that a long handler does not hold up the other
        // guests of its thread (each serving thread runs many). The callback captures nothing
        // (the deadline is in the store), so setting it allocates nothing per request.
        store.epoch_deadline_callback(|store| {
            if store.data().deadline.is_some_and(|at| Instant::now() >= at) {
                return Err(wasmtime::Trap::Interrupt.into());
            }
            Ok(UpdateDeadline::Yield(1))
        });
        store.set_epoch_deadline(1);
        store
    }

    /// Creates a fresh instance of the app and discards it without calling the guest: the
    /// part of every request's cost that is the instance itself. For the benchmarks.
    pub async fn instantiate_only(&self) -> Result<()> {
        let (exchange, _response) = Exchange::without_body();
        let mut store = self.store(exchange);
        self.pre
            .instantiate_async(&mut store)
            .await
            .map_err(anyhow::Error::from)?;
        Ok(())
    }

    /// Serves one request in a fresh instance: instantiate, call `handle(scope)`, and finish the
    /// exchange however the guest ended. The instance runs under the app's memory limit and
    /// deadline; a trap or a broken limit is logged and costs only this request.
    pub async fn handle(self: Arc<Self>, head: RequestHead, exchange: Exchange) -> Outcome {
        self.run(head, exchange, None).await
    }

    /// [`handle`](Self::handle) for a request whose response another task writes (the
    /// connection's, on the same serving thread). When this is the thread's only guest, the
    /// instance is torn down after that task has had its turn, so the response goes out
    /// first and the client reads it while the instance's memory is reset; under load, with
    /// other guests waiting, it is torn down at once, so that the next instance reuses its
    /// still-warm slot (bench/analysis.md, item 17).
    pub async fn serve(self: Arc<Self>, head: RequestHead, exchange: Exchange) -> Outcome {
        self.run(head, exchange, Some(GuestsOnThread::enter()))
            .await
    }

    async fn run(
        self: Arc<Self>,
        head: RequestHead,
        exchange: Exchange,
        guests: Option<GuestsOnThread>,
    ) -> Outcome {
        let scope_parts = head.scope_parts();
        let scope = scope_parts.scope();
        let (method, path) = (scope.method, scope.path);
        let mut store = self.store(exchange);
        // The instant the epoch callback interrupts a computing guest at; a guest waiting (on
        // its client, in `receive`) is stopped at the same instant by the timer below.
        let deadline = store.data().deadline;
        let _running = self.metrics.running();
        let call = async {
            let started = Instant::now();
            let instance = self.pre.instantiate_async(&mut store).await?;
            self.metrics.instantiated(started.elapsed());
            instance
                .wasgi_asgi_handler()
                .call_handle(&mut store, scope)
                .await
        };
        let result = match deadline {
            Some(at) => tokio::time::timeout_at(at.into(), call).await,
            // A timeout too long to be a point in time is never reached.
            None => Ok(call.await),
        };
        if guests.as_ref().is_some_and(GuestsOnThread::alone) {
            tokio::task::yield_now().await;
        }
        let state = store.into_data();
        let limit = failure_limit(&result, state.memory.exceeded);
        let (failure, reason) = match (limit, &result) {
            (Some(Limit::deadline), _) => (
                Some(Failure::Timeout),
                Some(format!("deadline of {:?} exceeded", self.limits.timeout)),
            ),
            (Some(Limit::memory), Ok(Err(error))) => (
                Some(Failure::Trap),
                Some(format!(
                    "memory limit of {} bytes exceeded ({})",
                    self.limits.memory,
                    trap_reason(error)
                )),
            ),
            (_, Ok(Err(error))) => (Some(Failure::Trap), Some(trap_reason(error))),
            _ => (None, None),
        };
        let outcome = state.exchange.finish(failure);
        match (limit, outcome) {
            (Some(limit), _) => self.metrics.rejected(limit),
            (None, Outcome::TooLarge) => self.metrics.rejected(Limit::body_size),
            (None, _) => {}
        }
        let app = &self.name;
        match (reason, outcome) {
            (Some(reason), _) => {
                tracing::error!(app = %app, method = %method, path = %path, "guest trapped: {reason}");
                if let Ok(Err(error)) = &result {
                    tracing::debug!(app = %app, "guest trap in full: {error:?}");
                }
            }
            (None, Outcome::NoResponse) => tracing::error!(
                app = %app, method = %method, path = %path,
                "guest returned without sending a response"
            ),
            (None, Outcome::Truncated) => tracing::error!(
                app = %app, method = %method, path = %path,
                "guest returned without completing its response body"
            ),
            (None, Outcome::TooLarge) => tracing::warn!(
                app = %app, method = %method, path = %path,
                "request body larger than {} bytes refused", self.limits.max_body
            ),
            (None, Outcome::Complete | Outcome::ClientGone) => {}
        }
        outcome
    }
}

/// The limit that ended a guest call, if one did.
fn failure_limit(
    result: &Result<wasmtime::Result<()>, tokio::time::error::Elapsed>,
    memory_exceeded: bool,
) -> Option<Limit> {
    match result {
        Err(_) => Some(Limit::deadline),
        Ok(Err(_)) if memory_exceeded => Some(Limit::memory),
        Ok(Err(error))
            if error.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) =>
        {
            Some(Limit::deadline)
        }
        _ => None,
    }
}

/// One line saying why a guest call failed: the trap itself (`wasm \`unreachable\` instruction
/// executed` for a Rust panic) rather than the multi-line wasm backtrace wrapped around it.
pub(crate) fn trap_reason(error: &wasmtime::Error) -> String {
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => error.root_cause().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A served guest is alone on its thread until a second one starts there, and again once
    /// that one ends; other threads' guests do not count.
    #[test]
    fn a_guest_is_alone_on_its_thread_until_another_starts_there() {
        let first = GuestsOnThread::enter();
        assert!(first.alone());
        let elsewhere = std::thread::spawn(|| GuestsOnThread::enter().alone());
        assert!(elsewhere.join().unwrap());
        let second = GuestsOnThread::enter();
        assert!(!first.alone() && !second.alone());
        drop(second);
        assert!(first.alone());
    }
}
