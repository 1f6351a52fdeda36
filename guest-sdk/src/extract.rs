//! [`Extractor`]: pulls a route's parameters out of a request and validates them, collecting
//! every error. The `#[get]`/`#[post]`/... macros generate calls to it; it is public so that a
//! hand-written handler can do the same.
//!
//! FastAPI's rules: a repeated query key gives its last value to a scalar and all values to a
//! list; `+` in a query is a space; a scalar header takes the first value; headers are decoded
//! as Latin-1; the body is parsed as JSON when its content type is `application/json` or
//! `application/*+json`, and otherwise validated as text; a body that is not valid JSON is the
//! request's only error. Errors are reported path first, then query, header, cookie and body.

use serde_json::Value;

use crate::json_error::python_json_error;
use crate::validation::{Constraints, Errors, Input, Validate, ValidationError};
use crate::{Request, Response};

/// A parameter's default value, made only when the parameter is absent.
pub type DefaultFn<T> = Option<fn() -> T>;

/// Extracts and validates a request's parameters.
///
/// # Example
///
/// ```
/// use wasgi::asgi::Scope;
/// use wasgi::extract::Extractor;
/// use wasgi::validation::{Bound, Constraints};
/// use wasgi::{Body, Request};
///
/// let request = Request::new(Scope::get("/search?q=ab&limit=0"), Body::empty());
/// let mut extractor = Extractor::new(request);
/// let q: Option<String> = extractor.query("q", &Constraints { min_length: Some(3), ..Constraints::NONE }, None);
/// let limit: Option<i64> = extractor.query("limit", &Constraints { ge: Some(Bound::Int(1)), ..Constraints::NONE }, Some(|| 10));
/// assert!(q.is_none() && limit.is_none());
/// let response = extractor.finish().unwrap_err();
/// assert_eq!(response.status(), 422);
/// ```
pub struct Extractor {
    request: Request,
    query: Option<Vec<(String, String)>>,
    cookies: Option<Vec<(String, String)>>,
    body: BodyState,
    /// The errors of each part of the request, in FastAPI's order (path, query, header,
    /// cookie, body); a part's list is made on its first parameter, so a request without
    /// parameters allocates none.
    errors: [Option<Errors>; Source::COUNT],
}

/// The part of a request a parameter comes from, in the order FastAPI lists errors.
#[derive(Clone, Copy)]
enum Source {
    Path,
    Query,
    Header,
    Cookie,
    Body,
}

impl Source {
    const COUNT: usize = 5;

    /// The first step of its errors' location.
    fn name(self) -> &'static str {
        match self {
            Source::Path => "path",
            Source::Query => "query",
            Source::Header => "header",
            Source::Cookie => "cookie",
            Source::Body => "body",
        }
    }
}

enum BodyState {
    Unread,
    Absent,
    Json(Value),
    /// A body whose content type is not JSON, validated as a string.
    Text(Value),
    /// Not valid JSON: the request's one error.
    Invalid(ValidationError),
    /// Not even text: FastAPI's 400.
    Undecodable,
}

impl Extractor {
    /// An extractor for `request`.
    pub fn new(request: Request) -> Self {
        Extractor {
            request,
            query: None,
            cookies: None,
            body: BodyState::Unread,
            errors: Default::default(),
        }
    }

    /// A path parameter captured from the route's template.
    pub fn path<T: Validate>(&mut self, name: &str, c: &Constraints) -> Option<T> {
        let value = self.request.path_param(name).unwrap_or_default().to_owned();
        validate_values(
            &[value.as_str()],
            name,
            c,
            None,
            bucket(&mut self.errors, Source::Path),
        )
    }

    /// A query parameter.
    pub fn query<T: Validate>(
        &mut self,
        name: &str,
        c: &Constraints,
        default: DefaultFn<T>,
    ) -> Option<T> {
        let query = self.query.get_or_insert_with(|| {
            form_urlencoded::parse(self.request.query_string().as_bytes())
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect()
        });
        let values: Vec<&str> = query
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect();
        validate_values(
            &values,
            name,
            c,
            default,
            bucket(&mut self.errors, Source::Query),
        )
    }

    /// A header parameter; `name` is the header's name (`user-agent`), the error location's too.
    pub fn header<T: Validate>(
        &mut self,
        name: &str,
        c: &Constraints,
        default: DefaultFn<T>,
    ) -> Option<T> {
        // Starlette decodes header values as Latin-1.
        let values: Vec<String> = self
            .request
            .headers()
            .get_all(name)
            .iter()
            .map(|value| value.as_bytes().iter().map(|&b| char::from(b)).collect())
            .collect();
        let mut values: Vec<&str> = values.iter().map(String::as_str).collect();
        if T::KIND != crate::validation::Kind::List {
            values.truncate(1);
        }
        validate_values(
            &values,
            name,
            c,
            default,
            bucket(&mut self.errors, Source::Header),
        )
    }

    /// A cookie parameter.
    pub fn cookie<T: Validate>(
        &mut self,
        name: &str,
        c: &Constraints,
        default: DefaultFn<T>,
    ) -> Option<T> {
        let request = &self.request;
        let cookies = self.cookies.get_or_insert_with(|| parse_cookies(request));
        let value = cookies
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str());
        let values: Vec<&str> = value.into_iter().collect();
        validate_values(
            &values,
            name,
            c,
            default,
            bucket(&mut self.errors, Source::Cookie),
        )
    }

    /// A body parameter. With `embed`, the body is an object and this parameter is its `name`
    /// key (FastAPI's rule when a route has several body parameters); otherwise the whole body.
    pub fn body<T: Validate>(
        &mut self,
        name: &str,
        c: &Constraints,
        default: DefaultFn<T>,
        embed: bool,
    ) -> Option<T> {
        self.read_body();
        let errors = bucket(&mut self.errors, Source::Body);
        let value = match &self.body {
            BodyState::Json(value) | BodyState::Text(value) => Some(value),
            BodyState::Absent => None,
            BodyState::Invalid(_) | BodyState::Undecodable | BodyState::Unread => return None,
        };
        if !embed {
            return validate_json(value, c, default, errors);
        }
        let field = value
            .and_then(|value| value.as_object())
            .and_then(|object| object.get(name));
        errors.push(name);
        let result = validate_json(field, c, default, errors);
        errors.pop();
        result
    }

    /// A parameter whose kind comes from its type: a model (or list of models) is the body,
    /// anything else a query parameter.
    pub fn infer<T: Validate>(
        &mut self,
        name: &str,
        c: &Constraints,
        default: DefaultFn<T>,
        embed: bool,
    ) -> Option<T> {
        match T::KIND {
            crate::validation::Kind::Body => self.body(name, c, default, embed),
            crate::validation::Kind::Scalar | crate::validation::Kind::List => {
                self.query(name, c, default)
            }
        }
    }

    /// The request, if every parameter was valid; otherwise FastAPI's error response: 422 with
    /// every error, or only the JSON error, or 400 for a body that is not text.
    #[allow(
        clippy::result_large_err,
        reason = "made once per request, then sent: boxing buys nothing"
    )]
    pub fn finish(mut self) -> Result<Request, Response> {
        match std::mem::replace(&mut self.body, BodyState::Unread) {
            BodyState::Invalid(error) => {
                return Err(crate::validation::ValidationErrors(vec![error]).into_response());
            }
            BodyState::Undecodable => {
                return Err(
                    crate::HttpException::new(400, "There was an error parsing the body")
                        .into_response(),
                );
            }
            _ => {}
        }
        let mut errors = Errors::new();
        for bucket in self.errors.iter_mut().flatten() {
            errors.append(bucket);
        }
        if errors.is_empty() {
            Ok(self.request)
        } else {
            Err(errors.into_errors().into_response())
        }
    }

    fn read_body(&mut self) {
        if !matches!(self.body, BodyState::Unread) {
            return;
        }
        let is_json = self
            .request
            .header("content-type")
            .is_some_and(is_json_content_type);
        // A client that leaves mid-body gets no answer; treat what never arrived as no body.
        let bytes = std::mem::replace(self.request.body_mut(), crate::Body::empty())
            .bytes()
            .unwrap_or_default();
        self.body = if bytes.is_empty() {
            BodyState::Absent
        } else if !is_json {
            BodyState::Text(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        } else {
            parse_json(&bytes)
        };
    }
}

/// The error list of `source`, made on its first parameter.
fn bucket(errors: &mut [Option<Errors>; Source::COUNT], source: Source) -> &mut Errors {
    errors[source as usize].get_or_insert_with(|| {
        let mut errors = Errors::new();
        errors.push(source.name());
        errors
    })
}

/// Validates a parameter from its raw values (none when absent), then its constraints.
fn validate_values<T: Validate>(
    values: &[&str],
    name: &str,
    c: &Constraints,
    default: DefaultFn<T>,
    errors: &mut Errors,
) -> Option<T> {
    errors.push(name);
    let result = if values.is_empty() {
        present_or_default(default, errors)
    } else {
        T::validate_many(values, errors).filter(|value| {
            value.check(
                c,
                Input::Str(values.last().copied().unwrap_or_default()),
                errors,
            )
        })
    };
    errors.pop();
    result
}

/// Validates a JSON value (`None` when absent), then its constraints.
fn validate_json<T: Validate>(
    value: Option<&Value>,
    c: &Constraints,
    default: DefaultFn<T>,
    errors: &mut Errors,
) -> Option<T> {
    match value {
        None => present_or_default(default, errors),
        Some(value) => T::validate(Input::Json(value), errors)
            .filter(|valid| valid.check(c, Input::Json(value), errors)),
    }
}

fn present_or_default<T: Validate>(default: DefaultFn<T>, errors: &mut Errors) -> Option<T> {
    let value = default.map(|make| make()).or_else(T::absent);
    if value.is_none() {
        errors.missing(Value::Null);
    }
    value
}

/// `application/json`, or any `application/*+json`, parameters ignored.
fn is_json_content_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.strip_prefix("application/") {
        Some(subtype) => subtype == "json" || subtype.ends_with("+json"),
        None => false,
    }
}

fn parse_json(bytes: &[u8]) -> BodyState {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Ok(text) = std::str::from_utf8(bytes) else {
        return BodyState::Undecodable;
    };
    match serde_json::from_str(text) {
        Ok(value) => BodyState::Json(value),
        Err(serde_error) => {
            let (offset, message) = python_json_error(text).unwrap_or_else(|| {
                // Only Python's extensions (NaN, Infinity) get here: serde_json refuses them.
                let offset = text
                    .lines()
                    .take(serde_error.line() - 1)
                    .map(|l| l.chars().count() + 1)
                    .sum::<usize>()
                    + serde_error.column().saturating_sub(1);
                (offset, "Expecting value")
            });
            BodyState::Invalid(ValidationError {
                kind: "json_invalid",
                loc: vec!["body".into(), offset.into()],
                msg: "JSON decode error".to_owned(),
                input: Value::Object(Default::default()),
                ctx: Some(
                    serde_json::json!({ "error": message })
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                ),
            })
        }
    }
}

/// Cookies from every `Cookie` header, in order, as Starlette's `cookie_parser` reads them.
fn parse_cookies(request: &Request) -> Vec<(String, String)> {
    let mut cookies = Vec::new();
    for header in request.headers().get_all("cookie") {
        let Ok(header) = header.to_str() else {
            continue;
        };
        for pair in header.split(';') {
            let (key, value) = pair.split_once('=').unwrap_or(("", pair));
            let (key, value) = (key.trim(), value.trim());
            if !key.is_empty() || !value.is_empty() {
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                cookies.push((key.to_owned(), value.to_owned()));
            }
        }
    }
    cookies
}
