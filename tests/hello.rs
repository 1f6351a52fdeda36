//! End to end: `examples/hello` built to Wasm and served by the real `wasgi` binary.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use serde_json::{Value, json};
use support::{Host, client};

#[tokio::test]
async fn root_says_hello_world() {
    let host = Host::serve_guest("examples/hello");
    let response = host.get("/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["content-length"], "25");
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"message":"Hello World"}"#
    );
}

#[tokio::test]
async fn item_id_is_echoed_from_the_path() {
    let host = Host::serve_guest("examples/hello");
    let response = host.get("/items/foo%20bar").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"item_id": "foo bar"})
    );
}

#[tokio::test]
async fn unknown_path_is_404_not_found() {
    let host = Host::serve_guest("examples/hello");
    let response = host.get("/nope").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().await.unwrap(), r#"{"detail":"Not Found"}"#);
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let host = Host::serve_guest("examples/hello");
    let response = client().delete(host.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET");
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"detail":"Method Not Allowed"}"#
    );
}

#[tokio::test]
async fn http2_with_prior_knowledge() {
    let host = Host::serve_guest("examples/hello");
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client.get(host.url("/items/7")).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"item_id": "7"})
    );
}

#[test]
fn http1_keep_alive_serves_several_requests_on_one_connection() {
    let host = Host::serve_guest("examples/hello");
    let stream = TcpStream::connect(host.addr).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    for id in 0..3 {
        write!(
            writer,
            "GET /items/{id} HTTP/1.1\r\nHost: localhost\r\n\r\n"
        )
        .unwrap();
        let (status, body) = read_response(&mut reader);
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(body, format!(r#"{{"item_id":"{id}"}}"#));
    }
}

/// Reads one HTTP/1.1 response with a `content-length` body: (status line, body).
fn read_response(reader: &mut impl BufRead) -> (String, String) {
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (
        status.trim_end().to_owned(),
        String::from_utf8(body).unwrap(),
    )
}

#[tokio::test]
async fn two_hundred_concurrent_requests_are_all_answered_correctly() {
    let host = Host::serve_guest("examples/hello");
    two_hundred_concurrent_requests(&host).await;
}

/// `GET /items/{i}` for `i` in 0..200 at once, each answered with its own `i`.
async fn two_hundred_concurrent_requests(host: &Host) {
    let client = client();
    let requests = (0..200).map(|i| {
        let request = client.get(host.url(&format!("/items/{i}"))).send();
        async move {
            let response = request.await.unwrap();
            assert_eq!(response.status(), 200);
            (i, response.json::<Value>().await.unwrap())
        }
    });
    let answers = futures_util::future::join_all(requests).await;
    assert_eq!(answers.len(), 200);
    for (i, answer) in answers {
        assert_eq!(answer, json!({"item_id": i.to_string()}));
    }
}

#[tokio::test]
async fn pinned_workers_each_run_on_one_cpu_and_answer_every_request() {
    let component = support::guest("examples/hello");
    let host = Host::serve_with(&component, &["--pin-workers"]);
    two_hundred_concurrent_requests(&host).await;
    // One worker per core (the default count), each allowed on one CPU, no two on the same.
    let mut workers = Vec::new();
    for (name, cpus) in host.worker_cpus() {
        assert!(
            cpus.parse::<usize>().is_ok(),
            "{name} may run on CPUs {cpus}"
        );
        workers.push(cpus);
    }
    let count = std::thread::available_parallelism().unwrap().get();
    assert_eq!(workers.len(), count, "{workers:?}");
    workers.sort();
    workers.dedup();
    assert_eq!(workers.len(), count, "workers share a CPU");
}

#[tokio::test]
async fn compiled_components_are_cached_on_disk_for_the_next_start() {
    let cache = tempfile::tempdir().unwrap();
    let component = support::guest("examples/hello");
    let dir = cache.path().to_str().unwrap();
    let first = Host::serve_with(&component, &["--cache-dir", dir]);
    assert_eq!(first.get("/").await.status(), 200);
    drop(first);
    let modules: Vec<_> = walk(cache.path())
        .into_iter()
        .filter(|f| f.extension().is_none())
        .collect();
    assert!(!modules.is_empty(), "nothing was cached in {dir}");
    let written = |files: &[std::path::PathBuf]| -> Vec<_> {
        files
            .iter()
            .map(|f| std::fs::metadata(f).unwrap().modified().unwrap())
            .collect()
    };
    let first_writes = written(&modules);
    // The second start finds the compiled component: a miss would compile and rewrite it.
    let second = Host::serve_with(&component, &["--cache-dir", dir]);
    assert_eq!(second.get("/").await.status(), 200);
    drop(second);
    assert_eq!(
        written(&modules),
        first_writes,
        "the cached component was compiled again"
    );
}

/// wasmtime's cache cleanup deletes whatever it does not recognise where it keeps its files, so
/// it keeps them in a subdirectory of its own: a cache directory that also holds the user's
/// files (`--cache-dir .`, or the data directory) loses none of them.
#[tokio::test]
async fn the_compile_cache_leaves_other_files_in_its_directory_alone() {
    let cache = tempfile::tempdir().unwrap();
    let mine = cache.path().join("notes.txt");
    std::fs::write(&mine, "mine").unwrap();
    // A stray file where wasmtime keeps its own, which its cleanup deletes: its going shows
    // that the cleanup has run.
    let compiled = cache.path().join("wasmtime");
    std::fs::create_dir(&compiled).unwrap();
    let stray = compiled.join("stray.txt");
    std::fs::write(&stray, "not wasmtime's").unwrap();

    let component = support::guest("examples/hello");
    let host = Host::serve_with(&component, &["--cache-dir", cache.path().to_str().unwrap()]);
    assert_eq!(host.get("/").await.status(), 200);
    // The cleanup runs on wasmtime's cache thread once a compiled component is stored.
    for _ in 0..600 {
        if !stray.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!stray.exists(), "wasmtime's cache never cleaned up");
    drop(host);
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "mine");
}

/// Runs `wasgi openapi` of examples/hello with `extra` arguments and `setup` applied to the
/// command (its environment, its directory), and asserts that it succeeded.
fn openapi_of_hello(extra: &[&str], setup: impl FnOnce(&mut std::process::Command)) {
    let component = support::guest("examples/hello");
    let mut command = support::wasgi();
    command
        .args(["openapi", component.to_str().unwrap()])
        .args(extra);
    setup(&mut command);
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_default_cache_is_under_the_home_cache_and_no_cache_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let in_home = |command: &mut std::process::Command| {
        command
            .env("HOME", home.path())
            .env_remove("XDG_CACHE_HOME");
    };
    openapi_of_hello(&["--no-cache"], in_home);
    assert!(
        walk(home.path()).is_empty(),
        "--no-cache wrote {:?}",
        walk(home.path())
    );
    openapi_of_hello(&[], in_home);
    assert!(!walk(&home.path().join(".cache/wasgi")).is_empty());
}

#[test]
fn a_relative_cache_dir_is_relative_to_the_working_directory() {
    let cwd = tempfile::tempdir().unwrap();
    openapi_of_hello(&["--cache-dir", "cache"], |command| {
        command.current_dir(cwd.path());
    });
    assert!(!walk(&cwd.path().join("cache")).is_empty());
}

#[test]
fn requests_are_logged_with_app_client_method_path_status_and_duration() {
    let host = Host::serve_guest("examples/hello");
    let stream = TcpStream::connect(host.addr).unwrap();
    let client = format!("client={}", stream.local_addr().unwrap());
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    write!(writer, "GET /items/9 HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    read_response(&mut reader);
    let line = host.wait_for_lines("wasgi::access", 1).remove(0);
    for field in [
        "app=hello",
        client.as_str(),
        "method=GET",
        "path=/items/9",
        "status=200",
        "duration_us=",
    ] {
        assert!(line.contains(field), "no {field} in {line}");
    }
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
