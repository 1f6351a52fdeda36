//! Dispatch behaviour, checked against what FastAPI (Starlette) answers.

use serde_json::{Value, json};

use crate::{App, Request, Response, TestClient};

fn client() -> TestClient {
    TestClient::new(
        App::new()
            .get("/", |_: Request| json!({"message": "Hello World"}))
            .get(
                "/items/{item_id}",
                |r: Request| json!({"item_id": r.path_param("item_id")}),
            )
            .put("/items/{item_id}", |_: Request| "put")
            .post("/items", |_: Request| "created")
            .get(
                "/files/{file_path:path}",
                |r: Request| json!({"file_path": r.path_param("file_path")}),
            )
            .post("/echo", |r: Request| Response::stream(r.into_body())),
    )
}

#[test]
fn root_answers_json_with_content_length() {
    let response = client().get("/").send();
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("content-length"), Some("25"));
    assert_eq!(response.text(), r#"{"message":"Hello World"}"#);
}

#[test]
fn path_parameter_is_captured_decoded() {
    let response = client().get("/items/a%20b").send();
    assert_eq!(response.json::<Value>(), json!({"item_id": "a b"}));
}

#[test]
fn path_converter_keeps_slashes() {
    let response = client().get("/files//home/johndoe/myfile.txt").send();
    assert_eq!(
        response.json::<Value>(),
        json!({"file_path": "/home/johndoe/myfile.txt"})
    );
}

#[test]
fn unknown_path_is_404_not_found() {
    let response = client().get("/nope").send();
    assert_eq!(response.status(), 404);
    assert_eq!(response.text(), r#"{"detail":"Not Found"}"#);
}

#[test]
fn wrong_method_is_405_allowing_the_first_matching_route_as_fastapi_does() {
    let response = client().delete("/items/5").send();
    assert_eq!(response.status(), 405);
    assert_eq!(response.text(), r#"{"detail":"Method Not Allowed"}"#);
    assert_eq!(response.header("allow"), Some("GET"));
}

#[test]
fn head_is_not_implied_by_get_as_in_fastapi() {
    let response = client().request(http::Method::HEAD, "/").send();
    assert_eq!(response.status(), 405);
    assert_eq!(response.header("allow"), Some("GET"));
}

#[test]
fn an_explicit_head_route_answers_head() {
    let app = App::new().route(http::Method::HEAD, "/", |_: Request| Response::new());
    let response = TestClient::new(app).request(http::Method::HEAD, "/").send();
    assert_eq!(response.status(), 200);
}

#[test]
fn trailing_slash_redirects_like_starlette() {
    let response = client().get("/items/?x=1").send();
    assert_eq!(response.status(), 307);
    assert_eq!(
        response.header("location"),
        Some("http://testserver/items?x=1")
    );
    assert_eq!(response.bytes(), b"");

    let response = client().get("/items/5/").send();
    assert_eq!(
        response.header("location"),
        Some("http://testserver/items/5")
    );
}

#[test]
fn first_matching_route_wins() {
    let app = App::new()
        .get("/users/me", |_: Request| "me")
        .get("/users/{id}", |_: Request| "someone");
    let client = TestClient::new(app);
    assert_eq!(client.get("/users/me").send().json::<String>(), "me");
    assert_eq!(client.get("/users/7").send().json::<String>(), "someone");
}

#[test]
fn echo_streams_a_multi_chunk_body_back() {
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let response = client().post("/echo").body(body.clone()).send();
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("content-length"), None);
    assert_eq!(response.bytes(), body);
}

#[test]
#[should_panic(expected = "path `items` must start with `/`")]
fn invalid_template_panics_when_the_app_is_built() {
    let _ = App::new().get("items", |_: Request| "x");
}

#[test]
fn a_path_of_slashes_is_not_redirected_to_root() {
    // Starlette strips every trailing slash, leaving "" for "//", which no route matches.
    let response = client().get("//").send();
    assert_eq!(response.status(), 404);
    let response = client().get("/items//").send();
    assert_eq!(response.header("location"), Some("http://testserver/items"));
}

#[crate::post("/upload/{name}")]
fn upload(name: String, body: crate::Body) -> Value {
    let size = body.bytes().map_or(0, |bytes| bytes.len());
    json!({"name": name, "size": size})
}

#[crate::get("/raw")]
fn raw(request: Request, #[query(default = 1)] page: u32) -> Value {
    json!({"path": request.path(), "page": page})
}

#[test]
fn a_body_parameter_streams_the_raw_body_after_typed_parameters() {
    let client = TestClient::new(App::new().endpoint(upload).endpoint(raw));
    let response = client.post("/upload/a.bin").body(vec![0u8; 100_000]).send();
    assert_eq!(
        response.json::<Value>(),
        json!({"name": "a.bin", "size": 100_000})
    );
    let response = client.get("/raw?page=3").send();
    assert_eq!(response.json::<Value>(), json!({"path": "/raw", "page": 3}));
}
