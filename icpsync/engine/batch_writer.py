"""Hand changed records to the connector in full chunks, one chunk in flight at a time.

A chunk is written in a background thread while the run goes on reading and scoring, so
the write calls' latency overlaps the read calls' latency. Results are applied to the run
report in the caller's thread, in order; a chunk that reports a stop (daily limit, budget)
ends the run: nothing after it is handed over. So do two chunks in a row in which every
record failed (the CRM is unreachable, or a field refuses every value).

A connector with ``write_scores_held(updates, wanted)`` is written through it: ``wanted``
(a ``threading.Event``) is set when this thread waits for that chunk's outcome (the next
chunk is ready, or the run ends or fails), so the connector may hold back what only the
outcome needs (polling a Bulk job) until then.

A record refused for good (``RecordFailure.retriable`` False: a validation rule, an invalid
value, a deleted record) is counted as quarantined and handed to ``on_refused``; the run
goes on and may still complete (as ``partial``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from threading import Event
from typing import TYPE_CHECKING

from icpsync.core.model import RecordFailure, ScoreUpdate, WriteReport

if TYPE_CHECKING:
    from icpsync.engine.protocol import Connector
    from icpsync.engine.run_report import RunReport

log = logging.getLogger(__name__)
#: per-record failures kept in the run report (all are counted in ``failed``).
MAX_FAILURES_KEPT = 1000
#: chunks in a row whose every record failed before the run stops.
FAILED_CHUNKS_TO_STOP = 2


def held_writer(
    connector: Connector,
) -> Callable[[list[ScoreUpdate], Event], WriteReport] | None:
    """The connector's ``write_scores_held``, unless ``write_scores`` is replaced below the
    class that defines it (a subclass, an instance attribute) or it is reached through
    another object's ``__getattr__``: a wrapper that changes how scores are written is
    then called as it is, not bypassed (only the held poll is lost)."""
    mro = type(connector).__mro__

    def owner(name: str) -> int | None:
        return next((i for i, cls in enumerate(mro) if name in vars(cls)), None)

    held, plain = owner("write_scores_held"), owner("write_scores")
    replaced = "write_scores" in getattr(connector, "__dict__", {})
    if held is None or replaced or (plain is not None and plain < held):
        return None
    return connector.write_scores_held  # type: ignore[attr-defined]


class BatchWriter:
    """Collects updates and writes them in chunks of ``chunk``.

    Args:
        connector: where the updates go.
        report: the run report the outcomes are added to.
        chunk: updates per ``write_scores`` call.
        on_written: called (in the caller's thread) with the updates a chunk applied.
        overlap: write in a background thread; False writes inline (tests, debugging).
        on_refused: called (in the caller's thread) with the records a chunk's CRM refused
            for good.
    """

    def __init__(
        self,
        connector: Connector,
        report: RunReport,
        chunk: int,
        on_written: Callable[[list[ScoreUpdate]], None],
        *,
        overlap: bool = True,
        on_refused: Callable[[list[RecordFailure]], None] | None = None,
    ):
        self.connector = connector
        self.on_refused = on_refused
        self.report = report
        self.chunk = max(1, chunk)
        self.on_written = on_written
        self._pending: list[ScoreUpdate] = []
        self._pool = ThreadPoolExecutor(1, "icpsync-writer") if overlap else None
        #: the chunk being written, its outcome, and what says the outcome is wanted.
        self._in_flight: tuple[list[ScoreUpdate], Future[WriteReport], Event] | None = None
        self._failed_chunks = 0

    def add(self, update: ScoreUpdate) -> None:
        """Queue one update; written once a full chunk is queued (see :meth:`write_full`)."""
        self._pending.append(update)

    def extend(self, updates: list[ScoreUpdate]) -> None:
        """Queue a batch's updates, in order (see :meth:`add`)."""
        self._pending.extend(updates)

    def write_full(self) -> None:
        """Hand over every full chunk queued so far (unless the run has stopped)."""
        while len(self._pending) >= self.chunk and not self.report.stopped:
            updates, self._pending = self._pending[: self.chunk], self._pending[self.chunk :]
            self._submit(updates)

    def close(self) -> None:
        """Write what is left (unless stopped), wait for it, and release the thread."""
        try:
            if self._pending and not self.report.stopped:
                self._submit(self._pending)
            self._pending = []
            self._collect()
        finally:
            self._release()

    def abort(self) -> None:
        """After an error: apply what the chunk in flight did, drop the rest, release."""
        self._pending = []
        try:
            self._collect()
        except Exception:  # the error being raised already says what went wrong
            log.debug("write in flight failed during abort", exc_info=True)
        finally:
            self._release()

    def _release(self) -> None:
        """Release the thread; a chunk still in flight (an error left it uncounted) is let
        through first, so that a held write does not wait for its deadline."""
        if self._in_flight is not None:
            self._in_flight[2].set()
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _submit(self, updates: list[ScoreUpdate]) -> None:
        """Count the chunk in flight (its stop included), hand ``updates`` over unless the
        run stopped, then run the counted chunk's bookkeeping: the CRM writes the next
        chunk while this thread records the last one."""
        if self._pool is None:
            self._collect()
            if not self.report.stopped:
                self._apply(updates, self.connector.write_scores(updates))
            return
        done = self._count_in_flight()
        if not self.report.stopped:
            wanted = Event()
            held = held_writer(self.connector)
            if held is not None:
                future = self._pool.submit(held, updates, wanted)
            else:
                future = self._pool.submit(self.connector.write_scores, updates)
            self._in_flight = (updates, future, wanted)
        if done is not None:
            self._book(*done)

    def _collect(self) -> None:
        done = self._count_in_flight()
        if done is not None:
            self._book(*done)

    def _count_in_flight(self) -> tuple[list[ScoreUpdate], list[RecordFailure]] | None:
        """Wait for the chunk in flight and count its outcome; what its bookkeeping needs."""
        if self._in_flight is None:
            return None
        updates, future, wanted = self._in_flight
        self._in_flight = None
        wanted.set()
        return self._count(updates, future.result())

    def _apply(self, updates: list[ScoreUpdate], result: WriteReport) -> None:
        self._book(*self._count(updates, result))

    def _count(
        self, updates: list[ScoreUpdate], result: WriteReport
    ) -> tuple[list[ScoreUpdate], list[RecordFailure]]:
        """Add a chunk's outcome to the report (a stop it reports, or two chunks in a row
        that all failed, stop the run); the records applied and those refused for good."""
        report = self.report
        failed = {f.account_id for f in result.failures}
        report.written += result.updated
        report.failed += len(result.failures)
        room = MAX_FAILURES_KEPT - len(report.failures)
        if room > 0:
            report.failures.extend(result.failures[:room])
        refused = [f for f in result.failures if not f.retriable]
        if refused:
            report.quarantined += len(refused)
            report.quarantine_reasons.update(f.reason for f in refused)
        all_failed = (
            result.attempted and not result.updated and len(result.failures) == result.attempted
        )
        self._failed_chunks = self._failed_chunks + 1 if all_failed else 0
        stop = result.stopped
        if not stop and self._failed_chunks >= FAILED_CHUNKS_TO_STOP:
            # Every record of two chunks in a row failed: the CRM or the network is down,
            # or a field refuses every value. Stop spending calls; the next run resumes.
            stop = f"writes are failing: {result.failures[0].reason}"
        if stop and not report.stopped:
            report.stopped = stop
            log.warning("run stopped: %s; the next run resumes", stop)
        applied = [u for u in updates if u.account_id not in failed] if failed else updates
        return applied, refused

    def _book(self, applied: list[ScoreUpdate], refused: list[RecordFailure]) -> None:
        """A counted chunk's bookkeeping: the records refused for good, then those applied."""
        if refused and self.on_refused is not None:
            self.on_refused(refused)
        self.on_written(applied)
