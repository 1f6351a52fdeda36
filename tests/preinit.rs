//! End to end: a guest that exports `init` is pre-initialised when the host loads it, every
//! request starts from that snapshot and from nothing else, and a guest whose `init` needs the
//! host is served as it is. The guests are `tests/guests/raw` and `tests/guests/settings`; their
//! contracts are in `tests/guests/README.md`.

mod support;

use support::{Host, guest};

#[tokio::test]
async fn every_request_starts_from_the_snapshot_init_left() {
    let host = Host::serve_guest("tests/guests/raw");
    let response = host.get("/preinit").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "initialised");
    // `init` set the counter to 100; each request adds one to its own fresh copy.
    let bumps = futures_util::future::join_all((0..20).map(|_| host.get("/bump"))).await;
    for response in bumps {
        assert_eq!(response.text().await.unwrap(), "101");
    }
    assert_eq!(host.get("/bump").await.text().await.unwrap(), "101");
    assert!(
        !host.stderr().contains("without pre-initialisation"),
        "{}",
        host.stderr()
    );
}

#[tokio::test]
async fn an_app_reading_the_environment_as_it_is_built_is_served_as_it_is() {
    let component = guest("tests/guests/settings");
    let host = Host::serve_with(&component, &["--env", "GREETING=bonjour"]);
    let response = host.get("/").await;
    assert_eq!(response.status(), 200);
    // A `String` answer is JSON, as FastAPI answers a `str`.
    assert_eq!(response.text().await.unwrap(), "\"bonjour\"");
    let log = host.wait_for_log("without pre-initialisation");
    let line = log
        .lines()
        .find(|line| line.contains("without pre-initialisation"))
        .unwrap();
    assert!(
        line.contains("WARN") && line.contains("settings_guest"),
        "{line}"
    );
    assert!(
        line.contains("`init` called the host (`wasi:cli/environment"),
        "the reason is given: {line}"
    );
}
