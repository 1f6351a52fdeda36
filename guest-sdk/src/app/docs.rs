//! The documentation side of an [`App`]: `info`, the OpenAPI document built from its routes, and
//! the `/openapi.json`, `/docs`, `/docs/oauth2-redirect` and `/redoc` pages FastAPI serves.

use http::Method;
use http::header::CONTENT_TYPE;
use serde_json::{Map, Value, json};

use super::App;
use crate::openapi::{self, Schemas};
use crate::{HttpException, Request, Response};

impl App {
    /// Sets `info.title` (FastAPI's default: `FastAPI`).
    ///
    /// # Example
    ///
    /// ```
    /// let app = wasgi::App::new().title("Items").version("2.1.0").description("Sells items.");
    /// assert_eq!(app.openapi("")["info"], serde_json::json!({"title": "Items", "description": "Sells items.", "version": "2.1.0"}));
    /// ```
    pub fn title(mut self, title: &str) -> Self {
        self.docs.title = title.to_owned();
        self
    }

    /// Sets `info.version` (default `0.1.0`).
    pub fn version(mut self, version: &str) -> Self {
        self.docs.version = version.to_owned();
        self
    }

    /// Sets `info.description`.
    pub fn description(mut self, description: &str) -> Self {
        self.docs.description = Some(description.to_owned());
        self
    }

    /// Moves the document (default `/openapi.json`); `None` turns off the document and the pages.
    ///
    /// # Example
    ///
    /// ```
    /// use wasgi::{App, TestClient};
    ///
    /// let client = TestClient::new(App::new().openapi_url(None));
    /// assert_eq!(client.get("/openapi.json").send().status(), 404);
    /// assert_eq!(client.get("/docs").send().status(), 404);
    /// ```
    pub fn openapi_url(mut self, url: Option<&str>) -> Self {
        self.docs.openapi_url = url.map(str::to_owned);
        self
    }

    /// Moves Swagger UI (default `/docs`, its OAuth2 redirect page at `/docs/oauth2-redirect`);
    /// `None` turns both off.
    pub fn docs_url(mut self, url: Option<&str>) -> Self {
        self.docs.oauth2_redirect_url = url.map(|url| format!("{url}/oauth2-redirect"));
        self.docs.docs_url = url.map(str::to_owned);
        self
    }

    /// Moves ReDoc (default `/redoc`); `None` turns it off.
    pub fn redoc_url(mut self, url: Option<&str>) -> Self {
        self.docs.redoc_url = url.map(str::to_owned);
        self
    }

    /// Loads the pages' JavaScript and CSS from `base` instead of the public CDN: a directory
    /// URL with `swagger-ui-bundle.js`, `swagger-ui.css` and `oauth2-redirect.js` (npm's
    /// `swagger-ui-dist`) and `redoc.standalone.js` (npm's `redoc`). The guest's
    /// `WASGI_DOCS_ASSETS` environment variable, when set, overrides it.
    ///
    /// # Example
    ///
    /// ```
    /// use wasgi::{App, TestClient};
    ///
    /// let client = TestClient::new(App::new().docs_assets("/static/swagger"));
    /// assert!(client.get("/docs").send().text().contains(r#"<script src="/static/swagger/swagger-ui-bundle.js">"#));
    /// ```
    pub fn docs_assets(mut self, base: &str) -> Self {
        self.docs.set_assets(base);
        self
    }

    /// The documentation settings.
    pub fn docs_config(&self) -> &openapi::DocsConfig {
        &self.docs
    }

    /// The OpenAPI 3.1 document of the app's routes, as FastAPI writes it. `root_path` is the
    /// prefix the app is mounted under (`""` at the root); FastAPI lists it in `servers`.
    ///
    /// # Example
    ///
    /// ```
    /// #[wasgi::get("/items/{item_id}", tags = ["items"])]
    /// /// Reads one item.
    /// fn read_item(item_id: i64) -> i64 { item_id }
    ///
    /// let document = wasgi::App::new().endpoint(read_item).openapi("");
    /// let operation = &document["paths"]["/items/{item_id}"]["get"];
    /// assert_eq!(operation["operationId"], "read_item_items__item_id__get");
    /// assert_eq!(operation["summary"], "Read Item");
    /// assert_eq!(operation["description"], "Reads one item.");
    /// assert_eq!(operation["parameters"][0]["schema"], serde_json::json!({"type": "integer", "title": "Item Id"}));
    /// ```
    pub fn openapi(&self, root_path: &str) -> Value {
        let mut schemas = Schemas::default();
        let mut paths: Map<String, Value> = Map::new();
        let mut validates = false;
        for route in &self.routes {
            let Some(endpoint) = &route.endpoint else {
                continue;
            };
            let doc = endpoint.doc(&mut schemas);
            validates |= !doc.params.is_empty();
            let operation = openapi::operation(&doc, &mut schemas);
            let path = paths.entry(doc.path_format()).or_insert_with(|| json!({}));
            path[doc.method] = operation;
        }
        if validates {
            openapi::define_validation_errors(&mut schemas);
        }
        let mut info = json!({"title": self.docs.title});
        if let Some(description) = &self.docs.description {
            info["description"] = json!(description);
        }
        info["version"] = json!(self.docs.version);
        let mut document = json!({"openapi": "3.1.0", "info": info});
        if !root_path.is_empty() {
            document["servers"] = json!([{"url": root_path}]);
        }
        document["paths"] = Value::Object(paths);
        if !schemas.is_empty() {
            document["components"] = json!({"schemas": schemas.into_map()});
        }
        document
    }

    /// The document or a page, if `request` asks for one (`GET` or `HEAD`, as Starlette's own
    /// routes answer).
    pub(super) fn docs_page(&self, request: &Request) -> Option<Response> {
        let openapi_url = self.docs.openapi_url.as_deref()?;
        let path = request.path();
        let pages = [
            Some(openapi_url),
            self.docs.docs_url.as_deref(),
            self.docs.redoc_url.as_deref(),
        ];
        let redirect = self
            .docs
            .docs_url
            .as_ref()
            .and(self.docs.oauth2_redirect_url.as_deref());
        if !pages.contains(&Some(path)) && redirect != Some(path) {
            return None;
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let exception =
                HttpException::new(405, "Method Not Allowed").with_header("allow", "GET, HEAD");
            return Some(exception.into_response());
        }
        let root_path = request.scope().root_path.trim_end_matches('/');
        let mut config = self.docs.clone();
        if let Ok(base) = std::env::var("WASGI_DOCS_ASSETS") {
            config.set_assets(&base);
        }
        let html = |body: String| {
            Response::bytes(body.into_bytes()).with_header(CONTENT_TYPE, "text/html; charset=utf-8")
        };
        let full_openapi_url = format!("{root_path}{openapi_url}");
        if path == openapi_url {
            return Some(Response::json(&self.openapi(root_path)));
        }
        if self.docs.docs_url.as_deref() == Some(path) {
            let oauth2 = self
                .docs
                .oauth2_redirect_url
                .as_ref()
                .map(|url| format!("{root_path}{url}"));
            return Some(html(openapi::swagger_ui_html(
                &config,
                &full_openapi_url,
                oauth2.as_deref(),
            )));
        }
        if self.docs.docs_url.is_some() && self.docs.oauth2_redirect_url.as_deref() == Some(path) {
            return Some(html(openapi::oauth2_redirect_html(&config)));
        }
        if self.docs.redoc_url.as_deref() == Some(path) {
            return Some(html(openapi::redoc_html(&config, &full_openapi_url)));
        }
        None
    }
}
