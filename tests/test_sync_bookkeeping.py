"""The sync loop's bookkeeping in the state store: written values kept from columns, a
written chunk's values, history and quarantine releases in one transaction, lookups that
cannot find anything not made, and the run row's counts recorded at most once a second.
On SQLite and on a real PostgreSQL (``state_url``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select

from icpsync.core.human_edits import Written
from icpsync.core.model import ConnectorStats, CurrentIcp, RecordFailure, ScoreUpdate
from icpsync.engine import ledger as ledger_module
from icpsync.engine import written_values
from icpsync.engine.human_edit_check import HumanEditCheck
from icpsync.engine.ledger import PROGRESS_EVERY_S, RunLedger
from icpsync.engine.quarantine import Quarantine
from icpsync.engine.run_report import RunReport
from icpsync.engine.state import StateStore, history, written
from icpsync.engine.written_values import WrittenValues

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


@pytest.fixture
def state(state_url: str) -> Iterator[StateStore]:
    store = StateStore(state_url)
    yield store
    store.close()


@dataclass
class _Connector:
    """What the ledger asks of a connector: its counters."""

    stats: ConnectorStats = field(default_factory=ConnectorStats)


def _ledger(state: StateStore, report: RunReport) -> RunLedger:
    connector: Any = _Connector()
    return RunLedger(state, report, connector, holder=None, lease_seconds=60, now=NOW)


def _lookups(state: StateStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements reading the written values from now on (appended as they run): the
    look at the org through SQLAlchemy, the lookups by id on the driver's cursor."""
    seen: list[str] = []

    inside: list[bool] = []  # in a lookup by ids (counted once, whatever its statements)

    def spy(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        select = statement.lstrip().upper().startswith("SELECT")
        if select and "icpsync_written" in statement and not inside:
            seen.append(statement)

    event.listen(state.engine, "before_cursor_execute", spy)
    lookup = written_values.rows_by_ids

    def by_ids(conn: Any, table: Any, *args: Any) -> Any:
        seen.append(f"rows_by_ids {table.name}")
        inside.append(True)
        try:
            return lookup(conn, table, *args)
        finally:
            inside.pop()

    monkeypatch.setattr(written_values, "rows_by_ids", by_ids)
    return seen


def _update(account_id: str, score: int, tier: str) -> ScoreUpdate:
    return ScoreUpdate(account_id, score, tier, (), "r", "p-1", NOW, CurrentIcp())


def test_lookups_on_an_org_without_rows_are_made_only_for_accounts_put_since(
    state: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = WrittenValues(state.engine, "crm", "o1")
    lookups = _lookups(state, monkeypatch)
    assert store.get(["a", "b"]) == {}
    assert len(lookups) == 1  # the one look at whether the org has any row
    assert store.get(["c"]) == {} and len(lookups) == 1  # nothing put: no query
    store.put_many(["a", "x"], ["Tier 1", "Tier 2"], [91, 70])
    assert store.get(["a", "z"]) == {"a": Written("Tier 1", 91)}
    assert len(lookups) == 2 and store.get(["z", "y"]) == {} and len(lookups) == 2
    store.put({"z": Written("Tier 3", 40, "Tier 1", "Tier 3")})  # the per-row API counts too
    assert store.get(["z"]) == {"z": Written("Tier 3", 40, "Tier 1", "Tier 3")}


def test_an_org_with_rows_is_looked_up_every_time(
    state: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    WrittenValues(state.engine, "crm", "o1").put_many(["a"], ["Tier 1"], [90])
    store = WrittenValues(state.engine, "crm", "o1")
    other_org = WrittenValues(state.engine, "crm", "o2")
    lookups = _lookups(state, monkeypatch)
    assert store.get(["a", "b"]) == {"a": Written("Tier 1", 90)}
    WrittenValues(state.engine, "crm", "o1").put_many(["b"], ["Tier 4"], [10])  # elsewhere
    assert store.get(["b"]) == {"b": Written("Tier 4", 10)}
    assert len(lookups) == 3  # the look at the org, then one query per batch
    assert other_org.get(["a", "b"]) == {}  # o1's rows are not o2's


def test_written_chunks_store_marks_and_keep_the_last_values_of_a_repeated_account(
    state: StateStore,
) -> None:
    store = WrittenValues(state.engine, "crm", "o1")
    check = HumanEditCheck("keep", store)
    check._marks["b"] = Written("Tier 2", 66, "Tier 1", "Tier 2")  # a kept edit being written
    check.written(
        [_update("a", 90, "Tier 1"), _update("b", 66, "Tier 2"), _update("a", 50, "Tier 3")]
    )
    assert store.get(["a", "b", "c"]) == {
        "a": Written("Tier 3", 50),
        "b": Written("Tier 2", 66, "Tier 1", "Tier 2"),
    }
    assert check._marks == {}
    check.written([_update("b", 30, "Tier 4")])  # written again without a kept edit
    assert store.get(["b"]) == {"b": Written("Tier 4", 30)}


def test_a_written_chunk_is_kept_whole_or_not_at_all(
    state: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = RunReport(crm="crm", org="o1")
    Quarantine(state.engine, "crm", "o1").put([RecordFailure("b", "refused", False)], NOW)
    ledger = _ledger(state, report)
    ledger.start()
    store = WrittenValues(state.engine, "crm", "o1")
    edits = HumanEditCheck("keep", store)
    updates = [_update("a", 90, "Tier 1"), _update("b", 60, "Tier 2")]

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ledger.quarantine, "written", broken)  # fails after history and values
    with pytest.raises(RuntimeError, match="disk full"), ledger.transaction() as conn:
        edits.written(updates, conn=conn)
        ledger.written(updates, conn=conn)
    with state.engine.connect() as conn:
        assert conn.execute(select(written)).all() == []
        assert conn.execute(select(history)).all() == []
    monkeypatch.undo()
    with ledger.transaction() as conn:
        edits.written(updates, conn=conn)
        ledger.written(updates, conn=conn)
    with state.engine.connect() as conn:
        assert len(conn.execute(select(written)).all()) == 2
        assert [r.account_id for r in conn.execute(select(history))] == ["a", "b"]
    assert Quarantine(state.engine, "crm", "o1").ids() == set() and report.released == 1


def test_a_dry_run_ledger_gives_no_transaction(state: StateStore) -> None:
    report = RunReport(crm="crm", org="o1", dry_run=True)
    ledger = _ledger(state, report)
    with ledger.transaction() as conn:
        assert conn is None


def test_the_run_row_counts_are_recorded_first_then_at_most_once_a_second(
    state: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [100.0]
    monkeypatch.setattr(ledger_module.time, "monotonic", lambda: clock[0])
    report = RunReport(crm="crm", org="o1")
    ledger = _ledger(state, report)
    ledger.start()
    recorded: list[int] = []
    keep = state.record_progress
    monkeypatch.setattr(
        state, "record_progress", lambda run_id, r: (recorded.append(r.scored), keep(run_id, r))
    )
    for step in range(7):
        report.scored = 500 * (step + 1)
        ledger.checkpoint()
        clock[0] += PROGRESS_EVERY_S / 2.5
    assert recorded == [500, 2000, 3500]  # at 0 s, then 1.2 s and 2.4 s later
    assert state.list_runs("crm", org="o1")[0]["scored"] == 3500


def test_the_first_counts_with_accounts_read_are_recorded_at_once(
    state: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The deal read's checkpoints come first (no account read yet): the first checkpoint
    # after accounts are read records at once, so a run killed soon after shows them.
    clock = [100.0]
    monkeypatch.setattr(ledger_module.time, "monotonic", lambda: clock[0])
    report = RunReport(crm="crm", org="o1")
    ledger = _ledger(state, report)
    ledger.start()
    recorded: list[int] = []
    keep = state.record_progress
    monkeypatch.setattr(
        state,
        "record_progress",
        lambda run_id, r: (recorded.append(r.accounts_read), keep(run_id, r)),
    )
    ledger.checkpoint()  # deals read, no account yet
    clock[0] += PROGRESS_EVERY_S / 10
    report.accounts_read = 500
    ledger.checkpoint()
    clock[0] += PROGRESS_EVERY_S / 10
    report.accounts_read = 1000
    ledger.checkpoint()
    assert recorded == [0, 500]
    assert state.list_runs("crm", org="o1")[0]["accounts_read"] == 500
