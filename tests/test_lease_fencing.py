"""The run lease holds on SQLite and on a real PostgreSQL: heartbeat, fencing, crash detection.

Every test runs once per backend (``state_url``); the PostgreSQL one is skipped, with the
reason, only when pgserver cannot start a server.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from icpsync.connectors.file import FileConnector
from icpsync.core.errors import LeaseLost, RunLocked
from icpsync.core.model import RecordFailure, ScoreUpdate, WriteReport
from icpsync.engine.heartbeat import Heartbeat
from icpsync.engine.quarantine import Quarantine, list_failures
from icpsync.engine.run_report import RunReport
from icpsync.engine.settings import Settings, load_settings
from icpsync.engine.state import StateStore, leases, runs
from icpsync.engine.sync import ACCOUNTS, run_once

NOW = datetime(2026, 11, 1, tzinfo=UTC)
ORG = "00D000000000001"


def _steal(state: StateStore, connection: str) -> None:
    """Another run takes the lease over (as after this run's lease expired)."""
    with state.engine.begin() as conn:
        conn.execute(
            update(leases).where(leases.c.connection == connection).values(holder="elsewhere:1:x")
        )


def _org(settings: Settings) -> str:
    """The org the file connector's state is kept under."""
    return FileConnector.from_settings(settings).org_id()


def test_cursor_and_finish_writes_are_refused_once_the_lease_was_taken(state_url: str) -> None:
    state = StateStore(state_url)
    try:
        with state.lease("crm", org=ORG, seconds=60) as holder:
            state.set_cursor("crm", ACCOUNTS, NOW, org=ORG, holder=holder)  # ours: it moves
            report = RunReport(crm="crm", org=ORG, started_at=NOW.isoformat())
            run_id = state.start_run(report, holder)
            _steal(state, "crm")
            later_time = datetime(2027, 1, 1, tzinfo=UTC)
            with pytest.raises(LeaseLost):
                state.set_cursor("crm", ACCOUNTS, later_time, org=ORG, holder=holder)
            later = {ACCOUNTS: later_time}
            assert not state.finish_run(run_id, report, NOW, holder=holder, move_cursors=later)
            assert not state.renew_lease("crm", holder, org=ORG, seconds=60)
        assert state.cursor("crm", ACCOUNTS, org=ORG) == NOW  # never moved by the run that lost it
        row = state.list_runs("crm")[0]
        assert row["status"] == "stopped" and "lease" in row["stopped"]
        assert state.list_drift("crm") == []  # no drift recorded for it either
    finally:
        state.close()


def test_finish_moves_the_cursors_with_the_run_row_for_the_holder(state_url: str) -> None:
    state = StateStore(state_url)
    try:
        with state.lease("crm", org=ORG, seconds=60) as holder:
            report = RunReport(crm="crm", org=ORG, started_at=NOW.isoformat(), written=3)
            run_id = state.start_run(report, holder)
            assert state.finish_run(run_id, report, NOW, holder=holder, move_cursors={"x": NOW})
        assert state.cursor("crm", "x", org=ORG) == NOW
        assert state.cursor("crm", "x", org="another org") is None
        row = state.list_runs("crm")[0]
        assert row["status"] == "complete" and row["written"] == 3
    finally:
        state.close()


def test_heartbeat_renews_in_the_background_and_notices_a_takeover(state_url: str) -> None:
    state = StateStore(state_url)

    def expiry() -> float:
        with state.engine.connect() as conn:
            return float(conn.execute(select(leases.c.expires_at)).scalar_one())

    try:
        with state.lease("crm", org=ORG, seconds=2) as holder:
            first = expiry()
            renewed = threading.Event()
            with Heartbeat(state, "crm", holder, 30, org=ORG, interval=0.05) as beat:
                # no run loop is involved: the thread renews on its own
                assert _wait(lambda: beat.renewals >= 2, renewed)
                assert expiry() > first + 20
                assert not beat.lost()
                _steal(state, "crm")
                assert _wait(beat.lost, renewed)
    finally:
        state.close()


def test_heartbeat_counts_the_lease_lost_when_it_cannot_renew_before_it_runs_out(
    state_url: str,
) -> None:
    state = StateStore(state_url)
    try:
        with state.lease("crm", org=ORG, seconds=60) as holder:
            broken = threading.Event()

            class Unreachable(StateStore):
                def renew_lease(self, *args: object, **kwargs: object) -> bool:
                    raise OSError("database unreachable")

            flaky = Unreachable.__new__(Unreachable)
            flaky.__dict__.update(state.__dict__)
            with Heartbeat(flaky, "crm", holder, 0.3, org=ORG, interval=0.05) as beat:
                assert _wait(beat.lost, broken)
    finally:
        state.close()


def _wait(condition, event: threading.Event, tries: int = 200) -> bool:  # type: ignore[no-untyped-def]
    """Poll ``condition`` (at most ``tries`` times 50 ms); True once it holds."""
    for _ in range(tries):
        if condition():
            return True
        event.wait(0.05)
    return bool(condition())


def test_a_run_whose_lease_is_taken_mid_run_stops_and_keeps_the_cursor(
    state_url: str, file_config: Path
) -> None:
    settings = load_settings(file_config)
    settings.state.url = state_url
    settings.sync.write_chunk = 20
    state = StateStore(state_url)

    class Stolen(FileConnector):
        """A write during which another run takes the lease over."""

        write_chunk_size = 20
        calls = 0

        def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
            Stolen.calls += 1
            if Stolen.calls == 1:
                _steal(state, "file")
            return super().write_scores(updates)

    connector = Stolen.from_settings(settings)
    try:
        report = run_once(settings, connector=connector, state=state, now=NOW)
    finally:
        connector.close()
    try:
        assert report.status == "stopped" and "lease" in (report.stopped or "")
        assert state.cursor("file", ACCOUNTS, org=_org(settings)) is None
        row = state.list_runs("file")[0]
        assert row["status"] == "stopped"
        assert row["written"] == report.written > 0  # the counts it reached are kept
    finally:
        state.close()


def test_a_run_that_died_shows_as_crashed_and_the_next_run_records_it(
    state_url: str, file_config: Path
) -> None:
    settings = load_settings(file_config)
    settings.state.url = state_url
    state = StateStore(state_url)
    try:
        holder = "elsewhere:4242:dead"  # a lease never released, as after SIGKILL
        org = _org(settings)
        with state.engine.begin() as conn:
            conn.execute(
                leases.insert().values(connection="file", org=org, holder=holder, expires_at=0)
            )
        dead = RunReport(crm="file", org=org, started_at=NOW.isoformat())
        run_id = state.start_run(dead, holder)
        state.record_progress(
            run_id,
            RunReport(crm="file", org=org, started_at=NOW.isoformat(), written=60, scored=80),
        )
        row = state.list_runs("file")[0]
        assert row["status"] == "crashed"  # running, but its lease expired
        assert (row["written"], row["scored"]) == (60, 80)  # what it reached, not zeros
        connector = FileConnector.from_settings(settings)
        try:
            report = run_once(settings, connector=connector, state=state, now=NOW)
        finally:
            connector.close()
        assert report.status == "complete"
        with state.engine.connect() as conn:
            stored = conn.execute(select(runs.c.status).where(runs.c.id == run_id)).scalar_one()
        assert stored == "crashed"  # written down by the next run
        assert [r["status"] for r in state.list_runs("file")] == ["complete", "crashed"]
    finally:
        state.close()


def test_a_live_lease_still_locks_out_a_second_run(state_url: str) -> None:
    state = StateStore(state_url)
    try:
        with state.lease("crm", org=ORG, seconds=60), pytest.raises(RunLocked):  # noqa: SIM117
            with state.lease("crm", org=ORG, seconds=60):
                pass
        with state.lease("crm", org=ORG, seconds=60), state.lease("crm", org="other", seconds=60):
            pass  # another org of the same connection has a lease of its own
    finally:
        state.close()


def test_quarantine_upserts_count_attempts_on_either_database(state_url: str) -> None:
    state = StateStore(state_url)
    try:
        store = Quarantine(state.engine, "crm", ORG)
        store.put([RecordFailure("a", "FIELD_CUSTOM_VALIDATION_EXCEPTION: no", False)], NOW)
        store.put(
            [
                RecordFailure("a", "INVALID_OPTION: tier", False),
                RecordFailure("b", "ENTITY_IS_DELETED", False),
            ],
            datetime(2026, 11, 2, tzinfo=UTC),
        )
        Quarantine(state.engine, "crm", "other").put([RecordFailure("a", "other org", False)], NOW)
        rows = {r["record_id"]: r for r in list_failures(state.engine, "crm", org=ORG)}
        assert rows["a"]["attempts"] == 2 and rows["a"]["reason"] == "INVALID_OPTION: tier"
        assert rows["a"]["first_seen"].startswith("2026-11-01")
        assert rows["a"]["last_seen"].startswith("2026-11-02")
        assert rows["b"]["attempts"] == 1
        assert store.release(["a", "zzz"]) == 1 and store.ids() == {"b"}
        assert Quarantine(state.engine, "crm", "other").ids() == {"a"}  # each org its own
    finally:
        state.close()


def test_the_lease_is_renewed_during_a_long_read_not_only_between_batches(
    state_url: str, file_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functools import partial

    from icpsync.engine import ledger

    monkeypatch.setattr(ledger, "Heartbeat", partial(Heartbeat, interval=0.05))
    settings = load_settings(file_config)
    settings.state.url = state_url
    state = StateStore(state_url)

    def expiry() -> float:
        with state.engine.connect() as conn:
            return float(conn.execute(select(leases.c.expires_at)).scalar_one())

    class SlowRead(FileConnector):
        """A read that lasts until the lease has been renewed twice (a long query or a Bulk
        job: no batch boundary in between)."""

        renewed_during_read = False

        def read_account_batches(self, since: datetime | None = None):  # type: ignore[no-untyped-def]
            first = expiry()
            waited = threading.Event()
            SlowRead.renewed_during_read = _wait(lambda: expiry() > first, waited)
            yield from super().read_account_batches(since)

    connector = SlowRead.from_settings(settings)
    try:
        report = run_once(settings, connector=connector, state=state, now=NOW)
    finally:
        connector.close()
    try:
        assert SlowRead.renewed_during_read
        assert report.status == "complete"
        assert state.cursor("file", ACCOUNTS, org=_org(settings)) is not None
    finally:
        state.close()


def test_a_version_2_state_is_upgraded_and_its_old_runs_get_a_status(state_url: str) -> None:
    import json

    from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, Text, create_engine

    old = MetaData()
    meta = Table(
        "icpsync_meta",
        old,
        Column("key", String(64), primary_key=True),
        Column("value", String(255)),
    )
    old_runs = Table(
        "icpsync_runs",
        old,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("connection", String(64), nullable=False),
        Column("mode", String(16), nullable=False),
        Column("started_at", String(40), nullable=False),
        Column("profile_version", String(32), nullable=False),
        Column("complete", Boolean, nullable=False),
        Column("report", Text, nullable=False),
    )
    if state_url.startswith("sqlite:///"):
        Path(state_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(state_url)
    old.create_all(engine)
    report = {"crm": "file", "mode": "full", "accounts_read": 5, "failed": 0, "stopped": None}
    with engine.begin() as conn:
        conn.execute(meta.insert().values(key="schema_version", value="2"))
        for complete, extra in ((True, {}), (False, {"stopped": "daily limit"}), (False, {})):
            conn.execute(
                old_runs.insert().values(
                    connection="file",
                    mode="full",
                    started_at=NOW.isoformat(),
                    profile_version="v1",
                    complete=complete,
                    report=json.dumps({**report, **extra}),
                )
            )
    engine.dispose()

    state = StateStore(state_url)
    try:
        assert [r["status"] for r in state.list_runs("file")] == ["crashed", "stopped", "complete"]
        run_id = state.start_run(RunReport(crm="file", started_at=NOW.isoformat()), "me:1:x")
        assert state.list_runs("file")[0]["run_id"] == run_id
    finally:
        state.close()


def test_full_then_incremental_sync_on_either_database(state_url: str, file_config: Path) -> None:
    import csv

    settings = load_settings(file_config)
    settings.state.url = state_url
    state = StateStore(state_url)

    def sync() -> RunReport:
        connector = FileConnector.from_settings(settings)
        try:
            return run_once(settings, connector=connector, state=state)
        finally:
            connector.close()

    try:
        first = sync()
        assert first.mode == "full" and first.written == 120 and first.status == "complete"
        accounts: Path = settings.file.accounts  # type: ignore[assignment]
        rows = list(csv.DictReader(accounts.read_text().splitlines()))
        rows[3]["employees"], rows[3]["last_modified"] = "900", "2099-01-01T00:00:00+00:00"
        with accounts.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        second = sync()
        assert second.mode == "incremental" and second.accounts_read == 1
        assert second.status == "complete"
    finally:
        state.close()
