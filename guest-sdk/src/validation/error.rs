//! Validation errors: each one FastAPI's `{type, loc, msg, input, ctx}`, and the 422 they make.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::Response;

/// One step of an error's location: a key or a list index.
///
/// # Example
///
/// ```
/// use wasgi::validation::Loc;
/// assert_eq!(serde_json::to_string(&[Loc::from("body"), Loc::from(0)]).unwrap(), r#"["body",0]"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Loc {
    /// A field, parameter or source name (`"body"`, `"query"`, `"price"`).
    Key(String),
    /// A position in a list, or a character offset for `json_invalid`.
    Index(usize),
}

impl From<&str> for Loc {
    fn from(key: &str) -> Self {
        Loc::Key(key.to_owned())
    }
}

impl From<usize> for Loc {
    fn from(index: usize) -> Self {
        Loc::Index(index)
    }
}

/// One validation error, as Pydantic reports it and FastAPI renders it.
///
/// # Example
///
/// ```
/// use wasgi::validation::{Errors, Input, Validate};
///
/// let mut errors = Errors::new();
/// errors.push("query");
/// errors.push("limit");
/// let _ = i32::validate(Input::Str("x"), &mut errors);
/// assert_eq!(
///     serde_json::to_value(&errors.as_slice()[0]).unwrap(),
///     serde_json::json!({
///         "type": "int_parsing",
///         "loc": ["query", "limit"],
///         "msg": "Input should be a valid integer, unable to parse string as an integer",
///         "input": "x",
///     })
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidationError {
    /// Pydantic's error code: `missing`, `int_parsing`, `string_too_short`, ...
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where: `["body", "images", 0, "name"]`.
    pub loc: Vec<Loc>,
    /// Pydantic's message.
    pub msg: String,
    /// The offending input.
    pub input: Value,
    /// The constraint that failed, when there is one (`{"min_length": 3}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctx: Option<Map<String, Value>>,
}

/// Errors collected while validating, with the location currently being validated.
#[derive(Debug, Default, Clone)]
pub struct Errors {
    list: Vec<ValidationError>,
    loc: Vec<Loc>,
}

impl Errors {
    /// No errors, at the root location.
    pub fn new() -> Self {
        Errors::default()
    }

    /// Descends into `step` (a field or index) for the errors that follow.
    pub fn push(&mut self, step: impl Into<Loc>) {
        self.loc.push(step.into());
    }

    /// Returns from the last [`push`](Self::push).
    pub fn pop(&mut self) {
        self.loc.pop();
    }

    /// Records an error at the current location.
    pub fn add(
        &mut self,
        kind: &'static str,
        msg: impl Into<String>,
        input: Value,
        ctx: Option<Value>,
    ) {
        let ctx = ctx.and_then(|ctx| match ctx {
            Value::Object(map) => Some(map),
            _ => None,
        });
        self.list.push(ValidationError {
            kind,
            loc: self.loc.clone(),
            msg: msg.into(),
            input,
            ctx,
        });
    }

    /// Records Pydantic's `missing` error at the current location.
    pub fn missing(&mut self, input: Value) {
        self.add("missing", "Field required", input, None);
    }

    /// How many errors were recorded.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether no error was recorded.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The errors recorded so far.
    pub fn as_slice(&self) -> &[ValidationError] {
        &self.list
    }

    /// Moves every error of `other` to the end of this list.
    pub fn append(&mut self, other: &mut Errors) {
        self.list.append(&mut other.list);
    }

    /// The collected errors, for a 422.
    pub fn into_errors(self) -> ValidationErrors {
        ValidationErrors(self.list)
    }
}

/// All the validation errors of one request; as a response, FastAPI's
/// `422 {"detail": [...]}`.
///
/// # Example
///
/// ```
/// use wasgi::validation::Errors;
///
/// let mut errors = Errors::new();
/// errors.push("query");
/// errors.push("q");
/// errors.missing(serde_json::Value::Null);
/// let response = errors.into_errors().into_response();
/// assert_eq!(response.status(), 422);
/// assert_eq!(
///     response.body_bytes().unwrap(),
///     br#"{"detail":[{"type":"missing","loc":["query","q"],"msg":"Field required","input":null}]}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl ValidationErrors {
    /// FastAPI's default rendering: `422 {"detail": [...]}`.
    pub fn into_response(self) -> Response {
        self.render()
            .with_exception(crate::exception::Exception::Validation(self))
    }

    /// The 422 response without the exception mark.
    pub fn render(&self) -> Response {
        Response::json(&json!({ "detail": self.0 }))
            .with_status(http::StatusCode::UNPROCESSABLE_ENTITY)
    }
}
