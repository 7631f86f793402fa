"""Apply a Bulk API 2.0 ingest (update) job's rows to the org, row by row outcomes kept.

Each row is an update of the record its ``Id`` names, with the same outcome a single
update of it would have (:meth:`Org.update`): a row lock drawn for it, a missing or deleted
record, the first refused value in column order, the record's validation rule. An empty
cell leaves the field alone; ``#N/A`` clears it. The work is shaped like the org's own:
the CSV is parsed once, a column's distinct values are checked and typed once, and rows are
saved in chunks of :data:`CHUNK` (one transaction, one ``SystemModstamp``, as the org saves
a job's records 200 at a time). A chunk of plain rows only (each a value in every cell for
a record there, no row lock drawn, no validation rule refusing it) is saved in one
:meth:`Org.save_many`; any other chunk row by row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from icpsync.connectors.salesforce.sandbox.org import Org, RecordError, clean_value

#: rows saved together (one hold of the org's lock, one modstamp).
CHUNK = 200
#: what an ingest cell holds to set a field to no value.
NO_VALUE = "#N/A"
LOCKED = RecordError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
#: a cell that leaves its field alone.
_SKIP = object()


def apply_rows(
    org: Org,
    object_name: str,
    header: Sequence[str],
    id_col: int,
    rows: Sequence[Sequence[str]],
    row_fault: Callable[[], bool],
    succeeded: list[Sequence[str]],
    failed: list[list[str]],
) -> None:
    """Update the records the rows name; each row goes to ``succeeded`` as it is or to
    ``failed`` as ``[Id, "CODE:message:--", *row]``.

    Raises:
        IndexError: a row has no ``Id`` cell (the job fails as a whole).
    """
    ids = list(map(itemgetter(id_col), rows))
    with org.lock:
        fields = org.fields(object_name) if object_name in org.schema else {}
    names, columns = _fields(header, rows)
    cleaned = [
        _cleaned(fields, object_name, name, column)
        for name, column in zip(names, columns, strict=True)
    ]
    #: rows with an empty cell or a refused value (the rest are saved as they are).
    odd = _odd_rows(cleaned)
    table = org.records.get(object_name, {})
    for start in range(0, len(rows), CHUNK):
        end = min(start + CHUNK, len(rows))
        with org.lock:
            stamp = org.stamp()
            locked = [row_fault() for _ in range(start, end)]  # drawn row by row, in order
            records = list(map(table.get, ids[start:end]))
            there = [record for record in records if record is not None]
            plain = len(there) == len(records) and not any(locked)
            if (
                plain
                and odd.isdisjoint(range(start, end))
                and org.rules(object_name).keys().isdisjoint(ids[start:end])
            ):  # every row a value per cell for a record there that its rule lets be saved
                org.save_many(object_name, there, names, [c[start:end] for c in cleaned], stamp)
                succeeded.extend(rows[start:end])
                continue
            for index, record in enumerate(records, start):
                row, record_id = rows[index], ids[index]
                cells = [column[index] for column in cleaned]
                if locked[index - start]:
                    refusal: RecordError | None = LOCKED
                elif index in odd or record is None:
                    refusal = _save(org, object_name, record_id, names, cells, index in odd, stamp)
                else:  # a plain row of a record there: saved as it is
                    refusal = _saved(
                        org, object_name, record, dict(zip(names, cells, strict=True)), stamp
                    )
                if refusal is None:
                    succeeded.append(row)
                else:
                    failed.append([record_id, f"{refusal.code}:{refusal.message}:--", *row])


def _save(
    org: Org,
    object_name: str,
    record_id: str,
    names: list[str],
    cells: Sequence[Any],
    odd: bool,
    stamp: datetime,
) -> RecordError | None:
    """Save one row (holding the org's lock); the refusal, if any: no such record, the
    first refused value, the validation rule."""
    try:
        record = org.target(object_name, record_id)
    except RecordError as exc:
        return exc
    clean = _clean(names, cells) if odd else dict(zip(names, cells, strict=True))
    if isinstance(clean, RecordError):
        return clean
    return _saved(org, object_name, record, clean, stamp)


def _saved(
    org: Org, object_name: str, record: dict[str, Any], clean: dict[str, Any], stamp: datetime
) -> RecordError | None:
    """Save checked values to a record there (holding the org's lock); the refusal, if any
    (the validation rule)."""
    try:
        org.save(object_name, record, clean, stamp)
    except RecordError as exc:
        return exc
    return None


def _odd_rows(cleaned: list[list[Any]]) -> set[int]:
    """The rows with an empty cell or a refused value in some column."""
    odd: set[int] = set()
    for column in cleaned:
        kinds = set(map(type, column))
        if object in kinds or RecordError in kinds:
            odd.update(i for i, cell in enumerate(column) if _unplain(cell))
    return odd


def _unplain(cell: Any) -> bool:
    return cell is _SKIP or isinstance(cell, RecordError)


def _clean(names: list[str], cells: Sequence[Any]) -> dict[str, Any] | RecordError:
    """A row's values to save, empty cells left out; or its first refused value, in
    column order."""
    clean = {}
    for name, cell in zip(names, cells, strict=True):
        if cell is _SKIP:
            continue
        if isinstance(cell, RecordError):
            return cell
        clean[name] = cell
    return clean


def _fields(
    header: Sequence[str], rows: Sequence[Sequence[str]]
) -> tuple[list[str], list[Sequence[str]]]:
    """The data fields in header order and each one's raw cells (a short row's missing
    cells empty; a field named twice takes each row's last non-empty cell)."""
    width = len(header)
    if set(map(len, rows)) - {width}:
        rows = [[*row[:width], *([""] * (width - len(row)))] for row in rows]
    at: dict[str, list[int]] = {}
    for index, name in enumerate(header):
        if name.lower() != "id" and name != "attributes":
            at.setdefault(name, []).append(index)
    columns: list[Sequence[str]] = []
    for indexes in at.values():
        if len(indexes) == 1:
            columns.append(list(map(itemgetter(indexes[0]), rows)))
        else:
            group = zip(*(map(itemgetter(i), rows) for i in indexes), strict=True)
            columns.append([next((c for c in reversed(g) if c), "") for g in group])
    return list(at), columns


def _cleaned(
    fields: dict[str, dict[str, Any]], object_name: str, name: str, cells: Sequence[str]
) -> list[Any]:
    """Each cell as the value to save, :data:`_SKIP` (empty) or the :class:`RecordError`
    refusing it; each distinct cell checked once."""
    outcome: dict[str, Any] = {}
    for cell in set(cells):
        if cell == "":
            outcome[cell] = _SKIP
            continue
        try:
            outcome[cell] = clean_value(
                fields, object_name, name, None if cell == NO_VALUE else cell, create=False
            )
        except RecordError as exc:
            outcome[cell] = exc
    return list(map(outcome.__getitem__, cells))
