"""The batch writer: full chunks, one in flight, results in order, stops honoured."""

from __future__ import annotations

import threading
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


class Together(MemoryCrm):
    """Writes may run at once. Write ``n`` ends once ``release[n]`` is set, and lets write
    ``n - 1`` end as it begins; each notes how many writes were running when it began. A
    stop reported by write ``stop_at`` does not keep later writes out."""

    concurrent_writes = True

    def __init__(self, stop_at: int | None = None) -> None:
        super().__init__()
        self.stop_after = stop_at
        self.release = {n: threading.Event() for n in range(1, 10)}
        self.at_once: list[int] = []
        self._running = 0
        self._lock = threading.Lock()

    def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        with self._lock:
            self._running += 1
            self.at_once.append(self._running)
            self.calls.append([u.account_id for u in updates])
            n = len(self.calls)
        if n > 1:
            self.release[n - 1].set()
        try:
            if not self.release[n].wait(5):
                raise AssertionError(f"write {n} was never let go")
            stopped = "daily limit" if n == self.stop_after else None
            return WriteReport(len(updates), len(updates), [], stopped)
        finally:
            with self._lock:
                self._running -= 1


def test_the_last_chunk_goes_beside_the_one_before_and_is_booked_after_it() -> None:
    crm = Together()
    crm.release[1].set()
    crm.release[3].set()
    report = RunReport(crm="memory")
    booked: list[list[str]] = []
    writer = BatchWriter(crm, report, 2, lambda ups: booked.append([u.account_id for u in ups]))  # type: ignore[arg-type]
    for i in range(4):
        writer.add(_update(i))
        writer.write_full()
    # A2, A3 is kept back while A0, A1 is in flight: it may be the last chunk
    assert [u.account_id for u in writer._pending] == ["A2", "A3"]
    writer.add(_update(4))
    writer.write_full()  # it was not: handed over once A0, A1 is written
    assert [u.account_id for u in writer._pending] == ["A4"]
    writer.close()
    assert crm.calls == [["A0", "A1"], ["A2", "A3"], ["A4"]]
    # A4 was handed over while A2, A3 was still being written; the others one at a time
    assert crm.at_once == [1, 1, 2]
    assert booked == [["A0", "A1"], ["A2", "A3"], ["A4"]]
    assert report.written == 5


def test_a_chunk_kept_back_goes_at_the_next_call_and_chunks_keep_their_size() -> None:
    crm = Together()
    for n, event in crm.release.items():
        if n != 4:  # the fourth write ends when the fifth begins
            event.set()
    report = RunReport(crm="memory")
    writer = BatchWriter(crm, report, 2, lambda ups: None)  # type: ignore[arg-type]
    writer.extend([_update(i) for i in range(7)])
    writer.write_full()  # full chunks with more queued behind them go at once
    assert [u.account_id for u in writer._pending] == ["A6"]
    writer.add(_update(7))
    writer.write_full()  # A6, A7 has nothing behind it: kept back once
    assert len(writer._pending) == 2
    writer.write_full()  # the next call, with nothing more queued: handed over
    assert not writer._pending
    writer.add(_update(8))
    writer.close()
    assert crm.calls == [["A0", "A1"], ["A2", "A3"], ["A4", "A5"], ["A6", "A7"], ["A8"]]
    assert crm.at_once == [1, 1, 1, 1, 2] and report.written == 9


def test_a_stop_in_the_chunk_before_still_books_the_last_one_written_beside_it() -> None:
    crm = Together(stop_at=2)
    for event in crm.release.values():
        event.set()
    report = RunReport(crm="memory")
    booked: list[str] = []
    writer = BatchWriter(crm, report, 2, lambda ups: booked.extend(u.account_id for u in ups))  # type: ignore[arg-type]
    writer.extend([_update(i) for i in range(5)])
    writer.write_full()
    writer.close()
    assert report.stopped == "daily limit"
    assert len(crm.calls) == 3  # the last chunk was on its way when the stop was counted
    assert booked == ["A0", "A1", "A2", "A3", "A4"] and report.written == 5


def test_an_error_in_the_chunk_before_still_counts_the_last_one() -> None:
    class Failing(Together):
        def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
            result = super().write_scores(updates)
            if updates[0].account_id == "A2":
                raise ConnectionError("CRM unreachable")
            return result

    crm = Failing()
    for event in crm.release.values():
        event.set()
    report = RunReport(crm="memory")
    booked: list[str] = []
    writer = BatchWriter(crm, report, 2, lambda ups: booked.extend(u.account_id for u in ups))  # type: ignore[arg-type]
    writer.extend([_update(i) for i in range(5)])
    writer.write_full()
    with pytest.raises(ConnectionError, match="unreachable"):
        writer.close()
    assert booked == ["A0", "A1", "A4"] and report.written == 3
