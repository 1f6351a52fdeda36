//! Extracting and validating `PUT /items/{item_id}` of the params example, natively:
//! a path parameter with a bound, two embedded models (one with a regex) and a body field; and
//! `POST /items` with one valid `Item`, the benchmark's endpoint (`bench/`).
//!
//! `cargo bench -p params --bench validation`; the figure is quoted in the SDK's docs.

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::hint::black_box;
use wasgi::TestClient;
use wasgi::http::Method;

fn put_item(c: &mut Criterion) {
    let client = TestClient::new(params::app());
    let valid = serde_json::to_vec(&json!({
        "item": {"name": "Foo", "description": "A very nice Item", "price": 35.4, "tax": 3.2,
                 "tags": ["rock", "metal"], "images": [{"url": "http://example.com/a.jpg", "name": "a"}]},
        "user": {"username": "dave_grohl", "full_name": "Dave Grohl", "age": 54},
        "importance": 5,
    }))
    .unwrap();
    let invalid = serde_json::to_vec(&json!({
        "item": {"name": "", "price": -1, "images": [{"url": 5}]},
        "user": {"username": "Dave Grohl!", "age": 151},
        "importance": 0,
    }))
    .unwrap();

    let item = serde_json::to_vec(&json!({
        "name": "Foo", "description": "A very nice Item", "price": 35.4, "tax": 3.2,
        "tags": ["rock", "metal"],
    }))
    .unwrap();
    for (name, method, path, body, status) in [
        (
            "POST /items valid Item (201)",
            Method::POST,
            "/items",
            &item,
            201,
        ),
        (
            "PUT /items/{item_id} valid (200)",
            Method::PUT,
            "/items/5",
            &valid,
            200,
        ),
        (
            "PUT /items/{item_id} 8 errors (422)",
            Method::PUT,
            "/items/0",
            &invalid,
            422,
        ),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let response = client
                    .request(method.clone(), path)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send();
                assert_eq!(response.status(), status);
                black_box(response)
            })
        });
    }
}

criterion_group!(benches, put_item);
criterion_main!(benches);
