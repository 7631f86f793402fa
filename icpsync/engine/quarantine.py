"""Quarantined records: what the CRM refuses for good, and what a reader could not place.

A record whose write fails with a non-retriable error (a validation rule, an invalid
value, a deleted record, field-level security) must not hold the cursor back: the run
completes for everything else (status ``partial``), the cursor moves, and the record waits
here with its reason, when it was first and last seen, and how many runs tried it. The
next full run, or ``sync --retry-failed``, reads it again; it leaves the table once it is
written, found already right, or found gone from the CRM.

SQL is portable (SQLite, PostgreSQL): an upsert is a select of the ids present (one query,
see :func:`icpsync.engine.bulk.ids_in`), then an ``UPDATE`` of those (one executemany) and
a bulk insert of the rest, in one transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.engine import Connection, Engine

from icpsync.core.model import RecordFailure, ScoreUpdate
from icpsync.engine.bulk import ids_in, insert_tuples
from icpsync.engine.run_report import RunReport
from icpsync.engine.schema import failures

__all__ = ["Quarantine", "RunQuarantine", "list_failures"]

#: records released together as a run finds them already right.
CHUNK = 500
#: the columns of a newly quarantined record, in the order :meth:`Quarantine.put` gives them.
_COLUMNS = ("connection", "org", "account_id", "reason", "first_seen", "last_seen", "attempts")


class Quarantine:
    """The quarantined records of one connection's org.

    Args:
        engine: the state store's engine.
        connection: the connection (CRM) name.
        org: the org the records belong to.
    """

    def __init__(self, engine: Engine, connection: str, org: str):
        self.engine = engine
        self.connection = connection
        self.org = org
        self._mine = (failures.c.connection == connection, failures.c.org == org)

    def ids(self) -> set[str]:
        """Every quarantined record id."""
        with self.engine.connect() as conn:
            query = select(failures.c.account_id).where(*self._mine)
            return {r[0] for r in conn.execute(query)}

    def put(self, refused: Sequence[RecordFailure], at: datetime) -> None:
        """Add (or count one more attempt of) each refused record, with its latest reason."""
        latest = {f.account_id: f.reason for f in refused}
        if not latest:
            return
        stamp = at.isoformat()
        table = failures
        bump = (
            update(table)
            .where(
                table.c.connection == bindparam("b_connection"),
                table.c.org == bindparam("b_org"),
                table.c.account_id == bindparam("b_id"),
            )
            .values(reason=bindparam("b_reason"), last_seen=stamp, attempts=table.c.attempts + 1)
        )
        ids = sorted(latest)
        with self.engine.begin() as conn:
            present: set[str] = set()
            for condition in ids_in(conn, table.c.account_id, ids):
                query = select(table.c.account_id).where(*self._mine, condition)
                present.update(r[0] for r in conn.execute(query))
            old = [
                {
                    "b_connection": self.connection,
                    "b_org": self.org,
                    "b_id": i,
                    "b_reason": latest[i],
                }
                for i in ids
                if i in present
            ]
            new = [
                (self.connection, self.org, i, latest[i], stamp, stamp, 1)
                for i in ids
                if i not in present
            ]
            if old:
                conn.execute(bump, old)
            insert_tuples(conn, table, _COLUMNS, new)

    def release(self, ids: Collection[str], *, conn: Connection | None = None) -> int:
        """Take these records out of quarantine (in ``conn``'s transaction when given); how
        many were in it."""
        if conn is None:
            with self.engine.begin() as own:
                return self.release(ids, conn=own)
        gone = 0
        for condition in ids_in(conn, failures.c.account_id, sorted(ids)):
            gone += conn.execute(delete(failures).where(*self._mine, condition)).rowcount
        return gone

    def count(self) -> int:
        """How many records are quarantined."""
        with self.engine.connect() as conn:
            query = select(func.count()).where(*self._mine)
            return int(conn.execute(query).scalar() or 0)


def list_failures(
    engine: Engine, connection: str | None = None, *, org: str | None = None
) -> list[dict[str, Any]]:
    """Quarantined records (of one connection and org, or all), most attempted first."""
    query = select(failures).order_by(
        failures.c.connection, failures.c.org, failures.c.attempts.desc(), failures.c.account_id
    )
    if connection:
        query = query.where(failures.c.connection == connection)
    if org:
        query = query.where(failures.c.org == org)
    with engine.connect() as conn:
        return [
            {
                "crm": r.connection,
                "org": r.org or None,
                "record_id": r.account_id,
                "reason": r.reason,
                "first_seen": r.first_seen,
                "last_seen": r.last_seen,
                "attempts": r.attempts,
            }
            for r in conn.execute(query)
        ]


class RunQuarantine:
    """One run's dealings with the quarantine: records refused or found right as the run
    goes, and at its end the records gone from the CRM and those the reader could not place.

    Args:
        store: the connection's quarantine (None: no state).
        report: the run report (``released`` is counted into it).
        read_only: a dry run: the quarantined ids are read (``--retry-failed`` shows what
            it would retry), nothing is changed.
    """

    def __init__(self, store: Quarantine | None, report: RunReport, *, read_only: bool = False):
        self.held: set[str] = store.ids() if store is not None else set()
        self.store = None if read_only else store
        self.report = report
        self._unseen = set(self.held)
        self._right: list[str] = []

    def seen(self, account_id: str, *, unchanged: bool) -> None:
        """The run read this account (and found it already right when ``unchanged``)."""
        if account_id not in self.held:
            return
        self._unseen.discard(account_id)
        if unchanged:
            self._right.append(account_id)
            if len(self._right) >= CHUNK:
                self._release_right()

    def seen_many(self, account_ids: Sequence[str], unchanged: Sequence[bool]) -> None:
        """:meth:`seen` for a batch: ``unchanged[i]`` tells whether ``account_ids[i]`` was
        found already right. Nothing to do (the common case) when nothing is held."""
        if not self.held or self.held.isdisjoint(account_ids):
            return
        for account_id, right in zip(account_ids, unchanged, strict=True):
            self.seen(account_id, unchanged=right)

    def written(self, updates: Sequence[ScoreUpdate], *, conn: Connection | None = None) -> None:
        """These updates were applied: their records leave quarantine (in ``conn``'s
        transaction when given). Nothing to look at when nothing is held."""
        held = self.held
        if not held or self.store is None:
            return
        ids = [u.account_id for u in updates if u.account_id in held]
        if ids:
            self.report.released += self.store.release(ids, conn=conn)

    def refused(self, refused: Sequence[RecordFailure], at: datetime) -> None:
        """The CRM refused these records for good."""
        if self.store is not None:
            self.store.put(refused, at)

    def finish(self, *, read_everything: bool, at: datetime) -> None:
        """At the end of a run: release what it found right; after a run that read every
        quarantined record it could (``read_everything``), release those it never saw (gone
        from the CRM); quarantine the records the reader could not place."""
        self._release_right()
        if self.store is None:
            return
        if read_everything and self._unseen:
            self.report.released += self.store.release(self._unseen)
            self._unseen = set()
        unplaced = self.report.unplaced
        if unplaced:
            self.store.put(
                [RecordFailure(i, why, retriable=False) for i, why in unplaced.items()], at
            )

    def _release_right(self) -> None:
        if self._right and self.store is not None:
            self.report.released += self.store.release(self._right)
        self._right = []
