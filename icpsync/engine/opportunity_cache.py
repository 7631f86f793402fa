"""A copy of each connection's opportunities in the state store.

Aggregates need every opportunity of an account, but an incremental run should read only
the opportunities that changed. So a full run replaces the connection's copy, an
incremental run upserts what changed, and the aggregates of a batch of accounts are
computed from the copy when those accounts stream past. No deal is held in memory.

A full run reloads the copy from every deal it reads: the reload also tallies the deals as
it stores them, and that run's lookups are answered from those per-account figures
(:class:`~icpsync.engine.deal_figures.DealFigures`, about 38 bytes an account holding a
deal) instead of a query per batch. A reload
that meets a deal id twice (stored once, with the last values) looks its aggregates up in
the copy, as does every other run.

Deleted opportunities leave the copy at the next full run (the scheduler runs one nightly).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from functools import lru_cache
from itertools import repeat
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from icpsync.core.aggregates import AggregateBuilder
from icpsync.core.batch import OpportunityBatch
from icpsync.core.model import Aggregates, Opportunity
from icpsync.engine.bulk import analyze, ids_in, insert_columns, rows_by_ids, upsert_tuples
from icpsync.engine.deal_figures import DealFigures
from icpsync.engine.schema import dirty_accounts
from icpsync.engine.schema import opportunities as table

#: deals per batch written: one transaction (a stored copy is compared this many at a time).
BATCH = 5000
#: the deal copy's columns as rows are written, in order.
COLUMNS = (
    "connection",
    "org",
    "id",
    "account_id",
    "is_closed",
    "is_won",
    "amount",
    "created",
    "closed",
    "last_modified",
)
#: the columns held until written, one list each (the connection and org are the copy's own).
_HELD = COLUMNS[2:]
#: the columns an account's aggregates are computed from, as they are looked up.
_LOOKED_UP = ("account_id", "is_closed", "is_won", "amount", "created", "closed")
#: the columns compared to tell a changed deal (all but the key and when it was modified).
_COMPARED = slice(3, 9)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


@lru_cache(maxsize=8192)
def _iso_day(value: date | None) -> str | None:
    """A deal's date as stored (remembered: a batch's deals share many dates)."""
    return value.isoformat() if value else None


def _columns(batch: OpportunityBatch) -> list[Sequence[Any]]:
    """The batch's deals as one sequence per column of :data:`_HELD`, as they are stored."""
    columns = batch.columns
    return [
        *(columns[name] for name in _HELD[:5]),
        list(map(_iso_day, columns["created"])),
        list(map(_iso_day, columns["closed"])),
        list(map(_iso, columns["last_modified"])),
    ]


@lru_cache(maxsize=8192)
def _date(text: str | None) -> date | None:
    """A stored date (remembered: a batch's deals share many dates)."""
    return date.fromisoformat(text) if text else None


class OpportunityCache:
    """One connection's opportunities in the state database.

    Args:
        engine: the state store's engine.
        connection: the connection (CRM) name the rows belong to.
        org: the org (CRM identity) of the connection the rows belong to.
    """

    def __init__(self, engine: Engine, connection: str, org: str = ""):
        self.engine = engine
        self.connection = connection
        self.org = org
        self._pending: list[list[Any]] = _nothing_held()  # one list per column of _HELD
        self._empty = False
        self._reloaded = False  # rebuilt since the planner's statistics were refreshed
        #: the deals of a reload, tallied as they are stored (until the first lookup)
        self._tallied: AggregateBuilder | None = None
        #: the aggregates of every account, when the copy holds what this object's reload
        #: tallied and nothing since (None: every lookup asks the database)
        self._figures: DealFigures | None = None

    def clear(self) -> None:
        """Forget every opportunity of the connection (before a full reload)."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(table).where(table.c.connection == self.connection, table.c.org == self.org)
            )
        self._empty = True
        self._reloaded = True
        self._tallied = AggregateBuilder()
        self._figures = None

    def dirty(self) -> set[str]:
        """Accounts whose deals changed in runs that did not complete: read them again."""
        with self.engine.connect() as conn:
            query = select(dirty_accounts.c.account_id).where(
                dirty_accounts.c.connection == self.connection, dirty_accounts.c.org == self.org
            )
            return {r[0] for r in conn.execute(query)}

    def settle(self) -> None:
        """After a complete run: every changed account was scored and written."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(dirty_accounts).where(
                    dirty_accounts.c.connection == self.connection, dirty_accounts.c.org == self.org
                )
            )

    def put(self, opp: Opportunity) -> set[str]:
        """Store (or replace) one opportunity: :meth:`put_batch` of one deal."""
        return self.put_batch(OpportunityBatch.from_opportunities((opp,)))

    def put_batch(self, batch: OpportunityBatch) -> set[str]:
        """Store (or replace) a batch of deals; returns accounts whose figures may change.

        Rows are written :data:`BATCH` at a time, whatever the batches' sizes (a batch may
        end one write and start the next); call :meth:`flush` after the last batch.
        """
        columns = _columns(batch)
        if self._tallied is not None:
            self._tallied.add_batch(batch)
        self._figures = None  # the copy changes: the figures of the reload no longer tell
        touched: set[str] = set()
        size = len(columns[0])
        start = 0
        while start < size:
            pending = self._pending
            take = BATCH - len(pending[0])
            for held, column in zip(pending, columns, strict=True):
                held.extend(column[start : start + take])
            start += take
            if len(pending[0]) >= BATCH:
                touched |= self.flush()
        return touched

    def flush(self) -> set[str]:
        """Write the pending opportunities; returns the accounts whose figures may change.

        An opportunity read again with the same values touches no account; a changed one
        touches the account it belongs to now and the one it belonged to before.
        """
        pending, self._pending = self._pending, _nothing_held()
        if not pending[0]:
            return set()
        if len(set(pending[0])) < len(pending[0]):
            # an id met twice: the copy keeps its first place, with its last values
            self._tallied = None
            kept = {row[0]: row for row in zip(*pending, strict=True)}
            pending = [list(column) for column in zip(*kept.values(), strict=True)]
        if self._empty:  # a reload: nothing stored to compare with
            try:
                with self.engine.begin() as conn:
                    insert_columns(conn, table, _HELD, pending, constants=self._constants)
                return set(filter(None, pending[1]))
            except IntegrityError:  # an id the reload already stored: compare as usual
                self._tallied = None
        size = len(pending[0])
        mine = repeat(self.connection, size), repeat(self.org, size)
        rows = {row[2]: row for row in zip(*mine, *pending, strict=True)}
        touched: set[str] = set()
        with self.engine.begin() as conn:
            stored = select(*(table.c[k] for k in COLUMNS)).where(*self._mine(table))
            for condition in ids_in(conn, table.c.id, list(rows)):
                for old in conn.execute(stored.where(condition)).all():
                    new = rows[old[2]]
                    if tuple(old[_COMPARED]) == new[_COMPARED]:
                        del rows[old[2]]
                    elif old[3]:
                        touched.add(old[3])
            upsert_tuples(conn, table, COLUMNS, list(rows.values()))
            touched.update(r[3] for r in rows.values() if r[3])
            # Kept with the copy, in one transaction: if this run does not complete, the
            # next one still knows which accounts the changed deals belong to.
            upsert_tuples(
                conn,
                dirty_accounts,
                ("connection", "org", "account_id"),
                [(self.connection, self.org, a) for a in sorted(touched)],
                update=(),
            )
        return touched

    def count(self) -> int:
        """How many opportunities the copy holds."""
        with self.engine.connect() as conn:
            query = select(func.count()).where(
                table.c.connection == self.connection, table.c.org == self.org
            )
            return int(conn.execute(query).scalar_one())

    def aggregates_for(self, account_ids: Collection[str]) -> dict[str, Aggregates]:
        """Aggregates of the named accounts (accounts without opportunities are absent):
        after a reload, from the deals it stored; else one query for the batch, its rows
        fetched as tuples."""
        ids = _listed(account_ids)
        if self._tallied is not None:  # the first lookup after a reload
            if not self._pending[0]:  # (deals not stored yet are not looked up)
                self._figures = DealFigures(self._tallied)
            self._tallied = None
        if self._reloaded:
            with self.engine.begin() as conn:
                analyze(conn, table)
            self._reloaded = False
        if self._figures is not None:
            return self._figures.get(ids)
        builder = AggregateBuilder()
        with self.engine.connect() as conn:
            rows = rows_by_ids(
                conn,
                table,
                _LOOKED_UP,
                "account_id",
                ids,
                {"connection": self.connection, "org": self.org},
            )
        builder.add_rows(
            (account_id, is_closed, is_won, amount, _date(created), _date(closed))
            for account_id, is_closed, is_won, amount, created, closed in rows
        )
        return builder.result()

    def _mine(self, of: Any) -> tuple[Any, Any]:
        return of.c.connection == self.connection, of.c.org == self.org

    @property
    def _constants(self) -> dict[str, str]:
        return {"connection": self.connection, "org": self.org}


def _nothing_held() -> list[list[Any]]:
    return [[] for _ in _HELD]


def _listed(ids: Collection[str]) -> Sequence[str]:
    return ids if isinstance(ids, list | tuple) else list(ids)
