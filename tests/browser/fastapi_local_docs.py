"""The reference FastAPI app (/work/shared/reference/params_app.py), unchanged, but with a
/docs page whose Swagger UI JS/CSS come from the local asset server (serve_assets.py)
instead of a CDN.

Environment:
    SWAGGER_ASSETS_URL   base URL of serve_assets.py, e.g. http://127.0.0.1:41234  (required)
    REFERENCE_DIR        directory holding params_app.py (default /work/shared/reference)

Run:
    SWAGGER_ASSETS_URL=http://127.0.0.1:41234 \
        uvicorn --app-dir tests/browser fastapi_local_docs:app --host 127.0.0.1 --port 8000
"""
import importlib.util
import os

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.routing import APIRoute

ASSETS = os.environ.get("SWAGGER_ASSETS_URL", "").rstrip("/")
if not ASSETS:
    raise RuntimeError("set SWAGGER_ASSETS_URL to the base URL printed by serve_assets.py")
REFERENCE_DIR = os.environ.get("REFERENCE_DIR", "/work/shared/reference")

# Load the reference module from its file without touching it.
_spec = importlib.util.spec_from_file_location("params_app", os.path.join(REFERENCE_DIR, "params_app.py"))
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)
ref_app: FastAPI = reference.app

app = FastAPI(
    title=ref_app.title,
    version=ref_app.version,
    docs_url=None,
    redoc_url=None,
)
# Re-use the reference app's API routes (the exact same route objects), but none of its
# built-in /docs, /redoc, /openapi.json routes; this app generates its own /openapi.json.
for route in ref_app.router.routes:
    if isinstance(route, APIRoute):
        app.router.routes.append(route)

OAUTH2_REDIRECT = "/docs/oauth2-redirect"


@app.get("/docs", include_in_schema=False)
def custom_swagger_ui_html():
    return get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title=app.title + " - Swagger UI",
        oauth2_redirect_url=OAUTH2_REDIRECT,
        swagger_js_url=ASSETS + "/swagger-ui-bundle.js",
        swagger_css_url=ASSETS + "/swagger-ui.css",
        swagger_favicon_url=ASSETS + "/favicon-32x32.png",
    )


@app.get(OAUTH2_REDIRECT, include_in_schema=False)
def swagger_ui_redirect():
    return get_swagger_ui_oauth2_redirect_html()
