//! One request's traffic between hyper and a guest: the body in (`receive`), the response out
//! (`send`), each in bounded chunks so that neither side ever holds a whole large body.
//!
//! The response head is held back until the first body chunk arrives. A response whose first
//! chunk is also its last (the common case: a JSON answer) then goes out as one buffer with a
//! `Content-Length`; longer ones stream through a small channel whose capacity is the
//! backpressure: a guest sending faster than the client reads waits in `send`.

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::BodyExt as _;
use http_body_util::combinators::BoxBody;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::{mpsc, oneshot};

use crate::bindings::wasgi::asgi::types::{
    ReceiveEvent, RequestBody, ResponseBody, ResponseStart, SendError, SendEvent,
};

/// How many response chunks may wait between a guest and a slow client.
const RESPONSE_CHUNKS_IN_FLIGHT: usize = 4;

/// A request body as the exchange reads it: any body of `Bytes` (hyper's `Incoming` when
/// serving, an in-memory body in tests).
pub type RequestBodyStream = BoxBody<Bytes, Box<dyn StdError + Send + Sync + 'static>>;

/// The response hyper writes.
pub type HttpResponse = Response<GuestBody>;

/// What the exchange hands to hyper once the guest has answered (or failed to).
pub type ResponseReceiver = oneshot::Receiver<HttpResponse>;

/// One request's side of the conversation with its guest. Owned by the guest's store; the
/// host's `receive`/`send` implementations call into it.
pub struct Exchange {
    request: Option<RequestBodyStream>,
    response: ResponseState,
    /// The most request body bytes the guest may read.
    max_body: u64,
    received: u64,
    /// The rest of a body that went past `max_body`: the request is refused with 413, and this
    /// is read and dropped once the 413 is out.
    refused: Option<RequestBodyStream>,
}

enum ResponseState {
    /// Nothing sent yet; hyper waits on the other end of this.
    Waiting(oneshot::Sender<HttpResponse>),
    /// `http-response-start` arrived; the head waits for the first body chunk.
    Started {
        head: http::response::Parts,
        responder: oneshot::Sender<HttpResponse>,
    },
    /// The head went out; chunks follow through the channel.
    Streaming(mpsc::Sender<Chunk>),
    /// The last chunk went out.
    Complete,
    /// The client went away before the response was complete.
    Gone,
}

/// A piece of a streamed response body.
struct Chunk {
    data: Bytes,
    last: bool,
}

impl Exchange {
    /// A new exchange reading `request`, of which the guest may read at most `max_body` bytes,
    /// and a receiver on which the response will arrive.
    pub fn new(request: RequestBodyStream, max_body: u64) -> (Self, ResponseReceiver) {
        let (responder, response) = oneshot::channel();
        let exchange = Exchange {
            request: Some(request),
            response: ResponseState::Waiting(responder),
            max_body,
            received: 0,
            refused: None,
        };
        (exchange, response)
    }

    /// An exchange for a request without a body (an in-process `GET`), and its response's
    /// receiver.
    pub fn without_body() -> (Self, ResponseReceiver) {
        let body = http_body_util::Empty::new()
            .map_err(|never| match never {})
            .boxed();
        Exchange::new(body, 0)
    }

    /// ASGI's `receive()`: the next body chunk, or the disconnect once the body is read and the
    /// client has gone or the response is complete.
    pub async fn receive(&mut self) -> ReceiveEvent {
        if let Some(body) = self.request.as_mut() {
            loop {
                match body.frame().await {
                    Some(Ok(frame)) => {
                        // Trailers carry no body bytes; ASGI has no event for them yet.
                        let Ok(data) = frame.into_data() else {
                            continue;
                        };
                        self.received += data.len() as u64;
                        if self.received > self.max_body {
                            // Refused: the guest sees the client leave, the client gets 413.
                            self.refused = self.request.take();
                            return ReceiveEvent::HttpDisconnect;
                        }
                        let more_body = !body.is_end_stream();
                        if !more_body {
                            self.request = None;
                        }
                        return http_request(data.to_vec(), more_body);
                    }
                    None => {
                        self.request = None;
                        return http_request(Vec::new(), false);
                    }
                    Some(Err(_)) => {
                        self.request = None;
                        self.response = ResponseState::Gone;
                        return ReceiveEvent::HttpDisconnect;
                    }
                }
            }
        }
        // The body is read: like an ASGI server, block until there is something to report.
        match &mut self.response {
            ResponseState::Waiting(responder) | ResponseState::Started { responder, .. } => {
                responder.closed().await;
                self.response = ResponseState::Gone;
            }
            ResponseState::Streaming(chunks) => {
                chunks.closed().await;
                self.response = ResponseState::Gone;
            }
            ResponseState::Complete | ResponseState::Gone => {}
        }
        ReceiveEvent::HttpDisconnect
    }

    /// Whether the body went past `max_body`.
    fn too_large(&self) -> bool {
        self.refused.is_some()
    }

    /// ASGI's `send(event)`.
    pub async fn send(&mut self, event: SendEvent) -> Result<(), SendError> {
        match event {
            SendEvent::HttpResponseStart(start) => self.start(start),
            SendEvent::HttpResponseBody(body) => self.body(body).await,
        }
    }

    fn start(&mut self, start: ResponseStart) -> Result<(), SendError> {
        if self.too_large() {
            return Err(SendError::Disconnected);
        }
        let responder = match std::mem::replace(&mut self.response, ResponseState::Complete) {
            ResponseState::Waiting(responder) => responder,
            ResponseState::Gone => {
                self.response = ResponseState::Gone;
                return Err(SendError::Disconnected);
            }
            other => {
                self.response = other;
                return Err(invalid("http-response-start was already sent"));
            }
        };
        match response_head(start) {
            Ok(head) => {
                self.response = ResponseState::Started { head, responder };
                Ok(())
            }
            Err(error) => {
                self.response = ResponseState::Waiting(responder);
                Err(error)
            }
        }
    }

    async fn body(&mut self, body: ResponseBody) -> Result<(), SendError> {
        let data = Bytes::from(body.body);
        match std::mem::replace(&mut self.response, ResponseState::Complete) {
            ResponseState::Started { head, responder } => {
                let response = if body.more_body {
                    let (chunks, receiver) = mpsc::channel(RESPONSE_CHUNKS_IN_FLIGHT);
                    self.response = ResponseState::Streaming(chunks);
                    Response::from_parts(head, GuestBody::streaming(receiver))
                } else {
                    Response::from_parts(head, GuestBody::full(data.clone()))
                };
                if responder.send(response).is_err() {
                    self.response = ResponseState::Gone;
                    return Err(SendError::Disconnected);
                }
                if body.more_body && !data.is_empty() {
                    return self.stream(data, false).await;
                }
                Ok(())
            }
            ResponseState::Streaming(chunks) => {
                self.response = ResponseState::Streaming(chunks);
                self.stream(data, !body.more_body).await
            }
            state @ ResponseState::Waiting(_) => {
                self.response = state;
                Err(invalid("http-response-body before http-response-start"))
            }
            ResponseState::Complete => Err(invalid("the response is already complete")),
            ResponseState::Gone => {
                self.response = ResponseState::Gone;
                Err(SendError::Disconnected)
            }
        }
    }

    async fn stream(&mut self, data: Bytes, last: bool) -> Result<(), SendError> {
        let ResponseState::Streaming(chunks) = &self.response else {
            unreachable!("stream() is only called while streaming");
        };
        if chunks.send(Chunk { data, last }).await.is_err() {
            self.response = ResponseState::Gone;
            return Err(SendError::Disconnected);
        }
        if last {
            self.response = ResponseState::Complete;
        }
        Ok(())
    }

    /// Ends the exchange after the guest's handler returned, trapped or ran out of time
    /// (`failure`). A request the guest never completed a response start for gets its answer
    /// here: 413 if its body was too large, 504 past the deadline, 500 otherwise. A guest that
    /// stopped mid-body aborts the response, so the client sees a broken transfer rather than a
    /// short body that looks whole.
    pub fn finish(self, failure: Option<Failure>) -> Outcome {
        match self.response {
            ResponseState::Waiting(responder) | ResponseState::Started { responder, .. } => {
                let status = if self.refused.is_some() {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else if failure == Some(Failure::Timeout) {
                    StatusCode::GATEWAY_TIMEOUT
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                };
                // The client may be gone already; then nobody is left to tell.
                let _ = responder.send(host_error(status));
                match self.refused {
                    Some(body) => {
                        crate::linger::discard_refused(body);
                        Outcome::TooLarge
                    }
                    None => Outcome::NoResponse,
                }
            }
            // Dropping the sender without a last chunk is what aborts the body.
            ResponseState::Streaming(_) => Outcome::Truncated,
            ResponseState::Complete => Outcome::Complete,
            ResponseState::Gone => Outcome::ClientGone,
        }
    }
}

/// Why a guest stopped, when it did not simply return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A trap: a panic, a bug, or memory past its limit.
    Trap,
    /// The request's deadline passed.
    Timeout,
}

/// How an exchange ended, from the client's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The guest sent a complete response.
    Complete,
    /// The guest never completed a response start: the client got a 500 or 504.
    NoResponse,
    /// The request body was larger than allowed: the client got a 413.
    TooLarge,
    /// The guest stopped mid-body: the client's transfer was aborted.
    Truncated,
    /// The client left before the response was complete.
    ClientGone,
}

fn http_request(body: Vec<u8>, more_body: bool) -> ReceiveEvent {
    ReceiveEvent::HttpRequest(RequestBody { body, more_body })
}

fn invalid(why: &str) -> SendError {
    SendError::InvalidEvent(why.to_owned())
}

fn response_head(start: ResponseStart) -> Result<http::response::Parts, SendError> {
    let status = StatusCode::from_u16(start.status)
        .map_err(|_| invalid(&format!("`{}` is not an HTTP status code", start.status)))?;
    let mut builder = Response::builder().status(status);
    let headers = builder.headers_mut().expect("a fresh builder has headers");
    for (name, value) in start.headers {
        let name = HeaderName::from_bytes(&name).map_err(|_| {
            invalid(&format!(
                "`{}` is not a valid header name",
                String::from_utf8_lossy(&name)
            ))
        })?;
        let value = HeaderValue::from_bytes(&value).map_err(|_| {
            invalid(&format!(
                "the value of header `{name}` is not a valid header value"
            ))
        })?;
        headers.append(name, value);
    }
    let (head, ()) = builder
        .body(())
        .expect("status and headers were validated")
        .into_parts();
    Ok(head)
}

/// The 500 a client gets when its guest fails before answering, as Starlette words it.
pub fn internal_server_error() -> HttpResponse {
    host_error(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An answer the host gives on its own: the status and its reason phrase as plain text, as
/// Starlette words its 500 (`Internal Server Error`). A 503 asks the client to retry.
pub fn host_error(status: StatusCode) -> HttpResponse {
    let reason = status.canonical_reason().unwrap_or("Error");
    let mut response = Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8");
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response = response.header(http::header::RETRY_AFTER, "1");
    }
    response
        .body(GuestBody::full(Bytes::from_static(reason.as_bytes())))
        .expect("a status and static headers make a valid response")
}

/// A response body written by a guest: either one buffer, or chunks from a channel.
///
/// http-body-util's `StreamBody` cannot tell a clean end from a guest that died mid-body; this
/// body can, because a complete stream always ends with a chunk marked `last`. A channel that
/// closes without one yields [`GuestAborted`], and hyper aborts the transfer.
pub struct GuestBody {
    inner: BodyInner,
}

enum BodyInner {
    Full(Option<Bytes>),
    Streaming(mpsc::Receiver<Chunk>),
    Done,
}

impl GuestBody {
    /// A body of one buffer.
    pub fn full(data: Bytes) -> Self {
        GuestBody {
            inner: BodyInner::Full(Some(data)),
        }
    }

    fn streaming(chunks: mpsc::Receiver<Chunk>) -> Self {
        GuestBody {
            inner: BodyInner::Streaming(chunks),
        }
    }
}

impl Body for GuestBody {
    type Data = Bytes;
    type Error = GuestAborted;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, GuestAborted>>> {
        match &mut self.inner {
            BodyInner::Full(data) => Poll::Ready(data.take().map(|data| Ok(Frame::data(data)))),
            BodyInner::Streaming(chunks) => match chunks.poll_recv(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Some(Chunk { data, last })) => {
                    if last {
                        self.inner = BodyInner::Done;
                    }
                    Poll::Ready(Some(Ok(Frame::data(data))))
                }
                Poll::Ready(None) => {
                    self.inner = BodyInner::Done;
                    Poll::Ready(Some(Err(GuestAborted)))
                }
            },
            BodyInner::Done => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            BodyInner::Full(data) => data.is_none(),
            BodyInner::Streaming(_) => false,
            BodyInner::Done => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            BodyInner::Full(Some(data)) => SizeHint::with_exact(data.len() as u64),
            BodyInner::Full(None) | BodyInner::Done => SizeHint::with_exact(0),
            BodyInner::Streaming(_) => SizeHint::default(),
        }
    }
}

/// The guest stopped before completing a response body it had started.
#[derive(Debug)]
pub struct GuestAborted;

impl fmt::Display for GuestAborted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the guest stopped before completing its response body")
    }
}

impl StdError for GuestAborted {}

#[cfg(test)]
mod tests;
