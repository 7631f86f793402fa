"""Bulk writes given columns every row shares (``constants``) store what SQLAlchemy's
generic statements store with those values in every row, on SQLite (where they are bound
once per multi-row statement) and on a real PostgreSQL (``state_url``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, insert, select

from icpsync.engine import bulk
from icpsync.engine.state import StateStore

#: texts JSON and COPY must escape, and other awkward ones.
AWKWARD = ["plain", "tab\there", "new\nline", "back\\slash", "\\N", "", "quote'\"", "zürich ✓"]
COLUMNS = ("id", "count", "note")


@pytest.fixture
def state(state_url: str) -> Iterator[StateStore]:
    store = StateStore(state_url)
    yield store
    store.close()


def _tables(state: StateStore, *, with_float: bool = False) -> tuple[Table, Table]:
    meta = MetaData()
    made = [
        Table(
            name,
            meta,
            Column("owner", String(32), primary_key=True),
            Column("id", String(16), primary_key=True),
            Column("run", Integer),
            Column("count", Float if with_float else Integer),
            Column("note", String(32)),
            Column("label", String(32)),
        )
        for name in ("const_fast", "const_reference")
    ]
    meta.create_all(state.engine)
    return made[0], made[1]


def _rows(state: StateStore, table: Table) -> list[tuple[Any, ...]]:
    with state.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table).order_by(table.c.owner, table.c.id))]


def _values(i: int, shift: int = 0) -> tuple[Any, ...]:
    return (
        f"id{i:04d}",
        [3, None, 0, -(2**31), 2**31 - 1][(i + shift) % 5],
        [*AWKWARD, None][(i + shift) % (len(AWKWARD) + 1)],
    )


def _reference(
    conn: Any, table: Table, rows: list[tuple[Any, ...]], constants: dict[str, Any]
) -> None:
    conn.execute(insert(table), [dict(zip(COLUMNS, r, strict=True)) | constants for r in rows])


@pytest.mark.parametrize("owner", ["org'1", "tab\tand\\N"])
def test_insert_with_constants_stores_each_row_with_them(state: StateStore, owner: str) -> None:
    fast, reference = _tables(state)
    rows = [_values(i) for i in range(1200)]
    constants = {"owner": owner, "run": 7, "label": None}
    with state.engine.begin() as conn:
        bulk.insert_tuples(conn, fast, COLUMNS, rows, constants=constants)
        _reference(conn, reference, rows, constants)
    got = _rows(state, fast)
    assert got == _rows(state, reference) and len(got) == 1200
    assert {r[4] for r in got} == {*AWKWARD, None}  # every awkward text came back as it was
    assert {r[3] for r in got} == {3, None, 0, -(2**31), 2**31 - 1}
    assert all(isinstance(r[3], int) for r in got if r[3] is not None)


def test_upsert_with_constants_replaces_what_the_generic_path_replaces(
    state: StateStore,
) -> None:
    fast, reference = _tables(state)
    first = [_values(i) for i in range(0, 900)]
    second = [_values(i, shift=3) for i in range(600, 1500)]  # 300 stored, 600 new
    constants = {"owner": "o", "run": 1, "label": "x"}
    later = {"owner": "o", "run": 2, "label": None}
    with state.engine.begin() as conn:
        bulk.upsert_tuples(conn, fast, COLUMNS, first, constants=constants)
        bulk.upsert_tuples(conn, fast, COLUMNS, second, constants=later)
        _reference(conn, reference, first, constants)
        stored = {r[0] for r in first}
        _reference(conn, reference, [r for r in second if r[0] not in stored], later)
        for row in (r for r in second if r[0] in stored):
            values = dict(zip(COLUMNS, row, strict=True)) | later
            conn.execute(
                reference.update()
                .where(reference.c.owner == "o", reference.c.id == row[0])
                .values(values)
            )
    got = _rows(state, fast)
    assert got == _rows(state, reference) and len(got) == 1500
    assert {r[2] for r in got} == {1, 2} and got[700][5] is None and got[0][5] == "x"


def test_sqlite_inserts_many_rows_a_statement_in_order_within_its_parameter_limit(
    state: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    if state.engine.dialect.name != "sqlite":
        pytest.skip("multi-row statements are SQLite's path")
    monkeypatch.setattr(bulk, "SQLITE_ROWS", 100)
    fast, reference = _tables(state)
    meta = MetaData()
    ordered = Table(
        "const_ordered",
        meta,
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("owner", String(32), nullable=False),
        Column("id", String(16), nullable=False),
        Column("run", Integer),
        Column("count", Integer),
        Column("note", String(32)),
    )
    meta.create_all(state.engine)
    rows = [_values(i) for i in range(250)]
    names = ("id", "count", "note")
    statements: list[str] = []
    with state.engine.begin() as conn:
        driver = conn.connection.driver_connection
        driver.set_trace_callback(statements.append)
        bulk.insert_tuples(conn, fast, COLUMNS, rows, constants={"owner": "o", "run": 1})
        inserted = [s for s in statements if s.startswith("INSERT")]
        driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 20)  # (20 - 2) // 3: 6 rows
        statements.clear()
        bulk.upsert_tuples(conn, fast, COLUMNS, rows[:50], constants={"owner": "p", "run": 2})
        limited = [s for s in statements if s.startswith("INSERT")]
        bulk.insert_tuples(conn, ordered, names, rows[::-1], constants={"owner": "o", "run": 1})
        driver.set_trace_callback(None)
        _reference(conn, reference, rows, {"owner": "o", "run": 1})
        _reference(conn, reference, rows[:50], {"owner": "p", "run": 2})
        stored = [r.id for r in conn.execute(select(ordered).order_by(ordered.c.seq))]
    # 250 rows: statements of 100, 100 and 50 rows; then nine of at most six rows
    assert [s.count("), (") + 1 for s in inserted] == [100, 100, 50]
    assert len(limited) == 9 and all("ON CONFLICT" in s for s in limited)
    assert _rows(state, fast) == _rows(state, reference)
    assert stored == [r[0] for r in rows[::-1]]  # each row stored in the order given


def test_a_float_column_takes_the_row_path_with_the_same_result(state: StateStore) -> None:
    fast, reference = _tables(state, with_float=True)
    rows = [(f"id{i}", [0.1, 12.5, None, 3][i % 4], AWKWARD[i % len(AWKWARD)]) for i in range(50)]
    constants = {"owner": "o", "run": 3}
    with state.engine.begin() as conn:
        bulk.insert_tuples(conn, fast, COLUMNS, rows, constants=constants)
        _reference(conn, reference, rows, constants)
    got = _rows(state, fast)
    assert got == _rows(state, reference) and got[1][3] == 12.5


def test_columns_every_row_shares_store_what_the_generic_path_stores(state: StateStore) -> None:
    fast, reference = _tables(state, with_float=True)
    shared = "a note every row holds"
    rows = [(f"id{i:04d}", None, shared) for i in range(250)]  # count and note shared
    again = [(f"id{i:04d}", 2, None) for i in range(100, 400)]  # count and note, others
    statements: list[str] = []
    with state.engine.begin() as conn:
        if state.engine.dialect.name == "sqlite":
            conn.connection.driver_connection.set_trace_callback(statements.append)
        bulk.insert_tuples(conn, fast, COLUMNS, rows, constants={"owner": "o"})
        bulk.upsert_tuples(conn, fast, COLUMNS, again, constants={"owner": "o", "run": 4})
        bulk.insert_tuples(conn, fast, COLUMNS, [("solo", 1.5, "n")], constants={"owner": "p"})
        _reference(conn, reference, rows, {"owner": "o"})
        _reference(conn, reference, again[150:], {"owner": "o", "run": 4})
        conn.execute(
            reference.update()
            .where(reference.c.owner == "o", reference.c.id.in_([r[0] for r in again[:150]]))
            .values(count=2, note=None, run=4)
        )
        _reference(conn, reference, [("solo", 1.5, "n")], {"owner": "p"})
    got = _rows(state, fast)
    assert got == _rows(state, reference) and len(got) == 401
    assert got[0][3:5] == (None, shared) and got[150][2:5] == (4, 2, None)
    if statements:  # the shared columns are bound with the constants, before the rows' own
        first = next(s for s in statements if s.startswith("INSERT"))
        assert first.startswith("INSERT INTO const_fast (owner, count, note, id) VALUES")
