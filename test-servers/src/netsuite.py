# A NetSuite stand-in for tests (test-servers/src/netsuite.rs starts it).
#
# Every request but /__admin/... must carry an OAuth 1.0a Authorization header signed with
# HMAC-SHA256 by known consumer and token credentials and the account's realm. The signature is
# checked with oauthlib's own RFC 5849 functions (an implementation independent of the
# runtime's); a bad one, an unknown consumer or token, a reused nonce or a stale timestamp is a
# NetSuite-style 401 INVALID_LOGIN.
#
# Served:
#   POST /services/rest/query/v1/suiteql?limit&offset  (Prefer: transient; {"q": "... FROM t"})
#        rows of record type t (or one row for dual), paged, NetSuite's answer shape
#   POST|GET|PATCH|DELETE /services/rest/record/v1/{type}[/{id}]   the record API
#        customers need a non-empty companyName (400 USER_ERROR otherwise)
#   GET|POST|PUT|DELETE /app/site/hosting/restlet.nl?script&deploy  a RESTlet
#        GET: {"script","deploy","params","items": customers}
#        POST/PUT an array: one result per entry ({"id"}, or {"error"} for entries with
#        "fail": true), stored under record type "restlet"; an object: echoed
#   GET /__admin/records/{type}, GET /__admin/requests, POST /__admin/busy {"count": n}
#        (no auth) what was written, what was asked, and n answers of 429 to come
import hmac
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from oauthlib.oauth1.rfc5849 import signature

CONFIG = json.loads(sys.argv[1])
REALM = CONFIG["realm"]
CONSUMERS = CONFIG["consumers"]  # consumer key -> consumer secret
TOKENS = CONFIG["tokens"]  # token id -> {"secret", "consumer"}
MAX_SKEW = 300

LOCK = threading.Lock()
RECORDS = {"customer": {}}
NEXT_ID = [1000]
NONCES = set()
REQUESTS = []
BUSY = [0]
for n in range(1, CONFIG["customers"] + 1):
    RECORDS["customer"][str(n)] = {
        "companyName": "Customer %d" % n,
        "email": "customer%d@example.com" % n,
    }

TYPES = {
    400: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
    401: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2",
    404: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.5",
    405: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.6",
    429: "https://www.rfc-editor.org/rfc/rfc6585.html#section-4",
}
TITLES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
          405: "Method Not Allowed", 429: "Too Many Requests"}


def problem(status, code, detail):
    return status, {
        "type": TYPES.get(status, ""),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
    }


def row(record_id, record):
    # SuiteQL answers column names in lower case and values as text.
    out = {"links": [], "id": record_id}
    for name, value in record.items():
        out[name.lower()] = value if isinstance(value, str) else json.dumps(value)
    return out


def sorted_records(record_type):
    records = RECORDS.get(record_type, {})
    return sorted(records.items(), key=lambda item: int(item[0]) if item[0].isdigit() else 0)


def check_customer(record, creating):
    if creating or "companyName" in record:
        name = record.get("companyName")
        if not isinstance(name, str) or not name.strip():
            return problem(400, "USER_ERROR",
                           "Error while accessing a resource. Please enter value(s) for: Company Name.")
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def reply(self, status, body=None, headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status == 204:
            self.end_headers()
            return
        data = b"" if body is None else json.dumps(body).encode()
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query
        if path.startswith("/__admin/"):
            return self.reply(*self.admin(method, path, raw))
        reason = self.authenticate(method, path, query)
        with LOCK:
            REQUESTS.append({
                "method": method,
                "path": path,
                "query": dict(parse_qsl(query, keep_blank_values=True)),
                "prefer": self.headers.get("Prefer"),
                "contentType": self.headers.get("Content-Type"),
                "body": raw.decode("utf-8", "replace"),
                "auth": reason or "ok",
            })
        if reason:
            return self.reply(*problem(401, "INVALID_LOGIN", "Invalid login attempt."))
        with LOCK:
            if BUSY[0] > 0:
                BUSY[0] -= 1
                return self.reply(*problem(429, "CONCURRENCY_LIMIT_EXCEEDED",
                                           "Concurrency limit exceeded."))
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return self.reply(*problem(400, "INVALID_CONTENT", "The request body is not valid JSON."))
        answer = self.route(method, path, query, body)
        self.reply(*answer)

    def authenticate(self, method, path, query):
        """None when the request is signed by known credentials, else why not."""
        header = self.headers.get("Authorization")
        if not header or not header.startswith("OAuth "):
            return "no OAuth Authorization header"
        try:
            every = dict(signature.collect_parameters(
                uri_query=query, headers={"Authorization": header},
                exclude_oauth_signature=False, with_realm=True))
            params = signature.collect_parameters(
                uri_query=query, headers={"Authorization": header},
                exclude_oauth_signature=True, with_realm=False)
        except ValueError as e:
            return "malformed: %s" % e
        if every.get("realm") != REALM:
            return "wrong realm %r" % every.get("realm")
        if every.get("oauth_signature_method") != "HMAC-SHA256":
            return "signature method %r" % every.get("oauth_signature_method")
        if every.get("oauth_version", "1.0") != "1.0":
            return "version"
        consumer = every.get("oauth_consumer_key")
        token = TOKENS.get(every.get("oauth_token"))
        if consumer not in CONSUMERS:
            return "unknown consumer"
        if token is None or token["consumer"] != consumer:
            return "unknown token"
        try:
            stamp = int(every.get("oauth_timestamp", ""))
        except ValueError:
            return "timestamp"
        if abs(time.time() - stamp) > MAX_SKEW:
            return "stale timestamp"
        nonce = every.get("oauth_nonce")
        if not nonce:
            return "no nonce"
        uri = "http://%s%s" % (self.headers.get("Host"), path)
        base = signature.signature_base_string(
            method, signature.base_string_uri(uri), signature.normalize_parameters(params))
        expected = signature.sign_hmac_sha256(base, CONSUMERS[consumer], token["secret"])
        if not hmac.compare_digest(expected, every.get("oauth_signature", "")):
            return "wrong signature"
        with LOCK:
            key = (consumer, every.get("oauth_token"), nonce, stamp)
            if key in NONCES:
                return "nonce used before"
            NONCES.add(key)
        return None

    def admin(self, method, path, raw):
        with LOCK:
            if method == "GET" and path == "/__admin/requests":
                return 200, list(REQUESTS)
            m = re.fullmatch(r"/__admin/records/(\w+)", path)
            if method == "GET" and m:
                return 200, [dict(record, id=record_id) for record_id, record in sorted_records(m.group(1))]
            if method == "POST" and path == "/__admin/busy":
                BUSY[0] = int(json.loads(raw or b"{}").get("count", 1))
                return 200, {"busy": BUSY[0]}
        return 404, {"error": "unknown admin route"}

    def route(self, method, path, query, body):
        if path == "/services/rest/query/v1/suiteql":
            if method != "POST":
                return problem(405, "INVALID_REQUEST", "SuiteQL queries are POSTed.")
            return self.suiteql(query, body)
        m = re.fullmatch(r"/services/rest/record/v1/(\w+)(?:/([^/]+))?", path)
        if m:
            return self.record(method, m.group(1), m.group(2), body)
        if path == "/app/site/hosting/restlet.nl":
            return self.restlet(method, query, body)
        return problem(404, "NONEXISTENT_PATH", "The requested path %s was not found." % path)

    def suiteql(self, query, body):
        if "transient" not in (self.headers.get("Prefer") or "").lower():
            return problem(400, "INVALID_HEADER", "The Prefer header must be transient for SuiteQL.")
        if not isinstance(body, dict) or not isinstance(body.get("q"), str):
            return problem(400, "INVALID_CONTENT", "The body must be {\"q\": \"<query>\"}.")
        args = dict(parse_qsl(query))
        try:
            limit = int(args.get("limit", "1000"))
            offset = int(args.get("offset", "0"))
        except ValueError:
            return problem(400, "INVALID_PARAMETER", "limit and offset must be numbers.")
        if not 1 <= limit <= 1000 or offset < 0 or offset % limit:
            return problem(400, "INVALID_PARAMETER",
                           "Invalid limit or offset: the limit is 1 to 1000 and the offset a multiple of it.")
        table = re.search(r"\bfrom\s+(\w+)", body["q"], re.IGNORECASE)
        table = table.group(1).lower() if table else ""
        with LOCK:
            if table == "dual":
                rows = [{"links": [], "ok": "1"}]
            elif table in RECORDS:
                rows = [row(record_id, record) for record_id, record in sorted_records(table)]
            else:
                return problem(400, "INVALID_PARAMETER",
                               "Invalid search query. Search error occurred: Record '%s' was not found." % table)
        page = rows[offset:offset + limit]
        return 200, {
            "links": [],
            "count": len(page),
            "hasMore": offset + limit < len(rows),
            "items": page,
            "offset": offset,
            "totalResults": len(rows),
        }

    def record(self, method, record_type, record_id, body):
        host = self.headers.get("Host")
        with LOCK:
            records = RECORDS.setdefault(record_type, {})
            if record_id is None:
                if method == "GET":
                    items = [{"id": i, "links": []} for i, _ in sorted_records(record_type)]
                    return 200, {"links": [], "count": len(items), "hasMore": False,
                                 "items": items, "offset": 0, "totalResults": len(items)}
                if method != "POST":
                    return problem(405, "INVALID_REQUEST", "Use POST to create a record.")
                if not isinstance(body, dict):
                    return problem(400, "INVALID_CONTENT", "The record must be a JSON object.")
                if record_type == "customer":
                    refused = check_customer(body, True)
                    if refused:
                        return refused
                NEXT_ID[0] += 1
                new_id = str(NEXT_ID[0])
                records[new_id] = {k: v for k, v in body.items() if k != "id"}
                location = "http://%s/services/rest/record/v1/%s/%s" % (host, record_type, new_id)
                return 204, None, {"Location": location}
            if record_id not in records:
                return problem(404, "NONEXISTENT_ID",
                               "The record instance does not exist. Provide a valid record instance ID.")
            if method == "GET":
                return 200, dict(records[record_id], id=record_id, links=[])
            if method == "PATCH":
                if not isinstance(body, dict):
                    return problem(400, "INVALID_CONTENT", "The record must be a JSON object.")
                if "id" in body:
                    return problem(400, "INVALID_CONTENT", "The id field cannot be set.")
                if record_type == "customer":
                    refused = check_customer(body, False)
                    if refused:
                        return refused
                records[record_id].update(body)
                return 204, None
            if method == "DELETE":
                del records[record_id]
                return 204, None
        return problem(405, "INVALID_REQUEST", "%s is not allowed here." % method)

    def restlet(self, method, query, body):
        args = dict(parse_qsl(query, keep_blank_values=True))
        script, deploy = args.pop("script", None), args.pop("deploy", None)
        if not script or not deploy:
            return 400, {"error": {"code": "SSS_MISSING_REQD_ARGUMENT",
                                   "message": "script and deploy are required"}}
        if method == "GET":
            with LOCK:
                items = [dict(record, id=i) for i, record in sorted_records("customer")]
            return 200, {"script": script, "deploy": deploy, "params": args, "items": items}
        if method == "DELETE":
            return 200, {"script": script, "deploy": deploy, "deleted": True}
        if isinstance(body, list):
            results = []
            with LOCK:
                stored = RECORDS.setdefault("restlet", {})
                for entry in body:
                    if isinstance(entry, dict) and entry.get("fail"):
                        results.append({"error": {"code": "RESTLET_REFUSED",
                                                  "message": "the RESTlet refused %s" % entry.get("name")}})
                        continue
                    NEXT_ID[0] += 1
                    stored[str(NEXT_ID[0])] = dict(entry, script=script, deploy=deploy)
                    results.append({"id": str(NEXT_ID[0])})
            return 200, results
        return 200, {"script": script, "deploy": deploy, "received": body}


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
