"""What each run wrote to each account, per org: how a rep's direct edit is told apart.

Rows live in ``icpsync_written`` (see :mod:`icpsync.engine.state`). They are looked up a
batch of accounts at a time while a run scores, and kept current after every write (and
for accounts found holding our values, so edits are caught on accounts that never change).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from icpsync.core.human_edits import Written
from icpsync.engine.state import insert_rows
from icpsync.engine.state import written as table

#: ids per ``IN (...)``: well under every database's parameter limit.
BATCH = 500


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

    def _mine(self) -> tuple[object, object]:
        return table.c.connection == self.connection, table.c.org == self.org

    def get(self, account_ids: Collection[str]) -> dict[str, Written]:
        """The rows of the named accounts (absent: nothing written that we know of)."""
        ids = list(account_ids)
        out: dict[str, Written] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), BATCH):
                chunk = ids[start : start + BATCH]
                rows = conn.execute(
                    select(table).where(*self._mine(), table.c.account_id.in_(chunk))  # type: ignore[arg-type]
                ).all()  # one fetch, not one per row
                for r in rows:
                    out[r.account_id] = Written(r.tier, r.score, r.rep_tier, r.rep_was)
        return out

    def put(self, rows: Mapping[str, Written]) -> None:
        """Replace the rows of these accounts."""
        if not rows:
            return
        ids = list(rows)
        with self.engine.begin() as conn:
            for start in range(0, len(ids), BATCH):
                chunk = ids[start : start + BATCH]
                conn.execute(delete(table).where(*self._mine(), table.c.account_id.in_(chunk)))  # type: ignore[arg-type]
                insert_rows(conn, table, list(self._rows(chunk, rows)))

    def _rows(self, ids: Iterable[str], rows: Mapping[str, Written]) -> Iterable[dict[str, object]]:
        for account_id in ids:
            w = rows[account_id]
            yield {
                "connection": self.connection,
                "org": self.org,
                "account_id": account_id,
                "tier": w.tier,
                "score": w.score,
                "rep_tier": w.rep_tier,
                "rep_was": w.rep_was,
            }
