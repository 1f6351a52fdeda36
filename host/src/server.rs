//! The HTTP front: accepts connections, speaks HTTP/1.1 (keep-alive) and HTTP/2 on the serving
//! threads, and hands each request to its app in a fresh guest instance; stops gracefully on
//! SIGTERM or SIGINT.

use std::convert::Infallible;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use http::StatusCode;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::exchange::{self, Exchange, HttpResponse};
use crate::limits::Limits;
use crate::metrics::{Limit, Metrics};
use crate::registry::Registry;
use crate::scope::{Connection, RequestHead};
use crate::workers::Workers;

/// Serves the apps of `registry` on `listener` until `shutdown` turns true, then lets requests
/// in flight finish (within `limits.shutdown_grace`) and returns. `limits` holds the connection
/// limits; each app has its own request limits. Connections are accepted on the caller's
/// runtime and served on `workers` threads of their own ([`Workers`]), each pinned to a CPU
/// with `pin_workers`.
pub async fn serve(
    listener: TcpListener,
    registry: Arc<Registry>,
    limits: Limits,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
    workers: NonZeroUsize,
    pin_workers: bool,
) -> Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Slow clients: a connection that takes too long to send its headers is dropped.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let builder = Arc::new(builder);
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let serving = Arc::new(Serving {
        registry: registry.clone(),
        instances: Arc::new(Semaphore::new(limits.max_instances)),
        unrouted: metrics.unrouted().clone(),
    });
    let workers = Workers::start(workers, pin_workers)?;
    let shutdown = shutdown.wait_for(|&stop| stop);
    tokio::pin!(shutdown);

    loop {
        // At the connection limit, stop accepting: new clients wait in the listen backlog.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit?,
            _ = &mut shutdown => break,
        };
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off rather than spin.
                    tracing::warn!("failed to accept a connection: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // Responses are written whole or in guest-sized chunks; don't let Nagle hold them.
        let _ = stream.set_nodelay(true);
        // The CPU where the kernel processes the connection's packets: its worker's, if pinned.
        let cpu = workers
            .pinned()
            .then(|| rustix::net::sockopt::socket_incoming_cpu(&stream).ok())
            .flatten()
            .map(|cpu| cpu as usize);
        // The socket leaves this runtime's reactor for the worker's.
        let handed_over = stream
            .local_addr()
            .and_then(|server| Ok((server, stream.into_std()?)));
        let (server, stream) = match handed_over {
            Ok(handed_over) => handed_over,
            Err(error) => {
                tracing::warn!(%client, "failed to serve a connection: {error}");
                continue;
            }
        };
        let (serving, builder, graceful) = (serving.clone(), builder.clone(), graceful.watcher());
        let open = ConnectionSlot::new(metrics.connections(), permit);
        workers.spawn_connection(cpu, move || async move {
            let _open = open;
            match TcpStream::from_std(stream) {
                Ok(stream) => {
                    let ends = Arc::new(Connection::new(client, server));
                    serve_connection(stream, ends, serving, &builder, graceful).await;
                }
                Err(error) => tracing::warn!(%client, "failed to serve a connection: {error}"),
            }
        });
    }

    drop(listener);
    registry.shutting_down();
    tracing::info!("shutting down: finishing requests in flight");
    let drained = async {
        graceful.shutdown().await;
        // Guests may still be working after their responses went out.
        registry.drain().await;
    };
    if tokio::time::timeout(limits.shutdown_grace, drained)
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still in flight after {:?}; exiting anyway",
            limits.shutdown_grace
        );
    }
    tracing::info!("stopped");
    Ok(())
}

/// An accepted connection's place: counted in the open-connections gauge and holding one of
/// `--max-connections`' slots until its task ends, however it ends (done, panicked, or dropped
/// unfinished with its worker).
struct ConnectionSlot {
    gauge: Gauge,
    _slot: OwnedSemaphorePermit,
}

impl ConnectionSlot {
    fn new(gauge: &Gauge, slot: OwnedSemaphorePermit) -> ConnectionSlot {
        gauge.inc();
        ConnectionSlot {
            gauge: gauge.clone(),
            _slot: slot,
        }
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// Serves the requests of one connection, on the serving thread that registered `stream`,
/// until the client leaves or a graceful shutdown has it finish.
async fn serve_connection(
    stream: TcpStream,
    ends: Arc<Connection>,
    serving: Arc<Serving>,
    builder: &auto::Builder<TokioExecutor>,
    graceful: Watcher,
) {
    let client = ends.client();
    let service = service_fn(move |request| respond(serving.clone(), request, ends.clone()));
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    if let Err(error) = graceful.watch(connection.into_owned()).await {
        tracing::debug!(%client, "connection ended with an error: {error}");
    }
}

/// What every request of a listener shares: one handle, cloned once per request.
struct Serving {
    /// The apps mounted, and their routes.
    registry: Arc<Registry>,
    /// One permit per instance alive, across all apps (`--max-instances`).
    instances: Arc<Semaphore>,
    /// Requests no app is mounted for.
    unrouted: Counter,
}

/// Answers one request: the guest runs in a task of its own, so it can keep working after its
/// response is sent (background work) and a client that leaves doesn't cancel it mid-call;
/// that task runs on the connection's serving thread.
async fn respond(
    serving: Arc<Serving>,
    request: hyper::Request<Incoming>,
    connection: Arc<Connection>,
) -> Result<HttpResponse, Infallible> {
    // Between two requests' work: where the thread has been busy a while, let whatever waits
    // for its core run first.
    crate::core_turns::offer_core_if_due();
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let host = host.or_else(|| request.uri().authority().map(|a| a.as_str()));
    let routes = serving.registry.routes();
    let Some((app, root_path)) = routes.select(host, request.uri().path()) else {
        serving.unrouted.inc();
        return Ok(not_found());
    };
    // This request keeps the version it started on, whatever deploys happen meanwhile.
    let (app, root_path) = (app.clone(), root_path.to_owned());
    drop(routes);
    let started = Instant::now();
    let admitted = match (app.admit(), serving.instances.clone().try_acquire_owned()) {
        (Some(app_place), Ok(host_place)) => (app_place, host_place),
        (app_place, _) => {
            let (limit, why) = match app_place {
                None => (
                    Limit::concurrency,
                    format!("{} in flight", app.limits().max_concurrency),
                ),
                Some(_) => (
                    Limit::instances,
                    "every instance of the host in use (--max-instances)".to_owned(),
                ),
            };
            tracing::warn!(app = %app.name(), "refused a request: {why}");
            app.metrics().rejected(limit);
            let response = exchange::host_error(StatusCode::SERVICE_UNAVAILABLE);
            app.metrics()
                .answered(response.status().as_u16(), started.elapsed());
            return Ok(response);
        }
    };
    let (parts, body) = request.into_parts();
    // A declared length over the limit is refused before a byte of the body is read; what the
    // client sends anyway is read and dropped after the answer.
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > app.limits().max_body) {
        tracing::warn!(app = %app.name(), "refused a {}-byte body", declared.unwrap_or_default());
        app.metrics().rejected(Limit::body_size);
        crate::linger::discard_refused(body);
        let response = exchange::host_error(StatusCode::PAYLOAD_TOO_LARGE);
        app.metrics()
            .answered(response.status().as_u16(), started.elapsed());
        return Ok(response);
    }
    // The head goes to the guest's task; the access log keeps copies of what it names.
    let logged = app.access_log().then(|| {
        let client = connection.client();
        (client, parts.method.clone(), parts.uri.path().to_owned())
    });
    let head = RequestHead {
        parts,
        connection,
        root_path,
    };
    let (exchange, response) =
        Exchange::new(body.map_err(Into::into).boxed(), app.limits().max_body);
    let guest = app.clone();
    tokio::spawn(async move {
        guest.serve(head, exchange).await;
        drop(admitted);
    });
    // The exchange always answers, even when the guest traps, so this only fails if the guest
    // task itself was torn down; a 500 is still the honest answer then.
    let response = response
        .await
        .unwrap_or_else(|_| exchange::internal_server_error());
    let elapsed = started.elapsed();
    app.metrics().answered(response.status().as_u16(), elapsed);
    if let Some((client, method, path)) = logged {
        // Logged when the head is ready: a streamed body may still be flowing.
        tracing::info!(
            target: "wasgi::access",
            app = %app.name(),
            %client,
            %method,
            %path,
            status = response.status().as_u16(),
            duration_us = elapsed.as_micros() as u64,
        );
    }
    Ok(response)
}

/// The host's own 404, for a request no app is mounted for: FastAPI's body.
fn not_found() -> HttpResponse {
    http::Response::builder()
        .status(StatusCode::NOT_FOUND)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(exchange::GuestBody::full(bytes::Bytes::from_static(
            br#"{"detail":"Not Found"}"#,
        )))
        .expect("a static response is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bug that panics a connection's task must not leave the connection counted, nor hold
    /// its slot: enough of them would stop the host accepting.
    #[tokio::test]
    async fn a_connection_whose_task_panics_is_no_longer_counted() {
        let gauge = Gauge::default();
        let slots = Arc::new(Semaphore::new(1));
        let open = ConnectionSlot::new(&gauge, slots.clone().acquire_owned().await.unwrap());
        assert_eq!((gauge.get(), slots.available_permits()), (1, 0));
        let task = tokio::spawn(async move {
            let _open = open;
            panic!("a bug in serving the connection");
        });
        assert!(task.await.unwrap_err().is_panic());
        assert_eq!((gauge.get(), slots.available_permits()), (0, 1));
    }
}
