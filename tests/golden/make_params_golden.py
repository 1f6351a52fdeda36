#!/usr/bin/env python3
"""Record FastAPI's real answers to the params corpus (golden files for wasgi).

How to run (from anywhere):

    pip install fastapi uvicorn httpx
    python3 tests/golden/make_params_golden.py            # uses ../../../shared/reference/params_app.py
    python3 tests/golden/make_params_golden.py --app /path/to/params_app.py

It reads   params_requests.json  (next to this script),
starts the reference app with uvicorn in a subprocess on 127.0.0.1 (free port, loopback only),
sends every request over real HTTP (httpx, redirects NOT followed), and writes
           params_golden.json    (next to this script; same order as the corpus, indent=2).

Corpus entry -> wire request:
  * "path" is sent byte-for-byte as the HTTP request target (no normalisation by the client).
  * Only these headers are sent: Host: testserver (fixed, so redirect Locations are
    deterministic), Content-Length when there is a body, Content-Type (see below), and the
    entry's "headers" pairs in order (repeats kept). httpx's default User-Agent / Accept /
    Accept-Encoding / Connection headers are removed.
  * "body" present (any JSON value, including null) -> json.dumps(body) as UTF-8 with
    Content-Type: application/json.
  * "raw_body" present -> the string encoded as UTF-8, sent as-is; Content-Type is
    "content_type" if given, application/json if the key is absent, and no Content-Type header
    at all if "content_type" is null.
  * Neither -> no body.

Golden entry: {"name", "status", "headers", "body"}; "headers" keeps only content-type, allow,
location and x-error (lower-cased names); "body" is the parsed JSON when the response
content-type is JSON and the body is non-empty, else {"text": <raw text>} (HEAD answers and
redirects therefore have {"text": ""}).
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
KEPT_HEADERS = ("content-type", "allow", "location", "x-error")
HOST = "testserver"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(app_path: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONHASHSEED="0")
    cmd = [
        sys.executable, "-m", "uvicorn",
        "--app-dir", str(app_path.parent),
        f"{app_path.stem}:app",
        "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--no-access-log",
    ]
    # stderr is inherited: tracebacks of the deliberate 500 cases show up there.
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)


def wait_ready(proc: subprocess.Popen, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"uvicorn exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("uvicorn did not start in time")


def build_request(client: httpx.Client, base: str, case: dict) -> httpx.Request:
    headers = [("Host", HOST)]
    content = None
    if "body" in case:
        content = json.dumps(case["body"]).encode("utf-8")
        headers.append(("Content-Type", "application/json"))
    elif "raw_body" in case:
        content = case["raw_body"].encode("utf-8")
        ct = case.get("content_type", "application/json")
        if ct is not None:
            headers.append(("Content-Type", ct))
    for name, value in case.get("headers", []):
        # header values are sent as UTF-8 bytes (matters only for non-ASCII values)
        headers.append((name.encode("ascii"), value.encode("utf-8")))
    # The URL only supplies scheme/host/port; the "target" extension makes httpcore put the
    # corpus path on the request line verbatim.
    req = client.build_request(
        case["method"], base + "/", headers=headers, content=content,
        extensions={"target": case["path"].encode("ascii")},
    )
    # drop httpx's implicit default headers (user-agent, accept, accept-encoding, connection)
    for h in ("user-agent", "accept", "accept-encoding", "connection"):
        if not any(n.lower() == h for n, _ in case.get("headers", [])):
            req.headers.pop(h, None)
    if content is None:
        req.headers.pop("content-length", None)
    return req


def record(resp: httpx.Response, name: str) -> dict:
    headers = {}
    for h in KEPT_HEADERS:
        if h in resp.headers:
            value = resp.headers[h]
            if h == "allow":
                # Starlette builds Allow with ", ".join(<set of methods>), so the order depends on
                # string hashing; sort it to keep the golden file deterministic.
                value = ", ".join(sorted(m.strip() for m in value.split(",")))
            headers[h] = value
    ctype = resp.headers.get("content-type", "")
    raw = resp.content
    if raw and ctype.split(";")[0].strip().lower().endswith("json"):
        body = json.loads(raw)
    else:
        body = {"text": raw.decode("utf-8", errors="replace")}
    return {"name": name, "status": resp.status_code, "headers": headers, "body": body}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--app", default=str(HERE / "../../../shared/reference/params_app.py"),
                    help="path to the reference FastAPI app (default: %(default)s)")
    ap.add_argument("--corpus", default=str(HERE / "params_requests.json"))
    ap.add_argument("--out", default=str(HERE / "params_golden.json"))
    args = ap.parse_args()

    app_path = Path(args.app).resolve()
    if not app_path.is_file():
        sys.exit(f"reference app not found: {app_path}")
    corpus = json.loads(Path(args.corpus).read_text(encoding="utf-8"))
    names = [c["name"] for c in corpus]
    if len(names) != len(set(names)):
        sys.exit("duplicate case names in corpus")

    port = free_port()
    proc = start_server(app_path, port)
    try:
        wait_ready(proc, port)
        base = f"http://127.0.0.1:{port}"
        results = []
        # One fresh connection per request: after an unhandled exception (the deliberate 500
        # cases) uvicorn drops the keep-alive connection, which would break the next request.
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(follow_redirects=False, timeout=10.0, trust_env=False,
                          limits=limits) as client:
            for case in corpus:
                client.cookies.clear()  # never carry cookies between cases
                resp = client.send(build_request(client, base, case))
                results.append(record(resp, case["name"]))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    Path(args.out).write_text(
        json.dumps(results, indent=2, sort_keys=False, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(results)} answers to {args.out}")


if __name__ == "__main__":
    main()
