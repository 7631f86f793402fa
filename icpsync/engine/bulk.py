"""The state store's bulk writes and lookups by id: many rows per statement, none per row.

- :func:`insert_tuples` inserts rows given as tuples: on PostgreSQL (psycopg 3) with one
  ``COPY ... FROM STDIN``; on SQLite with multi-row ``INSERT ... VALUES (...), (...)``
  statements (:data:`SQLITE_ROWS` rows each) on the driver's own cursor; elsewhere with
  SQLAlchemy's executemany. A statement of many rows costs SQLite less than as many
  executions of a one-row statement (``executemany``) or than rows sent as one JSON array
  (``json_each``): for the history and the written values, given in their keys' order,
  30-40% less CPU than either (in random key order the b-trees' page work dominates, and
  the callers give their rows' order by key, :func:`key_order`).
- :func:`insert_columns` / :func:`upsert_columns` take the rows as one sequence per column
  (and optionally the positions of the rows in the order to write them): the SQLite
  statements are bound from the columns, with no row tuple made; the ``_tuples``
  functions transpose their rows into them.
- Both take ``constants`` too: columns whose value is the same in every row (connection,
  org, run id), given once (on SQLite, bound once per statement, as ``?1``, ``?2``, ...).
- :func:`upsert_tuples` inserts rows or, for keys already stored, replaces the named
  columns (or keeps the stored row): ``INSERT ... ON CONFLICT (key) DO UPDATE``, on SQLite
  as the same multi-row statements, on PostgreSQL from a temporary table filled by ``COPY``.
- :func:`ids_in` selects rows by a list of ids with one parameter (a JSON array on SQLite,
  an array on PostgreSQL), so a batch of ids is one query of one cached statement.
- :func:`rows_by_ids` fetches the rows (as tuples) whose column is one of a list of ids, on
  SQLite as one statement on the driver's own cursor (no SQLAlchemy row processing: a
  bool comes back as 0/1), elsewhere through :func:`ids_in`.
- :func:`key_order` sorts keys' positions (a written chunk's written values and history
  are given one order, sorted once).
- :func:`analyze` refreshes PostgreSQL's statistics of a table after a large bulk write.

Values are converted by each column's own bind conversion, as SQLAlchemy would (a bool is
stored as 0/1 on SQLite, an int in a Float column as a real). Driver errors come out as
SQLAlchemy's (``IntegrityError`` for a duplicate key), as from ``Connection.execute``.
All of it runs in the caller's transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain, islice, repeat
from operator import is_
from typing import Any

from sqlalchemy import (
    ARRAY,
    Table,
    any_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnClause, literal_column

__all__ = [
    "IN_CHUNK",
    "analyze",
    "ids_in",
    "insert_columns",
    "insert_rows",
    "insert_tuples",
    "key_order",
    "rows_by_ids",
    "upsert_columns",
    "upsert_tuples",
]

#: ids per ``IN (...)`` on databases without an array parameter (under every bind limit).
IN_CHUNK = 500
#: rows per multi-row insert statement on SQLite (fewer when its parameter limit says so).
SQLITE_ROWS = 500

_Row = Sequence[Any]
_Step = Callable[[Any], Any] | None


def _kind(conn: Connection) -> str:
    """How this connection's database is written: ``sqlite``, ``copy`` (PostgreSQL through
    psycopg 3) or ``other`` (SQLAlchemy's generic statements, a batch of ids at a time)."""
    dialect = conn.dialect
    if dialect.name == "sqlite":
        return "sqlite"
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        return "copy"
    return "other"


def _steps(conn: Connection, table: Table, columns: Sequence[str]) -> list[_Step]:
    dialect = conn.dialect
    return [table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in columns]


def _converted(steps: list[_Step], rows: Sequence[_Row]) -> Sequence[_Row]:
    """Rows with each column's bind conversion applied (as they are when none has one),
    converted a column at a time."""
    if all(f is None for f in steps) or not rows:
        return rows
    columns: list[Iterable[Any]] = list(zip(*rows, strict=True))
    for at, step in enumerate(steps):
        if step is not None:
            columns[at] = map(step, columns[at])
    return list(zip(*columns, strict=True))


@contextmanager
def _driver_errors(conn: Connection, statement: str) -> Iterator[None]:
    """Raise the driver's errors as SQLAlchemy's, as ``Connection.execute`` does."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        raise DBAPIError.instance(statement, None, exc, dbapi.Error) from exc


def _names(conn: Connection, table: Table, columns: Sequence[str]) -> tuple[str, str]:
    quote = conn.dialect.identifier_preparer.quote
    return quote(table.name), ", ".join(quote(c) for c in columns)


def _copy(conn: Connection, target: str, names: str, rows: Iterable[_Row]) -> None:
    statement = f"COPY {target} ({names}) FROM STDIN"
    driver = conn.connection.driver_connection
    assert driver is not None
    with _driver_errors(conn, statement), driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _with_constants(
    columns: Sequence[str], rows: Sequence[_Row], constants: Mapping[str, Any] | None
) -> tuple[Sequence[str], Sequence[_Row]]:
    """``columns`` and ``rows`` with the constant columns added to every row (at the end)."""
    if not constants:
        return columns, rows
    extra = tuple(constants.values())
    return (*columns, *constants), [(*row, *extra) for row in rows]


@contextmanager
def _driver_cursor(conn: Connection, statement: str) -> Iterator[Any]:
    """A cursor of the driver's own (no SQLAlchemy row per result), closed afterwards; its
    errors raised as SQLAlchemy's."""
    driver = conn.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        with _driver_errors(conn, statement):
            yield cursor
    finally:
        cursor.close()


def _same(column: Sequence[Any]) -> bool:
    """Whether every value of ``column`` (not empty) is the first one's object (stops at
    the first that is not)."""
    return all(map(is_, column, repeat(column[0])))


def _sqlite_insert(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    values: Sequence[Sequence[Any]],
    constants: Mapping[str, Any] | None,
    tail: str = "",
    order: Sequence[int] | None = None,
) -> None:
    """``INSERT INTO table (...) VALUES (...), (...) tail`` on SQLite, :data:`SQLITE_ROWS`
    rows a statement, in order (``order``: the positions of the rows to insert, in the
    order to insert them): the constants bound once per statement (``?1``, ``?2``, ...:
    every row names them), each row's values after them by position. ``values`` holds
    one sequence per column of ``columns``. A column whose every row holds the same
    object (a first sync's history has no old score or tier) is bound once per statement
    too: the driver binds a None, or any value not exactly an int, float or str, about
    ten times slower than those."""
    constants = constants or {}
    (fixed,) = _converted(_steps(conn, table, list(constants)), [tuple(constants.values())])
    steps = _steps(conn, table, columns)
    converted = [v if f is None else list(map(f, v)) for v, f in zip(values, steps, strict=True)]
    count = len(converted[0]) if order is None else len(order)
    shared = [at for at, column in enumerate(converted) if _same(column)]
    kept = [at for at in range(len(columns)) if at not in shared]
    fixed = (*fixed, *(converted[at][0] for at in shared))
    names = (*constants, *(columns[at] for at in shared), *(columns[at] for at in kept))
    width = len(kept)
    varying: list[Iterable[Any]] = [converted[at] for at in kept]
    if order is not None:
        varying = [map(converted[at].__getitem__, order) for at in kept]
    flat = chain.from_iterable(zip(*varying, strict=True))
    target, quoted = _names(conn, table, names)
    marks = [f"?{i}" for i in range(1, len(fixed) + 1)] + ["?"] * width
    row = f"({', '.join(marks)})"
    head = f"INSERT INTO {target} ({quoted}) VALUES "
    driver = conn.connection.driver_connection
    assert driver is not None
    room = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - len(fixed)
    per = max(1, min(SQLITE_ROWS, room // max(1, width)))
    statement = ""
    with _driver_cursor(conn, head) as cursor:
        for start in range(0, count, per):
            size = min(per, count - start)
            if size != per or not statement:
                statement = f"{head}{', '.join([row] * size)} {tail}"
            cursor.execute(statement, (*fixed, *islice(flat, size * width)))


def key_order(keys: Sequence[str]) -> list[int]:
    """The positions of ``keys`` in the order of their values (a stable sort): the order
    in which rows go into a b-tree keyed by them page after page, not at random places.
    A written chunk's history and written values name the same accounts: the sync sorts
    once and hands the order to both."""
    return sorted(range(len(keys)), key=keys.__getitem__)


def _no_rows(values: Sequence[Sequence[Any]]) -> bool:
    """Whether columns hold no row.

    Raises:
        ValueError: they are not of one length.
    """
    if not values:
        return True
    count = len(values[0])
    if any(len(v) != count for v in values):
        raise ValueError("every column needs one value per row")
    return not count


def _transposed(rows: Sequence[_Row], width: int) -> list[Sequence[Any]]:
    """``rows`` as one sequence per column."""
    return list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]


def _rows_of(values: Sequence[Sequence[Any]], order: Sequence[int] | None) -> list[_Row]:
    """One sequence per column as rows, in ``order`` when given."""
    rows: list[_Row] = list(zip(*values, strict=True))
    return rows if order is None else [rows[at] for at in order]


def insert_tuples(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[_Row],
    *,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert ``rows`` (tuples of the values of ``columns``, in that order) in one go;
    ``constants``: column -> the value every row has in it."""
    if rows:
        insert_columns(conn, table, columns, _transposed(rows, len(columns)), constants=constants)


def insert_columns(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    values: Sequence[Sequence[Any]],
    *,
    constants: Mapping[str, Any] | None = None,
    order: Sequence[int] | None = None,
) -> None:
    """:func:`insert_tuples` of rows given as one sequence of values per column of
    ``columns`` (of equal lengths), inserted in ``order`` (the positions of the rows to
    insert, in the order to insert them) when given, else all in theirs."""
    if _no_rows(values):
        return
    kind = _kind(conn)
    if kind == "sqlite":
        _sqlite_insert(conn, table, columns, values, constants, order=order)
        return
    columns, rows = _with_constants(columns, _rows_of(values, order), constants)
    if kind == "other":
        conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    target, names = _names(conn, table, columns)
    _copy(conn, target, names, _converted(_steps(conn, table, columns), rows))


def upsert_tuples(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[_Row],
    *,
    update: Sequence[str] | None = None,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert ``rows``; where a row's primary key is already stored, set the ``update``
    columns to the new values (every non-key column given, by default; none: the stored
    row is kept). The key's columns must be among ``columns`` and ``constants`` (column ->
    the value every row has in it); ``rows`` must not repeat a key (PostgreSQL refuses to
    change one row twice in a statement).
    """
    if rows:
        upsert_columns(
            conn,
            table,
            columns,
            _transposed(rows, len(columns)),
            update=update,
            constants=constants,
        )


def upsert_columns(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    values: Sequence[Sequence[Any]],
    *,
    update: Sequence[str] | None = None,
    constants: Mapping[str, Any] | None = None,
    order: Sequence[int] | None = None,
) -> None:
    """:func:`upsert_tuples` of rows given as one sequence of values per column of
    ``columns`` (of equal lengths), written in ``order`` (the positions of the rows to
    write, in the order to write them) when given, else all in theirs."""
    if _no_rows(values):
        return
    key = [c.name for c in table.primary_key.columns]
    given = (*columns, *(constants or ()))
    missing = [k for k in key if k not in given]
    if missing:
        raise ValueError(f"upsert into {table.name} needs its key columns {missing}")
    changed = [c for c in given if c not in key] if update is None else list(update)
    kind = _kind(conn)
    quote = conn.dialect.identifier_preparer.quote
    conflict = f"ON CONFLICT ({', '.join(quote(k) for k in key)}) DO " + (
        "UPDATE SET " + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in changed)
        if changed
        else "NOTHING"
    )
    if kind == "sqlite":
        _sqlite_insert(conn, table, columns, values, constants, conflict, order)
        return
    columns, rows = _with_constants(columns, _rows_of(values, order), constants)
    if kind == "other":
        _upsert_one_by_one(conn, table, columns, rows, key, changed)
        return
    target, names = _names(conn, table, columns)
    converted = _converted(_steps(conn, table, columns), rows)
    # A temporary table of this transaction (an error rolls its creation back too).
    stage = quote(f"icpsync_stage_{table.name}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {stage} AS SELECT {names} FROM {target} LIMIT 0")
    _copy(conn, stage, names, converted)
    conn.exec_driver_sql(f"INSERT INTO {target} ({names}) SELECT {names} FROM {stage} {conflict}")
    conn.exec_driver_sql(f"DROP TABLE {stage}")


def _upsert_one_by_one(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[_Row],
    key: list[str],
    changed: list[str],
) -> None:
    """Any other database: an UPDATE of each row, and an INSERT where it found none."""
    for row in rows:
        values = dict(zip(columns, row, strict=True))
        where = [table.c[k] == values[k] for k in key]
        if changed:
            found = conn.execute(
                update(table).where(*where).values({c: values[c] for c in changed})
            ).rowcount
        else:
            found = conn.execute(select(table.c[key[0]]).where(*where)).first() is not None
        if not found:
            conn.execute(insert(table).values(values))


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) with :func:`insert_tuples`."""
    if not rows:
        return
    columns = list(rows[0])
    insert_tuples(conn, table, columns, [tuple([r[k] for k in columns]) for r in rows])


def analyze(conn: Connection, table: Table) -> None:
    """Bring the planner's statistics of ``table`` up to date after a large bulk write
    (PostgreSQL: ``ANALYZE``; elsewhere nothing). Until autovacuum gets to a new table,
    PostgreSQL plans a lookup by a batch of ids as a scan of every row of the org, each
    compared with the ids: a run that looks up what it has just written pays that for
    every batch."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {conn.dialect.identifier_preparer.quote(table.name)}")


def ids_in(conn: Connection, column: ColumnClause[Any], ids: Sequence[str]) -> Iterator[Any]:
    """Conditions that together select the rows whose ``column`` is one of ``ids``: one on
    SQLite and PostgreSQL (the ids are one parameter, so the statement is compiled once
    whatever their number), one per ``IN_CHUNK`` ids elsewhere. Nothing for no ids."""
    if not ids:
        return
    kind = _kind(conn)
    if kind == "sqlite":
        values = func.json_each(bindparam("ids_json", json.dumps(list(ids))))
        yield column.in_(select(literal_column("value")).select_from(values))
    elif kind == "copy":
        yield column == any_(bindparam("ids_array", list(ids), type_=ARRAY(column.type)))
    else:
        for start in range(0, len(ids), IN_CHUNK):
            yield column.in_(list(ids[start : start + IN_CHUNK]))


def rows_by_ids(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    key: str,
    ids: Sequence[str],
    equal: Mapping[str, Any],
) -> list[tuple[Any, ...]]:
    """The values of ``columns`` (tuples, in that order) of the rows whose ``key`` is one
    of ``ids`` and whose ``equal`` columns hold the values given, as
    ``select(columns).where(equal, key in ids)`` fetches them, in its order; one query on
    SQLite and PostgreSQL. On SQLite it runs on the driver's own cursor and no SQLAlchemy
    row is made (a bool comes back as 0/1, and no column's result conversion is applied:
    for plain text, numbers and bools)."""
    if not ids:
        return []
    if _kind(conn) != "sqlite":
        query = select(*(table.c[c] for c in columns)).where(
            *(table.c[c] == v for c, v in equal.items())
        )
        rows: list[tuple[Any, ...]] = []
        for condition in ids_in(conn, table.c[key], ids):
            rows.extend(tuple(row) for row in conn.execute(query.where(condition)).all())
        return rows
    statement = _select_statement(conn, table, tuple(columns), key, tuple(equal))
    steps = _steps(conn, table, list(equal))
    values = [v if f is None else f(v) for v, f in zip(equal.values(), steps, strict=True)]
    with _driver_cursor(conn, statement) as cursor:
        return list(cursor.execute(statement, (*values, json.dumps(list(ids)))).fetchall())


def _select_statement(
    conn: Connection, table: Table, columns: tuple[str, ...], key: str, equal: tuple[str, ...]
) -> str:
    """``SELECT columns FROM table WHERE equal = ? ... AND key IN (the ids)`` for SQLite:
    the statement SQLAlchemy compiles for ``select`` with :func:`ids_in`, parameters by
    position (the ids last, as one JSON array)."""
    quote = conn.dialect.identifier_preparer.quote
    target = quote(table.name)
    qualified = ", ".join(f"{target}.{quote(c)}" for c in columns)
    conditions = [f"{target}.{quote(c)} = ?" for c in equal]
    conditions.append(f"{target}.{quote(key)} IN (SELECT value FROM json_each(?))")
    return f"SELECT {qualified} FROM {target} WHERE {' AND '.join(conditions)}"
