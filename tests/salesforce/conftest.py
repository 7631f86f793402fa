"""Shared fixtures: a started sandbox org, settings pointing at it, an installed org."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import Operation

from icpsync.connectors.salesforce import SalesforceConnector, bulk
from icpsync.connectors.salesforce.auth import Session
from icpsync.connectors.salesforce.sandbox import Sandbox
from icpsync.engine.settings import Settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import run_once

ICP_FIELDS = [
    "ICP_Score__c",
    "ICP_Tier__c",
    "ICP_Anti_Flags__c",
    "ICP_Reasons__c",
    "ICP_Profile_Version__c",
]
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """A factory of started sandboxes, all stopped at the end of the test."""
    started: list[Sandbox] = []

    def make(**options: Any) -> Sandbox:
        options.setdefault("accounts", 300)
        options.setdefault("opportunities", 900)
        box = Sandbox(**options).start()
        started.append(box)
        return box

    yield make
    for box in started:
        box.stop()


@pytest.fixture
def sandbox(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return make_sandbox()


def settings_for(box: Sandbox, state_dir: Path | None = None, **salesforce: Any) -> Settings:
    """Settings pointing at ``box`` (fast bulk polling), with overrides for [salesforce].

    Writes go by sObject Collections unless a test sets ``bulk_write_threshold``.
    """
    data = box.settings_overrides()
    data["salesforce"].update({"bulk_poll_s": 0.02, "bulk_write_threshold": 0, **salesforce})
    if state_dir is not None:
        data["state"] = {"dir": str(state_dir)}
    return Settings(**data)


def connector_for(settings: Settings) -> SalesforceConnector:
    return SalesforceConnector.from_settings(settings)


def install(settings: Settings) -> None:
    connector = connector_for(settings)
    try:
        connector.ensure_fields(dry_run=False)
    finally:
        connector.close()


def sync(settings: Settings, state: StateStore | None = None, **kwargs: Any) -> Any:
    connector = connector_for(settings)
    try:
        return run_once(settings, connector=connector, state=state, now=NOW, **kwargs)
    finally:
        connector.close()


def closed_ingest_job(connector: SalesforceConnector, box: Sandbox, rows: int) -> str:
    """The id of an update job of the org's first ``rows`` accounts, uploaded and closed
    through ``connector``'s client: the org processes it once let through."""
    api = connector.api
    ids = list(box.app.org.records["Account"])[:rows]
    job = api.call("create", lambda c: bulk.client("Account", c).create_job(Operation.update))
    data = "Id,ICP_Score__c\n" + "".join(f"{r},42\n" for r in ids)
    api.call("upload", lambda c: bulk.client("Account", c).upload_job_data(job["id"], data))
    api.call("close", lambda c: bulk.client("Account", c).close_job(job["id"]))
    return str(job["id"])


class Kit:
    """The helpers above, handed to tests as the ``sf`` fixture (conftest is not importable)."""

    ICP_FIELDS = ICP_FIELDS
    NOW = NOW
    settings_for = staticmethod(settings_for)
    connector_for = staticmethod(connector_for)
    install = staticmethod(install)
    sync = staticmethod(sync)
    closed_ingest_job = staticmethod(closed_ingest_job)


@pytest.fixture
def sf() -> type[Kit]:
    return Kit


@pytest.fixture
def client_for() -> Iterator[Callable[[Settings], Salesforce]]:
    """A plain simple-salesforce client on a sandbox (closed at the end)."""
    sessions: list[Session] = []

    def make(settings: Settings) -> Salesforce:
        session = Session.open(settings.salesforce)
        sessions.append(session)
        return session.client()

    yield make
    for session in sessions:
        session.close()
