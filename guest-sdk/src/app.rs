//! [`App`]: the routes of a guest application, and how one request is dispatched to them.

use std::fmt;

use http::header::{ALLOW, LOCATION};
use http::{Method, StatusCode};
use serde_json::json;

use crate::asgi::{Receiver, Scope, SendError, Sender};
use crate::body::Body;
use crate::path_template::PathTemplate;
use crate::request::Request;
use crate::response::{IntoResponse, Response};

/// A guest application: routes by method and path template, dispatched the way FastAPI
/// (Starlette) dispatches them.
///
/// Routes are tried in the order they were added; the first whose template and method match
/// handles the request. A path no route matches is a `404 {"detail":"Not Found"}`, unless
/// toggling its trailing slash would match, which is a `307` redirect; a path that matches only
/// with other methods is a `405 {"detail":"Method Not Allowed"}`.
///
/// Two details follow FastAPI rather than the HTTP RFCs, because matching FastAPI's answers is
/// the point: `GET` routes do not answer `HEAD` by themselves (add a `HEAD` route for that),
/// and the 405's `Allow` header lists the methods of the first route whose path matched, not of
/// every such route.
///
/// # Example
///
/// ```
/// use serde_json::json;
/// use wasgi::{App, Request, TestClient};
///
/// fn root(_: Request) -> serde_json::Value {
///     json!({"message": "Hello World"})
/// }
///
/// let app = App::new().get("/", root);
/// let response = TestClient::new(app).get("/").send();
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.json::<serde_json::Value>(), json!({"message": "Hello World"}));
/// ```
#[derive(Default)]
pub struct App {
    routes: Vec<Route>,
}

struct Route {
    method: Method,
    template: PathTemplate,
    handler: Box<dyn Handler>,
}

/// Something that answers a request: any `Fn(Request) -> impl IntoResponse`.
pub trait Handler: 'static {
    /// Handles `request`.
    fn call(&self, request: Request) -> Response;
}

impl<F, R> Handler for F
where
    F: Fn(Request) -> R + 'static,
    R: IntoResponse,
{
    fn call(&self, request: Request) -> Response {
        self(request).into_response()
    }
}

impl App {
    /// An app with no routes.
    pub fn new() -> Self {
        App::default()
    }

    /// Adds a route for `method` on `path`.
    ///
    /// # Panics
    ///
    /// If `path` is not a valid template (see [`PathTemplate::parse`]): routes are fixed when
    /// the app is written, so this is a bug to fix, not an error to handle.
    ///
    /// # Example
    ///
    /// ```
    /// use wasgi::{App, Request, http::Method};
    ///
    /// let app = App::new().route(Method::DELETE, "/items/{id}", |_: Request| "deleted");
    /// ```
    pub fn route(mut self, method: Method, path: &str, handler: impl Handler) -> Self {
        let template = PathTemplate::parse(path).unwrap_or_else(|error| panic!("{error}"));
        self.routes.push(Route {
            method,
            template,
            handler: Box::new(handler),
        });
        self
    }

    /// Adds a `GET` route.
    ///
    /// # Example
    ///
    /// ```
    /// let app = wasgi::App::new().get("/items/{id}", |r: wasgi::Request| r.path_param("id").unwrap().to_owned());
    /// ```
    pub fn get(self, path: &str, handler: impl Handler) -> Self {
        self.route(Method::GET, path, handler)
    }

    /// Adds a `POST` route.
    ///
    /// # Example
    ///
    /// ```
    /// let app = wasgi::App::new().post("/echo", |r: wasgi::Request| wasgi::Response::stream(r.into_body()));
    /// ```
    pub fn post(self, path: &str, handler: impl Handler) -> Self {
        self.route(Method::POST, path, handler)
    }

    /// Adds a `PUT` route.
    ///
    /// # Example
    ///
    /// ```
    /// let app = wasgi::App::new().put("/items/{id}", |_: wasgi::Request| "updated");
    /// ```
    pub fn put(self, path: &str, handler: impl Handler) -> Self {
        self.route(Method::PUT, path, handler)
    }

    /// Adds a `DELETE` route.
    ///
    /// # Example
    ///
    /// ```
    /// let app = wasgi::App::new().delete("/items/{id}", |_: wasgi::Request| "deleted");
    /// ```
    pub fn delete(self, path: &str, handler: impl Handler) -> Self {
        self.route(Method::DELETE, path, handler)
    }

    /// Adds a `PATCH` route.
    ///
    /// # Example
    ///
    /// ```
    /// let app = wasgi::App::new().patch("/items/{id}", |_: wasgi::Request| "patched");
    /// ```
    pub fn patch(self, path: &str, handler: impl Handler) -> Self {
        self.route(Method::PATCH, path, handler)
    }

    /// Serves one request: ASGI's `app(scope, receive, send)`. On Wasm, [`export!`](crate::export)
    /// calls this with the host's `receive` and `send`; [`TestClient`](crate::TestClient) calls it
    /// in-process.
    ///
    /// # Example
    ///
    /// ```
    /// use wasgi::App;
    /// use wasgi::asgi::{ReceiveEvent, Receiver, Scope, SendError, SendEvent, Sender};
    ///
    /// struct NoBody;
    /// impl Receiver for NoBody {
    ///     fn receive(&mut self) -> ReceiveEvent {
    ///         ReceiveEvent::Request { body: Vec::new(), more_body: false }
    ///     }
    /// }
    ///
    /// struct Record(Vec<SendEvent>);
    /// impl Sender for Record {
    ///     fn send(&mut self, event: SendEvent) -> Result<(), SendError> {
    ///         self.0.push(event);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let mut sent = Record(Vec::new());
    /// App::new().serve(Scope::get("/nowhere"), Box::new(NoBody), &mut sent);
    /// assert!(matches!(sent.0[0], SendEvent::ResponseStart { status: 404, .. }));
    /// ```
    pub fn serve(&self, scope: Scope, receive: Box<dyn Receiver>, send: &mut dyn Sender) {
        let response = self.dispatch(Request::new(scope, Body::new(receive)));
        // A client that left can't be told; a protocol error would be this SDK's bug.
        if let Err(SendError::InvalidEvent(why)) = response.send(send) {
            panic!("wasgi sent an invalid response: {why}");
        }
    }

    /// Routes `request` to its handler, or answers it with the router's own 404/405/307.
    pub fn dispatch(&self, request: Request) -> Response {
        let mut first_path_match: Option<&Method> = None;
        for route in &self.routes {
            if let Some(params) = route.template.matches(request.path()) {
                if route.method == request.method() {
                    return route.handler.call(request.with_path_params(params));
                }
                first_path_match.get_or_insert(&route.method);
            }
        }
        if let Some(allowed) = first_path_match {
            return Response::json(&json!({"detail": "Method Not Allowed"}))
                .with_status(StatusCode::METHOD_NOT_ALLOWED)
                .with_header(ALLOW, allowed.as_str());
        }
        if let Some(location) = self.slash_redirect(&request) {
            return Response::new()
                .with_status(StatusCode::TEMPORARY_REDIRECT)
                .with_header(LOCATION, location);
        }
        Response::json(&json!({"detail": "Not Found"})).with_status(StatusCode::NOT_FOUND)
    }

    /// Starlette's `redirect_slashes`: the URL with the trailing slash toggled, if a route
    /// matches that path.
    fn slash_redirect(&self, request: &Request) -> Option<String> {
        let path = request.path();
        if path == "/" {
            return None;
        }
        let other = match path.strip_suffix('/') {
            Some(trimmed) => trimmed.to_owned(),
            None => format!("{path}/"),
        };
        self.routes
            .iter()
            .find(|route| route.template.matches(&other).is_some())?;
        let scope = request.scope();
        let host = request.header("host").unwrap_or("localhost");
        let mut location = format!("{}://{host}{}{other}", scope.scheme, scope.root_path);
        if !scope.query_string.is_empty() {
            location.push('?');
            location.push_str(request.query_string());
        }
        Some(location)
    }
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.routes
                    .iter()
                    .map(|route| format!("{} {}", route.method, route.template.as_str())),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests;
