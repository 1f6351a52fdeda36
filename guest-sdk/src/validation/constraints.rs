//! Field constraints (`min_length`, `pattern`, `gt`, `le`, ...), declared once and checked the
//! way Pydantic checks them: the first one that fails is the error.

use std::cell::RefCell;
use std::fmt;

use serde_json::{Value, json};

use super::{Errors, Input};

/// A numeric bound as written in a constraint: `gt = 0` or `le = 1000.5`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// An integer literal.
    Int(i128),
    /// A float literal.
    Float(f64),
}

impl Bound {
    fn as_f64(self) -> f64 {
        match self {
            Bound::Int(i) => i as f64,
            Bound::Float(f) => f,
        }
    }

    /// As `ctx` shows it: a float field's bounds are floats (`{"gt": 0.0}`), an int field's
    /// are as written.
    fn ctx(self, float_field: bool) -> Value {
        match self {
            Bound::Int(i) if float_field => json!(i as f64),
            Bound::Int(i) => i64::try_from(i).map_or_else(|_| json!(i as f64), |i| json!(i)),
            Bound::Float(f) => json!(f),
        }
    }

    /// As the message shows it: `0`, `1000`, `0.5`.
    fn display(self) -> String {
        match self {
            Bound::Int(i) => i.to_string(),
            Bound::Float(f) => f.to_string(),
        }
    }
}

/// The constraints of one field or parameter. Every field is optional; `NONE` has none.
///
/// # Example
///
/// ```
/// use wasgi::validation::{Bound, Constraints, Errors, Input, Validate};
///
/// let limit = Constraints { ge: Some(Bound::Int(1)), le: Some(Bound::Int(100)), ..Constraints::NONE };
/// let mut errors = Errors::new();
/// assert!(!101i64.check(&limit, Input::Str("101"), &mut errors));
/// assert_eq!(errors.as_slice()[0].msg, "Input should be less than or equal to 100");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constraints {
    /// Strings: at least this many characters (code points).
    pub min_length: Option<usize>,
    /// Strings: at most this many characters.
    pub max_length: Option<usize>,
    /// Strings: must contain a match of this regular expression (anchor it with `^...$`).
    pub pattern: Option<Pattern>,
    /// Numbers: greater than.
    pub gt: Option<Bound>,
    /// Numbers: greater than or equal.
    pub ge: Option<Bound>,
    /// Numbers: less than.
    pub lt: Option<Bound>,
    /// Numbers: less than or equal.
    pub le: Option<Bound>,
}

impl Constraints {
    /// No constraints.
    pub const NONE: Constraints = Constraints {
        min_length: None,
        max_length: None,
        pattern: None,
        gt: None,
        ge: None,
        lt: None,
        le: None,
    };
}

/// A `pattern` constraint: a regular expression, as written, and what matches it.
///
/// The regex engine is reached only through the function pointer that [`Pattern::new`] stores,
/// so an app that declares no pattern does not link it: that keeps a Wasm component without
/// patterns a few hundred kilobytes smaller.
///
/// # Example
///
/// ```
/// use wasgi::validation::Pattern;
///
/// let username = Pattern::new("^[a-z0-9_]+$");
/// assert!(username.is_match("dave_grohl"));
/// assert!(!username.is_match("Dave Grohl"));
/// assert_eq!(username.as_str(), "^[a-z0-9_]+$");
/// ```
#[derive(Clone, Copy)]
pub struct Pattern {
    source: &'static str,
    matches: fn(&'static str, &str) -> bool,
}

impl Pattern {
    /// The constraint `pattern = source`.
    ///
    /// # Panics
    ///
    /// When first matched, if `source` is not a valid regular expression: patterns are fixed by
    /// the app's author, so one that doesn't compile is a bug there.
    pub const fn new(source: &'static str) -> Self {
        Pattern {
            source,
            matches: regex_matches,
        }
    }

    /// The regular expression as written.
    pub fn as_str(&self) -> &'static str {
        self.source
    }

    /// Whether `value` contains a match.
    pub fn is_match(&self, value: &str) -> bool {
        (self.matches)(self.source, value)
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pattern").field(&self.source).finish()
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// Compiles each pattern once per thread (once per request in a Wasm instance, which lives for
/// one request) and matches `value` against it.
fn regex_matches(pattern: &'static str, value: &str) -> bool {
    thread_local! {
        static COMPILED: RefCell<Vec<(&'static str, regex::Regex)>> = const { RefCell::new(Vec::new()) };
    }
    COMPILED.with_borrow_mut(|compiled| {
        if let Some((_, regex)) = compiled.iter().find(|(source, _)| *source == pattern) {
            return regex.is_match(value);
        }
        let regex = regex::Regex::new(pattern)
            .unwrap_or_else(|error| panic!("invalid pattern `{pattern}`: {error}"));
        let matched = regex.is_match(value);
        compiled.push((pattern, regex));
        matched
    })
}

/// One numeric constraint: its bound, the test a value must pass, and how a failure reads.
struct NumberCheck {
    bound: Option<Bound>,
    passes: fn(f64, f64) -> bool,
    kind: &'static str,
    key: &'static str,
    words: &'static str,
}

/// Checks a number against `c`'s bounds; `float_field` says how `ctx` shows them.
pub(super) fn check_number(
    value: f64,
    float_field: bool,
    c: &Constraints,
    input: Input<'_>,
    errors: &mut Errors,
) -> bool {
    // Pydantic's order; a NaN fails the first comparison it meets.
    let checks = [
        NumberCheck {
            bound: c.le,
            passes: |v, b| v <= b,
            kind: "less_than_equal",
            key: "le",
            words: "less than or equal to",
        },
        NumberCheck {
            bound: c.lt,
            passes: |v, b| v < b,
            kind: "less_than",
            key: "lt",
            words: "less than",
        },
        NumberCheck {
            bound: c.ge,
            passes: |v, b| v >= b,
            kind: "greater_than_equal",
            key: "ge",
            words: "greater than or equal to",
        },
        NumberCheck {
            bound: c.gt,
            passes: |v, b| v > b,
            kind: "greater_than",
            key: "gt",
            words: "greater than",
        },
    ];
    for check in checks {
        if let Some(bound) = check.bound
            && !(check.passes)(value, bound.as_f64())
        {
            let msg = format!("Input should be {} {}", check.words, bound.display());
            let ctx = json!({ check.key: bound.ctx(float_field) });
            errors.add(check.kind, msg, input.to_value(), Some(ctx));
            return false;
        }
    }
    true
}

/// Checks a string against `c`'s lengths and pattern.
pub(super) fn check_string(
    value: &str,
    c: &Constraints,
    input: Input<'_>,
    errors: &mut Errors,
) -> bool {
    {
        let length = value.chars().count();
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        if let Some(min) = c.min_length
            && length < min
        {
            let msg = format!("String should have at least {min} character{}", plural(min));
            errors.add(
                "string_too_short",
                msg,
                input.to_value(),
                Some(json!({"min_length": min})),
            );
            return false;
        }
        if let Some(max) = c.max_length
            && length > max
        {
            let msg = format!("String should have at most {max} character{}", plural(max));
            errors.add(
                "string_too_long",
                msg,
                input.to_value(),
                Some(json!({"max_length": max})),
            );
            return false;
        }
        if let Some(pattern) = c.pattern {
            // Patterns are fixed by the app's author; one that doesn't compile is a bug there.
            if !pattern.is_match(value) {
                let pattern = pattern.as_str();
                let msg = format!("String should match pattern '{pattern}'");
                errors.add(
                    "string_pattern_mismatch",
                    msg,
                    input.to_value(),
                    Some(json!({"pattern": pattern})),
                );
                return false;
            }
        }
        true
    }
}
