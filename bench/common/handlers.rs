//! The benchmark's two endpoints, shared word for word by the native and the wasi:http
//! server: `GET /` and `POST /items`, which validates the reference app's `Item` (serde for
//! the shape, then the `Field` constraints) and answers it back with 201.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A status and a JSON body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// `class Image(BaseModel)`.
#[derive(Deserialize, Serialize)]
struct Image {
    url: String,
    name: String,
}

/// `class Item(BaseModel)` of `shared/reference/params_app.py`.
#[derive(Deserialize, Serialize)]
struct Item {
    name: String,
    #[serde(default)]
    description: Option<String>,
    price: f64,
    #[serde(default)]
    tax: Option<f64>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    images: Option<Vec<Image>>,
}

/// Answers `method path` with request body `body`.
pub fn route(method: &str, path: &str, body: &[u8]) -> Answer {
    match (method, path) {
        ("GET", "/") => answer(200, &json!({"message": "Hello World"})),
        ("POST", "/items") => create_item(body),
        (_, "/" | "/items") => answer(405, &json!({"detail": "Method Not Allowed"})),
        _ => answer(404, &json!({"detail": "Not Found"})),
    }
}

/// The answer to a request whose body could not be read to its end (the client went away or
/// sent a malformed chunk): FastAPI's 400, rather than validating the part that arrived.
pub fn unreadable_body() -> Answer {
    answer(
        400,
        &json!({"detail": "There was an error parsing the body"}),
    )
}

fn create_item(body: &[u8]) -> Answer {
    let item: Item = match serde_json::from_slice(body) {
        Ok(item) => item,
        Err(error) => return invalid("model_attributes_type", "body", &error.to_string()),
    };
    let name = item.name.chars().count();
    if name < 1 {
        return invalid(
            "string_too_short",
            "name",
            "String should have at least 1 character",
        );
    }
    if name > 50 {
        return invalid(
            "string_too_long",
            "name",
            "String should have at most 50 characters",
        );
    }
    if item
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 300)
    {
        return invalid(
            "string_too_long",
            "description",
            "String should have at most 300 characters",
        );
    }
    if item.price.is_nan() || item.price <= 0.0 {
        return invalid("greater_than", "price", "Input should be greater than 0");
    }
    let mut result = serde_json::to_value(&item).unwrap_or_default();
    if let Some(tax) = item.tax {
        result["price_with_tax"] = json!(item.price + tax);
    }
    answer(201, &result)
}

fn invalid(kind: &str, field: &str, msg: &str) -> Answer {
    answer(
        422,
        &json!({"detail": [{"type": kind, "loc": ["body", field], "msg": msg}]}),
    )
}

fn answer(status: u16, body: &Value) -> Answer {
    Answer {
        status,
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}
