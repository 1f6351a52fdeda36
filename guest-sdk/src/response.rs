//! Responses: a status, headers and a body that is either one buffer or a stream of chunks.

use std::fmt;

use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::Serialize;

use crate::asgi::{SendError, SendEvent, Sender};
use crate::body::Disconnected;
use crate::exception::{Exception, HttpException};

/// A response body's chunks, produced while the response is being sent.
pub type ChunkStream = Box<dyn Iterator<Item = Result<Vec<u8>, Disconnected>>>;

/// An HTTP response.
///
/// # Example
///
/// ```
/// use wasgi::Response;
/// use wasgi::http::StatusCode;
///
/// let response = Response::json(&serde_json::json!({"message": "Hello World"}))
///     .with_status(StatusCode::CREATED)
///     .with_header("x-powered-by", "wasgi");
/// assert_eq!(response.status(), StatusCode::CREATED);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// ```
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: ResponseBody,
    exception: Option<Box<Exception>>,
}

enum ResponseBody {
    Full(Vec<u8>),
    Stream(ChunkStream),
}

impl Response {
    /// An empty `200 OK`.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(wasgi::Response::new().status(), 200);
    /// ```
    pub fn new() -> Self {
        Response {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: ResponseBody::Full(Vec::new()),
            exception: None,
        }
    }

    /// A JSON response, serialized compactly as FastAPI's `JSONResponse` does.
    ///
    /// # Example
    ///
    /// ```
    /// let response = wasgi::Response::json(&vec![1, 2]);
    /// assert_eq!(response.body_bytes(), Some(&b"[1,2]"[..]));
    /// ```
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Response::bytes(body).with_header(CONTENT_TYPE, "application/json"),
            // Only non-string map keys or a failing `Serialize` impl get here: a server bug.
            Err(error) => Response::text(format!("failed to serialize the response: {error}"))
                .with_status(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// A `text/plain; charset=utf-8` response.
    ///
    /// # Example
    ///
    /// ```
    /// let response = wasgi::Response::text("hi");
    /// assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        Response::bytes(text.into().into_bytes())
            .with_header(CONTENT_TYPE, "text/plain; charset=utf-8")
    }

    /// A response with `body` as it is, and no content type.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(wasgi::Response::bytes(vec![1]).body_bytes(), Some(&[1u8][..]));
    /// ```
    pub fn bytes(body: Vec<u8>) -> Self {
        Response {
            body: ResponseBody::Full(body),
            ..Response::new()
        }
    }

    /// A response whose body is sent chunk by chunk as `chunks` yields them, without holding
    /// it all in memory. It stops early if the stream yields an error.
    ///
    /// # Example
    ///
    /// ```
    /// let chunks = vec![Ok(b"a".to_vec()), Ok(b"b".to_vec())];
    /// let response = wasgi::Response::stream(chunks.into_iter());
    /// assert_eq!(response.body_bytes(), None);
    /// ```
    pub fn stream(chunks: impl Iterator<Item = Result<Vec<u8>, Disconnected>> + 'static) -> Self {
        Response {
            body: ResponseBody::Stream(Box::new(chunks)),
            ..Response::new()
        }
    }

    /// Sets the status.
    ///
    /// # Example
    ///
    /// ```
    /// use wasgi::http::StatusCode;
    /// assert_eq!(wasgi::Response::new().with_status(StatusCode::NO_CONTENT).status(), 204);
    /// ```
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Adds a header, keeping any earlier value of the same name.
    ///
    /// # Panics
    ///
    /// If `name` or `value` is not valid in an HTTP header: a bug in the handler, not in the
    /// request.
    ///
    /// # Example
    ///
    /// ```
    /// let response = wasgi::Response::new().with_header("x-a", "1").with_header("x-a", "2");
    /// assert_eq!(response.headers().get_all("x-a").iter().count(), 2);
    /// ```
    pub fn with_header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName, Error: fmt::Debug>,
        V: TryInto<HeaderValue, Error: fmt::Debug>,
    {
        let name = name.try_into().expect("invalid header name");
        let value = value.try_into().expect("invalid header value");
        self.headers.append(name, value);
        self
    }

    /// Marks this response as the default rendering of `exception`, which an app's exception
    /// handler may replace.
    pub fn with_exception(mut self, exception: Exception) -> Self {
        self.exception = Some(Box::new(exception));
        self
    }

    /// Takes the exception this response renders, if any.
    pub fn take_exception(&mut self) -> Option<Exception> {
        self.exception.take().map(|exception| *exception)
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The headers, to change.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// The body, if it is one buffer rather than a stream.
    pub fn body_bytes(&self) -> Option<&[u8]> {
        match &self.body {
            ResponseBody::Full(body) => Some(body),
            ResponseBody::Stream(_) => None,
        }
    }

    /// Sends this response as ASGI events: the start (with a `content-length` for a buffered
    /// body), then the body. A client that leaves mid-stream ends the sending quietly.
    pub fn send(self, sender: &mut dyn Sender) -> Result<(), SendError> {
        let length = self.body_bytes().map(<[u8]>::len);
        let mut headers = Vec::with_capacity(self.headers.len() + 1);
        for (name, value) in &self.headers {
            // A buffered body's own length replaces any the handler set.
            if length.is_none() || name != CONTENT_LENGTH {
                headers.push((name.as_str().as_bytes().to_vec(), value.as_bytes().to_vec()));
            }
        }
        if let Some(length) = length {
            let name = CONTENT_LENGTH.as_str().as_bytes().to_vec();
            headers.push((name, length.to_string().into_bytes()));
        }
        sender.send(SendEvent::ResponseStart {
            status: self.status.as_u16(),
            headers,
        })?;
        match self.body {
            ResponseBody::Full(body) => sender.send(SendEvent::ResponseBody {
                body,
                more_body: false,
            }),
            ResponseBody::Stream(chunks) => {
                for chunk in chunks {
                    let Ok(body) = chunk else {
                        return Err(SendError::Disconnected);
                    };
                    sender.send(SendEvent::ResponseBody {
                        body,
                        more_body: true,
                    })?;
                }
                sender.send(SendEvent::ResponseBody {
                    body: Vec::new(),
                    more_body: false,
                })
            }
        }
    }
}

impl Default for Response {
    fn default() -> Self {
        Response::new()
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("streaming", &self.body_bytes().is_none())
            .finish()
    }
}

/// Anything a handler can return.
///
/// [`Response`] is sent as it is; a [`serde_json::Value`] or a [`Json`] is serialized, as
/// FastAPI does with a returned `dict`, list or model; an [`HttpException`] renders its
/// `{"detail": ...}`. Functions with a route macro may also return any `Serialize` value.
///
/// # Example
///
/// ```
/// use wasgi::IntoResponse;
///
/// let response = serde_json::json!({"item_id": "5"}).into_response();
/// assert_eq!(response.body_bytes(), Some(&br#"{"item_id":"5"}"#[..]));
/// ```
pub trait IntoResponse {
    /// Converts `self` into a response.
    fn into_response(self) -> Response;

    /// Converts `self` into the response of a route whose declared status is `status`: a value
    /// takes the route's status, a [`Response`] keeps its own, as in FastAPI.
    fn into_route_response(self, status: StatusCode) -> Response
    where
        Self: Sized,
    {
        let _ = status;
        self.into_response()
    }
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for HttpException {
    fn into_response(self) -> Response {
        HttpException::into_response(self)
    }
}

impl<T: IntoResponse> IntoResponse for Result<T, HttpException> {
    fn into_response(self) -> Response {
        self.into_route_response(StatusCode::OK)
    }

    fn into_route_response(self, status: StatusCode) -> Response {
        match self {
            Ok(value) => value.into_route_response(status),
            Err(exception) => exception.into_response(),
        }
    }
}

impl IntoResponse for serde_json::Value {
    fn into_response(self) -> Response {
        Response::json(&self)
    }

    fn into_route_response(self, status: StatusCode) -> Response {
        Response::json(&self).with_status(status)
    }
}

/// A string is a JSON string, as FastAPI returns one (use [`Response::text`] for plain text).
impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::json(self)
    }

    fn into_route_response(self, status: StatusCode) -> Response {
        Response::json(self).with_status(status)
    }
}

/// A string is a JSON string, as FastAPI returns one (use [`Response::text`] for plain text).
impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::json(&self)
    }

    fn into_route_response(self, status: StatusCode) -> Response {
        Response::json(&self).with_status(status)
    }
}

/// Any `Serialize` value as a JSON response, for handlers that return one explicitly.
/// Route macros do this for you: a `#[get]` function may return any `Serialize` value.
///
/// # Example
///
/// ```
/// use wasgi::{IntoResponse, Json};
///
/// let response = Json(vec![1, 2, 3]).into_response();
/// assert_eq!(response.body_bytes(), Some(&b"[1,2,3]"[..]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        Response::json(&self.0)
    }

    fn into_route_response(self, status: StatusCode) -> Response {
        Response::json(&self.0).with_status(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorder(Vec<SendEvent>);

    impl Sender for Recorder {
        fn send(&mut self, event: SendEvent) -> Result<(), SendError> {
            self.0.push(event);
            Ok(())
        }
    }

    #[test]
    fn buffered_body_is_one_event_with_content_length() {
        let mut recorder = Recorder::default();
        Response::json(&serde_json::json!({"a": 1}))
            .send(&mut recorder)
            .unwrap();
        assert_eq!(
            recorder.0,
            [
                SendEvent::ResponseStart {
                    status: 200,
                    headers: vec![
                        (b"content-type".to_vec(), b"application/json".to_vec()),
                        (b"content-length".to_vec(), b"7".to_vec()),
                    ],
                },
                SendEvent::ResponseBody {
                    body: br#"{"a":1}"#.to_vec(),
                    more_body: false
                },
            ]
        );
    }

    /// The `content-length` values of the start event `send` produced.
    fn sent_lengths(recorder: &Recorder) -> Vec<&[u8]> {
        let SendEvent::ResponseStart { headers, .. } = &recorder.0[0] else {
            panic!("the first event is not the start: {:?}", recorder.0);
        };
        headers
            .iter()
            .filter(|(name, _)| name == b"content-length")
            .map(|(_, value)| value.as_slice())
            .collect()
    }

    #[test]
    fn a_buffered_body_replaces_a_length_the_handler_set() {
        let mut recorder = Recorder::default();
        Response::text("abc")
            .with_header("content-length", "99")
            .with_header("x-a", "1")
            .send(&mut recorder)
            .unwrap();
        assert_eq!(sent_lengths(&recorder), [b"3"]);
        let SendEvent::ResponseStart { headers, .. } = &recorder.0[0] else {
            unreachable!("checked by sent_lengths")
        };
        assert!(headers.contains(&(b"x-a".to_vec(), b"1".to_vec())));
    }

    #[test]
    fn a_streamed_body_keeps_a_length_the_handler_declared() {
        let mut recorder = Recorder::default();
        Response::stream(vec![Ok(b"abc".to_vec())].into_iter())
            .with_header("content-length", "3")
            .send(&mut recorder)
            .unwrap();
        assert_eq!(sent_lengths(&recorder), [b"3"]);
    }

    #[test]
    fn streamed_body_is_one_event_per_chunk_then_an_empty_last() {
        let mut recorder = Recorder::default();
        let chunks = vec![Ok(b"a".to_vec()), Ok(b"b".to_vec())];
        Response::stream(chunks.into_iter())
            .send(&mut recorder)
            .unwrap();
        assert_eq!(
            recorder.0[1..],
            [
                SendEvent::ResponseBody {
                    body: b"a".to_vec(),
                    more_body: true
                },
                SendEvent::ResponseBody {
                    body: b"b".to_vec(),
                    more_body: true
                },
                SendEvent::ResponseBody {
                    body: vec![],
                    more_body: false
                },
            ]
        );
    }

    #[test]
    fn a_stream_that_fails_stops_without_completing() {
        let mut recorder = Recorder::default();
        let chunks = vec![Ok(b"a".to_vec()), Err(Disconnected), Ok(b"b".to_vec())];
        let result = Response::stream(chunks.into_iter()).send(&mut recorder);
        assert_eq!(result, Err(SendError::Disconnected));
        assert_eq!(recorder.0.len(), 2);
    }
}
