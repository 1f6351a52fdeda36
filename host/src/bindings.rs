//! Host-side bindings for the `wasgi:asgi/app` world in `wit/`; nothing but `bindgen!`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "app",
    imports: { default: async },
    exports: { default: async },
    // The scope the host passes to `handle` borrows the request's head instead of copying it.
    ownership: Borrowing { duplicate_if_necessary: true },
});
