//! [`TestClient`]: calls an [`App`] in-process, natively, through the same code path the
//! Wasm export uses, so handlers can be tested with `cargo test` and no host.

use std::collections::VecDeque;

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::App;
use crate::asgi::{ReceiveEvent, Receiver, Scope, SendError, SendEvent, Sender};

/// Request bodies reach the app in chunks of this size, as they would from a host.
const CHUNK_SIZE: usize = 64 * 1024;

/// An in-process client for an [`App`], in the spirit of Starlette's `TestClient`.
///
/// A handler that panics panics the test, so the failure points at the handler.
///
/// # Example
///
/// ```
/// use wasgi::{App, Request, Response, TestClient};
///
/// let app = App::new().post("/echo", |r: Request| Response::stream(r.into_body()));
/// let client = TestClient::new(app);
/// let response = client.post("/echo").body("ping").send();
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.text(), "ping");
/// ```
#[derive(Debug)]
pub struct TestClient {
    app: App,
}

impl TestClient {
    /// A client for `app`.
    pub fn new(app: App) -> Self {
        TestClient { app }
    }

    /// Starts a request with any method; `target` is a path with an optional `?query`.
    ///
    /// # Example
    ///
    /// ```
    /// # let client = wasgi::TestClient::new(wasgi::App::new());
    /// let response = client.request(wasgi::http::Method::OPTIONS, "/").send();
    /// assert_eq!(response.status(), 404);
    /// ```
    pub fn request(&self, method: Method, target: &str) -> TestRequest<'_> {
        TestRequest {
            client: self,
            scope: Scope::new(method.as_str(), target),
            body: Vec::new(),
        }
    }

    /// Starts a `GET` request.
    pub fn get(&self, target: &str) -> TestRequest<'_> {
        self.request(Method::GET, target)
    }

    /// Starts a `POST` request.
    pub fn post(&self, target: &str) -> TestRequest<'_> {
        self.request(Method::POST, target)
    }

    /// Starts a `PUT` request.
    pub fn put(&self, target: &str) -> TestRequest<'_> {
        self.request(Method::PUT, target)
    }

    /// Starts a `DELETE` request.
    pub fn delete(&self, target: &str) -> TestRequest<'_> {
        self.request(Method::DELETE, target)
    }
}

/// A request being built by a [`TestClient`].
#[derive(Debug)]
pub struct TestRequest<'a> {
    client: &'a TestClient,
    scope: Scope,
    body: Vec<u8>,
}

impl TestRequest<'_> {
    /// Adds a header.
    ///
    /// # Example
    ///
    /// ```
    /// # let client = wasgi::TestClient::new(wasgi::App::new());
    /// client.get("/").header("user-agent", "test").send();
    /// ```
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.scope.headers.push((
            name.to_ascii_lowercase().into_bytes(),
            value.as_bytes().to_vec(),
        ));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a JSON body and its content type.
    ///
    /// # Example
    ///
    /// ```
    /// # let client = wasgi::TestClient::new(wasgi::App::new());
    /// client.post("/items").json(&serde_json::json!({"name": "Foo"})).send();
    /// ```
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value).expect("a test body serializes");
        self.header("content-type", "application/json").body(body)
    }

    /// Sends the request through the app and collects the response.
    pub fn send(self) -> TestResponse {
        let length = self.body.len().to_string();
        let mut scope = self.scope;
        if !self.body.is_empty() {
            scope
                .headers
                .push((b"content-length".to_vec(), length.into_bytes()));
        }
        let mut chunks: VecDeque<Vec<u8>> =
            self.body.chunks(CHUNK_SIZE).map(<[u8]>::to_vec).collect();
        if chunks.is_empty() {
            chunks.push_back(Vec::new());
        }
        let mut recorder = Recorder::default();
        self.client
            .app
            .serve(scope, Box::new(ChunkReceiver(chunks)), &mut recorder);
        recorder.finish()
    }
}

/// The response a [`TestClient`] got.
#[derive(Debug, Clone)]
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl TestResponse {
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The first value of header `name`, as text.
    ///
    /// # Example
    ///
    /// ```
    /// # let client = wasgi::TestClient::new(wasgi::App::new());
    /// let response = client.get("/missing").send();
    /// assert_eq!(response.header("content-type"), Some("application/json"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The body's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (lossily decoded).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    ///
    /// # Panics
    ///
    /// If the body is not valid JSON for `T`; in a test, that is the failure to report.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "response is not the expected JSON ({error}): {}",
                self.text()
            )
        })
    }
}

struct ChunkReceiver(VecDeque<Vec<u8>>);

impl Receiver for ChunkReceiver {
    fn receive(&mut self) -> ReceiveEvent {
        match self.0.pop_front() {
            Some(body) => ReceiveEvent::Request {
                body,
                more_body: !self.0.is_empty(),
            },
            None => ReceiveEvent::Disconnect,
        }
    }
}

/// Collects sent events, checking them the way the host does.
#[derive(Default)]
struct Recorder {
    start: Option<(StatusCode, HeaderMap)>,
    body: Vec<u8>,
    complete: bool,
}

impl Sender for Recorder {
    fn send(&mut self, event: SendEvent) -> Result<(), SendError> {
        let invalid = |why: &str| Err(SendError::InvalidEvent(why.to_owned()));
        match event {
            SendEvent::ResponseStart { .. } if self.start.is_some() => {
                invalid("http-response-start was already sent")
            }
            SendEvent::ResponseStart { status, headers } => {
                let Ok(status) = StatusCode::from_u16(status) else {
                    return invalid("not an HTTP status code");
                };
                let mut map = HeaderMap::new();
                for (name, value) in headers {
                    match (
                        HeaderName::from_bytes(&name),
                        HeaderValue::from_bytes(&value),
                    ) {
                        (Ok(name), Ok(value)) => map.append(name, value),
                        _ => return invalid("invalid header"),
                    };
                }
                self.start = Some((status, map));
                Ok(())
            }
            SendEvent::ResponseBody { .. } if self.start.is_none() => {
                invalid("http-response-body before http-response-start")
            }
            SendEvent::ResponseBody { .. } if self.complete => {
                invalid("the response is already complete")
            }
            SendEvent::ResponseBody { body, more_body } => {
                self.body.extend_from_slice(&body);
                self.complete = !more_body;
                Ok(())
            }
        }
    }
}

impl Recorder {
    fn finish(self) -> TestResponse {
        let (status, headers) = self.start.expect("the app sent no response");
        assert!(self.complete, "the app did not complete its response body");
        TestResponse {
            status,
            headers,
            body: self.body,
        }
    }
}
