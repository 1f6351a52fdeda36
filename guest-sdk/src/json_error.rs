//! Where and why a body is not JSON, in the words of Python's `json` module, because FastAPI's
//! `json_invalid` error quotes them: `loc: ["body", <character offset>]`, `ctx.error`.
//!
//! serde_json does the parsing; this scanner runs only when it fails, to find the offset and
//! message Python would give. It follows CPython's `json.scanner` and `json.decoder`.

/// The character offset and Python's message for the first error in `text`, or `None` if Python
/// would accept it (then the document uses something only Python allows, such as `NaN`).
pub(crate) fn python_json_error(text: &str) -> Option<(usize, &'static str)> {
    let chars: Vec<char> = text.chars().collect();
    let scanner = Scanner { chars: &chars };
    let end = match scanner.value(scanner.skip_ws(0)) {
        Ok(end) => end,
        Err(error) => return Some(error),
    };
    let end = scanner.skip_ws(end);
    (end < chars.len()).then_some((end, "Extra data"))
}

struct Scanner<'a> {
    chars: &'a [char],
}

type Scan = Result<usize, (usize, &'static str)>;

impl Scanner<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while matches!(self.at(i), Some(' ' | '\t' | '\n' | '\r')) {
            i += 1;
        }
        i
    }

    fn literal(&self, i: usize, word: &str) -> bool {
        word.chars()
            .enumerate()
            .all(|(k, c)| self.at(i + k) == Some(c))
    }

    /// Scans one value starting exactly at `i`; returns the index after it.
    fn value(&self, i: usize) -> Scan {
        const EXPECTING_VALUE: &str = "Expecting value";
        match self.at(i) {
            Some('"') => self.string(i),
            Some('{') => self.object(i + 1),
            Some('[') => self.array(i + 1),
            Some('n') if self.literal(i, "null") => Ok(i + 4),
            Some('t') if self.literal(i, "true") => Ok(i + 4),
            Some('f') if self.literal(i, "false") => Ok(i + 5),
            Some('N') if self.literal(i, "NaN") => Ok(i + 3),
            Some('I') if self.literal(i, "Infinity") => Ok(i + 8),
            Some('-') if self.literal(i, "-Infinity") => Ok(i + 9),
            Some('-' | '0'..='9') => self.number(i).ok_or((i, EXPECTING_VALUE)),
            _ => Err((i, EXPECTING_VALUE)),
        }
    }

    /// Python's `-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`; `None` if it matches nothing.
    fn number(&self, start: usize) -> Option<usize> {
        let digit = |i: usize| self.at(i).is_some_and(|c| c.is_ascii_digit());
        let mut i = start;
        if self.at(i) == Some('-') {
            i += 1;
        }
        match self.at(i) {
            Some('0') => i += 1,
            Some('1'..='9') => {
                while digit(i) {
                    i += 1;
                }
            }
            _ => return None,
        }
        if self.at(i) == Some('.') && digit(i + 1) {
            i += 1;
            while digit(i) {
                i += 1;
            }
        }
        if matches!(self.at(i), Some('e' | 'E')) {
            let mut j = i + 1;
            if matches!(self.at(j), Some('+' | '-')) {
                j += 1;
            }
            if digit(j) {
                while digit(j) {
                    j += 1;
                }
                i = j;
            }
        }
        Some(i)
    }

    fn string(&self, quote: usize) -> Scan {
        let mut i = quote + 1;
        loop {
            match self.at(i) {
                None => return Err((quote, "Unterminated string starting at")),
                Some('"') => return Ok(i + 1),
                Some('\\') => match self.at(i + 1) {
                    Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't') => i += 2,
                    Some('u') => {
                        let hex =
                            (2..6).all(|k| self.at(i + k).is_some_and(|c| c.is_ascii_hexdigit()));
                        if !hex {
                            return Err((i + 1, "Invalid \\uXXXX escape"));
                        }
                        i += 6;
                    }
                    None => return Err((quote, "Unterminated string starting at")),
                    Some(_) => return Err((i, "Invalid \\escape")),
                },
                Some(c) if (c as u32) < 0x20 => return Err((i, "Invalid control character at")),
                Some(_) => i += 1,
            }
        }
    }

    fn object(&self, after_brace: usize) -> Scan {
        const PROPERTY_NAME: &str = "Expecting property name enclosed in double quotes";
        let mut i = self.skip_ws(after_brace);
        if self.at(i) == Some('}') {
            return Ok(i + 1);
        }
        loop {
            if self.at(i) != Some('"') {
                return Err((i, PROPERTY_NAME));
            }
            i = self.skip_ws(self.string(i)?);
            if self.at(i) != Some(':') {
                return Err((i, "Expecting ':' delimiter"));
            }
            i = self.skip_ws(self.value(self.skip_ws(i + 1))?);
            match self.at(i) {
                Some('}') => return Ok(i + 1),
                Some(',') => i = self.skip_ws(i + 1),
                _ => return Err((i, "Expecting ',' delimiter")),
            }
        }
    }

    fn array(&self, after_bracket: usize) -> Scan {
        let mut i = self.skip_ws(after_bracket);
        if self.at(i) == Some(']') {
            return Ok(i + 1);
        }
        loop {
            i = self.skip_ws(self.value(i)?);
            match self.at(i) {
                Some(']') => return Ok(i + 1),
                Some(',') => i = self.skip_ws(i + 1),
                _ => return Err((i, "Expecting ',' delimiter")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::python_json_error as error;

    #[test]
    fn offsets_and_messages_match_python() {
        assert_eq!(error(""), Some((0, "Expecting value")));
        assert_eq!(error("  "), Some((2, "Expecting value")));
        assert_eq!(
            error("{"),
            Some((1, "Expecting property name enclosed in double quotes"))
        );
        assert_eq!(error(r#"{"a" 1}"#), Some((5, "Expecting ':' delimiter")));
        assert_eq!(
            error(r#"{"a": 1 "b": 2}"#),
            Some((8, "Expecting ',' delimiter"))
        );
        assert_eq!(
            error(r#"{"a": 1,}"#),
            Some((8, "Expecting property name enclosed in double quotes"))
        );
        assert_eq!(error("[1,]"), Some((3, "Expecting value")));
        assert_eq!(
            error(r#"{"a": "x"#),
            Some((6, "Unterminated string starting at"))
        );
        assert_eq!(error(r#"{"a": tru}"#), Some((6, "Expecting value")));
        assert_eq!(error("01"), Some((1, "Extra data")));
        assert_eq!(error("{} x"), Some((3, "Extra data")));
        assert_eq!(error(r#""\x""#), Some((1, "Invalid \\escape")));
        assert_eq!(
            error("\"a\u{1}\""),
            Some((2, "Invalid control character at"))
        );
        // Offsets count characters, not bytes.
        assert_eq!(error(r#"{"é": x}"#), Some((6, "Expecting value")));
    }

    #[test]
    fn what_python_accepts_has_no_error() {
        assert_eq!(
            error(r#"{"a": [1, -2.5e3, "x\u00e9", null, true, false, {}]}"#),
            None
        );
        assert_eq!(error("NaN"), None);
    }
}
