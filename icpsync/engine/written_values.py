"""What each run wrote to each account, per org: how a rep's direct edit is told apart.

Rows live in ``icpsync_written`` (see :mod:`icpsync.engine.schema`). They are looked up a
batch of accounts at a time while a run scores (one query per batch), and kept current
after every write (and for accounts found holding our values, so edits are caught on
accounts that never change) with one upsert per batch.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from itertools import repeat

from sqlalchemy import select
from sqlalchemy.engine import Engine

from icpsync.core.human_edits import Written
from icpsync.engine.bulk import analyze, ids_in, upsert_tuples
from icpsync.engine.schema import written as table

#: rows written at once after which PostgreSQL's statistics of the table are refreshed.
ANALYZE_AFTER = 10_000
#: the columns :meth:`WrittenValues.put_many` writes, in order.
COLUMNS = ("connection", "org", "account_id", "tier", "score", "rep_tier", "rep_was")


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
        self._query = select(
            table.c.account_id, table.c.tier, table.c.score, table.c.rep_tier, table.c.rep_was
        ).where(table.c.connection == connection, table.c.org == org)

    def get(self, account_ids: Collection[str]) -> dict[str, Written]:
        """The rows of the named accounts (absent: nothing written that we know of)."""
        out: dict[str, Written] = {}
        with self.engine.connect() as conn:
            for condition in ids_in(conn, table.c.account_id, list(account_ids)):
                for account_id, tier, score, rep_tier, rep_was in conn.execute(
                    self._query.where(condition)
                ).all():  # one fetch, not one per row
                    out[account_id] = Written(tier, score, rep_tier, rep_was)
        return out

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
    ) -> None:
        """:meth:`put` for a batch given as columns, one value per account (no kept rep
        tiers when ``rep_tiers``/``rep_was`` are None). An account named twice keeps its
        last values. One upsert."""
        n = len(account_ids)
        if not n:
            return
        if any(c is not None and len(c) != n for c in (tiers, scores, rep_tiers, rep_was)):
            raise ValueError("WrittenValues.put_many: every column needs one value per account")
        rows = list(
            zip(
                repeat(self.connection, n),
                repeat(self.org, n),
                account_ids,
                tiers,
                scores,
                repeat(None, n) if rep_tiers is None else rep_tiers,
                repeat(None, n) if rep_was is None else rep_was,
                strict=True,
            )
        )
        if len(set(account_ids)) != n:  # one row per key in an upsert: the last one wins
            rows = list({row[2]: row for row in rows}.values())
        with self.engine.begin() as conn:
            upsert_tuples(conn, table, COLUMNS, rows)
            if len(rows) >= ANALYZE_AFTER:  # the run's next lookups need the new statistics
                analyze(conn, table)
