//! A fresh instance per request, measured in-process: instantiate the pre-linked component,
//! call `handle(scope)` with an empty `GET`, and collect the response, for `examples/hello`
//! and `examples/params`. No network: this is the host's per-request cost on its own. A
//! second row per example only creates and discards the instance: the floor under any guest.
//! A last row serves `GET /` of the guest that speaks the WIT without the SDK
//! (`tests/guests/raw`, which answers `ok`): the runtime's part of a request with next to no
//! guest work, so that the SDK's share of the examples' rows can be told from the runtime's.
//! And one for `bench/wasgi-app`, the app `bench/run` serves: the benchmark's two endpoints.
//!
//! `cargo bench --profile dist -p wasgi-host --bench instantiate` (the measured build, as `bench/run`
//! runs it; without `--profile dist` it measures `release`)
//!
//! With `WASGI_PROFILE_REQUESTS=N` in the environment it skips criterion and serves `GET /` of
//! `examples/hello` N times after one warm-up request, for a profile of the in-process request
//! alone: `WASGI_PERF_MAP=1 perf record -D 1500 -g` of this binary with `--bench` (the delay
//! skips building and loading the guests).

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use wasgi_host::app::App;
use wasgi_host::{engine, guest_build};

fn instantiate_and_handle(c: &mut Criterion) {
    let profile: Option<usize> = std::env::var("WASGI_PROFILE_REQUESTS")
        .ok()
        .map(|n| n.parse().expect("WASGI_PROFILE_REQUESTS is a number"));
    let engine = engine::new_engine(None).expect("an engine");
    let linker = engine::new_linker(&engine).expect("a linker");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for example in ["hello", "params"] {
        let component = guest_build::build_guest(&repo.join("examples").join(example))
            .unwrap_or_else(|error| panic!("failed to build examples/{example}: {error:#}"));
        let app = Arc::new(App::load(example, &component, &linker).expect("a loadable app"));
        if let Some(requests) = profile {
            get_root(&runtime, &app);
            profiled_requests(&runtime, &app, requests);
            std::process::exit(0);
        }
        c.bench_function(&format!("{example}: instantiate + GET / in-process"), |b| {
            b.iter(|| black_box(get_root(&runtime, &app)))
        });
        // The instance alone, created and discarded without a call: the floor of a fresh
        // instance per request, whatever the guest does.
        c.bench_function(&format!("{example}: instantiate only, no call"), |b| {
            b.iter(|| {
                runtime
                    .block_on(app.instantiate_only())
                    .expect("an instance")
            })
        });
        // The same guest without its `init` snapshot: what pre-initialisation saves.
        let bytes = std::fs::read(&component).expect("the built component");
        let as_is = App::from_bytes_as_is(example, &bytes, example, &linker).expect("an app");
        let as_is = Arc::new(as_is);
        c.bench_function(
            &format!("{example}: instantiate + GET / in-process, not pre-initialised"),
            |b| b.iter(|| black_box(get_root(&runtime, &as_is))),
        );
    }
    let raw = guest_build::build_guest(&repo.join("tests").join("guests").join("raw"))
        .unwrap_or_else(|error| panic!("failed to build tests/guests/raw: {error:#}"));
    let raw = Arc::new(App::load("raw", &raw, &linker).expect("a loadable app"));
    c.bench_function("raw guest, no SDK: instantiate + GET / in-process", |b| {
        b.iter(|| black_box(get_root(&runtime, &raw)))
    });
    let served = guest_build::build_guest(&repo.join("bench").join("wasgi-app"))
        .unwrap_or_else(|error| panic!("failed to build bench/wasgi-app: {error:#}"));
    let served = Arc::new(App::load("bench", &served, &linker).expect("a loadable app"));
    c.bench_function("bench/wasgi-app: instantiate + GET / in-process", |b| {
        b.iter(|| black_box(get_root(&runtime, &served)))
    });
}

/// `requests` times `GET /`, in a function of its own so that a profile can pick it out.
#[inline(never)]
fn profiled_requests(runtime: &tokio::runtime::Runtime, app: &Arc<App>, requests: usize) {
    for _ in 0..requests {
        black_box(get_root(runtime, app));
    }
}

/// `GET /` in a fresh instance of `app`: its body.
#[inline(never)]
fn get_root(runtime: &tokio::runtime::Runtime, app: &Arc<App>) -> bytes::Bytes {
    let (status, body) = runtime.block_on(app.clone().get("/")).expect("an answer");
    assert_eq!(status, 200);
    body
}

criterion_group!(benches, instantiate_and_handle);
criterion_main!(benches);
