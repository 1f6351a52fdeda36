//! Path templates such as `/items/{item_id}` and `/files/{file_path:path}`, matched the way
//! Starlette matches them.

use std::fmt;

/// A parsed route path: literal text and named parameters.
///
/// A `{name}` parameter matches one or more characters other than `/`; a `{name:path}`
/// parameter matches anything, slashes included (possibly nothing). Matching is against the
/// percent-decoded path, as in Starlette, and prefers the longest value for earlier parameters.
///
/// # Example
///
/// ```
/// use wasgi::PathTemplate;
///
/// let template = PathTemplate::parse("/files/{file_path:path}").unwrap();
/// let params = template.matches("/files/home/johndoe/myfile.txt").unwrap();
/// assert_eq!(params, [("file_path".to_owned(), "home/johndoe/myfile.txt".to_owned())]);
/// assert!(PathTemplate::parse("/items/{id}").unwrap().matches("/items/").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    template: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Param { name: String, kind: ParamKind },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParamKind {
    /// `[^/]+`
    Segment,
    /// `.*`
    Path,
}

/// Captured `(name, value)` pairs, in template order.
pub type PathParams = Vec<(String, String)>;

impl PathTemplate {
    /// Parses `template`, rejecting what Starlette rejects: a path not starting with `/`, an
    /// unclosed or empty `{}`, an unknown converter, a parameter named twice.
    ///
    /// # Example
    ///
    /// ```
    /// use wasgi::PathTemplate;
    ///
    /// assert!(PathTemplate::parse("/users/{user_id}/items/{item_id}").is_ok());
    /// let error = PathTemplate::parse("/a/{x}/{x}").unwrap_err();
    /// assert_eq!(error.to_string(), "path `/a/{x}/{x}` names parameter `x` twice");
    /// ```
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        let error = |why: String| TemplateError(format!("path `{template}` {why}"));
        if !template.starts_with('/') {
            return Err(error("must start with `/`".to_owned()));
        }
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| error("has a `{` without a closing `}`".to_owned()))?;
            let inner = &rest[open + 1..open + close];
            let (name, converter) = inner.split_once(':').unwrap_or((inner, "str"));
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(error(format!("has an invalid parameter name `{name}`")));
            }
            let kind = match converter {
                "str" => ParamKind::Segment,
                "path" => ParamKind::Path,
                other => {
                    return Err(error(format!(
                        "uses unknown converter `{other}` (known: `str`, `path`)"
                    )));
                }
            };
            if parts
                .iter()
                .any(|part| matches!(part, Part::Param { name: n, .. } if n == name))
            {
                return Err(error(format!("names parameter `{name}` twice")));
            }
            parts.push(Part::Param {
                name: name.to_owned(),
                kind,
            });
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(PathTemplate {
            template: template.to_owned(),
            parts,
        })
    }

    /// The template as written.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(wasgi::PathTemplate::parse("/a/{b}").unwrap().as_str(), "/a/{b}");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.template
    }

    /// The parameter names, in order.
    ///
    /// # Example
    ///
    /// ```
    /// let template = wasgi::PathTemplate::parse("/u/{user}/f/{file:path}").unwrap();
    /// assert_eq!(template.param_names().collect::<Vec<_>>(), ["user", "file"]);
    /// ```
    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Param { name, .. } => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// The captured parameters if `path` matches the whole template.
    pub fn matches(&self, path: &str) -> Option<PathParams> {
        let mut params = Vec::new();
        match_parts(&self.parts, path, &mut params).then_some(params)
    }
}

fn match_parts(parts: &[Part], path: &str, params: &mut PathParams) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return path.is_empty();
    };
    match first {
        Part::Literal(literal) => path
            .strip_prefix(literal.as_str())
            .is_some_and(|path| match_parts(rest, path, params)),
        Part::Param { name, kind } => {
            let (longest, shortest) = match kind {
                ParamKind::Segment => (path.find('/').unwrap_or(path.len()), 1),
                ParamKind::Path => (path.len(), 0),
            };
            // Greedy, like the regular expressions Starlette compiles templates into.
            for end in (shortest..=longest)
                .rev()
                .filter(|&end| path.is_char_boundary(end))
            {
                params.push((name.clone(), path[..end].to_owned()));
                if match_parts(rest, &path[end..], params) {
                    return true;
                }
                params.pop();
            }
            false
        }
    }
}

/// A route path that cannot be parsed; the message names the path and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(template: &str, path: &str) -> Option<Vec<(String, String)>> {
        PathTemplate::parse(template).unwrap().matches(path)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn literal_paths_match_exactly() {
        assert_eq!(params("/", "/"), Some(vec![]));
        assert_eq!(params("/items", "/items"), Some(vec![]));
        assert_eq!(params("/items", "/items/"), None);
        assert_eq!(params("/items", "/item"), None);
    }

    #[test]
    fn segment_params_stop_at_slashes_and_need_a_character() {
        assert_eq!(
            params("/items/{id}", "/items/42"),
            Some(pairs(&[("id", "42")]))
        );
        assert_eq!(params("/items/{id}", "/items/4/2"), None);
        assert_eq!(params("/items/{id}", "/items/"), None);
        assert_eq!(
            params("/items/{id}", "/items/héllo wörld"),
            Some(pairs(&[("id", "héllo wörld")]))
        );
    }

    #[test]
    fn path_params_take_slashes_and_may_be_empty() {
        assert_eq!(
            params("/files/{p:path}", "/files/a/b/c.txt"),
            Some(pairs(&[("p", "a/b/c.txt")]))
        );
        assert_eq!(
            params("/files/{p:path}", "/files//etc/passwd"),
            Some(pairs(&[("p", "/etc/passwd")]))
        );
        assert_eq!(
            params("/files/{p:path}", "/files/"),
            Some(pairs(&[("p", "")]))
        );
        assert_eq!(params("/files/{p:path}", "/files"), None);
    }

    #[test]
    fn params_inside_segments_backtrack_like_a_regex() {
        assert_eq!(
            params("/{name}.{ext}", "/archive.tar.gz"),
            Some(pairs(&[("name", "archive.tar"), ("ext", "gz")]))
        );
        assert_eq!(
            params("/{a:path}/edit", "/x/y/edit"),
            Some(pairs(&[("a", "x/y")]))
        );
    }

    #[test]
    fn bad_templates_are_rejected_with_reasons() {
        let error = |t: &str| PathTemplate::parse(t).unwrap_err().to_string();
        assert_eq!(error("items"), "path `items` must start with `/`");
        assert_eq!(
            error("/items/{id"),
            "path `/items/{id` has a `{` without a closing `}`"
        );
        assert_eq!(
            error("/items/{}"),
            "path `/items/{}` has an invalid parameter name ``"
        );
        assert_eq!(
            error("/items/{id:uuid}"),
            "path `/items/{id:uuid}` uses unknown converter `uuid` (known: `str`, `path`)"
        );
    }
}
