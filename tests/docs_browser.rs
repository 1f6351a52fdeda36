//! End to end in a real browser: headless Chromium opens `examples/params`' `/docs` (Swagger UI
//! loaded from a local copy of npm's `swagger-ui-dist`, no CDN), sees every operation, and tries
//! one from the page as a user would. The driver is `tests/browser/docs_page.mjs`; its
//! screenshot is kept in `target/test-artifacts/`.
//!
//! Needs Debian's `chromium` and `npm ci` in `tests/browser` (`.ci/run` installs both).

mod support;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::Host;

/// A child process killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromium() -> String {
    std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

/// Serves `tests/browser/node_modules/swagger-ui-dist` on a free loopback port.
fn asset_server(browser: &Path) -> (Killed, String) {
    let dir = tempfile::tempdir().unwrap();
    let port_file = dir.path().join("port");
    let child = Command::new("python3")
        .arg(browser.join("serve_assets.py"))
        .arg("--port-file")
        .arg(&port_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs the asset server");
    let server = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(port) = std::fs::read_to_string(&port_file)
            && !port.trim().is_empty()
        {
            return (server, format!("http://127.0.0.1:{}", port.trim()));
        }
        assert!(Instant::now() < deadline, "the asset server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn swagger_ui_shows_every_operation_and_runs_one_from_the_page() {
    let browser = support::repo().join("tests/browser");
    assert!(
        browser.join("node_modules/playwright-core").is_dir()
            && browser.join("node_modules/swagger-ui-dist").is_dir(),
        "run `npm ci` in tests/browser first (.ci/run does)"
    );
    assert!(
        Path::new(&chromium()).exists(),
        "install Debian's chromium first (.ci/run does)"
    );

    let (_assets, assets_url) = asset_server(&browser);
    let component = support::guest("examples/params");
    let host = Host::serve_with(
        &component,
        &["--env", &format!("WASGI_DOCS_ASSETS={assets_url}")],
    );
    let artifacts = support::repo().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = artifacts.join("params-docs.png");

    let mut driver = Command::new("node")
        .current_dir(&browser)
        .arg("docs_page.mjs")
        .args(["--url", &host.url("/docs")])
        .args(["--expect-operations", "10"])
        .arg("--screenshot")
        .arg(&screenshot)
        .args([
            "--try",
            "GET /items/{item_id}",
            "--param",
            "item_id=5",
            "--expect-status",
            "200",
        ])
        .env("CHROMIUM_PATH", chromium())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs the browser driver");
    let mut stdout = String::new();
    let mut stderr = String::new();
    driver
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    driver
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = driver.wait().unwrap();
    assert!(
        status.success(),
        "the docs page failed in Chromium ({status}):\n{stdout}\n{stderr}"
    );
    // The driver prints each rendered operation (in padded columns) and the live response.
    let stdout = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for operation in [
        "GET /items/{item_id}",
        "PUT /items/{item_id}",
        "POST /items",
        "GET /headers",
    ] {
        assert!(
            stdout.contains(operation),
            "no {operation} on the page:\n{stdout}"
        );
    }
    assert!(
        stdout.contains(r#""item_id": 5"#) || stdout.contains(r#""item_id":5"#),
        "{stdout}"
    );
    assert!(screenshot.is_file());
}
