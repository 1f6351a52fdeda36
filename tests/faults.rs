//! End to end: a guest that traps, panics or breaks the protocol costs only its own request.
//! The guest is `tests/guests/raw`; its contract is in `tests/guests/README.md`.

mod support;

use serde_json::{Value, json};
use support::{Host, client};

#[tokio::test]
async fn a_panicking_guest_gets_500_and_the_next_request_is_served() {
    let mut host = Host::serve_guest("tests/guests/raw");
    let client = client();
    let response = client.get(host.url("/panic")).send().await.unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(response.text().await.unwrap(), "Internal Server Error");

    let log = host.wait_for_log("guest trapped");
    let line = log
        .lines()
        .find(|line| line.contains("guest trapped"))
        .unwrap();
    assert!(
        line.contains("app=raw_guest"),
        "the log line names the app: {line}"
    );
    assert!(
        line.contains("path=/panic"),
        "the log line names the path: {line}"
    );
    assert!(
        line.contains("unreachable"),
        "the log line names the trap: {line}"
    );
    // The guest's own panic message reaches the host's log, tagged with the app and stream.
    let line = log
        .lines()
        .find(|line| line.contains("boom: the guest panicked on purpose"))
        .unwrap();
    assert!(
        line.contains("wasgi::guest") && line.contains("app=raw_guest"),
        "{line}"
    );
    assert!(line.contains(r#"stream="stderr""#), "{line}");

    let response = client.get(host.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
    assert!(host.is_running());
}

#[tokio::test]
async fn a_guest_that_sends_nothing_gets_500() {
    let host = Host::serve_guest("tests/guests/raw");
    let response = host.get("/no-response").await;
    assert_eq!(response.status(), 500);
    assert_eq!(response.text().await.unwrap(), "Internal Server Error");
    host.wait_for_log("guest returned without sending a response");
}

#[tokio::test]
async fn a_guest_that_starts_but_sends_no_body_gets_500() {
    let host = Host::serve_guest("tests/guests/raw");
    let response = host.get("/start-only").await;
    assert_eq!(response.status(), 500);
    host.wait_for_log("guest returned without sending a response");
}

#[tokio::test]
async fn a_guest_that_dies_mid_body_aborts_the_transfer() {
    let host = Host::serve_guest("tests/guests/raw");
    // The body never ends cleanly, so a client cannot mistake it for a whole response. The
    // connection may be cut before or after the head is written; either way the request fails.
    let outcome = match client().get(host.url("/panic-after-start")).send().await {
        Ok(response) => response.bytes().await.map(|body| body.len()),
        Err(error) => Err(error),
    };
    assert!(
        outcome.is_err(),
        "a truncated body looked complete: {outcome:?}"
    );
    host.wait_for_log("boom: the guest panicked mid-body");

    let response = host.get("/").await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn protocol_violations_are_refused_with_reasons() {
    let host = Host::serve_guest("tests/guests/raw");
    let response = host.get("/protocol-errors").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!([
            "http-response-body before http-response-start",
            "`42` is not an HTTP status code",
            "`bad header` is not a valid header name",
            "the value of header `x-bad-value` is not a valid header value",
            "http-response-start was already sent",
        ])
    );
    host.wait_for_log(
        r#"raw-guest: body after the end: Err(SendError::InvalidEvent("the response is already complete"))"#,
    );
}

#[tokio::test]
async fn receive_after_the_response_is_an_immediate_disconnect() {
    let host = Host::serve_guest("tests/guests/raw");
    let response = host.get("/receive-after-response").await;
    assert_eq!(response.text().await.unwrap(), "done");
    // The first call gets the (empty) request body, as in ASGI; the next two say the exchange
    // is over, at once rather than blocking.
    let events = host.wait_for_lines("raw-guest: receive after response", 3);
    let events: Vec<&str> = events
        .iter()
        .map(|line| {
            line.split("receive after response: ")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        events,
        ["http-request", "http-disconnect", "http-disconnect"]
    );
}
