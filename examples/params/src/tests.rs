//! The tutorial's checks, natively: a happy path, an exact 422 and a custom exception per idea.
//! The full comparison with FastAPI runs end to end in `tests/params_golden.rs`.

use serde_json::{Value, json};
use wasgi::TestClient;

use super::app;

fn client() -> TestClient {
    TestClient::new(app())
}

#[test]
fn path_and_query_parameters_are_typed() {
    let response = client().get("/items/5?q=somequery&short=yes").send();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>(),
        json!({"item_id": 5, "q": "somequery"})
    );
}

#[test]
fn every_error_of_a_request_is_reported() {
    let response = client().get("/numbers/0?scale=10").send();
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.json::<Value>(),
        json!({"detail": [
            {"type": "greater_than", "loc": ["path", "n"], "msg": "Input should be greater than 0", "input": "0", "ctx": {"gt": 0.0}},
            {"type": "less_than", "loc": ["query", "scale"], "msg": "Input should be less than 10", "input": "10", "ctx": {"lt": 10}},
        ]})
    );
}

#[test]
fn a_model_body_is_validated_field_by_field() {
    let response = client()
        .post("/items")
        .json(&json!({"name": "", "price": -1, "images": [{"url": "http://x"}]}))
        .send();
    assert_eq!(response.status(), 422);
    let detail = response.json::<Value>()["detail"].clone();
    let locs: Vec<Value> = detail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["loc"].clone())
        .collect();
    assert_eq!(
        locs,
        [
            json!(["body", "name"]),
            json!(["body", "price"]),
            json!(["body", "images", 0, "name"])
        ]
    );
}

#[test]
fn created_items_get_201_and_their_tax() {
    let response = client()
        .post("/items")
        .json(&json!({"name": "Foo", "price": 10, "tax": 1.5}))
        .send();
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.json::<Value>(),
        json!({"name": "Foo", "description": null, "price": 10.0, "tax": 1.5, "tags": [], "images": null, "price_with_tax": 11.5})
    );
}

#[test]
fn several_bodies_are_embedded_by_name() {
    let body = json!({
        "item": {"name": "Foo", "price": 1},
        "user": {"username": "dave", "age": 30},
        "importance": 5,
    });
    let response = client().put("/items/7").json(&body).send();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>()["user"],
        json!({"username": "dave", "full_name": null, "age": 30})
    );
}

#[test]
fn an_http_exception_has_its_detail_and_headers() {
    let response = client().get("/secret/bar").send();
    assert_eq!(response.status(), 404);
    assert_eq!(response.header("x-error"), Some("There goes my error"));
    assert_eq!(
        response.json::<Value>(),
        json!({"detail": "Item not found"})
    );
}
