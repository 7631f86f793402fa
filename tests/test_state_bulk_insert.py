"""The state store's bulk insert stores what SQLAlchemy's executemany stores, types included."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from icpsync.engine.state import StateStore, insert_rows

ROWS = [
    {"id": "a", "flag": True, "amount": 5000, "count": 3, "note": None},
    {"id": "b", "flag": False, "amount": 12.5, "count": None, "note": "x"},
    {"id": "c", "flag": None, "amount": None, "count": 0, "note": ""},
]


def _table(metadata: MetaData, name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", String(8), primary_key=True),
        Column("flag", Boolean),
        Column("amount", Float),
        Column("count", Integer),
        Column("note", String(8)),
    )


def test_rows_and_stored_types_match_sqlalchemy_executemany(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    metadata = MetaData()
    fast, reference = _table(metadata, "fast"), _table(metadata, "reference")
    metadata.create_all(store.engine)
    with store.engine.begin() as conn:
        insert_rows(conn, fast, ROWS)
        conn.execute(insert(reference), ROWS)
    with store.engine.connect() as conn:
        got = [tuple(r) for r in conn.execute(select(fast).order_by(fast.c.id))]
        want = [tuple(r) for r in conn.execute(select(reference).order_by(reference.c.id))]
        assert got == want
        assert got[0][1] is True and got[1][1] is False  # read back as booleans
        typed = "SELECT typeof(flag), typeof(amount), typeof(count) FROM {} ORDER BY id"
        stored = conn.execute(text(typed.format("fast"))).all()
        assert stored == conn.execute(text(typed.format("reference"))).all()
        assert stored[0] == ("integer", "real", "integer")  # 5000 kept as a float
    store.close()


def test_duplicate_key_raises_integrity_error_and_nothing_is_kept(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    metadata = MetaData()
    table = _table(metadata, "t")
    metadata.create_all(store.engine)
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        insert_rows(conn, table, [ROWS[0], ROWS[0]])
    with store.engine.connect() as conn:
        assert conn.execute(select(table)).all() == []
    with store.engine.begin() as conn:
        insert_rows(conn, table, [])  # nothing to do
    store.close()
