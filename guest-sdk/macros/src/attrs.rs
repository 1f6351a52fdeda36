//! Parsing of constraint lists — `min_length = 3, pattern = "^a", gt = 0, default = 10` —
//! shared by route parameters and model fields.

use proc_macro2::TokenStream;
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ExprUnary, Lit, LitStr, Meta, Token, UnOp};

/// What a parameter or field declares about itself.
#[derive(Default)]
pub struct Options {
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub pattern: Option<LitStr>,
    pub gt: Option<TokenStream>,
    pub ge: Option<TokenStream>,
    pub lt: Option<TokenStream>,
    pub le: Option<TokenStream>,
    /// `default` alone (`Default::default()`) or `default = expr`.
    pub default: Option<TokenStream>,
    pub alias: Option<LitStr>,
    /// Route body parameters only.
    pub embed: bool,
    /// Header parameters only; `true` unless set.
    pub convert_underscores: Option<bool>,
}

/// Which keys a given attribute accepts, for errors that list them.
pub const CONSTRAINT_KEYS: &[&str] = &[
    "min_length",
    "max_length",
    "pattern",
    "gt",
    "ge",
    "lt",
    "le",
    "default",
    "alias",
];

impl Options {
    /// Parses the arguments of `attr` (which may have none), accepting `extra` keys beyond the
    /// constraints.
    pub fn parse(attr: &syn::Attribute, extra: &[&str]) -> syn::Result<Options> {
        let mut options = Options::default();
        if matches!(attr.meta, Meta::Path(_)) {
            return Ok(options);
        }
        let metas = attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
        for meta in metas {
            let key = meta
                .path()
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            match (&meta, key.as_str()) {
                (Meta::Path(_), "default") => {
                    options.default = Some(quote!(::core::default::Default::default()))
                }
                (Meta::Path(_), "embed") if extra.contains(&"embed") => options.embed = true,
                (Meta::NameValue(nv), _) => {
                    let value = &nv.value;
                    match key.as_str() {
                        "min_length" => options.min_length = Some(usize_literal(value)?),
                        "max_length" => options.max_length = Some(usize_literal(value)?),
                        "pattern" => options.pattern = Some(str_literal(value)?),
                        "alias" => options.alias = Some(str_literal(value)?),
                        "gt" => options.gt = Some(bound(value)?),
                        "ge" => options.ge = Some(bound(value)?),
                        "lt" => options.lt = Some(bound(value)?),
                        "le" => options.le = Some(bound(value)?),
                        "default" => options.default = Some(quote!(#value)),
                        "convert_underscores" if extra.contains(&"convert_underscores") => {
                            options.convert_underscores = Some(bool_literal(value)?);
                        }
                        _ => return Err(unknown(&meta, &key, extra)),
                    }
                }
                _ => return Err(unknown(&meta, &key, extra)),
            }
        }
        if let Some(pattern) = &options.pattern {
            // Checked when the app runs, too; this catches the obvious mistakes at compile time.
            if pattern.value().is_empty() {
                return Err(syn::Error::new_spanned(
                    pattern,
                    "an empty `pattern` matches everything",
                ));
            }
        }
        Ok(options)
    }

    /// `::wasgi::validation::Constraints { ... }` for these options.
    pub fn constraints(&self) -> TokenStream {
        let opt_usize = |v: Option<usize>| match v {
            Some(v) => quote!(::core::option::Option::Some(#v)),
            None => quote!(::core::option::Option::None),
        };
        let opt = |v: &Option<TokenStream>| match v {
            Some(v) => quote!(::core::option::Option::Some(#v)),
            None => quote!(::core::option::Option::None),
        };
        let (min_length, max_length) = (opt_usize(self.min_length), opt_usize(self.max_length));
        let pattern = match &self.pattern {
            Some(p) => quote!(::core::option::Option::Some(::wasgi::validation::Pattern::new(#p))),
            None => quote!(::core::option::Option::None),
        };
        let (gt, ge, lt, le) = (opt(&self.gt), opt(&self.ge), opt(&self.lt), opt(&self.le));
        quote! {
            ::wasgi::validation::Constraints {
                min_length: #min_length,
                max_length: #max_length,
                pattern: #pattern,
                gt: #gt,
                ge: #ge,
                lt: #lt,
                le: #le,
            }
        }
    }

    /// The declared default as JSON for the OpenAPI document: `Some(value)` or `None`.
    pub fn default_json(&self, ty: &syn::Type) -> TokenStream {
        match &self.default {
            Some(value) => quote!(::core::option::Option::Some({
                let value: #ty = #value;
                ::wasgi::__private::serde_json::to_value(&value).unwrap_or_default()
            })),
            None => quote!(::core::option::Option::None),
        }
    }

    /// `Some(|| default)` or `None`, for a parameter or field of type `ty`.
    pub fn default_fn(&self, ty: &syn::Type) -> TokenStream {
        match &self.default {
            Some(value) => {
                quote!(::core::option::Option::Some((|| -> #ty { #value }) as fn() -> #ty))
            }
            None => quote!(::core::option::Option::None),
        }
    }
}

fn unknown(meta: &Meta, key: &str, extra: &[&str]) -> syn::Error {
    let mut known: Vec<&str> = CONSTRAINT_KEYS.to_vec();
    known.extend(extra);
    syn::Error::new_spanned(
        meta,
        format!(
            "unknown option `{key}`; expected one of: {}",
            known.join(", ")
        ),
    )
}

fn usize_literal(value: &Expr) -> syn::Result<usize> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => int.base10_parse(),
        _ => Err(syn::Error::new_spanned(
            value,
            "expected a non-negative integer literal",
        )),
    }
}

fn str_literal(value: &Expr) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        _ => Err(syn::Error::new_spanned(value, "expected a string literal")),
    }
}

fn bool_literal(value: &Expr) -> syn::Result<bool> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Ok(b.value),
        _ => Err(syn::Error::new_spanned(value, "expected `true` or `false`")),
    }
}

/// A numeric literal, possibly negative, as a `Bound`.
fn bound(value: &Expr) -> syn::Result<TokenStream> {
    let (negative, lit) = match value {
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => (true, expr.as_ref()),
        other => (false, other),
    };
    let sign = if negative { quote!(-) } else { quote!() };
    match lit {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => {
            let digits: i128 = int.base10_parse()?;
            Ok(quote!(::wasgi::validation::Bound::Int(#sign #digits)))
        }
        Expr::Lit(ExprLit {
            lit: Lit::Float(float),
            ..
        }) => {
            let value: f64 = float.base10_parse()?;
            Ok(quote!(::wasgi::validation::Bound::Float(#sign #value)))
        }
        _ => Err(syn::Error::new_spanned(value, "expected a number literal")),
    }
}
