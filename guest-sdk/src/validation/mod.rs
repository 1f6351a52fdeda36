//! Validation with Pydantic's rules and FastAPI's error shapes.
//!
//! Every value a handler declares is validated from one of two kinds of [`Input`]: a string
//! (path, query, header and cookie parameters) or a JSON value (the body). The rules are
//! Pydantic's lax mode, because FastAPI users rely on them: `"5"` is an int in a query string,
//! `5.0` is an int in JSON but `5.5` is not, `"yes"` is a bool. Every error is collected with its
//! location, and a request's errors render as FastAPI's `422 {"detail": [...]}`.
//!
//! ```
//! use wasgi::validation::{Errors, Input, Validate};
//!
//! let mut errors = Errors::new();
//! assert_eq!(i64::validate(Input::Str(" 5"), &mut errors), Some(5));
//! assert_eq!(i64::validate(Input::Str("5.5"), &mut errors), None);
//! assert_eq!(errors.len(), 1);
//! assert_eq!(errors.as_slice()[0].kind, "int_parsing");
//! ```

mod constraints;
mod error;
mod model;
mod scalars;

pub use constraints::{Bound, Constraints, Pattern};
pub use error::{Errors, Loc, ValidationError, ValidationErrors};
pub use model::{field, object};

use serde_json::Value;

/// What a value is validated from.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A string from the path, the query, a header or a cookie.
    Str(&'a str),
    /// A value from a JSON body.
    Json(&'a Value),
}

impl<'a> Input<'a> {
    /// The text of a string input, or of a JSON string.
    pub fn text(&self) -> Option<&'a str> {
        match *self {
            Input::Str(text) => Some(text),
            Input::Json(Value::String(text)) => Some(text),
            Input::Json(_) => None,
        }
    }

    /// The input as it appears in an error's `input` field.
    pub fn to_value(&self) -> Value {
        match self {
            Input::Str(s) => Value::String((*s).to_owned()),
            Input::Json(v) => (*v).clone(),
        }
    }
}

/// Where a parameter's value comes from, when the handler doesn't say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A scalar (or an `Option` of one): a query parameter.
    Scalar,
    /// A list of scalars: a query parameter repeated.
    List,
    /// A model, or a list of models: the body.
    Body,
}

/// A type that can be validated from request input, the way Pydantic validates it.
///
/// Implemented for integers of every width, floats, `bool`, `String`, `Option<T>` and `Vec<T>`;
/// `#[derive(Model)]` and `#[derive(StrEnum)]` implement it for your types.
///
/// # Example
///
/// ```
/// use wasgi::validation::{Errors, Input, Validate};
///
/// let mut errors = Errors::new();
/// let json = serde_json::json!(["a", "b"]);
/// let tags = Vec::<String>::validate(Input::Json(&json), &mut errors);
/// assert_eq!(tags, Some(vec!["a".to_owned(), "b".to_owned()]));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read from a request",
    label = "no way to validate this type",
    note = "parameters and fields are integers, floats, `bool`, `String`, `Option`s and `Vec`s of them, or types with `#[derive(wasgi::Model)]` or `#[derive(wasgi::StrEnum)]`"
)]
pub trait Validate: Sized {
    /// Where a handler parameter of this type comes from by default.
    const KIND: Kind = Kind::Scalar;

    /// Validates `input`, recording any errors at `errors`' current location.
    fn validate(input: Input<'_>, errors: &mut Errors) -> Option<Self>;

    /// Checks a valid value (read from `input`) against `constraints`, recording the first that
    /// fails, as Pydantic does. Types no constraint applies to pass.
    fn check(&self, constraints: &Constraints, input: Input<'_>, errors: &mut Errors) -> bool {
        let _ = (constraints, input, errors);
        true
    }

    /// The value when the input is absent, if the type has one (`None` for an `Option`).
    fn absent() -> Option<Self> {
        None
    }

    /// The type's JSON Schema, as Pydantic writes it; named types register themselves in
    /// `schemas` and return a `$ref`. Types that say nothing accept anything (`{}`).
    fn schema(schemas: &mut crate::openapi::Schemas) -> Value {
        let _ = schemas;
        Value::Object(serde_json::Map::new())
    }

    /// Validates each of several values (a repeated query key or header). Scalars take the
    /// last, as Starlette's `QueryParams` does; lists take them all.
    fn validate_many(inputs: &[&str], errors: &mut Errors) -> Option<Self> {
        match inputs.last() {
            Some(last) => Self::validate(Input::Str(last), errors),
            None => Self::absent(),
        }
    }
}

impl<T: Validate> Validate for Option<T> {
    const KIND: Kind = T::KIND;

    fn validate(input: Input<'_>, errors: &mut Errors) -> Option<Self> {
        match input {
            Input::Json(Value::Null) => Some(None),
            _ => T::validate(input, errors).map(Some),
        }
    }

    fn absent() -> Option<Self> {
        Some(None)
    }

    fn schema(schemas: &mut crate::openapi::Schemas) -> Value {
        serde_json::json!({"anyOf": [T::schema(schemas), {"type": "null"}]})
    }

    fn check(&self, constraints: &Constraints, input: Input<'_>, errors: &mut Errors) -> bool {
        self.as_ref()
            .is_none_or(|value| value.check(constraints, input, errors))
    }

    fn validate_many(inputs: &[&str], errors: &mut Errors) -> Option<Self> {
        if inputs.is_empty() {
            Some(None)
        } else {
            T::validate_many(inputs, errors).map(Some)
        }
    }
}

impl<T: Validate> Validate for Vec<T> {
    const KIND: Kind = match T::KIND {
        Kind::Body => Kind::Body,
        Kind::Scalar | Kind::List => Kind::List,
    };

    fn validate(input: Input<'_>, errors: &mut Errors) -> Option<Self> {
        let Input::Json(Value::Array(items)) = input else {
            errors.add(
                "list_type",
                "Input should be a valid list",
                input.to_value(),
                None,
            );
            return None;
        };
        let mut values = Vec::with_capacity(items.len());
        let mut ok = true;
        for (index, item) in items.iter().enumerate() {
            errors.push(index);
            match T::validate(Input::Json(item), errors) {
                Some(value) => values.push(value),
                None => ok = false,
            }
            errors.pop();
        }
        ok.then_some(values)
    }

    fn schema(schemas: &mut crate::openapi::Schemas) -> Value {
        serde_json::json!({"type": "array", "items": T::schema(schemas)})
    }

    fn validate_many(inputs: &[&str], errors: &mut Errors) -> Option<Self> {
        let mut values = Vec::with_capacity(inputs.len());
        let mut ok = true;
        for (index, input) in inputs.iter().enumerate() {
            errors.push(index);
            match T::validate(Input::Str(input), errors) {
                Some(value) => values.push(value),
                None => ok = false,
            }
            errors.pop();
        }
        ok.then_some(values)
    }
}
