//! Extracting and validating `PUT /items/{item_id}` of the params example, natively:
//! a path parameter with a bound, two embedded models (one with a regex) and a body field.
//!
//! `cargo bench -p params --bench validation`; the figure is quoted in the SDK's docs.

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::hint::black_box;
use wasgi::TestClient;

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

    c.bench_function("PUT /items/{item_id} valid (200)", |b| {
        b.iter(|| {
            let response = client
                .put("/items/5")
                .header("content-type", "application/json")
                .body(valid.clone())
                .send();
            assert_eq!(response.status(), 200);
            black_box(response)
        })
    });
    c.bench_function("PUT /items/{item_id} 8 errors (422)", |b| {
        b.iter(|| {
            let response = client
                .put("/items/0")
                .header("content-type", "application/json")
                .body(invalid.clone())
                .send();
            assert_eq!(response.status(), 422);
            black_box(response)
        })
    });
}

criterion_group!(benches, put_item);
criterion_main!(benches);
