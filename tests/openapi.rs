//! End to end: the OpenAPI document and the documentation pages, served through the real host
//! and printed by `wasgi openapi`, against FastAPI's own for the reference app.

mod support;

use serde_json::Value;
use support::{Host, run_wasgi};

/// JSON values equal as Python compares them: `0 == 0.0`, objects regardless of key order.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn fastapi_document() -> Value {
    let path = support::repo().join("tests/golden/params_openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every path where two documents differ, for a readable failure.
fn differences(ours: &Value, theirs: &Value, at: &str, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => differences(x, y, &format!("{at}/{key}"), out),
                    (x, y) => out.push(format!("{at}/{key}: ours {x:?}, FastAPI's {y:?}")),
                }
            }
        }
        _ if !same(ours, theirs) => out.push(format!("{at}: ours {ours}, FastAPI's {theirs}")),
        _ => {}
    }
}

#[tokio::test]
async fn the_params_document_is_fastapis() {
    let host = Host::serve_guest("examples/params");
    let response = host.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let mut ours: Value = response.json().await.unwrap();
    let mut theirs = fastapi_document();
    // `info` is the app's own; everything else must match.
    ours.as_object_mut().unwrap().remove("info");
    theirs.as_object_mut().unwrap().remove("info");
    let mut found = Vec::new();
    differences(&ours, &theirs, "", &mut found);
    assert!(
        found.is_empty(),
        "the document differs from FastAPI's:\n{}",
        found.join("\n")
    );
}

#[tokio::test]
async fn wasgi_openapi_prints_the_served_document() {
    let component = support::guest("examples/params");
    let output = run_wasgi(&["openapi", component.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let host = Host::serve(&component);
    let served: Value = host.get("/openapi.json").await.json().await.unwrap();
    assert_eq!(printed, served);
}

#[test]
fn wasgi_openapi_of_an_app_without_a_document_says_so() {
    let component = support::guest("tests/guests/raw");
    let output = run_wasgi(&["openapi", component.to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the app answered `GET /openapi.json` with 404 Not Found; does it serve its OpenAPI document there?"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_pages_are_served_and_can_load_local_assets() {
    let host = Host::serve_guest("examples/params");
    for (path, needle) in [
        ("/docs", "url: '/openapi.json'"),
        ("/redoc", r#"<redoc spec-url="/openapi.json"></redoc>"#),
        ("/docs/oauth2-redirect", "oauth2-redirect.js"),
    ] {
        let response = host.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8",
            "{path}"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains(needle), "{path}: {page}");
        assert!(
            page.contains("https://cdn.jsdelivr.net/npm/"),
            "{path} loads from the CDN by default"
        );
    }

    // `--env WASGI_DOCS_ASSETS=...` points every page at a local copy of the assets.
    let component = support::guest("examples/params");
    let local = Host::serve_with(
        &component,
        &["--env", "WASGI_DOCS_ASSETS=http://127.0.0.1:9/assets"],
    );
    let page = local.get("/docs").await.text().await.unwrap();
    assert!(
        page.contains(r#"<script src="http://127.0.0.1:9/assets/swagger-ui-bundle.js">"#),
        "{page}"
    );
    assert!(!page.contains("cdn.jsdelivr.net"), "{page}");
}

#[test]
fn a_bad_env_option_is_a_usage_error() {
    let output = run_wasgi(&["serve", "x.wasm", "--env", "NOEQUALS"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("`NOEQUALS` is not NAME=VALUE"));
}
