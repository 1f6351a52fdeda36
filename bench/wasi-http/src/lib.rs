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
        let mut body = Vec::new();
        if let Ok(incoming) = request.consume() {
            if let Ok(mut stream) = incoming.stream() {
                let _ = stream.read_to_end(&mut body);
            }
        }
        let answer = handlers::route(method, &path, &body);

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
