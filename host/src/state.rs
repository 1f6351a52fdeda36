//! What a guest instance's store holds, and the host side of the WIT imports it calls.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtxView, WasiView};

use crate::bindings::wasgi::asgi::{server, types};
use crate::exchange::Exchange;
use crate::wasi_ctx::{InsecureSeed, LazyWasi};

/// The data of one instance's `Store`: its WASI context, its memory limit and its request's
/// exchange.
pub struct InstanceState {
    wasi: LazyWasi,
    /// The seed `wasi:random/insecure-seed` gives this instance.
    pub insecure_seed: InsecureSeed,
    table: ResourceTable,
    pub memory: MemoryLimit,
    pub exchange: Exchange,
    /// When the request's time is up: a guest still computing then is interrupted. `None`
    /// when the timeout is too long to be a point in time (it is never reached).
    pub deadline: Option<Instant>,
}

/// Refuses linear-memory growth past a limit, and remembers that it did, so that the trap
/// that follows (a Rust guest aborts when an allocation fails) is reported as the limit.
pub struct MemoryLimit {
    max: usize,
    /// Whether the guest asked for more than the limit.
    pub exceeded: bool,
}

impl MemoryLimit {
    /// A limit of `max` bytes, not exceeded yet.
    pub fn new(max: u64) -> Self {
        MemoryLimit {
            max: usize::try_from(max).unwrap_or(usize::MAX),
            exceeded: false,
        }
    }
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A table element is a pointer; count tables against the same budget.
        Ok(desired.saturating_mul(std::mem::size_of::<usize>()) <= self.max)
    }
}

impl InstanceState {
    /// State for an instance of `app` serving the request behind `exchange` until `deadline`,
    /// with at most `memory` bytes of linear memory. The guest sees `env` and no arguments or
    /// files; its stdout and stderr become log lines tagged with the app.
    pub fn new(
        exchange: Exchange,
        env: &Arc<[(String, String)]>,
        memory: u64,
        deadline: Option<Instant>,
        app: &Arc<str>,
    ) -> Self {
        InstanceState {
            wasi: LazyWasi::new(env, app),
            insecure_seed: InsecureSeed::default(),
            table: ResourceTable::new(),
            memory: MemoryLimit::new(memory),
            exchange,
            deadline,
        }
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: self.wasi.get(),
            table: &mut self.table,
        }
    }
}

impl types::Host for InstanceState {}

impl server::Host for InstanceState {
    async fn receive(&mut self) -> types::ReceiveEvent {
        self.exchange.receive().await
    }

    async fn send(&mut self, event: types::SendEvent) -> Result<(), types::SendError> {
        self.exchange.send(event).await
    }
}
