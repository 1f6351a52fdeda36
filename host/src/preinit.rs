//! Pre-initialising a guest when it is loaded: run its `init` export once and snapshot the
//! instance into the component that serves (Wizer, for components).
//!
//! A guest of the `wasgi` SDK builds its `App` (routes, path templates, boxed handlers) in
//! `init`. Without a snapshot every request's fresh instance would build it again before
//! routing; with one, every instance starts with it built, from the same copy-on-write memory
//! image, and requests still share nothing with each other.
//!
//! `init` runs in an instance whose imports all trap, under a memory limit and a deadline: its
//! state can only be what it computed, never a handle to the host. A guest whose `init` calls an
//! import, traps or runs too long is served as it is and builds its state per request.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use wasmtime::component::{Component, Instance, Lift, Linker, WasmList};
use wasmtime::{Engine, Store};
use wasmtime_wizer::{ComponentContext, ComponentInstanceState, Wizer};

use crate::app::trap_reason;
use crate::limits::{EPOCH_TICK, Limits};
use crate::state::MemoryLimit;

/// The export the host calls once to pre-initialise a guest (`wit/`'s `preinitialized-app`).
pub const INIT_EXPORT: &str = "init";

/// How long `init` may run.
pub const INIT_DEADLINE: Duration = Duration::from_secs(10);

/// `bytes` with its `init` export run and snapshotted, if it has one: `Ok(None)` for a
/// component without `init`, an error saying why for one that could not be pre-initialised.
/// The snapshot still exports `init`, which the host never calls again. Blocks while it
/// compiles and runs the guest.
pub fn preinitialize(engine: &Engine, bytes: &[u8]) -> Result<Option<Vec<u8>>> {
    preinitialize_within(engine, bytes, INIT_DEADLINE)
}

/// [`preinitialize`] with `init` given `deadline`.
fn preinitialize_within(
    engine: &Engine,
    bytes: &[u8],
    deadline: Duration,
) -> Result<Option<Vec<u8>>> {
    if !exports_init(bytes) {
        return Ok(None);
    }
    let mut wizer = Wizer::new();
    // Kept: removing it would also remove the core export its lifting refers to.
    wizer.init_func(INIT_EXPORT).keep_init_func(true);
    let (context, instrumented) = wizer
        .instrument_component(bytes)
        .map_err(anyhow::Error::from)
        .context("the component cannot be instrumented for a snapshot")?;
    let component = Component::new(engine, &instrumented).map_err(anyhow::Error::from)?;
    // Wizer's snapshot panics where its own instrumentation is broken; that must cost only the
    // pre-initialisation, never the host.
    let snapshot = std::panic::catch_unwind(AssertUnwindSafe(|| {
        futures_executor::block_on(run_and_snapshot(
            engine, &wizer, &context, &component, deadline,
        ))
    }));
    match snapshot {
        Ok(snapshot) => snapshot.map(Some),
        Err(_) => Err(anyhow!("the snapshot failed (see the log)")),
    }
}

/// Instantiates the instrumented `component`, calls `init` and snapshots the instance.
async fn run_and_snapshot(
    engine: &Engine,
    wizer: &Wizer,
    context: &ComponentContext<'_>,
    component: &Component,
    deadline: Duration,
) -> Result<Vec<u8>> {
    let mut store = Store::new(engine, MemoryLimit::new(init_memory()));
    store.limiter(|limit| limit);
    store.set_epoch_deadline((deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64);
    store.epoch_deadline_trap();
    let mut linker = Linker::new(engine);
    linker
        .define_unknown_imports_as_traps(component)
        .map_err(anyhow::Error::from)?;
    let instance = linker
        .instantiate_async(&mut store, component)
        .await
        .map_err(anyhow::Error::from)
        .context("the instance to snapshot failed to start")?;
    let init = instance
        .get_typed_func::<(), ()>(&mut store, INIT_EXPORT)
        .map_err(anyhow::Error::from)
        .context("`init` is not a function without parameters or results")?;
    if let Err(error) = init.call_async(&mut store, ()).await {
        if error.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) {
            return Err(anyhow!("`init` ran past its deadline of {deadline:?}"));
        }
        let why = trap_reason(&error);
        // What wasmtime's trapping imports say; the import is what the guest should hear of.
        if let Some(import) = why
            .strip_prefix("unknown import: `")
            .and_then(|rest| rest.split('`').next())
        {
            return Err(anyhow!(
                "`init` called the host (`{import}`), and a snapshot cannot hold what the \
                 host answers: do that in a request instead"
            ));
        }
        if store.data().exceeded {
            return Err(anyhow!(
                "`init` went past {} bytes of memory",
                init_memory()
            ));
        }
        return Err(anyhow!("`init` failed: {why}"));
    }
    // Reading the state back is the host's own work: no deadline for it.
    store.set_epoch_deadline(u64::MAX / 2);
    let mut state = Snapshotting {
        store: &mut store,
        instance,
    };
    wizer
        .snapshot_component(context, &mut state)
        .await
        .map_err(anyhow::Error::from)
        .context("the instance could not be snapshotted")
}

/// Whether `bytes` is a component exporting a function named `init` at its top level.
fn exports_init(bytes: &[u8]) -> bool {
    use wasmparser::{ComponentExternalKind, Parser, Payload};
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(Payload::Version { .. }) => depth += 1,
            Ok(Payload::End(_)) => depth = depth.saturating_sub(1),
            Ok(Payload::ComponentExportSection(exports)) if depth == 1 => {
                let found = exports.into_iter().flatten().any(|export| {
                    export.name.name == INIT_EXPORT && export.kind == ComponentExternalKind::Func
                });
                if found {
                    return true;
                }
            }
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

/// The memory `init` may use: the host's default per-instance limit.
fn init_memory() -> u64 {
    Limits::default().memory
}

/// What Wizer reads the initialised instance's memories and globals through: the accessor
/// functions its instrumentation exported, called on our store.
struct Snapshotting<'a> {
    store: &'a mut Store<MemoryLimit>,
    instance: Instance,
}

impl Snapshotting<'_> {
    /// Calls `func` of the exported instance `instance`, a function without parameters
    /// returning one `R`, and hands its result to `read`. Wizer only names accessors its own
    /// instrumentation added, so a missing one is a bug in it, not in the guest.
    async fn call<R, T>(
        &mut self,
        instance: &str,
        func: &str,
        read: impl FnOnce(&Store<MemoryLimit>, R) -> T,
    ) -> T
    where
        R: Lift + Send + Sync + 'static,
    {
        let (_, exported) = self
            .instance
            .get_export(&mut *self.store, None, instance)
            .expect("wizer's accessor instance is exported");
        let (_, index) = self
            .instance
            .get_export(&mut *self.store, Some(&exported), func)
            .expect("wizer's accessor function is exported");
        let accessor = self
            .instance
            .get_typed_func::<(), (R,)>(&mut *self.store, index)
            .expect("wizer's accessor has the type it expects");
        let (result,) = accessor
            .call_async(&mut *self.store, ())
            .await
            .expect("wizer's accessors only read state");
        read(self.store, result)
    }
}

impl ComponentInstanceState for Snapshotting<'_> {
    async fn call_func_ret_list_u8(
        &mut self,
        instance: &str,
        func: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) {
        self.call(instance, func, |store, list: WasmList<u8>| {
            contents(list.as_le_slice(store))
        })
        .await
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.call(instance, func, |_, value| value).await
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.call(instance, func, |_, value| value).await
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.call(instance, func, |_, value: f32| value.to_bits())
            .await
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.call(instance, func, |_, value: f64| value.to_bits())
            .await
    }
}

#[cfg(test)]
mod tests;
