//! End to end: the admin listener. Deploys, replacements and removals over HTTP and with
//! `wasgi deploy`, refused modules, redeploys under load, restarts that bring deployed apps
//! back, Prometheus metrics and health checks, and admin calls without the token.

mod support;

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::Value;
use support::load::{Answer, Load};
use support::{Host, run_wasgi};
use tempfile::TempDir;

const TOKEN: &str = "test-admin-token-0123456789abcdef";

/// A token file and a data directory that outlive the hosts started with them.
struct AdminSetup {
    dir: TempDir,
}

impl AdminSetup {
    fn new() -> AdminSetup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
        AdminSetup { dir }
    }

    fn token_file(&self) -> PathBuf {
        self.dir.path().join("token")
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts `wasgi serve ARGS` with the admin listener on a free port.
    fn serve(&self, args: &[&str]) -> Host {
        let (token_file, data_dir) = (self.token_file(), self.data_dir());
        let mut all = args.to_vec();
        all.extend([
            "--admin-listen",
            "127.0.0.1:0",
            "--admin-token-file",
            token_file.to_str().unwrap(),
            "--data-dir",
            data_dir.to_str().unwrap(),
        ]);
        Host::start(&all)
    }
}

/// `PUT /apps/NAME?QUERY` with `module` as the body, with the token.
async fn deploy(host: &Host, name: &str, query: &str, module: Vec<u8>) -> (StatusCode, Value) {
    let response = support::client()
        .put(host.admin_url(&format!("/apps/{name}?{query}")))
        .bearer_auth(TOKEN)
        .body(module)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// `METHOD path` on the admin listener with the token; status and JSON body.
async fn admin(host: &Host, method: reqwest::Method, path: &str) -> (StatusCode, Value) {
    let response = support::client()
        .request(method, host.admin_url(path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The names `GET /apps` lists, in its order.
async fn app_names(host: &Host) -> Vec<String> {
    let (status, apps) = admin(host, reqwest::Method::GET, "/apps").await;
    assert_eq!(status, 200, "{apps}");
    apps.as_array()
        .unwrap()
        .iter()
        .map(|app| app["name"].as_str().unwrap().to_owned())
        .collect()
}

fn module(dir: &str) -> Vec<u8> {
    std::fs::read(support::guest(dir)).unwrap()
}

async fn text(host: &Host, path: &str) -> (StatusCode, String) {
    let response = host.get(path).await;
    (response.status(), response.text().await.unwrap())
}

const HELLO: &str = r#"{"message":"Hello World"}"#;

#[tokio::test]
async fn admin_calls_without_the_token_get_401_and_change_nothing() {
    let setup = AdminSetup::new();
    let hello = support::guest("examples/hello");
    let host = setup.serve(&[hello.to_str().unwrap()]);
    let client = support::client();

    let calls = [
        (reqwest::Method::GET, "/apps"),
        (reqwest::Method::GET, "/apps/hello"),
        (reqwest::Method::PUT, "/apps/params"),
        (reqwest::Method::DELETE, "/apps/hello"),
        (reqwest::Method::GET, "/metrics"),
        (reqwest::Method::GET, "/no-such-call"),
    ];
    let wrong = [
        None,
        Some("Bearer not-the-token"),
        Some("Bearer"),
        Some(&*format!("Basic {TOKEN}")),
        Some(&*format!("Bearer {TOKEN}x")),
        Some(&*format!("Bearer {}", &TOKEN[..TOKEN.len() - 1])),
    ];
    for (method, path) in &calls {
        for authorization in &wrong {
            let mut request = client.request(method.clone(), host.admin_url(path));
            if let Some(value) = authorization {
                request = request.header("authorization", *value);
            }
            if *method == reqwest::Method::PUT {
                request = request.body(module("examples/params"));
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                401,
                "{method} {path} with {authorization:?}"
            );
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            let body: Value = response.json().await.unwrap();
            assert!(body["detail"].is_string(), "{body}");
        }
    }
    // Nothing was deployed or removed.
    assert_eq!(text(&host, "/").await, (StatusCode::OK, HELLO.to_owned()));
    let (status, apps) = admin(&host, reqwest::Method::GET, "/apps").await;
    assert_eq!(status, 200);
    assert_eq!(apps.as_array().unwrap().len(), 1, "{apps}");

    // Health checks are for load balancers and need no token.
    let health = client.get(host.admin_url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = client.get(host.admin_url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    // The admin API is not served on the public listener.
    assert_eq!(host.get("/apps").await.status(), 404);
}

#[tokio::test]
async fn a_deployed_app_answers_under_its_mount_and_comes_back_after_a_restart() {
    let setup = AdminSetup::new();
    let hello = support::guest("examples/hello");
    let mut host = setup.serve(&[hello.to_str().unwrap()]);

    let (status, app) = deploy(&host, "params", "mount=/api", module("examples/params")).await;
    assert_eq!(status, 201, "{app}");
    assert_eq!(app["name"], "params");
    assert_eq!(app["mount"], "/api");
    assert_eq!(app["origin"], "deployed");
    assert_eq!(app["sha256"].as_str().unwrap().len(), 64);
    let (status, body) = text(&host, "/api/items/5?short=true").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"item_id":5}"#)
    );
    // A new app without a mount is mounted at `/NAME`.
    let (status, app) = deploy(&host, "second", "", module("examples/hello")).await;
    assert_eq!(status, 201, "{app}");
    assert_eq!(app["mount"], "/second");
    assert_eq!(text(&host, "/second/").await.1, HELLO);

    let names = app_names(&host).await;
    assert_eq!(names.len(), 3, "{names:?}");

    // Remove the configured app and one deployed app: both stay gone after a restart.
    let (status, _) = admin(&host, reqwest::Method::DELETE, "/apps/second").await;
    assert_eq!(status, 200);
    let configured_name = names.iter().find(|n| *n != "params" && *n != "second");
    let configured_name = configured_name.unwrap().clone();
    let (status, _) = admin(
        &host,
        reqwest::Method::DELETE,
        &format!("/apps/{configured_name}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(host.get("/").await.status(), 404);
    assert_eq!(host.get("/second/").await.status(), 404);
    let (status, _) = admin(&host, reqwest::Method::DELETE, "/apps/second").await;
    assert_eq!(status, 404);

    host.terminate();
    assert_eq!(host.wait_for_exit(), Some(0));
    let host = setup.serve(&[hello.to_str().unwrap()]);
    let (status, body) = text(&host, "/api/items/5?short=true").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"item_id":5}"#)
    );
    assert_eq!(host.get("/").await.status(), 404);
    assert_eq!(host.get("/second/").await.status(), 404);
    let (_, apps) = admin(&host, reqwest::Method::GET, "/apps").await;
    assert_eq!(apps.as_array().unwrap().len(), 1, "{apps}");
    assert_eq!(apps[0]["name"], "params");

    // Deploying the configured app again brings it back, and that is remembered too.
    let (status, app) = deploy(&host, &configured_name, "mount=/", module("examples/hello")).await;
    assert_eq!(status, 201, "{app}");
    assert_eq!(text(&host, "/").await.1, HELLO);
}

#[tokio::test]
async fn a_bad_deploy_is_refused_with_its_reason_and_the_old_version_keeps_answering() {
    let setup = AdminSetup::new();
    let hello = support::guest("examples/hello");
    let host = setup.serve(&[hello.to_str().unwrap()]);
    let (status, _) = deploy(&host, "app", "mount=/app", module("examples/hello")).await;
    assert_eq!(status, 201);

    let mut corrupt = wat::parse_str("(component)").unwrap();
    corrupt.extend_from_slice(b"\x7fgarbage after the header");
    let refused: [(&str, Vec<u8>, &str); 5] = [
        (
            "",
            b"this is text".to_vec(),
            "is not a WebAssembly component",
        ),
        (
            "",
            wat::parse_str("(module)").unwrap(),
            "core WebAssembly module",
        ),
        ("", corrupt, "failed to compile"),
        (
            "",
            wat::parse_str("(component)").unwrap(),
            "does not export `wasgi:asgi/handler",
        ),
        // Compiles and links, but fails its smoke check.
        ("smoke=/panic", module("tests/guests/raw"), "smoke check"),
    ];
    for (query, bytes, reason) in refused {
        let (status, body) = deploy(&host, "app", query, bytes).await;
        assert_eq!(status, 422, "{body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(reason), "`{detail}` should say `{reason}`");
        assert_eq!(text(&host, "/app/").await.1, HELLO);
    }
    host.wait_for_log("refused");

    let (status, app) = admin(&host, reqwest::Method::GET, "/apps/app").await;
    assert_eq!(status, 200);
    assert_eq!(app["mount"], "/app");
}

/// Deploys are serialised, but one still being checked holds up no listing: while a deploy's
/// smoke check computes towards its one-minute deadline, `GET /apps` answers at once with the
/// apps serving, and the check is still running when it does.
#[tokio::test(flavor = "multi_thread")]
async fn the_app_list_answers_while_a_deploy_is_being_smoke_checked() {
    let setup = AdminSetup::new();
    let hello = support::guest("examples/hello");
    let host = setup.serve(&[hello.to_str().unwrap()]);

    let slow = support::client()
        .put(host.admin_url("/apps/slow?mount=/slow&smoke=/loop&timeout=60s"))
        .bearer_auth(TOKEN)
        .body(module("tests/guests/raw"))
        .send();
    let slow = tokio::spawn(slow);
    let checking = "wasgi_instances_in_flight{app=\"slow\"}";
    let waited = std::time::Instant::now();
    while metric_sum(&host, checking).await < 1.0 {
        assert!(
            waited.elapsed() < std::time::Duration::from_secs(50),
            "the slow deploy's smoke check never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    assert_eq!(app_names(&host).await, ["hello"]);
    assert_eq!(
        metric_sum(&host, checking).await,
        1.0,
        "the listing waited for the deploy's smoke check to end"
    );
    assert!(!slow.is_finished());
    slow.abort();
}

#[tokio::test]
async fn malformed_admin_calls_get_a_clear_4xx() {
    let setup = AdminSetup::new();
    let hello = support::guest("examples/hello");
    let host = setup.serve(&[hello.to_str().unwrap(), "--admin-max-module-size", "1MiB"]);
    let hello_bytes = module("examples/hello");
    let cases: [(&str, &str, Vec<u8>, u16, &str); 14] = [
        ("app", "", Vec::new(), 400, "must be the app's `.wasm`"),
        ("app", "colour=blue", hello_bytes.clone(), 400, "colour"),
        (
            "app",
            "mount=no-slash",
            hello_bytes.clone(),
            400,
            "mount prefix",
        ),
        (
            "app",
            "mount=/a/../b",
            hello_bytes.clone(),
            400,
            "mount prefix",
        ),
        (
            "app",
            "env=NOEQUALS",
            hello_bytes.clone(),
            400,
            "NAME=VALUE",
        ),
        ("app", "timeout=soon", hello_bytes.clone(), 400, "soon"),
        (
            "app",
            "host=bad%20host",
            hello_bytes.clone(),
            400,
            "host name",
        ),
        ("bad%20name", "", hello_bytes.clone(), 400, "app name"),
        // Given twice, which value was meant is not known.
        (
            "app",
            "mount=/a&mount=/b",
            hello_bytes.clone(),
            400,
            "`mount` is given twice",
        ),
        (
            "app",
            "timeout=1s&timeout=2s",
            hello_bytes.clone(),
            400,
            "`timeout` is given twice",
        ),
        (
            "app",
            "env=K=1&env=K=2",
            hello_bytes.clone(),
            400,
            "sets `K` twice",
        ),
        (
            "app",
            "host=a.test&host=A.test",
            hello_bytes.clone(),
            400,
            "given twice",
        ),
        ("app", "", vec![0; 2 << 20], 413, "larger than"),
        // The configured app owns `/`; another app may not take it.
        (
            "app",
            "mount=/",
            hello_bytes.clone(),
            409,
            "already mounted",
        ),
    ];
    for (name, query, body, status, says) in cases {
        let (got, answer) = deploy(&host, name, query, body).await;
        assert_eq!(got.as_u16(), status, "PUT /apps/{name}?{query}: {answer}");
        let detail = answer["detail"].as_str().unwrap();
        assert!(detail.contains(says), "`{detail}` should say `{says}`");
    }
    let (status, _) = admin(&host, reqwest::Method::POST, "/apps/app").await;
    assert_eq!(status, 405);
    let (status, _) = admin(&host, reqwest::Method::GET, "/apps/nobody").await;
    assert_eq!(status, 404);
    let (status, _) = admin(&host, reqwest::Method::GET, "/elsewhere").await;
    assert_eq!(status, 404);
    // Nothing was deployed, and the host serves on.
    let (_, apps) = admin(&host, reqwest::Method::GET, "/apps").await;
    assert_eq!(apps.as_array().unwrap().len(), 1, "{apps}");
    assert_eq!(text(&host, "/").await.1, HELLO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redeploy_under_continuous_load_fails_no_request() {
    let setup = AdminSetup::new();
    let host = setup.serve(&[support::guest("examples/hello").to_str().unwrap()]);
    let (hello, params) = (module("examples/hello"), module("examples/params"));
    let (status, _) = deploy(&host, "svc", "mount=/svc", hello.clone()).await;
    assert_eq!(status, 201);

    let load = Load::start(&host, &["/svc/openapi.json", "/"], 8);
    // Swap the module back and forth while the clients run, until they have sent thousands.
    let mut deploys = 0;
    let mut total = 0;
    while deploys < 6 || total < 3000 {
        let next = if deploys % 2 == 0 { &params } else { &hello };
        let (status, body) = deploy(&host, "svc", "smoke=/openapi.json", next.clone()).await;
        assert_eq!(status, 200, "{body}");
        deploys += 1;
        total = metric_sum(&host, "wasgi_requests_total{").await as u64;
        assert!(deploys < 200, "the load made no progress: {total} requests");
    }
    let answers = load.finish().await;
    let mut documents = std::collections::BTreeSet::new();
    for Answer { url, result } in &answers {
        let (status, body) = result
            .as_ref()
            .unwrap_or_else(|error| panic!("{url}: {error}"));
        assert_eq!(*status, 200, "{url}: {body}");
        if url.ends_with("/openapi.json") {
            let document: Value = serde_json::from_str(body).unwrap();
            documents.insert(document["paths"].to_string());
        } else {
            assert_eq!(body, HELLO);
        }
    }
    assert!(answers.len() >= 3000, "only {} requests", answers.len());
    // Both versions answered while the load ran.
    assert_eq!(documents.len(), 2, "{documents:?}");
}

/// The sum of the Prometheus samples whose line starts with `prefix`.
async fn metric_sum(host: &Host, prefix: &str) -> f64 {
    let response = support::client()
        .get(host.admin_url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response
        .text()
        .await
        .unwrap()
        .lines()
        .filter(|line| line.starts_with(prefix))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

type Chunks = tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>;
type Upload = tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>;

/// Starts `POST path` to the raw guest's `/count-body` with `first` bytes of a body whose rest
/// the test sends through the returned sender (dropping it ends the body), and waits until the
/// guest is reading it. Needs a multi-threaded runtime.
async fn start_upload(host: &Host, path: &str, first: usize) -> (Chunks, Upload) {
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    let body = reqwest::Body::wrap_stream(tokio_stream::wrappers::ReceiverStream::new(receiver));
    let upload = tokio::spawn(support::client().post(host.url(path)).body(body).send());
    sender.send(Ok(vec![b'a'; first])).await.unwrap();
    host.wait_for_log("raw-guest: count-body started");
    (sender, upload)
}

// Multi-threaded: the upload runs on its own while the test blocks waiting for the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_finishes_on_the_version_it_started_on() {
    let setup = AdminSetup::new();
    let host = setup.serve(&[support::guest("examples/hello").to_str().unwrap()]);
    let (status, _) = deploy(&host, "up", "mount=/up", module("tests/guests/raw")).await;
    assert_eq!(status, 201);

    // An upload to the raw guest's /count-body that has sent half its body...
    let (sender, upload) = start_upload(&host, "/up/count-body", 1000).await;
    // ...while `up` is replaced by hello, which has no such route...
    let (status, _) = deploy(&host, "up", "", module("examples/hello")).await;
    assert_eq!(status, 200);
    assert_eq!(host.get("/up/count-body").await.status(), 404);
    // ...is still answered by the raw guest once its body is done.
    sender.send(Ok(vec![b'b'; 500])).await.unwrap();
    drop(sender);
    let response = upload.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "1500");
}

#[tokio::test]
async fn metrics_count_requests_by_app_and_status_and_rejections_by_limit() {
    let setup = AdminSetup::new();
    let host = setup.serve(&[support::guest("examples/hello").to_str().unwrap()]);
    let (status, _) = deploy(
        &host,
        "raw",
        "mount=/raw&timeout=1s&max_body_size=1KiB",
        module("tests/guests/raw"),
    )
    .await;
    assert_eq!(status, 201);
    for _ in 0..3 {
        assert_eq!(host.get("/").await.status(), 200);
    }
    assert_eq!(host.get("/nowhere").await.status(), 404);
    assert_eq!(host.get("/raw/loop").await.status(), 504);
    let big = support::client()
        .post(host.url("/raw/count-body"))
        .body(vec![0; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);

    // The app served from `hello.wasm` is named `hello`.
    let lines = [
        "wasgi_requests_total{app=\"hello\",status=\"200\"} 3",
        "wasgi_requests_total{app=\"hello\",status=\"404\"} 1",
        "wasgi_requests_total{app=\"raw\",status=\"504\"} 1",
        "wasgi_limit_rejections_total{app=\"raw\",limit=\"deadline\"} 1",
        "wasgi_limit_rejections_total{app=\"raw\",limit=\"body_size\"} 1",
        "wasgi_instances_in_flight{app=\"raw\"} 0",
    ];
    // The 504 goes out before its guest has finished (and counted its limit), on a thread of
    // its own: the counts catch up with the answers, so wait for them (at most 30 s).
    let mut text = metrics(&host).await;
    for _ in 0..300 {
        if lines.iter().all(|line| text.contains(line)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        text = metrics(&host).await;
    }
    for line in lines {
        assert!(text.contains(line), "no `{line}` in\n{text}");
    }
    for family in [
        "wasgi_request_duration_seconds_bucket{",
        "wasgi_instantiation_duration_seconds_count{",
        "wasgi_connections_open ",
    ] {
        assert!(text.contains(family), "no `{family}` in\n{text}");
    }
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
}

#[tokio::test]
async fn requests_no_app_is_mounted_for_are_counted_apart_from_every_app() {
    // One app, mounted at `/raw` only.
    let setup = AdminSetup::new();
    let config = setup.dir.path().join("wasgi.toml");
    let raw = support::guest("tests/guests/raw");
    let app = format!(
        "[[app]]\nname = \"raw\"\nmodule = \"{}\"\nmount = \"/raw\"\n",
        raw.display()
    );
    std::fs::write(&config, app).unwrap();
    let host = setup.serve(&["--config", config.to_str().unwrap()]);
    assert_eq!(host.get("/raw/").await.status(), 200);
    // Outside every mount, a prefix that is not a whole segment included.
    for path in ["/", "/elsewhere", "/rawish", "/RAW"] {
        let response = host.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(response.text().await.unwrap(), r#"{"detail":"Not Found"}"#);
    }

    let text = metrics(&host).await;
    assert!(text.contains("wasgi_unrouted_requests_total 4\n"), "{text}");
    assert!(
        text.contains("wasgi_requests_total{app=\"raw\",status=\"200\"} 1\n"),
        "{text}"
    );
    assert!(
        !text.contains("status=\"404\""),
        "an app was charged a 404: {text}"
    );
}

/// The host's metrics, in Prometheus' text format.
async fn metrics(host: &Host) -> String {
    support::client()
        .get(host.admin_url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Runs `wasgi ARGS` against the host's admin listener.
fn cli(host: &Host, token_file: &Path, args: &[&str]) -> std::process::Output {
    let url = host.admin_url("");
    let mut all = args.to_vec();
    all.extend(["--to", &url, "--token-file", token_file.to_str().unwrap()]);
    run_wasgi(&all)
}

/// The CLI refuses a name the host would refuse before it sends anything, so `x?oops` or
/// `nothere/../x` cannot reach app `x`; and an answer that is not the admin API's (a proxy's
/// page, say) is an error, not a success.
#[tokio::test]
async fn the_cli_acts_on_the_app_it_names_or_on_none() {
    let setup = AdminSetup::new();
    let host = setup.serve(&[support::guest("examples/hello").to_str().unwrap()]);
    let (status, _) = deploy(&host, "x", "", module("examples/hello")).await;
    assert_eq!(status, StatusCode::CREATED);
    for name in ["x?oops", "nothere/../x", "..", "x#y"] {
        let output = cli(&host, &setup.token_file(), &["remove", name]);
        assert_eq!(output.status.code(), Some(1), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("is not an app name"), "{name}: {stderr}");
        let output = cli(
            &host,
            &setup.token_file(),
            &["deploy", "examples/hello", "--name", name],
        );
        assert_eq!(output.status.code(), Some(1), "{name}");
    }
    assert_eq!(app_names(&host).await, ["hello", "x"]);

    // Something else answers 200 with a web page.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let page = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read as _, Write as _};
        let (mut stream, _) = listener.accept().unwrap();
        let _ = stream.read(&mut [0; 4096]);
        let body = "<html>please log in</html>";
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    let token_file = setup.token_file();
    let output = run_wasgi(&[
        "apps",
        "--to",
        &format!("http://{page}"),
        "--token-file",
        token_file.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("did not answer as the wasgi admin API (200 OK): <html>please log in"),
        "{stderr}"
    );
}

#[tokio::test]
async fn wasgi_deploy_apps_and_remove_drive_the_admin_api() {
    let setup = AdminSetup::new();
    let host = setup.serve(&[support::guest("examples/hello").to_str().unwrap()]);
    let params_dir = support::repo().join("examples/params");

    // A guest crate directory is built first, then deployed.
    let output = cli(
        &host,
        &setup.token_file(),
        &[
            "deploy",
            params_dir.to_str().unwrap(),
            "--name",
            "params",
            "--mount",
            "/api",
            "--env",
            "GREETING=hi",
            "--timeout",
            "5s",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("deployed `params` at `/api`"), "{stderr}");
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["env"]["GREETING"], "hi");
    assert_eq!(answer["limits"]["timeout"], "5s");
    assert_eq!(text(&host, "/api/items/5").await.0, 200);

    let output = cli(&host, &setup.token_file(), &["apps"]);
    assert!(output.status.success());
    let apps: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(apps.as_array().unwrap().len(), 2, "{apps}");

    // A wrong token is refused with the host's reason, and nothing changes.
    let wrong = setup.dir.path().join("wrong-token");
    std::fs::write(&wrong, "not-the-admin-token-at-all").unwrap();
    let hello = support::guest("examples/hello");
    let hello = hello.to_str().unwrap();
    for args in [
        &["remove", "params"][..],
        &["deploy", hello, "--name", "params"][..],
    ] {
        let output = cli(&host, &wrong, args);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("refused the admin token"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(text(&host, "/api/items/5").await.0, 200);

    // A refused deploy says why, and exits non-zero.
    let garbage = setup.dir.path().join("garbage.wasm");
    std::fs::write(&garbage, "not wasm").unwrap();
    let output = cli(
        &host,
        &setup.token_file(),
        &["deploy", garbage.to_str().unwrap(), "--name", "params"],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("422"), "{stderr}");
    assert!(stderr.contains("not a WebAssembly component"), "{stderr}");

    let output = cli(&host, &setup.token_file(), &["remove", "params"]);
    assert!(output.status.success());
    assert_eq!(text(&host, "/api/items/5").await.0, 404);

    // No host there: the error names the address.
    let output = run_wasgi(&[
        "apps",
        "--to",
        "http://127.0.0.1:9",
        "--token-file",
        setup.token_file().to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("failed to reach the admin listener"),
        "{stderr}"
    );
}

#[test]
fn the_admin_listener_needs_a_long_enough_token() {
    let dir = tempfile::tempdir().unwrap();
    let hello = support::guest("examples/hello");
    let short = dir.path().join("short");
    std::fs::write(&short, "secret").unwrap();
    let output = run_wasgi(&[
        "serve",
        hello.to_str().unwrap(),
        "--admin-listen",
        "127.0.0.1:0",
        "--admin-token-file",
        short.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("at least 16 characters"), "{stderr}");

    // The data directory means nothing without the admin listener.
    let output = run_wasgi(&["serve", hello.to_str().unwrap(), "--data-dir", "/tmp/x"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--admin-listen"), "{stderr}");
}

/// A `wasgi.toml` can hold the whole deployment: the admin listener with its token, module
/// size and data directory, and the compile cache, their paths relative to the file.
#[tokio::test]
async fn the_config_holds_the_admin_listener_and_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("admin.token"), format!("{TOKEN}\n")).unwrap();
    let hello = support::guest("examples/hello");
    let config = dir.path().join("wasgi.toml");
    let write = |server: &str, admin: &str| {
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n{server}\n[admin]\n{admin}\n\
             [[app]]\nname = \"hello\"\nmodule = \"{}\"\n",
            hello.display()
        );
        std::fs::write(&config, text).unwrap();
        config.to_str().unwrap().to_owned()
    };
    let admin = "listen = \"127.0.0.1:0\"\ntoken_file = \"admin.token\"\n\
                 max_module_size = \"1KiB\"\ndata_dir = \"data\"";
    // The tests run in the repository, so paths read from there would miss `dir`.
    let host = Host::start_as_given(&["--config", &write("cache_dir = \"cache\"", admin)], &[]);
    assert_eq!(text(&host, "/").await.0, StatusCode::OK);
    assert_eq!(app_names(&host).await, ["hello"]);
    let (status, refused) = deploy(&host, "big", "", module("examples/hello")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{refused}");
    assert!(dir.path().join("data").is_dir());
    assert!(std::fs::read_dir(dir.path().join("cache")).unwrap().count() > 0);
    drop(host);

    // A flag may not say otherwise than the file, and the admin settings need a listener.
    let refused = |config: String, flags: &[&str], says: &str| {
        let mut args = vec!["serve", "--config", &config];
        args.extend(flags);
        let output = run_wasgi(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    };
    refused(
        write("", admin),
        &["--admin-listen", "127.0.0.1:1"],
        "`listen` is 127.0.0.1:0 in [admin] but `--admin-listen` says 127.0.0.1:1",
    );
    refused(
        write("cache = false", "data_dir = \"data\""),
        &[],
        "`data_dir` in [admin] needs the admin listener",
    );
    refused(
        write("cache = false", admin),
        &["--cache-dir", "elsewhere"],
        "the compile cache is off",
    );
    refused(
        write("cache_dir = \"\"", admin),
        &[],
        "`cache_dir` in [server] is empty",
    );
    refused(
        write("", &admin.replace("1KiB", "0")),
        &["--admin-max-module-size", "0"],
        "0 bytes: no deploy could succeed",
    );
    std::fs::write(dir.path().join("admin.token"), "\nsecond line\n").unwrap();
    refused(
        write("", admin),
        &[],
        "holds no token: the token is its first line",
    );
}

/// The operator's story: two apps from a `wasgi.toml`; while clients load them, a third app is
/// deployed and one is replaced, and a guest stuck in an endless loop is cut off; then the
/// host restarts. No request outside the faulty guest fails, and every app answers after.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deploys_a_runaway_guest_and_a_restart_under_load_lose_no_request() {
    let setup = AdminSetup::new();
    let config = setup.dir.path().join("wasgi.toml");
    std::fs::write(
        &config,
        format!(
            r#"
            [[app]]
            name = "hello"
            module = "{hello}"

            [[app]]
            name = "params"
            module = "{params}"
            mount = "/api"
            "#,
            hello = support::guest("examples/hello").display(),
            params = support::guest("examples/params").display(),
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let mut host = setup.serve(&["--config", config]);

    let load = Load::start(&host, &["/", "/api/items/5?short=true", "/items/7"], 6);
    let (status, body) = deploy(
        &host,
        "raw",
        "mount=/raw&timeout=1s",
        module("tests/guests/raw"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = deploy(&host, "params", "env=EDITION=2", module("examples/params")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mount"], "/api", "a replacement keeps its mount");
    // Two guests spinning forever, each cut off at its deadline.
    let (first, second) = tokio::join!(host.get("/raw/loop"), host.get("/raw/loop"));
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (504, 504)
    );
    assert_eq!(
        text(&host, "/raw/").await,
        (StatusCode::OK, "ok".to_owned())
    );
    let answers = load.finish().await;

    for Answer { url, result } in &answers {
        let (status, body) = result
            .as_ref()
            .unwrap_or_else(|error| panic!("{url}: {error}"));
        let expected = match url.rsplit_once(':').unwrap().1 {
            path if path.ends_with("/api/items/5?short=true") => r#"{"item_id":5}"#,
            path if path.ends_with("/items/7") => r#"{"item_id":"7"}"#,
            _ => HELLO,
        };
        assert_eq!((*status, body.as_str()), (200, expected), "{url}");
    }
    assert!(!answers.is_empty());

    host.terminate();
    assert_eq!(host.wait_for_exit(), Some(0));
    let host = setup.serve(&["--config", config]);
    assert_eq!(text(&host, "/").await.1, HELLO);
    assert_eq!(
        text(&host, "/api/items/5?short=true").await.1,
        r#"{"item_id":5}"#
    );
    assert_eq!(text(&host, "/raw/").await.1, "ok");
    assert_eq!(host.get("/raw/loop").await.status(), 504);
    let (_, params) = admin(&host, reqwest::Method::GET, "/apps/params").await;
    assert_eq!(params["env"]["EDITION"], "2", "{params}");
    assert_eq!(params["origin"], "deployed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_shutting_down_readyz_is_503_and_deploys_are_refused() {
    let setup = AdminSetup::new();
    let raw = support::guest("tests/guests/raw");
    let mut host = setup.serve(&[raw.to_str().unwrap()]);
    // An upload in flight keeps the host draining until the test completes it.
    let (sender, upload) = start_upload(&host, "/count-body", 10).await;

    host.terminate();
    host.wait_for_log("shutting down");
    let client = support::client();
    let ready = client.get(host.admin_url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let health = client.get(host.admin_url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let (status, body) = deploy(&host, "late", "", module("examples/hello")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["detail"], "the host is shutting down");

    sender.send(Ok(vec![b'b'; 5])).await.unwrap();
    drop(sender);
    let response = upload.await.unwrap().unwrap();
    assert_eq!(response.text().await.unwrap(), "15");
    assert_eq!(host.wait_for_exit(), Some(0));
}

/// Runs `wasgi serve ARGS` with the admin listener of `setup`, expecting it to refuse to start;
/// returns its stderr.
fn serve_fails(setup: &AdminSetup, args: &[&str]) -> String {
    let (token_file, data_dir) = (setup.token_file(), setup.data_dir());
    let mut all = vec!["serve"];
    all.extend(args);
    all.extend([
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
        "--admin-token-file",
        token_file.to_str().unwrap(),
        "--data-dir",
        data_dir.to_str().unwrap(),
    ]);
    let output = run_wasgi(&all);
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn the_data_directory_is_never_shared_overwritten_or_trusted_blindly() {
    let setup = AdminSetup::new();
    let hello = support::guest("examples/hello");
    let hello = hello.to_str().unwrap();
    let mut host = setup.serve(&[hello]);
    let (status, _) = deploy(&host, "raw", "", module("tests/guests/raw")).await;
    assert_eq!(status, 201);
    let (status, _) = deploy(&host, "params", "mount=/api", module("examples/params")).await;
    assert_eq!(status, 201);

    // A second host on the same directory is refused while the first runs.
    let stderr = serve_fails(&setup, &[hello]);
    assert!(
        stderr.contains("is in use by another wasgi host"),
        "{stderr}"
    );
    host.terminate();
    assert_eq!(host.wait_for_exit(), Some(0));

    // A damaged state file stops the start instead of being replaced by an empty one.
    let state = setup.data_dir().join("apps.json");
    let good = std::fs::read(&state).unwrap();
    std::fs::write(&state, &good[..good.len() / 2]).unwrap();
    let stderr = serve_fails(&setup, &[hello]);
    assert!(stderr.contains("apps.json` is damaged"), "{stderr}");
    std::fs::write(&state, &good).unwrap();

    // A module changed on disk fails its hash check: that app is skipped, the others serve.
    let apps: Value = serde_json::from_slice(&good).unwrap();
    let raw = apps["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|app| app["spec"]["name"] == "raw")
        .unwrap();
    let module_file = setup
        .data_dir()
        .join(format!("modules/{}.wasm", raw["sha256"].as_str().unwrap()));
    std::fs::write(&module_file, b"tampered").unwrap();
    let mut host = setup.serve(&[hello]);
    let log = host.wait_for_log("failed to restore deployed app");
    assert!(log.contains("app=raw"), "{log}");
    assert_eq!(host.get("/raw/").await.status(), 404);
    assert_eq!(text(&host, "/api/items/5?short=true").await.0, 200);
    assert_eq!(text(&host, "/").await.1, HELLO);
    host.terminate();
    assert_eq!(host.wait_for_exit(), Some(0));

    // Records edited by hand are checked as a deploy is: one that now takes the configured
    // app's mount, or names itself or its module out of bounds, is skipped.
    let mut apps: Value = serde_json::from_slice(&good).unwrap();
    let records = apps["apps"].as_array_mut().unwrap();
    let params = records
        .iter_mut()
        .find(|app| app["spec"]["name"] == "params")
        .unwrap();
    params["spec"]["mount"] = "/".into();
    let mut escaping = params.clone();
    escaping["spec"]["name"] = "../x".into();
    escaping["spec"]["mount"] = "/x".into();
    let mut hashless = escaping.clone();
    hashless["spec"]["name"] = "y".into();
    hashless["sha256"] = "../../etc/passwd".into();
    records.extend([escaping, hashless]);
    std::fs::write(&state, serde_json::to_vec(&apps).unwrap()).unwrap();
    let host = setup.serve(&[hello]);
    let lines = host.wait_for_lines("failed to restore deployed app", 3);
    let said = |app: &str, why: &str| {
        lines
            .iter()
            .any(|line| line.contains(app) && line.contains(why))
    };
    assert!(said("app=params", "already mounted"), "{lines:?}");
    assert!(said("../x", "not an app name"), "{lines:?}");
    assert!(said("app=y", "not a module's SHA-256"), "{lines:?}");
    assert_eq!(text(&host, "/").await.1, HELLO);
}
