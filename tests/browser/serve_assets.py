#!/usr/bin/env python3
"""Serve Swagger UI's static assets (node_modules/swagger-ui-dist/) on loopback.

Usage:
    python3 serve_assets.py [--host 127.0.0.1] [--port 0] [--dir DIR] [--port-file FILE]

--port 0 (the default) lets the OS pick a free port. Once the socket is bound, the
base URL (e.g. http://127.0.0.1:41234/) is printed on stdout and, if --port-file is
given, the port number is written to that file (written atomically, so a caller can
poll for it). Then swagger-ui-bundle.js, swagger-ui.css, favicon-32x32.png, ... are
served from <base URL>/<file name>. Stops on SIGINT/SIGTERM.

Only the Python standard library is used.
"""
import argparse
import functools
import ipaddress
import os
import signal
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(HERE, "node_modules", "swagger-ui-dist")


class Handler(SimpleHTTPRequestHandler):
    # Make sure the bundle is served with a JS type whatever the host's mime.types says.
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".css": "text/css",
        ".map": "application/json",
        ".png": "image/png",
        ".html": "text/html",
    }

    def end_headers(self):
        # Harmless for <script>/<link> loads; lets fetch()-based hosts use the assets too.
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, fmt, *args):  # quieter log, on stderr
        sys.stderr.write("serve_assets: %s %s\n" % (self.address_string(), fmt % args))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--dir", default=DEFAULT_DIR)
    ap.add_argument("--port-file")
    args = ap.parse_args()

    if not ipaddress.ip_address(args.host).is_loopback:
        ap.error("refusing to bind a non-loopback address: %s" % args.host)
    bundle = os.path.join(args.dir, "swagger-ui-bundle.js")
    if not os.path.isfile(bundle):
        sys.exit("serve_assets: %s not found; run `npm ci` in %s first" % (bundle, HERE))

    server = ThreadingHTTPServer((args.host, args.port), functools.partial(Handler, directory=args.dir))
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print("http://%s:%d/" % (args.host, port), flush=True)

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
