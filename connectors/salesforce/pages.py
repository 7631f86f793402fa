"""A page of query results read as columns: one sequence of values per field.

Bulk API 2.0 result pages are CSV text: every value a ``str``, an empty field ``""`` (no
value), a short row's missing fields None. REST query pages are JSON records: typed values,
``null`` as None (field maps name plain fields only, so no relationship field such as
``Owner.Name``, nested in a REST record, is ever read). Both kinds answer the same three
questions without an object per record on the way: how many records, the values of one
field (:meth:`Page.column`), and per record the fields of a few names that hold a value
(:meth:`Page.present`) or all of them (:meth:`Page.renamed`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any, Protocol

from icpsync.core.plain_csv import plain_columns


class Page(Protocol):
    """One page of a query's results."""

    #: records on the page.
    size: int

    def column(self, name: str) -> Sequence[Any] | None:
        """Field ``name``'s value in every record, in order; None when the page lacks it."""

    def present(self, names: Mapping[str, str]) -> list[dict[str, Any]]:
        """Per record, ``{key: value}`` of the fields named (key -> field) that hold one."""

    def renamed(self, names: Mapping[str, str]) -> list[dict[str, Any]]:
        """Per record, ``{key: value}`` of every field named (key -> field)."""


class CsvPage:
    """A Bulk API 2.0 results page (CSV with a header row).

    Rows are read as ``csv.DictReader`` reads them: blank lines skipped, a short row's
    missing fields None, a long row's extra fields dropped (no field names them). A page of
    one of two plain shapes, every row as wide as the header (:func:`_plain_columns`), is
    cut into columns by ``str.split``; any other page is read by ``csv.reader``.
    """

    __slots__ = ("_columns", "_index", "header", "rows", "size")

    def __init__(self, text: str):
        #: field -> its column (a repeated name: the last one, as in a DictReader row).
        self._columns: dict[str, list[str | None]] = {}
        plain = _plain_columns(text)
        if plain is not None:
            self.header, columns = plain
            self.rows: list[list[str | None]] = []
            self.size = len(columns[0])
            self._index = {name: i for i, name in enumerate(self.header)}
            self._columns = {name: columns[i] for name, i in self._index.items()}
            return
        rows: list[list[str | None]] = list(csv.reader(io.StringIO(text)))  # type: ignore[arg-type]
        self.header = rows[0] if rows else []  # type: ignore[assignment]
        del rows[:1]
        width = len(self.header)
        if rows and (not width or set(map(len, rows)) != {width}):  # blank or ragged rows
            rows = [_fitted(row, width) for row in rows if row]
        self.rows = rows
        self.size = len(rows)
        self._index = {name: i for i, name in enumerate(self.header)}

    def column(self, name: str) -> Sequence[str | None] | None:
        values = self._columns.get(name)
        if values is None:
            index = self._index.get(name)
            if index is None:
                return None
            values = self._columns[name] = list(map(itemgetter(index), self.rows))
        return values

    def _columns_of(self, names: Mapping[str, str]) -> list[Sequence[str | None]]:
        absent = (None,) * self.size
        return [_or(self.column(field), absent) for field in names.values()]

    def present(self, names: Mapping[str, str]) -> list[dict[str, Any]]:
        keys = list(names)
        if not keys:
            return [{} for _ in range(self.size)]
        return [
            {key: value for key, value in zip(keys, values, strict=True) if value}
            for values in zip(*self._columns_of(names), strict=True)
        ]

    def renamed(self, names: Mapping[str, str]) -> list[dict[str, Any]]:
        keys = list(names)
        if not keys:
            return [{} for _ in range(self.size)]
        columns = self._columns_of(names)
        return [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]


class JsonPage:
    """A REST query page's records (each a dict with an ``attributes`` entry)."""

    __slots__ = ("records", "size")

    def __init__(self, records: list[dict[str, Any]]):
        self.records = records
        self.size = len(records)

    def column(self, name: str) -> list[Any]:
        return list(map(dict.get, self.records, repeat(name)))

    def present(self, names: Mapping[str, str]) -> list[dict[str, Any]]:
        keys = list(names)
        if not keys:
            return [{} for _ in range(self.size)]
        columns = [self.column(field) for field in names.values()]
        return [
            {key: value for key, value in zip(keys, values, strict=True) if value is not None}
            for values in zip(*columns, strict=True)
        ]

    def renamed(self, names: Mapping[str, str]) -> list[dict[str, Any]]:
        keys = list(names)
        if not keys:
            return [{} for _ in range(self.size)]
        columns = [self.column(field) for field in names.values()]
        return [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]


def _plain_columns(text: str) -> tuple[list[str], list[list[str | None]]] | None:
    """The header and the columns of a page whose rows after the header all have the
    header's width and are of a plain shape (:func:`~icpsync.core.plain_csv.plain_columns`:
    free of quotes, or quoted cell by cell with no quote inside a cell), cut by
    ``str.split`` (``csv.reader`` reads such a page the same); None for any other page
    (a quote in a cell, an unquoted cell beside quoted ones, a blank or ragged row, a
    carriage return, a NUL, a single column)."""
    if "\r" in text or "\x00" in text:
        return None
    head, _, body = text.partition("\n")
    if '"' not in head:
        header = head.split(",")
    elif head[0] == head[-1] == '"':
        header = head[1:-1].split('","')
        if head.count('"') != 2 * len(header):
            return None
    else:
        return None
    width = len(header)
    if width < 2:
        return None
    body = body.removesuffix("\n")
    if not body:
        return header, [[] for _ in header]
    columns = plain_columns(body, width)
    return None if columns is None else (header, columns)  # type: ignore[return-value]


def _fitted(row: list[str | None], width: int) -> list[str | None]:
    if len(row) >= width:
        return row[:width]
    return [*row, *(None,) * (width - len(row))]


def _or(values: Sequence[Any] | None, absent: Sequence[Any]) -> Sequence[Any]:
    return absent if values is None else values
