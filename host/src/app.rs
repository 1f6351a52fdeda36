//! A loaded guest app: its component, checked and pre-linked once, instantiated per request.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use http_body_util::BodyExt as _;
use wasmtime::Store;
use wasmtime::component::{Component, Linker};

use crate::bindings::AppPre;
use crate::bindings::wasgi::asgi::types::Scope;
use crate::exchange::{Exchange, Outcome};
use crate::state::InstanceState;

/// A guest app ready to serve: everything that can be done once per deploy is done.
pub struct App {
    name: String,
    pre: AppPre<InstanceState>,
    env: Vec<(String, String)>,
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
        Ok(App {
            name: name.to_owned(),
            pre,
            env: Vec::new(),
        })
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
        let (exchange, response) = Exchange::new(body);
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
    /// exchange however the guest ended. A trap is logged and costs only this request.
    pub async fn handle(self: Arc<Self>, scope: Scope, exchange: Exchange) -> Outcome {
        let mut store = Store::new(self.pre.engine(), InstanceState::new(exchange, &self.env));
        let result = async {
            let instance = self.pre.instantiate_async(&mut store).await?;
            instance
                .wasgi_asgi_handler()
                .call_handle(&mut store, &scope)
                .await
        }
        .await;
        let outcome = store.into_data().exchange.finish();
        match (&result, outcome) {
            (Err(error), _) => {
                tracing::error!(
                    app = %self.name,
                    method = %scope.method,
                    path = %scope.path,
                    "guest trapped: {}",
                    trap_reason(error)
                );
                tracing::debug!(app = %self.name, "guest trap in full: {error:?}");
            }
            (Ok(()), Outcome::NoResponse) => tracing::error!(
                app = %self.name,
                method = %scope.method,
                path = %scope.path,
                "guest returned without sending a response"
            ),
            (Ok(()), Outcome::Truncated) => tracing::error!(
                app = %self.name,
                method = %scope.method,
                path = %scope.path,
                "guest returned without completing its response body"
            ),
            (Ok(()), Outcome::Complete | Outcome::ClientGone) => {}
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
