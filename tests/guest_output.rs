//! End to end: what an SDK guest prints reaches the host's log, line by line, tagged with the
//! app and the stream, through the SDK's own `write` and `writev` (`guest-sdk/src/stdio.rs`);
//! and the SDK keeps wasi-libc's descriptor machinery, with its imports, out of a guest.
//! The guest is `tests/guests/stdio`; its contract is in `tests/guests/README.md`.

mod support;

use support::{Host, guest};

/// The text `GET path` answers, after checking that it answered 200.
async fn answer(host: &Host, path: &str) -> String {
    let response = host.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.json::<String>().await.unwrap()
}

/// The one log line of `stream` that contains `text`, from the app `stdio_guest`.
fn logged(host: &Host, text: &str, stream: &str) -> String {
    let mut lines = host.wait_for_lines(text, 1);
    assert_eq!(lines.len(), 1, "logged once: {lines:?}");
    let line = lines.remove(0);
    assert!(
        line.contains("wasgi::guest") && line.contains("app=stdio_guest"),
        "the line names the app: {line}"
    );
    assert!(
        line.contains(&format!(r#"stream="{stream}""#)),
        "the line names the stream `{stream}`: {line}"
    );
    line
}

#[tokio::test]
async fn println_eprintln_and_writev_reach_the_log_by_stream() {
    let host = Host::serve_guest("tests/guests/stdio");
    // `writev` counts the bytes of both buffers.
    assert_eq!(
        answer(&host, "/print").await,
        "printed; writev wrote 22 bytes"
    );
    logged(&host, "stdio-guest: to stdout", "stdout");
    logged(&host, "stdio-guest: to stderr", "stderr");
    logged(&host, "stdio-guest: vectored", "stderr");
}

#[tokio::test]
async fn a_line_longer_than_one_wasi_write_arrives_whole_and_in_order() {
    let host = Host::serve_guest("tests/guests/stdio");
    let response = host.get("/long").await;
    assert_eq!(response.status(), 200);
    let line = logged(&host, "stdio-guest: long", "stderr");
    let expected = format!("stdio-guest: long {} end", "x".repeat(10_000));
    assert!(line.contains(&expected), "{line}");
}

#[tokio::test]
async fn a_panicking_sdk_guest_logs_its_message_and_the_host_serves_on() {
    let host = Host::serve_guest("tests/guests/stdio");
    let response = host.get("/panic").await;
    assert_eq!(response.status(), 500);
    logged(&host, "stdio-guest: panicked on purpose", "stderr");
    // std's panic hook writes the place on a line of its own, in pieces.
    let line = logged(&host, "panicked at", "stderr");
    assert!(line.contains("src/lib.rs:"), "{line}");

    let response = host.get("/print").await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_write_to_a_descriptor_never_opened_fails_with_ebadf() {
    let host = Host::serve_guest("tests/guests/stdio");
    assert_eq!(
        answer(&host, "/bad-fd").await,
        "failed: Bad file descriptor (os error 8)"
    );
}

#[tokio::test]
async fn c_callers_get_posix_answers_for_what_std_never_asks() {
    let host = Host::serve_guest("tests/guests/stdio");
    assert_eq!(
        answer(&host, "/edge-cases").await,
        "write(1, 0 bytes) = 0; \
         writev(7, 0 buffers) = -1 (Bad file descriptor (os error 8)); \
         writev(2, -1 buffers) = -1 (Invalid argument (os error 28)); \
         writev(2, 1025 buffers) = -1 (Invalid argument (os error 28))"
    );
}

/// The interfaces a component imports, by name, from its top-level import section.
fn imported_interfaces(component: &[u8]) -> Vec<String> {
    use wasmparser::{Parser, Payload};
    let mut names = Vec::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(component) {
        match payload.expect("a valid component") {
            Payload::Version { .. } => depth += 1,
            Payload::End(_) => depth -= 1,
            Payload::ComponentImportSection(imports) if depth == 1 => {
                for import in imports {
                    names.push(import.expect("a valid import").name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    names
}

/// Every import costs each fresh instance a trampoline and a function reference. The SDK's `write`
/// replaces wasi-libc's, whose descriptor table imports stdin, the terminal queries and `poll`
/// (seventeen functions in all, where the SDK's needs five) into every guest that can print, which
/// every Rust guest can. This holds the line for `examples/hello`: its imports are the WIT's and
/// the WASI interfaces that printing (stdout, stderr, streams and their error), the environment
/// (`environment`, and `exit` should reading it fail) and `HashMap`'s seed need.
#[test]
fn an_sdk_guest_imports_no_stdin_terminal_or_poll() {
    let component = std::fs::read(guest("examples/hello")).unwrap();
    let mut imports = imported_interfaces(&component);
    for name in &mut imports {
        // The version is the toolchain's business, not this test's.
        name.truncate(name.find('@').unwrap_or(name.len()));
    }
    imports.sort();
    assert_eq!(
        imports,
        [
            "wasgi:asgi/server",
            "wasgi:asgi/types",
            "wasi:cli/environment",
            "wasi:cli/exit",
            "wasi:cli/stderr",
            "wasi:cli/stdout",
            "wasi:io/error",
            "wasi:io/streams",
            "wasi:random/insecure-seed",
        ]
    );
}
