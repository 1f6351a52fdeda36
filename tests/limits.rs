//! End to end: every limit gives its own HTTP answer and the host keeps serving. The guest is
//! `tests/guests/raw` (contract in `tests/guests/README.md`). No assertion depends on timing:
//! deadlines are short so the tests are quick, and waits are generous upper bounds.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::{Host, client};

fn raw_guest(args: &[&str]) -> Host {
    Host::serve_with(&support::guest("tests/guests/raw"), args)
}

/// Opens a connection and sends a request head announcing `length` body bytes, plus `sent`.
fn partial_upload(host: &Host, length: usize, sent: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(host.addr).unwrap();
    write!(
        stream,
        "POST /count-body HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n"
    )
    .unwrap();
    stream.write_all(sent).unwrap();
    stream
}

/// Asks `GET path` until it is answered 200, for up to about 6 s: once the requests holding a
/// limit are gone, requests are admitted again.
async fn assert_admitted_again(host: &Host, path: &str) {
    for _ in 0..300 {
        if host.get(path).await.status() == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("requests to {path} were not admitted again");
}

/// Reads what the server sends until it closes the connection or a response head is complete.
fn read_head(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) | Err(_) => break,
            Ok(_) => head.push(byte[0]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[tokio::test]
async fn an_endless_loop_is_interrupted_with_504_and_the_host_keeps_serving() {
    let host = raw_guest(&["--timeout", "500ms"]);
    let response = host.get("/loop").await;
    assert_eq!(response.status(), 504);
    assert_eq!(response.text().await.unwrap(), "Gateway Timeout");
    let log = host.wait_for_log("deadline of 500ms exceeded");
    assert!(log.contains("path=/loop"), "{log}");
    assert_eq!(host.get("/").await.status(), 200);
}

#[tokio::test]
async fn a_guest_computing_until_its_deadline_does_not_hold_up_the_others() {
    // Guests share threads (each serving thread runs many): one in an endless loop yields at
    // every epoch tick, so requests that come after it are answered while it still runs. One
    // serving thread, so that the loop and the other requests are on the same one.
    let host = raw_guest(&["--timeout", "60s", "--workers", "1"]);
    let looping = tokio::spawn(support::client().get(host.url("/loop")).send());
    for _ in 0..20 {
        assert_eq!(host.get("/").await.status(), 200);
    }
    assert!(
        !looping.is_finished(),
        "the loop ended before the other requests were answered: {:?}",
        looping.await
    );
}

#[tokio::test]
async fn a_timeout_too_long_to_reach_is_no_deadline_at_all() {
    // Far past what a clock can count to from now: no request may fail over it.
    let host = raw_guest(&["--timeout", "500000000000years"]);
    for path in ["/", "/bump"] {
        assert_eq!(host.get(path).await.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn a_memory_bomb_hits_its_limit_with_500_and_the_host_keeps_serving() {
    let host = raw_guest(&["--memory-limit", "32MiB"]);
    let response = host.get("/memory-bomb").await;
    assert_eq!(response.status(), 500);
    host.wait_for_log("memory limit of 33554432 bytes exceeded");
    assert_eq!(host.get("/").await.status(), 200);
    // The limit held: the host itself never grew anywhere near what the guest asked for.
    assert!(
        host.peak_rss() < 200 * 1024 * 1024,
        "peak RSS {} bytes",
        host.peak_rss()
    );
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_413_before_it_is_read() {
    let host = raw_guest(&["--max-body-size", "1KiB"]);
    // Only the head is sent: the answer cannot have waited for a body.
    let mut stream = partial_upload(&host, 10_000_000, b"");
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 413 Payload Too Large"), "{head}");
    let response = client()
        .post(host.url("/count-body"))
        .body(vec![0u8; 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "1024");
}

#[tokio::test]
async fn a_client_sending_a_declared_body_over_the_limit_reads_the_413() {
    let host = raw_guest(&["--max-body-size", "64KiB"]);
    // The whole body is sent, as a client that does not wait for `100 Continue` does: 3 MiB,
    // more than loopback's socket buffers hold, so the host must read some of it for the
    // answer to reach the client rather than a connection reset.
    for _ in 0..5 {
        let response = client()
            .post(host.url("/count-body"))
            .body(vec![7u8; 3 * 1024 * 1024])
            .send()
            .await;
        match response {
            Ok(response) => assert_eq!(response.status(), 413),
            Err(error) => panic!("expected a 413, got {error}"),
        }
    }
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_is_413() {
    let host = raw_guest(&["--max-body-size", "64KiB"]);
    let chunks =
        futures_util::stream::iter((0..64).map(|_| Ok::<_, std::io::Error>(vec![7u8; 16 * 1024])));
    let response = client()
        .post(host.url("/count-body"))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await;
    // The server may answer and close before the client finishes sending.
    match response {
        Ok(response) => assert_eq!(response.status(), 413),
        Err(error) => panic!("expected a 413, got {error}"),
    }
    host.wait_for_log("request body larger than 65536 bytes refused");
}

#[tokio::test]
async fn past_the_concurrency_limit_requests_get_503_with_retry_after() {
    let host = raw_guest(&["--max-concurrency", "2"]);
    // Two uploads that never finish hold both places, once their guests have started.
    let _first = partial_upload(&host, 100, b"12345");
    let _second = partial_upload(&host, 100, b"12345");
    host.wait_for_lines("raw-guest: count-body started", 2);
    let refused = host.get("/").await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(refused.text().await.unwrap(), "Service Unavailable");
    drop((_first, _second));
    // Once they are gone, requests are admitted again.
    assert_admitted_again(&host, "/").await;
}

#[tokio::test]
async fn past_the_host_wide_instance_limit_any_app_gets_503() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("wasgi.toml");
    let raw = support::guest("tests/guests/raw");
    std::fs::write(
        &config,
        format!(
            r#"
            [limits]
            max_instances = 2

            [[app]]
            name = "a"
            module = "{raw}"
            mount = "/a"

            [[app]]
            name = "b"
            module = "{raw}"
            mount = "/b"
            "#,
            raw = raw.display()
        ),
    )
    .unwrap();
    let host = Host::start(&["--config", config.to_str().unwrap()]);
    // One upload held open in app `a`, one in app `b`: each app has room, the host has not.
    let upload = |path: &str| {
        let mut stream = TcpStream::connect(host.addr).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n12345"
        )
        .unwrap();
        stream
    };
    let held = (upload("/a/count-body"), upload("/b/count-body"));
    host.wait_for_lines("raw-guest: count-body started", 2);
    for path in ["/a/", "/b/"] {
        let refused = host.get(path).await;
        assert_eq!(refused.status(), 503, "{path}");
        assert_eq!(refused.headers()["retry-after"], "1");
    }
    host.wait_for_log("every instance of the host in use");
    drop(held);
    assert_admitted_again(&host, "/b/").await;
}

#[test]
fn the_instance_limit_is_bounded_by_the_pool() {
    let raw = support::guest("tests/guests/raw");
    for bad in ["0", "1001", "many"] {
        let output = support::run_wasgi(&["serve", raw.to_str().unwrap(), "--max-instances", bad]);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("is not a count of instances from 1 to 1000"),
            "{stderr}"
        );
    }
    // The same bound in a `wasgi.toml`.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("wasgi.toml");
    for bad in [0, 1001] {
        std::fs::write(
            &config,
            format!(
                "[limits]\nmax_instances = {bad}\n\n[[app]]\nname = \"a\"\nmodule = {:?}\n",
                raw.display().to_string()
            ),
        )
        .unwrap();
        let output = support::run_wasgi(&["serve", "--config", config.to_str().unwrap()]);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("`max_instances`")
                && stderr.contains(&format!(
                    "`{bad}` is not a count of instances from 1 to 1000"
                )),
            "{stderr}"
        );
    }
}

#[test]
fn a_client_that_stalls_mid_body_gets_504_at_the_deadline() {
    let host = raw_guest(&["--timeout", "500ms"]);
    let mut stream = partial_upload(&host, 100, b"only part of it");
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 504 Gateway Timeout"), "{head}");
}

#[test]
fn a_client_that_stalls_in_its_headers_is_dropped() {
    let host = raw_guest(&["--header-timeout", "500ms"]);
    let mut stream = TcpStream::connect(host.addr).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    // The server closes the connection (hyper may first answer 408); either way it ends.
    let head = read_head(&mut stream);
    assert!(
        head.is_empty() || head.starts_with("HTTP/1.1 408"),
        "{head}"
    );
}

#[test]
fn past_the_connection_limit_a_connection_waits_until_another_closes() {
    let host = raw_guest(&["--max-connections", "2", "--header-timeout", "120s"]);
    let request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let open = || {
        let mut stream = TcpStream::connect(host.addr).unwrap();
        stream.write_all(request).unwrap();
        stream
    };
    // Two kept-alive connections take both places.
    let (mut first, mut second) = (open(), open());
    assert!(read_head(&mut first).starts_with("HTTP/1.1 200"));
    assert!(read_head(&mut second).starts_with("HTTP/1.1 200"));
    // A third is left in the listen backlog, unanswered (a slow machine can only make this
    // check pass more easily, never fail)...
    let mut third = open();
    third
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut byte = [0u8; 1];
    let early = third.read(&mut byte);
    assert!(
        early.as_ref().is_err_and(|e| matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )),
        "the third connection was served while two were open: {early:?}"
    );
    // ...until one of the two closes.
    drop(first);
    assert!(read_head(&mut third).starts_with("HTTP/1.1 200"));
}

#[test]
fn memory_held_by_closed_connections_goes_back_to_the_kernel() {
    let host = raw_guest(&[]);
    let before = host.rss();
    // Fewer than the default limit of 1,024 open files of this test process.
    let connections: Vec<TcpStream> = (0..600)
        .map(|_| {
            let mut stream = TcpStream::connect(host.addr).unwrap();
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            assert!(read_head(&mut stream).starts_with("HTTP/1.1 200"));
            stream
        })
        .collect();
    let open = host.rss();
    let held = open.saturating_sub(before);
    assert!(
        held > 4 << 20,
        "600 open connections held only {held} bytes: nothing to give back"
    );
    drop(connections);
    // The host looks every 2 s; a slow machine gets a minute.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let now = host.rss();
        if now < before + held / 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{now} bytes resident after the connections closed ({before} before them, {open} \
             while open)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_huge_response_streams_in_bounded_memory_and_stops_when_the_client_leaves() {
    let host = raw_guest(&[]);
    let mut stream = TcpStream::connect(host.addr).unwrap();
    stream
        .write_all(b"GET /huge-response HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buffer = vec![0u8; 1024 * 1024];
    let mut read = 0usize;
    while read < 50 * 1024 * 1024 {
        let n = stream.read(&mut buffer).unwrap();
        assert!(n > 0, "the response ended after {read} bytes");
        read += n;
    }
    // Closing the socket is the client leaving.
    drop(stream);
    host.wait_for_log("huge-response stopped after");
    assert!(
        host.peak_rss() < 100 * 1024 * 1024,
        "peak RSS {} bytes",
        host.peak_rss()
    );
    let mut probe = TcpStream::connect(host.addr).unwrap();
    probe
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(read_head(&mut probe).starts_with("HTTP/1.1 200 OK"));
}

#[tokio::test]
async fn sigterm_past_the_grace_period_exits_0_though_guests_still_run() {
    // One guest waits on an upload that never completes, another computes without end: the
    // host gives them its grace period, then exits anyway, dropping them on their threads.
    let mut host = raw_guest(&["--shutdown-grace", "500ms", "--timeout", "1h"]);
    let _stalled = partial_upload(&host, 10, b"12345");
    host.wait_for_log("raw-guest: count-body started");
    let mut looping = TcpStream::connect(host.addr).unwrap();
    looping
        .write_all(b"GET /loop HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    host.wait_for_log("raw-guest: loop started");
    host.terminate();
    assert_eq!(host.wait_for_exit(), Some(0));
    host.wait_for_log("requests still in flight after 500ms; exiting anyway");
}

#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish_then_exits_0() {
    let mut host = raw_guest(&["--max-concurrency", "1"]);
    let mut stream = partial_upload(&host, 10, b"12345");
    // The guest has the request before the signal.
    host.wait_for_log("raw-guest: count-body started");
    host.terminate();
    stream.write_all(b"67890").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.ends_with("10"), "{response}");
    assert_eq!(host.wait_for_exit(), Some(0));
    host.wait_for_log("stopped");
}
