"""run_once with the file connector: full, no-change, incremental, failures, lease, profile."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest

from icpsync.connectors.file import FileConnector
from icpsync.core.errors import RunLocked
from icpsync.core.model import RecordFailure, ScoreUpdate, WriteReport
from icpsync.engine.run_report import RunReport
from icpsync.engine.settings import Settings, load_settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import run_once

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _run(
    settings: Settings, state: StateStore, connector: FileConnector | None = None, **options: object
) -> RunReport:
    """One run with a fresh file connector, closed afterwards (which writes its output)."""
    connector = connector or FileConnector.from_settings(settings)
    try:
        return run_once(settings, connector=connector, state=state, now=NOW, **options)  # type: ignore[arg-type]
    finally:
        connector.close()


def _org(settings: Settings) -> str:
    """The org the file connector's state is kept under."""
    return FileConnector.from_settings(settings).org_id()


def _values(path: Path) -> dict[str, tuple[str, str]]:
    with path.open() as handle:
        return {r["id"]: (r["icp_score"], r["icp_tier"]) for r in csv.DictReader(handle)}


def _edit(accounts: Path, ids: set[str], when: datetime) -> None:
    rows = list(csv.DictReader(accounts.read_text().splitlines()))
    for row in rows:
        if row["id"] in ids:
            row["employees"] = "750"
            row["industry"] = "Technology"
            row["last_modified"] = when.isoformat()
    with accounts.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


class FlakyFileConnector(FileConnector):
    """Refuses to write the named accounts (a per-record failure, as a CRM would report)."""

    refuse: ClassVar[set[str]] = set()

    def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        ok = [u for u in updates if u.account_id not in self.refuse]
        report = super().write_scores(ok)
        report.attempted = len(updates)
        report.failures = [
            RecordFailure(u.account_id, "UNABLE_TO_LOCK_ROW")
            for u in updates
            if u.account_id in self.refuse
        ]
        return report


def test_full_then_no_change_then_incremental(file_config: Path, tmp_path: Path) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    first = _run(settings, state)
    assert first.mode == "full"
    assert first.accounts_read == 120 and first.scored == 120
    assert first.changed == first.written == 120 and first.failed == 0
    assert sum(first.tiers.values()) == 120
    assert first.opportunities_read == 360
    assert set(first.to_dict()) >= {
        "mode",
        "dry_run",
        "accounts_read",
        "opportunities_read",
        "scored",
        "changed",
        "written",
        "unchanged",
        "failed",
        "bad_values",
        "tiers",
        "api_calls",
        "duration_s",
        "profile_version",
    }
    written = _values(settings.file.output)  # type: ignore[arg-type]
    assert len(written) == 120

    second = _run(settings, state)
    assert second.mode == "incremental" and second.written == 0

    edited = {"A0000003", "A0000010", "A0000042"}
    _edit(settings.file.accounts, edited, datetime.now(UTC) + timedelta(minutes=5))  # type: ignore[arg-type]
    third = _run(settings, state)
    assert third.mode == "incremental"
    assert third.accounts_read == 3
    assert third.written == third.changed <= 3
    assert third.written >= 1
    full_again = _run(settings, state, full=True)
    assert full_again.accounts_read == 120 and full_again.written == 0
    runs = state.list_runs("file")
    assert [r["mode"] for r in runs] == ["full", "incremental", "incremental", "full"]
    state.close()


def test_dry_run_writes_nothing_and_moves_no_cursor(file_config: Path) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    report = _run(settings, state, dry_run=True)
    assert report.changed == 120 and report.written == 0
    assert report.examples and report.transitions[("none", report.examples[0]["to"])] >= 1
    assert not settings.file.output.exists()  # type: ignore[union-attr]
    assert state.cursor("file", "accounts", org=_org(settings)) is None
    state.close()


def test_cursor_advances_only_after_every_write_succeeded(file_config: Path) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    flaky = FlakyFileConnector.from_settings(settings)
    flaky.refuse = {"A0000001", "A0000002"}
    first = _run(settings, state, flaky)
    assert first.failed == 2 and first.written == 118
    assert {f.account_id for f in first.failures} == {"A0000001", "A0000002"}
    assert state.cursor("file", "accounts", org=_org(settings)) is None
    retry = _run(settings, state)
    assert retry.mode == "full"  # no cursor yet: the failed records are read again
    assert retry.written == 2 and retry.failed == 0
    assert state.cursor("file", "accounts", org=_org(settings)) is not None
    state.close()


def test_second_run_is_refused_while_the_lease_is_held(file_config: Path) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    with (
        state.lease("file", org=_org(settings), seconds=60),
        pytest.raises(RunLocked, match="in progress"),
    ):
        _run(settings, state)
    with state.lease(
        "file", org=_org(settings), seconds=-1
    ):  # an expired lease (a crashed run) is taken over
        pass
    state.close()


def test_expired_lease_is_taken_over(file_config: Path) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    crashed = state.lease("file", org=_org(settings), seconds=-5)
    crashed.__enter__()  # never released, as after SIGKILL
    report = _run(settings, state)
    assert report.written == 120
    state.close()


def test_profile_change_forces_a_full_run(file_config: Path, tmp_path: Path) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    _run(settings, state)
    profile = tmp_path / "p.toml"
    profile.write_text(
        '[profile]\n[[profile.criteria]]\nid = "big"\nfield = "employees"\n'
        "at_least = 1000\npoints = 80\n"
    )
    changed = load_settings(file_config, profile_file=str(profile))
    report = _run(changed, state)
    assert report.mode == "full" and report.accounts_read == 120
    assert report.profile_version == changed.active_profile().version
    assert report.written > 0
    same = _run(changed, state)
    assert same.mode == "incremental" and same.written == 0
    state.close()


def test_history_and_drift_are_recorded(file_config: Path) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    _run(settings, state)
    history = state.account_history("A0000000")
    assert len(history) == 1 and history[0]["old_tier"] is None
    drift = state.list_drift("file")
    assert drift and "tier_mix" in drift[0]
    assert state.last_full_histogram("file", org=_org(settings)) is not None
    state.close()
