//! What a guest instance's store holds, and the host side of the WIT imports it calls.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::wasgi::asgi::{server, types};
use crate::exchange::Exchange;

/// The data of one instance's `Store`: its WASI context and its request's exchange.
pub struct InstanceState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub exchange: Exchange,
}

impl InstanceState {
    /// State for an instance serving the request behind `exchange`. The guest sees `env` and no
    /// arguments or files; its stdout and stderr go to the host's.
    pub fn new(exchange: Exchange, env: &[(String, String)]) -> Self {
        let wasi = WasiCtx::builder()
            .envs(env)
            .inherit_stdout()
            .inherit_stderr()
            .build();
        InstanceState {
            wasi,
            table: ResourceTable::new(),
            exchange,
        }
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
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
