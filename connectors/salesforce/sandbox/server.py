"""The sandbox's HTTPS server: one ``ThreadingHTTPServer`` wrapped in TLS around the app."""

from __future__ import annotations

import contextlib
import json
import ssl
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from icpsync.connectors.salesforce.sandbox.app import App


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
            self.wfile.flush()
        except (OSError, ssl.SSLError):
            self.close_connection = True
        finally:
            if response.after is not None:
                response.after()  # what the answer started runs once it is sent

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
