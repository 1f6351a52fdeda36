//! The admin listener: list, deploy, replace and remove apps, Prometheus metrics, and health
//! checks, on an address of its own. Every call but the health checks needs the bearer token.
//!
//! | call | answer |
//! |---|---|
//! | `GET /healthz` | 200 while the process runs (no token) |
//! | `GET /readyz` | 200 while it takes requests, 503 once it is shutting down (no token) |
//! | `GET /metrics` | Prometheus metrics (OpenMetrics text) |
//! | `GET /apps`, `GET /apps/NAME` | the apps, or one |
//! | `PUT /apps/NAME?mount=/x&host=h&env=K=V&smoke=/&memory_limit=64MiB…` | deploy or replace; the body is the `.wasm` |
//! | `DELETE /apps/NAME` | stop serving it |

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use serde::Serialize;
use subtle::ConstantTimeEq as _;
use tokio::net::TcpListener;

use crate::config::LimitsOverride;
use crate::metrics::Metrics;
use crate::registry::{Refused, Registry, SpecChange};

/// The shortest token accepted: long enough that guessing it over the network is hopeless.
pub const MIN_TOKEN_LEN: usize = 16;

/// The admin API's settings and what it acts on.
pub struct Admin {
    /// The apps it changes.
    pub registry: Arc<Registry>,
    /// What `/metrics` shows.
    pub metrics: Arc<Metrics>,
    /// The bearer token every call must carry.
    pub token: String,
    /// The largest module a deploy may upload.
    pub max_module_size: u64,
}

type AdminResponse = Response<Full<Bytes>>;

/// Serves the admin API on `listener`. It keeps serving while the host shuts down, so that
/// `/readyz` can say so and `/metrics` can be scraped until the process exits.
pub async fn serve(listener: TcpListener, admin: Arc<Admin>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(10));
    let builder = Arc::new(builder);
    loop {
        let (stream, client) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!("admin: failed to accept a connection: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let (admin, builder) = (admin.clone(), builder.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let admin = admin.clone();
                async move { Ok::<_, Infallible>(respond(&admin, request).await) }
            });
            if let Err(error) = builder
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%client, "admin connection ended with an error: {error}");
            }
        });
    }
}

async fn respond(admin: &Admin, request: Request<Incoming>) -> AdminResponse {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    match (&method, path.as_str()) {
        (&Method::GET, "/healthz") => return json(StatusCode::OK, &Status { status: "ok" }),
        (&Method::GET, "/readyz") if admin.registry.ready() => {
            return json(StatusCode::OK, &Status { status: "ready" });
        }
        (&Method::GET, "/readyz") => {
            return json(
                StatusCode::SERVICE_UNAVAILABLE,
                &Status {
                    status: "shutting down",
                },
            );
        }
        _ => {}
    }
    if let Some(response) = unauthorized(admin, &request) {
        crate::linger::discard(request.into_body(), admin.max_module_size).await;
        return response;
    }
    let response = match (&method, path.as_str()) {
        (&Method::GET, "/metrics") => Ok(Response::builder()
            .header(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )
            .body(Full::new(Bytes::from(admin.metrics.render())))
            .expect("a valid response")),
        (&Method::GET, "/apps") => Ok(json(StatusCode::OK, &admin.registry.list())),
        (_, "/apps") => Err(not_allowed("GET")),
        (_, other) => match other.strip_prefix("/apps/") {
            Some(name) => app_call(admin, request, &method, name).await,
            None => Err(Refused {
                status: StatusCode::NOT_FOUND,
                reason: format!("no admin call at `{path}`"),
            }),
        },
    };
    let response = response.unwrap_or_else(|refused| {
        tracing::warn!(target: "wasgi::admin", %method, %path, "refused: {}", refused.reason);
        detail(refused.status, &refused.reason)
    });
    tracing::info!(target: "wasgi::admin", %method, %path, status = response.status().as_u16());
    response
}

/// `GET`, `PUT` or `DELETE /apps/NAME`.
async fn app_call(
    admin: &Admin,
    request: Request<Incoming>,
    method: &Method,
    name: &str,
) -> Result<AdminResponse, Refused> {
    if *method != Method::PUT {
        check_name(name)?;
    }
    match *method {
        Method::GET => match admin.registry.info(name) {
            Some(app) => Ok(json(StatusCode::OK, &app)),
            None => Err(Refused {
                status: StatusCode::NOT_FOUND,
                reason: format!("no app is named `{name}`"),
            }),
        },
        Method::PUT => {
            let query = request.uri().query().unwrap_or("").to_owned();
            // The body first: a client that is still sending it then reads any refusal.
            let body = read_module(request.into_body(), admin.max_module_size).await?;
            check_name(name)?;
            let (change, smoke) = parse_deploy_query(&query)?;
            let (app, created) = admin.registry.deploy(name, change, body, &smoke).await?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(json(status, &app))
        }
        Method::DELETE => {
            let app = admin.registry.remove(name).await?;
            Ok(json(StatusCode::OK, &app))
        }
        _ => Err(not_allowed("GET, PUT, DELETE")),
    }
}

/// The uploaded module: the whole body, at most `limit` bytes. A larger one is refused with
/// 413 after reading (and dropping) up to `limit` more, so that a client sending a module a
/// little too large reads the answer.
async fn read_module(mut body: Incoming, limit: u64) -> Result<Vec<u8>, Refused> {
    let mut module = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|error| Refused::bad_request(format!("the upload broke off: {error}")))?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        if (module.len() + data.len()) as u64 > limit {
            crate::linger::discard(body, limit).await;
            return Err(Refused {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                reason: format!("the module is larger than the admin limit of {limit} bytes"),
            });
        }
        module.extend_from_slice(data);
    }
    if module.is_empty() {
        return Err(Refused::bad_request(
            "the request body must be the app's `.wasm` component",
        ));
    }
    Ok(module)
}

/// Checks `Authorization: Bearer TOKEN`: `None` when it holds the admin token, else the 401 to
/// send.
fn unauthorized<B>(admin: &Admin, request: &Request<B>) -> Option<AdminResponse> {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let reason = match given {
        Some(token) if bool::from(token.as_bytes().ct_eq(admin.token.as_bytes())) => return None,
        Some(_) => "the bearer token is not the admin token",
        None => "admin calls need `Authorization: Bearer TOKEN`",
    };
    tracing::warn!(target: "wasgi::admin", method = %request.method(), path = %request.uri().path(), "unauthorized: {reason}");
    let mut response = detail(StatusCode::UNAUTHORIZED, reason);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    Some(response)
}

/// A deploy's query string: the settings to change, and the smoke check's path.
fn parse_deploy_query(query: &str) -> Result<(SpecChange, String), Refused> {
    let mut change = SpecChange::default();
    let mut smoke = "/".to_owned();
    let mut hosts = Vec::new();
    let mut env = BTreeMap::new();
    let mut limits = LimitsOverride::default();
    let mut any_limit = false;
    // Settings that take one value: given twice, which one was meant is not known.
    let mut given = BTreeSet::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if !matches!(&*key, "host" | "env") && !given.insert(key.clone()) {
            return Err(Refused::bad_request(format!(
                "`{key}` is given twice; give each setting once"
            )));
        }
        match &*key {
            "mount" => change.mount = Some(check_mount(&value)?),
            "host" => {
                let host = check_host(&value)?;
                if hosts.contains(&host) {
                    return Err(Refused::bad_request(format!(
                        "host `{host}` is given twice"
                    )));
                }
                hosts.push(host);
            }
            "env" => {
                let (name, value) = check_env(&value)?;
                if env.insert(name.clone(), value).is_some() {
                    return Err(Refused::bad_request(format!(
                        "`env` sets `{name}` twice; give each variable once"
                    )));
                }
            }
            "smoke" => smoke = check_smoke(&value)?,
            key if LimitsOverride::PER_APP.contains(&key) => {
                limits
                    .set(key, &value)
                    .map_err(|error| Refused::bad_request(format!("{error:#}")))?;
                any_limit = true;
            }
            other => {
                return Err(Refused::bad_request(format!(
                    "unknown deploy setting `{other}`: use mount, host, env, smoke or a limit ({})",
                    LimitsOverride::PER_APP.join(", ")
                )));
            }
        }
    }
    change.hosts = (!hosts.is_empty()).then_some(hosts);
    change.env = (!env.is_empty()).then_some(env);
    change.limits = any_limit.then_some(limits);
    Ok((change, smoke))
}

/// App names: a letter or digit, then letters, digits, `-`, `_` or `.`; at most 64.
pub fn check_name(name: &str) -> Result<(), Refused> {
    let mut chars = name.chars();
    let valid = name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(Refused::bad_request(format!(
            "`{}` is not an app name: use letters, digits, `-`, `_` and `.`, at most 64",
            name.escape_debug()
        )))
    }
}

pub(crate) fn check_mount(mount: &str) -> Result<String, Refused> {
    let valid = mount.starts_with('/')
        && mount.len() <= 256
        && mount
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '~'))
        && !mount
            .trim_end_matches('/')
            .split('/')
            .skip(1)
            .any(|segment| matches!(segment, "" | "." | ".."));
    if valid {
        Ok(mount.to_owned())
    } else {
        Err(Refused::bad_request(format!(
            "`{}` is not a mount prefix such as `/api`",
            mount.escape_debug()
        )))
    }
}

pub(crate) fn check_host(host: &str) -> Result<String, Refused> {
    let valid = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
    if valid {
        Ok(host.to_ascii_lowercase())
    } else {
        Err(Refused::bad_request(format!(
            "`{}` is not a host name",
            host.escape_debug()
        )))
    }
}

pub(crate) fn check_env(pair: &str) -> Result<(String, String), Refused> {
    match pair.split_once('=') {
        Some((name, value))
            if !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !value.contains('\0') =>
        {
            Ok((name.to_owned(), value.to_owned()))
        }
        _ => Err(Refused::bad_request(format!(
            "`{}` is not NAME=VALUE with NAME made of letters, digits and `_`",
            pair.escape_debug()
        ))),
    }
}

fn check_smoke(path: &str) -> Result<String, Refused> {
    if path.starts_with('/') && path.parse::<http::uri::PathAndQuery>().is_ok() {
        Ok(path.to_owned())
    } else {
        Err(Refused::bad_request(format!(
            "`{}` is not a path for the smoke check",
            path.escape_debug()
        )))
    }
}

#[derive(Serialize)]
struct Status {
    status: &'static str,
}

#[derive(Serialize)]
struct Detail<'a> {
    detail: &'a str,
}

fn not_allowed(allow: &'static str) -> Refused {
    Refused {
        status: StatusCode::METHOD_NOT_ALLOWED,
        reason: format!("use {allow}"),
    }
}

fn detail(status: StatusCode, reason: &str) -> AdminResponse {
    json(status, &Detail { detail: reason })
}

fn json(status: StatusCode, value: &impl Serialize) -> AdminResponse {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(
            serde_json::to_vec(value).expect("admin answers serialise"),
        )))
        .expect("a valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_mounts_hosts_and_env_are_checked() {
        assert!(check_name("hello-2.v1_x").is_ok());
        for bad in ["", "-x", "a/b", "..", "a b", &"x".repeat(65), "é"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_mount("/api/v1").is_ok());
        for bad in ["api", "/a//b", "/a/../b", "/a b", "/a?x", "/./"] {
            assert!(check_mount(bad).is_err(), "{bad}");
        }
        assert_eq!(check_host("API.Example.com").unwrap(), "api.example.com");
        assert!(check_host("a b").is_err() && check_host("").is_err());
        assert!(check_env("KEY=a=b").is_ok());
        for bad in ["KEY", "=x", "1KEY=x", "K-Y=x", "K=\0"] {
            assert!(check_env(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_deploy_query_sets_only_what_it_names() {
        let (change, smoke) =
            parse_deploy_query("mount=/x&host=a.test&host=b.test&env=K%3Dv&timeout=5s&smoke=/ping")
                .unwrap();
        assert_eq!(change.mount.as_deref(), Some("/x"));
        assert_eq!(change.hosts.unwrap(), ["a.test", "b.test"]);
        assert_eq!(change.env.unwrap()["K"], "v");
        assert!(change.limits.is_some());
        assert_eq!(smoke, "/ping");
        let (change, smoke) = parse_deploy_query("").unwrap();
        assert!(change.mount.is_none() && change.hosts.is_none() && change.limits.is_none());
        assert_eq!(smoke, "/");
        for bad in [
            "colour=red",
            "timeout=soon",
            "max_connections=5",
            "max_concurrency=0",
            "smoke=x",
        ] {
            let refused = parse_deploy_query(bad).err().unwrap();
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}
