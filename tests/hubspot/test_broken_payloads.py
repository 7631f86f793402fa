"""What the user gets when something between icpsync and HubSpot answers instead of
HubSpot: a proxy's HTML error page, or a body cut off half-way. The real
hubspot-api-client talks over HTTP to a canned server."""

from __future__ import annotations

import dataclasses
import http.server
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectBatchInput,
)

from icpsync.connectors.hubspot import HubSpotConnector
from icpsync.connectors.hubspot.client import HubSpotApi
from icpsync.connectors.hubspot.objects_api import PageQuery
from icpsync.core.errors import RetriableError
from icpsync.core.model import ScoreUpdate
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
        #: (method, path, headers, body) of every request.
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Canned

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((self.command, self.path, dict(self.headers.items()), body))
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


@contextmanager
def _serving(status: int, body: str, content_type: str) -> Iterator[Canned]:
    server = Canned(status, body, content_type)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(params=[(502, PROXY_PAGE, "text/html"), (200, CUT_OFF, "application/json")])
def canned(request: pytest.FixtureRequest) -> Iterator[Canned]:
    with _serving(*request.param) as server:
        yield server


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


def _update(account_id: str) -> ScoreUpdate:
    return ScoreUpdate(
        account_id=account_id,
        score=80,
        tier="Tier 1",
        flags=(),
        reasons="Industry: Technology (+30)",
        profile_version="v1",
        scored_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


@pytest.mark.parametrize("answer", [CUT_OFF, PROXY_PAGE])
def test_a_batch_update_200_that_is_not_json_is_not_taken_for_written(
    answer: str, tmp_path: Path
) -> None:
    # a 200's echo is not parsed, but it must still be HubSpot's JSON object: a cut-off
    # body or a proxy's page under a 200 leaves the records to retry, never "written"
    with _serving(200, answer, "application/json") as server:
        connector = HubSpotConnector.from_settings(_settings(server, tmp_path))
        try:
            report = connector.write_scores([_update("101"), _update("102")])
        finally:
            connector.close()
    assert report.updated == 0
    assert sorted(f.account_id for f in report.failures) == ["101", "102"]
    assert all(f.retriable for f in report.failures)
    assert any("batch/update" in path for _method, path, _h, _b in server.seen)


def test_a_batch_update_sends_the_token_and_the_body_as_given(tmp_path: Path) -> None:
    # the batch update goes below the client's model serialiser: it must still carry the
    # private-app token, JSON headers and the configured host's path, and the body as built
    with _serving(200, '{"status": "COMPLETE", "results": []}', "application/json") as server:
        connector = HubSpotConnector.from_settings(_settings(server, tmp_path))
        try:
            report = connector.write_scores([_update("101"), _update("102")])
        finally:
            connector.close()
    assert report.updated == 2 and not report.failures
    [(method, path, headers, body)] = server.seen
    assert (method, path) == ("POST", "/crm/v3/objects/companies/batch/update")
    assert headers["Authorization"] == "Bearer pat-test"
    assert headers["Content-Type"] == "application/json"
    assert headers["Accept"].startswith("application/json")
    assert headers["User-Agent"].startswith("hubspot-api-client-python")
    inputs = json.loads(body)["inputs"]
    assert [i["id"] for i in inputs] == ["101", "102"]
    assert inputs[0]["properties"]["icp_score"] == "80"
    assert inputs[0]["properties"]["icp_tier"] == "tier_1"
    assert inputs[0]["properties"]["icp_scored_at"] == "2026-01-02T03:04:05.000Z"


@pytest.mark.parametrize("kind", ["companies", "deals"])
@pytest.mark.parametrize("after", [None, "100", "a b/c+d"])
def test_a_list_page_is_asked_for_as_the_generated_method_asks(
    kind: str, after: str | None, tmp_path: Path
) -> None:
    # list pages go below the generated get_page (query encoded once): the request must be
    # the one the generated method sends, byte for byte: path, query pairs and headers
    page = '{"results": [], "paging": {"next": {"after": "200"}}}'
    names = ["name", "domain", "icp_tier", "hs_lastmodifieddate"]
    associations = ["companies"] if kind == "deals" else []
    with _serving(200, page, "application/json") as server:
        api = HubSpotApi.from_settings(_settings(server, tmp_path).hubspot)
        try:
            generated = api.companies if kind == "companies" else api.deals
            extra: dict[str, Any] = {"associations": associations} if associations else {}
            api.call(
                f"list_{kind}",
                generated.get_page,
                raw=True,
                limit=100,
                after=after,
                properties=names,
                archived=False,
                **extra,
            )
            ours = api.companies_pages if kind == "companies" else api.deals_pages
            answer = api.call(
                f"list_{kind}", ours.get_page, PageQuery(100, names, associations)(after), raw=True
            )
        finally:
            api.close()
    assert answer == json.loads(page)
    [expected, sent] = server.seen
    assert sent == expected
    assert sent[1].startswith(f"/crm/v3/objects/{kind}?limit=100&")
    assert sent[2]["Authorization"] == "Bearer pat-test"


def test_a_batch_update_sends_the_bytes_the_generated_update_sends(tmp_path: Path) -> None:
    # the body is handed below the generated method's model serialiser: request line,
    # headers and body must be what the generated batch_api.update sends for the same
    # inputs, byte for byte (a reason outside ASCII, flags, an override, an empty value)
    updates = [
        _update("101"),
        dataclasses.replace(
            _update("102"),
            score=7,
            tier="Not ICP",
            flags=("competitor", "student"),
            reasons="Branche: Öl & Gas (−20); Größe: 5–10",
            override="Tier 2",
        ),
    ]
    with _serving(200, '{"status": "COMPLETE", "results": []}', "application/json") as server:
        connector = HubSpotConnector.from_settings(_settings(server, tmp_path))
        try:
            report = connector.write_scores(updates)
            [(_method, _path, _headers, ours)] = server.seen
            inputs = [
                SimplePublicObjectBatchInput(id=i["id"], properties=i["properties"])
                for i in json.loads(ours)["inputs"]
            ]
            answer = connector.api.companies_batch.update(
                BatchInputSimplePublicObjectBatchInput(inputs=inputs), _preload_content=False
            )
            answer.read()
            answer.release_conn()
        finally:
            connector.close()
    assert report.updated == 2
    [sent, generated] = server.seen
    assert sent == generated
    assert b'"icp_reasons": "Branche: \\u00d6l & Gas' in sent[3]
