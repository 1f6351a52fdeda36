//! Pydantic's lax-mode rules for integers, floats, booleans and strings.

use serde_json::{Value, json};

use super::constraints::{check_number, check_string};
use super::{Constraints, Errors, Input, Validate};
use crate::openapi::Schemas;

const INT_PARSING: &str = "Input should be a valid integer, unable to parse string as an integer";
const FLOAT_PARSING: &str = "Input should be a valid number, unable to parse string as a number";
const BOOL_PARSING: &str = "Input should be a valid boolean, unable to interpret input";

/// An integer read from text, as Pydantic reads one: surrounding whitespace, a sign, `_` between
/// digits and a fraction of zeros (`"5.0"`) are accepted. `Err(true)` is a well-formed integer
/// too large for `i128`, signed by the sign it had.
fn parse_int(text: &str) -> Result<i128, Option<bool>> {
    let text = text.trim();
    let text = match text.find('.') {
        Some(dot) if text[dot + 1..].bytes().all(|b| b == b'0') => &text[..dot],
        _ => text,
    };
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if !well_formed_digits(digits) {
        return Err(None);
    }
    let mut value: i128 = 0;
    for digit in digits.bytes().filter(|b| *b != b'_') {
        let digit = i128::from(digit - b'0');
        value = value
            .checked_mul(10)
            .and_then(|v| {
                if negative {
                    v.checked_sub(digit)
                } else {
                    v.checked_add(digit)
                }
            })
            .ok_or(Some(negative))?;
    }
    Ok(value)
}

/// ASCII digits, with single underscores only between digits.
fn well_formed_digits(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    !bytes.is_empty()
        && bytes[0].is_ascii_digit()
        && bytes[bytes.len() - 1].is_ascii_digit()
        && bytes.iter().all(|b| b.is_ascii_digit() || *b == b'_')
        && !digits.contains("__")
}

/// An integer from any input, before its width is checked; `Err` means an error was recorded.
fn int_from_input(input: Input<'_>, errors: &mut Errors) -> Result<i128, ()> {
    let parsed = match (input.text(), input) {
        (Some(text), _) => parse_int(text),
        (None, Input::Json(Value::Bool(b))) => Ok(i128::from(*b)),
        (None, Input::Json(Value::Number(n))) => {
            if let Some(i) = n.as_i64() {
                Ok(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                Ok(i128::from(u))
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() != 0.0 {
                    let msg =
                        "Input should be a valid integer, got a number with a fractional part";
                    errors.add("int_from_float", msg, input.to_value(), None);
                    return Err(());
                }
                // Beyond i128, a JSON number is still an integer: too large for any width.
                if f.abs() < 1.0e38 {
                    Ok(f as i128)
                } else {
                    Err(Some(f < 0.0))
                }
            }
        }
        (None, _) => {
            errors.add(
                "int_type",
                "Input should be a valid integer",
                input.to_value(),
                None,
            );
            return Err(());
        }
    };
    match parsed {
        Ok(value) => Ok(value),
        Err(None) => {
            errors.add("int_parsing", INT_PARSING, input.to_value(), None);
            Err(())
        }
        // Well-formed but huge: reported against the width's bound, below.
        Err(Some(true)) => Ok(i128::MIN),
        Err(Some(false)) => Ok(i128::MAX),
    }
}

macro_rules! integers {
    ($($int:ty),*) => {$(
        impl Validate for $int {
            fn validate(input: Input<'_>, errors: &mut Errors) -> Option<Self> {
                let value = int_from_input(input, errors).ok()?;
                // A Rust integer has a width; outside it is as if the field said `ge`/`le`.
                if value < <$int>::MIN as i128 {
                    let min = <$int>::MIN;
                    let msg = format!("Input should be greater than or equal to {min}");
                    errors.add("greater_than_equal", msg, input.to_value(), Some(json!({"ge": min})));
                    return None;
                }
                if value > <$int>::MAX as i128 {
                    let max = <$int>::MAX;
                    let msg = format!("Input should be less than or equal to {max}");
                    errors.add("less_than_equal", msg, input.to_value(), Some(json!({"le": max})));
                    return None;
                }
                Some(value as $int)
            }

            fn check(&self, c: &Constraints, input: Input<'_>, errors: &mut Errors) -> bool {
                check_number(*self as f64, false, c, input, errors)
            }

            fn schema(_: &mut Schemas) -> Value {
                json!({"type": "integer"})
            }
        }
    )*};
}

integers!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

/// A float read from text, as Python's `float()` reads one.
fn parse_float(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.contains('_') {
        // `_` only between digits, as in `1_000.5`.
        let bytes = text.as_bytes();
        let ok = bytes.iter().enumerate().all(|(i, b)| {
            *b != b'_'
                || (i > 0
                    && i + 1 < bytes.len()
                    && bytes[i - 1].is_ascii_digit()
                    && bytes[i + 1].is_ascii_digit())
        });
        return if ok {
            text.replace('_', "").parse().ok()
        } else {
            None
        };
    }
    text.parse().ok()
}

macro_rules! floats {
    ($($float:ty),*) => {$(
        impl Validate for $float {
            fn validate(input: Input<'_>, errors: &mut Errors) -> Option<Self> {
                let value = match (input.text(), input) {
                    (Some(text), _) => parse_float(text),
                    (None, Input::Json(Value::Number(n))) => n.as_f64(),
                    (None, Input::Json(Value::Bool(b))) => Some(f64::from(u8::from(*b))),
                    (None, _) => {
                        errors.add("float_type", "Input should be a valid number", input.to_value(), None);
                        return None;
                    }
                };
                match value {
                    Some(value) => Some(value as $float),
                    None => {
                        errors.add("float_parsing", FLOAT_PARSING, input.to_value(), None);
                        None
                    }
                }
            }

            fn check(&self, c: &Constraints, input: Input<'_>, errors: &mut Errors) -> bool {
                check_number(f64::from(*self), true, c, input, errors)
            }

            fn schema(_: &mut Schemas) -> Value {
                json!({"type": "number"})
            }
        }
    )*};
}

floats!(f32, f64);

/// Pydantic's spellings of a boolean, compared case-insensitively.
fn parse_bool(text: &str) -> Option<bool> {
    const TRUE: [&str; 6] = ["1", "on", "t", "true", "y", "yes"];
    const FALSE: [&str; 6] = ["0", "off", "f", "false", "n", "no"];
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(text)) {
        Some(true)
    } else if FALSE.iter().any(|f| f.eq_ignore_ascii_case(text)) {
        Some(false)
    } else {
        None
    }
}

impl Validate for bool {
    fn schema(_: &mut Schemas) -> Value {
        json!({"type": "boolean"})
    }

    fn validate(input: Input<'_>, errors: &mut Errors) -> Option<Self> {
        let value = match (input.text(), input) {
            (Some(text), _) => parse_bool(text),
            (None, Input::Json(Value::Bool(b))) => Some(*b),
            (None, Input::Json(Value::Number(n))) => match n.as_f64() {
                Some(0.0) => Some(false),
                Some(1.0) => Some(true),
                _ => None,
            },
            (None, _) => {
                errors.add(
                    "bool_type",
                    "Input should be a valid boolean",
                    input.to_value(),
                    None,
                );
                return None;
            }
        };
        if value.is_none() {
            errors.add("bool_parsing", BOOL_PARSING, input.to_value(), None);
        }
        value
    }
}

impl Validate for String {
    fn schema(_: &mut Schemas) -> Value {
        json!({"type": "string"})
    }

    fn check(&self, c: &Constraints, input: Input<'_>, errors: &mut Errors) -> bool {
        check_string(self, c, input, errors)
    }

    fn validate(input: Input<'_>, errors: &mut Errors) -> Option<Self> {
        match input.text() {
            Some(text) => Some(text.to_owned()),
            None => {
                let other = input.to_value();
                errors.add("string_type", "Input should be a valid string", other, None);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_str<T: Validate>(text: &str) -> Result<T, (&'static str, Value)> {
        let mut errors = Errors::new();
        T::validate(Input::Str(text), &mut errors).ok_or_else(|| {
            let error = &errors.as_slice()[0];
            (
                error.kind,
                error.ctx.clone().map(Value::Object).unwrap_or(Value::Null),
            )
        })
    }

    fn from_json<T: Validate>(value: Value) -> Result<T, &'static str> {
        let mut errors = Errors::new();
        T::validate(Input::Json(&value), &mut errors).ok_or_else(|| errors.as_slice()[0].kind)
    }

    #[test]
    fn ints_from_text_follow_pydantic() {
        for (text, value) in [
            ("5", 5),
            (" 5", 5),
            ("+5", 5),
            ("-5", -5),
            ("5.0", 5),
            ("5.", 5),
            ("1_000", 1000),
            ("007", 7),
        ] {
            assert_eq!(from_str::<i64>(text), Ok(value), "{text:?}");
        }
        for text in [
            "", "5.5", "1e3", "５", "1__0", "_1", "1_", "abc", "0x10", "- 5",
        ] {
            assert_eq!(
                from_str::<i64>(text).unwrap_err().0,
                "int_parsing",
                "{text:?}"
            );
        }
    }

    #[test]
    fn ints_outside_their_width_fail_against_the_width() {
        assert_eq!(
            from_str::<u8>("256"),
            Err(("less_than_equal", json!({"le": 255})))
        );
        assert_eq!(
            from_str::<u8>("-1"),
            Err(("greater_than_equal", json!({"ge": 0})))
        );
        assert_eq!(
            from_str::<i64>("123456789012345678901234567890123456789012"),
            Err(("less_than_equal", json!({"le": i64::MAX})))
        );
        assert_eq!(
            from_str::<i128>("123456789012345678901234567890"),
            Ok(123456789012345678901234567890)
        );
    }

    #[test]
    fn ints_from_json_follow_pydantic() {
        assert_eq!(from_json::<i32>(json!(5)), Ok(5));
        assert_eq!(from_json::<i32>(json!(5.0)), Ok(5));
        assert_eq!(from_json::<i32>(json!("30.0")), Ok(30));
        assert_eq!(from_json::<i32>(json!(true)), Ok(1));
        assert_eq!(from_json::<i32>(json!(5.5)), Err("int_from_float"));
        assert_eq!(from_json::<i32>(json!(null)), Err("int_type"));
        assert_eq!(from_json::<i32>(json!([1])), Err("int_type"));
    }

    #[test]
    fn floats_follow_python() {
        for (text, value) in [
            ("5", 5.0),
            (".5", 0.5),
            ("1e3", 1000.0),
            ("1_0", 10.0),
            (" -0 ", -0.0),
            ("inf", f64::INFINITY),
        ] {
            assert_eq!(from_str::<f64>(text), Ok(value), "{text:?}");
        }
        assert!(from_str::<f64>("nan").unwrap().is_nan());
        for text in ["", "abc", "1__0", "_1", "1e"] {
            assert_eq!(
                from_str::<f64>(text).unwrap_err().0,
                "float_parsing",
                "{text:?}"
            );
        }
        assert_eq!(from_json::<f64>(json!(null)), Err("float_type"));
        assert_eq!(from_json::<f64>(json!("2.5")), Ok(2.5));
    }

    #[test]
    fn bools_accept_pydantics_spellings_only() {
        for text in ["1", "true", "TRUE", "on", "Yes", "t", "y"] {
            assert_eq!(from_str::<bool>(text), Ok(true), "{text:?}");
        }
        for text in ["0", "false", "OFF", "f", "no", "n"] {
            assert_eq!(from_str::<bool>(text), Ok(false), "{text:?}");
        }
        for text in ["", " true ", "2", "truthy"] {
            assert_eq!(
                from_str::<bool>(text).unwrap_err().0,
                "bool_parsing",
                "{text:?}"
            );
        }
        assert_eq!(from_json::<bool>(json!(1)), Ok(true));
        assert_eq!(from_json::<bool>(json!(2)), Err("bool_parsing"));
        assert_eq!(from_json::<bool>(json!(null)), Err("bool_type"));
    }

    #[test]
    fn strings_come_only_from_strings_in_json() {
        assert_eq!(from_json::<String>(json!("x")), Ok("x".to_owned()));
        assert_eq!(from_json::<String>(json!(5)), Err("string_type"));
        assert_eq!(from_json::<String>(json!(null)), Err("string_type"));
    }
}
