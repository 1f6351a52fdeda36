//! `#[get("/items/{item_id}")]` and friends: turn a function into an `Endpoint` whose handler
//! extracts and validates each parameter by its name and type, the FastAPI way.
//!
//! `fn read_item(...)` becomes a unit struct `read_item` (so `App::endpoint(read_item)` registers
//! it) whose associated `call` is the original function.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::{FnArg, Ident, ItemFn, LitInt, LitStr, Pat, Token, Type};

use crate::attrs::Options;

/// `("/path", status_code = 201, tags = ["items"], deprecated, media_type = "text/csv")`.
struct RouteArgs {
    path: LitStr,
    status_code: Option<LitInt>,
    tags: Vec<LitStr>,
    deprecated: bool,
    media_type: Option<LitStr>,
}

impl Parse for RouteArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let path: LitStr = input.parse()?;
        let mut args = RouteArgs {
            path,
            status_code: None,
            tags: Vec::new(),
            deprecated: false,
            media_type: None,
        };
        while input.parse::<Option<Token![,]>>()?.is_some() && !input.is_empty() {
            let key: Ident = input.parse()?;
            match key.to_string().as_str() {
                "deprecated" => args.deprecated = true,
                "status_code" => {
                    input.parse::<Token![=]>()?;
                    args.status_code = Some(input.parse()?);
                }
                "media_type" => {
                    input.parse::<Token![=]>()?;
                    args.media_type = Some(input.parse()?);
                }
                "tags" => {
                    input.parse::<Token![=]>()?;
                    let list;
                    syn::bracketed!(list in input);
                    let tags =
                        syn::punctuated::Punctuated::<LitStr, Token![,]>::parse_terminated(&list)?;
                    args.tags = tags.into_iter().collect();
                }
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown route option `{other}`; expected `status_code`, `tags`, `deprecated` or `media_type`"
                        ),
                    ));
                }
            }
        }
        Ok(args)
    }
}

/// Where a parameter comes from.
#[derive(Clone, Copy, PartialEq)]
enum Source {
    Path,
    Query,
    Header,
    Cookie,
    Body,
    /// Decided by the type: a model is the body, anything else the query.
    Inferred,
    /// `Request`: the request itself, after the other parameters were read.
    Request,
    /// `Body`: the request body, streamed, unread by anything else.
    Stream,
}

/// `Request` or `Body` by their last path segment, as FastAPI recognises `Request` by its
/// annotation.
fn special_source(ty: &Type) -> Option<Source> {
    let Type::Path(path) = ty else { return None };
    match path.path.segments.last()?.ident.to_string().as_str() {
        "Request" => Some(Source::Request),
        "Body" => Some(Source::Stream),
        _ => None,
    }
}

struct Param {
    name: Ident,
    ty: Type,
    source: Source,
    options: Options,
}

pub fn expand(method: &str, args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args: RouteArgs = syn::parse2(args)?;
    let mut function: ItemFn = syn::parse2(item)?;
    let template = args.path.value();
    let path_params = template_params(&template, &args.path)?;
    check_signature(&function)?;

    let mut params = Vec::new();
    for input in &mut function.sig.inputs {
        let FnArg::Typed(typed) = input else {
            return Err(syn::Error::new_spanned(
                input,
                "route handlers are free functions; remove `self`",
            ));
        };
        let Pat::Ident(pat) = typed.pat.as_ref() else {
            return Err(syn::Error::new_spanned(
                &typed.pat,
                "route parameters must be plain names: their names are the request's parameter names",
            ));
        };
        let name = pat.ident.clone();
        if name == function.sig.ident {
            return Err(syn::Error::new_spanned(
                &name,
                format!(
                    "a parameter cannot be named like its function: the route macro makes `{name}` the route's name"
                ),
            ));
        }
        let mut source = None;
        let mut options = Options::default();
        let mut kept = Vec::new();
        for attr in typed.attrs.drain(..) {
            let found = match attr.path().get_ident().map(ToString::to_string).as_deref() {
                Some("path") => Some((Source::Path, &[][..])),
                Some("query") => Some((Source::Query, &[][..])),
                Some("header") => Some((Source::Header, &["convert_underscores"][..])),
                Some("cookie") => Some((Source::Cookie, &[][..])),
                Some("body") => Some((Source::Body, &["embed"][..])),
                _ => None,
            };
            match found {
                Some((found, extra)) => {
                    if source.is_some() {
                        return Err(syn::Error::new_spanned(
                            attr,
                            "a parameter has one source; remove one of these attributes",
                        ));
                    }
                    source = Some(found);
                    options = Options::parse(&attr, extra)?;
                }
                None => kept.push(attr),
            }
        }
        typed.attrs = kept;
        let in_template = path_params.iter().any(|p| p == &name.to_string());
        let source = match (source, special_source(&typed.ty)) {
            (None, Some(special)) => Some(special),
            (source, _) => source,
        };
        let source = match source {
            Some(Source::Path) if !in_template => {
                return Err(syn::Error::new_spanned(
                    &name,
                    format!(
                        "`{name}` is marked `#[path]` but the path `{template}` has no `{{{name}}}`"
                    ),
                ));
            }
            Some(source) if in_template && source != Source::Path => {
                return Err(syn::Error::new_spanned(
                    &name,
                    format!("`{name}` is in the path `{template}`, so it is a path parameter"),
                ));
            }
            Some(source) => source,
            None if in_template => Source::Path,
            None => Source::Inferred,
        };
        if source == Source::Path && options.default.is_some() {
            return Err(syn::Error::new_spanned(
                &name,
                "path parameters are always present; they take no `default`",
            ));
        }
        params.push(Param {
            name,
            ty: (*typed.ty).clone(),
            source,
            options,
        });
    }
    let count = |source: Source| params.iter().filter(|p| p.source == source).count();
    if count(Source::Request) + count(Source::Stream) > 1 {
        let second = params
            .iter()
            .filter(|p| matches!(p.source, Source::Request | Source::Stream))
            .nth(1);
        return Err(syn::Error::new_spanned(
            &second.expect("counted").name,
            "a route takes at most one `Request` or `Body` parameter: both own the request body",
        ));
    }
    if let Some(stream) = params.iter().find(|p| p.source == Source::Stream)
        && let Some(other) = params.iter().find(|p| p.source == Source::Body)
    {
        return Err(syn::Error::new_spanned(
            &other.name,
            format!(
                "`{}: Body` streams the whole request body, so `{}` cannot also be read from it",
                stream.name, other.name
            ),
        ));
    }
    for path_param in &path_params {
        if !params.iter().any(|p| p.name == path_param.as_str()) {
            return Err(syn::Error::new_spanned(
                &args.path,
                format!(
                    "the path has `{{{path_param}}}`, but `{}` has no parameter named `{path_param}`",
                    function.sig.ident
                ),
            ));
        }
    }
    Ok(generate(method, &args, &function, &params))
}

/// The parameter names of a path template, checked for the mistakes a compiler can see.
fn template_params(template: &str, span: &LitStr) -> syn::Result<Vec<String>> {
    if !template.starts_with('/') {
        return Err(syn::Error::new_spanned(span, "route paths start with `/`"));
    }
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            return Err(syn::Error::new_spanned(
                span,
                "this path has a `{` without a closing `}`",
            ));
        };
        let inner = &rest[open + 1..open + close];
        let (name, converter) = inner.split_once(':').unwrap_or((inner, "str"));
        if !matches!(converter, "str" | "path") {
            return Err(syn::Error::new_spanned(
                span,
                format!("unknown path converter `{converter}`; expected `str` or `path`"),
            ));
        }
        names.push(name.to_owned());
        rest = &rest[open + close + 1..];
    }
    Ok(names)
}

fn check_signature(function: &ItemFn) -> syn::Result<()> {
    let sig = &function.sig;
    if let Some(asyncness) = &sig.asyncness {
        return Err(syn::Error::new_spanned(
            asyncness,
            "route handlers are plain functions: the host runs many instances at once, so handlers need not be `async`",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            "route handlers cannot be generic: each parameter's type says how to read it",
        ));
    }
    Ok(())
}

fn generate(method: &str, args: &RouteArgs, function: &ItemFn, params: &[Param]) -> TokenStream {
    let name = &function.sig.ident;
    let vis = &function.vis;
    let method = Ident::new(method, Span::call_site());
    let path = &args.path;
    let status = match &args.status_code {
        Some(code) => quote!(#code),
        None => quote!(200),
    };
    let (docs, other_attrs): (Vec<_>, Vec<_>) = function
        .attrs
        .iter()
        .partition(|attr| attr.path().is_ident("doc"));

    let types: Vec<&Type> = params.iter().map(|p| &p.ty).collect();
    let explicit_bodies = params.iter().filter(|p| p.source == Source::Body).count();
    let inferred: Vec<&Type> = params
        .iter()
        .filter(|p| p.source == Source::Inferred)
        .map(|p| &p.ty)
        .collect();
    let extractions = params.iter().map(|param| {
        let Param {
            name,
            ty,
            source,
            options,
        } = param;
        let var = format_ident!("__{}", name);
        let key = options
            .alias
            .as_ref()
            .map_or_else(|| name.to_string(), LitStr::value);
        let constraints = options.constraints();
        let default = options.default_fn(ty);
        let call = match source {
            Source::Path => quote!(extractor.path::<#ty>(#key, &#constraints)),
            Source::Query => quote!(extractor.query::<#ty>(#key, &#constraints, #default)),
            Source::Header => {
                let header =
                    if options.alias.is_some() || options.convert_underscores == Some(false) {
                        key.to_ascii_lowercase()
                    } else {
                        key.replace('_', "-").to_ascii_lowercase()
                    };
                quote!(extractor.header::<#ty>(#header, &#constraints, #default))
            }
            Source::Cookie => quote!(extractor.cookie::<#ty>(#key, &#constraints, #default)),
            Source::Body => {
                let embed = options.embed;
                quote!(extractor.body::<#ty>(#key, &#constraints, #default, #embed || EMBED))
            }
            Source::Inferred => {
                quote!(extractor.infer::<#ty>(#key, &#constraints, #default, EMBED))
            }
            // Taken from the request once everything else is read, below.
            Source::Request | Source::Stream => return quote!(),
        };
        quote!(let #var = #call;)
    });
    let request_param = params
        .iter()
        .find(|p| matches!(p.source, Source::Request | Source::Stream))
        .map(|p| {
            let var = format_ident!("__{}", p.name);
            match p.source {
                Source::Stream => {
                    quote!(let #var = ::core::option::Option::Some(request.into_body());)
                }
                _ => quote!(let #var = ::core::option::Option::Some(request);),
            }
        });
    let stream_check = params.iter().find(|p| p.source == Source::Stream).map(|p| {
        let message = format!(
            "`{}: Body` streams the whole request body, so no model parameter can also be read from it",
            p.name
        );
        quote!(const _: () = ::core::assert!(BODIES == 0, #message);)
    });
    let documented = params.iter().filter_map(|param| {
        let Param { name, ty, source, options } = param;
        let key = options.alias.as_ref().map_or_else(|| name.to_string(), LitStr::value);
        let constraints = options.constraints();
        let default = options.default_json(ty);
        let location = match source {
            Source::Path => quote!(::core::option::Option::Some(::wasgi::openapi::Location::Path)),
            Source::Query => quote!(::core::option::Option::Some(::wasgi::openapi::Location::Query)),
            Source::Header => {
                let header = if options.alias.is_some() || options.convert_underscores == Some(false) {
                    key.clone()
                } else {
                    key.replace('_', "-")
                };
                return Some(quote!(::wasgi::openapi::param::<#ty>(#header, ::core::option::Option::Some(::wasgi::openapi::Location::Header), &#constraints, #default, schemas)));
            }
            Source::Cookie => quote!(::core::option::Option::Some(::wasgi::openapi::Location::Cookie)),
            Source::Body => quote!(::core::option::Option::Some(::wasgi::openapi::Location::Body)),
            Source::Inferred => quote!(::core::option::Option::None),
            Source::Request | Source::Stream => return None,
        };
        Some(quote!(::wasgi::openapi::param::<#ty>(#key, #location, &#constraints, #default, schemas)))
    });
    let description = doc_text(&docs);
    let description = match description {
        Some(text) => quote!(::core::option::Option::Some(#text)),
        None => quote!(::core::option::Option::None),
    };
    let method_lower = method.to_string().to_lowercase();
    let name_text = name.to_string();
    let tags = &args.tags;
    let deprecated = args.deprecated;
    let media_type = args
        .media_type
        .as_ref()
        .map_or_else(|| "application/json".to_owned(), LitStr::value);
    let any_explicit_embed = params.iter().any(|p| p.options.embed);
    let vars = params.iter().map(|p| format_ident!("__{}", p.name));
    let args_list = params.iter().map(|p| &p.name);
    let block = &function.block;
    let output = &function.sig.output;

    quote! {
        #(#docs)*
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy)]
        #vis struct #name;

        impl #name {
            #(#docs)*
            #(#other_attrs)*
            #[allow(clippy::too_many_arguments)]
            fn call(#(#args_list: #types),*) #output #block
        }

        impl ::wasgi::Endpoint for #name {
            fn method(&self) -> ::wasgi::http::Method {
                ::wasgi::http::Method::#method
            }

            fn path(&self) -> &'static str {
                #path
            }

            fn doc(&self, schemas: &mut ::wasgi::openapi::Schemas) -> ::wasgi::openapi::RouteDoc {
                #[allow(dead_code)]
                const BODIES: usize = #explicit_bodies #(+ ::wasgi::__private::is_body::<#inferred>() as usize)*;
                ::wasgi::openapi::RouteDoc {
                    name: #name_text,
                    method: #method_lower,
                    path: #path,
                    description: #description,
                    tags: &[#(#tags),*],
                    deprecated: #deprecated,
                    status: #status,
                    media_type: #media_type,
                    params: ::std::vec![#(#documented),*],
                    embed: BODIES > 1 || #any_explicit_embed,
                }
            }

            fn handle(&self, request: ::wasgi::Request) -> ::wasgi::Response {
                // FastAPI embeds body parameters under their names when there are several.
                #[allow(dead_code)]
                const BODIES: usize = #explicit_bodies #(+ ::wasgi::__private::is_body::<#inferred>() as usize)*;
                #[allow(dead_code)]
                const EMBED: bool = BODIES > 1;
                #stream_check
                let mut extractor = ::wasgi::extract::Extractor::new(request);
                #(#extractions)*
                #[allow(unused_variables)]
                let request = match extractor.finish() {
                    ::core::result::Result::Ok(request) => request,
                    ::core::result::Result::Err(response) => return response,
                };
                #request_param
                let status = ::wasgi::http::StatusCode::from_u16(#status).expect("a valid status_code");
                let returned = ::wasgi::__private::Tag::new(Self::call(#(#vars.expect("validated")),*));
                #[allow(unused_imports)]
                use ::wasgi::__private::{ViaIntoResponse as _, ViaSerialize as _, ViaSerializeResult as _};
                (&&returned).respond(status)
            }
        }
    }
}

/// A doc comment's text, as Python's `inspect.cleandoc` leaves a docstring: common leading
/// indentation removed, blank edges trimmed.
fn doc_text(docs: &[&syn::Attribute]) -> Option<String> {
    let lines: Vec<String> = docs
        .iter()
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let indent = lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let text: Vec<&str> = lines
        .iter()
        .map(|line| line.get(indent..).unwrap_or("").trim_end())
        .collect();
    let text = text.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}
