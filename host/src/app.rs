//! A loaded guest app: its component, checked and pre-linked once, instantiated per request.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use http_body_util::BodyExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::Store;
use wasmtime::component::{Component, Linker};

use crate::bindings::AppPre;
use crate::bindings::wasgi::asgi::types::Scope;
use crate::exchange::{Exchange, Failure, Outcome};
use crate::limits::Limits;
use crate::state::InstanceState;

/// A guest app ready to serve: everything that can be done once per deploy is done.
pub struct App {
    name: String,
    /// The name as the guest's log lines carry it.
    log_name: Arc<str>,
    pre: AppPre<InstanceState>,
    env: Vec<(String, String)>,
    limits: Limits,
    access_log: bool,
    /// One permit per request in flight, held until its guest finishes (background work too).
    in_flight: Arc<Semaphore>,
}

impl App {
    /// Loads the component at `path`, compiles it and links it against `linker`, with errors
    /// that say what is wrong with the file rather than how wasmtime noticed.
    pub fn load(name: &str, path: &Path, linker: &Linker<InstanceState>) -> Result<App> {
        let shown = path.display();
        let bytes = std::fs::read(path).with_context(|| format!("failed to read `{shown}`"))?;
        if wasmparser::Parser::is_core_wasm(&bytes) {
            bail!(
                "`{shown}` is a core WebAssembly module, not a component: \
                 build guests for the `wasm32-wasip2` target"
            );
        }
        if !wasmparser::Parser::is_component(&bytes) {
            bail!("`{shown}` is not a WebAssembly component");
        }
        // wasmtime has its own error type; it converts into anyhow's to take our context.
        let component = Component::new(linker.engine(), &bytes)
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
            env: Vec::new(),
            limits,
            access_log: true,
            in_flight,
        })
    }

    /// Sets the limits the app's requests run under.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.in_flight = Arc::new(Semaphore::new(limits.max_concurrency));
        self.limits = limits;
        self
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
        self.env = env;
        self
    }

    /// Answers `GET path` in-process, without a network: status and whole body. This is how
    /// `wasgi openapi` reads an app's document.
    pub async fn get(self: Arc<Self>, path: &str) -> Result<(http::StatusCode, bytes::Bytes)> {
        let request = http::Request::get(path)
            .header(http::header::HOST, "localhost")
            .body(())
            .with_context(|| format!("`{path}` is not a request path"))?;
        let (parts, ()) = request.into_parts();
        let local = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let scope = crate::scope::scope(&parts, local, local, "");
        let body = http_body_util::Empty::new()
            .map_err(|never| match never {})
            .boxed();
        let (exchange, response) = Exchange::new(body, self.limits.max_body);
        self.handle(scope, exchange).await;
        let response = response.await.context("the guest gave no response")?;
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

    /// Serves one request in a fresh instance: instantiate, call `handle(scope)`, and finish the
    /// exchange however the guest ended. The instance runs under the app's memory limit and
    /// deadline; a trap or a broken limit is logged and costs only this request.
    pub async fn handle(self: Arc<Self>, scope: Scope, exchange: Exchange) -> Outcome {
        let state = InstanceState::new(exchange, &self.env, self.limits.memory, &self.log_name);
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|state| &mut state.memory);
        // Compute is interrupted at the deadline by epochs; waiting (on the client, in
        // `receive`) by the timer below.
        store.set_epoch_deadline(self.limits.deadline_ticks());
        store.epoch_deadline_trap();
        let call = async {
            let instance = self.pre.instantiate_async(&mut store).await?;
            instance
                .wasgi_asgi_handler()
                .call_handle(&mut store, &scope)
                .await
        };
        let result = tokio::time::timeout(self.limits.timeout, call).await;
        let state = store.into_data();
        let (failure, reason) = match &result {
            Ok(Ok(())) => (None, None),
            Err(_) => (
                Some(Failure::Timeout),
                Some(format!("deadline of {:?} exceeded", self.limits.timeout)),
            ),
            Ok(Err(error)) if state.memory.exceeded => (
                Some(Failure::Trap),
                Some(format!(
                    "memory limit of {} bytes exceeded ({})",
                    self.limits.memory,
                    trap_reason(error)
                )),
            ),
            Ok(Err(error))
                if error.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) =>
            {
                (
                    Some(Failure::Timeout),
                    Some(format!("deadline of {:?} exceeded", self.limits.timeout)),
                )
            }
            Ok(Err(error)) => (Some(Failure::Trap), Some(trap_reason(error))),
        };
        let outcome = state.exchange.finish(failure);
        let (app, method, path) = (&self.name, &scope.method, &scope.path);
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

/// One line saying why a guest call failed: the trap itself (`wasm \`unreachable\` instruction
/// executed` for a Rust panic) rather than the multi-line wasm backtrace wrapped around it.
fn trap_reason(error: &wasmtime::Error) -> String {
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => error.root_cause().to_string(),
    }
}
