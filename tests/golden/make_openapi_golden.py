#!/usr/bin/env python3
"""Regenerate the OpenAPI document and the docs pages of the FastAPI reference app.

Writes, next to this script:
  params_openapi.json            exactly app.openapi() (json.dumps indent=2, FastAPI's key order) + "\n"
  pages/docs.html                body of GET /docs
  pages/redoc.html               body of GET /redoc
  pages/oauth2-redirect.html     body of GET /docs/oauth2-redirect
  pages/docs_root_path.html      body of GET /docs when served with root_path="/api/v1"
  pages/openapi_root_path.json   GET /openapi.json with root_path="/api/v1" (parsed, re-dumped indent=2)
  pages/headers.json             status and response headers of every request above

Requests go through starlette's TestClient (in-process ASGI, no network). Page bodies are
written byte for byte as served. Deterministic: reruns give identical files.

Usage: python3 make_openapi_golden.py [--app path/to/params_app.py]
"""
import argparse
import importlib.util
import json
import os
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_APP = os.path.normpath(os.path.join(HERE, "../../../shared/reference/params_app.py"))
ROOT_PATH = "/api/v1"


def load_app(path, name):
    """Import the app module afresh (a new FastAPI instance, no cached openapi_schema)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.app


def dump_json(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def fetch(client, url):
    r = client.get(url, follow_redirects=False)
    return r, {"url": url, "status": r.status_code, "headers": [[k, v] for k, v in r.headers.multi_items()]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--app", default=DEFAULT_APP)
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args()

    warnings.simplefilter("ignore")  # starlette's httpx deprecation notice
    from starlette.testclient import TestClient

    out = args.out
    pages = os.path.join(out, "pages")
    headers = {}

    # 1. The document itself, straight from app.openapi().
    app = load_app(args.app, "params_app_openapi")
    schema = app.openapi()
    write(os.path.join(out, "params_openapi.json"), dump_json(schema))

    # 2. Pages served without root_path. No `with` block: lifespan is not needed.
    client = TestClient(app, base_url="http://testserver")
    for url, fname in [
        ("/docs", "docs.html"),
        ("/redoc", "redoc.html"),
        ("/docs/oauth2-redirect", "oauth2-redirect.html"),
    ]:
        r, rec = fetch(client, url)
        assert r.status_code == 200, (url, r.status_code)
        write(os.path.join(pages, fname), r.content)
        headers[fname] = rec
    r, rec = fetch(client, "/openapi.json")
    assert r.status_code == 200 and r.json() == schema, "served /openapi.json differs from app.openapi()"
    headers["openapi.json"] = rec

    # 3. Same app served with root_path (fresh instance, so nothing is cached from step 2).
    app_rp = load_app(args.app, "params_app_openapi_root_path")
    client_rp = TestClient(app_rp, base_url="http://testserver", root_path=ROOT_PATH)
    r, rec = fetch(client_rp, "/docs")
    assert r.status_code == 200
    write(os.path.join(pages, "docs_root_path.html"), r.content)
    headers["docs_root_path.html"] = rec
    # A server that keeps the prefix in the path (uvicorn --root-path) gives the same page.
    r2, _ = fetch(client_rp, ROOT_PATH + "/docs")
    assert r2.status_code == 200 and r2.content == r.content
    r, rec = fetch(client_rp, "/openapi.json")
    assert r.status_code == 200
    write(os.path.join(pages, "openapi_root_path.json"), dump_json(r.json()))
    headers["openapi_root_path.json"] = rec
    # root_path never leaks into app.openapi() itself (servers is added per request).
    assert "servers" not in app_rp.openapi()

    write(os.path.join(pages, "headers.json"), dump_json({"root_path": ROOT_PATH, "responses": headers}))
    print("wrote params_openapi.json and pages/ in", out)


if __name__ == "__main__":
    main()
