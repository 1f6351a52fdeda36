//! The documentation pages and document, as FastAPI serves them.

use serde_json::{Value, json};

use crate::asgi::Scope;
use crate::{App, Body, Request, TestClient};

#[crate::get("/items/{item_id}", tags = ["items"], deprecated)]
/// Reads an item.
///
///     Indented lines keep their indentation.
fn read_item(item_id: i64) -> i64 {
    item_id
}

fn app() -> App {
    App::new()
        .title("Shop")
        .version("1.2.3")
        .endpoint(read_item)
}

fn page(app: &App, target: &str, root_path: &str) -> (u16, String, String) {
    let mut scope = Scope::get(target);
    scope.root_path = root_path.to_owned();
    let response = app.respond(Request::new(scope, Body::empty()));
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = String::from_utf8(response.body_bytes().unwrap_or_default().to_vec()).unwrap();
    (response.status().as_u16(), content_type, body)
}

#[test]
fn the_document_describes_routes_with_tags_deprecation_and_docs() {
    let document = TestClient::new(app())
        .get("/openapi.json")
        .send()
        .json::<Value>();
    assert_eq!(
        document["info"],
        json!({"title": "Shop", "version": "1.2.3"})
    );
    let operation = &document["paths"]["/items/{item_id}"]["get"];
    assert_eq!(operation["tags"], json!(["items"]));
    assert_eq!(operation["deprecated"], json!(true));
    assert_eq!(
        operation["description"],
        "Reads an item.\n\n    Indented lines keep their indentation."
    );
    assert!(document["components"]["schemas"]["HTTPValidationError"].is_object());
}

#[test]
fn swagger_ui_and_redoc_pages_point_at_the_document() {
    let app = app();
    let (status, content_type, docs) = page(&app, "/docs", "");
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/html; charset=utf-8")
    );
    assert!(docs.contains("<title>Shop - Swagger UI</title>"), "{docs}");
    assert!(docs.contains("url: '/openapi.json'"), "{docs}");
    assert!(
        docs.contains("oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'"),
        "{docs}"
    );
    assert!(
        docs.contains("https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"),
        "{docs}"
    );
    let (_, _, redoc) = page(&app, "/redoc", "");
    assert!(
        redoc.contains(r#"<redoc spec-url="/openapi.json"></redoc>"#),
        "{redoc}"
    );
    let (status, _, redirect) = page(&app, "/docs/oauth2-redirect", "");
    assert_eq!(status, 200);
    assert!(redirect.contains("oauth2-redirect.js"), "{redirect}");
}

#[test]
fn a_mount_prefix_reaches_the_pages_and_the_servers_list() {
    let app = app();
    let (_, _, docs) = page(&app, "/docs", "/api/v1");
    assert!(docs.contains("url: '/api/v1/openapi.json'"), "{docs}");
    assert!(
        docs.contains("window.location.origin + '/api/v1/docs/oauth2-redirect'"),
        "{docs}"
    );
    let (_, _, document) = page(&app, "/openapi.json", "/api/v1");
    let document: Value = serde_json::from_str(&document).unwrap();
    assert_eq!(document["servers"], json!([{"url": "/api/v1"}]));
}

#[test]
fn pages_can_move_turn_off_and_load_local_assets() {
    let app = app()
        .docs_url(Some("/swagger"))
        .redoc_url(None)
        .docs_assets("http://127.0.0.1:9/assets/");
    let (status, _, docs) = page(&app, "/swagger", "");
    assert_eq!(status, 200);
    assert!(
        docs.contains(r#"<script src="http://127.0.0.1:9/assets/swagger-ui-bundle.js">"#),
        "{docs}"
    );
    assert!(
        docs.contains(r#"href="http://127.0.0.1:9/assets/swagger-ui.css""#),
        "{docs}"
    );
    assert_eq!(page(&app, "/swagger/oauth2-redirect", "").0, 200);
    assert_eq!(page(&app, "/docs", "").0, 404);
    assert_eq!(page(&app, "/redoc", "").0, 404);
}

#[test]
fn pages_answer_get_and_head_only() {
    let client = TestClient::new(app());
    assert_eq!(
        client
            .request(http::Method::HEAD, "/openapi.json")
            .send()
            .status(),
        200
    );
    let response = client.post("/openapi.json").send();
    assert_eq!(response.status(), 405);
    assert_eq!(response.header("allow"), Some("GET, HEAD"));
    assert_eq!(client.post("/not-a-page").send().status(), 404);
}

#[test]
fn closure_routes_are_served_but_not_documented() {
    let app = App::new().get("/plain", |_: Request| "plain");
    let document = app.openapi("");
    assert_eq!(document["paths"], json!({}));
    assert!(document.get("components").is_none());
}
