"""The sandbox's HTTP front: HubSpot's CRM routes on 127.0.0.1, with limits and faults.

Requests need ``Authorization: Bearer <token>``. Routes not listed answer 404 in HubSpot's
error shape. ``/__sandbox__/stats`` and ``/__sandbox__/reset-stats`` are for tests and
benchmarks and are neither limited nor counted.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from icpsync.connectors.hubspot.sandbox.limits import Limits
from icpsync.connectors.hubspot.sandbox.lists import ROUTES as LIST_ROUTES
from icpsync.connectors.hubspot.sandbox.portal import Portal, Response, error

#: what a load balancer in front of HubSpot answers when HubSpot does not.
BAD_GATEWAY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body>"
    "<center><h1>502 Bad Gateway</h1></center></body></html>"
)
KINDS = {"companies": "companies", "0-2": "companies", "deals": "deals", "0-3": "deals"}
_OBJ = r"/crm/v3/objects/(?P<kind>companies|deals|0-2|0-3)"
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(_OBJ + r"$"), "list"),
    ("GET", re.compile(_OBJ + r"/(?P<id>\d+)$"), "get"),
    ("POST", re.compile(_OBJ + r"/search$"), "search"),
    ("POST", re.compile(_OBJ + r"/batch/read$"), "batch_read"),
    ("POST", re.compile(_OBJ + r"/batch/update$"), "batch_update"),
    (
        "POST",
        re.compile(r"/crm/v4/associations/(?P<kind>\w+)/(?P<to>\w+)/batch/read$"),
        "associations",
    ),
    ("GET", re.compile(r"/crm/v3/pipelines/deals$"), "pipelines"),
    ("GET", re.compile(r"/account-info/v3/details$"), "account_details"),
    ("POST", re.compile(r"/oauth/v2/private-apps/get/access-token-info$"), "token_info"),
    ("GET", re.compile(r"/crm/v3/properties/(?P<kind>companies|deals)/groups$"), "list_groups"),
    ("POST", re.compile(r"/crm/v3/properties/(?P<kind>companies|deals)/groups$"), "create_group"),
    ("GET", re.compile(r"/crm/v3/properties/(?P<kind>companies|deals)$"), "list_properties"),
    ("POST", re.compile(r"/crm/v3/properties/(?P<kind>companies|deals)$"), "create_property"),
    (
        "GET",
        re.compile(r"/crm/v3/properties/(?P<kind>companies|deals)/(?P<name>\w+)$"),
        "get_property",
    ),
    (
        "PATCH",
        re.compile(r"/crm/v3/properties/(?P<kind>companies|deals)/(?P<name>\w+)$"),
        "update_property",
    ),
    (
        "DELETE",
        re.compile(r"/crm/v3/properties/(?P<kind>companies|deals)/groups/(?P<name>\w+)$"),
        "archive_group",
    ),
    (
        "DELETE",
        re.compile(r"/crm/v3/properties/(?P<kind>companies|deals)/(?P<name>\w+)$"),
        "archive_property",
    ),
    *LIST_ROUTES,
]


class SandboxServer(ThreadingHTTPServer):
    """A threading HTTP server that can close its keep-alive connections on stop."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        portal: Portal,
        limits: Limits,
        token: str,
        latency_ms: int,
        fault_delay_s: float,
        port: int = 0,
    ):
        super().__init__(("127.0.0.1", port), Handler)
        self.portal = portal
        self.limits = limits
        self.token = token
        self.latency_ms = latency_ms
        self.fault_delay_s = fault_delay_s
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Unblock handler threads waiting on idle keep-alive connections."""
        with self._open_lock:
            for sock in list(self._open):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    """One request: authenticate, admit, maybe fault, route, answer."""

    server: SandboxServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # one response is two writes (headers, body): without this, Nagle + delayed ACK
        # add ~40 ms to every call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        data = json.loads(self.rfile.read(length) or b"{}")
        return data if isinstance(data, dict) else {}

    def _send(
        self,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json;charset=utf-8",
    ) -> None:
        if status == 204:
            payload = b""
        else:
            payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        try:
            body = self._body() if method in ("POST", "PATCH", "PUT") else {}
        except (ValueError, UnicodeDecodeError):
            self._send(*error(400, "VALIDATION_ERROR", "Invalid input JSON"))
            return
        if url.path.startswith("/__sandbox__/"):
            self._control(method, url.path)
            return
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            self._send(
                *error(
                    401,
                    "INVALID_AUTHENTICATION",
                    "Authentication credentials not found. "
                    "This API supports OAuth 2.0 authentication.",
                )
            )
            return
        route = next(
            (
                (name, m)
                for verb, rx, name in ROUTES
                if verb == method and (m := rx.match(url.path))
            ),
            None,
        )
        if route is None:
            self._send(*error(404, "OBJECT_NOT_FOUND", f"No route for {method} {url.path}"))
            return
        name, match = route
        params = match.groupdict()
        kind = f"{name}_{KINDS.get(params.get('kind', ''), params.get('kind', ''))}".rstrip("_")
        limits = self.server.limits
        refusal, headers = limits.admit(kind, search=name == "search")
        if self.server.latency_ms:
            time.sleep(self.server.latency_ms / 1000)
        if refusal is not None:
            status, err = error(
                429,
                "RATE_LIMITS",
                refusal.message,
                errorType="RATE_LIMIT",
                policyName=refusal.policy,
                groupName="api",
            )
            self._send(status, err, headers)
            return
        fault = limits.fault(kind, partial_possible=name == "batch_update")
        if fault in ("500", "503"):
            self._send(*error(int(fault), "INTERNAL_ERROR", "internal error; try again"), headers)
            return
        if fault == "502":  # a proxy in front of HubSpot: an HTML page, no JSON
            self._send(502, BAD_GATEWAY_PAGE, content_type="text/html")
            return
        if fault == "429":
            headers = {**headers, "X-HubSpot-RateLimit-Remaining": "0", "Retry-After": "1"}
            status, err = error(
                429,
                "RATE_LIMITS",
                "You have reached your ten_secondly_rolling limit.",
                errorType="RATE_LIMIT",
                policyName="TEN_SECONDLY_ROLLING",
                groupName="api",
            )
            self._send(status, err, headers)
            return
        status, out = self._route(name, params, parse_qs(url.query), body, fault)
        if fault == "timeout":  # the work is done, the response is lost
            time.sleep(self.server.fault_delay_s)
            self.close_connection = True
            return
        self._send(status, out, headers)

    def _route(
        self,
        name: str,
        params: dict[str, str],
        query: dict[str, list[str]],
        body: dict[str, Any],
        fault: str | None,
    ) -> Response:
        portal = self.server.portal
        kind = KINDS.get(params.get("kind", ""), params.get("kind", ""))
        if name.startswith("lists_"):
            with portal.lock:
                return portal.lists.route(name, params, query, body)
        if name == "archive_property":
            return portal.schema.archive_property(kind, params["name"])
        if name == "archive_group":
            return portal.schema.archive_group(kind, params["name"])

        def listed(key: str) -> list[str]:
            return [v for item in query.get(key, []) for v in item.split(",") if v]

        if name == "list":
            return portal.list_objects(
                kind,
                int(query.get("limit", ["10"])[0]),
                query.get("after", [None])[0],
                listed("properties"),
                listed("associations"),
            )
        if name == "get":
            return portal.get(kind, params["id"], listed("properties"), listed("associations"))
        if name == "search":
            return portal.search(kind, body)
        if name == "batch_read":
            return portal.batch_read(kind, body)
        if name == "batch_update":
            fail: set[str] = set()
            if fault == "207":
                fail = self.server.limits.partial_ids(
                    [str(i.get("id")) for i in body.get("inputs") or []]
                )
            return portal.batch_update(kind, body, fail)
        if name == "associations":
            return portal.association_batch_read(kind, KINDS.get(params["to"], params["to"]), body)
        if name == "pipelines":
            return portal.pipelines()
        if name == "account_details":
            return portal.account_details()
        if name == "token_info":
            return portal.token_info(body, self.server.token)
        if name == "list_groups":
            return portal.schema.list_groups(kind)
        if name == "create_group":
            return portal.schema.create_group(kind, body)
        if name == "list_properties":
            return portal.schema.list_properties(kind)
        if name == "create_property":
            return portal.schema.create_property(kind, body)
        if name == "get_property":
            return portal.schema.get_property(kind, params["name"])
        return portal.schema.update_property(kind, params["name"], body)

    def _control(self, method: str, path: str) -> None:
        limits = self.server.limits
        if method == "GET" and path == "/__sandbox__/stats":
            self._send(200, limits.stats())
        elif method == "POST" and path == "/__sandbox__/reset-stats":
            limits.reset()
            with self.server.portal.lock:
                self.server.portal.write_counts.clear()
            self._send(200, {"ok": True})
        else:
            self._send(*error(404, "OBJECT_NOT_FOUND", path))
