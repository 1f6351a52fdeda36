//! Host-side bindings for the `wasgi:asgi/app` world in `wit/`; nothing but `bindgen!`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "app",
    imports: { default: async },
    exports: { default: async },
});
