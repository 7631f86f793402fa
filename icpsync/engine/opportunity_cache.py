"""A copy of each connection's opportunities in the state store.

Aggregates need every opportunity of an account, but an incremental run should read only
the opportunities that changed. So a full run replaces the connection's copy, an
incremental run upserts what changed, and the aggregates of a batch of accounts are
computed from the copy when those accounts stream past. Nothing is held per account in
memory, so a sync's memory stays flat in the number of accounts.

Deleted opportunities leave the copy at the next full run (the scheduler runs one nightly).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from icpsync.core.aggregates import AggregateBuilder
from icpsync.core.model import Aggregates, Opportunity
from icpsync.engine.state import dirty_accounts, insert_rows
from icpsync.engine.state import opportunities as table

#: rows per INSERT and ids per ``IN (...)``: well under every database's parameter limit.
BATCH = 500


def _row(connection: str, org: str, opp: Opportunity) -> dict[str, object]:
    return {
        "connection": connection,
        "org": org,
        "id": opp.id,
        "account_id": opp.account_id,
        "is_closed": opp.is_closed,
        "is_won": opp.is_won,
        "amount": opp.amount,
        "created": opp.created.isoformat() if opp.created else None,
        "closed": opp.closed.isoformat() if opp.closed else None,
        "last_modified": opp.last_modified.isoformat() if opp.last_modified else None,
    }


def _same(old: object, new: dict[str, object]) -> bool:
    """True when a stored row holds the values of ``new`` (ignoring when it was modified)."""
    return all(old[k] == v for k, v in new.items() if k != "last_modified")  # type: ignore[index]


def _opportunity(row: object) -> Opportunity:
    r = row._mapping  # type: ignore[attr-defined]
    return Opportunity(
        id=r["id"],
        account_id=r["account_id"],
        is_closed=bool(r["is_closed"]),
        is_won=bool(r["is_won"]),
        amount=r["amount"],
        created=date.fromisoformat(r["created"]) if r["created"] else None,
        closed=date.fromisoformat(r["closed"]) if r["closed"] else None,
        last_modified=datetime.fromisoformat(r["last_modified"]) if r["last_modified"] else None,
    )


def _chunks(items: list[str], size: int = BATCH) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
        self._pending: list[Opportunity] = []
        self._empty = False

    def clear(self) -> None:
        """Forget every opportunity of the connection (before a full reload)."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(table).where(table.c.connection == self.connection, table.c.org == self.org)
            )
        self._empty = True

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
        """Store (or replace) one opportunity; returns accounts whose figures may change.

        Rows are written in batches; call :meth:`flush` after the last one.
        """
        self._pending.append(opp)
        if len(self._pending) >= BATCH:
            return self.flush()
        return set()

    def flush(self) -> set[str]:
        """Write the pending opportunities; returns the accounts whose figures may change.

        An opportunity read again with the same values touches no account; a changed one
        touches the account it belongs to now and the one it belonged to before.
        """
        pending, self._pending = self._pending, []
        if not pending:
            return set()
        rows = {opp.id: _row(self.connection, self.org, opp) for opp in pending}
        touched: set[str] = set()
        if self._empty:  # a reload: nothing stored to compare with
            try:
                with self.engine.begin() as conn:
                    insert_rows(conn, table, list(rows.values()))
                return {str(r["account_id"]) for r in rows.values() if r["account_id"]}
            except IntegrityError:  # an id the reload already stored: compare as usual
                pass
        with self.engine.begin() as conn:
            where = (
                (table.c.connection == self.connection)
                & (table.c.org == self.org)
                & table.c.id.in_(list(rows))
            )
            for old in conn.execute(select(table).where(where)):
                new = rows[old.id]
                if _same(old._mapping, new):
                    del rows[old.id]
                elif old.account_id:
                    touched.add(old.account_id)
            if rows:
                conn.execute(
                    delete(table).where(
                        table.c.connection == self.connection,
                        table.c.org == self.org,
                        table.c.id.in_(list(rows)),
                    )
                )
                insert_rows(conn, table, list(rows.values()))
            touched.update(str(r["account_id"]) for r in rows.values() if r["account_id"])
            # Kept with the copy, in one transaction: if this run does not complete, the
            # next one still knows which accounts the changed deals belong to.
            known = {
                r[0]
                for r in conn.execute(
                    select(dirty_accounts.c.account_id).where(
                        dirty_accounts.c.connection == self.connection,
                        dirty_accounts.c.org == self.org,
                        dirty_accounts.c.account_id.in_(list(touched)),
                    )
                )
            }
            fresh = touched - known
            if fresh:
                insert_rows(
                    conn,
                    dirty_accounts,
                    [
                        {"connection": self.connection, "org": self.org, "account_id": a}
                        for a in fresh
                    ],
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
        """Aggregates of the named accounts (accounts without opportunities are absent)."""
        builder = AggregateBuilder()
        with self.engine.connect() as conn:
            for chunk in _chunks(list(account_ids)):
                rows = conn.execute(
                    select(table).where(
                        table.c.connection == self.connection,
                        table.c.org == self.org,
                        table.c.account_id.in_(chunk),
                    )
                ).all()  # one fetch, not one per row
                for row in rows:
                    builder.add(_opportunity(row))
        return builder.result()
