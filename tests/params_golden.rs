//! End to end: `examples/params` served by the real host answers FastAPI's recorded corpus
//! (`tests/golden/`) with FastAPI's status, JSON body and headers, compared as JSON values.
//!
//! Where wasgi differs on purpose, the case is listed in `KNOWN_DIFFERENCES` with the reason;
//! the test fails if a listed case starts matching, so the list stays true.

mod support;

use serde_json::Value;
use support::Host;
use support::raw_http;

/// Cases where wasgi answers differently from FastAPI, and why.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "create_item_price_string_inf",
        "Pydantic accepts \"inf\" as a float and FastAPI then fails to write it as JSON (500); \
         wasgi writes non-finite floats as null, as serde_json does, and answers 201",
    ),
    (
        "create_item_tax_json_nan_literal",
        "Python's json module accepts a bare NaN literal (then FastAPI fails with 500); it is not \
         JSON, so wasgi refuses it with FastAPI's own json_invalid error",
    ),
];

/// The headers the golden files record.
const COMPARED_HEADERS: &[&str] = &["content-type", "allow", "location", "x-error"];

fn load(name: &str) -> Vec<Value> {
    let path = support::repo().join("tests/golden").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The request as the golden script sent it.
fn send(host: &Host, case: &Value) -> raw_http::RawResponse {
    let method = case["method"].as_str().unwrap();
    let path = case["path"].as_str().unwrap();
    let mut headers: Vec<(String, String)> = case["headers"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|pair| {
                    (
                        pair[0].as_str().unwrap().to_owned(),
                        pair[1].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let body: Option<Vec<u8>> = if let Some(body) = case.get("body") {
        headers.push(("Content-Type".into(), "application/json".into()));
        Some(serde_json::to_vec(body).unwrap())
    } else if let Some(raw) = case.get("raw_body") {
        match case.get("content_type") {
            Some(Value::Null) => {}
            Some(content_type) => {
                headers.push(("Content-Type".into(), content_type.as_str().unwrap().into()))
            }
            None => headers.push(("Content-Type".into(), "application/json".into())),
        }
        Some(raw.as_str().unwrap().as_bytes().to_vec())
    } else {
        None
    };
    raw_http::send(host.addr, method, path, &headers, body.as_deref())
}

/// What differs between wasgi's answer and FastAPI's, if anything.
fn difference(response: &raw_http::RawResponse, golden: &Value) -> Option<String> {
    let mut differences = Vec::new();
    if u64::from(response.status) != golden["status"].as_u64().unwrap() {
        differences.push(format!(
            "status {} != {}",
            response.status, golden["status"]
        ));
    }
    let json = response
        .header("content-type")
        .is_some_and(|t| t.contains("json"))
        && !response.body.is_empty();
    let body: Value = if json {
        serde_json::from_slice(&response.body).unwrap_or_else(
            |_| serde_json::json!({"text": String::from_utf8_lossy(&response.body)}),
        )
    } else {
        serde_json::json!({"text": String::from_utf8_lossy(&response.body)})
    };
    if body != golden["body"] {
        differences.push(format!("body {body} != {}", golden["body"]));
    }
    for name in COMPARED_HEADERS {
        let ours = response.header(name).map(|v| {
            if *name == "allow" {
                let mut methods: Vec<&str> = v.split(", ").collect();
                methods.sort_unstable();
                methods.join(", ")
            } else {
                v.to_owned()
            }
        });
        let theirs = golden["headers"]
            .get(*name)
            .and_then(Value::as_str)
            .map(str::to_owned);
        if ours != theirs {
            differences.push(format!("header {name}: {ours:?} != {theirs:?}"));
        }
    }
    (!differences.is_empty()).then(|| differences.join("; "))
}

#[test]
fn params_answers_every_request_as_fastapi_does() {
    let requests = load("params_requests.json");
    let goldens = load("params_golden.json");
    assert_eq!(requests.len(), goldens.len());
    let host = Host::serve_guest("examples/params");

    let mut unexpected = Vec::new();
    let mut stale = Vec::new();
    for (case, golden) in requests.iter().zip(&goldens) {
        let name = case["name"].as_str().unwrap();
        assert_eq!(name, golden["name"].as_str().unwrap());
        let response = send(&host, case);
        let known = KNOWN_DIFFERENCES.iter().any(|(known, _)| *known == name);
        match (difference(&response, golden), known) {
            (Some(difference), false) => {
                unexpected.push(format!(
                    "{name}: {} {}: {difference}",
                    case["method"], case["path"]
                ));
            }
            (None, true) => stale.push(name),
            _ => {}
        }
    }
    assert!(
        unexpected.is_empty(),
        "{} of {} cases differ from FastAPI:\n{}",
        unexpected.len(),
        requests.len(),
        unexpected.join("\n")
    );
    assert!(
        stale.is_empty(),
        "listed as known differences but now matching FastAPI: {stale:?}"
    );
}
