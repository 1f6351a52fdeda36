//! The pieces `#[derive(Model)]` builds a model's validation from.

use serde_json::{Map, Value};

use super::{Constraints, Errors, Input, Validate};

/// The JSON object a model is validated from, or Pydantic's `model_attributes_type` error.
pub fn object<'a>(input: Input<'a>, errors: &mut Errors) -> Option<&'a Map<String, Value>> {
    match input {
        Input::Json(Value::Object(object)) => Some(object),
        _ => {
            let msg = "Input should be a valid dictionary or object to extract fields from";
            errors.add("model_attributes_type", msg, input.to_value(), None);
            None
        }
    }
}

/// One field of a model: validated from `object[key]`, or its default, or `missing` (whose
/// `input` is the whole object, as in Pydantic).
pub fn field<T: Validate>(
    object: &Map<String, Value>,
    key: &str,
    constraints: &Constraints,
    default: Option<fn() -> T>,
    whole: Input<'_>,
    errors: &mut Errors,
) -> Option<T> {
    errors.push(key);
    let result = match object.get(key) {
        Some(value) => T::validate(Input::Json(value), errors)
            .filter(|valid| valid.check(constraints, Input::Json(value), errors)),
        None => {
            let value = default.map(|make| make()).or_else(T::absent);
            if value.is_none() {
                errors.missing(whole.to_value());
            }
            value
        }
    };
    errors.pop();
    result
}
