//! Typed parameters, models and validation, the FastAPI way: this app mirrors
//! `../shared/reference/params_app.py` endpoint for endpoint, and answers every request with
//! the status and JSON body FastAPI gives (`tests/params_golden.rs` checks it against FastAPI's
//! recorded answers).
//!
//! Build and serve it (from the repository root):
//!
//! ```text
//! cargo run --release -p wasgi-host -- serve examples/params
//! curl 'http://127.0.0.1:8000/items/5?q=x'        # {"item_id":5,"q":"x","description":...}
//! curl 'http://127.0.0.1:8000/search?q=ab'         # 422: string_too_short at ["query","q"]
//! ```
//!
//! How a parameter's source is decided, as in FastAPI: a name in the path template is a path
//! parameter; a scalar (or an `Option`/`Vec` of one) is a query parameter; a model is the body;
//! `#[header]`, `#[cookie]` and `#[body]` say otherwise. Constraints sit on the parameter or field
//! they constrain, once.
//!
//! The routes' comments are `//`, not `///`: a doc comment becomes the operation's
//! `description` in `/openapi.json`, and the FastAPI app this mirrors has no docstrings.

use serde_json::{Value, json};
use wasgi::{App, HttpException, Model, StrEnum};

mod item;
pub use item::{Image, Item};

/// `class ModelName(str, Enum)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, StrEnum)]
pub enum ModelName {
    /// `"alexnet"`
    Alexnet,
    /// `"resnet"`
    Resnet,
    /// `"lenet"`
    Lenet,
}

/// A user.
#[derive(Debug, Clone, Model)]
pub struct User {
    /// 3 to 20 lower-case letters, digits or underscores.
    #[field(min_length = 3, max_length = 20, pattern = "^[a-z0-9_]+$")]
    pub username: String,
    /// Optional full name.
    pub full_name: Option<String>,
    /// 0 to 150.
    #[field(ge = 0, le = 150)]
    pub age: i64,
}

// The greeting.
#[wasgi::get("/")]
fn root() -> Value {
    json!({"message": "Hello World"})
}

// An item by id; `q` is echoed when not empty, and `short` drops the description.
//
// `item_id` is an `i128` because Python's `int` has no width: FastAPI echoes ids far beyond
// `i64`, and so does this (up to 39 digits).
#[wasgi::get("/items/{item_id}")]
fn read_item(item_id: i128, q: Option<String>, #[query(default = false)] short: bool) -> Value {
    let mut item = json!({ "item_id": item_id.to_string() });
    // Keep the integer exact: JSON numbers beyond i64 don't fit serde_json's `Value`.
    item["item_id"] = serde_json::from_str(&item_id.to_string()).unwrap_or(Value::Null);
    if let Some(q) = q.filter(|q| !q.is_empty()) {
        item["q"] = json!(q);
    }
    if !short {
        item["description"] = json!("This is an amazing item that has a long description");
    }
    item
}

// A model by name.
#[wasgi::get("/models/{model_name}")]
fn get_model(model_name: ModelName) -> Value {
    let message = match model_name {
        ModelName::Alexnet => "Deep Learning FTW!",
        ModelName::Lenet => "LeCNN all the images",
        ModelName::Resnet => "Have some residuals",
    };
    json!({"model_name": model_name, "message": message})
}

// A file path, slashes and all.
#[wasgi::get("/files/{file_path:path}")]
fn read_file(file_path: String) -> Value {
    json!({"file_path": file_path})
}

// A constrained search.
#[wasgi::get("/search")]
fn search(
    #[query(min_length = 3, max_length = 50, pattern = "^[a-z ]+$")] q: String,
    #[query(default = 0)] skip: i64,
    #[query(ge = 1, le = 100, default = 10)] limit: i64,
    #[query(default)] tag: Vec<String>,
) -> Value {
    json!({"q": q, "skip": skip, "limit": limit, "tag": tag})
}

// A number, scaled.
#[wasgi::get("/numbers/{n}")]
fn numbers(
    #[path(gt = 0, le = 1000)] n: f64,
    #[query(gt = 0, lt = 10, default = 1)] scale: i64,
) -> Value {
    json!({"n": n, "scaled": n * scale as f64})
}

// Creates an item: 201, with the price including tax when there is a tax.
#[wasgi::post("/items", status_code = 201)]
fn create_item(item: Item) -> Value {
    item.with_price_with_tax()
}

// Updates an item: several body parameters, so each is a key of the body object.
#[wasgi::put("/items/{item_id}")]
fn update_item(
    #[path(ge = 1)] item_id: i128,
    item: Item,
    user: User,
    #[body(gt = 0)] importance: i64,
) -> Value {
    let item_id: Value = serde_json::from_str(&item_id.to_string()).unwrap_or(Value::Null);
    json!({"item_id": item_id, "item": item, "user": user, "importance": importance})
}

// Headers (`user_agent` reads `User-Agent`) and a cookie.
#[wasgi::get("/headers")]
fn headers(
    #[header] user_agent: Option<String>,
    #[header] x_token: Option<Vec<String>>,
    #[cookie] session_id: Option<String>,
) -> Value {
    json!({"user_agent": user_agent, "x_token": x_token, "session_id": session_id})
}

// Only `foo` exists; anything else is a 404 with a custom header.
#[wasgi::get("/secret/{item_id}")]
fn secret(item_id: String) -> Result<Value, HttpException> {
    if item_id != "foo" {
        return Err(
            HttpException::new(404, "Item not found").with_header("X-Error", "There goes my error")
        );
    }
    Ok(json!({"item": "The Foo Wrestlers"}))
}

/// The app.
pub fn app() -> App {
    App::new()
        .title("wasgi params reference")
        .version("0.1.0")
        .endpoint(root)
        .endpoint(read_item)
        .endpoint(get_model)
        .endpoint(read_file)
        .endpoint(search)
        .endpoint(numbers)
        .endpoint(create_item)
        .endpoint(update_item)
        .endpoint(headers)
        .endpoint(secret)
}

wasgi::export!(app);

#[cfg(test)]
mod tests;
