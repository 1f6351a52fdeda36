//! `#[derive(StrEnum)]`: an enum of unit variants validated from, and serialized as, strings
//! (Python's `class ModelName(str, Enum)`).

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Expr, ExprLit, Fields, Lit, Meta};

pub fn expand(item: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(item)?;
    let name = &input.ident;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            name,
            "`StrEnum` is for enums of unit variants; for a struct, derive `Model`",
        ));
    };
    let mut variants = Vec::new();
    let mut values = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            return Err(syn::Error::new_spanned(
                variant,
                "`StrEnum` variants carry no data: each is one string value",
            ));
        }
        let mut value = variant.ident.to_string().to_lowercase();
        for attr in variant
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("value"))
        {
            match &attr.meta {
                Meta::NameValue(nv) => match &nv.value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(s), ..
                    }) => value = s.value(),
                    other => {
                        return Err(syn::Error::new_spanned(
                            other,
                            "expected `#[value = \"...\"]`",
                        ));
                    }
                },
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "expected `#[value = \"...\"]`",
                    ));
                }
            }
        }
        if values.contains(&value) {
            return Err(syn::Error::new_spanned(
                variant,
                format!("two variants have the value `{value}`"),
            ));
        }
        variants.push(variant.ident.clone());
        values.push(value);
    }
    if variants.is_empty() {
        return Err(syn::Error::new_spanned(
            name,
            "a `StrEnum` needs at least one variant",
        ));
    }
    let expected = expected_list(&values);
    let type_name = name.to_string();

    Ok(quote! {
        impl #name {
            /// Every value, in declaration order.
            pub const VALUES: &'static [&'static str] = &[#(#values),*];

            /// This variant's string value.
            pub fn as_str(&self) -> &'static str {
                match self {
                    #(#name::#variants => #values,)*
                }
            }
        }

        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::wasgi::validation::Validate for #name {
            fn validate(
                input: ::wasgi::validation::Input<'_>,
                errors: &mut ::wasgi::validation::Errors,
            ) -> ::core::option::Option<Self> {
                match input.text() {
                    #(::core::option::Option::Some(#values) => ::core::option::Option::Some(#name::#variants),)*
                    _ => {
                        errors.add(
                            "enum",
                            ::std::format!("Input should be {}", #expected),
                            input.to_value(),
                            ::core::option::Option::Some(::wasgi::__private::serde_json::json!({ "expected": #expected })),
                        );
                        ::core::option::Option::None
                    }
                }
            }

            fn schema(schemas: &mut ::wasgi::openapi::Schemas) -> ::wasgi::__private::serde_json::Value {
                schemas.define(#type_name, |_| {
                    ::wasgi::__private::serde_json::json!({"type": "string", "enum": [#(#values),*], "title": #type_name})
                })
            }
        }


        impl ::wasgi::__private::serde::Serialize for #name {
            fn serialize<S>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error>
            where
                S: ::wasgi::__private::serde::Serializer,
            {
                serializer.serialize_str(self.as_str())
            }
        }
    })
}

/// Pydantic's list of choices: `'a'`, `'a' or 'b'`, `'a', 'b' or 'c'`.
fn expected_list(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}
