"""The sandbox app: auth, fault injection, request counting, then the org's routes.

Every API request is counted by kind (``/__sandbox__/stats``), spends one unit of the
daily budget (``Sforce-Limit-Info``) and may draw an injected fault.
"""

from __future__ import annotations

import base64
import contextlib
import re
import secrets
import threading
import time
from collections import Counter
from concurrent.futures import Future
from typing import Any
from urllib.parse import parse_qs, urlsplit

from icpsync.connectors.salesforce.sandbox import faults as fault_kinds
from icpsync.connectors.salesforce.sandbox.bulk import Jobs
from icpsync.connectors.salesforce.sandbox.faults import Faults
from icpsync.connectors.salesforce.sandbox.metadata import MetadataApi
from icpsync.connectors.salesforce.sandbox.metadata import fault as fault_envelope
from icpsync.connectors.salesforce.sandbox.org import ApiError, Org
from icpsync.connectors.salesforce.sandbox.render import Selection
from icpsync.connectors.salesforce.sandbox.reports import Reports
from icpsync.connectors.salesforce.sandbox.routes import (
    MAX_VERSION,
    MIN_VERSION,
    Response,
    Routes,
    error,
    request_kind,
    versions,
)

#: what a load balancer in front of the org answers when the org does not.
BAD_GATEWAY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body>"
    "<center><h1>502 Bad Gateway</h1></center></body></html>"
)
_DATA = re.compile(r"^/services/data/v(?P<version>\d+\.\d)/(?P<rest>.*)$")
_SOAP_MD = re.compile(r"^/services/Soap/m/(?P<version>\d+\.\d)/?$")


class App(Routes):
    """Routes requests to the org; no HTTP in here, so it is easy to reason about."""

    def __init__(self, org: Org, faults: Faults, *, consumer_key: str, consumer_secret: str):
        self.org = org
        self.jobs = Jobs(org)
        self.reports = Reports(org)
        self.faults = faults
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.tokens: set[str] = set()
        self.session_id = self.new_token()
        self.stats: Counter[str] = Counter()
        self.stats_lock = threading.Lock()
        self.cursors: dict[str, Selection] = {}
        self.pages_ahead: dict[tuple[str, int, int], Future[str]] = {}
        self.cursors_lock = threading.Lock()
        self.base_url = ""
        self.mdapi = MetadataApi(
            lambda obj, name: name in self.org.schema.get(obj, {}), self.org.user_id
        )

    def new_token(self) -> str:
        token = f"{self.org.org_id[:15]}!{secrets.token_urlsafe(24)}"
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
                return error(401, "INVALID_SESSION_ID", "Session expired or invalid")
            return Response(body=self._userinfo())
        if path.rstrip("/") == "/services/data":
            self.count("versions")
            return Response(body=versions())
        soap = _SOAP_MD.match(path)
        if soap is not None and method == "POST":
            return self._metadata(soap["version"], body)
        match = _DATA.match(path)
        if match is None:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        version, rest = match["version"], match["rest"].rstrip("/")
        self.count(request_kind(method, rest))
        if not MIN_VERSION <= float(version) <= MAX_VERSION:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        if token not in self.tokens:
            return error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        fault = self.faults.draw()
        if fault == fault_kinds.UNAVAILABLE:
            return error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
        if fault == fault_kinds.EXPIRED:
            self.tokens.discard(token)
            return error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if fault == fault_kinds.SPURIOUS_401:  # the token stays valid
            return error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if fault == fault_kinds.BAD_GATEWAY:
            return Response(502, BAD_GATEWAY_PAGE, content_type="text/html")
        if fault == fault_kinds.SLOW and method == "GET":
            time.sleep(self.faults.slow_s)
        if not self.org.spend():
            return error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        try:
            response = self._route(method, version, rest, params, headers, body, fault)
        except ApiError as exc:
            response = Response(exc.status, exc.body())
        except (ValueError, KeyError, TypeError) as exc:
            response = error(400, "JSON_PARSER_ERROR", f"bad request: {exc}")
        response.headers["Sforce-Limit-Info"] = self.org.limit_info()
        if fault == fault_kinds.SLOW and method != "GET":
            time.sleep(self.faults.slow_s)  # the write is applied; the answer comes late
        return response

    def _metadata(self, version: str, body: bytes) -> Response:
        """The Metadata API (SOAP): counted, budgeted and faulted like the REST API."""
        self.count("metadata")
        xml = "text/xml;charset=UTF-8"
        if not MIN_VERSION <= float(version) <= MAX_VERSION:
            return Response(404, "UNSUPPORTED_API_VERSION", content_type="text/plain")
        fault = self.faults.draw()
        if fault == fault_kinds.UNAVAILABLE:
            return Response(503, "Service Unavailable", content_type="text/plain")
        if not self.org.spend():
            code = "sf:REQUEST_LIMIT_EXCEEDED"
            return Response(
                500, fault_envelope(code, "TotalRequests Limit exceeded."), content_type=xml
            )

        def valid(token: str) -> bool:
            if token in self.tokens and fault == fault_kinds.EXPIRED:
                self.tokens.discard(token)  # the session expires under this call
            return token in self.tokens

        status, text = self.mdapi.handle(body, valid)
        return Response(status, text, content_type=xml)

    def _sandbox(self, method: str, path: str) -> Response:
        if path == "/__sandbox__/stats" and method == "GET":
            return Response(body=self.snapshot())
        if path == "/__sandbox__/reset-stats" and method == "POST":
            self.reset()
            return Response(body={"ok": True})
        if path == "/__sandbox__/jobs" and method == "GET":
            return Response(body=self.jobs.timings())
        if path == "/__sandbox__/writes" and method == "GET":
            with self.org.lock:
                return Response(body=dict(self.org.write_counts))
        return error(404, "NOT_FOUND", "unknown sandbox endpoint")

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
