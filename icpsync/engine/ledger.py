"""One run's bookkeeping in the state store, so that the runs history tells the truth.

While a run goes on, :class:`RunLedger` keeps its row (status ``running``, with the counts
reached as batches finish: a run that dies keeps them), renews the lease from a heartbeat
thread, records the history of what was written and quarantines what the CRM refused for
good. Between batches it answers whether the run must stop (lease lost, stop asked). A run
that an error ends is recorded ``failed``, one that an interruption ends ``stopped``.
Without a state store, or in a dry run, it keeps nothing.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING

from icpsync.core.errors import BudgetExhausted
from icpsync.core.model import RecordFailure, ScoreUpdate
from icpsync.engine.heartbeat import Heartbeat
from icpsync.engine.quarantine import Quarantine, RunQuarantine

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from icpsync.engine.protocol import Connector
    from icpsync.engine.run_report import RunReport
    from icpsync.engine.state import StateStore

log = logging.getLogger(__name__)
LEASE_LOST = "lost the run lease to another run"
#: seconds between two records of a running run's counts (one commit each).
PROGRESS_EVERY_S = 1.0


class RunLedger:
    """The bookkeeping of one run (use as a context manager: it runs the heartbeat).

    Args:
        state: the state store (None: nothing is kept).
        report: the run's report (its ``org`` is the org whose lease and records these are).
        connector: the connector whose counters the report takes.
        holder: the lease token the run holds (None without a state store).
        lease_seconds: how long each lease renewal lasts.
        now: the time of the run (quarantine stamps).
        should_stop: asked between batches; a true value (a string says why) stops the run.
    """

    def __init__(
        self,
        state: StateStore | None,
        report: RunReport,
        connector: Connector,
        *,
        holder: str | None,
        lease_seconds: float,
        now: datetime,
        should_stop: Callable[[], bool | str | None] | None = None,
    ):
        self.state = state
        self.report = report
        self.connector = connector
        self.holder = holder
        self.now = now
        self.should_stop = should_stop
        self.org = report.org or ""
        self.keeps = state is not None and not report.dry_run
        self.run_id: int | None = None
        self.started = time.perf_counter()
        self._recorded: float | None = None  # when the counts were last recorded (monotonic)
        self._recorded_accounts = False  # whether counts with accounts read were recorded
        # An in-memory SQLite database is one per thread: no other process can take the
        # lease over, and a heartbeat thread would see an empty database.
        shared = state is not None and state.url not in ("sqlite://", "sqlite:///:memory:")
        self.beat = (
            Heartbeat(state, report.crm, holder, lease_seconds, org=self.org)
            if state is not None and holder and shared
            else None
        )
        store = Quarantine(state.engine, report.crm, self.org) if state is not None else None
        self.quarantine = RunQuarantine(store, report, read_only=not self.keeps)

    def __enter__(self) -> RunLedger:
        if self.beat is not None:
            self.beat.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.beat is not None:
            self.beat.__exit__(*exc)

    def start(self) -> None:
        """Record the run's row (status ``running``)."""
        if self.state is not None and self.keeps:
            self.run_id = self.state.start_run(self.report, self.holder)

    def read(self, ids: Sequence[str], changed: Iterable[int]) -> None:
        """The run read these accounts; those not at a ``changed`` position hold our values
        already (a quarantined one among them leaves quarantine)."""
        held = self.quarantine.held
        if not held or held.isdisjoint(ids):
            return
        to_write = set(changed)
        self.quarantine.seen_many(ids, [p not in to_write for p in range(len(ids))])

    def transaction(self) -> AbstractContextManager[Connection | None]:
        """One transaction of the state store for a written chunk's bookkeeping (None
        without a state store or in a dry run: nothing is kept)."""
        if self.state is None or not self.keeps:
            return nullcontext()
        return self.state.transaction()

    def written(
        self,
        updates: list[ScoreUpdate],
        *,
        conn: Connection | None = None,
        order: Sequence[int] | None = None,
    ) -> None:
        """A chunk was applied: keep its history; its records leave quarantine (in
        ``conn``'s transaction when given; ``order``: the updates' positions in the order of
        their account ids, when the caller has it)."""
        if self.state is not None and self.run_id is not None:
            self.state.record_history(
                self.run_id, self.report.crm, updates, org=self.org, conn=conn, order=order
            )
        self.quarantine.written(updates, conn=conn)

    def refused(self, failures: list[RecordFailure]) -> None:
        """The CRM refused these records for good: quarantine them."""
        self.quarantine.refused(failures, self.now)

    def checkpoint(self) -> None:
        """Between batches: a lost lease or a stop request stops the run; the counts so far
        are kept in the run's row (at the first checkpoint and the first with accounts read,
        then at most every
        ``PROGRESS_EVERY_S``: a run that dies is recorded with its counts of at most that
        long ago; one that stops or ends records its final counts)."""
        report = self.report
        if self.beat is not None and self.beat.lost():
            report.stopped = report.stopped or LEASE_LOST
        asked = self.should_stop() if self.should_stop is not None else None
        if asked:
            report.stopped = report.stopped or (
                asked if isinstance(asked, str) else "stop requested"
            )
        if self.state is None or self.run_id is None:
            return
        now = time.monotonic()
        first_accounts = report.accounts_read > 0 and not self._recorded_accounts
        if (
            self._recorded is not None
            and now - self._recorded < PROGRESS_EVERY_S
            and not first_accounts
        ):
            return
        self._recorded_accounts = self._recorded_accounts or report.accounts_read > 0
        self._recorded = now
        self.tally()
        self.state.record_progress(self.run_id, report)

    def tally(self) -> None:
        """Take the connector's counters and the time so far into the report."""
        stats, report = self.connector.stats, self.report
        report.api_calls = Counter(dict(stats.api_calls))
        report.bad_values = Counter(dict(stats.bad_values))
        report.skipped = Counter(dict(stats.skipped))
        report.unplaced = dict(getattr(stats, "unplaced", None) or {})
        report.duration_s = time.perf_counter() - self.started

    def abort(self, exc: BaseException) -> None:
        """Record a run an error (``failed``) or an interruption (``stopped``) ended."""
        if self.state is None or self.run_id is None:
            return
        self.tally()
        if isinstance(exc, BudgetExhausted):  # the budget ran out: resume next run
            self.report.stopped = self.report.stopped or str(exc)
            status = "stopped"
        elif isinstance(exc, Exception):
            self.report.error = f"{type(exc).__name__}: {exc}"
            status = "failed"
        else:
            self.report.stopped = self.report.stopped or f"interrupted ({type(exc).__name__})"
            status = "stopped"
        try:
            self.state.abort_run(self.run_id, self.report, status)
        except Exception:  # the error being raised says more than this one
            log.warning("could not record the end of run %s", self.run_id, exc_info=True)

    def settle_quarantine(self, *, read_everything: bool) -> None:
        """After the run was recorded: release what it found right (and, when it read every
        quarantined record it could, what it found gone); quarantine what was not placed."""
        if self.keeps:
            self.quarantine.finish(
                read_everything=read_everything and self.report.complete, at=self.now
            )
