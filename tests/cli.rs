//! End to end: the `wasgi` command refuses bad input with a clear error and a non-zero exit.

mod support;

use std::path::Path;

use support::run_wasgi;

/// Runs `wasgi` with `args`, expects failure, and returns its stderr.
fn fails(args: &[&str]) -> String {
    let output = run_wasgi(args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "`wasgi {}` succeeded:\n{stderr}",
        args.join(" ")
    );
    assert!(
        output.stdout.is_empty(),
        "nothing goes to stdout on failure"
    );
    stderr
}

fn serve_fails(app: &Path) -> String {
    fails(&["serve", app.to_str().unwrap(), "--listen", "127.0.0.1:0"])
}

fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn a_missing_file_is_named() {
    let stderr = serve_fails(Path::new("/no/such/app.wasm"));
    assert_eq!(stderr.trim(), "error: `/no/such/app.wasm` does not exist");
}

#[test]
fn a_file_that_is_not_wasm_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = write(dir.path(), "app.wasm", "this is text, not a component");
    let stderr = serve_fails(&app);
    assert_eq!(
        stderr.trim(),
        format!("error: `{}` is not a WebAssembly component", app.display())
    );
}

#[test]
fn a_core_module_is_refused_with_the_target_to_use() {
    let dir = tempfile::tempdir().unwrap();
    let app = write(dir.path(), "core.wasm", wat::parse_str("(module)").unwrap());
    let stderr = serve_fails(&app);
    assert!(
        stderr.contains("is a core WebAssembly module, not a component: build guests for the `wasm32-wasip2` target"),
        "{stderr}"
    );
}

#[test]
fn a_corrupt_component_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = wat::parse_str("(component)").unwrap();
    bytes.extend_from_slice(b"\x7fgarbage after the header");
    let app = write(dir.path(), "corrupt.wasm", bytes);
    let stderr = serve_fails(&app);
    assert!(
        stderr.starts_with(&format!("error: failed to compile `{}`", app.display())),
        "{stderr}"
    );
}

#[test]
fn a_component_without_the_handler_export_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = write(
        dir.path(),
        "empty.wasm",
        wat::parse_str("(component)").unwrap(),
    );
    let stderr = serve_fails(&app);
    assert!(
        stderr.contains("is not a wasgi app: it does not export `wasgi:asgi/handler@0.1.0`"),
        "{stderr}"
    );
}

#[test]
fn a_component_importing_something_unknown_is_refused_naming_the_import() {
    let dir = tempfile::tempdir().unwrap();
    let component = wat::parse_str(
        r#"(component (import "acme:missing/thing" (instance (export "f" (func)))))"#,
    )
    .unwrap();
    let app = write(dir.path(), "imports.wasm", component);
    let stderr = serve_fails(&app);
    assert!(
        stderr.contains("needs an import that wasgi does not provide"),
        "{stderr}"
    );
    assert!(stderr.contains("acme:missing/thing"), "{stderr}");
}

#[test]
fn a_directory_without_cargo_toml_is_not_a_guest_crate() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = serve_fails(dir.path());
    assert_eq!(
        stderr.trim(),
        format!(
            "error: `{}` is not a guest crate: it has no Cargo.toml",
            dir.path().display()
        )
    );
    let stderr = fails(&["build", dir.path().to_str().unwrap()]);
    assert!(
        stderr.contains("is not a guest crate: it has no Cargo.toml"),
        "{stderr}"
    );
}

const MANIFEST: &str = r#"
[package]
name = "not-a-guest"
version = "0.1.0"
edition = "2024"

[workspace]
"#;

#[test]
fn a_crate_without_a_cdylib_is_not_a_guest_crate() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Cargo.toml", MANIFEST);
    write(dir.path(), "src/lib.rs", "");
    let stderr = fails(&["build", dir.path().to_str().unwrap()]);
    assert_eq!(
        stderr.trim(),
        r#"error: crate `not-a-guest` is not a guest crate: it needs `[lib] crate-type = ["cdylib"]`"#
    );
}

#[test]
fn a_crate_that_does_not_compile_says_so() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.toml",
        format!("{MANIFEST}\n[lib]\ncrate-type = [\"cdylib\"]\n"),
    );
    write(dir.path(), "src/lib.rs", "fn broken( {");
    let stderr = fails(&["build", dir.path().to_str().unwrap()]);
    // Cargo's own diagnostics come first, then wasgi's summary.
    assert!(
        stderr.contains("error: this file contains an unclosed delimiter"),
        "{stderr}"
    );
    assert!(
        stderr
            .trim_end()
            .ends_with("error: failed to build guest crate `not-a-guest` (exit status: 101)"),
        "{stderr}"
    );
}

#[test]
fn a_workspace_root_is_not_a_guest_crate() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Cargo.toml", "[workspace]\nmembers = []\n");
    let stderr = fails(&["build", dir.path().to_str().unwrap()]);
    assert!(
        stderr.contains("is a workspace, not a guest crate: name one of its members"),
        "{stderr}"
    );
}

#[test]
fn a_bad_listen_address_is_a_usage_error() {
    let output = run_wasgi(&["serve", "x.wasm", "--listen", "not-an-address"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid value 'not-an-address'"));
}

#[test]
fn an_address_in_use_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let app = support::guest("examples/hello");
    let stderr = fails(&["serve", app.to_str().unwrap(), "--listen", &addr]);
    assert!(
        stderr.contains(&format!("error: failed to listen on `{addr}`")),
        "{stderr}"
    );
}

#[test]
fn bad_limit_values_are_usage_errors_that_name_the_value() {
    for (flag, value, message) in [
        (
            "--memory-limit",
            "lots",
            "`lots` is not a size such as 128MiB",
        ),
        (
            "--max-body-size",
            "5 apples",
            "`5 apples` is not a size such as 128MiB",
        ),
        ("--timeout", "soon", "invalid value 'soon' for '--timeout"),
        (
            "--max-concurrency",
            "many",
            "invalid value 'many' for '--max-concurrency",
        ),
        // At least one thread must serve.
        ("--workers", "0", "invalid value '0' for '--workers"),
        ("--workers", "-2", "unexpected argument '-2'"),
        ("--workers", "lots", "invalid value 'lots' for '--workers"),
    ] {
        let output = run_wasgi(&["serve", "x.wasm", flag, value]);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{flag} {value}: {stderr}");
    }
}
