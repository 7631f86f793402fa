"""Quarantine, not stall: records refused for good let the run complete (``partial``), move
the cursor, wait in the failures table, and leave it when a full run or ``--retry-failed``
writes them, finds them right, or finds them gone. Runs keep the counts they reached."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from icpsync.connectors.file import FileConnector
from icpsync.core.errors import FatalError
from icpsync.core.model import RecordFailure, ScoreUpdate, WriteReport
from icpsync.engine.quarantine import Quarantine, list_failures
from icpsync.engine.run_report import RunReport
from icpsync.engine.settings import Settings, load_settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import ACCOUNTS, run_once

NOW = datetime(2026, 11, 1, tzinfo=UTC)
RULE = "FIELD_CUSTOM_VALIDATION_EXCEPTION: Billing country is required for customers"


class RuleFileConnector(FileConnector):
    """A file 'CRM' with a validation rule that refuses the named records for good."""

    refuse: ClassVar[set[str]] = set()

    def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        ok = [u for u in updates if u.account_id not in self.refuse]
        report = super().write_scores(ok)
        report.attempted = len(updates)
        report.failures = [
            RecordFailure(u.account_id, RULE, retriable=False)
            for u in updates
            if u.account_id in self.refuse
        ]
        return report


def _run(settings: Settings, state: StateStore, refuse: set[str] = frozenset(), **options):  # type: ignore[no-untyped-def,assignment]
    RuleFileConnector.refuse = set(refuse)
    connector = RuleFileConnector.from_settings(settings)
    try:
        return run_once(settings, connector=connector, state=state, now=NOW, **options)
    finally:
        connector.close()


def _org(settings: Settings) -> str:
    """The org the file connector's state is kept under."""
    return FileConnector.from_settings(settings).org_id()


def _failures(state: StateStore) -> dict[str, dict[str, object]]:
    return {r["record_id"]: r for r in list_failures(state.engine, "file")}


def _touch(accounts: Path, ids: set[str], when: datetime) -> None:
    rows = list(csv.DictReader(accounts.read_text().splitlines()))
    for row in rows:
        if row["id"] in ids:
            row["employees"] = "750"
            row["last_modified"] = when.isoformat()
    with accounts.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_poison_record_is_quarantined_and_the_cursor_moves_past_it(file_config: Path) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    poison = {"A0000007", "A0000042"}

    first = _run(settings, state, poison)

    assert first.status == "partial" and first.complete
    assert first.written == 118 and first.failed == first.quarantined == 2
    assert first.quarantine_reasons == {RULE: 2}
    assert (
        state.cursor("file", ACCOUNTS, org=_org(settings)) is not None
    )  # the schedule is not stalled
    assert state.list_runs("file")[0]["status"] == "partial"
    table = _failures(state)
    assert set(table) == poison
    assert table["A0000007"]["reason"] == RULE and table["A0000007"]["attempts"] == 1

    second = _run(settings, state, poison)  # incremental: nothing changed, nothing re-read
    assert second.mode == "incremental" and second.status == "complete"
    assert second.accounts_read == 0 and set(_failures(state)) == poison

    retried = _run(settings, state, poison, retry_failed=True)  # still refused
    assert retried.mode == "incremental" and retried.accounts_read == 2
    assert retried.status == "partial" and retried.quarantined == 2
    assert {r["attempts"] for r in _failures(state).values()} == {2}

    fixed = _run(settings, state, set(), retry_failed=True)  # the admin fixed the rule
    assert fixed.status == "complete" and fixed.written == 2 and fixed.released == 2
    assert _failures(state) == {}
    state.close()


def test_a_full_run_retries_quarantined_records_and_releases_those_found_right_or_gone(
    file_config: Path,
) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    _run(settings, state, {"A0000001", "A0000002"})
    Quarantine(state.engine, "file", _org(settings)).put(  # a record deleted from the CRM since
        [RecordFailure("GONE0001", "ENTITY_IS_DELETED", retriable=False)], NOW
    )
    assert set(_failures(state)) == {"A0000001", "A0000002", "GONE0001"}

    full = _run(settings, state, {"A0000002"}, full=True)

    assert full.mode == "full" and full.status == "partial"
    assert full.written == 1  # A0000001 written; A0000002 refused again
    assert set(_failures(state)) == {"A0000002"}  # GONE0001 was not in the CRM any more
    assert _failures(state)["A0000002"]["attempts"] == 2
    assert full.released == 2
    state.close()


def test_an_edited_quarantined_record_is_retried_by_an_incremental_run(
    file_config: Path,
) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    _run(settings, state, {"A0000003"})
    _touch(settings.file.accounts, {"A0000003"}, datetime(2030, 1, 1, tzinfo=UTC))  # type: ignore[arg-type]
    report = _run(settings, state)
    assert report.mode == "incremental" and report.written == 1
    assert report.status == "complete" and _failures(state) == {}
    state.close()


def test_retriable_failures_keep_the_run_incomplete_and_out_of_quarantine(
    file_config: Path,
) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())

    class Locked(FileConnector):
        def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
            report = super().write_scores([u for u in updates if u.account_id != "A0000005"])
            report.attempted = len(updates)
            report.failures = [RecordFailure("A0000005", "UNABLE_TO_LOCK_ROW")]
            return report

    connector = Locked.from_settings(settings)
    try:
        report = run_once(settings, connector=connector, state=state, now=NOW)
    finally:
        connector.close()
    assert report.status == "failed" and report.quarantined == 0 and not report.complete
    assert (
        state.cursor("file", ACCOUNTS, org=_org(settings)) is None
    )  # today's behaviour: retried next run
    assert _failures(state) == {}
    assert state.list_runs("file")[0]["status"] == "failed"
    state.close()


def test_records_the_reader_cannot_place_make_the_run_partial_with_their_ids(
    file_config: Path,
) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())

    class Unplaced(FileConnector):
        def read_account_batches(self, since: datetime | None = None):  # type: ignore[no-untyped-def]
            for batch in super().read_account_batches(since):
                if "A0000009" in batch.ids:
                    self.stats.unplaced["A0000009"] = "no last_modified: cannot place it"
                yield batch.take([i for i, a in enumerate(batch.ids) if a != "A0000009"])

    connector = Unplaced.from_settings(settings)
    try:
        report = run_once(settings, connector=connector, state=state, now=NOW)
    finally:
        connector.close()
    assert report.status == "partial" and report.unplaced == {
        "A0000009": "no last_modified: cannot place it"
    }
    assert report.to_dict()["unplaced_count"] == 1
    assert state.cursor("file", ACCOUNTS, org=_org(settings)) is not None
    assert _failures(state)["A0000009"]["reason"] == "no last_modified: cannot place it"

    full = _run(settings, state, full=True)  # a full run reads (and writes) it
    assert full.status == "complete" and full.written == 1 and _failures(state) == {}
    state.close()


def test_a_run_that_fails_mid_way_is_recorded_failed_with_the_counts_it_reached(
    file_config: Path,
) -> None:
    settings = load_settings(file_config)
    settings.sync.write_chunk = 10
    state = StateStore(settings.state.database_url())

    class Breaks(FileConnector):
        write_chunk_size = 10
        chunks = 0

        def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
            Breaks.chunks += 1
            if Breaks.chunks > 6:
                raise FatalError("the CRM went away")
            return super().write_scores(updates)

    connector = Breaks.from_settings(settings)
    try:
        with pytest.raises(FatalError):
            run_once(settings, connector=connector, state=state, now=NOW)
    finally:
        connector.close()
    row = state.list_runs("file")[0]
    assert row["status"] == "failed" and "the CRM went away" in row["error"]
    assert row["written"] == 60 and row["accounts_read"] > 0  # not zeros
    assert row["api_calls"]["total"] > 0
    assert state.cursor("file", ACCOUNTS, org=_org(settings)) is None
    state.close()


def test_the_file_output_is_committed_before_the_cursor_moves(file_config: Path) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    output: Path = settings.file.output  # type: ignore[assignment]
    connector = FileConnector.from_settings(settings)
    try:
        report = run_once(settings, connector=connector, state=state, now=NOW)
        # the connector is still open: the file must already hold what the cursor vouches for
        assert state.cursor("file", ACCOUNTS, org=_org(settings)) is not None
        with output.open() as handle:
            assert len(list(csv.DictReader(handle))) == report.written == 120
    finally:
        connector.close()
    state.close()


def test_a_failed_commit_of_the_output_keeps_the_cursor(file_config: Path) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())

    class DiskFull(FileConnector):
        def flush(self) -> None:
            raise OSError(28, "No space left on device")

    connector = DiskFull.from_settings(settings)
    try:
        with pytest.raises(OSError):
            run_once(settings, connector=connector, state=state, now=NOW)
    finally:
        connector.flush = lambda: None  # type: ignore[method-assign]  # the disk is full
        connector.close()
    assert state.cursor("file", ACCOUNTS, org=_org(settings)) is None
    assert state.list_runs("file")[0]["status"] == "failed"
    state.close()


def test_status_of_a_report() -> None:
    report = RunReport(crm="x")
    assert report.status == "complete"
    report.failed = report.quarantined = 1
    assert report.status == "partial"
    report.failed = 2
    assert report.status == "failed"
    report.stopped = "SIGTERM received"
    assert report.status == "stopped" and not report.complete


def test_the_summary_lists_reasons_commonest_first_and_sums_up_the_tail() -> None:
    from icpsync.cli.output import REASON_LINES, failure_summary

    report = RunReport(crm="x")
    failures = [RecordFailure(f"R{i}", "INVALID_OPTION: tier", False) for i in range(5)]
    failures += [RecordFailure(f"S{i}", "ENTITY_IS_DELETED: gone", False) for i in range(2)]
    failures += [RecordFailure(f"T{i}", f"STRING_TOO_LONG: {i}", False) for i in range(12)]
    report.failures = failures
    report.failed = report.quarantined = len(failures)
    report.quarantine_reasons.update(f.reason for f in failures)

    lines = failure_summary(report).splitlines()

    assert lines[0].startswith("19 records quarantined")
    assert lines[1] == "  5 x INVALID_OPTION: tier (e.g. R0, R1, R2)"
    assert lines[2] == "  2 x ENTITY_IS_DELETED: gone (e.g. S0, S1)"
    assert len([line for line in lines if " x " in line]) == REASON_LINES
    assert "4 more, for 4 other reasons" in lines[REASON_LINES + 1]
    assert lines[-1].startswith("the cursor moved")


def test_a_dry_run_with_retry_failed_reads_the_quarantined_records_and_changes_nothing(
    file_config: Path,
) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    _run(settings, state, {"A0000011"})
    dry = _run(settings, state, set(), retry_failed=True, dry_run=True)
    assert dry.mode == "incremental" and dry.accounts_read == 1 and dry.changed == 1
    assert dry.written == 0 and set(_failures(state)) == {"A0000011"}
    assert _failures(state)["A0000011"]["attempts"] == 1
    state.close()


def test_an_in_memory_state_runs_without_a_heartbeat(file_config: Path) -> None:
    settings = load_settings(file_config)
    state = StateStore("sqlite:///:memory:")
    try:
        connector = FileConnector.from_settings(settings)
        try:
            report = run_once(settings, connector=connector, state=state, now=NOW)
        finally:
            connector.close()
        assert report.status == "complete" and state.list_runs("file")[0]["status"] == "complete"
    finally:
        state.close()
