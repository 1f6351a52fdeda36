//! JSON Schemas: the `components/schemas` registry, constraint keywords and titles.

use serde_json::{Map, Value, json};

use crate::validation::{Bound, Constraints};

/// The schemas of named types (models, enums, multi-part bodies), referenced as
/// `#/components/schemas/Name`.
///
/// # Example
///
/// ```
/// use wasgi::openapi::Schemas;
/// use wasgi::validation::Validate;
///
/// let mut schemas = Schemas::default();
/// assert_eq!(Option::<Vec<i64>>::schema(&mut schemas), serde_json::json!({
///     "anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}]
/// }));
/// assert!(schemas.is_empty());
/// ```
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Schemas {
    map: Map<String, Value>,
}

impl Schemas {
    /// Registers `schema` under `name` and returns a reference to it. A name registered already
    /// keeps its schema, so recursive models terminate.
    pub fn define(&mut self, name: &str, schema: impl FnOnce(&mut Schemas) -> Value) -> Value {
        if !self.map.contains_key(name) {
            // A placeholder first: a model that contains itself finds its name taken.
            self.map.insert(name.to_owned(), json!({}));
            let schema = schema(self);
            self.map.insert(name.to_owned(), schema);
        }
        json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    /// Whether no schema is registered.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The registered schemas, sorted by name as FastAPI sorts them.
    pub fn into_map(self) -> Map<String, Value> {
        let mut entries: Vec<(String, Value)> = self.map.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.into_iter().collect()
    }
}

/// Adds `constraints` as JSON Schema keywords. In an `anyOf` (an `Option`), they go to the
/// non-null branch, as Pydantic puts them.
///
/// # Example
///
/// ```
/// use wasgi::openapi::constrain;
/// use wasgi::validation::{Bound, Constraints};
///
/// let c = Constraints { gt: Some(Bound::Int(0)), max_length: Some(5), ..Constraints::NONE };
/// let schema = constrain(serde_json::json!({"type": "integer"}), &c);
/// assert_eq!(schema, serde_json::json!({"type": "integer", "maxLength": 5, "exclusiveMinimum": 0}));
/// ```
pub fn constrain(mut schema: Value, c: &Constraints) -> Value {
    let target = match schema.get_mut("anyOf").and_then(Value::as_array_mut) {
        Some(branches) => branches
            .iter_mut()
            .find(|branch| branch.get("type") != Some(&json!("null"))),
        None => Some(&mut schema),
    };
    let Some(Value::Object(target)) = target else {
        return schema;
    };
    let bound = |b: Bound| match b {
        Bound::Int(i) => i64::try_from(i).map_or_else(|_| json!(i as f64), |i| json!(i)),
        Bound::Float(f) => json!(f),
    };
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            target.insert(key.to_owned(), value);
        }
    };
    put("minLength", c.min_length.map(|n| json!(n)));
    put("maxLength", c.max_length.map(|n| json!(n)));
    put("pattern", c.pattern.map(|p| json!(p.as_str())));
    put("exclusiveMinimum", c.gt.map(bound));
    put("minimum", c.ge.map(bound));
    put("exclusiveMaximum", c.lt.map(bound));
    put("maximum", c.le.map(bound));
    schema
}

/// FastAPI's title for a parameter or field: `item_id` → `Item Id`, `user-agent` → `User-Agent`
/// (Python's `name.replace("_", " ").title()`).
///
/// # Example
///
/// ```
/// assert_eq!(wasgi::openapi::title("full_name"), "Full Name");
/// assert_eq!(wasgi::openapi::title("x-token"), "X-Token");
/// assert_eq!(wasgi::openapi::title("item2name"), "Item2Name");
/// ```
pub fn title(name: &str) -> String {
    let mut title = String::with_capacity(name.len());
    let mut start = true;
    for c in name.replace('_', " ").chars() {
        if c.is_alphabetic() {
            if start {
                title.extend(c.to_uppercase());
            } else {
                title.extend(c.to_lowercase());
            }
            start = false;
        } else {
            title.push(c);
            start = true;
        }
    }
    title
}
