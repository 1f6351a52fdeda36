//! The first wasgi app: JSON answers, a path parameter, and a request body streamed back.
//!
//! Build and serve it (from the repository root):
//!
//! ```text
//! cargo run --release -p wasgi-host -- serve examples/hello
//! curl http://127.0.0.1:8000/                      # {"message":"Hello World"}
//! curl http://127.0.0.1:8000/items/42              # {"item_id":"42"}
//! curl --data-binary @big.file http://127.0.0.1:8000/echo   # big.file, streamed back
//! ```

use serde_json::{Value, json};
use wasgi::{App, Body, Response};

// `GET /`: the classic greeting.
#[wasgi::get("/")]
fn root() -> Value {
    json!({"message": "Hello World"})
}

// `GET /items/{item_id}`: the path parameter, as text (see `examples/params` for typed ones).
#[wasgi::get("/items/{item_id}")]
fn read_item(item_id: String) -> Value {
    json!({"item_id": item_id})
}

// `POST /echo`: sends the request body back chunk by chunk as it arrives, so a body of any
// size passes through in constant memory. A `Body` parameter is the raw, streamed body.
#[wasgi::post("/echo", media_type = "application/octet-stream")]
fn echo(body: Body) -> Response {
    Response::stream(body).with_header("content-type", "application/octet-stream")
}

/// The app: one route per handler.
pub fn app() -> App {
    App::new()
        .title("hello")
        .endpoint(root)
        .endpoint(read_item)
        .endpoint(echo)
}

wasgi::export!(app);

#[cfg(test)]
mod tests {
    use super::*;
    use wasgi::TestClient;

    #[test]
    fn root_says_hello() {
        let response = TestClient::new(app()).get("/").send();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text(), r#"{"message":"Hello World"}"#);
    }

    #[test]
    fn item_id_is_echoed() {
        let response = TestClient::new(app()).get("/items/42").send();
        assert_eq!(response.json::<Value>(), json!({"item_id": "42"}));
    }

    #[test]
    fn echo_returns_the_body_unchanged() {
        let body = vec![7u8; 300_000];
        let response = TestClient::new(app())
            .post("/echo")
            .body(body.clone())
            .send();
        assert_eq!(
            response.header("content-type"),
            Some("application/octet-stream")
        );
        assert_eq!(response.bytes(), body);
    }
}
