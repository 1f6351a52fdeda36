//! An instance's WASI context, built only when the guest makes a WASI call that needs it.

use std::sync::Arc;

use wasmtime_wasi::WasiCtx;
use wasmtime_wasi::p2::bindings::random::insecure_seed;

use crate::guest_log::GuestLog;

/// A guest's WASI context, built on its first WASI call. Most requests make none: building
/// one (its clocks, two seeded random generators, the environment, the log streams) was a
/// fifth of wasgi's own part of an in-process `GET /`, for a context no call used.
pub struct LazyWasi {
    /// The environment the guest sees.
    env: Arc<[(String, String)]>,
    /// The app whose log the guest's stdout and stderr go to.
    app: Arc<str>,
    /// The context, once a call needed it (boxed: the store's data stays small until then).
    ctx: Option<Box<WasiCtx>>,
}

impl LazyWasi {
    /// The context of a guest of `app` that sees `env` and no arguments or files; its stdout
    /// and stderr become log lines tagged with the app. Nothing is built yet.
    pub fn new(env: &Arc<[(String, String)]>, app: &Arc<str>) -> Self {
        LazyWasi {
            env: env.clone(),
            app: app.clone(),
            ctx: None,
        }
    }

    /// The context, built now if this is the first call that needs it.
    pub fn get(&mut self) -> &mut WasiCtx {
        let LazyWasi { env, app, ctx } = self;
        ctx.get_or_insert_with(|| {
            let ctx = WasiCtx::builder()
                .envs(env)
                .stdout(GuestLog::new(app.clone(), "stdout"))
                .stderr(GuestLog::new(app.clone(), "stderr"))
                .build();
            Box::new(ctx)
        })
    }
}

/// `wasi:random/insecure-seed` for one instance, answered without a WASI context. Rust's
/// standard library asks for it the first time a guest makes a `HashMap` (every JSON object
/// is one, `serde_json` keeping the keys' order), so with wasmtime-wasi's own implementation,
/// which reads the seed from the context, nearly every request would build one. The seed is
/// drawn the way wasmtime-wasi draws it (from the thread's `rand` generator) on the first
/// call, and the instance gets the same one on every later call, as it would from wasmtime-wasi.
#[derive(Default)]
pub struct InsecureSeed(Option<(u64, u64)>);

impl insecure_seed::Host for InsecureSeed {
    fn insecure_seed(&mut self) -> wasmtime::Result<(u64, u64)> {
        Ok(*self.0.get_or_insert_with(rand::random))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use insecure_seed::Host as _;

    #[test]
    fn the_context_is_built_on_first_use_only() {
        let env: Arc<[(String, String)]> = Arc::new([("K".to_owned(), "v".to_owned())]);
        let mut wasi = LazyWasi::new(&env, &Arc::from("app"));
        assert!(wasi.ctx.is_none());
        wasi.get();
        assert!(wasi.ctx.is_some());
    }

    #[test]
    fn an_instance_keeps_its_seed_and_instances_differ() {
        let (mut a, mut b) = (InsecureSeed::default(), InsecureSeed::default());
        let first = a.insecure_seed().unwrap();
        assert_eq!(a.insecure_seed().unwrap(), first);
        // Two 128-bit draws are equal with probability 2^-128.
        assert_ne!(b.insecure_seed().unwrap(), first);
    }
}
