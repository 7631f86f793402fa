"""The sandbox's HTTPS server: Salesforce REST, Tooling, Bulk 2.0 and OAuth routes.

One ``ThreadingHTTPServer`` wrapped in TLS. Every API request is counted by kind (see
``/__sandbox__/stats``), spends one unit of the daily budget (``Sforce-Limit-Info``) and may
draw an injected fault. Errors use Salesforce's bodies: ``[{message, errorCode, fields}]``.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import re
import secrets
import ssl
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from connectors.salesforce.sandbox import faults as fault_kinds
from connectors.salesforce.sandbox.bulk import Jobs
from connectors.salesforce.sandbox.faults import Faults
from connectors.salesforce.sandbox.org import ApiError, Org, RecordError
from connectors.salesforce.sandbox.schema import to_json
from connectors.salesforce.sandbox.seed import sf_id

MIN_VERSION, MAX_VERSION = 42.0, 62.0
_DATA = re.compile(r"^/services/data/v(?P<version>\d+\.\d)/(?P<rest>.*)$")
_serial = itertools.count(1)


class Response:
    """What a route answers: status, body (JSON-able, text or None) and extra headers."""

    def __init__(
        self,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json;charset=UTF-8",
    ):
        self.status, self.body, self.headers = status, body, headers or {}
        self.content_type = content_type


class App:
    """Routes requests to the org; no HTTP in here, so it is easy to reason about."""

    def __init__(self, org: Org, faults: Faults, *, consumer_key: str, consumer_secret: str):
        self.org = org
        self.jobs = Jobs(org)
        self.faults = faults
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.tokens: set[str] = set()
        self.session_id = self.new_token()
        self.stats: Counter[str] = Counter()
        self.stats_lock = threading.Lock()
        self.cursors: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        self.base_url = ""

    def new_token(self) -> str:
        token = f"00D5g0000000001!{secrets.token_urlsafe(24)}"
        self.tokens.add(token)
        return token

    def count(self, kind: str) -> None:
        with self.stats_lock:
            self.stats[kind] += 1

    def snapshot(self) -> dict[str, int]:
        with self.stats_lock:
            out = dict(self.stats)
        out["total"] = sum(out.values())
        return out

    def reset(self) -> None:
        with self.stats_lock:
            self.stats.clear()
        with self.org.lock:
            self.org.write_counts.clear()

    # -- entry point -----------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> Response:
        url = urlsplit(target)
        path, params = url.path, parse_qs(url.query)
        if path.startswith("/__sandbox__/"):
            return self._sandbox(method, path)
        if path == "/services/oauth2/token" and method == "POST":
            self.count("oauth_token")
            return self._token(headers, body)
        token = str(headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if path == "/services/oauth2/userinfo":
            self.count("userinfo")
            if token not in self.tokens:
                return _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
            return Response(body=self._userinfo())
        if path.rstrip("/") == "/services/data":
            self.count("versions")
            return Response(body=_versions())
        match = _DATA.match(path)
        if match is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        version, rest = match["version"], match["rest"].rstrip("/")
        kind = _kind(method, rest)
        self.count(kind)
        if not MIN_VERSION <= float(version) <= MAX_VERSION:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        if token not in self.tokens:
            return _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        fault = self.faults.draw()
        if fault == fault_kinds.UNAVAILABLE:
            return _error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
        if fault == fault_kinds.EXPIRED:
            self.tokens.discard(token)
            return _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if fault == fault_kinds.SLOW and method == "GET":
            time.sleep(self.faults.slow_s)
        if not self.org.spend():
            return _error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        try:
            response = self._route(method, version, rest, params, headers, body, fault)
        except ApiError as exc:
            response = Response(exc.status, exc.body())
        except (ValueError, KeyError, TypeError) as exc:
            response = _error(400, "JSON_PARSER_ERROR", f"bad request: {exc}")
        response.headers["Sforce-Limit-Info"] = self.org.limit_info()
        if fault == fault_kinds.SLOW and method != "GET":
            time.sleep(self.faults.slow_s)  # the write is applied; the answer comes late
        return response

    def _sandbox(self, method: str, path: str) -> Response:
        if path == "/__sandbox__/stats" and method == "GET":
            return Response(body=self.snapshot())
        if path == "/__sandbox__/reset-stats" and method == "POST":
            self.reset()
            return Response(body={"ok": True})
        if path == "/__sandbox__/writes" and method == "GET":
            with self.org.lock:
                return Response(body=dict(self.org.write_counts))
        return _error(404, "NOT_FOUND", "unknown sandbox endpoint")

    def _token(self, headers: Any, body: bytes) -> Response:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        key, secret = form.get("client_id"), form.get("client_secret")
        auth = str(headers.get("Authorization") or "")
        if auth.startswith("Basic "):
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                key, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        if form.get("grant_type") != "client_credentials":
            return Response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
            )
        if key != self.consumer_key or secret != self.consumer_secret:
            return Response(
                400, {"error": "invalid_client", "error_description": "invalid client credentials"}
            )
        return Response(
            body={
                "access_token": self.new_token(),
                "instance_url": self.base_url,
                "id": f"{self.base_url}/id/{self.org.org_id}/{self.org.user_id}",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
                "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
            }
        )

    def _userinfo(self) -> dict[str, Any]:
        return {
            "user_id": self.org.user_id,
            "organization_id": self.org.org_id,
            "preferred_username": "integration@icpsync.sandbox",
        }

    # -- REST ------------------------------------------------------------------------

    def _route(
        self,
        method: str,
        version: str,
        rest: str,
        params: dict[str, list[str]],
        headers: Any,
        body: bytes,
        fault: str | None,
    ) -> Response:
        parts = rest.split("/")
        data = json.loads(body) if body and "json" in str(headers.get("Content-Type")) else None
        locked = fault == fault_kinds.LOCK
        if rest == "" and method == "GET":
            names = ("sobjects", "query", "queryAll", "limits", "tooling", "composite", "jobs")
            return Response(body={n: f"/services/data/v{version}/{n}" for n in names})
        if parts[0] in ("query", "queryAll") and len(parts) == 1:
            return self._query(version, params["q"][0], headers, tooling=False)
        if parts[0] in ("query", "queryAll") and len(parts) == 2:
            return self._query_more(version, parts[1])
        if parts[0] == "tooling" and parts[1:2] == ["query"]:
            return self._query(version, params["q"][0], headers, tooling=True)
        if parts[0] == "limits":
            used, limit = self.org.api_used, self.org.daily_limit
            return Response(
                body={
                    "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
                    "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                }
            )
        if parts[0] == "sobjects":
            return self._sobjects(method, version, parts[1:], data)
        if parts[0] == "composite" and parts[1:] == ["sobjects"]:
            return self._collection(method, data, locked)
        if parts[0] == "tooling" and parts[1:3] == ["sobjects", "CustomField"]:
            return self._custom_field(method, parts[3:], data)
        if parts[0] == "jobs":
            return self._jobs(method, parts[1:], params, data, body, locked)
        return _error(404, "NOT_FOUND", "The requested resource does not exist")

    def _record(self, version: str, object_name: str, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": {
                "type": object_name,
                "url": f"/services/data/v{version}/sobjects/{object_name}/{row.get('Id', '')}",
            }
        }
        out.update((k, to_json(v)) for k, v in row.items())
        return out

    def _query(self, version: str, text: str, headers: Any, *, tooling: bool) -> Response:
        query, rows = self.org.query(text, tooling=tooling)
        if query.count:
            return Response(body={"totalSize": len(rows), "done": True, "records": []})
        size = 2000
        option = str(headers.get("Sforce-Query-Options") or "")
        found = re.search(r"batchSize=(\d+)", option)
        if found:
            size = max(200, min(2000, int(found.group(1))))
        cursor_id = sf_id("01g", next(_serial))
        self.cursors[cursor_id] = (query.object, rows)
        return self._page(version, cursor_id, 0, size)

    def _page(self, version: str, cursor_id: str, start: int, size: int) -> Response:
        object_name, rows = self.cursors[cursor_id]
        chunk = rows[start : start + size]
        end = start + len(chunk)
        body: dict[str, Any] = {
            "totalSize": len(rows),
            "done": end >= len(rows),
            "records": [self._record(version, object_name, r) for r in chunk],
        }
        if end < len(rows):
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor_id}-{end}"
        else:
            self.cursors.pop(cursor_id, None)
        return Response(body=body)

    def _query_more(self, version: str, locator: str) -> Response:
        cursor_id, _, start = locator.partition("-")
        if cursor_id not in self.cursors or not start.isdigit():
            return _error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        size = 2000
        return self._page(version, cursor_id, int(start), size)

    def _sobjects(self, method: str, version: str, parts: list[str], data: Any) -> Response:
        if not parts:
            names = sorted(self.org.schema)
            return Response(body={"sobjects": [{"name": n, "queryable": True} for n in names]})
        object_name = parts[0]
        if parts[1:] == ["describe"] and method == "GET":
            return Response(body=self.org.describe(object_name))
        if len(parts) == 1 and method == "POST":
            try:
                new_id = self.org.insert(object_name, dict(data or {}))
            except RecordError as exc:
                return _error(400, exc.code, exc.message, exc.fields)
            return Response(201, {"id": new_id, "success": True, "errors": []})
        if len(parts) == 2 and method == "PATCH":
            try:
                self.org.update(object_name, parts[1], dict(data or {}))
            except RecordError as exc:
                status = 404 if exc.code in ("ENTITY_IS_DELETED", "MALFORMED_ID") else 400
                return _error(status, exc.code, exc.message, exc.fields)
            return Response(204)
        if len(parts) == 2 and method == "GET":
            with self.org.lock:
                fields = self.org.fields(object_name)
                row = self.org.records.get(object_name, {}).get(parts[1])
                if row is None:
                    return _error(404, "NOT_FOUND", "The requested resource does not exist")
                visible = {k: v for k, v in row.items() if k in fields}
            return Response(body=self._record(version, object_name, visible))
        return _error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed.")

    def _collection(self, method: str, data: Any, locked: bool) -> Response:
        if not isinstance(data, dict) or not isinstance(data.get("records"), list):
            return _error(400, "JSON_PARSER_ERROR", "expected {allOrNone, records}")
        records = data["records"]
        if len(records) > 200:
            return _error(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records",
            )
        results = []
        for record in records:
            object_name = str((record.get("attributes") or {}).get("type") or "")
            try:
                if locked and self.faults.row_locked():
                    raise RecordError(
                        "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
                    )
                if method == "PATCH":
                    record_id = str(record.get("id") or record.get("Id") or "")
                    self.org.update(object_name, record_id, record)
                elif method == "POST":
                    record_id = self.org.insert(object_name, record)
                else:
                    return _error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed.")
                results.append({"id": record_id, "success": True, "errors": []})
            except RecordError as exc:
                error = {"statusCode": exc.code, "message": exc.message, "fields": exc.fields}
                results.append({"success": False, "errors": [error]})
        return Response(body=results)

    def _custom_field(self, method: str, parts: list[str], data: Any) -> Response:
        if not parts and method == "POST":
            field_id = self.org.create_custom_field(dict(data or {}))
            return Response(201, {"id": field_id, "success": True, "errors": [], "warnings": []})
        if len(parts) == 1 and method == "GET":
            return Response(body=self.org.custom_field(parts[0]))
        if len(parts) == 1 and method == "PATCH":
            self.org.update_custom_field(parts[0], dict(data or {}))
            return Response(204)
        return _error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed.")

    def _jobs(
        self,
        method: str,
        parts: list[str],
        params: dict[str, list[str]],
        data: Any,
        body: bytes,
        locked: bool,
    ) -> Response:
        kind = parts[0] if parts else ""
        if kind == "query":
            if len(parts) == 1 and method == "POST":
                return Response(body=self.jobs.create_query(dict(data or {})))
            job = self.jobs.query_job(parts[1])
            if len(parts) == 2 and method == "GET":
                return Response(body=job.info())
            if parts[2:] == ["results"] and method == "GET":
                text, locator, count = job.page(
                    params.get("locator", [""])[0], int(params.get("maxRecords", ["50000"])[0])
                )
                return Response(
                    body=text,
                    headers={"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(count)},
                    content_type="text/csv",
                )
        if kind == "ingest":
            if len(parts) == 1 and method == "POST":
                return Response(body=self.jobs.create_ingest(dict(data or {})))
            job_id = parts[1]
            if parts[2:] == ["batches"] and method == "PUT":
                self.jobs.upload(job_id, body.decode("utf-8"))
                return Response(201)
            if len(parts) == 2 and method == "PATCH":
                row_fault = self.faults.row_locked if locked else (lambda: False)
                return Response(body=self.jobs.close(job_id, str(data.get("state")), row_fault))
            if len(parts) == 2 and method == "GET":
                return Response(body=self.jobs.ingest_job(job_id).info())
            if len(parts) == 2 and method == "DELETE":
                self.jobs.ingest_jobs.pop(job_id, None)
                return Response(204)
            if len(parts) == 3 and method == "GET":
                return Response(body=self.jobs.results(job_id, parts[2]), content_type="text/csv")
        return _error(404, "NOT_FOUND", "The requested resource does not exist")


def _error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    return Response(status, [{"message": message, "errorCode": code, "fields": fields or []}])


def _versions() -> list[dict[str, str]]:
    out = []
    version = MIN_VERSION
    while version <= MAX_VERSION:
        out.append(
            {
                "label": "sandbox",
                "url": f"/services/data/v{version:.1f}",
                "version": f"{version:.1f}",
            }
        )
        version += 1
    return out


def _kind(method: str, rest: str) -> str:
    """A short name for what a request does, for the stats."""
    parts = rest.split("/")
    head = parts[0]
    if head in ("query", "queryAll"):
        return "query" if len(parts) == 1 else "query_more"
    if head == "tooling":
        return "tooling_query" if parts[1:2] == ["query"] else f"tooling_{method.lower()}"
    if head == "sobjects":
        if parts[-1] == "describe":
            return "describe"
        return {"POST": "sobject_insert", "PATCH": "sobject_update"}.get(method, "sobject_get")
    if head == "composite":
        return "composite_update" if method == "PATCH" else "composite_insert"
    if head == "jobs":
        job = parts[1] if len(parts) > 1 else ""
        step = {"POST": "create", "PUT": "upload", "PATCH": "close", "DELETE": "delete"}.get(
            method, "results" if len(parts) > 3 else "poll"
        )
        return f"bulk_{job}_{step}"
    return head or "root"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120
    server: _Server

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError, ssl.SSLError):
            self.request.do_handshake()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        sandbox_path = self.path.startswith("/__sandbox__/")
        if self.server.latency_s and not sandbox_path:
            time.sleep(self.server.latency_s)
        response = self.server.app.handle(self.command, self.path, self.headers, body)
        payload = b""
        if response.body is not None:
            if isinstance(response.body, str):
                payload = response.body.encode("utf-8")
            else:
                payload = json.dumps(response.body).encode("utf-8")
        try:
            self.send_response(response.status)
            if payload:
                self.send_header("Content-Type", response.content_type)
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)
        except (OSError, ssl.SSLError):
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], app: App, context: ssl.SSLContext, latency_s: float
    ):
        self.app = app
        self.context = context
        self.latency_s = latency_s
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        return self.context.wrap_socket(
            sock, server_side=True, do_handshake_on_connect=False
        ), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that went away (timeouts, killed runs) is not the server's problem
