#!/usr/bin/env bash
# Prove docs_page.mjs against FastAPI itself: serve the reference app
# (/work/shared/reference/params_app.py) with a /docs page whose Swagger UI assets come from
# the local asset server, then drive it in headless Chromium.
#
#   bash tests/browser/try_fastapi.sh            # writes tests/browser/fastapi_docs.png
#
# Env: REFERENCE_DIR (default /work/shared/reference), CHROMIUM_PATH (default /usr/bin/chromium),
#      PYTHON (default python3), SCREENSHOT (default tests/browser/fastapi_docs.png).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
PYTHON="${PYTHON:-python3}"
export REFERENCE_DIR="${REFERENCE_DIR:-/work/shared/reference}"
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
SCREENSHOT="${SCREENSHOT:-$HERE/fastapi_docs.png}"

TMP="$(mktemp -d)"
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '== %s\n' "$*"; }

# --- prerequisites --------------------------------------------------------------------------
if [ ! -x "$CHROMIUM_PATH" ]; then
  log "installing chromium (apt)"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
if [ ! -f node_modules/playwright-core/package.json ] || [ ! -f node_modules/swagger-ui-dist/swagger-ui-bundle.js ]; then
  log "npm ci"
  npm ci --no-audit --no-fund
fi
if ! "$PYTHON" -c 'import fastapi, uvicorn' 2>/dev/null; then
  log "installing fastapi + uvicorn (pip)"
  "$PYTHON" -m pip install --quiet fastapi uvicorn
fi
log "chromium: $("$CHROMIUM_PATH" --version 2>/dev/null || echo '?')"
log "playwright-core $(node -p "require('./node_modules/playwright-core/package.json').version"), swagger-ui-dist $(node -p "require('./node_modules/swagger-ui-dist/package.json').version")"
log "fastapi $("$PYTHON" -c 'import fastapi; print(fastapi.__version__)'), uvicorn $("$PYTHON" -c 'import uvicorn; print(uvicorn.__version__)')"

wait_for() {  # wait_for DESCRIPTION PID COMMAND...  (up to 30 s)
  local what="$1" pid="$2"; shift 2
  for _ in $(seq 1 300); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "$what exited early" >&2; return 1; fi
    sleep 0.1
  done
  echo "$what did not come up within 30 s" >&2
  return 1
}
http_ok() { "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1"; }

# --- asset server ---------------------------------------------------------------------------
"$PYTHON" serve_assets.py --port-file "$TMP/assets.port" 2>"$TMP/assets.log" >/dev/null &
PIDS+=($!)
wait_for "asset server" "${PIDS[-1]}" test -s "$TMP/assets.port" || { cat "$TMP/assets.log" >&2; exit 1; }
ASSETS="http://127.0.0.1:$(cat "$TMP/assets.port")"
http_ok "$ASSETS/swagger-ui-bundle.js"
log "asset server: $ASSETS"

# --- FastAPI app ------------------------------------------------------------------------------
APP_PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
SWAGGER_ASSETS_URL="$ASSETS" "$PYTHON" -m uvicorn --app-dir "$HERE" fastapi_local_docs:app \
  --host 127.0.0.1 --port "$APP_PORT" --log-level warning 2>"$TMP/app.log" >/dev/null &
PIDS+=($!)
wait_for "FastAPI app" "${PIDS[-1]}" http_ok "http://127.0.0.1:$APP_PORT/openapi.json" || { cat "$TMP/app.log" >&2; exit 1; }
log "FastAPI app: http://127.0.0.1:$APP_PORT/docs"

# --- the check ------------------------------------------------------------------------------
log "docs_page.mjs"
node docs_page.mjs \
  --url "http://127.0.0.1:$APP_PORT/docs" \
  --expect-operations 10 \
  --screenshot "$SCREENSHOT" \
  --try "GET /items/{item_id}" --param item_id=5 --expect-status 200
log "try_fastapi.sh: PASS"
