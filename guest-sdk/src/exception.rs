//! [`HttpException`]: an HTTP error a handler raises, rendered as FastAPI renders it.

use std::fmt;

use http::{HeaderName, HeaderValue, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Response;
use crate::validation::ValidationErrors;

/// An HTTP error with a JSON `detail`, as FastAPI's `HTTPException`: the response is
/// `{"detail": ...}` with the status and any extra headers.
///
/// Return it as the error of a handler's `Result`; the app's HTTP exception handler (FastAPI's
/// by default, or yours, see [`App::http_exception_handler`](crate::App::http_exception_handler))
/// turns it into the response.
///
/// # Example
///
/// ```
/// use wasgi::HttpException;
///
/// let error = HttpException::new(404, "Item not found").with_header("x-error", "There goes my error");
/// let response = error.into_response();
/// assert_eq!(response.status(), 404);
/// assert_eq!(response.headers()["x-error"], "There goes my error");
/// assert_eq!(response.body_bytes().unwrap(), br#"{"detail":"Item not found"}"#);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HttpException {
    /// The status code.
    pub status: StatusCode,
    /// The `detail`: any JSON value.
    pub detail: Value,
    /// Extra response headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl HttpException {
    /// An exception with `status` and `detail`.
    ///
    /// # Panics
    ///
    /// If `status` is not in 100..=999 or `detail` does not serialize: bugs in the handler.
    pub fn new(status: u16, detail: impl Serialize) -> Self {
        HttpException {
            status: StatusCode::from_u16(status).expect("an HTTP status code"),
            detail: serde_json::to_value(detail).expect("a detail that serializes"),
            headers: Vec::new(),
        }
    }

    /// Adds a response header.
    ///
    /// # Panics
    ///
    /// If the name or value is not valid in a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("a valid header name");
        let value = HeaderValue::from_str(value).expect("a valid header value");
        self.headers.push((name, value));
        self
    }

    /// FastAPI's default rendering: `{"detail": ...}`, no body for statuses that have none.
    pub fn render(&self) -> Response {
        let mut response =
            if self.status.as_u16() < 200 || matches!(self.status.as_u16(), 204 | 304) {
                Response::new()
            } else {
                Response::json(&json!({ "detail": self.detail }))
            };
        response = response.with_status(self.status);
        for (name, value) in &self.headers {
            response.headers_mut().append(name.clone(), value.clone());
        }
        response
    }

    /// The default response, marked so that an app with its own HTTP exception handler can
    /// replace it.
    pub fn into_response(self) -> Response {
        let response = self.render();
        response.with_exception(Exception::Http(self))
    }
}

impl fmt::Display for HttpException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.detail)
    }
}

impl std::error::Error for HttpException {}

/// What a response was made from, when an exception handler may want to make it differently.
#[derive(Debug, Clone, PartialEq)]
pub enum Exception {
    /// An [`HttpException`], including the router's 404 and 405.
    Http(HttpException),
    /// A request's validation errors.
    Validation(ValidationErrors),
}
