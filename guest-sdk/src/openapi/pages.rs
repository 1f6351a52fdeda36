//! The documentation pages FastAPI serves: Swagger UI at `/docs` (with its OAuth2 redirect
//! page) and ReDoc at `/redoc`, and where their assets come from.

/// The app's documentation settings: what `info` says, where each page is served, and where the
/// pages load their JavaScript and CSS from.
///
/// The asset URLs default to the public CDN FastAPI uses. To serve the pages offline, point
/// them at a copy of npm's `swagger-ui-dist` (and `redoc`'s `bundles/`) with
/// [`App::docs_assets`](crate::App::docs_assets), or set `WASGI_DOCS_ASSETS` in the guest's
/// environment (`wasgi serve --env WASGI_DOCS_ASSETS=http://...`) to a base URL holding
/// `swagger-ui-bundle.js`, `swagger-ui.css`, `oauth2-redirect.js` and `redoc.standalone.js`.
#[derive(Debug, Clone, PartialEq)]
pub struct DocsConfig {
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
    /// `info.description`.
    pub description: Option<String>,
    /// Where the document is served; `None` turns off the document and both pages.
    pub openapi_url: Option<String>,
    /// Where Swagger UI is served; `None` turns it off.
    pub docs_url: Option<String>,
    /// Where Swagger UI's OAuth2 redirect page is served; `None` turns it off.
    pub oauth2_redirect_url: Option<String>,
    /// Where ReDoc is served; `None` turns it off.
    pub redoc_url: Option<String>,
    /// Swagger UI's JavaScript bundle.
    pub swagger_js_url: String,
    /// Swagger UI's stylesheet.
    pub swagger_css_url: String,
    /// Swagger UI's OAuth2 redirect script.
    pub swagger_oauth2_js_url: String,
    /// ReDoc's standalone bundle.
    pub redoc_js_url: String,
    /// The pages' icon.
    pub favicon_url: String,
}

const SWAGGER_CDN: &str = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5";

impl Default for DocsConfig {
    fn default() -> Self {
        DocsConfig {
            title: "FastAPI".to_owned(),
            version: "0.1.0".to_owned(),
            description: None,
            openapi_url: Some("/openapi.json".to_owned()),
            docs_url: Some("/docs".to_owned()),
            oauth2_redirect_url: Some("/docs/oauth2-redirect".to_owned()),
            redoc_url: Some("/redoc".to_owned()),
            swagger_js_url: format!("{SWAGGER_CDN}/swagger-ui-bundle.js"),
            swagger_css_url: format!("{SWAGGER_CDN}/swagger-ui.css"),
            swagger_oauth2_js_url: format!("{SWAGGER_CDN}/oauth2-redirect.js"),
            redoc_js_url: "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"
                .to_owned(),
            favicon_url: "https://fastapi.tiangolo.com/img/favicon.png".to_owned(),
        }
    }
}

impl DocsConfig {
    /// Points every asset at `base`, a directory URL holding `swagger-ui-bundle.js`,
    /// `swagger-ui.css`, `oauth2-redirect.js` and `redoc.standalone.js`.
    pub fn set_assets(&mut self, base: &str) {
        let base = base.trim_end_matches('/');
        self.swagger_js_url = format!("{base}/swagger-ui-bundle.js");
        self.swagger_css_url = format!("{base}/swagger-ui.css");
        self.swagger_oauth2_js_url = format!("{base}/oauth2-redirect.js");
        self.redoc_js_url = format!("{base}/redoc.standalone.js");
    }
}

/// Escapes text for an HTML attribute or element.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// FastAPI's Swagger UI page for the document at `openapi_url` (the mount prefix included).
pub fn swagger_ui_html(
    config: &DocsConfig,
    openapi_url: &str,
    oauth2_redirect_url: Option<&str>,
) -> String {
    let oauth2 = oauth2_redirect_url
        .map(|url| {
            format!(
                "\n    oauth2RedirectUrl: window.location.origin + '{}',",
                html(url)
            )
        })
        .unwrap_or_default();
    format!(
        r##"<!DOCTYPE html>
<html>
<head>
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link type="text/css" rel="stylesheet" href="{css}">
<link rel="shortcut icon" href="{favicon}">
<title>{title} - Swagger UI</title>
</head>
<body>
<div id="swagger-ui">
</div>
<script src="{js}"></script>
<!-- `SwaggerUIBundle` is now available on the page -->
<script>
const ui = SwaggerUIBundle({{
    url: '{openapi}',
    "dom_id": "#swagger-ui",
    "layout": "BaseLayout",
    "deepLinking": true,
    "showExtensions": true,
    "showCommonExtensions": true,{oauth2}
    presets: [
        SwaggerUIBundle.presets.apis,
        SwaggerUIBundle.SwaggerUIStandalonePreset
    ],
}})
</script>
</body>
</html>
"##,
        css = html(&config.swagger_css_url),
        favicon = html(&config.favicon_url),
        title = html(&config.title),
        js = html(&config.swagger_js_url),
        openapi = html(openapi_url),
    )
}

/// FastAPI's ReDoc page for the document at `openapi_url`.
pub fn redoc_html(config: &DocsConfig, openapi_url: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html>
<head>
<title>{title} - ReDoc</title>
<!-- needed for adaptive design -->
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="shortcut icon" href="{favicon}">
<!--
ReDoc doesn't change outer page styles
-->
<style>
  body {{
    margin: 0;
    padding: 0;
  }}
</style>
</head>
<body>
<noscript>
    ReDoc requires Javascript to function. Please enable it to browse the documentation.
</noscript>
<redoc spec-url="{openapi}"></redoc>
<script src="{js}"> </script>
</body>
</html>
"#,
        title = html(&config.title),
        favicon = html(&config.favicon_url),
        openapi = html(openapi_url),
        js = html(&config.redoc_js_url),
    )
}

/// Swagger UI's OAuth2 redirect page: its own script, from the same place as the other assets.
pub fn oauth2_redirect_html(config: &DocsConfig) -> String {
    format!(
        r#"<!doctype html>
<html lang="en-US">
<head>
    <title>Swagger UI: OAuth2 Redirect</title>
</head>
<body>
<script src="{js}"></script>
</body>
</html>
"#,
        js = html(&config.swagger_oauth2_js_url)
    )
}
