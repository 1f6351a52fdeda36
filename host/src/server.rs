//! The HTTP front: accepts connections, speaks HTTP/1.1 (keep-alive) and HTTP/2, and hands each
//! request to its app in a fresh guest instance.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

use crate::app::App;
use crate::exchange::{self, Exchange, HttpResponse};
use crate::scope::scope;

/// Serves `app` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, app: Arc<App>) -> Result<()> {
    let connections = Arc::new(auto::Builder::new(TokioExecutor::new()));
    loop {
        let (stream, client) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: back off rather than spin.
                tracing::warn!("failed to accept a connection: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Responses are written whole or in guest-sized chunks; don't let Nagle hold them.
        let _ = stream.set_nodelay(true);
        let Ok(server) = stream.local_addr() else {
            continue;
        };
        let connections = connections.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| respond(app.clone(), request, client, server));
            if let Err(error) = connections
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%client, "connection ended with an error: {error}");
            }
        });
    }
}

/// Answers one request: the guest runs in a task of its own, so it can keep working after its
/// response is sent (background work) and a client that leaves doesn't cancel it mid-call.
async fn respond(
    app: Arc<App>,
    request: hyper::Request<Incoming>,
    client: SocketAddr,
    server: SocketAddr,
) -> Result<HttpResponse, Infallible> {
    let (parts, body) = request.into_parts();
    let scope = scope(&parts, client, server, "");
    let (exchange, response) = Exchange::new(body.map_err(Into::into).boxed());
    tokio::spawn(app.handle(scope, exchange));
    // The exchange always answers, even when the guest traps, so this only fails if the guest
    // task itself was torn down; a 500 is still the honest answer then.
    Ok(response
        .await
        .unwrap_or_else(|_| exchange::internal_server_error()))
}
