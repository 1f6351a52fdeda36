//! End to end: one host, several apps from a `wasgi.toml`, each under its mount prefix (the
//! guest's `root_path`) and host names, with limits and environment of its own.

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::{Host, run_wasgi};

fn write_config(dir: &Path, text: &str) -> String {
    let path = dir.join("wasgi.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// A config serving examples/hello at `/`, with `server` as its `[server]` table.
fn config_serving_hello(dir: &Path, server: &str) -> String {
    let hello = support::guest("examples/hello");
    write_config(
        dir,
        &format!(
            "[server]\n{server}\n[[app]]\nname = \"hello\"\nmodule = \"{}\"\n",
            hello.display()
        ),
    )
}

fn config_with_three_apps(dir: &Path) -> String {
    let hello = support::guest("examples/hello");
    let params = support::guest("examples/params");
    let raw = support::guest("tests/guests/raw");
    write_config(
        dir,
        &format!(
            r#"
            [limits]
            timeout = "10s"

            [[app]]
            name = "hello"
            module = "{hello}"

            [[app]]
            name = "params"
            module = "{params}"
            mount = "/api"
            limits = {{ max_body_size = "1KiB" }}

            [[app]]
            name = "raw"
            module = "{raw}"
            mount = "/"
            hosts = ["raw.test"]
            "#,
            hello = hello.display(),
            params = params.display(),
            raw = raw.display(),
        ),
    )
}

#[tokio::test]
async fn each_request_reaches_the_app_mounted_for_its_host_and_longest_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(&["--config", &config_with_three_apps(dir.path())]);
    let client = support::client();

    // `/` is hello's; `/api/...` is params', which sees paths without the prefix.
    assert_eq!(
        host.get("/").await.text().await.unwrap(),
        r#"{"message":"Hello World"}"#
    );
    let item: Value = host
        .get("/api/items/5?short=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(item, json!({"item_id": 5}));
    // A path merely starting with the prefix's letters is not under it.
    assert_eq!(host.get("/apix").await.status(), 404);

    // The prefix reaches params as its root_path: docs and document say where they live.
    let docs = host.get("/api/docs").await.text().await.unwrap();
    assert!(docs.contains("url: '/api/openapi.json'"), "{docs}");
    let document: Value = host.get("/api/openapi.json").await.json().await.unwrap();
    assert_eq!(document["servers"], json!([{"url": "/api"}]));

    // A host name picks its own app.
    let raw = client
        .get(host.url("/"))
        .header("host", "raw.test")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.text().await.unwrap(), "ok");

    // Limits are per app: params refuses a 2 KiB body, hello echoes it.
    let body = vec![b'x'; 2048];
    let refused = client
        .post(host.url("/api/items"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 413);
    let echoed = client
        .post(host.url("/echo"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.bytes().await.unwrap().len(), 2048);

    // Access logs name the app that answered.
    let lines = host.wait_for_lines("wasgi::access", 3);
    assert!(lines.iter().any(|l| l.contains("app=params")), "{lines:?}");
}

#[tokio::test]
async fn a_request_no_app_is_mounted_for_is_404() {
    let dir = tempfile::tempdir().unwrap();
    let params = support::guest("examples/params");
    let config = write_config(
        dir.path(),
        &format!(
            "[[app]]\nname = \"params\"\nmodule = \"{}\"\nmount = \"/api\"\n",
            params.display()
        ),
    );
    let host = Host::start(&["--config", &config]);
    let response = host.get("/elsewhere").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.text().await.unwrap(), r#"{"detail":"Not Found"}"#);
    assert_eq!(host.get("/api/").await.status(), 200);
}

#[test]
fn a_bad_config_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let missing = write_config(
        dir.path(),
        "[[app]]\nname = \"a\"\nmodule = \"nope.wasm\"\n",
    );
    let output = run_wasgi(&["serve", "--config", &missing, "--listen", "127.0.0.1:0"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("app `a`") && stderr.contains("nope.wasm` does not exist"),
        "{stderr}"
    );

    let output = run_wasgi(&["serve", "--config", "/no/such/wasgi.toml"]);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("failed to read `/no/such/wasgi.toml`")
    );

    let output = run_wasgi(&["serve", "app.wasm", "--config", &missing]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "an APP and --config together are a usage error"
    );
}

#[tokio::test]
async fn the_config_says_how_the_host_serves() {
    let dir = tempfile::tempdir().unwrap();
    // A port that was free a moment ago, so that the host binding it shows it read the file.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = config_serving_hello(
        dir.path(),
        &format!(
            "listen = \"127.0.0.1:{port}\"\nworkers = 1\npin_workers = true\naccess_log = false"
        ),
    );
    // No --listen: the address comes from the file.
    let host = Host::start_as_given(&["--config", &config], &[]);
    assert_eq!(host.addr.port(), port);
    assert_eq!(host.get("/").await.status(), 200);
    let workers = host.worker_cpus();
    assert_eq!(workers.len(), 1, "one serving thread: {workers:?}");
    assert!(workers[0].1.parse::<usize>().is_ok(), "pinned: {workers:?}");
    // Everything the host logs before it stops includes the request's access line, if any.
    host.terminate();
    let log = host.wait_for_log("stopped");
    assert!(!log.contains("wasgi::access"), "{log}");
}

#[tokio::test]
async fn a_flag_may_repeat_the_config_but_not_contradict_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_serving_hello(dir.path(), "listen = \"127.0.0.1:0\"");
    // Host::start adds `--listen 127.0.0.1:0`, the file's own address.
    let host = Host::start(&["--config", &config]);
    assert_eq!(host.get("/").await.status(), 200);

    let output = run_wasgi(&["serve", "--config", &config, "--listen", "127.0.0.1:1"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`listen` is 127.0.0.1:0 in [server] but `--listen` says 127.0.0.1:1"),
        "{stderr}"
    );

    let bad = write_config(
        dir.path(),
        "[server]\nworkers = 0\n[[app]]\nname = \"a\"\nmodule = \"a.wasm\"\n",
    );
    let output = run_wasgi(&["serve", "--config", &bad]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("0 is not a count of at least 1"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_example_config_serves_hello_and_params() {
    let config = support::repo().join("examples/wasgi.toml");
    let host = Host::start(&["--config", config.to_str().unwrap()]);
    assert_eq!(
        host.get("/").await.text().await.unwrap(),
        r#"{"message":"Hello World"}"#
    );
    let item: Value = host.get("/api/items/1?short=1").await.json().await.unwrap();
    assert_eq!(item, json!({"item_id": 1}));
}
