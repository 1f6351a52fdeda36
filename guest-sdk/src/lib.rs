//! Write WebAssembly edge functions the FastAPI way, and serve them with the `wasgi` host.
//!
//! An app is a set of routes. Build it in a function, hand that function to [`export!`], and
//! compile the crate (a `cdylib`) for `wasm32-wasip2`: the result is a component the host
//! serves, one fresh instance per request.
//!
//! # Typed routes
//!
//! A route macro reads each parameter by its name and type, as FastAPI does: a name in the path
//! template is a path parameter; a scalar (or an `Option`/`Vec` of one) is a query parameter; a
//! [`Model`] is the JSON body; `#[header]`, `#[cookie]`, `#[body]`, `#[query(...)]` and
//! `#[path(...)]` say otherwise and carry constraints (`min_length`, `max_length`, `pattern`,
//! `gt`, `ge`, `lt`, `le`) and defaults. A parameter of type [`Request`] gets the request, one of
//! type [`Body`] streams the raw body.
//!
//! ```
//! use serde_json::{Value, json};
//! use wasgi::{App, HttpException, Model, TestClient};
//!
//! #[derive(Model)]
//! struct Item {
//!     #[field(min_length = 1, max_length = 50)]
//!     name: String,
//!     #[field(gt = 0)]
//!     price: f64,
//!     #[field(default)]
//!     tags: Vec<String>,
//! }
//!
//! #[wasgi::get("/items/{item_id}")]
//! fn read_item(item_id: i64, q: Option<String>, #[query(default = false)] short: bool) -> Value {
//!     json!({"item_id": item_id, "q": q, "short": short})
//! }
//!
//! #[wasgi::post("/items", status_code = 201)]
//! fn create_item(item: Item) -> Result<Item, HttpException> {
//!     if item.name == "taken" {
//!         return Err(HttpException::new(409, "Item exists"));
//!     }
//!     Ok(item)
//! }
//!
//! pub fn app() -> App {
//!     App::new().endpoint(read_item).endpoint(create_item)
//! }
//!
//! wasgi::export!(app);
//!
//! // The same app, tested natively without a host:
//! let client = TestClient::new(app());
//! let response = client.get("/items/5?short=yes").send();
//! assert_eq!(response.json::<Value>(), json!({"item_id": 5, "q": null, "short": true}));
//!
//! let response = client.post("/items").json(&json!({"name": "", "price": 0})).send();
//! assert_eq!(response.status(), 422);
//! assert_eq!(
//!     response.json::<Value>(),
//!     json!({"detail": [
//!         {"type": "string_too_short", "loc": ["body", "name"], "msg": "String should have at least 1 character",
//!          "input": "", "ctx": {"min_length": 1}},
//!         {"type": "greater_than", "loc": ["body", "price"], "msg": "Input should be greater than 0",
//!          "input": 0, "ctx": {"gt": 0.0}},
//!     ]})
//! );
//! ```
//!
//! Every error of a request is collected (path, query, headers, cookies, then body) and
//! rendered as FastAPI renders it, with Pydantic's `type` codes and messages; the rules are
//! Pydantic's lax mode (see [`validation`]). `examples/params` mirrors a FastAPI app endpoint for
//! endpoint and `tests/params_golden.rs` checks it against FastAPI's recorded answers.
//!
//! # Plain routes
//!
//! Closures work too, for routes that want the raw [`Request`]:
//!
//! ```
//! use wasgi::{App, Request, Response};
//!
//! let app = App::new()
//!     .get("/", |_: Request| serde_json::json!({"message": "Hello World"}))
//!     .post("/echo", |request: Request| Response::stream(request.into_body()));
//! ```
//!
//! # Where wasgi differs from FastAPI, on purpose
//!
//! - Integers have the width of their Rust type; a value outside it fails as if the field said
//!   `ge`/`le` with the type's bounds. Use `i128` to accept what Python's `int` does (to 39 digits).
//! - A JSON body with `NaN` or `Infinity` literals is `json_invalid` (they are not JSON; Python
//!   accepts them, then FastAPI fails writing its answer with a 500).
//! - A non-finite float in a response is written as `null` (serde_json's rule) where FastAPI
//!   answers 500.
//!
//! FastAPI's own quirks are kept: `GET` routes don't answer `HEAD`, and a 405's `Allow` lists the
//! methods of the first route whose path matched.
//!
//! # Printing
//!
//! `println!` and `eprintln!` (and a panic's message) go to the host's log, a line per line
//! (a line over 16 KiB in pieces), tagged with the app and the stream. The SDK writes them to
//! WASI's stdout and stderr itself instead of through wasi-libc's descriptor table, which
//! would import twelve more WASI functions into every instance whether it prints or not:
//! about 0.7 µs of each in-process request of `examples/hello`. A guest has no other file
//! descriptors; writing to one fails with `EBADF`. Reading stdin (it is empty), asking whether
//! a stream is a terminal, `std::fs` or C's `stdio` link wasi-libc's descriptor table back in,
//! with its imports; closing descriptor 1 or 2 does not stop the SDK writing to it. A crate
//! that defines C's `write` or `writev` itself cannot be linked beside the SDK.
//!
//! # Cost
//!
//! Extracting and validating the params example's `PUT /items/{item_id}` (a bounded path
//! parameter, two embedded models with nine fields, a regex, a body field) and answering it
//! takes about 25 µs natively, 41 µs when it has eight errors (`cargo bench -p params --bench
//! validation`, on this project's 2-core CI machine, 2026-11-22).

extern crate self as wasgi;

mod app;
pub mod asgi;
mod body;
mod exception;
pub mod extract;
#[cfg(target_family = "wasm")]
mod guest;
mod json_error;
pub mod openapi;
mod path_template;
mod request;
mod respond;
mod response;
#[cfg(all(target_os = "wasi", target_env = "p2"))]
#[allow(
    unsafe_code,
    reason = "C's `write` and `writev`, defined for wasi-libc's callers"
)]
mod stdio;
mod test_client;
pub mod validation;

pub use app::{App, Endpoint, Handler};
pub use body::{Body, Disconnected};
pub use exception::{Exception, HttpException};
pub use http;
pub use path_template::{PathParams, PathTemplate, TemplateError};
pub use request::Request;
pub use response::{ChunkStream, IntoResponse, Json, Response};
pub use test_client::{TestClient, TestRequest, TestResponse};
/// Derives validation (Pydantic's rules) and serialization for a struct with named fields.
///
/// Field attributes declare constraints once: `#[field(min_length = 1, max_length = 50,
/// pattern = "^[a-z]+$", gt = 0, ge = 0, lt = 10, le = 100, default, default = expr,
/// alias = "jsonName")]`. An `Option` field may be absent; other fields without a default are
/// required. The JSON keys (aliases included) are the same both ways.
///
/// # Example
///
/// ```
/// use wasgi::validation::{Errors, Input, Validate};
///
/// #[derive(wasgi::Model)]
/// struct User {
///     #[field(min_length = 3, pattern = "^[a-z0-9_]+$")]
///     username: String,
///     #[field(alias = "fullName")]
///     full_name: Option<String>,
///     #[field(ge = 0, le = 150)]
///     age: u8,
/// }
///
/// let input = serde_json::json!({"username": "dave", "fullName": "Dave", "age": "30"});
/// let user = User::validate(Input::Json(&input), &mut Errors::new()).unwrap();
/// assert_eq!(user.age, 30);
/// assert_eq!(serde_json::to_value(&user).unwrap(), serde_json::json!({"username": "dave", "fullName": "Dave", "age": 30}));
/// ```
pub use wasgi_macros::Model;

/// Derives validation and serialization for an enum of strings (Python's `(str, Enum)`).
///
/// Each unit variant's value is its lower-cased name, or `#[value = "..."]`.
///
/// # Example
///
/// ```
/// use wasgi::validation::{Errors, Input, Validate};
///
/// #[derive(Debug, PartialEq, wasgi::StrEnum)]
/// enum ModelName {
///     Alexnet,
///     #[value = "res-net"]
///     Resnet,
/// }
///
/// let mut errors = Errors::new();
/// assert_eq!(ModelName::validate(Input::Str("res-net"), &mut errors), Some(ModelName::Resnet));
/// assert_eq!(ModelName::validate(Input::Str("vgg"), &mut errors), None);
/// assert_eq!(errors.as_slice()[0].msg, "Input should be 'alexnet' or 'res-net'");
/// ```
pub use wasgi_macros::StrEnum;

/// Declares a `GET` route on a function; `post`, `put`, `delete`, `patch`, `head` and `options`
/// do the same for their methods.
///
/// The function becomes a route to register with [`App::endpoint`]; its parameters are read
/// from the request by their names and types (see the [crate docs](crate#typed-routes)). Options:
/// `status_code = 201` sets the status of a successful answer.
///
/// # Example
///
/// ```
/// #[wasgi::get("/files/{file_path:path}")]
/// fn read_file(file_path: String, #[header] user_agent: Option<String>) -> serde_json::Value {
///     serde_json::json!({"file_path": file_path, "user_agent": user_agent})
/// }
///
/// let client = wasgi::TestClient::new(wasgi::App::new().endpoint(read_file));
/// let response = client.get("/files/a/b.txt").header("user-agent", "curl").send();
/// assert_eq!(response.text(), r#"{"file_path":"a/b.txt","user_agent":"curl"}"#);
/// ```
pub use wasgi_macros::get;

/// Declares a `POST` route; see [`get`].
///
/// # Example
///
/// ```
/// #[wasgi::post("/items", status_code = 201)]
/// fn create(#[body] name: String) -> String { name }
///
/// let client = wasgi::TestClient::new(wasgi::App::new().endpoint(create));
/// let response = client.post("/items").json(&"x").send();
/// assert_eq!((response.status().as_u16(), response.text()), (201, r#""x""#.to_owned()));
/// ```
pub use wasgi_macros::post;

/// Declares a `PUT` route; see [`get`].
///
/// # Example
///
/// ```
/// #[wasgi::put("/items/{id}")]
/// fn replace(id: u32) -> u32 { id }
/// ```
pub use wasgi_macros::put;

/// Declares a `DELETE` route; see [`get`].
///
/// # Example
///
/// ```
/// #[wasgi::delete("/items/{id}")]
/// fn remove(id: u32) -> wasgi::Response { wasgi::Response::new().with_status(wasgi::http::StatusCode::NO_CONTENT) }
/// ```
pub use wasgi_macros::delete;

/// Declares a `PATCH` route; see [`get`].
///
/// # Example
///
/// ```
/// #[wasgi::patch("/items/{id}")]
/// fn rename(id: u32, #[body] name: String) -> String { format!("{id}: {name}") }
/// ```
pub use wasgi_macros::patch;

/// Declares a `HEAD` route; see [`get`]. As in FastAPI, `GET` routes don't answer `HEAD`.
///
/// # Example
///
/// ```
/// #[wasgi::head("/items/{id}")]
/// fn exists(id: u32) -> wasgi::Response { let _ = id; wasgi::Response::new() }
/// ```
pub use wasgi_macros::head;

/// Declares an `OPTIONS` route; see [`get`].
///
/// # Example
///
/// ```
/// #[wasgi::options("/items")]
/// fn allowed() -> wasgi::Response { wasgi::Response::new().with_header("allow", "GET, POST") }
/// ```
pub use wasgi_macros::options;

/// Exports an app as the component's request handler.
///
/// Takes the path of a `fn() -> App`. The host calls it once, when it loads the app, and
/// snapshots the result: each request runs in a fresh instance that starts with the app already
/// built, and shares nothing with other requests. Building the app must then not call the host:
/// an app that reads the environment, the clock or random numbers while it is built (rather than
/// in a handler) cannot be snapshotted, and the host, with a warning in its log, serves it as it
/// is and every request builds the app again.
///
/// On native targets the macro only checks the function's type, so the same crate builds for
/// tests.
///
/// # Example
///
/// ```
/// fn app() -> wasgi::App {
///     wasgi::App::new().get("/", |_: wasgi::Request| "ok")
/// }
///
/// wasgi::export!(app);
/// ```
#[macro_export]
macro_rules! export {
    ($app:path) => {
        #[cfg(target_family = "wasm")]
        #[allow(unsafe_code, reason = "wit-bindgen's export glue")]
        const _: () = {
            struct WasgiGuest;

            impl $crate::__private::Guest for WasgiGuest {
                fn handle(scope: $crate::__private::WitScope) {
                    $crate::__private::run($app, scope)
                }
            }

            impl $crate::__private::InitGuest for WasgiGuest {
                fn init() {
                    $crate::__private::init($app)
                }
            }

            $crate::__private::export_handler!(WasgiGuest with_types_in $crate::__private::bindings);
        };

        #[cfg(not(target_family = "wasm"))]
        const _: fn() -> $crate::App = $app;
    };
}

/// What [`export!`] and the derives expand to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use serde_json;

    pub use crate::respond::{Tag, ViaIntoResponse, ViaSerialize, ViaSerializeResult};

    /// Whether a parameter of type `T` is (part of) the body, for a route's generated code.
    pub const fn is_body<T: crate::validation::Validate>() -> bool {
        matches!(T::KIND, crate::validation::Kind::Body)
    }

    #[cfg(target_family = "wasm")]
    pub use crate::guest::bindings::{
        self, Guest as InitGuest, export_handler, exports::wasgi::asgi::handler::Guest,
        wasgi::asgi::types::Scope as WitScope,
    };
    #[cfg(target_family = "wasm")]
    pub use crate::guest::{init, run};
    #[cfg(target_family = "wasm")]
    pub use wit_bindgen;
}
