//! Small out-of-line builders for the JSON the OpenAPI document is made of.
//!
//! `serde_json::json!` expands every key and value of a literal into inlined map insertions; at
//! `opt-level = 3` (a user's release build) the operation and 422 schemas written that way were
//! 28 KB of the hello component. Built with these calls, a literal compiles to a list of calls.

use serde_json::{Map, Value};

/// An object with `entries`, in that order (the crate keeps JSON objects in insertion order).
#[inline(never)]
pub(crate) fn object(entries: Vec<(&str, Value)>) -> Value {
    let mut map = Map::with_capacity(entries.len());
    for (key, value) in entries {
        map.insert(key.to_owned(), value);
    }
    Value::Object(map)
}

/// A JSON string.
#[inline(never)]
pub(crate) fn text(text: &str) -> Value {
    Value::String(text.to_owned())
}

/// An array of JSON strings.
#[inline(never)]
pub(crate) fn texts(texts: &[&str]) -> Value {
    Value::Array(texts.iter().map(|t| text(t)).collect())
}

/// `{"type": kind, "title": title}`: a titled property of a JSON type.
#[inline(never)]
pub(crate) fn titled(kind: &str, title: &str) -> Value {
    object(vec![("type", text(kind)), ("title", text(title))])
}

/// `{key: value}`.
#[inline(never)]
pub(crate) fn single(key: &str, value: Value) -> Value {
    object(vec![(key, value)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builders_make_the_json_they_name_in_order() {
        let built = object(vec![
            ("b", titled("string", "B")),
            ("a", texts(&["x", "y"])),
            ("c", single("$ref", text("#/x"))),
        ]);
        assert_eq!(
            built,
            json!({"b": {"type": "string", "title": "B"}, "a": ["x", "y"], "c": {"$ref": "#/x"}})
        );
        let keys: Vec<&String> = built.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["b", "a", "c"]);
    }
}
