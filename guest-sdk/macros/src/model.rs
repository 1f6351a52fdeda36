//! `#[derive(Model)]`: a struct validated from a JSON object with Pydantic's rules, and
//! serialized back under the same field names (aliases included), declared once.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr};

use crate::attrs::Options;

pub fn expand(item: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(item)?;
    let name = &input.ident;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "`Model` is for structs with named fields; for an enum of strings, derive `StrEnum`",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "`Model` needs named fields: their names are the JSON keys",
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "`Model` does not support generic structs yet",
        ));
    }

    let mut idents = Vec::new();
    let mut keys = Vec::new();
    let mut validations = Vec::new();
    let mut properties = Vec::new();
    for field in &fields.named {
        let ident = field.ident.clone().expect("named fields have names");
        let mut options = Options::default();
        for attr in field
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("field"))
        {
            options = Options::parse(attr, &[])?;
        }
        let key = options
            .alias
            .as_ref()
            .map_or_else(|| ident.to_string(), LitStr::value);
        let ty = &field.ty;
        let constraints = options.constraints();
        let default = options.default_fn(ty);
        validations.push(quote! {
            let #ident = ::wasgi::validation::field::<#ty>(object, #key, &#constraints, #default, input, errors);
        });
        let default_json = options.default_json(ty);
        properties.push(quote! {
            ::wasgi::openapi::param::<#ty>(#key, ::core::option::Option::Some(::wasgi::openapi::Location::Body), &#constraints, #default_json, schemas)
        });
        idents.push(ident);
        keys.push(key);
    }
    let count = idents.len();
    let type_name = name.to_string();

    Ok(quote! {
        impl ::wasgi::validation::Validate for #name {
            const KIND: ::wasgi::validation::Kind = ::wasgi::validation::Kind::Body;

            fn validate(
                input: ::wasgi::validation::Input<'_>,
                errors: &mut ::wasgi::validation::Errors,
            ) -> ::core::option::Option<Self> {
                let object = ::wasgi::validation::object(input, errors)?;
                #(#validations)*
                ::core::option::Option::Some(#name { #(#idents: #idents?),* })
            }

            fn schema(schemas: &mut ::wasgi::openapi::Schemas) -> ::wasgi::__private::serde_json::Value {
                schemas.define(#type_name, |schemas| {
                    let fields = [#(#properties),*];
                    ::wasgi::openapi::object_schema(#type_name, &fields)
                })
            }
        }


        impl ::wasgi::__private::serde::Serialize for #name {
            fn serialize<S>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error>
            where
                S: ::wasgi::__private::serde::Serializer,
            {
                use ::wasgi::__private::serde::ser::SerializeStruct as _;
                let mut state = serializer.serialize_struct(#type_name, #count)?;
                #(state.serialize_field(#keys, &self.#idents)?;)*
                state.end()
            }
        }
    })
}
