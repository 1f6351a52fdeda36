//! Write WebAssembly edge functions the FastAPI way, and serve them with the `wasgi` host.
//!
//! An app is a set of routes. Build it in a function, hand that function to [`export!`], and
//! compile the crate (a `cdylib`) for `wasm32-wasip2`: the result is a component the host
//! serves, one fresh instance per request.
//!
//! ```
//! use serde_json::{Value, json};
//! use wasgi::{App, Request, Response};
//!
//! fn root(_: Request) -> Value {
//!     json!({"message": "Hello World"})
//! }
//!
//! fn read_item(request: Request) -> Value {
//!     json!({"item_id": request.path_param("item_id")})
//! }
//!
//! fn echo(request: Request) -> Response {
//!     // Streams: each chunk goes back out as it arrives.
//!     Response::stream(request.into_body())
//! }
//!
//! pub fn app() -> App {
//!     App::new()
//!         .get("/", root)
//!         .get("/items/{item_id}", read_item)
//!         .post("/echo", echo)
//! }
//!
//! wasgi::export!(app);
//!
//! // The same app, tested natively without a host:
//! let client = wasgi::TestClient::new(app());
//! assert_eq!(client.get("/items/42").send().json::<Value>(), json!({"item_id": "42"}));
//! ```
//!
//! The pieces: [`App`] routes requests by method and [`PathTemplate`]; a handler is any
//! `Fn(`[`Request`]`) -> impl `[`IntoResponse`]; a [`Request`]'s [`Body`] is read in chunks;
//! [`Response`]s are JSON, text, bytes or streams. [`asgi`] is the protocol underneath.

extern crate self as wasgi;

mod app;
pub mod asgi;
mod body;
mod exception;
pub mod extract;
#[cfg(target_family = "wasm")]
mod guest;
mod json_error;
mod path_template;
mod request;
mod respond;
mod response;
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
pub use wasgi_macros::{Model, StrEnum, delete, get, head, options, patch, post, put};

/// Exports an app as the component's request handler.
///
/// Takes the path of a `fn() -> App`. Each request runs in a fresh instance, which calls the
/// function once, so the app is built per request: keep it cheap (route tables are).
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
        self, export_handler, exports::wasgi::asgi::handler::Guest,
        wasgi::asgi::types::Scope as WitScope,
    };
    #[cfg(target_family = "wasm")]
    pub use crate::guest::run;
    #[cfg(target_family = "wasm")]
    pub use wit_bindgen;
}
