"""The batch writer: full chunks, one in flight, results in order, stops honoured."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from icpsync.core.model import ConnectorStats, RecordFailure, ScoreUpdate, WriteReport
from icpsync.engine.batch_writer import BatchWriter
from icpsync.engine.run_report import RunReport

AT = datetime(2026, 11, 1, tzinfo=UTC)


class MemoryCrm:
    """Keeps written values; refuses ids in ``refuse``; reports a stop on chunk ``stop_at``."""

    thread_safe_writes = True
    write_chunk_size = 3

    def __init__(self, refuse: set[str] = frozenset(), stop_at: int | None = None):  # type: ignore[assignment]
        self.stats = ConnectorStats()
        self.refuse = refuse
        self.stop_at = stop_at
        self.calls: list[list[str]] = []
        self.threads: set[str] = set()

    def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        self.threads.add(threading.current_thread().name)
        self.calls.append([u.account_id for u in updates])
        if self.stop_at is not None and len(self.calls) > self.stop_at:
            raise AssertionError("written after a stop")
        failures = [
            RecordFailure(u.account_id, "LOCKED") for u in updates if u.account_id in self.refuse
        ]
        stopped = "daily limit" if len(self.calls) == self.stop_at else None
        return WriteReport(len(updates), len(updates) - len(failures), failures, stopped)


def _update(i: int) -> ScoreUpdate:
    return ScoreUpdate(f"A{i}", 50, "Tier 2", (), "+50 x", "v1", AT)


@pytest.mark.parametrize("overlap", [True, False])
def test_chunks_are_written_in_order_and_failures_are_not_recorded(overlap: bool) -> None:
    crm = MemoryCrm(refuse={"A4"})
    report = RunReport(crm="memory")
    recorded: list[str] = []
    writer = BatchWriter(
        crm, report, 3, lambda ups: recorded.extend(u.account_id for u in ups), overlap=overlap
    )  # type: ignore[arg-type]
    for i in range(8):
        writer.add(_update(i))
        writer.write_full()
    writer.close()
    assert crm.calls == [["A0", "A1", "A2"], ["A3", "A4", "A5"], ["A6", "A7"]]
    assert report.written == 7 and report.failed == 1
    assert [f.account_id for f in report.failures] == ["A4"]
    assert recorded == ["A0", "A1", "A2", "A3", "A5", "A6", "A7"]
    assert (crm.threads == {"MainThread"}) is not overlap


def test_a_stop_ends_the_handing_over() -> None:
    crm = MemoryCrm(stop_at=2)
    report = RunReport(crm="memory")
    writer = BatchWriter(crm, report, 2, lambda ups: None)  # type: ignore[arg-type]
    for i in range(10):
        writer.add(_update(i))
        writer.write_full()
    writer.close()
    assert report.stopped == "daily limit"
    assert len(crm.calls) == 2
    assert report.written == 4


def test_an_error_in_the_background_reaches_the_caller() -> None:
    class Broken(MemoryCrm):
        def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
            raise ConnectionError("CRM unreachable")

    report = RunReport(crm="memory")
    writer = BatchWriter(Broken(), report, 1, lambda ups: None)  # type: ignore[arg-type]
    writer.add(_update(1))
    writer.write_full()
    with pytest.raises(ConnectionError, match="unreachable"):
        writer.close()


def test_two_chunks_that_fail_entirely_stop_the_run() -> None:
    crm = MemoryCrm(refuse={f"A{i}" for i in range(100)})
    report = RunReport(crm="memory")
    writer = BatchWriter(crm, report, 2, lambda ups: None, overlap=False)  # type: ignore[arg-type]
    for i in range(10):
        writer.add(_update(i))
        writer.write_full()
    writer.close()
    assert len(crm.calls) == 2
    assert report.stopped == "writes are failing: LOCKED"
    assert report.failed == 4 and report.written == 0


def test_the_failure_summary_names_the_commonest_reasons() -> None:
    from icpsync.cli.output import failure_summary

    report = RunReport(crm="memory", failed=3, stopped="writes are failing: LOCKED")
    report.failures = [
        RecordFailure("A1", "LOCKED"),
        RecordFailure("A2", "LOCKED"),
        RecordFailure("A3", "INVALID_OPTION"),
    ]
    text = failure_summary(report)
    assert text.splitlines()[0] == "stopped: writes are failing: LOCKED"
    assert "2 x LOCKED (e.g. A1, A2)" in text and "1 x INVALID_OPTION (e.g. A3)" in text
    assert "cursor did not move" in text


def test_the_next_chunk_is_written_while_the_one_before_is_recorded() -> None:
    """A written chunk is counted (a stop it reports is honoured, see above), the next one
    is handed over, and only then is the written one recorded: the CRM works meanwhile."""

    class Watched(MemoryCrm):
        def __init__(self) -> None:
            super().__init__()
            self.writing = {n: threading.Event() for n in range(1, 4)}

        def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
            result = super().write_scores(updates)
            self.writing[len(self.calls)].set()
            return result

    crm = Watched()
    report = RunReport(crm="memory")
    seen: list[tuple[str, bool]] = []

    def record(updates: list[ScoreUpdate]) -> None:
        written = len(seen) + 2  # the chunk after this one
        seen.append((updates[0].account_id, written > 3 or crm.writing[written].wait(5)))

    writer = BatchWriter(crm, report, 2, record)  # type: ignore[arg-type]
    for i in range(6):
        writer.add(_update(i))
        writer.write_full()
    writer.close()
    assert seen == [("A0", True), ("A2", True), ("A4", True)]
    assert report.written == 6


class HeldCrm(MemoryCrm):
    """Writes a chunk, then waits until its outcome is wanted (as a Bulk job's poll does)."""

    def __init__(self) -> None:
        super().__init__()
        self.outcomes: list[list[str]] = []  # the chunks whose outcome was wanted, in order

    def write_scores_held(
        self, updates: Sequence[ScoreUpdate], wanted: threading.Event
    ) -> WriteReport:
        report = self.write_scores(updates)
        assert wanted.wait(10)
        self.outcomes.append([u.account_id for u in updates])
        return report


def test_a_chunks_outcome_is_wanted_when_the_engine_waits_for_it() -> None:
    crm = HeldCrm()
    report = RunReport(crm="memory")
    writer = BatchWriter(crm, report, 3, lambda ups: None)  # type: ignore[arg-type]
    writer.extend([_update(i) for i in range(5)])
    writer.write_full()  # chunk 1 handed over
    time.sleep(0.1)
    assert crm.calls == [["A0", "A1", "A2"]] and crm.outcomes == []  # written, not wanted
    writer.extend([_update(5)])
    writer.write_full()  # chunk 2 is ready: the engine waits for chunk 1's outcome
    assert crm.outcomes == [["A0", "A1", "A2"]]
    writer.extend([_update(6)])
    writer.close()  # the last chunk: every outcome is wanted
    assert crm.outcomes == [["A0", "A1", "A2"], ["A3", "A4", "A5"], ["A6"]]
    assert report.written == 7
    assert crm.threads == {"icpsync-writer_0"}


def test_an_outcome_is_wanted_when_the_run_fails() -> None:
    crm = HeldCrm()
    report = RunReport(crm="memory")
    writer = BatchWriter(crm, report, 3, lambda ups: None)  # type: ignore[arg-type]
    writer.extend([_update(i) for i in range(3)])
    writer.write_full()
    writer.abort()  # the write in flight is let through and counted
    assert report.written == 3 and crm.outcomes == [["A0", "A1", "A2"]]


class DeadlineCrm(MemoryCrm):
    """Holds a chunk's outcome until it is wanted or ``hold_s`` passed (a Bulk job's poll
    held to its deadline); records which chunks waited for nothing but the deadline."""

    def __init__(self, hold_s: float) -> None:
        super().__init__()
        self.hold_s = hold_s
        self.timed_out: list[list[str]] = []

    def write_scores_held(
        self, updates: Sequence[ScoreUpdate], wanted: threading.Event
    ) -> WriteReport:
        report = self.write_scores(updates)
        if not wanted.wait(self.hold_s):
            self.timed_out.append([u.account_id for u in updates])
        return report


def test_a_chunk_in_flight_is_not_held_to_its_deadline_when_close_fails() -> None:
    # The last chunk is handed over by close(); recording the chunk before it fails (the
    # state store refuses): close raises, and the chunk in flight must not wait for its
    # deadline ([salesforce] bulk_timeout_s, an hour by default) before the run can end.
    crm = DeadlineCrm(hold_s=5.0)
    report = RunReport(crm="memory")

    def on_written(updates: list[ScoreUpdate]) -> None:
        raise OSError("disk full")

    writer = BatchWriter(crm, report, 3, on_written)  # type: ignore[arg-type]
    writer.extend([_update(i) for i in range(5)])
    writer.write_full()  # chunk 1 in flight
    started = time.monotonic()
    with pytest.raises(OSError, match="disk full"):
        writer.close()  # chunk 2 handed over, then chunk 1's bookkeeping fails
    assert time.monotonic() - started < 2.0
    assert crm.calls == [["A0", "A1", "A2"], ["A3", "A4"]] and crm.timed_out == []


def test_a_chunk_in_flight_is_not_held_to_its_deadline_when_abort_follows_a_failure() -> None:
    crm = DeadlineCrm(hold_s=5.0)
    report = RunReport(crm="memory")
    booked: list[int] = []

    def on_written(updates: list[ScoreUpdate]) -> None:
        booked.append(len(updates))
        if len(booked) == 1:
            raise OSError("disk full")

    writer = BatchWriter(crm, report, 3, on_written)  # type: ignore[arg-type]
    writer.extend([_update(i) for i in range(6)])
    started = time.monotonic()
    with pytest.raises(OSError):
        writer.write_full()  # chunk 2 handed over, then chunk 1's bookkeeping fails
    writer.abort()  # as the engine does: chunk 2's outcome is wanted and counted
    assert time.monotonic() - started < 2.0
    assert crm.timed_out == [] and report.written == 6


class DyingCrm(DeadlineCrm):
    """A held write whose thread dies (raises) on chunk ``dies_at``."""

    def __init__(self, dies_at: int, stop_at: int | None = None) -> None:
        super().__init__(hold_s=5.0)
        self.dies_at = dies_at
        self.stop_at = stop_at

    def write_scores_held(
        self, updates: Sequence[ScoreUpdate], wanted: threading.Event
    ) -> WriteReport:
        if len(self.calls) + 1 == self.dies_at:
            self.calls.append([u.account_id for u in updates])
            raise RuntimeError("writer thread died")
        return super().write_scores_held(updates, wanted)


def test_a_held_write_that_dies_fails_the_run_at_once_and_abort_returns() -> None:
    crm = DyingCrm(dies_at=1)
    report = RunReport(crm="memory")
    writer = BatchWriter(crm, report, 3, lambda ups: None)  # type: ignore[arg-type]
    writer.extend([_update(i) for i in range(6)])
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="died"):
        writer.write_full()  # chunk 2 ready: chunk 1's outcome is the error
    writer.abort()
    assert time.monotonic() - started < 2.0 and crm.timed_out == []
    assert crm.calls == [["A0", "A1", "A2"]]  # nothing handed over after it


def test_a_held_chunk_that_reports_a_stop_ends_the_run_without_waiting() -> None:
    crm = DyingCrm(dies_at=0, stop_at=1)  # chunk 1 reports a stop (daily limit)
    report = RunReport(crm="memory")
    writer = BatchWriter(crm, report, 3, lambda ups: None)  # type: ignore[arg-type]
    writer.extend([_update(i) for i in range(7)])
    started = time.monotonic()
    writer.write_full()
    writer.close()
    assert time.monotonic() - started < 2.0 and crm.timed_out == []
    assert report.stopped == "daily limit" and crm.calls == [["A0", "A1", "A2"]]


class RenamingCrm(HeldCrm):
    """A subclass that changes how scores are written, with the held write inherited."""

    def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        return super().write_scores([_update(100 + int(u.account_id[1:])) for u in updates])


class Wrapper:
    """A wrapper that replaces ``write_scores`` and hands everything else on."""

    def __init__(self, inner: HeldCrm) -> None:
        self.inner = inner

    def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        return self.inner.write_scores([_update(200 + int(u.account_id[1:])) for u in updates])

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def _written_through(connector: object) -> list[list[str]]:
    report = RunReport(crm="memory")
    writer = BatchWriter(connector, report, 2, lambda ups: None)  # type: ignore[arg-type]
    writer.extend([_update(i) for i in range(3)])
    writer.write_full()
    writer.close()
    assert report.written == 3
    crm = connector.inner if isinstance(connector, Wrapper) else connector
    return crm.calls  # type: ignore[attr-defined, no-any-return]


def test_a_subclass_that_replaces_write_scores_is_not_bypassed_by_the_held_write() -> None:
    crm = RenamingCrm()
    assert _written_through(crm) == [["A100", "A101"], ["A102"]]
    assert crm.outcomes == []  # the inherited held write was not used


def test_a_wrapper_that_replaces_write_scores_is_not_bypassed_by_the_held_write() -> None:
    crm = HeldCrm()
    assert _written_through(Wrapper(crm)) == [["A200", "A201"], ["A202"]]
    assert crm.outcomes == []


def test_an_instance_whose_write_scores_is_replaced_is_not_bypassed() -> None:
    crm = HeldCrm()
    plain = crm.write_scores
    crm.write_scores = lambda updates: plain([_update(300) for _ in updates])  # type: ignore[method-assign]
    assert _written_through(crm) == [["A300", "A300"], ["A300"]]
    assert crm.outcomes == []


def test_the_held_write_is_used_when_write_scores_is_the_one_beside_it() -> None:
    crm = HeldCrm()
    assert _written_through(crm) == [["A0", "A1"], ["A2"]]
    assert crm.outcomes == [["A0", "A1"], ["A2"]]
