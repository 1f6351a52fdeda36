//! The request a handler receives: the scope, its matched path parameters, and the body.

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::asgi::Scope;
use crate::body::Body;
use crate::path_template::PathParams;

/// An incoming request.
///
/// # Example
///
/// ```
/// use wasgi::{Body, Request};
/// use wasgi::asgi::Scope;
///
/// let mut scope = Scope::get("/items/5?q=x");
/// scope.headers.push((b"user-agent".to_vec(), b"curl".to_vec()));
/// let request = Request::new(scope, Body::empty())
///     .with_path_params(vec![("item_id".into(), "5".into())]);
/// assert_eq!(request.path_param("item_id"), Some("5"));
/// assert_eq!(request.header("user-agent"), Some("curl"));
/// assert_eq!(request.query_string(), "q=x");
/// ```
#[derive(Debug)]
pub struct Request {
    scope: Scope,
    method: Method,
    headers: HeaderMap,
    path_params: PathParams,
    body: Body,
}

impl Request {
    /// A request for `scope`, whose body comes from `body`. Headers the `http` crate cannot
    /// represent are skipped (a host only delivers valid ones).
    pub fn new(scope: Scope, body: Body) -> Self {
        let method = Method::from_bytes(scope.method.as_bytes()).unwrap_or_default();
        let mut headers = HeaderMap::with_capacity(scope.headers.len());
        for (name, value) in &scope.headers {
            if let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
            {
                headers.append(name, value);
            }
        }
        Request {
            scope,
            method,
            headers,
            path_params: Vec::new(),
            body,
        }
    }

    /// Sets the path parameters the router captured.
    pub fn with_path_params(mut self, path_params: PathParams) -> Self {
        self.path_params = path_params;
        self
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The percent-decoded path, without the mount prefix.
    pub fn path(&self) -> &str {
        &self.scope.path
    }

    /// The raw query string, without `?`.
    pub fn query_string(&self) -> &str {
        std::str::from_utf8(&self.scope.query_string).unwrap_or("")
    }

    /// A path parameter captured from the route's template, percent-decoded.
    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path_params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    }

    /// All captured path parameters, in template order.
    pub fn path_params(&self) -> &PathParams {
        &self.path_params
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The first value of header `name` (case-insensitive), if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The ASGI scope this request came with.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The body, to read from while keeping the request.
    pub fn body_mut(&mut self) -> &mut Body {
        &mut self.body
    }

    /// Consumes the request, returning its body.
    pub fn into_body(self) -> Body {
        self.body
    }
}
