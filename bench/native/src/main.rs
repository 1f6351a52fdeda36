//! The ceiling: the benchmark's two endpoints on plain hyper + tokio, compiled natively, served
//! the way wasgi serves (HTTP/1.1 keep-alive and HTTP/2, `TCP_NODELAY`).
//!
//! `bench-native 127.0.0.1:8000` prints `listening on http://ADDR` once it accepts.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

#[path = "../../common/handlers.rs"]
mod handlers;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service_fn(respond))
                .await;
        });
    }
}

async fn respond(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let answer = match body.collect().await {
        Ok(body) => handlers::route(parts.method.as_str(), parts.uri.path(), &body.to_bytes()),
        Err(_) => handlers::unreadable_body(),
    };
    let response = Response::builder()
        .status(answer.status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(answer.body)))
        .expect("a status and a static header make a valid response");
    Ok(response)
}
