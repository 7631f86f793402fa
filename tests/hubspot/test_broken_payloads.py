"""What the user gets when something between icpsync and HubSpot answers instead of
HubSpot: a proxy's HTML error page, or a body cut off half-way. The real
hubspot-api-client talks over HTTP to a canned server."""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from icpsync.connectors.hubspot import HubSpotConnector
from icpsync.core.errors import RetriableError
from icpsync.engine.settings import Settings

PROXY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>502 Bad Gateway</h1><hr><center>nginx</center></body></html>"
)
CUT_OFF = '{"results": [{"id": "1", "properties": {"name": "Acme'


class Canned(http.server.ThreadingHTTPServer):
    """Answers every request with one status, content type and body; counts requests."""

    def __init__(self, status: int, body: str, content_type: str):
        self.answer = (status, body.encode(), content_type)
        self.requests = 0
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Canned

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests += 1
        status, body, content_type = self.server.answer
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(params=[(502, PROXY_PAGE, "text/html"), (200, CUT_OFF, "application/json")])
def canned(request: pytest.FixtureRequest) -> Iterator[Canned]:
    server = Canned(*request.param)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _settings(server: Canned, state: Path) -> Settings:
    host = f"http://127.0.0.1:{server.server_address[1]}"
    return Settings(
        sync={"crm": "hubspot"},
        state={"dir": str(state)},
        hubspot={
            "access_token": "pat-test",
            "host": host,
            "max_retries": 2,
            "retry_backoff_s": 0.01,
        },
    )


def test_reads_retry_then_name_what_came_back(canned: Canned, tmp_path: Path) -> None:
    connector = HubSpotConnector.from_settings(_settings(canned, tmp_path))
    try:
        with pytest.raises(RetriableError) as caught:
            list(connector.read_opportunities())
        checks = connector.preflight()
    finally:
        connector.close()
    message = str(caught.value)
    assert canned.requests >= 3  # the first try and two retries
    assert "\n" not in message and "<" not in message
    assert ("502 Bad Gateway" in message) or ("not HubSpot's JSON" in message)
    assert not all(check.ok for check in checks)


def test_the_cli_says_it_in_one_line(canned: Canned, tmp_path: Path) -> None:
    config = tmp_path / "icpsync.toml"
    config.write_text(
        f'[sync]\ncrm = "hubspot"\n[state]\ndir = "{tmp_path / "state"}"\n'
        f'[hubspot]\nhost = "http://127.0.0.1:{canned.server_address[1]}"\n'
        "max_retries = 1\nretry_backoff_s = 0.01\n"
    )
    env = {"ICPSYNC_HUBSPOT__ACCESS_TOKEN": "pat-test", "PATH": "/usr/bin:/bin"}
    for command in (["doctor"], ["sync"]):
        done = subprocess.run(
            [sys.executable, "-m", "icpsync", "--config", str(config), *command],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr and "unexpected error" not in done.stderr
        assert "pat-test" not in done.stdout + done.stderr


def test_an_unreachable_host_is_named(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(
        sync={"crm": "hubspot"},
        state={"dir": str(tmp_path)},
        hubspot={
            "access_token": "pat-test",
            "host": f"http://127.0.0.1:{port}",
            "max_retries": 1,
            "retry_backoff_s": 0.01,
        },
    )
    connector = HubSpotConnector.from_settings(settings)
    try:
        with pytest.raises(RetriableError, match=r"no response from 127\.0\.0\.1"):
            list(connector.read_opportunities())
    finally:
        connector.close()
