"""What each run wrote to each account, per org: how a rep's direct edit is told apart.

Rows live in ``icpsync_written`` (see :mod:`icpsync.engine.schema`). They are looked up a
batch of accounts at a time while a run scores (one query per batch), and kept current
after every write (and for accounts found holding our values, so edits are caught on
accounts that never change) with one upsert per batch, its rows in the key's order.

A lookup that cannot find anything is not made: when the org had no row at the first
lookup (its first sync), the only rows are those put since, and their ids are remembered
(in about eight bytes each, :class:`~icpsync.core.seen_ids.SeenIds`), so a batch none of
whose accounts was put is answered without a query. One run (the lease holder) writes an
org's rows at a time, so nothing else adds any meanwhile.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from icpsync.core.human_edits import Written
from icpsync.core.seen_ids import SeenIds
from icpsync.engine.bulk import analyze, key_order, rows_by_ids, upsert_columns
from icpsync.engine.schema import written as table

#: rows written at once after which PostgreSQL's statistics of the table are refreshed.
ANALYZE_AFTER = 10_000
#: the columns :meth:`WrittenValues.put_many` writes, in order.
COLUMNS = ("connection", "org", "account_id", "tier", "score", "rep_tier", "rep_was")
#: the columns a lookup fetches (as tuples, on the driver's own cursor on SQLite).
_LOOKED_UP = COLUMNS[2:]


class WrittenValues:
    """One org's last written values.

    Args:
        engine: the state store's engine.
        connection: the connection (CRM) name.
        org: the org the rows belong to.
    """

    def __init__(self, engine: Engine, connection: str, org: str):
        self.engine = engine
        self.connection = connection
        self.org = org
        self._mine = (table.c.connection == connection, table.c.org == org)
        #: the ids put since the first lookup found the org without a row (None: it had
        #: rows, or no lookup was made yet; every lookup then queries).
        self._put_since_empty: SeenIds | None = None
        self._looked = False

    def get(self, account_ids: Collection[str]) -> dict[str, Written]:
        """The rows of the named accounts (absent: nothing written that we know of)."""
        ids = list(account_ids)
        if not self._looked:
            self._looked = True
            if not self._any_row():
                self._put_since_empty = SeenIds()
        put = self._put_since_empty
        if put is not None:
            if put.isdisjoint(ids):
                return {}  # none of them was put since the org had no row
            ids = [i for i in ids if i in put]
        with self.engine.connect() as conn:
            rows = rows_by_ids(
                conn,
                table,
                _LOOKED_UP,
                "account_id",
                ids,
                {"connection": self.connection, "org": self.org},
            )
        return {row[0]: Written(*row[1:]) for row in rows}

    def _any_row(self) -> bool:
        """Whether the org has any row."""
        with self.engine.connect() as conn:
            return (
                conn.execute(select(table.c.account_id).where(*self._mine).limit(1)).first()
                is not None
            )

    def put(self, rows: Mapping[str, Written]) -> None:
        """Replace the rows of these accounts."""
        if not rows:
            return
        values = rows.values()
        self.put_many(
            list(rows),
            [w.tier for w in values],
            [w.score for w in values],
            [w.rep_tier for w in values],
            [w.rep_was for w in values],
        )

    def put_many(
        self,
        account_ids: Sequence[str],
        tiers: Sequence[str],
        scores: Sequence[int | None],
        rep_tiers: Sequence[str | None] | None = None,
        rep_was: Sequence[str | None] | None = None,
        *,
        conn: Connection | None = None,
        order: Sequence[int] | None = None,
    ) -> None:
        """:meth:`put` for a batch given as columns, one value per account (no kept rep
        tiers when ``rep_tiers``/``rep_was`` are None). An account named twice keeps its
        last values. One upsert, in ``conn``'s transaction when given (else its own);
        ``order``: the accounts' positions in the order of their ids
        (:func:`~icpsync.engine.bulk.key_order`), when the caller has it."""
        n = len(account_ids)
        if not n:
            return
        if any(c is not None and len(c) != n for c in (tiers, scores, rep_tiers, rep_was)):
            raise ValueError("WrittenValues.put_many: every column needs one value per account")
        names = COLUMNS[2:5] if rep_tiers is None and rep_was is None else COLUMNS[2:]
        columns: list[Sequence[object]] = [account_ids, tiers, scores]
        if len(names) > 3:
            columns += [[None] * n if c is None else c for c in (rep_tiers, rep_was)]
        # In the key's order, the rows go into the table's b-trees page after page, not at
        # random places (about half the database's work for a write of random ids).
        if len(set(account_ids)) == n:
            if order is None:
                order = key_order(account_ids)
            elif len(order) != n:
                raise ValueError("WrittenValues.put_many: the order must name every account")
        else:  # one row per key in an upsert: the last one wins
            last = dict(zip(account_ids, range(n), strict=True))
            order = sorted(last.values(), key=account_ids.__getitem__)
        if conn is None:
            with self.engine.begin() as own:
                self._upsert(own, names, columns, order, account_ids)
        else:
            self._upsert(conn, names, columns, order, account_ids)

    def _upsert(
        self,
        conn: Connection,
        names: Sequence[str],
        columns: Sequence[Sequence[object]],
        order: Sequence[int],
        ids: Sequence[str],
    ) -> None:
        constants: dict[str, str | None] = {"connection": self.connection, "org": self.org}
        if len(names) < len(COLUMNS) - 2:  # no kept rep tiers: none stored
            constants |= {"rep_tier": None, "rep_was": None}
        upsert_columns(conn, table, names, columns, constants=constants, order=order)
        if len(order) >= ANALYZE_AFTER:  # the run's next lookups need the new statistics
            analyze(conn, table)
        if self._put_since_empty is not None:
            self._put_since_empty.update(ids)
