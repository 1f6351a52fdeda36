//! OpenAPI 3.1 from the code: JSON Schemas of parameter and model types, operations from route
//! signatures, and the document [`App::openapi`](crate::App::openapi) assembles — shaped the way
//! FastAPI shapes its own, so tools and habits carry over.

mod json;
mod operation;
mod pages;
mod schema;

pub(crate) use operation::define_validation_errors;
pub use operation::{Location, Param, RouteDoc, object_schema, operation, param};
pub use pages::{DocsConfig, oauth2_redirect_html, redoc_html, swagger_ui_html};
pub use schema::{Schemas, constrain, title};
