//! Route attributes (`#[get("/items/{id}")]` ...) and the `Model` and `StrEnum` derives of the
//! wasgi guest SDK. Documented, with examples, where the `wasgi` crate re-exports them.

mod attrs;
mod model;
mod route;
mod str_enum;

use proc_macro::TokenStream;

macro_rules! route_attributes {
    ($($name:ident => $method:ident),* $(,)?) => {$(
        #[doc = concat!("Declares a `", stringify!($method), "` route; see the `wasgi` crate's docs.")]
        #[proc_macro_attribute]
        pub fn $name(args: TokenStream, item: TokenStream) -> TokenStream {
            route::expand(stringify!($method), args.into(), item.into())
                .unwrap_or_else(syn::Error::into_compile_error)
                .into()
        }
    )*};
}

route_attributes! {
    get => GET,
    post => POST,
    put => PUT,
    delete => DELETE,
    patch => PATCH,
    head => HEAD,
    options => OPTIONS,
}

/// Derives validation and serialization for a struct (a Pydantic model); see the `wasgi` crate.
#[proc_macro_derive(Model, attributes(field))]
pub fn derive_model(item: TokenStream) -> TokenStream {
    model::expand(item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives validation and serialization for an enum of string values; see the `wasgi` crate.
#[proc_macro_derive(StrEnum, attributes(value))]
pub fn derive_str_enum(item: TokenStream) -> TokenStream {
    str_enum::expand(item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
