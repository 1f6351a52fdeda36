//! The benchmark's two endpoints as a wasgi guest, written with the SDK as a user would: `GET /`
//! and `POST /items` with the `Item` model of `shared/reference/params_app.py`, the same two the
//! other servers of `bench/` answer and nothing more (FastAPI's `bench/fastapi_app.py`, native
//! hyper's and `wasmtime serve`'s `bench/common/handlers.rs`).
//!
//! The `Item` model is `examples/params`' own (its `item.rs`, included here): depending on that
//! crate would link its ten endpoints and the regex engine, which is what this app leaves out.

use serde_json::{Value, json};
use wasgi::App;

#[path = "../../../examples/params/src/item.rs"]
mod item;
use item::Item;

// The greeting.
#[wasgi::get("/")]
fn root() -> Value {
    json!({"message": "Hello World"})
}

// Creates an item: 201, with the price including tax when there is a tax.
#[wasgi::post("/items", status_code = 201)]
fn create_item(item: Item) -> Value {
    item.with_price_with_tax()
}

/// The app.
pub fn app() -> App {
    App::new().endpoint(root).endpoint(create_item)
}

wasgi::export!(app);
