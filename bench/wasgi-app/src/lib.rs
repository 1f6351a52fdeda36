//! The benchmark's two endpoints as a wasgi guest, written with the SDK as a user would: `GET /`
//! and `POST /items` with the `Item` model of `shared/reference/params_app.py`, the same two the
//! other servers of `bench/` answer and nothing more (FastAPI's `bench/fastapi_app.py`, native
//! hyper's and `wasmtime serve`'s `bench/common/handlers.rs`).
//!
//! The models repeat those of `examples/params` on purpose: depending on that crate would link
//! its ten endpoints and the regex engine, which is what this app leaves out.

use serde_json::{Value, json};
use wasgi::{App, Model};

/// An image of an item.
#[derive(Debug, Clone, Model)]
pub struct Image {
    /// Where the image is.
    pub url: String,
    /// Its name.
    pub name: String,
}

/// An item for sale, as `params_app.py` defines it.
#[derive(Debug, Clone, Model)]
pub struct Item {
    /// 1 to 50 characters.
    #[field(min_length = 1, max_length = 50)]
    pub name: String,
    /// At most 300 characters.
    #[field(max_length = 300)]
    pub description: Option<String>,
    /// Positive.
    #[field(gt = 0)]
    pub price: f64,
    /// Optional tax.
    pub tax: Option<f64>,
    /// Tags; none by default.
    #[field(default)]
    pub tags: Vec<String>,
    /// Optional images.
    pub images: Option<Vec<Image>>,
}

// The greeting.
#[wasgi::get("/")]
fn root() -> Value {
    json!({"message": "Hello World"})
}

// Creates an item: 201, with the price including tax when there is a tax.
#[wasgi::post("/items", status_code = 201)]
fn create_item(item: Item) -> Value {
    let mut result = serde_json::to_value(&item).unwrap_or_default();
    if let Some(tax) = item.tax {
        result["price_with_tax"] = json!(item.price + tax);
    }
    result
}

/// The app.
pub fn app() -> App {
    App::new().endpoint(root).endpoint(create_item)
}

wasgi::export!(app);
