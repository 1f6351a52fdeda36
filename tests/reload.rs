//! End to end: `wasgi serve --reload` rebuilds a guest crate when its sources change and swaps
//! it in; a change that does not build leaves the previous version serving.

mod support;

use std::path::Path;
use std::time::Duration;

use support::Host;

/// A guest crate of its own (its own workspace) answering `GET /` with `answer`.
fn write_guest(dir: &Path, answer: &str) {
    let sdk = support::repo().join("guest-sdk");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            r#"[package]
name = "reload-guest"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
wasgi = {{ path = "{sdk}" }}

[workspace]
"#,
            sdk = sdk.display()
        ),
    )
    .unwrap();
    // The repository's lock file, so the crate builds with the versions already built.
    std::fs::copy(support::repo().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    write_source(dir, answer);
}

fn write_source(dir: &Path, answer: &str) {
    std::fs::write(
        dir.join("src/lib.rs"),
        format!(
            r#"//! A guest whose answer the test rewrites.
#[wasgi::get("/")]
fn root() -> String {{
    "{answer}".to_owned()
}}

/// The app.
pub fn app() -> wasgi::App {{
    wasgi::App::new().endpoint(root)
}}

wasgi::export!(app);
"#
        ),
    )
    .unwrap();
}

async fn answer(host: &Host) -> String {
    let response = host.get("/").await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Builds take long on a busy machine; this bounds the wait for one, not its speed.
const BUILD: Duration = Duration::from_secs(600);

#[tokio::test]
async fn a_changed_guest_is_rebuilt_and_swapped_in_and_a_broken_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let guest = dir.path().join("guest");
    write_guest(&guest, "first");
    // The repository's target directory: dependencies already built for the examples are
    // reused rather than rebuilt in the temporary directory.
    let target = support::repo().join("target");
    let host = Host::start_with_env(
        &[guest.to_str().unwrap(), "--reload"],
        &[("CARGO_TARGET_DIR", target.to_str().unwrap())],
    );
    assert_eq!(answer(&host).await, "first");
    host.wait_for_log("watching for changes");

    write_source(&guest, "second");
    host.wait_for_lines_within("reloaded", 1, BUILD);
    assert_eq!(answer(&host).await, "second");

    // A syntax error: the build fails, the error is logged, and the last good version serves.
    std::fs::write(guest.join("src/lib.rs"), "fn root( {").unwrap();
    let failed = host.wait_for_lines_within("reload failed", 1, BUILD);
    assert!(
        failed[0].contains("the previous version keeps serving"),
        "{failed:?}"
    );
    assert_eq!(answer(&host).await, "second");

    // Fixed again: swapped in.
    write_source(&guest, "third");
    host.wait_for_lines_within("reloaded", 2, BUILD);
    assert_eq!(answer(&host).await, "third");
}

#[test]
fn reload_needs_a_guest_crate_directory() {
    let hello = support::guest("examples/hello");
    let output = support::run_wasgi(&["serve", hello.to_str().unwrap(), "--reload"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--reload needs an app given as a guest crate directory"),
        "{stderr}"
    );
}
