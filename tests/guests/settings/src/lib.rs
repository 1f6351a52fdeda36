//! A test guest whose `app()` reads a setting from the environment, as a FastAPI app reads its
//! settings at startup. Reading the environment is a host call, which pre-initialisation does
//! not allow: the host serves it without a snapshot and it builds its app on every request.
//! Its contract is in `tests/guests/README.md`.

use wasgi::http::Method;
use wasgi::{App, Request};

/// The app: `GET /` answers the `GREETING` the app was built with.
pub fn app() -> App {
    let greeting = std::env::var("GREETING").unwrap_or_else(|_| "no greeting".to_owned());
    App::new().route(Method::GET, "/", move |_: Request| greeting.clone())
}

wasgi::export!(app);
