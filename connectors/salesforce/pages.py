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
from operator import itemgetter
from typing import Any, Protocol


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
    missing fields None, a long row's extra fields dropped (no field names them).
    """

    __slots__ = ("_columns", "_index", "header", "rows", "size")

    def __init__(self, text: str):
        rows: list[list[str | None]] = list(csv.reader(io.StringIO(text)))  # type: ignore[arg-type]
        self.header: list[str] = rows[0] if rows else []  # type: ignore[assignment]
        del rows[:1]
        width = len(self.header)
        if rows and (not width or set(map(len, rows)) != {width}):  # blank or ragged rows
            rows = [_fitted(row, width) for row in rows if row]
        self.rows = rows
        self.size = len(rows)
        #: field -> its column (a repeated name: the last one, as in a DictReader row).
        self._index = {name: i for i, name in enumerate(self.header)}
        self._columns: dict[str, list[str | None]] = {}

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
        return [record.get(name) for record in self.records]

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


def _fitted(row: list[str | None], width: int) -> list[str | None]:
    if len(row) >= width:
        return row[:width]
    return [*row, *(None,) * (width - len(row))]


def _or(values: Sequence[Any] | None, absent: Sequence[Any]) -> Sequence[Any]:
    return absent if values is None else values
