//! Routing among 100 routes, natively: the first route, the last one, and a path no route
//! matches (FastAPI's 404, after the trailing-slash check). Routes are tried in order, as in
//! Starlette, so the last route and the 404 pay for all 100 templates.
//!
//! `cargo bench -p wasgi --bench routing`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use wasgi::asgi::Scope;
use wasgi::{App, Body, Request};

fn hundred_routes() -> App {
    (0..100).fold(App::new(), |app, i| {
        app.get(&format!("/r{i}/items/{{item_id}}"), |request: Request| {
            request.path_param("item_id").unwrap_or_default().to_owned()
        })
    })
}

fn routing(c: &mut Criterion) {
    let app = hundred_routes();
    for (name, path, status) in [
        ("first of 100 routes", "/r0/items/42", 200),
        ("last of 100 routes", "/r99/items/42", 200),
        ("none of 100 routes (404)", "/nowhere/42", 404),
    ] {
        c.bench_function(&format!("route: {name}"), |b| {
            b.iter(|| {
                let request = Request::new(Scope::get(black_box(path)), Body::empty());
                let response = app.respond(request);
                assert_eq!(response.status().as_u16(), status);
                black_box(response)
            })
        });
    }
}

criterion_group!(benches, routing);
criterion_main!(benches);
