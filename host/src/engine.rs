//! The one wasmtime [`Engine`] a host shares between all its apps, and the linker setup.

use anyhow::Result;
use std::path::Path;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::error::Context as _;

use wasmtime::{
    Cache, CacheConfig, Config, Enabled, Engine, InstanceAllocationStrategy,
    PoolingAllocationConfig, ProfilingStrategy,
};

use wasmtime_wasi::p2::bindings::random::insecure_seed;

use crate::bindings;
use crate::state::InstanceState;
use crate::wasi_ctx::InsecureSeed;

/// How many guest instances may exist at once across all apps. Each request holds one instance
/// until its handler returns; the pooling allocator reserves address space for this many up
/// front so that instantiation is a slot reuse, not an `mmap`.
pub const MAX_INSTANCES: u32 = 1000;

/// How much of a finished instance's linear memory may stay mapped for the next one, reset in
/// place from the component's initial image instead of being handed back to the kernel. A
/// request dirties a few dozen pages (its stack, data and heap); returning them with `madvise`
/// and faulting them in again on the next request was a third of the per-request cost.
const MEMORY_KEEP_RESIDENT: usize = 2 << 20;

/// The same for tables (function tables of a few kilobytes).
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// The subdirectory of the compile cache directory that wasmtime's cache manages. Its cleanup
/// deletes whatever it does not recognise in its directory, so it gets one of its own: a cache
/// directory that also holds other files (`.`, or the data directory) loses none of them.
pub const COMPILED_SUBDIR: &str = "wasmtime";

/// Builds the engine: async host calls, and the pooling allocator with copy-on-write memory
/// images so that a fresh instance per request costs microseconds. With `cache_dir`, compiled
/// components are kept in its [`COMPILED_SUBDIR`] (keyed by the component's hash and the
/// engine's settings), so a restart does not compile again.
pub fn new_engine(cache_dir: Option<&Path>) -> Result<Engine> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        // Deadlines: a guest in an endless loop is interrupted at its next epoch check.
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool(true)));
    // Profiling: name guest functions in `perf report` (bench/profile sets this).
    if std::env::var_os("WASGI_PERF_MAP").is_some() {
        config.profiler(ProfilingStrategy::PerfMap);
    }
    if let Some(dir) = cache_dir {
        // wasmtime's cache takes only absolute paths; a relative one is relative to where the
        // command was started, as on any command line.
        let dir = &std::path::absolute(dir)
            .with_context(|| format!("failed to resolve the cache path `{}`", dir.display()))?;
        let mut cache = CacheConfig::new();
        cache.with_directory(dir.join(COMPILED_SUBDIR));
        let cache = Cache::new(cache)
            .with_context(|| format!("failed to use `{}` as the compile cache", dir.display()))?;
        config.cache(Some(cache));
    }
    let engine = match Engine::new(&config) {
        Ok(engine) => engine,
        // A kernel without `PAGEMAP_SCAN` (before Linux 6.7): plain `madvise` resets.
        Err(error) => {
            tracing::info!("instance slots are reset with madvise: {error:#}");
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool(false)));
            Engine::new(&config).context("failed to create the wasmtime engine")?
        }
    };
    start_epoch_ticker(&engine);
    Ok(engine)
}

/// The instance pool. With `pagemap`, a finished instance's slot is reset by finding the pages
/// it dirtied with the `PAGEMAP_SCAN` ioctl and restoring only those, in place, and they stay
/// resident for the next instance; creating the engine then fails where the kernel lacks the
/// ioctl. Without it, slots are reset with `madvise`: keeping memory resident would mean
/// rewriting all of it on every reset.
fn pool(pagemap: bool) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(MAX_INSTANCES)
        // A Rust guest is its own module plus a couple of small WASI adapter modules.
        .max_core_instances_per_component(8)
        .total_core_instances(MAX_INSTANCES * 4)
        .total_memories(MAX_INSTANCES * 2)
        // Tables are small; a component has one or two per core instance.
        .total_tables(MAX_INSTANCES * 4)
        .total_stacks(MAX_INSTANCES);
    if pagemap {
        pool.pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
            .table_keep_resident(TABLE_KEEP_RESIDENT)
            .decommit_batch_size(RESET_IN_PLACE_BATCH);
    } else {
        pool.decommit_batch_size(MADVISE_BATCH);
    }
    pool
}

/// With in-place resets only what an instance dirtied beyond [`MEMORY_KEEP_RESIDENT`] (or
/// [`TABLE_KEEP_RESIDENT`]) goes back to the kernel, usually nothing, so a finished instance's
/// slots return to the pool at once: the next request reuses the memory slot just released,
/// still in the cache, and tables cycle through only as many slots as are in use. Batching
/// them (16) kept requests cycling through five to nine memory slots and up to eighteen
/// tables: 4 to 13% more time per in-process request, and 8 to 12% more CPU per served
/// `POST /items` (bench/analysis.md, item 7).
const RESET_IN_PLACE_BATCH: usize = 1;

/// Without `PAGEMAP_SCAN` each reset hands the memory back with `madvise`: those calls go in
/// batches (one `process_madvise` where the kernel has it), not one per instance.
const MADVISE_BATCH: usize = 16;

/// Advances `engine`'s epoch every [`EPOCH_TICK`](crate::limits::EPOCH_TICK), for as long as the
/// process lives. At each tick a computing guest checks its wall-clock deadline and yields
/// (`App::store`); a snapshot's `init` counts ticks (`preinit`).
fn start_epoch_ticker(engine: &Engine) {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("wasgi-epoch".to_owned())
        .spawn(move || {
            while let Some(engine) = engine.upgrade() {
                engine.increment_epoch();
                std::thread::sleep(crate::limits::EPOCH_TICK);
            }
        })
        .expect("a thread can be spawned at startup");
}

/// A linker with everything a guest may import: WASI preview 2 and wasgi's own `server`
/// interface (`receive` and `send`). `wasi:random/insecure-seed` is wasgi's own, which needs
/// no WASI context ([`InsecureSeed`]).
pub fn new_linker(engine: &Engine) -> Result<Linker<InstanceState>> {
    let mut linker = Linker::<InstanceState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).context("failed to link WASI")?;
    linker.allow_shadowing(true);
    insecure_seed::add_to_linker::<_, HasSelf<InsecureSeed>>(&mut linker, |state| {
        &mut state.insecure_seed
    })
    .context("failed to link wasi:random/insecure-seed")?;
    linker.allow_shadowing(false);
    bindings::App::add_to_linker::<_, HasSelf<InstanceState>>(&mut linker, |state| state)
        .context("failed to link the wasgi interface")?;
    Ok(linker)
}
