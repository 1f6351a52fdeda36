//! Pre-initialisation of hand-written components: what `init` leaves behind is what every
//! instance of the snapshot starts from, and an `init` that misbehaves is refused with a reason.

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

use super::{preinitialize, preinitialize_within};

/// One engine for all the tests: each reserves the address space of a whole instance pool.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| crate::engine::new_engine(None).expect("an engine"))
}

/// A component exporting `init` with `body`, and `state` and `byte` reading what it left: a
/// global and the byte at address 1000. It imports a function, `host-call`.
fn component(body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(component
            (import "host-call" (func $host-call))
            (core func $lowered (canon lower (func $host-call)))
            (core module $m
                (import "host" "call" (func $host-call))
                (memory (export "memory") 1)
                (global $state (mut i32) (i32.const 0))
                (func (export "init") {body})
                (func (export "state") (result i32) global.get $state)
                (func (export "byte") (result i32) (i32.load8_u (i32.const 1000))))
            (core instance $host (export "call" (func $lowered)))
            (core instance $i (instantiate $m (with "host" (instance $host))))
            (func (export "init") (canon lift (core func $i "init")))
            (func (export "state") (result s32) (canon lift (core func $i "state")))
            (func (export "byte") (result s32) (canon lift (core func $i "byte"))))"#
    ))
    .expect("valid component text")
}

/// Calls export `name` (`() -> s32`) of a fresh instance of `bytes`.
fn call(bytes: &[u8], name: &str) -> i32 {
    let component = Component::new(engine(), bytes).expect("a component that compiles");
    let mut linker = Linker::new(engine());
    linker
        .define_unknown_imports_as_traps(&component)
        .expect("trapping imports");
    futures_executor::block_on(async {
        let mut store = Store::new(engine(), ());
        store.set_epoch_deadline(1000);
        let instance = linker
            .instantiate_async(&mut store, &component)
            .await
            .expect("an instance");
        let func = instance
            .get_typed_func::<(), (i32,)>(&mut store, name)
            .expect("the export");
        func.call_async(&mut store, ()).await.expect("a result").0
    })
}

/// The reason `body` as `init` is refused for.
fn refusal(body: &str) -> String {
    let error = preinitialize_within(engine(), &component(body), Duration::from_millis(200))
        .expect_err("refused");
    format!("{error:#}")
}

#[test]
fn every_instance_of_the_snapshot_starts_with_what_init_left() {
    let original =
        component("(global.set $state (i32.const 42)) (i32.store8 (i32.const 1000) (i32.const 7))");
    assert_eq!(call(&original, "state"), 0, "the original starts blank");
    let snapshot = preinitialize(engine(), &original)
        .expect("pre-initialised")
        .expect("a snapshot");
    for _ in 0..2 {
        assert_eq!(call(&snapshot, "state"), 42);
        assert_eq!(call(&snapshot, "byte"), 7);
    }
}

#[test]
fn a_component_without_init_is_left_alone() {
    let bytes = wat::parse_str(
        r#"(component
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func (export "not-init") (canon lift (core func $i "f"))))"#,
    )
    .expect("valid component text");
    assert!(preinitialize(engine(), &bytes).expect("no error").is_none());
    assert!(
        preinitialize(engine(), b"not wasm at all")
            .expect("no error")
            .is_none()
    );
}

#[test]
fn an_init_calling_the_host_is_refused() {
    let why = refusal("call $host-call");
    assert!(
        why.contains("`init` called the host (`host-call`)"),
        "{why}"
    );
}

#[test]
fn an_init_that_traps_is_refused() {
    let why = refusal("unreachable");
    assert!(
        why.contains("`init` failed") && why.contains("unreachable"),
        "{why}"
    );
}

#[test]
fn an_endless_init_is_stopped_at_its_deadline() {
    let why = refusal("(loop $forever (br $forever))");
    assert!(why.contains("ran past its deadline"), "{why}");
}

#[test]
fn an_init_growing_past_the_memory_limit_is_refused() {
    // 3000 pages of 64 KiB: past the default 128 MiB.
    let why =
        refusal("(if (i32.eq (memory.grow (i32.const 3000)) (i32.const -1)) (then unreachable))");
    assert!(why.contains("bytes of memory"), "{why}");
}
