#!/usr/bin/env python3
"""A stand-in for the "Records API" the example wrapper talks to (Python 3 standard library only).

    python3 examples/wrapper/records_api.py [port]     # default 8787, API key "demo-key"

GET /ping, GET /records?page=N[&since=...] (three pages of records), POST /records (needs a "name").
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

KEY = "demo-key"
PAGES = {
    1: {"records": [{"id": 1, "name": "record 1"}, {"id": 2, "name": "record 2"}], "next": 2},
    2: {"records": [{"id": 3, "name": "record 3"}, {"id": 4, "name": "record 4"}], "next": 3},
    3: {"records": [{"id": 5, "name": "record 5"}]},
}
created = []


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        if self.headers.get("Authorization") == f"Bearer {KEY}":
            return True
        self.answer(401, {"errors": [{"code": "unauthorized", "message": "unknown API key"}]})
        return False

    def do_GET(self):
        url = urlparse(self.path)
        if not self.authorized():
            return
        if url.path == "/ping":
            return self.answer(200, {"ok": True})
        if url.path == "/records":
            query = parse_qs(url.query)
            page = int(query.get("page", ["1"])[0])
            if "since" in query:
                print("since", query["since"][0], file=sys.stderr)
            return self.answer(200, PAGES.get(page, {"records": []}))
        self.answer(404, {"errors": [{"code": "not_found", "message": "no such route"}]})

    def do_POST(self):
        if urlparse(self.path).path != "/records":
            return self.answer(404, {"errors": [{"code": "not_found", "message": "no such route"}]})
        if not self.authorized():
            return
        record = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if not record.get("name"):
            return self.answer(422, {"errors": [{"code": "missing_name", "message": "name is required"}]})
        created.append(record)
        self.answer(201, {"id": f"rec-{len(created)}"})


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8787
    print(f"Records API on http://127.0.0.1:{port} (key {KEY})", file=sys.stderr)
    HTTPServer(("127.0.0.1", port), Handler).serve_forever()
