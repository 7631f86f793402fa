"""Shared fixtures: a running HubSpot sandbox, settings pointing at it, and sync helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from icpsync.connectors.hubspot import HubSpotConnector
from icpsync.connectors.hubspot.sandbox import Sandbox
from icpsync.engine.run_report import RunReport
from icpsync.engine.settings import Settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import run_once

#: tests back off for milliseconds, not seconds.
FAST = {"retry_backoff_s": 0.01}


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """A factory: ``start_sandbox(accounts=..., opportunities=..., **options)``; all stopped."""
    started: list[Sandbox] = []

    def start(accounts: int = 300, opportunities: int = 900, **options: Any) -> Sandbox:
        sandbox = Sandbox(accounts=accounts, opportunities=opportunities, seed=7, **options)
        sandbox.start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(start_sandbox: Callable[..., Sandbox]) -> Sandbox:
    """A small sandbox at the default (Professional) limits."""
    return start_sandbox()


def settings_for(
    sandbox: Sandbox, state_dir: Path, sync: dict[str, Any] | None = None, **hubspot: Any
) -> Settings:
    """Settings for the sandbox, state in ``state_dir``, fast retries unless overridden."""
    overrides = sandbox.settings_overrides(**{**FAST, **hubspot})
    overrides["sync"].update(sync or {})
    overrides["state"] = {"dir": str(state_dir)}
    return Settings(**overrides)


class Runner:
    """Runs syncs against one sandbox with one state store."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.state = StateStore(settings.state.database_url())

    def connector(self) -> HubSpotConnector:
        return HubSpotConnector.from_settings(self.settings)

    def install(self) -> None:
        connector = self.connector()
        try:
            connector.ensure_fields(dry_run=False)
        finally:
            connector.close()

    def sync(self, **kwargs: Any) -> RunReport:
        connector = self.connector()
        try:
            return run_once(self.settings, connector=connector, state=self.state, **kwargs)
        finally:
            connector.close()

    def close(self) -> None:
        self.state.close()


@pytest.fixture
def runner_for(tmp_path: Path) -> Iterator[Callable[..., Runner]]:
    """A factory: ``runner_for(sandbox, sync={...}, **hubspot_settings)``, installed, state in
    tmp_path."""
    runners: list[Runner] = []

    def make(
        sandbox: Sandbox,
        *,
        install: bool = True,
        sync: dict[str, Any] | None = None,
        **hubspot: Any,
    ) -> Runner:
        state = tmp_path / f"state{len(runners)}"
        runner = Runner(settings_for(sandbox, state, sync, **hubspot))
        runners.append(runner)
        if install:
            runner.install()
        return runner

    yield make
    for runner in runners:
        runner.close()
