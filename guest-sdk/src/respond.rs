//! How a route macro turns whatever its function returns into a response: an [`IntoResponse`]
//! value as it says, any other `Serialize` value as JSON with the route's status, and a
//! `Result<T: Serialize, HttpException>` as either.
//!
//! Rust's coherence rules forbid one trait covering all three (serde may one day serialize any
//! `Result`), so generated code picks by autoref: `(&&Tag::new(value)).respond(status)` finds
//! the first of these traits whose bounds the value meets, in the order below.

use std::cell::Cell;

use http::StatusCode;
use serde::Serialize;

use crate::{HttpException, IntoResponse, Response};

/// A returned value, waiting to be made into a response.
pub struct Tag<T>(Cell<Option<T>>);

impl<T> Tag<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Tag(Cell::new(Some(value)))
    }

    fn take(&self) -> T {
        self.0
            .take()
            .expect("a returned value is made into one response")
    }
}

/// First choice: the value knows its response.
pub trait ViaIntoResponse {
    /// The response.
    fn respond(&self, status: StatusCode) -> Response;
}

impl<T: IntoResponse> ViaIntoResponse for &Tag<T> {
    fn respond(&self, status: StatusCode) -> Response {
        self.take().into_route_response(status)
    }
}

/// Second choice: JSON of a `Serialize` value.
pub trait ViaSerialize {
    /// The response.
    fn respond(&self, status: StatusCode) -> Response;
}

impl<T: Serialize> ViaSerialize for &&Tag<T> {
    fn respond(&self, status: StatusCode) -> Response {
        Response::json(&self.take()).with_status(status)
    }
}

/// Third choice: a `Result` of a `Serialize` value or an [`HttpException`].
pub trait ViaSerializeResult {
    /// The response.
    fn respond(&self, status: StatusCode) -> Response;
}

impl<T: Serialize> ViaSerializeResult for Tag<Result<T, HttpException>> {
    fn respond(&self, status: StatusCode) -> Response {
        match self.take() {
            Ok(value) => Response::json(&value).with_status(status),
            Err(exception) => exception.into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Serialize)]
    struct Item {
        name: &'static str,
    }

    fn body(response: Response) -> (u16, String) {
        (
            response.status().as_u16(),
            String::from_utf8(response.body_bytes().unwrap().to_vec()).unwrap(),
        )
    }

    #[test]
    #[expect(
        clippy::needless_borrow,
        reason = "generated code always writes `&&`, so these do"
    )]
    fn each_kind_of_return_value_picks_its_response() {
        let created = StatusCode::CREATED;
        assert_eq!(
            body((&&Tag::new(Response::text("t"))).respond(created)),
            (200, "t".into())
        );
        assert_eq!(
            body((&&Tag::new(json!({"a": 1}))).respond(created)),
            (201, r#"{"a":1}"#.into())
        );
        assert_eq!(
            body((&&Tag::new(Item { name: "x" })).respond(created)),
            (201, r#"{"name":"x"}"#.into())
        );
        let ok: Result<Item, HttpException> = Ok(Item { name: "y" });
        assert_eq!(
            body((&&Tag::new(ok)).respond(created)),
            (201, r#"{"name":"y"}"#.into())
        );
        let err: Result<Item, HttpException> = Err(HttpException::new(404, "gone"));
        assert_eq!(
            body((&&Tag::new(err)).respond(created)),
            (404, r#"{"detail":"gone"}"#.into())
        );
        let err: Result<Response, HttpException> = Err(HttpException::new(400, "bad"));
        assert_eq!(
            body((&&Tag::new(err)).respond(created)),
            (400, r#"{"detail":"bad"}"#.into())
        );
    }
}
