"""Query results as rows of values, rendered a column at a time as REST JSON or Bulk CSV.

A query's rows are taken as tuples of the selected fields' values (:class:`Selection`),
the org's state at the time of the query, and sorted by index. Rendering follows
:func:`schema.to_json` and :func:`schema.to_csv` value for value, but looks at a column's
value types once: a column of text and integers (most of them) is passed on as it is, each
distinct date is formatted once, and UTC times a column at a time.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import attrgetter, floordiv, itemgetter, sub
from typing import Any

import numpy as np

from icpsync.connectors.salesforce.sandbox.schema import to_csv, to_json

#: rows written in one go (between two, the org's request threads get a turn).
SLICE = 2000
_NONE = type(None)
#: value types csv.writer writes as Bulk API 2.0 does (None as an empty cell).
_CSV_AS_IS = frozenset({str, int, _NONE})
#: value types the JSON encoder writes as the REST API does.
_JSON_AS_IS = frozenset({str, int, float, bool, _NONE})


@dataclass
class Selection:
    """The rows a query selected: each a tuple of the fields' values (extra trailing
    values, the sort's, are not the selection's), in the records' own order (as they were
    when the query ran), and the selected rows in the query's order (``order``: indexes
    into ``rows``, sorted and limited)."""

    object: str
    fields: list[str]
    rows: list[tuple[Any, ...]]
    order: list[int]

    @property
    def size(self) -> int:
        return len(self.order)

    def columns(self, start: int = 0, end: int | None = None) -> list[Sequence[Any]]:
        """The fields' values in rows ``start`` to ``end``, a sequence per field."""
        part = list(map(self.rows.__getitem__, self.order[start:end]))
        if not part:
            return [() for _ in self.fields]
        columns: list[Sequence[Any]] = list(zip(*part, strict=True))
        return columns[: len(self.fields)]


def select(
    object_name: str,
    fields: list[str],
    order: list[tuple[str, bool]],
    limit: int | None,
    rows: list[dict[str, Any]],
) -> Selection:
    """The rows' selected fields, sorted (``order``: field and descending, no value last
    when descending, first when not), at most ``limit`` of them.

    The values are taken in the records' own order (one look-up per record), then the
    rows' indexes are sorted by the order's columns.
    """
    extra = [name for name, _ in order if name not in fields]
    names = [*fields, *dict.fromkeys(extra)]
    taken = _taken(rows, names)
    at = list(range(len(taken)))
    for name, desc in reversed(order):
        column = list(map(itemgetter(names.index(name)), taken))
        key: Callable[[int], Any] = column.__getitem__
        if None in column:
            present = [row for row in at if column[row] is not None]
            absent = [row for row in at if column[row] is None]
            present.sort(key=key, reverse=desc)
            at = present + absent if desc else absent + present
        else:
            at.sort(key=key, reverse=desc)
    if limit is not None:
        at = at[:limit]
    return Selection(object_name, list(fields), taken, at)


def _taken(rows: list[dict[str, Any]], names: list[str]) -> list[tuple[Any, ...]]:
    """Each record's values of ``names`` (None for a field a record lacks)."""
    if len(names) == 1:
        return [(value,) for value in map(dict.get, rows, repeat(names[0]))]
    try:
        return list(map(itemgetter(*names), rows))
    except KeyError:
        return [tuple(map(row.get, names)) for row in rows]


#: types whose equal values (``True == 1 == 1.0``) may render differently.
_NUMBERS = frozenset({bool, int, float})


def _memo(convert: Callable[[Any], Any], values: Sequence[Any], kinds: set[type]) -> list[Any]:
    """``convert`` of each value, each distinct value converted once (when values of
    different types cannot be equal and every value is hashable)."""
    if len(kinds & _NUMBERS) <= 1:
        try:
            seen = {value: convert(value) for value in set(values)}
        except TypeError:  # an unhashable value (a nested record)
            pass
        else:
            return list(map(seen.__getitem__, values))
    return list(map(convert, values))


def json_column(values: Sequence[Any]) -> list[Any] | Sequence[Any]:
    """The column's values as the REST API renders them (:func:`schema.to_json`)."""
    kinds = set(map(type, values))
    if kinds <= _JSON_AS_IS:
        return values
    if kinds == {datetime} and _utc_times(values):
        return utc_texts(values, "+0000")
    return _memo(to_json, values, kinds)


def _csv_time(value: Any) -> Any:
    if type(value) is datetime and value.tzinfo is UTC and value.year >= 1000:
        text = value.isoformat(timespec="milliseconds")
        return text[:-6] + "Z"
    return to_csv(value)


def csv_column(values: Sequence[Any]) -> list[Any] | Sequence[Any]:
    """The column's cells as Bulk API 2.0 renders them (:func:`schema.to_csv`), for a
    ``csv.writer`` (which writes None as an empty cell and numbers with ``str``)."""
    kinds = set(map(type, values))
    if kinds <= _CSV_AS_IS:
        return values
    if kinds <= {float, _NONE}:  # a whole number without its ".0"
        return ["" if v is None else str(int(v)) if v.is_integer() else repr(v) for v in values]
    if kinds <= _CSV_AS_IS | {float}:
        return [str(int(v)) if type(v) is float and v.is_integer() else v for v in values]
    if kinds == {datetime} and _utc_times(values):
        return utc_texts(values, "Z")
    if kinds <= {datetime, _NONE}:
        return _memo(_csv_time, values, kinds)
    return _memo(to_csv, values, kinds)


def _utc_times(values: Sequence[datetime]) -> bool:
    """Whether every time is in UTC with a four-digit year (ISO text is then the API's)."""
    return set(map(attrgetter("tzinfo"), values)) == {UTC} and min(values).year >= 1000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def utc_texts(values: Sequence[datetime], suffix: str) -> list[str]:
    """UTC times with four-digit years as ``2026-03-01T12:30:05.250`` and ``suffix``
    (microseconds cut to milliseconds, as the API writes them): whole milliseconds since
    the epoch, each taken exactly, written as ISO text by NumPy's ``datetime64``."""
    ms = map(floordiv, map(sub, values, repeat(_EPOCH)), repeat(_MS))
    stamps = np.fromiter(ms, np.int64, len(values)).astype("datetime64[ms]")
    return [text + suffix for text in np.datetime_as_string(stamps, unit="ms").tolist()]


#: characters that make ``csv.writer`` quote a cell (a carriage return: on some versions).
_SPECIAL = (",", '"', "\n", "\r")


def csv_cells(cells: Sequence[Any], *, alone: bool = False) -> Sequence[str]:
    """A :func:`csv_column`'s cells as the text ``csv.writer`` writes for each in a row
    (``alone``: the row's only cell, where an empty one is written quoted). Texts pass as
    they are unless one holds a character that may be quoted; each distinct one of those is
    written by ``csv.writer`` itself."""
    kinds = set(map(type, cells))
    texts: Sequence[str]
    if kinds == {_NONE}:
        texts = [""] * len(cells)
    elif kinds == {str}:
        texts = cells
    elif kinds == {int}:
        texts = list(map(str, cells))
    elif kinds == {str, _NONE}:
        texts = [cell or "" for cell in cells]
    else:  # None as an empty cell, numbers as ``csv.writer`` writes them (``str``)
        texts = ["" if cell is None else cell if type(cell) is str else str(cell) for cell in cells]
    joined = "".join(texts)
    if not any(special in joined for special in _SPECIAL) and not (alone and "" in texts):
        return texts
    quoted = {
        text: _quoted(text, alone)
        for text in set(texts)
        if any(special in text for special in _SPECIAL) or (alone and text == "")
    }
    return list(map(quoted.get, texts, texts))


def _quoted(text: str, alone: bool) -> str:
    """``text``'s cell as ``csv.writer`` writes it, beside another cell or ``alone``."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow((text,) if alone else (text, ""))
    return out.getvalue()[: -1 if alone else -2]


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV document: the header, then the rows (LF line endings)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


class CsvRows:
    """A selection as Bulk API 2.0 CSV lines (each value rendered once, when the job runs),
    written out a slice of rows at a time.

    The cells are rendered a column at a time and joined into lines in the records' own
    order (the order their values lie in memory), then the lines are put in the query's
    order. An org serves results it has stored: a slice can be written ahead
    (:meth:`write_ahead`: the first page when the job ends, the next page while the client
    reads one), and is then served as written.
    """

    def __init__(self, header: list[str], selection: Selection):
        self.header = header
        self.size = selection.size
        self._head = csv_text(header, [])
        alone = len(header) == 1
        rows, order = selection.rows, selection.order
        if len(rows) > 2 * selection.size:  # a small LIMIT: only the rows selected
            rows, order = list(map(rows.__getitem__, order)), list(range(selection.size))
        columns = [list(map(itemgetter(i), rows)) for i in range(len(header))]
        cells = [
            [_quoted("", True) if alone else ""] * len(column)
            if column and column[0] is None and column.count(None) == len(column)
            else csv_cells(csv_column(column), alone=alone)
            for column in columns
        ]
        lines: list[str] = []
        for at in range(0, len(rows), SLICE):  # requests get a turn between two slices
            lines += map(",".join, zip(*(column[at : at + SLICE] for column in cells), strict=True))
        self._lines = list(map(lines.__getitem__, order))
        self._lock = threading.Lock()
        self._ahead: dict[tuple[int, int], Future[str]] = {}

    def text(self, start: int, end: int) -> str:
        """The CSV document (header included) of rows ``start`` to ``end``."""
        with self._lock:
            ahead = self._ahead.pop((start, end), None)
        if ahead is not None:
            return ahead.result()
        return self._write(start, end)

    def write_ahead(self, start: int, end: int) -> None:
        """Write rows ``start`` to ``end`` (at most to the last) for a request to come."""
        end = min(end, self.size)
        if start >= end:
            return
        future: Future[str] = Future()
        with self._lock:
            if (start, end) in self._ahead:
                return
            self._ahead[start, end] = future
        try:
            future.set_result(self._write(start, end))
        except Exception as exc:  # raised to the request that wants the page
            future.set_exception(exc)

    def _write(self, start: int, end: int) -> str:
        lines = [self._head]
        for at in range(start, min(end, self.size), SLICE):  # requests get a turn between two
            lines.append("\n".join(self._lines[at : min(at + SLICE, end)]) + "\n")
        return "".join(lines)
