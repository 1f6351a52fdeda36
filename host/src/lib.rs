//! The wasgi host: serves WebAssembly guest components over HTTP, one fresh instance per request.
//!
//! The pieces, in the order a request meets them:
//!
//! - [`server`] accepts connections (HTTP/1.1 with keep-alive, and HTTP/2) and turns each request
//!   into a [`scope`] record;
//! - [`app`] holds a loaded guest: its component, pre-linked once into an `InstancePre`, from
//!   which every request gets a fresh instance;
//! - [`preinit`] runs a guest's `init` once when it is loaded and snapshots it, so that every
//!   instance starts with the guest's app already built;
//! - [`exchange`] carries one request's body into the guest (`receive`) and its response back
//!   out (`send`), in bounded chunks;
//! - [`guest_build`] turns a guest crate directory into a component, for `wasgi serve DIR` and
//!   `wasgi build DIR`.

pub mod admin;
pub mod admin_client;
mod allocator;
pub mod app;
mod bindings;
pub mod config;
mod core_turns;
pub mod data_dir;
pub mod engine;
pub mod exchange;
pub mod guest_build;
mod guest_log;
pub mod limits;
mod linger;
pub mod metrics;
pub mod mounts;
pub mod preinit;
pub mod registry;
pub mod reload;
pub mod scope;
pub mod server;
pub mod serving;
pub mod shutdown;
mod state;
mod wasi_ctx;
pub mod workers;
