//! The nearest peer: the benchmark's two endpoints as a `wasi:http` component, served by
//! `wasmtime serve` (a fresh instance per request, as wasgi does).

use std::io::{Read as _, Write as _};

use wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

#[path = "../../common/handlers.rs"]
mod handlers;

wasi::http::proxy::export!(Server);

struct Server;

impl wasi::exports::http::incoming_handler::Guest for Server {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = match request.method() {
            Method::Get => "GET",
            Method::Post => "POST",
            _ => "OTHER",
        };
        let path = request.path_with_query().unwrap_or_default();
        let path = path.split('?').next().unwrap_or_default().to_owned();
        let answer = match read_body(request) {
            Some(body) => handlers::route(method, &path, &body),
            None => handlers::unreadable_body(),
        };

        let headers =
            Fields::from_list(&[("content-type".to_owned(), b"application/json".to_vec())])
                .expect("a valid header");
        let response = OutgoingResponse::new(headers);
        let _ = response.set_status_code(answer.status);
        let outgoing = response.body().expect("a response has one body");
        ResponseOutparam::set(response_out, Ok(response));
        {
            let mut out = outgoing.write().expect("a body has one stream");
            let _ = out.write_all(&answer.body);
            let _ = out.flush();
        }
        let _ = OutgoingBody::finish(outgoing, None);
    }
}

/// The request's whole body, or `None` when it cannot be read to its end.
fn read_body(request: IncomingRequest) -> Option<Vec<u8>> {
    let incoming = request.consume().ok()?;
    let mut body = Vec::new();
    incoming.stream().ok()?.read_to_end(&mut body).ok()?;
    Some(body)
}
