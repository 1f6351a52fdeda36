//! [`App`]: the routes of a guest application, and how one request is dispatched to them.

use std::fmt;
use std::rc::Rc;

use crate::asgi::{Receiver, Scope, SendError, Sender};
use crate::body::Body;
use crate::exception::{Exception, HttpException};
use crate::openapi::DocsConfig;
use crate::path_template::PathTemplate;
use crate::request::Request;
use crate::response::{IntoResponse, Response};
use crate::validation::ValidationErrors;
use http::header::{ALLOW, LOCATION};
use http::{Method, StatusCode};

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
    docs: DocsConfig,
    http_exception_handler: Option<Box<dyn Fn(HttpException) -> Response>>,
    validation_exception_handler: Option<Box<dyn Fn(ValidationErrors) -> Response>>,
}

struct Route {
    method: Method,
    template: PathTemplate,
    handler: Box<dyn Handler>,
    /// What the OpenAPI document says of it; routes added as closures are not documented.
    endpoint: Option<Rc<dyn Endpoint>>,
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

/// A route made by `#[get]`, `#[post]` and the other route macros: its method, its path and a
/// handler that extracts and validates the parameters before calling the function.
pub trait Endpoint: 'static {
    /// The route's method.
    fn method(&self) -> Method;
    /// The route's path template.
    fn path(&self) -> &'static str;
    /// What the OpenAPI document says of the route; named schemas go to `schemas`.
    fn doc(&self, schemas: &mut crate::openapi::Schemas) -> crate::openapi::RouteDoc;
    /// Extracts the parameters, calls the function and makes the response.
    fn handle(&self, request: Request) -> Response;
}

impl App {
    /// An app with no routes.
    pub fn new() -> Self {
        App::default()
    }

    /// Adds a route made by a route macro.
    ///
    /// # Example
    ///
    /// ```
    /// #[wasgi::get("/items/{item_id}")]
    /// fn read_item(item_id: i64) -> serde_json::Value {
    ///     serde_json::json!({"item_id": item_id})
    /// }
    ///
    /// let client = wasgi::TestClient::new(wasgi::App::new().endpoint(read_item));
    /// assert_eq!(client.get("/items/5").send().text(), r#"{"item_id":5}"#);
    /// assert_eq!(client.get("/items/x").send().status(), 422);
    /// ```
    pub fn endpoint(mut self, endpoint: impl Endpoint) -> Self {
        let endpoint: Rc<dyn Endpoint> = Rc::new(endpoint);
        let (method, path) = (endpoint.method(), endpoint.path());
        let handler = endpoint.clone();
        self = self.route(method, path, move |request: Request| {
            handler.handle(request)
        });
        if let Some(route) = self.routes.last_mut() {
            route.endpoint = Some(endpoint);
        }
        self
    }

    /// Replaces FastAPI's rendering of [`HttpException`]s (the router's 404 and 405 included).
    ///
    /// # Example
    ///
    /// ```
    /// use wasgi::{App, Response, TestClient};
    ///
    /// let app = App::new().http_exception_handler(|e| Response::text(format!("oops: {}", e.detail)).with_status(e.status));
    /// let response = TestClient::new(app).get("/missing").send();
    /// assert_eq!((response.status().as_u16(), response.text()), (404, "oops: \"Not Found\"".to_owned()));
    /// ```
    pub fn http_exception_handler(
        mut self,
        handler: impl Fn(HttpException) -> Response + 'static,
    ) -> Self {
        self.http_exception_handler = Some(Box::new(handler));
        self
    }

    /// Replaces FastAPI's `422 {"detail": [...]}` rendering of validation errors.
    ///
    /// # Example
    ///
    /// ```
    /// use wasgi::{App, Response, TestClient};
    ///
    /// #[wasgi::get("/n/{n}")]
    /// fn read_n(n: u8) -> u8 { n }
    ///
    /// let app = App::new().endpoint(read_n).validation_exception_handler(|errors| {
    ///     Response::text(format!("{} error(s)", errors.0.len())).with_status(wasgi::http::StatusCode::BAD_REQUEST)
    /// });
    /// let response = TestClient::new(app).get("/n/300").send();
    /// assert_eq!((response.status().as_u16(), response.text()), (400, "1 error(s)".to_owned()));
    /// ```
    pub fn validation_exception_handler(
        mut self,
        handler: impl Fn(ValidationErrors) -> Response + 'static,
    ) -> Self {
        self.validation_exception_handler = Some(Box::new(handler));
        self
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
            endpoint: None,
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
        let response = self.respond(Request::new(scope, Body::new(receive)));
        // A client that left can't be told; a protocol error would be this SDK's bug.
        if let Err(SendError::InvalidEvent(why)) = response.send(send) {
            panic!("wasgi sent an invalid response: {why}");
        }
    }

    /// Answers `request`: dispatches it, then lets the app's exception handlers re-render an
    /// exception's response.
    pub fn respond(&self, request: Request) -> Response {
        let mut response = self.dispatch(request);
        match response.take_exception() {
            Some(Exception::Http(exception))
                if let Some(handler) = &self.http_exception_handler =>
            {
                handler(exception)
            }
            Some(Exception::Validation(errors))
                if let Some(handler) = &self.validation_exception_handler =>
            {
                handler(errors)
            }
            _ => response,
        }
    }

    /// Routes `request` to its handler, or answers it with the router's own 404/405/307.
    pub fn dispatch(&self, request: Request) -> Response {
        if let Some(page) = self.docs_page(&request) {
            return page;
        }
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
            return HttpException::new(405, "Method Not Allowed")
                .with_header(ALLOW.as_str(), allowed.as_str())
                .into_response();
        }
        if let Some(location) = self.slash_redirect(&request) {
            return Response::new()
                .with_status(StatusCode::TEMPORARY_REDIRECT)
                .with_header(LOCATION, location);
        }
        HttpException::new(404, "Not Found").into_response()
    }

    /// Starlette's `redirect_slashes`: the URL with the trailing slash toggled, if a route
    /// matches that path.
    fn slash_redirect(&self, request: &Request) -> Option<String> {
        let path = request.path();
        if path == "/" {
            return None;
        }
        // Python's `rstrip("/")`: every trailing slash goes.
        let other = if path.ends_with('/') {
            path.trim_end_matches('/').to_owned()
        } else {
            format!("{path}/")
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

mod docs;
#[cfg(test)]
mod docs_tests;
#[cfg(test)]
mod tests;
