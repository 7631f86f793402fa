"""Read rows from CSV or JSON Lines without holding the file in memory.

Undecodable bytes are replaced (never a crash); a malformed JSON line or an oversized CSV
field is skipped and counted by the caller through ``on_bad_row``.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from itertools import chain, islice
from pathlib import Path
from typing import TextIO

from icpsync.core.errors import FatalError

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def is_jsonl(path: Path) -> bool:
    """JSON Lines by extension (``.jsonl``, ``.ndjson``); anything else is CSV."""
    return path.suffix.lower() in (".jsonl", ".ndjson")


def _open(path: Path) -> TextIO:
    try:
        return path.open(encoding="utf-8", errors="replace", newline="")
    except OSError as exc:
        raise FatalError(f"{path}: cannot read ({exc.strerror})") from exc


def read_rows(path: Path, on_bad_row: Callable[[str], None]) -> Iterator[dict[str, object]]:
    """Yield one dict per row of ``path``.

    Raises:
        FatalError: the file cannot be opened.
    """
    with _open(path) as handle:
        if is_jsonl(path):
            for line in handle:
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    on_bad_row("malformed_json_line")
                    continue
                if isinstance(row, dict):
                    yield row
                else:
                    on_bad_row("json_line_not_an_object")
            return
        try:
            yield from _csv_rows(csv.reader(handle), on_bad_row)
        except csv.Error:
            on_bad_row("malformed_csv")


def _csv_rows(
    reader: Iterator[list[str]], on_bad_row: Callable[[str], None]
) -> Iterator[dict[str, object]]:
    """Rows as ``csv.DictReader`` makes them (blank lines skipped, short rows padded with
    None, surplus cells dropped and counted), without its per-row Python overhead."""
    header = next(reader, None)
    if header is None:
        return
    width = len(header)
    for cells in reader:
        if not cells:
            continue
        row: dict[str, object] = dict(zip(header, cells, strict=False))
        if len(cells) > width:
            on_bad_row("csv_row_with_extra_columns")
        elif len(cells) < width:
            for name in header[len(cells) :]:
                row[name] = None
        # Cells are strings (or None for padding): present means neither None nor "".
        if any(row.values()):
            yield row
        else:
            on_bad_row("empty_row")


def read_csv_columns(
    path: Path, on_bad_row: Callable[[str], None], size: int
) -> Iterator[tuple[list[str], list[Sequence[str | None]]]]:
    """The rows of a CSV file ``size`` at a time, as (column names, one column per name).

    The rows and counts are those of :func:`read_rows` (a repeated column name keeps its
    last value); only the shape differs: no dict per row.

    Raises:
        FatalError: the file cannot be opened.
    """
    with _open(path) as handle:
        failed: list[bool] = []
        reader = _until_error(csv.reader(handle), failed)
        header = next(reader, None)
        if header is None:
            pass
        elif not header or len(set(header)) < len(header):  # let the dicts decide
            rows = _csv_rows(chain([header], reader), on_bad_row)
            names = list(dict.fromkeys(header))
            while records := list(islice(rows, size)):
                yield names, [[row[name] for row in records] for name in names]  # type: ignore[misc]
        else:
            width = len(header)
            while batch := list(islice(reader, size)):
                cells: list[list[str | None]] = batch  # type: ignore[assignment]
                if any(len(row) != width for row in batch):
                    cells = _fitted(batch, width, on_bad_row)
                if not all(map(any, cells)):
                    for _ in range(sum(1 for row in cells if not any(row))):
                        on_bad_row("empty_row")
                    cells = [row for row in cells if any(row)]
                if cells:
                    yield header, list(zip(*cells, strict=True))
        if failed:
            on_bad_row("malformed_csv")


def _until_error(reader: Iterator[list[str]], failed: list[bool]) -> Iterator[list[str]]:
    """The reader's rows up to a malformed one (noted in ``failed``)."""
    try:
        yield from reader
    except csv.Error:
        failed.append(True)


def _fitted(
    batch: list[list[str]], width: int, on_bad_row: Callable[[str], None]
) -> list[list[str | None]]:
    """Rows as ``width`` cells: blank lines dropped, short rows padded with None, surplus
    cells dropped and counted."""
    fitted: list[list[str | None]] = []
    for cells in batch:
        if not cells:
            continue
        if len(cells) > width:
            on_bad_row("csv_row_with_extra_columns")
            fitted.append(cells[:width])  # type: ignore[arg-type]
        else:
            fitted.append([*cells, *[None] * (width - len(cells))])
    return fitted
