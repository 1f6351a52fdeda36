//! The request a handler receives: the scope, its matched path parameters, and the body.

use std::cell::OnceCell;

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::asgi::{RawHeader, Scope};
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
    /// The scope's headers as a map, built on first use: a handler that reads no header
    /// (most of them) spends no allocation on one.
    headers: OnceCell<HeaderMap>,
    path_params: PathParams,
    body: Body,
}

impl Request {
    /// A request for `scope`, whose body comes from `body`.
    pub fn new(scope: Scope, body: Body) -> Self {
        let method = Method::from_bytes(scope.method.as_bytes()).unwrap_or_default();
        Request {
            scope,
            method,
            headers: OnceCell::new(),
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

    /// The request headers. Headers the `http` crate cannot represent are skipped (a host
    /// only delivers valid ones).
    pub fn headers(&self) -> &HeaderMap {
        self.headers.get_or_init(|| header_map(&self.scope.headers))
    }

    /// The first value of header `name` (case-insensitive), if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
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

/// The scope's raw headers as a [`HeaderMap`], in order, without those it cannot hold.
fn header_map(raw: &[RawHeader]) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(raw.len());
    for (name, value) in raw {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with(headers: &[(&[u8], &[u8])]) -> Request {
        let mut scope = Scope::get("/");
        scope.headers = headers
            .iter()
            .map(|(name, value)| (name.to_vec(), value.to_vec()))
            .collect();
        Request::new(scope, Body::empty())
    }

    #[test]
    fn headers_are_looked_up_case_insensitively_and_in_order() {
        let request = request_with(&[(b"x-tag", b"a"), (b"x-tag", b"b"), (b"accept", b"*/*")]);
        assert_eq!(request.header("X-Tag"), Some("a"));
        let tags: Vec<_> = request.headers().get_all("x-tag").iter().collect();
        assert_eq!(tags, ["a", "b"]);
        assert_eq!(request.header("missing"), None);
    }

    #[test]
    fn headers_http_cannot_hold_are_skipped() {
        let request = request_with(&[(b"bad name", b"x"), (b"x-ok", b"y"), (b"x-nl", b"a\nb")]);
        assert_eq!(request.headers().len(), 1);
        assert_eq!(request.header("x-ok"), Some("y"));
        assert_eq!(request.header("x-nl"), None);
    }
}
