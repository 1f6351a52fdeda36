//! Operations: what the route macros know about a route, turned into FastAPI's operation object.

use serde_json::{Map, Value};

use super::json::{object, single, text, texts, titled};
use super::schema::{Schemas, constrain, title};
use crate::validation::{Constraints, Kind, Validate};

/// Where a parameter is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// The path.
    Path,
    /// The query string.
    Query,
    /// A header.
    Header,
    /// A cookie.
    Cookie,
    /// The body (a key of it when embedded).
    Body,
}

/// One documented parameter of a route.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The name in the request (alias, header name).
    pub name: String,
    /// Where it is read from.
    pub location: Location,
    /// Whether a request must have it.
    pub required: bool,
    /// Its schema, constraints and title included.
    pub schema: Value,
}

/// Documents a parameter of type `T` read from `location` (`None`: decided by the type, as the
/// route macro decides it), with its declared default as JSON, if it has one.
pub fn param<T: Validate>(
    name: &str,
    location: Option<Location>,
    constraints: &Constraints,
    default: Option<Value>,
    schemas: &mut Schemas,
) -> Param {
    let location = location.unwrap_or(match T::KIND {
        Kind::Body => Location::Body,
        Kind::Scalar | Kind::List => Location::Query,
    });
    let mut schema = constrain(T::schema(schemas), constraints);
    if let Value::Object(map) = &mut schema {
        if let Some(default) = default.as_ref().filter(|value| !value.is_null()) {
            map.insert("default".to_owned(), default.clone());
        }
        if !map.contains_key("$ref") {
            map.insert("title".to_owned(), Value::String(title(name)));
        }
    }
    let required = default.is_none() && T::absent().is_none();
    Param {
        name: name.to_owned(),
        location,
        required,
        schema,
    }
}

/// What a route macro knows about its route.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteDoc {
    /// The function's name.
    pub name: &'static str,
    /// The method, lower-case.
    pub method: &'static str,
    /// The path template as written (`/files/{file_path:path}`).
    pub path: &'static str,
    /// The function's doc comment.
    pub description: Option<&'static str>,
    /// Tags.
    pub tags: &'static [&'static str],
    /// Whether the route is deprecated.
    pub deprecated: bool,
    /// The status of a successful answer.
    pub status: u16,
    /// The media type of a successful answer (`application/json` unless the route says).
    pub media_type: &'static str,
    /// The parameters, in signature order.
    pub params: Vec<Param>,
    /// Whether several body parameters are embedded under their names.
    pub embed: bool,
}

impl RouteDoc {
    /// The path as OpenAPI writes it: converters dropped (`/files/{file_path}`).
    pub fn path_format(&self) -> String {
        let mut out = String::with_capacity(self.path.len());
        let mut in_param = false;
        let mut skipping = false;
        for c in self.path.chars() {
            match c {
                '{' => in_param = true,
                '}' => {
                    in_param = false;
                    skipping = false;
                }
                ':' if in_param => skipping = true,
                _ if skipping => continue,
                _ => {}
            }
            if !skipping || c == '}' {
                out.push(c);
            }
        }
        out
    }

    /// FastAPI's `operationId`: name, path and method, non-word characters as `_`
    /// (`read_item_items__item_id__get`).
    pub fn operation_id(&self) -> String {
        let raw = format!("{}{}", self.name, self.path_format());
        let id: String = raw
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{id}_{}", self.method)
    }
}

/// The OpenAPI operation object for `route`, registering body schemas in `schemas`.
///
/// # Example
///
/// ```
/// use wasgi::openapi::{RouteDoc, Schemas, operation};
///
/// let route = RouteDoc {
///     name: "root", method: "get", path: "/", description: None, tags: &[],
///     deprecated: false, status: 200, media_type: "application/json", params: vec![], embed: false,
/// };
/// let op = operation(&route, &mut Schemas::default());
/// assert_eq!(op["operationId"], "root__get");
/// assert_eq!(op["summary"], "Root");
/// ```
pub fn operation(route: &RouteDoc, schemas: &mut Schemas) -> Value {
    let mut op = Map::new();
    if !route.tags.is_empty() {
        op.insert("tags".into(), texts(route.tags));
    }
    op.insert("summary".into(), Value::String(title(route.name)));
    if let Some(description) = route.description {
        op.insert("description".into(), text(description));
    }
    let operation_id = route.operation_id();
    op.insert("operationId".into(), text(&operation_id));
    if route.deprecated {
        op.insert("deprecated".into(), Value::Bool(true));
    }
    let parameters: Vec<Value> = route
        .params
        .iter()
        .filter(|p| p.location != Location::Body)
        .map(|p| {
            let location = match p.location {
                Location::Path => "path",
                Location::Query => "query",
                Location::Header => "header",
                Location::Cookie => "cookie",
                Location::Body => unreachable!("filtered out"),
            };
            object(vec![
                ("name", text(&p.name)),
                ("in", text(location)),
                ("required", Value::Bool(p.required)),
                ("schema", p.schema.clone()),
            ])
        })
        .collect();
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    let bodies: Vec<&Param> = route
        .params
        .iter()
        .filter(|p| p.location == Location::Body)
        .collect();
    if let Some(schema) = body_schema(route, &bodies, &operation_id, schemas) {
        let required = bodies.iter().any(|p| p.required);
        let content = single("application/json", single("schema", schema));
        let mut body = vec![("content", content)];
        if required {
            body.push(("required", Value::Bool(true)));
        }
        op.insert("requestBody".into(), object(body));
    }
    let mut responses = Map::new();
    let any = Value::Object(Map::new());
    responses.insert(
        route.status.to_string(),
        response(
            "Successful Response",
            route.media_type,
            single("schema", any),
        ),
    );
    if !route.params.is_empty() {
        let errors = single("$ref", text("#/components/schemas/HTTPValidationError"));
        responses.insert(
            "422".into(),
            response(
                "Validation Error",
                "application/json",
                single("schema", errors),
            ),
        );
    }
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

/// The request body's schema: the one body parameter's own, or FastAPI's `Body_<operationId>`
/// object when several are embedded.
fn body_schema(
    route: &RouteDoc,
    bodies: &[&Param],
    operation_id: &str,
    schemas: &mut Schemas,
) -> Option<Value> {
    match bodies {
        [] => None,
        [single] if !route.embed => Some(single.schema.clone()),
        _ => {
            let name = format!("Body_{operation_id}");
            let properties: Map<String, Value> = bodies
                .iter()
                .map(|p| (p.name.clone(), p.schema.clone()))
                .collect();
            let required: Vec<&str> = bodies
                .iter()
                .filter(|p| p.required)
                .map(|p| p.name.as_str())
                .collect();
            Some(schemas.define(&name, |_| {
                object(vec![
                    ("properties", Value::Object(properties)),
                    ("type", text("object")),
                    ("required", texts(&required)),
                    ("title", text(&name)),
                ])
            }))
        }
    }
}

/// FastAPI's schemas of its 422 body.
pub(crate) fn define_validation_errors(schemas: &mut Schemas) {
    schemas.define("ValidationError", |_| {
        let location = Value::Array(vec![
            single("type", text("string")),
            single("type", text("integer")),
        ]);
        let location = object(vec![
            ("items", single("anyOf", location)),
            ("type", text("array")),
            ("title", text("Location")),
        ]);
        let properties = object(vec![
            ("loc", location),
            ("msg", titled("string", "Message")),
            ("type", titled("string", "Error Type")),
            ("input", single("title", text("Input"))),
            ("ctx", titled("object", "Context")),
        ]);
        object(vec![
            ("properties", properties),
            ("type", text("object")),
            ("required", texts(&["loc", "msg", "type"])),
            ("title", text("ValidationError")),
        ])
    });
    schemas.define("HTTPValidationError", |_| {
        let detail = object(vec![
            (
                "items",
                single("$ref", text("#/components/schemas/ValidationError")),
            ),
            ("type", text("array")),
            ("title", text("Detail")),
        ]);
        object(vec![
            ("properties", single("detail", detail)),
            ("type", text("object")),
            ("title", text("HTTPValidationError")),
        ])
    });
}

/// A model's schema from its fields' documentation, as Pydantic writes it.
pub fn object_schema(name: &str, fields: &[Param]) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|f| (f.name.clone(), f.schema.clone()))
        .collect();
    let required: Vec<&str> = fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name.as_str())
        .collect();
    let mut schema = vec![
        ("properties", Value::Object(properties)),
        ("type", text("object")),
    ];
    if !required.is_empty() {
        schema.push(("required", texts(&required)));
    }
    schema.push(("title", text(name)));
    object(schema)
}

/// A response object: `description`, and `schema` as the content of `media_type`.
fn response(description: &str, media_type: &str, schema: Value) -> Value {
    object(vec![
        ("description", text(description)),
        ("content", single(media_type, schema)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(name: &'static str, method: &'static str, path: &'static str) -> RouteDoc {
        RouteDoc {
            name,
            method,
            path,
            description: None,
            tags: &[],
            deprecated: false,
            status: 200,
            media_type: "application/json",
            params: vec![],
            embed: false,
        }
    }

    #[test]
    fn operation_ids_and_paths_follow_fastapi() {
        assert_eq!(
            route("read_item", "get", "/items/{item_id}").operation_id(),
            "read_item_items__item_id__get"
        );
        let files = route("read_file", "get", "/files/{file_path:path}");
        assert_eq!(files.path_format(), "/files/{file_path}");
        assert_eq!(files.operation_id(), "read_file_files__file_path__get");
        assert_eq!(route("root", "get", "/").operation_id(), "root__get");
    }
}
